//! What the taggers read to keep a vocabulary: tag counts, terms and corpus
//! statistics. A file is tagged from its owner's vocabulary (the tags on the
//! owner's files) and its candidate tags are counted over the owner's files,
//! so no tag name from another user's files can reach it, and its word
//! weights come from the owner's files alone; only an admin's rebuild reads
//! the whole installation's. These are never served to users
//! as they are.

use async_trait::async_trait;

use crate::{CorpusStats, FileId, Result, TagInfo};

#[async_trait]
pub trait Vocabulary: Send + Sync + 'static {
    /// The vocabulary of the files `owner` owns (of every file, without an
    /// owner: an admin's rebuild), with counts, most used first.
    async fn vocabulary(&self, owner: Option<&str>, limit: usize) -> Result<Vec<TagInfo>>;
    /// Files of `owner` whose tagging recorded `term` (at most `limit`).
    async fn files_with_term(&self, owner: &str, term: &str, limit: usize) -> Result<Vec<FileId>>;
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
    /// Document count and document frequencies of `terms` over the files of
    /// `owner` whose tagging recorded terms. Kept per owner, so that no
    /// user's files weigh the words of another's.
    async fn corpus_stats(&self, owner: &str, terms: &[String]) -> Result<CorpusStats>;
}
