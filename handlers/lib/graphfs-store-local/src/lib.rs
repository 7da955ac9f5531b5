//! Embedded backends for the single-process default: no servers to run.

mod objects;
mod sqlite;

pub use objects::LocalObjectStore;
pub use sqlite::SqliteGraphIndex;
