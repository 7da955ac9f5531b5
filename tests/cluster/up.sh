#!/usr/bin/env bash
# Start a one-node Kubernetes cluster of real parts as plain processes, the way
# kubeadm or k3s lay one out, with everything under DIR:
#
#   gfs0 bridge 10.247.0.1/16    the pod network (CNI bridge + host-local + portmap);
#                               the control plane listens on the bridge address,
#                               so pods reach it and nothing outside the machine can
#   containerd + runc           CRI runtime; its image store is cached under
#                               $CACHE/cluster/containerd, so images survive restarts
#   etcd, kube-apiserver        tests/envtest/start.sh, on 10.247.0.1:6443
#   kube-controller-manager, kube-scheduler, kubelet, kube-proxy (iptables)
#   CoreDNS                     cluster DNS on 10.247.0.1:53 (kubernetes plugin)
#   Traefik                     the ingress controller: reads Ingress objects,
#                               serves on 127.0.0.1:$GRAPHFS_CLUSTER_HTTP_PORT
#                               (18080) and, with TLS, :$GRAPHFS_CLUSTER_HTTPS_PORT (18443)
#   hostPath PersistentVolumes  under DIR/volumes, for StatefulSets' claims
#
# Prints CLUSTER_DIR=..., KUBECONFIG=..., INGRESS_URL=..., INGRESS_TLS_URL=...,
# CONTAINERD_SOCKET=...
# on stdout when the node is Ready.
# Stop with tests/cluster/down.sh DIR (also cleans up after a failed start).
#
# Usage: tests/cluster/up.sh DIR
# Environment:
#   GRAPHFS_CACHE               cache root (default ~/.cache/graphfs)
#   GRAPHFS_CLUSTER_HTTP_PORT   the ingress controller's port on 127.0.0.1 (default 18080)
#   GRAPHFS_CLUSTER_PVS         hostPath PersistentVolumes to create (default 8)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
CACHE="${GRAPHFS_CACHE:-$HOME/.cache/graphfs}"
BIN="$CACHE/bin"
[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
mkdir -p "$1"
DIR="$(cd "$1" && pwd)"
# shellcheck source=common.sh
. "$HERE/common.sh"
HTTP_PORT="${GRAPHFS_CLUSTER_HTTP_PORT:-18080}"
HTTPS_PORT="${GRAPHFS_CLUSTER_HTTPS_PORT:-18443}"
NODE=graphfs-node

[ "$(id -u)" = 0 ] || die "the cluster needs root (network namespaces, mounts, iptables)"
for b in kubelet kube-proxy kube-scheduler kube-controller-manager coredns traefik kube-apiserver etcd kubectl; do
  [ -x "$BIN/$b" ] || die "$BIN/$b not found: run tests/cluster/install.sh"
done
for c in containerd runc ctr iptables ip conntrack; do command -v "$c" >/dev/null || die "$c not found: run tests/cluster/install.sh"; done
[ -x "$CNI_BIN/bridge" ] || die "CNI plugins not found in $CNI_BIN (containernetworking-plugins)"
if [ -f "$DIR/pids" ] && [ -s "$DIR/pids" ]; then
  die "$DIR holds a running cluster (or one not cleaned up): tests/cluster/down.sh $DIR first"
fi
: > "$DIR/pids"
trap 'rc=$?; [ $rc = 0 ] || { log "start failed (logs in $DIR/logs); cleaning up"; "$HERE/down.sh" "$DIR" >&2 || true; }; exit $rc' EXIT
mkdir -p "$DIR/logs" "$DIR/pki"

spawn() { # name cmd args... : detached, logs in DIR/logs/NAME.log, pid in DIR/pids
  local name="$1"; shift
  setsid "$@" >>"$DIR/logs/$name.log" 2>&1 </dev/null &
  echo "$name $!" >> "$DIR/pids"
}
wait_for() { # what seconds cmd...
  local what="$1" secs="$2" deadline; shift 2
  deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt "$deadline" ] || die "$what not ready after ${secs}s"
    sleep 0.5
  done
}

t0=$SECONDS
# ---------------------------------------------------------------- host network
sysctl -qw net.ipv4.ip_forward=1
modprobe br_netfilter 2>/dev/null || true
[ -e /proc/sys/net/bridge/bridge-nf-call-iptables ] && sysctl -qw net.bridge.bridge-nf-call-iptables=1
ip link show "$BRIDGE" >/dev/null 2>&1 || ip link add "$BRIDGE" type bridge
ip addr replace "$GATEWAY/16" dev "$BRIDGE"
ip link set "$BRIDGE" up
mkdir -p "$DIR/cni/net.d" "$DIR/cni/ipam"
cat > "$DIR/cni/net.d/10-graphfs.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "graphfs",
  "plugins": [
    { "type": "bridge", "bridge": "$BRIDGE", "isGateway": true, "ipMasq": false, "hairpinMode": true,
      "ipam": { "type": "host-local", "dataDir": "$DIR/cni/ipam",
                "ranges": [[{ "subnet": "$POD_CIDR", "rangeStart": "10.247.1.0", "gateway": "$GATEWAY" }]],
                "routes": [{ "dst": "0.0.0.0/0" }] } },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
EOF

# ---------------------------------------------------------------- containerd
mkdir -p "$CONTAINERD_ROOT" "$DIR/containerd"
cat > "$DIR/containerd/config.toml" <<EOF
version = 2
root = "$CONTAINERD_ROOT"
state = "$DIR/containerd/state"
[grpc]
  address = "$DIR/containerd/containerd.sock"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "localhost/graphfs/pause:3.10"
  # Lowering a process's oom_score_adj (the kubelet asks -998 for sandboxes)
  # needs CAP_SYS_RESOURCE, which this machine does not grant: clamp at ours.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$CNI_BIN"
    conf_dir = "$DIR/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
EOF
SOCK="$DIR/containerd/containerd.sock"
spawn containerd containerd --config "$DIR/containerd/config.toml"
wait_for containerd 30 ctr --address "$SOCK" version
"$HERE/images.sh" "$SOCK" >&2

# ---------------------------------------------------------------- control plane
# One token per component, each with the identity Kubernetes' default RBAC
# (and the Node authorizer) expects of it.
tok() { openssl rand -hex 24; }
SCHED_TOKEN="$(tok)" CM_TOKEN="$(tok)" PROXY_TOKEN="$(tok)" KUBELET_TOKEN="$(tok)" DNS_TOKEN="$(tok)" INGRESS_TOKEN="$(tok)"
{
  printf '%s,system:kube-scheduler,system:kube-scheduler\n' "$SCHED_TOKEN"
  printf '%s,system:kube-controller-manager,system:kube-controller-manager\n' "$CM_TOKEN"
  printf '%s,system:kube-proxy,system:kube-proxy\n' "$PROXY_TOKEN"
  printf '%s,system:node:%s,system:node:%s,"system:nodes"\n' "$KUBELET_TOKEN" "$NODE" "$NODE"
  printf '%s,graphfs:coredns,graphfs:coredns\n' "$DNS_TOKEN"
  printf '%s,graphfs:ingress,graphfs:ingress\n' "$INGRESS_TOKEN"
} > "$DIR/pki/components.csv"
chmod 600 "$DIR/pki/components.csv"
GRAPHFS_ENVTEST_ADDRESS="$GATEWAY" GRAPHFS_ENVTEST_PORT=6443 GRAPHFS_ENVTEST_SERVICE_CIDR="$SERVICE_CIDR" \
GRAPHFS_ENVTEST_EXTRA_TOKENS="$DIR/pki/components.csv" \
GRAPHFS_ENVTEST_AUTHORIZATION_MODE=Node,RBAC \
GRAPHFS_ENVTEST_APISERVER_ARGS="--kubelet-preferred-address-types InternalIP" \
  "$ROOT/tests/envtest/start.sh" "$DIR/control-plane" >/dev/null
# The control plane's own pids go into DIR/pids too, so down.sh stops everything.
cat "$DIR/control-plane/pids" >> "$DIR/pids"
export KUBECONFIG="$DIR/control-plane/kubeconfig"
CA="$DIR/control-plane/pki/ca.crt"
SERVER="https://$GATEWAY:6443"
kubeconfig_for() { # file user token
  cat > "$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: graphfs
  cluster: { server: "$SERVER", certificate-authority: "$CA" }
users:
- name: "$2"
  user: { token: "$3" }
contexts:
- name: graphfs
  context: { cluster: graphfs, user: "$2" }
current-context: graphfs
EOF
  chmod 600 "$1"
}
kubeconfig_for "$DIR/pki/scheduler.kubeconfig" system:kube-scheduler "$SCHED_TOKEN"
kubeconfig_for "$DIR/pki/controller-manager.kubeconfig" system:kube-controller-manager "$CM_TOKEN"
kubeconfig_for "$DIR/pki/kube-proxy.kubeconfig" system:kube-proxy "$PROXY_TOKEN"
kubeconfig_for "$DIR/pki/kubelet.kubeconfig" "system:node:$NODE" "$KUBELET_TOKEN"
kubeconfig_for "$DIR/pki/coredns.kubeconfig" graphfs:coredns "$DNS_TOKEN"
kubeconfig_for "$DIR/pki/ingress.kubeconfig" graphfs:ingress "$INGRESS_TOKEN"

spawn kube-controller-manager "$BIN/kube-controller-manager" \
  --kubeconfig "$DIR/pki/controller-manager.kubeconfig" \
  --authentication-kubeconfig "$DIR/pki/controller-manager.kubeconfig" \
  --authorization-kubeconfig "$DIR/pki/controller-manager.kubeconfig" \
  --bind-address 127.0.0.1 --secure-port 0 \
  --leader-elect=false --use-service-account-credentials \
  --service-account-private-key-file "$DIR/control-plane/pki/sa.key" \
  --root-ca-file "$CA" \
  --service-cluster-ip-range "$SERVICE_CIDR" \
  --controllers '*,-nodeipam,-cloud-node-lifecycle,-service-lb-controller,-route' \
  --concurrent-deployment-syncs 2 --v 1
spawn kube-scheduler "$BIN/kube-scheduler" \
  --kubeconfig "$DIR/pki/scheduler.kubeconfig" \
  --authentication-kubeconfig "$DIR/pki/scheduler.kubeconfig" \
  --authorization-kubeconfig "$DIR/pki/scheduler.kubeconfig" \
  --bind-address 127.0.0.1 --secure-port 0 --leader-elect=false --v 1

# ---------------------------------------------------------------- kubelet
mkdir -p "$DIR/kubelet" "$DIR/kubelet-pki" "$DIR/pod-logs"
printf 'nameserver %s\nsearch cluster.local\n' "$GATEWAY" > "$DIR/resolv.conf"
cat > "$DIR/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $GATEWAY
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 0
# kube-apiserver has no client certificate for the kubelet here, so the
# kubelet's API (on the bridge address only) is open to what can reach it:
# this machine and its pods. A test cluster, not a production one.
authentication:
  anonymous: { enabled: true }
  webhook: { enabled: false }
authorization: { mode: AlwaysAllow }
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://$SOCK
clusterDNS: [$GATEWAY]
clusterDomain: cluster.local
resolvConf: $DIR/resolv.conf
podLogsDir: $DIR/pod-logs
failSwapOn: false
# The machine's disk is shared with everything else: evict only when it is
# really full, and never collect the preloaded images (nothing can re-pull them).
evictionHard: { memory.available: "200Mi", nodefs.available: "2%", imagefs.available: "2%" }
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
maxPods: 60
EOF
spawn kubelet "$BIN/kubelet" \
  --config "$DIR/kubelet.yaml" \
  --kubeconfig "$DIR/pki/kubelet.kubeconfig" \
  --root-dir "$DIR/kubelet" --cert-dir "$DIR/kubelet-pki" \
  --hostname-override "$NODE" --node-ip "$GATEWAY" \
  --v 1

# ---------------------------------------------------------------- kube-proxy
cat > "$DIR/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: { kubeconfig: "$DIR/pki/kube-proxy.kubeconfig" }
mode: iptables
clusterCIDR: $POD_CIDR
hostnameOverride: $NODE
bindAddress: $GATEWAY
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
# Leave the host's conntrack limits alone.
conntrack: { maxPerCore: 0 }
EOF
spawn kube-proxy "$BIN/kube-proxy" --config "$DIR/kube-proxy.yaml" --v 1

# ---------------------------------------------------------------- RBAC, DNS, ingress
kubectl apply -f - >/dev/null <<'EOF'
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: "graphfs:coredns" }
rules:
- apiGroups: [""]
  resources: [endpoints, services, pods, namespaces]
  verbs: [list, watch]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: "graphfs:coredns" }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "graphfs:coredns" }
subjects: [{ apiGroup: rbac.authorization.k8s.io, kind: User, name: "graphfs:coredns" }]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: "graphfs:ingress" }
rules:
- apiGroups: [""]
  resources: [services, endpoints, secrets, nodes]
  verbs: [get, list, watch]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [list, watch]
- apiGroups: [networking.k8s.io]
  resources: [ingresses, ingressclasses]
  verbs: [get, list, watch]
- apiGroups: [networking.k8s.io]
  resources: [ingresses/status]
  verbs: [update]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: "graphfs:ingress" }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "graphfs:ingress" }
subjects: [{ apiGroup: rbac.authorization.k8s.io, kind: User, name: "graphfs:ingress" }]
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata:
  name: traefik
  annotations: { ingressclass.kubernetes.io/is-default-class: "true" }
spec: { controller: traefik.io/ingress-controller }
EOF
cat > "$DIR/Corefile" <<EOF
.:53 {
    bind $GATEWAY
    errors
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig $DIR/pki/coredns.kubeconfig graphfs
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }
    cache 5
}
EOF
spawn coredns "$BIN/coredns" -conf "$DIR/Corefile"
spawn traefik "$BIN/traefik" \
  --entryPoints.web.address="127.0.0.1:$HTTP_PORT" \
  --entryPoints.web.transport.respondingTimeouts.readTimeout=0 \
  --entryPoints.websecure.address="127.0.0.1:$HTTPS_PORT" \
  --entryPoints.websecure.http.tls=true \
  --entryPoints.websecure.transport.respondingTimeouts.readTimeout=0 \
  --providers.kubernetesIngress=true \
  --providers.kubernetesIngress.endpoint="$SERVER" \
  --providers.kubernetesIngress.token="$INGRESS_TOKEN" \
  --providers.kubernetesIngress.certAuthFilePath="$CA" \
  --providers.kubernetesIngress.allowEmptyServices=true \
  --log.level=WARN --global.checkNewVersion=false --global.sendAnonymousUsage=false

# ---------------------------------------------------------------- volumes
PVS="${GRAPHFS_CLUSTER_PVS:-8}"
for i in $(seq 1 "$PVS"); do
  mkdir -p "$DIR/volumes/pv$i"
  # The pods run as non-root users, and hostPath volumes get no fsGroup.
  chmod 0777 "$DIR/volumes/pv$i"
  cat <<EOF
apiVersion: v1
kind: PersistentVolume
metadata: { name: pv$i, labels: { graphfs.io/test-cluster: "true" } }
spec:
  capacity: { storage: 100Gi }
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  hostPath: { path: "$DIR/volumes/pv$i", type: Directory }
---
EOF
done | kubectl apply -f - >/dev/null

node_ready() {
  [ "$(kubectl get node "$NODE" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]
}
wait_for "node $NODE" 120 node_ready
wait_for "the default service account" 60 kubectl get serviceaccount default -n default
wait_for "CoreDNS" 30 bash -c "exec 3<>/dev/tcp/$GATEWAY/53"
wait_for "Traefik" 30 bash -c "exec 3<>/dev/tcp/127.0.0.1/$HTTP_PORT"
wait_for "Traefik's TLS entry point" 30 bash -c "exec 3<>/dev/tcp/127.0.0.1/$HTTPS_PORT"
trap - EXIT
log "cluster up in $((SECONDS - t0)) s (node $NODE Ready); stop with tests/cluster/down.sh $DIR"
cat > "$DIR/env" <<EOF
CLUSTER_DIR=$DIR
KUBECONFIG=$KUBECONFIG
INGRESS_URL=http://127.0.0.1:$HTTP_PORT
INGRESS_TLS_URL=https://127.0.0.1:$HTTPS_PORT
CONTAINERD_SOCKET=$SOCK
EOF
cat "$DIR/env"
