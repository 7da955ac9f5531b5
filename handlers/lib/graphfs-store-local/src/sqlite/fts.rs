//! The FTS5 full-text rows: per-character CJK indexing and quoted query terms.

#[allow(unused_imports)]
use super::*;

/// FTS5's unicode61 tokenizer treats a run of CJK characters as one token, so
/// each CJK character is indexed as its own token and queries match them as
/// phrases (unigram indexing, the usual approach without a segmenter).
pub(super) fn fts_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 2);
    for c in s.chars() {
        if is_cjk(c) {
            out.push(' ');
            out.push(c);
            out.push(' ');
        } else {
            out.push(c);
        }
    }
    out
}

/// Terms of a search query (as [`query_terms`] splits it), each a quoted
/// FTS5 string (CJK runs become phrases of single characters); with
/// `prefix_last` a last word also matches as a prefix (search as one types).
pub(super) fn fts_query(terms: &[QueryTerm], prefix_last: bool) -> Vec<String> {
    let last = terms.len().saturating_sub(1);
    terms
        .iter()
        .enumerate()
        .map(|(i, t)| {
            if t.cjk {
                let spaced: Vec<String> = t.text.chars().map(String::from).collect();
                format!("\"{}\"", spaced.join(" "))
            } else if prefix_last && i == last {
                format!("\"{}\"*", t.text)
            } else {
                format!("\"{}\"", t.text)
            }
        })
        .collect()
}

/// Rewrites a file's full-text row from its name, text and tags (and logs
/// the change for the ranking index).
pub(super) fn refresh_fts(conn: &Connection, rowid: i64) -> rusqlite::Result<()> {
    log_text_change(conn, rowid)?;
    conn.prepare_cached("DELETE FROM files_fts WHERE rowid = ?1")?
        .execute([rowid])?;
    conn.prepare_cached(
        "INSERT INTO files_fts(rowid, name, text, tags)
         SELECT f.rowid, ?2, ?3, COALESCE((SELECT group_concat(t.name, ' , ')
             FROM file_tags ft JOIN tags t ON t.id = ft.tag_id WHERE ft.file_rowid = f.rowid), '')
         FROM files f WHERE f.rowid = ?1",
    )?
    .execute(params![
        rowid,
        fts_name(conn, rowid)?,
        fts_body(conn, rowid)?
    ])?;
    Ok(())
}

pub(super) fn fts_name(conn: &Connection, rowid: i64) -> rusqlite::Result<String> {
    let name: String = conn
        .prepare_cached("SELECT name FROM files WHERE rowid = ?1")?
        .query_row([rowid], |r| r.get(0))?;
    Ok(fts_text(&name_tokens(&name)))
}

pub(super) fn fts_body(conn: &Connection, rowid: i64) -> rusqlite::Result<String> {
    let text: String = conn
        .prepare_cached("SELECT text FROM files WHERE rowid = ?1")?
        .query_row([rowid], |r| r.get(0))?;
    Ok(fts_text(&text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fts_query_quotes_user_text() {
        assert_eq!(
            fts_query(&query_terms("tax report"), false),
            vec!["\"tax\"", "\"report\""]
        );
        assert_eq!(
            fts_query(&query_terms("a\"b OR c*"), true),
            vec!["\"a\"", "\"b\"", "\"or\"", "\"c\"*"]
        );
        assert_eq!(fts_query(&query_terms("rep"), true), vec!["\"rep\"*"]);
        assert_eq!(
            fts_query(&query_terms("机器学习 ai"), false),
            vec!["\"机 器 学 习\"", "\"ai\""]
        );
        assert!(fts_query(&query_terms(" ;; "), true).is_empty());
    }
}
