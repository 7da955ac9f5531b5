//! New files, committed together when several wait ([`FileCatalog::create_file`];
//! [`group_commit`](super::group_commit): 4 writers per store, up to 32
//! files each). Measured on 2 cores with Neo4j's
//! default full-text refresh after each commit: about 300 single-file
//! transactions a second applied, against about 2,500 files a second in
//! transactions of ten (the 1 s refresh interval GraphFS sets gives about
//! 1,000 single-file ones; docs/performance.md).

use super::group_commit::{GroupWrite, Together};
#[allow(unused_imports)]
use super::*;

impl GroupWrite for NewFile {
    type Output = FileRecord;
    const WHAT: &'static str = "new files";
    const WRITERS: usize = 4;
    const MAX_BATCH: usize = 32;

    async fn together(
        graph: &Graph,
        files: &[NewFile],
    ) -> std::result::Result<Vec<Result<FileRecord>>, Together> {
        let mut txn = Together::begin(graph).await?;
        let mut records = Vec::with_capacity(files.len());
        for file in files {
            let rows = txn_rows(&mut txn, create_statement(file))
                .await
                .map_err(Together::Statement)?;
            records.push(Ok(created(&rows, file).map_err(Together::Statement)?));
        }
        Together::commit(txn).await?;
        Ok(records)
    }

    /// One file in its own transaction; a deadlock (folders are taken by
    /// other writers in other orders) is run again (`graph_rows`).
    async fn alone(graph: &Graph, file: &NewFile) -> Result<FileRecord> {
        graph_rows(graph, create_statement(file))
            .await
            .and_then(|rows| created(&rows, file))
            .map_err(|e| match e {
                // Ids and object keys are fresh UUIDs: the constraint a new
                // file can break is the one on its name.
                Error::Conflict(_) => name_taken(&file.folder, &file.name),
                other => other,
            })
    }
}

fn created(rows: &[Row], file: &NewFile) -> Result<FileRecord> {
    rows.first()
        .map(file_from)
        .transpose()?
        .flatten()
        .ok_or_else(|| Error::internal(format!("file {} was not created", file.id)))
}

/// The file and its job in one statement, which returns the file. The
/// `graphfs_file_name` constraint, not a lock, keeps names unique within a
/// folder. The file has no `terms` until it is tagged: even an empty list
/// put it in the terms index, one more full-text change per upload.
fn create_statement(file: &NewFile) -> Query {
    let now = Utc::now();
    query(&format!(
        "MERGE (u:User {{id: $owner}}) ON CREATE SET u.created_at = $now
         CREATE (u)-[:OWNS]->(f:File {{id: $id, owner: $owner, name: $name, folder: $folder, name_tokens: $tokens,
             size: $size, sha256: $sha, media_type: $media, created_at: $now, updated_at: $now,
             status: 'pending', status_reason: '', metadata: '{{}}', text: '', tags_text: '',
             shared_with: [], object_key: $key, viewers: $owner}})
         {MERGE_FOLDERS}
         WITH f
         {NEXT_TURN}
         CREATE (:Job {{file_id: $id, seq: $seq, attempts: 0, due_at: $now_ms, worker: '',
             lease_until: 0, last_error: '', vtag: turn, owner: $owner}})-[:FOR]->(f)
         RETURN {FILE_PROJECTION}"
    ))
    .param("owner", file.owner.clone())
    .param("id", file.id.to_string())
    .param("name", file.name.clone())
    .param("folder", file.folder.clone())
    .param("ancestry", folder_ancestry(&file.folder))
    .param("tokens", name_tokens(&file.name))
    .param("size", i64::try_from(file.size).unwrap_or(i64::MAX))
    .param("sha", file.sha256.clone())
    .param("media", file.media_type.clone())
    .param("now", stored_time(now))
    .param("now_ms", now.timestamp_millis())
    .param("seq", new_seq())
    .param("key", file.object_key.clone())
}
