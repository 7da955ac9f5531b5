#!/usr/bin/env bash
# Installs Keycloak (the Quarkus distribution, from Maven Central) into
# ~/.cache/graphfs/keycloak-VERSION, for the sign-in tests: a real OpenID
# Connect provider. Idempotent; a second run only checks.
#
# Usage: tests/oidc/install.sh   (GRAPHFS_KEYCLOAK_VERSION to pick another)
set -euo pipefail
VERSION="${GRAPHFS_KEYCLOAK_VERSION:-26.7.3}"
LOG_TAG=keycloak-install
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../lib/common.sh"
CACHE="${GRAPHFS_CACHE:-$HOME/.cache/graphfs}"
HOME_DIR="$CACHE/keycloak-$VERSION"
[ -x "$HOME_DIR/bin/kc.sh" ] && { log "up to date: Keycloak $VERSION in $HOME_DIR"; exit 0; }
command -v java >/dev/null || die "java is not installed (apt-get install openjdk-17-jdk-headless)"
mkdir -p "$CACHE/downloads"
install_lock "$CACHE/downloads/.keycloak.lock"
ZIP="$CACHE/downloads/keycloak-quarkus-dist-$VERSION.zip"
URL="https://repo1.maven.org/maven2/org/keycloak/keycloak-quarkus-dist/$VERSION/keycloak-quarkus-dist-$VERSION.zip"
if [ ! -s "$ZIP" ]; then
  log "downloading $URL"
  curl -sSfL --retry 3 -o "$ZIP.part" "$URL" || die "download failed: $URL"
  mv "$ZIP.part" "$ZIP"
fi
TMP="$(mktemp -d "$CACHE/keycloak-unpack.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$ZIP" "$TMP"
chmod +x "$TMP"/keycloak-*/bin/*.sh
# The build step (Quarkus augmentation) once, for the settings start.sh uses:
# every start then skips it.
(cd "$TMP"/keycloak-*/ && KC_DB=dev-mem bin/kc.sh build --db=dev-mem --health-enabled=true >"$TMP/build.log" 2>&1) \
  || { tail -n 30 "$TMP/build.log" >&2; die "kc.sh build failed"; }
rm -rf "$HOME_DIR"
mv "$TMP"/keycloak-*/ "$HOME_DIR"
log "installed Keycloak $VERSION in $HOME_DIR"
