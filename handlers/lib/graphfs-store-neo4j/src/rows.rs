//! Reading file nodes, and the visibility predicate every file query uses.

#[allow(unused_imports)]
use super::*;

pub(super) const VISIBLE: &str = "(f.owner = $viewer OR $viewer IN f.shared_with)";

/// The projection every file-returning query ends with.
pub(super) const FILE_PROJECTION: &str = "f {.id, .owner, .name, .size, .sha256, .media_type, .created_at, .updated_at, .status, .status_reason, .metadata, .shared_with, .object_key} AS f, \
     [(f)-[r:TAGGED]->(t:Tag) | {name: t.name, score: r.score, source: r.source}] AS tags";

#[derive(Deserialize)]
pub(super) struct FileProps {
    id: String,
    owner: String,
    name: String,
    size: i64,
    sha256: String,
    media_type: String,
    created_at: String,
    updated_at: String,
    status: String,
    status_reason: String,
    metadata: String,
    shared_with: Vec<String>,
    object_key: String,
}

#[derive(Deserialize)]
pub(super) struct TagProps {
    name: String,
    score: f64,
    source: String,
}

pub(super) fn file_from(row: &Row) -> Result<FileRecord> {
    let f: FileProps = row.get("f").map_err(de_err)?;
    let tags: Vec<TagProps> = row.get("tags").map_err(de_err)?;
    let mut tags: Vec<FileTag> = tags
        .into_iter()
        .map(|t| FileTag {
            name: t.name,
            score: t.score as f32,
            source: t.source.parse().unwrap_or(TagSource::Keyword),
        })
        .collect();
    tags.sort_by(|a, b| {
        (b.source == TagSource::User)
            .cmp(&(a.source == TagSource::User))
            .then(b.score.total_cmp(&a.score))
            .then(a.name.cmp(&b.name))
    });
    let mut shared_with = f.shared_with;
    shared_with.sort();
    Ok(FileRecord {
        id: f.id.parse().map_err(de_err)?,
        owner: f.owner,
        name: f.name,
        size: u64::try_from(f.size).unwrap_or(0),
        sha256: f.sha256,
        media_type: f.media_type,
        created_at: parse_stored_time(&f.created_at),
        updated_at: parse_stored_time(&f.updated_at),
        status: f.status.parse().unwrap_or(TaggingStatus::Pending),
        status_reason: Some(f.status_reason).filter(|s| !s.is_empty()),
        tags,
        metadata: serde_json::from_str(&f.metadata).unwrap_or_else(|_| serde_json::json!({})),
        shared_with,
        object_key: f.object_key,
    })
}

impl Neo4jGraphIndex {
    /// Starts a write transaction that holds the file's node locked, if the
    /// viewer owns it ([`access::require_owner`]). The check and the change
    /// that follows are one transaction: a concurrent writer waits for the
    /// lock instead of slipping in between. On refusal nothing stays open.
    pub(super) async fn owned_txn(&self, viewer: &str, id: FileId) -> Result<(Txn, FileRecord)> {
        let mut txn = self.graph.start_txn().await.map_err(db_err)?;
        let checked = async {
            let rows = txn_rows(
                &mut txn,
                query(&format!(
                    "MATCH (f:File {{id: $id}}) SET f._lock = true REMOVE f._lock RETURN {FILE_PROJECTION}"
                ))
                .param("id", id.to_string()),
            )
            .await?;
            let file = file_from(rows.first().ok_or_else(|| access::not_found(id))?)?;
            access::require_owner(id, viewer, &file.owner, &file.shared_with)?;
            Ok::<_, Error>(file)
        }
        .await;
        match checked {
            Ok(file) => Ok((txn, file)),
            Err(e) => {
                // Give the lock back now, not when the pool next recycles the connection.
                let _ = txn.rollback().await;
                Err(e)
            }
        }
    }
}
