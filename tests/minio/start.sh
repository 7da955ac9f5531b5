#!/usr/bin/env bash
# start.sh DIR — start a local S3 server (MinIO, or s3s-fs as fallback) on
# 127.0.0.1 with its data in DIR/data. Writes DIR/env (shell assignments) and
# logs to DIR/minio.log; prints the endpoint URL on stdout.
#
# Can be run again on the same DIR after stop.sh (outage simulation): the data
# is kept and the port recorded in DIR/env is reused when it is still free.
# If the server for DIR is already running and healthy, it just prints the
# endpoint again.
#
# Env:
#   GRAPHFS_S3_ACCESS_KEY_ID      (default graphfs-test)
#   GRAPHFS_S3_SECRET_ACCESS_KEY  (default graphfs-test-secret-key; MinIO needs >= 8 chars)
#   GRAPHFS_S3_SERVER             minio | s3s-fs (default: minio if installed)
#   GRAPHFS_MINIO_WEBHOOK_URL     optional: MinIO webhook notification target "graphfs"
#   GRAPHFS_MINIO_WEBHOOK_TOKEN   optional: its auth token (sent as "Authorization: Bearer TOKEN")
#   GRAPHFS_MINIO_WEBHOOK_QUEUE_DIR optional: persist undelivered events there and retry
#   GRAPHFS_CACHE                 where install.sh put the binaries
set -euo pipefail

if [[ $# -ne 1 || -z "$1" ]]; then
  echo "usage: $0 DIR" >&2
  exit 2
fi

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${GRAPHFS_CACHE:-$HOME/.cache/graphfs}"
BIN="$CACHE/bin"

mkdir -p "$1"
DIR="$(cd "$1" && pwd)"
DATA="$DIR/data"
ENVFILE="$DIR/env"
LOG="$DIR/minio.log"
mkdir -p "$DATA"

ACCESS_KEY="${GRAPHFS_S3_ACCESS_KEY_ID:-graphfs-test}"
SECRET_KEY="${GRAPHFS_S3_SECRET_ACCESS_KEY:-graphfs-test-secret-key}"
REGION="us-east-1"

# ---- which server -----------------------------------------------------------
SERVER="${GRAPHFS_S3_SERVER:-}"
if [[ -z "$SERVER" ]]; then
  if [[ -x "$BIN/minio" ]]; then SERVER=minio
  elif [[ -x "$BIN/s3s-fs" ]]; then SERVER=s3s-fs
  else
    GRAPHFS_CACHE="$CACHE" "$HERE/install.sh" >&2
    if [[ -x "$BIN/minio" ]]; then SERVER=minio; else SERVER=s3s-fs; fi
  fi
fi
case "$SERVER" in
  minio|s3s-fs) ;;
  *) echo "start.sh: unknown GRAPHFS_S3_SERVER=$SERVER" >&2; exit 2 ;;
esac
if [[ ! -x "$BIN/$SERVER" ]]; then
  GRAPHFS_CACHE="$CACHE" GRAPHFS_S3_SERVER="$SERVER" "$HERE/install.sh" >&2
fi
if [[ "$SERVER" == minio && ${#SECRET_KEY} -lt 8 ]]; then
  echo "start.sh: MinIO needs a secret key of at least 8 characters" >&2
  exit 2
fi
if [[ "$SERVER" == minio && ${#ACCESS_KEY} -lt 3 ]]; then
  echo "start.sh: MinIO needs an access key of at least 3 characters" >&2
  exit 2
fi

# ---- helpers ----------------------------------------------------------------
port_in_use() { # true if something listens on 127.0.0.1:$1 (or any addr)
  local p=$1
  if command -v ss >/dev/null 2>&1; then
    [[ -n "$(ss -Htln "sport = :$p" 2>/dev/null)" ]] && return 0
  fi
  (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && return 0
  return 1
}

pick_port() { # random free port in [20000, 32000), avoiding $1
  local avoid=${1:-0} p i
  for i in $(seq 1 200); do
    p=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
    [[ $p -eq $avoid ]] && continue
    port_in_use "$p" || { echo "$p"; return 0; }
  done
  echo "start.sh: no free port found" >&2
  return 1
}

pid_is_ours() { # is $1 alive (not a zombie) and serving $DATA?
  local pid=$1
  [[ -n "$pid" && -r "/proc/$pid/cmdline" ]] || return 1
  local state
  state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || return 1
  [[ "$state" != Z ]] || return 1
  tr '\0' '\n' <"/proc/$pid/cmdline" | grep -xF -e "$DATA" -e "$DATA/" >/dev/null
}

healthy() { # $1 = port
  if [[ "$SERVER" == minio ]]; then
    curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:$1/minio/health/live"
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
  fi
}

q() { printf '%q' "$1"; }

# ---- previous state -----------------------------------------------------------
OLD_PORT="" OLD_CONSOLE_PORT="" OLD_PID=""
if [[ -f "$ENVFILE" ]]; then
  OLD_PORT=$(sed -n 's/^GRAPHFS_S3_ENDPOINT=.*127\.0\.0\.1:\([0-9]*\).*/\1/p' "$ENVFILE" | tail -1)
  OLD_CONSOLE_PORT=$(sed -n 's/^MINIO_CONSOLE_PORT=\([0-9]*\).*/\1/p' "$ENVFILE" | tail -1)
  OLD_PID=$(sed -n 's/^MINIO_PID=\([0-9]*\).*/\1/p' "$ENVFILE" | tail -1)
fi

if [[ -n "$OLD_PID" && -n "$OLD_PORT" ]] && pid_is_ours "$OLD_PID"; then
  if healthy "$OLD_PORT"; then
    echo "http://127.0.0.1:$OLD_PORT"
    exit 0
  fi
  echo "start.sh: server pid $OLD_PID for $DIR is running but unhealthy; run stop.sh first" >&2
  exit 1
fi

# ---- start --------------------------------------------------------------------
launch() { # $1 = port, $2 = console port; sets PID
  local port=$1 cport=$2
  {
    echo "===== $(date -u +%Y-%m-%dT%H:%M:%SZ) start.sh: $SERVER on 127.0.0.1:$port ====="
  } >>"$LOG"
  if [[ "$SERVER" == minio ]]; then
    (
      # No telemetry / update checks / console; keep all state inside DIR.
      export MINIO_ROOT_USER="$ACCESS_KEY"
      export MINIO_ROOT_PASSWORD="$SECRET_KEY"
      export MINIO_BROWSER=off
      export MINIO_UPDATE=off
      export MINIO_CALLHOME_ENABLE=off
      export MINIO_CI_CD=on
      export MINIO_SCANNER_SPEED=slowest
      export HOME="$DIR"
      unset MINIO_DOMAIN MINIO_SERVER_URL MINIO_ACCESS_KEY MINIO_SECRET_KEY
      unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY
      if [[ -n "${GRAPHFS_MINIO_WEBHOOK_URL:-}" ]]; then
        # Target id "graphfs" (case-sensitive, taken from the env var suffix):
        # ARN arn:minio:sqs::graphfs:webhook
        export MINIO_NOTIFY_WEBHOOK_ENABLE_graphfs=on
        export MINIO_NOTIFY_WEBHOOK_ENDPOINT_graphfs="$GRAPHFS_MINIO_WEBHOOK_URL"
        if [[ -n "${GRAPHFS_MINIO_WEBHOOK_TOKEN:-}" ]]; then
          export MINIO_NOTIFY_WEBHOOK_AUTH_TOKEN_graphfs="$GRAPHFS_MINIO_WEBHOOK_TOKEN"
        fi
        if [[ -n "${GRAPHFS_MINIO_WEBHOOK_QUEUE_DIR:-}" ]]; then
          mkdir -p "$GRAPHFS_MINIO_WEBHOOK_QUEUE_DIR"
          export MINIO_NOTIFY_WEBHOOK_QUEUE_DIR_graphfs="$GRAPHFS_MINIO_WEBHOOK_QUEUE_DIR"
        fi
      fi
      exec setsid "$BIN/minio" server "$DATA" \
        --address "127.0.0.1:$port" \
        --console-address "127.0.0.1:$cport" \
        --certs-dir "$DIR/certs" \
        --anonymous
    ) </dev/null >>"$LOG" 2>&1 &
  else
    (
      export RUST_LOG="${RUST_LOG:-info}"
      exec setsid "$BIN/s3s-fs" --host 127.0.0.1 --port "$port" \
        --access-key "$ACCESS_KEY" --secret-key "$SECRET_KEY" "$DATA"
    ) </dev/null >>"$LOG" 2>&1 &
  fi
  PID=$!
}

PID=""
PORT="" CONSOLE_PORT=""
started=0
for attempt in 1 2 3 4 5; do
  if [[ $attempt -eq 1 && -n "$OLD_PORT" ]] && ! port_in_use "$OLD_PORT"; then
    PORT=$OLD_PORT
  else
    PORT=$(pick_port)
  fi
  if [[ $attempt -eq 1 && -n "$OLD_CONSOLE_PORT" && "$OLD_CONSOLE_PORT" != "$PORT" ]] \
     && ! port_in_use "$OLD_CONSOLE_PORT"; then
    CONSOLE_PORT=$OLD_CONSOLE_PORT
  else
    CONSOLE_PORT=$(pick_port "$PORT")
  fi

  launch "$PORT" "$CONSOLE_PORT"

  deadline=$((SECONDS + 60))
  while (( SECONDS < deadline )); do
    if ! kill -0 "$PID" 2>/dev/null; then break; fi
    if healthy "$PORT"; then started=1; break; fi
    sleep 0.2
  done
  [[ $started -eq 1 ]] && break

  if kill -0 "$PID" 2>/dev/null; then
    # Still running but not healthy after 60 s: give up.
    kill -KILL "$PID" 2>/dev/null || true
    echo "start.sh: $SERVER did not become healthy within 60 s; log: $LOG" >&2
    tail -n 30 "$LOG" >&2
    exit 1
  fi
  # Exited early: most likely lost a race for the port; retry on a new one.
  if grep -qiE 'address already in use|bind' <(tail -n 20 "$LOG"); then
    echo "start.sh: port $PORT taken, retrying" >&2
    continue
  fi
  echo "start.sh: $SERVER exited during startup; log: $LOG" >&2
  tail -n 30 "$LOG" >&2
  exit 1
done
if [[ $started -ne 1 ]]; then
  echo "start.sh: could not start $SERVER; log: $LOG" >&2
  exit 1
fi

ENDPOINT="http://127.0.0.1:$PORT"
tmp="$ENVFILE.tmp.$$"
{
  echo "GRAPHFS_S3_ENDPOINT=$(q "$ENDPOINT")"
  echo "GRAPHFS_S3_ACCESS_KEY_ID=$(q "$ACCESS_KEY")"
  echo "GRAPHFS_S3_SECRET_ACCESS_KEY=$(q "$SECRET_KEY")"
  echo "GRAPHFS_S3_REGION=$(q "$REGION")"
  echo "GRAPHFS_S3_SERVER=$(q "$SERVER")"
  echo "MINIO_PID=$PID"
  echo "MINIO_CONSOLE_PORT=$CONSOLE_PORT"
  if [[ "$SERVER" == minio && -n "${GRAPHFS_MINIO_WEBHOOK_URL:-}" ]]; then
    echo "GRAPHFS_MINIO_WEBHOOK_ARN=arn:minio:sqs::graphfs:webhook"
  fi
} >"$tmp"
mv -f "$tmp" "$ENVFILE"

echo "$ENDPOINT"
