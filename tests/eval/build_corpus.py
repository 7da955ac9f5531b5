#!/usr/bin/env python3
"""Builds the labelled corpus of the tagging evaluation.

    python3 tests/eval/build_corpus.py OUTDIR [--per-chapter 5] [--no-zh] [--debian N]

Writes OUTDIR/docs/*.txt, OUTDIR/labels.json ({"file.txt": [label, ...]}),
OUTDIR/synonyms.json ({label: [synonym, ...]}) and OUTDIR/manifest.json.

Sources (nothing is downloaded; see README.md):

* English: the standard library of the Python interpreter running this
  script. One document per module: its docstring and the docstrings of its
  public functions and classes. A module is labelled by the chapter of the
  Python Library Reference (https://docs.python.org/3.11/library/index.html)
  that documents it. For each chapter below the modules are listed in the
  chapter's table-of-contents order and the first --per-chapter of them that
  import and give at least MIN_DOC_CHARS of text are taken; no module was
  chosen by hand for how it scores. Modules deprecated by PEP 594 are left
  out (their chapter moved between 3.11 and 3.12).
* Chinese: the Simplified Chinese (zh_CN) manual pages installed under
  /usr/share/man/zh_CN, labelled by the upstream project of the Debian
  package that owns the page (dpkg's file lists), when they are there. Pages
  left mostly untranslated (under ZH_MIN_CJK_SHARE of CJK letters) are
  skipped.
* Debian (--debian N, off by default): the long descriptions of installed
  Debian packages (dpkg's status file), short English software
  descriptions, one per source package, labelled by the package's archive
  section. They make the corpus large enough to measure how the vocabulary
  grows (`make eval-scale`).

Same interpreter version and same installed packages give the same bytes;
manifest.json records sys.version, package versions and a hash per document.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import importlib
import inspect
import json
import os
import re
import sys
import warnings
from pathlib import Path

MIN_DOC_CHARS = 400
MAX_MODULE_DOC = 3000
MAX_MEMBER_DOC = 800
MAX_DOC_CHARS = 6000

# Label -> synonyms. A synonym is another written form of the label
# (abbreviation, inflection, translation, or a term the chapter's own
# introduction uses for it); see README.md "Matching". Written once, from the
# chapter titles and introductions, not tuned to tagger output.
SYNONYMS: dict[str, list[str]] = {
    "text processing": ["string processing"],
    "string": [],
    "data type": ["datatype"],
    "data structure": ["container"],
    "mathematics": ["math", "maths", "mathematical", "arithmetic"],
    "numeric": ["number", "numerical"],
    "file": ["filesystem", "file system"],
    "directory": ["folder"],
    "persistence": ["persistent", "storage", "database"],
    "serialization": ["serialisation", "serialize", "serializing", "pickling", "marshalling"],
    "compression": ["compress", "compressed", "decompression", "decompress"],
    "archive": ["archiving", "archiver"],
    "file format": ["fileformat"],
    "parsing": ["parser", "parse"],
    "cryptography": ["crypto", "cryptographic", "encryption"],
    "hashing": ["hash", "digest", "message digest"],
    "operating system": ["os"],
    "concurrency": ["concurrent", "thread", "threading", "multithreading"],
    "parallelism": ["parallel", "multiprocessing"],
    "networking": ["network", "socket"],
    "interprocess communication": ["ipc", "inter-process communication"],
    "internet": ["web"],
    "data format": ["encoding", "data encoding"],
    "markup": ["markup language", "html", "xml", "sgml"],
    "internet protocol": ["protocol", "http", "url", "web"],
    "development tool": ["developer tool", "development"],
    "testing": ["test", "unit test", "unittest"],
    "debugging": ["debug", "debugger"],
    "profiling": ["profiler", "profile"],
    "unix": ["posix", "linux"],
    # Debian package descriptions, labelled by the archive section (the
    # section titles of packages.debian.org).
    "system administration": ["administration", "admin", "sysadmin"],
    "library": ["libraries", "shared library", "lib"],
    "perl": ["perl module"],
    "python": ["python3", "python module"],
    "java": ["jvm"],
    "utility": ["utilities", "tool", "command-line tool"],
    "web software": ["web", "www"],
    "x window system": ["x11", "xorg", "x server"],
    "interpreter": ["interpreted language", "scripting language"],
    "font": ["fonts", "typeface"],
    "editor": ["text editor"],
    "shell": ["command shell", "command interpreter"],
    "gobject introspection": ["introspection", "gir", "gobject"],
    "go": ["golang"],
    "graphics": ["image", "imaging"],
    "audio": ["sound"],
    "database": ["sql"],
    "email": ["mail", "e-mail"],
    "web server": ["http server", "httpd"],
    "version control": ["vcs", "git"],
    "kernel": ["linux kernel"],
    "video": ["movie"],
    "science": ["scientific"],
    # Chinese documents (labels in English; Chinese forms as synonyms).
    "user account": ["用户", "账户", "帐户", "账号", "帐号", "用户账户"],
    "password": ["passwd", "密码", "口令"],
    "manual page": ["man page", "manpage", "man", "手册页", "手册", "帮助页"],
    "documentation": ["doc", "文档"],
}

# Library Reference chapters of Python 3.11: (chapter file, title, labels,
# modules in table-of-contents order).
CHAPTERS: list[tuple[str, str, list[str], list[str]]] = [
    ("strings", "Text Processing Services", ["text processing", "string"],
     ["string", "re", "difflib", "textwrap", "unicodedata", "stringprep", "readline", "rlcompleter"]),
    ("datatypes", "Data Types", ["data type", "data structure"],
     ["datetime", "zoneinfo", "calendar", "collections", "collections.abc", "heapq", "bisect",
      "array", "weakref", "types", "copy", "pprint", "reprlib", "enum", "graphlib"]),
    ("numeric", "Numeric and Mathematical Modules", ["mathematics", "numeric"],
     ["numbers", "math", "cmath", "decimal", "fractions", "random", "statistics"]),
    ("filesys", "File and Directory Access", ["file", "directory"],
     ["pathlib", "os.path", "fileinput", "stat", "filecmp", "tempfile", "glob", "fnmatch",
      "linecache", "shutil"]),
    ("persistence", "Data Persistence", ["persistence", "serialization"],
     ["pickle", "copyreg", "shelve", "marshal", "dbm", "sqlite3"]),
    ("archiving", "Data Compression and Archiving", ["compression", "archive"],
     ["zlib", "gzip", "bz2", "lzma", "zipfile", "tarfile"]),
    ("fileformats", "File Formats", ["file format", "parsing"],
     ["csv", "configparser", "tomllib", "netrc", "plistlib"]),
    ("crypto", "Cryptographic Services", ["cryptography", "hashing"],
     ["hashlib", "hmac", "secrets"]),
    ("allos", "Generic Operating System Services", ["operating system"],
     ["os", "io", "time", "argparse", "getopt", "logging", "logging.config", "logging.handlers",
      "getpass", "curses", "curses.textpad", "curses.ascii", "curses.panel", "platform",
      "errno", "ctypes"]),
    ("concurrency", "Concurrent Execution", ["concurrency", "parallelism"],
     ["threading", "multiprocessing", "multiprocessing.shared_memory", "concurrent.futures",
      "subprocess", "sched", "queue", "contextvars", "_thread"]),
    ("ipc", "Networking and Interprocess Communication", ["networking", "interprocess communication"],
     ["asyncio", "socket", "ssl", "select", "selectors", "signal", "mmap"]),
    ("netdata", "Internet Data Handling", ["internet", "data format"],
     ["email", "json", "mailbox", "mimetypes", "base64", "binascii", "quopri"]),
    ("markup", "Structured Markup Processing Tools", ["markup"],
     ["html", "html.parser", "html.entities", "xml.etree.ElementTree", "xml.dom",
      "xml.dom.minidom", "xml.dom.pulldom", "xml.sax", "xml.sax.handler", "xml.sax.saxutils",
      "xml.sax.xmlreader", "xml.parsers.expat"]),
    ("internet", "Internet Protocols and Support", ["networking", "internet protocol"],
     ["webbrowser", "wsgiref", "urllib", "urllib.request", "urllib.response", "urllib.parse",
      "urllib.error", "urllib.robotparser", "http", "http.client", "ftplib", "poplib",
      "imaplib", "smtplib", "uuid", "socketserver", "http.server", "http.cookies",
      "http.cookiejar", "xmlrpc.client", "xmlrpc.server", "ipaddress"]),
    ("development", "Development Tools", ["development tool", "testing"],
     ["typing", "pydoc", "doctest", "unittest", "unittest.mock"]),
    ("debug", "Debugging and Profiling", ["debugging", "profiling"],
     ["bdb", "faulthandler", "pdb", "profile", "cProfile", "pstats", "timeit", "trace",
      "tracemalloc"]),
    ("unix", "Unix Specific Services", ["unix"],
     ["posix", "pwd", "grp", "termios", "tty", "pty", "fcntl", "resource", "syslog"]),
]

# Chinese manual pages: upstream project of the owning Debian package ->
# (group, labels). shadow: "programs for managing user and group accounts"
# and passwords; man-db: "the standard Unix documentation system" (manual
# pages). Both from the projects' own descriptions.
ZH_MAN_DIR = Path("/usr/share/man/zh_CN")
ZH_PACKAGES: dict[str, tuple[str, list[str]]] = {
    "passwd": ("shadow", ["user account", "password"]),
    "login": ("shadow", ["user account", "password"]),
    "man-db": ("man-db", ["manual page", "documentation"]),
}
# Debian archive sections (packages.debian.org/bookworm/) -> labels. A
# package in a section not listed here (misc, oldlibs, ...) is skipped: its
# section says nothing about its subject.
DEBIAN_SECTIONS: dict[str, list[str]] = {
    "admin": ["system administration"],
    "database": ["database"],
    "devel": ["development tool"],
    "doc": ["documentation"],
    "editors": ["editor"],
    "fonts": ["font"],
    "golang": ["go"],
    "graphics": ["graphics"],
    "httpd": ["web server"],
    "interpreters": ["interpreter"],
    "introspection": ["gobject introspection"],
    "java": ["java"],
    "kernel": ["kernel"],
    "libdevel": ["library", "development tool"],
    "libs": ["library"],
    "mail": ["email"],
    "math": ["mathematics"],
    "net": ["networking"],
    "perl": ["perl"],
    "python": ["python"],
    "science": ["science"],
    "shells": ["shell"],
    "sound": ["audio"],
    "text": ["text processing"],
    "utils": ["utility"],
    "vcs": ["version control"],
    "video": ["video"],
    "web": ["web software"],
    "x11": ["x window system"],
}
DPKG_STATUS = Path("/var/lib/dpkg/status")
# Long descriptions shorter than this say little more than the package name.
DEBIAN_MIN_DESCRIPTION = 200

# A page counts as Chinese if at least this share of its letters are CJK
# (some translations leave paragraphs in English).
ZH_MIN_CJK_SHARE = 0.2
ZH_MIN_DOC_CHARS = 200


def clean(text: str) -> str:
    """Normalizes a docstring: no memory addresses, no trailing spaces."""
    text = re.sub(r" at 0x[0-9a-fA-F]+", "", text)
    lines = [l.rstrip() for l in text.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines))


def clip(text: str, limit: int) -> str:
    """Cuts text to at most `limit` characters at a paragraph, else a word, end."""
    if len(text) <= limit:
        return text
    cut = text.rfind("\n\n", 0, limit)
    if cut < limit // 2:
        cut = text.rfind(" ", 0, limit)
    return text[: cut if cut > 0 else limit].rstrip()


def public_members(mod) -> list[tuple[str, object]]:
    names = getattr(mod, "__all__", None)
    if names is None:
        names = sorted(n for n in dir(mod) if not n.startswith("_"))
        own = mod.__name__
        base = own.rsplit(".", 1)[-1]
        keep = []
        for n in names:
            obj = getattr(mod, n, None)
            where = getattr(obj, "__module__", None)
            # Defined here, or in its C accelerator (_pickle for pickle, ...).
            if where in (own, "_" + base, "_" + own) or (where is None and inspect.isbuiltin(obj)):
                keep.append(n)
        names = keep
    out = []
    for n in names:
        obj = getattr(mod, n, None)
        if inspect.isclass(obj) or inspect.isroutine(obj):
            out.append((n, obj))
    return out


def module_document(modname: str) -> str | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            mod = importlib.import_module(modname)
        except Exception:  # noqa: BLE001 - not built into this interpreter
            return None
    parts = []
    head = mod.__doc__
    if head:
        parts.append(clip(clean(head), MAX_MODULE_DOC))
    size = sum(len(p) for p in parts)
    for name, obj in public_members(mod):
        doc = obj.__doc__ if isinstance(getattr(obj, "__doc__", None), str) else None
        if not doc or not doc.strip():
            continue
        block = f"{modname}.{name}\n" + "\n".join(
            "    " + l if l else "" for l in clip(clean(inspect.cleandoc(doc)), MAX_MEMBER_DOC).splitlines()
        )
        if size + len(block) + 2 > MAX_DOC_CHARS:
            break
        parts.append(block)
        size += len(block) + 2
    text = "\n\n".join(parts).strip()
    return text + "\n" if len(text) >= MIN_DOC_CHARS else None


# --- roff (man page) to plain text -----------------------------------------

_ROFF_ESCAPES = [
    (re.compile(r"\\f(\[[^\]]*\]|\(..|.)"), ""),  # font changes
    (re.compile(r"\\s[+-]?\d+"), ""),  # size changes
    (re.compile(r"\\\*(\[[^\]]*\]|\(..|.)"), ""),  # string registers (\*(Aq ...)
    (re.compile(r"\\\((aq|cq)"), "'"),
    (re.compile(r"\\\((dq|lq|rq)"), '"'),
    (re.compile(r"\\\((em|en|hy)"), "-"),
    (re.compile(r"\\\(bu"), "*"),
    (re.compile(r"\\\(.."), ""),
    (re.compile(r"\\[&|^%/,]"), ""),
    (re.compile(r"\\[-]"), "-"),
    (re.compile(r"\\[ ~0]"), " "),
    (re.compile(r"\\[hvwlLoDxZbN]'[^']*'"), ""),  # motions, widths, lines
    (re.compile(r"\\[nk](\[[^\]]*\]|\(..|.)"), ""),
    (re.compile(r"\\e"), "\\"),
    (re.compile(r"\\c"), ""),
]


def roff_to_text(src: str) -> str:
    out: list[str] = []
    in_macro_def = False
    for line in src.splitlines():
        if in_macro_def:
            in_macro_def = line.strip() != ".."
            continue
        if line.startswith(("'\\\"", ".\\\"", "\\\"")):
            continue
        if line.startswith((".", "'")):
            m = re.match(r"[.'](\S+)\s*(.*)", line)
            if not m:
                continue
            req, arg = m.group(1), m.group(2)
            if req in ("de", "de1", "am"):
                in_macro_def = True
            elif req in ("SH", "SS"):
                out.extend(["", arg.replace('"', "").strip()])
            elif req in ("B", "I", "BR", "IR", "RB", "RI", "BI", "IB", "SM", "SB"):
                out.append(" ".join(a or b for a, b in re.findall(r'"([^"]*)"|(\S+)', arg)))
            elif req in ("PP", "P", "LP", "sp", "TP", "IP", "HP"):
                out.append("")
                if req == "IP" and arg:
                    first = re.findall(r'"([^"]*)"|(\S+)', arg)
                    if first:
                        a, b = first[0]
                        out.append(a or b)
            # Everything else (TH, RS, RE, nf, fi, ie, el, ds, ...) says
            # nothing a reader sees as words.
            continue
        out.append(line)
    text = "\n".join(out)
    for pat, rep in _ROFF_ESCAPES:
        text = pat.sub(lambda _m, r=rep: r, text)
    text = text.replace("\\\\", "\\")
    lines = [l.rstrip() for l in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"


def cjk_share(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return 0.0
    cjk = sum(1 for c in letters if "\u4e00" <= c <= "\u9fff")
    return cjk / len(letters)


def dpkg_owners() -> dict[str, str]:
    owners: dict[str, str] = {}
    info = Path("/var/lib/dpkg/info")
    if not info.is_dir():
        return owners
    for lst in sorted(info.glob("*.list")):
        pkg = lst.name[: -len(".list")].split(":")[0]
        try:
            for path in lst.read_text(errors="replace").splitlines():
                if path.startswith(str(ZH_MAN_DIR)):
                    owners[path] = pkg
        except OSError:
            continue
    return owners


def dpkg_versions(pkgs: set[str]) -> dict[str, str]:
    versions: dict[str, str] = {}
    status = Path("/var/lib/dpkg/status")
    if not status.is_file():
        return versions
    for para in status.read_text(errors="replace").split("\n\n"):
        fields = dict(
            l.split(": ", 1) for l in para.splitlines() if ": " in l and not l.startswith(" ")
        )
        if fields.get("Package") in pkgs and "installed" in fields.get("Status", ""):
            versions[fields["Package"]] = fields.get("Version", "")
    return versions


def chinese_documents() -> tuple[list[dict], list[dict], dict[str, str]]:
    docs, skipped = [], []
    if not ZH_MAN_DIR.is_dir():
        return docs, [{"source": str(ZH_MAN_DIR), "why": "not present"}], {}
    owners = dpkg_owners()
    for page in sorted(ZH_MAN_DIR.glob("man*/*.gz")):
        pkg = owners.get(str(page))
        if pkg not in ZH_PACKAGES:
            skipped.append({"source": str(page), "why": f"owner package {pkg!r} has no label"})
            continue
        text = roff_to_text(gzip.decompress(page.read_bytes()).decode("utf-8", "replace"))
        share = cjk_share(text)
        if len(text) < ZH_MIN_DOC_CHARS:
            skipped.append({"source": str(page), "why": f"under {ZH_MIN_DOC_CHARS} characters"})
            continue
        if share < ZH_MIN_CJK_SHARE:
            skipped.append({"source": str(page), "why": f"CJK share {share:.2f} < {ZH_MIN_CJK_SHARE}"})
            continue
        group, labels = ZH_PACKAGES[pkg]
        docs.append({
            "file": f"zh_CN-{page.name[:-len('.gz')]}.txt",
            "source": str(page),
            "package": pkg,
            "group": f"zh_CN man: {group}",
            "lang": "zh",
            "labels": labels,
            "cjk_share": round(share, 3),
            "text": text,
        })
    return docs, skipped, dpkg_versions({d["package"] for d in docs})


def python_documents(per_chapter: int) -> tuple[list[dict], list[dict]]:
    docs, skipped = [], []
    for chapter_file, title, labels, modules in CHAPTERS:
        taken = 0
        for modname in modules:
            if taken >= per_chapter:
                break
            text = module_document(modname)
            if text is None:
                skipped.append({"source": f"python:{modname}",
                                "why": "not importable or under MIN_DOC_CHARS of docstrings"})
                continue
            docs.append({
                "file": f"{modname}.txt",
                "source": f"python:{modname}",
                "group": title,
                "chapter": f"Doc/library/{chapter_file}.rst",
                "lang": "en",
                "labels": labels,
                "text": text,
            })
            taken += 1
    return docs, skipped


def dpkg_packages(status_text: str) -> list[dict[str, str]]:
    """The paragraphs of a dpkg status file, each a field -> value dict; a
    continuation line (leading space) is kept on its field, after a newline."""
    out = []
    for para in status_text.split("\n\n"):
        fields: dict[str, str] = {}
        key = None
        for line in para.splitlines():
            if line.startswith((" ", "\t")) and key:
                fields[key] += "\n" + line[1:]
            elif ":" in line:
                key, _, value = line.partition(":")
                fields[key] = value.strip()
        if "Package" in fields:
            out.append(fields)
    return out


def debian_document(fields: dict[str, str]) -> str | None:
    """`name - short description`, then the long description as paragraphs
    (a " ." line is a paragraph break in control files); None when the long
    description is under DEBIAN_MIN_DESCRIPTION characters."""
    short, _, long = fields.get("Description", "").partition("\n")
    paragraphs, current = [], []
    for line in long.splitlines():
        if line.strip() == ".":
            paragraphs.append(" ".join(current))
            current = []
        else:
            current.append(line.strip())
    paragraphs.append(" ".join(current))
    body = "\n\n".join(p for p in paragraphs if p)
    if len(body) < DEBIAN_MIN_DESCRIPTION:
        return None
    return f"{fields['Package']} - {short.strip()}\n\n{body}\n"


def debian_documents(limit: int, status_text: str) -> tuple[list[dict], list[dict]]:
    """Up to `limit` descriptions of installed Debian packages, in package
    name order, one per source package (a library, its -dev and its -doc
    share one description), labelled by the package's archive section."""
    docs, skipped, sources = [], [], set()
    packages = sorted(dpkg_packages(status_text), key=lambda f: f["Package"])
    for fields in packages:
        if len(docs) >= limit:
            break
        name = fields["Package"]
        if "installed" not in fields.get("Status", "installed"):
            continue
        source = fields.get("Source", name).split()[0]
        if source in sources:
            continue
        # Sections may carry an archive area: "contrib/net".
        section = fields.get("Section", "").rsplit("/", 1)[-1]
        labels = DEBIAN_SECTIONS.get(section)
        if labels is None:
            skipped.append({"source": f"debian:{name}", "why": f"section {section!r} has no label"})
            continue
        text = debian_document(fields)
        if text is None:
            skipped.append({"source": f"debian:{name}",
                            "why": f"description under {DEBIAN_MIN_DESCRIPTION} characters"})
            continue
        sources.add(source)
        docs.append({
            "file": f"debian-{name}.txt",
            "source": f"debian:{name}",
            "package": name,
            "version": fields.get("Version", ""),
            "group": f"debian: {section}",
            "lang": "en",
            "labels": labels,
            "text": text,
        })
    return docs, skipped


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("outdir", type=Path)
    ap.add_argument("--per-chapter", type=int, default=5,
                    help="modules taken per Library Reference chapter (default 5)")
    ap.add_argument("--no-zh", action="store_true", help="leave the Chinese manual pages out")
    ap.add_argument("--debian", type=int, default=0, metavar="N",
                    help="add up to N descriptions of installed Debian packages (default 0)")
    args = ap.parse_args()

    if sys.flags.optimize >= 2:
        print("docstrings are stripped under -OO; run without it", file=sys.stderr)
        return 2
    for s in SYNONYMS.values():
        assert len(set(s)) == len(s)
    for _, _, labels, _ in CHAPTERS:
        assert all(l in SYNONYMS for l in labels), labels
    for _, labels in ZH_PACKAGES.values():
        assert all(l in SYNONYMS for l in labels), labels
    for labels in DEBIAN_SECTIONS.values():
        assert all(l in SYNONYMS for l in labels), labels

    docs, skipped = python_documents(args.per_chapter)
    pkg_versions: dict[str, str] = {}
    if not args.no_zh:
        zh, zh_skipped, pkg_versions = chinese_documents()
        docs += zh
        skipped += zh_skipped

    if args.debian > 0:
        status = DPKG_STATUS.read_text(errors="replace") if DPKG_STATUS.is_file() else ""
        deb, deb_skipped = debian_documents(args.debian, status)
        docs += deb
        skipped += deb_skipped
        if len(deb) < args.debian:
            print(f"only {len(deb)} Debian package descriptions qualify (asked for {args.debian})",
                  file=sys.stderr)

    docs_dir = args.outdir / "docs"
    docs_dir.mkdir(parents=True, exist_ok=True)
    for old in docs_dir.glob("*.txt"):
        old.unlink()
    labels, entries, by_group = {}, [], {}
    corpus_hash = hashlib.sha256()
    for d in sorted(docs, key=lambda d: d["file"]):
        data = d["text"].encode("utf-8")
        (docs_dir / d["file"]).write_bytes(data)
        digest = hashlib.sha256(data).hexdigest()
        corpus_hash.update(f"{d['file']} {digest}\n".encode())
        labels[d["file"]] = d["labels"]
        by_group[d["group"]] = by_group.get(d["group"], 0) + 1
        entry = {k: v for k, v in d.items() if k != "text"}
        entry.update(bytes=len(data), sha256=digest)
        entries.append(entry)

    used = sorted({l for ls in labels.values() for l in ls})
    manifest = {
        "generator": "tests/eval/build_corpus.py",
        "source": {
            "en": "docstrings of the Python standard library of the interpreter below, "
                  "labelled by Python 3.11 Library Reference chapter",
            "zh": "zh_CN manual pages under /usr/share/man/zh_CN, labelled by the "
                  "upstream project of the owning Debian package",
            "debian": "long descriptions of installed Debian packages (dpkg status), one per "
                      "source package, labelled by archive section",
        },
        "python": {
            "version": sys.version,
            "version_info": list(sys.version_info[:3]),
            "implementation": sys.implementation.name,
        },
        "debian_packages": pkg_versions,
        "parameters": {
            "per_chapter": args.per_chapter,
            "debian": args.debian,
            "debian_min_description": DEBIAN_MIN_DESCRIPTION,
            "min_doc_chars": MIN_DOC_CHARS,
            "max_doc_chars": MAX_DOC_CHARS,
            "zh": not args.no_zh,
            "zh_min_cjk_share": ZH_MIN_CJK_SHARE,
            "zh_min_doc_chars": ZH_MIN_DOC_CHARS,
        },
        "counts": {
            "documents": len(entries),
            "en": sum(1 for e in entries if e["lang"] == "en"),
            "zh": sum(1 for e in entries if e["lang"] == "zh"),
            "labels": len(used),
            "by_group": dict(sorted(by_group.items())),
            "bytes": sum(e["bytes"] for e in entries),
        },
        "corpus_sha256": corpus_hash.hexdigest(),
        "documents": entries,
        "skipped": skipped,
    }

    def dump(name: str, obj) -> None:
        (args.outdir / name).write_text(
            json.dumps(obj, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")

    dump("labels.json", labels)
    dump("synonyms.json", {l: SYNONYMS[l] for l in used})
    dump("manifest.json", manifest)
    c = manifest["counts"]
    print(f"{c['documents']} documents ({c['en']} en, {c['zh']} zh), {c['labels']} labels, "
          f"{c['bytes']} bytes -> {args.outdir}  corpus_sha256={manifest['corpus_sha256'][:16]}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
