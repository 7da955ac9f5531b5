//! How a search query is split into terms, the same way in every backend.

/// Characters indexed one by one: CJK has no spaces between words, and
/// without a segmenter in the index each character is its own token.
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF
        | 0xAC00..=0xD7AF | 0x20000..=0x2FA1F)
}

/// At most this many terms of a query are used; the rest are ignored.
pub const MAX_QUERY_TERMS: usize = 16;

/// One term of a search query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryTerm {
    /// Lower-cased letters and digits only, so a term can be quoted into any
    /// query language without escaping.
    pub text: String,
    /// A run of CJK characters, matched as a phrase of single characters.
    pub cjk: bool,
}

/// Words and CJK runs of a query, lower-cased, at most [`MAX_QUERY_TERMS`].
/// Everything else (punctuation, operators, quotes) separates terms, so user
/// text never reaches a backend's query syntax.
pub fn query_terms(q: &str) -> Vec<QueryTerm> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut cjk = String::new();
    let flush = |s: &mut String, cjk: bool, out: &mut Vec<QueryTerm>| {
        if !s.is_empty() {
            out.push(QueryTerm {
                text: std::mem::take(s),
                cjk,
            });
        }
    };
    for c in q.chars() {
        if is_cjk(c) {
            flush(&mut word, false, &mut out);
            cjk.push(c);
        } else if c.is_alphanumeric() {
            flush(&mut cjk, true, &mut out);
            word.extend(c.to_lowercase());
        } else {
            flush(&mut word, false, &mut out);
            flush(&mut cjk, true, &mut out);
        }
    }
    flush(&mut word, false, &mut out);
    flush(&mut cjk, true, &mut out);
    out.truncate(MAX_QUERY_TERMS);
    out
}

/// A file name with its parts split out, so "tax-report_2024.pdf" matches
/// "report": the name itself, then its letters and digits space-separated.
pub fn name_tokens(name: &str) -> String {
    let spaced: String = name
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    format!("{name} {spaced}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(q: &str) -> Vec<(String, bool)> {
        query_terms(q)
            .into_iter()
            .map(|t| (t.text, t.cjk))
            .collect()
    }

    #[test]
    fn user_text_becomes_plain_terms_only() {
        assert_eq!(
            texts(r#"Tax" OR name:x* (report)"#),
            vec![
                ("tax".into(), false),
                ("or".into(), false),
                ("name".into(), false),
                ("x".into(), false),
                ("report".into(), false)
            ]
        );
        assert_eq!(
            texts("季度报告 titan"),
            vec![("季度报告".into(), true), ("titan".into(), false)]
        );
        assert_eq!(
            texts("a\u{4e00}b"),
            vec![
                ("a".into(), false),
                ("\u{4e00}".into(), true),
                ("b".into(), false)
            ]
        );
        assert!(texts("  \"* ").is_empty());
        assert_eq!(query_terms(&"w ".repeat(40)).len(), MAX_QUERY_TERMS);
    }

    #[test]
    fn name_parts_are_split_out() {
        assert_eq!(
            name_tokens("tax-report_2024.pdf"),
            "tax-report_2024.pdf tax report 2024 pdf"
        );
    }
}
