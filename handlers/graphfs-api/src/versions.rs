//! Version routes: a file's earlier contents, listed, downloaded and
//! restored. New content (an upload to the same path, a write through the
//! drive, a restore) keeps what it replaces, up to `GRAPHFS_VERSIONS_KEPT`.

use axum::Json;
use axum::extract::{Extension, Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use graphfs_domain::{Error, FileId, FileRecord, FileVersion, access};

use crate::app::{Caller, SharedState};
use crate::files::{Content, parse_id, put_tapped, register_new_content, send_content};
use crate::openapi::{InvalidRequest, Items, NoSuchFile, NotOwner};
use crate::params::Params;
use crate::problem::{ApiResult, Problem};

/// The file's versions, and the one numbered `raw`, or a 400/404 saying
/// which was wrong.
async fn find_version(
    state: &SharedState,
    user: &str,
    id: FileId,
    raw: &str,
) -> ApiResult<FileVersion> {
    let number: u32 = raw.parse().map_err(|_| {
        Problem::bad_request(format!(
            "version '{raw}': expected a version number (1, 2, …)"
        ))
    })?;
    state
        .index
        .versions(user, id)
        .await?
        .into_iter()
        .find(|v| v.version == number)
        .ok_or_else(|| Error::NotFound(format!("version {number} of file {id}")).into())
}

#[utoipa::path(
    get,
    path = "/files/{id}/versions",
    tag = "files",
    params(("id" = FileId, Path, description = "The file's id")),
    responses(
        (status = 200, description = "The file's earlier contents, newest first (the current one is the file itself)", body = Items<FileVersion>),
        InvalidRequest,
        NoSuchFile,
    )
)]
pub async fn list(
    State(state): State<SharedState>,
    Extension(Caller { user, .. }): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<Json<Items<FileVersion>>> {
    let id = parse_id(&id)?;
    let items = state.index.versions(&user, id).await?;
    Ok(Json(Items { items }))
}

#[utoipa::path(
    get,
    path = "/files/{id}/versions/{version}/content",
    tag = "files",
    params(
        ("id" = FileId, Path, description = "The file's id"),
        ("version" = u32, Path, description = "The version's number", minimum = 1),
        ("disposition" = Option<String>, Query, description = "`attachment` (default) or `inline`", pattern = "^(attachment|inline)$"),
        ("Range" = Option<String>, Header, description = "One byte range, `bytes=START-END`"),
        ("If-None-Match" = Option<String>, Header, description = "The ETag of a copy the client has"),
    ),
    responses(
        (status = 200, description = "The version's bytes, typed as they were", content_type = "*/*"),
        (status = 206, description = "The requested range", content_type = "*/*"),
        (status = 304, description = "The client's copy is current"),
        InvalidRequest,
        (status = 404, description = "No such file or version, or not one the caller may see (`not-found`)", content_type = "application/problem+json", body = crate::problem::ProblemDoc),
        (status = 416, description = "The range starts past the end (`range-not-satisfiable`)", content_type = "application/problem+json", body = crate::problem::ProblemDoc),
    )
)]
pub async fn download(
    State(state): State<SharedState>,
    Extension(Caller { user, .. }): Extension<Caller>,
    Path((id, version)): Path<(String, String)>,
    params: Params,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let v = find_version(&state, &user, id, &version).await?;
    let file = state.index.get_file(&user, id).await?;
    send_content(
        &state,
        &params,
        &headers,
        Content {
            name: &file.name,
            media_type: &v.media_type,
            sha256: &v.sha256,
            size: v.size,
            object_key: &v.object_key,
        },
    )
    .await
}

#[utoipa::path(
    post,
    path = "/files/{id}/versions/{version}/restore",
    tag = "files",
    params(
        ("id" = FileId, Path, description = "The file's id"),
        ("version" = u32, Path, description = "The version's number", minimum = 1),
    ),
    responses(
        (status = 200, description = "The version's bytes are the file's content again (the content they replace is kept as the newest version), and it is queued for tagging", body = FileRecord),
        InvalidRequest,
        NotOwner,
        (status = 404, description = "No such file or version, or not one the caller may see (`not-found`)", content_type = "application/problem+json", body = crate::problem::ProblemDoc),
    )
)]
pub async fn restore(
    State(state): State<SharedState>,
    Extension(Caller { user, .. }): Extension<Caller>,
    Path((id, version)): Path<(String, String)>,
) -> ApiResult<Json<FileRecord>> {
    let id = parse_id(&id)?;
    let file = state.index.get_file(&user, id).await?;
    access::require_owner(id, &user, &file.owner, &file.shared_with)?;
    let v = find_version(&state, &user, id, &version).await?;
    // A copy under a key of its own: the version stays what it was, and
    // the retention may drop either without touching the other.
    let key = file.id.content_key();
    let body = state.store.get(&v.object_key, None).await?;
    let seen = put_tapped(&state, &key, body.stream).await?;
    let restored = register_new_content(&state, &file, &key, seen).await?;
    tracing::info!(file = %id, version = v.version, "version restored");
    Ok(Json(restored))
}
