#!/usr/bin/env bash
# `make eval`: the tagging quality report for every mode on the same corpus:
#   offline                 keywords and metadata, no model, no taxonomy
#   offline-taxonomy        the same plus the built-in taxonomy's topics,
#                           assigned by meaning (the default with embeddings)
#   generative              SmolLM2-135M-Instruct (chat) behind llama-cpp-python
#   selective               the same model picking from the vocabulary that the
#                           generative pass built (then `graphfs vocab`), as
#                           TagGPT does: its corpus is uploaded again on top
#   generative-N-servers,   the same pair on one single-threaded server per
#   selective-N-servers     core behind nginx (EVAL_LLM_SERVERS, default
#                           "1 $(nproc)", or "1" on one core: the server
#                           counts to run the pair on)
#   generative-base         Gemma 3 270M base model, few-shot /v1/completions
# each on a fresh, empty GraphFS with in-process MiniLM embeddings.
# Report: ${EVAL_OUT:-test-artifacts/eval}/report.md. EVAL_LIMIT=N scores only
# the first N documents (quicker, noisier).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=tests/eval/models.sh
. "$here/models.sh"
export EVAL_OUT=${EVAL_OUT:-$root/test-artifacts/eval}
rm -rf "$EVAL_OUT/reports"
limit=()
[[ -n "${EVAL_LIMIT:-}" ]] && limit=(--limit "$EVAL_LIMIT")
export EVAL_RUN_ARGS="${limit[*]:-}"

llm_dir=$(mktemp -d "${TMPDIR:-/tmp}/graphfs-eval-llm.XXXXXX")
trap '"$root/tests/llm/stop.sh" "$llm_dir/chat"; "$root/tests/llm/stop.sh" "$llm_dir/base"; rm -rf "$llm_dir"' EXIT

EVAL_MODE=offline GRAPHFS_TAGGING_MODE=offline GRAPHFS_TAXONOMY=none "$here/eval.sh"
EVAL_MODE=offline-taxonomy GRAPHFS_TAGGING_MODE=offline GRAPHFS_TAXONOMY=builtin "$here/eval.sh"

# The chat model's generative-then-selective pass on one server, as the tests
# run it, and again on one single-threaded server per core (the faster setup
# `make bench` measures): the second pair's rows carry the server count.
servers_list=1
[[ $(nproc) -gt 1 ]] && servers_list+=" $(nproc)"
for servers in ${EVAL_LLM_SERVERS:-$servers_list}; do
  [[ $servers =~ ^[1-9][0-9]*$ ]] || { echo "EVAL_LLM_SERVERS: '$servers' is not a server count" >&2; exit 2; }
  suffix=""
  [[ $servers == 1 ]] || suffix="-$servers-servers"
  chat_url=$(GRAPHFS_LLM_SERVERS=$servers GRAPHFS_LLM_MODEL=chat "$root/tests/llm/start.sh" "$llm_dir/chat")
  shared="$llm_dir/generative-data$suffix"
  EVAL_MODE=generative$suffix EVAL_DATA_DIR=$shared GRAPHFS_TAGGING_MODE=generative \
    GRAPHFS_LLM_BASE_URL=$chat_url GRAPHFS_LLM_CHAT_MODEL=smollm2-135m-instruct "$here/eval.sh"
  "${GRAPHFS_BIN:?}" vocab --data-dir "$shared" --retag false
  EVAL_MODE=selective$suffix EVAL_DATA_DIR=$shared GRAPHFS_TAGGING_MODE=selective \
    GRAPHFS_LLM_BASE_URL=$chat_url GRAPHFS_LLM_CHAT_MODEL=smollm2-135m-instruct "$here/eval.sh"
  "$root/tests/llm/stop.sh" "$llm_dir/chat"
done

base_url=$(GRAPHFS_LLM_MODEL=base "$root/tests/llm/start.sh" "$llm_dir/base")
EVAL_MODE=generative-base GRAPHFS_TAGGING_MODE=generative GRAPHFS_LLM_BASE_URL=$base_url \
  GRAPHFS_LLM_CHAT_MODEL=gemma-3-270m GRAPHFS_LLM_API=completions "$here/eval.sh"
cat "$EVAL_OUT/report.md"
