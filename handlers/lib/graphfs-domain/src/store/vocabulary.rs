//! What the taggers read to keep one shared vocabulary: tag counts, terms
//! and corpus statistics. These ignore visibility; they are never served to
//! users as they are.

use async_trait::async_trait;

use crate::{CorpusStats, FileId, Result, TagInfo};

#[async_trait]
pub trait Vocabulary: Send + Sync + 'static {
    /// The whole vocabulary with counts over all files, most used first.
    async fn vocabulary(&self, limit: usize) -> Result<Vec<TagInfo>>;
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
    /// Document count and document frequencies of `terms` over tagged files.
    async fn corpus_stats(&self, terms: &[String]) -> Result<CorpusStats>;
}
