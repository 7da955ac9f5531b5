//! Who may see and who may change a file: the one rule every backend,
//! endpoint and handler keeps.
//!
//! A file is visible to its owner and to the users it is shared with; only
//! its owner may change it. To anyone else it does not exist: the answer is
//! `NotFound`, exactly as for an id nobody uses, so ids cannot be probed. A
//! user it is shared with is told why a change is refused (403).
//!
//! The backends express the visibility half as a query predicate (SQLite's
//! `VISIBLE`, Neo4j's `VISIBLE`) so that lists and searches filter in the
//! database; writes load the file inside their transaction and call
//! [`require_owner`], so the check and the change cannot be separated.

use crate::{Error, FileId, Result};

/// What a viewer is to a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    Owner,
    SharedWith,
    Stranger,
}

/// The viewer's relation to a file owned by `owner` and shared with `shared_with`.
pub fn relation(viewer: &str, owner: &str, shared_with: &[String]) -> Relation {
    if viewer == owner {
        Relation::Owner
    } else if shared_with.iter().any(|u| u == viewer) {
        Relation::SharedWith
    } else {
        Relation::Stranger
    }
}

/// `Ok` when the viewer may see the file, `NotFound` otherwise.
pub fn require_visible(
    id: FileId,
    viewer: &str,
    owner: &str,
    shared_with: &[String],
) -> Result<()> {
    match relation(viewer, owner, shared_with) {
        Relation::Owner | Relation::SharedWith => Ok(()),
        Relation::Stranger => Err(not_found(id)),
    }
}

/// `Ok` when the viewer owns the file; `Forbidden` for a user it is shared
/// with; `NotFound` for anyone else.
pub fn require_owner(id: FileId, viewer: &str, owner: &str, shared_with: &[String]) -> Result<()> {
    match relation(viewer, owner, shared_with) {
        Relation::Owner => Ok(()),
        Relation::SharedWith => Err(Error::Forbidden(format!(
            "file {id} belongs to {owner}; only its owner may change it"
        ))),
        Relation::Stranger => Err(not_found(id)),
    }
}

/// The error for a file that does not exist or that the viewer may not see.
pub fn not_found(id: FileId) -> Error {
    Error::NotFound(format!("file {id}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_change_sharers_see_strangers_find_nothing() {
        let id = FileId::new();
        let shared = vec!["bob".to_string()];
        assert!(require_owner(id, "alice", "alice", &shared).is_ok());
        assert!(matches!(
            require_owner(id, "bob", "alice", &shared),
            Err(Error::Forbidden(_))
        ));
        assert!(require_visible(id, "bob", "alice", &shared).is_ok());
        for check in [require_owner, require_visible] {
            let err = check(id, "mallory", "alice", &shared).unwrap_err();
            assert_eq!(
                err.to_string(),
                not_found(id).to_string(),
                "a stranger cannot tell a hidden file from a missing one"
            );
        }
    }
}
