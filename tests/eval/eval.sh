#!/usr/bin/env bash
# Tagging quality report for one tagging mode: builds the corpus, starts
# GraphFS on an empty data folder, uploads and scores (run.py), then merges
# every report under $EVAL_OUT/reports into $EVAL_OUT/report.md.
#
#   tests/eval/eval.sh                      # offline keyword tagger
#   EVAL_MODE=selective EVAL_SERVE_ARGS="..." tests/eval/eval.sh
#
# Environment: GRAPHFS_BIN (server binary), EVAL_MODE (report name, default
# offline), EVAL_SERVE_ARGS (extra `graphfs serve` arguments; GRAPHFS_*
# variables are passed through too), EVAL_OUT (default
# test-artifacts/eval), EVAL_PORT (default 18181), EVAL_TIMEOUT (seconds,
# default 1800), EVAL_DATA_DIR (keep the server's data there instead of a
# fresh temp folder), EVAL_CORPUS_ARGS (extra build_corpus.py arguments,
# such as `--debian 400`), PYTHON (default python3).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
BIN=${GRAPHFS_BIN:-${CARGO_TARGET_DIR:-$HOME/.cache/graphfs/target}/release/graphfs}
MODE=${EVAL_MODE:-offline}
OUT=${EVAL_OUT:-$root/test-artifacts/eval}
PORT=${EVAL_PORT:-18181}
TIMEOUT=${EVAL_TIMEOUT:-1800}
PY=${PYTHON:-python3}

if [[ ! -x $BIN ]]; then
  echo "no server binary at $BIN (cargo build --release -p graphfs-api --bin graphfs)" >&2
  exit 2
fi
if [[ ! $MODE =~ ^[A-Za-z0-9._-]+$ ]]; then
  echo "EVAL_MODE may hold only letters, digits, '.', '_' and '-'" >&2
  exit 2
fi

mkdir -p "$OUT/reports"
# shellcheck disable=SC2086 # EVAL_CORPUS_ARGS is a list of arguments
"$PY" "$here/build_corpus.py" "$OUT/corpus" ${EVAL_CORPUS_ARGS:-}

# EVAL_DATA_DIR keeps the server's data (and reuses it) across modes.
if [[ -n "${EVAL_DATA_DIR:-}" ]]; then
  data=$EVAL_DATA_DIR
  mkdir -p "$data"
  cleanup_data=
else
  data=$(mktemp -d "${TMPDIR:-/tmp}/graphfs-eval.XXXXXX")
  cleanup_data=$data
fi
token="eval-$("$PY" -c 'import secrets; print(secrets.token_hex(16))')"
# shellcheck disable=SC2086 # EVAL_SERVE_ARGS is a list of arguments
GRAPHFS_DEV_TOKEN=$token "$BIN" serve --dev --addr "127.0.0.1:$PORT" --data-dir "$data" \
  --rate-limit-rps 0 ${EVAL_SERVE_ARGS:-} >"$OUT/server-$MODE.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; [[ -z "$cleanup_data" ]] || rm -rf "$cleanup_data"' EXIT

"$PY" - "$PORT" "$pid" <<'EOF'
import os, sys, time, urllib.request
port, pid = sys.argv[1], int(sys.argv[2])
for _ in range(300):
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).read()
        sys.exit(0)
    except OSError:
        try:
            os.kill(pid, 0)
        except OSError:
            sys.exit("the server exited; see its log")
        time.sleep(0.2)
sys.exit("the server did not answer /healthz within 60 s")
EOF

rc=0
# shellcheck disable=SC2086 # EVAL_RUN_ARGS is a list of arguments
"$PY" "$here/run.py" --base-url "http://127.0.0.1:$PORT" --token "$token" \
  --corpus "$OUT/corpus" --mode "$MODE" --timeout "$TIMEOUT" \
  --out "$OUT/reports/$MODE.json" ${EVAL_RUN_ARGS:-} || rc=$?
"$PY" "$here/report.py" "$OUT"/reports/*.json >"$OUT/report.md"
echo "report: $OUT/report.md" >&2
exit "$rc"
