#!/usr/bin/env bash
# Start the Neo4j Community 5 test server (tests/neo4j/launcher, installed by
# install.sh) with everything under DIR:
#   DIR/home/        Neo4j home: data/ (stores, tx logs, auth), logs/debug.log
#   DIR/neo4j.log    launcher + Neo4j user log (appended across restarts)
#   DIR/neo4j.pid    pid of the JVM, read by stop.sh
#   DIR/env          GRAPHFS_NEO4J_URI, _USER, _PASSWORD, _BOLT_PORT, NEO4J_PID, ...
# Bolt on 127.0.0.1:<free port below 32768>, no TLS, auth on (user neo4j).
# Waits for the launcher's "NEO4J READY" line and prints the bolt:// URI on stdout.
#
# Restartable: start.sh DIR after stop.sh DIR reopens the same data and reuses
# the port recorded in DIR/env when it is free (tests simulate an outage so).
# The password is set on the first start only; later starts keep the stored one.
#
# Usage: tests/neo4j/start.sh DIR
# Environment:
#   GRAPHFS_NEO4J_PASSWORD        password of user neo4j (default graphfs-test-password, >= 8 chars)
#   GRAPHFS_CACHE                 cache root (default ~/.cache/graphfs)
#   GRAPHFS_NEO4J_VERSION         installed version to run (default 5.26.30)
#   GRAPHFS_NEO4J_LIB             directory with the jars (overrides the two above)
#   GRAPHFS_NEO4J_JAVA            java binary (default $JAVA_HOME/bin/java, else java on PATH)
#   GRAPHFS_NEO4J_HEAP            -Xmx (default 512m)
#   GRAPHFS_NEO4J_PROFILE         test (default): C1 and SerialGC, to start fast;
#                                 server: the JVM's own JIT and collector, as the
#                                 neo4j image the operator deploys runs (benchmarks)
#   GRAPHFS_NEO4J_PAGECACHE       page cache size (default: the launcher's 96 MiB); a store
#                                 larger than it is read from disk again and again
#   GRAPHFS_NEO4J_JAVA_OPTS       extra JVM flags (word-split)
#   GRAPHFS_NEO4J_CONF            extra neo4j.conf-style settings file for the launcher
#   GRAPHFS_NEO4J_READY_TIMEOUT   seconds to wait for READY (default 120)
#   GRAPHFS_NEO4J_PORT            use this Bolt port instead of picking one
set -euo pipefail

LOG_TAG=neo4j-start
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../lib/common.sh"

[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
mkdir -p "$1"
DIR="$(cd "$1" && pwd)"
HERE="$(cd "$(dirname "$0")" && pwd)"

VERSION="${GRAPHFS_NEO4J_VERSION:-5.26.30}"
LIB="${GRAPHFS_NEO4J_LIB:-${GRAPHFS_CACHE:-$HOME/.cache/graphfs}/neo4j/$VERSION/lib}"
[ -f "$LIB/graphfs-neo4j-launcher.jar" ] || die "$LIB/graphfs-neo4j-launcher.jar not found; run tests/neo4j/install.sh first"
JAVA="${GRAPHFS_NEO4J_JAVA:-${JAVA_HOME:+$JAVA_HOME/bin/}java}"
command -v "$JAVA" >/dev/null || die "java not found ($JAVA); Java 17 or 21 is needed"
PASSWORD="${GRAPHFS_NEO4J_PASSWORD:-graphfs-test-password}"
[ "${#PASSWORD}" -ge 8 ] || die "GRAPHFS_NEO4J_PASSWORD must have at least 8 characters"
READY_TIMEOUT="${GRAPHFS_NEO4J_READY_TIMEOUT:-120}"
HEAP="${GRAPHFS_NEO4J_HEAP:-512m}"
LOG="$DIR/neo4j.log"
PIDFILE="$DIR/neo4j.pid"

# Refuse to start twice in the same DIR.
if [ -f "$PIDFILE" ]; then
  old="$(cat "$PIDFILE")"
  if [ -n "$old" ] && alive "$old"; then
    die "Neo4j (pid $old) from $PIDFILE is still running; run tests/neo4j/stop.sh $DIR first"
  fi
  rm -f "$PIDFILE"
fi

# ---------------------------------------------------------------- ports
# Ports in /proc/net/tcp{,6} (hex) of sockets in any state / in LISTEN (0A).
used_ports() { awk 'NR>1 {split($2, a, ":"); print a[2]}' /proc/net/tcp /proc/net/tcp6 2>/dev/null | sort -u | tr '\n' ' '; }
listen_ports() { awk 'NR>1 && $4=="0A" {split($2, a, ":"); print a[2]}' /proc/net/tcp /proc/net/tcp6 2>/dev/null | sort -u | tr '\n' ' '; }
# A free port on 127.0.0.1 below the ephemeral range (32768+), so outgoing
# connections do not take it in the meantime; avoids ports in any state.
free_port() {
  local used port
  used="$(used_ports)"
  for _ in $(seq 1 200); do
    port=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
    case " $used " in *" $(printf '%04X' "$port") "*) continue ;; esac
    echo "$port"; return 0
  done
  return 1
}
# A recorded port is reusable when nothing listens on it (the JVM binds with
# SO_REUSEADDR, so TIME_WAIT leftovers of the previous run do not matter).
port_listen_free() { case " $(listen_ports) " in *" $(printf '%04X' "$1") "*) return 1 ;; esac; }

RECORDED_PORT=""
if [ -f "$DIR/env" ]; then
  RECORDED_PORT="$(sed -n 's/^GRAPHFS_NEO4J_BOLT_PORT=//p' "$DIR/env" | tail -n1)"
fi

# ---------------------------------------------------------------- spawn
PROFILE="${GRAPHFS_NEO4J_PROFILE:-test}"
case "$PROFILE" in test|server) ;; *) die "GRAPHFS_NEO4J_PROFILE must be test or server, not $PROFILE" ;; esac
# The test profile: SerialGC and C1 only, fewer threads and a faster start on
# a small shared machine (measured: start 5.5 s vs 7.0 s with C2, a small
# query suite 3.2 s vs 4.2 s). Long runs pay for it: C1's code is slower once
# warm, so benchmarks take the server profile, the JVM's defaults.
JVM_OPTS=(
  -Xms64m "-Xmx$HEAP" -Xss1m
  -XX:+ExitOnOutOfMemoryError -XX:-OmitStackTraceInFastThrow
  # As in Neo4j's own neo4j.conf for Java 17+:
  --add-opens=java.base/java.nio=ALL-UNNAMED
  --add-opens=java.base/java.io=ALL-UNNAMED
  --add-opens=java.base/sun.nio.ch=ALL-UNNAMED
  -Dio.netty.tryReflectionSetAccessible=true
  -Djdk.nio.maxCachedBufferSize=1024
  -Dlog4j2.disable.jmx=true
  -Djava.awt.headless=true
)
if [ "$PROFILE" = test ]; then
  JVM_OPTS+=(-XX:TieredStopAtLevel=1)
  # A collector given in GRAPHFS_NEO4J_JAVA_OPTS replaces SerialGC (two would conflict).
  case " ${GRAPHFS_NEO4J_JAVA_OPTS:-} " in *" -XX:+Use"*GC" "*) ;; *) JVM_OPTS+=(-XX:+UseSerialGC) ;; esac
fi
# shellcheck disable=SC2206
[ -z "${GRAPHFS_NEO4J_JAVA_OPTS:-}" ] || JVM_OPTS+=(${GRAPHFS_NEO4J_JAVA_OPTS})

# The page cache, as a settings file the launcher reads after its own
# (beside any file GRAPHFS_NEO4J_CONF already names).
if [ -n "${GRAPHFS_NEO4J_PAGECACHE:-}" ]; then
  case "$GRAPHFS_NEO4J_PAGECACHE" in
    *[0-9][kKmMgG]|*[0-9]) ;;
    *) die "GRAPHFS_NEO4J_PAGECACHE must be a size such as 512m or 2g, not $GRAPHFS_NEO4J_PAGECACHE" ;;
  esac
  { [ -z "${GRAPHFS_NEO4J_CONF:-}" ] || cat "$GRAPHFS_NEO4J_CONF"
    echo "server.memory.pagecache.size=$GRAPHFS_NEO4J_PAGECACHE"; } > "$DIR/memory.conf"
  export GRAPHFS_NEO4J_CONF="$DIR/memory.conf"
fi

NEO4J_PID=""
cleanup_on_error() {
  local rc=$?
  [ $rc -ne 0 ] || return 0
  if [ -n "$NEO4J_PID" ] && alive "$NEO4J_PID"; then
    kill -TERM "$NEO4J_PID" 2>/dev/null || true
    for _ in $(seq 1 100); do alive "$NEO4J_PID" || break; sleep 0.1; done
    kill -KILL "$NEO4J_PID" 2>/dev/null || true
  fi
  rm -f "$PIDFILE"
  log "start failed; log: $LOG (and $DIR/home/logs/debug.log)"
  exit $rc
}
trap cleanup_on_error EXIT

# Starts the launcher on port $1; returns 0 on READY, 1 if the JVM died (then
# BIND_FAILED=1 when the port was taken), 2 on timeout.
start_on() { # port
  local port="$1" offset
  offset=$(( $(stat -c %s "$LOG" 2>/dev/null || echo 0) + 1 ))
  printf '\n===== start.sh %s: bolt port %s =====\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$port" >>"$LOG"
  local tmp="$DIR/.neo4j.pid.tmp"
  rm -f "$tmp"
  # Detached (own session, stdin closed); the pid is written by the process
  # itself right before exec, so it is the JVM's pid. The password travels in
  # the environment, not on the command line (ps).
  # shellcheck disable=SC2016
  env GRAPHFS_NEO4J_HOME="$DIR/home" GRAPHFS_NEO4J_BOLT_PORT="$port" GRAPHFS_NEO4J_PASSWORD="$PASSWORD" \
    setsid bash -c 'echo $$ > "$0"; exec "$@"' "$tmp" \
    "$JAVA" "${JVM_OPTS[@]}" -cp "$LIB/*" io.graphfs.neo4j.Launcher >>"$LOG" 2>&1 </dev/null &
  for _ in $(seq 1 50); do [ -s "$tmp" ] && break; sleep 0.1; done
  [ -s "$tmp" ] || die "the launcher did not start"
  NEO4J_PID="$(cat "$tmp")"
  mv -f "$tmp" "$PIDFILE"
  BIND_FAILED=0
  local deadline=$((SECONDS + READY_TIMEOUT))
  while [ $SECONDS -lt $deadline ]; do
    if tail -c +"$offset" "$LOG" | grep "^NEO4J READY bolt://127.0.0.1:$port\$" >/dev/null; then
      return 0
    fi
    if ! alive "$NEO4J_PID"; then
      log "the launcher exited; tail of $LOG:"
      tail -c +"$offset" "$LOG" | tail -n 15 >&2 || true
      if tail -c +"$offset" "$LOG" | grep -iE 'address already in use|BindException|PortBindException' >/dev/null; then
        BIND_FAILED=1
      fi
      rm -f "$PIDFILE"; NEO4J_PID=""
      return 1
    fi
    sleep 0.25
  done
  log "no READY line after ${READY_TIMEOUT}s; tail of $LOG:"
  tail -c +"$offset" "$LOG" | tail -n 15 >&2 || true
  return 2
}

t0=$SECONDS
PORT=""
if [ -n "${GRAPHFS_NEO4J_PORT:-}" ]; then
  PORT="$GRAPHFS_NEO4J_PORT"
elif [ -n "$RECORDED_PORT" ] && port_listen_free "$RECORDED_PORT"; then
  PORT="$RECORDED_PORT"
  log "reusing the recorded port $PORT"
elif [ -n "$RECORDED_PORT" ]; then
  log "recorded port $RECORDED_PORT is taken; picking another"
fi
ok=0
for _ in 1 2 3; do
  [ -n "$PORT" ] || PORT="$(free_port)" || die "no free port found"
  [ -d "$DIR/home/data" ] && what="restarting on existing data" || what="first start"
  log "$what: bolt://127.0.0.1:$PORT, home $DIR/home, log $LOG"
  rc=0; start_on "$PORT" || rc=$?
  if [ $rc = 0 ]; then ok=1; break; fi
  # Retry on another port only when the port was taken.
  if [ $rc != 1 ] || [ "$BIND_FAILED" != 1 ] || [ -n "${GRAPHFS_NEO4J_PORT:-}" ]; then break; fi
  log "port $PORT was taken; retrying on another"
  PORT=""
done
[ $ok = 1 ] || die "Neo4j failed to start"

URI="bolt://127.0.0.1:$PORT"
umask 077
cat > "$DIR/env" <<EOF
GRAPHFS_NEO4J_URI=$URI
GRAPHFS_NEO4J_USER=neo4j
GRAPHFS_NEO4J_PASSWORD=$PASSWORD
GRAPHFS_NEO4J_BOLT_PORT=$PORT
GRAPHFS_NEO4J_HOME=$DIR/home
GRAPHFS_NEO4J_LOG=$LOG
NEO4J_PID=$NEO4J_PID
EOF
umask 022

trap - EXIT
log "up in $((SECONDS - t0)) s: pid $NEO4J_PID; stop with $HERE/stop.sh $DIR"
echo "$URI"
