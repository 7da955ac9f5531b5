//! Content embeddings and the SIMILAR edges between files.

use async_trait::async_trait;

use crate::{FileId, Result, SimilarFile};

#[async_trait]
pub trait Similarity: Send + Sync + 'static {
    /// Records the embedding model whose vectors the index holds. When it
    /// differs from the one recorded (another model, or another length),
    /// every stored embedding and SIMILAR edge is dropped, the vector index
    /// is rebuilt for the new length, and every file is queued to be tagged
    /// (and so embedded) again; returns how many were queued. Each process
    /// that embeds calls this at start. Until a model is recorded, and for
    /// vectors of another length than the recorded model's, writes of an
    /// embedding fail with `InvalidInput` instead of dropping it silently.
    async fn use_embedding_model(&self, model: &str, dimensions: usize) -> Result<u64>;
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
