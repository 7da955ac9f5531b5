#!/usr/bin/env bash
# start.sh DIR — start llama-cpp-python's OpenAI-compatible server on a free
# 127.0.0.1 port with a small local model, log to DIR/llm.log, write DIR/env
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
#   GRAPHFS_LLM_BATCH_THREADS  threads for the prompt (default: every core)
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

PORT=$("$GRAPHFS_LLM_PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
(
  exec setsid "$GRAPHFS_LLM_PYTHON" -m llama_cpp.server --model "$MODEL" --model_alias "$ALIAS" \
    --host 127.0.0.1 --port "$PORT" --n_ctx 2048 --n_threads "${GRAPHFS_LLM_THREADS:-1}" \
    --n_threads_batch "${GRAPHFS_LLM_BATCH_THREADS:-$(nproc)}" "${EXTRA[@]}"
) </dev/null >>"$LOG" 2>&1 &
PID=$!
wait_for_url "$PID" 60 "http://127.0.0.1:$PORT/v1/models" "$LOG" || exit 1
{
  echo "GRAPHFS_LLM_BASE_URL=http://127.0.0.1:$PORT/v1"
  echo "GRAPHFS_LLM_CHAT_MODEL=$ALIAS"
  echo "GRAPHFS_EMBEDDING_MODEL_DIR=$GRAPHFS_TEST_EMBEDDING_DIR"
  echo "LLM_PID=$PID"
} >"$DIR/env"
echo "http://127.0.0.1:$PORT/v1"
