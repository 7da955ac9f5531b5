//! Read-mostly routes: tags, search, graph, queue, the caller.

use axum::Json;
use axum::extract::{Extension, Path, State};
use axum::response::{IntoResponse, Response};
use graphfs_domain::{GraphStart, normalize_tag};
use serde_json::json;

use crate::app::{Caller, SharedState};
use crate::files::{file_query, parse_id};
use crate::params::Params;
use crate::problem::{ApiResult, Problem};

fn tag_param(raw: &str) -> ApiResult<String> {
    normalize_tag(raw).map_err(|e| Problem::bad_request(format!("tag '{raw}': {e}")))
}

pub async fn tags(
    State(state): State<SharedState>,
    Extension(Caller(user)): Extension<Caller>,
    params: Params,
) -> ApiResult<Response> {
    let limit = params.int_in("limit", 1, 10_000, 100)? as usize;
    let prefix = params
        .get("prefix")
        .filter(|p| !p.is_empty())
        .map(tag_param)
        .transpose()?;
    let items = state
        .index
        .list_tags(&user, prefix.as_deref(), limit)
        .await?;
    Ok(Json(json!({ "items": items })).into_response())
}

pub async fn tag_files(
    State(state): State<SharedState>,
    Extension(Caller(user)): Extension<Caller>,
    Path(name): Path<String>,
    params: Params,
) -> ApiResult<Response> {
    let query = file_query(&params, vec![name])?;
    let page = state.index.list_files(&user, &query).await?;
    Ok(Json(page).into_response())
}

pub async fn related(
    State(state): State<SharedState>,
    Extension(Caller(user)): Extension<Caller>,
    Path(name): Path<String>,
    params: Params,
) -> ApiResult<Response> {
    let tag = tag_param(&name)?;
    let limit = params.int_in("limit", 1, 1000, 20)? as usize;
    let items = state.index.related_tags(&user, &tag, limit).await?;
    Ok(Json(json!({ "items": items })).into_response())
}

pub async fn search(
    State(state): State<SharedState>,
    Extension(Caller(user)): Extension<Caller>,
    params: Params,
) -> ApiResult<Response> {
    let q = params.get("q").unwrap_or("").trim();
    if q.is_empty() {
        return Err(Problem::bad_request("query parameter 'q' is required"));
    }
    if q.chars().count() > 500 {
        return Err(Problem::bad_request(
            "query parameter 'q' is longer than 500 characters",
        ));
    }
    let limit = params.int_in("limit", 1, 200, 20)? as usize;
    let items = state.index.search(&user, q, limit).await?;
    Ok(Json(json!({ "items": items })).into_response())
}

pub async fn graph(
    State(state): State<SharedState>,
    Extension(Caller(user)): Extension<Caller>,
    params: Params,
) -> ApiResult<Response> {
    let start = match (params.get("file"), params.get("tag")) {
        (Some(f), None) => GraphStart::File(parse_id(f)?),
        (None, Some(t)) => GraphStart::Tag(tag_param(t)?),
        _ => {
            return Err(Problem::bad_request(
                "give exactly one start: ?file=ID or ?tag=NAME",
            ));
        }
    };
    let depth = params.int_in("depth", 1, 3, 1)? as u32;
    let max_nodes = params.int_in("max_nodes", 1, 1000, 200)? as usize;
    let view = state
        .index
        .neighbourhood(&user, &start, depth, max_nodes)
        .await?;
    Ok(Json(view).into_response())
}

pub async fn queue(State(state): State<SharedState>) -> ApiResult<Response> {
    let depth = state.index.queue_depth().await?;
    Ok(Json(depth).into_response())
}

/// The caller, and the limits a client can check before sending anything.
pub async fn me(
    State(state): State<SharedState>,
    Extension(Caller(user)): Extension<Caller>,
) -> Json<serde_json::Value> {
    Json(json!({ "user": user, "limits": { "max_upload_bytes": state.max_upload_bytes } }))
}
