# Checks used by tests/cluster/e2e.sh (sourced; expects ART, APP, NS,
# INGRESS_URL, KUBECONFIG and, once known, TOKEN).
# shellcheck disable=SC2016

PASSED=0
FAILED=0
HOST=files.graphfs.test          # the Ingress host; curl and Chromium map it to 127.0.0.1

check() { # description cmd... : one PASS/FAIL line; output of a failure goes to the log
  local what="$1" out rc t=$SECONDS; shift
  out="$("$@" 2>&1)"; rc=$?
  if [ $rc = 0 ]; then
    PASSED=$((PASSED + 1)); echo "PASS $what ($((SECONDS - t)) s)"
  else
    FAILED=$((FAILED + 1)); echo "FAIL $what"
    printf '%s\n' "$out" | tail -n 20 | sed 's/^/    /'
  fi
  printf '== %s (rc %s)\n%s\n' "$what" "$rc" "$out" >> "$ART/checks.log"
  return 0
}
timing() { echo "TIME $1: $2 s"; echo "$1: $2 s" >> "$ART/timings.txt"; }

# until SECONDS CMD...: retry CMD every second until it succeeds.
until_ok() {
  local deadline=$((SECONDS + $1)); shift
  until "$@"; do [ $SECONDS -lt $deadline ] || return 1; sleep 1; done
}

# ---------------------------------------------------------------- Kubernetes
lease_held() { # ns: the operator's Lease names a holder that is a running pod
  local ns="$1"
  until_ok 60 bash -c '
    holder="$(kubectl -n "$0" get lease -o jsonpath="{.items[0].spec.holderIdentity}" 2>/dev/null)"
    [ -n "$holder" ] && kubectl -n "$0" get pod "$holder" >/dev/null 2>&1 && echo "held by $holder"' "$ns"
}
statefulset_ready() { # ns name
  until_ok 240 bash -c '[ "$(kubectl -n "$0" get statefulset "$1" -o jsonpath="{.status.readyReplicas}")" = 1 ]' "$1" "$2" || return 1
  [ "$(kubectl -n "$1" get pvc "data-$2-0" -o jsonpath='{.status.phase}')" = Bound ]
}
deployment_ready() { # ns name replicas
  until_ok 240 bash -c '[ "$(kubectl -n "$0" get deployment "$1" -o jsonpath="{.status.readyReplicas}")" = "$2" ]' "$1" "$2" "$3"
}
operator_env_is() { # ns variable value: every operator pod runs with it
  until_ok 120 bash -c '
    vals="$(kubectl -n "$0" get pods -l app.kubernetes.io/name=graphfs -o json \
      | jq -r --arg v "$1" "[.items[] | select(.metadata.deletionTimestamp == null) | .spec.containers[0].env[] | select(.name == \$v) | .value] | unique | join(\",\")")"
    [ "$vals" = "$2" ]' "$1" "$2" "$3"
}

# The GraphFS and TaggerPool under test: the examples' shape, with the images
# built here, the test cluster's IngressClass and an offline tagger (no LLM
# server runs in the cluster).
render_resources() {
  cat <<EOF
apiVersion: graphfs.io/v1alpha1
kind: GraphFS
metadata:
  name: $APP
spec:
  api:
    replicas: 2
    maxUploadBytes: 1073741824
  images:
    minio: localhost/graphfs/minio:test
    neo4j: localhost/graphfs/neo4j:5.26.30
  ingress:
    className: traefik
    host: $HOST
    bodySizeLimit: 1g
    timeoutSeconds: 600
  storage:
    managed:
      size: 10Gi
    bucket: graphfs
  graph:
    managed:
      size: 10Gi
  retention: Keep
---
apiVersion: graphfs.io/v1alpha1
kind: TaggerPool
metadata:
  name: main
spec:
  graphFsRef: $APP
  mode: Offline
  concurrencyPerPod: 2
  autoscaling:
    minReplicas: 0
    maxReplicas: 3
    pollingIntervalSeconds: 5
    cooldownPeriodSeconds: 30
    targetQueueDepthPerReplica: 5
    activationQueueDepth: 0
    scaleUp:
      stabilizationWindowSeconds: 0
      maxStep: 3
    scaleDown:
      stabilizationWindowSeconds: 10
      maxStep: 3
EOF
}

collect_diagnostics() {
  {
    kubectl get nodes,pods,pvc,pv,svc,ingress -A -o wide
    kubectl get graphfs,taggerpool -A -o yaml
    kubectl get events -A --sort-by=.lastTimestamp | tail -n 80
    kubectl describe pods -A
  } > "$ART/diagnostics.txt" 2>&1
  local p
  for p in $(kubectl get pods -A -o jsonpath='{range .items[*]}{.metadata.namespace}/{.metadata.name}{"\n"}{end}' 2>/dev/null); do
    kubectl logs -n "${p%%/*}" "${p#*/}" --all-containers --tail 200 > "$ART/pod-${p//\//_}.log" 2>&1
  done
}

# ---------------------------------------------------------------- HTTP through the Ingress
api() { # method path [curl args...]: prints the body, fails on a non-2xx status
  local m="$1" p="$2"; shift 2
  curl -sS --fail-with-body --max-time 600 --resolve "$HOST:${INGRESS_URL##*:}:127.0.0.1" \
    -X "$m" -H "Authorization: Bearer $TOKEN" "$@" "http://$HOST:${INGRESS_URL##*:}$p"
}
status_of() { # path -> HTTP status through the Ingress
  curl -s -o /dev/null -w '%{http_code}' --max-time 10 --resolve "$HOST:${INGRESS_URL##*:}:127.0.0.1" \
    -H "Authorization: Bearer $TOKEN" "http://$HOST:${INGRESS_URL##*:}$1"
}
wait_http() { # seconds path status
  until_ok "$1" bash -c '[ "$(status_of "$0")" = "$1" ]' "$2" "$3"
}
export -f status_of
export HOST

upload() { # name file -> file JSON
  api POST "/api/v1/files?name=$1" --data-binary "@$2" -H 'Content-Type: application/octet-stream'
}
file_status() { api GET "/api/v1/files/$1" | jq -r '.file.status // .status'; }
wait_tagged() { # id
  until_ok 180 bash -c '[ "$(file_status "$0")" = done ]' "$1"
}
export -f api file_status

api_checks() {
  local small="$ART/titan.txt" big="$CACHE/cluster/big.bin" id big_id
  printf 'Quarterly invoice for project titan. The titan rocket engine passed its test firing.\n' > "$small"
  check "upload a small file" bash -c 'upload "$0" "$1" > "$2/upload-small.json" && jq -e .id "$2/upload-small.json"' titan.txt "$small" "$ART"
  id="$(jq -r .id "$ART/upload-small.json" 2>/dev/null)"
  check "the small file is tagged by a tagger pod" wait_tagged "$id"
  # 256 MiB of incompressible bytes, made once and kept in the cache.
  [ -f "$big" ] && [ "$(stat -c %s "$big")" = 268435456 ] || head -c 268435456 /dev/urandom > "$big"
  local t=$SECONDS
  check "upload 256 MiB" bash -c 'upload big.bin "$0" > "$1/upload-big.json" && [ "$(jq -r .size "$1/upload-big.json")" = 268435456 ]' "$big" "$ART"
  timing "256 MiB upload through the Ingress" $((SECONDS - t))
  big_id="$(jq -r .id "$ART/upload-big.json" 2>/dev/null)"
  check "download 256 MiB: the same bytes" bash -c 'api GET "/api/v1/files/$0/content" | cmp - "$1"' "$big_id" "$big"
  check "download with Range: 206 and the requested bytes" bash -c '
    [ "$(api GET "/api/v1/files/$0/content" -H "Range: bytes=1000-1999" -o "$1/range.bin" -w "%{http_code}")" = 206 ] &&
    cmp "$1/range.bin" <(tail -c +1001 "$2" | head -c 1000)' "$big_id" "$ART" "$big"
  check "list shows both files" bash -c 'api GET "/api/v1/files?limit=100" | jq -e "[.items[].name] | (index(\"titan.txt\") != null and index(\"big.bin\") != null)"'
  check "search finds the small file by a word" bash -c 'api GET "/api/v1/search?q=rocket" | jq -e "[.items[] | (.file.name // .name)] | index(\"titan.txt\") != null"'
  check "the graph around the file has its tags" bash -c 'api GET "/api/v1/graph?file=$0" | jq -e "[.nodes[] | select(.kind == \"tag\" or .type == \"tag\")] | length > 0"' "$id"
  check "rename the file" bash -c 'api PATCH "/api/v1/files/$0" -H "Content-Type: application/json" -d "{\"name\":\"titan-renamed.txt\"}" | jq -e ".name == \"titan-renamed.txt\" or .file.name == \"titan-renamed.txt\""' "$id"
  check "add a tag to the file" bash -c 'api PATCH "/api/v1/files/$0" -H "Content-Type: application/json" -d "{\"add_tags\":[\"space-program\"]}" >/dev/null && api GET "/api/v1/tags/space-program/files" | jq -e "[.items[] | (.id // .file.id)] | index(\"$0\") != null"' "$id"
  check "delete the big file: 404 afterwards" bash -c 'api DELETE "/api/v1/files/$0" >/dev/null && [ "$(status_of "/api/v1/files/$0")" = 404 ]' "$big_id"
  SMALL_ID="$id"
}
export -f upload wait_tagged until_ok
export CACHE ART

page_screenshot() { # png
  local port="${INGRESS_URL##*:}" out="$1" prof
  prof="$(mktemp -d)"
  timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$prof" --host-resolver-rules="MAP $HOST 127.0.0.1" \
    --window-size=1280,800 --virtual-time-budget=5000 --screenshot="$out" \
    "http://$HOST:$port/" >/dev/null 2>&1
  local html
  html="$(timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$prof" --host-resolver-rules="MAP $HOST 127.0.0.1" \
    --virtual-time-budget=5000 --dump-dom "http://$HOST:$port/" 2>/dev/null)"
  rm -rf "$prof"
  [ -s "$out" ] && printf '%s' "$html" | grep -qi 'graphfs'
}

fault_checks() { :; }
