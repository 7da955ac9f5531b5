#!/usr/bin/env bash
# Stop the Neo4j test server started by start.sh DIR: SIGTERM (the launcher's
# shutdown hook checkpoints and closes the DBMS), then SIGKILL after a timeout
# (committed data survives that too: Neo4j recovers from its transaction log).
# Leaves DIR's data, env (with the port, reused by the next start.sh) and logs
# in place; delete DIR yourself. Safe to run twice.
#
# Usage: tests/neo4j/stop.sh DIR
# Environment: GRAPHFS_NEO4J_STOP_TIMEOUT  seconds to wait after SIGTERM (default 30)
set -uo pipefail

LOG_TAG=neo4j-stop
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../lib/common.sh"

[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
DIR="$1"
PIDFILE="$DIR/neo4j.pid"
TIMEOUT="${GRAPHFS_NEO4J_STOP_TIMEOUT:-30}"

if [ ! -f "$PIDFILE" ]; then
  log "no $PIDFILE: nothing to stop"
  exit 0
fi
PID="$(cat "$PIDFILE")"

# True when PID is alive (not a zombie) and still our launcher JVM (guards
# against a recycled pid).
is_ours() { # pid
  [ -n "$1" ] && alive "$1" || return 1
  tr '\0' ' ' < "/proc/$1/cmdline" 2>/dev/null | grep 'io.graphfs.neo4j.Launcher' >/dev/null
}

if ! is_ours "$PID"; then
  log "Neo4j (pid $PID) is not running"
  rm -f "$PIDFILE"
  exit 0
fi

t0=$SECONDS
if ! terminate "$PID" "$TIMEOUT" is_ours; then
  log "ERROR: Neo4j (pid $PID) survived SIGKILL"
  exit 1
fi
log "Neo4j (pid $PID) stopped in $((SECONDS - t0)) s"
rm -f "$PIDFILE"
