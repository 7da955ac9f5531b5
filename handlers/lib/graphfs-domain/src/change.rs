//! A change to one file (name, folder, tags, shares), checked once here and applied
//! by a backend in one transaction: all of it or none.

use crate::{Error, Result, normalize_file_name, normalize_folder, normalize_tag};

/// Most tag changes (added plus removed) one change may carry.
pub const MAX_TAG_CHANGES: usize = 100;
/// Most share changes (shared plus unshared) one change may carry.
pub const MAX_SHARE_CHANGES: usize = 100;

/// Longest user name a change may name, in characters.
pub const MAX_USER_CHARS: usize = 256;

/// What a change asks for, as a client sent it.
#[derive(Debug, Clone, Default)]
pub struct FileChangeRequest<'a> {
    pub name: Option<&'a str>,
    /// The folder to move the file to (made if missing).
    pub folder: Option<&'a str>,
    pub add_tags: &'a [String],
    pub remove_tags: &'a [String],
    pub share_with: &'a [String],
    pub unshare: &'a [String],
}

/// A checked change: names and tags normalized, lists bounded and free of
/// repeats and contradictions. Only [`FileChange::check`] and the builders
/// make one, so a backend never sees an unchecked name or tag.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileChange {
    name: Option<String>,
    folder: Option<String>,
    add_tags: Vec<String>,
    remove_tags: Vec<String>,
    share_with: Vec<String>,
    unshare: Vec<String>,
}

impl FileChange {
    /// Checks a requested change; the error says which part is wrong.
    pub fn check(req: &FileChangeRequest<'_>) -> Result<FileChange> {
        if req.add_tags.len() + req.remove_tags.len() > MAX_TAG_CHANGES {
            return Err(Error::InvalidInput(format!(
                "at most {MAX_TAG_CHANGES} tag changes at once"
            )));
        }
        if req.share_with.len() + req.unshare.len() > MAX_SHARE_CHANGES {
            return Err(Error::InvalidInput(format!(
                "at most {MAX_SHARE_CHANGES} share changes at once"
            )));
        }
        let name = req
            .name
            .map(normalize_file_name)
            .transpose()
            .map_err(|e| Error::InvalidInput(e.to_string()))?;
        let folder = req
            .folder
            .map(normalize_folder)
            .transpose()
            .map_err(|e| Error::InvalidInput(e.to_string()))?;
        let tags = |list: &[String]| -> Result<Vec<String>> {
            let mut out = Vec::with_capacity(list.len());
            for t in list {
                let t =
                    normalize_tag(t).map_err(|e| Error::InvalidInput(format!("tag '{t}': {e}")))?;
                if !out.contains(&t) {
                    out.push(t);
                }
            }
            Ok(out)
        };
        let users = |list: &[String]| -> Result<Vec<String>> {
            let mut out: Vec<String> = Vec::with_capacity(list.len());
            for raw in list {
                let u = raw.trim();
                if u.is_empty()
                    || raw.chars().count() > MAX_USER_CHARS
                    || raw.chars().any(char::is_control)
                {
                    return Err(Error::InvalidInput(format!(
                        "a user name is 1 to {MAX_USER_CHARS} characters, none of them control characters"
                    )));
                }
                if !out.iter().any(|x| x == u) {
                    out.push(u.to_string());
                }
            }
            Ok(out)
        };
        let (add_tags, remove_tags) = (tags(req.add_tags)?, tags(req.remove_tags)?);
        if let Some(t) = add_tags.iter().find(|t| remove_tags.contains(t)) {
            return Err(Error::InvalidInput(format!(
                "tag '{t}' is both added and removed"
            )));
        }
        let (share_with, unshare) = (users(req.share_with)?, users(req.unshare)?);
        if let Some(u) = share_with.iter().find(|u| unshare.contains(u)) {
            return Err(Error::InvalidInput(format!(
                "user '{u}' is both shared with and unshared"
            )));
        }
        Ok(FileChange {
            name,
            folder,
            add_tags,
            remove_tags,
            share_with,
            unshare,
        })
    }

    /// A rename alone.
    pub fn rename(name: &str) -> Result<FileChange> {
        Self::check(&FileChangeRequest {
            name: Some(name),
            ..Default::default()
        })
    }

    /// A move to another folder, renamed on the way if `name` is given.
    pub fn move_to(folder: &str, name: Option<&str>) -> Result<FileChange> {
        Self::check(&FileChangeRequest {
            name,
            folder: Some(folder),
            ..Default::default()
        })
    }

    /// One user tag added.
    pub fn add_tag(tag: &str) -> Result<FileChange> {
        Self::check(&FileChangeRequest {
            add_tags: &[tag.to_string()],
            ..Default::default()
        })
    }

    /// One tag removed.
    pub fn remove_tag(tag: &str) -> Result<FileChange> {
        Self::check(&FileChangeRequest {
            remove_tags: &[tag.to_string()],
            ..Default::default()
        })
    }

    /// Shared with one user, or no longer.
    pub fn share(user: &str, shared: bool) -> Result<FileChange> {
        let users = [user.to_string()];
        Self::check(&FileChangeRequest {
            share_with: if shared { &users } else { &[] },
            unshare: if shared { &[] } else { &users },
            ..Default::default()
        })
    }

    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    /// The normalised folder to move to.
    pub fn folder(&self) -> Option<&str> {
        self.folder.as_deref()
    }
    pub fn add_tags(&self) -> &[String] {
        &self.add_tags
    }
    /// Tags to remove; one the file does not carry is already gone.
    pub fn remove_tags(&self) -> &[String] {
        &self.remove_tags
    }
    /// Users to share with; each must be a known user, never the owner.
    pub fn share_with(&self) -> &[String] {
        &self.share_with
    }
    pub fn unshare(&self) -> &[String] {
        &self.unshare
    }
    /// Every user the change names, shared with or unshared.
    pub fn users(&self) -> impl Iterator<Item = &str> {
        self.share_with
            .iter()
            .chain(&self.unshare)
            .map(String::as_str)
    }
    pub fn touches_tags(&self) -> bool {
        !self.add_tags.is_empty() || !self.remove_tags.is_empty()
    }
}

/// The error for sharing with the owner, the same on every backend.
pub fn share_with_owner() -> Error {
    Error::InvalidInput("a file is always visible to its owner".into())
}

/// The error for sharing with a user GraphFS does not know.
pub fn unknown_user(user: &str) -> Error {
    Error::InvalidInput(format!("no user '{user}' is known to this server"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn a_change_is_normalized_and_deduplicated() {
        let (add, share) = (s(&["Rust", "rust ", "Go"]), s(&[" bob", "bob", "carol"]));
        let c = FileChange::check(&FileChangeRequest {
            name: Some(" notes.txt "),
            add_tags: &add,
            share_with: &share,
            ..Default::default()
        })
        .unwrap();
        assert_eq!(c.name(), Some("notes.txt"));
        assert_eq!(c.folder(), None);
        let moved = FileChange::move_to("projects//titan/", Some("a.txt")).unwrap();
        assert_eq!(moved.folder(), Some("/projects/titan"));
        assert!(FileChange::move_to("/a/../b", None).is_err());
        assert_eq!(c.add_tags(), ["rust", "go"]);
        assert_eq!(c.share_with(), ["bob", "carol"]);
        assert!(c.touches_tags());
        assert_eq!(c.users().collect::<Vec<_>>(), ["bob", "carol"]);
    }

    #[test]
    fn contradictions_bad_names_and_long_lists_are_refused() {
        let both = s(&["rust"]);
        let refused = [
            FileChangeRequest {
                add_tags: &both,
                remove_tags: &both,
                ..Default::default()
            },
            FileChangeRequest {
                share_with: &both,
                unshare: &both,
                ..Default::default()
            },
            FileChangeRequest {
                name: Some("a/b"),
                ..Default::default()
            },
            FileChangeRequest {
                share_with: &s(&["  "]),
                ..Default::default()
            },
        ];
        for req in &refused {
            assert!(
                matches!(FileChange::check(req), Err(Error::InvalidInput(_))),
                "{req:?}"
            );
        }
        let many: Vec<String> = (0..=MAX_TAG_CHANGES).map(|i| format!("t{i}")).collect();
        let long = FileChangeRequest {
            add_tags: &many,
            ..Default::default()
        };
        assert!(
            matches!(FileChange::check(&long), Err(Error::InvalidInput(m)) if m.contains("at most"))
        );
        let long = FileChangeRequest {
            share_with: &many,
            ..Default::default()
        };
        assert!(
            matches!(FileChange::check(&long), Err(Error::InvalidInput(m)) if m.contains("at most"))
        );
    }

    #[test]
    fn builders_make_single_changes() {
        assert_eq!(FileChange::rename("x.txt").unwrap().name(), Some("x.txt"));
        assert_eq!(FileChange::add_tag("Rust").unwrap().add_tags(), ["rust"]);
        assert_eq!(
            FileChange::remove_tag("rust").unwrap().remove_tags(),
            ["rust"]
        );
        assert_eq!(
            FileChange::share("bob", true).unwrap().share_with(),
            ["bob"]
        );
        assert_eq!(FileChange::share("bob", false).unwrap().unshare(), ["bob"]);
        assert!(FileChange::rename("").is_err());
    }
}
