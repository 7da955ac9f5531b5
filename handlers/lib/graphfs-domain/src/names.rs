//! Normalisation of user-supplied names. Everything a user types passes
//! through here before it reaches storage, so the rules live in one place.

use unicode_normalization::UnicodeNormalization;

/// Longest file name accepted, in bytes of UTF-8 (the common filesystem limit).
pub const MAX_FILE_NAME_BYTES: usize = 255;
/// Longest tag accepted, in characters.
pub const MAX_TAG_CHARS: usize = 48;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("the name is empty")]
    Empty,
    #[error("the name is longer than {max} bytes")]
    TooLong { max: usize },
    #[error("the name contains a control character")]
    ControlCharacter,
    #[error("the name contains a path separator ('/' or '\\'); send the file's own name only")]
    PathSeparator,
    #[error("'.' and '..' are not file names")]
    DotName,
    #[error("the tag '{0}' contains a character tags may not have")]
    BadTagCharacter(String),
}

/// Normalises a file name: Unicode NFC, surrounding whitespace trimmed, one
/// path component only (no traversal), no control characters, at most
/// [`MAX_FILE_NAME_BYTES`] bytes.
pub fn normalize_file_name(raw: &str) -> Result<String, NameError> {
    let name: String = raw.nfc().collect();
    let name = name.trim();
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name.chars().any(|c| c.is_control()) {
        return Err(NameError::ControlCharacter);
    }
    if name.contains('/') || name.contains('\\') {
        return Err(NameError::PathSeparator);
    }
    if name == "." || name == ".." {
        return Err(NameError::DotName);
    }
    if name.len() > MAX_FILE_NAME_BYTES {
        return Err(NameError::TooLong {
            max: MAX_FILE_NAME_BYTES,
        });
    }
    Ok(name.to_string())
}

/// Normalises a tag so that spelling variants meet: NFKC, lower case,
/// inner whitespace and underscores collapsed to one space, surrounding
/// punctuation trimmed. Letters (any script), digits, space and `- . + #`
/// are allowed (`c++`, `c#`, `node.js`).
pub fn normalize_tag(raw: &str) -> Result<String, NameError> {
    let folded: String = raw.nfkc().flat_map(char::to_lowercase).collect();
    let mut out = String::with_capacity(folded.len());
    let mut pending_space = false;
    for c in folded.chars() {
        if c.is_whitespace() || c == '_' {
            pending_space = !out.is_empty();
            continue;
        }
        if c.is_control() {
            return Err(NameError::ControlCharacter);
        }
        if !(c.is_alphanumeric() || matches!(c, '-' | '.' | '+' | '#')) {
            return Err(NameError::BadTagCharacter(raw.trim().to_string()));
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        out.push(c);
    }
    let out = out.trim_matches(|c| matches!(c, '-' | '.')).to_string();
    if out.is_empty() {
        return Err(NameError::Empty);
    }
    if out.chars().count() > MAX_TAG_CHARS {
        return Err(NameError::TooLong { max: MAX_TAG_CHARS });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_trimmed_and_composed() {
        assert_eq!(normalize_file_name("  report.pdf ").unwrap(), "report.pdf");
        // "é" as e + combining acute becomes the single composed character.
        assert_eq!(
            normalize_file_name("cafe\u{301}.txt").unwrap(),
            "caf\u{e9}.txt"
        );
        assert_eq!(normalize_file_name("报告.docx").unwrap(), "报告.docx");
    }

    #[test]
    fn file_names_reject_traversal_and_control() {
        assert_eq!(
            normalize_file_name("../etc/passwd"),
            Err(NameError::PathSeparator)
        );
        assert_eq!(normalize_file_name("a\\b"), Err(NameError::PathSeparator));
        assert_eq!(normalize_file_name(".."), Err(NameError::DotName));
        assert_eq!(
            normalize_file_name("a\nb"),
            Err(NameError::ControlCharacter)
        );
        assert_eq!(
            normalize_file_name("a\0b"),
            Err(NameError::ControlCharacter)
        );
        assert_eq!(normalize_file_name("   "), Err(NameError::Empty));
        assert!(matches!(
            normalize_file_name(&"x".repeat(256)),
            Err(NameError::TooLong { .. })
        ));
        assert!(normalize_file_name(&"x".repeat(255)).is_ok());
    }

    #[test]
    fn tags_fold_case_and_spacing() {
        assert_eq!(
            normalize_tag("  Machine_Learning ").unwrap(),
            "machine learning"
        );
        assert_eq!(normalize_tag("C++").unwrap(), "c++");
        assert_eq!(normalize_tag("Node.js").unwrap(), "node.js");
        assert_eq!(normalize_tag("机器学习").unwrap(), "机器学习");
        // Full-width letters fold to ASCII under NFKC.
        assert_eq!(normalize_tag("ＡＩ").unwrap(), "ai");
    }

    #[test]
    fn tags_reject_markup_and_empties() {
        assert!(matches!(
            normalize_tag("<script>"),
            Err(NameError::BadTagCharacter(_))
        ));
        assert!(matches!(
            normalize_tag("a;b"),
            Err(NameError::BadTagCharacter(_))
        ));
        assert_eq!(normalize_tag("--"), Err(NameError::Empty));
        assert!(matches!(
            normalize_tag(&"a".repeat(49)),
            Err(NameError::TooLong { .. })
        ));
    }
}
