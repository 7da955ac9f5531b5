#!/usr/bin/env bash
# The topology of a cluster, as local processes: MinIO, Neo4j, three API
# replicas, two taggers, and nginx in front configured as the Ingress is.
# Everything listens on 127.0.0.1; data under ./data/local-cluster.
# Ctrl-C stops it all. Logs (STATE/*.log) at GRAPHFS_LOG, warn unless set
# (info shows each tagging job: claimed, tagged).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BIN="${GRAPHFS_BIN:-${CARGO_TARGET_DIR:-$HOME/.cache/graphfs/target}/release/graphfs}"
STATE="${GRAPHFS_LOCAL_CLUSTER_DIR:-$ROOT/data/local-cluster}"
FRONT="${GRAPHFS_ADDR:-127.0.0.1:8080}"
TOKEN="${GRAPHFS_DEV_TOKEN:-gfs_local_cluster_$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')}"
mkdir -p "$STATE"
pids=()
cleanup() {
  echo "stopping..."
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  "$ROOT/tests/minio/stop.sh" "$STATE/minio" >/dev/null 2>&1 || true
  "$ROOT/tests/neo4j/stop.sh" "$STATE/neo4j" >/dev/null 2>&1 || true
}
trap cleanup EXIT INT TERM

"$ROOT/tests/minio/install.sh" >/dev/null
"$ROOT/tests/neo4j/install.sh" >/dev/null
"$ROOT/tests/minio/start.sh" "$STATE/minio" >/dev/null
"$ROOT/tests/neo4j/start.sh" "$STATE/neo4j" >/dev/null
set -a
# shellcheck disable=SC1091
. "$STATE/minio/env"
# shellcheck disable=SC1091
. "$STATE/neo4j/env"
set +a
export GRAPHFS_STORAGE=s3 GRAPHFS_GRAPH=neo4j GRAPHFS_S3_BUCKET=graphfs GRAPHFS_LOG="${GRAPHFS_LOG:-warn}"
printf 'dev:%s\n' "$TOKEN" > "$STATE/tokens"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
upstreams=""
for i in 1 2 3; do
  port="$(free_port)"
  GRAPHFS_ADDR="127.0.0.1:$port" GRAPHFS_TAGGER_CONCURRENCY=0 GRAPHFS_TOKENS_FILE="$STATE/tokens" \
    "$BIN" serve --data-dir "$STATE/api$i" > "$STATE/api$i.log" 2>&1 &
  pids+=($!)
  upstreams+="        server 127.0.0.1:$port max_fails=1 fail_timeout=5s;"$'\n'
done
for t in a b; do
  HOSTNAME="tagger-$t" "$BIN" tagger --data-dir "$STATE/tagger-$t" > "$STATE/tagger-$t.log" 2>&1 &
  pids+=($!)
done
mkdir -p "$STATE/nginx"
python3 - "$HERE/nginx.conf.tmpl" "$STATE/nginx" "$FRONT" "$upstreams" > "$STATE/nginx/nginx.conf" <<'PY'
import sys
tmpl, d, listen, ups = sys.argv[1:]
print(open(tmpl).read().replace("@DIR@", d).replace("@LISTEN@", listen).replace("@UPSTREAMS@", ups.rstrip("\n")))
PY
nginx -p "$STATE/nginx" -c "$STATE/nginx/nginx.conf" &
pids+=($!)
for _ in $(seq 1 100); do
  curl -sf "http://$FRONT/readyz" >/dev/null 2>&1 && break
  sleep 0.2
done
echo "GraphFS (3 API replicas, 2 taggers, MinIO, Neo4j) at http://$FRONT/"
echo "Sign in with: $TOKEN"
echo "Logs and data: $STATE"
wait -n "${pids[@]}" || true
