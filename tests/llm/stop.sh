#!/usr/bin/env bash
# stop.sh DIR — stop the LLM server started by start.sh DIR (TERM, then KILL),
# or the nginx and the servers behind it.
set -euo pipefail
LOG_TAG=llm-stop
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../lib/common.sh"
[[ $# -eq 1 && -n "$1" ]] || { echo "usage: $0 DIR" >&2; exit 2; }
stop_recorded "$1" LLM_PID 'llama_cpp.server\|nginx'
for pid in $(sed -n 's/^LLM_SERVER_PID=\([0-9]*\).*/\1/p' "$1/env" 2>/dev/null); do
  alive "$pid" && grep -q llama_cpp.server "/proc/$pid/cmdline" 2>/dev/null && terminate "$pid" 5 alive
done
true
