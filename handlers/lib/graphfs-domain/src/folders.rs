//! Folder paths: how a path a client sends becomes the one form every
//! backend stores (`/` or `/a/b`, each segment a valid file name), and the
//! pure path arithmetic moves and listings need.

use unicode_normalization::UnicodeNormalization;

use crate::names::{NameError, normalize_file_name};

/// The root folder, where a file without a folder lives.
pub const ROOT_FOLDER: &str = "/";
/// Longest folder path accepted, in characters as sent.
pub const MAX_FOLDER_CHARS: usize = 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FolderError {
    #[error("folder segment '{segment}': {reason}")]
    Segment { segment: String, reason: NameError },
    #[error("the folder path contains a control character")]
    ControlCharacter,
    #[error("the folder path is longer than {MAX_FOLDER_CHARS} characters")]
    TooLong,
}

/// Normalises a folder path: `/`-separated segments, each in Unicode NFC
/// with surrounding spaces trimmed, none `.` or `..` or holding a `\`;
/// blank segments (`//`, a leading or trailing `/`) are dropped. At most
/// [`MAX_FOLDER_CHARS`] characters as sent, no control characters; the rule
/// is exactly [`folder_pattern`]. The result is [`ROOT_FOLDER`] or `/a/b`.
pub fn normalize_folder(raw: &str) -> Result<String, FolderError> {
    if raw.chars().count() > MAX_FOLDER_CHARS {
        return Err(FolderError::TooLong);
    }
    if raw.chars().any(char::is_control) {
        return Err(FolderError::ControlCharacter);
    }
    let mut out = String::new();
    for segment in raw.split('/') {
        if segment.trim().is_empty() {
            continue;
        }
        let refuse = |reason| FolderError::Segment {
            segment: segment.chars().take(64).collect(),
            reason,
        };
        if segment.contains('\\') {
            return Err(refuse(NameError::PathSeparator));
        }
        let name: String = segment.nfc().collect();
        let name = name.trim();
        if name == "." || name == ".." {
            return Err(refuse(NameError::DotName));
        }
        out.push('/');
        out.push_str(name);
    }
    if out.is_empty() {
        out.push('/');
    }
    Ok(out)
}

/// The folder rule as an ECMA-262 / JSON Schema pattern (also Python's
/// `re`): segments split by `/`, each blank or a file name by
/// [`crate::file_name_pattern`] (whose length limit is the path's here).
pub fn folder_pattern() -> String {
    let name = crate::file_name_pattern();
    let name = name.trim_start_matches('^').trim_end_matches('$');
    let segment = format!("({}*|{name})", crate::names::spaces_class());
    format!("^{segment}(/{segment})*$")
}

/// Splits a relative or absolute file path (`projects/titan/invoice.pdf`)
/// into its normalised folder and file name.
pub fn split_file_path(raw: &str) -> Result<(String, String), FolderError> {
    let trimmed = raw.trim_end_matches('/');
    let (folder, name) = trimmed.rsplit_once('/').unwrap_or(("", trimmed));
    let name = normalize_file_name(name).map_err(|reason| FolderError::Segment {
        segment: name.chars().take(64).collect(),
        reason,
    })?;
    Ok((normalize_folder(folder)?, name))
}

/// The folder holding `path` (a normalised folder); `None` for the root.
pub fn parent_folder(path: &str) -> Option<&str> {
    if path == ROOT_FOLDER {
        return None;
    }
    match path.rfind('/') {
        Some(0) => Some(ROOT_FOLDER),
        Some(i) => Some(&path[..i]),
        None => Some(ROOT_FOLDER),
    }
}

/// The last segment of a normalised folder (empty for the root).
pub fn folder_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or_default()
}

/// `name` inside `folder` (both normalised).
pub fn join_folder(folder: &str, name: &str) -> String {
    if folder == ROOT_FOLDER {
        format!("/{name}")
    } else {
        format!("{folder}/{name}")
    }
}

/// Every folder from the root down to `path`, the root left out:
/// `/a/b` gives `["/a", "/a/b"]`. What must exist for `path` to.
pub fn folder_ancestry(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(i) = path[at + 1..].find('/') {
        at += i + 1;
        out.push(path[..at].to_string());
    }
    if path != ROOT_FOLDER {
        out.push(path.to_string());
    }
    out
}

/// Whether `path` is `ancestor` or lies beneath it (both normalised).
pub fn is_within(path: &str, ancestor: &str) -> bool {
    ancestor == ROOT_FOLDER
        || path == ancestor
        || (path.starts_with(ancestor) && path.as_bytes().get(ancestor.len()) == Some(&b'/'))
}

/// `path` (within `from`) as it is once `from` has moved to `to`.
pub fn rebase_folder(path: &str, from: &str, to: &str) -> Option<String> {
    if !is_within(path, from) {
        return None;
    }
    let rest = if from == ROOT_FOLDER {
        path.trim_start_matches('/')
    } else {
        path[from.len()..].trim_start_matches('/')
    };
    Some(if rest.is_empty() {
        to.to_string()
    } else {
        join_folder(to, rest)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_normalise_to_one_form() {
        assert_eq!(normalize_folder("").unwrap(), "/");
        assert_eq!(normalize_folder("/").unwrap(), "/");
        assert_eq!(normalize_folder("projects").unwrap(), "/projects");
        assert_eq!(
            normalize_folder("//projects/ titan /").unwrap(),
            "/projects/titan"
        );
        assert_eq!(normalize_folder("/文档/报告").unwrap(), "/文档/报告");
        assert!(matches!(
            normalize_folder("/a/../b"),
            Err(FolderError::Segment {
                reason: NameError::DotName,
                ..
            })
        ));
        assert!(normalize_folder("/a\\b").is_err());
        assert_eq!(
            normalize_folder("/a/\t/b"),
            Err(FolderError::ControlCharacter)
        );
        let long = format!("/{}", "y".repeat(MAX_FOLDER_CHARS));
        assert_eq!(normalize_folder(&long), Err(FolderError::TooLong));
        assert!(normalize_folder(&long[1..]).is_ok());
    }

    #[test]
    fn the_pattern_states_the_rule() {
        let re = regex::Regex::new(&folder_pattern()).unwrap();
        for ok in [
            "",
            "/",
            "a",
            "/a/b/",
            "// a /b",
            "/文档/. x",
            "/ /a",
            "/...",
            "/a/.b",
        ] {
            assert!(re.is_match(ok), "{ok:?}");
            assert!(normalize_folder(ok).is_ok(), "{ok:?}");
        }
        for bad in [
            "/a/..",
            "/./a",
            "/ .. /a",
            "/a\\b",
            "/a/\u{1}",
            "/a/\u{85}b",
        ] {
            assert!(!re.is_match(bad), "{bad:?}");
            assert!(normalize_folder(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn file_paths_split_into_folder_and_name() {
        assert_eq!(
            split_file_path("projects/titan/invoice.pdf").unwrap(),
            ("/projects/titan".into(), "invoice.pdf".into())
        );
        assert_eq!(
            split_file_path("invoice.pdf").unwrap(),
            ("/".into(), "invoice.pdf".into())
        );
        assert!(split_file_path("projects/").is_ok());
        assert!(split_file_path("/").is_err());
        assert!(split_file_path("a/..").is_err());
    }

    #[test]
    fn path_arithmetic() {
        assert_eq!(parent_folder("/"), None);
        assert_eq!(parent_folder("/a"), Some("/"));
        assert_eq!(parent_folder("/a/b"), Some("/a"));
        assert_eq!(folder_name("/a/b"), "b");
        assert_eq!(folder_name("/"), "");
        assert_eq!(join_folder("/", "a"), "/a");
        assert_eq!(join_folder("/a", "b"), "/a/b");
        assert_eq!(folder_ancestry("/"), Vec::<String>::new());
        assert_eq!(folder_ancestry("/a/b/c"), ["/a", "/a/b", "/a/b/c"]);
        assert!(is_within("/a/b", "/a"));
        assert!(is_within("/a", "/a"));
        assert!(is_within("/a", "/"));
        assert!(!is_within("/ab", "/a"));
        assert!(!is_within("/a", "/a/b"));
        assert_eq!(
            rebase_folder("/a/b/c", "/a/b", "/x").as_deref(),
            Some("/x/c")
        );
        assert_eq!(
            rebase_folder("/a/b", "/a/b", "/x/y").as_deref(),
            Some("/x/y")
        );
        assert_eq!(rebase_folder("/a/bc", "/a/b", "/x"), None);
        assert_eq!(rebase_folder("/a", "/", "/x").as_deref(), Some("/x/a"));
    }
}
