//! Ranked text search over names, extracted text and tags.

use async_trait::async_trait;

use crate::{FolderFilter, Result, SearchHit};

#[async_trait]
pub trait TextSearch: Send + Sync + 'static {
    /// Ranked search over names, extracted text and tags, of the files in
    /// `folder` when one is given. The query is split by
    /// [`crate::query_terms`], the same way in every backend.
    async fn search_in(
        &self,
        viewer: &str,
        query: &str,
        folder: Option<&FolderFilter>,
        limit: usize,
    ) -> Result<Vec<SearchHit>>;

    /// [`TextSearch::search_in`] over every file the viewer may see.
    async fn search(&self, viewer: &str, query: &str, limit: usize) -> Result<Vec<SearchHit>> {
        self.search_in(viewer, query, None, limit).await
    }
}
