//! Images (dimensions, EXIF), audio and video (properties and tags through lofty).

use std::io::ErrorKind;

use exif::{In, Tag};
use lofty::config::ParseOptions;
use lofty::file::{AudioFile, FileType, TaggedFileExt};
use lofty::probe::Probe;
use lofty::tag::Accessor;
use serde_json::{Map, Value};

use crate::text::fact;
use crate::{Content, ContentKind, ExtractError, Input, html, sniff, text};

/// Image types imagesize understands: for these, an unreadable header is an error.
const SIZED_IMAGES: &[&str] = &[
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "image/bmp",
    "image/tiff",
    "image/vnd.microsoft.icon",
    "image/x-icon",
    "image/heif",
    "image/heic",
    "image/avif",
    "image/jxl",
    "image/vnd.adobe.photoshop",
];

/// Containers that can carry EXIF and that the exif crate reads.
const EXIF_IMAGES: &[&str] = &[
    "image/jpeg",
    "image/tiff",
    "image/png",
    "image/webp",
    "image/heif",
    "image/heic",
    "image/avif",
];

pub(crate) fn image(input: &Input<'_>, media_type: &str) -> Result<Content, ExtractError> {
    let media_type = sniff::essence(media_type);
    let mut metadata = Map::new();
    match input
        .reader()
        .map_err(imagesize::ImageError::IoError)
        .and_then(imagesize::reader_size)
    {
        Ok(size) => {
            metadata.insert("width".into(), size.width.into());
            metadata.insert("height".into(), size.height.into());
        }
        Err(imagesize::ImageError::NotSupported)
            if !SIZED_IMAGES.contains(&media_type.as_str()) => {}
        Err(imagesize::ImageError::NotSupported) => {
            return Err(ExtractError::Malformed(format!(
                "not a valid {media_type} image: unrecognised header"
            )));
        }
        Err(imagesize::ImageError::CorruptedImage) => {
            return Err(ExtractError::Malformed(format!(
                "the {media_type} image is damaged"
            )));
        }
        Err(imagesize::ImageError::IoError(e)) if e.kind() == ErrorKind::UnexpectedEof => {
            return Err(ExtractError::Malformed(format!(
                "the {media_type} image is truncated"
            )));
        }
        Err(imagesize::ImageError::IoError(e)) => return Err(ExtractError::Io(e)),
    }
    // The exif crate reads a whole TIFF into memory, hence the size bound.
    if EXIF_IMAGES.contains(&media_type.as_str())
        && input.size <= input.limits.max_input_bytes
        && let Some(facts) = exif_facts(input)
    {
        metadata.insert("exif".into(), Value::Object(facts));
    }
    let mut content = Content::facts(metadata);
    if media_type == "image/svg+xml" {
        // SVG is markup: its <title>, <desc> and <text> are words worth tagging.
        let (source, _, cut) = text::read_text(input)?;
        let svg = html::html_to_text(&source, input.limits.max_text_bytes, true);
        content.text = svg.text;
        content.truncated = svg.truncated || cut;
    }
    Ok(content)
}

/// Selected EXIF fields as strings; `None` when the image has no (readable) EXIF, which
/// is common and not an error.
fn exif_facts(input: &Input<'_>) -> Option<Map<String, Value>> {
    let mut reader = input.reader().ok()?;
    let exif = match exif::Reader::new().read_from_container(&mut reader) {
        Ok(exif) => exif,
        Err(e) => {
            tracing::debug!("no EXIF: {e}");
            return None;
        }
    };
    let fields = [
        (Tag::Make, "Make"),
        (Tag::Model, "Model"),
        (Tag::LensModel, "LensModel"),
        (Tag::Software, "Software"),
        (Tag::DateTimeOriginal, "DateTimeOriginal"),
        (Tag::DateTime, "DateTime"),
        (Tag::ExposureTime, "ExposureTime"),
        (Tag::FNumber, "FNumber"),
        (Tag::PhotographicSensitivity, "ISO"),
        (Tag::FocalLength, "FocalLength"),
    ];
    let mut facts = Map::new();
    for (tag, key) in fields {
        if let Some(field) = exif.get_field(tag, In::PRIMARY) {
            let value = match &field.value {
                exif::Value::Ascii(parts) => parts
                    .iter()
                    .map(|p| {
                        String::from_utf8_lossy(p)
                            .trim_matches(char::from(0))
                            .to_string()
                    })
                    .collect::<Vec<_>>()
                    .join(" "),
                _ => field.display_value().with_unit(&exif).to_string(),
            };
            if let Some(value) = fact(&value) {
                facts.insert(key.into(), value);
            }
        }
    }
    // The raw number (1-8) is what image tools expect, not a description.
    if let Some(orientation) = exif
        .get_field(Tag::Orientation, In::PRIMARY)
        .and_then(|f| f.value.get_uint(0))
    {
        facts.insert("Orientation".into(), orientation.to_string().into());
    }
    if exif.get_field(Tag::GPSLatitude, In::PRIMARY).is_some() {
        facts.insert("GPS".into(), "present".into());
    }
    (!facts.is_empty()).then_some(facts)
}

/// Audio and video: duration and stream properties, and the usual tags.
pub(crate) fn audio_video(input: &Input<'_>, kind: ContentKind) -> Result<Content, ExtractError> {
    let noun = if kind == ContentKind::Video {
        "video"
    } else {
        "audio"
    };
    // Cover art can be megabytes and is not needed.
    let options = ParseOptions::new().read_cover_art(false);
    let open = |options: ParseOptions| -> Result<_, ExtractError> {
        let mut probe = Probe::new(input.reader()?)
            .options(options)
            .guess_file_type()?;
        if probe.file_type().is_none()
            && let Some(file_type) = input.extension().and_then(FileType::from_ext)
        {
            probe = probe.set_file_type(file_type);
        }
        Ok(probe)
    };
    let probe = open(options)?;
    if probe.file_type().is_none() {
        // A container lofty does not know (Matroska, AVI...): identified, not read.
        return Ok(Content::facts(crate::object([(
            "bytes",
            Value::from(input.size),
        )])));
    }
    let malformed = |e: lofty::error::LoftyError| {
        ExtractError::Malformed(format!("could not read the {noun} file: {e}"))
    };
    let (tagged, sound) = match probe.read() {
        Ok(tagged) => (tagged, true),
        // A video without sound (a screen recording) has no audio
        // properties for lofty, yet its container and tags read; its length
        // and frames are read later (ocr.rs).
        Err(e) if kind == ContentKind::Video => {
            match open(
                ParseOptions::new()
                    .read_cover_art(false)
                    .read_properties(false),
            )?
            .read()
            {
                Ok(tagged) => (tagged, false),
                Err(_) => return Err(malformed(e)),
            }
        }
        Err(e) => return Err(malformed(e)),
    };

    let mut metadata = Map::new();
    if sound {
        let props = tagged.properties();
        let seconds = (props.duration().as_secs_f64() * 1000.0).round() / 1000.0;
        metadata.insert("duration_seconds".into(), seconds.into());
        if let Some(kbps) = props.audio_bitrate().or(props.overall_bitrate()) {
            metadata.insert("bitrate_kbps".into(), kbps.into());
        }
        if let Some(rate) = props.sample_rate() {
            metadata.insert("sample_rate".into(), rate.into());
        }
        if let Some(channels) = props.channels() {
            metadata.insert("channels".into(), channels.into());
        }
        if let Some(bits) = props.bit_depth() {
            metadata.insert("bit_depth".into(), bits.into());
        }
    } else {
        metadata.insert("bytes".into(), Value::from(input.size));
    }
    if let Some(tag) = tagged.primary_tag().or_else(|| tagged.first_tag()) {
        let texts = [
            ("title", tag.title()),
            ("artist", tag.artist()),
            ("album", tag.album()),
            ("genre", tag.genre()),
            ("comment", tag.comment()),
        ];
        for (key, value) in texts {
            if let Some(value) = value.as_deref().and_then(fact) {
                metadata.insert(key.into(), value);
            }
        }
        if let Some(year) = tag.year() {
            metadata.insert("year".into(), year.into());
        }
        if let Some(track) = tag.track() {
            metadata.insert("track".into(), track.into());
        }
    }
    Ok(Content::facts(metadata))
}
