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

log() { printf '[neo4j-stop %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

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
is_ours() {
  local state
  [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null || return 1
  state="$(sed 's/.*) //' "/proc/$PID/stat" 2>/dev/null | cut -d' ' -f1)"
  [ "$state" != Z ] || return 1
  tr '\0' ' ' < "/proc/$PID/cmdline" 2>/dev/null | grep -q 'io.graphfs.neo4j.Launcher'
}

if ! is_ours; then
  log "Neo4j (pid $PID) is not running"
  rm -f "$PIDFILE"
  exit 0
fi

t0=$SECONDS
kill -TERM "$PID" 2>/dev/null || true
waited=0
while is_ours && [ "$waited" -lt $((TIMEOUT * 10)) ]; do
  sleep 0.1; waited=$((waited + 1))
done
if is_ours; then
  log "Neo4j (pid $PID) still running after ${TIMEOUT}s; sending SIGKILL"
  kill -KILL "$PID" 2>/dev/null || true
  waited=0
  while is_ours && [ "$waited" -lt 50 ]; do sleep 0.1; waited=$((waited + 1)); done
  if is_ours; then
    log "ERROR: Neo4j (pid $PID) survived SIGKILL"
    exit 1
  fi
  log "Neo4j (pid $PID) killed"
else
  log "Neo4j (pid $PID) stopped in $((SECONDS - t0)) s"
fi
rm -f "$PIDFILE"
