//! Ranked full-text candidates from a Tantivy index beside FTS5.
//!
//! FTS5 scores every match before it can order them, so a word found in
//! most files cost a second at a million files. Tantivy keeps BM25 top-k
//! cheap (block-max WAND skips postings that cannot reach the top k).
//!
//! FTS5 stays the source of the rows (and ranks while this index cannot); this
//! index is derived from it. Every change of a full-text row appends the
//! file to `text_changes` in the same transaction ([`log_text_change`]), and
//! the index replays the log past the sequence number its last commit
//! recorded. So a crash loses nothing, a missing, foreign or older index is
//! rebuilt, and while it is not caught up (the first build) a search ranks
//! with FTS5 as before.
//!
//! The name, tags and text go into one field with the name repeated
//! [`NAME_WEIGHT`] times and the tags [`TAG_WEIGHT`] times: BM25F's weighted
//! term frequencies, the same weights FTS5's bm25() is given.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use graphfs_domain::QueryTerm;
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, ConstScoreQuery, Occur, PhraseQuery, Query, TermQuery};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STRING, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, LowerCaser, RemoveLongFilter, SimpleTokenizer, TextAnalyzer,
};
use tantivy::{
    Index, IndexReader, IndexWriter, ReloadPolicy, Searcher, TantivyDocument, Term,
    indexer::IndexWriterOptions,
};

type Res<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

const ANALYZER: &str = "graphfs";
/// How many times the name and the tags count, the text counting once.
const NAME_WEIGHT: usize = 10;
const TAG_WEIGHT: usize = 5;
/// Log entries indexed per commit.
const BATCH: i64 = 20_000;
/// Words a last-word prefix expands to, the most frequent first.
const MAX_PREFIX_TERMS: usize = 64;
/// The index's folder under the store's: a new one whenever the schema or
/// what goes into a document changes, so no version reads another's.
const LAYOUT: &str = "v1";
/// Stores up to this many files are indexed as they open.
const SYNC_BUILD_MAX: i64 = 20_000;
/// How often the background indexer looks at the log.
const INTERVAL: Duration = Duration::from_millis(200);
/// The indexer's arena: one thread, Tantivy's minimum, so the server's
/// memory stays what it was.
const WRITER_MEMORY: usize = 15_000_000;

/// Appends a file to the log of full-text changes; the caller's
/// transaction commits it with the change itself.
pub(super) fn log_text_change(conn: &Connection, rowid: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("INSERT INTO text_changes(file_rowid) VALUES (?1)")?
        .execute([rowid])?;
    Ok(())
}

/// Where the index of the database at `db` lives: a folder beside it.
pub(super) fn index_dir(db: &Path) -> PathBuf {
    let stem = db
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "graph".into());
    db.with_file_name(format!("{stem}-text"))
}

pub(super) struct Ranking {
    reader: IndexReader,
    index: Index,
    /// None while another process holds the index's lock; taken later.
    writer: Mutex<Option<IndexWriter>>,
    all: Field,
    rowid: Field,
    /// The owner and the users the file is shared with, to rank only what
    /// one viewer may read when most matches are others'.
    readers: Field,
    /// The store this index belongs to (`settings.text_index_store`).
    store: String,
    /// The `text_changes` sequence number the searchable index covers;
    /// negative until the first build is done.
    indexed: AtomicI64,
    /// Searches this index answered, and those left to FTS5.
    answered: AtomicU64,
    declined: AtomicU64,
    /// Of those answered, searches among one viewer's files.
    answered_for_viewer: AtomicU64,
    /// The log position trimmed up to (by a transaction that may yet have
    /// rolled back: the next trim deletes from the start again).
    trimmed: AtomicI64,
    /// Set as the store closes: the writer is let go and not taken again.
    closed: AtomicBool,
}

fn schema() -> (Schema, Field, Field, Field) {
    let mut b = Schema::builder();
    let all = b.add_text_field(
        "all",
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(ANALYZER)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        ),
    );
    let rowid = b.add_u64_field("rowid", INDEXED | FAST);
    let readers = b.add_text_field("readers", STRING);
    (b.build(), all, rowid, readers)
}

/// FTS5's unicode61 with diacritics removed, as near as Tantivy's filters
/// come: runs of letters and digits, lower-cased and folded to ASCII.
fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(64))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

impl Ranking {
    /// Opens the index in `dir` (made anew when missing or of another
    /// schema). `conn` reads the store's id and log position.
    pub(super) fn open(root: &Path, conn: &Connection) -> Res<Ranking> {
        let store: String = conn.query_row(
            "SELECT value FROM settings WHERE key = 'text_index_store'",
            [],
            |r| r.get(0),
        )?;
        let (schema, all, rowid, readers) = schema();
        remove_other_layouts(root);
        let dir = root.join(LAYOUT);
        let existing = dir.join("meta.json").exists().then(|| {
            Index::open_in_dir(&dir)
                .ok()
                .filter(|i| i.schema() == schema)
        });
        let index = match existing {
            Some(Some(index)) => index,
            found => {
                if found.is_some() {
                    tracing::warn!(dir = %dir.display(), "full-text ranking index unreadable; rebuilding it");
                    std::fs::remove_dir_all(&dir)?;
                }
                std::fs::create_dir_all(&dir)?;
                Index::create_in_dir(&dir, schema)?
            }
        };
        index.tokenizers().register(ANALYZER, analyzer());
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let ranking = Ranking {
            reader,
            writer: Mutex::new(None),
            index,
            all,
            rowid,
            readers,
            store,
            indexed: AtomicI64::new(-1),
            answered: AtomicU64::new(0),
            declined: AtomicU64::new(0),
            answered_for_viewer: AtomicU64::new(0),
            trimmed: AtomicI64::new(0),
            closed: AtomicBool::new(false),
        };
        ranking
            .indexed
            .store(ranking.covered(conn)?, Ordering::Release);
        if let Ok(mut w) = ranking.writer.lock() {
            *w = ranking.take_writer();
        }
        // A small store is indexed before the first search rather than
        // ranked by FTS5 meanwhile; a large one in the background.
        if ranking.indexed.load(Ordering::Acquire) < 0 {
            let files: i64 = conn.query_row("SELECT count(*) FROM files", [], |r| r.get(0))?;
            if files <= SYNC_BUILD_MAX {
                ranking.catch_up(conn)?;
            }
        }
        Ok(ranking)
    }

    /// What the index's last commit covers, if that commit was this store's
    /// and the log has got that far (a database restored from an older copy
    /// has not); -1 when the index must be built.
    fn covered(&self, conn: &Connection) -> Res<i64> {
        let logged = last_logged(conn)?;
        Ok(self
            .index
            .load_metas()?
            .payload
            .and_then(|p| {
                let (s, seq) = p.rsplit_once(':')?;
                (s == self.store).then(|| seq.parse::<i64>().ok()).flatten()
            })
            .filter(|seq| *seq <= logged)
            .unwrap_or(-1))
    }

    /// The writer, taken now if another process held it before; what the
    /// index covers is then read again, as that process may have added to it.
    fn writer<'a>(
        &self,
        guard: &'a mut Option<IndexWriter>,
        conn: &Connection,
    ) -> Res<Option<&'a mut IndexWriter>> {
        if guard.is_none() && !self.closed.load(Ordering::Acquire) {
            *guard = self.take_writer();
            if guard.is_some() {
                self.reader.reload()?;
                self.indexed.store(self.covered(conn)?, Ordering::Release);
            }
        }
        Ok(guard.as_mut())
    }

    /// Deletes the log entries the index has committed, in the store's
    /// write transaction `tx` (the store's one writer: a second one would
    /// make its transactions fail on a changed snapshot).
    pub(super) fn trim(&self, tx: &Connection) {
        let covered = self.indexed.load(Ordering::Acquire);
        if covered <= self.trimmed.load(Ordering::Relaxed) {
            return;
        }
        match tx
            .prepare_cached("DELETE FROM text_changes WHERE seq <= ?1")
            .and_then(|mut st| st.execute([covered]))
        {
            Ok(_) => self.trimmed.store(covered, Ordering::Relaxed),
            Err(e) => tracing::warn!(error = %e, "trimming the full-text change log"),
        }
    }

    /// Lets the index go (once an indexing turn in progress ends), so that
    /// the next process or handle on this store can take it at once.
    pub(super) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        if let Ok(mut writer) = self.writer.lock() {
            writer.take();
        }
    }

    fn take_writer(&self) -> Option<IndexWriter> {
        let options = IndexWriterOptions::builder()
            .memory_budget_per_thread(WRITER_MEMORY)
            .num_worker_threads(1)
            .num_merge_threads(1)
            .build();
        match self.index.writer_with_options(options) {
            Ok(w) => Some(w),
            Err(e) => {
                tracing::debug!(error = %e, "full-text ranking index busy; FTS5 ranks meanwhile");
                None
            }
        }
    }

    /// The `want` best files for `terms` (all of them, or any with
    /// `!all`; the last word also as a prefix), among those `reader` may
    /// read when given, as (rowid, rank) with FTS5's sign (lower ranks
    /// first); `None` when this index cannot answer and FTS5 should.
    pub(super) fn rank(
        &self,
        conn: &Connection,
        terms: &[QueryTerm],
        reader: Option<&str>,
        all: bool,
        want: usize,
    ) -> Option<Vec<(i64, f64)>> {
        let ranked = (|| -> Res<Option<Vec<(i64, f64)>>> {
            if !self.catch_up_for_search(conn)? {
                return Ok(None);
            }
            let searcher = self.reader.searcher();
            let query = match self.query(&searcher, terms, all)? {
                Plan::Search(q) => q,
                Plan::Nothing => return Ok(Some(Vec::new())),
                Plan::Decline => return Ok(None),
            };
            let query: Box<dyn Query> = match reader {
                Some(viewer) => Box::new(BooleanQuery::new(vec![
                    (Occur::Must, Box::new(query)),
                    (
                        Occur::Must,
                        Box::new(ConstScoreQuery::new(
                            Box::new(TermQuery::new(
                                Term::from_field_text(self.readers, viewer),
                                IndexRecordOption::Basic,
                            )),
                            0.0,
                        )),
                    ),
                ])),
                None => Box::new(query),
            };
            let top =
                searcher.search(&query, &TopDocs::with_limit(want.max(1)).order_by_score())?;
            let mut out = Vec::with_capacity(top.len());
            // Each segment's rowid column opened once, not once per hit.
            let mut columns = HashMap::new();
            for (score, at) in top {
                let rowids = match columns.entry(at.segment_ord) {
                    Entry::Occupied(open) => open.into_mut(),
                    Entry::Vacant(slot) => slot.insert(
                        searcher
                            .segment_reader(at.segment_ord)
                            .fast_fields()
                            .u64("rowid")?,
                    ),
                };
                if let Some(rowid) = rowids.first(at.doc_id) {
                    out.push((rowid as i64, -f64::from(score)));
                }
            }
            Ok(Some(out))
        })();
        let ranked = ranked.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "full-text ranking index failed; FTS5 ranks instead");
            None
        });
        let counter = if ranked.is_some() {
            &self.answered
        } else {
            &self.declined
        };
        counter.fetch_add(1, Ordering::Relaxed);
        if ranked.is_some() && reader.is_some() {
            self.answered_for_viewer.fetch_add(1, Ordering::Relaxed);
        }
        ranked
    }

    /// Searches answered here and searches left to FTS5, so far.
    #[cfg(test)]
    fn answers(&self) -> (u64, u64) {
        (
            self.answered.load(Ordering::Relaxed),
            self.declined.load(Ordering::Relaxed),
        )
    }

    /// Brings the index up to every change committed before this call, so
    /// a search sees what was written before it. False while the first
    /// build runs or another process holds the index.
    fn catch_up_for_search(&self, conn: &Connection) -> Res<bool> {
        let indexed = self.indexed.load(Ordering::Acquire);
        if indexed < 0 {
            return Ok(false);
        }
        let pending: Option<i64> = conn
            .prepare_cached("SELECT max(seq) FROM text_changes")?
            .query_row([], |r| r.get(0))?;
        let Some(last) = pending.filter(|l| *l > indexed) else {
            return Ok(true);
        };
        let mut guard = self.writer.lock().map_err(|_| "ranking writer poisoned")?;
        let Some(writer) = self.writer(&mut guard, conn)? else {
            return Ok(false);
        };
        self.replay(writer, conn, last)?;
        Ok(self.indexed.load(Ordering::Acquire) >= last)
    }

    /// The background indexer's turn: the first build, or the log replayed.
    /// Returns the sequence number the index now covers.
    pub(super) fn catch_up(&self, conn: &Connection) -> Res<i64> {
        let mut guard = self.writer.lock().map_err(|_| "ranking writer poisoned")?;
        let Some(writer) = self.writer(&mut guard, conn)? else {
            return Ok(self.indexed.load(Ordering::Acquire));
        };
        if self.indexed.load(Ordering::Acquire) < 0 {
            self.build(writer, conn)?;
        } else {
            self.replay(writer, conn, i64::MAX)?;
        }
        Ok(self.indexed.load(Ordering::Acquire))
    }

    /// Every full-text row, read in one snapshot with the log position it
    /// reflects.
    fn build(&self, writer: &mut IndexWriter, conn: &Connection) -> Res<()> {
        let started = std::time::Instant::now();
        let snapshot = conn.unchecked_transaction()?;
        let upto = last_logged(&snapshot)?;
        writer.delete_all_documents()?;
        let mut files = 0usize;
        {
            let mut rows = snapshot.prepare("SELECT rowid, name, text, tags FROM files_fts")?;
            let mut rows = rows.query([])?;
            while let Some(r) = rows.next()? {
                let rowid = r.get(0)?;
                let readers = readers_of(&snapshot, rowid)?;
                let doc = self.document(
                    rowid,
                    &r.get::<_, String>(1)?,
                    &r.get::<_, String>(2)?,
                    &r.get::<_, String>(3)?,
                    &readers,
                );
                writer.add_document(doc)?;
                files += 1;
            }
        }
        drop(snapshot);
        self.commit(writer, upto)?;
        tracing::info!(
            files,
            seconds = started.elapsed().as_secs_f64(),
            "full-text ranking index built"
        );
        Ok(())
    }

    /// The logged changes past what the index covers, a batch per commit,
    /// until it covers `upto` or the log ends.
    fn replay(&self, writer: &mut IndexWriter, conn: &Connection, upto: i64) -> Res<()> {
        loop {
            let from = self.indexed.load(Ordering::Acquire);
            if from >= upto {
                return Ok(());
            }
            let changes: Vec<(i64, i64)> = conn
                .prepare_cached(
                    "SELECT seq, file_rowid FROM text_changes WHERE seq > ?1 ORDER BY seq LIMIT ?2",
                )?
                .query_map([from, BATCH], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            let Some(&(last, _)) = changes.last() else {
                return Ok(());
            };
            let mut seen = HashSet::with_capacity(changes.len());
            let mut row =
                conn.prepare_cached("SELECT name, text, tags FROM files_fts WHERE rowid = ?1")?;
            for (_, rowid) in changes {
                if !seen.insert(rowid) {
                    continue;
                }
                // The row as it is now: a later change is replayed again,
                // a deleted file is only deleted.
                writer.delete_term(Term::from_field_u64(self.rowid, rowid as u64));
                let current: Option<(String, String, String)> = row
                    .query_row([rowid], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                    .optional()?;
                if let Some((name, text, tags)) = current {
                    let readers = readers_of(conn, rowid)?;
                    writer.add_document(self.document(rowid, &name, &text, &tags, &readers))?;
                }
            }
            self.commit(writer, last)?;
        }
    }

    fn commit(&self, writer: &mut IndexWriter, upto: i64) -> Res<()> {
        let mut prepared = writer.prepare_commit()?;
        prepared.set_payload(&format!("{}:{upto}", self.store));
        prepared.commit()?;
        self.reader.reload()?;
        self.indexed.store(upto, Ordering::Release);
        Ok(())
    }

    fn document(
        &self,
        rowid: i64,
        name: &str,
        text: &str,
        tags: &str,
        readers: &[String],
    ) -> TantivyDocument {
        let mut doc = TantivyDocument::default();
        doc.add_u64(self.rowid, rowid as u64);
        for r in readers {
            doc.add_text(self.readers, r);
        }
        // Separate values: a phrase never runs from one copy into the next.
        for _ in 0..NAME_WEIGHT {
            doc.add_text(self.all, name);
        }
        if !tags.is_empty() {
            for _ in 0..TAG_WEIGHT {
                doc.add_text(self.all, tags);
            }
        }
        doc.add_text(self.all, text);
        doc
    }

    /// The query for `terms`.
    fn query(&self, searcher: &Searcher, terms: &[QueryTerm], all: bool) -> Res<Plan> {
        let mut analyzer = self
            .index
            .tokenizers()
            .get(ANALYZER)
            .ok_or("the full-text analyzer is not registered")?;
        let last = terms.len().saturating_sub(1);
        let mut parts: Vec<Box<dyn Query>> = Vec::new();
        for (i, t) in terms.iter().enumerate() {
            let text = if t.cjk {
                super::fts_text(&t.text)
            } else {
                t.text.clone()
            };
            let mut tokens = Vec::new();
            let mut stream = analyzer.token_stream(&text);
            while stream.advance() {
                tokens.push(Term::from_field_text(self.all, &stream.token().text));
            }
            let part: Option<Box<dyn Query>> = match tokens.len() {
                // A word this analyzer drops (a very long one) is FTS5's.
                0 => return Ok(Plan::Decline),
                1 if i == last && !t.cjk => {
                    let words = self.expand(searcher, &tokens[0])?;
                    (!words.is_empty()).then(|| {
                        Box::new(BooleanQuery::union(
                            words
                                .into_iter()
                                .map(|w| {
                                    Box::new(TermQuery::new(w, IndexRecordOption::WithFreqs))
                                        as Box<dyn Query>
                                })
                                .collect(),
                        )) as Box<dyn Query>
                    })
                }
                1 => Some(Box::new(TermQuery::new(
                    tokens.remove(0),
                    IndexRecordOption::WithFreqs,
                ))),
                _ => Some(Box::new(PhraseQuery::new(tokens))),
            };
            match part {
                Some(p) => parts.push(p),
                // A word no file has: nothing has all the words.
                None if all => return Ok(Plan::Nothing),
                None => {}
            }
        }
        if parts.is_empty() {
            return Ok(Plan::Nothing);
        }
        Ok(Plan::Search(if all {
            BooleanQuery::intersection(parts)
        } else {
            BooleanQuery::union(parts)
        }))
    }

    /// The indexed words starting with `prefix`, the most frequent first.
    fn expand(&self, searcher: &Searcher, prefix: &Term) -> Res<Vec<Term>> {
        let Some(prefix) = prefix.value().as_str().map(str::to_owned) else {
            return Ok(Vec::new());
        };
        let mut freq: std::collections::HashMap<Vec<u8>, u64> = Default::default();
        for segment in searcher.segment_readers() {
            let inverted = segment.inverted_index(self.all)?;
            let mut words = inverted
                .terms()
                .range()
                .ge(prefix.as_bytes())
                .into_stream()?;
            while words.advance() {
                if !words.key().starts_with(prefix.as_bytes()) {
                    break;
                }
                *freq.entry(words.key().to_vec()).or_default() += u64::from(words.value().doc_freq);
            }
        }
        let mut words: Vec<(Vec<u8>, u64)> = freq.into_iter().collect();
        words.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Ok(words
            .into_iter()
            .take(MAX_PREFIX_TERMS)
            .filter_map(|(w, _)| String::from_utf8(w).ok())
            .map(|w| Term::from_field_text(self.all, &w))
            .collect())
    }
}

/// What [`Ranking::query`] makes of a search.
enum Plan {
    Search(BooleanQuery),
    /// A word no file has, where every word must match.
    Nothing,
    /// Left to FTS5.
    Decline,
}

/// Removes what other versions left in `root` (best effort: a process of
/// another version still using its folder keeps its open files).
fn remove_other_layouts(root: &Path) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_name() == LAYOUT {
            continue;
        }
        let path = entry.path();
        let removed = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        if let Err(e) = removed {
            tracing::debug!(path = %path.display(), error = %e, "leaving an older full-text index");
        }
    }
}

/// Who may read a file: its owner and the users it is shared with.
fn readers_of(conn: &Connection, rowid: i64) -> rusqlite::Result<Vec<String>> {
    conn.prepare_cached(
        "SELECT owner FROM files WHERE rowid = ?1
         UNION ALL SELECT user_id FROM shares WHERE file_rowid = ?1",
    )?
    .query_map([rowid], |r| r.get(0))?
    .collect()
}

/// The last sequence number the log has handed out (0 before any).
fn last_logged(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'text_changes'), 0)",
        [],
        |r| r.get(0),
    )
}

/// The background indexer: builds the index once, then replays the log as
/// files change. It reads on a connection of its own to the database at
/// `db`, and ends when the store closes the index.
pub(super) fn spawn_indexer(ranking: Arc<Ranking>, db: &Path) -> Res<()> {
    let reader = Connection::open_with_flags(
        db,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    reader.execute_batch("PRAGMA busy_timeout = 5000;")?;
    std::thread::Builder::new()
        .name("graphfs-text-index".into())
        .spawn(move || {
            loop {
                std::thread::sleep(INTERVAL);
                if ranking.closed.load(Ordering::Acquire) {
                    return;
                }
                if let Err(e) = ranking.catch_up(&reader) {
                    tracing::warn!(error = %e, "full-text ranking index");
                }
            }
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use graphfs_domain::contract::new_text_file;
    use graphfs_domain::{FileCatalog, FileId, JobQueue, Principals, TaggingOutcome, TextSearch};

    use super::*;
    use crate::SqliteGraphIndex;

    async fn add(index: &SqliteGraphIndex, name: &str, text: &str) -> FileId {
        add_as(index, "alice", name, text).await
    }

    async fn add_as(index: &SqliteGraphIndex, owner: &str, name: &str, text: &str) -> FileId {
        let file = new_text_file(owner, "/", name);
        let id = file.id;
        index.create_file(file).await.unwrap();
        let job = index
            .claim_job("test", Duration::from_secs(60))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(job.file_id, id, "one job queued at a time");
        let outcome = TaggingOutcome {
            text: text.into(),
            metadata: serde_json::json!({}),
            ..TaggingOutcome::default()
        };
        index.complete_job(&job, &outcome).await.unwrap();
        id
    }

    async fn found(index: &SqliteGraphIndex, q: &str) -> Vec<FileId> {
        index
            .search_in("alice", q, None, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|h| h.file.id)
            .collect()
    }

    fn answers(index: &SqliteGraphIndex) -> (u64, u64) {
        index.inner.ranking.as_ref().unwrap().answers()
    }

    #[tokio::test]
    async fn the_index_answers_at_once_with_what_was_just_written() {
        let dir = tempfile::tempdir().unwrap();
        let index = SqliteGraphIndex::open(dir.path().join("graph.db"))
            .await
            .unwrap();
        let otter = add(&index, "notes.txt", "the otter swims in the river").await;
        let heron = add(&index, "birds.txt", "a heron by the river bank").await;
        // Before the background indexer's first turn: the search itself
        // brings the index up to date.
        assert_eq!(found(&index, "otter").await, vec![otter]);
        let both = found(&index, "river").await;
        assert_eq!(both.len(), 2, "{both:?}");
        assert_eq!(
            found(&index, "her").await,
            vec![heron],
            "last word as a prefix"
        );
        // All words first; when no file has all of them, any of them.
        assert_eq!(found(&index, "otter heron").await.len(), 2);
        assert_eq!(found(&index, "river otter").await, vec![otter]);
        // A name outranks the text.
        let named = add(&index, "river.txt", "nothing else").await;
        assert_eq!(found(&index, "river").await[0], named);
        index.delete_file("alice", named).await.unwrap();
        assert!(!found(&index, "river").await.contains(&named));
        let (answered, declined) = answers(&index);
        assert_eq!(declined, 0, "FTS5 ranked none of them");
        assert!(answered >= 6, "{answered}");
        // What the index committed leaves the log with the next writes.
        let logged = || {
            Connection::open(dir.path().join("graph.db"))
                .unwrap()
                .query_row("SELECT count(*) FROM text_changes", [], |r| {
                    r.get::<_, i64>(0)
                })
                .unwrap()
        };
        add(&index, "last.txt", "one more").await;
        let c = Connection::open(dir.path().join("graph.db")).unwrap();
        let total = last_logged(&c).unwrap();
        assert!(total >= 5, "every change was logged: {total}");
        assert!(logged() <= 2, "{} entries kept", logged());
    }

    #[tokio::test]
    async fn changes_the_index_never_saw_are_replayed_and_a_lost_index_is_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("graph.db");
        let index = SqliteGraphIndex::open(&db).await.unwrap();
        let otter = add(&index, "notes.txt", "the otter swims").await;
        assert_eq!(found(&index, "otter").await, vec![otter]);
        drop(index);
        // As after a crash between the store's commit and the index's: the
        // row and its log entry are there, the index has not seen them.
        {
            let c = Connection::open(&db).unwrap();
            c.execute_batch(
                "UPDATE files_fts SET text = 'a badger digs' WHERE rowid = 1;
                 INSERT INTO text_changes(file_rowid) VALUES (1);",
            )
            .unwrap();
        }
        let index = SqliteGraphIndex::open(&db).await.unwrap();
        assert_eq!(found(&index, "badger").await, vec![otter]);
        assert!(
            found(&index, "otter").await.is_empty(),
            "the old text is gone"
        );
        assert_eq!(answers(&index), (2, 0));
        drop(index);

        std::fs::remove_dir_all(index_dir(&db)).unwrap();
        let index = SqliteGraphIndex::open(&db).await.unwrap();
        assert_eq!(found(&index, "badger").await, vec![otter]);
        assert_eq!(answers(&index), (1, 0), "rebuilt as the store opened");
    }

    #[tokio::test]
    async fn an_index_of_another_store_is_not_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.db"), dir.path().join("b.db"));
        let index = SqliteGraphIndex::open(&a).await.unwrap();
        add(&index, "a.txt", "walrus").await;
        assert_eq!(found(&index, "walrus").await.len(), 1);
        drop(index);
        let index = SqliteGraphIndex::open(&b).await.unwrap();
        let b_file = add(&index, "b.txt", "puffin").await;
        drop(index);
        // b's index replaced by a's, as a copied folder might leave it.
        std::fs::remove_dir_all(index_dir(&b)).unwrap();
        std::fs::rename(index_dir(&a), index_dir(&b)).unwrap();
        let index = SqliteGraphIndex::open(&b).await.unwrap();
        assert!(found(&index, "walrus").await.is_empty());
        assert_eq!(found(&index, "puffin").await, vec![b_file]);
        assert_eq!(answers(&index).1, 0);
    }

    #[tokio::test]
    async fn a_viewer_among_many_others_gets_their_own_best_matches() {
        let dir = tempfile::tempdir().unwrap();
        let index = SqliteGraphIndex::open(dir.path().join("graph.db"))
            .await
            .unwrap();
        // More of bob's matches than the unfiltered candidates can hold,
        // and each of them ranks above alice's.
        for n in 0..(super::super::search::MAX_RANKED + 100) {
            add_as(&index, "bob", &format!("kelp-{n}.txt"), "kelp kelp kelp").await;
        }
        let mine = add(
            &index,
            "notes.txt",
            "some kelp and a long text about other things",
        )
        .await;
        let shared = add_as(
            &index,
            "carol",
            "c.txt",
            "kelp forest, long text, other words",
        )
        .await;
        assert_eq!(found(&index, "kelp").await, vec![mine]);
        index.ensure_user("alice").await.unwrap();
        index
            .update_file(
                "carol",
                shared,
                &graphfs_domain::FileChange::share("alice", true).unwrap(),
            )
            .await
            .unwrap();
        let both = found(&index, "kelp").await;
        assert_eq!(both.len(), 2, "the share reached the index: {both:?}");
        assert_eq!(answers(&index).1, 0, "FTS5 ranked none of them");
        let ranking = index.inner.ranking.as_ref().unwrap();
        assert_eq!(
            ranking.answered_for_viewer.load(Ordering::Relaxed),
            2,
            "both searches ended among alice's files"
        );
    }

    #[tokio::test]
    async fn a_second_handle_on_the_store_ranks_once_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("graph.db");
        let first = SqliteGraphIndex::open(&db).await.unwrap();
        let otter = add(&first, "a.txt", "otter").await;
        assert_eq!(found(&first, "otter").await, vec![otter]);
        let second = SqliteGraphIndex::open(&db).await.unwrap();
        let heron = add(&second, "b.txt", "heron").await;
        // The first handle holds the index: the second cannot add to it,
        // so FTS5 answers, and answers right.
        assert_eq!(found(&second, "heron").await, vec![heron]);
        assert_eq!(answers(&second), (0, 1));
        drop(first);
        assert_eq!(found(&second, "heron").await, vec![heron]);
        assert_eq!(found(&second, "otter").await, vec![otter]);
        assert_eq!(answers(&second), (2, 1), "the index was taken over");
    }
}
