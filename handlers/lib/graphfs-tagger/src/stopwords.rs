//! Word lists for the keyword tagger: stop words (function words that carry
//! no topic) and words that are real content words but too generic to be
//! useful as tags. The lists live in plain text files next to this module so
//! they can be edited without touching code; entries are lower case, as
//! produced by `normalize_tag`.

use std::collections::HashSet;
use std::sync::LazyLock;

const ENGLISH: &str = include_str!("stopwords/english.txt");
const CHINESE: &str = include_str!("stopwords/chinese.txt");
const GENERIC: &str = include_str!("stopwords/generic.txt");

static STOP_WORDS: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| words(ENGLISH).chain(words(CHINESE)).collect());

static GENERIC_WORDS: LazyLock<HashSet<&'static str>> = LazyLock::new(|| words(GENERIC).collect());

/// The entries of a list file: whitespace-separated words, `#` lines are comments.
fn words(list: &'static str) -> impl Iterator<Item = &'static str> {
    list.lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .flat_map(str::split_whitespace)
}

/// True for a stop word (English or Chinese); `word` must already be lower case.
pub(crate) fn is_stop_word(word: &str) -> bool {
    STOP_WORDS.contains(word)
}

/// True for a word too generic to be a tag on its own; `word` must already be
/// lower case.
pub(crate) fn is_generic(word: &str) -> bool {
    GENERIC_WORDS.contains(word)
}

/// The entries of each list (English, Chinese, generic), for checks in tests.
#[cfg(test)]
pub(crate) fn lists() -> [Vec<&'static str>; 3] {
    [
        words(ENGLISH).collect(),
        words(CHINESE).collect(),
        words(GENERIC).collect(),
    ]
}
