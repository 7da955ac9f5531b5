//! What the page needs to sign a user in through the OIDC provider
//! (authorization code with PKCE): where to send them, and the code
//! exchange, done here so the page talks to no other origin.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};

use crate::app::SharedState;
use crate::oidc::{ProviderSignIn, ProviderToken};
use crate::openapi::{InvalidRequest, NotJson};
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
    responses((status = 200, description = "How users sign in", body = SignInOptions))
)]
pub async fn options(State(state): State<SharedState>) -> Json<SignInOptions> {
    Json(SignInOptions {
        oidc: state.oidc.as_ref().map(|o| o.sign_in()),
    })
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
        (status = 404, description = "Sign-in through a provider is not configured (`not-found`)", content_type = "application/problem+json", body = ProblemDoc),
        NotJson,
        (status = 503, description = "The provider is unreachable (`unavailable`)", content_type = "application/problem+json", body = ProblemDoc),
    )
)]
pub async fn exchange(
    State(state): State<SharedState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<ProviderToken>> {
    let Some(oidc) = &state.oidc else {
        return Err(Problem::not_found(
            "sign-in through a provider is not configured on this server",
        ));
    };
    let req: CodeExchange = json_body(&headers, &body)?;
    let sizes = [
        (req.code.len(), 1, 4096, "code"),
        (req.code_verifier.len(), 43, 128, "code_verifier"),
        (req.redirect_uri.len(), 1, 2048, "redirect_uri"),
    ];
    for (len, min, max, what) in sizes {
        if !(min..=max).contains(&len) {
            return Err(Problem::bad_request(format!(
                "{what} is {min} to {max} characters"
            )));
        }
    }
    let token = oidc
        .exchange_code(&req.code, &req.code_verifier, &req.redirect_uri)
        .await?;
    Ok(Json(token))
}
