#!/usr/bin/env bash
# Install what the test cluster (tests/cluster/up.sh) runs, all cached under
# $GRAPHFS_CACHE (default ~/.cache/graphfs); a second run does nothing:
#   Debian:  containerd, runc, containernetworking-plugins, buildah, iptables,
#            conntrack (apt-get; root)
#   Go:      kubelet, kube-proxy, kube-scheduler, kube-controller-manager from
#            k8s.io/kubernetes (tests/envtest/install.sh --node), CoreDNS from
#            github.com/coredns/coredns, Traefik from github.com/traefik/traefik/v3
#   C:       the graphfs image's ffmpeg and ffprobe (docker/ffmpeg-build.sh)
#
# Usage: tests/cluster/install.sh [--skip-apt]
# Environment: GRAPHFS_COREDNS_VERSION, GRAPHFS_TRAEFIK_VERSION, GRAPHFS_GO_JOBS
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
CACHE="${GRAPHFS_CACHE:-$HOME/.cache/graphfs}"
BIN="$CACHE/bin"
STAMPS="$CACHE/cluster/stamps"
COREDNS_VERSION="${GRAPHFS_COREDNS_VERSION:-v1.14.7}"
# v3.7 needs ACME DNS provider modules the module proxy does not serve; 3.6 builds.
TRAEFIK_VERSION="${GRAPHFS_TRAEFIK_VERSION:-v3.6.12}"
# shellcheck source=common.sh
. "$HERE/common.sh"
mkdir -p "$BIN" "$STAMPS"

exec 9>"$CACHE/cluster/.install.lock"
flock 9

APT_PKGS=(containerd runc containernetworking-plugins buildah iptables conntrack)
if [ "${1:-}" != --skip-apt ]; then
  missing=()
  for p in "${APT_PKGS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    log "apt-get install ${missing[*]}"
    apt-get update -qq || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null \
      || die "apt-get install ${missing[*]} failed"
  fi
fi

"$ROOT/tests/envtest/install.sh" --node

# shellcheck source=../lib/go-env.sh
. "$ROOT/tests/lib/go-env.sh"
stamp_ok() { [ -x "$BIN/$1" ] && [ "$(cat "$STAMPS/$1" 2>/dev/null)" = "$2" ]; }

if stamp_ok coredns "$COREDNS_VERSION"; then
  log "CoreDNS $COREDNS_VERSION already installed"
else
  t=$SECONDS
  log "building CoreDNS $COREDNS_VERSION"
  (cd "$CACHE" && GOBIN="$CACHE/cluster/gobin" gorun install -p "$GO_JOBS" -trimpath -ldflags="-s -w" \
    "github.com/coredns/coredns@$COREDNS_VERSION") || die "building CoreDNS failed"
  install -m 0755 "$CACHE/cluster/gobin/coredns" "$BIN/coredns"
  echo "$COREDNS_VERSION" > "$STAMPS/coredns"
  log "CoreDNS built in $((SECONDS - t)) s"
fi

if stamp_ok traefik "$TRAEFIK_VERSION"; then
  log "Traefik $TRAEFIK_VERSION already installed"
else
  t=$SECONDS
  log "building Traefik $TRAEFIK_VERSION"
  # Built as the main module (a copy of its source), so its own replace
  # directives apply, which `go install module@version` refuses.
  dir="$(cd "$CACHE" && gorun mod download -json "github.com/traefik/traefik/v3@$TRAEFIK_VERSION" \
    | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
  [ -d "$dir" ] || die "go mod download github.com/traefik/traefik/v3@$TRAEFIK_VERSION failed"
  src="$CACHE/cluster/build/traefik"
  rm -rf "$src"; mkdir -p "$(dirname "$src")"; cp -r "$dir" "$src"; chmod -R u+w "$src"
  (cd "$src" && gorun build -p "$GO_JOBS" -trimpath -ldflags="-s -w" -o "$BIN/traefik.new" ./cmd/traefik) \
    || die "building Traefik failed"
  mv -f "$BIN/traefik.new" "$BIN/traefik"
  rm -rf "$src"
  echo "$TRAEFIK_VERSION" > "$STAMPS/traefik"
  log "Traefik built in $((SECONDS - t)) s"
fi
# The image's ffmpeg (docker/ocr-root.sh takes it from here), built from
# Debian's source; the script skips a build it has already made.
t=$SECONDS
GRAPHFS_FFMPEG_JOBS="$GO_JOBS" nice -n 19 "$ROOT/docker/ffmpeg-build.sh" "$CACHE/ffmpeg" || die "building ffmpeg failed"
log "ffmpeg ready in $((SECONDS - t)) s"
log "cluster tools ready in $BIN"
