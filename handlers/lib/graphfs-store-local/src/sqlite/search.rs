//! Ranked full-text search ([`TextSearch`]) over FTS5 with snippets.

#[allow(unused_imports)]
use super::*;

pub(super) fn search_blocking(
    conn: &Connection,
    viewer: &str,
    query: &str,
    folder: Option<&FolderFilter>,
    limit: usize,
) -> Result<Vec<SearchHit>> {
    let limit = limit.clamp(1, 200);
    let terms = fts_query(query, true);
    if terms.is_empty() {
        return Ok(vec![]);
    }
    let lowered: Vec<String> = query
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    let in_folder = folder.and_then(folder_condition).unwrap_or_default();
    let limit = limit as i64;
    // All terms first; when that finds nothing, any term.
    for joiner in [" AND ", " OR "] {
        let expr = terms.join(joiner);
        let sql = format!(
            "SELECT {FILE_COLUMNS}, bm25(files_fts, 10.0, 1.0, 5.0) AS rank,
                    snippet(files_fts, 1, '[', ']', '…', 16)
             FROM files_fts JOIN files f ON f.rowid = files_fts.rowid
             WHERE files_fts MATCH :expr AND {VISIBLE}{in_folder}
             ORDER BY rank LIMIT :limit"
        );
        let mut stmt = conn.prepare_cached(&sql).map_err(db_err)?;
        let mut args: Vec<(&str, &dyn rusqlite::ToSql)> =
            vec![(":expr", &expr), (":viewer", &viewer), (":limit", &limit)];
        if let (Some(fd), true) = (folder, !in_folder.is_empty()) {
            args.push((":fd", &fd.path));
        }
        let rows: Vec<(FileRow, f64, Option<String>)> = stmt
            .query_map(args.as_slice(), |r| {
                Ok((file_from_row(r)?, r.get(14)?, r.get(15)?))
            })
            .map_err(db_err)?
            .collect::<rusqlite::Result<_>>()
            .map_err(db_err)?;
        if rows.is_empty() {
            continue;
        }
        let mut hits = Vec::with_capacity(rows.len());
        for (row, rank, snippet) in rows {
            let file = complete(conn, row).map_err(db_err)?;
            let snippet = snippet.filter(|s| s.contains('[')).map(|s| unspace_cjk(&s));
            hits.push(SearchHit::new(file, -rank, &lowered, snippet));
        }
        return Ok(hits);
    }
    Ok(vec![])
}

#[async_trait]
impl TextSearch for SqliteGraphIndex {
    async fn search_in(
        &self,
        viewer: &str,
        query: &str,
        folder: Option<&FolderFilter>,
        limit: usize,
    ) -> Result<Vec<SearchHit>> {
        let (viewer, query, folder) = (viewer.to_string(), query.to_string(), folder.cloned());
        self.read(move |c| search_blocking(c, &viewer, &query, folder.as_ref(), limit))
            .await
    }
}
