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
# Usage: tests/envtest/install.sh [--force] [--prune]
#   --force   rebuild even if the stamped binaries are present
#   --prune   afterwards delete the Go module/build caches used for the build
#             (~GBs; the next version bump then downloads and compiles from scratch)
#
# Environment:
#   GRAPHFS_CACHE            cache root (default ~/.cache/graphfs)
#   GRAPHFS_K8S_VERSION      k8s.io/kubernetes release (default below)
#   GRAPHFS_ETCD_VERSION     go.etcd.io/etcd/server/v3 release (default below)
#   GRAPHFS_ENVTEST_JOBS     go build -p / GOMAXPROCS (default 1: shared machine)
#   GOPROXY, GOTOOLCHAIN ... honoured as usual by the go command.
set -euo pipefail

K8S_VERSION="${GRAPHFS_K8S_VERSION:-v1.34.4}"
ETCD_VERSION="${GRAPHFS_ETCD_VERSION:-v3.6.16}"
# Bump when the build recipe (flags, packages) changes, to force a rebuild.
RECIPE=1

CACHE="${GRAPHFS_CACHE:-$HOME/.cache/graphfs}"
BIN="$CACHE/bin"
ROOT="$CACHE/envtest"           # build workspaces, stamps, Go caches
JOBS="${GRAPHFS_ENVTEST_JOBS:-1}"

FORCE=0
PRUNE=0
for arg in "$@"; do
  case "$arg" in
    --force) FORCE=1 ;;
    --prune) PRUNE=1 ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

log() { printf '[envtest-install %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
fmt_secs() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }

mkdir -p "$BIN" "$ROOT/stamps"

# One install at a time per cache (parallel test runs may all call this).
exec 9>"$ROOT/.lock"
if ! flock -n 9; then
  log "another install.sh holds $ROOT/.lock; waiting for it"
  flock 9
fi

K8S_STAMP="kubernetes=$K8S_VERSION recipe=$RECIPE"
ETCD_STAMP="etcd=$ETCD_VERSION recipe=$RECIPE"

stamp_ok() { # name expected binaries...
  local name="$1" expected="$2"; shift 2
  [ "$FORCE" = 0 ] || return 1
  [ -f "$ROOT/stamps/$name" ] && [ "$(cat "$ROOT/stamps/$name")" = "$expected" ] || return 1
  local b
  for b in "$@"; do [ -x "$BIN/$b" ] || return 1; done
}

need_kube=1; need_etcd=1
stamp_ok kubernetes "$K8S_STAMP" kube-apiserver kubectl && need_kube=0
stamp_ok etcd "$ETCD_STAMP" etcd && need_etcd=0

if [ $need_kube = 0 ] && [ $need_etcd = 0 ] && [ $PRUNE = 0 ]; then
  log "up to date: kube-apiserver/kubectl $K8S_VERSION, etcd $ETCD_VERSION in $BIN"
  exit 0
fi

# ---------------------------------------------------------------- Go setup
command -v go >/dev/null || die "go is not installed (needed to build kube-apiserver and etcd)"
export GOPATH="$ROOT/go"
export GOMODCACHE="$ROOT/go/mod"
export GOCACHE="$ROOT/go/build-cache"
export GOFLAGS="-buildvcs=false"
export CGO_ENABLED=0
export GOMAXPROCS="$JOBS"
unset GOOS GOARCH GOWORK
export GOWORK=off

go_ver="$(go env GOVERSION)"; go_ver="${go_ver#go}"
require_go() { # module-go-directive
  local want="$1"
  if [ "$(printf '%s\n%s\n' "$want" "$go_ver" | sort -V | head -n1)" != "$want" ]; then
    die "Go $want or newer is needed (installed: go$go_ver); set GOTOOLCHAIN=auto or upgrade Go"
  fi
}

# Heavy commands run at the lowest priority: the machine is shared.
gorun() { nice -n 19 go "$@"; }

build_total_start=$SECONDS
timings=()

# ---------------------------------------------------------------- kubernetes
build_kube() {
  local t0=$SECONDS
  local minor="${K8S_VERSION#v1.}"           # 34.12
  local staging_version="v0.$minor"          # v0.34.12
  local ws="$ROOT/build/kubernetes-$K8S_VERSION"
  log "kubernetes $K8S_VERSION: resolving k8s.io/kubernetes from the module proxy"
  mkdir -p "$ws"

  local info gomod
  info="$(cd "$ROOT" && gorun mod download -json "k8s.io/kubernetes@$K8S_VERSION")" \
    || die "go mod download k8s.io/kubernetes@$K8S_VERSION failed"
  gomod="$(printf '%s\n' "$info" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')"
  [ -f "$gomod" ] || die "no go.mod found for k8s.io/kubernetes@$K8S_VERSION"

  local go_directive godebug staging
  go_directive="$(awk '$1=="go"{print $2; exit}' "$gomod")"
  require_go "$go_directive"
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
  log "kubernetes $K8S_VERSION: $(printf '%s\n' "$staging" | wc -l) staging modules -> $staging_version (go $go_directive)"

  {
    echo "// Generated by tests/envtest/install.sh: throwaway module to build kube-apiserver."
    echo "module graphfs.local/envtest/kubernetes"
    echo
    echo "go $go_directive"
    [ -z "$godebug" ] || { echo; echo "$godebug"; }
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
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
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
EOF
  rm -f "$ws/go.sum"
  log "kubernetes $K8S_VERSION: go mod tidy (downloads dependencies)"
  (cd "$ws" && gorun mod tidy) || die "go mod tidy failed in $ws"
  local t_dl=$((SECONDS - t0))
  log "kubernetes $K8S_VERSION: modules ready in $(fmt_secs $t_dl)"

  # Same version stamping as kubernetes' hack/lib/version.sh.
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

  local out="$ws/out"
  rm -rf "$out"; mkdir -p "$out"
  local t1=$SECONDS
  log "kubernetes $K8S_VERSION: building kube-apiserver (go build -p $JOBS, nice 19; this takes a while)"
  (cd "$ws" && gorun build -p "$JOBS" -trimpath -ldflags="$ldflags" -o "$out/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver) \
    || die "building kube-apiserver failed"
  local t_api=$((SECONDS - t1))
  log "kubernetes $K8S_VERSION: kube-apiserver built in $(fmt_secs $t_api)"

  local t2=$SECONDS
  log "kubernetes $K8S_VERSION: building kubectl"
  if (cd "$ws" && gorun build -p "$JOBS" -trimpath -ldflags="$ldflags" -o "$out/kubectl" k8s.io/kubernetes/cmd/kubectl); then
    log "kubernetes $K8S_VERSION: kubectl built in $(fmt_secs $((SECONDS - t2)))"
  else
    local sys
    sys="$(command -v kubectl || true)"
    [ -n "$sys" ] || die "building kubectl failed and no kubectl is on PATH (apt-get install kubectl)"
    log "WARNING: building kubectl failed; using $sys ($("$sys" version --client 2>/dev/null | head -n1))"
    cp "$sys" "$out/kubectl"
  fi
  local t_kubectl=$((SECONDS - t2))

  "$out/kube-apiserver" --version >&2 || die "the built kube-apiserver does not run"
  install -m 0755 "$out/kube-apiserver" "$BIN/kube-apiserver.new" && mv -f "$BIN/kube-apiserver.new" "$BIN/kube-apiserver"
  install -m 0755 "$out/kubectl" "$BIN/kubectl.new" && mv -f "$BIN/kubectl.new" "$BIN/kubectl"
  rm -rf "$out"
  echo "$K8S_STAMP" > "$ROOT/stamps/kubernetes"
  timings+=("kubernetes $K8S_VERSION: modules $(fmt_secs $t_dl), kube-apiserver $(fmt_secs $t_api), kubectl $(fmt_secs $t_kubectl), total $(fmt_secs $((SECONDS - t0)))")
}

# ---------------------------------------------------------------- etcd
build_etcd() {
  local t0=$SECONDS
  local ws="$ROOT/build/etcd-$ETCD_VERSION"
  log "etcd $ETCD_VERSION: resolving go.etcd.io/etcd/server/v3 from the module proxy"
  mkdir -p "$ws"
  local info gomod go_directive
  info="$(cd "$ROOT" && gorun mod download -json "go.etcd.io/etcd/server/v3@$ETCD_VERSION")" \
    || die "go mod download go.etcd.io/etcd/server/v3@$ETCD_VERSION failed"
  gomod="$(printf '%s\n' "$info" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')"
  [ -f "$gomod" ] || die "no go.mod found for go.etcd.io/etcd/server/v3@$ETCD_VERSION"
  go_directive="$(awk '$1=="go"{print $2; exit}' "$gomod")"
  require_go "$go_directive"
  # The server module's own replace directives (../api, ../client/v3, ...) only
  # apply inside the etcd repo; here the sibling modules resolve to the
  # versions the server module requires (the same release).
  cat > "$ws/go.mod" <<EOF
// Generated by tests/envtest/install.sh: throwaway module to build etcd.
module graphfs.local/envtest/etcd

go $go_directive

require go.etcd.io/etcd/server/v3 $ETCD_VERSION
EOF
  cat > "$ws/tools.go" <<'EOF'
//go:build tools

// Generated by tests/envtest/install.sh.
package tools

import _ "go.etcd.io/etcd/server/v3"
EOF
  rm -f "$ws/go.sum"
  log "etcd $ETCD_VERSION: go mod tidy"
  (cd "$ws" && gorun mod tidy) || die "go mod tidy failed in $ws"
  local t_dl=$((SECONDS - t0))
  local etcd_api_version
  etcd_api_version="$(cd "$ws" && go list -m -f '{{.Version}}' go.etcd.io/etcd/api/v3)"
  [ "$etcd_api_version" = "$ETCD_VERSION" ] || log "WARNING: go.etcd.io/etcd/api/v3 resolved to $etcd_api_version, not $ETCD_VERSION"

  local out="$ws/out" t1=$SECONDS
  rm -rf "$out"; mkdir -p "$out"
  log "etcd $ETCD_VERSION: building etcd (go build -p $JOBS, nice 19)"
  (cd "$ws" && gorun build -p "$JOBS" -trimpath -ldflags="-s -w" -o "$out/etcd" go.etcd.io/etcd/server/v3) \
    || die "building etcd failed"
  local t_build=$((SECONDS - t1))
  log "etcd $ETCD_VERSION: built in $(fmt_secs $t_build)"
  "$out/etcd" --version >&2 || die "the built etcd does not run"
  install -m 0755 "$out/etcd" "$BIN/etcd.new" && mv -f "$BIN/etcd.new" "$BIN/etcd"
  rm -rf "$out"
  echo "$ETCD_STAMP" > "$ROOT/stamps/etcd"
  timings+=("etcd $ETCD_VERSION: modules $(fmt_secs $t_dl), build $(fmt_secs $t_build), total $(fmt_secs $((SECONDS - t0)))")
}

if [ $need_etcd = 1 ]; then build_etcd; else log "etcd $ETCD_VERSION already installed"; fi
if [ $need_kube = 1 ]; then build_kube; else log "kube-apiserver/kubectl $K8S_VERSION already installed"; fi

if [ $PRUNE = 1 ]; then
  log "pruning Go module and build caches under $ROOT/go and $ROOT/build"
  [ -d "$ROOT/go" ] && chmod -R u+w "$ROOT/go"
  rm -rf "$ROOT/go" "$ROOT/build"
fi

for t in "${timings[@]}"; do log "timing: $t"; done
log "done in $(fmt_secs $((SECONDS - build_total_start))): $(ls "$BIN" | grep -E '^(etcd|kube-apiserver|kubectl)$' | tr '\n' ' ')in $BIN"
log "disk: bin $(du -sh "$BIN" | cut -f1), build workspace and Go caches $(du -sh "$ROOT" | cut -f1)"
