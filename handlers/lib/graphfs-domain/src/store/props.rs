//! The drive's dead properties (WebDAV PROPPATCH), where every replica
//! sees them.

use async_trait::async_trait;

use crate::Result;

/// What clients stored on each resource of an owner's tree, as one
/// document per path that the drive reads and replaces whole (what goes in
/// it is the drive's; this only keeps it). A version number makes a
/// replacement conditional, so two replicas patching one resource at once
/// cannot lose each other's change. Paths are tree paths (`/a/b.txt`).
#[async_trait]
pub trait DriveProps: Send + Sync + 'static {
    /// The document on `path` and its version; `None` when there is none.
    async fn dead_props(&self, owner: &str, path: &str) -> Result<Option<(u64, String)>>;
    /// Replaces the document on `path` if it is still at `version` (0:
    /// there is none yet); `None` removes it. False when another writer
    /// changed it first.
    async fn replace_dead_props(
        &self,
        owner: &str,
        path: &str,
        version: u64,
        body: Option<&str>,
    ) -> Result<bool>;
    /// How many of the owner's paths hold a document.
    async fn dead_props_count(&self, owner: &str) -> Result<u64>;
    /// The documents on `from` and beneath it move to `to`, replacing what
    /// was there.
    async fn move_dead_props(&self, owner: &str, from: &str, to: &str) -> Result<()>;
    /// The document on `from` (not those beneath it) is copied to `to`,
    /// replacing what was there.
    async fn copy_dead_props(&self, owner: &str, from: &str, to: &str) -> Result<()>;
    /// The documents on `path` and beneath it are removed.
    async fn remove_dead_props(&self, owner: &str, path: &str) -> Result<()>;
}
