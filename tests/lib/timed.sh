#!/usr/bin/env bash
# timed.sh LABEL CMD...: runs CMD and says how long it took, so that a
# `make test` log shows where its time goes. Each line is also appended to
# test-artifacts/timings.txt, which `make test` prints at the end.
set -u
label="$1"; shift
start=$(date +%s)
"$@"
rc=$?
secs=$(( $(date +%s) - start ))
mkdir -p test-artifacts
printf '%-24s %4dm%02ds%s\n' "$label" $((secs / 60)) $((secs % 60)) \
  "$([ $rc = 0 ] || echo "  (failed: exit $rc)")" | tee -a test-artifacts/timings.txt
exit $rc
