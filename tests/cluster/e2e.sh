#!/usr/bin/env bash
# GraphFS on a real one-node cluster (tests/cluster/up.sh), the way a user
# meets it: images built from the project's Dockerfile, `helm install`,
# `kubectl apply` of a GraphFS and a TaggerPool, then the HTTP API and the web
# page through the Ingress, faults on real pods, TLS at the Ingress, `helm upgrade` and
# `helm uninstall`. Prints one PASS/FAIL line per check, timings, and
#   cluster: N passed, M failed
# and exits non-zero when any check failed. Artifacts (the page's screenshot,
# logs, describe output on failure) go to $GRAPHFS_ARTIFACTS/cluster.
#
# Usage: tests/cluster/e2e.sh        (tests/cluster/install.sh first; root)
# Environment:
#   GRAPHFS_CACHE            cache root (default ~/.cache/graphfs)
#   GRAPHFS_ARTIFACTS        artifacts folder (default test-artifacts)
#   GRAPHFS_CLUSTER_KEEP=1   leave the cluster running afterwards (down.sh DIR stops it)
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
CACHE="${GRAPHFS_CACHE:-$HOME/.cache/graphfs}"
BIN="$CACHE/bin"
# shellcheck source=common.sh
. "$HERE/common.sh"
ART="${GRAPHFS_ARTIFACTS:-$ROOT/test-artifacts}/cluster"
DIR="$CACHE/cluster/run"
if [ "$(id -u)" != 0 ]; then
  # Containers, mounts, bridges and iptables rules need root.
  echo "SKIP cluster: the test cluster needs root"; exit 0
fi
rm -rf "$ART"; mkdir -p "$ART"
export PATH="$BIN:$PATH"
# shellcheck source=lib.sh
. "$HERE/lib.sh"

"$HERE/down.sh" "$DIR" --purge >/dev/null 2>&1 || true   # a previous run (or one that was killed)
t_up=$SECONDS
eval "$("$HERE/up.sh" "$DIR" | sed 's/^/export /')" || { echo "FAIL cluster: up.sh failed"; exit 1; }
finish() {
  local rc=$?
  if [ "$FAILED" -gt 0 ]; then collect_diagnostics; fi
  if [ "${GRAPHFS_CLUSTER_KEEP:-0}" != 1 ]; then "$HERE/down.sh" "$DIR" >/dev/null 2>&1; fi
  cp -r "$DIR/logs" "$ART/" 2>/dev/null || true
  echo "cluster: $PASSED passed, $FAILED failed"
  [ "$FAILED" = 0 ] && [ $rc = 0 ] || exit 1
}
trap finish EXIT
timing "cluster up (node Ready, images loaded)" $((SECONDS - t_up))

# ---------------------------------------------------------------- 1. helm install
NS=graphfs-system
t_install=$SECONDS
check "helm install of charts/graphfs" \
  helm install graphfs "$ROOT/charts/graphfs" --namespace "$NS" --create-namespace --wait --timeout 180s
check "the operator Deployment is available" \
  kubectl -n "$NS" wait deployment/graphfs-operator --for=condition=Available --timeout=120s
check "an operator pod holds the lease" lease_held "$NS"
timing "helm install to operator Ready" $((SECONDS - t_install))

# ---------------------------------------------------------------- 2. GraphFS + TaggerPool
APP=files
t_apply=$SECONDS
render_resources > "$ART/resources.yaml"
check "kubectl apply of a GraphFS and a TaggerPool" kubectl apply -n default -f "$ART/resources.yaml"
check "GraphFS $APP reports Ready" \
  kubectl -n default wait "graphfs/$APP" --for=condition=Ready --timeout=300s
check "MinIO StatefulSet ready with its claim bound" statefulset_ready default "$APP-minio"
check "Neo4j StatefulSet ready with its claim bound" statefulset_ready default "$APP-neo4j"
check "both API replicas Ready" deployment_ready default "$APP-api" 2
check "TaggerPool main reports Ready" \
  kubectl -n default wait taggerpool/main --for=condition=Ready --timeout=120s
timing "kubectl apply to GraphFS Ready" $((SECONDS - t_apply))

# ---------------------------------------------------------------- 3. through the Ingress
TOKEN="$(kubectl -n default get secret "$APP-api-tokens" -o jsonpath='{.data.tokens}' | base64 -d | awk -F: '$1 == "admin" {print $2}')"
export TOKEN
check "the API token is in the operator's Secret" test -n "$TOKEN"
check "the Ingress routes to the API (GET /readyz)" wait_http 120 "/readyz" 200
api_checks
check "the web page loads through the Ingress (headless Chromium)" page_screenshot "$ART/page.png"

# ---------------------------------------------------------------- 4. faults on real pods
fault_checks

# ---------------------------------------------------------------- 5. TLS at the Ingress
# Traefik serves every route on its TLS entry point with TLS (as clusters
# set it up), the certificate chosen by host from the Ingresses' secrets.
tls_checks

# ---------------------------------------------------------------- 6. helm upgrade, uninstall
check "helm upgrade to a changed value (leaseSeconds=20)" \
  helm upgrade graphfs "$ROOT/charts/graphfs" --namespace "$NS" --reuse-values --set leaseSeconds=20 --wait --timeout 180s
check "the operator runs with the new value" operator_env_is "$NS" GRAPHFS_OPERATOR_LEASE_SECONDS 20
check "GraphFS still Ready after the upgrade" \
  kubectl -n default wait "graphfs/$APP" --for=condition=Ready --timeout=120s
check "helm uninstall" helm uninstall graphfs --namespace "$NS" --wait --timeout 120s
check "the CRDs stay after uninstall" kubectl get crd graphfses.graphfs.io taggerpools.graphfs.io
check "the GraphFS and its data stay (retention: Keep)" kubectl -n default get "graphfs/$APP" "pvc/data-$APP-minio-0" "pvc/data-$APP-neo4j-0"
