//! The caller's own API tokens: list them, make one (its secret shown
//! once), revoke one. Tokens from the tokens file are managed there and
//! cannot be revoked here.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use graphfs_domain::{
    MAX_TOKEN_DAYS, NewToken, TokenInfo, TokenSource, normalize_label, token_expiry,
};
use serde::{Deserialize, Serialize};

use crate::app::{Caller, SharedState, new_token, token_hash};
use crate::openapi::{InvalidRequest, Items, Label, NotJson};
use crate::params::json_body;
use crate::problem::{ApiResult, Problem, ProblemDoc};

/// A token to make.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// What the token is for, shown in the list ("laptop", "backup script").
    #[schema(value_type = Label)]
    label: String,
    /// Days until it stops working; without it, it works until revoked.
    #[serde(default, deserialize_with = "crate::params::whole_number")]
    #[schema(minimum = 1, maximum = 3650)]
    expires_in_days: Option<u32>,
}

/// A token just made: the secret is in this answer and nowhere else.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MadeToken {
    /// The bearer token. Keep it: it cannot be shown again.
    pub token: String,
    #[serde(flatten)]
    pub info: TokenInfo,
}

#[utoipa::path(
    get,
    path = "/tokens",
    tag = "users",
    responses((status = 200, description = "The caller's API tokens, newest first (never the secrets)", body = Items<TokenInfo>))
)]
pub async fn list(
    State(state): State<SharedState>,
    Extension(Caller { user, .. }): Extension<Caller>,
) -> ApiResult<Json<Items<TokenInfo>>> {
    let items = state.index.list_tokens(Some(&user)).await?;
    Ok(Json(Items { items }))
}

#[utoipa::path(
    post,
    path = "/tokens",
    tag = "users",
    request_body(content = TokenRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "The new token, with its secret shown this once", body = MadeToken),
        InvalidRequest,
        NotJson,
    )
)]
pub async fn create(
    State(state): State<SharedState>,
    Extension(Caller { user, .. }): Extension<Caller>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let req: TokenRequest = json_body(&headers, &body)?;
    let label =
        normalize_label(&req.label).map_err(|e| Problem::bad_request(format!("label: {e}")))?;
    let expires_at = token_expiry(req.expires_in_days, Utc::now()).ok_or_else(|| {
        Problem::bad_request(format!(
            "expires_in_days must be between 1 and {MAX_TOKEN_DAYS}"
        ))
    })?;
    let token = new_token();
    let info = state
        .index
        .add_token(NewToken {
            user,
            sha256: token_hash(&token),
            label,
            source: TokenSource::Api,
            expires_at,
        })
        .await?;
    tracing::info!(token = %info.id, user = %info.user, "API token created");
    let location = format!("/api/v1/tokens/{}", info.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        // The secret must not linger in caches between client and server.
        [(header::CACHE_CONTROL, "no-store")],
        Json(MadeToken { token, info }),
    )
        .into_response())
}

#[utoipa::path(
    delete,
    path = "/tokens/{id}",
    tag = "users",
    params(("id" = String, Path, description = "The token's id (from the list)")),
    responses(
        (status = 204, description = "Revoked: the token signs no one in any more"),
        (status = 403, description = "A token from the tokens file, removed by editing that file (`forbidden`)", content_type = "application/problem+json", body = ProblemDoc),
        (status = 404, description = "The caller has no token with this id (`not-found`)", content_type = "application/problem+json", body = ProblemDoc),
    )
)]
pub async fn revoke(
    State(state): State<SharedState>,
    Extension(Caller { user, .. }): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let own = state.index.list_tokens(Some(&user)).await?;
    match own.iter().find(|t| t.id == id) {
        None => return Err(Problem::not_found(format!("token {id} not found"))),
        Some(t) if t.source == TokenSource::File => {
            return Err(Problem::forbidden(
                "this token comes from the tokens file; remove it there",
            ));
        }
        Some(_) => {}
    }
    state.index.revoke_token(Some(&user), &id).await?;
    // This replica stops honouring it at once; the others within the
    // token cache's TTL.
    state.tokens.clear();
    tracing::info!(token = %id, %user, "API token revoked");
    Ok(StatusCode::NO_CONTENT)
}
