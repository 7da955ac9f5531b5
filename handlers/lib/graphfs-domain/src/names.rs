//! Normalisation of user-supplied names. Everything a user types passes
//! through here before it reaches storage, so the rules live in one place.

use unicode_normalization::UnicodeNormalization;

/// Longest file name accepted, in characters as sent (a client can count
/// them, and JSON Schema's `maxLength` states them).
pub const MAX_FILE_NAME_CHARS: usize = 255;
/// Longest tag accepted, in characters.
pub const MAX_TAG_CHARS: usize = 48;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("the name is empty")]
    Empty,
    #[error("the name is longer than {max} characters")]
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

/// Characters a file name may not contain: controls and path separators.
const FILE_NAME_FORBIDDEN: &[(char, char)] = &[
    ('\0', '\u{1f}'),
    ('/', '/'),
    ('\\', '\\'),
    ('\u{7f}', '\u{9f}'),
];

/// White space that is not a control character (what `str::trim` removes
/// once controls are refused). A test checks it against the standard library.
const SPACES: &[(char, char)] = &[
    (' ', ' '),
    ('\u{a0}', '\u{a0}'),
    ('\u{1680}', '\u{1680}'),
    ('\u{2000}', '\u{200a}'),
    ('\u{2028}', '\u{2029}'),
    ('\u{202f}', '\u{202f}'),
    ('\u{205f}', '\u{205f}'),
    ('\u{3000}', '\u{3000}'),
];

/// Normalises a file name: Unicode NFC, surrounding whitespace trimmed, one
/// path component only (no traversal), no control characters. The rule is
/// on the name as sent and is exactly [`file_name_pattern`]: 1 to
/// [`MAX_FILE_NAME_CHARS`] characters, none of them a control or a path
/// separator, and not blank, `.` or `..` once trimmed.
pub fn normalize_file_name(raw: &str) -> Result<String, NameError> {
    if raw.chars().count() > MAX_FILE_NAME_CHARS {
        return Err(NameError::TooLong {
            max: MAX_FILE_NAME_CHARS,
        });
    }
    if raw.chars().any(|c| c.is_control()) {
        return Err(NameError::ControlCharacter);
    }
    if raw.contains('/') || raw.contains('\\') {
        return Err(NameError::PathSeparator);
    }
    let name: String = raw.nfc().collect();
    let name = name.trim();
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name == "." || name == ".." {
        return Err(NameError::DotName);
    }
    Ok(name.to_string())
}

/// The file-name rule as an ECMA-262 / JSON Schema pattern (also valid for
/// Python's `re`): a character that is neither space nor `.`, or else
/// dots that trim to something other than `.` and `..`.
pub fn file_name_pattern() -> String {
    let allowed = format!("[^{}]", class(&[FILE_NAME_FORBIDDEN]));
    let telling = format!("[^{}\\u002e]", class(&[FILE_NAME_FORBIDDEN, SPACES]));
    let space = format!("[{}]", class(&[SPACES]));
    format!(
        "^({allowed}*{telling}{allowed}*|{space}*\\.({space}+\\.|{space}*\\.{space}*\\.)[{}.]*)$",
        class(&[SPACES])
    )
}

/// A character class of the white space that is not a control character.
pub(crate) fn spaces_class() -> String {
    format!("[{}]", class(&[SPACES]))
}

/// Longest label (of a token, say), in characters as sent.
pub const MAX_LABEL_CHARS: usize = 64;

/// Control characters, C0 and C1.
const CONTROLS: &[(char, char)] = &[('\0', '\u{1f}'), ('\u{7f}', '\u{9f}')];

/// `name` told apart by the first 8 characters of `id`, before its
/// extension (`a (01f3c2d4).txt`): how a name two files share is shown,
/// and how such a name is made unique when a store first requires it.
pub fn name_with_id(name: &str, id: &str) -> String {
    let short: String = id.chars().take(8).collect();
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => format!("{stem} ({short}).{ext}"),
        _ => format!("{name} ({short})"),
    }
}

/// Normalises a short label a user gives something: surrounding white
/// space trimmed; 1 to [`MAX_LABEL_CHARS`] characters as sent, no control
/// characters, not blank. Exactly [`label_pattern`].
pub fn normalize_label(raw: &str) -> Result<String, NameError> {
    if raw.chars().count() > MAX_LABEL_CHARS {
        return Err(NameError::TooLong {
            max: MAX_LABEL_CHARS,
        });
    }
    if raw.chars().any(char::is_control) {
        return Err(NameError::ControlCharacter);
    }
    match raw.trim() {
        "" => Err(NameError::Empty),
        label => Ok(label.to_string()),
    }
}

/// The label rule as an ECMA-262 / JSON Schema pattern.
pub fn label_pattern() -> String {
    let controls = class(&[CONTROLS]);
    let blank = class(&[CONTROLS, SPACES]);
    format!("^[^{controls}]*[^{blank}][^{controls}]*$")
}

/// White space that is a control character (the rest is [`SPACES`]).
const CONTROL_SPACES: &[(char, char)] = &[('\t', '\r'), ('\u{85}', '\u{85}')];

/// Text with something besides white space in it, as an ECMA-262 / JSON
/// Schema pattern (also valid for Python's `re`).
pub fn not_blank_pattern() -> String {
    format!(
        "^[\\s\\S]*[^{}][\\s\\S]*$",
        class(&[CONTROL_SPACES, SPACES])
    )
}

/// A regular-expression character class body listing `ranges` as `\uXXXX`
/// escapes, which ECMA-262 and Python read alike (BMP only).
fn class(ranges: &[&[(char, char)]]) -> String {
    let mut s = String::new();
    for &(lo, hi) in ranges.iter().flat_map(|r| r.iter()) {
        s.push_str(&format!("\\u{:04x}", lo as u32));
        if hi != lo {
            s.push_str(&format!("-\\u{:04x}", hi as u32));
        }
    }
    s
}

/// Characters a tag may not contain as sent: controls, invisible format
/// characters (zero-width spaces and joiners, direction marks: they make
/// two tags look alike), and ASCII punctuation other than `# + - . _`.
/// Kept as ranges so that the OpenAPI pattern states exactly this rule.
const TAG_FORBIDDEN: &[(char, char)] = &[
    ('\0', '\u{1f}'),
    ('!', '"'),
    ('$', '*'),
    (',', ','),
    ('/', '/'),
    (':', '@'),
    ('[', '^'),
    ('`', '`'),
    ('{', '\u{9f}'),
    ('\u{ad}', '\u{ad}'),
    ('\u{600}', '\u{605}'),
    ('\u{61c}', '\u{61c}'),
    ('\u{6dd}', '\u{6dd}'),
    ('\u{70f}', '\u{70f}'),
    ('\u{890}', '\u{891}'),
    ('\u{8e2}', '\u{8e2}'),
    ('\u{180e}', '\u{180e}'),
    ('\u{200b}', '\u{200f}'),
    ('\u{202a}', '\u{202e}'),
    ('\u{2060}', '\u{2064}'),
    ('\u{2066}', '\u{206f}'),
    ('\u{feff}', '\u{feff}'),
    ('\u{fff9}', '\u{fffb}'),
];

/// Characters allowed in a tag that say nothing on their own: after
/// normalisation they are only separators (whitespace, `_`, `-`, `.`).
/// A tag needs at least one character outside this set and
/// [`TAG_FORBIDDEN`]. A test derives the set from Unicode and checks it.
const TAG_BLANK: &[(char, char)] = &[
    ('\u{20}', '\u{20}'),
    ('\u{2d}', '\u{2e}'),
    ('\u{5f}', '\u{5f}'),
    ('\u{a0}', '\u{a0}'),
    ('\u{37e}', '\u{37e}'),
    ('\u{1680}', '\u{1680}'),
    ('\u{1fef}', '\u{1fef}'),
    ('\u{2000}', '\u{200a}'),
    ('\u{2024}', '\u{2026}'),
    ('\u{2028}', '\u{2029}'),
    ('\u{202f}', '\u{202f}'),
    ('\u{203c}', '\u{203c}'),
    ('\u{2047}', '\u{2049}'),
    ('\u{205f}', '\u{205f}'),
    ('\u{207c}', '\u{207e}'),
    ('\u{208c}', '\u{208e}'),
    ('\u{2a74}', '\u{2a76}'),
    ('\u{3000}', '\u{3000}'),
    ('\u{fe10}', '\u{fe10}'),
    ('\u{fe13}', '\u{fe16}'),
    ('\u{fe19}', '\u{fe19}'),
    ('\u{fe30}', '\u{fe30}'),
    ('\u{fe33}', '\u{fe38}'),
    ('\u{fe47}', '\u{fe48}'),
    ('\u{fe4d}', '\u{fe50}'),
    ('\u{fe52}', '\u{fe52}'),
    ('\u{fe54}', '\u{fe57}'),
    ('\u{fe59}', '\u{fe5c}'),
    ('\u{fe60}', '\u{fe61}'),
    ('\u{fe63}', '\u{fe66}'),
    ('\u{fe68}', '\u{fe6b}'),
    ('\u{ff01}', '\u{ff02}'),
    ('\u{ff04}', '\u{ff0a}'),
    ('\u{ff0c}', '\u{ff0f}'),
    ('\u{ff1a}', '\u{ff20}'),
    ('\u{ff3b}', '\u{ff40}'),
    ('\u{ff5b}', '\u{ff5e}'),
];

fn in_ranges(ranges: &[(char, char)], c: char) -> bool {
    ranges.iter().any(|&(lo, hi)| (lo..=hi).contains(&c))
}

/// After NFKC and lower-casing these separate words: whitespace, `_`, and
/// forbidden characters that normalisation produced from allowed ones
/// (full-width `＜` becomes `<`).
fn is_tag_separator(c: char) -> bool {
    c.is_whitespace() || c == '_' || in_ranges(TAG_FORBIDDEN, c)
}

/// Normalises a tag so that spelling variants meet: NFKC, lower case,
/// whitespace and underscores collapsed to one space, surrounding `-` and
/// `.` trimmed. The rule on what is accepted applies to the tag as sent
/// and is exactly [`tag_pattern`]: 1 to [`MAX_TAG_CHARS`] characters,
/// none of [`TAG_FORBIDDEN`], at least one that is not blank. Letters of
/// any script, digits and symbols are allowed (`c++`, `c#`, `node.js`).
pub fn normalize_tag(raw: &str) -> Result<String, NameError> {
    if raw.chars().count() > MAX_TAG_CHARS {
        return Err(NameError::TooLong { max: MAX_TAG_CHARS });
    }
    if let Some(c) = raw.chars().find(|&c| in_ranges(TAG_FORBIDDEN, c)) {
        return Err(if c.is_control() {
            NameError::ControlCharacter
        } else {
            NameError::BadTagCharacter(raw.trim().to_string())
        });
    }
    let folded: String = raw.nfkc().flat_map(char::to_lowercase).collect();
    let mut out = String::with_capacity(folded.len());
    let mut pending_space = false;
    for c in folded.chars() {
        if is_tag_separator(c) {
            pending_space = !out.is_empty();
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        out.push(c);
    }
    let trim = |s: &str| {
        s.trim_matches(|c: char| c.is_whitespace() || matches!(c, '-' | '.'))
            .to_string()
    };
    let mut out = trim(&out);
    // Compatibility forms can expand (one ligature is 18 letters); keep the
    // stored name within the limit a client can check.
    if out.chars().count() > MAX_TAG_CHARS {
        out = trim(&out.chars().take(MAX_TAG_CHARS).collect::<String>());
    }
    if out.is_empty() {
        return Err(NameError::Empty);
    }
    Ok(out)
}

/// The tag rule as an ECMA-262 / JSON Schema pattern (also valid for
/// Python's `re`): any allowed characters around one that is not blank.
pub fn tag_pattern() -> String {
    let forbidden = class(&[TAG_FORBIDDEN]);
    let blank = class(&[TAG_FORBIDDEN, TAG_BLANK]);
    format!("^[^{forbidden}]*[^{blank}][^{forbidden}]*$")
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
        assert_eq!(
            normalize_tag("a\u{200b}b"),
            Err(NameError::BadTagCharacter("a\u{200b}b".into()))
        );
        assert_eq!(normalize_tag("a\tb"), Err(NameError::ControlCharacter));
        assert_eq!(normalize_tag(" _ "), Err(NameError::Empty));
    }

    #[test]
    fn tags_take_symbols_and_split_normalised_punctuation() {
        assert_eq!(normalize_tag("±5 ★").unwrap(), "±5 ★");
        // Full-width `＜` is allowed as sent but becomes `<`: a separator.
        assert_eq!(normalize_tag("a＜b").unwrap(), "a b");
        assert_eq!(normalize_tag("a -").unwrap(), "a");
        // One ligature expands to 18 letters; the stored name stays bounded.
        let long = normalize_tag(&"\u{fdfa}".repeat(3)).unwrap();
        assert!(long.chars().count() <= MAX_TAG_CHARS);
        assert_eq!(normalize_tag(&long).unwrap(), long);
    }

    #[test]
    fn file_names_count_characters_not_bytes() {
        // 200 two-byte letters: 400 bytes, 200 characters.
        assert!(normalize_file_name(&"é".repeat(200)).is_ok());
        assert!(normalize_file_name("...").is_ok());
        assert!(normalize_file_name(". .").is_ok());
        assert_eq!(normalize_file_name(" .. "), Err(NameError::DotName));
    }

    #[test]
    fn spaces_are_the_non_control_white_space() {
        for c in (0..=0x10ffff).filter_map(char::from_u32) {
            let expected = c.is_whitespace() && !c.is_control();
            assert_eq!(in_ranges(SPACES, c), expected, "U+{:04X}", c as u32);
        }
    }

    #[test]
    fn label_pattern_states_exactly_the_rule() {
        let re = regex::Regex::new(&label_pattern()).unwrap();
        let accepts =
            |s: &str| re.is_match(s) && (1..=MAX_LABEL_CHARS).contains(&s.chars().count());
        for c in (0..=0x10ffff).filter_map(char::from_u32) {
            let s = format!(" {c} ");
            assert_eq!(
                accepts(&s),
                normalize_label(&s).is_ok(),
                "U+{:04X}",
                c as u32
            );
        }
        let alphabet: Vec<char> = "a \u{3000}\t\u{85}é".chars().collect();
        for s in samples(&alphabet, 5_000, 70) {
            assert_eq!(accepts(&s), normalize_label(&s).is_ok(), "{s:?}");
        }
    }

    #[test]
    fn not_blank_pattern_is_str_trim() {
        let re = regex::Regex::new(&not_blank_pattern()).unwrap();
        for c in (0..=0x10ffff).filter_map(char::from_u32) {
            let s = format!(" {c}\n");
            assert_eq!(re.is_match(&s), !s.trim().is_empty(), "U+{:04X}", c as u32);
        }
        assert!(!re.is_match(""));
    }

    /// Strings of `len` characters drawn from `alphabet`, reproducibly.
    fn samples(alphabet: &[char], count: usize, max_len: u64) -> Vec<String> {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        (0..count)
            .map(|_| {
                let len = next() % max_len;
                (0..len)
                    .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                    .collect()
            })
            .collect()
    }

    #[test]
    fn file_name_pattern_states_exactly_the_rule() {
        let re = regex::Regex::new(&file_name_pattern()).unwrap();
        let accepts =
            |s: &str| re.is_match(s) && (1..=MAX_FILE_NAME_CHARS).contains(&s.chars().count());
        for c in (0..=0x10ffff).filter_map(char::from_u32) {
            let s = c.to_string();
            assert_eq!(
                accepts(&s),
                normalize_file_name(&s).is_ok(),
                "U+{:04X}",
                c as u32
            );
        }
        let alphabet: Vec<char> = "a. \u{3000}\u{a0}/\\\t\u{85}é\u{301}丁".chars().collect();
        for s in samples(&alphabet, 20_000, 8)
            .iter()
            .chain(&samples(&alphabet, 200, 300))
        {
            assert_eq!(accepts(s), normalize_file_name(s).is_ok(), "{s:?}");
        }
    }

    /// Blank characters derived from Unicode: allowed, but only separators
    /// once normalised.
    fn derive_blank() -> Vec<(char, char)> {
        let blank = |c: char| {
            !in_ranges(TAG_FORBIDDEN, c)
                && std::iter::once(c)
                    .nfkc()
                    .flat_map(char::to_lowercase)
                    .all(|n| is_tag_separator(n) || matches!(n, '-' | '.'))
        };
        let mut ranges: Vec<(char, char)> = Vec::new();
        for c in (0..=0x10ffff)
            .filter_map(char::from_u32)
            .filter(|&c| blank(c))
        {
            match ranges.last_mut() {
                Some((_, hi)) if *hi as u32 + 1 == c as u32 => *hi = c,
                _ => ranges.push((c, c)),
            }
        }
        ranges
    }

    #[test]
    fn tag_blank_set_is_derived_from_unicode() {
        let derived = derive_blank();
        let listing: String = derived
            .iter()
            .map(|&(lo, hi)| format!("('\\u{{{:x}}}', '\\u{{{:x}}}'),\n", lo as u32, hi as u32))
            .collect();
        assert_eq!(
            TAG_BLANK, derived,
            "TAG_BLANK is out of date with the normaliser; derived:\n{listing}"
        );
    }

    #[test]
    fn tag_forbidden_set_is_controls_format_characters_and_punctuation() {
        let format = regex::Regex::new(r"^[\p{Cc}\p{Cf}]$").unwrap();
        for c in (0..=0xffff).filter_map(char::from_u32) {
            let ascii_punct = c.is_ascii_punctuation() && !matches!(c, '#' | '+' | '-' | '.' | '_');
            let expected = ascii_punct || format.is_match(c.encode_utf8(&mut [0; 4]));
            assert_eq!(in_ranges(TAG_FORBIDDEN, c), expected, "U+{:04X}", c as u32);
        }
        // The pattern spells characters as \uXXXX: the sets stay in the BMP.
        assert!(
            TAG_FORBIDDEN
                .iter()
                .chain(TAG_BLANK)
                .all(|&(_, hi)| (hi as u32) < 0x10000)
        );
    }

    fn pattern_accepts(re: &regex::Regex, s: &str) -> bool {
        re.is_match(s) && (1..=MAX_TAG_CHARS).contains(&s.chars().count())
    }

    #[test]
    fn tag_pattern_states_exactly_the_rule() {
        let re = regex::Regex::new(&tag_pattern()).unwrap();
        for c in (0..=0x10ffff).filter_map(char::from_u32) {
            let s = c.to_string();
            assert_eq!(
                pattern_accepts(&re, &s),
                normalize_tag(&s).is_ok(),
                "U+{:04X}",
                c as u32
            );
        }
        // Mixed strings, from characters near every boundary of the rule.
        let mut alphabet: Vec<char> = "aZ9 _-.+#<&/é\t\u{200b}＜\u{3000}ＡＡ\u{fdfa}丁😀"
            .chars()
            .collect();
        alphabet.extend(TAG_BLANK.iter().map(|r| r.0));
        for s in samples(&alphabet, 20_000, 52) {
            assert_eq!(pattern_accepts(&re, &s), normalize_tag(&s).is_ok(), "{s:?}");
        }
    }

    #[test]
    fn a_name_with_id_keeps_its_extension() {
        let id = "01f3c2d4-aaaa-bbbb-cccc-dddddddddddd";
        assert_eq!(name_with_id("a.txt", id), "a (01f3c2d4).txt");
        assert_eq!(name_with_id("a.tar.gz", id), "a.tar (01f3c2d4).gz");
        assert_eq!(name_with_id(".env", id), ".env (01f3c2d4)");
        assert_eq!(name_with_id("README", id), "README (01f3c2d4)");
    }
}
