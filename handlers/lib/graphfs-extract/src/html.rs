//! A small, tolerant HTML (and generic XML) tag stripper.
//!
//! Real-world HTML is rarely well-formed, so this does not build a tree: it walks the
//! markup once, drops tags, skips the content of script-like elements, decodes entities,
//! and turns block elements into line breaks. The scan is linear in the input size.

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::text::{self, TextSink, fact};
use crate::{Content, ExtractError, Input};

/// Elements that end a line of text.
const BLOCK: &[&str] = &[
    "p",
    "div",
    "li",
    "ul",
    "ol",
    "dl",
    "dt",
    "dd",
    "h4",
    "h5",
    "h6",
    "tr",
    "table",
    "section",
    "article",
    "header",
    "footer",
    "nav",
    "aside",
    "main",
    "blockquote",
    "pre",
    "figure",
    "figcaption",
    "form",
    "fieldset",
    "address",
    "details",
    "summary",
    "option",
    "caption",
];

/// Elements whose content is not document text.
const SKIPPED: &[&str] = &[
    "script", "style", "template", "noscript", "svg", "iframe", "object", "canvas",
];

/// Headings worth listing in metadata.
const HEADINGS: &[&str] = &["h1", "h2", "h3"];

const MAX_HEADINGS: usize = 50;

#[derive(Debug, Default)]
pub(crate) struct HtmlText {
    pub text: String,
    pub truncated: bool,
    pub title: Option<String>,
    pub description: Option<String>,
    pub keywords: Option<String>,
    pub author: Option<String>,
    pub language: Option<String>,
    pub headings: Vec<String>,
    /// First element name, for XML documents.
    pub root: Option<String>,
}

pub(crate) fn extract(input: &Input<'_>) -> Result<Content, ExtractError> {
    let (source, _, cut) = text::read_text(input)?;
    let html = html_to_text(&source, input.limits.max_text_bytes, false);
    let mut metadata = Map::new();
    let facts = [
        ("title", &html.title),
        ("description", &html.description),
        ("keywords", &html.keywords),
        ("author", &html.author),
        ("language", &html.language),
    ];
    for (key, value) in facts {
        if let Some(v) = value.as_deref().and_then(fact) {
            metadata.insert(key.into(), v);
        }
    }
    let headings: Vec<Value> = html.headings.iter().filter_map(|h| fact(h)).collect();
    metadata.insert("headings".into(), headings.into());
    Ok(Content {
        text: html.text,
        truncated: html.truncated || cut,
        metadata,
    })
}

/// Generic XML: the character data, with every tag acting as a word break.
pub(crate) fn extract_xml(input: &Input<'_>) -> Result<Content, ExtractError> {
    let (source, _, cut) = text::read_text(input)?;
    let xml = html_to_text(&source, input.limits.max_text_bytes, true);
    let mut metadata = Map::new();
    if let Some(root) = xml.root.as_deref().and_then(fact) {
        metadata.insert("root".into(), root);
    }
    Ok(Content {
        text: xml.text,
        truncated: xml.truncated || cut,
        metadata,
    })
}

/// Converts markup to text, keeping at most `limit` bytes of text. In `xml` mode no
/// element is special and every tag separates words.
pub(crate) fn html_to_text(src: &str, limit: usize, xml: bool) -> HtmlText {
    let b = src.as_bytes();
    let mut out = HtmlText::default();
    let mut sink = TextSink::new(limit);
    let mut heading_start: Option<usize> = None;
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'<' {
            let end = src[i..].find('<').map_or(b.len(), |p| i + p);
            sink.push_words(&decode_entities(&src[i..end]));
            i = end;
            continue;
        }
        let rest = &src[i..];
        if rest.starts_with("<!--") {
            i = find_from(src, i + 4, "-->").map_or(b.len(), |p| p + 3);
            continue;
        }
        if rest.starts_with("<![CDATA[") {
            let end = find_from(src, i + 9, "]]>").unwrap_or(b.len());
            sink.push_words(&src[i + 9..end]);
            i = (end + 3).min(b.len());
            continue;
        }
        if matches!(b.get(i + 1), Some(b'!' | b'?')) {
            i = tag_end(b, i + 1).1;
            continue;
        }
        let closing = b.get(i + 1) == Some(&b'/');
        let name_start = i + 1 + usize::from(closing);
        let mut j = name_start;
        while j < b.len() && (b[j].is_ascii_alphanumeric() || matches!(b[j], b'-' | b':' | b'_')) {
            j += 1;
        }
        if j == name_start {
            // A lone `<` in text, as in "a < b".
            sink.push_words("<");
            i += 1;
            continue;
        }
        let (gt, next) = tag_end(b, j);
        let attrs = &src[j..gt];
        i = next;
        if xml {
            if out.root.is_none() && !closing {
                out.root = Some(src[name_start..j].to_string());
            }
            sink.space();
            continue;
        }
        let name = src[name_start..j].to_ascii_lowercase();
        let name = name.as_str();
        if closing {
            if HEADINGS.contains(&name)
                && let Some(start) = heading_start.take()
                && out.headings.len() < MAX_HEADINGS
                && let Some(heading) = sink.as_str().get(start..)
            {
                out.headings.push(heading.trim().to_string());
            }
            end_element(&mut sink, name);
            continue;
        }
        match name {
            _ if SKIPPED.contains(&name) => {
                let close = find_ci(b, i, format!("</{name}").as_bytes()).unwrap_or(b.len());
                i = tag_end(b, close).1;
            }
            "title" => {
                let close = find_ci(b, i, b"</title").unwrap_or(b.len());
                let title = collapse_whitespace(&decode_entities(&src[i..close]));
                if out.title.is_none() && !title.is_empty() {
                    out.title = Some(title);
                }
                i = tag_end(b, close).1;
            }
            "meta" => read_meta(attrs, &mut out),
            "html" => out.language = attr(attrs, "lang"),
            "img" => {
                if let Some(alt) = attr(attrs, "alt") {
                    sink.space();
                    sink.push_words(&alt);
                    sink.space();
                }
            }
            "br" | "hr" => sink.newline(),
            _ if HEADINGS.contains(&name) => {
                sink.newline();
                heading_start = Some(sink.len());
            }
            _ => end_element(&mut sink, name),
        }
    }
    (out.text, out.truncated) = sink.finish();
    out
}

/// Layout effect of an element boundary.
fn end_element(sink: &mut TextSink, name: &str) {
    if BLOCK.contains(&name) || HEADINGS.contains(&name) {
        sink.newline();
    } else if matches!(name, "td" | "th") {
        sink.space();
    }
}

fn read_meta(attrs: &str, out: &mut HtmlText) {
    let Some(key) = attr(attrs, "name").or_else(|| attr(attrs, "property")) else {
        return;
    };
    let Some(content) = attr(attrs, "content") else {
        return;
    };
    let slot = match key.to_ascii_lowercase().as_str() {
        "description" | "og:description" => &mut out.description,
        "keywords" => &mut out.keywords,
        "author" => &mut out.author,
        _ => return,
    };
    if slot.is_none() {
        *slot = Some(content);
    }
}

/// Position of the tag's closing `>` (or the end) and the index just past it. Quotes
/// count only as attribute values (after `=`), so a stray apostrophe cannot swallow the
/// rest of the document.
fn tag_end(b: &[u8], from: usize) -> (usize, usize) {
    let mut quote: Option<u8> = None;
    let mut after_eq = false;
    let mut k = from;
    while k < b.len() {
        let c = b[k];
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                b'>' => return (k, k + 1),
                b'"' | b'\'' if after_eq => quote = Some(c),
                b'=' => {
                    after_eq = true;
                    k += 1;
                    continue;
                }
                _ if c.is_ascii_whitespace() => {
                    k += 1;
                    continue;
                }
                _ => {}
            },
        }
        after_eq = false;
        k += 1;
    }
    (b.len(), b.len())
}

fn find_from(src: &str, from: usize, needle: &str) -> Option<usize> {
    src.get(from..)?.find(needle).map(|p| from + p)
}

/// ASCII case-insensitive search for `needle` in `b[from..]`.
fn find_ci(b: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    b.get(from..)?
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
        .map(|p| from + p)
}

/// Value of attribute `wanted` (case-insensitive) in a tag's attribute text.
fn attr(attrs: &str, wanted: &str) -> Option<String> {
    let b = attrs.as_bytes();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b'/') {
            i += 1;
        }
        let start = i;
        while i < b.len() && !b[i].is_ascii_whitespace() && !matches!(b[i], b'=' | b'/') {
            i += 1;
        }
        if i == start {
            i += 1;
            continue;
        }
        let name = &attrs[start..i];
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut value = "";
        if b.get(i) == Some(&b'=') {
            i += 1;
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            match b.get(i) {
                Some(&q @ (b'"' | b'\'')) => {
                    let end = attrs[i + 1..]
                        .find(q as char)
                        .map_or(b.len(), |p| i + 1 + p);
                    value = &attrs[i + 1..end];
                    i = end + 1;
                }
                _ => {
                    let end = attrs[i..]
                        .find(|c: char| c.is_ascii_whitespace())
                        .map_or(b.len(), |p| i + p);
                    value = &attrs[i..end];
                    i = end;
                }
            }
        }
        if name.eq_ignore_ascii_case(wanted) {
            return Some(collapse_whitespace(&decode_entities(value)));
        }
    }
    None
}

fn collapse_whitespace(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Decodes character references: numeric ones and the common named ones. Unknown names
/// are left as written.
pub(crate) fn decode_entities(s: &str) -> Cow<'_, str> {
    if !s.contains('&') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find('&') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        let semicolon = after.bytes().take(32).position(|b| b == b';');
        if let Some(end) = semicolon
            && let Some(c) = entity(&after[..end])
        {
            out.push(c);
            rest = &after[end + 1..];
        } else {
            out.push('&');
            rest = after;
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

fn entity(name: &str) -> Option<char> {
    if let Some(number) = name.strip_prefix('#') {
        let code = match number.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => number.parse().ok()?,
        };
        let c = char::from_u32(code).filter(|&c| c != '\0');
        return Some(c.unwrap_or(char::REPLACEMENT_CHARACTER));
    }
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => '\u{a0}',
        "shy" => '\u{ad}',
        "copy" => '©',
        "reg" => '®',
        "trade" => '™',
        "mdash" => '—',
        "ndash" => '–',
        "hellip" => '…',
        "lsquo" => '‘',
        "rsquo" => '’',
        "sbquo" => '‚',
        "ldquo" => '“',
        "rdquo" => '”',
        "bdquo" => '„',
        "laquo" => '«',
        "raquo" => '»',
        "bull" => '•',
        "middot" => '·',
        "deg" => '°',
        "times" => '×',
        "divide" => '÷',
        "plusmn" => '±',
        "sect" => '§',
        "para" => '¶',
        "euro" => '€',
        "pound" => '£',
        "yen" => '¥',
        "cent" => '¢',
        "iexcl" => '¡',
        "iquest" => '¿',
        "szlig" => 'ß',
        "auml" => 'ä',
        "ouml" => 'ö',
        "uuml" => 'ü',
        "Auml" => 'Ä',
        "Ouml" => 'Ö',
        "Uuml" => 'Ü',
        "eacute" => 'é',
        "egrave" => 'è',
        "ecirc" => 'ê',
        "aacute" => 'á',
        "agrave" => 'à',
        "acirc" => 'â',
        "iacute" => 'í',
        "oacute" => 'ó',
        "uacute" => 'ú',
        "ccedil" => 'ç',
        "ntilde" => 'ñ',
        "Eacute" => 'É',
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_tags_scripts_and_decodes_entities() {
        let html = r#"<!DOCTYPE html><html lang="en"><head><title>My &amp; Page</title>
            <meta name="description" content="A &quot;test&quot; page">
            <style>body { color: red }</style>
            <script>var x = "<p>not text</p>";</script></head>
            <body><h1>Big <em>News</em></h1><p>Caf&eacute; &#x263A; &#9731; ok</p>
            <!-- hidden --><div>a<b>b</b>c</div><SCRIPT type='x'>alert(1)</SCRIPT>
            <p>x < y &unknown; done</p><img src=a.png alt="A cat"></body></html>"#;
        let out = html_to_text(html, 1 << 20, false);
        assert_eq!(out.title.as_deref(), Some("My & Page"));
        assert_eq!(out.description.as_deref(), Some("A \"test\" page"));
        assert_eq!(out.language.as_deref(), Some("en"));
        assert_eq!(out.headings, vec!["Big News"]);
        assert!(out.text.contains("Café ☺ ☃ ok"), "{}", out.text);
        assert!(out.text.contains("abc"));
        assert!(out.text.contains("x < y &unknown; done"));
        assert!(out.text.contains("A cat"));
        for absent in ["color", "not text", "alert", "hidden", "My & Page"] {
            assert!(!out.text.contains(absent), "{absent} in {}", out.text);
        }
    }

    #[test]
    fn unterminated_markup_does_not_panic() {
        for src in [
            "<",
            "<a",
            "<a href=\"x",
            "<!--",
            "<script>",
            "<![CDATA[",
            "&#xFFFFFFFF;",
            "<p>&",
        ] {
            html_to_text(src, 100, false);
            html_to_text(src, 100, true);
        }
    }

    #[test]
    fn xml_mode_separates_words() {
        let out = html_to_text(
            "<?xml version='1.0'?><r><a>one</a><b>two</b></r>",
            100,
            true,
        );
        assert_eq!(out.text, "one two");
        assert_eq!(out.root.as_deref(), Some("r"));
    }
}
