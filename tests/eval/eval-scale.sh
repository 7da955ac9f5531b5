#!/usr/bin/env bash
# `make eval-scale`: how the default tagger's vocabulary behaves as files
# arrive, in the default mode (offline keywords, the built-in taxonomy,
# in-process MiniLM), each on a fresh, empty GraphFS:
#   drop-40   40 short English software descriptions (Debian package
#             descriptions) dropped at once: how many tags, how many of them
#             carried by one file only
#   scale     every document the corpus builder has (the Python library and
#             Chinese manual pages of `make eval`, plus up to 400 Debian
#             package descriptions; about 550 files): new vocabulary per file
# Reports: ${EVAL_OUT:-test-artifacts/eval-scale}/{drop-40,scale}/report.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=tests/eval/models.sh
. "$here/models.sh"
export GRAPHFS_TAGGING_MODE=offline GRAPHFS_TAXONOMY=builtin
out=${EVAL_OUT:-$root/test-artifacts/eval-scale}
rm -rf "$out/drop-40/reports" "$out/scale/reports"

EVAL_OUT=$out/drop-40 EVAL_MODE=drop-40 \
  EVAL_CORPUS_ARGS="--per-chapter 0 --no-zh --debian 40" "$here/eval.sh"
EVAL_OUT=$out/scale EVAL_MODE=scale \
  EVAL_CORPUS_ARGS="--per-chapter 1000 --debian 400" "$here/eval.sh"
cat "$out/drop-40/report.md" "$out/scale/report.md"
