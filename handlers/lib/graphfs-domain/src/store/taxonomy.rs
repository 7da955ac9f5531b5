//! The taxonomy an admin imported, where every replica and tagger sees it.

use async_trait::async_trait;

use crate::Result;

/// The seeded taxonomy (`graphfs vocab import`) as one document the taggers
/// read and an admin replaces whole; what goes in it is the tagger's, this
/// only keeps it. It is written by people, not derived from anyone's files,
/// so one document serves every user. The version only grows (a reset keeps
/// the document, empty), so a reader that saw version n knows any other
/// number is news, and a replacement is conditional on the version read.
#[async_trait]
pub trait TaxonomyStore: Send + Sync + 'static {
    /// The version (0: never imported) and the imported taxonomy; `None`
    /// when there is none now (the installation's default applies).
    async fn stored_taxonomy(&self) -> Result<(u64, Option<String>)>;
    /// Replaces the document if it is still at `version`; `None` resets it
    /// to the default. False when another writer changed it first.
    async fn replace_taxonomy(&self, version: u64, body: Option<&str>) -> Result<bool>;
}
