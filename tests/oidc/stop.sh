#!/usr/bin/env bash
# Stops the Keycloak started by start.sh DIR. Safe to run twice.
set -uo pipefail
LOG_TAG=keycloak-stop
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../lib/common.sh"
[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
PIDFILE="$1/keycloak.pid"
[ -f "$PIDFILE" ] || exit 0
PID="$(cat "$PIDFILE")"
# The whole session: kc.sh execs java, but a wrapper may remain.
kill -TERM -- "-$PID" 2>/dev/null || kill -TERM "$PID" 2>/dev/null || true
for _ in $(seq 100); do alive "$PID" || break; sleep 0.2; done
kill -KILL -- "-$PID" 2>/dev/null || true
rm -f "$PIDFILE"
