//! GraphFS domain: the types every component agrees on (files, tags, edges,
//! jobs, users, errors) and the two seams where storage plugs in:
//! [`ObjectStore`] for file bytes and [`GraphIndex`] (a few focused traits)
//! for the file/tag graph, search and the tagging queue; and the pure rules
//! both backends share: [`access`] (who may see a file), query terms,
//! cursors, text truncation and snippets.
//!
//! This crate has no I/O of its own so that the API handler, the tagger and
//! the operator can all depend on it cheaply.

pub mod access;
mod change;
mod cursor;
mod error;
mod folders;
mod graph;
mod model;
mod names;
mod query;
mod store;

mod text;

#[cfg(feature = "contract-tests")]
pub mod contract;

pub use change::{
    FileChange, FileChangeRequest, MAX_SHARE_CHANGES, MAX_TAG_CHANGES, MAX_USER_CHARS,
    share_with_owner, unknown_user,
};
pub use cursor::{Cursor, CursorKey, Keyset, parse_stored_time, stored_time};
pub use error::{ClientBodyError, Error, Result, TooLargeMarker};
pub use folders::{
    FolderError, MAX_FOLDER_CHARS, ROOT_FOLDER, folder_ancestry, folder_name, folder_pattern,
    is_within, join_folder, normalize_folder, parent_folder, rebase_folder, split_file_path,
};
pub use graph::{GraphBuilder, TagHierarchy, merge_views};
pub use model::*;
pub use names::{
    MAX_FILE_NAME_CHARS, MAX_LABEL_CHARS, MAX_TAG_CHARS, NameError, file_name_pattern,
    label_pattern, name_with_id, normalize_file_name, normalize_label, normalize_tag,
    not_blank_pattern, tag_pattern,
};
pub use query::{MAX_QUERY_TERMS, QueryTerm, is_cjk, name_tokens, query_terms};
pub use store::*;
pub use text::{
    MAX_INDEXED_TEXT, MAX_TERM_BYTES, MAX_TERMS_PER_FILE, check_embedding, index_terms, snippet,
    truncate_utf8,
};
