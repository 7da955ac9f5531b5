//! Embeds the built web page (web/dist, made by `npm run build` in web/,
//! which `make` runs first) into the binary, so every API replica serves the
//! same page and nothing is fetched from elsewhere. Without a build, a small
//! page says how to make one.

use std::fmt::Write;
use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let dist = manifest.join("../../web/dist");
    println!("cargo:rerun-if-changed={}", dist.display());
    let mut files = Vec::new();
    if dist.join("index.html").is_file() {
        collect(&dist, &dist, &mut files);
    }
    files.sort();
    let mut out = String::from(
        "/// (URL path, bytes, content type) of every web asset.\npub const ASSETS: &[(&str, &[u8], &str)] = &[\n",
    );
    for (url, path) in &files {
        let Some(ct) = content_type(path) else {
            continue;
        };
        let _ = writeln!(
            out,
            "    ({url:?}, include_bytes!({:?}), {ct:?}),",
            path.display().to_string()
        );
    }
    out.push_str("];\n");
    let _ = writeln!(out, "pub const BUILT: bool = {};", !files.is_empty());
    let dest =
        PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it")).join("web_assets.rs");
    std::fs::write(dest, out).expect("write web_assets.rs");
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        if path.is_dir() {
            collect(root, &path, out);
        } else if let Ok(rel) = path.strip_prefix(root) {
            let url = format!("/{}", rel.to_string_lossy().replace('\\', "/"));
            let abs = path.canonicalize().unwrap_or(path);
            out.push((url, abs));
        }
    }
}

fn content_type(path: &Path) -> Option<&'static str> {
    Some(match path.extension()?.to_str()? {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "wasm" => "application/wasm",
        "txt" => "text/plain; charset=utf-8",
        // Source maps and anything unknown stay out of the binary.
        _ => return None,
    })
}
