//! Tags as users see them ([`TagStore`]), and the tag helpers writes share.

#[allow(unused_imports)]
use super::*;

pub(super) fn tag_id(conn: &Connection, name: &str) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached(
        "SELECT id FROM tags WHERE name = ?1
         UNION ALL SELECT tag_id FROM tag_aliases WHERE alias = ?1 LIMIT 1",
    )?
    .query_row([name], |r| r.get(0))
    .optional()
}

/// The tag `name` (or the tag it is an alias of) as `viewer` sees it: a tag
/// on none of the viewer's visible files does not exist for them, so its
/// name cannot be probed for.
pub(super) fn visible_tag_id(conn: &Connection, viewer: &str, name: &str) -> Result<i64> {
    let not_found = || Error::NotFound(format!("tag '{name}'"));
    let id = tag_id(conn, name).map_err(db_err)?.ok_or_else(not_found)?;
    let seen: bool = conn
        .query_row(
            &format!(
                "SELECT EXISTS (SELECT 1 FROM file_tags ft JOIN files f ON f.rowid = ft.file_rowid
                 WHERE ft.tag_id = :tag AND {VISIBLE})"
            ),
            rusqlite::named_params! {":tag": id, ":viewer": viewer},
            |r| r.get(0),
        )
        .map_err(db_err)?;
    if seen { Ok(id) } else { Err(not_found()) }
}

pub(super) fn ensure_tag(conn: &Connection, name: &str) -> rusqlite::Result<i64> {
    if let Some(id) = tag_id(conn, name)? {
        return Ok(id);
    }
    conn.prepare_cached("INSERT INTO tags(name) VALUES (?1)")?
        .execute([name])?;
    Ok(conn.last_insert_rowid())
}

/// Removes tags no file carries any more, among `candidates`.
pub(super) fn drop_orphan_tags(conn: &Connection, candidates: &[i64]) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(
        "DELETE FROM tags WHERE id = ?1
         AND NOT EXISTS (SELECT 1 FROM file_tags WHERE tag_id = ?1)
         AND NOT EXISTS (SELECT 1 FROM tag_aliases WHERE tag_id = ?1)
         AND NOT EXISTS (SELECT 1 FROM removed_tags WHERE tag_id = ?1)",
    )?;
    for id in candidates {
        stmt.execute([id])?;
    }
    Ok(())
}

pub(super) fn related_blocking(
    conn: &Connection,
    viewer: &str,
    tid: i64,
    limit: usize,
) -> Result<Vec<RelatedTag>> {
    let sql = format!(
        "SELECT t.name, COUNT(*) AS c FROM file_tags a
         JOIN file_tags b ON b.file_rowid = a.file_rowid AND b.tag_id <> a.tag_id
         JOIN tags t ON t.id = b.tag_id
         JOIN files f ON f.rowid = a.file_rowid
         WHERE a.tag_id = :tid AND {VISIBLE}
         GROUP BY b.tag_id ORDER BY c DESC, t.name LIMIT :limit"
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(db_err)?;
    stmt.query_map(
        rusqlite::named_params! {":tid": tid, ":viewer": viewer, ":limit": limit as i64},
        |r| {
            Ok(RelatedTag {
                name: r.get(0)?,
                count: r.get::<_, i64>(1)? as u64,
            })
        },
    )
    .map_err(db_err)?
    .collect::<rusqlite::Result<_>>()
    .map_err(db_err)
}

/// Tag infos from `(tag id, name, count)` rows, with each tag's aliases.
pub(super) fn with_aliases(c: &Connection, rows: Vec<(i64, String, i64)>) -> Result<Vec<TagInfo>> {
    with_aliases_and_sources(
        c,
        rows.into_iter()
            .map(|(id, name, count)| (id, name, count, String::new()))
            .collect(),
    )
}

/// Tag rows `(id, name, count, sources joined by ',')` as [`TagInfo`]s.
fn with_aliases_and_sources(
    c: &Connection,
    rows: Vec<(i64, String, i64, String)>,
) -> Result<Vec<TagInfo>> {
    let mut aliases = c
        .prepare_cached("SELECT alias FROM tag_aliases WHERE tag_id = ?1 ORDER BY alias")
        .map_err(db_err)?;
    rows.into_iter()
        .map(|(id, name, count, sources)| {
            Ok(TagInfo {
                name,
                count: count as u64,
                aliases: aliases
                    .query_map([id], |r| r.get(0))
                    .and_then(|r| r.collect())
                    .map_err(db_err)?,
                sources: tag_sources(sources.split(',')),
            })
        })
        .collect()
}

/// After a file's tags changed: its update time and full-text row follow,
/// and the file is read back as it now is.
/// Adds `tag` to a file as a user tag, clearing an earlier removal.
pub(super) fn add_user_tag_in(c: &Connection, rowid: i64, tag: &str) -> Result<()> {
    let tid = ensure_tag(c, tag).map_err(db_err)?;
    c.execute(
        "INSERT INTO file_tags(file_rowid, tag_id, score, source) VALUES (?1, ?2, 1.0, 'user')
         ON CONFLICT(file_rowid, tag_id) DO UPDATE SET source = 'user', score = 1.0",
        params![rowid, tid],
    )
    .map_err(db_err)?;
    c.execute(
        "DELETE FROM removed_tags WHERE file_rowid = ?1 AND tag_id = ?2",
        params![rowid, tid],
    )
    .map_err(db_err)?;
    Ok(())
}

/// Removes `tag` (or the tag it is an alias of) from a file, remembering
/// the removal so that re-tagging never brings it back; a tag the file
/// does not carry is left alone.
pub(super) fn remove_tag_in(c: &Connection, rowid: i64, tag: &str) -> Result<()> {
    let Some(tid) = tag_id(c, tag).map_err(db_err)? else {
        return Ok(());
    };
    let removed = c
        .execute(
            "DELETE FROM file_tags WHERE file_rowid = ?1 AND tag_id = ?2",
            params![rowid, tid],
        )
        .map_err(db_err)?;
    if removed > 0 {
        c.execute(
            "INSERT OR IGNORE INTO removed_tags(file_rowid, tag_id) VALUES (?1, ?2)",
            params![rowid, tid],
        )
        .map_err(db_err)?;
    }
    Ok(())
}

#[async_trait]
impl TagStore for SqliteGraphIndex {
    async fn list_tags(
        &self,
        viewer: &str,
        prefix: Option<&str>,
        limit: usize,
    ) -> Result<Vec<TagInfo>> {
        let (viewer, prefix) = (viewer.to_string(), prefix.map(str::to_string));
        self.read(move |c| {
            // The viewer's own files from the per-owner counts (the size
            // of their vocabulary, not of their files), the files shared
            // with them edge by edge.
            let sql = "WITH seen(tag_id, source, files) AS (
                     SELECT tag_id, source, files FROM owner_tag_counts WHERE owner = :viewer
                     UNION ALL
                     SELECT ft.tag_id, ft.source, 1 FROM shares s
                         JOIN files f ON f.rowid = s.file_rowid
                         JOIN file_tags ft ON ft.file_rowid = s.file_rowid
                     WHERE s.user_id = :viewer AND f.owner <> :viewer
                 )
                 SELECT t.id, t.name, sum(seen.files) AS c, group_concat(DISTINCT seen.source)
                 FROM seen JOIN tags t ON t.id = seen.tag_id
                 WHERE substr(t.name, 1, length(:prefix)) = :prefix
                 GROUP BY t.id ORDER BY c DESC, t.name LIMIT :limit";
            let mut stmt = c.prepare_cached(sql).map_err(db_err)?;
            let rows: Vec<(i64, String, i64, String)> = stmt
                .query_map(
                    rusqlite::named_params! {
                        ":viewer": viewer,
                        ":prefix": prefix.unwrap_or_default(),
                        ":limit": limit.clamp(1, 10_000) as i64,
                    },
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )
                .map_err(db_err)?
                .collect::<rusqlite::Result<_>>()
                .map_err(db_err)?;
            with_aliases_and_sources(c, rows)
        })
        .await
    }

    async fn related_tags(&self, viewer: &str, tag: &str, limit: usize) -> Result<Vec<RelatedTag>> {
        let (viewer, tag) = (viewer.to_string(), tag.to_string());
        self.read(move |c| {
            let tid = visible_tag_id(c, &viewer, &tag)?;
            related_blocking(c, &viewer, tid, limit.clamp(1, 1000))
        })
        .await
    }

    async fn set_rejected(&self, owner: &str, tag: &str, rejected: bool) -> Result<bool> {
        let (owner, tag) = (owner.to_string(), tag.to_string());
        self.write(move |c| {
            let sql = if rejected {
                "INSERT OR IGNORE INTO rejected_tags(owner, name) VALUES (?1, ?2)"
            } else {
                "DELETE FROM rejected_tags WHERE owner = ?1 AND name = ?2"
            };
            let n = c.execute(sql, params![owner, tag]).map_err(db_err)?;
            Ok(n > 0)
        })
        .await
    }

    async fn rejected_tags(&self, owner: &str) -> Result<Vec<String>> {
        let owner = owner.to_string();
        self.read(move |c| {
            c.prepare_cached("SELECT name FROM rejected_tags WHERE owner = ?1 ORDER BY name")
                .and_then(|mut s| s.query_map([owner], |r| r.get(0))?.collect())
                .map_err(db_err)
        })
        .await
    }

    async fn merge_tag(&self, from: &str, into: &str) -> Result<()> {
        let (from, into) = (from.to_string(), into.to_string());
        self.write(move |c| {
            let Some(from_id) = tag_id(c, &from).map_err(db_err)? else {
                return Err(Error::NotFound(format!("tag '{from}'")));
            };
            let into_id = ensure_tag(c, &into).map_err(db_err)?;
            if into_id == from_id {
                return Ok(());
            }
            let from_name: String = c
                .query_row("SELECT name FROM tags WHERE id = ?1", [from_id], |r| r.get(0))
                .map_err(db_err)?;
            let files: Vec<i64> = c
                .prepare_cached("SELECT file_rowid FROM file_tags WHERE tag_id = ?1")
                .and_then(|mut s| s.query_map([from_id], |r| r.get(0))?.collect())
                .map_err(db_err)?;
            c.execute(
                "INSERT INTO file_tags(file_rowid, tag_id, score, source)
                 SELECT file_rowid, ?2, score, source FROM file_tags WHERE tag_id = ?1
                 ON CONFLICT(file_rowid, tag_id) DO UPDATE SET
                    score = max(file_tags.score, excluded.score),
                    source = CASE WHEN excluded.source = 'user' THEN 'user' ELSE file_tags.source END",
                params![from_id, into_id],
            )
            .map_err(db_err)?;
            c.execute(
                "INSERT OR IGNORE INTO removed_tags(file_rowid, tag_id)
                 SELECT file_rowid, ?2 FROM removed_tags WHERE tag_id = ?1",
                params![from_id, into_id],
            )
            .map_err(db_err)?;
            c.execute(
                "UPDATE tag_aliases SET tag_id = ?2 WHERE tag_id = ?1",
                params![from_id, into_id],
            )
            .map_err(db_err)?;
            // Deleting the tag cascades to its edges and removals.
            c.execute("DELETE FROM tags WHERE id = ?1", [from_id])
                .map_err(db_err)?;
            c.execute(
                "INSERT OR REPLACE INTO tag_aliases(alias, tag_id) VALUES (?1, ?2)",
                params![from_name, into_id],
            )
            .map_err(db_err)?;
            for rowid in files {
                refresh_fts(c, rowid).map_err(db_err)?;
            }
            Ok(())
        })
        .await
    }
}
