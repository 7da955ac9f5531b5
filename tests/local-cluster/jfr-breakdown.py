#!/usr/bin/env python3
"""Where a JVM's CPU went, from a Java Flight Recorder file: each execution
sample is put in the first of the kinds below whose frames it holds (locks
before the Cypher runtime that waits on them, Lucene before the kernel
that calls it), and the shares are printed, most first.

Usage: jfr-breakdown.py RECORDING.jfr   (needs the JDK's `jfr` tool)
"""
import collections
import json
import subprocess
import sys

KINDS = [
    ("lock waits (Forseti)", ["/locking/forseti/"]),
    ("vector index (HNSW)", ["hnsw", "Hnsw"]),
    ("full-text analysis and indexing (Lucene)",
     ["org/apache/lucene/analysis", "org/apache/lucene/index/IndexingChain", "DocumentsWriter"]),
    ("Lucene merges, flushes, searches", ["org/apache/lucene"]),
    ("transaction begin, commit, close",
     ["commitTransaction", "closeTransaction", "KernelTransactionImplementation",
      "TransactionManagerImpl", "beginTransaction"]),
    ("statement parse, plan and query cache",
     ["getOrCompile", "QueryCache", "CypherPlanner", "/frontend/", "OptionReader", "PreParser"]),
    ("store reads and writes, index seeks", ["org/neo4j/kernel", "org/neo4j/internal"]),
    ("Cypher runtime", ["org/neo4j/cypher/internal/runtime"]),
    ("Bolt protocol and network (per message)", ["io/netty", "org/neo4j/bolt", "packstream"]),
]


def main(path: str) -> None:
    out = subprocess.run(
        ["jfr", "print", "--json", "--stack-depth", "64", "--events", "jdk.ExecutionSample", path],
        check=True, capture_output=True, text=True,
    ).stdout
    counts: collections.Counter[str] = collections.Counter()
    for event in json.loads(out)["recording"]["events"]:
        stack = event["values"].get("stackTrace")
        if not stack:
            continue
        frames = "\n".join(f["method"]["type"]["name"] + "." + f["method"]["name"] for f in stack["frames"])
        kind = next((k for k, marks in KINDS if any(m in frames for m in marks)), "other")
        counts[kind] += 1
    total = sum(counts.values())
    if total == 0:
        sys.exit(f"{path}: no execution samples")
    print(f"{total} samples")
    for kind, n in counts.most_common():
        print(f"{100 * n / total:5.1f} %  {kind}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
