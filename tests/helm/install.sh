#!/usr/bin/env bash
# Install the tools used by tests/helm/check.sh into
#   ${GRAPHFS_CACHE:-$HOME/.cache/graphfs}/bin/
#   helm         helm.sh/helm/v3/cmd/helm              (go install, Go module proxy)
#   kubeconform  github.com/yannh/kubeconform/cmd/kubeconform (go install)
#
# Both are built with `go install pkg@version` (CGO_ENABLED=0, -trimpath,
# -ldflags -s -w, nice -n 19) with the Go caches every Go tool of the tests
# shares (tests/lib/go-env.sh): client-go and friends are compiled once.
#
# Idempotent: a stamp file per tool records the pinned version and build
# recipe; when the stamp matches and the binary runs, nothing is built, so a
# second run takes well under a second.
#
# kubeconform normally downloads the Kubernetes JSON schemas from GitHub at
# run time; that network is not reachable here. check.sh therefore runs it
# offline only (built-in kinds skipped with -ignore-missing-schemas, GraphFS
# and TaggerPool checked against schemas generated from crds/graphfs.yaml) and
# relies on a real kube-apiserver's server-side dry run for the rest.
#
# Usage: tests/helm/install.sh [--force]
#   --force   rebuild even if the stamped binaries are present
#
# Environment:
#   GRAPHFS_CACHE               cache root (default ~/.cache/graphfs)
#   GRAPHFS_HELM_VERSION        helm.sh/helm/v3 release (default below)
#   GRAPHFS_KUBECONFORM_VERSION github.com/yannh/kubeconform release (default below)
#   GRAPHFS_GO_JOBS             go build -p / GOMAXPROCS (default: all cores)
#   GRAPHFS_SKIP_KUBECONFORM=1  do not build kubeconform (check.sh then skips it)
#   GOPROXY, GOTOOLCHAIN ...    honoured as usual by the go command.
set -euo pipefail

# The newest Helm 3 release the Go module proxy serves (Helm 3 is in its
# security-fix phase; the chart is apiVersion v2 and works with Helm 3 and 4).
HELM_VERSION="${GRAPHFS_HELM_VERSION:-v3.22.0}"
KUBECONFORM_VERSION="${GRAPHFS_KUBECONFORM_VERSION:-v0.8.0}"
# Bump when the build recipe (flags, packages) changes, to force a rebuild.
RECIPE=1

CACHE="${GRAPHFS_CACHE:-$HOME/.cache/graphfs}"
BIN="$CACHE/bin"
ROOT="$CACHE/helm"              # stamps

FORCE=0
for arg in "$@"; do
  case "$arg" in
    --force) FORCE=1 ;;
    -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

LOG_TAG=helm-install
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../lib/common.sh"

mkdir -p "$BIN" "$ROOT/stamps"

install_lock "$ROOT/.lock"

HELM_STAMP="helm=$HELM_VERSION recipe=$RECIPE"
KC_STAMP="kubeconform=$KUBECONFORM_VERSION recipe=$RECIPE"

stamp_ok() { # name expected binary
  [ "$FORCE" = 0 ] || return 1
  [ -f "$ROOT/stamps/$1" ] && [ "$(cat "$ROOT/stamps/$1")" = "$2" ] && [ -x "$BIN/$3" ]
}

need_helm=1; need_kc=1
stamp_ok helm "$HELM_STAMP" helm && need_helm=0
if [ "${GRAPHFS_SKIP_KUBECONFORM:-0}" = 1 ] || stamp_ok kubeconform "$KC_STAMP" kubeconform; then need_kc=0; fi

if [ $need_helm = 0 ] && [ $need_kc = 0 ]; then
  log "up to date: helm $HELM_VERSION, kubeconform $KUBECONFORM_VERSION in $BIN"
  exit 0
fi

# ---------------------------------------------------------------- Go setup
command -v go >/dev/null || die "go is not installed (needed to build helm and kubeconform)"
# shellcheck source=../lib/go-env.sh
. "$(dirname "$0")/../lib/go-env.sh"
JOBS="$GO_JOBS"

# Downloads MODULE@VERSION (verifies it against go.sum/sumdb) and checks the
# go directive of its go.mod; prints the module's directory.
fetch_module() { # module version what
  local info gomod dir go_directive
  info="$(cd "$ROOT" && gorun mod download -json "$1@$2")" \
    || die "go mod download $1@$2 failed (is $2 served by the module proxy? go list -m -versions $1)"
  gomod="$(printf '%s\n' "$info" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')"
  dir="$(printf '%s\n' "$info" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
  [ -f "$gomod" ] || die "no go.mod found for $1@$2"
  go_directive="$(awk '$1=="go"{print $2; exit}' "$gomod")"
  require_go "$go_directive" "$3 $2" || exit 1
  # `go install pkg@version` refuses modules with replace directives.
  if grep -Eq '^[[:space:]]*replace[[:space:]]|=>' "$gomod"; then
    die "$1@$2 has replace directives in its go.mod; go install cannot build it"
  fi
  printf '%s\n' "$dir"
}

build_total_start=$SECONDS
timings=()
tmpbin="$ROOT/gobin"

# ---------------------------------------------------------------- helm
build_helm() {
  local t0=$SECONDS dir
  log "helm $HELM_VERSION: downloading helm.sh/helm/v3 from the module proxy"
  dir="$(fetch_module helm.sh/helm/v3 "$HELM_VERSION" helm)"
  # The same version stamping as Helm's Makefile: `helm version` reports the
  # release, and the default Kubernetes version (used by `helm template` and
  # `helm lint` without a cluster) is the client-go minor Helm is built with.
  local ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
  ldflags+=" -X helm.sh/helm/v3/internal/version.metadata="
  ldflags+=" -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
  local cg_minor
  cg_minor="$(awk '$1=="k8s.io/client-go"{print $2; exit}' "$dir/go.mod")"   # v0.34.2
  cg_minor="${cg_minor#v0.}"; cg_minor="${cg_minor%%.*}"
  if [ -n "$cg_minor" ]; then
    local pkg
    for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
      ldflags+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$cg_minor"
    done
  fi
  local t_dl=$((SECONDS - t0)) t1=$SECONDS
  log "helm $HELM_VERSION: go install (go build -p $JOBS, nice 19; a few minutes)"
  rm -rf "$tmpbin"; mkdir -p "$tmpbin"
  (cd "$ROOT" && GOBIN="$tmpbin" gorun install -p "$JOBS" -trimpath -ldflags="$ldflags" \
      "helm.sh/helm/v3/cmd/helm@$HELM_VERSION") || die "go install helm $HELM_VERSION failed"
  local t_build=$((SECONDS - t1))
  "$tmpbin/helm" version --short >&2 || die "the built helm does not run"
  install -m 0755 "$tmpbin/helm" "$BIN/helm.new" && mv -f "$BIN/helm.new" "$BIN/helm"
  rm -rf "$tmpbin"
  echo "$HELM_STAMP" > "$ROOT/stamps/helm"
  timings+=("helm $HELM_VERSION: modules $(fmt_secs $t_dl), build $(fmt_secs $t_build), total $(fmt_secs $((SECONDS - t0)))")
}

# ---------------------------------------------------------------- kubeconform
build_kubeconform() {
  local t0=$SECONDS
  log "kubeconform $KUBECONFORM_VERSION: downloading github.com/yannh/kubeconform"
  fetch_module github.com/yannh/kubeconform "$KUBECONFORM_VERSION" kubeconform >/dev/null
  local t_dl=$((SECONDS - t0)) t1=$SECONDS
  log "kubeconform $KUBECONFORM_VERSION: go install"
  rm -rf "$tmpbin"; mkdir -p "$tmpbin"
  (cd "$ROOT" && GOBIN="$tmpbin" gorun install -p "$JOBS" -trimpath -ldflags="-s -w -X main.version=$KUBECONFORM_VERSION" \
      "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION") \
    || die "go install kubeconform $KUBECONFORM_VERSION failed"
  local t_build=$((SECONDS - t1))
  "$tmpbin/kubeconform" -v >&2 || die "the built kubeconform does not run"
  install -m 0755 "$tmpbin/kubeconform" "$BIN/kubeconform.new" && mv -f "$BIN/kubeconform.new" "$BIN/kubeconform"
  rm -rf "$tmpbin"
  echo "$KC_STAMP" > "$ROOT/stamps/kubeconform"
  timings+=("kubeconform $KUBECONFORM_VERSION: modules $(fmt_secs $t_dl), build $(fmt_secs $t_build), total $(fmt_secs $((SECONDS - t0)))")
}

if [ $need_kc = 1 ]; then build_kubeconform; else log "kubeconform: nothing to do"; fi
if [ $need_helm = 1 ]; then build_helm; else log "helm $HELM_VERSION already installed"; fi

for t in "${timings[@]}"; do log "timing: $t"; done
installed=""
for b in helm kubeconform; do [ ! -x "$BIN/$b" ] || installed+="$b "; done
log "done in $(fmt_secs $((SECONDS - build_total_start))): ${installed}in $BIN"
