#!/usr/bin/env bash
# stop.sh DIR — stop the S3 server started by start.sh DIR:
# SIGTERM, then SIGKILL if it is still alive after 10 s.
# Keeps DIR/data and DIR/env (so start.sh DIR can restart on the same port).
# Succeeds if the server is not running.
set -euo pipefail

if [[ $# -ne 1 || -z "$1" ]]; then
  echo "usage: $0 DIR" >&2
  exit 2
fi
[[ -d "$1" ]] || exit 0
DIR="$(cd "$1" && pwd)"
DATA="$DIR/data"
ENVFILE="$DIR/env"
[[ -f "$ENVFILE" ]] || exit 0

PID=$(sed -n 's/^MINIO_PID=\([0-9]*\).*/\1/p' "$ENVFILE" | tail -1)
[[ -n "$PID" ]] || exit 0

alive() { # alive, not a zombie, and really the server for $DATA (pid reuse)
  [[ -r "/proc/$PID/cmdline" ]] || return 1
  local state
  state=$(awk '{print $3}' "/proc/$PID/stat" 2>/dev/null) || return 1
  [[ "$state" != Z ]] || return 1
  tr '\0' '\n' <"/proc/$PID/cmdline" 2>/dev/null | grep -xF -e "$DATA" -e "$DATA/" >/dev/null
}

alive || exit 0

kill -TERM "$PID" 2>/dev/null || true
for _ in $(seq 1 100); do # 10 s
  alive || break
  sleep 0.1
done
if alive; then
  echo "stop.sh: pid $PID still alive after 10 s, sending SIGKILL" >&2
  kill -KILL "$PID" 2>/dev/null || true
  for _ in $(seq 1 50); do
    alive || break
    sleep 0.1
  done
fi
if alive; then
  echo "stop.sh: pid $PID did not exit" >&2
  exit 1
fi
echo "===== $(date -u +%Y-%m-%dT%H:%M:%SZ) stop.sh: stopped pid $PID =====" >>"$DIR/minio.log"
