//! Files written straight into the bucket by any S3 client (aws CLI, mc,
//! rclone). MinIO posts bucket notifications to `/api/v1/events/s3`, which
//! registers new objects, re-tags overwritten ones and forgets removed ones; the periodic
//! reconciliation adopts whatever a lost notification missed.

use std::sync::atomic::Ordering;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use futures::StreamExt;
use graphfs_domain::{
    Error, FileId, FileRecord, GraphIndex, MAX_FOLDER_CHARS, NewContent, NewFile, ObjectStore,
    ROOT_FOLDER, Result, normalize_file_name, normalize_folder,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::app::SharedState;
use crate::problem::{ApiResult, Problem, ProblemDoc};

/// Keys GraphFS writes itself; everything else in the bucket is a client's.
pub const OWN_PREFIX: &str = "files/";

/// A usable file name from the last part of an object key.
fn name_of(key: &str) -> String {
    let last = key.rsplit('/').find(|p| !p.is_empty()).unwrap_or("object");
    normalize_file_name(last).unwrap_or_else(|_| {
        let cleaned: String = last
            .chars()
            .map(|c| if c.is_control() || c == '\\' { '_' } else { c })
            .take(200)
            .collect();
        normalize_file_name(&cleaned).unwrap_or_else(|_| "object".to_string())
    })
}

/// The folder an object key names (`projects/titan/x.pdf` is in
/// `/projects/titan`): the key's path, with what a folder may not hold
/// replaced, or the root when nothing usable is left.
fn folder_of(key: &str) -> String {
    let Some((path, _)) = key.trim_end_matches('/').rsplit_once('/') else {
        return ROOT_FOLDER.to_string();
    };
    normalize_folder(path).unwrap_or_else(|_| {
        let cleaned: Vec<String> = path
            .split('/')
            .map(|seg| {
                let seg: String = seg
                    .chars()
                    .map(|c| if c.is_control() || c == '\\' { '_' } else { c })
                    .collect();
                if matches!(seg.trim(), "." | "..") {
                    "_".to_string()
                } else {
                    seg
                }
            })
            .collect();
        let cleaned: String = cleaned.join("/").chars().take(MAX_FOLDER_CHARS).collect();
        normalize_folder(&cleaned).unwrap_or_else(|_| ROOT_FOLDER.to_string())
    })
}

/// Registers the object at `key` as a file of `owner`, unless it is ours or
/// already known. Returns the new record.
pub async fn register(
    index: &dyn GraphIndex,
    store: &dyn ObjectStore,
    key: &str,
    owner: &str,
) -> Result<Option<FileRecord>> {
    if key.starts_with(OWN_PREFIX) || key.ends_with('/') || key.is_empty() {
        return Ok(None);
    }
    if index.file_by_object_key(key).await?.is_some() {
        return Ok(None);
    }
    let (size, sha256, media_type) = read_object(store, key).await?;
    let name = name_of(key);
    let created = index
        .create_file(NewFile {
            id: FileId::new(),
            object_key: key.to_string(),
            owner: owner.to_string(),
            name,
            folder: folder_of(key),
            size,
            sha256,
            media_type,
        })
        .await;
    match created {
        Ok(f) => {
            tracing::info!(%key, file = %f.id, "registered an object written straight into the bucket");
            Ok(Some(f))
        }
        // Another replica or an earlier event got there first.
        Err(Error::Conflict(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The size, SHA-256 and media type of the object at `key`, reading its
/// bytes once, streaming.
async fn read_object(store: &dyn ObjectStore, key: &str) -> Result<(u64, String, String)> {
    let body = store.get(key, None).await?;
    let mut stream = body.stream;
    let mut hasher = Sha256::new();
    let mut head = Vec::new();
    let mut size = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        size += chunk.len() as u64;
        hasher.update(&chunk);
        if head.len() < 8192 {
            head.extend_from_slice(&chunk[..chunk.len().min(8192 - head.len())]);
        }
    }
    let media_type = graphfs_extract::sniff_media_type(&name_of(key), &head);
    Ok((size, hex::encode(hasher.finalize()), media_type))
}

/// Brings the file of a known object up to date after a client wrote the
/// key again: new bytes are recorded and tagged again (their old text and
/// tags would describe what is no longer there). Returns whether they
/// changed; the same bytes written again change nothing.
pub async fn refresh(
    index: &dyn GraphIndex,
    store: &dyn ObjectStore,
    id: FileId,
    key: &str,
) -> Result<bool> {
    let known = index.get_file_internal(id).await?;
    let (size, sha256, media_type) = read_object(store, key).await?;
    if known.sha256 == sha256 && known.size == size {
        return Ok(false);
    }
    // Written over in place: the old bytes are gone, so no version is kept.
    let content = NewContent {
        object_key: key.to_string(),
        size,
        sha256,
        media_type,
    };
    index.replace_content(id, &content, 0).await?;
    tracing::info!(%key, file = %id, "object written again; tagging its new content");
    Ok(true)
}

/// Forgets the file of an object removed from the bucket directly, once the
/// store confirms it is gone: notifications can arrive late or out of
/// order, and a key written again since must not lose its file.
pub async fn forget(index: &dyn GraphIndex, store: &dyn ObjectStore, key: &str) -> Result<bool> {
    let Some(id) = index.file_by_object_key(key).await? else {
        return Ok(false);
    };
    match store.head(key).await {
        Err(Error::NotFound(_)) => {}
        Ok(_) => {
            tracing::info!(%key, "removal notified but the object is there; file kept");
            return Ok(false);
        }
        Err(e) => return Err(e),
    }
    let file = index.get_file_internal(id).await?;
    index.delete_file(&file.owner, id).await?;
    tracing::info!(%key, file = %id, "object removed from the bucket; file forgotten");
    Ok(true)
}

#[derive(Deserialize)]
struct Notification {
    #[serde(rename = "Records", default)]
    records: Vec<Record>,
}

#[derive(Deserialize)]
struct Record {
    #[serde(rename = "eventName", default)]
    event_name: String,
    s3: S3Entity,
}

#[derive(Deserialize)]
struct S3Entity {
    object: S3Object,
}

#[derive(Deserialize)]
struct S3Object {
    key: String,
}

/// S3 notifications carry keys form-encoded (`+` for space, `%2F` for `/`).
fn decode_key(raw: &str) -> String {
    form_urlencoded::parse(format!("k={raw}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| raw.to_string())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// What one bucket notification changed.
#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
pub struct S3EventResult {
    /// Objects registered as files.
    pub registered: u64,
    /// Known objects written again with new bytes, queued for tagging again.
    pub refreshed: u64,
    /// Files forgotten because their object was removed.
    pub forgotten: u64,
}

/// `POST /api/v1/events/s3`: a bucket notification from the object store.
#[utoipa::path(
    post,
    path = "/events/s3",
    tag = "ingest",
    request_body(content = Object, content_type = "application/json", description = "An S3 event notification (MinIO's webhook target)"),
    params(("Authorization" = String, Header, description = "`Bearer` and the server's webhook token")),
    responses(
        (status = 200, description = "Objects registered, refreshed and forgotten", body = S3EventResult),
        (status = 400, description = "Not an S3 event notification (`invalid-request`)", content_type = "application/problem+json", body = ProblemDoc),
        (status = 401, description = "The notification token is not valid (`unauthorized`)", content_type = "application/problem+json", body = ProblemDoc),
        (status = 404, description = "Bucket notifications are not enabled (`not-found`)", content_type = "application/problem+json", body = ProblemDoc),
    )
)]
pub async fn s3_event(
    State(state): State<SharedState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<S3EventResult>)> {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.strip_prefix("Bearer ").unwrap_or(v).trim())
        .unwrap_or("");
    // Unsigned requests are refused the same way whether or not the
    // endpoint is on, so an anonymous caller learns nothing from it.
    if given.is_empty() {
        return Err(Problem::unauthorized("the notification token is missing"));
    }
    let Some(expected) = state.webhook_token.as_deref() else {
        return Err(Problem::not_found(
            "bucket notifications are not enabled on this server",
        ));
    };
    if !constant_time_eq(given.as_bytes(), expected.as_bytes()) {
        return Err(Problem::unauthorized("the notification token is not valid"));
    }
    let note: Notification = crate::params::json_object(&body)
        .map_err(|e| Problem::bad_request(format!("not an S3 event notification: {e}")))?;
    let mut done = S3EventResult::default();
    for r in note.records {
        let key = decode_key(&r.s3.object.key);
        let (index, store) = (state.index.as_ref(), state.store.as_ref());
        if r.event_name.contains("ObjectCreated") {
            match index.file_by_object_key(&key).await? {
                Some(id) if !key.starts_with(OWN_PREFIX) => {
                    if refresh(index, store, id, &key).await? {
                        done.refreshed += 1;
                    }
                }
                Some(_) => {}
                None => {
                    if register(index, store, &key, &state.ingest_owner)
                        .await?
                        .is_some()
                    {
                        done.registered += 1;
                        state.metrics.uploads.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        } else if r.event_name.contains("ObjectRemoved")
            && !key.starts_with(OWN_PREFIX)
            && forget(index, store, &key).await?
        {
            done.forgotten += 1;
        }
    }
    Ok((StatusCode::OK, Json(done)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_object_key_names_the_folder() {
        assert_eq!(folder_of("projects/titan/x.pdf"), "/projects/titan");
        assert_eq!(folder_of("x.pdf"), "/");
        assert_eq!(folder_of("a//b/x.pdf"), "/a/b");
        assert_eq!(folder_of("a/../x.pdf"), "/a/_");
        assert_eq!(folder_of("a\\b/x.pdf"), "/a_b");
    }

    #[test]
    fn keys_from_notifications_are_decoded() {
        assert_eq!(
            decode_key("dir+one%2Fhello+w%C3%B6rld%2Bx.txt"),
            "dir one/hello wörld+x.txt"
        );
        assert_eq!(decode_key("plain.txt"), "plain.txt");
    }

    #[test]
    fn names_come_from_the_last_key_part() {
        assert_eq!(name_of("inbox/2024/report.pdf"), "report.pdf");
        assert_eq!(name_of("inbox/folder/"), "folder");
        assert_eq!(name_of("weird\u{1}name.txt"), "weird_name.txt");
    }
}
