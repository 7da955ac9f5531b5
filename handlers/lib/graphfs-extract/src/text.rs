//! Text-like formats: plain text, Markdown, source code, CSV and JSON.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::{Content, ExtractError, Input, sniff};

/// Most headings, columns or keys listed in metadata.
const MAX_LISTED: usize = 100;
/// Longest single string kept in metadata.
const MAX_FACT_BYTES: usize = 500;

/// An append-only text buffer that stops growing at a byte limit, cutting at a character
/// boundary, and collapses layout whitespace on request.
pub(crate) struct TextSink {
    text: String,
    limit: usize,
    truncated: bool,
    pending_space: bool,
}

impl TextSink {
    pub fn new(limit: usize) -> Self {
        TextSink {
            text: String::new(),
            limit,
            truncated: false,
            pending_space: false,
        }
    }

    pub fn is_full(&self) -> bool {
        self.truncated
    }

    pub fn len(&self) -> usize {
        self.text.len()
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Appends `s` verbatim.
    pub fn push_str(&mut self, s: &str) {
        self.pending_space = false;
        if self.truncated {
            return;
        }
        let room = self.limit - self.text.len();
        if s.len() <= room {
            self.text.push_str(s);
        } else {
            self.text.push_str(&s[..floor_char_boundary(s, room)]);
            self.truncated = true;
        }
    }

    /// Appends `s` with runs of whitespace collapsed to one space (markup text).
    pub fn push_words(&mut self, s: &str) {
        if s.is_empty() {
            return;
        }
        for (i, word) in s.split_whitespace().enumerate() {
            let space_before = i > 0 || s.starts_with(char::is_whitespace) || self.pending_space;
            if space_before && !self.text.is_empty() && !self.text.ends_with(char::is_whitespace) {
                self.push_str(" ");
            }
            self.push_str(word);
        }
        self.pending_space = s.ends_with(char::is_whitespace);
    }

    /// Separates words without doubling whitespace.
    pub fn space(&mut self) {
        self.pending_space = true;
    }

    /// Ends the current line unless it is empty.
    pub fn newline(&mut self) {
        if !self.text.is_empty() && !self.text.ends_with('\n') {
            self.trim_end_spaces();
            self.push_str("\n");
        }
        self.pending_space = false;
    }

    /// Ends the current paragraph with one blank line.
    pub fn blank_line(&mut self) {
        self.newline();
        if !self.text.is_empty() && !self.text.ends_with("\n\n") {
            self.push_str("\n");
        }
    }

    fn trim_end_spaces(&mut self) {
        let kept = self.text.trim_end_matches([' ', '\t']).len();
        self.text.truncate(kept);
    }

    pub fn finish(mut self) -> (String, bool) {
        let kept = self.text.trim_end().len();
        self.text.truncate(kept);
        (self.text, self.truncated)
    }
}

fn floor_char_boundary(s: &str, mut index: usize) -> usize {
    if index >= s.len() {
        return s.len();
    }
    while !s.is_char_boundary(index) {
        index -= 1;
    }
    index
}

/// Cuts `s` to at most `max` bytes at a character boundary; true when it cut.
pub(crate) fn truncate_at_char_boundary(s: &mut String, max: usize) -> bool {
    if s.len() <= max {
        return false;
    }
    let end = floor_char_boundary(s, max);
    s.truncate(end);
    true
}

/// A short string for metadata: trimmed, bounded, `None` when empty.
pub(crate) fn fact(s: &str) -> Option<Value> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let mut s = s.to_string();
    truncate_at_char_boundary(&mut s, MAX_FACT_BYTES);
    Some(Value::String(s))
}

/// Decodes text: UTF-8 (BOM stripped, invalid bytes replaced) or UTF-16 with a BOM.
pub(crate) fn decode(bytes: &[u8]) -> (String, &'static str) {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return (String::from_utf8_lossy(rest).into_owned(), "utf-8");
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        return (decode_utf16(rest, u16::from_le_bytes), "utf-16le");
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        return (decode_utf16(rest, u16::from_be_bytes), "utf-16be");
    }
    match String::from_utf8_lossy(bytes) {
        std::borrow::Cow::Borrowed(s) => (s.to_string(), "utf-8"),
        std::borrow::Cow::Owned(s) => (s, "utf-8 (with invalid bytes replaced)"),
    }
}

fn decode_utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16) -> String {
    let units = bytes.chunks_exact(2).map(|c| unit([c[0], c[1]]));
    char::decode_utf16(units)
        .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect()
}

/// Reads and decodes a text file's prefix; the flag says whether the file was longer.
pub(crate) fn read_text(input: &Input<'_>) -> Result<(String, &'static str, bool), ExtractError> {
    let (bytes, cut) = input.read_prefix()?;
    let (text, encoding) = decode(&bytes);
    Ok((text, encoding, cut))
}

fn count_lines(s: &str) -> usize {
    s.lines().count()
}

fn bounded(mut text: String, cut: bool, limit: usize) -> (String, bool) {
    let truncated = truncate_at_char_boundary(&mut text, limit) || cut;
    (text, truncated)
}

pub(crate) fn plain(input: &Input<'_>) -> Result<Content, ExtractError> {
    let (text, encoding, cut) = read_text(input)?;
    let mut metadata = Map::new();
    metadata.insert("lines".into(), count_lines(&text).into());
    metadata.insert("encoding".into(), encoding.into());
    let (text, truncated) = bounded(text, cut, input.limits.max_text_bytes);
    Ok(Content {
        text,
        truncated,
        metadata,
    })
}

pub(crate) fn code(input: &Input<'_>, media_type: &str) -> Result<Content, ExtractError> {
    let (text, _, cut) = read_text(input)?;
    let mut metadata = Map::new();
    if let Some(lang) = sniff::language(input.name, media_type) {
        metadata.insert("language".into(), lang.into());
    }
    metadata.insert("lines".into(), count_lines(&text).into());
    let (text, truncated) = bounded(text, cut, input.limits.max_text_bytes);
    Ok(Content {
        text,
        truncated,
        metadata,
    })
}

pub(crate) fn markdown(input: &Input<'_>) -> Result<Content, ExtractError> {
    let (source, _, cut) = read_text(input)?;
    let mut sink = TextSink::new(input.limits.max_text_bytes);
    let outline = strip_markdown(&source, &mut sink);
    let mut metadata = Map::new();
    if let Some(title) = outline.title.as_deref().and_then(fact) {
        metadata.insert("title".into(), title);
    }
    metadata.insert(
        "headings".into(),
        outline.headings.iter().filter_map(|h| fact(h)).collect(),
    );
    metadata.insert("lines".into(), count_lines(&source).into());
    let (text, truncated) = sink.finish();
    Ok(Content {
        text,
        truncated: truncated || cut,
        metadata,
    })
}

#[derive(Default)]
struct Outline {
    title: Option<String>,
    headings: Vec<String>,
}

/// Light Markdown stripping: heading markers, emphasis, code fences and link targets go;
/// the words (code blocks included) stay.
fn strip_markdown(source: &str, sink: &mut TextSink) -> Outline {
    let mut outline = Outline::default();
    let mut in_front_matter = false;
    let mut in_fence = false;
    for (i, line) in source.lines().enumerate() {
        let trimmed = line.trim();
        if i == 0 && trimmed == "---" {
            in_front_matter = true;
            continue;
        }
        if in_front_matter {
            if trimmed == "---" || trimmed == "..." {
                in_front_matter = false;
            } else {
                if let Some(title) = trimmed.strip_prefix("title:") {
                    outline.title = Some(title.trim().trim_matches(['"', '\'']).to_string());
                }
                // Front matter (tags, title, date) is good material for tagging.
                sink.push_str(line);
                sink.newline();
            }
            continue;
        }
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            in_fence = !in_fence;
            sink.newline();
            continue;
        }
        if in_fence {
            sink.push_str(line);
            sink.push_str("\n");
            continue;
        }
        if is_rule_or_underline(trimmed) || is_link_definition(trimmed) {
            continue;
        }
        if let Some(heading) = heading_text(trimmed) {
            let mut text = String::new();
            strip_inline(heading, &mut text);
            let text = text.trim().to_string();
            if outline.title.is_none() && trimmed.starts_with("# ") {
                outline.title = Some(text.clone());
            }
            sink.newline();
            sink.push_str(&text);
            sink.newline();
            if outline.headings.len() < MAX_LISTED {
                outline.headings.push(text);
            }
            continue;
        }
        let body = trimmed.trim_start_matches('>').trim_start();
        let body = ["- ", "* ", "+ "]
            .iter()
            .find_map(|bullet| body.strip_prefix(bullet))
            .unwrap_or(body);
        let mut text = String::new();
        strip_inline(body, &mut text);
        sink.push_str(&text);
        sink.newline();
        if sink.is_full() {
            break;
        }
    }
    outline
}

fn heading_text(line: &str) -> Option<&str> {
    let level = line.bytes().take_while(|&b| b == b'#').count();
    if !(1..=6).contains(&level) {
        return None;
    }
    let rest = &line[level..];
    if !rest.is_empty() && !rest.starts_with([' ', '\t']) {
        return None;
    }
    Some(rest.trim().trim_end_matches('#').trim_end())
}

/// `---`, `***`, `===` and the like: thematic breaks and setext heading underlines.
fn is_rule_or_underline(line: &str) -> bool {
    let mut marks = line.chars().filter(|&c| c != ' ');
    let Some(first) = marks.next() else {
        return false;
    };
    line.len() >= 3 && matches!(first, '-' | '=' | '*' | '_') && marks.all(|c| c == first)
}

fn is_link_definition(line: &str) -> bool {
    line.starts_with('[') && line.contains("]:")
}

/// How far to look for the closing bracket of a link.
const LINK_SCAN: usize = 2048;

/// Removes inline markup: `[text](url)` and `![alt](url)` keep only the text, emphasis
/// markers and backticks go. Single underscores stay (they are common in identifiers).
fn strip_inline(s: &str, out: &mut String) {
    // Link lookups scan ahead; a budget proportional to the line keeps the work linear
    // even on hostile input such as a line of unclosed brackets.
    let mut budget = s.len().saturating_mul(2).saturating_add(LINK_SCAN);
    strip_inline_within(s, out, &mut budget);
}

fn strip_inline_within(s: &str, out: &mut String, budget: &mut usize) {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' if b.get(i + 1).is_some_and(u8::is_ascii_punctuation) => {
                out.push(b[i + 1] as char);
                i += 2;
            }
            b'!' if b.get(i + 1) == Some(&b'[') => i += 1,
            b'[' => match link_end(s, i, budget) {
                Some((label, end)) => {
                    strip_inline_within(label, out, budget);
                    i = end;
                }
                None => {
                    out.push('[');
                    i += 1;
                }
            },
            b'*' | b'`' => i += 1,
            b'_' | b'~' if b.get(i + 1) == Some(&b[i]) => i += 2,
            _ => {
                let ch = s[i..].chars().next().unwrap_or(char::REPLACEMENT_CHARACTER);
                out.push(ch);
                i += ch.len_utf8();
            }
        }
    }
}

/// For a `[` at `start`, the link label and the index just past `(url)` or `[ref]`.
/// Bytes scanned are charged to `budget`.
fn link_end<'s>(s: &'s str, start: usize, budget: &mut usize) -> Option<(&'s str, usize)> {
    let close = start + 1 + scan(s, start + 1, ']', budget)?;
    let label = &s[start + 1..close];
    let after = close + 1;
    let closer = match s.as_bytes().get(after) {
        Some(b'(') => ')',
        Some(b'[') => ']',
        _ => return None,
    };
    let end = after + scan(s, after, closer, budget)? + 1;
    Some((label, end))
}

/// Offset of `needle` in `s[from..]`, looking at most `LINK_SCAN` bytes ahead.
fn scan(s: &str, from: usize, needle: char, budget: &mut usize) -> Option<usize> {
    let end = floor_char_boundary(s, from + LINK_SCAN.min(*budget));
    let window = &s[from..end.max(from)];
    let found = window.find(needle);
    *budget = budget.saturating_sub(found.map_or(window.len(), |p| p + 1));
    found
}

pub(crate) fn csv(input: &Input<'_>, media_type: &str) -> Result<Content, ExtractError> {
    let (text, _, cut) = read_text(input)?;
    let tab_separated = sniff::essence(media_type) == "text/tab-separated-values"
        || input.extension().as_deref() == Some("tsv");
    let delimiter = if tab_separated {
        b'\t'
    } else {
        guess_delimiter(&text)
    };
    let (header, rest) = parse_record(&text, delimiter);
    let columns: Vec<Value> = header
        .iter()
        .take(MAX_LISTED)
        .filter_map(|c| fact(c).or(Some(Value::String(String::new()))))
        .collect();
    let mut metadata = Map::new();
    metadata.insert("rows".into(), count_records(&text[rest..]).into());
    metadata.insert("columns".into(), columns.into());
    metadata.insert("delimiter".into(), (delimiter as char).to_string().into());
    let (text, truncated) = bounded(text, cut, input.limits.max_text_bytes);
    Ok(Content {
        text,
        truncated,
        metadata,
    })
}

/// The most frequent of `,`, `;`, tab and `|` in the first line (comma on a tie).
fn guess_delimiter(text: &str) -> u8 {
    let first = text.lines().next().unwrap_or_default();
    [b',', b';', b'\t', b'|']
        .into_iter()
        .map(|d| (first.bytes().filter(|&b| b == d).count(), d))
        .fold(
            (0, b','),
            |best, cur| if cur.0 > best.0 { cur } else { best },
        )
        .1
}

/// Parses the first CSV record (RFC 4180 quoting); returns its fields and where the next
/// record starts.
fn parse_record(s: &str, delimiter: u8) -> (Vec<String>, usize) {
    let b = s.as_bytes();
    let mut fields = Vec::new();
    let mut field = Vec::new();
    let mut in_quotes = false;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if in_quotes {
            if c == b'"' {
                if b.get(i + 1) == Some(&b'"') {
                    field.push(b'"');
                    i += 1;
                } else {
                    in_quotes = false;
                }
            } else {
                field.push(c);
            }
        } else if c == b'"' {
            in_quotes = true;
        } else if c == delimiter {
            fields.push(String::from_utf8_lossy(&field).into_owned());
            field.clear();
        } else if c == b'\n' {
            break;
        } else if c != b'\r' {
            field.push(c);
        }
        i += 1;
    }
    if !field.is_empty() || !fields.is_empty() {
        fields.push(String::from_utf8_lossy(&field).into_owned());
    }
    (fields, (i + 1).min(s.len()))
}

/// Counts non-empty records, honouring newlines inside quoted fields.
fn count_records(s: &str) -> usize {
    let mut records = 0;
    let mut in_quotes = false;
    let mut has_content = false;
    for c in s.bytes() {
        match c {
            b'"' => {
                in_quotes = !in_quotes;
                has_content = true;
            }
            b'\n' if !in_quotes => {
                records += usize::from(has_content);
                has_content = false;
            }
            b'\r' | b' ' | b'\t' if !has_content => {}
            _ => has_content = true,
        }
    }
    records + usize::from(has_content)
}

pub(crate) fn json(input: &Input<'_>, media_type: &str) -> Result<Content, ExtractError> {
    let (source, _, cut) = read_text(input)?;
    let lines_format = sniff::essence(media_type) == "application/x-ndjson";
    let mut state = FlattenState::new(input.limits.max_text_bytes);
    let parsed = if lines_format {
        flatten_json_lines(&source, &mut state)
    } else {
        flatten_json(&source, &mut state)
    };
    let mut metadata = Map::new();
    match parsed {
        Ok(records) => {
            if let Some(records) = records {
                metadata.insert("records".into(), records.into());
            } else {
                metadata.insert("top_level".into(), state.top_level.into());
                if state.top_level == "object" {
                    metadata.insert("keys".into(), state.top_keys.clone().into());
                } else if state.top_level == "array" {
                    metadata.insert("items".into(), state.top_items.into());
                }
            }
            let (text, truncated) = state.sink.finish();
            Ok(Content {
                text,
                truncated: truncated || cut,
                metadata,
            })
        }
        Err(e) => {
            // Broken (or cut) JSON is still text worth tagging.
            tracing::debug!("JSON did not parse, keeping it as text: {e}");
            metadata.insert("valid".into(), false.into());
            let (text, truncated) = bounded(source, cut, input.limits.max_text_bytes);
            Ok(Content {
                text,
                truncated,
                metadata,
            })
        }
    }
}

fn flatten_json(
    source: &str,
    state: &mut FlattenState,
) -> Result<Option<usize>, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(source);
    Flatten { state, depth: 0 }.deserialize(&mut de)?;
    de.end()?;
    Ok(None)
}

fn flatten_json_lines(
    source: &str,
    state: &mut FlattenState,
) -> Result<Option<usize>, serde_json::Error> {
    let mut records = 0;
    for line in source.lines().filter(|l| !l.trim().is_empty()) {
        let mut de = serde_json::Deserializer::from_str(line);
        Flatten { state, depth: 1 }.deserialize(&mut de)?;
        de.end()?;
        state.sink.newline();
        records += 1;
    }
    Ok(Some(records))
}

/// Collects keys and scalar values as `key: value` lines while the document streams
/// through serde, so memory stays bounded by the text limit whatever the document's size.
struct FlattenState {
    sink: TextSink,
    pending_key: bool,
    top_level: &'static str,
    top_keys: Vec<String>,
    top_items: usize,
}

impl FlattenState {
    fn new(limit: usize) -> Self {
        FlattenState {
            sink: TextSink::new(limit),
            pending_key: false,
            top_level: "scalar",
            top_keys: Vec::new(),
            top_items: 0,
        }
    }

    fn scalar(&mut self, s: &str) {
        if self.pending_key {
            self.sink.push_str(": ");
            self.pending_key = false;
        }
        self.sink.push_str(s);
        self.sink.newline();
    }

    fn open_container(&mut self) {
        if self.pending_key {
            self.sink.push_str(":");
            self.pending_key = false;
        }
        self.sink.newline();
    }
}

struct Flatten<'a> {
    state: &'a mut FlattenState,
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for Flatten<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Flatten<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        self.state.scalar(if v { "true" } else { "false" });
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.state.scalar(&v.to_string());
        Ok(())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.state.scalar(&v.to_string());
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        self.state.scalar(&v.to_string());
        Ok(())
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.state.scalar(v);
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.state.scalar("null");
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if self.depth == 0 {
            self.state.top_level = "array";
        }
        self.state.open_container();
        let depth = self.depth + 1;
        while seq
            .next_element_seed(Flatten {
                state: &mut *self.state,
                depth,
            })?
            .is_some()
        {
            if self.depth == 0 {
                self.state.top_items += 1;
            }
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        if self.depth == 0 {
            self.state.top_level = "object";
        }
        self.state.open_container();
        let depth = self.depth + 1;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if self.depth == 0 && self.state.top_keys.len() < MAX_LISTED {
                self.state.top_keys.push(key.to_string());
            }
            self.state.sink.newline();
            self.state.sink.push_str(&key);
            self.state.pending_key = true;
            map.next_value_seed(Flatten {
                state: &mut *self.state,
                depth,
            })?;
            self.state.pending_key = false;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn md(s: &str) -> (String, Outline) {
        let mut sink = TextSink::new(1 << 20);
        let outline = strip_markdown(s, &mut sink);
        (sink.finish().0, outline)
    }

    #[test]
    fn markdown_is_stripped_lightly() {
        let (text, outline) = md(
            "# Title *here*\n\nSome **bold** and [a link](http://x.example/a) and ![alt](i.png).\n\n## Part `two`\n- item_one\n```rust\nfn main() {}\n```\n[ref]: http://y.example\n",
        );
        assert_eq!(outline.title.as_deref(), Some("Title here"));
        assert_eq!(outline.headings, vec!["Title here", "Part two"]);
        assert!(text.contains("Some bold and a link and alt."), "{text}");
        assert!(text.contains("item_one"));
        assert!(text.contains("fn main() {}"));
        assert!(!text.contains("http://"), "{text}");
        assert!(!text.contains('#'));
    }

    #[test]
    fn markdown_front_matter_title() {
        let (text, outline) = md("---\ntitle: \"Trip\"\ntags: [a, b]\n---\n# Other\nbody");
        assert_eq!(outline.title.as_deref(), Some("Trip"));
        assert!(text.contains("tags: [a, b]"));
    }

    #[test]
    fn hostile_brackets_stay_linear() {
        let line = "[".repeat(2_000_000);
        let started = std::time::Instant::now();
        let mut out = String::new();
        strip_inline(&line, &mut out);
        assert_eq!(out.len(), 2_000_000);
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn sink_truncates_at_char_boundary() {
        let mut sink = TextSink::new(4);
        sink.push_str("a日本");
        let (text, truncated) = sink.finish();
        assert_eq!(text, "a日");
        assert!(truncated);
        let mut s = "日本".to_string();
        assert!(truncate_at_char_boundary(&mut s, 5));
        assert_eq!(s, "日");
    }

    #[test]
    fn csv_records_and_quotes() {
        let text = "name,\"note, with comma\"\r\nann,\"multi\nline\"\nbob,x\n\n";
        let (header, rest) = parse_record(text, b',');
        assert_eq!(header, vec!["name", "note, with comma"]);
        assert_eq!(count_records(&text[rest..]), 2);
        assert_eq!(guess_delimiter("a;b;c\n1;2;3"), b';');
    }

    #[test]
    fn decodes_utf16_and_bom() {
        assert_eq!(decode(b"\xEF\xBB\xBFhi").0, "hi");
        assert_eq!(decode(b"\xFF\xFEh\0i\0").0, "hi");
        assert_eq!(decode(b"\xFE\xFF\0h\0i").0, "hi");
        assert_eq!(decode(b"a\xFFb").0, "a\u{FFFD}b");
    }

    #[test]
    fn json_flattens_keys_and_strings() {
        let mut state = FlattenState::new(1 << 20);
        flatten_json(
            r#"{"name":"Ann","tags":["x","y"],"nested":{"deep":"value","n":3}}"#,
            &mut state,
        )
        .expect("valid json");
        assert_eq!(state.top_keys, vec!["name", "tags", "nested"]);
        let (text, _) = state.sink.finish();
        assert_eq!(text, "name: Ann\ntags:\nx\ny\nnested:\ndeep: value\nn: 3");
    }
}
