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
        Ok(TopicIndex { taxonomy, vectors })
    }

    /// Each topic with its vector.
    pub fn entries(&self) -> impl Iterator<Item = (&Topic, &[f32])> {
        self.taxonomy
            .topics
            .iter()
            .zip(self.vectors.iter().map(Vec::as_slice))
    }

    /// The topics nearest to a file's `embedding`: at most `max`, each at
    /// least `threshold` similar and within `margin` of the best, best first.
    pub fn assign(
        &self,
        embedding: &[f32],
        threshold: f32,
        margin: f32,
        max: usize,
    ) -> Vec<(String, f32)> {
        let mut scored: Vec<(&Topic, f32)> = self
            .entries()
            .filter(|(_, v)| !v.is_empty())
            .map(|(t, v)| (t, cosine(v, embedding)))
            .filter(|(_, s)| *s >= threshold)
            .collect();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.name.cmp(&b.0.name)));
        let best = scored.first().map_or(0.0, |s| s.1);
        scored
            .into_iter()
            .take_while(|(_, s)| *s >= best - margin)
            .take(max)
            .map(|(t, s)| (t.name.clone(), s))
            .collect()
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
        let index = TopicIndex {
            taxonomy,
            vectors: vec![vec![1.0, 0.0], vec![0.8, 0.6], vec![0.0, 1.0]],
        };
        let got = index.assign(&[1.0, 0.0], 0.5, 0.3, 5);
        let names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert!(index.assign(&[1.0, 0.0], 0.5, 0.1, 5).len() == 1);
        assert!(index.assign(&[-1.0, 0.0], 0.5, 0.3, 5).is_empty());
    }
}
