"""The reference every tagging mode is measured against: plain TF-IDF, the
top five keywords of each document.

Deliberately simple and fixed, so that a ratio against it means the same
run after run: words are runs of letters (Latin words of three letters or
more, lower-cased, plural endings stripped as the scoring does; a run of CJK
characters gives its character bigrams, as there is no segmenter in the
standard library), less a short English stop-word list. A word's weight in
a document is its count times log(N / df) over the documents scored.
"""

from __future__ import annotations

import math
import re
import unicodedata

import scoring

TOP_K = 5

STOP_WORDS = frozenset(
    """a about above after again against all also an and any are as at be because been
    before being below between both but by can could did do does doing down during each
    few for from further had has have having he her here hers him his how if in into is
    it its itself just may might more most must no nor not now of off on once only or
    other our out over own same shall she should so some such than that the their them
    then there these they this those through to too under until up use used uses using
    very was we were what when where which while who whom why will with would you your
    one two new see also none true false default return returns value values
    """.split()
)

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


def terms(text: str) -> list[str]:
    """The document's terms, in order, repeats kept."""
    text = unicodedata.normalize("NFKC", text).casefold()
    out: list[str] = []
    for run in _WORD.findall(text):
        if scoring.has_cjk(run):
            chars = [c for c in run if scoring.is_cjk(c)]
            out.extend(a + b for a, b in zip(chars, chars[1:]))
        elif len(run) >= 3:
            w = scoring.singular(run)
            if w not in STOP_WORDS:
                out.append(w)
    return out


def top_keywords(docs: dict[str, str], k: int = TOP_K) -> dict[str, list[str]]:
    """name -> its k best TF-IDF terms (ties by term, so the result is stable)."""
    counted = {name: {} for name in docs}
    df: dict[str, int] = {}
    for name, text in docs.items():
        tf = counted[name]
        for t in terms(text):
            tf[t] = tf.get(t, 0) + 1
        for t in tf:
            df[t] = df.get(t, 0) + 1
    n = len(docs)
    out = {}
    for name, tf in counted.items():
        ranked = sorted(tf, key=lambda t: (-tf[t] * math.log(n / df[t]), t))
        out[name] = ranked[:k]
    return out
