//! One tag per word family: `develop`/`development`, `program`/`programming`
//! and `archive`/`archiving` share a variant key, so the vocabulary never
//! holds two tags that differ only by inflection.
//!
//! English words are reduced with the Snowball (Porter 2) stemmer. Chinese
//! has no inflection to strip: a Chinese tag is its own key (jieba already
//! cuts text into dictionary words). Other scripts are kept as they are.

use std::sync::OnceLock;

use rust_stemmers::{Algorithm, Stemmer};

fn english() -> &'static Stemmer {
    static STEMMER: OnceLock<Stemmer> = OnceLock::new();
    STEMMER.get_or_init(|| Stemmer::create(Algorithm::English))
}

/// The key under which a normalised tag and its inflections meet: each
/// ASCII word stemmed, the words joined by one space.
pub fn variant_key(tag: &str) -> String {
    let mut key = String::with_capacity(tag.len());
    for word in tag.split_whitespace() {
        if !key.is_empty() {
            key.push(' ');
        }
        // Short words and words with digits or symbols ("c++", "utf-8",
        // "os") are names, not inflected forms.
        if word.len() > 3 && word.bytes().all(|b| b.is_ascii_lowercase()) {
            key.push_str(&english().stem(word));
        } else {
            key.push_str(word);
        }
    }
    key
}

/// A lighter key: each word as written or in its plural (`taxes`/`tax`,
/// `libraries`/`library`), nothing more. For aliases: an alias is one
/// chosen word, and its word family is often another concept
/// (`correspondence`, an alias of "letter", and `corresponding`).
pub fn plural_key(tag: &str) -> String {
    let singular = |word: &str| -> String {
        if word.len() <= 3 || !word.bytes().all(|b| b.is_ascii_lowercase()) {
            return word.to_string();
        }
        if let Some(stem) = word.strip_suffix("ies") {
            return format!("{stem}y");
        }
        for ending in ["sses", "xes", "ches", "shes"] {
            if word.ends_with(ending) {
                return word[..word.len() - 2].to_string();
            }
        }
        match word.strip_suffix('s') {
            Some(stem) if !stem.ends_with('s') && !stem.ends_with('u') => stem.to_string(),
            _ => word.to_string(),
        }
    };
    tag.split_whitespace()
        .map(singular)
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::{plural_key, variant_key};

    #[test]
    fn plural_keys_join_plurals_only() {
        for (a, b) in [
            ("taxes", "tax"),
            ("libraries", "library"),
            ("scripts", "script"),
            ("classes", "class"),
            ("patches", "patch"),
            ("data formats", "data format"),
        ] {
            assert_eq!(plural_key(a), plural_key(b), "{a} / {b}");
        }
        for (a, b) in [
            ("correspondence", "corresponding"),
            ("operation", "operating"),
            ("status", "statu"),
            ("class", "clas"),
        ] {
            assert_ne!(plural_key(a), plural_key(b), "{a} / {b}");
        }
    }

    #[test]
    fn inflections_share_a_key() {
        for (a, b) in [
            ("develop", "development"),
            ("program", "programming"),
            ("programs", "program"),
            ("archive", "archiving"),
            ("network", "networking"),
            ("data compression", "data compressions"),
        ] {
            assert_eq!(variant_key(a), variant_key(b), "{a} / {b}");
        }
    }

    #[test]
    fn different_words_and_names_stay_apart() {
        assert_ne!(variant_key("archive"), variant_key("arch"));
        assert_ne!(variant_key("compression"), variant_key("compressor"));
        assert_eq!(variant_key("c++"), "c++");
        assert_eq!(variant_key("utf-8"), "utf-8");
        assert_eq!(variant_key("用户密码"), "用户密码");
        assert_eq!(variant_key("os"), "os");
    }
}
