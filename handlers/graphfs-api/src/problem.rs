//! Errors as RFC 9457 problem details. Every error the API returns goes
//! through here, so a client always gets JSON with a stable `type`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use graphfs_domain::Error;
use serde::Serialize;

const TYPE_BASE: &str = "https://graphfs.io/problems/";

#[derive(Debug, Clone)]
pub struct Problem {
    pub status: StatusCode,
    pub slug: &'static str,
    pub title: &'static str,
    pub detail: String,
    pub retry_after: Option<u64>,
    pub extra_headers: Vec<(header::HeaderName, HeaderValue)>,
}

/// RFC 9457 problem details, as every error is sent
/// (`application/problem+json`).
#[derive(Serialize, utoipa::ToSchema)]
#[allow(dead_code)] // Describes `Body` below, which borrows.
pub struct ProblemDoc {
    /// `https://graphfs.io/problems/<slug>`.
    #[serde(rename = "type")]
    #[schema(example = "https://graphfs.io/problems/not-found")]
    kind: String,
    /// Short summary of the problem type.
    title: String,
    /// The HTTP status code.
    #[schema(minimum = 100, maximum = 599)]
    status: u16,
    /// What went wrong with this request.
    detail: String,
}

#[derive(Serialize)]
struct Body<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    detail: &'a str,
}

impl Problem {
    pub fn new(
        status: StatusCode,
        slug: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Problem {
            status,
            slug,
            title,
            detail: detail.into(),
            retry_after: None,
            extra_headers: Vec::new(),
        }
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid-request",
            "Invalid request",
            detail,
        )
    }

    pub fn invalid_name(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid-name",
            "Invalid name",
            detail,
        )
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        let mut p = Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Unauthorized",
            detail,
        );
        p.extra_headers.push((
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"graphfs\""),
        ));
        p
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", "Not found", detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", "Forbidden", detail)
    }

    pub fn too_large(limit: u64) -> Self {
        let mut p = Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-large",
            "Content too large",
            format!("the file is larger than this server's limit of {limit} bytes"),
        );
        // The rest of the body is never read, so the connection cannot carry
        // another request: tell the client not to reuse it.
        p.extra_headers
            .push((header::CONNECTION, HeaderValue::from_static("close")));
        p
    }

    pub fn rate_limited(retry_after: u64) -> Self {
        let mut p = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate-limited",
            "Too many requests",
            format!("request rate limit reached; retry in {retry_after} s"),
        );
        p.retry_after = Some(retry_after);
        p
    }

    pub fn unsupported_media_type(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported media type",
            detail,
        )
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            "the server failed to handle the request; the error has been logged",
        )
    }
}

impl From<Error> for Problem {
    fn from(e: Error) -> Self {
        match e {
            Error::NotFound(what) => Problem::not_found(format!("{what} not found")),
            Error::InvalidInput(m) => Problem::bad_request(m),
            Error::Interrupted(m) => {
                Problem::bad_request(format!("the upload was interrupted: {m}"))
            }
            Error::Conflict(m) => Problem::new(StatusCode::CONFLICT, "conflict", "Conflict", m),
            Error::Forbidden(m) => Problem::new(StatusCode::FORBIDDEN, "forbidden", "Forbidden", m),
            Error::TooLarge { limit } => Problem::too_large(limit),
            Error::RangeNotSatisfiable { size } => {
                let mut p = Problem::new(
                    StatusCode::RANGE_NOT_SATISFIABLE,
                    "range-not-satisfiable",
                    "Range not satisfiable",
                    format!("the requested range is outside the file's {size} bytes"),
                );
                if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
                    p.extra_headers.push((header::CONTENT_RANGE, v));
                }
                p
            }
            Error::Unavailable {
                message,
                retry_after,
            } => {
                // The message names backend addresses and driver errors:
                // for the log, not for clients.
                tracing::warn!(%message, "backend unavailable");
                let mut p = Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "Service unavailable",
                    "a storage backend is unavailable; try again shortly",
                );
                p.retry_after = Some(retry_after.map_or(5, |d| d.as_secs().max(1)));
                p
            }
            Error::Internal(m) => {
                tracing::error!(error = %m, "internal error");
                Problem::internal()
            }
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = Body {
            kind: format!("{TYPE_BASE}{}", self.slug),
            title: self.title,
            status: self.status.as_u16(),
            detail: &self.detail,
        };
        let json = serde_json::to_vec(&body).unwrap_or_default();
        let mut resp = (self.status, json).into_response();
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(s) = self.retry_after {
            h.insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        for (k, v) in self.extra_headers {
            h.insert(k, v);
        }
        resp
    }
}

pub type ApiResult<T> = Result<T, Problem>;
