//! The tagging handler's job loop: claim under a lease, keep the lease alive
//! while working, fetch, extract, tag, write the outcome in one transaction,
//! and on failure retry with backoff or give up with the reason on the file.
//!
//! The same loop runs in-process under `graphfs serve` and on its own as
//! `graphfs tagger` (its own pods in a cluster).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use futures::StreamExt;
use graphfs_domain::{Error, FileRecord, GraphIndex, Job, JobFailure, ObjectStore, TaggingOutcome};
use graphfs_extract::{ExtractError, ExtractRequest, Extracted, Isolation, Limits};
use tokio::io::AsyncWriteExt;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::Instrument;

use graphfs_embeddings::Embedder;
use graphfs_extract::ocr;

use crate::{TagResult, Tagger};

/// How content extraction is run.
#[derive(Debug, Clone)]
pub enum ExtractMode {
    /// In a child process with memory and CPU limits: a parser that hangs or
    /// blows up takes down only that process.
    Isolated(Isolation),
    /// On a blocking thread with a timeout (tests, or where no child process
    /// can be started).
    InProcess { timeout: Duration },
}

#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Names this handler in leases (host name and pid by default).
    pub worker_id: String,
    /// Jobs worked on at once.
    pub concurrency: usize,
    pub lease: Duration,
    pub max_attempts: u32,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// Sleep between queue polls when the queue is empty.
    pub poll_interval: Duration,
    /// After shutdown is asked for, in-flight jobs get this long to finish
    /// before they are released for another handler.
    pub shutdown_grace: Duration,
    pub extract: ExtractMode,
    /// Reads the text in images and scanned PDFs; none: they are tagged
    /// from their metadata.
    pub ocr: Option<graphfs_extract::ocr::OcrConfig>,
    /// Transcribes audio and video (an OpenAI-compatible speech-to-text
    /// endpoint); the transcript is the file's text, searched and tagged
    /// whatever the tagging mode.
    pub transcriber: Option<crate::llm::LlmClient>,
    pub limits: Limits,
    /// Where objects are copied for extraction.
    pub scratch_dir: PathBuf,
}

impl WorkerConfig {
    pub fn new(worker_id: impl Into<String>, scratch_dir: PathBuf) -> Self {
        WorkerConfig {
            worker_id: worker_id.into(),
            concurrency: 2,
            lease: Duration::from_secs(60),
            max_attempts: 5,
            backoff_base: Duration::from_secs(2),
            backoff_max: Duration::from_secs(300),
            poll_interval: Duration::from_millis(500),
            shutdown_grace: Duration::from_secs(20),
            extract: ExtractMode::InProcess {
                timeout: Duration::from_secs(60),
            },
            ocr: None,
            transcriber: None,
            limits: Limits::default(),
            scratch_dir,
        }
    }

    /// Exponential backoff with jitter, capped.
    pub fn backoff(&self, attempts: u32) -> Duration {
        let exp = self
            .backoff_base
            .saturating_mul(1u32 << attempts.saturating_sub(1).min(16));
        let capped = exp.min(self.backoff_max);
        // Up to 25% jitter so retries of a burst do not all land together.
        let jitter =
            capped.mul_f64(0.25 * (Utc::now().timestamp_subsec_nanos() % 1000) as f64 / 1000.0);
        capped + jitter
    }
}

/// Why a job did not complete, and whether trying again could help.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("{0}")]
    Permanent(String),
    #[error("{0}")]
    Transient(String),
    /// The model is down or slow: the fallback (offline) result is stored so
    /// the file is searchable meanwhile, and the job is retried later.
    #[error("{reason}")]
    ModelUnavailable {
        fallback: Box<TagResult>,
        reason: String,
    },
}

/// SIMILAR edges from file embeddings.
#[derive(Debug, Clone, Copy)]
pub struct SimilarityConfig {
    /// Most SIMILAR edges going out of a file.
    pub neighbours: usize,
    /// Least cosine similarity for an edge.
    pub threshold: f32,
}

impl Default for SimilarityConfig {
    fn default() -> Self {
        SimilarityConfig {
            neighbours: 5,
            threshold: 0.2,
        }
    }
}

/// How a job's work ended, when not with an outcome.
enum Failure {
    Job(JobError),
    /// A partial outcome to store while the job waits for a retry.
    Degraded(Box<TaggingOutcome>, String),
}

/// A tagged file whose job is still to end.
enum Tagged {
    /// Its outcome stored and followed up (this many tags).
    Stored(usize),
    /// Nothing to follow up: the outcome, to write as the job ends.
    ToWrite(TaggingOutcome),
}

/// Why a tagged file's outcome was not stored.
enum StoreError {
    /// Another handler holds the job now, or the file is gone.
    LeaseLost,
    Index(Error),
}

impl From<JobError> for Failure {
    fn from(e: JobError) -> Self {
        Failure::Job(e)
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Job(e.into())
    }
}

impl From<Error> for JobError {
    fn from(e: Error) -> Self {
        match e {
            Error::NotFound(_) | Error::InvalidInput(_) => JobError::Permanent(e.to_string()),
            _ => JobError::Transient(e.to_string()),
        }
    }
}

impl From<ExtractError> for JobError {
    fn from(e: ExtractError) -> Self {
        match e {
            // The same bytes will time out or crash the parser again, but a
            // loaded machine can cause either, so they get the retries.
            ExtractError::Timeout | ExtractError::Crashed(_) | ExtractError::Io(_) => {
                JobError::Transient(format!("content extraction failed: {e}"))
            }
            other => JobError::Permanent(format!("content extraction failed: {other}")),
        }
    }
}

#[derive(Clone)]
pub struct Worker {
    index: Arc<dyn GraphIndex>,
    store: Arc<dyn ObjectStore>,
    tagger: Arc<dyn Tagger>,
    config: Arc<WorkerConfig>,
    embedder: Option<Arc<dyn Embedder>>,
    similarity: SimilarityConfig,
}

impl Worker {
    pub fn new(
        index: Arc<dyn GraphIndex>,
        store: Arc<dyn ObjectStore>,
        tagger: Arc<dyn Tagger>,
        config: WorkerConfig,
    ) -> Self {
        Worker {
            index,
            store,
            tagger,
            config: Arc::new(config),
            embedder: None,
            similarity: SimilarityConfig::default(),
        }
    }

    /// Embeds every file (when the tagger did not) and links it to its
    /// nearest neighbours with SIMILAR edges.
    pub fn with_embeddings(
        mut self,
        embedder: Arc<dyn Embedder>,
        similarity: SimilarityConfig,
    ) -> Self {
        self.embedder = Some(embedder);
        self.similarity = similarity;
        self
    }

    /// Runs until `shutdown` turns true, then stops taking jobs, lets
    /// in-flight ones finish within the grace period and releases the rest.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let cfg = self.config.clone();
        if cfg.concurrency == 0 {
            tracing::info!("tagging worker disabled (concurrency 0)");
            return;
        }
        if let Err(e) = tokio::fs::create_dir_all(&cfg.scratch_dir).await {
            tracing::error!(error = %e, dir = %cfg.scratch_dir.display(), "cannot create scratch dir");
        }
        tracing::info!(worker = %cfg.worker_id, concurrency = cfg.concurrency, "tagging worker started");
        let mut tasks: JoinSet<()> = JoinSet::new();
        let mut held: HashMap<tokio::task::Id, Job> = HashMap::new();
        loop {
            if *shutdown.borrow() {
                break;
            }
            while let Some(done) = tasks.try_join_next_with_id() {
                let id = match done {
                    Ok((id, ())) => id,
                    Err(e) => e.id(),
                };
                held.remove(&id);
            }
            if tasks.len() >= cfg.concurrency {
                tokio::select! {
                    Some(done) = tasks.join_next_with_id() => {
                        let id = match done { Ok((id, ())) => id, Err(e) => e.id() };
                        held.remove(&id);
                    }
                    _ = shutdown.changed() => {}
                }
                continue;
            }
            match self
                .index
                .claim_job_and_file(&cfg.worker_id, cfg.lease)
                .await
            {
                Ok(Some((job, file))) => {
                    let me = self.clone();
                    let j = job.clone();
                    let handle = tasks.spawn(async move { me.process_claimed(j, file).await });
                    held.insert(handle.id(), job);
                }
                Ok(None) => {
                    tokio::select! {
                        _ = tokio::time::sleep(cfg.poll_interval) => {}
                        _ = shutdown.changed() => {}
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot claim a job; backing off");
                    tokio::select! {
                        _ = tokio::time::sleep(cfg.poll_interval * 4) => {}
                        _ = shutdown.changed() => {}
                    }
                }
            }
        }
        tracing::info!(in_flight = tasks.len(), "tagging worker stopping");
        let deadline = tokio::time::sleep(cfg.shutdown_grace);
        tokio::pin!(deadline);
        while !tasks.is_empty() {
            tokio::select! {
                done = tasks.join_next_with_id() => {
                    if let Some(done) = done {
                        let id = match done { Ok((id, ())) => id, Err(e) => e.id() };
                        held.remove(&id);
                    }
                }
                _ = &mut deadline => {
                    tasks.abort_all();
                    while tasks.join_next().await.is_some() {}
                    for job in held.values() {
                        if let Err(e) = self.index.release_job(job).await {
                            tracing::warn!(job = job.id, error = %e, "could not release job; its lease will lapse");
                        } else {
                            tracing::info!(job = job.id, file = %job.file_id, "released unfinished job");
                        }
                    }
                    break;
                }
            }
        }
        tracing::info!("tagging worker stopped");
    }

    /// Works on one claimed job to its end: completed, retried or given up.
    pub async fn process(&self, job: Job) {
        self.process_claimed(job, None).await
    }

    /// [`Worker::process`], with the file when the claim read it.
    async fn process_claimed(&self, job: Job, file: Option<FileRecord>) {
        // The span goes with the future (`instrument`), not with the thread:
        // a guard held across awaits would tag other jobs' events with it.
        let span =
            tracing::info_span!("job", id = job.id, file = %job.file_id, attempt = job.attempts);
        self.process_in_span(job, file).instrument(span).await
    }

    async fn process_in_span(&self, job: Job, file: Option<FileRecord>) {
        let cfg = &self.config;
        // The file and attempt are on the events too (not only the span), so
        // that the logs of a pod alone tell which jobs it held and finished.
        tracing::info!(file = %job.file_id, attempt = job.attempts, "claimed");
        if job.attempts > cfg.max_attempts {
            let reason = format!(
                "gave up after {} attempts (the handler stopped while working on it)",
                cfg.max_attempts
            );
            self.record_failure(&job, &reason, JobFailure::GiveUp).await;
            return;
        }
        let (stop_beat, beat) = self.keep_lease_alive(job.clone());
        let result = match self.work(&job, file).await {
            Ok((file, outcome)) => Ok(self.store_tagged(&job, &file, outcome).await),
            Err(failure) => Err(failure),
        };
        let _ = stop_beat.send(true);
        let _ = beat.await;
        match result {
            Ok(Ok(Tagged::Stored(tags))) => {
                let ended = self.index.finish_job(&job).await;
                self.end_tagged(&job, tags, ended, "could not end the job")
                    .await
            }
            Ok(Ok(Tagged::ToWrite(outcome))) => {
                let ended = self.index.complete_job(&job, &outcome).await;
                let tags = outcome.tags.len();
                self.end_tagged(&job, tags, ended, "could not write the tagging outcome")
                    .await
            }
            Ok(Err(StoreError::LeaseLost)) => {
                tracing::warn!(file = %job.file_id, attempt = job.attempts, "lease lost or file deleted; outcome dropped")
            }
            Ok(Err(StoreError::Index(e))) => {
                let reason = format!("could not write the tagging outcome: {e}");
                self.retry_or_give_up(&job, &reason).await;
            }
            Err(Failure::Degraded(outcome, reason)) => {
                match self.index.store_partial(&job, &outcome).await {
                    Ok(true) => {
                        tracing::info!("stored the offline result while the model is unavailable")
                    }
                    Ok(false) => {}
                    Err(e) => tracing::warn!(error = %e, "could not store the offline result"),
                }
                self.retry_or_give_up(&job, &reason).await
            }
            Err(Failure::Job(JobError::Permanent(reason))) => {
                self.record_failure(&job, &reason, JobFailure::GiveUp).await
            }
            Err(Failure::Job(JobError::Transient(reason))) => {
                self.retry_or_give_up(&job, &reason).await
            }
            Err(Failure::Job(JobError::ModelUnavailable { reason, .. })) => {
                self.retry_or_give_up(&job, &reason).await
            }
        }
    }

    /// Links a tagged file to its nearest files, then stores its outcome
    /// while the job is held and counts its proposals again, when the
    /// tagger has counting to do; else the outcome comes back, to be written
    /// with the job's end in one transaction.
    ///
    /// A file stays `running` until its follow-up is done: the outcome is
    /// stored, what it changes in the vocabulary is counted (which may queue
    /// this very file again), and only then does the job end, so the file
    /// is never seen `done` with a re-tag to come.
    async fn store_tagged(
        &self,
        job: &Job,
        file: &FileRecord,
        outcome: TaggingOutcome,
    ) -> Result<Tagged, StoreError> {
        // Before the outcome, so that a file seen `done` has its links; they
        // are found from the other files' stored embeddings, not its own.
        if let Some(e) = &outcome.embedding {
            self.link_similar(job.file_id, e).await;
        }
        if !self.tagger.follows_up(file, &outcome).await {
            return Ok(Tagged::ToWrite(outcome));
        }
        match self.index.store_partial(job, &outcome).await {
            Ok(true) => {}
            Ok(false) => return Err(StoreError::LeaseLost),
            Err(e) => return Err(StoreError::Index(e)),
        }
        // Best effort: a candidate missed here is counted again when the
        // next file proposes it.
        if let Err(e) = self.tagger.stored(file, &outcome).await {
            tracing::warn!(error = %e, "cannot count the file's candidates again");
        }
        Ok(Tagged::Stored(outcome.tags.len()))
    }

    /// Logs how a tagged file's job ended, or retries it when it could not
    /// end (`failed` says what failed).
    async fn end_tagged(&self, job: &Job, tags: usize, ended: Result<bool, Error>, failed: &str) {
        match ended {
            Ok(true) => {
                tracing::info!(file = %job.file_id, attempt = job.attempts, tags, "tagged")
            }
            Ok(false) => {
                tracing::warn!(file = %job.file_id, attempt = job.attempts, "lease lost or file deleted before the job ended")
            }
            Err(e) => {
                let reason = format!("{failed}: {e}");
                self.retry_or_give_up(job, &reason).await;
            }
        }
    }

    async fn retry_or_give_up(&self, job: &Job, reason: &str) {
        if job.attempts >= self.config.max_attempts {
            let reason = format!("{reason} (gave up after {} attempts)", job.attempts);
            self.record_failure(job, &reason, JobFailure::GiveUp).await;
        } else {
            let wait = self.config.backoff(job.attempts);
            let at = Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default();
            tracing::info!(file = %job.file_id, attempt = job.attempts, retry_in = ?wait, %reason, "will retry");
            self.record_failure(job, reason, JobFailure::RetryAt(at))
                .await;
        }
    }

    async fn record_failure(&self, job: &Job, reason: &str, failure: JobFailure) {
        if failure == JobFailure::GiveUp {
            tracing::warn!(file = %job.file_id, attempt = job.attempts, %reason, "tagging failed");
        }
        if let Err(e) = self.index.fail_job(job, reason, failure).await {
            tracing::warn!(error = %e, "could not record the failure; the lease will lapse and the job comes back");
        }
    }

    /// Extends the lease every third of its length until told to stop.
    fn keep_lease_alive(&self, job: Job) -> (watch::Sender<bool>, tokio::task::JoinHandle<()>) {
        let (tx, mut rx) = watch::channel(false);
        let index = self.index.clone();
        let lease = self.config.lease;
        let handle = tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(lease / 3) => {}
                    _ = rx.changed() => return,
                }
                match index.heartbeat(&job, lease).await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!(job = job.id, "lease lost to another handler");
                        return;
                    }
                    Err(e) => tracing::warn!(job = job.id, error = %e, "heartbeat failed"),
                }
            }
        });
        (tx, handle)
    }

    /// Replaces the file's SIMILAR edges with its nearest neighbours. Best
    /// effort: a failure leaves the old edges, and the next tagging retries.
    async fn link_similar(&self, id: graphfs_domain::FileId, embedding: &[f32]) {
        let sim = self.similarity;
        let found = match self
            .index
            .nearest_files(None, embedding, sim.neighbours + 1)
            .await
        {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!(error = %e, "cannot look up similar files");
                return;
            }
        };
        let edges: Vec<_> = found
            .into_iter()
            .filter(|(other, score)| *other != id && *score >= sim.threshold)
            .take(sim.neighbours)
            .collect();
        if let Err(e) = self.index.set_similar(id, &edges).await {
            tracing::warn!(error = %e, "cannot write SIMILAR edges");
        }
    }

    async fn work(
        &self,
        job: &Job,
        file: Option<FileRecord>,
    ) -> Result<(FileRecord, TaggingOutcome), Failure> {
        let file = match file {
            Some(file) => file,
            None => self.index.get_file_internal(job.file_id).await?,
        };
        let scratch = self
            .config
            .scratch_dir
            .join(format!("{}-{}", file.id, job.id));
        let fetched = self.fetch(&file, &scratch).await;
        let extracted = match fetched {
            Ok(()) => self.extract(&file, &scratch).await,
            Err(e) => Err(e),
        };
        let tagged = match extracted {
            Ok(ref x) => self.tagger.tag(&file, x, Some(&scratch)).await,
            Err(_) => Ok(TagResult::default()),
        };
        let _ = tokio::fs::remove_file(&scratch).await;
        let extracted = extracted?;
        let (tagged, degraded) = match tagged {
            Ok(t) => (t, None),
            Err(JobError::ModelUnavailable { fallback, reason }) => (*fallback, Some(reason)),
            Err(e) => return Err(e.into()),
        };
        // The stored embedding is of the file's name, tags and text: the
        // tags are its gist, and pull files about the same thing together
        // more than their detailed wording does.
        let embedding = match (&self.embedder, tagged.embedding) {
            (None, _) => None,
            // The tagger embedded the content already (same model).
            (Some(_), Some(e)) => Some(e),
            (Some(embedder), None) => {
                let view = crate::prompt::FileView {
                    name: &file.name,
                    media_type: &extracted.media_type,
                    text: &extracted.text,
                    metadata: &extracted.metadata,
                };
                let tag_names: Vec<&str> = tagged.tags.iter().map(|t| t.name.as_str()).collect();
                let text = crate::taggpt::embedding_text(&view, &tag_names);
                crate::taggpt::embed_one(embedder.as_ref(), text).await?
            }
        };
        let outcome = TaggingOutcome {
            text: extracted.text,
            metadata: extracted.metadata,
            media_type: Some(extracted.media_type).filter(|m| *m != file.media_type),
            tags: tagged.tags,
            terms: tagged.terms,
            embedding,
        };
        match degraded {
            Some(reason) => Err(Failure::Degraded(Box::new(outcome), reason)),
            None => Ok((file, outcome)),
        }
    }

    /// Copies at most `max_input_bytes` of the object to a scratch file:
    /// formats that need more are refused by the extractor anyway, and text
    /// formats are tagged from their head.
    async fn fetch(&self, file: &FileRecord, path: &std::path::Path) -> Result<(), JobError> {
        let key = file.object_key.clone();
        let body = self.store.get(&key, None).await.map_err(|e| match e {
            Error::NotFound(_) => {
                JobError::Permanent(format!("the file's content is missing ({key})"))
            }
            other => JobError::Transient(format!("cannot read the file's content: {other}")),
        })?;
        let mut out = tokio::fs::File::create(path)
            .await
            .map_err(|e| JobError::Transient(format!("scratch file: {e}")))?;
        let mut left = self.config.limits.max_input_bytes;
        let mut stream = body.stream;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| JobError::Transient(format!("reading content: {e}")))?;
            let take = (chunk.len() as u64).min(left) as usize;
            out.write_all(&chunk[..take])
                .await
                .map_err(|e| JobError::Transient(format!("scratch file: {e}")))?;
            left -= take as u64;
            if left == 0 {
                break;
            }
        }
        out.flush()
            .await
            .map_err(|e| JobError::Transient(format!("scratch file: {e}")))?;
        Ok(())
    }

    async fn extract(
        &self,
        file: &FileRecord,
        path: &std::path::Path,
    ) -> Result<Extracted, JobError> {
        let req = ExtractRequest {
            path: path.to_path_buf(),
            name: file.name.clone(),
            declared_media_type: file.media_type.clone(),
            limits: self.config.limits,
        };
        let extracted = match &self.config.extract {
            ExtractMode::Isolated(iso) => graphfs_extract::extract_isolated(iso, &req).await,
            ExtractMode::InProcess { timeout } => {
                graphfs_extract::extract_in_process(&req, *timeout).await
            }
        };
        let mut extracted = extracted?;
        if let Some(ocr) = &self.config.ocr
            && ocr::wanted(&extracted.media_type, &extracted.text)
        {
            let pages = extracted.metadata.get("pages").and_then(|p| p.as_u64());
            let pages = pages.and_then(|p| u32::try_from(p).ok());
            match ocr::recognize(ocr, path, &extracted.media_type, pages).await {
                Ok(text) => {
                    tracing::debug!(chars = text.chars().count(), "text read by OCR");
                    if let Some(m) = extracted.metadata.as_object_mut() {
                        m.insert("ocr".into(), (!text.is_empty()).into());
                    }
                    extracted.text = text;
                }
                // The file is still tagged from its metadata; OCR is retried
                // when it is tagged again.
                Err(e) => tracing::warn!(error = %e, "OCR failed"),
            }
        } else if let Some(ocr) = &self.config.ocr
            && ocr.reads_video(&extracted.media_type)
        {
            let duration = extracted
                .metadata
                .get("duration_seconds")
                .and_then(|d| d.as_f64());
            match ocr::read_video(ocr, path, duration).await {
                Ok(seen) => {
                    tracing::debug!(
                        frames = seen.frames,
                        chars = seen.text.chars().count(),
                        "video frames read"
                    );
                    if let Some(m) = extracted.metadata.as_object_mut() {
                        m.insert("ocr".into(), (!seen.text.is_empty()).into());
                        m.insert("frames_read".into(), seen.frames.into());
                    }
                    extracted.text = seen.text;
                    extracted.keyframe = seen.keyframe;
                }
                // As for pictures: tagged without, read again on a re-tag.
                Err(e) => tracing::warn!(error = %e, "reading the video's frames failed"),
            }
        }
        if let Some(transcriber) = &self.config.transcriber
            && is_speech(&extracted.media_type)
        {
            match transcriber.transcribe(path, &file.name).await {
                Ok(text) => {
                    tracing::debug!(chars = text.chars().count(), "transcribed");
                    if let Some(m) = extracted.metadata.as_object_mut() {
                        m.insert("transcribed".into(), true.into());
                    }
                    // What is said first, then what a video shows.
                    extracted.text = if extracted.text.trim().is_empty() {
                        text
                    } else {
                        format!("{}\n\n{}", text.trim_end(), extracted.text)
                    };
                }
                // Down or overloaded: the job is retried with backoff.
                Err(e @ crate::llm::LlmError::Unavailable(_)) => {
                    return Err(JobError::Transient(e.to_string()));
                }
                // This recording cannot be transcribed: tagged from metadata.
                Err(e @ crate::llm::LlmError::Rejected(_)) => {
                    tracing::info!(error = %e, "not transcribed");
                }
            }
        }
        Ok(extracted)
    }
}

fn is_speech(media_type: &str) -> bool {
    media_type.starts_with("audio/") || media_type.starts_with("video/")
}
