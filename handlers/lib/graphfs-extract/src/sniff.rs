//! Media type detection: magic bytes first, then the file name, then text heuristics.

use std::path::Path;

use crate::ContentKind;
use crate::office;

pub(crate) const OCTET_STREAM: &str = "application/octet-stream";
const TEXT_PLAIN: &str = "text/plain";

/// Source code and configuration formats: extension, media type, language name.
const CODE: &[(&str, &str, &str)] = &[
    ("rs", "text/x-rust", "rust"),
    ("py", "text/x-python", "python"),
    ("pyi", "text/x-python", "python"),
    ("pyw", "text/x-python", "python"),
    ("go", "text/x-go", "go"),
    ("js", "text/javascript", "javascript"),
    ("mjs", "text/javascript", "javascript"),
    ("cjs", "text/javascript", "javascript"),
    ("jsx", "text/javascript", "javascript"),
    ("ts", "text/x-typescript", "typescript"),
    ("tsx", "text/x-typescript", "typescript"),
    ("mts", "text/x-typescript", "typescript"),
    ("cts", "text/x-typescript", "typescript"),
    ("java", "text/x-java", "java"),
    ("kt", "text/x-kotlin", "kotlin"),
    ("kts", "text/x-kotlin", "kotlin"),
    ("scala", "text/x-scala", "scala"),
    ("groovy", "text/x-groovy", "groovy"),
    ("gradle", "text/x-groovy", "groovy"),
    ("c", "text/x-c", "c"),
    ("h", "text/x-c", "c"),
    ("cpp", "text/x-c++", "cpp"),
    ("cc", "text/x-c++", "cpp"),
    ("cxx", "text/x-c++", "cpp"),
    ("hpp", "text/x-c++", "cpp"),
    ("hh", "text/x-c++", "cpp"),
    ("hxx", "text/x-c++", "cpp"),
    ("cs", "text/x-csharp", "csharp"),
    ("fs", "text/x-fsharp", "fsharp"),
    ("m", "text/x-objective-c", "objective-c"),
    ("mm", "text/x-objective-c", "objective-c"),
    ("swift", "text/x-swift", "swift"),
    ("rb", "text/x-ruby", "ruby"),
    ("php", "text/x-php", "php"),
    ("pl", "text/x-perl", "perl"),
    ("pm", "text/x-perl", "perl"),
    ("lua", "text/x-lua", "lua"),
    ("r", "text/x-r", "r"),
    ("jl", "text/x-julia", "julia"),
    ("dart", "text/x-dart", "dart"),
    ("zig", "text/x-zig", "zig"),
    ("nim", "text/x-nim", "nim"),
    ("hs", "text/x-haskell", "haskell"),
    ("ml", "text/x-ocaml", "ocaml"),
    ("mli", "text/x-ocaml", "ocaml"),
    ("ex", "text/x-elixir", "elixir"),
    ("exs", "text/x-elixir", "elixir"),
    ("erl", "text/x-erlang", "erlang"),
    ("clj", "text/x-clojure", "clojure"),
    ("lisp", "text/x-lisp", "lisp"),
    ("el", "text/x-emacs-lisp", "emacs-lisp"),
    ("scm", "text/x-scheme", "scheme"),
    ("sh", "text/x-shellscript", "shell"),
    ("bash", "text/x-shellscript", "shell"),
    ("zsh", "text/x-shellscript", "shell"),
    ("fish", "text/x-shellscript", "shell"),
    ("ps1", "text/x-powershell", "powershell"),
    ("bat", "text/x-bat", "batch"),
    ("cmd", "text/x-bat", "batch"),
    ("sql", "text/x-sql", "sql"),
    ("toml", "text/x-toml", "toml"),
    ("yaml", "text/x-yaml", "yaml"),
    ("yml", "text/x-yaml", "yaml"),
    ("ini", "text/x-ini", "ini"),
    ("cfg", "text/x-ini", "ini"),
    ("conf", "text/x-ini", "ini"),
    ("css", "text/css", "css"),
    ("scss", "text/x-scss", "scss"),
    ("sass", "text/x-sass", "sass"),
    ("less", "text/x-less", "less"),
    ("vue", "text/x-vue", "vue"),
    ("svelte", "text/x-svelte", "svelte"),
    ("proto", "text/x-protobuf", "protobuf"),
    ("graphql", "text/x-graphql", "graphql"),
    ("gql", "text/x-graphql", "graphql"),
    ("tex", "text/x-tex", "latex"),
    ("diff", "text/x-diff", "diff"),
    ("patch", "text/x-diff", "diff"),
    ("cmake", "text/x-cmake", "cmake"),
    ("mk", "text/x-makefile", "make"),
    ("tf", "text/x-terraform", "terraform"),
    ("nix", "text/x-nix", "nix"),
    ("asm", "text/x-asm", "assembly"),
    ("s", "text/x-asm", "assembly"),
    ("vim", "text/x-vim", "vim"),
    ("dockerfile", "text/x-dockerfile", "dockerfile"),
];

/// Well-known file names without a telling extension.
const CODE_NAMES: &[(&str, &str)] = &[
    ("makefile", "text/x-makefile"),
    ("gnumakefile", "text/x-makefile"),
    ("dockerfile", "text/x-dockerfile"),
    ("containerfile", "text/x-dockerfile"),
    ("cmakelists.txt", "text/x-cmake"),
    ("rakefile", "text/x-ruby"),
    ("gemfile", "text/x-ruby"),
    ("vagrantfile", "text/x-ruby"),
];

/// Non-code text formats whose `mime_guess` answer is missing or unhelpful.
const TEXT: &[(&str, &str)] = &[
    ("txt", TEXT_PLAIN),
    ("text", TEXT_PLAIN),
    ("log", TEXT_PLAIN),
    ("md", "text/markdown"),
    ("markdown", "text/markdown"),
    ("mdown", "text/markdown"),
    ("mkd", "text/markdown"),
    ("csv", "text/csv"),
    ("tsv", "text/tab-separated-values"),
    ("json", "application/json"),
    ("geojson", "application/geo+json"),
    ("jsonl", "application/x-ndjson"),
    ("ndjson", "application/x-ndjson"),
    ("html", "text/html"),
    ("htm", "text/html"),
    ("xhtml", "application/xhtml+xml"),
    ("rst", "text/x-rst"),
];

/// Signatures of formats whose files may well be plain ASCII.
const TEXTUAL_MAGIC: &[&str] = &[
    "application/pdf",
    "application/rtf",
    "application/postscript",
    "application/x-x509-ca-cert",
    "text/html",
    "text/xml",
    "text/x-shellscript",
];

/// Media types outside `text/*` that still denote source code.
const CODE_APPLICATION_TYPES: &[&str] = &[
    "application/javascript",
    "application/x-javascript",
    "application/ecmascript",
    "application/typescript",
    "application/x-typescript",
    "application/x-sh",
    "application/x-shellscript",
    "application/toml",
    "application/x-toml",
    "application/yaml",
    "application/x-yaml",
    "application/sql",
    "application/x-python",
    "application/x-python-code",
    "application/x-ruby",
    "application/x-perl",
    "application/x-php",
    "application/x-httpd-php",
];

/// Guesses a media type from the file name and its first bytes.
///
/// Magic bytes win, except that signatures which ordinary text can match by accident
/// (`<p`, `#!`, `SQLi`...) yield to a text extension. Then the extension (source code
/// maps to `text/x-<language>`), then a text heuristic (valid UTF-8 without NUL bytes, or
/// a UTF-16 byte order mark), else `application/octet-stream`.
pub fn sniff_media_type(name: &str, head: &[u8]) -> String {
    let by_name = media_type_for_name(name);
    let textual = looks_like_text(head);
    // Binary signatures found in valid, NUL-free UTF-8 are accidents ("MZ...", "SQLi..."),
    // unless the format is itself textual.
    let found = infer::get(head).filter(|f| !textual || TEXTUAL_MAGIC.contains(&f.mime_type()));
    if let Some(found) = found {
        let mime = found.mime_type();
        // `%PDF` is unambiguous even in an all-ASCII file.
        let weak = found.matcher_type() == infer::MatcherType::Text
            || (textual && mime != "application/pdf");
        if weak && let Some(t) = by_name.as_deref().filter(|t| is_textual(t)) {
            return t.to_string();
        }
        // Office documents and EPUBs are zip archives; the name tells them apart.
        if mime == office::ZIP
            && let Some(t) = by_name.as_deref().filter(|t| office::is_zip_family(t))
        {
            return t.to_string();
        }
        if mime == "text/xml"
            && let Some(t) = by_name.as_deref().filter(|t| is_xml(t))
        {
            return t.to_string();
        }
        if mime == "text/x-shellscript" {
            return shebang_media_type(head).to_string();
        }
        return mime.to_string();
    }
    if let Some(t) = by_name {
        // Only NUL bytes (outside UTF-16) contradict a text extension: legacy 8-bit
        // encodings are still text.
        if !is_textual(&t) || !head.contains(&0) || has_utf16_bom(head) {
            return t;
        }
        // A text extension on binary content: the name is wrong; try the generic map
        // (e.g. `.ts` is also MPEG transport stream).
        return mime_guess_for(name)
            .filter(|t| !is_textual(t))
            .unwrap_or_else(|| OCTET_STREAM.to_string());
    }
    if textual || has_utf16_bom(head) {
        return TEXT_PLAIN.to_string();
    }
    OCTET_STREAM.to_string()
}

/// Combines the sniffed type with what the uploader declared: the declaration is used
/// only where sniffing found nothing specific.
pub(crate) fn refine_media_type(name: &str, head: &[u8], declared: &str) -> String {
    let sniffed = sniff_media_type(name, head);
    let declared = essence(declared);
    if declared.is_empty() || declared == OCTET_STREAM || declared == sniffed {
        return sniffed;
    }
    if !declared.contains('/') || declared.contains(char::is_whitespace) {
        return sniffed;
    }
    let specific_text = declared != TEXT_PLAIN && is_textual(&declared);
    match sniffed.as_str() {
        OCTET_STREAM => declared,
        TEXT_PLAIN if specific_text => declared,
        _ => sniffed,
    }
}

/// Maps a media type to its content kind.
pub fn content_kind(media_type: &str) -> ContentKind {
    let mt = essence(media_type);
    let mt = mt.as_str();
    match mt {
        "text/markdown" | "text/x-markdown" => ContentKind::Markdown,
        "text/html" | "application/xhtml+xml" => ContentKind::Html,
        "text/csv" | "text/tab-separated-values" | "application/csv" => ContentKind::Csv,
        "application/json" | "text/json" | "application/x-ndjson" => ContentKind::Json,
        "application/pdf" => ContentKind::Pdf,
        "application/msword" | "application/rtf" | "text/rtf" => ContentKind::Document,
        "application/vnd.ms-excel" => ContentKind::Spreadsheet,
        "application/vnd.ms-powerpoint" => ContentKind::Presentation,
        "application/xml" => ContentKind::Text,
        _ if mt.ends_with("+json") => ContentKind::Json,
        _ if mt.ends_with("+xml") && !mt.starts_with("image/") => ContentKind::Text,
        _ => {
            if let Some(kind) = office::kind_of(mt) {
                kind
            } else if is_code_type(mt) {
                ContentKind::Code
            } else if mt.starts_with("image/") {
                ContentKind::Image
            } else if mt.starts_with("audio/") {
                ContentKind::Audio
            } else if mt.starts_with("video/") {
                ContentKind::Video
            } else if mt.starts_with("text/") {
                ContentKind::Text
            } else {
                ContentKind::Unknown
            }
        }
    }
}

/// The programming language of a code file, from its name or else its media type.
pub(crate) fn language(name: &str, media_type: &str) -> Option<&'static str> {
    if let Some(ext) = extension(name)
        && let Some((_, _, lang)) = CODE.iter().find(|(e, _, _)| *e == ext)
    {
        return Some(lang);
    }
    let mt = essence(media_type);
    CODE.iter()
        .find(|(_, m, _)| *m == mt)
        .map(|(_, _, lang)| *lang)
        .or(match mt.as_str() {
            "application/javascript" | "application/x-javascript" => Some("javascript"),
            "application/typescript" | "application/x-typescript" => Some("typescript"),
            "application/x-sh" | "application/x-shellscript" => Some("shell"),
            "application/toml" | "application/x-toml" => Some("toml"),
            "application/yaml" | "application/x-yaml" => Some("yaml"),
            "application/sql" => Some("sql"),
            "text/x-makefile" => Some("make"),
            _ => None,
        })
}

/// Lower-cased extension of a file name, if any.
pub(crate) fn extension(name: &str) -> Option<String> {
    Path::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
}

pub(crate) fn is_xml(media_type: &str) -> bool {
    let mt = essence(media_type);
    mt == "application/xml" || mt == "text/xml" || mt.ends_with("+xml")
}

/// The media type without parameters, lower-cased.
pub(crate) fn essence(media_type: &str) -> String {
    media_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

fn media_type_for_name(name: &str) -> Option<String> {
    let base = Path::new(name)
        .file_name()
        .and_then(|n| n.to_str())
        .map(str::to_ascii_lowercase)?;
    if let Some((_, mt)) = CODE_NAMES.iter().find(|(n, _)| *n == base) {
        return Some(mt.to_string());
    }
    let ext = extension(name)?;
    if let Some((_, mt, _)) = CODE.iter().find(|(e, _, _)| *e == ext) {
        return Some(mt.to_string());
    }
    if let Some((_, mt)) = TEXT.iter().find(|(e, _)| *e == ext) {
        return Some(mt.to_string());
    }
    mime_guess_for(name)
}

fn mime_guess_for(name: &str) -> Option<String> {
    let ext = extension(name)?;
    mime_guess::from_ext(&ext).first_raw().map(str::to_string)
}

/// Script without extension: pick the language from the `#!` interpreter.
fn shebang_media_type(head: &[u8]) -> &'static str {
    let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let words: Vec<&str> = line.trim_start_matches("#!").split_whitespace().collect();
    let interpreter = match words.as_slice() {
        [env, prog, ..] if env.ends_with("/env") => prog,
        [prog, ..] => prog.rsplit('/').next().unwrap_or(prog),
        [] => "",
    };
    const SHEBANGS: &[(&str, &str)] = &[
        ("python", "text/x-python"),
        ("node", "text/javascript"),
        ("deno", "text/x-typescript"),
        ("ruby", "text/x-ruby"),
        ("perl", "text/x-perl"),
        ("php", "text/x-php"),
        ("lua", "text/x-lua"),
        ("Rscript", "text/x-r"),
    ];
    SHEBANGS
        .iter()
        .find(|(p, _)| interpreter.starts_with(p))
        .map_or("text/x-shellscript", |(_, mt)| mt)
}

/// Text-like media types: decoding them as text makes sense.
fn is_textual(media_type: &str) -> bool {
    media_type.starts_with("text/")
        || matches!(
            content_kind(media_type),
            ContentKind::Json | ContentKind::Code | ContentKind::Html | ContentKind::Csv
        )
        || is_xml(media_type) && !media_type.starts_with("image/")
}

fn is_code_type(mt: &str) -> bool {
    CODE.iter().any(|(_, m, _)| *m == mt)
        || CODE_NAMES.iter().any(|(_, m)| *m == mt)
        || CODE_APPLICATION_TYPES.contains(&mt)
}

fn has_utf16_bom(head: &[u8]) -> bool {
    head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF])
}

/// Valid UTF-8 without NUL bytes; a multi-byte character cut by the end of `head` is fine.
pub(crate) fn looks_like_text(head: &[u8]) -> bool {
    if head.contains(&0) {
        return false;
    }
    match std::str::from_utf8(head) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none() && head.len() - e.valid_up_to() < 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_code_extensions_map_to_text_types() {
        assert_eq!(sniff_media_type("main.rs", b"fn main() {}"), "text/x-rust");
        assert_eq!(
            sniff_media_type("a/b/app.py", b"import os"),
            "text/x-python"
        );
        assert_eq!(sniff_media_type("x.ts", b"let a = 1;"), "text/x-typescript");
        assert_eq!(sniff_media_type("Cargo.toml", b"[package]"), "text/x-toml");
        assert_eq!(sniff_media_type("Makefile", b"all:\n"), "text/x-makefile");
        assert_eq!(sniff_media_type("README.md", b"# Hi"), "text/markdown");
        assert_eq!(sniff_media_type("data.csv", b"a,b\n1,2"), "text/csv");
        assert_eq!(sniff_media_type("data.json", b"{}"), "application/json");
    }

    #[test]
    fn magic_beats_extension_and_weak_magic_yields() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
        assert_eq!(sniff_media_type("photo.txt", png), "image/png");
        // infer reads "<p ..." as HTML and "SQLi" as SQLite; the extension knows better.
        assert_eq!(
            sniff_media_type("README.md", b"<p align=\"center\">logo</p>"),
            "text/markdown"
        );
        assert_eq!(
            sniff_media_type("notes.txt", b"SQLite is small"),
            "text/plain"
        );
        assert_eq!(sniff_media_type("notes", b"MZ is a text"), "text/plain");
        assert_eq!(
            sniff_media_type("index", b"<!DOCTYPE html><html></html>"),
            "text/html"
        );
    }

    #[test]
    fn heuristics_without_extension() {
        assert_eq!(
            sniff_media_type("notes", "héllo wörld".as_bytes()),
            "text/plain"
        );
        assert_eq!(sniff_media_type("blob", b"\x00\x01\x02\xff"), OCTET_STREAM);
        assert_eq!(sniff_media_type("u16", b"\xff\xfeh\0i\0"), "text/plain");
        assert_eq!(
            sniff_media_type("run", b"#!/usr/bin/env python3\nprint(1)"),
            "text/x-python"
        );
        assert_eq!(
            sniff_media_type("run", b"#!/bin/sh\necho"),
            "text/x-shellscript"
        );
        // A cut multi-byte character at the end of the head is still text.
        let mut head = "日本".as_bytes().to_vec();
        head.pop();
        assert!(looks_like_text(&head));
    }

    #[test]
    fn declared_type_fills_gaps_only() {
        assert_eq!(
            refine_media_type("notes", b"# T", "text/markdown"),
            "text/markdown"
        );
        assert_eq!(
            refine_media_type("x.rs", b"fn x(){}", "image/png"),
            "text/x-rust"
        );
        assert_eq!(
            refine_media_type("blob", b"\x00\x01", "Audio/Mpeg; foo=bar"),
            "audio/mpeg"
        );
    }

    #[test]
    fn kinds() {
        assert_eq!(content_kind("text/x-rust"), ContentKind::Code);
        assert_eq!(content_kind("application/javascript"), ContentKind::Code);
        assert_eq!(content_kind("text/plain; charset=utf-8"), ContentKind::Text);
        assert_eq!(content_kind("video/mp4"), ContentKind::Video);
        assert_eq!(content_kind("application/zip"), ContentKind::Unknown);
        assert_eq!(content_kind("application/rss+xml"), ContentKind::Text);
        assert_eq!(content_kind("image/svg+xml"), ContentKind::Image);
        assert_eq!(content_kind(office::PPTX), ContentKind::Presentation);
        assert_eq!(language("x.py", ""), Some("python"));
        assert_eq!(language("script", "text/x-shellscript"), Some("shell"));
    }
}
