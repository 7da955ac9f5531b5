#!/usr/bin/env bash
# start.sh DIR — starts Keycloak on 127.0.0.1 with an in-memory database and
# the test realm (realm.json: client `graphfs`, users alice and bob, group
# graphfs-admins with alice in it). Writes DIR/env:
#   GRAPHFS_OIDC_ISSUER_URL, GRAPHFS_OIDC_TOKEN_URL, GRAPHFS_OIDC_CLIENT_ID
# and logs to DIR/keycloak.log. Every start is a fresh realm.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
VERSION="${GRAPHFS_KEYCLOAK_VERSION:-26.7.3}"
LOG_TAG=keycloak
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$HERE/../lib/common.sh"
CACHE="${GRAPHFS_CACHE:-$HOME/.cache/graphfs}"
KC="$CACHE/keycloak-$VERSION"
[ -x "$KC/bin/kc.sh" ] || "$HERE/install.sh"
mkdir -p "$1"
DIR="$(cd "$1" && pwd)"
# Keycloak imports realms from its own data/import at start; the file is the
# same for every run (renamed into place, so concurrent starts never see half).
mkdir -p "$KC/data/import"
cp "$HERE/realm.json" "$KC/data/import/.graphfs.json.$$"
mv "$KC/data/import/.graphfs.json.$$" "$KC/data/import/graphfs.json"
# GRAPHFS_KEYCLOAK_PORT: a port chosen by the caller (a server configured
# before its provider is up); a free one otherwise.
PORT="${GRAPHFS_KEYCLOAK_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}"
MGMT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
# --optimized: the build step ran at install; dev-mem: nothing outlives the run.
setsid env JAVA_OPTS_KC_HEAP="-Xms64m -Xmx512m" KC_DB=dev-mem \
  "$KC/bin/kc.sh" start --optimized \
    --http-enabled=true --http-host=127.0.0.1 --http-port="$PORT" \
    --http-management-port="$MGMT" --hostname-strict=false \
    --import-realm \
    >"$DIR/keycloak.log" 2>&1 < /dev/null &
echo $! > "$DIR/keycloak.pid"
ISSUER="http://127.0.0.1:$PORT/realms/graphfs"
for _ in $(seq 600); do
  if curl -sf "$ISSUER/.well-known/openid-configuration" -o /dev/null; then
    cat > "$DIR/env" <<ENV
GRAPHFS_OIDC_ISSUER_URL=$ISSUER
GRAPHFS_OIDC_TOKEN_URL=$ISSUER/protocol/openid-connect/token
GRAPHFS_OIDC_CLIENT_ID=graphfs
ENV
    log "Keycloak ready at $ISSUER"
    echo "$ISSUER"
    exit 0
  fi
  alive "$(cat "$DIR/keycloak.pid")" || { tail -n 40 "$DIR/keycloak.log" >&2; die "Keycloak exited"; }
  sleep 0.5
done
tail -n 40 "$DIR/keycloak.log" >&2
die "Keycloak did not become ready in 300 s"
