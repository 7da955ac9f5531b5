#!/usr/bin/env bash
# Stop the control plane started by start.sh DIR: kube-apiserver first, then
# etcd; SIGTERM, then SIGKILL after a timeout. Leaves DIR's data and logs in
# place (delete DIR yourself). Safe to run twice.
#
# Usage: tests/envtest/stop.sh DIR
# Environment: GRAPHFS_ENVTEST_STOP_TIMEOUT  seconds to wait after SIGTERM (default 15)
set -uo pipefail

LOG_TAG=envtest-stop
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../lib/common.sh"

[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
DIR="$1"
PIDS="$DIR/pids"
TIMEOUT="${GRAPHFS_ENVTEST_STOP_TIMEOUT:-15}"

if [ ! -f "$PIDS" ]; then
  log "no $PIDS: nothing to stop"
  exit 0
fi

# True when PID is alive and still runs the binary NAME (guards against a
# recycled pid).
is_ours() { # name pid
  local exe
  alive "$2" || return 1
  exe="$(readlink "/proc/$2/exe" 2>/dev/null || true)"
  [ -z "$exe" ] || [ "$(basename "${exe% (deleted)}")" = "$1" ]
}

stop_one() { # name pid
  local name="$1" pid="$2"
  if ! is_ours "$name" "$pid"; then
    log "$name (pid $pid) is not running"
    return 0
  fi
  terminate "$pid" "$TIMEOUT" is_ours "$name" && log "$name (pid $pid) stopped"
}

# Reverse start order: kube-apiserver before etcd.
mapfile -t entries < <(tac "$PIDS")
for entry in "${entries[@]}"; do
  [ -n "$entry" ] || continue
  stop_one "${entry%% *}" "${entry##* }"
done

status=0
for entry in "${entries[@]}"; do
  [ -n "$entry" ] || continue
  if is_ours "${entry%% *}" "${entry##* }"; then
    log "ERROR: ${entry%% *} (pid ${entry##* }) survived SIGKILL"
    status=1
  fi
done
[ $status -ne 0 ] || rm -f "$PIDS"
exit $status
