//! TagGPT-style tagging with one model family for every kind of file.
//!
//! Generative mode: the model proposes tags; each is matched to the shared
//! vocabulary (by name or alias, then by embedding similarity above a
//! threshold); an unmatched one is a candidate, counted over the corpus,
//! and becomes a tag only once enough files propose it. Selective mode: the
//! vocabulary tags nearest to the file's embedding go into the prompt and
//! the model picks among them. Either way the answer is validated, a file
//! gets a bounded number of tags, and when the model gives nothing usable
//! the offline keyword tags stand in.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use graphfs_domain::{
    CANDIDATE_TERM_PREFIX, FileId, FileRecord, GraphIndex, ProposedTag, TagSource, normalize_tag,
};
use graphfs_embeddings::Embedder;
use graphfs_extract::Extracted;
use tokio::sync::{Mutex, RwLock};

use crate::llm::{LlmApi, LlmClient, LlmError};
use crate::parse::{TagRules, parse_tags};
use crate::prompt::{self, FileView, TagLanguage};
use crate::vocab::{Match, VocabEntry, Vocabulary};
use crate::{JobError, OfflineTagger, TagResult, Tagger};

/// Earlier proposers re-tagged when a candidate joins the vocabulary.
const PROMOTION_RETAGS: usize = 50;
/// Owners whose vocabularies a tagger keeps loaded at once.
const MAX_CACHED_VOCABULARIES: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaggingMode {
    Generative,
    Selective,
}

#[derive(Debug, Clone)]
pub struct TagGptConfig {
    pub mode: TaggingMode,
    pub rules: TagRules,
    /// A proposed tag at least this similar (cosine) to a vocabulary tag
    /// becomes that tag.
    pub match_threshold: f32,
    /// Files that must propose a new tag before it joins the vocabulary.
    pub min_frequency: u64,
    /// Vocabulary tags offered to the model in selective mode.
    pub top_k: usize,
    /// Below this many vocabulary tags, selective mode tags generatively.
    pub min_vocabulary: usize,
    pub language: TagLanguage,
    /// Characters of content in a prompt.
    pub max_prompt_chars: usize,
    /// How long the vocabulary is cached between reloads from the graph.
    pub vocabulary_ttl: Duration,
    /// Keyword tags given when the model offers nothing usable.
    pub fallback_tags: usize,
}

impl Default for TagGptConfig {
    fn default() -> Self {
        TagGptConfig {
            mode: TaggingMode::Generative,
            rules: TagRules::default(),
            match_threshold: 0.8,
            min_frequency: 2,
            top_k: 20,
            min_vocabulary: 5,
            language: TagLanguage::Auto,
            max_prompt_chars: 1500,
            vocabulary_ttl: Duration::from_secs(30),
            fallback_tags: 3,
        }
    }
}

pub struct TagGptTagger {
    llm: LlmClient,
    embedder: Arc<dyn Embedder>,
    index: Arc<dyn GraphIndex>,
    offline: OfflineTagger,
    config: TagGptConfig,
    /// Each owner's vocabulary, as loaded at the instant.
    vocabulary: RwLock<HashMap<String, (Instant, Arc<Vocabulary>)>>,
    /// Tag embeddings survive vocabulary reloads: tags rarely change.
    tag_vectors: Mutex<HashMap<String, Vec<f32>>>,
}

impl TagGptTagger {
    pub fn new(
        llm: LlmClient,
        embedder: Arc<dyn Embedder>,
        index: Arc<dyn GraphIndex>,
        offline: OfflineTagger,
        config: TagGptConfig,
    ) -> Self {
        TagGptTagger {
            llm,
            embedder,
            index,
            offline,
            config,
            vocabulary: RwLock::new(HashMap::new()),
            tag_vectors: Mutex::new(HashMap::new()),
        }
    }

    /// Embeddings of tags, from the cache or computed in one batch.
    async fn tag_embeddings(&self, names: &[String]) -> Result<Vec<Vec<f32>>, JobError> {
        let mut cache = self.tag_vectors.lock().await;
        let missing: Vec<String> = names
            .iter()
            .filter(|n| !cache.contains_key(*n))
            .cloned()
            .collect();
        if !missing.is_empty() {
            let vectors = self
                .embedder
                .embed(&missing)
                .await
                .map_err(|e| JobError::Transient(e.to_string()))?;
            for (n, v) in missing.into_iter().zip(vectors) {
                cache.insert(n, v);
            }
        }
        Ok(names
            .iter()
            .map(|n| cache.get(n).cloned().unwrap_or_default())
            .collect())
    }

    /// `owner`'s vocabulary (the tags on their files: another user's tag
    /// names never reach a file), reloaded from the graph when older than
    /// its TTL.
    pub async fn vocabulary(&self, owner: &str) -> Result<Arc<Vocabulary>, JobError> {
        if let Some((at, v)) = self.vocabulary.read().await.get(owner)
            && at.elapsed() < self.config.vocabulary_ttl
        {
            return Ok(v.clone());
        }
        let tags = self.index.vocabulary(Some(owner), 5000).await?;
        let names: Vec<String> = tags.iter().map(|t| t.name.clone()).collect();
        let vectors = self.tag_embeddings(&names).await?;
        let vocab = Arc::new(Vocabulary::new(
            tags.into_iter()
                .zip(vectors)
                .map(|(t, embedding)| VocabEntry {
                    name: t.name,
                    aliases: t.aliases,
                    count: t.count,
                    embedding,
                })
                .collect(),
        ));
        let mut cached = self.vocabulary.write().await;
        // Bounded: owners past the bound are forgotten and reloaded on use.
        if cached.len() >= MAX_CACHED_VOCABULARIES {
            cached.retain(|_, (at, _)| at.elapsed() < self.config.vocabulary_ttl);
            if cached.len() >= MAX_CACHED_VOCABULARIES {
                cached.clear();
            }
        }
        cached.insert(owner.to_string(), (Instant::now(), vocab.clone()));
        Ok(vocab)
    }

    /// Asks the model: the raw answer, and the words of the prompt that are
    /// not the document's (a tag made only of them is an echo).
    async fn ask(
        &self,
        view: &FileView<'_>,
        choices: Option<&[String]>,
        image: Option<(&str, &[u8])>,
    ) -> Result<(String, HashSet<String>), LlmError> {
        let max = self.config.rules.max_tags;
        let chars = self.config.max_prompt_chars;
        let doc_words = prompt::words(&prompt::document(view, chars));
        let (answer, template) = match self.llm.config().api {
            LlmApi::Completions => {
                let p = prompt::few_shot(view, choices, chars);
                let template = prompt::words(&p);
                (self.llm.complete(&p).await?, template)
            }
            LlmApi::Chat => {
                let p = match choices {
                    Some(c) => prompt::selective(view, c, max, chars),
                    None => prompt::generative(view, &self.config.language, max, chars),
                };
                (self.llm.chat(&p, image).await?, p.template_words())
            }
        };
        let mut echo: HashSet<String> = template.difference(&doc_words).cloned().collect();
        // The choices offered in selective mode are not echoes.
        for c in choices.unwrap_or_default() {
            for w in prompt::words(c) {
                echo.remove(&w);
            }
        }
        Ok((answer, echo))
    }

    /// Generative: proposed tags matched to the vocabulary; new ones are
    /// candidates, kept only once frequent enough. Returns the tags and the
    /// candidate terms to count.
    async fn resolve_generated(
        &self,
        proposed: Vec<String>,
        vocab: &Vocabulary,
        file: &FileRecord,
    ) -> Result<(Vec<ProposedTag>, Vec<String>), JobError> {
        let vectors = self.tag_embeddings(&proposed).await?;
        let mut tags: Vec<ProposedTag> = Vec::new();
        let mut new: Vec<(String, f32)> = Vec::new();
        let rank_score = |i: usize| 0.9 - 0.05 * i as f32;
        for (i, (name, emb)) in proposed.iter().zip(&vectors).enumerate() {
            if is_file_name(name, &file.name) {
                continue;
            }
            match vocab.match_tag(name, Some(emb), self.config.match_threshold) {
                Match::Exact(t) => push(&mut tags, t, rank_score(i)),
                Match::Similar { tag, similarity } => {
                    push(&mut tags, tag, rank_score(i).min(similarity))
                }
                Match::New => new.push((name.clone(), rank_score(i))),
            }
        }
        let terms: Vec<String> = new
            .iter()
            .map(|(n, _)| format!("{CANDIDATE_TERM_PREFIX}{n}"))
            .collect();
        for ((name, score), term) in new.into_iter().zip(&terms) {
            // Other files that proposed it (this file's own earlier
            // proposal does not count: a re-tag cannot promote itself).
            let others: Vec<FileId> = self
                .index
                .files_with_term(&file.owner, term, 1000)
                .await?
                .into_iter()
                .filter(|id| *id != file.id)
                .collect();
            if others.len() as u64 + 1 < self.config.min_frequency {
                continue;
            }
            // It joins the vocabulary now: the files that proposed it
            // before are tagged again so that they get it too.
            for other in others.iter().take(PROMOTION_RETAGS) {
                match self.index.get_file_internal(*other).await {
                    Ok(f) if !f.tags.iter().any(|t| t.name == name) => {
                        self.index.requeue(*other).await?;
                    }
                    _ => {}
                }
            }
            push(&mut tags, name, score);
        }
        Ok((tags, terms))
    }

    /// Selective: the model's picks, kept only when they are among the choices.
    fn resolve_selected(&self, picked: Vec<String>, choices: &[String]) -> Vec<ProposedTag> {
        let mut tags = Vec::new();
        for (i, name) in picked.into_iter().enumerate() {
            if choices.contains(&name) {
                push(&mut tags, name, 0.9 - 0.05 * i as f32);
            }
        }
        tags
    }
}

fn push(tags: &mut Vec<ProposedTag>, name: String, score: f32) {
    if !tags.iter().any(|t| t.name == name) {
        tags.push(ProposedTag {
            name,
            score: score.clamp(0.05, 1.0),
            source: TagSource::Llm,
        });
    }
}

/// Small models like to echo the file name back as a tag.
fn is_file_name(tag: &str, file_name: &str) -> bool {
    let name = normalize_tag(file_name).unwrap_or_default();
    let stem = file_name
        .rsplit_once('.')
        .map(|(s, _)| s)
        .and_then(|s| normalize_tag(s).ok())
        .unwrap_or_default();
    tag == name || tag == stem
}

#[async_trait]
impl Tagger for TagGptTagger {
    async fn tag(
        &self,
        file: &FileRecord,
        content: &Extracted,
        source: Option<&Path>,
    ) -> Result<TagResult, JobError> {
        let offline = self.offline.tag(file, content, source).await?;
        let media = content.media_type.as_str();
        let transcript = match source {
            Some(path)
                if self.llm.transcribes()
                    && (media.starts_with("audio/") || media.starts_with("video/")) =>
            {
                match self.llm.transcribe(path, &file.name).await {
                    Ok(t) => Some(t),
                    Err(e @ LlmError::Unavailable(_)) => {
                        return Err(JobError::ModelUnavailable {
                            fallback: Box::new(offline),
                            reason: e.to_string(),
                        });
                    }
                    Err(LlmError::Rejected(reason)) => {
                        tracing::info!(%reason, "transcription refused; tagging from metadata");
                        None
                    }
                }
            }
            _ => None,
        };
        let image = match source {
            Some(path)
                if media.starts_with("image/") && self.llm.config().vision_model.is_some() =>
            {
                tokio::fs::read(path).await.ok()
            }
            _ => None,
        };
        let view = FileView {
            name: &file.name,
            media_type: media,
            text: &content.text,
            transcript: transcript.as_deref(),
            metadata: &content.metadata,
        };
        let vocab = self.vocabulary(&file.owner).await?;
        // Selective mode retrieves the vocabulary tags nearest to the
        // content; the file's stored embedding is the worker's business.
        let choices: Option<Vec<String>> = if self.config.mode == TaggingMode::Selective
            && vocab.len() >= self.config.min_vocabulary
        {
            self.embedder
                .embed(&[embedding_text(&view, &[])])
                .await
                .map_err(|e| JobError::Transient(e.to_string()))?
                .pop()
                .filter(|e| graphfs_embeddings::is_usable(e))
                .map(|e| {
                    vocab
                        .nearest(&e, self.config.top_k)
                        .into_iter()
                        .map(|(v, _)| v.name.clone())
                        .collect()
                })
        } else {
            None
        };
        let image_part = image.as_deref().map(|b| (media, b));
        let (answer, echo) = match self.ask(&view, choices.as_deref(), image_part).await {
            Ok(a) => a,
            Err(e @ LlmError::Unavailable(_)) => {
                return Err(JobError::ModelUnavailable {
                    fallback: Box::new(offline),
                    reason: e.to_string(),
                });
            }
            Err(LlmError::Rejected(reason)) => {
                tracing::warn!(%reason, "model refused the request; keeping the offline tags");
                return Ok(offline);
            }
        };
        let parsed: Vec<String> = parse_tags(&answer, &self.config.rules)
            .into_iter()
            .filter(|t| !prompt::words(t).iter().all(|w| echo.contains(w)))
            .collect();
        tracing::debug!(answer = %answer, parsed = ?parsed, "model answer");
        let (model_tags, candidate_terms) = match &choices {
            Some(c) => (self.resolve_selected(parsed, c), Vec::new()),
            None => self.resolve_generated(parsed, &vocab, file).await?,
        };
        // Type and metadata tags always; then the model's tags, or the
        // keyword tags when the model gave nothing usable.
        let mut tags: Vec<ProposedTag> = offline
            .tags
            .iter()
            .filter(|t| t.source == TagSource::Metadata)
            .cloned()
            .collect();
        // A few keyword tags stand in: a file is never left without a
        // topic, but one-off keywords must not swamp the shared vocabulary.
        let fill: Vec<ProposedTag> = if model_tags.is_empty() {
            offline
                .tags
                .iter()
                .filter(|t| t.source != TagSource::Metadata)
                .take(self.config.fallback_tags)
                .cloned()
                .collect()
        } else {
            model_tags
        };
        for t in fill.into_iter().take(self.config.rules.max_tags) {
            if !tags.iter().any(|x| x.name == t.name) {
                tags.push(t);
            }
        }
        let mut terms = offline.terms;
        terms.extend(candidate_terms);
        Ok(TagResult { tags, terms })
    }
}

/// The text a file's embedding is computed from: its name, its tags when
/// known, then the start of its transcript and text.
pub fn embedding_text(view: &FileView<'_>, tags: &[&str]) -> String {
    let mut s = view.name.replace(['_', '-', '.'], " ");
    if !tags.is_empty() {
        s.push_str(". Topics: ");
        s.push_str(&tags.join(", "));
    }
    if let Some(t) = view.transcript {
        s.push_str(". ");
        s.extend(t.chars().take(1000));
    }
    if !view.text.trim().is_empty() {
        s.push_str(". ");
        s.extend(
            view.text
                .split_whitespace()
                .take(120)
                .flat_map(|w| [w, " "])
                .flat_map(str::chars),
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_not_tags() {
        assert!(is_file_name("soup.txt", "Soup.txt"));
        assert!(is_file_name("soup", "soup.txt"));
        assert!(!is_file_name("cooking", "soup.txt"));
    }

    #[test]
    fn embedding_text_starts_with_the_name_and_is_bounded() {
        let m = serde_json::json!({});
        let long = "word ".repeat(5000);
        let v = FileView {
            name: "winter_soups.md",
            media_type: "text/markdown",
            text: &long,
            transcript: None,
            metadata: &m,
        };
        let t = embedding_text(&v, &["cooking", "soup"]);
        assert!(
            t.starts_with("winter soups md. Topics: cooking, soup. word"),
            "{t}"
        );
        assert!(t.split_whitespace().count() < 130);
    }
}
