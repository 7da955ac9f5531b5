//! The tagging queue: one job per file waiting to be (re)tagged, claimed
//! under a lease by the tagging handlers.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::{FileId, Job, QueueDepth, Result, TaggingOutcome};

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
    /// Extends a lease; `false` when the job is no longer held by `worker`.
    async fn heartbeat(&self, job: &Job, lease: Duration) -> Result<bool>;
    /// Writes the outcome and removes the job in one transaction. `false`
    /// when the lease was lost (another handler owns the job now) or the
    /// file was deleted meanwhile; nothing is written then.
    async fn complete_job(&self, job: &Job, outcome: &TaggingOutcome) -> Result<bool>;
    /// Writes an outcome's text, metadata, tags and embedding while the job
    /// stays held (a degraded result while a model is unavailable, so the
    /// file is searchable meanwhile). `false` when the lease was lost.
    async fn store_partial(&self, job: &Job, outcome: &TaggingOutcome) -> Result<bool>;
    /// Records a failed attempt.
    async fn fail_job(&self, job: &Job, reason: &str, failure: JobFailure) -> Result<()>;
    /// Gives a claimed job back untouched (graceful shutdown).
    async fn release_job(&self, job: &Job) -> Result<()>;
    /// Queues a file for tagging again (re-tag).
    async fn requeue(&self, id: FileId) -> Result<()>;
    async fn queue_depth(&self) -> Result<QueueDepth>;
}
