//! The seams where storage plugs in. The embedded backends implement them
//! for the single-process default; MinIO and Neo4j implement them for a
//! cluster. Both pass the same contract suite (`contract` module).
//!
//! The graph side is a handful of focused traits, one per concern, each
//! implemented by a module of the same name in every backend;
//! [`GraphIndex`] is all of them together, what a server holds.
//!
//! Every read takes the viewer and sees only files the viewer owns or that
//! are shared with them ([`crate::access`] states the rule). Not-visible and
//! not-existing are both `NotFound`, so ids of other users' files cannot be
//! probed.

mod files;
mod folders;
mod leases;
mod locks;
mod objects;
mod principals;
mod props;
mod queue;
mod search;
mod similarity;
mod tags;
mod taxonomy;
mod versions;
mod vocabulary;
mod walk;

use async_trait::async_trait;

pub use files::FileCatalog;
pub use folders::{Folders, check_folder_move, name_taken};
pub use leases::{Leases, MAX_LEASE};
pub use locks::DriveLocks;
pub use objects::{ByteRange, ByteStream, ObjectBody, ObjectMeta, ObjectStore};
pub use principals::{
    MAX_TOKEN_DAYS, NewToken, Principals, TokenInfo, TokenSource, token_expiry, token_id,
};
pub use props::DriveProps;
pub use queue::{JobFailure, JobQueue};
pub use search::TextSearch;
pub use similarity::Similarity;
pub use tags::{TagStore, reject_tag};
pub use taxonomy::TaxonomyStore;
pub use versions::Versions;
pub use vocabulary::Vocabulary;
pub use walk::{FOLDER_FANOUT, GraphWalk, folder_neighbourhood, folder_node_id, with_folders};

use crate::Result;

/// The whole graph index: files, tags, search, the graph view, the tagging
/// queue, the users and the leases. Callers that need one concern take that trait
/// (`&dyn JobQueue`); a `&dyn GraphIndex` coerces to any of them.
#[async_trait]
pub trait GraphIndex:
    Principals
    + FileCatalog
    + Folders
    + Versions
    + TagStore
    + Vocabulary
    + Similarity
    + TextSearch
    + GraphWalk
    + JobQueue
    + Leases
    + DriveLocks
    + DriveProps
    + TaxonomyStore
{
    /// Cheap reachability check for readiness probes.
    async fn ping(&self) -> Result<()>;
}
