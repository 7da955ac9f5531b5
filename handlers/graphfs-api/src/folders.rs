//! Folder routes: list a folder's subfolders, make one, move one with
//! everything in it, remove an empty one. Files in a folder are listed by
//! `GET /files?folder=`.

use axum::Json;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use chrono::Utc;
use graphfs_domain::{FolderInfo, ROOT_FOLDER, folder_name};
use serde::{Deserialize, Serialize};

use crate::app::{Caller, SharedState};
use crate::files::folder_param;
use crate::openapi::{FolderPath, InvalidRequest, NotJson};
use crate::params::{Params, json_body};
use crate::problem::{ApiResult, Problem, ProblemDoc};

/// No such folder (`not-found`)
#[derive(utoipa::IntoResponses)]
#[response(status = 404, content_type = "application/problem+json")]
pub struct NoSuchFolder(pub ProblemDoc);

/// The folder is not empty, or the target exists (`conflict`)
#[derive(utoipa::IntoResponses)]
#[response(status = 409, content_type = "application/problem+json")]
pub struct FolderConflict(pub ProblemDoc);

/// A folder and the folders directly inside it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FolderListing {
    /// The folder listed, normalised.
    pub path: String,
    pub folders: Vec<FolderInfo>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"path": "/projects/titan"}))]
pub struct NewFolder {
    #[schema(value_type = FolderPath)]
    path: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"from": "/projects/titan", "to": "/archive/titan"}))]
pub struct FolderMove {
    #[schema(value_type = FolderPath)]
    from: String,
    /// Where `from` goes; it must not exist (its parent is made if missing).
    #[schema(value_type = FolderPath)]
    to: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FolderMoved {
    pub from: String,
    pub to: String,
    /// Files that moved with it.
    pub moved_files: u64,
}

fn not_found(path: &str) -> Problem {
    Problem::not_found(format!("folder '{path}' not found"))
}

/// `GET /folders?path=/a`: the folders inside `/a`.
#[utoipa::path(
    get,
    path = "/folders",
    tag = "folders",
    params(("path" = Option<FolderPath>, Query, description = "The folder to list (default `/`)")),
    responses(
        (status = 200, description = "The folders directly inside it", body = FolderListing),
        InvalidRequest,
        NoSuchFolder,
    )
)]
pub async fn list(
    State(state): State<SharedState>,
    Extension(Caller { user, .. }): Extension<Caller>,
    params: Params,
) -> ApiResult<Json<FolderListing>> {
    let path = folder_param(params.get("path").unwrap_or(ROOT_FOLDER))?;
    if !state.index.folder_exists(&user, &path).await? {
        return Err(not_found(&path));
    }
    let folders = state.index.subfolders(&user, &path).await?;
    Ok(Json(FolderListing { path, folders }))
}

/// `POST /folders {"path": "/a/b"}`: makes the folder and its ancestors.
#[utoipa::path(
    post,
    path = "/folders",
    tag = "folders",
    request_body(content = NewFolder, content_type = "application/json"),
    responses(
        (status = 201, description = "Made", body = FolderInfo),
        (status = 200, description = "It was there already", body = FolderInfo),
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
    let req: NewFolder = json_body(&headers, &body)?;
    let path = folder_param(&req.path)?;
    let made = state.index.create_folder(&user, &path).await?;
    let parent = graphfs_domain::parent_folder(&path).unwrap_or(ROOT_FOLDER);
    let info = state
        .index
        .subfolders(&user, parent)
        .await?
        .into_iter()
        .find(|f| f.path == path)
        .unwrap_or_else(|| FolderInfo {
            name: folder_name(&path).to_string(),
            path: path.clone(),
            created_at: Utc::now(),
        });
    let status = if made {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    tracing::info!(%user, %path, made, "folder");
    Ok((status, Json(info)).into_response())
}

/// `DELETE /folders?path=/a`: removes an empty folder.
#[utoipa::path(
    delete,
    path = "/folders",
    tag = "folders",
    params(("path" = FolderPath, Query, description = "The folder to remove")),
    responses(
        (status = 204, description = "Removed"),
        InvalidRequest,
        NoSuchFolder,
        FolderConflict,
    )
)]
pub async fn delete(
    State(state): State<SharedState>,
    Extension(Caller { user, .. }): Extension<Caller>,
    params: Params,
) -> ApiResult<StatusCode> {
    let raw = params
        .get("path")
        .ok_or_else(|| Problem::bad_request("query parameter 'path' is required"))?;
    let path = folder_param(raw)?;
    if path == ROOT_FOLDER {
        return Err(Problem::bad_request("the root folder cannot be removed"));
    }
    state.index.delete_folder(&user, &path).await.map_err(|e| {
        if e.is_not_found() {
            not_found(&path)
        } else {
            e.into()
        }
    })?;
    crate::dav::props::removed(state.index.as_ref(), &user, &path).await;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /folders/move {"from": "/a", "to": "/b/a"}`: moves a folder with
/// its folders and files.
#[utoipa::path(
    post,
    path = "/folders/move",
    tag = "folders",
    request_body(content = FolderMove, content_type = "application/json"),
    responses(
        (status = 200, description = "Moved", body = FolderMoved),
        InvalidRequest,
        NoSuchFolder,
        FolderConflict,
        NotJson,
    )
)]
pub async fn move_folder(
    State(state): State<SharedState>,
    Extension(Caller { user, .. }): Extension<Caller>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<FolderMoved>> {
    let req: FolderMove = json_body(&headers, &body)?;
    let (from, to) = (folder_param(&req.from)?, folder_param(&req.to)?);
    let moved_files = state
        .index
        .move_folder(&user, &from, &to)
        .await
        .map_err(|e| {
            if e.is_not_found() {
                not_found(&from)
            } else {
                e.into()
            }
        })?;
    crate::dav::props::moved(state.index.as_ref(), &user, &from, &to).await;
    tracing::info!(%user, %from, %to, moved_files, "folder moved");
    Ok(Json(FolderMoved {
        from,
        to,
        moved_files,
    }))
}
