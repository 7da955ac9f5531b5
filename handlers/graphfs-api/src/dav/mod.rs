//! The drive: WebDAV (RFC 4918) at `/dav/`, served by the same binary and
//! behind the same ingress as the API. `/dav/files/` is the caller's folder
//! tree; `/dav/tags/`, `/dav/search/` and `/dav/shared/` are views
//! ([`views`]).
//! Clients sign in with HTTP Basic (any user name, an API token as
//! the password: what desktop clients speak) or a Bearer token.
//!
//! The protocol is `dav-server`'s; [`fs::GraphDav`] is the file system
//! behind it. Locks ([`locks`]) are kept in the graph index, where every
//! replica sees them, one lock table per user: every user's tree has the
//! same paths (`/files/report.txt`), and one user's lock must neither block
//! nor show in another's. Clients such as Finder and Explorer need locks to
//! write.

mod file;
mod fs;
mod locks;
mod path;
pub(crate) mod props;
mod views;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use std::panic::AssertUnwindSafe;

use base64::Engine;
use dav_server::DavHandler;
use futures::FutureExt;

use crate::app::{SharedState, caller_of};
use crate::problem::Problem;

pub use fs::DavUser;

/// Where the drive is mounted.
pub const PREFIX: &str = "/dav";

#[derive(Clone)]
struct Dav {
    fs: fs::GraphDav,
}

impl Dav {
    /// The protocol handler for one request of `user`: the shared file
    /// system, with the user's own lock table.
    fn handler_for(&self, user: &str) -> DavHandler<DavUser> {
        let locks = locks::SharedLocks::new(self.fs.state.index.clone(), user.to_string());
        DavHandler::builder()
            .filesystem(Box::new(self.fs.clone()))
            .locksystem(Box::new(locks))
            .strip_prefix(PREFIX)
            .build_handler()
    }
}

/// The `/dav` routes.
pub fn routes(state: SharedState) -> Router<SharedState> {
    let dav = Dav {
        fs: fs::GraphDav {
            state: state.clone(),
            props: props::DeadProps::new(state.index.clone()),
        },
    };
    let serve = move |State(state): State<SharedState>, req: Request| {
        let dav = dav.clone();
        async move { serve(state, dav, req).await }
    };
    Router::new()
        .route(PREFIX, any(serve.clone()))
        .route(&format!("{PREFIX}/"), any(serve.clone()))
        .route(&format!("{PREFIX}/{{*path}}"), any(serve))
}

/// The token a request carries: Basic's password (the user name is not
/// checked against it: the token alone names the user), or a Bearer token.
fn token_of(req: &Request) -> Option<String> {
    let auth = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, value) = auth.split_once(' ')?;
    let value = value.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(value.to_string()).filter(|t| !t.is_empty());
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(value)
            .ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (_, password) = text.split_once(':')?;
        return Some(password.to_string()).filter(|t| !t.is_empty());
    }
    None
}

/// 401 with the challenge a WebDAV client needs to ask for credentials.
fn challenge(detail: &str) -> Response {
    let mut resp = Problem::unauthorized(detail).into_response();
    resp.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"GraphFS\", charset=\"UTF-8\""),
    );
    resp
}

async fn serve(state: SharedState, dav: Dav, req: Request) -> Response {
    let Some(token) = token_of(&req) else {
        return challenge("sign in with your user name and an API token as the password");
    };
    let caller = match caller_of(&state, &token).await {
        Ok(caller) => caller,
        Err(problem) if problem.status == StatusCode::UNAUTHORIZED => {
            return challenge("the token is not valid");
        }
        Err(problem) => return problem.into_response(),
    };
    if let Err(wait) = state.limiter.check(&caller.user) {
        return Problem::rate_limited(wait).into_response();
    }
    let user = caller.user;
    let if_header = req.headers().get("if").cloned();
    // The protocol library can panic on some malformed headers (its `If:`
    // parser indexes past the end); that is the client's mistake, a 400.
    let handler = dav.handler_for(&user);
    let handled = AssertUnwindSafe(handler.handle_guarded(req, user.clone(), DavUser(user)))
        .catch_unwind()
        .await;
    match handled {
        Ok(resp) => resp.map(axum::body::Body::new).into_response(),
        Err(_) => {
            tracing::warn!(if_header = ?if_header, "webdav request could not be parsed");
            Problem::bad_request("the request's WebDAV headers could not be parsed").into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_auth(value: &str) -> Request {
        Request::builder()
            .header(header::AUTHORIZATION, value)
            .body(axum::body::Body::empty())
            .unwrap()
    }

    #[test]
    fn tokens_come_from_basic_or_bearer() {
        let basic = base64::engine::general_purpose::STANDARD.encode("alice:tok3n");
        assert_eq!(
            token_of(&with_auth(&format!("Basic {basic}"))).as_deref(),
            Some("tok3n")
        );
        assert_eq!(
            token_of(&with_auth("Bearer tok3n")).as_deref(),
            Some("tok3n")
        );
        let no_password = base64::engine::general_purpose::STANDARD.encode("alice:");
        assert_eq!(token_of(&with_auth(&format!("Basic {no_password}"))), None);
        assert_eq!(token_of(&with_auth("Basic !!!")), None);
        assert_eq!(token_of(&with_auth("Digest x")), None);
    }
}
