//! The graph index in SQLite.
//!
//! SQLite (bundled, with FTS5) rather than redb: the index is relational at
//! heart (files, tags and the edges between them, filtered and sorted many
//! ways), it needs ranked full-text search with snippets, which FTS5 gives and
//! redb would need a search engine beside it for, and WAL mode gives crash-safe
//! transactions with concurrent readers. The graph is stored as edge tables;
//! walks are a few indexed lookups per hop.
//!
//! Connections are blocking, so every call runs on tokio's blocking pool: one
//! writer connection behind a mutex (SQLite has one writer anyway) and a few
//! reader connections.

use std::collections::{HashSet, VecDeque};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use chrono::{DateTime, SecondsFormat, Utc};
use graphfs_domain::{
    CorpusStats, EdgeKind, Error, FileId, FileQuery, FileRecord, FileTag, GraphBuilder, GraphIndex,
    GraphStart, GraphView, Job, JobFailure, NewFile, NodeKind, Page, QueueDepth, RelatedTag,
    Result, SearchHit, SimilarFile, SortKey, SortOrder, TagInfo, TagMatch, TagSource,
    TaggingOutcome, TaggingStatus, UserId, cosine, normalize_tag,
};
use rusqlite::{Connection, OpenFlags, OptionalExtension, Row, params};
use serde::{Deserialize, Serialize};

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
    hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS files (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    owner TEXT NOT NULL REFERENCES users(id),
    name TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    media_type TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    status TEXT NOT NULL,
    status_reason TEXT,
    metadata TEXT NOT NULL DEFAULT '{}',
    text TEXT NOT NULL DEFAULT '',
    object_key TEXT NOT NULL UNIQUE
);
CREATE INDEX IF NOT EXISTS files_owner_created ON files(owner, created_at, id);
CREATE INDEX IF NOT EXISTS files_owner_name ON files(owner, name, id);
CREATE INDEX IF NOT EXISTS files_owner_size ON files(owner, size, id);
CREATE INDEX IF NOT EXISTS files_status ON files(status);
CREATE TABLE IF NOT EXISTS shares (
    file_rowid INTEGER NOT NULL REFERENCES files(rowid) ON DELETE CASCADE,
    user_id TEXT NOT NULL,
    PRIMARY KEY (file_rowid, user_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS shares_user ON shares(user_id);
CREATE TABLE IF NOT EXISTS tags (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS tag_aliases (
    alias TEXT PRIMARY KEY,
    tag_id INTEGER NOT NULL REFERENCES tags(id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS file_tags (
    file_rowid INTEGER NOT NULL REFERENCES files(rowid) ON DELETE CASCADE,
    tag_id INTEGER NOT NULL REFERENCES tags(id) ON DELETE CASCADE,
    score REAL NOT NULL,
    source TEXT NOT NULL,
    PRIMARY KEY (file_rowid, tag_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS file_tags_tag ON file_tags(tag_id, file_rowid);
CREATE TABLE IF NOT EXISTS removed_tags (
    file_rowid INTEGER NOT NULL REFERENCES files(rowid) ON DELETE CASCADE,
    tag_id INTEGER NOT NULL REFERENCES tags(id) ON DELETE CASCADE,
    PRIMARY KEY (file_rowid, tag_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS similar (
    file_rowid INTEGER NOT NULL REFERENCES files(rowid) ON DELETE CASCADE,
    other_rowid INTEGER NOT NULL REFERENCES files(rowid) ON DELETE CASCADE,
    score REAL NOT NULL,
    PRIMARY KEY (file_rowid, other_rowid)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS similar_other ON similar(other_rowid);
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY,
    file_rowid INTEGER NOT NULL UNIQUE REFERENCES files(rowid) ON DELETE CASCADE,
    attempts INTEGER NOT NULL DEFAULT 0,
    due_at INTEGER NOT NULL,
    worker TEXT,
    lease_until INTEGER,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS jobs_due ON jobs(due_at, id);
CREATE TABLE IF NOT EXISTS doc_terms (
    file_rowid INTEGER NOT NULL REFERENCES files(rowid) ON DELETE CASCADE,
    term TEXT NOT NULL,
    PRIMARY KEY (file_rowid, term)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS doc_terms_term ON doc_terms(term);
CREATE TABLE IF NOT EXISTS file_embeddings (
    file_rowid INTEGER PRIMARY KEY REFERENCES files(rowid) ON DELETE CASCADE,
    vector BLOB NOT NULL
);
CREATE VIRTUAL TABLE IF NOT EXISTS files_fts USING fts5(
    name, text, tags, tokenize = 'unicode61 remove_diacritics 2'
);
"#;

/// Extracted text kept for full-text search and snippets, per file.
const MAX_INDEXED_TEXT: usize = 1 << 20;
/// Files a tag node expands to in one graph hop.
const TAG_FANOUT: usize = 50;
/// Co-occurring tags a tag node expands to in one graph hop.
const COOCCUR_FANOUT: usize = 10;

struct Inner {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
}

#[derive(Clone)]
pub struct SqliteGraphIndex {
    inner: Arc<Inner>,
}

fn db_err(e: rusqlite::Error) -> Error {
    use rusqlite::ErrorCode::*;
    match &e {
        rusqlite::Error::SqliteFailure(f, _) => match f.code {
            DatabaseBusy | DatabaseLocked => Error::unavailable(format!("graph index busy: {e}")),
            ConstraintViolation => Error::Conflict(e.to_string()),
            DiskFull | CannotOpen | SystemIoFailure => {
                Error::unavailable(format!("graph index storage: {e}"))
            }
            _ => Error::internal(e),
        },
        _ => Error::internal(e),
    }
}

fn now() -> DateTime<Utc> {
    Utc::now()
}

/// Timestamps are stored as fixed-width RFC 3339 so text order is time order.
fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn parse_ts(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn lease_ms(lease: Duration) -> i64 {
    i64::try_from(lease.as_millis()).unwrap_or(i64::MAX / 2)
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF
        | 0xAC00..=0xD7AF | 0x20000..=0x2FA1F)
}

/// FTS5's unicode61 tokenizer treats a run of CJK characters as one token, so
/// each CJK character is indexed as its own token and queries match them as
/// phrases (unigram indexing, the usual approach without a segmenter).
fn fts_text(s: &str) -> String {
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

/// Undoes [`fts_text`]'s spacing in snippets shown to users, and joins the
/// per-character highlight markers FTS5 puts around CJK tokens.
fn unspace_cjk(s: &str) -> String {
    let cjkish = |c: char| is_cjk(c) || matches!(c, '[' | ']' | '…');
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != ' ' {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let run_end = chars[i..]
            .iter()
            .position(|c| *c != ' ')
            .map_or(chars.len(), |p| i + p);
        let prev = out.chars().last();
        let next = chars.get(run_end).copied();
        let joins = match (prev, next) {
            (Some(p), Some(n)) => {
                cjkish(p) && cjkish(n) && (is_cjk(p) || is_cjk(n) || p == ']' && n == '[')
            }
            _ => false,
        };
        if !joins {
            out.push(' ');
        }
        i = run_end;
    }
    out.replace("][", "")
}

/// Terms of a search query, each a quoted FTS5 string (CJK runs become
/// phrases of single characters). User text never reaches FTS5 syntax.
fn fts_query(q: &str, prefix_last: bool) -> Vec<String> {
    let mut terms = Vec::new();
    let mut word = String::new();
    let mut cjk = String::new();
    let flush_word = |w: &mut String, terms: &mut Vec<String>| {
        if !w.is_empty() {
            terms.push(format!("\"{}\"", w.replace('"', "\"\"")));
            w.clear();
        }
    };
    let flush_cjk = |w: &mut String, terms: &mut Vec<String>| {
        if !w.is_empty() {
            let spaced: Vec<String> = w.chars().map(String::from).collect();
            terms.push(format!("\"{}\"", spaced.join(" ")));
            w.clear();
        }
    };
    for c in q.chars() {
        if is_cjk(c) {
            flush_word(&mut word, &mut terms);
            cjk.push(c);
        } else if c.is_alphanumeric() {
            flush_cjk(&mut cjk, &mut terms);
            word.push(c);
        } else {
            flush_word(&mut word, &mut terms);
            flush_cjk(&mut cjk, &mut terms);
        }
    }
    let last_is_word = !word.is_empty();
    flush_word(&mut word, &mut terms);
    flush_cjk(&mut cjk, &mut terms);
    terms.truncate(16);
    if prefix_last
        && last_is_word
        && let Some(last) = terms.last_mut()
    {
        last.push('*');
    }
    terms
}

const VISIBLE: &str = "(f.owner = :viewer OR EXISTS (SELECT 1 FROM shares s WHERE s.file_rowid = f.rowid AND s.user_id = :viewer))";

const FILE_COLUMNS: &str = "f.rowid, f.id, f.owner, f.name, f.size, f.sha256, f.media_type, f.created_at, f.updated_at, f.status, f.status_reason, f.metadata, f.object_key";

struct FileRow {
    rowid: i64,
    record: FileRecord,
}

fn file_from_row(row: &Row<'_>) -> rusqlite::Result<FileRow> {
    let id: String = row.get(1)?;
    let status: String = row.get(9)?;
    let metadata: String = row.get(11)?;
    let size: i64 = row.get(4)?;
    Ok(FileRow {
        rowid: row.get(0)?,
        record: FileRecord {
            id: id.parse().unwrap_or(FileId(uuid::Uuid::nil())),
            owner: row.get(2)?,
            name: row.get(3)?,
            size: size as u64,
            sha256: row.get(5)?,
            media_type: row.get(6)?,
            created_at: parse_ts(&row.get::<_, String>(7)?),
            updated_at: parse_ts(&row.get::<_, String>(8)?),
            status: status.parse().unwrap_or(TaggingStatus::Pending),
            status_reason: row.get(10)?,
            tags: Vec::new(),
            metadata: serde_json::from_str(&metadata)
                .unwrap_or_else(|_| serde_json::Value::Object(Default::default())),
            shared_with: Vec::new(),
            object_key: row.get(12)?,
        },
    })
}

/// Fills in a file's tags and shares.
fn complete(conn: &Connection, mut f: FileRow) -> rusqlite::Result<FileRecord> {
    let mut stmt = conn.prepare_cached(
        "SELECT t.name, ft.score, ft.source FROM file_tags ft JOIN tags t ON t.id = ft.tag_id
         WHERE ft.file_rowid = ?1 ORDER BY ft.source = 'user' DESC, ft.score DESC, t.name",
    )?;
    f.record.tags = stmt
        .query_map([f.rowid], |r| {
            let source: String = r.get(2)?;
            Ok(FileTag {
                name: r.get(0)?,
                score: r.get::<_, f64>(1)? as f32,
                source: source.parse().unwrap_or(TagSource::Keyword),
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut stmt =
        conn.prepare_cached("SELECT user_id FROM shares WHERE file_rowid = ?1 ORDER BY user_id")?;
    f.record.shared_with = stmt
        .query_map([f.rowid], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(f.record)
}

fn find_visible(conn: &Connection, viewer: &str, id: FileId) -> Result<FileRow> {
    let sql = format!("SELECT {FILE_COLUMNS} FROM files f WHERE f.id = :id AND {VISIBLE}");
    conn.prepare_cached(&sql)
        .and_then(|mut s| {
            s.query_row(
                rusqlite::named_params! {":id": id.to_string(), ":viewer": viewer},
                file_from_row,
            )
            .optional()
        })
        .map_err(db_err)?
        .ok_or_else(|| Error::NotFound(format!("file {id}")))
}

/// The file if the viewer owns it. A user it is shared with may see it but
/// not change it, and is told so (403); to anyone else it does not exist.
fn find_owned(conn: &Connection, viewer: &str, id: FileId) -> Result<FileRow> {
    let f = find_visible(conn, viewer, id)?;
    if f.record.owner != viewer {
        return Err(Error::Forbidden(format!(
            "file {id} belongs to {}; only its owner may change it",
            f.record.owner
        )));
    }
    Ok(f)
}

fn find_any(conn: &Connection, id: FileId) -> Result<FileRow> {
    let sql = format!("SELECT {FILE_COLUMNS} FROM files f WHERE f.id = ?1");
    conn.prepare_cached(&sql)
        .and_then(|mut s| s.query_row([id.to_string()], file_from_row).optional())
        .map_err(db_err)?
        .ok_or_else(|| Error::NotFound(format!("file {id}")))
}

fn tag_id(conn: &Connection, name: &str) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached(
        "SELECT id FROM tags WHERE name = ?1
         UNION ALL SELECT tag_id FROM tag_aliases WHERE alias = ?1 LIMIT 1",
    )?
    .query_row([name], |r| r.get(0))
    .optional()
}

fn ensure_tag(conn: &Connection, name: &str) -> rusqlite::Result<i64> {
    if let Some(id) = tag_id(conn, name)? {
        return Ok(id);
    }
    conn.prepare_cached("INSERT INTO tags(name) VALUES (?1)")?
        .execute([name])?;
    Ok(conn.last_insert_rowid())
}

/// Removes tags no file carries any more, among `candidates`.
fn drop_orphan_tags(conn: &Connection, candidates: &[i64]) -> rusqlite::Result<()> {
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

/// Rewrites a file's full-text row from its name, text and tags.
fn refresh_fts(conn: &Connection, rowid: i64) -> rusqlite::Result<()> {
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

fn fts_name(conn: &Connection, rowid: i64) -> rusqlite::Result<String> {
    let name: String = conn
        .prepare_cached("SELECT name FROM files WHERE rowid = ?1")?
        .query_row([rowid], |r| r.get(0))?;
    // Split name parts so "tax-report_2024.pdf" matches "report".
    let spaced: String = name
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    Ok(fts_text(&format!("{name} {spaced}")))
}

fn fts_body(conn: &Connection, rowid: i64) -> rusqlite::Result<String> {
    let text: String = conn
        .prepare_cached("SELECT text FROM files WHERE rowid = ?1")?
        .query_row([rowid], |r| r.get(0))?;
    Ok(fts_text(&text))
}

#[derive(Serialize, Deserialize)]
struct Cursor {
    /// The sort key of the last item: text for created/name, number for size.
    k: serde_json::Value,
    id: String,
}

fn encode_cursor(c: &Cursor) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(serde_json::to_vec(c).unwrap_or_default())
}

fn decode_cursor(s: &str) -> Result<Cursor> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| Error::InvalidInput("the cursor is not one this server gave out".into()))
}

fn truncate_chars(s: &str, max_bytes: usize) -> &str {
    if s.len() <= max_bytes {
        return s;
    }
    let mut end = max_bytes;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

impl SqliteGraphIndex {
    /// Opens (creating if needed) the index in `path`, a database file.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        tokio::task::spawn_blocking(move || Self::open_blocking(&path))
            .await
            .map_err(Error::internal)?
    }

    fn open_blocking(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let writer = Connection::open(path).map_err(db_err)?;
        writer
            .execute_batch(
                "PRAGMA journal_mode = WAL;
                 PRAGMA synchronous = NORMAL;
                 PRAGMA foreign_keys = ON;
                 PRAGMA busy_timeout = 5000;",
            )
            .map_err(db_err)?;
        writer.execute_batch(SCHEMA).map_err(db_err)?;
        let readers = (0..4)
            .map(|_| {
                let c = Connection::open_with_flags(
                    path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                c.execute_batch("PRAGMA busy_timeout = 5000;")?;
                Ok(Mutex::new(c))
            })
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(db_err)?;
        Ok(SqliteGraphIndex {
            inner: Arc::new(Inner {
                writer: Mutex::new(writer),
                readers,
                next_reader: AtomicUsize::new(0),
            }),
        })
    }

    async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let i = inner.next_reader.fetch_add(1, Ordering::Relaxed) % inner.readers.len();
            let conn = inner.readers[i]
                .lock()
                .map_err(|_| Error::internal("reader connection poisoned"))?;
            f(&conn)
        })
        .await
        .map_err(Error::internal)?
    }

    /// Runs `f` in one write transaction: all of it lands or none of it.
    async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = inner
                .writer
                .lock()
                .map_err(|_| Error::internal("writer connection poisoned"))?;
            let tx = conn.transaction().map_err(db_err)?;
            let out = f(&tx)?;
            tx.commit().map_err(db_err)?;
            Ok(out)
        })
        .await
        .map_err(Error::internal)?
    }
}

fn list_files_blocking(conn: &Connection, viewer: &str, q: &FileQuery) -> Result<Page<FileRecord>> {
    let mut sql = format!("SELECT {FILE_COLUMNS} FROM files f WHERE {VISIBLE}");
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
        if ids.is_empty() {
            return Ok(Page {
                items: vec![],
                next_cursor: None,
            });
        }
        let list = ids
            .iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(",");
        // The ids are integers from our own table, not user text.
        sql.push_str(&format!(
            " AND f.rowid IN (SELECT file_rowid FROM file_tags WHERE tag_id IN ({list})
              GROUP BY file_rowid HAVING COUNT(*) >= {})",
            if q.tag_match == TagMatch::All {
                ids.len()
            } else {
                1
            }
        ));
    }
    if let Some(mt) = &q.media_type {
        if mt.ends_with('/') {
            sql.push_str(" AND substr(f.media_type, 1, length(:mt)) = :mt");
        } else {
            sql.push_str(" AND f.media_type = :mt");
        }
        args.push((":mt".into(), mt.clone().into()));
    }
    if let Some(p) = &q.name_prefix {
        sql.push_str(" AND substr(f.name, 1, length(:np)) = :np");
        args.push((":np".into(), p.clone().into()));
    }
    if let Some(s) = q.status {
        sql.push_str(" AND f.status = :status");
        args.push((":status".into(), s.as_str().to_string().into()));
    }
    let key_col = match q.sort {
        SortKey::Created => "f.created_at",
        SortKey::Name => "f.name",
        SortKey::Size => "f.size",
    };
    let (cmp, dir) = match q.order {
        SortOrder::Asc => (">", "ASC"),
        SortOrder::Desc => ("<", "DESC"),
    };
    if let Some(c) = &q.cursor {
        let c = decode_cursor(c)?;
        let key: rusqlite::types::Value = match (q.sort, &c.k) {
            (SortKey::Size, serde_json::Value::Number(n)) => n.as_i64().unwrap_or(0).into(),
            (SortKey::Created | SortKey::Name, serde_json::Value::String(s)) => s.clone().into(),
            _ => {
                return Err(Error::InvalidInput(
                    "the cursor belongs to a listing with another sort".into(),
                ));
            }
        };
        sql.push_str(&format!(
            " AND ({key_col} {cmp} :ck OR ({key_col} = :ck AND f.id {cmp} :cid))"
        ));
        args.push((":ck".into(), key));
        args.push((":cid".into(), c.id.into()));
    }
    let limit = q.limit.clamp(1, 1000);
    sql.push_str(&format!(
        " ORDER BY {key_col} {dir}, f.id {dir} LIMIT {}",
        limit + 1
    ));
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
    let has_more = rows.len() > limit;
    let mut items = Vec::with_capacity(limit);
    for r in rows.into_iter().take(limit) {
        items.push(complete(conn, r).map_err(db_err)?);
    }
    let next_cursor = match (has_more, items.last()) {
        (true, Some(last)) => Some(encode_cursor(&Cursor {
            k: match q.sort {
                SortKey::Created => ts(last.created_at).into(),
                SortKey::Name => last.name.clone().into(),
                SortKey::Size => last.size.into(),
            },
            id: last.id.to_string(),
        })),
        _ => None,
    };
    Ok(Page { items, next_cursor })
}

fn search_blocking(
    conn: &Connection,
    viewer: &str,
    query: &str,
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
    // All terms first; when that finds nothing, any term.
    for joiner in [" AND ", " OR "] {
        let expr = terms.join(joiner);
        let sql = format!(
            "SELECT {FILE_COLUMNS}, bm25(files_fts, 10.0, 1.0, 5.0) AS rank,
                    snippet(files_fts, 1, '[', ']', '…', 16)
             FROM files_fts JOIN files f ON f.rowid = files_fts.rowid
             WHERE files_fts MATCH :expr AND {VISIBLE}
             ORDER BY rank LIMIT :limit"
        );
        let mut stmt = conn.prepare_cached(&sql).map_err(db_err)?;
        let rows: Vec<(FileRow, f64, Option<String>)> = stmt
            .query_map(
                rusqlite::named_params! {":expr": expr, ":viewer": viewer, ":limit": limit as i64},
                |r| Ok((file_from_row(r)?, r.get(13)?, r.get(14)?)),
            )
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

fn neighbourhood_blocking(
    conn: &Connection,
    viewer: &str,
    start: &GraphStart,
    depth: u32,
    max_nodes: usize,
) -> Result<GraphView> {
    let mut g = GraphBuilder::new(max_nodes);
    let mut queue: VecDeque<(String, u32)> = VecDeque::new();
    match start {
        GraphStart::File(id) => {
            let f = find_visible(conn, viewer, *id)?;
            let nid = format!("file:{}", f.record.id);
            g.node(
                nid.clone(),
                NodeKind::File,
                f.record.name,
                Some(f.record.media_type),
            );
            queue.push_back((nid, 0));
        }
        GraphStart::Tag(name) => {
            let canonical: String = match tag_id(conn, name).map_err(db_err)? {
                Some(id) => conn
                    .query_row("SELECT name FROM tags WHERE id = ?1", [id], |r| r.get(0))
                    .map_err(db_err)?,
                None => return Err(Error::NotFound(format!("tag '{name}'"))),
            };
            let nid = format!("tag:{canonical}");
            g.node(nid.clone(), NodeKind::Tag, canonical, None);
            queue.push_back((nid, 0));
        }
    }
    let mut expanded = HashSet::new();
    let vis_file = format!("SELECT {FILE_COLUMNS} FROM files f WHERE f.id = :id AND {VISIBLE}");
    while let Some((nid, d)) = queue.pop_front() {
        if d >= depth || !expanded.insert(nid.clone()) {
            continue;
        }
        if let Some(fid) = nid.strip_prefix("file:") {
            let rowid: Option<i64> = conn
                .query_row("SELECT rowid FROM files WHERE id = ?1", [fid], |r| r.get(0))
                .optional()
                .map_err(db_err)?;
            let Some(rowid) = rowid else { continue };
            let mut stmt = conn
                .prepare_cached(
                    "SELECT t.name, ft.score FROM file_tags ft JOIN tags t ON t.id = ft.tag_id
                     WHERE ft.file_rowid = ?1 ORDER BY ft.score DESC, t.name",
                )
                .map_err(db_err)?;
            let tags: Vec<(String, f64)> = stmt
                .query_map([rowid], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(db_err)?
                .collect::<rusqlite::Result<_>>()
                .map_err(db_err)?;
            for (name, score) in tags {
                let tid = format!("tag:{name}");
                if g.node(tid.clone(), NodeKind::Tag, name, None) {
                    g.edge(EdgeKind::Tagged, &nid, &tid, score as f32);
                    queue.push_back((tid, d + 1));
                }
            }
            let mut stmt = conn
                .prepare_cached(
                    "SELECT o.id, s.score FROM similar s JOIN files o ON o.rowid = s.other_rowid
                     WHERE s.file_rowid = ?1
                     UNION SELECT o.id, s.score FROM similar s JOIN files o ON o.rowid = s.file_rowid
                     WHERE s.other_rowid = ?1 ORDER BY 2 DESC LIMIT 20",
                )
                .map_err(db_err)?;
            let sims: Vec<(String, f64)> = stmt
                .query_map([rowid], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(db_err)?
                .collect::<rusqlite::Result<_>>()
                .map_err(db_err)?;
            for (other, score) in sims {
                let row = conn
                    .prepare_cached(&vis_file)
                    .and_then(|mut s| {
                        s.query_row(
                            rusqlite::named_params! {":id": other, ":viewer": viewer},
                            file_from_row,
                        )
                        .optional()
                    })
                    .map_err(db_err)?;
                if let Some(f) = row {
                    let oid = format!("file:{}", f.record.id);
                    if g.node(
                        oid.clone(),
                        NodeKind::File,
                        f.record.name,
                        Some(f.record.media_type),
                    ) {
                        g.edge(EdgeKind::Similar, &nid, &oid, score as f32);
                        queue.push_back((oid, d + 1));
                    }
                }
            }
        } else if let Some(tag) = nid.strip_prefix("tag:") {
            let Some(tid) = tag_id(conn, tag).map_err(db_err)? else {
                continue;
            };
            let sql = format!(
                "SELECT {FILE_COLUMNS}, ft.score FROM file_tags ft JOIN files f ON f.rowid = ft.file_rowid
                 WHERE ft.tag_id = :tid AND {VISIBLE} ORDER BY ft.score DESC, f.id LIMIT {TAG_FANOUT}"
            );
            let mut stmt = conn.prepare_cached(&sql).map_err(db_err)?;
            let files: Vec<(FileRow, f64)> = stmt
                .query_map(
                    rusqlite::named_params! {":tid": tid, ":viewer": viewer},
                    |r| Ok((file_from_row(r)?, r.get(13)?)),
                )
                .map_err(db_err)?
                .collect::<rusqlite::Result<_>>()
                .map_err(db_err)?;
            for (f, score) in files {
                let fid = format!("file:{}", f.record.id);
                if g.node(
                    fid.clone(),
                    NodeKind::File,
                    f.record.name,
                    Some(f.record.media_type),
                ) {
                    g.edge(EdgeKind::Tagged, &fid, &nid, score as f32);
                    queue.push_back((fid, d + 1));
                }
            }
            for rt in related_blocking(conn, viewer, tid, COOCCUR_FANOUT)? {
                let oid = format!("tag:{}", rt.name);
                if g.node(oid.clone(), NodeKind::Tag, rt.name, None) {
                    g.edge(EdgeKind::CoOccurs, &nid, &oid, rt.count as f32);
                    queue.push_back((oid, d + 1));
                }
            }
        }
    }
    Ok(g.finish())
}

fn related_blocking(
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
fn with_aliases(c: &Connection, rows: Vec<(i64, String, i64)>) -> Result<Vec<TagInfo>> {
    let mut aliases = c
        .prepare_cached("SELECT alias FROM tag_aliases WHERE tag_id = ?1 ORDER BY alias")
        .map_err(db_err)?;
    rows.into_iter()
        .map(|(id, name, count)| {
            Ok(TagInfo {
                name,
                count: count as u64,
                aliases: aliases
                    .query_map([id], |r| r.get(0))
                    .and_then(|r| r.collect())
                    .map_err(db_err)?,
            })
        })
        .collect()
}

/// Writes a tagging outcome onto a file: text, metadata, machine tags (user
/// tags stay, removed tags stay removed), terms and embedding.
fn write_outcome(c: &Connection, rowid: i64, outcome: &TaggingOutcome) -> Result<()> {
    let text = truncate_chars(&outcome.text, MAX_INDEXED_TEXT);
    c.execute(
        "UPDATE files SET text = ?2, metadata = ?3, media_type = COALESCE(?4, media_type),
                    updated_at = ?5 WHERE rowid = ?1",
        params![
            rowid,
            text,
            if outcome.metadata.is_object() {
                outcome.metadata.to_string()
            } else {
                "{}".to_string()
            },
            outcome.media_type,
            ts(now())
        ],
    )
    .map_err(db_err)?;
    // Machine tags are replaced; user tags stay and removed tags stay removed.
    let old: Vec<i64> = c
        .prepare_cached("SELECT tag_id FROM file_tags WHERE file_rowid = ?1 AND source <> 'user'")
        .and_then(|mut s| s.query_map([rowid], |r| r.get(0))?.collect())
        .map_err(db_err)?;
    c.execute(
        "DELETE FROM file_tags WHERE file_rowid = ?1 AND source <> 'user'",
        [rowid],
    )
    .map_err(db_err)?;
    for tag in &outcome.tags {
        let Ok(name) = normalize_tag(&tag.name) else {
            continue;
        };
        if tag.source == TagSource::User {
            continue;
        }
        let tid = ensure_tag(c, &name).map_err(db_err)?;
        c.execute(
            "INSERT INTO file_tags(file_rowid, tag_id, score, source)
                 SELECT ?1, ?2, ?3, ?4
                 WHERE NOT EXISTS (SELECT 1 FROM removed_tags WHERE file_rowid = ?1 AND tag_id = ?2)
                 ON CONFLICT(file_rowid, tag_id) DO NOTHING",
            params![
                rowid,
                tid,
                tag.score.clamp(0.0, 1.0) as f64,
                tag.source.as_str()
            ],
        )
        .map_err(db_err)?;
    }
    drop_orphan_tags(c, &old).map_err(db_err)?;
    c.execute("DELETE FROM doc_terms WHERE file_rowid = ?1", [rowid])
        .map_err(db_err)?;
    let mut ins = c
        .prepare_cached("INSERT OR IGNORE INTO doc_terms(file_rowid, term) VALUES (?1, ?2)")
        .map_err(db_err)?;
    for term in outcome.terms.iter().take(256) {
        ins.execute(params![rowid, term]).map_err(db_err)?;
    }
    refresh_fts(c, rowid).map_err(db_err)?;
    match &outcome.embedding {
        Some(v) if !v.is_empty() => {
            let blob: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
            c.execute(
                "INSERT OR REPLACE INTO file_embeddings(file_rowid, vector) VALUES (?1, ?2)",
                params![rowid, blob],
            )
            .map_err(db_err)?;
        }
        _ => {
            c.execute("DELETE FROM file_embeddings WHERE file_rowid = ?1", [rowid])
                .map_err(db_err)?;
        }
    }
    Ok(())
}

fn vector_from_blob(blob: &[u8]) -> Vec<f32> {
    blob.chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

fn job_holder(conn: &Connection, job: &Job) -> Result<Option<i64>> {
    conn.prepare_cached("SELECT file_rowid FROM jobs WHERE id = ?1 AND worker = ?2")
        .and_then(|mut s| {
            s.query_row(params![job.id, job.worker], |r| r.get(0))
                .optional()
        })
        .map_err(db_err)
}

#[async_trait]
impl GraphIndex for SqliteGraphIndex {
    async fn add_token(&self, user: &str, token_sha256: &str) -> Result<()> {
        let (user, hash) = (user.to_string(), token_sha256.to_string());
        self.write(move |c| {
            let now = ts(now());
            c.execute(
                "INSERT OR IGNORE INTO users(id, created_at) VALUES (?1, ?2)",
                params![user, now],
            )
            .map_err(db_err)?;
            c.execute(
                "INSERT INTO tokens(hash, user_id, created_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT(hash) DO UPDATE SET user_id = excluded.user_id",
                params![hash, user, now],
            )
            .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn user_for_token(&self, token_sha256: &str) -> Result<Option<UserId>> {
        let hash = token_sha256.to_string();
        self.read(move |c| {
            c.prepare_cached("SELECT user_id FROM tokens WHERE hash = ?1")
                .and_then(|mut s| s.query_row([hash], |r| r.get(0)).optional())
                .map_err(db_err)
        })
        .await
    }

    async fn create_file(&self, file: NewFile) -> Result<FileRecord> {
        self.write(move |c| {
            let now = now();
            c.execute(
                "INSERT OR IGNORE INTO users(id, created_at) VALUES (?1, ?2)",
                params![file.owner, ts(now)],
            )
            .map_err(db_err)?;
            c.execute(
                "INSERT INTO files(id, owner, name, size, sha256, media_type, created_at, updated_at, status, object_key)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, 'pending', ?8)",
                params![
                    file.id.to_string(),
                    file.owner,
                    file.name,
                    file.size as i64,
                    file.sha256,
                    file.media_type,
                    ts(now),
                    file.object_key
                ],
            )
            .map_err(db_err)?;
            let rowid = c.last_insert_rowid();
            c.execute(
                "INSERT INTO jobs(file_rowid, due_at) VALUES (?1, ?2)",
                params![rowid, millis(now)],
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

    async fn list_files(&self, viewer: &str, query: &FileQuery) -> Result<Page<FileRecord>> {
        let (viewer, query) = (viewer.to_string(), query.clone());
        self.read(move |c| list_files_blocking(c, &viewer, &query))
            .await
    }

    async fn rename_file(&self, viewer: &str, id: FileId, name: &str) -> Result<FileRecord> {
        let (viewer, name) = (viewer.to_string(), name.to_string());
        self.write(move |c| {
            let f = find_owned(c, &viewer, id)?;
            c.execute(
                "UPDATE files SET name = ?2, updated_at = ?3 WHERE rowid = ?1",
                params![f.rowid, name, ts(now())],
            )
            .map_err(db_err)?;
            refresh_fts(c, f.rowid).map_err(db_err)?;
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
            // Edges, shares, jobs and terms go with the node (ON DELETE CASCADE).
            c.execute("DELETE FROM files WHERE rowid = ?1", [rowid])
                .map_err(db_err)?;
            drop_orphan_tags(c, &tag_ids).map_err(db_err)?;
            Ok(record)
        })
        .await
    }

    async fn set_shared(
        &self,
        viewer: &str,
        id: FileId,
        user: &str,
        shared: bool,
    ) -> Result<FileRecord> {
        let (viewer, user) = (viewer.to_string(), user.to_string());
        self.write(move |c| {
            let f = find_owned(c, &viewer, id)?;
            if user == viewer {
                return Err(Error::InvalidInput(
                    "a file is always visible to its owner".into(),
                ));
            }
            if shared {
                c.execute(
                    "INSERT OR IGNORE INTO shares(file_rowid, user_id) VALUES (?1, ?2)",
                    params![f.rowid, user],
                )
            } else {
                c.execute(
                    "DELETE FROM shares WHERE file_rowid = ?1 AND user_id = ?2",
                    params![f.rowid, user],
                )
            }
            .map_err(db_err)?;
            let f = find_any(c, id)?;
            complete(c, f).map_err(db_err)
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

    async fn add_user_tag(&self, viewer: &str, id: FileId, tag: &str) -> Result<FileRecord> {
        let (viewer, tag) = (viewer.to_string(), tag.to_string());
        self.write(move |c| {
            let f = find_owned(c, &viewer, id)?;
            let tid = ensure_tag(c, &tag).map_err(db_err)?;
            c.execute(
                "INSERT INTO file_tags(file_rowid, tag_id, score, source) VALUES (?1, ?2, 1.0, 'user')
                 ON CONFLICT(file_rowid, tag_id) DO UPDATE SET source = 'user', score = 1.0",
                params![f.rowid, tid],
            )
            .map_err(db_err)?;
            c.execute(
                "DELETE FROM removed_tags WHERE file_rowid = ?1 AND tag_id = ?2",
                params![f.rowid, tid],
            )
            .map_err(db_err)?;
            c.execute(
                "UPDATE files SET updated_at = ?2 WHERE rowid = ?1",
                params![f.rowid, ts(now())],
            )
            .map_err(db_err)?;
            refresh_fts(c, f.rowid).map_err(db_err)?;
            let f = find_any(c, id)?;
            complete(c, f).map_err(db_err)
        })
        .await
    }

    async fn remove_tag(&self, viewer: &str, id: FileId, tag: &str) -> Result<FileRecord> {
        let (viewer, tag) = (viewer.to_string(), tag.to_string());
        self.write(move |c| {
            let f = find_owned(c, &viewer, id)?;
            let Some(tid) = tag_id(c, &tag).map_err(db_err)? else {
                return Err(Error::NotFound(format!("tag '{tag}' on file {id}")));
            };
            let removed = c
                .execute(
                    "DELETE FROM file_tags WHERE file_rowid = ?1 AND tag_id = ?2",
                    params![f.rowid, tid],
                )
                .map_err(db_err)?;
            if removed == 0 {
                return Err(Error::NotFound(format!("tag '{tag}' on file {id}")));
            }
            // Remembered so that re-tagging never brings it back.
            c.execute(
                "INSERT OR IGNORE INTO removed_tags(file_rowid, tag_id) VALUES (?1, ?2)",
                params![f.rowid, tid],
            )
            .map_err(db_err)?;
            c.execute(
                "UPDATE files SET updated_at = ?2 WHERE rowid = ?1",
                params![f.rowid, ts(now())],
            )
            .map_err(db_err)?;
            refresh_fts(c, f.rowid).map_err(db_err)?;
            let f = find_any(c, id)?;
            complete(c, f).map_err(db_err)
        })
        .await
    }

    async fn list_tags(
        &self,
        viewer: &str,
        prefix: Option<&str>,
        limit: usize,
    ) -> Result<Vec<TagInfo>> {
        let (viewer, prefix) = (viewer.to_string(), prefix.map(str::to_string));
        self.read(move |c| {
            let sql = format!(
                "SELECT t.id, t.name, COUNT(*) AS c FROM file_tags ft
                 JOIN tags t ON t.id = ft.tag_id JOIN files f ON f.rowid = ft.file_rowid
                 WHERE {VISIBLE} AND substr(t.name, 1, length(:prefix)) = :prefix
                 GROUP BY t.id ORDER BY c DESC, t.name LIMIT :limit"
            );
            let mut stmt = c.prepare_cached(&sql).map_err(db_err)?;
            let rows: Vec<(i64, String, i64)> = stmt
                .query_map(
                    rusqlite::named_params! {
                        ":viewer": viewer,
                        ":prefix": prefix.unwrap_or_default(),
                        ":limit": limit.clamp(1, 10_000) as i64,
                    },
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .map_err(db_err)?
                .collect::<rusqlite::Result<_>>()
                .map_err(db_err)?;
            with_aliases(c, rows)
        })
        .await
    }

    async fn related_tags(&self, viewer: &str, tag: &str, limit: usize) -> Result<Vec<RelatedTag>> {
        let (viewer, tag) = (viewer.to_string(), tag.to_string());
        self.read(move |c| {
            let Some(tid) = tag_id(c, &tag).map_err(db_err)? else {
                return Err(Error::NotFound(format!("tag '{tag}'")));
            };
            related_blocking(c, &viewer, tid, limit.clamp(1, 1000))
        })
        .await
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
        self.read(move |c| {
            // A linear scan: exact, and fast enough for the embedded default
            // (10k files x 384 floats is 15 MB read from the page cache).
            let sql = match viewer {
                Some(_) => format!(
                    "SELECT f.id, e.vector FROM file_embeddings e JOIN files f ON f.rowid = e.file_rowid WHERE {VISIBLE}"
                ),
                None => "SELECT f.id, e.vector FROM file_embeddings e JOIN files f ON f.rowid = e.file_rowid WHERE :viewer IS NULL".to_string(),
            };
            let mut stmt = c.prepare_cached(&sql).map_err(db_err)?;
            let mut scored: Vec<(FileId, f32)> = stmt
                .query_map(rusqlite::named_params! {":viewer": viewer}, |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
                })
                .map_err(db_err)?
                .filter_map(|row| {
                    let (id, blob) = row.ok()?;
                    Some((id.parse().ok()?, cosine(&query, &vector_from_blob(&blob))))
                })
                .collect();
            scored.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            scored.truncate(limit);
            Ok(scored)
        })
        .await
    }

    async fn vocabulary(&self, limit: usize) -> Result<Vec<TagInfo>> {
        self.read(move |c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT t.id, t.name, COUNT(*) AS n FROM file_tags ft JOIN tags t ON t.id = ft.tag_id
                     GROUP BY t.id ORDER BY n DESC, t.name LIMIT ?1",
                )
                .map_err(db_err)?;
            let rows: Vec<(i64, String, i64)> = stmt
                .query_map([limit.clamp(1, 100_000) as i64], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .map_err(db_err)?
                .collect::<rusqlite::Result<_>>()
                .map_err(db_err)?;
            with_aliases(c, rows)
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

    async fn files_with_term(&self, term: &str, limit: usize) -> Result<Vec<FileId>> {
        let term = term.to_string();
        self.read(move |c| {
            let ids: Vec<String> = c
                .prepare_cached(
                    "SELECT f.id FROM doc_terms d JOIN files f ON f.rowid = d.file_rowid
                     WHERE d.term = ?1 ORDER BY f.id LIMIT ?2",
                )
                .and_then(|mut s| {
                    s.query_map(params![term, limit.clamp(1, 100_000) as i64], |r| r.get(0))?
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

    async fn search(&self, viewer: &str, query: &str, limit: usize) -> Result<Vec<SearchHit>> {
        let (viewer, query) = (viewer.to_string(), query.to_string());
        self.read(move |c| search_blocking(c, &viewer, &query, limit))
            .await
    }

    async fn neighbourhood(
        &self,
        viewer: &str,
        start: &GraphStart,
        depth: u32,
        max_nodes: usize,
    ) -> Result<GraphView> {
        let (viewer, start) = (viewer.to_string(), start.clone());
        let start = match start {
            GraphStart::Tag(t) => {
                GraphStart::Tag(normalize_tag(&t).map_err(|e| Error::InvalidInput(e.to_string()))?)
            }
            s => s,
        };
        self.read(move |c| neighbourhood_blocking(c, &viewer, &start, depth.min(3), max_nodes))
            .await
    }

    async fn claim_job(&self, worker: &str, lease: Duration) -> Result<Option<Job>> {
        let worker = worker.to_string();
        self.write(move |c| {
            let now = now();
            let until = millis(now) + lease_ms(lease);
            let claimed: Option<(i64, i64, i64)> = c
                .prepare_cached(
                    "UPDATE jobs SET worker = ?1, lease_until = ?2, attempts = attempts + 1
                     WHERE id = (SELECT id FROM jobs
                                 WHERE due_at <= ?3 AND (lease_until IS NULL OR lease_until < ?3)
                                 ORDER BY due_at, id LIMIT 1)
                     RETURNING id, file_rowid, attempts",
                )
                .and_then(|mut s| {
                    s.query_row(params![worker, until, millis(now)], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                    })
                    .optional()
                })
                .map_err(db_err)?;
            let Some((id, rowid, attempts)) = claimed else {
                return Ok(None);
            };
            c.execute(
                "UPDATE files SET status = 'running' WHERE rowid = ?1",
                [rowid],
            )
            .map_err(db_err)?;
            let file_id: String = c
                .query_row("SELECT id FROM files WHERE rowid = ?1", [rowid], |r| {
                    r.get(0)
                })
                .map_err(db_err)?;
            Ok(Some(Job {
                id,
                file_id: file_id.parse().map_err(Error::internal)?,
                attempts: attempts as u32,
                worker,
                lease_until: DateTime::from_timestamp_millis(until).unwrap_or(now),
            }))
        })
        .await
    }

    async fn heartbeat(&self, job: &Job, lease: Duration) -> Result<bool> {
        let job = job.clone();
        self.write(move |c| {
            let n = c
                .execute(
                    "UPDATE jobs SET lease_until = ?3 WHERE id = ?1 AND worker = ?2",
                    params![job.id, job.worker, millis(now()) + lease_ms(lease)],
                )
                .map_err(db_err)?;
            Ok(n == 1)
        })
        .await
    }

    async fn complete_job(&self, job: &Job, outcome: &TaggingOutcome) -> Result<bool> {
        let (job, outcome) = (job.clone(), outcome.clone());
        self.write(move |c| {
            let Some(rowid) = job_holder(c, &job)? else {
                return Ok(false);
            };
            write_outcome(c, rowid, &outcome)?;
            c.execute(
                "UPDATE files SET status = 'done', status_reason = NULL WHERE rowid = ?1",
                [rowid],
            )
            .map_err(db_err)?;
            c.execute("DELETE FROM jobs WHERE id = ?1", [job.id])
                .map_err(db_err)?;
            Ok(true)
        })
        .await
    }

    async fn store_partial(&self, job: &Job, outcome: &TaggingOutcome) -> Result<bool> {
        let (job, outcome) = (job.clone(), outcome.clone());
        self.write(move |c| {
            let Some(rowid) = job_holder(c, &job)? else {
                return Ok(false);
            };
            write_outcome(c, rowid, &outcome)?;
            Ok(true)
        })
        .await
    }

    async fn fail_job(&self, job: &Job, reason: &str, failure: JobFailure) -> Result<()> {
        let (job, reason) = (job.clone(), reason.to_string());
        self.write(move |c| {
            let Some(rowid) = job_holder(c, &job)? else {
                return Ok(());
            };
            match failure {
                JobFailure::RetryAt(at) => {
                    c.execute(
                        "UPDATE jobs SET worker = NULL, lease_until = NULL, due_at = ?2, last_error = ?3
                         WHERE id = ?1",
                        params![job.id, millis(at), reason],
                    )
                    .map_err(db_err)?;
                    c.execute(
                        "UPDATE files SET status = 'pending', status_reason = ?2 WHERE rowid = ?1",
                        params![rowid, format!("retrying: {reason}")],
                    )
                    .map_err(db_err)?;
                }
                JobFailure::GiveUp => {
                    c.execute("DELETE FROM jobs WHERE id = ?1", [job.id])
                        .map_err(db_err)?;
                    c.execute(
                        "UPDATE files SET status = 'failed', status_reason = ?2, updated_at = ?3
                         WHERE rowid = ?1",
                        params![rowid, reason, ts(now())],
                    )
                    .map_err(db_err)?;
                }
            }
            Ok(())
        })
        .await
    }

    async fn release_job(&self, job: &Job) -> Result<()> {
        let job = job.clone();
        self.write(move |c| {
            let Some(rowid) = job_holder(c, &job)? else {
                return Ok(());
            };
            // The attempt did not happen, so it does not count.
            c.execute(
                "UPDATE jobs SET worker = NULL, lease_until = NULL, attempts = MAX(attempts - 1, 0)
                 WHERE id = ?1",
                [job.id],
            )
            .map_err(db_err)?;
            c.execute(
                "UPDATE files SET status = 'pending' WHERE rowid = ?1",
                [rowid],
            )
            .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn requeue(&self, id: FileId) -> Result<()> {
        self.write(move |c| {
            let f = find_any(c, id)?;
            c.execute(
                "INSERT INTO jobs(file_rowid, due_at) VALUES (?1, ?2)
                 ON CONFLICT(file_rowid) DO UPDATE SET due_at = excluded.due_at, attempts = 0,
                     last_error = NULL",
                params![f.rowid, millis(now())],
            )
            .map_err(db_err)?;
            c.execute(
                "UPDATE files SET status = CASE WHEN status = 'running' THEN status ELSE 'pending' END,
                        status_reason = NULL WHERE rowid = ?1",
                [f.rowid],
            )
            .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn queue_depth(&self) -> Result<QueueDepth> {
        self.read(|c| {
            let now = millis(now());
            let (pending, in_flight): (i64, i64) = c
                .query_row(
                    "SELECT COALESCE(SUM(lease_until IS NULL OR lease_until < ?1), 0),
                            COALESCE(SUM(lease_until >= ?1), 0) FROM jobs",
                    [now],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .map_err(db_err)?;
            let failed: i64 = c
                .query_row(
                    "SELECT COUNT(*) FROM files WHERE status = 'failed'",
                    [],
                    |r| r.get(0),
                )
                .map_err(db_err)?;
            Ok(QueueDepth {
                pending: pending as u64,
                in_flight: in_flight as u64,
                failed: failed as u64,
            })
        })
        .await
    }

    async fn corpus_stats(&self, terms: &[String]) -> Result<CorpusStats> {
        let terms = terms.to_vec();
        self.read(move |c| {
            let documents: i64 = c
                .query_row(
                    "SELECT COUNT(*) FROM files WHERE status = 'done'",
                    [],
                    |r| r.get(0),
                )
                .map_err(db_err)?;
            let mut stmt = c
                .prepare_cached("SELECT COUNT(*) FROM doc_terms WHERE term = ?1")
                .map_err(db_err)?;
            let document_frequency = terms
                .iter()
                .map(|t| {
                    stmt.query_row([t], |r| r.get::<_, i64>(0))
                        .map(|n| n as u64)
                })
                .collect::<rusqlite::Result<_>>()
                .map_err(db_err)?;
            Ok(CorpusStats {
                documents: documents as u64,
                document_frequency,
            })
        })
        .await
    }

    async fn ping(&self) -> Result<()> {
        self.read(|c| {
            c.query_row("SELECT 1", [], |_| Ok(()))
                .map_err(|e| Error::unavailable(format!("graph index: {e}")))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fts_query_quotes_user_text() {
        assert_eq!(
            fts_query("tax report", false),
            vec!["\"tax\"", "\"report\""]
        );
        assert_eq!(
            fts_query("a\"b OR c*", true),
            vec!["\"a\"", "\"b\"", "\"OR\"", "\"c\""]
        );
        assert_eq!(fts_query("rep", true), vec!["\"rep\"*"]);
        assert_eq!(
            fts_query("机器学习 ai", false),
            vec!["\"机 器 学 习\"", "\"ai\""]
        );
        assert!(fts_query(" ;; ", true).is_empty());
    }

    #[test]
    fn cjk_spacing_round_trips_in_snippets() {
        let spaced = fts_text("我爱机器学习 and AI");
        assert_eq!(unspace_cjk(&spaced).trim(), "我爱机器学习 and AI");
        // As FTS5 highlights each CJK token of a match.
        assert_eq!(
            unspace_cjk(" 我  爱  [机]  [器]  学 and [AI]"),
            " 我爱[机器]学 and [AI]"
        );
    }
}
