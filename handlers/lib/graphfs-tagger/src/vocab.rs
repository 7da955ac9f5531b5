//! The shared tag vocabulary, TagGPT's way: candidate tags are counted over
//! the corpus, rare ones are held back (no thousands of one-file tags), and
//! candidates that mean the same are merged by embedding similarity, not by
//! spelling ("ai" and "artificial intelligence"), keeping the merged names
//! as aliases. These are the pure steps; the tagger and `graphfs vocab`
//! feed them from the graph.

use std::collections::HashMap;

use graphfs_embeddings::cosine;

use crate::morph::{plural_key, variant_key};

/// A tag of the vocabulary with its embedding.
#[derive(Debug, Clone, PartialEq)]
pub struct VocabEntry {
    pub name: String,
    pub aliases: Vec<String>,
    /// Files carrying it.
    pub count: u64,
    pub embedding: Vec<f32>,
}

/// The vocabulary as the tagger matches against it.
#[derive(Debug, Clone, Default)]
pub struct Vocabulary {
    entries: Vec<VocabEntry>,
    /// Variant key of each name -> the tag it stands for.
    keys: HashMap<String, String>,
    /// Plural key of each alias -> the tag it stands for.
    alias_keys: HashMap<String, String>,
}

/// How a proposed tag relates to the vocabulary.
#[derive(Debug, Clone, PartialEq)]
pub enum Match {
    /// The tag or one of its aliases, spelled the same or inflected
    /// (`archiving` for `archive`).
    Exact(String),
    /// The closest tag, similar enough to stand for it.
    Similar { tag: String, similarity: f32 },
    /// Nothing close: a new candidate.
    New,
}

impl Vocabulary {
    pub fn new(entries: Vec<VocabEntry>) -> Self {
        let (mut keys, mut alias_keys) = (HashMap::new(), HashMap::new());
        // Most used first: a key two tags share goes to the more used one.
        for e in &entries {
            keys.entry(variant_key(&e.name))
                .or_insert_with(|| e.name.clone());
            for alias in &e.aliases {
                alias_keys
                    .entry(plural_key(alias))
                    .or_insert_with(|| e.name.clone());
            }
        }
        Vocabulary {
            entries,
            keys,
            alias_keys,
        }
    }

    /// The same vocabulary with one more tag (a candidate just admitted).
    pub fn with(&self, entry: VocabEntry) -> Self {
        let mut entries = self.entries.clone();
        entries.push(entry);
        Vocabulary::new(entries)
    }

    /// The tag whose name is `tag` or an inflection of it, or whose alias
    /// is `tag` or its plural. Of two tags that are inflections of one word
    /// (two processes admitted one each at the same instant), the more used
    /// stands for both: re-tagging moves the other's files to it.
    pub fn find(&self, tag: &str) -> Option<&str> {
        match self
            .entries
            .iter()
            .find(|e| e.name == tag || e.aliases.iter().any(|a| a == tag))
        {
            Some(e) => Some(
                self.keys
                    .get(&variant_key(&e.name))
                    .map_or(e.name.as_str(), String::as_str),
            ),
            None => self
                .keys
                .get(&variant_key(tag))
                .or_else(|| self.alias_keys.get(&plural_key(tag)))
                .map(String::as_str),
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn entries(&self) -> &[VocabEntry] {
        &self.entries
    }

    /// Matches a normalised tag: by name or alias first, then by meaning.
    pub fn match_tag(&self, tag: &str, embedding: Option<&[f32]>, threshold: f32) -> Match {
        if let Some(name) = self.find(tag) {
            return Match::Exact(name.to_string());
        }
        let Some(embedding) = embedding else {
            return Match::New;
        };
        match self.nearest(embedding, 1).into_iter().next() {
            Some((e, s)) if s >= threshold => Match::Similar {
                tag: e.name.clone(),
                similarity: s,
            },
            _ => Match::New,
        }
    }

    /// The `k` entries most similar to `embedding`, best first.
    pub fn nearest(&self, embedding: &[f32], k: usize) -> Vec<(&VocabEntry, f32)> {
        let mut scored: Vec<(&VocabEntry, f32)> = self
            .entries
            .iter()
            .filter(|e| !e.embedding.is_empty())
            .map(|e| (e, cosine(&e.embedding, embedding)))
            .collect();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.name.cmp(&b.0.name)));
        scored.truncate(k);
        scored
    }
}

/// A candidate for the vocabulary: a tag name with how many files proposed
/// or carry it.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub name: String,
    pub count: u64,
    pub embedding: Vec<f32>,
}

/// One tag of a rebuilt vocabulary and the names merged into it.
#[derive(Debug, Clone, PartialEq)]
pub struct Cluster {
    pub name: String,
    pub aliases: Vec<String>,
    /// Files behind the tag and all its aliases (an upper bound: a file may
    /// have proposed two of them).
    pub count: u64,
}

/// Builds a vocabulary from counted candidates: the most frequent name of
/// each group of near-synonyms (cosine ≥ `merge_threshold`, or inflections
/// of one word) stands for the group and the others become its aliases; groups behind fewer than
/// `min_count` files are dropped. Deterministic: ties go by name.
pub fn build(mut candidates: Vec<Candidate>, min_count: u64, merge_threshold: f32) -> Vec<Cluster> {
    candidates.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
    let mut clusters: Vec<(Cluster, Vec<f32>)> = Vec::new();
    for c in candidates {
        let key = variant_key(&c.name);
        let best = clusters
            .iter_mut()
            .map(|(cl, emb)| {
                let s = if variant_key(&cl.name) == key {
                    1.0
                } else if c.embedding.is_empty() {
                    0.0
                } else {
                    cosine(emb, &c.embedding)
                };
                (cl, s)
            })
            .filter(|(_, s)| *s >= merge_threshold)
            .max_by(|a, b| a.1.total_cmp(&b.1));
        match best {
            Some((cl, _)) => {
                if cl.name != c.name && !cl.aliases.contains(&c.name) {
                    cl.aliases.push(c.name);
                }
                cl.count += c.count;
            }
            None => clusters.push((
                Cluster {
                    name: c.name,
                    aliases: Vec::new(),
                    count: c.count,
                },
                c.embedding,
            )),
        }
    }
    let mut out: Vec<Cluster> = clusters
        .into_iter()
        .map(|(mut c, _)| {
            c.aliases.sort();
            c
        })
        .filter(|c| c.count >= min_count)
        .collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
    out
}

/// Share of vocabulary tags whose embedding is within `threshold` of
/// another tag's: near-duplicates the vocabulary still holds.
pub fn duplicate_rate(entries: &[VocabEntry], threshold: f32) -> f32 {
    if entries.len() < 2 {
        return 0.0;
    }
    let dup = entries
        .iter()
        .enumerate()
        .filter(|(i, a)| {
            entries
                .iter()
                .enumerate()
                .any(|(j, b)| *i != j && cosine(&a.embedding, &b.embedding) >= threshold)
        })
        .count();
    dup as f32 / entries.len() as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(x: f32, y: f32) -> Vec<f32> {
        let n = (x * x + y * y).sqrt();
        vec![x / n, y / n]
    }

    fn cand(name: &str, count: u64, e: Vec<f32>) -> Candidate {
        Candidate {
            name: name.into(),
            count,
            embedding: e,
        }
    }

    #[test]
    fn synonyms_merge_under_the_most_frequent_name() {
        let out = build(
            vec![
                cand("ai", 3, v(1.0, 0.05)),
                cand("artificial intelligence", 5, v(1.0, 0.0)),
                cand("machine intelligence", 1, v(1.0, 0.1)),
                cand("cooking", 4, v(0.0, 1.0)),
            ],
            2,
            0.9,
        );
        assert_eq!(
            out,
            vec![
                Cluster {
                    name: "artificial intelligence".into(),
                    aliases: vec!["ai".into(), "machine intelligence".into()],
                    count: 9
                },
                Cluster {
                    name: "cooking".into(),
                    aliases: vec![],
                    count: 4
                },
            ]
        );
    }

    #[test]
    fn inflections_merge_without_embeddings() {
        let out = build(
            vec![
                cand("programming", 3, vec![]),
                cand("program", 2, vec![]),
                cand("cooking", 2, vec![]),
            ],
            2,
            0.9,
        );
        assert_eq!(out[0].name, "programming");
        assert_eq!(out[0].aliases, vec!["program".to_string()]);
        assert_eq!(out[0].count, 5);
        assert_eq!(out[1].name, "cooking");
    }

    #[test]
    fn rare_candidates_stay_out() {
        let out = build(
            vec![
                cand("cooking", 3, v(0.0, 1.0)),
                cand("zeppelin", 1, v(1.0, 0.0)),
            ],
            2,
            0.9,
        );
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].name, "cooking");
    }

    #[test]
    fn build_is_deterministic_whatever_the_input_order() {
        let a = vec![
            cand("b", 2, v(1.0, 0.0)),
            cand("a", 2, v(1.0, 0.01)),
            cand("c", 2, v(0.0, 1.0)),
        ];
        let mut b = a.clone();
        b.reverse();
        assert_eq!(build(a, 1, 0.9), build(b, 1, 0.9));
    }

    #[test]
    fn matching_prefers_spelling_then_meaning() {
        let vocab = Vocabulary::new(vec![
            VocabEntry {
                name: "artificial intelligence".into(),
                aliases: vec!["ai".into()],
                count: 3,
                embedding: v(1.0, 0.0),
            },
            VocabEntry {
                name: "cooking".into(),
                aliases: vec![],
                count: 2,
                embedding: v(0.0, 1.0),
            },
        ]);
        assert_eq!(
            vocab.match_tag("ai", None, 0.8),
            Match::Exact("artificial intelligence".into())
        );
        assert_eq!(
            vocab.match_tag("cook", None, 0.8),
            Match::Exact("cooking".into())
        );
        assert!(matches!(
            vocab.match_tag("cuisine", Some(&v(0.1, 1.0)), 0.8),
            Match::Similar { ref tag, .. } if tag == "cooking"
        ));
        assert_eq!(
            vocab.match_tag("geology", Some(&v(1.0, 1.0)), 0.8),
            Match::New
        );
        assert_eq!(vocab.nearest(&v(0.0, 1.0), 1)[0].0.name, "cooking");
        // An alias matches as written or in the plural; its word family
        // may be another concept.
        let letters = Vocabulary::new(vec![VocabEntry {
            name: "letter".into(),
            aliases: vec!["correspondence".into()],
            count: 0,
            embedding: Vec::new(),
        }]);
        assert_eq!(letters.find("correspondences"), Some("letter"));
        assert_eq!(letters.find("letters"), Some("letter"));
        assert_eq!(letters.find("corresponding"), None);
    }

    #[test]
    fn of_two_inflection_tags_the_more_used_stands_for_both() {
        let e = |n: &str, count| VocabEntry {
            name: n.into(),
            aliases: vec![],
            count,
            embedding: Vec::new(),
        };
        // Most used first, as the graph lists them.
        let vocab = Vocabulary::new(vec![e("archive", 3), e("archiving", 1), e("letter", 1)]);
        assert_eq!(vocab.find("archiving"), Some("archive"));
        assert_eq!(vocab.find("archives"), Some("archive"));
        assert_eq!(vocab.find("archive"), Some("archive"));
        assert_eq!(vocab.find("letter"), Some("letter"));
    }

    #[test]
    fn duplicate_rate_counts_near_twins() {
        let e = |n: &str, emb| VocabEntry {
            name: n.into(),
            aliases: vec![],
            count: 1,
            embedding: emb,
        };
        let entries = vec![
            e("a", v(1.0, 0.0)),
            e("b", v(1.0, 0.01)),
            e("c", v(0.0, 1.0)),
        ];
        assert!((duplicate_rate(&entries, 0.95) - 2.0 / 3.0).abs() < 1e-6);
        assert_eq!(duplicate_rate(&entries[2..], 0.95), 0.0);
    }
}
