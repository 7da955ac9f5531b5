#!/usr/bin/env bash
# End-to-end tests of the web page in headless Chromium against a real `graphfs serve --dev`.
#
#   GRAPHFS_BIN=target/release/graphfs tests/browser/run.sh          # the tests (node --test)
#   GRAPHFS_BIN=target/release/graphfs tests/browser/run.sh perf     # the perf report (make bench)
#
# Environment: GRAPHFS_BIN (required), GRAPHFS_CHROMIUM (default /usr/bin/chromium),
# GRAPHFS_ARTIFACTS (default test-artifacts; screenshots and logs go to $GRAPHFS_ARTIFACTS/browser),
# GRAPHFS_WEB_BUILD=0 to never (re)build web/dist here, GRAPHFS_BROWSER_REQUIRE_EMBEDDED=1 to fail
# (instead of serving web/dist beside it) when the binary does not embed this build of the page.
#
# The page under test is web/dist. When the server does not serve exactly that build at '/' (an older binary,
# or one built before the last web change), the page is served by serve.mjs with the server's CSP and the API
# is forwarded to graphfs, so the tests always exercise the current page against the given server.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
mode=${1:-test}
: "${GRAPHFS_BIN:?set GRAPHFS_BIN to the graphfs binary}"
bin=$(cd "$(dirname "$GRAPHFS_BIN")" && pwd)/$(basename "$GRAPHFS_BIN")
[ -x "$bin" ] || { echo "run.sh: $bin is not an executable" >&2; exit 2; }
export GRAPHFS_CHROMIUM=${GRAPHFS_CHROMIUM:-/usr/bin/chromium}
[ -x "$GRAPHFS_CHROMIUM" ] || { echo "run.sh: no Chromium at $GRAPHFS_CHROMIUM (set GRAPHFS_CHROMIUM)" >&2; exit 2; }
artifacts=${GRAPHFS_ARTIFACTS:-test-artifacts}
mkdir -p "$artifacts/browser"
artifacts=$(cd "$artifacts/browser" && pwd)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/graphfs-browser.XXXXXX")
pids=()
stop_keycloak=0
cleanup() {
  local status=$?
  if [ "$stop_keycloak" = 1 ]; then "$repo/tests/oidc/stop.sh" "$tmp/keycloak"; fi
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$tmp"
  exit "$status"
}
trap cleanup EXIT INT TERM

free_port() { node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }

# --- the page: build web/dist when it is missing or older than its sources
web="$repo/web"
if [ "${GRAPHFS_WEB_BUILD:-1}" != 0 ]; then
  if [ ! -f "$web/dist/index.html" ] || [ -n "$(find "$web/src" "$web/index.html" "$web/vite.config.js" "$web/package-lock.json" -newer "$web/dist/index.html" -print -quit)" ]; then
    echo "run.sh: building web/dist"
    if [ ! -f "$web/node_modules/.package-lock.json" ] || [ "$web/package-lock.json" -nt "$web/node_modules/.package-lock.json" ]; then
      (cd "$web" && npm ci --no-audit --no-fund)
    fi
    (cd "$web" && npm run build)
  fi
fi
[ -f "$web/dist/index.html" ] || { echo "run.sh: web/dist is not built (cd web && npm ci && npm run build)" >&2; exit 2; }

# --- the test dependencies (playwright-core only; no browser download)
if [ ! -f "$here/node_modules/.package-lock.json" ] || [ "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]; then
  (cd "$here" && npm ci --no-audit --no-fund)
fi

# --- the server
port=$(free_port)
token="browser-test-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
max_upload=${GRAPHFS_TEST_MAX_UPLOAD:-262144}
server_args=(serve --dev --addr "127.0.0.1:$port" --data-dir "$tmp/data" --rate-limit-rps 0 --tagger-poll-ms 200)
if [ "$mode" = perf ]; then
  server_args+=(--tagger-concurrency 0)  # the perf graph is made of user tags; keep the CPU for the browser
else
  server_args+=(--max-upload-bytes "$max_upload")
fi
# In-process embeddings when the test models are installed (make models):
# semantic search and similar files in the page.
if [ -n "${GRAPHFS_TEST_EMBEDDING_DIR:-}" ] && [ -f "$GRAPHFS_TEST_EMBEDDING_DIR/model.safetensors" ]; then
  export GRAPHFS_EMBEDDING_MODEL_DIR="$GRAPHFS_TEST_EMBEDDING_DIR"
fi
if [ "$mode" != perf ]; then
  # A real OpenID Connect provider for the sign-in test (tests/oidc).
  "$repo/tests/oidc/start.sh" "$tmp/keycloak" >/dev/null
  stop_keycloak=1
  set -a; . "$tmp/keycloak/env"; set +a
  server_args+=(--oidc-issuer-url "$GRAPHFS_OIDC_ISSUER_URL" --oidc-admin-groups graphfs-admins)
fi
# Every keyword is a tag at once (the page tests look for a file's own words
# among its tags); the vocabulary's admission is tested in tests/tests/api.rs.
GRAPHFS_TAG_MIN_FREQUENCY=1 GRAPHFS_DEV_TOKEN="$token" GRAPHFS_LOG=warn "$bin" "${server_args[@]}" >"$artifacts/server.log" 2>&1 &
pids+=($!)
api="http://127.0.0.1:$port"
for _ in $(seq 1 120); do
  if node -e "fetch('$api/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))" 2>/dev/null; then break; fi
  kill -0 "${pids[0]}" 2>/dev/null || { echo "run.sh: graphfs exited; see $artifacts/server.log" >&2; cat "$artifacts/server.log" >&2; exit 1; }
  sleep 0.5
done
node -e "fetch('$api/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))" || { echo "run.sh: graphfs never became ready" >&2; exit 1; }

page="$api"
if ! node -e "
  const fs=require('fs');
  fetch('$api/').then(r=>r.text()).then(t=>process.exit(t===fs.readFileSync('$web/dist/index.html','utf8')?0:1),()=>process.exit(1));"; then
  if [ "${GRAPHFS_BROWSER_REQUIRE_EMBEDDED:-0}" = 1 ]; then
    echo "run.sh: graphfs does not serve this build of web/dist (build the web page before the binary: make web)" >&2
    exit 1
  fi
  page_port=$(free_port)
  node "$here/serve.mjs" --dist "$web/dist" --backend "$api" --port "$page_port" >"$artifacts/serve.log" 2>&1 &
  pids+=($!)
  page="http://127.0.0.1:$page_port"
  for _ in $(seq 1 40); do node -e "fetch('$page/').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))" 2>/dev/null && break; sleep 0.25; done
  echo "run.sh: graphfs does not serve this build of web/dist; serving it from serve.mjs at $page (API: $api)"
fi

export GRAPHFS_URL="$page" GRAPHFS_API_URL="$api" GRAPHFS_TOKEN="$token" GRAPHFS_MAX_UPLOAD_BYTES="$max_upload"
export GRAPHFS_ARTIFACTS_DIR="$artifacts"
cd "$here"
if [ "$mode" = perf ]; then
  node perf.mjs
else
  node --test --test-concurrency=1 --test-timeout=300000 e2e.test.mjs
fi
