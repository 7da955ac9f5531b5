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

use std::borrow::Cow;
use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use graphfs_domain::{FileRecord, ProposedTag, TagSource, TaggingOutcome, normalize_tag};
use graphfs_embeddings::Embedder;
use graphfs_extract::Extracted;

use crate::admission::{Admission, Proposal};
use crate::llm::{LlmApi, LlmClient, LlmError};
use crate::parse::{TagRules, parse_tags};
use crate::prompt::{self, FileView, TagLanguage};
use crate::{JobError, OfflineTagger, TagResult, Tagger};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaggingMode {
    Generative,
    Selective,
}

/// How the LLM is asked. Matching to the vocabulary and admitting new tags
/// is the offline tagger's [`Admission`], shared with it.
#[derive(Debug, Clone)]
pub struct TagGptConfig {
    pub mode: TaggingMode,
    pub rules: TagRules,
    /// Vocabulary tags offered to the model in selective mode.
    pub top_k: usize,
    /// Below this many vocabulary tags, selective mode tags generatively.
    pub min_vocabulary: usize,
    pub language: TagLanguage,
    /// Characters of content in a prompt.
    pub max_prompt_chars: usize,
    /// Keyword tags given when the model offers nothing usable.
    pub fallback_tags: usize,
}

impl Default for TagGptConfig {
    fn default() -> Self {
        TagGptConfig {
            mode: TaggingMode::Generative,
            rules: TagRules::default(),
            top_k: 20,
            min_vocabulary: 5,
            language: TagLanguage::Auto,
            max_prompt_chars: 1500,
            fallback_tags: 3,
        }
    }
}

pub struct TagGptTagger {
    llm: LlmClient,
    embedder: Arc<dyn Embedder>,
    offline: OfflineTagger,
    admission: Arc<Admission>,
    config: TagGptConfig,
}

impl TagGptTagger {
    /// `offline` supplies the keyword fallback and the vocabulary (its
    /// [`Admission`], which should match by meaning: built with an embedder).
    pub fn new(
        llm: LlmClient,
        embedder: Arc<dyn Embedder>,
        offline: OfflineTagger,
        config: TagGptConfig,
    ) -> Self {
        TagGptTagger {
            llm,
            embedder,
            admission: offline.admission().clone(),
            offline,
            config,
        }
    }

    /// `owner`'s vocabulary, as the tagger matches against it.
    pub async fn vocabulary(&self, owner: &str) -> Result<Arc<crate::vocab::Vocabulary>, JobError> {
        self.admission.vocabulary(owner).await
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

    /// Generative: proposed tags go through the vocabulary (matched, or
    /// counted as candidates until frequent enough). Returns the tags and
    /// the candidate terms to count.
    async fn resolve_generated(
        &self,
        proposed: Vec<String>,
        file: &FileRecord,
    ) -> Result<(Vec<ProposedTag>, Vec<String>), JobError> {
        let proposals = proposed
            .into_iter()
            .filter(|name| !is_file_name(name, &file.name))
            .enumerate()
            .map(|(i, name)| Proposal {
                name,
                score: 0.9 - 0.05 * i as f32,
                source: TagSource::Llm,
            })
            .collect();
        let admitted = self.admission.admit(file, proposals).await?;
        Ok((admitted.tags, admitted.terms))
    }

    /// Selective: the model's picks, kept only when they are among the choices.
    fn resolve_selected(&self, picked: Vec<String>, choices: &[String]) -> Vec<ProposedTag> {
        let mut tags = Vec::new();
        for (i, name) in picked.into_iter().enumerate() {
            if choices.contains(&name) {
                let score = (0.9 - 0.05 * i as f32).clamp(0.05, 1.0);
                if !tags.iter().any(|t: &ProposedTag| t.name == name) {
                    tags.push(ProposedTag {
                        name,
                        score,
                        source: TagSource::Llm,
                    });
                }
            }
        }
        tags
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
        let offline = self.offline.propose(file, content).await?;
        let media = content.media_type.as_str();
        // A vision model sees the picture, or a video's middle keyframe.
        let vision = self.llm.config().vision_model.is_some();
        let image: Option<(&str, Cow<'_, [u8]>)> = match source {
            Some(path) if vision && media.starts_with("image/") => tokio::fs::read(path)
                .await
                .ok()
                .map(|b| (media, Cow::Owned(b))),
            _ if vision => content
                .keyframe
                .as_deref()
                .map(|b| ("image/png", Cow::Borrowed(b))),
            _ => None,
        };
        let view = FileView {
            name: &file.name,
            media_type: media,
            text: &content.text,
            metadata: &content.metadata,
        };
        let vocab = self.admission.vocabulary(&file.owner).await?;
        // Selective mode retrieves the vocabulary tags nearest to the
        // content; the file's stored embedding is the worker's business.
        let choices: Option<Vec<String>> = if self.config.mode == TaggingMode::Selective
            && vocab.len() >= self.config.min_vocabulary
        {
            embed_one(self.embedder.as_ref(), embedding_text(&view, &[]))
                .await?
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
        let image_part = image.as_ref().map(|(m, b)| (*m, b.as_ref()));
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
            None => self.resolve_generated(parsed, file).await?,
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
        Ok(TagResult {
            tags,
            terms,
            embedding: None,
        })
    }

    async fn stored(&self, file: &FileRecord, outcome: &TaggingOutcome) -> Result<(), JobError> {
        self.admission
            .recount_stored(file, &outcome.tags, &outcome.terms)
            .await
    }

    async fn follows_up(&self, file: &FileRecord, outcome: &TaggingOutcome) -> bool {
        self.admission
            .has_recount(file, &outcome.tags, &outcome.terms)
            .await
    }
}

/// The embedding of one text; none when the model gives an unusable one
/// (all zeros: text it cannot represent).
pub(crate) async fn embed_one(
    embedder: &dyn Embedder,
    text: String,
) -> Result<Option<Vec<f32>>, JobError> {
    Ok(embedder
        .embed(&[text])
        .await
        .map_err(|e| JobError::Transient(e.to_string()))?
        .pop()
        .filter(|e| graphfs_embeddings::is_usable(e)))
}

/// The text a file's embedding is computed from: its name, its tags when
/// known, then the start of its text.
pub fn embedding_text(view: &FileView<'_>, tags: &[&str]) -> String {
    let mut s = view.name.replace(['_', '-', '.'], " ");
    if !tags.is_empty() {
        s.push_str(". Topics: ");
        s.push_str(&tags.join(", "));
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
