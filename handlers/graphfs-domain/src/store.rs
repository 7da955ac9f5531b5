//! The two seams where storage plugs in. The embedded backends implement
//! them for the single-process default; MinIO and Neo4j implement them for a
//! cluster. Both pass the same contract suite (`contract` module).

use std::pin::Pin;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::Stream;

use crate::{
    CorpusStats, FileId, FileQuery, FileRecord, GraphStart, GraphView, Job, NewFile, Page,
    QueueDepth, RelatedTag, Result, SearchHit, SimilarFile, TagInfo, TaggingOutcome, UserId,
};

/// A stream of body chunks. Errors are `io::Error` so that size limits and
/// client disconnects travel through unchanged.
pub type ByteStream = Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>>;

/// An inclusive byte range, as HTTP `Range: bytes=start-end` means it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    pub start: u64,
    /// Inclusive end; `None` reads to the end of the object.
    pub end: Option<u64>,
}

impl ByteRange {
    /// Resolves an optional range against an object's size into an inclusive
    /// `(start, end)`, the same way for every backend. An empty object has
    /// the (0, 0) "range" and an empty body.
    pub fn resolve(range: Option<ByteRange>, size: u64) -> Result<(u64, u64)> {
        match range {
            None => Ok((0, size.saturating_sub(1))),
            Some(r) => {
                if r.start >= size || r.end.is_some_and(|e| e < r.start) {
                    return Err(crate::Error::RangeNotSatisfiable { size });
                }
                let end = r.end.map_or(size - 1, |e| e.min(size - 1));
                Ok((r.start, end))
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    pub key: String,
    pub size: u64,
    pub modified: DateTime<Utc>,
}

pub struct ObjectBody {
    /// The whole object's size.
    pub size: u64,
    /// The inclusive range delivered (the whole object when none was asked).
    pub start: u64,
    pub end: u64,
    pub stream: ByteStream,
}

impl std::fmt::Debug for ObjectBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectBody")
            .field("size", &self.size)
            .field("start", &self.start)
            .field("end", &self.end)
            .finish_non_exhaustive()
    }
}

/// Where file bytes live. Keys are opaque ASCII strings chosen by GraphFS.
#[async_trait]
pub trait ObjectStore: Send + Sync + 'static {
    /// Stores the stream under `key`, replacing any object there. The write
    /// is atomic: readers see the old object or the whole new one, and a
    /// failed or interrupted put leaves nothing behind. Returns bytes written.
    async fn put(&self, key: &str, body: ByteStream) -> Result<u64>;

    /// Reads the object, or the part of it in `range`. A range starting past
    /// the end is [`crate::Error::RangeNotSatisfiable`]; an end past the end
    /// is clipped.
    async fn get(&self, key: &str, range: Option<ByteRange>) -> Result<ObjectBody>;

    async fn head(&self, key: &str) -> Result<ObjectMeta>;

    /// Removes the object. Returns whether it existed; removing a missing
    /// object is not an error, so retries of a half-done delete succeed.
    async fn delete(&self, key: &str) -> Result<bool>;

    /// Lists objects whose key starts with `prefix`, in key order, starting
    /// after `after`, at most `limit`.
    async fn list(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ObjectMeta>>;

    /// Cheap reachability check for readiness probes.
    async fn ping(&self) -> Result<()>;
}

/// How a job's failure should be recorded.
#[derive(Debug, Clone, PartialEq)]
pub enum JobFailure {
    /// Try again no earlier than this.
    RetryAt(DateTime<Utc>),
    /// Give up: the file's status becomes `failed` with the reason.
    GiveUp,
}

/// The file/tag graph, its search indexes and the tagging queue.
///
/// Every read takes the viewer and sees only files the viewer owns or that
/// are shared with them. Not-visible and not-existing are both `NotFound`, so
/// ids of other users' files cannot be probed.
#[async_trait]
pub trait GraphIndex: Send + Sync + 'static {
    // ---- users and tokens ----

    /// Creates the user if missing and registers the hash of a bearer token.
    async fn add_token(&self, user: &str, token_sha256: &str) -> Result<()>;
    /// The user a token hash belongs to, if any.
    async fn user_for_token(&self, token_sha256: &str) -> Result<Option<UserId>>;

    // ---- files ----

    /// Creates the file node and queues its tagging job, atomically. A second
    /// node for the same object key is a `Conflict`.
    async fn create_file(&self, file: NewFile) -> Result<FileRecord>;
    async fn get_file(&self, viewer: &str, id: FileId) -> Result<FileRecord>;
    async fn list_files(&self, viewer: &str, query: &FileQuery) -> Result<Page<FileRecord>>;
    /// Renames a file (owner only).
    async fn rename_file(&self, viewer: &str, id: FileId, name: &str) -> Result<FileRecord>;
    /// Removes the node, every edge and its job (owner only). Returns the
    /// removed record so the caller can delete the object.
    async fn delete_file(&self, viewer: &str, id: FileId) -> Result<FileRecord>;
    /// Shares a file with another user (owner only), or stops sharing.
    async fn set_shared(
        &self,
        viewer: &str,
        id: FileId,
        user: &str,
        shared: bool,
    ) -> Result<FileRecord>;
    /// Every file id with its object key, for reconciliation with the store,
    /// in id order after `after`.
    async fn all_file_ids(&self, after: Option<FileId>, limit: usize) -> Result<Vec<FileId>>;
    /// A file for internal use (handlers), regardless of viewer.
    async fn get_file_internal(&self, id: FileId) -> Result<FileRecord>;
    /// The file whose bytes are at `key`, if any.
    async fn file_by_object_key(&self, key: &str) -> Result<Option<FileId>>;

    // ---- tags ----

    /// Adds a user tag (owner only). Clears an earlier removal of that tag.
    async fn add_user_tag(&self, viewer: &str, id: FileId, tag: &str) -> Result<FileRecord>;
    /// Removes a tag from a file whatever its source (owner only); a removed
    /// machine tag is remembered so re-tagging does not bring it back.
    async fn remove_tag(&self, viewer: &str, id: FileId, tag: &str) -> Result<FileRecord>;
    /// The vocabulary as seen by the viewer, most used first.
    async fn list_tags(
        &self,
        viewer: &str,
        prefix: Option<&str>,
        limit: usize,
    ) -> Result<Vec<TagInfo>>;
    /// Tags that co-occur with `tag` on the viewer's files, most shared first.
    async fn related_tags(&self, viewer: &str, tag: &str, limit: usize) -> Result<Vec<RelatedTag>>;
    /// Files similar to `id` (SIMILAR edges), best first.
    async fn similar_files(
        &self,
        viewer: &str,
        id: FileId,
        limit: usize,
    ) -> Result<Vec<SimilarFile>>;
    /// Replaces the SIMILAR edges going out of a file.
    async fn set_similar(&self, id: FileId, similar: &[(FileId, f32)]) -> Result<()>;
    /// Files whose content embedding is closest to `embedding` (cosine,
    /// best first), among those `viewer` may see, or all files for `None`.
    async fn nearest_files(
        &self,
        viewer: Option<&str>,
        embedding: &[f32],
        limit: usize,
    ) -> Result<Vec<(FileId, f32)>>;
    /// The whole vocabulary with counts over all files, most used first
    /// (for the taggers, not for users: it ignores visibility).
    async fn vocabulary(&self, limit: usize) -> Result<Vec<TagInfo>>;
    /// Merges tag `from` into `into`, creating `into` when missing (a
    /// rename): every file's edge moves over (a user tag stays a user tag,
    /// a removal stays a removal), and `from` with its aliases become
    /// aliases of `into`, so later taggings of `from` land on `into`.
    async fn merge_tag(&self, from: &str, into: &str) -> Result<()>;
    /// Files whose tagging recorded `term` (at most `limit`).
    async fn files_with_term(&self, term: &str, limit: usize) -> Result<Vec<FileId>>;
    /// Tags some user gave by hand (never merged away by a vocabulary rebuild).
    async fn user_tags(&self) -> Result<Vec<String>>;
    /// Terms starting with `prefix` carried by at least `min_count` tagged
    /// files, most frequent first.
    async fn frequent_terms(
        &self,
        prefix: &str,
        min_count: u64,
        limit: usize,
    ) -> Result<Vec<(String, u64)>>;

    // ---- search and graph ----

    /// Ranked search over names, extracted text and tags.
    async fn search(&self, viewer: &str, query: &str, limit: usize) -> Result<Vec<SearchHit>>;
    /// Nodes and edges around a file or tag, breadth first to `depth` hops,
    /// at most `max_nodes` nodes.
    async fn neighbourhood(
        &self,
        viewer: &str,
        start: &GraphStart,
        depth: u32,
        max_nodes: usize,
    ) -> Result<GraphView>;

    // ---- tagging queue ----

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
    /// Document count and document frequencies of `terms` over tagged files.
    async fn corpus_stats(&self, terms: &[String]) -> Result<CorpusStats>;

    /// Cheap reachability check for readiness probes.
    async fn ping(&self) -> Result<()>;
}
