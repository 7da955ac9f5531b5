//! File nodes: create, read, list, rename, share, delete.

use async_trait::async_trait;

use crate::{FileId, FileQuery, FileRecord, NewFile, Page, Result};

#[async_trait]
pub trait FileCatalog: Send + Sync + 'static {
    /// Creates the file node and queues its tagging job, atomically. A second
    /// node for the same object key is a `Conflict`.
    async fn create_file(&self, file: NewFile) -> Result<FileRecord>;
    async fn get_file(&self, viewer: &str, id: FileId) -> Result<FileRecord>;
    /// The files among `ids` the viewer may see, in the order of `ids`; the
    /// others are left out. One round trip however many ids.
    async fn get_files(&self, viewer: &str, ids: &[FileId]) -> Result<Vec<FileRecord>>;
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
    /// Every file id, for reconciliation with the store, in id order after
    /// `after`.
    async fn all_file_ids(&self, after: Option<FileId>, limit: usize) -> Result<Vec<FileId>>;
    /// A file for internal use (handlers), regardless of viewer.
    async fn get_file_internal(&self, id: FileId) -> Result<FileRecord>;
    /// The file whose bytes are at `key`, if any.
    async fn file_by_object_key(&self, key: &str) -> Result<Option<FileId>>;
}
