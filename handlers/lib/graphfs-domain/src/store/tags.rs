//! Tags as users see them, and the admin's merge. A file's own tags change
//! through [`crate::FileCatalog::update_file`].

use async_trait::async_trait;

use crate::{RelatedTag, Result, TagInfo};

#[async_trait]
pub trait TagStore: Send + Sync + 'static {
    /// The vocabulary as seen by the viewer, most used first.
    async fn list_tags(
        &self,
        viewer: &str,
        prefix: Option<&str>,
        limit: usize,
    ) -> Result<Vec<TagInfo>>;
    /// Tags that co-occur with `tag` on the viewer's files, most shared first.
    async fn related_tags(&self, viewer: &str, tag: &str, limit: usize) -> Result<Vec<RelatedTag>>;
    /// Merges tag `from` into `into`, creating `into` when missing (a
    /// rename): every file's edge moves over (a user tag stays a user tag,
    /// a removal stays a removal), and `from` with its aliases become
    /// aliases of `into`, so later taggings of `from` land on `into`.
    async fn merge_tag(&self, from: &str, into: &str) -> Result<()>;
}
