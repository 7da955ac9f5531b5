//! The router and the layers every request passes: metrics, security
//! headers, authentication and rate limiting.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use graphfs_domain::{GraphIndex, ObjectStore, UserId};
use sha2::{Digest, Sha256};

use crate::metrics::Metrics;
use crate::problem::Problem;
use crate::ratelimit::RateLimiter;
use crate::web;

pub struct AppState {
    pub index: Arc<dyn GraphIndex>,
    pub store: Arc<dyn ObjectStore>,
    pub metrics: Metrics,
    pub limiter: RateLimiter,
    /// Re-tags per user, on top of `limiter`.
    pub retag_limiter: RateLimiter,
    /// Who a bearer token names, cached for a few seconds.
    pub tokens: crate::tokens::TokenCache,
    pub max_upload_bytes: u64,
    /// Earlier contents kept per file (0: none).
    pub versions_kept: u32,
    /// Shared secret of bucket notifications; none disables the endpoint.
    pub webhook_token: Option<String>,
    /// Owner of files written straight into the bucket.
    pub ingest_owner: String,
    /// Query embeddings for semantic search, when a model is configured.
    pub embedder: Option<Arc<dyn graphfs_embeddings::Embedder>>,
    /// Users who may do what changes every user's view (merging or
    /// renaming a tag, which rewrites it on everyone's files).
    pub admins: std::collections::HashSet<String>,
    /// Access tokens of an OpenID Connect provider, when one is configured.
    pub oidc: Option<crate::oidc::OidcVerifier>,
    /// The taxonomy in force (an admin imports one through the API); its
    /// parents are the graph's BROADER edges.
    pub taxonomy: Arc<graphfs_tagger::taxonomy::LiveTaxonomy>,
}

/// A 403 unless the caller is an admin.
pub fn require_admin(admin: bool, what: &str) -> Result<(), Problem> {
    if admin {
        Ok(())
    } else {
        Err(Problem::forbidden(format!(
            "{what} changes every user's files; only an admin may (GRAPHFS_ADMIN_USERS, or an admin group of the sign-in provider)"
        )))
    }
}

pub type SharedState = Arc<AppState>;

/// The authenticated caller, put in request extensions by [`authenticate`]:
/// who, and whether they have the admin role (named in `--admin-users`, or
/// in an admin group of the sign-in provider).
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: UserId,
    pub admin: bool,
}

/// This process among its replicas, in job and sweep leases: the host name
/// (the pod's name in a cluster) and the process id.
pub fn instance_name() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "local".into());
    format!("{host}-{}", std::process::id())
}

/// A new API token: 24 random bytes, hex, behind a prefix that says what
/// it is (secret scanners look for such prefixes).
pub fn new_token() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    format!("gfs_{}", hex::encode(bytes))
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

pub fn router(state: SharedState) -> Router {
    // The routes and the served document come from the same list
    // (`openapi`); here they only get their layers.
    let user = crate::openapi::user_routes()
        .route_layer(middleware::from_fn_with_state(state.clone(), authenticate));
    let (described, _) = crate::openapi::described(user).split_for_parts();
    described
        .merge(crate::dav::routes(state.clone()))
        .merge(web::routes())
        .fallback(|| async { Problem::not_found("no such route") })
        .method_not_allowed_fallback(|| async {
            Problem::new(
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
                "this route does not accept that method",
            )
        })
        .layer(middleware::from_fn(security_headers))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

async fn authenticate(State(state): State<SharedState>, mut req: Request, next: Next) -> Response {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return Problem::unauthorized("send 'Authorization: Bearer <token>'").into_response();
    };
    let caller = match caller_of(&state, token).await {
        Ok(caller) => caller,
        Err(problem) => return problem.into_response(),
    };
    if let Err(wait) = state.limiter.check(&caller.user) {
        return Problem::rate_limited(wait).into_response();
    }
    req.extensions_mut().insert(caller);
    next.run(req).await
}

/// Who a bearer token names: a provider's JWT when sign-in with OIDC is on,
/// else one of GraphFS's own API tokens.
pub(crate) async fn caller_of(state: &AppState, token: &str) -> Result<Caller, Problem> {
    if let Some(oidc) = &state.oidc
        && crate::oidc::OidcVerifier::looks_like_jwt(token)
    {
        let signed_in = oidc.verify(token).await.map_err(Problem::from)?;
        // Known from the first request on, so files can be shared with them.
        state
            .tokens
            .remember_user(state.index.as_ref(), &signed_in.user)
            .await?;
        return Ok(Caller {
            admin: signed_in.admin || state.admins.contains(&signed_in.user),
            user: signed_in.user,
        });
    }
    match state
        .tokens
        .user_for(state.index.as_ref(), &token_hash(token))
        .await
    {
        Ok(Some(user)) => Ok(Caller {
            admin: state.admins.contains(&user),
            user,
        }),
        Ok(None) => Err(Problem::unauthorized("the token is not valid")),
        Err(e) => Err(Problem::from(e)),
    }
}

async fn observe(State(state): State<SharedState>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let resp = next.run(req).await;
    let status = resp.status().as_u16();
    let elapsed = start.elapsed().as_secs_f64();
    state.metrics.observe(&method, &route, status, elapsed);
    tracing::debug!(%method, %route, status, ms = elapsed * 1000.0, "request");
    resp
}

async fn security_headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.entry(header::X_CONTENT_TYPE_OPTIONS)
        .or_insert(HeaderValue::from_static("nosniff"));
    h.entry(header::REFERRER_POLICY)
        .or_insert(HeaderValue::from_static("no-referrer"));
    h.entry(header::X_FRAME_OPTIONS)
        .or_insert(HeaderValue::from_static("DENY"));
    h.entry(header::CONTENT_SECURITY_POLICY).or_insert(HeaderValue::from_static(
        "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; style-src 'self'; script-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
    ));
    resp
}
