//! Bounded content and metadata extraction for tagging.
//!
//! Given a file on local disk (a temporary copy of an uploaded object), [`extract_file`]
//! produces its plain text and a JSON object of facts (page count, image size, audio
//! duration, ...). Every reader is bounded in bytes read, text kept and data decompressed,
//! so that a hostile file fails with an [`ExtractError`] instead of harming the process.
//! Parsers can still hang or blow up memory, so callers that handle untrusted files should
//! go through [`extract_isolated`], which runs the extraction in a resource-limited child
//! process (see [`child_main`]).

mod html;
mod isolate;
mod media;
pub mod ocr;
mod office;
mod pdf;
mod sandbox;
mod sniff;
mod text;

#[cfg(any(test, feature = "fixtures"))]
pub mod fixtures;
#[cfg(test)]
mod tests;

use std::fs::File;
use std::io::Read;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use isolate::{
    ExtractRequest, Isolation, child_main, extract_in_process, extract_isolated, probe_isolated,
};
pub use sandbox::{ProbeReport, SandboxError, SandboxProbe, confine};
pub use sniff::{content_kind, sniff_media_type};

const MIB: u64 = 1024 * 1024;

/// Resource bounds applied to one extraction.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(default)]
pub struct Limits {
    /// Formats that need the whole file in memory (PDF, office documents) refuse larger
    /// files; text formats read at most this many bytes and mark the result truncated.
    pub max_input_bytes: u64,
    /// Extracted text is cut (at a character boundary) to this many bytes.
    pub max_text_bytes: usize,
    /// Total uncompressed bytes that may be read from the zip members of one file.
    pub max_decompressed_bytes: u64,
    /// A zip member (over 1 MiB) whose uncompressed/compressed ratio exceeds this is
    /// refused as a zip bomb.
    pub max_compression_ratio: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_input_bytes: 64 * MIB,
            max_text_bytes: 2 * MIB as usize,
            max_decompressed_bytes: 256 * MIB,
            max_compression_ratio: 100,
        }
    }
}

/// The result of extracting one file.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Extracted {
    /// Refined media type, sniffed from magic bytes and the file name.
    pub media_type: String,
    pub kind: ContentKind,
    /// Extracted plain text; empty for images and audio.
    pub text: String,
    /// A JSON object of facts about the content, e.g. `{"pages": 3, "title": "..."}`.
    pub metadata: Value,
    /// The text was cut at [`Limits::max_text_bytes`] (or the input at
    /// [`Limits::max_input_bytes`]).
    pub truncated: bool,
    /// A picture of a video (a keyframe, PNG) for a vision model: taken
    /// after extraction, by [`ocr::read_video`], so never serialized.
    #[serde(skip)]
    pub keyframe: Option<Vec<u8>>,
}

/// Broad family of a file's content.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum ContentKind {
    Text,
    Markdown,
    Code,
    Html,
    Csv,
    Json,
    Pdf,
    Document,
    Spreadsheet,
    Presentation,
    Image,
    Audio,
    Video,
    Unknown,
}

impl ContentKind {
    /// The snake_case name also used in serialized form.
    pub fn as_str(self) -> &'static str {
        match self {
            ContentKind::Text => "text",
            ContentKind::Markdown => "markdown",
            ContentKind::Code => "code",
            ContentKind::Html => "html",
            ContentKind::Csv => "csv",
            ContentKind::Json => "json",
            ContentKind::Pdf => "pdf",
            ContentKind::Document => "document",
            ContentKind::Spreadsheet => "spreadsheet",
            ContentKind::Presentation => "presentation",
            ContentKind::Image => "image",
            ContentKind::Audio => "audio",
            ContentKind::Video => "video",
            ContentKind::Unknown => "unknown",
        }
    }
}

/// Why extraction failed. The messages are shown to users as the reason tagging failed.
#[derive(thiserror::Error, Debug)]
pub enum ExtractError {
    #[error("file is too large to extract ({size} bytes; the limit is {limit} bytes)")]
    TooLarge { size: u64, limit: u64 },
    #[error("refused to unpack `{member}`, it looks like a zip bomb: {detail}")]
    ZipBomb { member: String, detail: String },
    /// The file is damaged, truncated or not what its type claims; the message says which.
    #[error("{0}")]
    Malformed(String),
    #[error("could not read the file: {0}")]
    Io(#[from] std::io::Error),
    #[error("extraction took too long and was stopped")]
    Timeout,
    /// The extraction process (or thread) died; the message says how.
    #[error("{0}")]
    Crashed(String),
}

/// Guesses the media type of `path` and extracts its text and metadata within `limits`.
///
/// `name` is the user-facing file name (its extension matters; `path` is usually a
/// temporary file without one) and `declared_media_type` what the uploader claimed, used
/// only when the content itself is not conclusive. Synchronous and a pure function of its
/// input; parser panics are turned into [`ExtractError::Malformed`].
pub fn extract_file(
    path: &Path,
    name: &str,
    declared_media_type: &str,
    limits: &Limits,
) -> Result<Extracted, ExtractError> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        // Devices and FIFOs could be read forever.
        return Err(ExtractError::Malformed("not a regular file".to_string()));
    }
    extract_from(
        &Source::Path(path),
        meta.len(),
        name,
        declared_media_type,
        limits,
    )
}

/// [`extract_file`] for bytes already in memory: `data` is the file, or its first bytes
/// when it is longer (`size` says how long it is). Opens nothing, which is what the
/// confined extraction worker may do.
pub fn extract_bytes(
    data: &[u8],
    size: u64,
    name: &str,
    declared_media_type: &str,
    limits: &Limits,
) -> Result<Extracted, ExtractError> {
    extract_from(
        &Source::Bytes(data),
        size,
        name,
        declared_media_type,
        limits,
    )
}

fn extract_from(
    source: &Source<'_>,
    size: u64,
    name: &str,
    declared_media_type: &str,
    limits: &Limits,
) -> Result<Extracted, ExtractError> {
    let head = source.head()?;
    let media_type = sniff::refine_media_type(name, &head, declared_media_type);
    let input = Input {
        source,
        name,
        size,
        head: &head,
        limits,
    };
    let run = || dispatch(&input, media_type);
    let mut out = match catch_unwind(AssertUnwindSafe(run)) {
        Ok(result) => result?,
        Err(panic) => {
            return Err(ExtractError::Malformed(format!(
                "the file could not be parsed (the parser failed: {})",
                panic_message(panic.as_ref())
            )));
        }
    };
    if text::truncate_at_char_boundary(&mut out.text, limits.max_text_bytes) {
        out.truncated = true;
    }
    Ok(out)
}

fn dispatch(input: &Input<'_>, media_type: String) -> Result<Extracted, ExtractError> {
    if office::is_zip(input.head) && office::is_zip_family(&media_type) {
        let (media_type, content) = office::extract(input, &media_type)?;
        return Ok(content.into_extracted(media_type));
    }
    let kind = content_kind(&media_type);
    if input.size == 0 {
        // An empty upload is not an error: there is simply nothing to extract.
        return Ok(Content::facts(object([("bytes", Value::from(0))])).into_extracted(media_type));
    }
    let content = match kind {
        ContentKind::Text if sniff::is_xml(&media_type) => html::extract_xml(input)?,
        ContentKind::Text => text::plain(input)?,
        ContentKind::Markdown => text::markdown(input)?,
        ContentKind::Code => text::code(input, &media_type)?,
        ContentKind::Html => html::extract(input)?,
        ContentKind::Csv => text::csv(input, &media_type)?,
        ContentKind::Json => text::json(input, &media_type)?,
        ContentKind::Pdf => pdf::extract(input)?,
        ContentKind::Document | ContentKind::Spreadsheet | ContentKind::Presentation => {
            if office::is_zip_family(&media_type) {
                // Claims to be an office document but is not a zip archive at all.
                return Err(ExtractError::Malformed(format!(
                    "not a valid {} file: it is not a zip archive",
                    office::format_name(&media_type)
                )));
            }
            // Legacy binary formats (doc, xls, ppt, rtf): identified but not read.
            Content::facts(object([("bytes", Value::from(input.size))]))
        }
        ContentKind::Image => media::image(input, &media_type)?,
        ContentKind::Audio | ContentKind::Video => media::audio_video(input, kind)?,
        ContentKind::Unknown => Content::facts(object([("bytes", Value::from(input.size))])),
    };
    Ok(content.into_extracted(media_type))
}

const HEAD_BYTES: usize = 8192;

/// Where a file's bytes come from.
pub(crate) enum Source<'a> {
    /// A file on disk, opened by each reader that needs it.
    Path(&'a Path),
    /// Bytes already read (at most the input limit and one more byte).
    Bytes(&'a [u8]),
}

/// A reader the format readers can seek in.
pub(crate) trait ReadSeek: Read + std::io::Seek {}
impl<T: Read + std::io::Seek> ReadSeek for T {}

impl Source<'_> {
    /// A fresh reader from the start of the file.
    pub fn open(&self) -> std::io::Result<Box<dyn ReadSeek + '_>> {
        Ok(match self {
            Source::Path(path) => Box::new(File::open(path)?),
            Source::Bytes(data) => Box::new(std::io::Cursor::new(*data)),
        })
    }

    /// The first bytes, enough for magic-number sniffing.
    fn head(&self) -> std::io::Result<Vec<u8>> {
        let mut head = Vec::with_capacity(HEAD_BYTES);
        self.open()?
            .take(HEAD_BYTES as u64)
            .read_to_end(&mut head)?;
        Ok(head)
    }
}

/// The file being extracted, shared by the format readers.
pub(crate) struct Input<'a> {
    pub source: &'a Source<'a>,
    pub name: &'a str,
    pub size: u64,
    pub head: &'a [u8],
    pub limits: &'a Limits,
}

impl Input<'_> {
    /// A fresh buffered reader from the start of the file.
    pub fn reader(&self) -> std::io::Result<std::io::BufReader<Box<dyn ReadSeek + '_>>> {
        Ok(std::io::BufReader::new(self.source.open()?))
    }

    /// Reads the whole file for formats parsed from memory, refusing files over
    /// `max_input_bytes`. The read is capped too, in case the file grew meanwhile.
    pub fn read_all(&self) -> Result<Vec<u8>, ExtractError> {
        let limit = self.limits.max_input_bytes;
        self.check_size()?;
        let mut buf = Vec::with_capacity(self.size.min(limit) as usize);
        self.source
            .open()?
            .take(limit.saturating_add(1))
            .read_to_end(&mut buf)?;
        if buf.len() as u64 > limit {
            return Err(ExtractError::TooLarge {
                size: buf.len() as u64,
                limit,
            });
        }
        Ok(buf)
    }

    pub fn check_size(&self) -> Result<(), ExtractError> {
        let limit = self.limits.max_input_bytes;
        if self.size > limit {
            return Err(ExtractError::TooLarge {
                size: self.size,
                limit,
            });
        }
        Ok(())
    }

    /// Reads at most `max_input_bytes` for text formats, which degrade gracefully: the
    /// flag says whether the file was longer.
    pub fn read_prefix(&self) -> Result<(Vec<u8>, bool), ExtractError> {
        let limit = self.limits.max_input_bytes;
        let mut buf = Vec::with_capacity(self.size.min(limit) as usize);
        self.source
            .open()?
            .take(limit.saturating_add(1))
            .read_to_end(&mut buf)?;
        // Bytes handed over may stop at the limit; the size says the rest.
        let cut = buf.len() as u64 > limit || self.size > limit;
        buf.truncate(limit as usize);
        Ok((buf, cut))
    }

    pub fn extension(&self) -> Option<String> {
        sniff::extension(self.name)
    }
}

/// What a format reader produces; the media type and kind are added by the dispatcher.
#[derive(Debug, Default)]
pub(crate) struct Content {
    pub text: String,
    pub truncated: bool,
    pub metadata: Map<String, Value>,
}

impl Content {
    pub fn facts(metadata: Map<String, Value>) -> Self {
        Content {
            metadata,
            ..Content::default()
        }
    }

    fn into_extracted(self, media_type: String) -> Extracted {
        Extracted {
            kind: content_kind(&media_type),
            media_type,
            text: self.text,
            metadata: Value::Object(self.metadata),
            truncated: self.truncated,
            keyframe: None,
        }
    }
}

/// Builds a JSON object from literal pairs.
pub(crate) fn object<const N: usize>(pairs: [(&str, Value); N]) -> Map<String, Value> {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}
