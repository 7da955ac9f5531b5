//! Embedded backends for the single-process default: no servers to run.

mod ann;
mod objects;
mod sqlite;

pub use objects::LocalObjectStore;
pub use sqlite::{DEFAULT_SEMANTIC_INDEX_MIN_FILES, SemanticIndexStats, SqliteGraphIndex};
