#!/usr/bin/env bash
# The OpenAPI contract check: schemathesis generates requests from the
# served document (valid ones, and ones each constraint should refuse) and
# checks every answer against it: status codes, content types, bodies,
# refusal of what the schema forbids and acceptance of what it allows.
#
# It runs against `graphfs serve --dev` (embedded backends) seeded with a few
# files, with a fixed seed so a failure reproduces. The report lands in
# test-artifacts/schemathesis.xml (JUnit).
#
# Usage: tests/openapi/run.sh   (GRAPHFS_BIN: the graphfs binary; default
#        the release build; GRAPHFS_OPENAPI_EXAMPLES: cases per operation;
#        GRAPHFS_OPENAPI_SEED: another seed, to explore)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
LOG_TAG=openapi
. "$ROOT/tests/lib/common.sh"

CACHE="${GRAPHFS_CACHE:-$HOME/.cache/graphfs}"
"$ROOT/tests/openapi/install.sh"
ST="$CACHE/schemathesis-4.32.5/bin/schemathesis"
BIN="${GRAPHFS_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/graphfs}"
[ -x "$BIN" ] || die "no graphfs binary at $BIN (build it, or set GRAPHFS_BIN)"
EXAMPLES="${GRAPHFS_OPENAPI_EXAMPLES:-25}"

WORK="$(mktemp -d)"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
TOKEN="openapi-$RANDOM$RANDOM-$RANDOM$RANDOM"
HOOK="hook-$RANDOM$RANDOM"
# The run signs in with a token from the tokens file: the API cannot revoke
# those (403), so the tester revoking the tokens it lists cannot lock
# itself out half-way.
# bob is there to be shared with. Rate limiting is off: how many requests a
# second schemathesis sends depends on the machine, and a 429 would fail a
# check that is about the schema (the limiter has its own tests).
printf 'tester:%s\nbob:%s-bob\n' "$TOKEN" "$TOKEN" > "$WORK/tokens"
"$BIN" serve --tokens-file "$WORK/tokens" --admin-users tester --s3-webhook-token "$HOOK" --addr "127.0.0.1:$PORT" --data-dir "$WORK/data" \
  --rate-limit-rps 0 \
  > "$WORK/server.log" 2>&1 &
SERVER=$!
cleanup() {
  terminate "$SERVER" 10 alive || true
  rm -rf "$WORK"
}
trap cleanup EXIT

URL="http://127.0.0.1:$PORT/api/v1"
for _ in $(seq 100); do
  curl -sf "$URL/openapi.json" -o /dev/null && break
  alive "$SERVER" || { cat "$WORK/server.log" >&2; die "graphfs exited"; }
  sleep 0.1
done

# A few files, so that reads find something and lists have a second page.
for i in 1 2 3; do
  curl -sf -H "Authorization: Bearer $TOKEN" --data-binary "note $i about invoices and budgets" \
    "$URL/files?name=note-$i.txt" -o /dev/null || die "seeding file $i failed"
done
# A cursor is opaque: the schema cannot say which strings are ones the
# server gave out, so the run uses a real one wherever it sends a cursor.
CURSOR="$(curl -sf -H "Authorization: Bearer $TOKEN" "$URL/files?limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["next_cursor"])')"

cat > "$WORK/schemathesis.toml" <<TOML
[parameters]
"query.cursor" = "$CURSOR"

# Which users exist, that a tag is not both added and removed, and which
# names a folder already holds are rules a schema cannot state: a
# schema-valid PATCH may be refused with 400, or 409 for a taken name.
[[operations]]
include-path = "/api/v1/files/{id}"
include-method = "PATCH"
checks.positive_data_acceptance.expected-statuses = ["2xx", 400, 403, 404, 409]
# A create-only upload to a taken name is refused with 409.
[[operations]]
include-path = "/api/v1/files"
include-method = "POST"
checks.positive_data_acceptance.expected-statuses = ["2xx", 400, 403, 404, 409, 413]
# The root folder (a path of blanks is the root) cannot be removed or be a
# move's target, nor a folder moved into itself: rules of the tree, not of
# the path's schema.
[[operations]]
include-path = "/api/v1/folders"
include-method = "DELETE"
checks.positive_data_acceptance.expected-statuses = ["2xx", 400, 403, 404, 409]
[[operations]]
include-path = "/api/v1/folders/move"
include-method = "POST"
checks.positive_data_acceptance.expected-statuses = ["2xx", 400, 403, 404, 409]
# A taxonomy's parents must be topics, and a name or alias one topic's:
# rules across its topics, not of each topic's schema.
[[operations]]
include-path = "/api/v1/taxonomy"
include-method = "PUT"
checks.positive_data_acceptance.expected-statuses = ["2xx", 400, 403, 409]
# Links from Location headers: this version pairs POST /files's
# `/files/{id}` with DELETE /folders (no `id`) and stops the stateful phase;
# the links found by analysing the schema are kept.
[phases.stateful.inference]
algorithms = ["dependency-analysis"]
# Bucket notifications carry the webhook secret, not a user's token.
[[operations]]
include-path = "/api/v1/events/s3"
headers = { Authorization = "Bearer $HOOK" }
TOML

mkdir -p "$ROOT/test-artifacts"
log "schemathesis: $EXAMPLES cases per operation against $URL"
(cd "$WORK" && "$ST" --config-file "$WORK/schemathesis.toml" run "$URL/openapi.json" \
  -H "Authorization: Bearer $TOKEN" \
  --max-examples "$EXAMPLES" --seed "${GRAPHFS_OPENAPI_SEED:-20261130}" --workers 1 \
  --report junit --report-junit-path "$ROOT/test-artifacts/schemathesis.xml")
