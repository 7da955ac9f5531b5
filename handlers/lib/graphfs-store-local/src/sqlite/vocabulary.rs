//! Vocabulary, terms and corpus statistics for the taggers ([`Vocabulary`]).

#[allow(unused_imports)]
use super::*;

#[async_trait]
impl Vocabulary for SqliteGraphIndex {
    async fn vocabulary(&self, owner: Option<&str>, limit: usize) -> Result<Vec<TagInfo>> {
        let owner = owner.map(str::to_string);
        self.read(move |c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT t.id, t.name, COUNT(*) AS n FROM file_tags ft JOIN tags t ON t.id = ft.tag_id
                     JOIN files f ON f.rowid = ft.file_rowid
                     WHERE ?2 IS NULL OR f.owner = ?2
                     GROUP BY t.id ORDER BY n DESC, t.name LIMIT ?1",
                )
                .map_err(db_err)?;
            let rows: Vec<(i64, String, i64)> = stmt
                .query_map(params![limit.clamp(1, 100_000) as i64, owner], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .map_err(db_err)?
                .collect::<rusqlite::Result<_>>()
                .map_err(db_err)?;
            with_aliases(c, rows)
        })
        .await
    }

    async fn files_with_term(&self, owner: &str, term: &str, limit: usize) -> Result<Vec<FileId>> {
        let (owner, term) = (owner.to_string(), term.to_string());
        self.read(move |c| {
            let ids: Vec<String> = c
                .prepare_cached(
                    "SELECT f.id FROM doc_terms d JOIN files f ON f.rowid = d.file_rowid
                     WHERE d.term = ?1 AND f.owner = ?3 ORDER BY f.id LIMIT ?2",
                )
                .and_then(|mut s| {
                    s.query_map(params![term, limit.clamp(1, 100_000) as i64, owner], |r| {
                        r.get(0)
                    })?
                    .collect()
                })
                .map_err(db_err)?;
            Ok(ids.into_iter().filter_map(|i| i.parse().ok()).collect())
        })
        .await
    }

    async fn user_tags(&self) -> Result<Vec<String>> {
        self.read(|c| {
            c.prepare_cached(
                "SELECT DISTINCT t.name FROM file_tags ft JOIN tags t ON t.id = ft.tag_id
                 WHERE ft.source = 'user' ORDER BY t.name",
            )
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .map_err(db_err)
        })
        .await
    }

    async fn frequent_terms(
        &self,
        prefix: &str,
        min_count: u64,
        limit: usize,
    ) -> Result<Vec<(String, u64)>> {
        let prefix = prefix.to_string();
        self.read(move |c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT term, COUNT(*) AS n FROM doc_terms
                     WHERE substr(term, 1, length(?1)) = ?1
                     GROUP BY term HAVING n >= ?2 ORDER BY n DESC, term LIMIT ?3",
                )
                .map_err(db_err)?;
            stmt.query_map(
                params![
                    prefix,
                    min_count.max(1) as i64,
                    limit.clamp(1, 100_000) as i64
                ],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64)),
            )
            .and_then(|rows| rows.collect())
            .map_err(db_err)
        })
        .await
    }

    async fn corpus_stats(&self, owner: &str, terms: &[String]) -> Result<CorpusStats> {
        let (owner, terms) = (owner.to_string(), terms.to_vec());
        self.read(move |c| {
            let mut stmt = c
                .prepare_cached("SELECT df FROM term_counts WHERE owner = ?1 AND term = ?2")
                .map_err(db_err)?;
            let mut df = |term: &str| -> rusqlite::Result<u64> {
                Ok(stmt
                    .query_row([owner.as_str(), term], |r| r.get::<_, i64>(0))
                    .optional()?
                    .map_or(0, |n| n.max(0) as u64))
            };
            let documents = df("").map_err(db_err)?;
            let document_frequency = terms
                .iter()
                .map(|t| df(t))
                .collect::<rusqlite::Result<_>>()
                .map_err(db_err)?;
            Ok(CorpusStats {
                documents,
                document_frequency,
            })
        })
        .await
    }
}

/// Adds `delta` (1 or -1) to the owner's counts of the terms the file at
/// `rowid` recorded, and to the owner's count of such files (the term '';
/// no real term is empty, see `index_terms`). Called before a file's terms
/// go and after new ones are recorded.
pub(super) fn count_terms(c: &Connection, rowid: i64, delta: i64) -> rusqlite::Result<()> {
    c.prepare_cached(
        "INSERT INTO term_counts(owner, term, df)
         SELECT owner, term, max(?2, 0) FROM (
             SELECT f.owner AS owner, d.term AS term FROM doc_terms d JOIN files f ON f.rowid = d.file_rowid
             WHERE d.file_rowid = ?1
             UNION ALL
             SELECT f.owner, '' FROM files f
             WHERE f.rowid = ?1 AND EXISTS (SELECT 1 FROM doc_terms WHERE file_rowid = ?1))
         WHERE true
         ON CONFLICT(owner, term) DO UPDATE SET df = max(df + ?2, 0)",
    )?
    .execute(params![rowid, delta])?;
    Ok(())
}
