//! Seeded vocabularies: a taxonomy of topics (name, description, aliases,
//! parent) that the taggers assign zero-shot and that every owner's
//! vocabulary starts from. A taxonomy is written by people, not derived from
//! anyone's files, so all users share it.
//!
//! The project ships one ([`Taxonomy::builtin`], `taxonomy/general.yaml`);
//! `--taxonomy FILE` replaces or extends it (YAML as that file, or CSV with
//! the columns `name,description,aliases,parent`, aliases separated by `|`).

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use graphfs_domain::normalize_tag;
use graphfs_embeddings::{Embedder, cosine};

use crate::morph::plural_key;
use serde::{Deserialize, Serialize};

mod live;

pub use live::{ImportError, ImportMode, InForce, LiveTaxonomy, REFRESH};

const BUILTIN: &str = include_str!("../../taxonomy/general.yaml");
/// Topics in one taxonomy: each is embedded and compared with every file.
pub const MAX_TOPICS: usize = 5000;
const MAX_DESCRIPTION_CHARS: usize = 500;
const MAX_ALIASES: usize = 32;

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Topic {
    pub name: String,
    pub description: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Taxonomy {
    topics: Vec<Topic>,
}

#[derive(thiserror::Error, Debug, PartialEq)]
pub enum TaxonomyError {
    #[error("cannot read the taxonomy: {0}")]
    Read(String),
    #[error("the taxonomy is not valid {format}: {detail}")]
    Syntax {
        format: &'static str,
        detail: String,
    },
    #[error("topic {topic:?}: {reason}")]
    Topic { topic: String, reason: String },
    #[error("a taxonomy holds at most {MAX_TOPICS} topics")]
    TooMany,
}

fn topic_error(topic: &str, reason: impl Into<String>) -> TaxonomyError {
    TaxonomyError::Topic {
        topic: topic.to_string(),
        reason: reason.into(),
    }
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct YamlFile {
    topics: Vec<Topic>,
}

impl Taxonomy {
    /// The project's general-purpose taxonomy.
    pub fn builtin() -> Taxonomy {
        // A unit test parses it: it cannot fail here.
        Taxonomy::from_yaml(BUILTIN).unwrap_or_default()
    }

    pub fn topics(&self) -> &[Topic] {
        &self.topics
    }

    pub fn len(&self) -> usize {
        self.topics.len()
    }

    pub fn is_empty(&self) -> bool {
        self.topics.is_empty()
    }

    /// The taxonomy as YAML, as [`Taxonomy::from_yaml`] reads it.
    pub fn to_yaml(&self) -> String {
        let file = YamlFile {
            topics: self.topics.clone(),
        };
        // Strings and lists only: serializing cannot fail.
        serde_yaml::to_string(&file).unwrap_or_default()
    }

    /// Reads a taxonomy file: CSV when its name ends in `.csv`, YAML otherwise.
    pub fn load(path: &Path) -> Result<Taxonomy, TaxonomyError> {
        Taxonomy::new(Taxonomy::read_topics(path)?)
    }

    pub fn from_yaml(text: &str) -> Result<Taxonomy, TaxonomyError> {
        Taxonomy::new(Taxonomy::yaml_topics(text)?)
    }

    pub fn from_csv(text: &str) -> Result<Taxonomy, TaxonomyError> {
        Taxonomy::new(Taxonomy::csv_topics(text)?)
    }

    /// The topics of a taxonomy file, not yet checked (their parents may be
    /// in the taxonomy they extend): CSV when its name ends in `.csv`, YAML
    /// otherwise.
    pub fn read_topics(path: &Path) -> Result<Vec<Topic>, TaxonomyError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| TaxonomyError::Read(format!("{}: {e}", path.display())))?;
        let csv = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
        if csv {
            Taxonomy::csv_topics(&text)
        } else {
            Taxonomy::yaml_topics(&text)
        }
    }

    /// YAML `topics: [{name, description, aliases, parent}]`, not yet checked.
    pub fn yaml_topics(text: &str) -> Result<Vec<Topic>, TaxonomyError> {
        let syntax = |e: serde_yaml::Error| TaxonomyError::Syntax {
            format: "YAML",
            detail: e.to_string(),
        };
        // Through a value, so a scalar that is not a string (`name: null`,
        // `parent: 5`) is refused rather than read as the word.
        let value: serde_yaml::Value = serde_yaml::from_str(text).map_err(syntax)?;
        if !value
            .get("topics")
            .is_some_and(serde_yaml::Value::is_sequence)
        {
            return Err(TaxonomyError::Syntax {
                format: "YAML",
                detail: "`topics` must be a list of topics".into(),
            });
        }
        let file: YamlFile = serde_yaml::from_value(value).map_err(syntax)?;
        if file.topics.len() > MAX_TOPICS {
            return Err(TaxonomyError::TooMany);
        }
        Ok(file.topics)
    }

    /// CSV with a header row naming the columns `name` and `description`
    /// and optionally `aliases` (separated by `|`) and `parent`, not yet
    /// checked.
    pub fn csv_topics(text: &str) -> Result<Vec<Topic>, TaxonomyError> {
        let syntax = |detail: String| TaxonomyError::Syntax {
            format: "CSV",
            detail,
        };
        let mut rows = csv_rows(text).map_err(syntax)?.into_iter();
        let header = rows.next().ok_or_else(|| syntax("no header row".into()))?;
        let column = |name: &str| {
            header
                .iter()
                .position(|h| h.trim().eq_ignore_ascii_case(name))
        };
        let (Some(name), Some(description)) = (column("name"), column("description")) else {
            return Err(syntax(
                "the header must name the columns name and description".into(),
            ));
        };
        let (aliases, parent) = (column("aliases"), column("parent"));
        let mut topics = Vec::new();
        for (i, row) in rows.enumerate() {
            if row.iter().all(|c| c.trim().is_empty()) {
                continue;
            }
            let cell = |c: Option<usize>| c.and_then(|c| row.get(c)).map(|s| s.trim().to_string());
            topics.push(Topic {
                name: cell(Some(name)).ok_or_else(|| syntax(format!("row {}: no name", i + 2)))?,
                description: cell(Some(description)).unwrap_or_default(),
                aliases: cell(aliases)
                    .map(|a| {
                        a.split('|')
                            .map(str::trim)
                            .filter(|a| !a.is_empty())
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default(),
                parent: cell(parent).filter(|p| !p.is_empty()),
            });
        }
        if topics.len() > MAX_TOPICS {
            return Err(TaxonomyError::TooMany);
        }
        Ok(topics)
    }

    /// Checks and normalizes topics: names and aliases are tags, every name
    /// and alias stands for one topic, descriptions say something, parents
    /// exist and form no cycle.
    pub fn new(topics: Vec<Topic>) -> Result<Taxonomy, TaxonomyError> {
        if topics.len() > MAX_TOPICS {
            return Err(TaxonomyError::TooMany);
        }
        let mut out: Vec<Topic> = Vec::with_capacity(topics.len());
        let mut owner: HashMap<String, String> = HashMap::new();
        for t in topics {
            let name = normalize_tag(&t.name).map_err(|e| topic_error(&t.name, e.to_string()))?;
            let description = t.description.trim().to_string();
            if description.is_empty() {
                return Err(topic_error(&name, "it has no description"));
            }
            if description.chars().count() > MAX_DESCRIPTION_CHARS {
                return Err(topic_error(
                    &name,
                    format!("its description is over {MAX_DESCRIPTION_CHARS} characters"),
                ));
            }
            if t.aliases.len() > MAX_ALIASES {
                return Err(topic_error(
                    &name,
                    format!("it has over {MAX_ALIASES} aliases"),
                ));
            }
            let mut aliases = Vec::new();
            for a in &t.aliases {
                let a = normalize_tag(a)
                    .map_err(|e| topic_error(&name, format!("alias {a:?}: {e}")))?;
                if a != name && !aliases.contains(&a) {
                    aliases.push(a);
                }
            }
            for n in std::iter::once(&name).chain(&aliases) {
                if let Some(other) = owner.insert(n.clone(), name.clone())
                    && other != name
                {
                    return Err(topic_error(
                        &name,
                        format!("{n:?} is already topic {other:?}"),
                    ));
                }
            }
            if out.iter().any(|o| o.name == name) {
                return Err(topic_error(&name, "it is listed twice"));
            }
            let parent = match &t.parent {
                Some(p) => {
                    Some(normalize_tag(p).map_err(|e| topic_error(&name, format!("parent: {e}")))?)
                }
                None => None,
            };
            out.push(Topic {
                name,
                description,
                aliases,
                parent,
            });
        }
        let names: HashSet<&str> = out.iter().map(|t| t.name.as_str()).collect();
        for t in &out {
            if let Some(p) = &t.parent
                && !names.contains(p.as_str())
            {
                return Err(topic_error(
                    &t.name,
                    format!("its parent {p:?} is not a topic"),
                ));
            }
        }
        let taxonomy = Taxonomy { topics: out };
        taxonomy.check_cycles()?;
        Ok(taxonomy)
    }

    fn parent_of(&self, name: &str) -> Option<&str> {
        self.topics
            .iter()
            .find(|t| t.name == name)
            .and_then(|t| t.parent.as_deref())
    }

    fn check_cycles(&self) -> Result<(), TaxonomyError> {
        for t in &self.topics {
            let mut at = t.parent.as_deref();
            let mut steps = 0;
            while let Some(p) = at {
                steps += 1;
                if p == t.name || steps > self.topics.len() {
                    return Err(topic_error(&t.name, "its parents lead back to it"));
                }
                at = self.parent_of(p);
            }
        }
        Ok(())
    }

    /// This taxonomy with `more` topics added (their parents may be topics
    /// here); a topic of the same name is replaced.
    pub fn extended(&self, more: Vec<Topic>) -> Result<Taxonomy, TaxonomyError> {
        let replaced: HashSet<String> = more
            .iter()
            .filter_map(|t| normalize_tag(&t.name).ok())
            .collect();
        let mut topics: Vec<Topic> = self
            .topics
            .iter()
            .filter(|t| !replaced.contains(&t.name))
            .cloned()
            .collect();
        topics.extend(more);
        Taxonomy::new(topics)
    }
}

/// Splits CSV text into rows of cells (RFC 4180: quoted cells may hold
/// commas, line breaks and doubled quotes).
fn csv_rows(text: &str) -> Result<Vec<Vec<String>>, String> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = text.trim_start_matches('\u{feff}').chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => cell.push(c),
            (false, '"') if cell.trim().is_empty() => {
                cell.clear();
                quoted = true;
            }
            (false, ',') => row.push(std::mem::take(&mut cell)),
            (false, '\n') => {
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
            }
            (false, '\r') => {}
            (false, c) => cell.push(c),
        }
    }
    if quoted {
        return Err("a quoted cell is not closed".into());
    }
    if !cell.is_empty() || !row.is_empty() {
        row.push(cell);
        rows.push(row);
    }
    Ok(rows)
}

/// The taxonomy in force, embedded on first use and again whenever another
/// is in force (the embedding endpoint may not be up when the tagger
/// starts; a failure is retried at the next file).
pub struct Topics {
    live: Arc<LiveTaxonomy>,
    embedder: Arc<dyn Embedder>,
    index: tokio::sync::Mutex<Option<(u64, Arc<TopicIndex>)>>,
}

impl Topics {
    pub fn new(live: Arc<LiveTaxonomy>, embedder: Arc<dyn Embedder>) -> Topics {
        Topics {
            live,
            embedder,
            index: tokio::sync::Mutex::new(None),
        }
    }

    pub fn embedder(&self) -> &Arc<dyn Embedder> {
        &self.embedder
    }

    /// The version of the taxonomy in force (vocabularies built from an
    /// older one are stale).
    pub async fn version(&self) -> u64 {
        self.live.in_force().await.version
    }

    /// The taxonomy in force, embedded; `None` when there is none.
    pub async fn index(&self) -> Result<Option<Arc<TopicIndex>>, graphfs_embeddings::EmbedError> {
        let now = self.live.in_force().await;
        let Some(taxonomy) = now.taxonomy.clone() else {
            return Ok(None);
        };
        let mut index = self.index.lock().await;
        if let Some((version, built)) = index.as_ref()
            && *version == now.version
        {
            return Ok(Some(built.clone()));
        }
        let built = Arc::new(TopicIndex::build((*taxonomy).clone(), &self.embedder).await?);
        tracing::info!(
            topics = built.taxonomy.len(),
            version = now.version,
            "taxonomy embedded"
        );
        *index = Some((now.version, built.clone()));
        Ok(Some(built))
    }
}

/// A taxonomy with each topic embedded, for zero-shot assignment.
pub struct TopicIndex {
    taxonomy: Taxonomy,
    vectors: Vec<Vec<f32>>,
    /// Each topic's word stems (name, aliases, description), for
    /// [`Evidence`].
    stems: Vec<HashSet<String>>,
    /// The names and aliases of several words, by the plural key of their
    /// first word, for [`TopicIndex::phrase_fragments`].
    phrases: HashMap<String, Vec<Vec<String>>>,
}

/// The word stems of a file's text, sought among a topic's own words: a
/// topic whose words the text never uses must be nearer by meaning to be
/// given (see [`TopicIndex::assign`]).
#[derive(Debug, Clone, Default)]
pub struct Evidence {
    stems: HashSet<String>,
}

impl Evidence {
    /// `None` for text mostly in a script other than Latin: the taxonomy's
    /// words are English, so their absence there says nothing.
    pub fn of(text: &str) -> Option<Evidence> {
        let (mut latin, mut letters) = (0usize, 0usize);
        for c in text.chars().filter(|c| c.is_alphabetic()) {
            letters += 1;
            latin += usize::from(c.is_ascii_alphabetic());
        }
        (letters > 0 && 2 * latin >= letters).then(|| Evidence {
            stems: content_stems(text),
        })
    }

    fn supports(&self, topic: &HashSet<String>) -> bool {
        topic.iter().any(|s| self.stems.contains(s))
    }
}

/// The stems of the words that say something: no stop words, no words too
/// generic to tag by ("file", "data", "year"), in any inflection.
fn content_stems(text: &str) -> HashSet<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() >= 3)
        .map(str::to_lowercase)
        .filter(|w| !crate::stopwords::is_stop_word(w) && !crate::stopwords::is_generic(w))
        .map(|w| crate::morph::variant_key(&w))
        .filter(|k| !crate::stopwords::is_generic(k))
        .collect()
}

impl TopicIndex {
    /// Embeds every topic ("name: description") in batches.
    pub async fn build(
        taxonomy: Taxonomy,
        embedder: &Arc<dyn Embedder>,
    ) -> Result<TopicIndex, graphfs_embeddings::EmbedError> {
        let texts: Vec<String> = taxonomy
            .topics
            .iter()
            .map(|t| format!("{}: {}", t.name, t.description))
            .collect();
        let mut vectors = Vec::with_capacity(texts.len());
        for chunk in texts.chunks(64) {
            vectors.extend(embedder.embed(chunk).await?);
        }
        Ok(TopicIndex::new(taxonomy, vectors))
    }

    fn new(taxonomy: Taxonomy, vectors: Vec<Vec<f32>>) -> TopicIndex {
        let stems = taxonomy
            .topics
            .iter()
            .map(|t| {
                let words = format!("{} {} {}", t.name, t.aliases.join(" "), t.description);
                content_stems(&words)
            })
            .collect();
        let mut phrases: HashMap<String, Vec<Vec<String>>> = HashMap::new();
        for t in &taxonomy.topics {
            for name in std::iter::once(&t.name).chain(&t.aliases) {
                let words: Vec<String> = name.split_whitespace().map(plural_key).collect();
                if words.len() > 1 {
                    phrases.entry(words[0].clone()).or_default().push(words);
                }
            }
        }
        TopicIndex {
            taxonomy,
            vectors,
            stems,
            phrases,
        }
    }

    /// Each topic with its vector.
    pub fn entries(&self) -> impl Iterator<Item = (&Topic, &[f32])> {
        self.taxonomy
            .topics
            .iter()
            .zip(self.vectors.iter().map(Vec::as_slice))
    }

    /// The words (by plural key) that `text` uses only inside a topic's
    /// name or alias of several words: "operating" in "the GNU operating
    /// system" is a piece of a topic, not a subject of its own.
    pub fn phrase_fragments(&self, text: &str) -> HashSet<String> {
        let words: Vec<String> = text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(|w| plural_key(&w.to_lowercase()))
            .collect();
        let mut inside = vec![false; words.len()];
        for (i, word) in words.iter().enumerate() {
            for phrase in self.phrases.get(word).into_iter().flatten() {
                if words[i..].starts_with(phrase) {
                    inside[i..i + phrase.len()].fill(true);
                }
            }
        }
        let mut alone: HashSet<&str> = HashSet::new();
        let mut fragments: HashSet<String> = HashSet::new();
        for (word, inside) in words.iter().zip(inside) {
            if inside {
                fragments.insert(word.clone());
            } else {
                alone.insert(word);
            }
        }
        fragments.retain(|w| !alone.contains(w.as_str()));
        fragments
    }

    /// The topics nearest to a file's `embedding`: at most `max`, each at
    /// least `threshold` similar (`unsupported_threshold` when `evidence` has
    /// none of the topic's words) and within `margin` of the best, best
    /// first.
    pub fn assign(
        &self,
        embedding: &[f32],
        evidence: Option<&Evidence>,
        rule: &ZeroShot,
    ) -> Vec<(String, f32)> {
        let mut scored: Vec<(&Topic, f32)> = self
            .entries()
            .zip(&self.stems)
            .filter(|((_, v), _)| !v.is_empty())
            .map(|((t, v), stems)| {
                let least = match evidence {
                    Some(e) if !e.supports(stems) => rule.unsupported_threshold,
                    _ => rule.threshold,
                };
                (t, cosine(v, embedding), least)
            })
            .filter(|(_, s, least)| *s >= *least)
            .map(|(t, s, _)| (t, s))
            .collect();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.name.cmp(&b.0.name)));
        let best = scored.first().map_or(0.0, |s| s.1);
        scored
            .into_iter()
            .take_while(|(_, s)| *s >= best - rule.margin)
            .take(rule.max_tags)
            .map(|(t, s)| (t.name.clone(), s))
            .collect()
    }
}

/// How taxonomy topics are given by meaning (cosine between the file's
/// embedding and the topic's).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ZeroShot {
    /// Least similarity for a topic whose words the file uses.
    pub threshold: f32,
    /// Least similarity for one whose words it never uses. With
    /// all-MiniLM-L6-v2, short texts sit about 0.3 from topics that share
    /// only their register: a WebDAV client from "scanned document", a list
    /// of release dates from "tax".
    pub unsupported_threshold: f32,
    /// Topics more than this below the best one are left out.
    pub margin: f32,
    /// Most topics per file.
    pub max_tags: usize,
}

impl Default for ZeroShot {
    fn default() -> Self {
        // Calibrated with all-MiniLM-L6-v2 on `make eval`'s corpus: a recipe
        // and "cooking" meet at about 0.25, unrelated topics stay under 0.1.
        ZeroShot {
            threshold: 0.2,
            unsupported_threshold: 0.4,
            margin: 0.05,
            max_tags: 2,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topic(name: &str, parent: Option<&str>) -> Topic {
        Topic {
            name: name.into(),
            description: format!("about {name}"),
            aliases: vec![],
            parent: parent.map(str::to_string),
        }
    }

    #[test]
    fn the_builtin_taxonomy_is_valid_and_general() {
        let t = Taxonomy::from_yaml(BUILTIN).expect("taxonomy/general.yaml is valid");
        assert!((100..=200).contains(&t.len()), "{} topics", t.len());
        assert_eq!(Taxonomy::builtin(), t);
        assert_eq!(
            Taxonomy::from_yaml(&t.to_yaml()),
            Ok(t.clone()),
            "YAML round trip"
        );
        for name in [
            "invoice",
            "cooking",
            "photography",
            "programming",
            "compression",
        ] {
            assert!(t.topics().iter().any(|x| x.name == name), "{name}");
        }
        let invoice = t.topics().iter().find(|x| x.name == "invoice").unwrap();
        assert_eq!(invoice.parent.as_deref(), Some("finance"));
    }

    #[test]
    fn yaml_and_csv_say_the_same() {
        let yaml = Taxonomy::from_yaml(
            "topics:\n  - name: Finance\n    description: money\n  - name: invoice\n    \
             description: bills, \"amount due\"\n    aliases: [Bill, billing]\n    parent: finance\n",
        )
        .unwrap();
        let csv = Taxonomy::from_csv(
            "name,description,aliases,parent\r\nfinance,money,,\r\n\
             invoice,\"bills, \"\"amount due\"\"\",Bill|billing,Finance\r\n",
        )
        .unwrap();
        assert_eq!(yaml, csv);
        assert_eq!(yaml.topics()[0].name, "finance");
        assert_eq!(yaml.topics()[1].aliases, ["bill", "billing"]);
    }

    #[test]
    fn bad_taxonomies_are_refused_with_the_reason() {
        let err = |topics: Vec<Topic>| Taxonomy::new(topics).unwrap_err().to_string();
        assert!(err(vec![topic("a", Some("b"))]).contains("parent \"b\" is not a topic"));
        assert!(err(vec![topic("a", Some("b")), topic("b", Some("a"))]).contains("lead back"));
        assert!(err(vec![topic("a", None), topic("a", None)]).contains("twice"));
        let mut no_text = topic("a", None);
        no_text.description = " ".into();
        assert!(err(vec![no_text]).contains("no description"));
        let mut clash = topic("b", None);
        clash.aliases = vec!["a".into()];
        assert!(err(vec![topic("a", None), clash]).contains("already topic"));
        assert!(matches!(
            Taxonomy::from_yaml("topics: [{name: a}]"),
            Err(TaxonomyError::Syntax { .. })
        ));
        assert!(
            matches!(
                Taxonomy::from_yaml("topics: [{name: null, description: x}]"),
                Err(TaxonomyError::Syntax { .. })
            ),
            "a null name is not the word null"
        );
        assert!(matches!(
            Taxonomy::from_yaml("topics: null"),
            Err(TaxonomyError::Syntax { .. })
        ));
        assert!(matches!(
            Taxonomy::from_csv("name\na\n"),
            Err(TaxonomyError::Syntax { .. })
        ));
        assert!(matches!(
            Taxonomy::from_csv("name,description\n\"a,b\n"),
            Err(TaxonomyError::Syntax { .. })
        ));
    }

    #[test]
    fn extending_replaces_topics_of_the_same_name() {
        let base = Taxonomy::new(vec![topic("a", None), topic("b", Some("a"))]).unwrap();
        let mut b2 = topic("b", None);
        b2.description = "new".into();
        let all = base.extended(vec![b2, topic("c", Some("b"))]).unwrap();
        assert!(
            base.extended(vec![topic("d", Some("a"))]).is_ok(),
            "a parent in the taxonomy extended"
        );
        let names: Vec<&str> = all.topics().iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert_eq!(all.topics()[1].description, "new");
        assert_eq!(all.topics()[1].parent, None);
    }

    #[test]
    fn assignment_keeps_the_near_topics_above_the_threshold() {
        let taxonomy =
            Taxonomy::new(vec![topic("a", None), topic("b", None), topic("c", None)]).unwrap();
        let index = TopicIndex::new(
            taxonomy,
            vec![vec![1.0, 0.0], vec![0.8, 0.6], vec![0.0, 1.0]],
        );
        let rule = |threshold, margin| ZeroShot {
            threshold,
            unsupported_threshold: threshold,
            margin,
            max_tags: 5,
        };
        let got = index.assign(&[1.0, 0.0], None, &rule(0.5, 0.3));
        let names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert!(index.assign(&[1.0, 0.0], None, &rule(0.5, 0.1)).len() == 1);
        assert!(index.assign(&[-1.0, 0.0], None, &rule(0.5, 0.3)).is_empty());
    }

    #[test]
    fn a_topic_whose_words_the_text_never_uses_must_be_nearer() {
        let described = |name: &str, description: &str| Topic {
            name: name.into(),
            description: description.into(),
            aliases: vec![],
            parent: None,
        };
        let taxonomy = Taxonomy::new(vec![
            described("tax", "income tax return, deductions, fiscal year filing"),
            described("compression", "compressed archives, zip, gzip, bzip2"),
        ])
        .unwrap();
        // Both topics equally near the file by meaning (0.96).
        let index = TopicIndex::new(taxonomy, vec![vec![0.6, 0.8], vec![0.6, 0.8]]);
        let rule = ZeroShot {
            threshold: 0.5,
            unsupported_threshold: 0.99,
            margin: 0.5,
            max_tags: 5,
        };
        let names = |text: &str| -> Vec<String> {
            let evidence = Evidence::of(text);
            let got = index.assign(&[0.8, 0.6], evidence.as_ref(), &rule);
            got.into_iter().map(|(n, _)| n).collect()
        };
        // "Files" and "year" are too generic to count, whatever inflection
        // ("filing" stems to "file").
        let text = "bzip2 compresses files; release dates for every year";
        assert_eq!(names(text), ["compression"]);
        // Words in another inflection count.
        assert_eq!(names("Deducted taxes, compressing"), ["compression", "tax"]);
        // Text mostly in another script is judged by meaning alone.
        assert!(Evidence::of("压缩文件的工具 zip").is_none());
        assert_eq!(names("压缩文件的工具 zip"), ["compression", "tax"]);
    }

    #[test]
    fn words_used_only_inside_a_topic_name_are_fragments() {
        let taxonomy = Taxonomy::new(vec![
            topic("operating system", None),
            Topic {
                aliases: vec!["command line interface".into()],
                ..topic("command line", None)
            },
        ])
        .unwrap();
        let index = TopicIndex::new(taxonomy, vec![vec![1.0], vec![1.0]]);
        let got = index.phrase_fragments(
            "Runs on every Operating Systems; its command line, and the commands it has.",
        );
        let mut got: Vec<String> = got.into_iter().collect();
        got.sort();
        // "command" is also used alone.
        assert_eq!(got, ["line", "operating", "system"]);
    }
}
