#!/usr/bin/env bash
# stop.sh DIR — stop the transcription server started by start.sh DIR.
set -euo pipefail
[[ $# -eq 1 && -n "$1" ]] || { echo "usage: $0 DIR" >&2; exit 2; }
[[ -f "$1/env" ]] || exit 0
PID=$(sed -n 's/^WHISPER_PID=\([0-9]*\).*/\1/p' "$1/env" | tail -1)
[[ -n "$PID" ]] && kill -0 "$PID" 2>/dev/null || exit 0
grep -q server.py "/proc/$PID/cmdline" 2>/dev/null || exit 0
kill -TERM "$PID" 2>/dev/null || true
for _ in $(seq 1 50); do kill -0 "$PID" 2>/dev/null || exit 0; sleep 0.1; done
kill -KILL "$PID" 2>/dev/null || true
