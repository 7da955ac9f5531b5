# Sourced by the test scripts for what they all do the same way: logging,
# one install at a time per cache, and stopping a process they started.
#
# Set LOG_TAG (the script's name in log lines) before sourcing.

log() { printf '[%s %s] %s\n' "${LOG_TAG:-graphfs}" "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
fmt_secs() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }

# Alive and not a zombie (exited, not yet reaped by its parent).
alive() { # pid
  kill -0 "$1" 2>/dev/null || return 1
  [ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)" != Z ]
}

# One install at a time per cache: parallel test runs may all call an
# install script. Holds the lock on fd 9 until the script exits.
install_lock() { # lockfile
  exec 9>"$1"
  if ! flock -n 9; then
    log "another install holds $1; waiting for it"
    flock 9
  fi
}

# terminate PID TIMEOUT CHECK...: SIGTERM, then wait up to TIMEOUT seconds
# while `CHECK... PID` says the process still runs; then SIGKILL and up to
# 5 s more. CHECK guards against a recycled pid. Fails when it survived.
terminate() {
  local pid="$1" timeout="$2" waited=0
  shift 2
  kill -TERM "$pid" 2>/dev/null || true
  while "$@" "$pid" && [ "$waited" -lt $((timeout * 10)) ]; do
    sleep 0.1; waited=$((waited + 1))
  done
  "$@" "$pid" || return 0
  log "pid $pid still running after ${timeout}s; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  waited=0
  while "$@" "$pid" && [ "$waited" -lt 50 ]; do sleep 0.1; waited=$((waited + 1)); done
  ! "$@" "$pid"
}
