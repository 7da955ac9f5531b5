#!/usr/bin/env python3
"""CPU time of the local cluster's parts, for the bench to say where a
drain's CPU went (tests/local-cluster/bench.sh).

  cpu.py snapshot STATE          JSON on stdout: CPU seconds so far of each
                                 part (Neo4j, MinIO, API replicas, taggers,
                                 nginx; a process counts for the part its
                                 nearest ancestor that names STATE, or
                                 Neo4j's pid file there, is),
                                 and of the whole machine, busy and idle
  cpu.py report BEFORE AFTER N   one line: the CPU each part took per item
                                 between two snapshots (N items, such as
                                 files tagged), and how much of the machine
                                 was idle
  cpu.py capacity LOAD DRAIN END UPLOADS TAGGED DRAINED
                                 one line: the stack's CPU per upload and
                                 per tagged file, and the upload rate at
                                 which tagging keeps up on this machine's
                                 cores. LOAD, DRAIN and END are snapshots
                                 when the load started, when it stopped and
                                 when the queue was empty; UPLOADS files
                                 were uploaded and TAGGED tagged while it
                                 ran, DRAINED after it

A process that started and ended between the snapshots counts for its
parent once the parent has waited for it (as the taggers do for their
extraction processes, one per file).
"""
import json
import os
import sys

TICK = os.sysconf("SC_CLK_TCK")

# The first match names the part; checked against a process's command line
# (Neo4j by its pid file).
PARTS = [
    ("Neo4j", "/neo4j/"),
    ("MinIO", "/minio"),
    ("taggers", " tagger "),
    ("API replicas", " serve "),
    ("nginx", "/nginx"),
]


def processes():
    out = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # gone meanwhile
        # The command name in parentheses may hold spaces: split after it.
        fields = stat[stat.rindex(")") + 2:].split()
        # With the children it has waited for: the taggers run each
        # extraction in a process of its own, which ends within the file.
        ppid = int(fields[1])
        ticks = sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
        out[int(pid)] = (ppid, " " + cmd, ticks / TICK)
    return out


def part_of(pid, procs, state, roots):
    seen = set()
    while pid in procs and pid not in seen:
        seen.add(pid)
        ppid, cmd, _ = procs[pid]
        if pid in roots:
            return roots[pid]
        if state in cmd:
            for name, mark in PARTS:
                if mark in cmd:
                    return name
        pid = ppid
    return None


def machine():
    with open("/proc/stat") as f:
        cpu = [int(x) for x in f.readline().split()[1:]]
    idle = cpu[3] + cpu[4]  # idle, iowait
    return (sum(cpu[:8]) - idle) / TICK, idle / TICK


def pid_roots(state):
    """Parts whose command line does not name STATE, by their pid file:
    the Neo4j JVM's names only its install."""
    roots = {}
    try:
        with open(os.path.join(state, "neo4j", "neo4j.pid")) as f:
            roots[int(f.read().strip())] = "Neo4j"
    except (OSError, ValueError):
        pass
    return roots


def snapshot(state):
    procs = processes()
    roots = pid_roots(state)
    parts = {name: 0.0 for name, _ in PARTS}
    for pid, (_, _, secs) in procs.items():
        name = part_of(pid, procs, state, roots)
        if name:
            parts[name] += secs
    busy, idle = machine()
    return {"parts": parts, "busy": busy, "idle": idle}


def report(before, after, items):
    if items <= 0:
        return "no items"
    shares = []
    for name, _ in PARTS:
        secs = after["parts"][name] - before["parts"][name]
        shares.append(f"{name} {1000 * secs / items:.1f}")
    busy = after["busy"] - before["busy"]
    ours = sum(after["parts"].values()) - sum(before["parts"].values())
    idle = after["idle"] - before["idle"]
    total = busy + idle
    idle_share = 100 * idle / total if total > 0 else 0.0
    return (f"CPU ms per file: {', '.join(shares)}, the rest of the machine "
            f"{1000 * (busy - ours) / items:.1f}; {idle_share:.0f} % idle")


def ours(before, after):
    """CPU seconds the stack's parts took between two snapshots."""
    return sum(after["parts"].values()) - sum(before["parts"].values())


def capacity(load, drain, end, uploads, tagged, drained):
    if uploads <= 0 or drained <= 0:
        return "no capacity figure (nothing uploaded or nothing left to tag)"
    # A tagged file's CPU, from the drain, when the taggers worked alone.
    per_tag = ours(drain, end) / drained
    # The load's CPU less the tagging done meanwhile, per upload. The load
    # generator is not the stack: only the parts' CPU counts.
    per_upload = max(0.0, ours(load, drain) - tagged * per_tag) / uploads
    cores = os.cpu_count() or 1
    keeps_up = cores / (per_upload + per_tag)
    need = 300 * (per_upload + per_tag)
    return (f"the stack took {1000 * per_upload:.1f} ms of CPU per upload and "
            f"{1000 * per_tag:.1f} ms per tagged file, so its {cores} cores take "
            f"uploads with tagging keeping up at about {keeps_up:.0f} files/s; "
            f"300 files/s would take {need:.1f} cores")


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "snapshot":
        json.dump(snapshot(sys.argv[2]), sys.stdout)
        print()
    elif len(sys.argv) == 5 and sys.argv[1] == "report":
        with open(sys.argv[2]) as f:
            before = json.load(f)
        with open(sys.argv[3]) as f:
            after = json.load(f)
        print(report(before, after, int(sys.argv[4])))
    elif len(sys.argv) == 8 and sys.argv[1] == "capacity":
        snaps = []
        for path in sys.argv[2:5]:
            with open(path) as f:
                snaps.append(json.load(f))
        print(capacity(*snaps, *(int(n) for n in sys.argv[5:8])))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
