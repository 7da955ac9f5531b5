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
status_of() { # path -> HTTP status through the Ingress (000: no answer in 30 s)
  curl -s -o /dev/null -w '%{http_code}' --max-time 30 --resolve "$HOST:${INGRESS_URL##*:}:127.0.0.1" \
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

text_png() { # text out.png: the text rendered black on white, as a screen shows it
  pango-view -q --font="WenQuanYi Micro Hei 28" --dpi=150 --margin=40 --background=white \
    --foreground=black --text="$1" -o "$2"
}

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
  # OCR in the tagger pods (Tesseract in the image): a screenshot's words
  # are its text, so search finds it by them.
  text_png "Zeppelin hangar inspection checklist" "$ART/hangar.png"
  check "upload a screenshot with text" bash -c 'upload hangar.png "$0" | jq -e .id' "$ART/hangar.png"
  check "OCR in a tagger pod: search finds the screenshot by a word in the picture" until_ok 180 bash -c \
    'api GET "/api/v1/search?q=zeppelin" | jq -e "[.items[] | (.file.name // .name)] | index(\"hangar.png\") != null"'
  # Text in videos (the image's ffmpeg takes keyframes, Tesseract reads
  # them): a silent two-slide screen recording, made here by Debian's
  # ffmpeg as H.264 in MP4, is found by a word on its second slide.
  text_png "Airship maintenance review" "$ART/slide000.png"
  text_png "Helium valve replacement schedule" "$ART/slide001.png"
  ffmpeg -nostdin -v error -y -framerate 1/3 -i "$ART/slide%03d.png" -vf \
    "scale=1280:720:force_original_aspect_ratio=decrease,pad=1280:720:(ow-iw)/2:(oh-ih)/2:white,format=yuv420p,tpad=stop_mode=clone:stop_duration=3" \
    -r 5 -c:v libx264 -g 10 "$ART/slides.mp4"
  check "upload a screen recording with text on its slides" bash -c 'upload slides.mp4 "$0" | jq -e .id' "$ART/slides.mp4"
  check "video keyframes in a tagger pod: search finds the recording by a word on its second slide" until_ok 180 bash -c \
    'api GET "/api/v1/search?q=helium" | jq -e "[.items[] | (.file.name // .name)] | index(\"slides.mp4\") != null"'
  # A keyword becomes a tag once two files propose it: a second file on
  # the same subject gives both the tag they share (the first is tagged
  # again by a tagger pod).
  printf 'Test report: the titan rocket engine ran for ten minutes at full thrust.\n' > "$ART/titan-report.txt"
  check "upload a second file on the same subject" bash -c 'upload "$0" "$1" | jq -e .id' titan-report.txt "$ART/titan-report.txt"
  check "the graph around the file has the tag both files share" until_ok 180 bash -c 'api GET "/api/v1/graph?file=$0" | jq -e "[.nodes[] | select(.kind == \"tag\" or .type == \"tag\")] | length > 0"' "$id"
  check "rename the file" bash -c 'api PATCH "/api/v1/files/$0" -H "Content-Type: application/json" -d "{\"name\":\"titan-renamed.txt\"}" | jq -e ".name == \"titan-renamed.txt\" or .file.name == \"titan-renamed.txt\""' "$id"
  check "add a tag to the file" bash -c 'api PATCH "/api/v1/files/$0" -H "Content-Type: application/json" -d "{\"add_tags\":[\"space-program\"]}" >/dev/null && api GET "/api/v1/tags/space-program/files" | jq -e "[.items[] | (.id // .file.id)] | index(\"$0\") != null"' "$id"
  check "the drive through the Ingress: a folder and a file made over WebDAV are in the API" bash -c '
    api MKCOL /dav/files/drive/ >/dev/null &&
    api PUT /dav/files/drive/hello.txt --data-binary "hello from the drive" >/dev/null &&
    api PROPFIND /dav/files/drive/ -H "Depth: 1" | grep "/dav/files/drive/hello.txt" >/dev/null &&
    [ "$(api GET /dav/files/drive/hello.txt)" = "hello from the drive" ] &&
    api GET "/api/v1/files?folder=/drive" | jq -e ".items[0].name == \"hello.txt\" and .items[0].folder == \"/drive\""'
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
  [ -s "$out" ] && grep -qi 'graphfs' <<<"$html"
}

# ---------------------------------------------------------------- faults
api_pod_deleted_under_load() {
  local port="${INGRESS_URL##*:}" victim out
  victim="$(kubectl -n default get pods -l app.kubernetes.io/instance="$APP",app.kubernetes.io/component=api -o jsonpath='{.items[0].metadata.name}')"
  [ -n "$victim" ] || { echo "no API pod"; return 1; }
  wrk -t2 -c8 -d25s -s "$HERE/reads.lua" "http://127.0.0.1:$port/" -- "$HOST" "$TOKEN" \
    /api/v1/files /api/v1/tags "/api/v1/files/$SMALL_ID" "/api/v1/search?q=titan" > "$ART/wrk-api-pod.txt" 2>&1 &
  local wrk_pid=$!
  sleep 5
  kubectl -n default delete pod "$victim" --wait=false
  wait $wrk_pid
  cat "$ART/wrk-api-pod.txt"
  out="$(grep '^READS' "$ART/wrk-api-pod.txt")"
  # Every request answered 200 (or 429, the per-user rate limit: the
  # surviving replica takes all the reads, and how fast they come depends on
  # the machine): no socket errors, no other status.
  [[ "$out" =~ requests=([0-9]+)\ failed=0\ connect=0\ read=0\ write=0\ timeout=0\ limited=([0-9]+) ]] \
    && [ $(( BASH_REMATCH[1] - BASH_REMATCH[2] )) -gt 100 ] || return 1
  # And the Deployment replaced the pod.
  deployment_ready default "$APP-api" 2
}

queue_field() { api GET /api/v1/queue | jq -r ".$1"; }
export -f queue_field

# File ids a tagger pod's log shows claimed but not finished (JSON logs;
# "claimed" starts a job, any later event naming the file ends it: "tagged",
# "will retry", a failure).
held_in_log() { # JSON log lines on stdin
  jq -rR 'fromjson? | select(.fields.file != null) | [.fields.file, .fields.message] | @tsv' 2>/dev/null \
    | awk -F'\t' '$2 == "claimed" {held[$1] = 1} $2 != "claimed" {delete held[$1]} END {for (f in held) print f}'
}
held_by() { kubectl -n default logs "$1" 2>/dev/null | held_in_log; }
# "file<TAB>attempt" of each job a pod's log shows tagged.
tagged_by() { # pod
  kubectl -n default logs "$1" 2>/dev/null | jq -r 'select(.fields.message == "tagged") | [.fields.file, .fields.attempt] | @tsv' 2>/dev/null
}

# crash_pod POD: SIGKILL its container's process on the node, print the file
# ids its (now final) log shows claimed and not finished, then delete the pod.
crash_pod() {
  local cid pid uid
  cid="$(kubectl -n default get pod "$1" -o jsonpath='{.status.containerStatuses[0].containerID}')"
  uid="$(kubectl -n default get pod "$1" -o jsonpath='{.metadata.uid}')"
  cid="${cid#containerd://}"
  pid="$(ctr --address "$CONTAINERD_SOCKET" --namespace k8s.io tasks ls | awk -v c="$cid" '$1 == c {print $2}')"
  [ -n "$pid" ] && kill -KILL "$pid"
  # The kubelet's log file of that container: "<time> <stream> <tag> <line>".
  cat "$CLUSTER_DIR/pod-logs/default_$1_$uid"/tagger/*.log 2>/dev/null | cut -d' ' -f4- | held_in_log
  kubectl -n default delete pod "$1" --grace-period=0 --force >/dev/null 2>&1
}

# Names of this release's tagger pods; extra arguments go to kubectl.
tagger_pods() {
  kubectl -n default get pods -l app.kubernetes.io/instance="$APP",app.kubernetes.io/component=tagger \
    "$@" -o jsonpath='{.items[*].metadata.name}'
}

tagger_killed_holding_jobs() {
  local i n=24 victim="" held="" ids=() pods p
  # No tagger runs while the files go in, so that all of them are queued
  # when the pods start: a tagger as quick as the uploads finished each file
  # as it came, and none was ever seen holding one.
  kubectl -n default patch taggerpool main --type merge \
    -p '{"spec":{"autoscaling":{"enabled":false},"replicas":0}}' >/dev/null || return 1
  local gone=$((SECONDS + 120))
  while [ -n "$(tagger_pods)" ]; do
    [ $SECONDS -lt $gone ] || { echo "tagger pods still there 120 s after scaling to zero"; return 1; }
    sleep 1
  done
  for i in $(seq 1 $n); do
    # Enough text that tagging a file takes a moment, different per file.
    python3 -c 'import random,sys; w=["orbital","survey","moon","rocket","stage","engine","telemetry","launch","payload","thermal"]; r=random.Random(int(sys.argv[1])); print(" ".join(r.choice(w)+str(r.randrange(5000)) for _ in range(40000)))' "$i" > "$ART/load-$i.txt"
    ids+=("$(upload "load-$i.txt" "$ART/load-$i.txt" | jq -r .id)")
  done
  printf '%s\n' "${ids[@]}" > "$ART/load-ids.txt"
  kubectl -n default patch taggerpool main --type merge \
    -p '{"spec":{"autoscaling":{"enabled":true},"replicas":null}}' >/dev/null || return 1
  # The first tagger pod seen holding a job crashes: its process gets SIGKILL
  # (a graceful stop would finish or release its jobs), then the pod is
  # deleted, so its jobs are only freed when their lease lapses and another
  # pod takes them.
  local deadline=$((SECONDS + 120)) rounds=0 looked=0
  while [ -z "$victim" ] && [ $SECONDS -lt $deadline ]; do
    rounds=$((rounds + 1))
    pods="$(tagger_pods --field-selector=status.phase=Running)"
    for p in $pods; do
      looked=$((looked + 1))
      [ -n "$(held_by "$p")" ] || continue
      # What it still held when it died (a job may end between the two reads).
      held="$(crash_pod "$p")"
      # The log lags the database: a job the pod completed just before the
      # kill, but had not logged yet, is done and needs no other pod. The
      # pod is dead, and its other jobs wait out their lease, so the file
      # status read now is final for this question.
      held="$(for id in $held; do [ "$(file_status "$id")" = done ] || echo "$id"; done)"
      if [ -n "$held" ]; then victim="$p"; break; fi
      echo "$p finished its jobs before the kill; trying another pod"
    done
    [ -n "$victim" ] || sleep 0.3
  done
  if [ -z "$victim" ]; then
    # What the pods did meanwhile, to tell "never running" from "too quick to catch".
    echo "no tagger pod was ever seen holding a job ($rounds rounds, $looked pod logs read)"
    for p in $(tagger_pods); do
      echo "$p: $(kubectl -n default logs "$p" 2>/dev/null | grep -c '"claimed"') claims, $(tagged_by "$p" | wc -l) tagged"
    done
    echo "queue: $(api GET /api/v1/queue 2>/dev/null | head -c 300)"
    # The autoscaler's view: replicas, the queue depth it read, read failures, its reasons.
    kubectl -n default get taggerpool main -o jsonpath='{.status}' 2>/dev/null | head -c 2000; echo
    # The operator that decides: restarts (a lost lease makes it exit) and what it said of scaling.
    kubectl -n "${NS:-graphfs-system}" get pods --no-headers 2>/dev/null
    kubectl -n "${NS:-graphfs-system}" logs deployment/graphfs-operator --tail=400 2>/dev/null |
      grep -iE 'scal|queue|leader|lease|reconcile failed' | tail -n 20
    return 1
  fi
  echo "crashed $victim while it held: $(echo $held)"
  # Keep every tagger pod's log as it grows: pods scaled down meanwhile take theirs with them.
  # Each copy is written aside and moved into place only when it has lines (a log only grows;
  # a pod already gone reads as nothing): the check below may read while the collector is
  # stopped mid-copy, and a copy truncated in place then read as empty.
  mkdir -p "$ART/tagger-logs"
  ( while :; do
      for p in $(tagger_pods); do
        [ "$p" = "$victim" ] && continue
        tagged_by "$p" > "$ART/tagger-logs/.$p.part" 2>/dev/null
        [ -s "$ART/tagger-logs/.$p.part" ] && mv -f "$ART/tagger-logs/.$p.part" "$ART/tagger-logs/$p.tagged"
      done
      sleep 2
    done ) &
  local collector=$!
  local id
  for id in "${ids[@]}"; do
    until_ok 240 bash -c '[ "$(file_status "$0")" = done ]' "$id" || { kill $collector; echo "file $id never finished: $(api GET "/api/v1/files/$id")"; return 1; }
  done
  sleep 3; kill $collector; wait $collector 2>/dev/null
  [ "$(queue_field failed)" = 0 ] || { echo "failed jobs: $(queue_field failed)"; return 1; }
  # Each job the victim held was finished by another pod, on a later attempt.
  local others
  others="$(cat "$ART"/tagger-logs/*.tagged 2>/dev/null)"
  for id in $held; do
    printf '%s' "$others" | awk -F'\t' -v f="$id" '$1 == f && $2 >= 2 {ok = 1} END {exit !ok}' \
      || { echo "job of $id: no other pod tagged it on a later attempt"; return 1; }
    echo "file $id: finished by another pod on a later attempt"
  done
}
export -f held_in_log held_by tagged_by

neo4j_pod_deleted() {
  local before codes
  before="$(api GET '/api/v1/files?limit=200' | jq '.items | length')"
  kubectl -n default delete pod "$APP-neo4j-0" --wait=false
  # While the graph is gone: 503 (Service Unavailable), never another 5xx.
  codes=""
  local deadline=$((SECONDS + 120)) c saw503=0 back=0
  while [ $SECONDS -lt $deadline ]; do
    c="$(status_of '/api/v1/files?limit=1')"
    codes+="$c "
    case "$c" in
      503) saw503=1 ;;
      200) [ $saw503 = 1 ] && { back=1; break; } ;;
      000|5*) echo "got $c while Neo4j was away: $codes"; return 1 ;;
    esac
    sleep 0.5
  done
  echo "statuses while Neo4j restarted: $codes"
  [ $saw503 = 1 ] && [ $back = 1 ] || return 1
  statefulset_ready default "$APP-neo4j"
  # Nothing lost: every file is still there.
  [ "$(api GET '/api/v1/files?limit=200' | jq '.items | length')" = "$before" ]
}

taggers_scale_with_the_queue() {
  local i max=0 r
  # Idle first: no tagger pods.
  until_ok 180 bash -c '[ "$(kubectl -n default get deployment "$0" -o jsonpath="{.spec.replicas}")" = 0 ]' "$APP-tagger-main" \
    || { echo "taggers did not scale to zero when idle"; return 1; }
  for i in $(seq 1 30); do
    printf 'Scaling burst file %s about %s.\n' "$i" "$RANDOM" > "$ART/burst.txt"
    upload "burst-$i.txt" "$ART/burst.txt" >/dev/null || return 1
  done
  # Up: the operator asks for more than one pod from the queue's depth,
  # and pods start for real. (How many are ready at once depends on how
  # fast the first ones drain the queue, so that is reported, not required.)
  local deadline=$((SECONDS + 120)) want=0 w
  while [ $SECONDS -lt $deadline ]; do
    read -r w r <<< "$(kubectl -n default get deployment "$APP-tagger-main" -o jsonpath='{.spec.replicas} {.status.readyReplicas}')"
    [ "${w:-0}" -gt "$want" ] && want="${w:-0}"
    [ "${r:-0}" -gt "$max" ] && max="${r:-0}"
    [ "$want" -ge 2 ] && [ "$max" -ge 2 ] && break
    # Past the burst with a decision made: enough to judge.
    [ "$want" -ge 2 ] && [ "$max" -ge 1 ] && [ "$(queue_field pending)" = 0 ] && break
    sleep 1
  done
  echo "most tagger pods asked for: $want; most ready at once: $max"
  [ "$want" -ge 2 ] && [ "$max" -ge 1 ] || return 1
  # Down again once the queue is empty and the cooldown has passed.
  until_ok 180 bash -c '[ "$(kubectl -n default get pods -l app.kubernetes.io/instance="$0",app.kubernetes.io/component=tagger -o name | wc -l)" = 0 ]' "$APP" \
    || { echo "tagger pods still running"; return 1; }
}

# ---------------------------------------------------------------- TLS at the Ingress
# A certificate for $HOST from a CA made here, in a Secret the GraphFS names
# (ingress.tlsSecretName): the operator gives the Ingress its TLS section,
# Traefik serves it on its TLS entry point, and the API and the drive answer
# there as a desktop client reaches them (HTTPS, Basic auth).
make_tls_secret() { # dir
  local pki="$1"
  mkdir -p "$pki" &&
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=GraphFS test CA" \
      -keyout "$pki/ca.key" -out "$pki/ca.pem" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" 2>&1 &&
    openssl req -newkey rsa:2048 -nodes -subj "/CN=$HOST" -keyout "$pki/tls.key" -out "$pki/tls.csr" 2>&1 &&
    openssl x509 -req -in "$pki/tls.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca.key" -CAcreateserial \
      -days 2 -out "$pki/tls.crt" -extfile <(printf 'subjectAltName=DNS:%s\nextendedKeyUsage=serverAuth\n' "$HOST") 2>&1 &&
    kubectl -n default create secret tls "$APP-tls" --cert "$pki/tls.crt" --key "$pki/tls.key"
}
tls_api() { # method path [curl args...]: over HTTPS, trusting only the test CA
  local m="$1" p="$2" port="${INGRESS_TLS_URL##*:}"; shift 2
  curl -sS --fail-with-body --max-time 120 --cacert "$ART/tls/ca.pem" \
    --resolve "$HOST:$port:127.0.0.1" -X "$m" "$@" "https://$HOST:$port$p"
}
export -f tls_api
export INGRESS_TLS_URL

tls_checks() {
  check "a TLS certificate for $HOST in a Secret" make_tls_secret "$ART/tls"
  check "GraphFS ingress.tlsSecretName: the operator gives the Ingress its TLS section" bash -c '
    kubectl -n default patch "graphfs/$0" --type merge -p "{\"spec\":{\"ingress\":{\"tlsSecretName\":\"$0-tls\"}}}" &&
    until_ok 60 bash -c "kubectl -n default get ingress -o jsonpath=\"{.items[*].spec.tls[*].secretName}\" | grep -w \"$0-tls\" >/dev/null"' "$APP"
  check "HTTPS through the Ingress with that certificate (GET /readyz)" \
    until_ok 120 tls_api GET /readyz
  check "the certificate is the Secret's: refused without the test CA (curl exit 60)" bash -c '
    curl -sS -o /dev/null --max-time 30 --resolve "$0:${INGRESS_TLS_URL##*:}:127.0.0.1" "https://$0:${INGRESS_TLS_URL##*:}/readyz"
    [ $? = 60 ]' "$HOST"
  check "the drive over HTTPS with Basic auth: MKCOL, PUT, PROPFIND, GET the same bytes" bash -c '
    auth=(-u "desktop:$TOKEN") &&
    tls_api MKCOL /dav/files/secure/ "${auth[@]}" >/dev/null &&
    tls_api PUT /dav/files/secure/note.txt "${auth[@]}" --data-binary "sent over TLS" >/dev/null &&
    tls_api PROPFIND /dav/files/secure/ "${auth[@]}" -H "Depth: 1" | grep "/dav/files/secure/note.txt" >/dev/null &&
    [ "$(tls_api GET /dav/files/secure/note.txt "${auth[@]}")" = "sent over TLS" ] &&
    tls_api GET "/api/v1/files?folder=/secure" -H "Authorization: Bearer $TOKEN" | jq -e ".items[0].name == \"note.txt\""'
}

fault_checks() {
  check "an API pod deleted under read load: every request through the Ingress answered 200 (or 429, rate-limited)" api_pod_deleted_under_load
  check "a tagger pod crashed while holding jobs: another pod finishes them" tagger_killed_holding_jobs
  check "the Neo4j pod deleted: 503 meanwhile, every file there afterwards" neo4j_pod_deleted
  check "TaggerPool scales tagger pods 0 -> N -> 0 from the queue" taggers_scale_with_the_queue
}
