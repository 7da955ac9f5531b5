//! The GraphFS tagging handler: a job worker and the taggers it drives.
//!
//! A [`Tagger`] turns a file's extracted content into tags. The offline
//! [`OfflineTagger`] (keywords against corpus statistics, plus tags from the
//! file's type and metadata) needs no model and sends nothing anywhere; the
//! [`TagGptTagger`] asks an LLM behind any OpenAI-compatible API. Both fold
//! what they propose into the owner's one vocabulary the same way
//! ([`Admission`]): inflections and (with embeddings) synonyms become the
//! tag already there, and a new tag waits until enough files propose it.

pub mod admission;
pub mod keywords;
pub mod llm;
pub mod morph;
pub mod parse;
pub mod prompt;
pub mod rebuild;
mod stopwords;
pub mod taggpt;
pub mod taxonomy;
pub mod vocab;
mod worker;

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use graphfs_domain::{FileRecord, GraphIndex, ProposedTag, TagSource, TaggingOutcome};
use graphfs_extract::Extracted;

pub use admission::{Admission, AdmissionConfig, DEFAULT_FREQUENCY_SCALE, Proposal};
pub use taggpt::{TagGptConfig, TagGptTagger, TaggingMode};
pub use taxonomy::{Taxonomy, Topics, ZeroShot};
pub use worker::{ExtractMode, JobError, SimilarityConfig, Worker, WorkerConfig};

/// What a tagger found for one file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TagResult {
    /// Best first, bounded by the tagger.
    pub tags: Vec<ProposedTag>,
    /// The document's distinct terms, stored for corpus statistics.
    pub terms: Vec<String>,
    /// The content's embedding, when the tagger computed one (it is then
    /// stored as the file's, rather than computed again).
    pub embedding: Option<Vec<f32>>,
}

#[async_trait]
pub trait Tagger: Send + Sync + 'static {
    /// Tags a file from its extracted content; `source` is a local copy of
    /// (the head of) its bytes, for models that take images or audio.
    async fn tag(
        &self,
        file: &FileRecord,
        content: &Extracted,
        source: Option<&Path>,
    ) -> Result<TagResult, JobError>;

    /// Called once `outcome` is stored for `file`, its proposals now in the
    /// index for other taggers (other processes too) to count.
    async fn stored(&self, _file: &FileRecord, _outcome: &TaggingOutcome) -> Result<(), JobError> {
        Ok(())
    }

    /// Whether [`Tagger::stored`] may have work to do for `outcome`. When it
    /// has none, the worker writes the outcome and ends the job in one
    /// transaction instead of two, and does not call it. `true` unless the
    /// tagger knows better: one that overrides `stored` says when.
    async fn follows_up(&self, _file: &FileRecord, _outcome: &TaggingOutcome) -> bool {
        true
    }
}

/// Keyword tags ranked against the corpus and admitted by the owner's
/// vocabulary, plus type and metadata tags.
pub struct OfflineTagger {
    keywords: Arc<keywords::KeywordTagger>,
    index: Arc<dyn GraphIndex>,
    admission: Arc<Admission>,
    /// Most topic and keyword tags one file gets.
    max_tags: usize,
    zero_shot: ZeroShot,
}

impl OfflineTagger {
    /// `config.max_tags` keyword candidates are proposed per file; at most
    /// `max_tags` of them that the vocabulary admits become its tags.
    pub fn new(
        index: Arc<dyn GraphIndex>,
        config: keywords::KeywordConfig,
        admission: Arc<Admission>,
        max_tags: usize,
    ) -> Self {
        OfflineTagger {
            keywords: Arc::new(keywords::KeywordTagger::new(config)),
            index,
            admission,
            max_tags,
            zero_shot: ZeroShot::default(),
        }
    }

    /// How taxonomy topics (of the admission's taxonomy) are assigned.
    pub fn with_zero_shot(mut self, zero_shot: ZeroShot) -> Self {
        self.zero_shot = zero_shot;
        self
    }

    pub fn admission(&self) -> &Arc<Admission> {
        &self.admission
    }

    /// The keyword and metadata tags one file proposes, before its owner's
    /// vocabulary has a say; `terms` are the document's for corpus
    /// statistics.
    pub async fn propose(
        &self,
        file: &FileRecord,
        content: &Extracted,
    ) -> Result<TagResult, JobError> {
        // Segmenting (jieba) and scoring a long text is CPU work: it runs on
        // the blocking pool, so it never stalls the runtime's other tasks
        // (heartbeats, HTTP requests).
        let (keywords, name, media_type, text, metadata) = (
            self.keywords.clone(),
            file.name.clone(),
            content.media_type.clone(),
            content.text.clone(),
            content.metadata.clone(),
        );
        let candidates = tokio::task::spawn_blocking(move || {
            keywords.candidates(&keywords::Document {
                name: &name,
                media_type: &media_type,
                text: &text,
                metadata: &metadata,
            })
        })
        .await
        .map_err(|e| JobError::Transient(format!("keyword extraction stopped: {e}")))?;
        let doc = keywords::Document {
            name: &file.name,
            media_type: &content.media_type,
            text: &content.text,
            metadata: &content.metadata,
        };
        let terms = self.keywords.terms_for_stats(&candidates);
        let stats = self.index.corpus_stats(&file.owner, &terms).await?;
        let fragments = self.phrase_fragments(&content.text).await?;
        let mut tags = self.keywords.metadata_tags(&doc);
        for t in self.keywords.rank(&candidates, &stats) {
            let fragment =
                t.source == TagSource::Keyword && fragments.contains(&morph::plural_key(&t.name));
            if !fragment && !tags.iter().any(|m| m.name == t.name) {
                tags.push(t);
            }
        }
        Ok(TagResult {
            tags,
            terms,
            embedding: None,
        })
    }

    /// The words `text` uses only inside a taxonomy topic's name of several
    /// words: those are no keyword tags (the topic is the tag).
    async fn phrase_fragments(&self, text: &str) -> Result<HashSet<String>, JobError> {
        let Some(topics) = self.admission.topics() else {
            return Ok(HashSet::new());
        };
        let Some(index) = topics
            .index()
            .await
            .map_err(|e| JobError::Transient(format!("embedding the taxonomy: {e}")))?
        else {
            return Ok(HashSet::new());
        };
        // A pass over the whole text: on the blocking pool, as the keywords.
        let text = text.to_string();
        tokio::task::spawn_blocking(move || index.phrase_fragments(&text))
            .await
            .map_err(|e| JobError::Transient(format!("keyword extraction stopped: {e}")))
    }

    /// The taxonomy topics nearest to the file's content, and the content's
    /// embedding; nothing without a taxonomy.
    async fn topics(
        &self,
        file: &FileRecord,
        content: &Extracted,
    ) -> Result<(Vec<ProposedTag>, Option<Vec<f32>>), JobError> {
        let Some(topics) = self.admission.topics() else {
            return Ok((Vec::new(), None));
        };
        let Some(index) = topics
            .index()
            .await
            .map_err(|e| JobError::Transient(format!("embedding the taxonomy: {e}")))?
        else {
            return Ok((Vec::new(), None));
        };
        let view = prompt::FileView {
            name: &file.name,
            media_type: &content.media_type,
            text: &content.text,
            metadata: &content.metadata,
        };
        let text = taggpt::embedding_text(&view, &[]);
        let evidence = taxonomy::Evidence::of(&text);
        let Some(embedding) = taggpt::embed_one(topics.embedder().as_ref(), text).await? else {
            return Ok((Vec::new(), None));
        };
        let tags = index
            .assign(&embedding, evidence.as_ref(), &self.zero_shot)
            .into_iter()
            .map(|(name, score)| ProposedTag {
                name,
                score: score.clamp(0.05, 1.0),
                source: TagSource::Taxonomy,
            })
            .collect();
        Ok((tags, Some(embedding)))
    }
}

#[async_trait]
impl Tagger for OfflineTagger {
    async fn tag(
        &self,
        file: &FileRecord,
        content: &Extracted,
        _source: Option<&Path>,
    ) -> Result<TagResult, JobError> {
        let proposed = self.propose(file, content).await?;
        let (topics, embedding) = self.topics(file, content).await?;
        let (mut tags, keywords): (Vec<ProposedTag>, Vec<ProposedTag>) = proposed
            .tags
            .into_iter()
            .partition(|t| t.source == TagSource::Metadata);
        let admitted = self
            .admission
            .admit(
                file,
                keywords
                    .into_iter()
                    .map(|t| Proposal {
                        name: t.name,
                        score: t.score,
                        source: t.source,
                    })
                    .collect(),
            )
            .await?;
        // Taxonomy topics first, then keywords; a keyword that names a
        // topic, a type or a metadata tag adds nothing.
        let mut kept = 0;
        for t in topics.into_iter().chain(admitted.tags) {
            if kept < self.max_tags && !tags.iter().any(|m| m.name == t.name) {
                tags.push(t);
                kept += 1;
            }
        }
        let mut terms = proposed.terms;
        terms.extend(admitted.terms);
        Ok(TagResult {
            tags,
            terms,
            embedding,
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
