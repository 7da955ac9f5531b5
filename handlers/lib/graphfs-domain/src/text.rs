//! Text as the indexes keep and show it: one truncation rule and one
//! snippet rule for every backend.

/// Extracted text kept for search, per file, in bytes.
pub const MAX_INDEXED_TEXT: usize = 1 << 20;

/// Terms kept per file for corpus statistics.
pub const MAX_TERMS_PER_FILE: usize = 256;
/// Longer "terms" (a run of base64, a URL) are no vocabulary, and a graph
/// index refuses to index values past a size.
pub const MAX_TERM_BYTES: usize = 64;

/// The terms of a tagging outcome as every backend stores them: the first
/// [`MAX_TERMS_PER_FILE`] that are non-empty and at most [`MAX_TERM_BYTES`],
/// without repeats, sorted.
pub fn index_terms(terms: &[String]) -> Vec<String> {
    let mut out: Vec<String> = terms
        .iter()
        .filter(|t| !t.is_empty() && t.len() <= MAX_TERM_BYTES)
        .take(MAX_TERMS_PER_FILE)
        .cloned()
        .collect();
    out.sort();
    out.dedup();
    out
}

/// `Ok` when an embedding of `len` values fits the model the index holds
/// vectors of (`recorded`: its name and length), [`crate::Error::InvalidInput`]
/// saying why otherwise.
pub fn check_embedding(len: usize, recorded: Option<(&str, usize)>) -> crate::Result<()> {
    match recorded {
        Some((_, d)) if d == len => Ok(()),
        Some((model, d)) => Err(crate::Error::InvalidInput(format!(
            "an embedding of {len} values, but the index holds vectors of {d} from model '{model}' (was the model changed without restarting every handler?)"
        ))),
        None => Err(crate::Error::InvalidInput(
            "an embedding arrived but no embedding model is recorded for this index".into(),
        )),
    }
}

/// The longest prefix of `s` of at most `max_bytes` bytes that ends on a
/// character boundary. Every limit on stored text is in bytes, so a limit
/// means the same storage in every script.
pub fn truncate_utf8(s: &str, max_bytes: usize) -> &str {
    if s.len() <= max_bytes {
        return s;
    }
    let mut end = max_bytes;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// A fragment of `text` around the first match of any of `words`
/// (lower-case), with matches in brackets and `…` where text was cut.
pub fn snippet(text: &str, words: &[String]) -> Option<String> {
    // Lower-cased char by char, remembering where each lowered byte came
    // from: lower-casing can change lengths (`Ⱥ` is 2 bytes, `ⱥ` 3), so
    // offsets found in the lowered text are mapped back, never reused.
    let mut lower = String::with_capacity(text.len());
    let mut origin: Vec<usize> = Vec::with_capacity(text.len() + 1);
    for (at, c) in text.char_indices() {
        for l in c.to_lowercase() {
            let before = lower.len();
            lower.push(l);
            origin.extend(std::iter::repeat_n(at, lower.len() - before));
        }
    }
    origin.push(text.len());
    // Where a lowered position starts an original character.
    let starts_char = |i: usize| i == 0 || i == lower.len() || origin[i] != origin[i - 1];
    let words: Vec<&str> = words
        .iter()
        .map(String::as_str)
        .filter(|w| !w.is_empty())
        .collect();
    let first = words
        .iter()
        .flat_map(|w| lower.match_indices(w).map(|(i, _)| (i, i + w.len())))
        .filter(|&(i, j)| starts_char(i) && starts_char(j))
        .map(|(i, _)| i)
        .min()?;
    let pos = origin[first];
    let mut start = pos.saturating_sub(60);
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = (pos + 120).min(text.len());
    while !text.is_char_boundary(end) {
        end += 1;
    }
    let mut out = String::new();
    let mut i = origin.partition_point(|&o| o < start);
    while i < lower.len() && origin[i] < end {
        let matched = words.iter().find_map(|w| {
            let j = i + w.len();
            (lower[i..].starts_with(w) && starts_char(j)).then_some(j)
        });
        if let Some(j) = matched {
            out.push('[');
            out.push_str(&text[origin[i]..origin[j]]);
            out.push(']');
            i = j;
        } else {
            if let Some(c) = text[origin[i]..].chars().next() {
                out.push(c);
            }
            i += 1;
            while !starts_char(i) {
                i += 1;
            }
        }
    }
    Some(format!(
        "{}{}{}",
        if start > 0 { "…" } else { "" },
        out.trim(),
        if end < text.len() { "…" } else { "" }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_is_in_bytes_and_never_splits_a_character() {
        assert_eq!(truncate_utf8("héllo", 2), "h");
        assert_eq!(truncate_utf8("héllo", 3), "hé");
        assert_eq!(truncate_utf8("季度", 4), "季");
        assert_eq!(truncate_utf8("abc", 10), "abc");
    }

    #[test]
    fn terms_are_bounded_in_length_and_count() {
        let long = "x".repeat(MAX_TERM_BYTES + 1);
        let terms: Vec<String> = vec!["b".into(), long, "a".into(), "b".into(), String::new()];
        assert_eq!(index_terms(&terms), vec!["a", "b"]);
        let many: Vec<String> = (0..1000).map(|i| format!("t{i}")).collect();
        assert_eq!(index_terms(&many).len(), MAX_TERMS_PER_FILE);
    }

    #[test]
    fn snippets_survive_letters_whose_lower_case_is_longer() {
        let words = ["needle".to_string()];
        assert_eq!(
            snippet("Ⱥ needle ẞ", &words).as_deref(),
            Some("Ⱥ [needle] ẞ")
        );
        assert_eq!(snippet("ȺNEEDLE ẞ", &words).as_deref(), Some("Ⱥ[NEEDLE] ẞ"));
        let long = format!("{} NEEDLE {}", "Ⱥ".repeat(100), "ẞ".repeat(100));
        let s = snippet(&long, &words).unwrap();
        assert!(
            s.contains("[NEEDLE]") && s.starts_with('…') && s.ends_with('…'),
            "{s}"
        );
        // The İ of Turkish lowers to two characters; a match may not split it.
        assert_eq!(snippet("İx", &["i".to_string()]), None);
        assert_eq!(snippet("no match here", &words), None);
    }

    #[test]
    fn snippets_bracket_the_match() {
        let s = snippet("The Calvin cycle fixes carbon.", &["calvin".into()]).unwrap();
        assert_eq!(s, "The [Calvin] cycle fixes carbon.");
        let s = snippet("我们正在研究机器学习和图数据库", &["机器学习".into()]).unwrap();
        assert!(s.contains("[机器学习]"), "{s}");
        assert!(snippet("nothing here", &["absent".into()]).is_none());
    }
}
