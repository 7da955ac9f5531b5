#!/usr/bin/env bash
# Builds the ffmpeg and ffprobe that the graphfs image carries to read the
# text in videos (keyframes, then OCR), from the source of the Debian
# release the image is built on, with only what that needs: the common
# containers and video decoders, the scale filter and PNG out. They link
# glibc and zlib alone, a few MB, where Debian's ffmpeg loads about 80 codec
# libraries (246 MB).
#
# Usage: docker/ffmpeg-build.sh PREFIX   (installs PREFIX/bin/ffmpeg and PREFIX/bin/ffprobe)
# Needs: a C compiler, make, curl, xz and zlib's headers (zlib1g-dev).
# Environment: GRAPHFS_FFMPEG_JOBS (parallel compile jobs; default: every core)
set -euo pipefail
prefix="${1:?usage: $0 PREFIX}"
# Debian 12's ffmpeg (7:5.1.9-0+deb12u1), the upstream tarball its pool serves.
VERSION=5.1.9
SHA256=d9b593bb2ba93d4b50f74177e0cdcd41747e708596367deed0c30348a71dd176
URL="http://deb.debian.org/debian/pool/main/f/ffmpeg/ffmpeg_$VERSION.orig.tar.xz"

stamp="$prefix/.built-from"
want="$VERSION $(sha256sum "$0" | cut -c1-16)"
if [ -x "$prefix/bin/ffmpeg" ] && [ -x "$prefix/bin/ffprobe" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  echo "ffmpeg-build: ffmpeg $VERSION already in $prefix" >&2
  exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
curl -fsS --retry 3 -o "$work/src.tar.xz" "$URL" || { echo "ffmpeg-build: downloading $URL failed" >&2; exit 1; }
echo "$SHA256  $work/src.tar.xz" | sha256sum -c --quiet - || { echo "ffmpeg-build: $URL is not the tarball expected" >&2; exit 1; }
tar -xJf "$work/src.tar.xz" -C "$work"
cd "$work/ffmpeg-$VERSION"

# What GraphFS asks of them (handlers/lib/graphfs-extract/src/ocr.rs): the
# duration from ffprobe; from ffmpeg, a seek to a keyframe, decoding it,
# scaling it down and writing it as PNG to a pipe. No assembly, so no nasm
# (decoding a few keyframes a file does not need it); no network, no devices.
./configure --prefix="$prefix" \
  --disable-everything --disable-autodetect --disable-network --disable-doc --disable-debug \
  --disable-shared --enable-static --disable-ffplay --enable-ffmpeg --enable-ffprobe \
  --disable-x86asm --enable-zlib \
  --enable-protocol=file,pipe \
  --enable-demuxer=mov,matroska,avi,mpegts,flv,ogg,asf,mpegps,m4v,h264,hevc,ivf \
  --enable-parser=h264,hevc,mpeg4video,vp8,vp9,mpegvideo,mjpeg,vc1 \
  --enable-decoder=h264,hevc,mpeg4,vp8,vp9,mpeg1video,mpeg2video,mjpeg,theora,msmpeg4v3,wmv1,wmv2,wmv3,vc1,h263,flv,png \
  --enable-encoder=png --enable-muxer=image2pipe,image2 \
  --enable-filter=scale,format,null,anull,aresample >"$work/build.log" 2>&1 \
  && make -j"${GRAPHFS_FFMPEG_JOBS:-$(nproc)}" ffmpeg ffprobe >>"$work/build.log" 2>&1 \
  || { tail -n 30 "$work/build.log" >&2; echo "ffmpeg-build: the build failed" >&2; exit 1; }
install -D -m 0755 -s ffmpeg "$prefix/bin/ffmpeg"
install -D -m 0755 -s ffprobe "$prefix/bin/ffprobe"
echo "$want" > "$stamp"
echo "ffmpeg-build: ffmpeg $VERSION in $prefix ($(du -sh "$prefix/bin" | cut -f1))" >&2
