#!/usr/bin/env bash
# Installs schemathesis (the OpenAPI contract tester) from PyPI into a venv
# under ${GRAPHFS_CACHE:-$HOME/.cache/graphfs}/schemathesis-<version>/; a
# stamp makes the second run instant.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
LOG_TAG=openapi
. "$ROOT/tests/lib/common.sh"

CACHE="${GRAPHFS_CACHE:-$HOME/.cache/graphfs}"
VERSION=4.32.5
VENV="$CACHE/schemathesis-$VERSION"
STAMP="$CACHE/stamps/schemathesis-$VERSION"
mkdir -p "$CACHE/stamps"
[ -f "$STAMP" ] && exit 0
install_lock "$CACHE/stamps/schemathesis.lock"
[ -f "$STAMP" ] && exit 0
log "installing schemathesis $VERSION (PyPI) into $VENV"
rm -rf "$VENV"
python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input "schemathesis==$VERSION"
"$VENV/bin/schemathesis" --version
touch "$STAMP"
