#!/usr/bin/env bash
# stop.sh DIR — stop the LLM server started by start.sh DIR (TERM, then KILL).
set -euo pipefail
LOG_TAG=llm-stop
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../lib/common.sh"
[[ $# -eq 1 && -n "$1" ]] || { echo "usage: $0 DIR" >&2; exit 2; }
stop_recorded "$1" LLM_PID llama_cpp.server
