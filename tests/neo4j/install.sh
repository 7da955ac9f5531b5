#!/usr/bin/env bash
# Install the Neo4j Community 5 test server used by the GraphFS tests:
# builds tests/neo4j/launcher (a tiny embedded-DBMS launcher with Bolt) with
# Maven and puts it, with every runtime jar, into
#   ${GRAPHFS_CACHE:-$HOME/.cache/graphfs}/neo4j/<version>/lib/
# Run it with: java -cp "$LIB/*" io.graphfs.neo4j.Launcher (start.sh does).
#
# Idempotent: a stamp file records the Neo4j version, the recipe and a hash of
# the launcher sources; when it matches and the jars are present, nothing is
# built (a second run takes well under a second). Maven's local repository is
# ${GRAPHFS_CACHE}/m2; a rebuild first tries Maven offline (-o) and goes online
# only when something is missing.
#
# Usage: tests/neo4j/install.sh [--force]
#   --force   rebuild even if the stamp matches
#
# Environment:
#   GRAPHFS_CACHE            cache root (default ~/.cache/graphfs)
#   GRAPHFS_NEO4J_VERSION    org.neo4j:neo4j version (default below; 5.26.x is the
#                            5.x LTS, the last line that runs on Java 17)
#   JAVA_HOME / mvn on PATH  as usual (Java 17 or 21)
set -euo pipefail

NEO4J_VERSION="${GRAPHFS_NEO4J_VERSION:-5.26.30}"
# Bump when the build recipe changes, to force a rebuild.
RECIPE=1

HERE="$(cd "$(dirname "$0")" && pwd)"
SRC="$HERE/launcher"
CACHE="${GRAPHFS_CACHE:-$HOME/.cache/graphfs}"
ROOT="$CACHE/neo4j"
DEST="$ROOT/$NEO4J_VERSION"
LIB="$DEST/lib"
M2="$CACHE/m2"

FORCE=0
for arg in "$@"; do
  case "$arg" in
    --force) FORCE=1 ;;
    -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

LOG_TAG=neo4j-install
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../lib/common.sh"

src_hash() {
  (cd "$SRC" && find pom.xml src -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) | sha256sum | cut -c1-16
}
STAMP="neo4j=$NEO4J_VERSION recipe=$RECIPE src=$(src_hash)"

stamp_ok() {
  [ "$FORCE" = 0 ] || return 1
  [ -f "$DEST/stamp" ] && [ "$(cat "$DEST/stamp")" = "$STAMP" ] || return 1
  [ -f "$LIB/graphfs-neo4j-launcher.jar" ] && [ -f "$LIB/neo4j-$NEO4J_VERSION.jar" ]
}

if stamp_ok; then
  log "up to date: Neo4j $NEO4J_VERSION launcher in $LIB"
  exit 0
fi

mkdir -p "$ROOT"
# One install at a time per cache (parallel test runs may all call this).
exec 9>"$ROOT/.lock"
if ! flock -n 9; then
  log "another install.sh holds $ROOT/.lock; waiting for it"
  flock 9
fi
if stamp_ok; then
  log "up to date (installed meanwhile): Neo4j $NEO4J_VERSION launcher in $LIB"
  exit 0
fi

command -v mvn >/dev/null || die "mvn is not installed (apt-get install maven)"
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"
command -v "$JAVA" >/dev/null || die "java is not installed (apt-get install openjdk-17-jdk-headless)"
java_major="$("$JAVA" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
[ "${java_major%%.*}" -ge 17 ] 2>/dev/null || die "Java 17 or newer is needed to build (found: ${java_major:-?})"

t0=$SECONDS
WS="$ROOT/build"
rm -rf "$WS"
mkdir -p "$WS" "$M2"
# Build a copy: the repository gets no target/ directory.
cp -r "$SRC/pom.xml" "$SRC/src" "$WS/"

# Heavy commands run at the lowest priority: the machine is shared.
mvn_run() {
  (cd "$WS" && nice -n 19 mvn -B -ntp -Dmaven.repo.local="$M2" -Dneo4j.version="$NEO4J_VERSION" "$@")
}
log "building the launcher against org.neo4j:neo4j:$NEO4J_VERSION (Maven repo $M2)"
if mvn_run -o -q package >"$WS/mvn-offline.log" 2>&1; then
  log "built offline from the local Maven repository"
else
  log "offline build not possible (first run or new version); resolving from Maven Central"
  mvn_run package >"$WS/mvn.log" 2>&1 || { tail -n 40 "$WS/mvn.log" >&2; die "Maven build failed (log: $WS/mvn.log)"; }
fi
t_build=$((SECONDS - t0))

[ -f "$WS/target/graphfs-neo4j-launcher.jar" ] || die "no launcher jar produced"
[ -f "$WS/target/lib/neo4j-$NEO4J_VERSION.jar" ] || die "org.neo4j:neo4j:$NEO4J_VERSION is not among the copied dependencies"
compgen -G "$WS/target/lib/neo4j-bolt-[0-9]*.jar" >/dev/null || die "neo4j-bolt is not among the copied dependencies"

rm -rf "$DEST/lib.new"
mkdir -p "$DEST/lib.new"
cp "$WS/target/lib/"*.jar "$DEST/lib.new/"
cp "$WS/target/graphfs-neo4j-launcher.jar" "$DEST/lib.new/"
"$JAVA" -cp "$DEST/lib.new/*" io.graphfs.neo4j.Launcher --help >/dev/null \
  || die "the launcher does not run from $DEST/lib.new"
rm -rf "$LIB"
mv "$DEST/lib.new" "$LIB"
rm -rf "$WS"
echo "$STAMP" > "$DEST/stamp"

log "done in $((SECONDS - t0)) s (maven $t_build s): $(find "$LIB" -name "*.jar" | wc -l) jars in $LIB"
log "disk: lib $(du -sh "$LIB" | cut -f1), Maven repo $(du -sh "$M2" | cut -f1)"
