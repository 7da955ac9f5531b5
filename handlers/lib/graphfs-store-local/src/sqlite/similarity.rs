//! Embeddings and SIMILAR edges ([`Similarity`]): nearest files from the
//! semantic graph when it is built (`semantic.rs`), else an exact scan.

#[allow(unused_imports)]
use super::*;

pub(super) fn vector_from_blob(blob: &[u8]) -> Vec<f32> {
    blob.chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// The recorded embedding model and its vector length, if any.
pub(super) fn embedding_model(c: &Connection) -> Result<Option<(String, usize)>> {
    let get = |key: &str| -> Result<Option<String>> {
        c.prepare_cached("SELECT value FROM settings WHERE key = ?1")
            .and_then(|mut s| s.query_row([key], |r| r.get(0)).optional())
            .map_err(db_err)
    };
    Ok(
        match (get("embedding_model")?, get("embedding_dimensions")?) {
            (Some(m), Some(d)) => d.parse().ok().map(|d| (m, d)),
            _ => None,
        },
    )
}

#[async_trait]
impl Similarity for SqliteGraphIndex {
    async fn use_embedding_model(&self, model: &str, dimensions: usize) -> Result<u64> {
        let model = model.to_string();
        self.write(move |c| {
            if embedding_model(c)? == Some((model.clone(), dimensions)) {
                return Ok(None);
            }
            for (key, value) in [
                ("embedding_model", model.clone()),
                ("embedding_dimensions", dimensions.to_string()),
            ] {
                c.execute(
                    "INSERT INTO settings(key, value) VALUES (?1, ?2)
                     ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    params![key, value],
                )
                .map_err(db_err)?;
            }
            // Vectors of another model are not comparable with the new
            // ones: drop them, and embed every file again.
            c.execute_batch("DELETE FROM file_embeddings; DELETE FROM similar;")
                .map_err(db_err)?;
            let queued = c
                .execute(
                    // Turns after what is queued, in file order: new
                    // uploads still get turns among them.
                    "INSERT INTO jobs(file_rowid, due_at, vtag)
                     SELECT rowid, ?1, COALESCE((SELECT MIN(vtag) FROM jobs), 0) + rowid FROM files WHERE true
                     ON CONFLICT(file_rowid) DO UPDATE SET again = worker IS NOT NULL",
                    [millis(now())],
                )
                .map_err(db_err)?;
            c.execute(
                "UPDATE files SET status = 'pending', status_reason = NULL
                 WHERE status <> 'running' AND rowid IN (SELECT file_rowid FROM jobs)",
                [],
            )
            .map_err(db_err)?;
            Ok(Some(queued as u64))
        })
        .await
        .map(|queued| match queued {
            Some(n) => {
                self.inner.semantic.reset();
                n
            }
            None => 0,
        })
    }

    async fn similar_files(
        &self,
        viewer: &str,
        id: FileId,
        limit: usize,
    ) -> Result<Vec<SimilarFile>> {
        let viewer = viewer.to_string();
        self.read(move |c| {
            let f = find_visible(c, &viewer, id)?;
            let sql = format!(
                "SELECT f.id, f.name, x.score FROM (
                     SELECT other_rowid AS r, score FROM similar WHERE file_rowid = :rowid
                     UNION SELECT file_rowid AS r, score FROM similar WHERE other_rowid = :rowid
                 ) x JOIN files f ON f.rowid = x.r WHERE {VISIBLE}
                 GROUP BY f.rowid ORDER BY MAX(x.score) DESC, f.id LIMIT :limit"
            );
            let mut stmt = c.prepare_cached(&sql).map_err(db_err)?;
            let rows: Vec<(String, String, f64)> = stmt
                .query_map(
                    rusqlite::named_params! {":rowid": f.rowid, ":viewer": viewer, ":limit": limit.clamp(1, 1000) as i64},
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .map_err(db_err)?
                .collect::<rusqlite::Result<_>>()
                .map_err(db_err)?;
            Ok(rows
                .into_iter()
                .filter_map(|(id, name, score)| {
                    Some(SimilarFile {
                        id: id.parse().ok()?,
                        name,
                        score: score as f32,
                    })
                })
                .collect())
        })
        .await
    }

    async fn set_similar(&self, id: FileId, similar: &[(FileId, f32)]) -> Result<()> {
        let similar = similar.to_vec();
        self.write(move |c| {
            let f = find_any(c, id)?;
            c.execute("DELETE FROM similar WHERE file_rowid = ?1", [f.rowid])
                .map_err(db_err)?;
            for (other, score) in similar {
                if other == id {
                    continue;
                }
                // A neighbour deleted meanwhile is simply skipped.
                c.execute(
                    "INSERT OR REPLACE INTO similar(file_rowid, other_rowid, score)
                     SELECT ?1, rowid, ?3 FROM files WHERE id = ?2",
                    params![f.rowid, other.to_string(), score as f64],
                )
                .map_err(db_err)?;
            }
            Ok(())
        })
        .await
    }

    async fn nearest_files(
        &self,
        viewer: Option<&str>,
        embedding: &[f32],
        limit: usize,
    ) -> Result<Vec<(FileId, f32)>> {
        let (viewer, query) = (viewer.map(str::to_string), embedding.to_vec());
        let inner = self.inner.clone();
        self.read(move |c| {
            if let Some(found) = inner
                .semantic
                .nearest(c, viewer.as_deref(), &query, limit)?
            {
                return Ok(found);
            }
            // An exact scan: the collection is small, the graph is being
            // built, or the viewer may see too few files for the graph to
            // find them. A viewer's scan reads only what they may see (their
            // files, then those shared with them: VISIBLE, by the indexes).
            let sql = match viewer {
                Some(_) => {
                    "SELECT f.id, e.vector FROM files f JOIN file_embeddings e ON e.file_rowid = f.rowid
                     WHERE f.owner = :viewer
                     UNION ALL
                     SELECT f.id, e.vector FROM shares s JOIN files f ON f.rowid = s.file_rowid
                       JOIN file_embeddings e ON e.file_rowid = f.rowid
                     WHERE s.user_id = :viewer AND f.owner <> :viewer"
                }
                None => {
                    "SELECT f.id, e.vector FROM file_embeddings e JOIN files f ON f.rowid = e.file_rowid
                     WHERE :viewer IS NULL"
                }
            };
            let mut stmt = c.prepare_cached(sql).map_err(db_err)?;
            let mut scanned = 0;
            let mut scored: Vec<(FileId, f32)> = stmt
                .query_map(rusqlite::named_params! {":viewer": viewer}, |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
                })
                .map_err(db_err)?
                .filter_map(|row| {
                    let (id, blob) = row.ok()?;
                    scanned += 1;
                    Some((id.parse().ok()?, cosine(&query, &vector_from_blob(&blob))))
                })
                .collect();
            inner.semantic.scanned();
            SqliteGraphIndex::build_in_background(&inner, scanned);
            scored.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            scored.truncate(limit);
            Ok(scored)
        })
        .await
    }
}
