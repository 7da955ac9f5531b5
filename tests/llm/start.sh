#!/usr/bin/env bash
# start.sh DIR — start llama-cpp-python's OpenAI-compatible server on a free
# 127.0.0.1 port with a small local model (or several behind nginx, see
# GRAPHFS_LLM_SERVERS), log to DIR/llm.log, write DIR/env
# (GRAPHFS_LLM_BASE_URL, GRAPHFS_LLM_CHAT_MODEL, ...) and print the base URL.
#
# Env:
#   GRAPHFS_LLM_MODEL  chat (SmolLM2-135M-Instruct, default) | base (Gemma 3
#                      270M base model, served for few-shot /v1/completions)
#   GRAPHFS_CACHE      where install.sh put the venv and models
#   GRAPHFS_LLM_THREADS        threads per generated token (default 1: a
#                              135M model writes a token in 8 ms on one
#                              thread here, 14 ms on two, which wait on
#                              each other more than they compute)
#   GRAPHFS_LLM_BATCH_THREADS  threads for the prompt (default: every core
#                              with one server, one with several)
#   GRAPHFS_LLM_SERVERS        servers to run (default 1). With more, each is
#                              single-threaded and nginx spreads requests over
#                              them by least connections, as a Service would
#                              over replicas: llama-cpp-python's server takes
#                              one request at a time, so this is how parallel
#                              slots are had. One per core is the fastest here.
set -euo pipefail
[[ $# -eq 1 && -n "$1" ]] || { echo "usage: $0 DIR" >&2; exit 2; }
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LOG_TAG=llm-start
. "$HERE/../lib/common.sh"
CACHE="${GRAPHFS_CACHE:-$HOME/.cache/graphfs}"
[[ -f "$CACHE/llm/env" ]] || GRAPHFS_CACHE="$CACHE" "$HERE/install.sh"
# shellcheck disable=SC1091
. "$CACHE/llm/env"
mkdir -p "$1"
DIR="$(cd "$1" && pwd)"
LOG="$DIR/llm.log"

case "${GRAPHFS_LLM_MODEL:-chat}" in
  chat) MODEL="$GRAPHFS_LLM_CHAT_GGUF"; ALIAS=smollm2-135m-instruct; EXTRA=() ;;
  base) MODEL="$GRAPHFS_LLM_BASE_GGUF"; ALIAS=gemma-3-270m; EXTRA=(--chat_format gemma) ;;
  *) echo "start.sh: GRAPHFS_LLM_MODEL must be chat or base" >&2; exit 2 ;;
esac

free_port() { "$GRAPHFS_LLM_PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
SERVERS="${GRAPHFS_LLM_SERVERS:-1}"
[[ "$SERVERS" =~ ^[1-9][0-9]*$ ]] || { echo "start.sh: GRAPHFS_LLM_SERVERS must be a positive number" >&2; exit 2; }
# Several servers on one core each: two threads per server would make every
# server wait on the others' threads.
if [ "$SERVERS" -gt 1 ]; then BATCH_THREADS="${GRAPHFS_LLM_BATCH_THREADS:-1}"; else BATCH_THREADS="${GRAPHFS_LLM_BATCH_THREADS:-$(nproc)}"; fi

# serve PORT LOG: one server in the background; its pid in $!.
serve() {
  (
    exec setsid "$GRAPHFS_LLM_PYTHON" -m llama_cpp.server --model "$MODEL" --model_alias "$ALIAS" \
      --host 127.0.0.1 --port "$1" --n_ctx 2048 --n_threads "${GRAPHFS_LLM_THREADS:-1}" \
      --n_threads_batch "$BATCH_THREADS" "${EXTRA[@]}"
  ) </dev/null >>"$2" 2>&1 &
}

: >"$DIR/env"
if [ "$SERVERS" = 1 ]; then
  PORT=$(free_port)
  serve "$PORT" "$LOG"
  PID=$!
  wait_for_url "$PID" 60 "http://127.0.0.1:$PORT/v1/models" "$LOG" || exit 1
else
  command -v nginx >/dev/null || die "GRAPHFS_LLM_SERVERS=$SERVERS needs nginx (tests/deps.sh debian)"
  upstreams=""
  for i in $(seq 1 "$SERVERS"); do
    port=$(free_port)
    serve "$port" "$LOG.$i"
    pid=$!
    echo "LLM_SERVER_PID=$pid" >>"$DIR/env"
    wait_for_url "$pid" 60 "http://127.0.0.1:$port/v1/models" "$LOG.$i" || exit 1
    upstreams+="        server 127.0.0.1:$port max_fails=0;"$'\n'
  done
  PORT=$(free_port)
  N="$DIR/nginx"
  mkdir -p "$N"
  cat >"$N/nginx.conf" <<CONF
worker_processes 1;
pid $N/nginx.pid;
error_log $N/error.log warn;
daemon off;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path $N/client_body;
    proxy_temp_path $N/proxy;
    fastcgi_temp_path $N/fastcgi;
    uwsgi_temp_path $N/uwsgi;
    scgi_temp_path $N/scgi;
    upstream llm {
        least_conn;
$upstreams        keepalive 8;
    }
    server {
        listen 127.0.0.1:$PORT;
        location / {
            proxy_pass http://llm;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
            proxy_read_timeout 600s;
        }
    }
}
CONF
  ( exec setsid nginx -p "$N" -c "$N/nginx.conf" ) </dev/null >>"$LOG" 2>&1 &
  PID=$!
  wait_for_url "$PID" 60 "http://127.0.0.1:$PORT/v1/models" "$LOG" || exit 1
fi
{
  echo "GRAPHFS_LLM_BASE_URL=http://127.0.0.1:$PORT/v1"
  echo "GRAPHFS_LLM_CHAT_MODEL=$ALIAS"
  echo "GRAPHFS_EMBEDDING_MODEL_DIR=$GRAPHFS_TEST_EMBEDDING_DIR"
  echo "LLM_PID=$PID"
} >>"$DIR/env"
echo "http://127.0.0.1:$PORT/v1"
