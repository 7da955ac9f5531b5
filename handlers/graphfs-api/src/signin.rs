//! What the page needs to sign a user in through the OIDC provider
//! (authorization code with PKCE): where to send them, the code exchange
//! and the refresh of an expiring token, done here so the page talks to no
//! other origin.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};

use crate::app::SharedState;
use crate::oidc::{ProviderSignIn, ProviderToken};
use crate::openapi::{InvalidRequest, NoProvider, NotJson, ProviderDown};
use crate::params::json_body;
use crate::problem::{ApiResult, Problem, ProblemDoc};

/// How users sign in here.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SignInOptions {
    /// The OIDC provider's sign-in, when one is configured (else only API
    /// tokens sign in).
    pub oidc: Option<ProviderSignIn>,
}

/// `GET /api/v1/sign-in`: how to sign in.
#[utoipa::path(
    get,
    path = "/sign-in",
    tag = "users",
    responses(
        (status = 200, description = "How users sign in", body = SignInOptions),
        (status = 503, description = "A provider is configured but has not answered yet (`unavailable`); API tokens still sign in", content_type = "application/problem+json", body = ProblemDoc),
    )
)]
pub async fn options(State(state): State<SharedState>) -> ApiResult<Json<SignInOptions>> {
    let oidc = match &state.oidc {
        Some(o) => Some(o.sign_in().await?),
        None => None,
    };
    Ok(Json(SignInOptions { oidc }))
}

/// An authorization code the provider sent the page back with.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeExchange {
    /// The `code` parameter of the redirect.
    #[schema(min_length = 1, max_length = 4096)]
    pub code: String,
    /// The PKCE verifier whose challenge went to the provider.
    #[schema(min_length = 43, max_length = 128)]
    pub code_verifier: String,
    /// The redirect URI the page used (the provider checks it matches).
    #[schema(min_length = 1, max_length = 2048)]
    pub redirect_uri: String,
}

/// `POST /api/v1/sign-in/token`: a code for an access token.
#[utoipa::path(
    post,
    path = "/sign-in/token",
    tag = "users",
    request_body(content = CodeExchange, content_type = "application/json"),
    responses(
        (status = 200, description = "The provider's access token, to send as the bearer token", body = ProviderToken),
        InvalidRequest,
        NoProvider,
        NotJson,
        ProviderDown,
    )
)]
pub async fn exchange(
    State(state): State<SharedState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<ProviderToken>> {
    let oidc = provider(&state)?;
    let req: CodeExchange = json_body(&headers, &body)?;
    check_sizes(&[
        (req.code.len(), 1, 4096, "code"),
        (req.code_verifier.len(), 43, 128, "code_verifier"),
        (req.redirect_uri.len(), 1, 2048, "redirect_uri"),
    ])?;
    let token = oidc
        .exchange_code(&req.code, &req.code_verifier, &req.redirect_uri)
        .await?;
    Ok(Json(token))
}

/// A refresh token the provider gave with an access token.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRefresh {
    /// The `refresh_token` of the last sign-in or refresh.
    #[schema(min_length = 1, max_length = 8192)]
    pub refresh_token: String,
}

/// `POST /api/v1/sign-in/refresh`: a new access token before the last one
/// expires, without signing in again.
#[utoipa::path(
    post,
    path = "/sign-in/refresh",
    tag = "users",
    request_body(content = TokenRefresh, content_type = "application/json"),
    responses(
        (status = 200, description = "A new access token from the provider (and usually a new refresh token)", body = ProviderToken),
        InvalidRequest,
        NoProvider,
        NotJson,
        ProviderDown,
    )
)]
pub async fn refresh(
    State(state): State<SharedState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<ProviderToken>> {
    let oidc = provider(&state)?;
    let req: TokenRefresh = json_body(&headers, &body)?;
    check_sizes(&[(req.refresh_token.len(), 1, 8192, "refresh_token")])?;
    Ok(Json(oidc.refresh(&req.refresh_token).await?))
}

fn provider(state: &SharedState) -> ApiResult<&crate::oidc::OidcVerifier> {
    state.oidc.as_ref().ok_or_else(|| {
        Problem::not_found("sign-in through a provider is not configured on this server")
    })
}

/// Each `(length, min, max, field)` within its bounds, or a 400 naming it.
fn check_sizes(sizes: &[(usize, usize, usize, &str)]) -> ApiResult<()> {
    for &(len, min, max, what) in sizes {
        if !(min..=max).contains(&len) {
            return Err(Problem::bad_request(format!(
                "{what} is {min} to {max} characters"
            )));
        }
    }
    Ok(())
}
