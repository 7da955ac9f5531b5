//! File routes: upload (streamed), list, get, update, delete, download.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use crate::ingest::OWN_PREFIX;
use crate::openapi::{
    FileName, FolderPath, InvalidRequest, NoSuchFile, NotJson, NotOwner, TagName,
};
use crate::problem::ProblemDoc;
use axum::Json;
use axum::body::Body;
use axum::extract::{Extension, FromRequest, Multipart, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::{Stream, StreamExt, TryStreamExt};
use graphfs_domain::{
    ByteRange, ByteStream, ClientBodyError, Error, FileChange, FileChangeRequest, FileId,
    FileQuery, FileRecord, FolderFilter, NewContent, NewFile, Page, SimilarFile, SortKey,
    SortOrder, TagMatch, TaggingStatus, TooLargeMarker, join_folder, name_taken,
    normalize_file_name, normalize_folder, normalize_tag,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::app::{AppState, Caller, SharedState};
use crate::params::Params;
use crate::problem::{ApiResult, Problem};

/// Bytes of the body's head kept for media type sniffing.
const SNIFF_BYTES: usize = 8192;
/// Similar files shown with a file.
const SIMILAR_SHOWN: usize = 10;

/// A file with the files most similar to it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct FileDetail {
    #[serde(flatten)]
    pub file: FileRecord,
    pub similar: Vec<SimilarFile>,
}

pub(crate) fn parse_id(raw: &str) -> ApiResult<FileId> {
    raw.parse()
        .map_err(|_| Problem::not_found(format!("file {raw} not found")))
}

/// What the body stream saw on its way to the store.
#[derive(Default)]
struct Tap {
    hasher: Sha256,
    size: u64,
    head: Vec<u8>,
}

/// Bytes past the size limit read and thrown away before answering 413, so
/// that a browser still sending gets the answer instead of a reset
/// connection. Beyond this the connection is simply closed.
const DRAIN_BYTES: u64 = 8 << 20;

/// Wraps a body stream so it hashes, counts and keeps the head of what
/// passes, and fails with [`TooLargeMarker`] past `limit` bytes: the whole
/// body is never held in memory.
fn tapped<S>(body: S, limit: u64, tap: Arc<Mutex<Tap>>) -> ByteStream
where
    S: Stream<Item = std::io::Result<Bytes>> + Send + 'static,
{
    let state = (Box::pin(body), tap, false);
    Box::pin(futures::stream::unfold(
        state,
        move |(mut body, tap, over)| async move {
            if over {
                return None;
            }
            let chunk = match body.next().await? {
                Ok(c) => c,
                Err(e) => return Some((Err(e), (body, tap, true))),
            };
            // The guard must not live across an await: scope it to this block.
            let over_limit = match tap.lock() {
                Err(_) => None,
                Ok(mut t) => {
                    t.size += chunk.len() as u64;
                    if t.size <= limit {
                        t.hasher.update(&chunk);
                        if t.head.len() < SNIFF_BYTES {
                            let take = (SNIFF_BYTES - t.head.len()).min(chunk.len());
                            t.head.extend_from_slice(&chunk[..take]);
                        }
                    }
                    Some(t.size > limit)
                }
            };
            let Some(over_limit) = over_limit else {
                let e = std::io::Error::other("upload state poisoned");
                return Some((Err(e), (body, tap, true)));
            };
            if over_limit {
                let mut drained = 0u64;
                while drained < DRAIN_BYTES {
                    match body.next().await {
                        Some(Ok(c)) => drained += c.len() as u64,
                        _ => break,
                    }
                }
                let e = std::io::Error::other(TooLargeMarker(limit));
                return Some((Err(e), (body, tap, true)));
            }
            Some((Ok(chunk), (body, tap, false)))
        },
    ))
}

fn is_multipart(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/form-data")
        })
}

fn unexpected_field(name: Option<&str>) -> Problem {
    Problem::bad_request(format!(
        "unexpected multipart field '{}': send one field, named 'file'",
        name.unwrap_or_default()
    ))
}

/// The name of a file uploaded without one (it can be renamed).
const UNNAMED: &str = "untitled";

/// A multipart upload: one field, `file`.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // A schema only: the handler streams the parts.
pub struct UploadForm {
    /// The file's bytes; its part's file name names the file unless `?name=` does.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// A folder as a client sent it, normalised, or the problem with it.
pub(crate) fn folder_param(raw: &str) -> ApiResult<String> {
    normalize_folder(raw).map_err(|e| Problem::invalid_name(e.to_string()))
}

/// `POST /api/v1/files?name=NAME&folder=PATH`: raw body, or multipart/form-data with one file field.
#[utoipa::path(
    post,
    path = "/files",
    tag = "files",
    params(("name" = Option<FileName>, Query, description = "File name; without it, a multipart part's file name, else `untitled`"),
        ("folder" = Option<FolderPath>, Query, description = "The folder to put the file in (`/projects/titan`; made if missing); default `/`"),
        ("create_only" = Option<bool>, Query, description = "`true`: refuse (409) when the folder has a file of that name; by default the upload becomes that file's new content, its old content a version")),
    request_body(content(("application/octet-stream"), (UploadForm = "multipart/form-data")), description = "The file's bytes, raw or as one multipart file field"),
    responses(
        (status = 201, description = "Stored as a new file, and queued for tagging", body = FileRecord, headers(("Location" = String, description = "The new file's URL"))),
        (status = 200, description = "The folder had a file of that name: this is its new content (the old one a version), queued for tagging", body = FileRecord, headers(("Location" = String, description = "The file's URL"))),
        InvalidRequest,
        (status = 409, description = "`create_only` and the name is taken in the folder (`conflict`)", content_type = "application/problem+json", body = ProblemDoc),
        (status = 413, description = "Larger than the server's upload limit (`too-large`)", content_type = "application/problem+json", body = ProblemDoc),
    )
)]
pub async fn upload(
    State(state): State<SharedState>,
    Extension(Caller { user, .. }): Extension<Caller>,
    params: Params,
    req: Request,
) -> ApiResult<Response> {
    let limit = state.max_upload_bytes;
    let declared_len = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let query_name = params.get("name").map(str::to_string);
    let folder = folder_param(params.get("folder").unwrap_or_default())?;
    let create_only = params.choice("create_only", &[("true", true), ("false", false)], false)?;
    let tap = Arc::new(Mutex::new(Tap::default()));
    let id = FileId::new();
    let key = id.object_key();

    let (name, declared_type) = if is_multipart(req.headers()) {
        let mut multipart = Multipart::from_request(req, &state)
            .await
            .map_err(|e| Problem::bad_request(format!("malformed multipart body: {e}")))?;
        let field = multipart
            .next_field()
            .await
            .map_err(|e| Problem::bad_request(format!("malformed multipart body: {e}")))?
            .ok_or_else(|| {
                Problem::bad_request(
                    "the multipart body has no file part (use a field named 'file')",
                )
            })?;
        if field.name() != Some("file") {
            return Err(unexpected_field(field.name()));
        }
        let raw_name = query_name
            .clone()
            .or_else(|| field.file_name().map(str::to_string))
            .unwrap_or_else(|| UNNAMED.to_string());
        let name =
            normalize_file_name(&raw_name).map_err(|e| Problem::invalid_name(e.to_string()))?;
        refuse_if_taken(&state, &user, &folder, &name, create_only).await?;
        let ctype = field.content_type().map(str::to_string);
        // The field borrows the multipart reader, so it is pumped into a
        // channel the store reads from, both in this task.
        let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(4);
        let body = tapped(tokio_stream_from(rx), limit, tap.clone());
        let pump = async move {
            let mut field = field;
            loop {
                match field.chunk().await {
                    Ok(Some(c)) => {
                        if tx.send(Ok(c)).await.is_err() {
                            break;
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        let _ = tx.send(Err(ClientBodyError::io(e))).await;
                        break;
                    }
                }
            }
        };
        let (put, ()) = tokio::join!(state.store.put(&key, body), pump);
        put.map_err(Problem::from)?;
        let stored = (name, ctype);
        // Nothing may follow the file: what a client sent would be ignored.
        let after = match multipart.next_field().await {
            Ok(None) => None,
            Ok(Some(field)) => Some(unexpected_field(field.name())),
            Err(e) => Some(Problem::bad_request(format!(
                "malformed multipart body: {e}"
            ))),
        };
        if let Some(problem) = after {
            if let Err(e) = state.store.delete(&key).await {
                tracing::warn!(%key, error = %e, "refused upload not removed; reconciliation will");
            }
            return Err(problem);
        }
        stored
    } else {
        let raw_name = query_name.unwrap_or_else(|| UNNAMED.to_string());
        let name =
            normalize_file_name(&raw_name).map_err(|e| Problem::invalid_name(e.to_string()))?;
        refuse_if_taken(&state, &user, &folder, &name, create_only).await?;
        if let Some(n) = declared_len.filter(|n| *n > limit) {
            if n - limit <= DRAIN_BYTES {
                let mut body = req.into_body().into_data_stream();
                while let Some(Ok(_)) = body.next().await {}
            }
            return Err(Problem::too_large(limit));
        }
        let ctype = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = req
            .into_body()
            .into_data_stream()
            .map_err(ClientBodyError::io);
        state
            .store
            .put(&key, tapped(body, limit, tap.clone()))
            .await
            .map_err(Problem::from)?;
        (name, ctype)
    };

    let seen = Seen::of(&tap)?;
    let registered = register_upload(
        &state,
        NewUpload {
            id,
            key,
            owner: user,
            folder,
            name,
            declared_type,
            create_only,
        },
        seen,
    )
    .await?;
    let (status, file) = match &registered {
        Registered::Created(f) => (StatusCode::CREATED, f),
        Registered::NewVersion(f) => (StatusCode::OK, f),
    };
    let mut resp = (status, Json(file)).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/files/{}", file.id)) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    Ok(resp)
}

/// A create-only upload to a taken path is refused before its body is read.
/// (Two racing uploads are settled when the file is made.)
async fn refuse_if_taken(
    state: &AppState,
    owner: &str,
    folder: &str,
    name: &str,
    create_only: bool,
) -> ApiResult<()> {
    if create_only && state.index.file_at(owner, folder, name).await?.is_some() {
        return Err(Problem::from(name_taken(folder, name)));
    }
    Ok(())
}

/// What a body stream showed on its way into the store.
pub(crate) struct Seen {
    pub sha256: String,
    pub size: u64,
    pub head: Vec<u8>,
}

impl Seen {
    fn of(tap: &Mutex<Tap>) -> ApiResult<Seen> {
        let t = tap.lock().map_err(|_| Problem::internal())?;
        Ok(Seen {
            sha256: hex::encode(t.hasher.clone().finalize()),
            size: t.size,
            head: t.head.clone(),
        })
    }
}

/// Streams `body` into the store at `key`, hashed, counted and held to
/// the upload limit on the way, as every upload is.
pub(crate) async fn put_tapped<S>(state: &AppState, key: &str, body: S) -> Result<Seen, Error>
where
    S: Stream<Item = std::io::Result<Bytes>> + Send + 'static,
{
    let tap = Arc::new(Mutex::new(Tap::default()));
    state
        .store
        .put(key, tapped(body, state.max_upload_bytes, tap.clone()))
        .await?;
    Seen::of(&tap).map_err(|_| Error::Internal("upload state poisoned".into()))
}

/// A stored object about to become a file.
pub(crate) struct NewUpload {
    pub id: FileId,
    pub key: String,
    pub owner: String,
    pub folder: String,
    pub name: String,
    pub declared_type: Option<String>,
    /// Refuse, rather than make a new version, when the name is taken.
    pub create_only: bool,
}

/// What an uploaded object became.
pub(crate) enum Registered {
    /// A new file.
    Created(FileRecord),
    /// New content of the file that had the path (names are unique in a
    /// folder); what it had is now a version.
    NewVersion(FileRecord),
}

impl Registered {
    pub fn file(&self) -> &FileRecord {
        match self {
            Registered::Created(f) | Registered::NewVersion(f) => f,
        }
    }
}

/// Makes the file node of an uploaded object and queues its tagging; when
/// the owner has a file at that path, the object becomes its new content
/// instead. The object is removed again when neither works, so nothing is
/// left orphaned.
pub(crate) async fn register_upload(
    state: &AppState,
    up: NewUpload,
    seen: Seen,
) -> Result<Registered, Error> {
    let media_type = media_type_of(&up.name, &seen.head, up.declared_type.as_deref());
    let created = state
        .index
        .create_file(NewFile {
            id: up.id,
            object_key: up.key.clone(),
            owner: up.owner.clone(),
            name: up.name.clone(),
            folder: up.folder.clone(),
            size: seen.size,
            sha256: seen.sha256.clone(),
            media_type,
        })
        .await;
    let file = match created {
        Ok(f) => f,
        Err(e) => {
            if matches!(e, Error::Conflict(_)) && !up.create_only {
                let existing = state.index.file_at(&up.owner, &up.folder, &up.name).await;
                if let Ok(Some(existing)) = existing {
                    let file = register_new_content(state, &existing, &up.key, seen).await?;
                    return Ok(Registered::NewVersion(file));
                }
            }
            // Object first, then node: without the node the object is an orphan.
            let key = &up.key;
            if let Err(de) = state.store.delete(key).await {
                tracing::warn!(%key, error = %de, "could not remove the object of a failed upload");
            }
            return Err(e);
        }
    };
    state.metrics.uploads.fetch_add(1, Ordering::Relaxed);
    state
        .metrics
        .upload_bytes
        .fetch_add(seen.size, Ordering::Relaxed);
    tracing::info!(file = %file.id, name = %file.name, folder = %file.folder, size = seen.size, "uploaded");
    Ok(Registered::Created(file))
}

/// Where new bytes for `file` go: a key of their own, so that what the
/// file had stays as a version; a file whose bytes are a client's object
/// in the bucket (written there straight) is written in place instead, its
/// key being its identity there.
pub(crate) fn new_content_key(file: &FileRecord) -> String {
    if file.object_key.starts_with(OWN_PREFIX) {
        file.id.content_key()
    } else {
        file.object_key.clone()
    }
}

/// New bytes for a file already known, stored at `key`: they become its
/// content (the old content a version, within the retention) and it is
/// tagged again. Objects no longer referred to are deleted; one that
/// cannot be is left to the bucket sweep.
pub(crate) async fn register_new_content(
    state: &AppState,
    file: &FileRecord,
    key: &str,
    seen: Seen,
) -> Result<FileRecord, Error> {
    let media_type = media_type_of(&file.name, &seen.head, None);
    let replaced = state
        .index
        .replace_content(
            file.id,
            &NewContent {
                object_key: key.to_string(),
                size: seen.size,
                sha256: seen.sha256,
                media_type,
            },
            state.versions_kept,
        )
        .await;
    let replaced = match replaced {
        Ok(r) => r,
        Err(e) => {
            if key != file.object_key
                && let Err(de) = state.store.delete(key).await
            {
                tracing::warn!(%key, error = %de, "could not remove the object of failed new content");
            }
            return Err(e);
        }
    };
    delete_objects(state, &replaced.unreferenced).await;
    state.metrics.uploads.fetch_add(1, Ordering::Relaxed);
    state
        .metrics
        .upload_bytes
        .fetch_add(seen.size, Ordering::Relaxed);
    tracing::info!(file = %file.id, name = %file.name, size = seen.size, dropped_versions = replaced.unreferenced.len(), "new content");
    Ok(replaced.file)
}

/// Deletes objects nothing refers to any more; one that cannot be deleted
/// now is left to the bucket sweep.
pub(crate) async fn delete_objects(state: &AppState, keys: &[String]) {
    for key in keys {
        if let Err(e) = state.store.delete(key).await {
            tracing::warn!(%key, error = %e, "could not delete an unreferenced object; the bucket sweep will");
        }
    }
}

fn tokio_stream_from(
    mut rx: tokio::sync::mpsc::Receiver<std::io::Result<Bytes>>,
) -> impl Stream<Item = std::io::Result<Bytes>> + Send + 'static {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

/// The sniffed type (magic bytes, then extension) unless it says nothing
/// and the client declared something specific.
fn media_type_of(name: &str, head: &[u8], declared: Option<&str>) -> String {
    let sniffed = graphfs_extract::sniff_media_type(name, head);
    let declared = declared
        .and_then(|d| d.split(';').next())
        .map(|d| d.trim().to_ascii_lowercase())
        .filter(|d| {
            !d.is_empty()
                && d.contains('/')
                && !matches!(
                    d.as_str(),
                    "application/octet-stream" | "application/x-www-form-urlencoded"
                )
                && !d.starts_with("multipart/")
        });
    match declared {
        Some(d) if sniffed == "application/octet-stream" => d,
        _ => sniffed,
    }
}

/// How a list of files is filtered, sorted and paged, for the OpenAPI
/// document; [`file_query`] reads them (with precise messages for bad values).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // A description only.
pub struct ListingParams {
    /// Whether a file needs all the tags or any of them
    #[param(pattern = "^(all|any)$")]
    tag_match: Option<String>,
    /// Only files of this media type
    media_type: Option<String>,
    /// Only files whose name starts so
    name_prefix: Option<String>,
    /// Only files in this folder (`/projects`)
    #[param(value_type = Option<FolderPath>)]
    folder: Option<String>,
    /// With `folder`: also files in the folders beneath it (default `true`)
    subfolders: Option<bool>,
    /// `true`: only files others share with you; `false`: only your own
    shared: Option<bool>,
    /// Only files in this tagging state
    status: Option<TaggingStatus>,
    /// Sort key (default `created`)
    #[param(pattern = "^(created|name|size)$")]
    sort: Option<String>,
    /// Sort order (default `desc`)
    #[param(pattern = "^(asc|desc)$")]
    order: Option<String>,
    /// Page size (default 50)
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u32>,
    /// `next_cursor` of the previous page (it continues that listing, in its sort and order)
    cursor: Option<String>,
}

pub(crate) fn file_query(params: &Params, tags: Vec<String>) -> ApiResult<FileQuery> {
    let tags = tags
        .iter()
        .map(|t| normalize_tag(t).map_err(|e| Problem::bad_request(format!("tag '{t}': {e}"))))
        .collect::<ApiResult<Vec<_>>>()?;
    let status = params.parsed::<TaggingStatus>("status")?;
    let subfolders = params.choice("subfolders", &[("true", true), ("false", false)], true)?;
    Ok((FileQuery {
        tags,
        tag_match: params.choice(
            "tag_match",
            &[("all", TagMatch::All), ("any", TagMatch::Any)],
            TagMatch::All,
        )?,
        media_type: params
            .get("media_type")
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        name_prefix: params
            .get("name_prefix")
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        status,
        folder: params
            .get("folder")
            .map(folder_param)
            .transpose()?
            .map(|path| FolderFilter { path, subfolders }),
        shared: params
            .get("shared")
            .map(|_| params.choice("shared", &[("true", true), ("false", false)], false))
            .transpose()?,
        sort: params.choice(
            "sort",
            &[
                ("created", SortKey::Created),
                ("name", SortKey::Name),
                ("size", SortKey::Size),
            ],
            SortKey::Created,
        )?,
        order: params.choice(
            "order",
            &[("asc", SortOrder::Asc), ("desc", SortOrder::Desc)],
            SortOrder::Desc,
        )?,
        limit: params.int_in("limit", 1, 200, 50)? as usize,
        cursor: params.get("cursor").map(str::to_string),
    })
    .continuing()?)
}

#[utoipa::path(
    get,
    path = "/files",
    tag = "files",
    params(("tag" = Option<Vec<TagName>>, Query, description = "Only files with these tags (repeat the parameter)", explode),
        ListingParams),
    responses((status = 200, description = "A page of the caller's and shared files", body = Page<FileRecord>), InvalidRequest)
)]
pub async fn list(
    State(state): State<SharedState>,
    Extension(Caller { user, .. }): Extension<Caller>,
    params: Params,
) -> ApiResult<Response> {
    let query = file_query(&params, params.all("tag"))?;
    let page = state.index.list_files(&user, &query).await?;
    Ok(Json(page).into_response())
}

#[utoipa::path(
    get,
    path = "/files/{id}",
    tag = "files",
    params(("id" = FileId, Path, description = "The file's id")),
    responses((status = 200, description = "The file with similar files", body = FileDetail), NoSuchFile)
)]
pub async fn get_one(
    State(state): State<SharedState>,
    Extension(Caller { user, .. }): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<Json<FileDetail>> {
    let id = parse_id(&id)?;
    let file = state.index.get_file(&user, id).await?;
    let similar = state.index.similar_files(&user, id, SIMILAR_SHOWN).await?;
    Ok(Json(FileDetail { file, similar }))
}

/// Changes to a file; every member is optional. All of them are applied or
/// none. At most 100 tag changes and 100 share changes at once.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "invoice.pdf", "add_tags": ["invoice"], "remove_tags": ["draft"], "share_with": ["bob"]}))]
pub struct FilePatch {
    /// New file name.
    #[schema(value_type = Option<FileName>)]
    name: Option<String>,
    /// The folder to move the file to (made if missing).
    #[schema(value_type = Option<FolderPath>)]
    folder: Option<String>,
    /// User tags to add.
    #[serde(default)]
    #[schema(max_items = 100, value_type = Vec<crate::openapi::TagName>)]
    add_tags: Vec<String>,
    /// Tags to remove (whatever their source; a removed machine tag does not come back).
    #[serde(default)]
    #[schema(max_items = 100, value_type = Vec<crate::openapi::TagName>)]
    remove_tags: Vec<String>,
    /// Users to share the file with (they may see it, not change it); each
    /// must be a user the server knows, never the owner.
    #[serde(default)]
    #[schema(max_items = 100, value_type = Vec<crate::openapi::UserName>)]
    share_with: Vec<String>,
    /// Users to stop sharing it with.
    #[serde(default)]
    #[schema(max_items = 100, value_type = Vec<crate::openapi::UserName>)]
    unshare: Vec<String>,
}

#[utoipa::path(
    patch,
    path = "/files/{id}",
    tag = "files",
    params(("id" = FileId, Path, description = "The file's id")),
    request_body(content = FilePatch, content_type = "application/json"),
    responses(
        (status = 200, description = "The changed file", body = FileDetail),
        InvalidRequest,
        NotOwner,
        NoSuchFile,
        (status = 409, description = "The new name or folder would give the file a name another file has in that folder (`conflict`)", content_type = "application/problem+json", body = ProblemDoc),
        NotJson,
    )
)]
pub async fn update(
    State(state): State<SharedState>,
    Extension(Caller { user, .. }): Extension<Caller>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<FileDetail>> {
    let id = parse_id(&id)?;
    let patch: FilePatch = crate::params::json_body(&headers, &body)?;
    // A bad name has its own problem type, as in an upload.
    if let Some(name) = patch.name.as_deref() {
        normalize_file_name(name).map_err(|e| Problem::invalid_name(e.to_string()))?;
    }
    if let Some(folder) = patch.folder.as_deref() {
        folder_param(folder)?;
    }
    // Checked whole before anything changes, then applied in one transaction.
    let change = FileChange::check(&FileChangeRequest {
        name: patch.name.as_deref(),
        folder: patch.folder.as_deref(),
        add_tags: &patch.add_tags,
        remove_tags: &patch.remove_tags,
        share_with: &patch.share_with,
        unshare: &patch.unshare,
    })?;
    // A move takes the drive's properties of the file along.
    let before = match (&patch.name, &patch.folder) {
        (None, None) => None,
        _ => Some(state.index.get_file(&user, id).await?),
    };
    let file = state.index.update_file(&user, id, &change).await?;
    if let Some(before) = before {
        let (from, to) = (
            join_folder(&before.folder, &before.name),
            join_folder(&file.folder, &file.name),
        );
        crate::dav::props::moved(state.index.as_ref(), &user, &from, &to).await;
    }
    let similar = state.index.similar_files(&user, id, SIMILAR_SHOWN).await?;
    Ok(Json(FileDetail { file, similar }))
}

#[utoipa::path(
    delete,
    path = "/files/{id}",
    tag = "files",
    params(("id" = FileId, Path, description = "The file's id")),
    responses(
        (status = 204, description = "Deleted"),
        NotOwner,
        NoSuchFile,
    )
)]
pub async fn delete(
    State(state): State<SharedState>,
    Extension(Caller { user, .. }): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = parse_id(&id)?;
    delete_file(&state, &user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes a file of `user`'s. Node and edges first: once they are gone the
/// file is gone for users; a failure deleting the object leaves an orphan
/// for reconciliation, never a node without bytes.
pub(crate) async fn delete_file(state: &AppState, user: &str, id: FileId) -> Result<(), Error> {
    // The versions' keys first: they go with the node. One written in
    // between is left to the bucket sweep.
    let versions = match state.index.versions(user, id).await {
        Ok(v) => v,
        Err(e) if e.is_not_found() => Vec::new(),
        Err(e) => return Err(e),
    };
    let file = state.index.delete_file(user, id).await?;
    let path = join_folder(&file.folder, &file.name);
    crate::dav::props::removed(state.index.as_ref(), user, &path).await;
    let mut keys = vec![file.object_key];
    keys.extend(versions.into_iter().map(|v| v.object_key));
    delete_objects(state, &keys).await;
    tracing::info!(file = %id, versions = keys.len() - 1, "deleted");
    Ok(())
}

#[utoipa::path(
    post,
    path = "/files/{id}/retag",
    tag = "files",
    params(("id" = FileId, Path, description = "The file's id")),
    responses(
        (status = 202, description = "Queued for tagging again"),
        NotOwner,
        NoSuchFile,
    )
)]
pub async fn retag(
    State(state): State<SharedState>,
    Extension(Caller { user, .. }): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = parse_id(&id)?;
    let file = state.index.get_file(&user, id).await?;
    if file.owner != user {
        return Err(Error::Forbidden("only the owner may re-tag a file".into()).into());
    }
    state
        .retag_limiter
        .check(&user)
        .map_err(Problem::rate_limited)?;
    state.index.requeue(id).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Parses `Range: bytes=…` for a single range. Anything else is ignored, as
/// RFC 9110 allows, and the whole file is sent.
fn parse_range(headers: &HeaderMap, size: u64) -> Option<Result<ByteRange, ()>> {
    let v = headers.get(header::RANGE)?.to_str().ok()?.trim();
    let spec = v.strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let (a, b) = (a.trim(), b.trim());
    if a.is_empty() {
        // Suffix range: the last N bytes.
        let n: u64 = b.parse().ok()?;
        if n == 0 || size == 0 {
            return Some(Err(()));
        }
        return Some(Ok(ByteRange {
            start: size.saturating_sub(n),
            end: None,
        }));
    }
    let start: u64 = a.parse().ok()?;
    let end = if b.is_empty() {
        None
    } else {
        Some(b.parse::<u64>().ok()?)
    };
    if end.is_some_and(|e| e < start) {
        return None;
    }
    Some(Ok(ByteRange { start, end }))
}

/// `filename*` per RFC 8187 plus an ASCII fallback.
fn content_disposition(kind: &str, name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[utoipa::path(
    get,
    path = "/files/{id}/content",
    tag = "files",
    params(
        ("id" = FileId, Path, description = "The file's id"),
        ("disposition" = Option<String>, Query, description = "`attachment` (default) or `inline`", pattern = "^(attachment|inline)$"),
        ("Range" = Option<String>, Header, description = "One byte range, `bytes=START-END`"),
        ("If-None-Match" = Option<String>, Header, description = "The ETag of a copy the client has"),
    ),
    responses(
        (status = 200, description = "The file's bytes, typed as the file's media type", content_type = "*/*"),
        (status = 206, description = "The requested range, typed as the file's media type", content_type = "*/*"),
        (status = 304, description = "The client's copy is current"),
        InvalidRequest,
        NoSuchFile,
        (status = 416, description = "The range starts past the end (`range-not-satisfiable`)", content_type = "application/problem+json", body = ProblemDoc),
    )
)]
pub async fn download(
    State(state): State<SharedState>,
    Extension(Caller { user, .. }): Extension<Caller>,
    Path(id): Path<String>,
    params: Params,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let file = state.index.get_file(&user, id).await?;
    send_content(
        &state,
        &params,
        &headers,
        Content {
            name: &file.name,
            media_type: &file.media_type,
            sha256: &file.sha256,
            size: file.size,
            object_key: &file.object_key,
        },
    )
    .await
}

/// Bytes to send: a file's, or one of its versions'.
pub(crate) struct Content<'a> {
    pub name: &'a str,
    pub media_type: &'a str,
    pub sha256: &'a str,
    pub size: u64,
    pub object_key: &'a str,
}

/// Sends stored bytes as a download: ETag (the SHA-256), one range,
/// `If-None-Match`, and headers that keep them from running as the page.
pub(crate) async fn send_content(
    state: &AppState,
    params: &Params,
    headers: &HeaderMap,
    file: Content<'_>,
) -> ApiResult<Response> {
    let etag = format!("\"{}\"", file.sha256);
    let disposition = params.choice(
        "disposition",
        &[("attachment", "attachment"), ("inline", "inline")],
        "attachment",
    )?;
    let mut common = HeaderMap::new();
    let mut set = |k: header::HeaderName, v: &str| {
        if let Ok(v) = HeaderValue::from_str(v) {
            common.insert(k, v);
        }
    };
    set(header::ETAG, &etag);
    set(header::ACCEPT_RANGES, "bytes");
    set(
        header::CONTENT_DISPOSITION,
        &content_disposition(disposition, file.name),
    );
    set(header::CACHE_CONTROL, "private, no-cache");
    // Content is the user's, not ours: it may never run as part of the page.
    set(
        header::CONTENT_SECURITY_POLICY,
        "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:",
    );
    let not_modified = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    if not_modified {
        return Ok((StatusCode::NOT_MODIFIED, common).into_response());
    }
    let range = match parse_range(headers, file.size) {
        Some(Ok(r)) => Some(r),
        Some(Err(())) => return Err(Error::RangeNotSatisfiable { size: file.size }.into()),
        None => None,
    };
    let body = state.store.get(file.object_key, range).await?;
    state.metrics.downloads.fetch_add(1, Ordering::Relaxed);
    let len = if body.size == 0 {
        0
    } else {
        body.end - body.start + 1
    };
    let mut resp = Response::new(Body::from_stream(body.stream));
    *resp.headers_mut() = common;
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(file.media_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    if range.is_some() {
        if let Ok(v) =
            HeaderValue::from_str(&format!("bytes {}-{}/{}", body.start, body.end, body.size))
        {
            h.insert(header::CONTENT_RANGE, v);
        }
        *resp.status_mut() = StatusCode::PARTIAL_CONTENT;
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(v: &str, size: u64) -> Option<Result<ByteRange, ()>> {
        let mut h = HeaderMap::new();
        h.insert(header::RANGE, HeaderValue::from_str(v).unwrap());
        parse_range(&h, size)
    }

    #[test]
    fn ranges() {
        assert_eq!(
            range("bytes=0-9", 100),
            Some(Ok(ByteRange {
                start: 0,
                end: Some(9)
            }))
        );
        assert_eq!(
            range("bytes=90-", 100),
            Some(Ok(ByteRange {
                start: 90,
                end: None
            }))
        );
        assert_eq!(
            range("bytes=-10", 100),
            Some(Ok(ByteRange {
                start: 90,
                end: None
            }))
        );
        assert_eq!(range("bytes=-0", 100), Some(Err(())));
        assert_eq!(range("bytes=0-1,5-6", 100), None);
        assert_eq!(range("items=0-1", 100), None);
        assert_eq!(range("bytes=9-1", 100), None);
        assert_eq!(range("bytes=x-1", 100), None);
    }

    #[test]
    fn disposition_encodes_unicode_names() {
        assert_eq!(
            content_disposition("attachment", "报告 1.pdf"),
            "attachment; filename=\"__ 1.pdf\"; filename*=UTF-8''%E6%8A%A5%E5%91%8A%201.pdf"
        );
        assert_eq!(
            content_disposition("inline", "a\"b.txt"),
            "inline; filename=\"a_b.txt\"; filename*=UTF-8''a%22b.txt"
        );
    }

    #[test]
    fn declared_type_only_fills_in_for_unknown_content() {
        assert_eq!(
            media_type_of("a.txt", b"hello", Some("application/x-www-form-urlencoded")),
            "text/plain"
        );
        assert_eq!(
            media_type_of("blob", &[0, 1, 2, 0xff], Some("application/x-thing")),
            "application/x-thing"
        );
        assert_eq!(
            media_type_of("blob", &[0, 1, 2, 0xff], Some("application/octet-stream")),
            "application/octet-stream"
        );
    }
}
