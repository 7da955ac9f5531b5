#!/usr/bin/env bash
# with-real-backends.sh CMD...: runs CMD with one MinIO and one Neo4j started
# for it (tests/minio, tests/neo4j), and stops them afterwards. The HTTP
# suite's test binaries that run on the real backends (GRAPHFS_E2E_BACKENDS=real)
# find them through GRAPHFS_E2E_REAL_DIR, so that each binary does not start
# a Neo4j of its own (one JVM start, not six). The binaries run one after
# another and each server wipes the graph and takes a bucket of its own, as
# they do on servers of their own.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
dir="$(mktemp -d "${TMPDIR:-/tmp}/graphfs-real.XXXXXX")"
stop() {
  "$ROOT/tests/neo4j/stop.sh" "$dir/neo4j" >/dev/null 2>&1 || true
  "$ROOT/tests/minio/stop.sh" "$dir/minio" >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap stop EXIT
"$ROOT/tests/minio/install.sh" >/dev/null
"$ROOT/tests/neo4j/install.sh" >/dev/null
"$ROOT/tests/minio/start.sh" "$dir/minio" >/dev/null
"$ROOT/tests/neo4j/start.sh" "$dir/neo4j" >/dev/null
GRAPHFS_E2E_REAL_DIR="$dir" "$@"
