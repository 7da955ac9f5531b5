//! End-to-end tests on sample files built at test time.

use std::io::{Cursor, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::json;
use tempfile::TempDir;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use crate::fixtures::*;
use crate::*;

fn write(dir: &TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).expect("write sample");
    path
}

/// Extracts `bytes` stored under a name without extension, as uploads are, with `name`
/// given separately.
fn extract_bytes(name: &str, bytes: &[u8]) -> Result<Extracted, ExtractError> {
    extract_with(name, bytes, &Limits::default())
}

fn extract_with(name: &str, bytes: &[u8], limits: &Limits) -> Result<Extracted, ExtractError> {
    let dir = TempDir::new().expect("temp dir");
    let path = write(&dir, "upload.tmp", bytes);
    extract_file(&path, name, "", limits)
}

fn ok(name: &str, bytes: &[u8]) -> Extracted {
    match extract_bytes(name, bytes) {
        Ok(e) => e,
        Err(e) => panic!("{name}: {e}"),
    }
}

fn zip_bytes(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    for (name, data) in members {
        // OpenDocument wants `mimetype` first and stored, so it can be sniffed.
        let method = if *name == "mimetype" {
            CompressionMethod::Stored
        } else {
            CompressionMethod::Deflated
        };
        let options = SimpleFileOptions::default().compression_method(method);
        writer.start_file(*name, options).expect("start member");
        writer.write_all(data).expect("write member");
    }
    writer.finish().expect("finish zip").into_inner()
}

const CORE_XML: &[u8] = br#"<?xml version="1.0" encoding="UTF-8"?>
<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/">
<dc:title>Quarterly Report</dc:title><dc:creator>Ada Lovelace</dc:creator></cp:coreProperties>"#;

fn docx() -> Vec<u8> {
    zip_bytes(&[
        ("[Content_Types].xml", br#"<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>"#),
        ("word/document.xml", br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>
<w:p><w:r><w:t>Hello</w:t></w:r><w:r><w:tab/><w:t xml:space="preserve"> World</w:t></w:r></w:p>
<w:p><w:r><w:t>Second &amp; para</w:t></w:r><w:r><w:delText>deleted</w:delText></w:r></w:p>
</w:body></w:document>"#),
        ("docProps/core.xml", CORE_XML),
        ("docProps/app.xml", b"<Properties><Pages>3</Pages><Words>5</Words></Properties>"),
    ])
}

fn pptx() -> Vec<u8> {
    let slide = |text: &str| {
        format!(
            r#"<p:sld xmlns:p="p" xmlns:a="a"><p:cSld><p:spTree><p:sp><p:txBody><a:p><a:r><a:t>{text}</a:t></a:r></a:p></p:txBody></p:sp></p:spTree></p:cSld></p:sld>"#
        )
    };
    let (one, two, ten) = (
        slide("First slide"),
        slide("Second slide"),
        slide("Tenth slide"),
    );
    zip_bytes(&[
        ("ppt/presentation.xml", b"<p:presentation xmlns:p=\"p\"/>"),
        ("ppt/slides/slide10.xml", ten.as_bytes()),
        ("ppt/slides/slide2.xml", two.as_bytes()),
        ("ppt/slides/slide1.xml", one.as_bytes()),
        ("docProps/core.xml", CORE_XML),
    ])
}

fn xlsx() -> Vec<u8> {
    zip_bytes(&[
        ("xl/workbook.xml", br#"<workbook xmlns="s" xmlns:r="r"><sheets><sheet name="Budget" sheetId="1" r:id="rId1"/><sheet name="Notes" sheetId="2" r:id="rId2"/></sheets></workbook>"#),
        ("xl/sharedStrings.xml", br#"<sst xmlns="s" count="2" uniqueCount="2"><si><t>Apples</t></si><si><r><t>Bana</t></r><r><t>nas</t></r><rPh><t>hint</t></rPh></si></sst>"#),
        ("xl/worksheets/sheet1.xml", b"<worksheet/>"),
    ])
}

fn odt() -> Vec<u8> {
    zip_bytes(&[
        ("mimetype", b"application/vnd.oasis.opendocument.text"),
        ("content.xml", br#"<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="o" xmlns:text="t"><office:body><office:text>
<text:h text:outline-level="1">Chapter One</text:h>
<text:p>Hello<text:s/>ODT<text:tab/>world <text:span>span</text:span></text:p>
</office:text></office:body></office:document-content>"#),
        ("meta.xml", br#"<office:document-meta xmlns:office="o" xmlns:meta="m" xmlns:dc="d"><office:meta><dc:title>Open Doc</dc:title><meta:initial-creator>Grace</meta:initial-creator><meta:document-statistic meta:page-count="2" meta:word-count="7"/></office:meta></office:document-meta>"#),
    ])
}

fn ods() -> Vec<u8> {
    zip_bytes(&[
        ("mimetype", b"application/vnd.oasis.opendocument.spreadsheet"),
        ("content.xml", br#"<office:document-content xmlns:office="o" xmlns:table="tb" xmlns:text="t"><office:body><office:spreadsheet>
<table:table table:name="Inventory"><table:table-row><table:table-cell><text:p>Widget</text:p></table:table-cell><table:table-cell><text:p>42</text:p></table:table-cell></table:table-row></table:table>
</office:spreadsheet></office:body></office:document-content>"#),
    ])
}

fn epub() -> Vec<u8> {
    zip_bytes(&[
        ("mimetype", b"application/epub+zip"),
        ("META-INF/container.xml", br#"<container><rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles></container>"#),
        ("OEBPS/content.opf", br#"<package xmlns="http://www.idpf.org/2007/opf" xmlns:dc="http://purl.org/dc/elements/1.1/"><metadata><dc:title>A Small Book</dc:title><dc:creator>Anon</dc:creator></metadata>
<manifest><item id="c2" href="text/ch2.xhtml" media-type="application/xhtml+xml"/><item id="c1" href="text/ch1.xhtml" media-type="application/xhtml+xml"/></manifest>
<spine><itemref idref="c1"/><itemref idref="c2"/></spine></package>"#),
        ("OEBPS/text/ch2.xhtml", b"<html><body><p>Chapter two text.</p></body></html>"),
        ("OEBPS/text/ch1.xhtml", b"<html><head><title>One</title></head><body><p>Chapter one text.</p></body></html>"),
    ])
}

fn garbage(len: usize) -> Vec<u8> {
    // Deterministic noise that is neither text nor any known format.
    let mut state = 0x2545_F491_u32;
    (0..len)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            if i % 7 == 0 {
                0
            } else {
                (state >> 24) as u8 | 0x80
            }
        })
        .collect()
}

#[test]
fn plain_text_and_chinese() {
    let text = "这是一个中文文本测试。\n第二行。";
    let e = ok("notes.txt", text.as_bytes());
    assert_eq!(e.kind, ContentKind::Text);
    assert_eq!(e.media_type, "text/plain");
    assert_eq!(e.text, text);
    assert_eq!(e.metadata["lines"], 2);
    assert!(!e.truncated);

    // Without extension, by content alone.
    assert_eq!(ok("notes", text.as_bytes()).kind, ContentKind::Text);
}

#[test]
fn utf16_and_invalid_utf8_text() {
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend("héllo 世界".encode_utf16().flat_map(u16::to_le_bytes));
    let e = ok("letter.txt", &utf16);
    assert_eq!(e.text, "héllo 世界");
    assert_eq!(e.metadata["encoding"], "utf-16le");

    let e = ok("latin1.txt", b"caf\xe9 au lait");
    assert_eq!(e.kind, ContentKind::Text);
    assert_eq!(e.text, "caf\u{FFFD} au lait");
    // NUL bytes, though, mean the text extension is wrong.
    assert_eq!(ok("data.txt", &garbage(64)).kind, ContentKind::Unknown);
}

#[test]
fn text_is_truncated_at_a_char_boundary() {
    let text = "日本語".repeat(1000);
    let limits = Limits {
        max_text_bytes: 100,
        ..Limits::default()
    };
    let e = extract_with("long.txt", text.as_bytes(), &limits).expect("extract");
    assert!(e.truncated);
    assert_eq!(e.text.len(), 99);
    assert!(text.starts_with(&e.text));

    // Input beyond max_input_bytes is read in part, and said so.
    let limits = Limits {
        max_input_bytes: 10,
        ..Limits::default()
    };
    let e = extract_with("long.txt", b"0123456789abcdef", &limits).expect("extract");
    assert_eq!(e.text, "0123456789");
    assert!(e.truncated);
}

#[test]
fn empty_file_is_not_an_error() {
    let e = ok("empty.pdf", b"");
    assert_eq!(e.kind, ContentKind::Pdf);
    assert_eq!(e.text, "");
    assert_eq!(e.metadata, json!({"bytes": 0}));
}

#[test]
fn source_code() {
    let code = "// Entry point\nfn main() {\n    println!(\"hi\");\n}\n";
    let e = ok("src/main.rs", code.as_bytes());
    assert_eq!(e.kind, ContentKind::Code);
    assert_eq!(e.media_type, "text/x-rust");
    assert_eq!(e.text, code);
    assert_eq!(e.metadata, json!({"language": "rust", "lines": 4}));

    let e = ok("tool", b"#!/usr/bin/env python3\nprint('x')\n");
    assert_eq!(e.kind, ContentKind::Code);
    assert_eq!(e.metadata["language"], "python");
}

#[test]
fn markdown() {
    let md = "# Release Notes\n\nSee [the docs](https://example.com/docs) for **details**.\n\n## Fixes\n- crash on `start`\n";
    let e = ok("NOTES.md", md.as_bytes());
    assert_eq!(e.kind, ContentKind::Markdown);
    assert_eq!(e.metadata["title"], "Release Notes");
    assert_eq!(e.metadata["headings"], json!(["Release Notes", "Fixes"]));
    assert!(e.text.contains("See the docs for details."), "{}", e.text);
    assert!(e.text.contains("crash on start"));
    assert!(!e.text.contains("https://"));
}

#[test]
fn html_drops_script_and_style() {
    let html = br#"<!DOCTYPE html>
<html lang="de"><head><title>Wetter &amp; Klima</title>
<style>.x { display: none }</style>
<script type="text/javascript">document.write("<b>evil</b>");</script>
<meta name="description" content="Forecast page"></head>
<body><h1>Heute</h1><p>Sonnig,&nbsp;25&deg;C</p><ul><li>Morgen</li><li>Regen</li></ul></body></html>"#;
    let e = ok("page.html", html);
    assert_eq!(e.kind, ContentKind::Html);
    assert_eq!(e.metadata["title"], "Wetter & Klima");
    assert_eq!(e.metadata["description"], "Forecast page");
    assert_eq!(e.metadata["language"], "de");
    assert_eq!(e.metadata["headings"], json!(["Heute"]));
    // A no-break space is layout whitespace like any other.
    assert_eq!(e.text, "Heute\nSonnig, 25°C\nMorgen\nRegen");
    // Same result when sniffed from content alone.
    assert_eq!(ok("page", html).kind, ContentKind::Html);
}

#[test]
fn xml_is_text() {
    let e = ok(
        "feed.xml",
        b"<?xml version=\"1.0\"?><rss><title>News</title><item>Story</item></rss>",
    );
    assert_eq!(e.kind, ContentKind::Text);
    assert_eq!(e.text, "News Story");
    assert_eq!(e.metadata["root"], "rss");
}

#[test]
fn csv_columns_and_rows() {
    let csv = "name,city,\"notes, quoted\"\nAnn,Oslo,\"likes\nsnow\"\nBob,Rome,x\n";
    let e = ok("people.csv", csv.as_bytes());
    assert_eq!(e.kind, ContentKind::Csv);
    assert_eq!(
        e.metadata["columns"],
        json!(["name", "city", "notes, quoted"])
    );
    assert_eq!(e.metadata["rows"], 2);
    assert_eq!(e.text, csv);

    let e = ok("data.tsv", b"a\tb\n1\t2\n");
    assert_eq!(e.metadata["columns"], json!(["a", "b"]));
    assert_eq!(e.metadata["rows"], 1);
}

#[test]
fn json_is_flattened() {
    let e = ok(
        "config.json",
        br#"{"title": "Holiday", "tags": ["beach", "sun"], "days": 7, "where": {"city": "Nice"}}"#,
    );
    assert_eq!(e.kind, ContentKind::Json);
    assert_eq!(
        e.metadata["keys"],
        json!(["title", "tags", "days", "where"])
    );
    for word in ["title: Holiday", "beach", "sun", "days: 7", "city: Nice"] {
        assert!(e.text.contains(word), "{word} missing from {}", e.text);
    }

    let e = ok("events.jsonl", b"{\"a\":\"x\"}\n{\"a\":\"y\"}\n");
    assert_eq!(e.metadata["records"], 2);

    // Broken JSON stays searchable as text.
    let e = ok("broken.json", b"{\"a\": \"unterminated");
    assert_eq!(e.metadata["valid"], false);
    assert!(e.text.contains("unterminated"));
}

#[test]
fn pdf_text_and_info() {
    let e = ok("hello.pdf", &pdf("Hello PDF World"));
    assert_eq!(e.kind, ContentKind::Pdf);
    assert_eq!(e.media_type, "application/pdf");
    assert!(e.text.contains("Hello PDF World"), "{:?}", e.text);
    assert_eq!(e.metadata["pages"], 1);
    assert_eq!(e.metadata["title"], "Greeting Card");
    assert_eq!(e.metadata["author"], "GraphFS Tests");
}

#[test]
fn pdf_beyond_input_limit_is_refused() {
    let limits = Limits {
        max_input_bytes: 100,
        ..Limits::default()
    };
    let err = extract_with("big.pdf", &pdf("Hello"), &limits).expect_err("too large");
    assert!(
        matches!(err, ExtractError::TooLarge { limit: 100, .. }),
        "{err}"
    );
}

#[test]
fn docx_text_and_properties() {
    let e = ok("report.docx", &docx());
    assert_eq!(e.kind, ContentKind::Document);
    assert_eq!(e.media_type, office::DOCX);
    assert_eq!(e.text, "Hello\t World\nSecond & para");
    assert_eq!(e.metadata["title"], "Quarterly Report");
    assert_eq!(e.metadata["author"], "Ada Lovelace");
    assert_eq!(e.metadata["pages"], 3);
    // Recognised from the archive's members when the name says nothing.
    assert_eq!(ok("upload", &docx()).media_type, office::DOCX);
    assert_eq!(ok("wrong-name.zip", &docx()).media_type, office::DOCX);
}

#[test]
fn pptx_slides_in_order() {
    let e = ok("deck.pptx", &pptx());
    assert_eq!(e.kind, ContentKind::Presentation);
    assert_eq!(e.metadata["slides"], 3);
    assert_eq!(e.text, "First slide\n\nSecond slide\n\nTenth slide");
    assert_eq!(e.metadata["title"], "Quarterly Report");
}

#[test]
fn xlsx_sheets_and_strings() {
    let e = ok("budget.xlsx", &xlsx());
    assert_eq!(e.kind, ContentKind::Spreadsheet);
    assert_eq!(e.metadata["sheets"], json!(["Budget", "Notes"]));
    assert_eq!(e.metadata["shared_strings"], 2);
    assert_eq!(e.text, "Budget\nNotes\n\nApples\nBananas");
}

#[test]
fn opendocument_and_epub() {
    let e = ok("story.odt", &odt());
    assert_eq!(e.kind, ContentKind::Document);
    assert_eq!(e.media_type, office::ODT);
    assert_eq!(e.text, "Chapter One\nHello ODT\tworld span");
    assert_eq!(e.metadata["title"], "Open Doc");
    assert_eq!(e.metadata["author"], "Grace");
    assert_eq!(e.metadata["pages"], 2);

    let e = ok("stock", &ods());
    assert_eq!(e.kind, ContentKind::Spreadsheet);
    assert_eq!(e.metadata["sheets"], json!(["Inventory"]));
    assert!(
        e.text.contains("Widget") && e.text.contains("42"),
        "{}",
        e.text
    );

    let e = ok("book.epub", &epub());
    assert_eq!(e.kind, ContentKind::Document);
    assert_eq!(e.metadata["title"], "A Small Book");
    assert_eq!(e.metadata["chapters"], 2);
    assert_eq!(e.text, "Chapter one text.\n\nChapter two text.");
}

#[test]
fn plain_zip_is_listed() {
    let bytes = zip_bytes(&[("src/a.rs", b"fn a() {}"), ("README", b"hi")]);
    let e = ok("code.zip", &bytes);
    assert_eq!(e.kind, ContentKind::Unknown);
    assert_eq!(e.media_type, "application/zip");
    assert_eq!(e.text, "src/a.rs\nREADME");
    assert_eq!(e.metadata["entries"], 2);
}

#[test]
fn zip_bombs_are_refused() {
    let zeros = vec![0u8; 10 * 1024 * 1024];
    let bomb = zip_bytes(&[("word/document.xml", &zeros)]);
    assert!(bomb.len() < 100 * 1024, "deflate should squash zeros");
    for name in ["bomb.docx", "bomb.zip", "bomb"] {
        let err = extract_bytes(name, &bomb).expect_err("bomb must be refused");
        assert!(
            matches!(&err, ExtractError::ZipBomb { member, .. } if member == "word/document.xml"),
            "{name}: {err}"
        );
        assert!(err.to_string().contains("zip bomb"), "{err}");
    }

    // The total budget holds even for members with a harmless ratio.
    let limits = Limits {
        max_decompressed_bytes: 50,
        ..Limits::default()
    };
    let err = extract_with("report.docx", &docx(), &limits).expect_err("over budget");
    assert!(matches!(err, ExtractError::ZipBomb { .. }), "{err}");
}

#[test]
fn images() {
    let e = ok("shot.png", &png(640, 480));
    assert_eq!(e.kind, ContentKind::Image);
    assert_eq!(e.media_type, "image/png");
    assert_eq!(e.text, "");
    assert_eq!(e.metadata, json!({"width": 640, "height": 480}));

    let e = ok("photo.jpg", &jpeg_with_exif());
    assert_eq!(e.media_type, "image/jpeg");
    assert_eq!(e.metadata["width"], 640);
    assert_eq!(e.metadata["height"], 480);
    assert_eq!(e.metadata["exif"]["Make"], "Canon");
    assert_eq!(e.metadata["exif"]["Orientation"], "6");

    let e = ok(
        "logo.svg",
        b"<svg xmlns=\"http://www.w3.org/2000/svg\"><title>Company logo</title></svg>",
    );
    assert_eq!(e.kind, ContentKind::Image);
    assert_eq!(e.text, "Company logo");
}

#[test]
fn wav_duration() {
    let e = ok("silence.wav", &wav());
    assert_eq!(e.kind, ContentKind::Audio);
    assert_eq!(e.metadata["duration_seconds"], 1.0);
    assert_eq!(e.metadata["sample_rate"], 8000);
    assert_eq!(e.metadata["channels"], 1);
    assert_eq!(e.text, "");
}

#[test]
fn damaged_binaries_fail_cleanly() {
    let pdf = pdf("Hello PDF World");
    let png = png(10, 10);
    let jpeg = jpeg_with_exif();
    let wav = wav();
    let docx = docx();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("a.pdf", pdf[..pdf.len() / 2].to_vec()),
        ("a.pdf", b"%PDF-1.7\n1 0 obj garbage".to_vec()),
        ("a.pdf", garbage(4096)),
        ("a.docx", docx[..docx.len() / 2].to_vec()),
        ("a.docx", garbage(4096)),
        ("a.xlsx", garbage(100)),
        ("a.pptx", b"PK\x03\x04 definitely not a zip".to_vec()),
        ("a.odt", garbage(100)),
        ("a.png", png[..20].to_vec()),
        ("a.png", garbage(512)),
        ("a.jpg", jpeg[..30].to_vec()),
        ("a.jpg", garbage(512)),
        ("a.wav", wav[..30].to_vec()),
        ("a.wav", garbage(512)),
        ("a.mp3", garbage(4096)),
        ("a.flac", garbage(512)),
        ("a.mp4", garbage(512)),
    ];
    for (name, bytes) in cases {
        match extract_bytes(name, &bytes) {
            Err(ExtractError::Malformed(message)) => assert!(!message.is_empty()),
            Err(other) => panic!("{name}: unexpected error kind: {other}"),
            Ok(e) => panic!("{name}: damaged input accepted: {e:?}"),
        }
    }
}

#[test]
fn unknown_binary() {
    let e = ok("blob.bin", &garbage(300));
    assert_eq!(e.kind, ContentKind::Unknown);
    assert_eq!(e.media_type, "application/octet-stream");
    assert_eq!(e.metadata, json!({"bytes": 300}));
}

#[test]
fn not_a_regular_file() {
    let dir = TempDir::new().expect("temp dir");
    let err = extract_file(dir.path(), "dir", "", &Limits::default()).expect_err("directory");
    assert!(matches!(err, ExtractError::Malformed(_)));
    let err = extract_file(&dir.path().join("missing"), "x", "", &Limits::default())
        .expect_err("missing");
    assert!(matches!(err, ExtractError::Io(_)));
}

#[test]
fn serde_shapes() {
    assert_eq!(
        serde_json::to_value(ContentKind::Presentation).expect("json"),
        json!("presentation")
    );
    let limits: Limits = serde_json::from_value(json!({"max_text_bytes": 10})).expect("limits");
    assert_eq!(limits.max_text_bytes, 10);
    assert_eq!(limits.max_input_bytes, Limits::default().max_input_bytes);
}

fn request(dir: &TempDir, name: &str, bytes: &[u8]) -> ExtractRequest {
    ExtractRequest {
        path: write(dir, "upload.tmp", bytes),
        name: name.to_string(),
        declared_media_type: String::new(),
        limits: Limits::default(),
    }
}

#[tokio::test]
async fn in_process_extraction() {
    let dir = TempDir::new().expect("temp dir");
    let req = request(&dir, "hello.md", b"# Hi\ntext");
    let e = extract_in_process(&req, Duration::from_secs(30))
        .await
        .expect("extract");
    assert_eq!(e.kind, ContentKind::Markdown);
    assert_eq!(e.text, "Hi\ntext");
}

#[tokio::test]
async fn in_process_timeout() {
    let dir = TempDir::new().expect("temp dir");
    // Large enough that extraction takes far longer than a millisecond.
    let markdown = "Some *text* with [a link](http://example.com/x) in it.\n".repeat(200_000);
    let req = request(&dir, "big.md", markdown.as_bytes());
    let err = extract_in_process(&req, Duration::from_millis(1))
        .await
        .expect_err("must time out");
    assert!(matches!(err, ExtractError::Timeout), "{err}");
}

fn sh(script: &str, timeout: Duration) -> Isolation {
    Isolation {
        program: PathBuf::from("/bin/sh"),
        args: vec!["-c".to_string(), script.to_string()],
        timeout,
        memory_limit_bytes: 1 << 30,
        cpu_seconds: 10,
    }
}

/// A request for a real small file; the scripted workers ignore what they read.
fn dummy_request() -> (TempDir, ExtractRequest) {
    let dir = TempDir::new().expect("temp dir");
    let req = request(&dir, "x.txt", b"x");
    (dir, req)
}

#[tokio::test]
async fn isolated_happy_path() {
    let reply = r#"{"ok": {"media_type": "text/plain", "kind": "text", "text": "hi", "metadata": {"lines": 1}, "truncated": false}}"#;
    let iso = sh(
        &format!("cat >/dev/null; echo '{reply}'"),
        Duration::from_secs(10),
    );
    let e = extract_isolated(&iso, &dummy_request().1)
        .await
        .expect("reply");
    assert_eq!(e.kind, ContentKind::Text);
    assert_eq!(e.text, "hi");
    assert_eq!(e.metadata, json!({"lines": 1}));
}

#[tokio::test]
async fn isolated_error_reply_keeps_its_kind() {
    let reply =
        r#"{"err": "refused", "error": {"zip_bomb": {"member": "m.xml", "detail": "big"}}}"#;
    let iso = sh(
        &format!("cat >/dev/null; echo '{reply}'; exit 1"),
        Duration::from_secs(10),
    );
    let err = extract_isolated(&iso, &dummy_request().1)
        .await
        .expect_err("error reply");
    assert!(
        matches!(&err, ExtractError::ZipBomb { member, .. } if member == "m.xml"),
        "{err}"
    );

    let iso = sh(
        "cat >/dev/null; echo '{\"err\": \"plain message\"}'",
        Duration::from_secs(10),
    );
    let err = extract_isolated(&iso, &dummy_request().1)
        .await
        .expect_err("error reply");
    assert_eq!(err.to_string(), "plain message");
}

#[tokio::test]
async fn isolated_timeout_kills_the_child() {
    let iso = sh("sleep 5", Duration::from_millis(200));
    let started = Instant::now();
    let err = extract_isolated(&iso, &dummy_request().1)
        .await
        .expect_err("timeout");
    assert!(matches!(err, ExtractError::Timeout), "{err}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn isolated_crash_reports_the_signal() {
    let iso = sh("kill -9 $$", Duration::from_secs(10));
    let err = extract_isolated(&iso, &dummy_request().1)
        .await
        .expect_err("crash");
    assert!(matches!(err, ExtractError::Crashed(_)), "{err}");
    assert_eq!(
        err.to_string(),
        "extraction process died: signal 9 (memory or CPU limit?)"
    );

    let iso = sh("cat >/dev/null; exit 3", Duration::from_secs(10));
    let err = extract_isolated(&iso, &dummy_request().1)
        .await
        .expect_err("exit code");
    assert_eq!(err.to_string(), "extraction process exited with status 3");

    let iso = Isolation {
        program: PathBuf::from("/nonexistent/worker"),
        ..sh("", Duration::from_secs(1))
    };
    let err = extract_isolated(&iso, &dummy_request().1)
        .await
        .expect_err("spawn");
    assert!(matches!(err, ExtractError::Crashed(_)), "{err}");
}
