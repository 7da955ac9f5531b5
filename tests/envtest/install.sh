#!/usr/bin/env bash
# Install the envtest control plane used by the operator tests:
#   kube-apiserver + kubectl  built from k8s.io/kubernetes (Go module proxy)
#   etcd                      built from go.etcd.io/etcd/server/v3 (Go module proxy)
# into ${GRAPHFS_CACHE:-$HOME/.cache/graphfs}/bin/.
#
# Idempotent: each component has a stamp file recording the pinned version and
# build recipe; when the stamp matches and the binary is present, nothing is
# built. A second run takes well under a second.
#
# With --node it also builds the node and controller binaries the test
# cluster (tests/cluster) runs: kubelet, kube-proxy, kube-scheduler and
# kube-controller-manager, from the same module (so they share its compiled
# packages).
#
# Usage: tests/envtest/install.sh [--node] [--force] [--prune]
#   --node    also build kubelet, kube-proxy, kube-scheduler, kube-controller-manager
#   --force   rebuild even if the stamped binaries are present
#   --prune   afterwards delete the build workspace (the shared Go caches under
#             $GRAPHFS_CACHE/go stay: other tools' builds reuse them)
#
# Environment:
#   GRAPHFS_CACHE            cache root (default ~/.cache/graphfs)
#   GRAPHFS_K8S_VERSION      k8s.io/kubernetes release (default below)
#   GRAPHFS_ETCD_VERSION     go.etcd.io/etcd/server/v3 release (default below)
#   GRAPHFS_GO_JOBS          go build -p / GOMAXPROCS (default: all cores, nice 19)
#   GOPROXY, GOTOOLCHAIN ... honoured as usual by the go command.
set -euo pipefail

K8S_VERSION="${GRAPHFS_K8S_VERSION:-v1.34.4}"
ETCD_VERSION="${GRAPHFS_ETCD_VERSION:-v3.6.16}"
# Bump when the build recipe (flags, packages) changes, to force a rebuild.
# Recipe 2: etcd is built in the same module as Kubernetes, so the packages
# they share (etcd's API and client, gRPC, protobuf, OpenTelemetry) compile once.
RECIPE=2

CACHE="${GRAPHFS_CACHE:-$HOME/.cache/graphfs}"
BIN="$CACHE/bin"
ROOT="$CACHE/envtest"           # build workspace, stamps

FORCE=0
PRUNE=0
NODE=0
NODE_BINS=(kubelet kube-proxy kube-scheduler kube-controller-manager)
for arg in "$@"; do
  case "$arg" in
    --node) NODE=1 ;;
    --force) FORCE=1 ;;
    --prune) PRUNE=1 ;;
    -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

LOG_TAG=envtest-install
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../lib/common.sh"

mkdir -p "$BIN" "$ROOT/stamps"

install_lock "$ROOT/.lock"

STAMP="kubernetes=$K8S_VERSION etcd=$ETCD_VERSION recipe=$RECIPE"

stamp_ok() { # name expected binaries...
  local name="$1" expected="$2"; shift 2
  [ "$FORCE" = 0 ] || return 1
  [ -f "$ROOT/stamps/$name" ] && [ "$(cat "$ROOT/stamps/$name")" = "$expected" ] || return 1
  local b
  for b in "$@"; do [ -x "$BIN/$b" ] || return 1; done
}

node_ok() { [ $NODE = 0 ] || stamp_ok node "$STAMP" "${NODE_BINS[@]}"; }
if stamp_ok control-plane "$STAMP" kube-apiserver kubectl etcd && node_ok && [ $PRUNE = 0 ]; then
  log "up to date: kube-apiserver/kubectl $K8S_VERSION, etcd $ETCD_VERSION$([ $NODE = 0 ] || echo ", ${NODE_BINS[*]}") in $BIN"
  exit 0
fi

# ---------------------------------------------------------------- Go setup
command -v go >/dev/null || die "go is not installed (needed to build kube-apiserver and etcd)"
# shellcheck source=../lib/go-env.sh
. "$(dirname "$0")/../lib/go-env.sh"

build_total_start=$SECONDS

# One throwaway module requires both k8s.io/kubernetes and the etcd server, so
# the module graph (and with it every shared package) is resolved once.
# build NAME...: builds the named binaries (and the module workspace first).
build() {
  local t0=$SECONDS
  local minor="${K8S_VERSION#v1.}"           # 34.4
  local staging_version="v0.$minor"          # v0.34.4
  local ws="$ROOT/build/control-plane"
  log "resolving k8s.io/kubernetes@$K8S_VERSION and go.etcd.io/etcd/server/v3@$ETCD_VERSION"
  rm -rf "$ws"; mkdir -p "$ws"

  local info gomod etcd_gomod
  info="$(cd "$ROOT" && gorun mod download -json "k8s.io/kubernetes@$K8S_VERSION")" \
    || die "go mod download k8s.io/kubernetes@$K8S_VERSION failed"
  gomod="$(printf '%s\n' "$info" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')"
  [ -f "$gomod" ] || die "no go.mod found for k8s.io/kubernetes@$K8S_VERSION"
  etcd_gomod="$(cd "$ROOT" && gorun mod download -json "go.etcd.io/etcd/server/v3@$ETCD_VERSION" \
    | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')"
  [ -f "$etcd_gomod" ] || die "go mod download go.etcd.io/etcd/server/v3@$ETCD_VERSION failed"

  local go_directive etcd_go godebug staging
  go_directive="$(awk '$1=="go"{print $2; exit}' "$gomod")"
  etcd_go="$(awk '$1=="go"{print $2; exit}' "$etcd_gomod")"
  [ "$(printf '%s\n%s\n' "$go_directive" "$etcd_go" | sort -V | tail -n1)" = "$etcd_go" ] && go_directive="$etcd_go"
  require_go "$go_directive" "kubernetes $K8S_VERSION + etcd $ETCD_VERSION" || exit 1
  godebug="$(grep -E '^godebug ' "$gomod" || true)"
  # Every "k8s.io/X => ./staging/src/k8s.io/X" replace becomes a replace to the
  # published staging module k8s.io/X at v0.<minor>.<patch>.
  # Only modules the go.mod also requires matter (sample-cli-plugin and
  # sample-controller are replaced but never required, and not all of their
  # tags are published).
  staging="$(awk '$2=="=>" && $3 ~ /^\.\/staging\// {print $1}' "$gomod" | sort -u)"
  staging="$(awk -v list="$(echo $staging)" 'BEGIN {n = split(list, a, " "); for (i = 1; i <= n; i++) want[a[i]] = 1}
             $2 == "v0.0.0" && ($1 in want) {print $1}' "$gomod" | sort -u)"
  [ -n "$staging" ] || die "found no staging replace directives in $gomod"
  log "$(printf '%s\n' "$staging" | wc -l) staging modules -> $staging_version (go $go_directive)"

  # The etcd server module's own replace directives (../api, ../client/v3, ...)
  # only apply inside the etcd repository; here its sibling modules resolve to
  # the release's versions, which minimal version selection also gives the
  # Kubernetes client code (a patch release above the one it pins).
  {
    echo "// Generated by tests/envtest/install.sh: throwaway module to build the control plane."
    echo "module graphfs.local/envtest/control-plane"
    echo
    echo "go $go_directive"
    [ -z "$godebug" ] || { echo; echo "$godebug"; }
    echo
    echo "require ("
    echo "	k8s.io/kubernetes $K8S_VERSION"
    echo "	go.etcd.io/etcd/server/v3 $ETCD_VERSION"
    echo ")"
    echo
    echo "replace ("
    local m
    for m in $staging; do echo "	$m => $m $staging_version"; done
    echo ")"
  } > "$ws/go.mod"
  cat > "$ws/tools.go" <<'EOF'
//go:build tools

// Generated by tests/envtest/install.sh.
package tools

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
EOF
  log "go mod tidy (downloads dependencies)"
  (cd "$ws" && gorun mod tidy) || die "go mod tidy failed in $ws"
  local t_dl=$((SECONDS - t0))
  local etcd_api_version
  etcd_api_version="$(cd "$ws" && go list -m -f '{{.Version}}' go.etcd.io/etcd/api/v3)"
  [ "$etcd_api_version" = "$ETCD_VERSION" ] || log "WARNING: go.etcd.io/etcd/api/v3 resolved to $etcd_api_version, not $ETCD_VERSION"
  log "modules ready in $(fmt_secs $t_dl)"

  # Same version stamping as kubernetes' hack/lib/version.sh (-X is applied at
  # link time, so it does not split the shared package cache).
  local commit build_date ldflags pkg
  commit="$(printf '%s\n' "$info" | tr -d '\n' | sed -n 's/.*"Hash": "\([0-9a-f]\{40\}\)".*/\1/p')"
  build_date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  ldflags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$K8S_VERSION"
    ldflags+=" -X $pkg.gitMajor=1 -X $pkg.gitMinor=${minor%%.*}"
    ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$build_date"
    [ -z "$commit" ] || ldflags+=" -X $pkg.gitCommit=$commit"
  done

  local out="$ws/out" t name
  mkdir -p "$out"
  for name in "$@"; do
    t=$SECONDS
    case "$name" in
      etcd) pkg=go.etcd.io/etcd/server/v3 ;;
      *) pkg="k8s.io/kubernetes/cmd/$name" ;;
    esac
    log "building $name (go build -p $GO_JOBS, nice 19)"
    (cd "$ws" && gorun build -p "$GO_JOBS" -trimpath -ldflags="$ldflags" -o "$out/$name" "$pkg") \
      || die "building $name failed"
    log "$name built in $(fmt_secs $((SECONDS - t)))"
  done
  for name in "$@"; do
    if [ "$name" = kubectl ]; then "$out/$name" version --client >&2; else "$out/$name" --version >&2; fi \
      || die "the built $name does not run"
    install -m 0755 "$out/$name" "$BIN/$name.new" && mv -f "$BIN/$name.new" "$BIN/$name"
  done
  rm -rf "$out"
  log "timing: modules $(fmt_secs $t_dl), total $(fmt_secs $((SECONDS - t0)))"
}

if stamp_ok control-plane "$STAMP" kube-apiserver kubectl etcd; then
  log "etcd $ETCD_VERSION, kube-apiserver/kubectl $K8S_VERSION already installed"
else
  build etcd kube-apiserver kubectl
  echo "$STAMP" > "$ROOT/stamps/control-plane"
fi
if [ $NODE = 1 ]; then
  if stamp_ok node "$STAMP" "${NODE_BINS[@]}"; then
    log "${NODE_BINS[*]} $K8S_VERSION already installed"
  else
    build "${NODE_BINS[@]}"
    echo "$STAMP" > "$ROOT/stamps/node"
  fi
fi

if [ $PRUNE = 1 ]; then
  log "pruning the build workspace $ROOT/build"
  rm -rf "$ROOT/build"
fi

log "done in $(fmt_secs $((SECONDS - build_total_start))): $(ls "$BIN" | grep -E '^(etcd|kube-|kubectl|kubelet)' | tr '\n' ' ')in $BIN"
