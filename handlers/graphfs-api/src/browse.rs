//! Read-mostly routes: tags, search, graph, queue, the caller.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use graphfs_domain::{GraphStart, fuse_hits, normalize_tag};
use serde::Deserialize;
use serde_json::json;

use crate::app::{Caller, SharedState};
use crate::files::{file_query, parse_id};
use crate::params::{Params, json_body};
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
    let text = state.index.search(&user, q, limit).await?;
    let items = match &state.embedder {
        Some(embedder) => {
            // Meaning is a bonus: when the model fails, text search still answers.
            let near = match embedder.embed(&[q.to_string()]).await {
                Ok(mut v) => match v.pop().filter(|e| graphfs_embeddings::is_usable(e)) {
                    Some(e) => state.index.nearest_files(Some(&user), &e, limit).await?,
                    None => Vec::new(),
                },
                Err(e) => {
                    tracing::warn!(error = %e, "query embedding failed; text search only");
                    Vec::new()
                }
            };
            // Only hits that can make the cut are read, all in one query.
            let near: Vec<_> = near
                .into_iter()
                .filter(|(_, score)| *score >= SEMANTIC_MIN_SIMILARITY)
                .collect();
            let ids: Vec<_> = near.iter().map(|(id, _)| *id).collect();
            let semantic: Vec<_> = state
                .index
                .get_files(&user, &ids)
                .await?
                .into_iter()
                .filter_map(|f| {
                    let score = near.iter().find(|(id, _)| *id == f.id)?.1;
                    Some((f, score))
                })
                .collect();
            fuse_hits(text, semantic, SEMANTIC_MIN_SIMILARITY, limit)
        }
        None => text,
    };
    Ok(Json(json!({ "items": items })).into_response())
}

/// Below this cosine similarity a file is not "about" the query (MiniLM puts
/// unrelated English sentences around 0 to 0.2).
const SEMANTIC_MIN_SIMILARITY: f32 = 0.3;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MergeBody {
    into: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RenameBody {
    name: String,
}

/// Merges `from` into `into` and answers with the resulting tag as the
/// caller sees it.
async fn merge_into(
    state: &SharedState,
    user: &str,
    from: &str,
    into: &str,
) -> ApiResult<Response> {
    let from = tag_param(from)?;
    let into = tag_param(into)?;
    state.index.merge_tag(&from, &into).await?;
    let found = state.index.list_tags(user, Some(&into), 50).await?;
    let info = found
        .into_iter()
        .find(|t| t.name == into)
        .unwrap_or(graphfs_domain::TagInfo {
            name: into,
            count: 0,
            aliases: vec![from],
        });
    Ok(Json(info).into_response())
}

/// `POST /tags/{name}/merge {"into": "other"}`: every file tagged `name` is
/// tagged `other` instead, and `name` becomes an alias of `other`.
pub async fn merge(
    State(state): State<SharedState>,
    Extension(Caller(user)): Extension<Caller>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let b: MergeBody = json_body(&headers, &body)?;
    merge_into(&state, &user, &name, &b.into).await
}

/// `PATCH /tags/{name} {"name": "new"}`: a rename (a merge when `new` exists).
pub async fn rename(
    State(state): State<SharedState>,
    Extension(Caller(user)): Extension<Caller>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let b: RenameBody = json_body(&headers, &body)?;
    merge_into(&state, &user, &name, &b.name).await
}

/// `GET /files/{id}/similar`: files like this one (SIMILAR edges), best first.
pub async fn similar(
    State(state): State<SharedState>,
    Extension(Caller(user)): Extension<Caller>,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let limit = params.int_in("limit", 1, 100, 10)? as usize;
    let items = state.index.similar_files(&user, id, limit).await?;
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
