//! Read-mostly routes: tags, search, graph, queue, the caller.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use graphfs_domain::{
    FileId, FileQuery, FileRecord, FolderFilter, GraphBuilder, GraphStart, GraphView, NodeKind,
    Page, QueueDepth, RelatedTag, SearchHit, SimilarFile, TagHierarchy, TagInfo,
    folder_neighbourhood, fuse_hits, is_within, merge_views, normalize_tag, with_folders,
};
use serde::Deserialize;

use crate::app::{Caller, SharedState, require_admin};
use crate::files::{ListingParams, file_query, folder_param, parse_id};
use crate::openapi::{
    FolderPath, InvalidRequest, Items, Limits, MAX_SEARCH_CHARS, Me, NoSuchFile, NoSuchTag,
    NotAdmin, NotJson, SearchText, TagName,
};
use crate::params::{Params, json_body};
use crate::problem::{ApiResult, Problem, ProblemDoc};

fn tag_param(raw: &str) -> ApiResult<String> {
    normalize_tag(raw).map_err(|e| Problem::bad_request(format!("tag '{raw}': {e}")))
}

#[utoipa::path(
    get,
    path = "/tags",
    tag = "tags",
    params(
        ("prefix" = Option<TagName>, Query, description = "Only tags starting so (normalised as a tag)"),
        ("limit" = Option<u32>, Query, description = "At most this many (default 100)", minimum = 1, maximum = 10000),
    ),
    responses((status = 200, description = "The caller's tags, most used first", body = Items<TagInfo>), InvalidRequest)
)]
pub async fn tags(
    State(state): State<SharedState>,
    Extension(Caller { user, .. }): Extension<Caller>,
    params: Params,
) -> ApiResult<Response> {
    let limit = params.int_in("limit", 1, 10_000, 100)? as usize;
    let prefix = params.get("prefix").map(tag_param).transpose()?;
    let items = state
        .index
        .list_tags(&user, prefix.as_deref(), limit)
        .await?;
    Ok(Json(Items { items }).into_response())
}

#[utoipa::path(
    get,
    path = "/tags/{name}/files",
    tag = "tags",
    params(("name" = TagName, Path, description = "A tag name"), 
        ListingParams),
    responses((status = 200, description = "A page of the files with the tag", body = Page<FileRecord>), InvalidRequest)
)]
pub async fn tag_files(
    State(state): State<SharedState>,
    Extension(Caller { user, .. }): Extension<Caller>,
    Path(name): Path<String>,
    params: Params,
) -> ApiResult<Response> {
    let query = file_query(&params, vec![name])?;
    let page = state.index.list_files(&user, &query).await?;
    Ok(Json(page).into_response())
}

#[utoipa::path(
    get,
    path = "/tags/{name}/related",
    tag = "tags",
    params(("name" = TagName, Path, description = "A tag name"), ("limit" = Option<u32>, Query, description = "At most this many (default 20)", minimum = 1, maximum = 1000)),
    responses((status = 200, description = "Tags on the same files, most shared first", body = Items<RelatedTag>), InvalidRequest, NoSuchTag)
)]
pub async fn related(
    State(state): State<SharedState>,
    Extension(Caller { user, .. }): Extension<Caller>,
    Path(name): Path<String>,
    params: Params,
) -> ApiResult<Response> {
    let tag = tag_param(&name)?;
    let limit = params.int_in("limit", 1, 1000, 20)? as usize;
    let items = state.index.related_tags(&user, &tag, limit).await?;
    Ok(Json(Items { items }).into_response())
}

#[utoipa::path(
    get,
    path = "/search",
    tag = "search",
    params(
        ("q" = SearchText, Query, description = "Words to find in names, text and tags"),
        ("limit" = Option<u32>, Query, description = "At most this many (default 20)", minimum = 1, maximum = 200),
        ("folder" = Option<FolderPath>, Query, description = "Only files in this folder (`/projects`)"),
        ("subfolders" = Option<bool>, Query, description = "With `folder`: also files in the folders beneath it (default `true`)"),
    ),
    responses((status = 200, description = "Hits, best first", body = Items<SearchHit>), InvalidRequest)
)]
pub async fn search(
    State(state): State<SharedState>,
    Extension(Caller { user, .. }): Extension<Caller>,
    params: Params,
) -> ApiResult<Response> {
    let raw = params.get("q").unwrap_or("");
    if raw.chars().count() > MAX_SEARCH_CHARS {
        return Err(Problem::bad_request(format!(
            "query parameter 'q' is longer than {MAX_SEARCH_CHARS} characters"
        )));
    }
    let q = raw.trim();
    if q.is_empty() {
        return Err(Problem::bad_request("query parameter 'q' is required"));
    }
    let limit = params.int_in("limit", 1, 200, 20)? as usize;
    let folder = match params.get("folder") {
        Some(raw) => Some(FolderFilter {
            path: folder_param(raw)?,
            subfolders: params.choice("subfolders", &[("true", true), ("false", false)], true)?,
        }),
        None => None,
    };
    let in_folder = |f: &FileRecord| {
        folder.as_ref().is_none_or(|fd| {
            if fd.subfolders {
                is_within(&f.folder, &fd.path)
            } else {
                f.folder == fd.path
            }
        })
    };
    let text = state
        .index
        .search_in(&user, q, folder.as_ref(), limit)
        .await?;
    let items = match &state.embedder {
        Some(embedder) => {
            // Meaning is a bonus: when the model fails, text search still answers.
            let near = match embedder.embed(&[q.to_string()]).await {
                Ok(mut v) => match v.pop().filter(|e| graphfs_embeddings::is_usable(e)) {
                    // Nearest of all the viewer's files, then the folder's:
                    // ask for more when a folder will keep only some.
                    Some(e) => {
                        let wanted = if folder.is_some() { limit * 5 } else { limit };
                        state.index.nearest_files(Some(&user), &e, wanted).await?
                    }
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
                .filter(in_folder)
                .filter_map(|f| {
                    let score = near.iter().find(|(id, _)| *id == f.id)?.1;
                    Some((f, score))
                })
                .collect();
            fuse_hits(text, semantic, SEMANTIC_MIN_SIMILARITY, limit)
        }
        None => text,
    };
    Ok(Json(Items { items }).into_response())
}

/// Below this cosine similarity a file is not "about" the query (MiniLM puts
/// unrelated English sentences around 0 to 0.2).
const SEMANTIC_MIN_SIMILARITY: f32 = 0.3;

/// The tag to merge into (created when missing: a rename).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeBody {
    #[schema(value_type = TagName)]
    into: String,
}

/// The tag's new name (a merge when a tag of that name exists).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenameBody {
    #[schema(value_type = TagName)]
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
            sources: Vec::new(),
        });
    Ok(Json(info).into_response())
}

/// `POST /tags/{name}/merge {"into": "other"}`: every file tagged `name` is
/// tagged `other` instead, and `name` becomes an alias of `other`.
#[utoipa::path(
    post,
    path = "/tags/{name}/merge",
    tag = "tags",
    params(("name" = TagName, Path, description = "A tag name")),
    request_body(content = MergeBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The tag merged into", body = TagInfo),
        InvalidRequest,
        NotAdmin,
        NoSuchTag,
        NotJson,
    )
)]
pub async fn merge(
    State(state): State<SharedState>,
    Extension(Caller { user, admin }): Extension<Caller>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    require_admin(admin, "merging a tag")?;
    let b: MergeBody = json_body(&headers, &body)?;
    merge_into(&state, &user, &name, &b.into).await
}

/// `PATCH /tags/{name} {"name": "new"}`: a rename (a merge when `new` exists).
#[utoipa::path(
    patch,
    path = "/tags/{name}",
    tag = "tags",
    params(("name" = TagName, Path, description = "A tag name")),
    request_body(content = RenameBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The tag under its new name", body = TagInfo),
        InvalidRequest,
        NotAdmin,
        NoSuchTag,
        NotJson,
    )
)]
pub async fn rename(
    State(state): State<SharedState>,
    Extension(Caller { user, admin }): Extension<Caller>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    require_admin(admin, "renaming a tag")?;
    let b: RenameBody = json_body(&headers, &body)?;
    merge_into(&state, &user, &name, &b.name).await
}

/// A tag rejected for good, and how many of the caller's files lost it.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct RejectedTag {
    #[schema(value_type = TagName)]
    pub name: String,
    /// Files of the caller's that carried it and no longer do.
    pub files_changed: u64,
}

/// `GET /rejected-tags`: the tags the caller rejected for good.
#[utoipa::path(
    get,
    path = "/rejected-tags",
    tag = "tags",
    responses((status = 200, description = "The caller's rejected tags, by name", body = Items<String>))
)]
pub async fn rejected(
    State(state): State<SharedState>,
    Extension(Caller { user, .. }): Extension<Caller>,
) -> ApiResult<Response> {
    let items = state.index.rejected_tags(&user).await?;
    Ok(Json(Items { items }).into_response())
}

/// `PUT /rejected-tags/{name}`: rejects a tag for good on the caller's own
/// files: it comes off every one that carries it, whoever gave it, and no
/// tagging gives it to one of them again. Adding it by hand still works.
#[utoipa::path(
    put,
    path = "/rejected-tags/{name}",
    tag = "tags",
    params(("name" = TagName, Path, description = "A tag name (it need not be on any file yet)")),
    responses(
        (status = 200, description = "The tag is rejected; the files that lost it", body = RejectedTag),
        InvalidRequest,
    )
)]
pub async fn reject(
    State(state): State<SharedState>,
    Extension(Caller { user, .. }): Extension<Caller>,
    Path(name): Path<String>,
) -> ApiResult<Response> {
    let name = tag_param(&name)?;
    let files_changed = graphfs_domain::reject_tag(state.index.as_ref(), &user, &name).await?;
    tracing::info!(%user, tag = %name, files_changed, "tag rejected for good");
    Ok(Json(RejectedTag {
        name,
        files_changed,
    })
    .into_response())
}

/// `DELETE /rejected-tags/{name}`: takes a rejection back. Taggings from
/// now on may give the tag again; the files that lost it keep their removal
/// until it is added by hand.
#[utoipa::path(
    delete,
    path = "/rejected-tags/{name}",
    tag = "tags",
    params(("name" = TagName, Path, description = "A rejected tag")),
    responses(
        (status = 204, description = "No longer rejected"),
        InvalidRequest,
        (status = 404, description = "The caller has not rejected this tag (`not-found`)", content_type = "application/problem+json", body = ProblemDoc),
    )
)]
pub async fn unreject(
    State(state): State<SharedState>,
    Extension(Caller { user, .. }): Extension<Caller>,
    Path(name): Path<String>,
) -> ApiResult<axum::http::StatusCode> {
    let name = tag_param(&name)?;
    if !state.index.set_rejected(&user, &name, false).await? {
        return Err(Problem::not_found(format!("tag '{name}' is not rejected")));
    }
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// `GET /files/{id}/similar`: files like this one (SIMILAR edges), best first.
#[utoipa::path(
    get,
    path = "/files/{id}/similar",
    tag = "files",
    params(("id" = FileId, Path, description = "The file's id"), ("limit" = Option<u32>, Query, description = "At most this many (default 10)", minimum = 1, maximum = 100)),
    responses((status = 200, description = "Similar files, best first", body = Items<SimilarFile>), InvalidRequest, NoSuchFile)
)]
pub async fn similar(
    State(state): State<SharedState>,
    Extension(Caller { user, .. }): Extension<Caller>,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let limit = params.int_in("limit", 1, 100, 10)? as usize;
    let items = state.index.similar_files(&user, id, limit).await?;
    Ok(Json(Items { items }).into_response())
}

/// `GET /graph`: the neighbourhood of a file, a tag or a folder, or of several at once;
/// with neither, the caller's most used tags as a place to start.
#[utoipa::path(
    get,
    path = "/graph",
    tag = "search",
    params(
        ("file" = Option<FileId>, Query, description = "Start at this file"),
        ("tag" = Option<TagName>, Query, description = "Start at this tag (with `file`: both neighbourhoods in one view)"),
        ("folder" = Option<FolderPath>, Query, description = "Start at this folder of the caller's: its parent, subfolders and files (with `file` or `tag`: all in one view)"),
        ("depth" = Option<u32>, Query, description = "Hops (default 1)", minimum = 1, maximum = 3),
        ("max_nodes" = Option<u32>, Query, description = "At most this many nodes (default 200)", minimum = 1, maximum = 1000),
    ),
    responses((status = 200, description = "Nodes and edges around the start; each of the caller's files IN its folder", body = GraphView), InvalidRequest, (status = 404, description = "No such file, tag or folder (`not-found`)", content_type = "application/problem+json", body = ProblemDoc))
)]
pub async fn graph(
    State(state): State<SharedState>,
    Extension(Caller { user, .. }): Extension<Caller>,
    params: Params,
) -> ApiResult<Response> {
    let mut starts = Vec::new();
    if let Some(f) = params.get("file") {
        starts.push(GraphStart::File(parse_id(f)?));
    }
    if let Some(t) = params.get("tag") {
        starts.push(GraphStart::Tag(tag_param(t)?));
    }
    let folder = params.get("folder").map(folder_param).transpose()?;
    let depth = params.int_in("depth", 1, 3, 1)? as u32;
    let max_nodes = params.int_in("max_nodes", 1, 1000, 200)? as usize;
    if starts.is_empty() && folder.is_none() {
        let view = top_tags_view(&state, &user, max_nodes).await?;
        let hierarchy = state.taxonomy.in_force().await.hierarchy.clone();
        return Ok(Json(hierarchy.apply(view, &[], max_nodes)).into_response());
    }
    let mut views = Vec::with_capacity(starts.len() + 1);
    if let Some(path) = &folder {
        views.push(folder_neighbourhood(state.index.as_ref(), &user, path, max_nodes).await?);
    }
    for start in &starts {
        views.push(
            state
                .index
                .neighbourhood(&user, start, depth, max_nodes)
                .await?,
        );
    }
    let view = merge_views(views, max_nodes);
    let view = with_folders(state.index.as_ref(), &user, view, max_nodes).await?;
    let tags: Vec<&str> = starts
        .iter()
        .filter_map(|s| match s {
            GraphStart::Tag(t) => Some(t.as_str()),
            GraphStart::File(_) => None,
        })
        .collect();
    let hierarchy = state.taxonomy.in_force().await.hierarchy.clone();
    let around = hierarchy_around(&state, &hierarchy, &user, &tags).await?;
    Ok(Json(hierarchy.apply(view, &around, max_nodes)).into_response())
}

/// The broader and narrower tags of `tags` that the caller's files carry:
/// expanding a tag shows where it sits in the taxonomy.
async fn hierarchy_around(
    state: &SharedState,
    h: &TagHierarchy,
    user: &str,
    tags: &[&str],
) -> ApiResult<Vec<String>> {
    let mut around = Vec::new();
    for tag in tags {
        for near in h.broader(tag).into_iter().chain(h.narrower(tag)) {
            let carried = FileQuery {
                tags: vec![near.to_string()],
                limit: 1,
                ..Default::default()
            };
            if !state
                .index
                .list_files(user, &carried)
                .await?
                .items
                .is_empty()
            {
                around.push(near.to_string());
            }
        }
    }
    Ok(around)
}

/// The caller's most used tags, unconnected: where a graph can begin.
async fn top_tags_view(state: &SharedState, user: &str, max_nodes: usize) -> ApiResult<GraphView> {
    let tags = state.index.list_tags(user, None, max_nodes).await?;
    let mut g = GraphBuilder::new(max_nodes);
    for t in tags {
        g.node(format!("tag:{}", t.name), NodeKind::Tag, t.name, None);
    }
    Ok(g.finish())
}

#[utoipa::path(
    get,
    path = "/queue",
    tag = "tagging",
    responses((status = 200, description = "Files waiting for, in and failed tagging", body = QueueDepth))
)]
pub async fn queue(State(state): State<SharedState>) -> ApiResult<Response> {
    let depth = state.index.queue_depth().await?;
    Ok(Json(depth).into_response())
}

/// The caller, and the limits a client can check before sending anything.
#[utoipa::path(
    get,
    path = "/me",
    tag = "users",
    responses((status = 200, description = "The caller and the server's limits", body = Me))
)]
pub async fn me(
    State(state): State<SharedState>,
    Extension(Caller { user, admin }): Extension<Caller>,
) -> Json<Me> {
    Json(Me {
        admin,
        user,
        limits: Limits {
            max_upload_bytes: state.max_upload_bytes,
        },
    })
}
