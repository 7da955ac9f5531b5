//! Versions ([`Versions`]): `(:Version)-[:OF]->(:File)`, one node per
//! earlier content of a file.

#[allow(unused_imports)]
use super::*;

fn version_from(r: &Row) -> Result<FileVersion> {
    let size: i64 = r.get("size").map_err(de_err)?;
    let version: i64 = r.get("version").map_err(de_err)?;
    Ok(FileVersion {
        version: u32::try_from(version).map_err(de_err)?,
        size: u64::try_from(size).unwrap_or(0),
        sha256: r.get("sha").map_err(de_err)?,
        media_type: r.get("media").map_err(de_err)?,
        replaced_at: parse_stored_time(&r.get::<String>("at").map_err(de_err)?),
        object_key: r.get("key").map_err(de_err)?,
    })
}

/// Removes a file's version nodes (inside the caller's transaction).
pub(super) fn delete_versions(id: FileId) -> Query {
    query("MATCH (v:Version)-[:OF]->(:File {id: $id}) DETACH DELETE v").param("id", id.to_string())
}

impl Neo4jGraphIndex {
    async fn replace_content_once(
        &self,
        id: FileId,
        content: &NewContent,
        keep: u32,
    ) -> Result<Vec<String>> {
        let mut txn = self.graph.start_txn().await.map_err(db_err)?;
        let sid = id.to_string();
        let now = stored_time(Utc::now());
        // Writing first takes the file's lock, so two writers of new content
        // go one after the other and each keeps what the other wrote.
        let rows = txn_rows(
            &mut txn,
            query(
                "MATCH (f:File {id: $id}) SET f.updated_at = $now
                 RETURN f.owner AS owner, f.object_key AS key, f.size AS size,
                        f.sha256 AS sha, f.media_type AS media",
            )
            .param("id", sid.clone())
            .param("now", now.clone()),
        )
        .await?;
        let Some(row) = rows.first() else {
            let _ = txn.rollback().await;
            return Err(access::not_found(id));
        };
        let owner: String = row.get("owner").map_err(de_err)?;
        let old_key: String = row.get("key").map_err(de_err)?;
        let mut unreferenced = Vec::new();
        if old_key != content.object_key {
            let size: i64 = row.get("size").map_err(de_err)?;
            let sha: String = row.get("sha").map_err(de_err)?;
            let media: String = row.get("media").map_err(de_err)?;
            txn.run(
                query(
                    "MATCH (f:File {id: $id})
                     SET f.versions_made = coalesce(f.versions_made, 0) + 1
                     CREATE (:Version {object_key: $key, version: f.versions_made,
                         size: $size, sha256: $sha, media_type: $media, replaced_at: $now})-[:OF]->(f)",
                )
                .param("id", sid.clone())
                .param("key", old_key)
                .param("size", size)
                .param("sha", sha)
                .param("media", media)
                .param("now", now.clone()),
            )
            .await
            .map_err(db_err)?;
            let dropped = txn_rows(
                &mut txn,
                query(
                    "MATCH (v:Version)-[:OF]->(:File {id: $id})
                     WITH v ORDER BY v.version DESC SKIP $keep
                     WITH v, v.object_key AS key DETACH DELETE v RETURN key",
                )
                .param("id", sid.clone())
                .param("keep", i64::from(keep)),
            )
            .await?;
            for r in dropped {
                unreferenced.push(r.get("key").map_err(de_err)?);
            }
        }
        txn.run(
            query(
                "MATCH (f:File {id: $id})
                 SET f.object_key = $key, f.size = $size, f.sha256 = $sha, f.media_type = $media",
            )
            .param("id", sid)
            .param("key", content.object_key.clone())
            .param("size", i64::try_from(content.size).unwrap_or(i64::MAX))
            .param("sha", content.sha256.clone())
            .param("media", content.media_type.clone()),
        )
        .await
        .map_err(db_err)?;
        txn.run(queue_again(id, &owner)).await.map_err(db_err)?;
        txn.commit().await.map_err(db_err)?;
        Ok(unreferenced)
    }
}

#[async_trait]
impl Versions for Neo4jGraphIndex {
    async fn replace_content(
        &self,
        id: FileId,
        content: &NewContent,
        keep: u32,
    ) -> Result<ContentReplaced> {
        let unreferenced = retry_transient(|| self.replace_content_once(id, content, keep)).await?;
        let file = self.get_file_internal(id).await?;
        Ok(ContentReplaced { file, unreferenced })
    }

    async fn versions(&self, viewer: &str, id: FileId) -> Result<Vec<FileVersion>> {
        let rows = self
            .rows(
                query(&format!(
                    "MATCH (f:File {{id: $id}}) WHERE {VISIBLE}
                     OPTIONAL MATCH (v:Version)-[:OF]->(f)
                     WITH f, v ORDER BY v.version DESC
                     RETURN f.id AS file, v.version AS version, v.size AS size, v.sha256 AS sha,
                            v.media_type AS media, v.replaced_at AS at, v.object_key AS key"
                ))
                .param("id", id.to_string())
                .param("viewer", viewer),
            )
            .await?;
        if rows.is_empty() {
            return Err(access::not_found(id));
        }
        // A file without versions comes back as one row of nulls; a version
        // deleted while being read, likewise, and is left out.
        Ok(rows
            .iter()
            .filter(|r| r.get::<i64>("version").is_ok())
            .map(version_from)
            .collect::<Result<Vec<_>>>()?)
    }

    async fn bytes_stored(&self, owner: &str) -> Result<u64> {
        let rows = self
            .rows(
                query(
                    "CALL () { MATCH (f:File {owner: $owner}) RETURN coalesce(sum(f.size), 0) AS files }
                     CALL () { MATCH (v:Version)-[:OF]->(:File {owner: $owner})
                               RETURN coalesce(sum(v.size), 0) AS versions }
                     RETURN files + versions AS bytes",
                )
                .param("owner", owner),
            )
            .await?;
        let bytes: i64 = match rows.first() {
            Some(r) => r.get("bytes").map_err(de_err)?,
            None => 0,
        };
        Ok(u64::try_from(bytes).unwrap_or(0))
    }

    async fn object_in_use(&self, key: &str) -> Result<bool> {
        let rows = self
            .rows(
                query(
                    "OPTIONAL MATCH (f:File {object_key: $key})
                     OPTIONAL MATCH (v:Version {object_key: $key})
                     RETURN f IS NOT NULL OR v IS NOT NULL AS used",
                )
                .param("key", key),
            )
            .await?;
        rows.first()
            .map(|r| r.get::<bool>("used").map_err(de_err))
            .unwrap_or(Ok(false))
    }
}
