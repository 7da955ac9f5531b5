//! Content embeddings and the SIMILAR edges between files.

use async_trait::async_trait;

use crate::{FileId, Result, SimilarFile};

#[async_trait]
pub trait Similarity: Send + Sync + 'static {
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
}
