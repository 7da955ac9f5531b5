#!/usr/bin/env bash
# Build the images the test cluster runs, with buildah, from nothing but
# Debian's packages and what this repository builds, then load them into the
# cluster's containerd (namespace k8s.io) so pods pull nothing from outside:
#
#   localhost/graphfs/pause:3.10          the pod sandbox (a static C pause)
#   localhost/graphfs/base:bookworm       distroless-like: libc6, libgcc-s1,
#                                         CA certificates, user nonroot (65532)
#   localhost/graphfs/jre:17              base + openjdk-17-jre-headless
#   ghcr.io/graphfs/graphfs:VERSION       }  the project's Dockerfile, with
#   ghcr.io/graphfs/graphfs-operator:VERSION }  RUNTIME_BASE=the base above and
#                                         BINARIES=prebuilt (target/release;
#                                         OCR programs by docker/ocr-root.sh)
#   localhost/graphfs/minio:latest-build  the MinIO tests/minio/install.sh built
#   localhost/graphfs/neo4j:5.26.30       the Neo4j jars + launcher of tests/neo4j
#
# Each image is rebuilt only when its inputs change (a hash of them is kept
# in $CACHE/cluster/images/NAME.stamp); a second run takes a few seconds.
#
# Usage: tests/cluster/images.sh CONTAINERD_SOCKET
# Environment: GRAPHFS_CACHE, CARGO_TARGET_DIR (default $CACHE/target)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
CACHE="${GRAPHFS_CACHE:-$HOME/.cache/graphfs}"
TARGET="${CARGO_TARGET_DIR:-$CACHE/target}"
WORK="$CACHE/cluster/images"
SOCK="${1:?usage: $0 CONTAINERD_SOCKET}"
VERSION="$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$ROOT/charts/graphfs/Chart.yaml")"
NEO4J_VERSION="${GRAPHFS_NEO4J_VERSION:-5.26.30}"
mkdir -p "$WORK"

LOG_TAG=cluster-images
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../lib/common.sh"
ctr_() { ctr --address "$SOCK" --namespace k8s.io "$@"; }
for c in buildah ctr dpkg-deb apt-get gcc; do command -v "$c" >/dev/null || die "$c is needed (tests/deps.sh cluster)"; done

hash_of() { # paths... -> one hash of every file's content (not of where the checkout is)
  find "$@" -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | cut -d' ' -f1 | sha256sum | cut -c1-16
}
loaded() { ctr_ images ls -q | grep -xF "$1" >/dev/null; }
# up_to_date NAME IMAGE HASH: the image is in containerd and was built from HASH.
up_to_date() { [ -f "$WORK/$1.stamp" ] && [ "$(cat "$WORK/$1.stamp")" = "$3" ] && loaded "$2"; }
# load NAME IMAGE HASH: export the buildah image and import it into containerd.
load() {
  local archive="$WORK/$1.tar"
  rm -f "$archive"
  buildah push -q "$2" "oci-archive:$archive:$2" >/dev/null
  ctr_ images import --no-unpack=false "$archive" >/dev/null
  rm -f "$archive"
  echo "$3" > "$WORK/$1.stamp"
  log "$2 loaded"
}

# ---------------------------------------------------------------- Debian roots
# Packages are fetched with apt-get download (the machine's sources) and
# unpacked with dpkg-deb -x: no maintainer scripts, no package manager inside.
debs() { # dir packages...
  local dir="$1"; shift
  mkdir -p "$dir"
  (cd "$dir" && apt-get download -q -o APT::Sandbox::User=root "$@" >/dev/null) || die "apt-get download $* failed"
}
# packages_hash SEED PACKAGE...: changes when a package's candidate version does.
packages_hash() {
  local seed="$1"; shift
  printf '%s\n' "$seed" "$@" "$(apt-cache policy "$@" | grep Candidate)" | sha256sum | cut -c1-16
}
# debian_root NAME PACKAGE...: the packages unpacked into $WORK/NAME/root
# (printed), without their documentation.
debian_root() {
  local name="$1" deb; shift
  rm -rf "${WORK:?}/$name" && mkdir -p "$WORK/$name/debs" "$WORK/$name/root"
  debs "$WORK/$name/debs" "$@"
  for deb in "$WORK/$name"/debs/*.deb; do dpkg-deb -x "$deb" "$WORK/$name/root"; done
  rm -rf "$WORK/$name/root/usr/share/"{doc,man,lintian,locale}
  echo "$WORK/$name/root"
}

t0=$SECONDS
PAUSE=localhost/graphfs/pause:3.10
h="$(hash_of "$HERE/images/pause.c")"
if ! up_to_date pause "$PAUSE" "$h"; then
  gcc -Os -static -o "$WORK/pause" "$HERE/images/pause.c"
  c="$(buildah from scratch)"
  buildah copy -q "$c" "$WORK/pause" /pause >/dev/null
  buildah config --entrypoint '["/pause"]' --user 65535:65535 "$c"
  buildah commit -q --rm "$c" "$PAUSE" >/dev/null
  load pause "$PAUSE" "$h"
fi

BASE=localhost/graphfs/base:bookworm
BASE_PKGS=(libc6 libgcc-s1 gcc-12-base ca-certificates)
h="$(packages_hash "" "${BASE_PKGS[@]}")"
if ! up_to_date base "$BASE" "$h"; then
  r="$(debian_root base "${BASE_PKGS[@]}")"
  # ca-certificates' postinst would build the bundle; do it here.
  mkdir -p "$r/etc/ssl/certs" "$r/tmp" "$r/home/nonroot"
  cat "$r"/usr/share/ca-certificates/mozilla/*.crt > "$r/etc/ssl/certs/ca-certificates.crt"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' > "$r/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n' > "$r/etc/group"
  chmod 1777 "$r/tmp"; chown 65532:65532 "$r/home/nonroot"
  c="$(buildah from scratch)"
  buildah copy -q "$c" "$r" / >/dev/null
  buildah config --env PATH=/usr/local/bin:/usr/bin:/bin --env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    --user 65532:65532 --workingdir /home/nonroot "$c"
  buildah commit -q --rm "$c" "$BASE" >/dev/null
  load base "$BASE" "$h"
fi
base_h="$h"

JRE=localhost/graphfs/jre:17
JRE_PKGS=(openjdk-17-jre-headless libstdc++6 zlib1g)
h="$(packages_hash "$base_h" "${JRE_PKGS[@]}")"
if ! up_to_date jre "$JRE" "$h"; then
  r="$(debian_root jre "${JRE_PKGS[@]}")"
  c="$(buildah from "$BASE")"
  buildah copy -q "$c" "$r" / >/dev/null
  buildah config --env JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64 \
    --env PATH=/usr/lib/jvm/java-17-openjdk-amd64/bin:/usr/local/bin:/usr/bin:/bin "$c"
  buildah commit -q --rm "$c" "$JRE" >/dev/null
  load jre "$JRE" "$h"
fi

# ---------------------------------------------------------------- GraphFS
# The project's own Dockerfile, binaries from the release build.
ctx="$WORK/graphfs-context"
for b in graphfs graphfs-operator; do
  [ -x "$TARGET/release/$b" ] || die "$TARGET/release/$b not found: cargo build --release --workspace --bins first"
done
MODEL="$CACHE/llm/minilm"
[ -f "$MODEL/model.safetensors" ] || die "$MODEL not found (tests/deps.sh llm installs it)"
# OCR programs and libraries from this machine's Debian packages (tests/deps.sh
# installs them), as the Dockerfile's builder takes them from its own.
# ffmpeg is built from source by tests/cluster/install.sh.
FFMPEG_BIN="$CACHE/ffmpeg/bin"
[ -x "$FFMPEG_BIN/ffmpeg" ] || die "$FFMPEG_BIN/ffmpeg not found (tests/cluster/install.sh builds it)"
OCR_PKGS=(tesseract-ocr tesseract-ocr-eng tesseract-ocr-chi-sim poppler-utils)
ocr_h="$(packages_hash "$(hash_of "$ROOT/docker/ocr-root.sh" "$FFMPEG_BIN")" "${OCR_PKGS[@]}")"
h="$(hash_of "$TARGET/release/graphfs" "$TARGET/release/graphfs-extract-worker" "$TARGET/release/graphfs-operator" "$MODEL" "$ROOT/Dockerfile" | cut -c1-16)-$base_h-$ocr_h"
for target in graphfs graphfs-operator; do
  image="ghcr.io/graphfs/$target:$VERSION"
  up_to_date "$target" "$image" "$h" && continue
  if [ ! -d "$ctx" ] || [ "$(cat "$ctx/.hash" 2>/dev/null)" != "$h" ]; then
    rm -rf "$ctx"; mkdir -p "$ctx/models" "$ctx/var-lib-graphfs"
    cp "$TARGET/release/graphfs" "$TARGET/release/graphfs-extract-worker" "$TARGET/release/graphfs-operator" "$ctx/"
    cp "$MODEL"/config.json "$MODEL"/tokenizer.json "$MODEL"/model.safetensors "$ctx/models/"
    "$ROOT/docker/ocr-root.sh" "$ctx/ocr" "$FFMPEG_BIN" || die "collecting the OCR programs failed"
    echo "$h" > "$ctx/.hash"
  fi
  stage="$target"; [ "$target" = graphfs-operator ] && stage=operator
  log "building $image (Dockerfile target $stage)"
  buildah bud -q --layers=false -f "$ROOT/Dockerfile" --target "$stage" \
    --build-arg "VERSION=$VERSION" --build-arg "RUNTIME_BASE=$BASE" --build-arg BINARIES=prebuilt \
    -t "$image" "$ctx" >/dev/null || die "building $image failed"
  load "$target" "$image" "$h"
done

# ---------------------------------------------------------------- MinIO, Neo4j
MINIO=localhost/graphfs/minio:test
[ -x "$CACHE/bin/minio" ] || die "$CACHE/bin/minio not found (tests/minio/install.sh)"
h="$(hash_of "$CACHE/bin/minio" "$HERE/images/minio.Dockerfile")-$base_h"
if ! up_to_date minio "$MINIO" "$h"; then
  rm -rf "$WORK/minio-context"; mkdir -p "$WORK/minio-context"
  cp "$CACHE/bin/minio" "$WORK/minio-context/"
  buildah bud -q --layers=false -f "$HERE/images/minio.Dockerfile" --build-arg "BASE=$BASE" \
    -t "$MINIO" "$WORK/minio-context" >/dev/null || die "building $MINIO failed"
  rm -rf "$WORK/minio-context"
  load minio "$MINIO" "$h"
fi

NEO4J="localhost/graphfs/neo4j:$NEO4J_VERSION"
lib="$CACHE/neo4j/$NEO4J_VERSION/lib"
[ -d "$lib" ] || die "$lib not found (tests/neo4j/install.sh)"
h="$(hash_of "$lib" "$HERE/images/neo4j.Dockerfile")-$base_h"
if ! up_to_date neo4j "$NEO4J" "$h"; then
  rm -rf "$WORK/neo4j-context"; mkdir -p "$WORK/neo4j-context"
  cp -r "$lib" "$WORK/neo4j-context/lib"
  buildah bud -q --layers=false -f "$HERE/images/neo4j.Dockerfile" --build-arg "BASE=$JRE" \
    -t "$NEO4J" "$WORK/neo4j-context" >/dev/null || die "building $NEO4J failed"
  rm -rf "$WORK/neo4j-context"
  load neo4j "$NEO4J" "$h"
fi
log "images ready in $((SECONDS - t0)) s"
