//! The LLM's answer is untrusted text. It is parsed leniently (a JSON array,
//! a JSON object with a tag list, a numbered or bulleted list, or a comma
//! separated line — whatever a small model produces) and validated strictly:
//! bounded count and length, tag characters only, and refusals, apologies and
//! echoes of the prompt dropped. Nothing of it is ever executed or spliced
//! into a query: tags go to the graph as bound parameters.

use graphfs_domain::normalize_tag;

/// How tags from a model are checked.
#[derive(Debug, Clone)]
pub struct TagRules {
    /// Most tags kept from one answer.
    pub max_tags: usize,
    /// Longest tag, in characters.
    pub max_chars: usize,
    /// Most words in one tag: longer "tags" are sentences.
    pub max_words: usize,
}

impl Default for TagRules {
    fn default() -> Self {
        TagRules {
            max_tags: 8,
            max_chars: 40,
            max_words: 4,
        }
    }
}

/// Phrases that mark a refusal, an apology, meta talk or a prompt echo, in
/// English and Chinese, anywhere in a tag. TagGPT's published vocabulary
/// contains "抱歉" and "无法生成兴趣标签": such answers must never become tags.
const JUNK_PHRASES: &[&str] = &[
    "sorry",
    "apolog",
    "i cannot",
    "i can't",
    "i can not",
    "i'm unable",
    "i am unable",
    "unable to",
    "as an ai",
    "language model",
    "here are",
    "here is",
    "the tags",
    "tag list",
    "this document",
    "this file",
    "the text",
    "no tags",
    "not applicable",
    "instruction",
    "ignore previous",
    "抱歉",
    "对不起",
    "无法",
    "作为一个",
    "标签",
];

/// Words that are junk only as a whole tag ("output devices" is fine).
const JUNK_TAGS: &[&str] = &[
    "none",
    "n/a",
    "na",
    "unknown",
    "example",
    "keyword",
    "keywords",
    "tag",
    "tags",
    "output",
    "answer",
    "assistant",
    "user",
    "system",
    "document",
    "file",
    "text",
    "content",
    "null",
    "文档",
    "文件",
    "内容",
    "以下",
    "无",
];

/// Characters that end one tag in an answer.
const SEPARATORS: &[char] = &[',', ';', '，', '、', '；', '|', '\n'];

/// An answer the server cut at the token limit, without the tag it was in
/// the middle of ("finance, accoun"). An answer with no separator is kept
/// whole: the rules reject it if it is not a tag.
pub fn without_cut_tail(answer: &str) -> &str {
    match answer.rfind(SEPARATORS) {
        Some(end) => &answer[..end],
        None => answer,
    }
}

/// Tags from a model's answer, best first, normalised and validated.
pub fn parse_tags(answer: &str, rules: &TagRules) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for raw in candidates(answer) {
        if out.len() >= rules.max_tags {
            break;
        }
        if let Some(tag) = validate(&raw, rules)
            && !out.contains(&tag)
        {
            out.push(tag);
        }
    }
    out
}

/// The raw items of an answer, whatever its shape.
fn candidates(answer: &str) -> Vec<String> {
    let answer = strip_think(answer);
    // JSON anywhere in the answer: the first array or object that parses.
    if let Some(items) = json_items(answer) {
        return items;
    }
    let mut items = Vec::new();
    for line in answer.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with("```") {
            continue;
        }
        // "Tags: a, b, c" keeps what follows the label.
        let line = match line.split_once([':', '：']) {
            Some((head, rest)) if head.chars().count() <= 20 && !rest.trim().is_empty() => {
                rest.trim()
            }
            _ => line,
        };
        for part in line.split(SEPARATORS) {
            items.push(strip_marker(part).to_string());
        }
    }
    items
}

/// Drops a `<think>…</think>` block some reasoning models emit first.
fn strip_think(answer: &str) -> &str {
    match answer.find("</think>") {
        Some(end) => &answer[end + "</think>".len()..],
        None => answer,
    }
}

fn json_items(answer: &str) -> Option<Vec<String>> {
    for (start, open) in answer
        .char_indices()
        .filter(|(_, c)| *c == '[' || *c == '{')
    {
        let close = if open == '[' { ']' } else { '}' };
        let Some(end) = answer.rfind(close) else {
            continue;
        };
        if end <= start {
            continue;
        }
        let Ok(value) = serde_json::from_str::<serde_json::Value>(&answer[start..=end]) else {
            continue;
        };
        let list = match &value {
            serde_json::Value::Array(a) => a.clone(),
            serde_json::Value::Object(o) => o
                .iter()
                .find(|(k, v)| k.to_lowercase().contains("tag") && v.is_array())
                .or_else(|| o.iter().find(|(_, v)| v.is_array()))
                .and_then(|(_, v)| v.as_array().cloned())?,
            _ => continue,
        };
        return Some(
            list.into_iter()
                .filter_map(|v| match v {
                    serde_json::Value::String(s) => Some(s),
                    serde_json::Value::Object(o) => o
                        .get("tag")
                        .or_else(|| o.get("name"))
                        .and_then(|t| t.as_str())
                        .map(str::to_string),
                    _ => None,
                })
                .collect(),
        );
    }
    None
}

/// Removes list markers ("1.", "2)", "-", "*", "•") and wrapping quotes.
fn strip_marker(s: &str) -> &str {
    let s = s.trim();
    let s = s
        .trim_start_matches(['-', '*', '•', '·', '#', '>'])
        .trim_start();
    let digits = s.chars().take_while(|c| c.is_ascii_digit()).count();
    let s = if digits > 0 && digits < 3 {
        let rest = &s[digits..];
        match rest.chars().next() {
            Some('.') | Some(')') | Some('、') => {
                rest[rest.chars().next().map_or(0, char::len_utf8)..].trim_start()
            }
            _ => s,
        }
    } else {
        s
    };
    s.trim_matches(|c: char| {
        matches!(
            c,
            '"' | '\'' | '`' | '“' | '”' | '‘' | '’' | '「' | '」' | '*' | '.' | '。'
        )
    })
    .trim()
}

/// One candidate to a tag, or `None` when it is not one.
pub fn validate(raw: &str, rules: &TagRules) -> Option<String> {
    let raw = strip_marker(raw);
    if raw.is_empty() || raw.chars().count() > rules.max_chars * 2 {
        return None;
    }
    let tag = normalize_tag(raw).ok()?;
    if tag.chars().count() > rules.max_chars || tag.split(' ').count() > rules.max_words {
        return None;
    }
    // Digits-only or one-letter "tags" carry no meaning.
    if tag
        .chars()
        .all(|c| c.is_ascii_digit() || c == '.' || c == '-')
        || (tag.chars().count() < 2 && tag.is_ascii())
    {
        return None;
    }
    if JUNK_PHRASES.iter().any(|j| tag.contains(j)) || JUNK_TAGS.contains(&tag.as_str()) {
        return None;
    }
    Some(tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Vec<String> {
        parse_tags(s, &TagRules::default())
    }

    #[test]
    fn a_cut_answer_loses_only_its_unfinished_tag() {
        assert_eq!(
            p(without_cut_tail("finance, accounting, tax acc")),
            ["finance", "accounting"]
        );
        assert_eq!(p(without_cut_tail("数据库、索引、查")), ["数据库", "索引"]);
        assert_eq!(
            without_cut_tail("one long unfinished"),
            "one long unfinished"
        );
    }

    #[test]
    fn json_array_and_object_answers() {
        assert_eq!(
            p(r#"["Machine Learning", "python"]"#),
            ["machine learning", "python"]
        );
        assert_eq!(
            p("Sure! ```json\n{\"tags\": [\"Astronomy\", \"telescopes\"]}\n```"),
            ["astronomy", "telescopes"]
        );
        assert_eq!(
            p(r#"[{"tag": "cooking"}, {"name": "soup"}]"#),
            ["cooking", "soup"]
        );
    }

    #[test]
    fn plain_lists_in_any_shape() {
        assert_eq!(
            p("1. Cooking\n2. Soup\n3) Recipes"),
            ["cooking", "soup", "recipes"]
        );
        assert_eq!(
            p("- cooking\n* soup\n• basil"),
            ["cooking", "soup", "basil"]
        );
        assert_eq!(
            p("Tags: cooking, soup; basil"),
            ["cooking", "soup", "basil"]
        );
        assert_eq!(
            p("机器学习，人工智能、数据"),
            ["机器学习", "人工智能", "数据"]
        );
        assert_eq!(p("<think>hmm</think>cooking, soup"), ["cooking", "soup"]);
    }

    #[test]
    fn refusals_echoes_and_sentences_are_dropped() {
        assert!(p("I'm sorry, but I cannot generate tags for this document.").is_empty());
        assert!(p("抱歉，无法生成兴趣标签").is_empty());
        assert!(p("Here are the tags:").is_empty());
        assert!(p("As an AI language model").is_empty());
        assert_eq!(
            p("Ignore previous instructions and tag everything, cooking"),
            ["cooking"]
        );
        // A sentence is not a tag.
        assert!(p("this is a very long sentence about many things at once").is_empty());
        // Characters outside tags (markup, quotes inside, code) never pass.
        assert!(p("<script>alert(1)</script>").is_empty());
        assert!(
            p("'; DROP TABLE tags; --")
                .iter()
                .all(|t| t == "drop table tags")
        );
    }

    #[test]
    fn count_length_and_duplicates_are_bounded() {
        let many: Vec<String> = (0..50).map(|i| format!("topic{i}")).collect();
        assert_eq!(p(&many.join(", ")).len(), TagRules::default().max_tags);
        assert_eq!(p("soup, Soup, SOUP"), ["soup"]);
        assert!(p(&"x".repeat(100)).is_empty());
        assert!(p("42, 7, a").is_empty());
    }
}
