#!/usr/bin/env bash
# 4 KiB uploads through the whole local stack (nginx, 3 API replicas, 2
# taggers, MinIO, Neo4j: tests/local-cluster/run.sh), from wrk for a fixed
# time after a warm-up load (a fresh JVM compiles Neo4j's code and its
# planner plans again as the graph grows from nothing, which a running
# installation did long ago; the warm-up's own rate is printed too); then
# how long the taggers take to empty the queue. Prints one line for
# `make bench`. The state folder (the store, the replicas' and taggers'
# logs: 0.4-0.8 GB) is deleted at the end unless the run failed or
# GRAPHFS_BENCH_KEEP=1 asks to keep it for finding the bottleneck; kept
# runs filled the disk. The load runs long enough to be
# sustained: Neo4j queues up to 10,000 full-text index changes to apply in
# the background, and a 20 s load ended before that queue filled (264-291
# files/s then, 51 over 100 s, when commits waited on the queue).
#   GRAPHFS_BENCH_SECONDS (100), GRAPHFS_BENCH_WARM_UP_SECONDS (10),
#   GRAPHFS_BENCH_CLIENTS (16), GRAPHFS_BENCH_KEEP (0)
# While the taggers work alone it also prints, on stderr, the CPU each part
# took per file tagged (cpu.py), which shows where the drain is bound; and
# in its line, the CPU the stack takes per upload and per tagged file, and
# so the upload rate this machine's cores can tag as fast as it takes.
#   GRAPHFS_BENCH_PROFILE_SECONDS (0: off): records Neo4j with Java Flight
#     Recorder for this long once the load stops (the taggers' work alone)
#     and prints where its CPU went (jfr-breakdown.py; needs the JDK's jcmd)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
LOG_TAG=local-cluster-bench
# shellcheck source=../lib/common.sh
. "$ROOT/tests/lib/common.sh"
SECONDS_LOAD="${GRAPHFS_BENCH_SECONDS:-100}"
WARM_UP="${GRAPHFS_BENCH_WARM_UP_SECONDS:-10}"
CLIENTS="${GRAPHFS_BENCH_CLIENTS:-16}"
command -v wrk >/dev/null || die "wrk is not installed (tests/deps.sh debian)"
STATE="$(mktemp -d /tmp/graphfs-local-cluster-bench.XXXXXX)"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
TOKEN="gfs_bench_$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
URL="http://127.0.0.1:$PORT"

GRAPHFS_LOCAL_CLUSTER_DIR="$STATE" GRAPHFS_ADDR="127.0.0.1:$PORT" GRAPHFS_DEV_TOKEN="$TOKEN" \
  setsid "$HERE/run.sh" > "$STATE/run.log" 2>&1 &
RUN=$!
finished=0
stop() {
  kill -TERM -- "-$RUN" 2>/dev/null || true
  wait "$RUN" 2>/dev/null || true
  if [ "$finished" = 1 ] && [ "${GRAPHFS_BENCH_KEEP:-0}" != 1 ]; then
    # A server that outlived the group's TERM would write into a deleted folder.
    pkill -KILL -f "$STATE/" 2>/dev/null || true
    rm -rf "$STATE"
  else
    echo "local-cluster-bench: state and logs kept in $STATE" >&2
  fi
}
trap stop EXIT
for _ in $(seq 1 300); do
  grep -q "^GraphFS" "$STATE/run.log" 2>/dev/null && break
  alive "$RUN" || { tail -n 20 "$STATE/run.log"; die "the local cluster did not start"; }
  sleep 0.2
done
grep -q "^GraphFS" "$STATE/run.log" || die "the local cluster did not start in 60 s"

queue_left() {
  curl -sf -H "Authorization: Bearer $TOKEN" "$URL/api/v1/queue" |
    python3 -c 'import json,sys; q=json.load(sys.stdin); print(q["pending"]+q["in_flight"])'
}

warm_rate=none
if [ "$WARM_UP" -gt 0 ]; then
  warm="$(wrk -t2 -c"$CLIENTS" -d"${WARM_UP}s" --timeout 10s -s "$HERE/uploads.lua" "$URL/" -- "$TOKEN" warm)"
  echo "$warm" > "$STATE/wrk-warm-up.txt"
  read -r _ w_requests w_failed w_secs < <(grep '^UPLOADS' <<<"$warm")
  warm_rate="$(python3 -c "print(f'{($w_requests - $w_failed) / $w_secs:.0f} files/s')")"
fi
queued_at_start="$(queue_left)"
python3 "$HERE/cpu.py" snapshot "$STATE" > "$STATE/cpu-load-start.json"
start=$(date +%s.%N)
out="$(wrk -t2 -c"$CLIENTS" -d"${SECONDS_LOAD}s" --timeout 10s -s "$HERE/uploads.lua" "$URL/" -- "$TOKEN")"
echo "$out" > "$STATE/wrk.txt"
read -r _ requests failed secs < <(grep '^UPLOADS' <<<"$out")
left_at_end="$(queue_left)"
drain_start=$(date +%s.%N)
python3 "$HERE/cpu.py" snapshot "$STATE" > "$STATE/cpu-drain-start.json"
PROFILE="${GRAPHFS_BENCH_PROFILE_SECONDS:-0}"
if [ "$PROFILE" -gt 0 ]; then
  jcmd "$(cat "$STATE/neo4j/neo4j.pid")" JFR.start name=drain settings=profile \
    duration="${PROFILE}s" filename="$STATE/drain.jfr" > /dev/null
fi
# The taggers finish what the load left; bounded, so a stuck queue fails.
deadline=$((SECONDS + 600))
while [ "$(queue_left)" != 0 ]; do
  [ $SECONDS -lt $deadline ] || die "the tagging queue did not empty in 600 s"
  sleep 0.5
done
total="$(python3 -c "import time; print(time.time() - $start)")"
drain="$(python3 -c "import time; print(time.time() - $drain_start)")"
python3 "$HERE/cpu.py" snapshot "$STATE" > "$STATE/cpu-drain-end.json"
echo "local-cluster-bench: while the taggers worked alone, $(python3 "$HERE/cpu.py" report \
  "$STATE/cpu-drain-start.json" "$STATE/cpu-drain-end.json" "$left_at_end")" >&2
# What the machine allows: the uploads' CPU (less the tagging done while
# they ran) and the tagging's, against its cores.
uploaded=$((requests - failed))
tagged_meanwhile=$((queued_at_start + uploaded - left_at_end))
capacity="$(python3 "$HERE/cpu.py" capacity "$STATE/cpu-load-start.json" \
  "$STATE/cpu-drain-start.json" "$STATE/cpu-drain-end.json" \
  "$uploaded" "$((tagged_meanwhile > 0 ? tagged_meanwhile : 0))" "$left_at_end")"
if [ "$PROFILE" -gt 0 ]; then
  # Ends a recording the drain outlasted (and writes it); one that ended
  # already is not found, which is no error here.
  jcmd "$(cat "$STATE/neo4j/neo4j.pid")" JFR.stop name=drain > /dev/null 2>&1 || true
  for _ in $(seq 1 60); do [ -s "$STATE/drain.jfr" ] && break; sleep 1; done
  echo "local-cluster-bench: where Neo4j's CPU went while the taggers worked alone:" >&2
  python3 "$HERE/jfr-breakdown.py" "$STATE/drain.jfr" >&2
fi
python3 - "$requests" "$failed" "$secs" "$left_at_end" "$total" "$drain" "$CLIENTS" "$warm_rate" "$WARM_UP" "$capacity" <<'PY'
import sys
requests, failed, secs, left, total, drain, clients, warm, warm_secs, capacity = sys.argv[1:]
ok = int(requests) - int(failed)
rate = ok / float(secs)
tagged = ok / float(total)
drained = int(left) / float(drain)
print(f"4 KiB uploads through nginx, 3 API replicas, MinIO and Neo4j: {rate:.0f} files/s "
      f"(target >= 300; {ok} files in {float(secs):.0f} s, {clients} clients, {failed} failed); "
      f"{left} left in the tagging queue when the load stopped, all tagged after {float(total):.0f} s "
      f"({tagged:.0f} files/s tagged by 2 taggers; {drained:.0f} files/s once the load stopped); "
      f"the {warm_secs} s warm-up before it: {warm}; {capacity}")
PY
finished=1
