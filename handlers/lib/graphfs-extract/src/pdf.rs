//! PDF text and document information through `pdf-extract` (and its `lopdf`).

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};

use pdf_extract::{ConvertToFmt, Document, Object, OutputError, PlainTextOutput};
use serde_json::Map;

use crate::text::{TextSink, fact};
use crate::{Content, ExtractError, Input, panic_message};

pub(crate) fn extract(input: &Input<'_>) -> Result<Content, ExtractError> {
    let bytes = input.read_all()?;
    let limit = input.limits.max_text_bytes;
    // pdf-extract panics on some unusual files (unwrap on missing objects and the like).
    match catch_unwind(AssertUnwindSafe(|| parse(&bytes, limit))) {
        Ok(result) => result,
        Err(panic) => Err(ExtractError::Malformed(format!(
            "could not read the PDF (the parser failed: {})",
            panic_message(panic.as_ref())
        ))),
    }
}

fn parse(bytes: &[u8], limit: usize) -> Result<Content, ExtractError> {
    let mut doc = Document::load_mem(bytes)
        .map_err(|e| ExtractError::Malformed(format!("not a valid PDF: {e}")))?;
    if doc.is_encrypted() {
        // Many PDFs are "encrypted" with an empty user password, only to restrict editing.
        doc.decrypt("")
            .map_err(|_| ExtractError::Malformed("the PDF is password-protected".to_string()))?;
    }
    let mut metadata = Map::new();
    metadata.insert("pages".into(), doc.get_pages().len().into());
    document_info(&doc, &mut metadata);

    let mut sink = TextSink::new(limit);
    let written = {
        let mut output = PlainTextOutput::new(BoundedText(&mut sink));
        pdf_extract::output_doc(&doc, &mut output)
    };
    match written {
        Ok(()) => {}
        // The bounded writer refuses more text once full, which ends extraction early.
        Err(OutputError::FormatError(_)) if sink.is_full() => {}
        Err(e) => {
            return Err(ExtractError::Malformed(format!(
                "could not extract text from the PDF: {e}"
            )));
        }
    }
    let (text, truncated) = sink.finish();
    Ok(Content {
        text: tidy(&text),
        truncated,
        metadata,
    })
}

/// Title, author and friends from the trailer's `/Info` dictionary.
fn document_info(doc: &Document, metadata: &mut Map<String, serde_json::Value>) {
    let info = match doc.trailer.get(b"Info") {
        Ok(Object::Reference(id)) => doc.get_dictionary(*id).ok(),
        Ok(Object::Dictionary(dict)) => Some(dict),
        _ => None,
    };
    let Some(info) = info else {
        return;
    };
    let fields: [(&[u8], &str); 6] = [
        (b"Title", "title"),
        (b"Author", "author"),
        (b"Subject", "subject"),
        (b"Keywords", "keywords"),
        (b"Creator", "creator"),
        (b"Producer", "producer"),
    ];
    for (key, name) in fields {
        let value = match info.get(key) {
            Ok(Object::Reference(id)) => doc.get_object(*id).ok(),
            Ok(object) => Some(object),
            Err(_) => None,
        };
        if let Some(value) = value
            .and_then(|o| pdf_extract::decode_text_string(o).ok())
            .as_deref()
            .and_then(fact)
        {
            metadata.insert(name.into(), value);
        }
    }
}

/// Drops trailing spaces and runs of blank lines that PDF layout leaves behind.
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank += 1;
            if blank > 1 || out.is_empty() {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    let kept = out.trim_end().len();
    out.truncate(kept);
    out
}

/// Lets pdf-extract write into a [`TextSink`]; fails once it is full so that extraction
/// of a huge document stops instead of rendering every page.
struct BoundedText<'a>(&'a mut TextSink);

impl ConvertToFmt for BoundedText<'_> {
    type Writer = Self;

    fn convert(self) -> Self {
        self
    }
}

impl fmt::Write for BoundedText<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if self.0.is_full() {
            return Err(fmt::Error);
        }
        self.0.push_str(s);
        Ok(())
    }
}
