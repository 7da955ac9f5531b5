//! File nodes ([`FileCatalog`]): create, list with cursors, change, delete.

#[allow(unused_imports)]
use super::*;

impl Neo4jGraphIndex {
    /// The statements of `update_file`, in the caller's transaction.
    async fn apply_change(
        &self,
        txn: &mut Txn,
        file: &FileRecord,
        change: &FileChange,
    ) -> Result<()> {
        let sid = file.id.to_string();
        let users: Vec<&str> = change.users().collect();
        if users.contains(&file.owner.as_str()) {
            return Err(share_with_owner());
        }
        if !users.is_empty() {
            let rows = txn_rows(
                txn,
                query("UNWIND $users AS u OPTIONAL MATCH (x:User {id: u}) WITH u, x WHERE x IS NULL RETURN u LIMIT 1")
                    .param("users", users),
            )
            .await?;
            if let Some(r) = rows.first() {
                return Err(unknown_user(&r.get::<String>("u").map_err(de_err)?));
            }
        }
        if change.name().is_some() || change.folder().is_some() {
            let folder = change.folder().unwrap_or(&file.folder);
            let name = change.name().unwrap_or(&file.name);
            check_name_free(txn, &file.owner, folder, name, Some(file.id)).await?;
        }
        if let Some(name) = change.name() {
            txn.run(
                query("MATCH (f:File {id: $id}) SET f.name = $name, f.name_tokens = $tokens")
                    .param("id", sid.clone())
                    .param("name", name)
                    .param("tokens", name_tokens(name)),
            )
            .await
            .map_err(db_err)?;
        }
        if let Some(folder) = change.folder() {
            make_folders(txn, &file.owner, folder).await?;
            txn.run(
                query("MATCH (f:File {id: $id}) SET f.folder = $folder")
                    .param("id", sid.clone())
                    .param("folder", folder),
            )
            .await
            .map_err(db_err)?;
        }
        if change.touches_tags() {
            // A removed tag is remembered so re-tagging does not bring it
            // back; one the file does not carry is left alone.
            let uncount = count_tag_use("gone", "f.owner", "t.name", "r.source", -1);
            txn.run(
                query(&format!(
                    "MATCH (f:File {{id: $id}}) UNWIND $remove AS name
                     MATCH (f)-[r:TAGGED]->(t:Tag) WHERE t.name = name OR name IN coalesce(t.aliases, [])
                     WITH DISTINCT f, r, t {uncount}
                     DELETE r MERGE (f)-[:REMOVED]->(t)",
                ))
                .param("id", sid.clone())
                .param("remove", change.remove_tags().to_vec()),
            )
            .await
            .map_err(db_err)?;
            // A tag the file has from elsewhere becomes the user's: it
            // moves from that source's count to the user's. A name that is
            // an alias is the tag it stands for.
            let uncount = count_tag_use("was", "f.owner", "t.name", "old.source", -1);
            let count = count_tag_use("now", "f.owner", "t.name", "'user'", 1);
            txn.run(
                query(&format!(
                    "MATCH (f:File {{id: $id}}) UNWIND $add AS n WITH f, {CANONICAL} AS name
                     WITH DISTINCT f, name
                     MERGE (t:Tag {{name: name}})
                     WITH f, t OPTIONAL MATCH (f)-[old:TAGGED]->(t)
                     FOREACH (_ IN CASE WHEN old IS NULL THEN [] ELSE [1] END | {uncount})
                     MERGE (f)-[r:TAGGED]->(t) SET r.score = 1.0, r.source = 'user'
                     {count}
                     WITH f, t OPTIONAL MATCH (f)-[x:REMOVED]->(t) DELETE x",
                ))
                .param("id", sid.clone())
                .param("add", change.add_tags().to_vec()),
            )
            .await
            .map_err(db_err)?;
            after_tag_change(txn, &sid, &[]).await?;
        }
        txn.run(
            query(
                "MATCH (f:File {id: $id})
                 SET f.shared_with = [x IN f.shared_with WHERE NOT x IN $unshare AND NOT x IN $share] + $share
                 SET f.viewers = reduce(v = f.owner, u IN f.shared_with | v + ' ' + u), f.updated_at = $now",
            )
            .param("id", sid.clone())
            .param("share", change.share_with().to_vec())
            .param("unshare", change.unshare().to_vec())
            .param("now", stored_time(Utc::now())),
        )
        .await
        .map_err(db_err)?;
        // The links the listing of shared files starts from (listing.rs).
        if change.share_with().len() + change.unshare().len() > 0 {
            txn.run(
                query(
                    "MATCH (f:File {id: $id})
                     CALL { WITH f MATCH (f)-[s:SHARED_WITH]->(u:User) WHERE u.id IN $unshare DELETE s }
                     WITH f UNWIND $share AS uid MATCH (u:User {id: uid})
                     MERGE (f)-[:SHARED_WITH]->(u)",
                )
                .param("id", sid)
                .param("share", change.share_with().to_vec())
                .param("unshare", change.unshare().to_vec()),
            )
            .await
            .map_err(db_err)?;
        }
        Ok(())
    }

    /// One attempt at `delete_file` (see there).
    async fn delete_file_once(&self, viewer: &str, id: FileId) -> Result<FileRecord> {
        let (mut txn, record) = self.owned_txn(viewer, id).await?;
        let sid = id.to_string();
        let mut orphans = file_tags(&mut txn, &sid).await?;
        let removed = txn_rows(
            &mut txn,
            query("MATCH (:File {id: $id})-[:REMOVED]->(t:Tag) RETURN t.name AS n")
                .param("id", sid.clone()),
        )
        .await?;
        for r in removed {
            orphans.push(r.get("n").map_err(de_err)?);
        }
        txn.run(delete_versions(id)).await.map_err(db_err)?;
        txn.run(
            query(&format!(
                "MATCH (f:File {{id: $id}}) {UNCOUNT_TERMS}
                 WITH f CALL (f) {{ MATCH (f)-[r:TAGGED]->(t:Tag) {uncount} }}
                 WITH f OPTIONAL MATCH (j:Job {{file_id: $id}})
                 DETACH DELETE j, f",
                uncount = count_tag_use("gone", "f.owner", "t.name", "r.source", -1),
            ))
            .param("id", sid),
        )
        .await
        .map_err(db_err)?;
        drop_orphans(&mut txn, &orphans).await?;
        txn.commit().await.map_err(db_err)?;
        Ok(record)
    }
}

#[async_trait]
impl FileCatalog for Neo4jGraphIndex {
    async fn create_file(&self, file: NewFile) -> Result<FileRecord> {
        self.creator.write(&self.graph, file).await
    }

    async fn get_file(&self, viewer: &str, id: FileId) -> Result<FileRecord> {
        self.one_file(
            query(&format!(
                "MATCH (f:File {{id: $id}}) WHERE {VISIBLE} RETURN {FILE_PROJECTION}"
            ))
            .param("id", id.to_string())
            .param("viewer", viewer),
            id,
        )
        .await
    }

    async fn get_files(&self, viewer: &str, ids: &[FileId]) -> Result<Vec<FileRecord>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
        let rows = self
            .rows(
                query(&format!(
                    "UNWIND range(0, size($ids) - 1) AS i
                     MATCH (f:File {{id: $ids[i]}}) WHERE {VISIBLE}
                     WITH f, i ORDER BY i
                     RETURN {FILE_PROJECTION}"
                ))
                .param("ids", ids)
                .param("viewer", viewer),
            )
            .await?;
        rows.iter()
            .filter_map(|r| file_from(r).transpose())
            .collect()
    }

    async fn list_files(&self, viewer: &str, q: &FileQuery) -> Result<Page<FileRecord>> {
        let read = self.tag_read(q).await?;
        if read == Some(TagRead::Nothing) {
            return Ok(Page {
                items: vec![],
                next_cursor: None,
            });
        }
        let cq = page_query(viewer, q, read.as_ref())?;
        let rows = self.rows(cq).await?;
        let items = rows
            .iter()
            .take(q.page_size())
            .filter_map(|r| file_from(r).transpose())
            .collect::<Result<Vec<_>>>()?;
        Ok(q.page(items, rows.len() > q.page_size()))
    }

    async fn update_file(
        &self,
        viewer: &str,
        id: FileId,
        change: &FileChange,
    ) -> Result<FileRecord> {
        // One transaction, locking the file's node as tagging does: all of
        // the change or none, and a deadlock with tagging is retried.
        retry_transient(|| async {
            let (mut txn, file) = self.owned_txn(viewer, id).await?;
            let checked = self.apply_change(&mut txn, &file, change).await;
            match checked {
                Ok(()) => txn.commit().await.map_err(db_err),
                Err(e) => {
                    let _ = txn.rollback().await;
                    Err(e)
                }
            }
        })
        .await?;
        self.get_file_internal(id).await
    }

    async fn delete_file(&self, viewer: &str, id: FileId) -> Result<FileRecord> {
        // Deleting races with tagging the same file (both lock its node and
        // its tags): a deadlock is retried, not reported.
        retry_transient(|| self.delete_file_once(viewer, id)).await
    }

    async fn all_file_ids(&self, after: Option<FileId>, limit: usize) -> Result<Vec<FileId>> {
        let rows = self
            .rows(
                query(
                    "MATCH (f:File) WHERE f.id > $after RETURN f.id AS id ORDER BY id LIMIT $limit",
                )
                .param("after", after.map(|a| a.to_string()).unwrap_or_default())
                .param("limit", i64::try_from(limit).unwrap_or(1000)),
            )
            .await?;
        rows.iter()
            .map(|r| {
                r.get::<String>("id")
                    .map_err(de_err)
                    .and_then(|s| s.parse().map_err(de_err))
            })
            .collect()
    }

    async fn get_file_internal(&self, id: FileId) -> Result<FileRecord> {
        self.one_file(
            query(&format!(
                "MATCH (f:File {{id: $id}}) RETURN {FILE_PROJECTION}"
            ))
            .param("id", id.to_string()),
            id,
        )
        .await
    }

    async fn file_by_object_key(&self, key: &str) -> Result<Option<FileId>> {
        let rows = self
            .rows(query("MATCH (f:File {object_key: $key}) RETURN f.id AS id").param("key", key))
            .await?;
        rows.first()
            .map(|r| {
                r.get::<String>("id")
                    .map_err(de_err)
                    .and_then(|s| s.parse().map_err(de_err))
            })
            .transpose()
    }
}
