//! Tags as users see them, and the admin's merge. A file's own tags change
//! through [`crate::FileCatalog::update_file`].

use async_trait::async_trait;

use crate::{FileChange, FileQuery, GraphIndex, RelatedTag, Result, TagInfo};

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
    /// Rejects `tag` for `owner`'s files for good (`true`), or takes that
    /// back: no tagger gives a rejected tag to a file of the owner's again
    /// (adding it by hand stays the owner's choice). Taking it off the files
    /// that carry it is [`crate::reject_tag`]'s. Whether anything changed.
    async fn set_rejected(&self, owner: &str, tag: &str, rejected: bool) -> Result<bool>;
    /// The tags `owner` rejected, by name.
    async fn rejected_tags(&self, owner: &str) -> Result<Vec<String>>;
}

/// Files changed per round of [`reject_tag`].
const REJECT_BATCH: usize = 100;

/// Rejects `tag` for good for `owner`: recorded first, so no tagging from
/// now on gives it back, then taken off every file the owner owns that
/// carries it, whoever gave it (each a removal the file remembers). How
/// many files lost it. Files shared with the owner are their owners'.
pub async fn reject_tag(index: &dyn GraphIndex, owner: &str, tag: &str) -> Result<u64> {
    index.set_rejected(owner, tag, true).await?;
    let change = FileChange::remove_tag(tag)?;
    let mut removed = 0u64;
    loop {
        // Each round lists what still carries the tag; a file that lost it
        // drops out, so no cursor is needed.
        let page = index
            .list_files(
                owner,
                &FileQuery {
                    tags: vec![tag.to_string()],
                    shared: Some(false),
                    limit: REJECT_BATCH,
                    ..Default::default()
                },
            )
            .await?;
        let mut changed = 0;
        for file in &page.items {
            match index.update_file(owner, file.id, &change).await {
                Ok(_) => changed += 1,
                // Deleted meanwhile: nothing left to take it off.
                Err(crate::Error::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        removed += changed;
        if page.items.len() < REJECT_BATCH || changed == 0 {
            return Ok(removed);
        }
    }
}
