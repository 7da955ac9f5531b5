"""Unit tests of the evaluation's matching, metrics and corpus builder.

    python3 -m unittest discover -s tests/eval -v
"""

from __future__ import annotations

import json
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import baseline  # noqa: E402
import build_corpus  # noqa: E402
import report  # noqa: E402
import scoring  # noqa: E402

SYN = {
    "compression": ["compress"],
    "archive": ["archiving"],
    "data type": [],
    "file": ["filesystem"],
    "password": ["密码"],
    "user account": ["用户"],
    "markup": ["html", "xml"],
}


class Normalization(unittest.TestCase):
    def test_words(self):
        self.assertEqual(scoring.words("Data-Compression"), ("data", "compression"))
        self.assertEqual(scoring.words("  File_Systems "), ("file", "system"))
        self.assertEqual(scoring.words("C++"), ("c++",))
        self.assertEqual(scoring.words("os.path"), ("os", "path"))

    def test_singular(self):
        for plural, single in [("archives", "archive"), ("libraries", "library"),
                               ("hashes", "hash"), ("processes", "process"),
                               ("process", "process"), ("status", "status"),
                               ("analysis", "analysis"), ("os", "os"), ("bus", "bus"),
                               ("matches", "match"), ("files", "file")]:
            self.assertEqual(scoring.singular(plural), single, plural)


class Matching(unittest.TestCase):
    def m(self, tag, label):
        return scoring.label_match(tag, label, SYN)

    def test_equality_after_normalization(self):
        self.assertTrue(self.m("Compression", "compression"))
        self.assertTrue(self.m("archives", "archive"))
        self.assertTrue(self.m("data-type", "data type"))
        self.assertTrue(self.m("Data Types", "data type"))
        self.assertTrue(self.m("file", "file"))

    def test_word_containment_either_way(self):
        self.assertTrue(self.m("data compression", "compression"))
        self.assertTrue(self.m("zip archive files", "archive"))
        self.assertTrue(self.m("compression", "compression"))
        # tag inside a longer label
        self.assertTrue(scoring.label_match("interprocess", "interprocess communication", {}))

    def test_generic_words_do_not_match_by_containment(self):
        self.assertFalse(self.m("data", "data type"))
        self.assertFalse(self.m("type", "data type"))
        self.assertFalse(self.m("file format", "file"))
        self.assertFalse(self.m("python module", "markup"))

    def test_synonyms(self):
        self.assertTrue(self.m("compress", "compression"))
        self.assertTrue(self.m("html parser", "markup"))
        self.assertTrue(self.m("archiving", "archive"))
        self.assertFalse(self.m("zip", "archive"))

    def test_cjk(self):
        self.assertTrue(self.m("密码", "password"))
        self.assertTrue(self.m("用户密码", "password"))  # substring either way
        self.assertTrue(self.m("用户", "user account"))
        self.assertFalse(self.m("户", "user account"))  # one character is too short
        self.assertFalse(self.m("手册", "password"))

    def test_unrelated(self):
        self.assertFalse(self.m("checksum", "compression"))
        self.assertFalse(self.m("compressor object", "archive"))


class Junk(unittest.TestCase):
    def test_refusals_and_echoes(self):
        for t in ["sorry", "I cannot determine", "as an AI", "here are the tags",
                  "suggested tags", "抱歉", "无法确定", "以下是标签", "n/a",
                  "this is a very long sentence not a tag at all"]:
            self.assertTrue(scoring.is_junk(t), t)

    def test_real_tags(self):
        for t in ["compression", "html tags", "tag", "标签", "xml", "密码", "unittest"]:
            self.assertFalse(scoring.is_junk(t), t)


class Scores(unittest.TestCase):
    def test_micro_and_macro(self):
        labels = {"a.txt": ["compression", "archive"], "b.txt": ["password"]}
        preds = {"a.txt": ["data compression", "checksum"], "b.txt": ["密码", "compressed"]}
        syn = dict(SYN, compression=["compress", "compressed"])
        s = scoring.score_files(preds, labels, syn)
        # tags: 4 predicted, 2 match a label of their file
        self.assertAlmostEqual(s["precision"], 2 / 4)
        # labels: 3, of which compression (a) and password (b) are hit
        self.assertAlmostEqual(s["recall"], 2 / 3)
        self.assertAlmostEqual(s["f1"], 2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))
        pl = s["per_label"]
        self.assertEqual((pl["compression"]["tp"], pl["compression"]["fp"], pl["compression"]["fn"]),
                         (1, 1, 0))
        self.assertEqual((pl["archive"]["tp"], pl["archive"]["fn"]), (0, 1))
        self.assertEqual(pl["password"]["f1"], 1.0)
        self.assertAlmostEqual(s["macro_f1"], (2 / 3 + 0 + 1) / 3)

    def test_failed_file_costs_recall(self):
        s = scoring.score_files({"a.txt": []}, {"a.txt": ["archive"]}, SYN)
        self.assertEqual((s["precision"], s["recall"], s["f1"]), (0.0, 0.0, 0.0))

    def test_predicted_tags_skip_metadata_and_user(self):
        rec = {"tags": [{"name": "text", "score": 1, "source": "metadata"},
                        {"name": "mine", "score": 1, "source": "user"},
                        {"name": "zlib", "score": 0.9, "source": "keyword"},
                        {"name": "zip", "score": 0.5, "source": "llm"},
                        {"name": "zlib", "score": 0.4, "source": "llm"}]}
        self.assertEqual(scoring.predicted_tags(rec), ["zlib", "zip"])


class LateVocabulary(unittest.TestCase):
    def test_only_tags_first_seen_in_the_last_fifth_count(self):
        files = [["a", "b"], ["a"], ["b", "c"], ["d"], ["a", "e", "f"]] * 2
        # Last fifth: the last 2 files, ["d"] and ["a", "e", "f"]: all seen before.
        self.assertEqual(scoring.late_vocabulary_rate(files), 0.0)
        files[-1] = ["a", "g", "h"]
        files[-2] = ["g", "i"]
        self.assertEqual(scoring.late_vocabulary_rate(files), 1.5)  # g, h, i over 2 files
        self.assertEqual(scoring.late_vocabulary_rate([]), 0.0)


class Vocabulary(unittest.TestCase):
    def test_duplicates_one_file_and_junk(self):
        vocab = {"data compression": 3, "Data-Compression": 1, "compression data": 1,
                 "archives": 2, "archive": 1, "zlib": 1, "sorry": 1, "密码": 2, "密 码": 1}
        v = scoring.vocabulary_stats(vocab)
        self.assertEqual(v["vocab"], 9)
        # 3 compression forms + 2 archive forms + 2 密码 forms are duplicates
        self.assertAlmostEqual(v["dup_rate"], 7 / 9)
        self.assertAlmostEqual(v["one_file_share"], 6 / 9)
        self.assertEqual(v["junk_tags"], ["sorry"])

    def test_empty(self):
        v = scoring.vocabulary_stats({})
        self.assertEqual((v["vocab"], v["dup_rate"], v["one_file_share"]), (0, 0.0, 0.0))


class Report(unittest.TestCase):
    def test_row(self):
        r = {"mode": "offline", "precision": 0.5, "recall": 0.25, "f1": 1 / 3, "macro_f1": 0.2,
             "tags_per_file": 8, "vocab": 10, "dup_rate": 0.1, "one_file_share": 0.5, "junk": 0,
             "files_failed": 1, "files": 97, "files_per_s": 12.345, "corpus": {"corpus_sha256": "x"}}
        row = report.markdown_row(r)
        self.assertEqual(row, "| offline | 0.500 | 0.250 | 0.333 | - | 0.200 | 8.00 | 10 | - | "
                              "0.100 | 0.500 | 0 | 1/97 | 12.35 | - |")
        r2 = dict(r, f1_vs_baseline=1.5, vocab_per_file=0.25, baseline={"f1": 0.2})
        self.assertIn("| 0.333 | 1.50× | 0.200 | 8.00 | 10 | 0.25 |", report.markdown_row(r2))
        self.assertIn("F1 0.200", report.table([r2]))
        self.assertEqual(len(row.split("|")) - 2, len(report.COLUMNS))
        self.assertNotIn("Warning", report.table([r, dict(r, mode="llm")]))
        other = dict(r, corpus={"corpus_sha256": "y"})
        self.assertIn("Warning", report.table([r, other]))


class Baseline(unittest.TestCase):
    def test_terms(self):
        self.assertEqual(baseline.terms("The Archives of zlib, 2 archives!"),
                         ["archive", "zlib", "archive"])
        self.assertEqual(baseline.terms("用户密码"), ["用户", "户密", "密码"])

    def test_top_keywords_prefers_distinctive_words(self):
        docs = {
            "a.txt": "compression compression zlib data data",
            "b.txt": "archive archive tar data data",
            "c.txt": "socket socket network data",
        }
        top = baseline.top_keywords(docs, k=2)
        self.assertEqual(top["a.txt"], ["compression", "zlib"])
        self.assertEqual(top["b.txt"], ["archive", "tar"])
        # "data" is in every document: weight 0, ranked last.
        self.assertEqual(baseline.top_keywords(docs, k=3)["c.txt"], ["socket", "network", "data"])


class Corpus(unittest.TestCase):
    def test_every_label_has_a_synonym_entry(self):
        for _, _, labels, modules in build_corpus.CHAPTERS:
            self.assertTrue(labels and modules)
            for l in labels:
                self.assertIn(l, build_corpus.SYNONYMS)

    def test_roff(self):
        src = '.\\" comment\n.TH "X" "1"\n.SH "名称"\npasswd \\- 更改用户密码\n.PP\n\\fBchsh\\fR \\-\\-help\\&.\n'
        self.assertEqual(build_corpus.roff_to_text(src), "名称\npasswd - 更改用户密码\n\nchsh --help.\n")

    def test_module_document(self):
        text = build_corpus.module_document("zlib")
        self.assertIsNotNone(text)
        self.assertIn("compression", text)
        self.assertLessEqual(len(text), build_corpus.MAX_DOC_CHARS + 1)
        self.assertIsNone(build_corpus.module_document("no_such_module_xyz"))

    def test_debian_descriptions(self):
        long = " " + " ".join(["word"] * 50)
        status = (
            "Package: zlib1g\nStatus: install ok installed\nSource: zlib\nSection: libs\n"
            "Version: 1:1.2.13\nDescription: compression library - runtime\n"
            f"{long}\n .\n second paragraph\n\n"
            "Package: zlib1g-dev\nStatus: install ok installed\nSource: zlib\nSection: libdevel\n"
            f"Description: compression library - development\n{long}\n\n"
            "Package: aaa\nStatus: install ok installed\nSection: misc\n"
            f"Description: something\n{long}\n\n"
            "Package: nginx\nStatus: install ok installed\nSection: httpd\n"
            "Description: web server\n too short\n"
        )
        docs, skipped = build_corpus.debian_documents(10, status)
        self.assertEqual([d["file"] for d in docs], ["debian-zlib1g.txt"])
        self.assertEqual(docs[0]["labels"], ["library"])
        self.assertTrue(docs[0]["text"].startswith("zlib1g - compression library - runtime\n\nword word"))
        self.assertTrue(docs[0]["text"].endswith("word\n\nsecond paragraph\n"))
        why = {s["source"]: s["why"] for s in skipped}
        self.assertIn("no label", why["debian:aaa"])
        self.assertIn("under", why["debian:nginx"])
        self.assertNotIn("debian:zlib1g-dev", why)  # same source: not a second document
        self.assertEqual(len(build_corpus.debian_documents(0, status)[0]), 0)

    def test_every_debian_label_has_a_synonym_entry(self):
        for labels in build_corpus.DEBIAN_SECTIONS.values():
            for l in labels:
                self.assertIn(l, build_corpus.SYNONYMS)

    def test_build_is_deterministic(self):
        with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
            for d in (a, b):
                argv, sys.argv = sys.argv, ["build_corpus.py", d, "--per-chapter", "2", "--debian", "5"]
                try:
                    self.assertEqual(build_corpus.main(), 0)
                finally:
                    sys.argv = argv
            ma = json.loads(Path(a, "manifest.json").read_text("utf-8"))
            mb = json.loads(Path(b, "manifest.json").read_text("utf-8"))
            self.assertEqual(ma["corpus_sha256"], mb["corpus_sha256"])
            labels = json.loads(Path(a, "labels.json").read_text("utf-8"))
            self.assertEqual(sorted(labels), sorted(p.name for p in Path(a, "docs").glob("*.txt")))
            self.assertEqual(ma["counts"]["documents"], len(labels))
            syn = json.loads(Path(a, "synonyms.json").read_text("utf-8"))
            self.assertTrue(all(l in syn for ls in labels.values() for l in ls))


if __name__ == "__main__":
    unittest.main()
