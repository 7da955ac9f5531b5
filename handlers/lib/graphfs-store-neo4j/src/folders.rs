//! Folders ([`Folders`]): a `Folder {owner, path}` node per folder of each
//! owner, the root left out; a file's folder is its `folder` property.

#[allow(unused_imports)]
use super::*;

/// Cypher that makes the folders `$ancestry` of `$owner` (each path from
/// the top down, [`folder_ancestry`]) that do not exist yet, at `$now`.
pub(super) const MERGE_FOLDERS: &str = "FOREACH (p IN $ancestry |
    MERGE (d:Folder {owner: $owner, path: p}) ON CREATE SET d.created_at = $now)";

/// Makes `path` and its missing ancestors for `owner` inside `txn`;
/// whether `path` itself was new.
pub(super) async fn make_folders(txn: &mut Txn, owner: &str, path: &str) -> Result<bool> {
    let ancestry = folder_ancestry(path);
    if ancestry.is_empty() {
        return Ok(false);
    }
    let rows = txn_rows(
        txn,
        query(&format!(
            "OPTIONAL MATCH (x:Folder {{owner: $owner, path: $path}})
             WITH x IS NULL AS fresh
             {MERGE_FOLDERS}
             RETURN fresh"
        ))
        .param("owner", owner)
        .param("path", path)
        .param("ancestry", ancestry)
        .param("now", stored_time(Utc::now())),
    )
    .await?;
    Ok(rows
        .first()
        .and_then(|r| r.get::<bool>("fresh").ok())
        .unwrap_or(false))
}

async fn exists(txn: &mut Txn, owner: &str, path: &str) -> Result<bool> {
    if path == ROOT_FOLDER {
        return Ok(true);
    }
    let rows = txn_rows(
        txn,
        query("MATCH (d:Folder {owner: $owner, path: $path}) RETURN count(d) > 0 AS found")
            .param("owner", owner)
            .param("path", path),
    )
    .await?;
    rows.first()
        .map(|r| r.get::<bool>("found").map_err(de_err))
        .unwrap_or(Ok(false))
}

/// Runs `body` in a write transaction, committed when it succeeds.
async fn in_txn<T>(graph: &Graph, body: impl AsyncFnOnce(&mut Txn) -> Result<T>) -> Result<T> {
    let mut txn = graph.start_txn().await.map_err(db_err)?;
    match body(&mut txn).await {
        Ok(out) => {
            txn.commit().await.map_err(db_err)?;
            Ok(out)
        }
        Err(e) => {
            let _ = txn.rollback().await;
            Err(e)
        }
    }
}

/// The Cypher condition (on `f.folder`, bound to `$fd` and `$fds`) that
/// keeps to the files of a folder filter, with its parameters; none when
/// it keeps everything (the root and all beneath it).
pub(super) fn folder_condition(fd: &FolderFilter) -> Option<(&'static str, String, String)> {
    if !fd.subfolders {
        Some(("f.folder = $fd", fd.path.clone(), String::new()))
    } else if fd.path != ROOT_FOLDER {
        Some((
            "(f.folder = $fd OR f.folder STARTS WITH $fds)",
            fd.path.clone(),
            format!("{}/", fd.path),
        ))
    } else {
        None
    }
}

/// `Conflict` when another file than `except` of `owner` has `name` in
/// `folder`. The owner's node is locked first, so the check holds until the
/// caller's transaction ends: two writers of one name go one at a time.
pub(super) async fn check_name_free(
    txn: &mut Txn,
    owner: &str,
    folder: &str,
    name: &str,
    except: Option<FileId>,
) -> Result<()> {
    let rows = txn_rows(
        txn,
        query(
            "MERGE (u:User {id: $owner}) ON CREATE SET u.created_at = $now
             SET u._lock = true REMOVE u._lock
             WITH u OPTIONAL MATCH (f:File {owner: $owner, folder: $folder, name: $name})
             WHERE f.id <> $except
             RETURN count(f) AS n",
        )
        .param("owner", owner)
        .param("folder", folder)
        .param("name", name)
        .param("except", except.map(|e| e.to_string()).unwrap_or_default())
        .param("now", stored_time(Utc::now())),
    )
    .await?;
    let taken: i64 = match rows.first() {
        Some(r) => r.get("n").map_err(de_err)?,
        None => 0,
    };
    if taken > 0 {
        Err(name_taken(folder, name))
    } else {
        Ok(())
    }
}

#[async_trait]
impl Folders for Neo4jGraphIndex {
    async fn create_folder(&self, owner: &str, path: &str) -> Result<bool> {
        if path == ROOT_FOLDER {
            return Ok(false);
        }
        retry_transient(|| {
            in_txn(&self.graph, async |txn| {
                make_folders(txn, owner, path).await
            })
        })
        .await
    }

    async fn folder_exists(&self, owner: &str, path: &str) -> Result<bool> {
        in_txn(&self.graph, async |txn| exists(txn, owner, path).await).await
    }

    async fn subfolders(&self, owner: &str, parent: &str) -> Result<Vec<FolderInfo>> {
        let prefix = if parent == ROOT_FOLDER {
            "/".to_string()
        } else {
            format!("{parent}/")
        };
        let rows = self
            .rows(
                query(
                    "MATCH (d:Folder {owner: $owner}) WHERE d.path STARTS WITH $prefix
                       AND NOT substring(d.path, size($prefix)) CONTAINS '/'
                     RETURN d.path AS path, d.created_at AS created ORDER BY path",
                )
                .param("owner", owner)
                .param("prefix", prefix),
            )
            .await?;
        rows.iter()
            .map(|r| {
                let path: String = r.get("path").map_err(de_err)?;
                let created: Option<String> = r.get("created").map_err(de_err)?;
                Ok(FolderInfo {
                    name: folder_name(&path).to_string(),
                    created_at: parse_stored_time(created.as_deref().unwrap_or_default()),
                    path,
                })
            })
            .collect()
    }

    async fn file_at(&self, owner: &str, folder: &str, name: &str) -> Result<Option<FileRecord>> {
        let rows = self
            .rows(
                query(&format!(
                    "MATCH (f:File {{owner: $owner, folder: $folder, name: $name}})
                     WITH f ORDER BY f.created_at DESC, f.id DESC LIMIT 1
                     RETURN {FILE_PROJECTION}"
                ))
                .param("owner", owner)
                .param("folder", folder)
                .param("name", name),
            )
            .await?;
        Ok(rows.first().map(file_from).transpose()?.flatten())
    }

    async fn delete_folder(&self, owner: &str, path: &str) -> Result<()> {
        if path == ROOT_FOLDER {
            return Err(Error::InvalidInput(
                "the root folder cannot be removed".into(),
            ));
        }
        retry_transient(|| {
            in_txn(&self.graph, async |txn| {
                let rows = txn_rows(
                    txn,
                    query(
                        "MATCH (d:Folder {owner: $owner, path: $path})
                         SET d._lock = true REMOVE d._lock
                         WITH d,
                              EXISTS { MATCH (f:File {owner: $owner})
                                       WHERE f.folder = $path OR f.folder STARTS WITH $below } AS files,
                              EXISTS { MATCH (c:Folder {owner: $owner})
                                       WHERE c.path STARTS WITH $below } AS folders
                         FOREACH (_ IN CASE WHEN files OR folders THEN [] ELSE [1] END | DELETE d)
                         RETURN files OR folders AS busy",
                    )
                    .param("owner", owner)
                    .param("path", path)
                    .param("below", format!("{path}/")),
                )
                .await?;
                match rows.first().map(|r| r.get::<bool>("busy")) {
                    None => Err(Error::NotFound(format!("folder '{path}'"))),
                    Some(Ok(true)) => Err(Error::Conflict(format!("folder '{path}' is not empty"))),
                    Some(Ok(false)) => Ok(()),
                    Some(Err(e)) => Err(de_err(e)),
                }
            })
        })
        .await
    }

    async fn move_folder(&self, owner: &str, from: &str, to: &str) -> Result<u64> {
        check_folder_move(from, to)?;
        retry_transient(|| {
            in_txn(&self.graph, async |txn| {
                if !exists(txn, owner, from).await? {
                    return Err(Error::NotFound(format!("folder '{from}'")));
                }
                if exists(txn, owner, to).await? {
                    return Err(Error::Conflict(format!("folder '{to}' already exists")));
                }
                if let Some(parent) = parent_folder(to) {
                    make_folders(txn, owner, parent).await?;
                }
                // '/from/rest' becomes '/to/rest': keep what follows the old prefix.
                txn.run(
                    query(
                        "MATCH (d:Folder {owner: $owner})
                         WHERE d.path = $from OR d.path STARTS WITH $below
                         SET d.path = $to + substring(d.path, size($from))",
                    )
                    .param("owner", owner)
                    .param("from", from)
                    .param("below", format!("{from}/"))
                    .param("to", to),
                )
                .await
                .map_err(db_err)?;
                let rows = txn_rows(
                    txn,
                    query(
                        "MATCH (f:File {owner: $owner})
                         WHERE f.folder = $from OR f.folder STARTS WITH $below
                         SET f.folder = $to + substring(f.folder, size($from))
                         RETURN count(f) AS n",
                    )
                    .param("owner", owner)
                    .param("from", from)
                    .param("below", format!("{from}/"))
                    .param("to", to),
                )
                .await?;
                let n = rows
                    .first()
                    .map(|r| r.get::<i64>("n").map_err(de_err))
                    .transpose()?
                    .unwrap_or(0);
                Ok(u64::try_from(n).unwrap_or(0))
            })
        })
        .await
    }
}
