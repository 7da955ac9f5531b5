"""Tag-to-label matching and the metrics of the tagging evaluation.

Standard library only. The rules are described in README.md; the unit tests
in test_eval.py pin them.
"""

from __future__ import annotations

import re
import unicodedata

# Words too general to carry a match on their own through word containment:
# a tag "data" must not count as the label "data type", nor a tag "file
# format" as the label "file" (equality still matches: tag "file" = label
# "file").
GENERIC_WORDS = frozenset(
    """
    data file python module object function class method type value service
    support tool system program code library standard interface language
    format
    """.split()
)

# Tag sources that say nothing about what the tagger understood.
IGNORED_SOURCES = frozenset({"metadata", "user"})

# A tag is "junk" (a refusal, an apology or an echo of the prompt) when it
# holds one of these words or phrases (whole words, case-insensitive) ...
JUNK_PHRASES = (
    "sorry",
    "apologize",
    "apologies",
    "as an ai",
    "language model",
    "here are",
    "here is",
    "i cannot",
    "i can't",
    "i can not",
    "unable to",
    "cannot determine",
    "not enough information",
    "no tags",
    "n a",
)
# ... or the word "tag"/"tags"/"keyword(s)" with a word that talks about the
# answer rather than the file ("suggested tags", "tag list", "relevant
# keywords"); a bare "tag" is not junk (HTML and XML have tags) ...
JUNK_META_WORDS = ("tag", "tags", "keyword", "keywords", "label", "labels")
JUNK_META_COMPANIONS = (
    "the", "following", "suggested", "relevant", "list", "possible", "some",
    "output", "json", "example", "your", "my", "generated", "file", "document",
    "content",
)
# ... or one of these substrings (CJK has no word boundaries) ...
JUNK_SUBSTRINGS = ("抱歉", "对不起", "无法", "以下是", "作为一个", "作为ai", "不能")
# ... or, in CJK, "标签"/"关键词" (tag/keyword) with one of these ...
JUNK_CJK_META = ("标签", "关键词")
JUNK_CJK_COMPANIONS = ("以下", "建议", "相关", "文件", "文档", "列表", "输出", "生成")
# ... or reads like a sentence rather than a tag.
JUNK_MAX_WORDS = 6

_JUNK_RE = re.compile(
    r"(?<![\w])(?:" + "|".join(re.escape(p) for p in JUNK_PHRASES) + r")(?![\w])"
)


def is_cjk(ch: str) -> bool:
    """Han, kana and hangul characters: scripts written without spaces."""
    o = ord(ch)
    return (
        0x3040 <= o <= 0x30FF  # kana
        or 0x3400 <= o <= 0x4DBF  # CJK extension A
        or 0x4E00 <= o <= 0x9FFF  # CJK unified ideographs
        or 0xAC00 <= o <= 0xD7AF  # hangul
        or 0xF900 <= o <= 0xFAFF  # compatibility ideographs
        or 0x20000 <= o <= 0x2FA1F  # extensions B..
    )


def has_cjk(s: str) -> bool:
    return any(is_cjk(c) for c in s)


def singular(word: str) -> str:
    """Strips a plural ending from an English word; other words are kept."""
    if not word.isascii() or len(word) <= 3 or not word.endswith("s"):
        return word
    if word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "shes", "ches", "xes", "zes")):
        return word[:-2]
    return word[:-1]


def words(s: str) -> tuple[str, ...]:
    """Normalized words of a tag or label.

    NFKC, lower case, every character other than a letter, digit, '+' or '#'
    (so hyphens, underscores, dots and other punctuation) becomes a space,
    and each word loses a plural ending. A run of CJK characters is one word
    (there are no spaces to split on).
    """
    s = unicodedata.normalize("NFKC", s).casefold()
    s = "".join(c if (c.isalnum() or c in "+#") else " " for c in s)
    return tuple(singular(w) for w in s.split())


def norm(s: str) -> str:
    """The normalized form: the normalized words joined by one space."""
    return " ".join(words(s))


def dup_key(s: str) -> tuple[str, ...]:
    """Key under which two tags count as duplicates: the sorted multiset of
    normalized words (so word order, case, punctuation, hyphens and plurals
    do not matter). CJK tags: the characters without spaces/punctuation."""
    w = words(s)
    if has_cjk(s):
        return ("".join(w),)
    return tuple(sorted(w))


def phrase_match(tag: str, candidate: str) -> bool:
    """Does a predicted tag match one written form of a label?

    1. Equal normalized forms.
    2. Latin script: the words of one are a subset of the words of the other
       (either way), provided the smaller side has at least one word that is
       not in GENERIC_WORDS.
    3. CJK: one (without spaces) is a substring of the other, the shorter at
       least two characters long.
    """
    wt, wc = words(tag), words(candidate)
    if not wt or not wc:
        return False
    if wt == wc:
        return True
    if has_cjk(tag) or has_cjk(candidate):
        a, b = "".join(wt), "".join(wc)
        short, long_ = (a, b) if len(a) <= len(b) else (b, a)
        return len(short) >= 2 and has_cjk(short) and short in long_
    st, sc = set(wt), set(wc)
    if st <= sc:
        small = st
    elif sc <= st:
        small = sc
    else:
        return False
    return any(w not in GENERIC_WORDS for w in small)


def label_match(tag: str, label: str, synonyms: dict[str, list[str]]) -> bool:
    """A tag matches a label if it matches the label or one of its declared
    synonyms (build_corpus.py)."""
    return any(phrase_match(tag, c) for c in [label, *synonyms.get(label, [])])


def is_junk(tag: str) -> bool:
    """Does a tag look like a refusal, an apology or an echo of the prompt?"""
    t = unicodedata.normalize("NFKC", tag).casefold()
    if any(s in t for s in JUNK_SUBSTRINGS):
        return True
    if any(m in t for m in JUNK_CJK_META) and any(c in t for c in JUNK_CJK_COMPANIONS):
        return True
    spaced = " ".join(re.sub(r"[^\w']+", " ", t).split())
    if _JUNK_RE.search(spaced):
        return True
    w = spaced.split()
    if any(m in w for m in JUNK_META_WORDS) and any(c in w for c in JUNK_META_COMPANIONS):
        return True
    return len(w) > JUNK_MAX_WORDS


def predicted_tags(file_record: dict) -> list[str]:
    """The tags a tagger gave a file: all but metadata and user tags, each
    name once, in the order the server lists them."""
    out: list[str] = []
    for t in file_record.get("tags") or []:
        if t.get("source") in IGNORED_SOURCES:
            continue
        name = t.get("name") or ""
        if name and name not in out:
            out.append(name)
    return out


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def score_files(
    predictions: dict[str, list[str]],
    labels: dict[str, list[str]],
    synonyms: dict[str, list[str]],
) -> dict:
    """Micro and macro scores of predicted tags against gold labels.

    predictions: file -> predicted tag names (a file that failed or timed out
    is given [] by the caller, so it costs recall). labels: file -> labels.

    Micro precision = matching tags / predicted tags, over all files.
    Micro recall = labels matched by some tag / labels, over all files.
    Micro F1 = harmonic mean of the two.
    Macro F1 = mean over the distinct labels L of F1_L, where a file is
    "predicted L" if one of its tags matches L and "is L" if L is one of its
    labels (so a tag that matches labels the file does not have is a false
    positive for those labels).
    """
    n_pred = n_pred_ok = n_lab = n_lab_ok = 0
    per_label: dict[str, list[int]] = {}  # label -> [tp, fp, fn]
    all_labels = sorted({l for ls in labels.values() for l in ls})
    for l in all_labels:
        per_label[l] = [0, 0, 0]
    per_file = {}
    for name in sorted(labels):
        gold = labels[name]
        tags = predictions.get(name, [])
        ok_tags = [t for t in tags if any(label_match(t, l, synonyms) for l in gold)]
        hit = [l for l in gold if any(label_match(t, l, synonyms) for t in tags)]
        n_pred += len(tags)
        n_pred_ok += len(ok_tags)
        n_lab += len(gold)
        n_lab_ok += len(hit)
        for l in all_labels:
            predicted = any(label_match(t, l, synonyms) for t in tags)
            actual = l in gold
            if predicted and actual:
                per_label[l][0] += 1
            elif predicted:
                per_label[l][1] += 1
            elif actual:
                per_label[l][2] += 1
        per_file[name] = {
            "labels": gold,
            "tags": tags,
            "matching_tags": ok_tags,
            "labels_hit": hit,
        }
    p = n_pred_ok / n_pred if n_pred else 0.0
    r = n_lab_ok / n_lab if n_lab else 0.0
    label_scores = {}
    for l, (tp, fp, fn) in per_label.items():
        lp = tp / (tp + fp) if tp + fp else 0.0
        lr = tp / (tp + fn) if tp + fn else 0.0
        label_scores[l] = {"tp": tp, "fp": fp, "fn": fn, "precision": lp, "recall": lr, "f1": _f1(lp, lr)}
    macro = sum(s["f1"] for s in label_scores.values()) / len(label_scores) if label_scores else 0.0
    return {
        "precision": p,
        "recall": r,
        "f1": _f1(p, r),
        "macro_f1": macro,
        "predicted_tags": n_pred,
        "matching_tags": n_pred_ok,
        "labels": n_lab,
        "labels_hit": n_lab_ok,
        "per_label": label_scores,
        "per_file": per_file,
    }


def vocabulary_stats(vocab: dict[str, int]) -> dict:
    """vocab: tag name -> number of files carrying it.

    dup_rate: share of vocabulary tags whose dup_key() equals that of at
    least one other vocabulary tag. one_file_share: share of tags on exactly
    one file. junk: tags for which is_junk() holds.
    """
    keys: dict[tuple[str, ...], list[str]] = {}
    for name in vocab:
        keys.setdefault(dup_key(name), []).append(name)
    dup_groups = sorted(sorted(g) for g in keys.values() if len(g) > 1)
    n = len(vocab)
    n_dup = sum(len(g) for g in dup_groups)
    one = sum(1 for c in vocab.values() if c == 1)
    junk = sorted(t for t in vocab if is_junk(t))
    return {
        "vocab": n,
        "dup_rate": n_dup / n if n else 0.0,
        "dup_groups": dup_groups,
        "one_file_share": one / n if n else 0.0,
        "junk": len(junk),
        "junk_tags": junk,
    }


def late_vocabulary_rate(tags_in_upload_order: list[list[str]], tail_share: float = 0.2) -> float:
    """New vocabulary per file at the end of a run: the tags whose first file
    (in upload order) is among the last `tail_share` of the files, divided by
    the number of those files. How fast the vocabulary still grows at this
    size, where vocab/file is the average over the whole run."""
    n = len(tags_in_upload_order)
    tail = max(1, round(n * tail_share)) if n else 0
    if not tail:
        return 0.0
    seen: set[str] = set()
    for tags in tags_in_upload_order[: n - tail]:
        seen.update(tags)
    new: set[str] = set()
    for tags in tags_in_upload_order[n - tail:]:
        new.update(t for t in tags if t not in seen)
    return len(new) / tail
