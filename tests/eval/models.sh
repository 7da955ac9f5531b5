# Sourced by the eval scripts: installs the local model stack (cached) and
# points GraphFS at its in-process MiniLM. Needs $root.
CACHE="${GRAPHFS_CACHE:-$HOME/.cache/graphfs}"
"$root/tests/llm/install.sh"
set -a
# shellcheck disable=SC1091
. "$CACHE/llm/env"
set +a
export GRAPHFS_EMBEDDING_MODEL_DIR="$GRAPHFS_TEST_EMBEDDING_DIR"
