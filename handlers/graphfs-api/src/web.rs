//! The web page, built from web/ by Vite and compiled into the binary (see
//! build.rs), so every replica serves it and nothing comes from a CDN.
//! Hashed files under /assets/ never change: browsers keep them a year.
//! The page itself is revalidated on each load (a cheap 304).

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::app::SharedState;

mod assets {
    include!(concat!(env!("OUT_DIR"), "/web_assets.rs"));
}

/// Shown when the binary was built before the page (`make web` builds it).
const NOT_BUILT: &str = "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>GraphFS</title>\
<p>The GraphFS web page was not built into this binary. Run <code>make web</code> (or \
<code>npm ci &amp;&amp; npm run build</code> in <code>web/</code>) and build again. The HTTP API \
at <code>/api/v1</code> works without it.</p></html>";

/// The page's routes, gzip-compressed for clients that accept it (the
/// script and styles shrink to about a third). Only the page: file
/// downloads keep their exact bytes, lengths and ranges.
pub fn routes() -> Router<SharedState> {
    page_routes().layer(tower_http::compression::CompressionLayer::new())
}

fn page_routes() -> Router<SharedState> {
    let mut router = Router::new();
    if !assets::BUILT {
        return router
            .route("/", get(|| async { not_built() }))
            .route("/index.html", get(|| async { not_built() }));
    }
    for &(path, body, content_type) in assets::ASSETS {
        let immutable = path.starts_with("/assets/");
        let handler = move |h: HeaderMap| async move { serve(body, content_type, immutable, &h) };
        router = router.route(path, get(handler));
        if path == "/index.html" {
            router = router.route("/", get(handler));
        }
    }
    router
}

fn not_built() -> Response {
    let mut resp = NOT_BUILT.into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    resp
}

fn serve(
    body: &'static [u8],
    content_type: &'static str,
    immutable: bool,
    headers: &HeaderMap,
) -> Response {
    let etag = format!("\"{:016x}\"", fnv1a(body));
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut resp = if matches {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        body.into_response()
    };
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if immutable {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        }),
    );
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    resp
}

/// FNV-1a: a stable content hash for ETags (not for security).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100000001b3)
    })
}
