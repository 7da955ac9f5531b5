//! The graph index in SQLite.
//!
//! SQLite (bundled, with FTS5) rather than redb: the index is relational at
//! heart (files, tags and the edges between them, filtered and sorted many
//! ways), and WAL mode gives crash-safe transactions with concurrent
//! readers. The graph is stored as edge tables; walks are a few indexed
//! lookups per hop. Full-text matches are FTS5's; their ranking at scale
//! comes from a Tantivy index derived from it (`ranking.rs`).
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
use chrono::{DateTime, Utc};
use graphfs_domain::{
    ContentReplaced, CorpusStats, Cursor, CursorKey, DriveLocks, DriveProps, EdgeKind, Error,
    FileCatalog, FileChange, FileId, FileQuery, FileRecord, FileTag, FileVersion, FolderFilter,
    FolderInfo, Folders, GraphBuilder, GraphIndex, GraphStart, GraphView, GraphWalk, Job,
    JobFailure, JobQueue, Keyset, Leases, MAX_INDEXED_TEXT, NewContent, NewFile, NodeKind, Page,
    Principals, QueryTerm, QueueDepth, ROOT_FOLDER, RelatedTag, Result, SearchHit, SimilarFile,
    Similarity, TagInfo, TagMatch, TagSource, TagStore, TaggingOutcome, TaggingStatus,
    TaxonomyStore, TextSearch, UserId, Versions, Vocabulary, access, check_embedding,
    check_folder_move, cosine, folder_ancestry, folder_name, index_terms, is_cjk, name_taken,
    name_tokens, name_with_id, normalize_tag, parent_folder, parse_stored_time, query_terms,
    share_with_owner, snippet, stored_time, tag_sources, truncate_utf8, unknown_user,
};
use rusqlite::{Connection, OpenFlags, OptionalExtension, Row, params};

pub use semantic::{DEFAULT_SEMANTIC_INDEX_MIN_FILES, SemanticIndexStats};

mod files;
mod folders;
mod fts;
mod leases;
mod locks;
mod principals;
mod props;
mod queue;
mod ranking;
mod rows;
mod schema;
mod search;
mod semantic;
mod similarity;
mod tags;
mod taxonomy;
mod versions;
mod vocabulary;
mod walk;

// The helpers the trait modules share; each reaches them through `super::*`.
#[allow(unused_imports)]
use self::{
    folders::*, fts::*, queue::*, ranking::log_text_change, rows::*, schema::*, search::*,
    similarity::*, tags::*, vocabulary::*,
};

/// Files a tag node expands to in one graph hop.
const TAG_FANOUT: usize = 50;

/// Co-occurring tags a tag node expands to in one graph hop.
const COOCCUR_FANOUT: usize = 10;

struct Inner {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    semantic: semantic::Semantic,
    /// Full-text ranking beside FTS5; none when its folder cannot be used
    /// (FTS5 then ranks alone).
    ranking: Option<Arc<ranking::Ranking>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // The ranking index's lock goes with the store, not later with the
        // background indexer.
        if let Some(ranking) = &self.ranking {
            ranking.close();
        }
    }
}

impl Inner {
    /// The next reader connection, in turn.
    fn reader(&self) -> Result<std::sync::MutexGuard<'_, Connection>> {
        let i = self.next_reader.fetch_add(1, Ordering::Relaxed) % self.readers.len();
        self.readers[i]
            .lock()
            .map_err(|_| Error::internal("reader connection poisoned"))
    }
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
fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn lease_ms(lease: Duration) -> i64 {
    i64::try_from(lease.as_millis()).unwrap_or(i64::MAX / 2)
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
        schema::migrate(&writer)?;
        let ranking = ranking::Ranking::open(&ranking::index_dir(path), &writer)
            .map(Arc::new)
            .and_then(|r| ranking::spawn_indexer(r.clone(), path).map(|()| r))
            .inspect_err(
                |e| tracing::warn!(error = %e, "no full-text ranking index; FTS5 ranks alone"),
            )
            .ok();
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
        let inner = Arc::new(Inner {
            writer: Mutex::new(writer),
            readers,
            next_reader: AtomicUsize::new(0),
            semantic: semantic::Semantic::new(Some(semantic::saved_graph_path(path))),
            ranking,
        });
        Ok(SqliteGraphIndex { inner })
    }

    /// Brings the full-text ranking index up to every change made so far
    /// (building it if needed), rather than in the background; for bulk
    /// loads that are searched right after.
    pub async fn sync_text_index(&self) -> Result<()> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let Some(ranking) = inner.ranking.as_ref() else {
                return Ok(());
            };
            ranking
                .catch_up(&*inner.reader()?)
                .map(|_| ())
                .map_err(|e| Error::internal(format!("full-text ranking index: {e}")))
        })
        .await
        .map_err(Error::internal)?
    }

    async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || f(&*inner.reader()?))
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
            if let Some(ranking) = &inner.ranking {
                ranking.trim(&tx);
            }
            let out = f(&tx)?;
            tx.commit().map_err(db_err)?;
            Ok(out)
        })
        .await
        .map_err(Error::internal)?
    }
}

#[async_trait]
impl GraphIndex for SqliteGraphIndex {
    async fn ping(&self) -> Result<()> {
        self.read(|c| {
            c.query_row("SELECT 1", [], |_| Ok(()))
                .map_err(|e| Error::unavailable(format!("graph index: {e}")))
        })
        .await
    }
}
