#!/usr/bin/env python3
"""Merges report JSONs written by run.py into one Markdown table.

    python3 tests/eval/report.py reports/*.json [> table.md]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from baseline import TOP_K

COLUMNS = ["mode", "P", "R", "F1", "F1 / TF-IDF", "macro-F1", "tags/file", "vocab",
           "vocab/file", "dup rate",
           "one-file tag share", "junk", "failed", "files/s", "new vocab/file, last fifth"]


def markdown_row(r: dict) -> str:
    cells = [
        str(r["mode"]),
        f"{r['precision']:.3f}",
        f"{r['recall']:.3f}",
        f"{r['f1']:.3f}",
        f"{r['f1_vs_baseline']:.2f}×" if "f1_vs_baseline" in r else "-",
        f"{r['macro_f1']:.3f}",
        f"{r['tags_per_file']:.2f}",
        str(r["vocab"]),
        f"{r['vocab_per_file']:.2f}" if "vocab_per_file" in r else "-",
        f"{r['dup_rate']:.3f}",
        f"{r['one_file_share']:.3f}",
        str(r["junk"]),
        f"{r['files_failed']}/{r['files']}",
        f"{r['files_per_s']:.2f}",
        f"{r['late_vocab_per_file']:.2f}" if "late_vocab_per_file" in r else "-",
    ]
    return "| " + " | ".join(cells) + " |"


def table(reports: list[dict]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += [markdown_row(r) for r in reports]
    bases = sorted({f"{r['baseline']['f1']:.3f}" for r in reports if "baseline" in r})
    if bases:
        lines.append("")
        lines.append(f"F1 / TF-IDF: each mode's F1 over that of TF-IDF top {TOP_K} keywords per "
                     f"document on the same files (F1 {', '.join(bases)}; tests/eval/baseline.py).")
    corpora = sorted({(r.get("corpus") or {}).get("corpus_sha256") or "?" for r in reports})
    if len(corpora) > 1:
        lines.append("")
        lines.append(f"**Warning:** the reports were made on {len(corpora)} different corpora "
                     "(corpus_sha256 differs); their figures are not comparable.")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip(), file=sys.stderr)
        return 0 if argv else 2
    reports = [json.loads(Path(p).read_text("utf-8")) for p in argv]
    print(table(reports))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
