//! Ranked full-text search ([`TextSearch`]): candidates from the ranking
//! index (FTS5's own bm25 while it is not ready), visibility from the file
//! rows, snippets by the domain's rule.

use std::collections::HashMap;

#[allow(unused_imports)]
use super::*;

pub(super) fn search_blocking(
    conn: &Connection,
    ranking: Option<&ranking::Ranking>,
    viewer: &str,
    query: &str,
    folder: Option<&FolderFilter>,
    limit: usize,
) -> Result<Vec<SearchHit>> {
    let limit = limit.clamp(1, 200);
    let words = query_terms(query);
    let terms = fts_query(&words, true);
    if terms.is_empty() {
        return Ok(vec![]);
    }
    let lowered: Vec<String> = query
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    let in_folder = folder.and_then(folder_condition).unwrap_or_default();
    // All terms first; when that finds nothing, any term (the same query
    // again for one term).
    let joiners: &[&str] = if terms.len() > 1 {
        &[" AND ", " OR "]
    } else {
        &[" AND "]
    };
    for &joiner in joiners {
        let expr = terms.join(joiner);
        let query = Matching {
            expr: &expr,
            words: &words,
            all: joiner == " AND ",
            viewer,
            folder,
            in_folder,
        };
        let found = ranked_visible(conn, ranking, &query, limit)?;
        if found.is_empty() {
            continue;
        }
        let mut hits = Vec::with_capacity(found.len());
        for (row, rank) in found {
            // The snippet rule every backend shares (FTS5's snippet() would
            // expand a prefix word over the whole table once per hit).
            let text: String = conn
                .prepare_cached("SELECT text FROM files WHERE rowid = ?1")
                .and_then(|mut st| st.query_row([row.rowid], |r| r.get(0)))
                .map_err(db_err)?;
            let file = complete(conn, row).map_err(db_err)?;
            let snippet = snippet(&text, &lowered);
            hits.push(SearchHit::new(file, -rank, &lowered, snippet));
        }
        return Ok(hits);
    }
    Ok(vec![])
}

/// Ranked candidates per file wanted at first; more while too few of them
/// are the viewer's to see, up to [`MAX_RANKED`].
const RANKED_PER_RESULT: usize = 4;
pub(super) const MAX_RANKED: usize = 4096;
/// bm25 with the name weighing most, then tags, then text.
const RANK: &str = "bm25(files_fts, 10.0, 1.0, 5.0)";

/// One full-text query: the FTS5 expression, whose files are looked at, and
/// where.
struct Matching<'a> {
    expr: &'a str,
    /// The same query as terms, the last a prefix, for the ranking index.
    words: &'a [graphfs_domain::QueryTerm],
    /// Whether every term must match (or any).
    all: bool,
    viewer: &'a str,
    folder: Option<&'a FolderFilter>,
    /// `folder`'s SQL condition on `f` (empty for every folder).
    in_folder: &'a str,
}

impl Matching<'_> {
    /// The named arguments of the viewer and folder conditions.
    fn args(&self) -> Vec<(&str, &dyn rusqlite::ToSql)> {
        let mut args: Vec<(&str, &dyn rusqlite::ToSql)> = vec![(":viewer", &self.viewer)];
        if let (Some(fd), true) = (self.folder, !self.in_folder.is_empty()) {
            args.push((":fd", &fd.path));
        }
        args
    }
}

/// The `limit` best-ranked files matching `expr` that `viewer` may see, with
/// their bm25 rank. FTS5 ranks alone first (reading no file row), then only
/// the best candidates are looked up and checked: a file row and its
/// visibility per match cost more than the ranking itself.
fn ranked_visible(
    conn: &Connection,
    ranking: Option<&ranking::Ranking>,
    q: &Matching<'_>,
    limit: usize,
) -> Result<Vec<(FileRow, f64)>> {
    let first = (limit * RANKED_PER_RESULT).max(64);
    let mut want = first;
    // Set once most of the best matches proved to be others' files.
    let mut viewer_only = false;
    let fts5_ranking = format!(
        "SELECT rowid, {RANK} AS rank FROM files_fts WHERE files_fts MATCH ?1 ORDER BY rank LIMIT ?2"
    );
    loop {
        let reader = viewer_only.then_some(q.viewer);
        let indexed = ranking.and_then(|r| r.rank(conn, q.words, reader, q.all, want));
        let ranked: Vec<(i64, f64)> = match indexed {
            Some(ranked) => ranked,
            None if viewer_only => return ranked_visible_joined(conn, q, limit),
            None => conn
                .prepare_cached(&fts5_ranking)
                .and_then(|mut st| {
                    st.query_map(params![q.expr, want as i64], |r| Ok((r.get(0)?, r.get(1)?)))?
                        .collect()
                })
                .map_err(db_err)?,
        };
        let exhausted = ranked.len() < want;
        if ranked.is_empty() {
            return Ok(Vec::new());
        }
        // The rowids are integers from the index itself, not user text.
        let list = ranked
            .iter()
            .map(|(r, _)| r.to_string())
            .collect::<Vec<_>>()
            .join(",");
        let sql = format!(
            "SELECT {FILE_COLUMNS} FROM files f WHERE f.rowid IN ({list}) AND {VISIBLE}{}",
            q.in_folder
        );
        let mut stmt = conn.prepare(&sql).map_err(db_err)?;
        let mut visible: HashMap<i64, FileRow> = stmt
            .query_map(q.args().as_slice(), file_from_row)
            .map_err(db_err)?
            .map(|r| r.map(|row| (row.rowid, row)))
            .collect::<rusqlite::Result<_>>()
            .map_err(db_err)?;
        let found: Vec<(FileRow, f64)> = ranked
            .into_iter()
            .filter_map(|(rowid, rank)| visible.remove(&rowid).map(|row| (row, rank)))
            .take(limit)
            .collect();
        if found.len() == limit || exhausted {
            return Ok(found);
        }
        if want < MAX_RANKED {
            want = (want * 4).min(MAX_RANKED);
        } else if viewer_only || ranking.is_none() {
            // Still too few in the folder asked for: FTS5 joins the rows.
            return ranked_visible_joined(conn, q, limit);
        } else {
            // Most matches are others' files: rank only the viewer's.
            viewer_only = true;
            want = first;
        }
    }
}

/// The same, ranking only the files `viewer` may see: for a viewer who
/// sees few of the matches.
fn ranked_visible_joined(
    conn: &Connection,
    q: &Matching<'_>,
    limit: usize,
) -> Result<Vec<(FileRow, f64)>> {
    let sql = format!(
        "SELECT {FILE_COLUMNS}, {RANK} AS rank
         FROM files_fts JOIN files f ON f.rowid = files_fts.rowid
         WHERE files_fts MATCH :expr AND {VISIBLE}{}
         ORDER BY rank LIMIT :limit",
        q.in_folder
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(db_err)?;
    let limit = limit as i64;
    let mut args = q.args();
    args.push((":expr", &q.expr));
    args.push((":limit", &limit));
    stmt.query_map(args.as_slice(), |r| Ok((file_from_row(r)?, r.get(14)?)))
        .map_err(db_err)?
        .collect::<rusqlite::Result<_>>()
        .map_err(db_err)
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
        let inner = self.inner.clone();
        self.read(move |c| {
            let ranking = inner.ranking.as_deref();
            search_blocking(c, ranking, &viewer, &query, folder.as_ref(), limit)
        })
        .await
    }
}
