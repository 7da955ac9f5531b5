//! GraphFS domain: the types every component agrees on (files, tags, edges,
//! jobs, users, errors) and the two seams where storage plugs in:
//! [`ObjectStore`] for file bytes and [`GraphIndex`] for the file/tag graph,
//! search and the tagging queue.
//!
//! This crate has no I/O of its own so that the API handler, the tagger and
//! the operator can all depend on it cheaply.

mod error;
mod graph;
mod model;
mod names;
mod store;

#[cfg(feature = "contract-tests")]
pub mod contract;

pub use error::{Error, Result, TooLargeMarker};
pub use graph::GraphBuilder;
pub use model::*;
pub use names::{NameError, normalize_file_name, normalize_tag};
pub use store::*;
