#!/usr/bin/env bash
# rust-tests.sh [OPTIONS] CARGO...: runs the workspace's test binaries, which
# `make compile` built, a few at a time. `cargo test` runs them one after
# another, and most of their time goes to waiting on the servers they start
# (Neo4j's JVM, kube-apiserver, Keycloak) or on deadlines, so running
# GRAPHFS_TEST_JOBS of them at once (default 3) cuts the suite's wall time
# without starving any of them of a core for long.
#
#   CARGO...           the cargo command the binaries were built with (the
#                      same wrapper and flags, or cargo would compile again)
#   --only NAME        only the integration-test binaries named NAME (repeat)
#   --real BIN[:FILTER]  also run BIN (a tests/tests/*.rs binary) on one real
#                      MinIO and Neo4j (tests/lib/with-real-backends.sh),
#                      --test-threads=1, FILTER as its test filter; all --real
#                      binaries are one job, one after another, since they
#                      share those two servers
#
# Each binary runs in its package's directory, as under cargo, with its
# output in test-artifacts/rust/NAME.log; a line per binary says how it went
# and a failure prints the log's tail. The longest binaries start first: how
# long each took last time is kept in $GRAPHFS_CACHE/rust-test-times.tsv.
# The doc tests run last, through cargo. Exit status: 0 only if all passed.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
LOG_TAG=rust-tests
. "$ROOT/tests/lib/common.sh"

only=() real=()
while (($#)); do
  case "$1" in
    --only) only+=("$2"); shift 2 ;;
    --real) real+=("$2"); shift 2 ;;
    *) break ;;
  esac
done
(($#)) || die "usage: rust-tests.sh [--only NAME]... [--real BIN[:FILTER]]... CARGO..."
cargo_cmd=("$@")
jobs_max="${GRAPHFS_TEST_JOBS:-3}"
[[ "$jobs_max" =~ ^[1-9][0-9]*$ ]] || die "GRAPHFS_TEST_JOBS must be a positive number, not '$jobs_max'"
cache="${GRAPHFS_CACHE:-$HOME/.cache/graphfs}"
times_file="$cache/rust-test-times.tsv"
out="$ROOT/test-artifacts/rust"
rm -rf "$out"
mkdir -p "$out" "$cache"

# The test binaries, as cargo reports them: name, executable, package dir.
# --no-run with the build's own flags compiles nothing after `make compile`.
declare -A exe_of=() job_dir=()
names=()
built="$(mktemp)" new_times="$(mktemp)"
trap 'rm -f "$built" "$new_times"; kill $(jobs -p) 2>/dev/null || true' EXIT
"${cargo_cmd[@]}" test --release --workspace --locked --no-run --message-format=json >"$built" \
  || die "cargo could not build the test binaries"
while IFS=$'\t' read -r pkg kind target exe manifest; do
  if [ "$kind" = test ]; then name="$pkg/$target"; else name="$pkg/$kind:$target"; fi
  exe_of[$name]="$exe"
  # Under cargo a test binary runs in its package's directory.
  job_dir[$name]="$(dirname "$manifest")"
  names+=("$name")
done < <(jq -r 'select(.reason == "compiler-artifact" and .profile.test and .executable != null)
           | (.package_id | split("#")) as [$url, $frag]
           # "…/dir#name@version", or "…/name#version" when they agree
           | [(if ($frag | contains("@")) then ($frag | split("@")[0]) else ($url | split("/")[-1]) end),
              .target.kind[0], .target.name, .executable, .manifest_path] | @tsv' "$built")
((${#names[@]})) || die "cargo reported no test binaries"

# find_test BIN: the integration-test binary named BIN (tests/tests/BIN.rs).
find_test() {
  local n
  for n in "${names[@]}"; do [[ "$n" == */"$1" ]] && { echo "$n"; return 0; }; done
  die "no test binary named $1"
}

# The jobs: a name and a command line each (the command as one string for
# bash -c, each word quoted).
declare -A cmd_of=()
job_names=("${names[@]}")
if ((${#only[@]})); then
  job_names=()
  for o in "${only[@]}"; do job_names+=("$(find_test "$o")"); done
fi
for n in "${job_names[@]}"; do cmd_of[$n]="$(printf '%q' "${exe_of[$n]}")"; done
if ((${#real[@]})); then
  serial=""
  for r in "${real[@]}"; do
    bin="${r%%:*}" filter=""
    [[ "$r" == *:* ]] && filter="${r#*:}"
    n="$(find_test "$bin")"
    serial+="$(printf '%q' "${exe_of[$n]}") --test-threads=1 ${filter:+$(printf '%q' "$filter")} && "
  done
  job="real backends (MinIO, Neo4j)"
  job_names+=("$job")
  cmd_of[$job]="GRAPHFS_E2E_BACKENDS=real $(printf '%q' "$ROOT/tests/lib/with-real-backends.sh") bash -c $(printf '%q' "${serial}true")"
  job_dir[$job]="$ROOT/tests"
fi

# Longest first, by the times recorded last run; unknown ones count as long.
last_secs() { awk -F'\t' -v n="$1" '$1 == n { s = $2 } END { print (s == "" ? 100000 : s) }' "$times_file" 2>/dev/null || echo 100000; }
mapfile -t job_names < <(for n in "${job_names[@]}"; do printf '%s\t%s\n' "$(last_secs "$n")" "$n"; done | sort -t$'\t' -k1,1nr | cut -f2)

log_of() { printf '%s/%s.log' "$out" "$(tr '/: ()' '_____' <<<"$1")"; }
declare -A pid_name=() start_of=()
failed=() passed_tests=0 t0=$SECONDS

start_job() {
  local n="$1"
  (cd "${job_dir[$n]}" && exec bash -c "${cmd_of[$n]}") >"$(log_of "$n")" 2>&1 &
  pid_name[$!]="$n"
  start_of[$n]=$SECONDS
}

finish_job() {
  local pid="$1" rc="$2" n secs summary count
  n="${pid_name[$pid]}"
  unset "pid_name[$pid]"
  secs=$((SECONDS - start_of[$n]))
  printf '%s\t%s\n' "$n" "$secs" >>"$new_times"
  count=$(awk '/^test result:/ { s += $4 } END { print s + 0 }' "$(log_of "$n")")
  passed_tests=$((passed_tests + count))
  summary="$(sed -n 's/^test result: \(.*\); finished in.*/\1/p' "$(log_of "$n")" | tail -n1)"
  if [ "$rc" = 0 ]; then
    log "PASS $n ($(fmt_secs "$secs")): ${summary:-no tests}"
  else
    failed+=("$n")
    log "FAIL $n ($(fmt_secs "$secs"), exit $rc): ${summary:-no summary}; log: $(log_of "$n")"
    tail -n 60 "$(log_of "$n")" >&2
  fi
}

log "${#job_names[@]} test binaries, $jobs_max at a time (GRAPHFS_TEST_JOBS); logs in test-artifacts/rust/"
for n in "${job_names[@]}"; do
  while ((${#pid_name[@]} >= jobs_max)); do
    rc=0; wait -n -p done_pid "${!pid_name[@]}" || rc=$?
    finish_job "$done_pid" "$rc"
  done
  start_job "$n"
done
while ((${#pid_name[@]})); do
  rc=0; wait -n -p done_pid "${!pid_name[@]}" || rc=$?
  finish_job "$done_pid" "$rc"
done
# Keep the times of binaries that did not run this time (--only).
{ [ -f "$times_file" ] && awk -F'\t' 'NR == FNR { ran[$1] = 1; next } !($1 in ran)' "$new_times" "$times_file"; cat "$new_times"; } >"$times_file.new" || true
mv "$times_file.new" "$times_file"

if ! ((${#only[@]})); then
  log "doc tests"
  "${cargo_cmd[@]}" test --release --workspace --locked --doc >"$out/doc-tests.log" 2>&1 \
    || { failed+=("doc tests"); tail -n 60 "$out/doc-tests.log" >&2; }
fi

log "$passed_tests tests passed in $(fmt_secs $((SECONDS - t0))); ${#failed[@]} binaries failed${failed:+: ${failed[*]}}"
((${#failed[@]} == 0))
