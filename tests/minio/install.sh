#!/usr/bin/env bash
# Installs a real S3 server for the GraphFS tests into
#   ${GRAPHFS_CACHE:-$HOME/.cache/graphfs}/bin/
# Idempotent: a stamp file makes the second run instant.
#
# Primary: MinIO, built from source through the Go module proxy.
# Fallback: s3s-fs (crates.io), used only if MinIO cannot be built
#           (or when GRAPHFS_S3_SERVER=s3s-fs is set).
#
# Env knobs:
#   GRAPHFS_CACHE          cache root (default $HOME/.cache/graphfs)
#   GRAPHFS_S3_SERVER      minio (default) | s3s-fs
#   GRAPHFS_GO_JOBS        parallel build jobs (default: all cores, nice 19)
# Go's module and build caches are the ones every Go tool of the tests shares
# (tests/lib/go-env.sh), kept so that the next tool reuses what they hold.
set -euo pipefail

CACHE="${GRAPHFS_CACHE:-$HOME/.cache/graphfs}"
BIN="$CACHE/bin"
STAMPS="$CACHE/stamps"

# The minio/minio community repository is archived. Its last release tag is
# RELEASE.2025-10-15T17-29-55Z (commit 9e49d5e7a648), but the Go module proxy
# answers "403 This module version is not available" for that tag, for its
# commit hash and for its pseudo-version. The only version the proxy serves is
# the final commit of the archived repository (2026-02-12, 7aac2a2c5b7c):
# the release plus four small server fixes and docs changes. Pin that one.
MINIO_MODULE="github.com/minio/minio"
MINIO_VERSION="v0.0.0-20260212201848-7aac2a2c5b7c"
MINIO_STAMP="$STAMPS/minio-$MINIO_VERSION"

S3SFS_VERSION="0.14.1"
S3SFS_STAMP="$STAMPS/s3s-fs-$S3SFS_VERSION"

SERVER="${GRAPHFS_S3_SERVER:-minio}"

mkdir -p "$BIN" "$STAMPS"

# Serialise concurrent installs (parallel test jobs).
exec 9>"$CACHE/install.lock"
flock 9

have_minio() { [[ -f "$MINIO_STAMP" && -x "$BIN/minio" ]]; }
have_s3sfs() { [[ -f "$S3SFS_STAMP" && -x "$BIN/s3s-fs" ]]; }

if [[ "$SERVER" == "minio" ]] && have_minio; then
  echo "minio $MINIO_VERSION already installed: $BIN/minio"
  exit 0
fi
if [[ "$SERVER" == "s3s-fs" ]] && have_s3sfs; then
  echo "s3s-fs $S3SFS_VERSION already installed: $BIN/s3s-fs"
  exit 0
fi

install_minio() {
  command -v go >/dev/null || { echo "install.sh: go not found" >&2; return 1; }
  # shellcheck source=../lib/go-env.sh
  . "$(dirname "$0")/../lib/go-env.sh"
  echo "building minio $MINIO_VERSION (go $(go_version), -p $GO_JOBS, nice 19); this takes a while..."
  local start=$SECONDS
  GOBIN="$BIN" gorun install -p "$GO_JOBS" -trimpath -ldflags "-s -w" \
      "$MINIO_MODULE@$MINIO_VERSION" || return 1
  # (set -e does not apply inside a function called from `if !`: check each step.)
  "$BIN/minio" --version >/dev/null || return 1
  echo "$MINIO_VERSION" > "$MINIO_STAMP" || return 1
  echo "minio built in $((SECONDS - start)) s: $BIN/minio"
}

install_s3sfs() {
  command -v cargo >/dev/null || { echo "install.sh: cargo not found" >&2; return 1; }
  local jobs; jobs="$(nproc)"
  echo "building s3s-fs $S3SFS_VERSION (cargo -j $jobs)..."
  local start=$SECONDS
  nice -n 19 cargo install "s3s-fs@$S3SFS_VERSION" --features binary --locked \
      --root "$CACHE" -j "$jobs" || return 1
  "$BIN/s3s-fs" --version >/dev/null || return 1
  echo "$S3SFS_VERSION" > "$S3SFS_STAMP" || return 1
  echo "s3s-fs built in $((SECONDS - start)) s: $BIN/s3s-fs"
}

case "$SERVER" in
  minio)
    if ! install_minio; then
      echo "install.sh: building minio failed; falling back to s3s-fs" >&2
      if have_s3sfs; then
        echo "s3s-fs $S3SFS_VERSION already installed: $BIN/s3s-fs"
      else
        install_s3sfs
      fi
    fi
    ;;
  s3s-fs)
    install_s3sfs
    ;;
  *)
    echo "install.sh: unknown GRAPHFS_S3_SERVER=$SERVER (minio|s3s-fs)" >&2
    exit 2
    ;;
esac
