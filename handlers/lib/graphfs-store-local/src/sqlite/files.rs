//! File rows ([`FileCatalog`]): create, list with cursors, change, delete.

#[allow(unused_imports)]
use super::*;

/// Tagged files at which a listing by tag stops reading every one of them
/// and walks the owner's files in the listing's order instead, each checked
/// for the tag, until the page is full. Below it the tagged files are read
/// and sorted (a walk could read the whole store for a rare tag); above it
/// the walk reads about limit ÷ (the tag's share of the files) files.
const TAG_WALK_MIN: i64 = 2000;

/// The listing is the owner's files (walked in order through the
/// `(owner, key, id)` indexes, so a page costs a page, not the store) and
/// the files shared with the viewer, each limited to the page and merged.
pub(super) fn list_files_blocking(
    conn: &Connection,
    viewer: &str,
    q: &FileQuery,
) -> Result<Page<FileRecord>> {
    // Conditions on `f` that both halves share, and the rows they start from.
    let mut conds = String::new();
    let mut source = "files f".to_string();
    let mut args: Vec<(String, rusqlite::types::Value)> =
        vec![(":viewer".into(), viewer.to_string().into())];
    if !q.tags.is_empty() {
        let mut ids = Vec::new();
        for t in &q.tags {
            match tag_id(conn, t).map_err(db_err)? {
                Some(id) => ids.push(id),
                // An unknown tag matches nothing under ALL, and adds nothing under ANY.
                None if q.tag_match == TagMatch::All => {
                    return Ok(Page {
                        items: vec![],
                        next_cursor: None,
                    });
                }
                None => {}
            }
        }
        ids.sort_unstable();
        ids.dedup();
        if ids.is_empty() {
            return Ok(Page {
                items: vec![],
                next_cursor: None,
            });
        }
        // The ids are integers from our own table, not user text.
        let list = ids
            .iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(",");
        let need = if q.tag_match == TagMatch::All {
            ids.len()
        } else {
            1
        };
        let tagged: i64 = conn
            .query_row(
                &format!(
                    "SELECT COUNT(*) FROM (SELECT 1 FROM file_tags WHERE tag_id IN ({list}) LIMIT {TAG_WALK_MIN})"
                ),
                [],
                |r| r.get(0),
            )
            .map_err(db_err)?;
        if tagged < TAG_WALK_MIN {
            // CROSS JOIN: the tagged files are the outer loop.
            source = format!(
                "(SELECT file_rowid FROM file_tags WHERE tag_id IN ({list})
                  GROUP BY file_rowid HAVING COUNT(*) >= {need}) tagged
                 CROSS JOIN files f ON f.rowid = tagged.file_rowid"
            );
        } else {
            conds.push_str(&format!(
                " AND (SELECT COUNT(*) FROM file_tags t
                       WHERE t.file_rowid = f.rowid AND t.tag_id IN ({list})) >= {need}"
            ));
        }
    }
    if let Some(mt) = &q.media_type {
        if mt.ends_with('/') {
            conds.push_str(" AND substr(f.media_type, 1, length(:mt)) = :mt");
        } else {
            conds.push_str(" AND f.media_type = :mt");
        }
        args.push((":mt".into(), mt.clone().into()));
    }
    if let Some(cond) = q
        .folder
        .as_ref()
        .and_then(|fd| folder_condition(fd).map(|c| (c, fd.path.clone())))
    {
        conds.push_str(cond.0);
        args.push((":fd".into(), cond.1.into()));
    }
    if let Some(p) = &q.name_prefix {
        // The range lets the (owner, name) index find the names; the prefix
        // test keeps the answer exact.
        conds.push_str(" AND f.name >= :np AND substr(f.name, 1, length(:np)) = :np");
        args.push((":np".into(), p.clone().into()));
        if let Some(end) = prefix_end(p) {
            conds.push_str(" AND f.name < :np_end");
            args.push((":np_end".into(), end.into()));
        }
    }
    if let Some(s) = q.status {
        conds.push_str(" AND f.status = :status");
        args.push((":status".into(), s.as_str().to_string().into()));
    }
    let Keyset { field, cmp, dir } = Keyset::of(q.sort, q.order);
    let key_col = format!("f.{field}");
    if let Some(c) = &q.cursor {
        let c = Cursor::decode(c)?;
        let key: rusqlite::types::Value = match c.key(q.sort)? {
            CursorKey::Text(s) => s.into(),
            CursorKey::Number(n) => n.into(),
        };
        conds.push_str(&format!(
            " AND ({key_col} {cmp} :ck OR ({key_col} = :ck AND f.id {cmp} :cid))"
        ));
        args.push((":ck".into(), key));
        args.push((":cid".into(), c.id.into()));
    }
    let limit = q.page_size();
    let page = |whose: &str| {
        format!(
            "SELECT {FILE_COLUMNS} FROM {source} WHERE {whose}{conds}
             ORDER BY {key_col} {dir}, f.id {dir} LIMIT {}",
            limit + 1
        )
    };
    let own = page("f.owner = :viewer");
    let shared = page(
        "f.owner <> :viewer AND f.rowid IN (SELECT file_rowid FROM shares WHERE user_id = :viewer)",
    );
    let sql = match q.shared {
        Some(false) => own,
        Some(true) => shared,
        None => format!(
            "SELECT * FROM (SELECT * FROM ({own}) UNION ALL SELECT * FROM ({shared}))
             ORDER BY {field} {dir}, id {dir} LIMIT {}",
            limit + 1
        ),
    };
    let mut stmt = conn.prepare_cached(&sql).map_err(db_err)?;
    let named: Vec<(&str, &dyn rusqlite::ToSql)> = args
        .iter()
        .map(|(k, v)| (k.as_str(), v as &dyn rusqlite::ToSql))
        .collect();
    let rows: Vec<FileRow> = stmt
        .query_map(named.as_slice(), file_from_row)
        .map_err(db_err)?
        .collect::<rusqlite::Result<_>>()
        .map_err(db_err)?;
    let more = rows.len() > limit;
    let mut items = Vec::with_capacity(limit);
    for r in rows.into_iter().take(limit) {
        items.push(complete(conn, r).map_err(db_err)?);
    }
    Ok(q.page(items, more))
}

/// The least string above every string that starts with `prefix`: its last
/// character moved on by one. `None` when there is none to move to.
fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = (u32::from(last) + 1..=u32::from(char::MAX)).find_map(char::from_u32);
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

#[async_trait]
impl FileCatalog for SqliteGraphIndex {
    async fn create_file(&self, file: NewFile) -> Result<FileRecord> {
        self.write(move |c| {
            let now = now();
            c.execute(
                "INSERT OR IGNORE INTO users(id, created_at) VALUES (?1, ?2)",
                params![file.owner, stored_time(now)],
            )
            .map_err(db_err)?;
            check_name_free(c, &file.owner, &file.folder, &file.name, None)?;
            make_folders(c, &file.owner, &file.folder)?;
            c.execute(
                "INSERT INTO files(id, owner, name, size, sha256, media_type, created_at, updated_at, status, object_key, folder)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, 'pending', ?8, ?9)",
                params![
                    file.id.to_string(),
                    file.owner,
                    file.name,
                    file.size as i64,
                    file.sha256,
                    file.media_type,
                    stored_time(now),
                    file.object_key,
                    file.folder
                ],
            )
            .map_err(db_err)?;
            let rowid = c.last_insert_rowid();
            let turn = next_turn(c, &file.owner)?;
            c.execute(
                "INSERT INTO jobs(file_rowid, due_at, vtag) VALUES (?1, ?2, ?3)",
                params![rowid, millis(now), turn],
            )
            .map_err(db_err)?;
            refresh_fts(c, rowid).map_err(db_err)?;
            let row = find_any(c, file.id)?;
            complete(c, row).map_err(db_err)
        })
        .await
    }

    async fn get_file(&self, viewer: &str, id: FileId) -> Result<FileRecord> {
        let viewer = viewer.to_string();
        self.read(move |c| {
            let f = find_visible(c, &viewer, id)?;
            complete(c, f).map_err(db_err)
        })
        .await
    }

    async fn get_files(&self, viewer: &str, ids: &[FileId]) -> Result<Vec<FileRecord>> {
        let (viewer, ids) = (viewer.to_string(), ids.to_vec());
        self.read(move |c| {
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                match find_visible(c, &viewer, id) {
                    Ok(f) => out.push(complete(c, f).map_err(db_err)?),
                    Err(e) if e.is_not_found() => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(out)
        })
        .await
    }

    async fn list_files(&self, viewer: &str, query: &FileQuery) -> Result<Page<FileRecord>> {
        let (viewer, query) = (viewer.to_string(), query.clone());
        self.read(move |c| list_files_blocking(c, &viewer, &query))
            .await
    }

    async fn update_file(
        &self,
        viewer: &str,
        id: FileId,
        change: &FileChange,
    ) -> Result<FileRecord> {
        let (viewer, change) = (viewer.to_string(), change.clone());
        // One transaction: a failure anywhere (an unknown user) changes nothing.
        self.write(move |c| {
            let f = find_owned(c, &viewer, id)?;
            for user in change.users() {
                if user == f.record.owner {
                    return Err(share_with_owner());
                }
                let known: bool = c
                    .query_row(
                        "SELECT EXISTS (SELECT 1 FROM users WHERE id = ?1)",
                        [user],
                        |r| r.get(0),
                    )
                    .map_err(db_err)?;
                if !known {
                    return Err(unknown_user(user));
                }
            }
            if change.name().is_some() || change.folder().is_some() {
                let folder = change.folder().unwrap_or(&f.record.folder);
                let name = change.name().unwrap_or(&f.record.name);
                check_name_free(c, &f.record.owner, folder, name, Some(f.rowid))?;
            }
            if let Some(name) = change.name() {
                c.execute(
                    "UPDATE files SET name = ?2 WHERE rowid = ?1",
                    params![f.rowid, name],
                )
                .map_err(db_err)?;
            }
            if let Some(folder) = change.folder() {
                make_folders(c, &f.record.owner, folder)?;
                c.execute(
                    "UPDATE files SET folder = ?2 WHERE rowid = ?1",
                    params![f.rowid, folder],
                )
                .map_err(db_err)?;
            }
            for t in change.remove_tags() {
                remove_tag_in(c, f.rowid, t)?;
            }
            for t in change.add_tags() {
                add_user_tag_in(c, f.rowid, t)?;
            }
            let mut readers_changed = false;
            for u in change.share_with() {
                c.execute(
                    "INSERT OR IGNORE INTO shares(file_rowid, user_id) VALUES (?1, ?2)",
                    params![f.rowid, u],
                )
                .map_err(db_err)?;
                readers_changed = true;
            }
            for u in change.unshare() {
                c.execute(
                    "DELETE FROM shares WHERE file_rowid = ?1 AND user_id = ?2",
                    params![f.rowid, u],
                )
                .map_err(db_err)?;
                readers_changed = true;
            }
            if readers_changed && !(change.name().is_some() || change.touches_tags()) {
                // The ranking index keeps who may read each file.
                log_text_change(c, f.rowid).map_err(db_err)?;
            }
            c.execute(
                "UPDATE files SET updated_at = ?2 WHERE rowid = ?1",
                params![f.rowid, stored_time(now())],
            )
            .map_err(db_err)?;
            if change.name().is_some() || change.touches_tags() {
                refresh_fts(c, f.rowid).map_err(db_err)?;
            }
            let f = find_any(c, id)?;
            complete(c, f).map_err(db_err)
        })
        .await
    }

    async fn delete_file(&self, viewer: &str, id: FileId) -> Result<FileRecord> {
        let viewer = viewer.to_string();
        self.write(move |c| {
            let f = find_owned(c, &viewer, id)?;
            let rowid = f.rowid;
            let record = complete(c, f).map_err(db_err)?;
            let tag_ids: Vec<i64> = c
                .prepare(
                    "SELECT tag_id FROM file_tags WHERE file_rowid = ?1
                          UNION SELECT tag_id FROM removed_tags WHERE file_rowid = ?1",
                )
                .and_then(|mut s| s.query_map([rowid], |r| r.get(0))?.collect())
                .map_err(db_err)?;
            c.execute("DELETE FROM files_fts WHERE rowid = ?1", [rowid])
                .map_err(db_err)?;
            log_text_change(c, rowid).map_err(db_err)?;
            count_terms(c, rowid, -1).map_err(db_err)?;
            // Edges, shares, jobs and terms go with the node (ON DELETE CASCADE).
            c.execute("DELETE FROM files WHERE rowid = ?1", [rowid])
                .map_err(db_err)?;
            drop_orphan_tags(c, &tag_ids).map_err(db_err)?;
            Ok(record)
        })
        .await
    }

    async fn all_file_ids(&self, after: Option<FileId>, limit: usize) -> Result<Vec<FileId>> {
        self.read(move |c| {
            let after = after.map(|a| a.to_string()).unwrap_or_default();
            let mut stmt = c
                .prepare_cached("SELECT id FROM files WHERE id > ?1 ORDER BY id LIMIT ?2")
                .map_err(db_err)?;
            let ids: Vec<String> = stmt
                .query_map(params![after, limit as i64], |r| r.get(0))
                .map_err(db_err)?
                .collect::<rusqlite::Result<_>>()
                .map_err(db_err)?;
            Ok(ids.iter().filter_map(|s| s.parse().ok()).collect())
        })
        .await
    }

    async fn get_file_internal(&self, id: FileId) -> Result<FileRecord> {
        self.read(move |c| {
            let f = find_any(c, id)?;
            complete(c, f).map_err(db_err)
        })
        .await
    }

    async fn file_by_object_key(&self, key: &str) -> Result<Option<FileId>> {
        let key = key.to_string();
        self.read(move |c| {
            let id: Option<String> = c
                .prepare_cached("SELECT id FROM files WHERE object_key = ?1")
                .and_then(|mut s| s.query_row([key], |r| r.get(0)).optional())
                .map_err(db_err)?;
            id.map(|s| s.parse().map_err(Error::internal)).transpose()
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::prefix_end;

    #[test]
    fn a_prefix_ends_where_its_last_character_moves_on() {
        assert_eq!(prefix_end("f-1").as_deref(), Some("f-2"));
        assert_eq!(prefix_end("报告").as_deref(), Some("报呋"));
        // Surrogates are no characters: the next one is U+E000.
        assert_eq!(prefix_end("a\u{D7FF}").as_deref(), Some("a\u{E000}"));
        assert_eq!(prefix_end("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_end("\u{10FFFF}"), None);
        assert_eq!(prefix_end(""), None);
        // Every name with the prefix sorts below the end, as SQLite compares.
        for name in ["f-1", "f-1\u{10FFFF}zz", "f-19999"] {
            assert!(name < prefix_end("f-1").unwrap().as_str());
        }
    }
}
