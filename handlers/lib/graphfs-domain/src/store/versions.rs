//! Versions: a file's earlier contents, kept when new content replaces it.

use async_trait::async_trait;

use crate::{ContentReplaced, FileId, FileVersion, NewContent, Result};

#[async_trait]
pub trait Versions: Send + Sync + 'static {
    /// Records new content of a file and queues it for tagging again (its
    /// tags described the old bytes), atomically; the caller has checked
    /// who may write. Content at a new object key keeps the content it
    /// replaces as the file's newest version, and drops the oldest beyond
    /// `keep` (0 keeps none). Content at the file's own key was written over
    /// the old bytes in place (an S3 client overwrote its object), so there
    /// is nothing to keep.
    async fn replace_content(
        &self,
        id: FileId,
        content: &NewContent,
        keep: u32,
    ) -> Result<ContentReplaced>;
    /// The file's earlier contents, newest first, for anyone who may see it.
    async fn versions(&self, viewer: &str, id: FileId) -> Result<Vec<FileVersion>>;
    /// The bytes `owner`'s files and their versions take in the store.
    async fn bytes_stored(&self, owner: &str) -> Result<u64>;
    /// Whether a file or a version keeps its bytes at `key` (the bucket
    /// sweep removes objects of ours that nothing refers to).
    async fn object_in_use(&self, key: &str) -> Result<bool>;
}
