#!/usr/bin/env bash
# Copies the OCR programs GraphFS runs (Tesseract with its language data,
# poppler's pdftoppm for scanned PDFs, and ffmpeg and ffprobe for the
# keyframes of videos), with every shared library they load, into DEST, laid
# out as on the system. The runtime image is distroless (no package
# manager): it takes DEST whole, on top of its glibc and libgcc, which are
# left out here.
#
# Usage: docker/ocr-root.sh DEST FFMPEG_BIN
#   FFMPEG_BIN  the folder holding the ffmpeg and ffprobe that
#               docker/ffmpeg-build.sh built; they go to /usr/bin
# Needs: tesseract-ocr, tesseract-ocr-eng, tesseract-ocr-chi-sim, poppler-utils.
set -euo pipefail
dest="${1:?usage: $0 DEST FFMPEG_BIN}"
ffmpeg_bin="${2:?usage: $0 DEST FFMPEG_BIN}"
tessdata=/usr/share/tesseract-ocr/5/tessdata
for lang in eng chi_sim; do
  [ -f "$tessdata/$lang.traineddata" ] || { echo "ocr-root: no $lang data in $tessdata" >&2; exit 1; }
done

rm -rf "$dest"
mkdir -p "$dest"
# copy FILE AT MODE: the file FILE resolves to, at AT (the image needs no links).
copy() { install -D -m "$3" "$(readlink -f "$1")" "$dest$2"; }

# program FILE AT: FILE at AT, with the libraries it loads.
program() {
  copy "$1" "$2" 0755
  # ldd lists what the loader maps: "libx.so.1 => /path (0x...)".
  ldd "$1" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | while read -r lib; do
    case "$(basename "$lib")" in
      # In the base image already (Debian libc6 and libgcc-s1).
      libc.so.*|libm.so.*|libpthread.so.*|libdl.so.*|librt.so.*|libresolv.so.*|ld-linux*|libgcc_s.so.*) ;;
      *) [ -e "$dest$lib" ] || copy "$lib" "$lib" 0644 ;;
    esac
  done
}

for name in tesseract pdftoppm; do
  path="$(command -v "$name")" || { echo "ocr-root: $name not found" >&2; exit 1; }
  program "$path" "$path"
done
for name in ffmpeg ffprobe; do
  [ -x "$ffmpeg_bin/$name" ] || { echo "ocr-root: no $name in $ffmpeg_bin (docker/ffmpeg-build.sh)" >&2; exit 1; }
  program "$ffmpeg_bin/$name" "/usr/bin/$name"
done

# The languages GraphFS asks for (--ocr-languages, eng+chi_sim) and the
# engine's configuration files; not the other languages installed.
mkdir -p "$dest$tessdata"
cp -r "$tessdata/configs" "$tessdata/tessconfigs" "$dest$tessdata/"
cp "$tessdata/eng.traineddata" "$tessdata/chi_sim.traineddata" "$dest$tessdata/"
chmod -R a+rX "$dest"
echo "ocr-root: $(du -sh "$dest" | cut -f1) in $dest" >&2
