# Shared by tests/cluster/*.sh: the cluster's fixed addresses and helpers.
# 10.247.0.0/16 rather than the 10.88.0.0/16 podman and containerd examples use.
# The pod network and the Service range are private to this machine; the
# control plane listens on the bridge's address, which only this machine and
# its pods can reach.
BRIDGE=gfs0
GATEWAY=10.247.0.1
POD_CIDR=10.247.0.0/16
SERVICE_CIDR=10.96.0.0/16
CNI_BIN=/usr/lib/cni
CONTAINERD_ROOT="$CACHE/cluster/containerd"

LOG_TAG="${LOG_TAG:-cluster}"
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../lib/common.sh"
