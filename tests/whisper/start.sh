#!/usr/bin/env bash
# start.sh DIR — start the OpenAI-compatible transcription server (server.py,
# Whisper tiny.en) on a free 127.0.0.1 port, log to DIR/whisper.log, write
# DIR/env (GRAPHFS_TRANSCRIPTION_BASE_URL, GRAPHFS_LLM_TRANSCRIPTION_MODEL,
# WHISPER_PID) and print the base URL.
set -euo pipefail
[[ $# -eq 1 && -n "$1" ]] || { echo "usage: $0 DIR" >&2; exit 2; }
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LOG_TAG=whisper-start
. "$HERE/../lib/common.sh"
CACHE="${GRAPHFS_CACHE:-$HOME/.cache/graphfs}"
[[ -f "$CACHE/whisper/env" ]] || GRAPHFS_CACHE="$CACHE" "$HERE/install.sh"
# shellcheck disable=SC1091
. "$CACHE/whisper/env"
mkdir -p "$1"
DIR="$(cd "$1" && pwd)"
LOG="$DIR/whisper.log"
PORT=$("$GRAPHFS_WHISPER_PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
(
  exec setsid "$GRAPHFS_WHISPER_PYTHON" "$HERE/server.py" --port "$PORT" --model "$GRAPHFS_WHISPER_MODEL_DIR"
) </dev/null >>"$LOG" 2>&1 &
PID=$!
wait_for_url "$PID" 60 "http://127.0.0.1:$PORT/v1/models" "$LOG" || exit 1
{
  echo "GRAPHFS_TRANSCRIPTION_BASE_URL=http://127.0.0.1:$PORT/v1"
  echo "GRAPHFS_LLM_TRANSCRIPTION_MODEL=whisper-tiny.en"
  echo "WHISPER_PID=$PID"
} >"$DIR/env"
echo "http://127.0.0.1:$PORT/v1"
