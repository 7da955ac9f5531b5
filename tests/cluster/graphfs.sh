#!/usr/bin/env bash
# GraphFS the Kubernetes way on this machine: the one-node cluster of
# tests/cluster/up.sh, the chart installed with Helm, a GraphFS (managed
# MinIO and Neo4j, two API replicas behind a Traefik Ingress) and an offline
# TaggerPool. Ends by printing, for scripts to read:
#   GRAPHFS_URL=<ingress URL>
#   GRAPHFS_TOKEN=<admin API token>
# `down` removes the cluster (and its data).
#
# Usage: tests/cluster/graphfs.sh up|down     (make cluster / make cluster-down)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
CACHE="${GRAPHFS_CACHE:-$HOME/.cache/graphfs}"
DIR="${GRAPHFS_CLUSTER_DIR:-$CACHE/cluster/demo}"
export PATH="$CACHE/bin:$PATH"
# shellcheck source=common.sh
. "$HERE/common.sh"

case "${1:-}" in
  down)
    "$HERE/down.sh" "$DIR" --purge
    exit 0 ;;
  up) ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac

ART="$DIR/artifacts"; mkdir -p "$ART"
APP=files
# shellcheck source=lib.sh
. "$HERE/lib.sh"
eval "$("$HERE/up.sh" "$DIR" | sed 's/^/export /')"
log "installing the chart"
helm upgrade --install graphfs "$ROOT/charts/graphfs" --namespace graphfs-system --create-namespace --wait --timeout 180s >/dev/null
render_resources | kubectl apply -n default -f - >/dev/null
log "waiting for GraphFS $APP to be Ready (MinIO, Neo4j, API replicas)"
kubectl -n default wait "graphfs/$APP" --for=condition=Ready --timeout=300s >/dev/null
TOKEN="$(kubectl -n default get secret "$APP-api-tokens" -o jsonpath='{.data.tokens}' | base64 -d | awk -F: '$1 == "admin" {print $2}')"
export TOKEN
wait_http 120 /readyz 200 || die "the Ingress does not answer for $HOST"
log "GraphFS is up. The Ingress serves the host $HOST on $INGRESS_URL:"
log "  curl -H 'Host: $HOST' -H \"Authorization: Bearer \$GRAPHFS_TOKEN\" \$GRAPHFS_URL/api/v1/files"
log "  (a browser needs $HOST to resolve to 127.0.0.1, e.g. an /etc/hosts line);"
log "  KUBECONFIG=$KUBECONFIG kubectl get pods; make cluster-down removes it all"
echo "GRAPHFS_URL=http://$HOST:${INGRESS_URL##*:}"
echo "GRAPHFS_TOKEN=$TOKEN"
