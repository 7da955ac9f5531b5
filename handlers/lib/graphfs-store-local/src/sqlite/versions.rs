//! Versions ([`Versions`]): a row per earlier content of a file.

#[allow(unused_imports)]
use super::*;

fn version_row(r: &Row<'_>) -> rusqlite::Result<FileVersion> {
    let size: i64 = r.get(1)?;
    Ok(FileVersion {
        version: r.get(0)?,
        size: u64::try_from(size).unwrap_or(0),
        sha256: r.get(2)?,
        media_type: r.get(3)?,
        replaced_at: parse_stored_time(&r.get::<_, String>(4)?),
        object_key: r.get(5)?,
    })
}

/// The file's versions beyond the newest `keep`, removed; their keys.
fn drop_beyond(c: &Connection, rowid: i64, keep: u32) -> Result<Vec<String>> {
    let keys: Vec<String> = c
        .prepare_cached(
            "SELECT object_key FROM versions WHERE file_rowid = ?1
             ORDER BY version DESC LIMIT -1 OFFSET ?2",
        )
        .and_then(|mut s| {
            s.query_map(params![rowid, i64::from(keep)], |r| r.get(0))?
                .collect()
        })
        .map_err(db_err)?;
    for key in &keys {
        c.execute("DELETE FROM versions WHERE object_key = ?1", [key])
            .map_err(db_err)?;
    }
    Ok(keys)
}

#[async_trait]
impl Versions for SqliteGraphIndex {
    async fn replace_content(
        &self,
        id: FileId,
        content: &NewContent,
        keep: u32,
    ) -> Result<ContentReplaced> {
        let content = content.clone();
        self.write(move |c| {
            let f = find_any(c, id)?;
            let old = &f.record;
            let mut unreferenced = Vec::new();
            if content.object_key != old.object_key {
                let number: u32 = c
                    .query_row(
                        "UPDATE files SET versions_made = versions_made + 1 WHERE rowid = ?1
                         RETURNING versions_made",
                        [f.rowid],
                        |r| r.get(0),
                    )
                    .map_err(db_err)?;
                c.execute(
                    "INSERT INTO versions(file_rowid, version, object_key, size, sha256, media_type, replaced_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![
                        f.rowid,
                        number,
                        old.object_key,
                        i64::try_from(old.size).unwrap_or(i64::MAX),
                        old.sha256,
                        old.media_type,
                        stored_time(now())
                    ],
                )
                .map_err(db_err)?;
                unreferenced = drop_beyond(c, f.rowid, keep)?;
            }
            c.execute(
                "UPDATE files SET object_key = ?2, size = ?3, sha256 = ?4, media_type = ?5, updated_at = ?6
                 WHERE rowid = ?1",
                params![
                    f.rowid,
                    content.object_key,
                    i64::try_from(content.size).unwrap_or(i64::MAX),
                    content.sha256,
                    content.media_type,
                    stored_time(now())
                ],
            )
            .map_err(db_err)?;
            queue_again(c, f.rowid, &f.record.owner)?;
            let f = find_any(c, id)?;
            let file = complete(c, f).map_err(db_err)?;
            Ok(ContentReplaced { file, unreferenced })
        })
        .await
    }

    async fn versions(&self, viewer: &str, id: FileId) -> Result<Vec<FileVersion>> {
        let viewer = viewer.to_string();
        self.read(move |c| {
            let f = find_visible(c, &viewer, id)?;
            c.prepare_cached(
                "SELECT version, size, sha256, media_type, replaced_at, object_key
                 FROM versions WHERE file_rowid = ?1 ORDER BY version DESC",
            )
            .and_then(|mut s| s.query_map([f.rowid], version_row)?.collect())
            .map_err(db_err)
        })
        .await
    }

    async fn bytes_stored(&self, owner: &str) -> Result<u64> {
        let owner = owner.to_string();
        self.read(move |c| {
            let bytes: i64 = c
                .query_row(
                    "SELECT (SELECT COALESCE(SUM(size), 0) FROM files WHERE owner = ?1)
                          + (SELECT COALESCE(SUM(v.size), 0) FROM versions v
                             JOIN files f ON f.rowid = v.file_rowid WHERE f.owner = ?1)",
                    [owner],
                    |r| r.get(0),
                )
                .map_err(db_err)?;
            Ok(u64::try_from(bytes).unwrap_or(0))
        })
        .await
    }

    async fn object_in_use(&self, key: &str) -> Result<bool> {
        let key = key.to_string();
        self.read(move |c| {
            c.query_row(
                "SELECT EXISTS (SELECT 1 FROM files WHERE object_key = ?1)
                     OR EXISTS (SELECT 1 FROM versions WHERE object_key = ?1)",
                [key],
                |r| r.get(0),
            )
            .map_err(db_err)
        })
        .await
    }
}
