#!/usr/bin/env bash
# Stop the cluster tests/cluster/up.sh DIR started and leave the machine as it
# was: pods' containers and sandboxes, every process, the kubelet's and
# containerd's mounts, kube-proxy's iptables rules, the pod bridge and the
# CNI's veths. Keeps DIR's logs (and the cached images). Safe to run twice.
#
# Usage: tests/cluster/down.sh DIR [--purge]   (--purge also deletes DIR)
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
CACHE="${GRAPHFS_CACHE:-$HOME/.cache/graphfs}"
[ $# -ge 1 ] || { echo "usage: $0 DIR [--purge]" >&2; exit 2; }
DIR="$1"
PURGE=0; [ "${2:-}" = --purge ] && PURGE=1
# shellcheck source=common.sh
. "$HERE/common.sh"
[ -d "$DIR" ] || { log "no $DIR: nothing to stop"; exit 0; }
DIR="$(cd "$DIR" && pwd)"
SOCK="$DIR/containerd/containerd.sock"

pid_of() { awk -v n="$1" '$1 == n {print $2}' "$DIR/pids" 2>/dev/null | tail -n1; }
stop() { # name: SIGTERM, then SIGKILL after 10 s
  local pid; pid="$(pid_of "$1")"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null
}

# The kubelet first, so it restarts nothing; then every pod's containers and
# sandboxes through containerd, while it still runs.
stop kubelet
if [ -S "$SOCK" ] && ctr --address "$SOCK" version >/dev/null 2>&1; then
  c() { ctr --address "$SOCK" --namespace k8s.io "$@"; }
  for t in $(c tasks ls -q 2>/dev/null); do c tasks kill -s SIGKILL "$t" >/dev/null 2>&1; done
  sleep 1
  for t in $(c tasks ls -q 2>/dev/null); do c tasks delete -f "$t" >/dev/null 2>&1; done
  for k in $(c containers ls -q 2>/dev/null); do c containers delete "$k" >/dev/null 2>&1; done
fi
for name in traefik coredns kube-proxy kube-scheduler kube-controller-manager kube-apiserver etcd containerd; do
  stop "$name"
done
# Shims outlive containerd; any left belong to this cluster's state folder.
pkill -KILL -f "containerd-shim-runc-v2 .*-address $SOCK" 2>/dev/null || true
pkill -KILL -f "^/pause$" 2>/dev/null || true
: > "$DIR/pids"

# Mounts under the kubelet's and containerd's folders (deepest first).
for root in "$DIR" "$CONTAINERD_ROOT"; do
  awk -v r="$root/" 'index($2, r) == 1 {print $2}' /proc/self/mounts | sort -r | while read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done
done

# Network: kube-proxy's chains, the CNI's veths (they go with the pods' netns)
# and the bridge.
[ -x "$CACHE/bin/kube-proxy" ] && "$CACHE/bin/kube-proxy" --cleanup >/dev/null 2>&1
# What remains of the kubelet's (KUBE-KUBELET-CANARY, KUBE-FIREWALL) and the
# CNI plugins' (CNI-*) chains: the jumps to them first, then the chains.
for ipt in iptables ip6tables; do
  command -v "$ipt" >/dev/null || continue
  for table in filter nat mangle; do
    "$ipt" -t "$table" -S 2>/dev/null | grep -E '^-A [A-Z]+ .*-j (KUBE-|CNI-)' | while read -r _ chain rule; do
      # shellcheck disable=SC2086
      "$ipt" -t "$table" -D "$chain" $rule 2>/dev/null
    done
    for chain in $("$ipt" -t "$table" -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^(KUBE-|CNI-)/ {print $2}'); do
      "$ipt" -t "$table" -F "$chain" 2>/dev/null
    done
    for chain in $("$ipt" -t "$table" -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^(KUBE-|CNI-)/ {print $2}'); do
      "$ipt" -t "$table" -X "$chain" 2>/dev/null
    done
  done
done
for v in $(ip -o link show master "$BRIDGE" 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1); do
  ip link delete "$v" 2>/dev/null || true
done
ip link delete "$BRIDGE" 2>/dev/null || true
# CNI's host-local allocations and the pods' network namespaces.
rm -rf "$DIR/cni/ipam"
for ns in $(ip netns list 2>/dev/null | awk '/^cni-/ {print $1}'); do ip netns delete "$ns" 2>/dev/null || true; done

if [ $PURGE = 1 ]; then
  rm -rf "$DIR"
fi
log "cluster in $DIR stopped"
