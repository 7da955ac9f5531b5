//! File nodes: create, read, list, change, delete.

use async_trait::async_trait;

use crate::{FileChange, FileId, FileQuery, FileRecord, NewFile, Page, Result};

#[async_trait]
pub trait FileCatalog: Send + Sync + 'static {
    /// Creates the file node and queues its tagging job, atomically. A second
    /// node for the same object key is a `Conflict`, and so is a name the
    /// owner already has in that folder ([`crate::name_taken`]).
    async fn create_file(&self, file: NewFile) -> Result<FileRecord>;
    async fn get_file(&self, viewer: &str, id: FileId) -> Result<FileRecord>;
    /// The files among `ids` the viewer may see, in the order of `ids`; the
    /// others are left out. One round trip however many ids.
    async fn get_files(&self, viewer: &str, ids: &[FileId]) -> Result<Vec<FileRecord>>;
    async fn list_files(&self, viewer: &str, query: &FileQuery) -> Result<Page<FileRecord>>;
    /// Applies a change to a file (owner only), all of it or nothing: a
    /// rename or move (`Conflict` onto a name taken in the folder), user tags added (clearing earlier removals), tags removed
    /// whatever their source (remembered, so re-tagging does not bring a
    /// machine tag back; one not carried is already gone), and shares with
    /// known users (anyone else is `InvalidInput`, as is the owner).
    async fn update_file(
        &self,
        viewer: &str,
        id: FileId,
        change: &FileChange,
    ) -> Result<FileRecord>;
    /// Removes the node, every edge, its versions and its job (owner only).
    /// Returns the removed record so the caller can delete the object (the
    /// versions' objects: list them first; the bucket sweep removes any left).
    async fn delete_file(&self, viewer: &str, id: FileId) -> Result<FileRecord>;
    /// Every file id, for reconciliation with the store, in id order after
    /// `after`.
    async fn all_file_ids(&self, after: Option<FileId>, limit: usize) -> Result<Vec<FileId>>;
    /// A file for internal use (handlers), regardless of viewer.
    async fn get_file_internal(&self, id: FileId) -> Result<FileRecord>;
    /// The file whose bytes are at `key`, if any.
    async fn file_by_object_key(&self, key: &str) -> Result<Option<FileId>>;
}
