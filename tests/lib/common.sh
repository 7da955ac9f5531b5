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

# wait_for_url PID SECONDS URL LOG: until URL answers (curl -f), while PID
# runs; on its exit or after SECONDS, the log's tail and a failure.
wait_for_url() {
  local pid="$1" secs="$2" url="$3" log_file="$4" tries
  for tries in $(seq 1 $((secs * 5))); do
    if ! alive "$pid"; then
      log "the server exited; log: $log_file"; tail -n 20 "$log_file" >&2; return 1
    fi
    curl -sf -o /dev/null --max-time 2 "$url" && return 0
    sleep 0.2
  done
  kill -KILL "$pid" 2>/dev/null || true
  log "no answer from $url within ${secs} s (${tries} tries); log: $log_file"
  return 1
}

# stop_recorded DIR KEY PATTERN: stops the process whose pid DIR/env holds
# as KEY=pid, if its command line still matches PATTERN (not a recycled pid).
stop_recorded() {
  local dir="$1" key="$2" pattern="$3" pid
  [ -f "$dir/env" ] || return 0
  pid=$(sed -n "s/^$key=\([0-9]*\).*/\1/p" "$dir/env" | tail -1)
  [ -n "$pid" ] && alive "$pid" || return 0
  grep -q "$pattern" "/proc/$pid/cmdline" 2>/dev/null || return 0
  terminate "$pid" 5 alive
}
