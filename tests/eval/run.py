#!/usr/bin/env python3
"""Uploads the evaluation corpus to a GraphFS server and scores its tags.

    python3 tests/eval/run.py --base-url http://127.0.0.1:8080 --token TOKEN \\
        --corpus OUTDIR --mode offline [--out report.json]

Every OUTDIR/docs/*.txt is uploaded (POST /api/v1/files?name=..., raw body),
then GET /api/v1/files/{id} is polled until each file is done or failed (or
--timeout runs out), and GET /api/v1/queue until it stays empty, since a
tag that joins the vocabulary queues the files that proposed it again; the
tags scored are each file's final ones. Tags from sources "metadata" and "user" are ignored;
the rest are scored against OUTDIR/labels.json with the rules of scoring.py
(README.md). Prints one Markdown table row on stdout, progress on stderr,
and writes the full report as JSON to --out.

Run each mode on a fresh server (empty --data-dir) or a fresh user: the
vocabulary figures read GET /api/v1/tags, which covers every file the user
can see. The same figures computed over this run's files alone are in the
JSON under "run_vocabulary".
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import baseline  # noqa: E402
import scoring  # noqa: E402
from report import COLUMNS, markdown_row  # noqa: E402

TERMINAL = ("done", "failed")


class Api:
    def __init__(self, base_url: str, token: str, timeout: float = 60.0):
        self.base = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def call(self, method: str, path: str, body: bytes | None = None,
             ctype: str | None = None, retries: int = 5):
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        if ctype:
            headers["Content-Type"] = ctype
        for attempt in range(retries + 1):
            req = urllib.request.Request(self.base + path, data=body, method=method, headers=headers)
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                    raw = resp.read()
                    return json.loads(raw) if raw else None
            except urllib.error.HTTPError as e:
                detail = e.read()[:500].decode("utf-8", "replace")
                if e.code in (429, 502, 503, 504) and attempt < retries:
                    wait = float(e.headers.get("Retry-After") or 0) or min(2 ** attempt, 10)
                    time.sleep(wait)
                    continue
                raise RuntimeError(f"{method} {path}: HTTP {e.code}: {detail}") from None
            except (urllib.error.URLError, TimeoutError, ConnectionError) as e:
                if attempt < retries:
                    time.sleep(min(2 ** attempt, 10))
                    continue
                raise RuntimeError(f"{method} {path}: {e}") from None
        raise AssertionError("unreachable")


# The queue must stay empty this long before tags are read (a file being
# tagged when a tag it proposed was admitted is queued again once stored).
SETTLE_SECONDS = 2.0

def progress(msg: str) -> None:
    print(f"\r\x1b[K{msg}" if sys.stderr.isatty() else msg, end="" if sys.stderr.isatty() else "\n",
          file=sys.stderr, flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base-url", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--corpus", required=True, type=Path, help="folder written by build_corpus.py")
    ap.add_argument("--mode", required=True, help="name of the tagging mode, for the report")
    ap.add_argument("--out", type=Path, help="write the JSON report here")
    ap.add_argument("--timeout", type=float, default=1800,
                    help="seconds to wait for all files to be tagged (default 1800)")
    ap.add_argument("--poll", type=float, default=0.5, help="seconds between polling rounds")
    ap.add_argument("--limit", type=int, default=0, help="only the first N documents (0: all)")
    ap.add_argument("--delete", action="store_true",
                    help="delete the uploaded files at the end (after the vocabulary is read)")
    args = ap.parse_args()

    labels: dict[str, list[str]] = json.loads((args.corpus / "labels.json").read_text("utf-8"))
    synonyms: dict[str, list[str]] = json.loads((args.corpus / "synonyms.json").read_text("utf-8"))
    manifest = json.loads((args.corpus / "manifest.json").read_text("utf-8"))
    names = sorted(labels)
    if args.limit:
        names = names[: args.limit]
        labels = {n: labels[n] for n in names}
    api = Api(args.base_url, args.token)

    # Upload.
    ids: dict[str, str] = {}
    upload_errors: dict[str, str] = {}
    t0, started = time.monotonic(), time.gmtime()
    for i, name in enumerate(names, 1):
        body = (args.corpus / "docs" / name).read_bytes()
        try:
            rec = api.call("POST", "/api/v1/files?name=" + urllib.parse.quote(name, safe=""),
                           body, "text/plain; charset=utf-8")
            ids[name] = rec["id"]
        except RuntimeError as e:
            upload_errors[name] = str(e)
        progress(f"[{args.mode}] uploaded {i}/{len(names)}")
    t_uploaded = time.monotonic()

    # Poll until every file is done or failed.
    records: dict[str, dict] = {}
    waiting = dict(ids)
    deadline = t0 + args.timeout
    last_terminal = t_uploaded
    while waiting and time.monotonic() < deadline:
        for name, fid in list(waiting.items()):
            try:
                rec = api.call("GET", f"/api/v1/files/{fid}")
            except RuntimeError as e:
                progress(f"[{args.mode}] {name}: {e}")
                continue
            if rec.get("status") in TERMINAL:
                records[name] = rec
                del waiting[name]
                last_terminal = time.monotonic()
        failed = sum(1 for r in records.values() if r["status"] == "failed")
        progress(f"[{args.mode}] tagged {len(records)}/{len(ids)} ({failed} failed), "
                 f"{time.monotonic() - t0:.1f}s")
        if waiting:
            time.sleep(args.poll)
    # A tag that joins the vocabulary queues the files that proposed it
    # again: wait until the queue stays empty, then read every file's final
    # tags (a record read when it was first done may lack them).
    empty_since = None
    while time.monotonic() < deadline:
        try:
            q = api.call("GET", "/api/v1/queue")
            left = int(q.get("pending", 0)) + int(q.get("in_flight", 0))
        except RuntimeError as e:
            progress(f"[{args.mode}] queue: {e}")
            left = -1
        if left == 0:
            empty_since = empty_since or time.monotonic()
            if time.monotonic() - empty_since >= SETTLE_SECONDS:
                break
        else:
            empty_since = None
            last_terminal = time.monotonic()
        time.sleep(args.poll)
    for name, fid in ids.items():
        if name in records:
            try:
                records[name] = api.call("GET", f"/api/v1/files/{fid}")
            except RuntimeError as e:
                progress(f"[{args.mode}] {name}: {e}")
    if sys.stderr.isatty():
        print(file=sys.stderr)
    elapsed = last_terminal - t0

    # Score.
    predictions: dict[str, list[str]] = {}
    for name in names:
        rec = records.get(name)
        predictions[name] = scoring.predicted_tags(rec) if rec and rec["status"] == "done" else []
    scores = scoring.score_files(predictions, labels, synonyms)
    texts = {n: (args.corpus / "docs" / n).read_text("utf-8", errors="replace") for n in names}
    base = scoring.score_files(baseline.top_keywords(texts), labels, synonyms)
    done = [n for n in names if n in records and records[n]["status"] == "done"]
    failed = {n: records[n].get("status_reason") for n in names
              if n in records and records[n]["status"] == "failed"}
    timed_out = sorted(waiting)

    # Vocabulary: the server's, less tags this run only saw as metadata/user tags.
    seen_as: dict[str, set[str]] = {}
    run_vocab: dict[str, int] = {}
    for rec in records.values():
        for t in rec.get("tags") or []:
            seen_as.setdefault(t["name"], set()).add(t.get("source", ""))
        for t in scoring.predicted_tags(rec):
            run_vocab[t] = run_vocab.get(t, 0) + 1
    not_tagger = {n for n, s in seen_as.items() if s <= scoring.IGNORED_SOURCES}
    server_vocab: dict[str, int] | None
    try:
        items = api.call("GET", "/api/v1/tags?limit=10000")["items"]
        server_vocab = {it["name"]: int(it["count"]) for it in items if it["name"] not in not_tagger}
    except (RuntimeError, KeyError, TypeError) as e:
        progress(f"[{args.mode}] GET /api/v1/tags: {e}; using this run's tags")
        server_vocab = None
    vocab_stats = scoring.vocabulary_stats(server_vocab if server_vocab is not None else run_vocab)
    run_vocab_stats = scoring.vocabulary_stats(run_vocab)

    # Per group (chapter / language) recall and precision.
    group_of = {d["file"]: d["group"] for d in manifest.get("documents", [])}
    lang_of = {d["file"]: d["lang"] for d in manifest.get("documents", [])}
    breakdown: dict[str, dict] = {}
    for key, of in (("by_group", group_of), ("by_lang", lang_of)):
        parts: dict[str, list[str]] = {}
        for n in names:
            parts.setdefault(of.get(n, "?"), []).append(n)
        breakdown[key] = {}
        for g, files in sorted(parts.items()):
            s = scoring.score_files({f: predictions[f] for f in files},
                                    {f: labels[f] for f in files}, synonyms)
            breakdown[key][g] = {k: round(s[k], 4) for k in ("precision", "recall", "f1")} | {
                "files": len(files)}

    report = {
        "mode": args.mode,
        "base_url": args.base_url,
        "corpus": {
            "path": str(args.corpus),
            "corpus_sha256": manifest.get("corpus_sha256"),
            "python": manifest.get("python", {}).get("version"),
            "documents": len(names),
        },
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", started),
        "precision": scores["precision"],
        "recall": scores["recall"],
        "f1": scores["f1"],
        "macro_f1": scores["macro_f1"],
        "baseline": {"method": f"TF-IDF top {baseline.TOP_K}",
                     **{k: base[k] for k in ("precision", "recall", "f1", "macro_f1")}},
        "f1_vs_baseline": scores["f1"] / base["f1"] if base["f1"] else 0.0,
        "tags_per_file": (sum(len(predictions[n]) for n in done) / len(done)) if done else 0.0,
        "files": len(names),
        "files_done": len(done),
        "files_failed": len(failed) + len(upload_errors) + len(timed_out),
        "failed": failed,
        "upload_errors": upload_errors,
        "timed_out": timed_out,
        "seconds": round(elapsed, 2),
        "upload_seconds": round(t_uploaded - t0, 2),
        "files_per_s": (len(records) / elapsed) if elapsed > 0 else 0.0,
        "vocab_source": "GET /api/v1/tags" if server_vocab is not None else "this run's files",
        "vocab": vocab_stats["vocab"],
        "vocab_per_file": vocab_stats["vocab"] / len(names) if names else 0.0,
        "late_vocab_per_file": scoring.late_vocabulary_rate(
            [predictions.get(n, []) for n in names]),
        "dup_rate": vocab_stats["dup_rate"],
        "one_file_share": vocab_stats["one_file_share"],
        "junk": vocab_stats["junk"],
        "vocabulary": vocab_stats,
        "run_vocabulary": run_vocab_stats,
        "score_detail": {k: scores[k] for k in ("predicted_tags", "matching_tags", "labels", "labels_hit")},
        "per_label": scores["per_label"],
        **breakdown,
        "per_file": scores["per_file"],
    }

    if args.delete:
        for fid in ids.values():
            try:
                api.call("DELETE", f"/api/v1/files/{fid}")
            except RuntimeError as e:
                progress(f"[{args.mode}] delete {fid}: {e}")

    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print("| " + " | ".join(COLUMNS) + " |")
    print("|" + "---|" * len(COLUMNS))
    print(markdown_row(report))
    return 0 if not timed_out else 1


if __name__ == "__main__":
    sys.exit(main())
