//! The tagging queue: one job per file waiting to be (re)tagged, claimed
//! under a lease by the tagging handlers.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::{FileId, FileRecord, Job, QueueDepth, Result, TaggingOutcome};

/// How a job's failure should be recorded.
#[derive(Debug, Clone, PartialEq)]
pub enum JobFailure {
    /// Try again no earlier than this.
    RetryAt(DateTime<Utc>),
    /// Give up: the file's status becomes `failed` with the reason.
    GiveUp,
}

#[async_trait]
pub trait JobQueue: Send + Sync + 'static {
    /// Claims the oldest due job under a lease; `None` when nothing is due.
    /// Two concurrent claims never get the same job.
    async fn claim_job(&self, worker: &str, lease: Duration) -> Result<Option<Job>>;
    /// [`JobQueue::claim_job`], and the claimed file as
    /// `FileCatalog::get_file_internal` reads it where the backend reads
    /// both in one round trip (a tagger's first read; Neo4j); `None` for the
    /// file where it does not, and the caller reads it.
    async fn claim_job_and_file(
        &self,
        worker: &str,
        lease: Duration,
    ) -> Result<Option<(Job, Option<FileRecord>)>> {
        Ok(self.claim_job(worker, lease).await?.map(|job| (job, None)))
    }
    /// Extends a lease; `false` when the job is no longer held by `worker`.
    async fn heartbeat(&self, job: &Job, lease: Duration) -> Result<bool>;
    /// Writes the outcome and finishes the job ([`JobQueue::finish_job`])
    /// in one transaction. `false` when the lease was lost (another handler
    /// owns the job now) or the file was deleted meanwhile; nothing is
    /// written then.
    async fn complete_job(&self, job: &Job, outcome: &TaggingOutcome) -> Result<bool>;
    /// Writes an outcome's text, metadata, tags and embedding while the job
    /// stays held and the file `running`: a degraded result while a model is
    /// unavailable (the file is searchable meanwhile), or a result with work
    /// left to do before [`JobQueue::finish_job`]. `false` when the lease was
    /// lost.
    async fn store_partial(&self, job: &Job, outcome: &TaggingOutcome) -> Result<bool>;
    /// Ends a held job whose outcome is stored: the file is `done` and the
    /// job removed; or, when the file was queued again while the job was
    /// held, the job is queued again and the file `pending`, so that it is
    /// never seen `done` with a re-tag still to come. `false` when the lease
    /// was lost.
    async fn finish_job(&self, job: &Job) -> Result<bool>;
    /// Records a failed attempt. A file queued again while the job was held
    /// is queued again instead, with fresh attempts: what it was queued for
    /// (new content, a re-tag) has not been tried.
    async fn fail_job(&self, job: &Job, reason: &str, failure: JobFailure) -> Result<()>;
    /// Gives a claimed job back untouched (graceful shutdown).
    async fn release_job(&self, job: &Job) -> Result<()>;
    /// Queues a file for tagging again (re-tag, new content, a new tag in
    /// its owner's vocabulary). A job that a handler holds now is marked,
    /// and its end queues it again: a re-queue during tagging is never lost.
    async fn requeue(&self, id: FileId) -> Result<()>;
    async fn queue_depth(&self) -> Result<QueueDepth>;
}
