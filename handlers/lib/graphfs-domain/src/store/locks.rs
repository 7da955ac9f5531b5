//! Each user's WebDAV lock table, where every replica sees it.

use async_trait::async_trait;

use crate::Result;

/// The drive's locks of one user, as one document the drive reads and
/// replaces whole (the lock rules are the drive's; this only keeps the
/// table). A version number makes a replacement conditional, so two
/// replicas changing one table at once cannot lose each other's change.
#[async_trait]
pub trait DriveLocks: Send + Sync + 'static {
    /// The owner's table and its version; `None` before the first.
    async fn lock_table(&self, owner: &str) -> Result<Option<(u64, String)>>;
    /// Replaces the owner's table if it is still at `version` (0: there is
    /// none yet); false when another writer replaced it first.
    async fn replace_lock_table(&self, owner: &str, version: u64, table: &str) -> Result<bool>;
}
