//! Zip-based formats (DOCX, XLSX, PPTX, OpenDocument, EPUB) through a bounded zip reader.

use std::borrow::Cow;
use std::io::{Read, Seek};

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};
use serde_json::{Map, Value};
use zip::ZipArchive;

use crate::text::{TextSink, fact};
use crate::{Content, ContentKind, ExtractError, Input, Limits, MIB, html, sniff};

pub(crate) const ZIP: &str = "application/zip";
pub(crate) const DOCX: &str =
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
pub(crate) const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
pub(crate) const PPTX: &str =
    "application/vnd.openxmlformats-officedocument.presentationml.presentation";
pub(crate) const ODT: &str = "application/vnd.oasis.opendocument.text";
pub(crate) const ODS: &str = "application/vnd.oasis.opendocument.spreadsheet";
pub(crate) const ODP: &str = "application/vnd.oasis.opendocument.presentation";
pub(crate) const EPUB: &str = "application/epub+zip";
const ODF_PREFIX: &str = "application/vnd.oasis.opendocument.";

/// Members below this size are exempt from the ratio check: small XML parts can compress
/// beyond any sane ratio and are harmless anyway.
const RATIO_EXEMPT_BYTES: u64 = MIB;
/// Generic archives are listed, not unpacked; this many entries are looked at.
const MAX_LISTED_ENTRIES: usize = 10_000;

pub(crate) fn is_zip(head: &[u8]) -> bool {
    head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06")
}

/// Media types whose files are zip archives.
pub(crate) fn is_zip_family(media_type: &str) -> bool {
    let mt = sniff::essence(media_type);
    matches!(
        mt.as_str(),
        ZIP | "application/x-zip-compressed" | DOCX | XLSX | PPTX | EPUB
    ) || mt.starts_with(ODF_PREFIX)
}

pub(crate) fn kind_of(media_type: &str) -> Option<ContentKind> {
    let mt = media_type;
    if mt == DOCX || mt == EPUB || mt.starts_with(ODT) {
        Some(ContentKind::Document)
    } else if mt == XLSX || mt.starts_with(ODS) {
        Some(ContentKind::Spreadsheet)
    } else if mt == PPTX || mt.starts_with(ODP) {
        Some(ContentKind::Presentation)
    } else {
        None
    }
}

pub(crate) fn format_name(media_type: &str) -> &'static str {
    match sniff::essence(media_type).as_str() {
        DOCX => "DOCX",
        XLSX => "XLSX",
        PPTX => "PPTX",
        ODT => "ODT",
        ODS => "ODS",
        ODP => "ODP",
        EPUB => "EPUB",
        mt if mt.starts_with(ODF_PREFIX) => "OpenDocument",
        _ => "zip",
    }
}

/// Extracts a zip-based file. The archive's members decide the format (the name or the
/// declared type may be wrong), so the refined media type is returned with the content.
pub(crate) fn extract(
    input: &Input<'_>,
    media_type: &str,
) -> Result<(String, Content), ExtractError> {
    let file = input.reader()?;
    let archive = ZipArchive::new(file).map_err(|e| {
        ExtractError::Malformed(format!("not a valid {} file: {e}", format_name(media_type)))
    })?;
    let mut zip = BoundedZip::new(archive, input.limits);
    let Some(flavor) = zip.flavor()? else {
        let expected = format_name(media_type);
        if expected != "zip" {
            return Err(ExtractError::Malformed(format!(
                "not a valid {expected} file: the archive lacks the document parts"
            )));
        }
        return Ok((ZIP.to_string(), listing(&mut zip, input)?));
    };
    input.check_size()?;
    let limits = input.limits;
    let content = match flavor.as_str() {
        DOCX => docx(&mut zip, limits)?,
        XLSX => xlsx(&mut zip, limits)?,
        PPTX => pptx(&mut zip, limits)?,
        EPUB => epub(&mut zip, limits)?,
        _ => odf(&mut zip, &flavor, limits)?,
    };
    Ok((flavor, content))
}

/// A zip reader that refuses members whose declared size or compression ratio is out of
/// bounds, and caps what it actually inflates in case the headers lie.
struct BoundedZip<R> {
    archive: ZipArchive<R>,
    budget: u64,
    max_ratio: u64,
}

impl<R: Read + Seek> BoundedZip<R> {
    fn new(archive: ZipArchive<R>, limits: &Limits) -> Self {
        BoundedZip {
            archive,
            budget: limits.max_decompressed_bytes,
            max_ratio: limits.max_compression_ratio,
        }
    }

    fn has(&self, name: &str) -> bool {
        self.archive.index_for_name(name).is_some()
    }

    fn names(&self) -> Vec<String> {
        self.archive.file_names().map(str::to_string).collect()
    }

    fn flavor(&mut self) -> Result<Option<String>, ExtractError> {
        let by_part = [
            ("word/document.xml", DOCX),
            ("xl/workbook.xml", XLSX),
            ("ppt/presentation.xml", PPTX),
        ];
        if let Some((_, mt)) = by_part.iter().find(|(part, _)| self.has(part)) {
            return Ok(Some(mt.to_string()));
        }
        // OpenDocument and EPUB name their type in a leading `mimetype` member.
        if let Some(data) = self.read("mimetype")? {
            let declared = String::from_utf8_lossy(&data).trim().to_ascii_lowercase();
            if declared == EPUB || declared.starts_with(ODF_PREFIX) {
                return Ok(Some(declared));
            }
        }
        Ok(None)
    }

    /// Reads a member by name; `None` when the archive has no such member.
    fn read(&mut self, name: &str) -> Result<Option<Vec<u8>>, ExtractError> {
        match self.archive.index_for_name(name) {
            Some(index) => self.read_index(index).map(Some),
            None => Ok(None),
        }
    }

    fn read_index(&mut self, index: usize) -> Result<Vec<u8>, ExtractError> {
        let (budget, max_ratio) = (self.budget, self.max_ratio);
        let mut member = self.archive.by_index(index).map_err(|e| {
            ExtractError::Malformed(format!("could not open an archive member: {e}"))
        })?;
        let name = member.name().to_string();
        let declared = member.size();
        let compressed = member.compressed_size();
        if declared > budget {
            return Err(ExtractError::ZipBomb {
                member: name,
                detail: format!(
                    "it would unpack to {declared} bytes, more than the {budget} bytes allowed"
                ),
            });
        }
        check_ratio(&name, declared, compressed, max_ratio)?;
        let mut data = Vec::with_capacity(declared.min(MIB) as usize);
        // One byte past the declared size tells a lying header from an honest one.
        (&mut member)
            .take(declared + 1)
            .read_to_end(&mut data)
            .map_err(|e| ExtractError::Malformed(format!("could not unpack `{name}`: {e}")))?;
        let actual = data.len() as u64;
        if actual > declared {
            return Err(ExtractError::ZipBomb {
                member: name,
                detail: "it unpacks to more data than its header declares".to_string(),
            });
        }
        check_ratio(&name, actual, compressed, max_ratio)?;
        self.budget -= actual;
        Ok(data)
    }
}

fn check_ratio(name: &str, size: u64, compressed: u64, max_ratio: u64) -> Result<(), ExtractError> {
    if size <= RATIO_EXEMPT_BYTES {
        return Ok(());
    }
    let ratio = size / compressed.max(1);
    if ratio > max_ratio {
        return Err(ExtractError::ZipBomb {
            member: name.to_string(),
            detail: format!(
                "it expands {ratio}:1 ({compressed} to {size} bytes), beyond the {max_ratio}:1 allowed"
            ),
        });
    }
    Ok(())
}

/// A plain archive: member names as text. Nothing is unpacked, but declared ratios are
/// still checked so that a bomb is reported as such.
fn listing<R: Read + Seek>(
    zip: &mut BoundedZip<R>,
    input: &Input<'_>,
) -> Result<Content, ExtractError> {
    let entries = zip.archive.len();
    let mut sink = TextSink::new(input.limits.max_text_bytes);
    for index in 0..entries.min(MAX_LISTED_ENTRIES) {
        let member = zip
            .archive
            .by_index_raw(index)
            .map_err(|e| ExtractError::Malformed(format!("not a valid zip archive: {e}")))?;
        check_ratio(
            member.name(),
            member.size(),
            member.compressed_size(),
            zip.max_ratio,
        )?;
        if !member.is_dir() {
            sink.push_str(member.name());
            sink.newline();
        }
    }
    let (text, truncated) = sink.finish();
    let mut metadata = Map::new();
    metadata.insert("bytes".into(), input.size.into());
    metadata.insert("entries".into(), entries.into());
    Ok(Content {
        text,
        truncated,
        metadata,
    })
}

/// One step of a streaming walk over an XML part, with namespace prefixes stripped.
enum Node<'a> {
    Open(&'a [u8], &'a BytesStart<'a>),
    Close(&'a [u8]),
    Text(&'a str),
}

/// Walks an XML part tolerantly (mismatched end tags are accepted; unknown entities are
/// kept as written) and feeds each node to `visit`.
fn walk_xml(xml: &[u8], member: &str, mut visit: impl FnMut(Node<'_>)) -> Result<(), ExtractError> {
    let mut reader = Reader::from_reader(xml);
    let config = reader.config_mut();
    config.check_end_names = false;
    config.trim_text(false);
    loop {
        let event = reader
            .read_event()
            .map_err(|e| ExtractError::Malformed(format!("`{member}` is not valid XML: {e}")))?;
        match event {
            Event::Start(e) => {
                let local = e.local_name();
                visit(Node::Open(local.as_ref(), &e));
            }
            Event::Empty(e) => {
                let local = e.local_name();
                visit(Node::Open(local.as_ref(), &e));
                visit(Node::Close(local.as_ref()));
            }
            Event::End(e) => {
                let local = e.local_name();
                visit(Node::Close(local.as_ref()));
            }
            Event::Text(t) => {
                let text = t
                    .unescape()
                    .unwrap_or_else(|_| Cow::Owned(String::from_utf8_lossy(&t).into_owned()));
                visit(Node::Text(&text));
            }
            Event::CData(c) => visit(Node::Text(&String::from_utf8_lossy(&c))),
            Event::Eof => return Ok(()),
            _ => {}
        }
    }
}

fn attribute(e: &BytesStart<'_>, local: &[u8]) -> Option<String> {
    let mut attributes = e.attributes();
    attributes.with_checks(false);
    attributes
        .flatten()
        .find(|a| a.key.local_name().as_ref() == local)
        .map(|a| match a.unescape_value() {
            Ok(v) => v.into_owned(),
            Err(_) => String::from_utf8_lossy(&a.value).into_owned(),
        })
}

fn missing(format: &str, part: &str) -> ExtractError {
    ExtractError::Malformed(format!("not a valid {format} file: `{part}` is missing"))
}

/// Copies simple text elements of a properties part into metadata, e.g.
/// `<dc:title>` → `"title"`. Damaged properties are skipped: they are not the content.
fn read_properties<R: Read + Seek>(
    zip: &mut BoundedZip<R>,
    part: &str,
    fields: &[(&[u8], &str)],
    numeric: bool,
    metadata: &mut Map<String, Value>,
) -> Result<(), ExtractError> {
    let Some(xml) = zip.read(part)? else {
        return Ok(());
    };
    let mut current: Option<&str> = None;
    let walked = walk_xml(&xml, part, |node| match node {
        Node::Open(name, _) => {
            current = fields.iter().find(|(n, _)| *n == name).map(|(_, key)| *key);
        }
        Node::Close(_) => current = None,
        Node::Text(text) => {
            if let Some(key) = current
                && !metadata.contains_key(key)
                && let Some(value) = fact(text)
            {
                let value = match text.trim().parse::<u64>() {
                    Ok(n) if numeric => Value::from(n),
                    _ => value,
                };
                metadata.insert(key.to_string(), value);
            }
        }
    });
    if let Err(e) = walked {
        tracing::debug!("skipping document properties: {e}");
    }
    Ok(())
}

fn ooxml_properties<R: Read + Seek>(
    zip: &mut BoundedZip<R>,
    metadata: &mut Map<String, Value>,
) -> Result<(), ExtractError> {
    let core: &[(&[u8], &str)] = &[
        (b"title", "title"),
        (b"creator", "author"),
        (b"subject", "subject"),
        (b"description", "description"),
        (b"keywords", "keywords"),
        (b"category", "category"),
        (b"language", "language"),
        (b"lastModifiedBy", "last_modified_by"),
        (b"created", "created"),
        (b"modified", "modified"),
    ];
    read_properties(zip, "docProps/core.xml", core, false, metadata)?;
    let app: &[(&[u8], &str)] = &[
        (b"Pages", "pages"),
        (b"Words", "words"),
        (b"Application", "application"),
    ];
    read_properties(zip, "docProps/app.xml", app, true, metadata)
}

fn finish(sink: TextSink, metadata: Map<String, Value>) -> Content {
    let (text, truncated) = sink.finish();
    Content {
        text,
        truncated,
        metadata,
    }
}

fn docx<R: Read + Seek>(zip: &mut BoundedZip<R>, limits: &Limits) -> Result<Content, ExtractError> {
    const PART: &str = "word/document.xml";
    let xml = zip.read(PART)?.ok_or_else(|| missing("DOCX", PART))?;
    let mut sink = TextSink::new(limits.max_text_bytes);
    // Only `w:t` runs are text; `w:delText` (deleted) and `w:instrText` (field code) not.
    let mut in_text = false;
    walk_xml(&xml, PART, |node| match node {
        Node::Open(b"t", _) => in_text = true,
        Node::Close(b"t") => in_text = false,
        Node::Open(b"tab", _) => sink.push_str("\t"),
        Node::Open(b"br" | b"cr", _) | Node::Close(b"p") => sink.newline(),
        Node::Text(text) if in_text => sink.push_str(text),
        _ => {}
    })?;
    let mut metadata = Map::new();
    ooxml_properties(zip, &mut metadata)?;
    Ok(finish(sink, metadata))
}

fn xlsx<R: Read + Seek>(zip: &mut BoundedZip<R>, limits: &Limits) -> Result<Content, ExtractError> {
    const WORKBOOK: &str = "xl/workbook.xml";
    const STRINGS: &str = "xl/sharedStrings.xml";
    let workbook = zip
        .read(WORKBOOK)?
        .ok_or_else(|| missing("XLSX", WORKBOOK))?;
    let mut sheets = Vec::new();
    walk_xml(&workbook, WORKBOOK, |node| {
        if let Node::Open(b"sheet", e) = node
            && let Some(name) = attribute(e, b"name")
        {
            sheets.push(name);
        }
    })?;
    let mut sink = TextSink::new(limits.max_text_bytes);
    for sheet in &sheets {
        sink.push_str(sheet);
        sink.newline();
    }
    sink.blank_line();
    let mut strings = 0usize;
    if let Some(xml) = zip.read(STRINGS)? {
        // Cell text lives in `si` items; `rPh` holds phonetic hints that are not text.
        let (mut in_text, mut in_phonetic) = (false, false);
        walk_xml(&xml, STRINGS, |node| match node {
            Node::Open(b"si", _) => strings += 1,
            Node::Close(b"si") => sink.newline(),
            Node::Open(b"t", _) => in_text = true,
            Node::Close(b"t") => in_text = false,
            Node::Open(b"rPh", _) => in_phonetic = true,
            Node::Close(b"rPh") => in_phonetic = false,
            Node::Text(text) if in_text && !in_phonetic => sink.push_str(text),
            _ => {}
        })?;
    }
    let mut metadata = Map::new();
    metadata.insert("sheets".into(), sheets.into());
    metadata.insert("shared_strings".into(), strings.into());
    ooxml_properties(zip, &mut metadata)?;
    Ok(finish(sink, metadata))
}

fn pptx<R: Read + Seek>(zip: &mut BoundedZip<R>, limits: &Limits) -> Result<Content, ExtractError> {
    let mut slides: Vec<(u32, String)> = zip
        .names()
        .into_iter()
        .filter_map(|name| {
            let number = name
                .strip_prefix("ppt/slides/slide")?
                .strip_suffix(".xml")?
                .parse()
                .ok()?;
            Some((number, name))
        })
        .collect();
    slides.sort();
    let mut sink = TextSink::new(limits.max_text_bytes);
    for (_, part) in &slides {
        if sink.is_full() {
            break;
        }
        let Some(xml) = zip.read(part)? else {
            continue;
        };
        let mut in_text = false;
        walk_xml(&xml, part, |node| match node {
            Node::Open(b"t", _) => in_text = true,
            Node::Close(b"t") => in_text = false,
            Node::Close(b"p") => sink.newline(),
            Node::Text(text) if in_text => sink.push_str(text),
            _ => {}
        })?;
        sink.blank_line();
    }
    let mut metadata = Map::new();
    metadata.insert("slides".into(), slides.len().into());
    ooxml_properties(zip, &mut metadata)?;
    Ok(finish(sink, metadata))
}

/// OpenDocument text, spreadsheet and presentation: `content.xml`.
fn odf<R: Read + Seek>(
    zip: &mut BoundedZip<R>,
    flavor: &str,
    limits: &Limits,
) -> Result<Content, ExtractError> {
    const PART: &str = "content.xml";
    let xml = zip
        .read(PART)?
        .ok_or_else(|| missing(format_name(flavor), PART))?;
    let mut sink = TextSink::new(limits.max_text_bytes);
    let mut sheets = Vec::new();
    let mut slides = 0usize;
    let (mut paragraph_depth, mut cell_depth) = (0usize, 0usize);
    walk_xml(&xml, PART, |node| match node {
        Node::Open(b"p" | b"h", _) => paragraph_depth += 1,
        Node::Close(b"p" | b"h") => {
            paragraph_depth = paragraph_depth.saturating_sub(1);
            if cell_depth > 0 {
                sink.space();
            } else {
                sink.newline();
            }
        }
        Node::Open(b"s", _) if paragraph_depth > 0 => sink.push_str(" "),
        Node::Open(b"tab", _) if paragraph_depth > 0 => sink.push_str("\t"),
        Node::Open(b"line-break", _) => sink.newline(),
        Node::Open(b"table-cell", _) => cell_depth += 1,
        Node::Close(b"table-cell") => {
            cell_depth = cell_depth.saturating_sub(1);
            sink.push_str("\t");
        }
        Node::Close(b"table-row") => sink.newline(),
        Node::Open(b"table", e) => {
            if let Some(name) = attribute(e, b"name") {
                sheets.push(name);
            }
        }
        Node::Open(b"page", _) => {
            slides += 1;
            sink.blank_line();
        }
        Node::Text(text) if paragraph_depth > 0 => sink.push_str(text),
        _ => {}
    })?;
    let mut metadata = Map::new();
    if flavor.starts_with(ODS) {
        metadata.insert("sheets".into(), sheets.into());
    } else if flavor.starts_with(ODP) {
        metadata.insert("slides".into(), slides.into());
    }
    odf_properties(zip, &mut metadata)?;
    Ok(finish(sink, metadata))
}

fn odf_properties<R: Read + Seek>(
    zip: &mut BoundedZip<R>,
    metadata: &mut Map<String, Value>,
) -> Result<(), ExtractError> {
    const PART: &str = "meta.xml";
    let fields: &[(&[u8], &str)] = &[
        (b"title", "title"),
        (b"initial-creator", "author"),
        (b"subject", "subject"),
        (b"description", "description"),
        (b"keyword", "keywords"),
        (b"language", "language"),
        (b"creator", "last_modified_by"),
        (b"creation-date", "created"),
        (b"date", "modified"),
    ];
    read_properties(zip, PART, fields, false, metadata)?;
    let Some(xml) = zip.read(PART)? else {
        return Ok(());
    };
    let walked = walk_xml(&xml, PART, |node| {
        if let Node::Open(b"document-statistic", e) = node {
            for (attr, key) in [(&b"page-count"[..], "pages"), (b"word-count", "words")] {
                if let Some(n) = attribute(e, attr).and_then(|v| v.parse::<u64>().ok()) {
                    metadata.insert(key.into(), n.into());
                }
            }
        }
    });
    if let Err(e) = walked {
        tracing::debug!("skipping document statistics: {e}");
    }
    Ok(())
}

fn epub<R: Read + Seek>(zip: &mut BoundedZip<R>, limits: &Limits) -> Result<Content, ExtractError> {
    let opf_path = match zip.read("META-INF/container.xml")? {
        Some(xml) => {
            let mut path = None;
            walk_xml(&xml, "META-INF/container.xml", |node| {
                if let Node::Open(b"rootfile", e) = node
                    && path.is_none()
                {
                    path = attribute(e, b"full-path");
                }
            })?;
            path
        }
        None => None,
    };
    let opf_path = opf_path.or_else(|| zip.names().into_iter().find(|n| n.ends_with(".opf")));
    let mut metadata = Map::new();
    let mut chapters = Vec::new();
    if let Some(opf_path) = opf_path
        && let Some(opf) = zip.read(&opf_path)?
    {
        chapters = read_opf(&opf, &opf_path, &mut metadata)?;
    }
    if chapters.is_empty() {
        chapters = zip
            .names()
            .into_iter()
            .filter(|n| [".xhtml", ".html", ".htm"].iter().any(|e| n.ends_with(e)))
            .collect();
        chapters.sort();
    }
    let mut sink = TextSink::new(limits.max_text_bytes);
    for chapter in &chapters {
        let room = limits.max_text_bytes - sink.len();
        if sink.is_full() || room == 0 {
            break;
        }
        let Some(data) = zip.read(chapter)? else {
            continue;
        };
        let page = html::html_to_text(&String::from_utf8_lossy(&data), room, false);
        sink.push_str(&page.text);
        if page.truncated {
            sink.push_str(" ");
        }
        sink.blank_line();
    }
    metadata.insert("chapters".into(), chapters.len().into());
    Ok(finish(sink, metadata))
}

/// Reads an EPUB package document: metadata, and the content documents in reading order.
fn read_opf(
    opf: &[u8],
    opf_path: &str,
    metadata: &mut Map<String, Value>,
) -> Result<Vec<String>, ExtractError> {
    let fields: &[(&[u8], &str)] = &[
        (b"title", "title"),
        (b"creator", "author"),
        (b"language", "language"),
        (b"subject", "subject"),
        (b"description", "description"),
        (b"publisher", "publisher"),
        (b"date", "date"),
    ];
    let mut current: Option<&str> = None;
    let mut manifest: Vec<(String, String)> = Vec::new();
    let mut spine: Vec<String> = Vec::new();
    walk_xml(opf, opf_path, |node| match node {
        Node::Open(b"item", e) => {
            let is_html = attribute(e, b"media-type").is_some_and(|t| t.contains("html"));
            if is_html && let (Some(id), Some(href)) = (attribute(e, b"id"), attribute(e, b"href"))
            {
                manifest.push((id, href));
            }
        }
        Node::Open(b"itemref", e) => spine.extend(attribute(e, b"idref")),
        Node::Open(name, _) => {
            current = fields.iter().find(|(n, _)| *n == name).map(|(_, k)| *k);
        }
        Node::Close(_) => current = None,
        Node::Text(text) => {
            if let Some(key) = current
                && !metadata.contains_key(key)
                && let Some(value) = fact(text)
            {
                metadata.insert(key.to_string(), value);
            }
        }
    })?;
    let base = opf_path.rsplit_once('/').map_or("", |(dir, _)| dir);
    Ok(spine
        .iter()
        .filter_map(|id| manifest.iter().find(|(mid, _)| mid == id))
        .map(|(_, href)| resolve(base, &percent_decode(href)))
        .collect())
}

/// Joins a relative href onto a directory inside the archive, resolving `.` and `..`.
fn resolve(base: &str, href: &str) -> String {
    let href = href.split('#').next().unwrap_or_default();
    let mut parts: Vec<&str> = base.split('/').filter(|p| !p.is_empty()).collect();
    for segment in href.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    parts.join("/")
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (b[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_epub_paths() {
        assert_eq!(
            resolve("OEBPS", "text/ch%201.xhtml#x"),
            "OEBPS/text/ch%201.xhtml"
        );
        assert_eq!(resolve("OEBPS/x", "../ch1.xhtml"), "OEBPS/ch1.xhtml");
        assert_eq!(resolve("", "ch1.xhtml"), "ch1.xhtml");
        assert_eq!(percent_decode("a%20b%zz%"), "a b%zz%");
    }

    #[test]
    fn ratio_check_exempts_small_members() {
        assert!(check_ratio("a", 1000, 1, 100).is_ok());
        assert!(check_ratio("a", 10 * MIB, MIB, 100).is_ok());
        let err = check_ratio("a", 10 * MIB, 10_000, 100).expect_err("bomb");
        assert!(matches!(err, ExtractError::ZipBomb { .. }));
    }
}
