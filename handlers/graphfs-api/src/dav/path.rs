//! Where a WebDAV path points: the mount's root, a path in the caller's
//! folder tree under `/files`, or one of the read-mostly views: `/tags`
//! (files by tag, nested for intersections), `/search` (by query) and
//! `/shared` (what others share, by owner).

use dav_server::fs::FsError;
use graphfs_domain::{ROOT_FOLDER, normalize_folder, split_file_path};

/// The collection holding the caller's folder tree.
pub const FILES: &str = "files";
/// Files by tag: `/tags/<tag>/<tag2>/…`.
pub const TAGS: &str = "tags";
/// Search results: `/search/<query>/`.
pub const SEARCH: &str = "search";
/// Files others share with the caller: `/shared/<owner>/`.
pub const SHARED: &str = "shared";
/// Most tags one `/tags/` path nests.
pub const MAX_TAG_DEPTH: usize = 4;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DavTarget {
    /// `/`: lists `files/`.
    Root,
    /// `/files/...`: a folder or a file, by its normalised path.
    Files(String),
    /// `/tags/...`: the segments, each a tag but perhaps the last (a file).
    Tags(Vec<String>),
    /// `/search/...`: the segments (a query, then perhaps a file).
    Search(Vec<String>),
    /// `/shared/...`: the segments (an owner, then perhaps a file).
    Shared(Vec<String>),
}

impl DavTarget {
    /// Parses the decoded path after the mount's prefix. A path whose
    /// segments are not valid names cannot name anything here.
    pub fn parse(raw: &[u8]) -> Result<DavTarget, FsError> {
        let raw = std::str::from_utf8(raw).map_err(|_| FsError::NotFound)?;
        let trimmed = raw.trim_matches('/');
        if trimmed.is_empty() {
            return Ok(DavTarget::Root);
        }
        let (top, rest) = trimmed.split_once('/').unwrap_or((trimmed, ""));
        let segments = || -> Vec<String> {
            rest.split('/')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        };
        match top {
            FILES => {}
            TAGS => return Ok(DavTarget::Tags(segments())),
            SEARCH => return Ok(DavTarget::Search(segments())),
            SHARED => return Ok(DavTarget::Shared(segments())),
            _ => return Err(FsError::NotFound),
        }
        // Every path is normalised the same way (NFC, as macOS's NFD names
        // become), so a name finds what it made.
        let path = normalize_folder(rest).map_err(|_| FsError::Forbidden)?;
        Ok(DavTarget::Files(path))
    }

    /// The folder and name of a file at this path (`None` for the root and
    /// the tree's top).
    pub fn file_parts(&self) -> Option<(String, String)> {
        match self {
            DavTarget::Files(p) if p != ROOT_FOLDER => split_file_path(p).ok(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_the_root_or_the_tree() {
        assert_eq!(DavTarget::parse(b"/").unwrap(), DavTarget::Root);
        assert_eq!(DavTarget::parse(b"").unwrap(), DavTarget::Root);
        assert_eq!(
            DavTarget::parse(b"/files/").unwrap(),
            DavTarget::Files("/".into())
        );
        assert_eq!(
            DavTarget::parse(b"/files/a/b.txt").unwrap(),
            DavTarget::Files("/a/b.txt".into())
        );
        assert_eq!(
            DavTarget::parse("/files/文档/".as_bytes()).unwrap(),
            DavTarget::Files("/文档".into())
        );
        assert_eq!(DavTarget::parse(b"/other"), Err(FsError::NotFound));
        assert_eq!(
            DavTarget::parse(b"/tags/rust/tokio/"),
            Ok(DavTarget::Tags(vec!["rust".into(), "tokio".into()]))
        );
        assert_eq!(DavTarget::parse(b"/tags"), Ok(DavTarget::Tags(vec![])));
        assert_eq!(
            DavTarget::parse(b"/search/river deltas/a.txt"),
            Ok(DavTarget::Search(vec![
                "river deltas".into(),
                "a.txt".into()
            ]))
        );
        assert_eq!(DavTarget::parse(b"/files/a/../b"), Err(FsError::Forbidden));
        assert_eq!(
            DavTarget::parse("/files/Cafe\u{301}".as_bytes()).unwrap(),
            DavTarget::Files("/Caf\u{e9}".into())
        );
        assert_eq!(DavTarget::parse(b"/files/\xff"), Err(FsError::NotFound));
    }

    #[test]
    fn a_file_path_splits_into_folder_and_name() {
        assert_eq!(
            DavTarget::Files("/a/b.txt".into()).file_parts(),
            Some(("/a".into(), "b.txt".into()))
        );
        assert_eq!(
            DavTarget::Files("/b.txt".into()).file_parts(),
            Some(("/".into(), "b.txt".into()))
        );
        assert_eq!(DavTarget::Files("/".into()).file_parts(), None);
        assert_eq!(DavTarget::Root.file_parts(), None);
    }
}
