//! The vocabulary discipline every tagger keeps (TagGPT's, with or without
//! an LLM): a proposed tag that is already in the owner's vocabulary (by
//! name, alias, inflection or, with embeddings, meaning) becomes that tag; a
//! new one is a candidate, counted over the owner's files, and joins the
//! vocabulary only once enough files propose it. When it joins, the files
//! that proposed it before are tagged again so that they get it too.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use graphfs_domain::{
    CANDIDATE_KEY_PREFIX, CANDIDATE_TERM_PREFIX, FileId, FileQuery, FileRecord, GraphIndex,
    ProposedTag, TagSource, TaggingStatus,
};
use graphfs_embeddings::Embedder;
use tokio::sync::{Mutex, RwLock};

use crate::JobError;
use crate::morph::variant_key;
use crate::taxonomy::Topics;
use crate::vocab::{Match, VocabEntry, Vocabulary};

/// Earlier proposers re-tagged when a candidate joins the vocabulary.
const PROMOTION_RETAGS: usize = 50;
/// Owners whose vocabularies are kept loaded at once.
const MAX_CACHED_VOCABULARIES: usize = 256;
/// Tags of one owner's vocabulary loaded for matching.
const VOCABULARY_LIMIT: usize = 5000;
/// How long a tag admitted here is kept beside reloaded vocabularies: the
/// files that carry it may still be in the tagging pipeline when the
/// vocabulary is next read from the graph.
const RECENT_ADMISSION_TTL: Duration = Duration::from_secs(300);
/// Files whose admissions wait to be settled, at most.
const MAX_UNSETTLED: usize = 10_000;

#[derive(Debug, Clone)]
pub struct AdmissionConfig {
    /// Files that must propose a new tag before it joins the vocabulary, at
    /// the least.
    pub min_frequency: u64,
    /// In a larger collection more must: `frequency_scale` × √(the owner's
    /// tagged files), rounded, when that is more than `min_frequency`
    /// (0: never more). See [`AdmissionConfig::required_proposers`].
    pub frequency_scale: f32,
    /// A proposed tag at least this similar (cosine) to a vocabulary tag
    /// becomes that tag (with embeddings only).
    pub match_threshold: f32,
    /// How long a vocabulary is cached between reloads from the graph.
    pub vocabulary_ttl: Duration,
}

impl Default for AdmissionConfig {
    fn default() -> Self {
        AdmissionConfig {
            min_frequency: 2,
            frequency_scale: DEFAULT_FREQUENCY_SCALE,
            match_threshold: 0.8,
            vocabulary_ttl: Duration::from_secs(30),
        }
    }
}

/// With it a keyword needs 2 proposing files up to about 200 tagged files,
/// 4 at 550, 17 at 10,000: the vocabulary then grows by well under one
/// tag per file where a fixed 2 adds about one (`make eval-scale`).
pub const DEFAULT_FREQUENCY_SCALE: f32 = 0.17;

impl AdmissionConfig {
    /// How many of an owner's files must propose a new tag, when `documents`
    /// of them are tagged. A word two files of ten share says something
    /// about them; two files of ten thousand, mostly chance.
    pub fn required_proposers(&self, documents: u64) -> u64 {
        let grown = (self.frequency_scale.max(0.0) as f64 * (documents as f64).sqrt()).round();
        self.min_frequency.max(grown as u64)
    }
}

/// A tag a tagger proposes for a file, best first.
#[derive(Debug, Clone, PartialEq)]
pub struct Proposal {
    pub name: String,
    pub score: f32,
    pub source: TagSource,
}

/// What the vocabulary let through.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Admitted {
    /// Vocabulary tags and candidates frequent enough, in proposal order.
    pub tags: Vec<ProposedTag>,
    /// The candidate terms to record for the file (counted for later files).
    pub terms: Vec<String>,
}

/// A vocabulary as loaded at the instant, from the taxonomy of that version.
type CachedVocabulary = (Instant, u64, Arc<Vocabulary>);
/// An owner and a candidate's variant key.
type OwnerKey = (String, String);

/// Most tag embeddings kept in memory.
const MAX_CACHED_TAG_VECTORS: usize = 50_000;

/// Candidates proposed lately and not admitted ([`Admission::note_proposal`]).
#[derive(Default)]
struct Proposals {
    files: HashMap<OwnerKey, Vec<(Instant, FileId)>>,
    /// Size at which expired entries are next dropped: dropping them at
    /// every proposal would walk the whole map each time.
    prune_at: usize,
}

/// What became of a new candidate ([`Admission::count`]).
#[derive(Debug, PartialEq)]
enum Counted {
    /// It is this vocabulary tag already.
    Known(String),
    /// Enough files propose it: it joined the vocabulary.
    Admitted,
    /// Too few files propose it yet.
    Waiting,
}

/// Owners' vocabularies (cached) and the admission of proposed tags.
pub struct Admission {
    index: Arc<dyn GraphIndex>,
    embedder: Option<Arc<dyn Embedder>>,
    config: AdmissionConfig,
    /// Each owner's vocabulary.
    vocabulary: RwLock<HashMap<String, CachedVocabulary>>,
    /// Tag embeddings survive vocabulary reloads: tags rarely change. At
    /// most [`MAX_CACHED_TAG_VECTORS`].
    tag_vectors: Mutex<HashMap<String, Vec<f32>>>,
    /// Tags admitted here lately, per owner: merged into reloads.
    recent: Mutex<HashMap<String, Vec<(Instant, String)>>>,
    /// New candidates are counted and admitted one at a time, so that two
    /// files proposing two inflections at once give one tag, not two.
    admitting: Mutex<()>,
    /// Candidates proposed here lately and not admitted, per owner and
    /// variant key. A file's proposals reach the index only when its
    /// tagging is stored, so without this two files tagged at the same time
    /// would not count each other, and neither would get the tag.
    proposing: Mutex<Proposals>,
    /// The seeded taxonomy: every owner's vocabulary starts from it.
    topics: Option<Arc<Topics>>,
    /// Tags admitted while tagging each file, looked at again once the
    /// file is stored ([`Admission::settle`]). At most
    /// [`MAX_UNSETTLED`] files: a job that never stores leaves its entry.
    unsettled: Mutex<HashMap<FileId, Vec<String>>>,
}

impl Admission {
    pub fn new(
        index: Arc<dyn GraphIndex>,
        embedder: Option<Arc<dyn Embedder>>,
        config: AdmissionConfig,
    ) -> Self {
        Admission {
            index,
            embedder,
            config,
            vocabulary: RwLock::new(HashMap::new()),
            tag_vectors: Mutex::new(HashMap::new()),
            proposing: Mutex::new(Proposals::default()),
            recent: Mutex::new(HashMap::new()),
            admitting: Mutex::new(()),
            topics: None,
            unsettled: Mutex::new(HashMap::new()),
        }
    }

    /// Starts every owner's vocabulary from the topics of a taxonomy.
    pub fn with_topics(mut self, topics: Arc<Topics>) -> Self {
        self.topics = Some(topics);
        self
    }

    pub fn topics(&self) -> Option<&Arc<Topics>> {
        self.topics.as_ref()
    }

    /// Embeddings of tags, from the cache or computed in one batch; empty
    /// vectors without an embedder.
    pub async fn tag_embeddings(&self, names: &[String]) -> Result<Vec<Vec<f32>>, JobError> {
        let Some(embedder) = &self.embedder else {
            return Ok(vec![Vec::new(); names.len()]);
        };
        let missing: Vec<String> = {
            let cache = self.tag_vectors.lock().await;
            names
                .iter()
                .filter(|n| !cache.contains_key(*n))
                .cloned()
                .collect()
        };
        // Embedded without the lock: other workers' names already cached
        // need not wait for this batch (two workers may embed one new name
        // twice; the vectors are the same).
        let vectors = if missing.is_empty() {
            Vec::new()
        } else {
            embedder
                .embed(&missing)
                .await
                .map_err(|e| JobError::Transient(e.to_string()))?
        };
        let mut cache = self.tag_vectors.lock().await;
        let fresh: HashMap<String, Vec<f32>> = missing.into_iter().zip(vectors).collect();
        let out = names
            .iter()
            .map(|n| {
                fresh
                    .get(n)
                    .or_else(|| cache.get(n))
                    .cloned()
                    .unwrap_or_default()
            })
            .collect();
        // Bounded: 50,000 vectors of 384 floats are 77 MB; past that the
        // cache starts again from the names in use.
        if cache.len() + fresh.len() > MAX_CACHED_TAG_VECTORS {
            cache.clear();
        }
        cache.extend(fresh);
        Ok(out)
    }

    /// `owner`'s vocabulary (the tags on their files: another user's tag
    /// names never reach a file), reloaded from the graph when older than
    /// its TTL or when another taxonomy is in force.
    pub async fn vocabulary(&self, owner: &str) -> Result<Arc<Vocabulary>, JobError> {
        let taxonomy = match &self.topics {
            Some(topics) => topics.version().await,
            None => 0,
        };
        if let Some((at, version, v)) = self.vocabulary.read().await.get(owner)
            && at.elapsed() < self.config.vocabulary_ttl
            && *version == taxonomy
        {
            return Ok(v.clone());
        }
        let mut tags = self.index.vocabulary(Some(owner), VOCABULARY_LIMIT).await?;
        for name in self.recent_admissions(owner).await {
            if !tags.iter().any(|t| t.name == name) {
                tags.push(graphfs_domain::TagInfo {
                    name,
                    count: 1,
                    aliases: Vec::new(),
                    sources: Vec::new(),
                });
            }
        }
        let names: Vec<String> = tags.iter().map(|t| t.name.clone()).collect();
        let vectors = self.tag_embeddings(&names).await?;
        let mut entries: Vec<VocabEntry> = tags
            .into_iter()
            .zip(vectors)
            .map(|(t, embedding)| VocabEntry {
                name: t.name,
                aliases: t.aliases,
                count: t.count,
                embedding,
            })
            .collect();
        let index = match &self.topics {
            Some(topics) => topics
                .index()
                .await
                .map_err(|e| JobError::Transient(format!("embedding the taxonomy: {e}")))?,
            None => None,
        };
        if let Some(index) = index {
            // After the owner's own tags: a name both have is the owner's.
            for (topic, vector) in index.entries() {
                if !entries.iter().any(|e| e.name == topic.name) {
                    entries.push(VocabEntry {
                        name: topic.name.clone(),
                        aliases: topic.aliases.clone(),
                        count: 0,
                        embedding: vector.to_vec(),
                    });
                }
            }
        }
        // Tags the owner rejected are offered to no tagger (the index
        // refuses them too, whatever a tagger proposes).
        // Nor is a rejected name an alias that leads a proposal of it to
        // another tag (an admin may have merged it since).
        let rejected = self.index.rejected_tags(owner).await?;
        entries.retain(|e| !rejected.contains(&e.name));
        for e in &mut entries {
            e.aliases.retain(|a| !rejected.contains(a));
        }
        let vocab = Arc::new(Vocabulary::new(entries));
        let mut cached = self.vocabulary.write().await;
        // Bounded: owners past the bound are forgotten and reloaded on use.
        if cached.len() >= MAX_CACHED_VOCABULARIES {
            cached.retain(|_, (at, _, _)| at.elapsed() < self.config.vocabulary_ttl);
            if cached.len() >= MAX_CACHED_VOCABULARIES {
                cached.clear();
            }
        }
        cached.insert(owner.to_string(), (Instant::now(), taxonomy, vocab.clone()));
        Ok(vocab)
    }

    /// `owner`'s tags admitted here within [`RECENT_ADMISSION_TTL`].
    async fn recent_admissions(&self, owner: &str) -> Vec<String> {
        let mut recent = self.recent.lock().await;
        recent.retain(|_, v| {
            v.retain(|(at, _)| at.elapsed() < RECENT_ADMISSION_TTL);
            !v.is_empty()
        });
        recent
            .get(owner)
            .map(|v| v.iter().map(|(_, n)| n.clone()).collect())
            .unwrap_or_default()
    }

    /// A candidate just admitted is in the cached vocabulary at once, so
    /// that the next files match it rather than count it again.
    async fn remember(&self, owner: &str, name: &str, embedding: Vec<f32>) {
        {
            let mut recent = self.recent.lock().await;
            if recent.len() >= MAX_CACHED_VOCABULARIES && !recent.contains_key(owner) {
                recent.clear();
            }
            recent
                .entry(owner.to_string())
                .or_default()
                .push((Instant::now(), name.to_string()));
        }
        let mut cached = self.vocabulary.write().await;
        if let Some((_, _, vocab)) = cached.get_mut(owner)
            && vocab.find(name).is_none()
        {
            *vocab = Arc::new(vocab.with(VocabEntry {
                name: name.to_string(),
                aliases: Vec::new(),
                count: 1,
                embedding,
            }));
        }
    }

    /// Matches `proposals` to `file`'s owner's vocabulary and admits the
    /// candidates that enough of the owner's files propose.
    pub async fn admit(
        &self,
        file: &FileRecord,
        proposals: Vec<Proposal>,
    ) -> Result<Admitted, JobError> {
        let vocab = self.vocabulary(&file.owner).await?;
        let names: Vec<String> = proposals.iter().map(|p| p.name.clone()).collect();
        let vectors = self.tag_embeddings(&names).await?;
        let mut out = Admitted::default();
        for (p, embedding) in proposals.into_iter().zip(vectors) {
            let emb = Some(embedding.as_slice()).filter(|e| !e.is_empty());
            match vocab.match_tag(&p.name, emb, self.config.match_threshold) {
                Match::Exact(tag) => push(&mut out.tags, tag, p.score, p.source),
                Match::Similar { tag, similarity } => {
                    tracing::debug!(proposed = %p.name, %tag, similarity, "proposal matched by meaning");
                    push(&mut out.tags, tag, p.score.min(similarity), p.source)
                }
                Match::New => {
                    let key = variant_key(&p.name);
                    let key_term = format!("{CANDIDATE_KEY_PREFIX}{key}");
                    match self
                        .count(file, &p.name, &key, &key_term, embedding)
                        .await?
                    {
                        Counted::Known(tag) => {
                            push(&mut out.tags, tag, p.score, p.source);
                            continue;
                        }
                        Counted::Admitted => push(&mut out.tags, p.name.clone(), p.score, p.source),
                        Counted::Waiting => {}
                    }
                    out.terms.push(format!("{CANDIDATE_TERM_PREFIX}{}", p.name));
                    out.terms.push(key_term);
                }
            }
        }
        out.terms.sort();
        out.terms.dedup();
        Ok(out)
    }

    /// Whether [`Admission::recount_stored`] has anything to do for this
    /// tagging of `file`: a word admitted while it was tagged to settle, or
    /// a candidate it proposed that is neither a tag of the owner nor one
    /// of its own. `true` when the vocabulary cannot be read.
    pub async fn has_recount(
        &self,
        file: &FileRecord,
        tags: &[ProposedTag],
        terms: &[String],
    ) -> bool {
        if self.unsettled.lock().await.contains_key(&file.id) {
            return true;
        }
        match self.vocabulary(&file.owner).await {
            Ok(vocab) => !waiting_candidates(&vocab, tags, terms).is_empty(),
            Err(_) => true,
        }
    }

    /// Counts again, once `file`'s tagging is stored, each candidate it
    /// proposed and did not get. Another process may have tagged a file
    /// proposing the same word at the same instant: neither saw the other's
    /// proposal, which was in neither the index nor this process's log.
    /// Whichever of the two is stored last sees both here (its count is
    /// read after its own write), admits the word and queues the proposers
    /// again, itself included.
    pub async fn recount_stored(
        &self,
        file: &FileRecord,
        tags: &[ProposedTag],
        terms: &[String],
    ) -> Result<(), JobError> {
        let admitted = self.unsettled.lock().await.remove(&file.id);
        if let Some(admitted) = admitted {
            self.settle(&file.owner, &admitted).await?;
        }
        let vocab = self.vocabulary(&file.owner).await?;
        let waiting = waiting_candidates(&vocab, tags, terms);
        if waiting.is_empty() {
            return Ok(());
        }
        let key_terms: Vec<String> = waiting
            .iter()
            .map(|(_, key)| format!("{CANDIDATE_KEY_PREFIX}{key}"))
            .collect();
        let stats = self.index.corpus_stats(&file.owner, &key_terms).await?;
        let required = self.config.required_proposers(stats.documents);
        for ((name, key), (key_term, proposers)) in waiting
            .into_iter()
            .zip(key_terms.iter().zip(stats.document_frequency))
        {
            // The count includes this file's own proposal, stored now.
            if proposers < required {
                continue;
            }
            let embedding = self.tag_embeddings(std::slice::from_ref(&name)).await?;
            let embedding = embedding.into_iter().next().unwrap_or_default();
            if self.count(file, &name, &key, key_term, embedding).await? == Counted::Admitted {
                self.index.requeue(file.id).await?;
            }
        }
        Ok(())
    }

    /// Counts a candidate that `file` proposes, one candidate at a time (so
    /// that two files proposing two inflections at once give one tag): the
    /// tag it already is (another file may have admitted it, or an
    /// inflection, while this one waited), else admitted now if enough
    /// files propose it, else noted as proposed by `file`.
    async fn count(
        &self,
        file: &FileRecord,
        name: &str,
        key: &str,
        key_term: &str,
        embedding: Vec<f32>,
    ) -> Result<Counted, JobError> {
        let _one_at_a_time = self.admitting.lock().await;
        if let Some(tag) = self.vocabulary(&file.owner).await?.find(name) {
            return Ok(Counted::Known(tag.to_string()));
        }
        if self.promote(file, name, key, key_term).await? {
            self.remember(&file.owner, name, embedding).await;
            let mut unsettled = self.unsettled.lock().await;
            if unsettled.len() >= MAX_UNSETTLED {
                unsettled.clear();
            }
            unsettled.entry(file.id).or_default().push(name.to_string());
            return Ok(Counted::Admitted);
        }
        self.note_proposal(&file.owner, key, file.id).await;
        Ok(Counted::Waiting)
    }

    /// Whether a candidate (any inflection of it) is proposed by enough of
    /// the owner's files, counting `file`; if so, the others that lack it
    /// are queued to be tagged again.
    async fn promote(
        &self,
        file: &FileRecord,
        name: &str,
        key: &str,
        key_term: &str,
    ) -> Result<bool, JobError> {
        // Most candidates are proposed by one file only: the owner's count
        // of the key (which may include this file's own earlier proposal)
        // rules them out without reading which files propose it.
        let stats = self
            .index
            .corpus_stats(&file.owner, &[key_term.to_string()])
            .await?;
        let proposing = self.proposing_now(&file.owner, key).await;
        let proposers = stats.document_frequency.first().copied().unwrap_or(0)
            + proposing.iter().filter(|id| **id != file.id).count() as u64;
        let required = self.config.required_proposers(stats.documents);
        if proposers + 1 < required {
            return Ok(false);
        }
        // This file's own earlier proposal does not count: a re-tag cannot
        // promote itself.
        let mut others: Vec<FileId> = self
            .index
            .files_with_term(&file.owner, key_term, 1000)
            .await?;
        others.extend(proposing);
        others.sort();
        others.dedup();
        others.retain(|id| *id != file.id);
        if (others.len() as u64) + 1 < required {
            return Ok(false);
        }
        if required > 1 {
            tracing::debug!(
                tag = name,
                files = others.len() + 1,
                required,
                "candidate joins the vocabulary"
            );
        }
        self.proposing
            .lock()
            .await
            .files
            .remove(&(file.owner.clone(), key.to_string()));
        // Files already tagged that lack the tag are queued again. One in
        // flight may have passed its admission already: its job is marked,
        // and queued again when it ends (the file stays busy meanwhile). One
        // still queued proposes the word when its turn comes and gets the
        // tag then; queuing it again would only tag it twice (and, with
        // several tagger processes, set off more of the same).
        for other in others.iter().take(PROMOTION_RETAGS) {
            match self.index.get_file_internal(*other).await {
                Ok(f)
                    if matches!(f.status, TaggingStatus::Done | TaggingStatus::Running)
                        && !f.tags.iter().any(|t| variant_key(&t.name) == key) =>
                {
                    self.index.requeue(*other).await?;
                }
                _ => {}
            }
        }
        Ok(true)
    }

    /// Looks, once a file that admitted `admitted` is stored, for another
    /// inflection of each in the owner's tags. Admission is one candidate at
    /// a time within a process, but two processes may admit `archive` and
    /// `archiving` at the same instant, neither seeing the other's; whichever
    /// is stored last finds both here (it reads after its own write). The
    /// more used stays, as every vocabulary reload now maps the other to it
    /// ([`Vocabulary::find`]); the other's files are queued again once every
    /// process's cached vocabulary has been reloaded, and lose it.
    async fn settle(&self, owner: &str, admitted: &[String]) -> Result<(), JobError> {
        let tags = self.index.vocabulary(Some(owner), VOCABULARY_LIMIT).await?;
        for name in admitted {
            let key = variant_key(name);
            // Most used first (then by name), as a reload orders them.
            let mut group = tags
                .iter()
                .filter(|t| variant_key(&t.name) == key)
                .map(|t| t.name.clone());
            let Some(kept) = group.next() else { continue };
            let others: Vec<String> = group.collect();
            if others.is_empty() {
                continue;
            }
            tracing::info!(%owner, %kept, ?others, "inflections of one word admitted at once; keeping the more used");
            self.vocabulary.write().await.remove(owner);
            if let Some(recent) = self.recent.lock().await.get_mut(owner) {
                recent.retain(|(_, n)| !others.contains(n));
            }
            tokio::spawn(requeue_carriers(
                self.index.clone(),
                owner.to_string(),
                others,
                self.config.vocabulary_ttl,
            ));
        }
        Ok(())
    }

    /// Records that `file` proposed the candidate `key` and did not get it.
    async fn note_proposal(&self, owner: &str, key: &str, file: FileId) {
        let mut proposing = self.proposing.lock().await;
        if proposing.files.len() >= proposing.prune_at {
            proposing.files.retain(|_, files| {
                files.retain(|(at, _)| at.elapsed() < RECENT_ADMISSION_TTL);
                !files.is_empty()
            });
            proposing.prune_at = (2 * proposing.files.len()).max(1024);
        }
        let files = proposing
            .files
            .entry((owner.to_string(), key.to_string()))
            .or_default();
        files.retain(|(at, _)| at.elapsed() < RECENT_ADMISSION_TTL);
        if !files.iter().any(|(_, f)| *f == file) {
            files.push((Instant::now(), file));
        }
    }

    /// The files that proposed `key` here lately and did not get it.
    async fn proposing_now(&self, owner: &str, key: &str) -> Vec<FileId> {
        self.proposing
            .lock()
            .await
            .files
            .get(&(owner.to_string(), key.to_string()))
            .map(|files| {
                files
                    .iter()
                    .filter(|(at, _)| at.elapsed() < RECENT_ADMISSION_TTL)
                    .map(|(_, f)| *f)
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Queues again, after `delay`, `owner`'s own files that carry one of
/// `tags` (at most [`PROMOTION_RETAGS`] each), so that they are tagged with
/// a vocabulary loaded after now.
async fn requeue_carriers(
    index: Arc<dyn GraphIndex>,
    owner: String,
    tags: Vec<String>,
    delay: Duration,
) {
    tokio::time::sleep(delay).await;
    for tag in tags {
        let query = FileQuery {
            tags: vec![tag.clone()],
            shared: Some(false),
            limit: PROMOTION_RETAGS,
            ..FileQuery::default()
        };
        let files = match index.list_files(&owner, &query).await {
            Ok(page) => page.items,
            Err(e) => {
                tracing::warn!(%tag, error = %e, "cannot list the files of a duplicate tag");
                continue;
            }
        };
        for f in files {
            if let Err(e) = index.requeue(f.id).await {
                tracing::warn!(file = %f.id, error = %e, "cannot queue a file again for a duplicate tag");
            }
        }
    }
}

fn push(tags: &mut Vec<ProposedTag>, name: String, score: f32, source: TagSource) {
    if !tags.iter().any(|t| t.name == name) {
        tags.push(ProposedTag {
            name,
            score: score.clamp(0.05, 1.0),
            source,
        });
    }
}

/// The candidates among `terms` still short of the vocabulary, each with
/// its variant key, once: neither a tag of the owner's vocabulary nor one
/// of `tags` (the file may have been cut to its most ranked tags; counting
/// an admitted word again would only queue the file to be cut again).
fn waiting_candidates(
    vocab: &Vocabulary,
    tags: &[ProposedTag],
    terms: &[String],
) -> Vec<(String, String)> {
    let mut waiting: Vec<(String, String)> = Vec::new();
    for name in terms
        .iter()
        .filter_map(|t| t.strip_prefix(CANDIDATE_TERM_PREFIX))
    {
        let key = variant_key(name);
        if vocab.find(name).is_some()
            || tags.iter().any(|t| variant_key(&t.name) == key)
            || waiting.iter().any(|(_, k)| *k == key)
        {
            continue;
        }
        waiting.push((name.to_string(), key));
    }
    waiting
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn larger_collections_need_more_proposers() {
        let config = AdmissionConfig::default();
        let needed: Vec<u64> = [0, 40, 97, 200, 556, 10_000, 1_000_000]
            .into_iter()
            .map(|n| config.required_proposers(n))
            .collect();
        assert_eq!(needed, [2, 2, 2, 2, 4, 17, 170]);
        let fixed = AdmissionConfig {
            min_frequency: 3,
            frequency_scale: 0.0,
            ..AdmissionConfig::default()
        };
        assert_eq!(fixed.required_proposers(1_000_000), 3);
        let one = AdmissionConfig {
            min_frequency: 1,
            ..AdmissionConfig::default()
        };
        assert_eq!(one.required_proposers(3), 1);
    }
}
