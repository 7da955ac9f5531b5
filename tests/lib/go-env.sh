# Sourced by the scripts that build test tools from the Go module proxy
# (MinIO, etcd, kube-apiserver, kubectl, helm, kubeconform).
#
# One module cache and one build cache under $GRAPHFS_CACHE/go serve them all,
# so what the tools have in common (the standard library, gRPC, protobuf,
# x/net, client-go, ...) is downloaded and compiled once, not once per tool.
# Builds use every core but run at the lowest priority: `make test` runs them
# beside the Rust build, where they fill the cores cargo leaves idle.
#
# Expects CACHE (the cache root) to be set. Environment:
#   GRAPHFS_GO_JOBS   go build -p and GOMAXPROCS (default: all cores)
export GOPATH="$CACHE/go"
export GOMODCACHE="$CACHE/go/mod"
export GOCACHE="$CACHE/go/build-cache"
export GOFLAGS="-buildvcs=false -modcacherw"
export CGO_ENABLED=0
export GOWORK=off
export GOTOOLCHAIN=local
unset GOOS GOARCH GOBIN
GO_JOBS="${GRAPHFS_GO_JOBS:-$(nproc)}"
export GOMAXPROCS="$GO_JOBS"

gorun() { nice -n 19 go "$@"; }

go_version() { local v; v="$(go env GOVERSION)"; echo "${v#go}"; }

# require_go MODULE_GO_DIRECTIVE WHAT: fail unless the installed Go is new enough.
require_go() {
  local want="$1" have
  have="$(go_version)"
  if [ "$(printf '%s\n%s\n' "$want" "$have" | sort -V | head -n1)" != "$want" ]; then
    echo "$2 needs Go $want or newer (installed: go$have); upgrade Go or pin an older release" >&2
    return 1
  fi
}
