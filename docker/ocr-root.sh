#!/usr/bin/env bash
# Copies the OCR programs GraphFS runs (Tesseract with its language data, and
# poppler's pdftoppm for scanned PDFs), with every shared library they load,
# from this Debian system into DEST, laid out as on the system. The runtime
# image is distroless (no package manager): it takes DEST whole, on top of
# its glibc and libgcc, which are left out here.
#
# Usage: docker/ocr-root.sh DEST
# Needs: tesseract-ocr, tesseract-ocr-eng, tesseract-ocr-chi-sim, poppler-utils.
set -euo pipefail
dest="${1:?usage: $0 DEST}"
tessdata=/usr/share/tesseract-ocr/5/tessdata
for lang in eng chi_sim; do
  [ -f "$tessdata/$lang.traineddata" ] || { echo "ocr-root: no $lang data in $tessdata" >&2; exit 1; }
done

rm -rf "$dest"
mkdir -p "$dest"
# copy PATH: the file PATH resolves to, at PATH (the image needs no links).
copy() { install -D -m "$2" "$(readlink -f "$1")" "$dest$1"; }

for name in tesseract pdftoppm; do
  program="$(command -v "$name")" || { echo "ocr-root: $name not found" >&2; exit 1; }
  copy "$program" 0755
  # ldd lists what the loader maps: "libx.so.1 => /path (0x...)".
  ldd "$program" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | while read -r lib; do
    case "$(basename "$lib")" in
      # In the base image already (Debian libc6 and libgcc-s1).
      libc.so.*|libm.so.*|libpthread.so.*|libdl.so.*|librt.so.*|libresolv.so.*|ld-linux*|libgcc_s.so.*) ;;
      *) [ -e "$dest$lib" ] || copy "$lib" 0644 ;;
    esac
  done
done

# The languages GraphFS asks for (--ocr-languages, eng+chi_sim) and the
# engine's configuration files; not the other languages installed.
mkdir -p "$dest$tessdata"
cp -r "$tessdata/configs" "$tessdata/tessconfigs" "$dest$tessdata/"
cp "$tessdata/eng.traineddata" "$tessdata/chi_sim.traineddata" "$dest$tessdata/"
chmod -R a+rX "$dest"
echo "ocr-root: $(du -sh "$dest" | cut -f1) in $dest" >&2
