//! Ranked text search over names, extracted text and tags.

use async_trait::async_trait;

use crate::{Result, SearchHit};

#[async_trait]
pub trait TextSearch: Send + Sync + 'static {
    /// Ranked search over names, extracted text and tags. The query is
    /// split by [`crate::query_terms`], the same way in every backend.
    async fn search(&self, viewer: &str, query: &str, limit: usize) -> Result<Vec<SearchHit>>;
}
