//! The in-memory ANN graph over `file_embeddings`, kept beside SQLite.
//!
//! SQLite holds the vectors durably; the graph is derived from them: it is
//! built from the table when the collection is large enough to need it, and
//! every embedding this process stores after that is applied to it once its
//! transaction commits. A built graph is saved beside the database
//! (`graph.db.hnsw`); the next start reads it and catches it up with the
//! table (vectors stored or changed since go in, files gone come out), which
//! takes seconds where a build of a million takes minutes. A missing,
//! damaged or foreign copy is built again. Results are checked
//! against SQLite (the file still exists, still has a vector, the viewer may
//! see it), so the graph only chooses candidates and never grants access.

#[allow(unused_imports)]
use super::*;

use std::collections::HashMap;
use std::sync::RwLock;
use std::sync::atomic::AtomicU64;
use std::time::Instant;

use crate::ann::Hnsw;

/// Embedded files from which semantic search walks the graph instead of
/// reading every vector. Below it a scan is exact and about as fast.
pub const DEFAULT_SEMANTIC_INDEX_MIN_FILES: usize = 10_000;

/// Candidates walked per result wanted, and the most walked before a query
/// falls back to the exact scan (a viewer who may see few of the files).
const EF_PER_RESULT: usize = 4;
const EF_MIN: usize = 256;
const EF_MAX: usize = 4096;

/// Rows read per lock of a reader connection while building.
const BUILD_CHUNK: i64 = 2000;

/// An embedding stored for `rowid` goes into the graph; a dropped one (or
/// one of another length) takes the file out of it.
fn apply(graph: &mut Hnsw, rowid: i64, embedding: Option<&[f32]>) {
    match embedding {
        Some(v) if graph.insert(rowid, v) => {}
        _ => graph.remove(rowid),
    }
}

enum State {
    /// Not built: the collection is small, or the model changed.
    Unbuilt,
    /// Being built from the table; embeddings stored meanwhile wait here.
    Building(Vec<(i64, Option<Vec<f32>>)>),
    Ready(Hnsw),
}

/// What the semantic graph holds and how queries were answered since start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SemanticIndexStats {
    /// Vectors in the graph; 0 while it is not built.
    pub vectors: usize,
    pub answered_by_graph: u64,
    pub answered_by_scan: u64,
    /// Whether the graph in use was read from the copy an earlier run saved
    /// (and caught up), rather than built.
    pub loaded: bool,
}

pub(super) struct Semantic {
    min_files: AtomicUsize,
    by_graph: AtomicU64,
    by_scan: AtomicU64,
    state: RwLock<State>,
    /// Bumped when the vectors stop being comparable (model change), so a
    /// build that started before is thrown away.
    generation: AtomicU64,
    /// Where the graph is saved after a build, and read from at the next
    /// start; none keeps it in memory only.
    saved: Option<std::path::PathBuf>,
    loaded: std::sync::atomic::AtomicBool,
    /// Embeddings applied to the graph since it was last saved.
    unsaved: AtomicUsize,
    /// When this process last saved the graph.
    last_saved: std::sync::Mutex<Option<Instant>>,
    saving: std::sync::atomic::AtomicBool,
}

/// Changes after which a running graph is saved again, at least: a start
/// then catches up with about this many (or a tenth of the graph).
const SAVE_AFTER_CHANGES: usize = 10_000;

/// The least time between two saves of a running graph: a store filling
/// fast would otherwise write the whole graph (1.7 GB at a million) every
/// time it grew by a tenth.
const SAVE_INTERVAL: Duration = Duration::from_secs(600);

/// Whether a graph of `vectors` with `unsaved` changes, last saved `since`
/// ago (None: never by this process), is due a save.
fn save_due(unsaved: usize, vectors: usize, since: Option<Duration>) -> bool {
    unsaved >= SAVE_AFTER_CHANGES.max(vectors / 10) && since.is_none_or(|s| s >= SAVE_INTERVAL)
}

impl Semantic {
    pub(super) fn new(saved: Option<std::path::PathBuf>) -> Self {
        Semantic {
            saved,
            loaded: Default::default(),
            unsaved: AtomicUsize::new(0),
            last_saved: Default::default(),
            saving: Default::default(),
            min_files: AtomicUsize::new(DEFAULT_SEMANTIC_INDEX_MIN_FILES),
            by_graph: AtomicU64::new(0),
            by_scan: AtomicU64::new(0),
            state: RwLock::new(State::Unbuilt),
            generation: AtomicU64::new(0),
        }
    }

    pub(super) fn set_min_files(&self, n: usize) {
        self.min_files.store(n, Ordering::Relaxed);
    }

    pub(super) fn min_files(&self) -> usize {
        self.min_files.load(Ordering::Relaxed)
    }

    pub(super) fn stats(&self) -> SemanticIndexStats {
        SemanticIndexStats {
            vectors: match self.state.read().as_deref() {
                Ok(State::Ready(graph)) => graph.len(),
                _ => 0,
            },
            answered_by_graph: self.by_graph.load(Ordering::Relaxed),
            answered_by_scan: self.by_scan.load(Ordering::Relaxed),
            loaded: self.loaded.load(Ordering::Relaxed),
        }
    }

    pub(super) fn scanned(&self) {
        self.by_scan.fetch_add(1, Ordering::Relaxed);
    }

    /// Applies an embedding stored (or dropped) for `rowid` once its
    /// transaction has committed.
    pub(super) fn note(&self, rowid: i64, embedding: Option<&[f32]>) {
        let Ok(mut state) = self.state.write() else {
            return;
        };
        match &mut *state {
            State::Unbuilt => {}
            State::Building(pending) => pending.push((rowid, embedding.map(<[f32]>::to_vec))),
            State::Ready(graph) => {
                apply(graph, rowid, embedding);
                self.unsaved.fetch_add(1, Ordering::Relaxed);
                // Replaced vectors are waypoints that cost walking time:
                // once they are half the graph, build it again.
                if graph.dead_share() > 0.5 {
                    *state = State::Unbuilt;
                }
            }
        }
    }

    fn saved_now(&self) {
        if let Ok(mut at) = self.last_saved.lock() {
            *at = Some(Instant::now());
        }
    }

    /// Forgets the graph: the stored vectors were all dropped.
    pub(super) fn reset(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.unsaved.store(0, Ordering::Relaxed);
        if let Ok(mut state) = self.state.write() {
            *state = State::Unbuilt;
        }
        // After the write lock: a save that was reading the graph is done.
        if let Some(path) = &self.saved
            && let Err(e) = std::fs::remove_file(path)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(error = %e, path = %path.display(), "could not remove the saved semantic graph");
        }
    }

    /// Marks a build as started; false if one is running or done.
    fn start_build(&self) -> Option<u64> {
        let mut state = self.state.write().ok()?;
        match *state {
            State::Unbuilt => {
                *state = State::Building(Vec::new());
                Some(self.generation.load(Ordering::SeqCst))
            }
            _ => None,
        }
    }

    /// Puts a finished build in place, unless the vectors changed model
    /// meanwhile; returns the vectors it holds (0 when none was put).
    fn finish_build(&self, generation: u64, built: Option<Hnsw>) -> usize {
        let Ok(mut state) = self.state.write() else {
            return 0;
        };
        let current = self.generation.load(Ordering::SeqCst) == generation;
        match (std::mem::replace(&mut *state, State::Unbuilt), built) {
            (State::Building(pending), Some(mut graph)) if current => {
                for (rowid, embedding) in pending {
                    apply(&mut graph, rowid, embedding.as_deref());
                }
                let n = graph.len();
                *state = State::Ready(graph);
                n
            }
            // A reset meanwhile wins; a failed build is tried again later.
            _ => 0,
        }
    }

    /// Up to `limit` files nearest `query` that `viewer` may see, from the
    /// graph; None when it is not built or cannot answer (the caller scans).
    pub(super) fn nearest(
        &self,
        c: &Connection,
        viewer: Option<&str>,
        query: &[f32],
        limit: usize,
    ) -> Result<Option<Vec<(FileId, f32)>>> {
        let Ok(state) = self.state.read() else {
            return Ok(None);
        };
        let State::Ready(graph) = &*state else {
            return Ok(None);
        };
        if query.len() != graph.dimensions() || limit == 0 {
            return Ok(None);
        }
        let sql = format!(
            "SELECT f.id FROM files f JOIN file_embeddings e ON e.file_rowid = f.rowid
             WHERE f.rowid = :rowid AND (:viewer IS NULL OR {VISIBLE})"
        );
        let mut visible = c.prepare_cached(&sql).map_err(db_err)?;
        // A wider walk finds the same candidates again: each is looked up once.
        let mut seen: HashMap<i64, Option<FileId>> = HashMap::new();
        let mut ef = (limit * EF_PER_RESULT).max(EF_MIN);
        loop {
            let candidates = graph.search(query, ef, ef);
            let mut found = Vec::with_capacity(limit);
            for (rowid, score) in &candidates {
                let id = match seen.get(rowid) {
                    Some(id) => *id,
                    None => {
                        let id = visible
                            .query_row(
                                rusqlite::named_params! {":rowid": rowid, ":viewer": viewer},
                                |r| r.get::<_, String>(0),
                            )
                            .optional()
                            .map_err(db_err)?
                            .and_then(|id| id.parse().ok());
                        seen.insert(*rowid, id);
                        id
                    }
                };
                if let Some(id) = id {
                    found.push((id, *score));
                    if found.len() == limit {
                        self.by_graph.fetch_add(1, Ordering::Relaxed);
                        return Ok(Some(found));
                    }
                }
            }
            // Fewer candidates than asked: the graph has no more to give.
            if candidates.len() < ef || ef >= EF_MAX {
                return Ok(None);
            }
            ef = (ef * 4).min(EF_MAX);
        }
    }
}

impl SqliteGraphIndex {
    /// Embedded files from which semantic search uses the in-memory graph
    /// (HNSW) instead of an exact scan; 0 turns the graph off.
    pub fn with_semantic_index_min_files(self, files: usize) -> Self {
        self.inner.semantic.set_min_files(files);
        self
    }

    /// The semantic graph's size and how queries were answered.
    pub fn semantic_index_stats(&self) -> SemanticIndexStats {
        self.inner.semantic.stats()
    }

    /// Builds the graph from the stored vectors now, if the collection has
    /// reached the size that needs it and no build is running. Returns the
    /// vectors indexed (0 when nothing was built).
    pub async fn build_semantic_index(&self) -> Result<usize> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || build(&inner))
            .await
            .map_err(Error::internal)?
    }

    /// Starts a build on its own thread when a scan has seen enough vectors.
    pub(super) fn build_in_background(inner: &Arc<Inner>, scanned: usize) {
        let min = inner.semantic.min_files();
        if min == 0
            || scanned < min
            || !matches!(inner.semantic.state.read().as_deref(), Ok(State::Unbuilt))
        {
            return;
        }
        let inner = inner.clone();
        let spawned = std::thread::Builder::new()
            .name("graphfs-semantic-index".into())
            .spawn(move || match build(&inner) {
                Ok(n) => tracing::info!(vectors = n, "semantic search index built"),
                Err(e) => tracing::warn!(error = %e, "building the semantic search index failed"),
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "could not start building the semantic search index");
        }
    }

    /// Saves the running graph again on a thread of its own once enough
    /// embeddings went into it since the last save. Embeddings wait for the
    /// save to end (it reads the graph), about a second per 300 MB of it.
    pub(super) fn save_in_background(inner: &Arc<Inner>) {
        let semantic = &inner.semantic;
        // Most embeddings stop here, before any lock: too few since the last save.
        let unsaved = semantic.unsaved.load(Ordering::Relaxed);
        if unsaved < SAVE_AFTER_CHANGES {
            return;
        }
        let since = semantic
            .last_saved
            .lock()
            .ok()
            .and_then(|at| at.map(|at| at.elapsed()));
        if semantic.saved.is_none()
            || !save_due(unsaved, semantic.stats().vectors, since)
            || semantic.saving.swap(true, Ordering::AcqRel)
        {
            return;
        }
        let saver = inner.clone();
        let spawned = std::thread::Builder::new()
            .name("graphfs-semantic-save".into())
            .spawn(move || {
                let inner = saver;
                let semantic = &inner.semantic;
                if let (Some(path), Ok(state)) = (&semantic.saved, semantic.state.read())
                    && let State::Ready(graph) = &*state
                {
                    // Nothing is applied while the graph is read.
                    semantic.unsaved.store(0, Ordering::Relaxed);
                    semantic.saved_now();
                    if let Err(e) = write_saved(graph, path) {
                        tracing::warn!(error = %e, path = %path.display(), "could not save the semantic graph");
                    }
                }
                semantic.saving.store(false, Ordering::Release);
            });
        if let Err(e) = spawned {
            inner.semantic.saving.store(false, Ordering::Release);
            tracing::warn!(error = %e, "could not start saving the semantic graph");
        }
    }
}

fn build(inner: &Inner) -> Result<usize> {
    let min = inner.semantic.min_files();
    if min == 0 {
        return Ok(0);
    }
    let dims = {
        let c = inner.reader()?;
        let enough: i64 = c
            .query_row(
                "SELECT count(*) FROM (SELECT 1 FROM file_embeddings LIMIT ?1)",
                [min as i64],
                |r| r.get(0),
            )
            .map_err(db_err)?;
        if (enough as usize) < min {
            return Ok(0);
        }
        embedding_model(&c)?.map(|(_, d)| d)
    };
    let Some(dims) = dims else {
        return Ok(0);
    };
    let Some(generation) = inner.semantic.start_build() else {
        return Ok(0);
    };
    let started = std::time::Instant::now();
    let mut failed = None;
    let saved = inner.semantic.saved.as_deref();
    let (graph, changed) = match saved.and_then(|path| read_saved(path, dims)) {
        Some(mut graph) => {
            let changed = catch_up(&mut graph, stored_vectors(inner, generation, &mut failed));
            (graph, Some(changed))
        }
        None => {
            let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
            let rows = stored_vectors(inner, generation, &mut failed);
            (Hnsw::build(dims, rows, threads), None)
        }
    };
    if let Some(e) = failed {
        inner.semantic.finish_build(generation, None);
        return Err(e);
    }
    // Saved before it is put in place: embeddings stored meanwhile wait in
    // `Building` and are caught up with at the next start, like any other.
    // Not when the vectors changed model meanwhile (this graph is thrown
    // away), nor when a loaded graph had nothing to catch up with.
    let current = inner.semantic.generation.load(Ordering::SeqCst) == generation;
    if let Some(path) = saved.filter(|_| current && changed != Some(0)) {
        inner.semantic.saved_now();
        match write_saved(&graph, path) {
            Ok(()) => tracing::debug!(path = %path.display(), "semantic graph saved"),
            Err(e) => {
                tracing::warn!(error = %e, path = %path.display(), "could not save the semantic graph; the next start builds it again")
            }
        }
    }
    let n = inner.semantic.finish_build(generation, Some(graph));
    inner.semantic.unsaved.store(0, Ordering::Relaxed);
    inner
        .semantic
        .loaded
        .store(n > 0 && changed.is_some(), Ordering::Relaxed);
    tracing::info!(
        vectors = n,
        seconds = started.elapsed().as_secs_f64(),
        loaded = changed.is_some(),
        changes_since_saved = changed.unwrap_or(0),
        "semantic graph ready"
    );
    Ok(n)
}

/// Every stored (file rowid, vector), read a chunk at a time (the lock let
/// go between chunks, so searches go on); stops early when the vectors change
/// model, or on an error, which it leaves in `failed`.
fn stored_vectors<'a>(
    inner: &'a Inner,
    generation: u64,
    failed: &'a mut Option<Error>,
) -> impl Iterator<Item = (i64, Vec<f32>)> + 'a {
    let mut after = i64::MIN;
    let mut chunk: std::vec::IntoIter<(i64, Vec<u8>)> = Vec::new().into_iter();
    std::iter::from_fn(move || {
        loop {
            if let Some((rowid, blob)) = chunk.next() {
                return Some((rowid, vector_from_blob(&blob)));
            }
            if failed.is_some() || inner.semantic.generation.load(Ordering::SeqCst) != generation {
                return None;
            }
            let next: Result<Vec<(i64, Vec<u8>)>> = inner.reader().and_then(|c| {
                let mut stmt = c
                    .prepare_cached(
                        "SELECT file_rowid, vector FROM file_embeddings
                         WHERE file_rowid > ?1 ORDER BY file_rowid LIMIT ?2",
                    )
                    .map_err(db_err)?;
                stmt.query_map(params![after, BUILD_CHUNK], |r| Ok((r.get(0)?, r.get(1)?)))
                    .map_err(db_err)?
                    .collect::<rusqlite::Result<_>>()
                    .map_err(db_err)
            });
            match next {
                Ok(rows) if !rows.is_empty() => {
                    after = rows.last().map_or(after, |r| r.0);
                    chunk = rows.into_iter();
                }
                Ok(_) => return None,
                Err(e) => {
                    *failed = Some(e);
                    return None;
                }
            }
        }
    })
}

/// The graph an earlier run saved, if there is one for vectors of `dims`
/// that is not mostly replaced vectors; anything else is built anew.
fn read_saved(path: &Path, dims: usize) -> Option<Hnsw> {
    let read = std::fs::File::open(path).and_then(|f| {
        let len = f.metadata()?.len();
        Hnsw::read_from(&mut std::io::BufReader::with_capacity(1 << 20, f), len)
    });
    match read {
        Ok(g) if g.dimensions() == dims && g.dead_share() <= 0.5 => Some(g),
        Ok(_) => None,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            tracing::warn!(error = %e, path = %path.display(), "the saved semantic graph cannot be used; building it again");
            None
        }
    }
}

/// Brings a saved graph up to the table: vectors stored or changed since it
/// was saved go in, files whose vector is gone come out. Returns how many
/// changed. Inserting one by one costs what the build's linking does for
/// that many, so a start after a few changes takes seconds, not a build.
fn catch_up(graph: &mut Hnsw, rows: impl Iterator<Item = (i64, Vec<f32>)>) -> usize {
    let mut seen = std::collections::HashSet::with_capacity(graph.len());
    let mut changed = 0;
    for (rowid, vector) in rows {
        seen.insert(rowid);
        if !graph.holds(rowid, &vector) {
            apply(graph, rowid, Some(&vector));
            changed += 1;
        }
    }
    let gone: Vec<i64> = graph.keys().filter(|k| !seen.contains(k)).collect();
    changed += gone.len();
    for key in gone {
        graph.remove(key);
    }
    changed
}

/// Writes the graph beside the database: to a temporary file, synced, then
/// renamed over the old one, so a crash leaves the old graph or the new.
fn write_saved(graph: &Hnsw, path: &Path) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    let file = SyncedEvery {
        file: std::fs::File::create(&tmp)?,
        unsynced: 0,
    };
    let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
    graph.write_to(&mut w)?;
    let file = w.into_inner().map_err(|e| e.into_error())?.file;
    file.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// Bytes a save writes before it waits for them to reach the disk.
const SYNC_EVERY: usize = 64 << 20;

/// A file synced every [`SYNC_EVERY`] bytes. Left to the kernel, a graph of
/// a million (1.7 GB) fills the page cache with dirty pages, and the kernel
/// then throttles every process that writes, SQLite's commits included,
/// for seconds: past its busy timeout for the connections waiting on them.
struct SyncedEvery {
    file: std::fs::File,
    unsynced: usize,
}

impl std::io::Write for SyncedEvery {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = std::io::Write::write(&mut self.file, buf)?;
        self.unsynced += n;
        if self.unsynced >= SYNC_EVERY {
            self.file.sync_data()?;
            self.unsynced = 0;
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::Write::flush(&mut self.file)
    }
}

/// Where the graph of the database at `db` is saved.
pub(super) fn saved_graph_path(db: &Path) -> std::path::PathBuf {
    let mut p = db.as_os_str().to_owned();
    p.push(".hnsw");
    p.into()
}

#[cfg(test)]
mod tests {
    // Once the collection is large enough, semantic search walks the in-memory
    // graph instead of reading every vector, and answers as the exact scan
    // would: the same files, the same scores, only what the viewer may see.

    use std::collections::{HashMap, HashSet};
    use std::time::Duration;

    use crate::SqliteGraphIndex;
    use graphfs_domain::contract::new_text_file;
    use graphfs_domain::{FileCatalog, FileId, JobQueue, Similarity, TaggingOutcome, cosine};

    const DIM: usize = 32;

    /// Seeded vectors around `topics` centres, as documents on a few subjects.
    fn vectors(n: usize, topics: usize, seed: u64) -> Vec<Vec<f32>> {
        crate::ann::clustered(n, DIM, topics, 0.5, seed)
    }

    async fn add_file(index: &SqliteGraphIndex, owner: &str, n: usize) -> FileId {
        index
            .create_file(new_text_file(owner, "/", &format!("f{n}.txt")))
            .await
            .unwrap()
            .id
    }

    /// Tags every queued file, giving each the vector `of` names.
    async fn tag_all(index: &SqliteGraphIndex, of: &HashMap<FileId, Vec<f32>>) {
        while let Some(job) = index
            .claim_job("test", Duration::from_secs(600))
            .await
            .unwrap()
        {
            let outcome = TaggingOutcome {
                text: "x".into(),
                metadata: serde_json::json!({}),
                embedding: Some(of[&job.file_id].clone()),
                ..TaggingOutcome::default()
            };
            assert!(index.complete_job(&job, &outcome).await.unwrap());
        }
    }

    /// The `k` files of `among` nearest `query`, by exact cosine.
    fn exact(
        of: &HashMap<FileId, Vec<f32>>,
        among: &HashSet<FileId>,
        query: &[f32],
        k: usize,
    ) -> Vec<FileId> {
        let mut scored: Vec<(f32, FileId)> = among
            .iter()
            .map(|id| (cosine(query, &of[id]), *id))
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        scored.into_iter().take(k).map(|(_, id)| id).collect()
    }

    #[test]
    fn a_running_graph_is_saved_again_after_many_changes_and_a_while() {
        use super::{SAVE_AFTER_CHANGES, SAVE_INTERVAL, save_due};
        let long_ago = Some(SAVE_INTERVAL);
        assert!(!save_due(0, 0, None));
        assert!(!save_due(SAVE_AFTER_CHANGES - 1, 50_000, long_ago));
        assert!(save_due(SAVE_AFTER_CHANGES, 50_000, long_ago));
        assert!(save_due(SAVE_AFTER_CHANGES, 50_000, None));
        // A tenth of a large graph.
        assert!(!save_due(SAVE_AFTER_CHANGES, 1_000_000, long_ago));
        assert!(save_due(100_000, 1_000_000, long_ago));
        // Not again soon after the last, however much changed.
        let just_now = Some(SAVE_INTERVAL - Duration::from_secs(1));
        assert!(!save_due(500_000, 1_000_000, just_now));
    }

    #[tokio::test]
    async fn a_reopened_store_reads_its_saved_graph_and_catches_up() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("graph.db");
        let saved = super::saved_graph_path(&db);
        let open = || async {
            SqliteGraphIndex::open(&db)
                .await
                .unwrap()
                .with_semantic_index_min_files(300)
        };
        let all = vectors(400, 12, 5);
        let mut of = HashMap::new();
        let mut ids = Vec::new();
        {
            let index = open().await;
            index.use_embedding_model("test-32", DIM).await.unwrap();
            for (n, v) in all.iter().enumerate() {
                let id = add_file(&index, "alice", n).await;
                of.insert(id, v.clone());
                ids.push(id);
            }
            tag_all(&index, &of).await;
            assert_eq!(index.build_semantic_index().await.unwrap(), 400);
            assert!(!index.semantic_index_stats().loaded, "the first is built");
        }
        assert!(saved.exists(), "a built graph is saved beside the database");

        // While it is down: a file is tagged again, one is deleted, one added.
        let index = open().await;
        let (moved, deleted) = (ids[0], ids[1]);
        let away: Vec<f32> = (0..DIM).map(|i| if i == 3 { 1.0 } else { 0.0 }).collect();
        of.insert(moved, away.clone());
        index.requeue(moved).await.unwrap();
        let added = add_file(&index, "alice", 1000).await;
        let near_added: Vec<f32> = (0..DIM).map(|i| if i == 7 { -1.0 } else { 0.0 }).collect();
        of.insert(added, near_added.clone());
        tag_all(&index, &of).await;
        index.delete_file("alice", deleted).await.unwrap();

        assert_eq!(index.build_semantic_index().await.unwrap(), 400);
        let stats = index.semantic_index_stats();
        assert!(stats.loaded, "read from the saved copy, not built");
        assert_eq!(stats.vectors, 400);
        let found = index.nearest_files(Some("alice"), &away, 1).await.unwrap();
        assert_eq!(found[0].0, moved, "found by its new vector");
        let found = index
            .nearest_files(Some("alice"), &near_added, 1)
            .await
            .unwrap();
        assert_eq!(found[0].0, added);
        let found = index
            .nearest_files(Some("alice"), &all[1], 10)
            .await
            .unwrap();
        assert!(found.iter().all(|(id, _)| *id != deleted));
        drop(index);

        // A damaged copy is built again, and saved anew.
        std::fs::write(&saved, b"not a graph").unwrap();
        let index = open().await;
        assert_eq!(index.build_semantic_index().await.unwrap(), 400);
        assert!(!index.semantic_index_stats().loaded);
        assert!(std::fs::metadata(&saved).unwrap().len() > 400 * DIM as u64 * 4);

        // Another model's vectors: the saved graph goes with the old ones.
        index.use_embedding_model("test-8", 8).await.unwrap();
        assert!(!saved.exists());
    }

    #[tokio::test]
    async fn semantic_search_walks_the_graph_and_answers_as_the_scan_does() {
        let dir = tempfile::tempdir().unwrap();
        let index = SqliteGraphIndex::open(dir.path().join("graph.db"))
            .await
            .unwrap()
            .with_semantic_index_min_files(300);
        index.use_embedding_model("test-32", DIM).await.unwrap();
        let all = vectors(400, 12, 11);
        let mut of = HashMap::new();
        let (mut alice, mut bob) = (HashSet::new(), HashSet::new());
        for (n, v) in all.iter().enumerate() {
            let owner = if n % 4 == 3 { "bob" } else { "alice" };
            let id = add_file(&index, owner, n).await;
            of.insert(id, v.clone());
            if owner == "bob" {
                bob.insert(id)
            } else {
                alice.insert(id)
            };
        }
        tag_all(&index, &of).await;

        assert_eq!(index.build_semantic_index().await.unwrap(), 400);
        let before = index.semantic_index_stats();
        assert_eq!(before.vectors, 400);

        let queries = vectors(30, 12, 97);
        let (mut hits, mut wanted) = (0, 0);
        for q in &queries {
            for (viewer, mine) in [("alice", &alice), ("bob", &bob)] {
                let found = index.nearest_files(Some(viewer), q, 10).await.unwrap();
                assert_eq!(found.len(), 10);
                for (id, score) in &found {
                    assert!(mine.contains(id), "{viewer} was shown a file not theirs");
                    assert!(
                        (score - cosine(q, &of[id])).abs() < 1e-4,
                        "the score is the cosine"
                    );
                }
                assert!(found.windows(2).all(|w| w[0].1 >= w[1].1), "best first");
                let truth = exact(&of, mine, q, 10);
                hits += found.iter().filter(|(id, _)| truth.contains(id)).count();
                wanted += truth.len();
            }
        }
        let recall = hits as f64 / wanted as f64;
        assert!(recall >= 0.95, "recall@10 against the exact scan: {recall}");
        let after = index.semantic_index_stats();
        assert_eq!(
            after.answered_by_scan, before.answered_by_scan,
            "no query fell back to a scan"
        );
        assert_eq!(after.answered_by_graph, before.answered_by_graph + 60);
        // Someone who may see nothing gets nothing, from the scan the graph
        // falls back to.
        assert!(
            index
                .nearest_files(Some("carol"), &queries[0], 10)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            index.semantic_index_stats().answered_by_scan,
            after.answered_by_scan + 1
        );

        // A file tagged again is found by its new vector.
        let moved = *alice.iter().next().unwrap();
        let away: Vec<f32> = (0..DIM).map(|i| if i == 0 { 1.0 } else { 0.0 }).collect();
        of.insert(moved, away.clone());
        index.requeue(moved).await.unwrap();
        tag_all(&index, &of).await;
        let found = index.nearest_files(Some("alice"), &away, 1).await.unwrap();
        assert_eq!(found[0].0, moved);
        assert!((found[0].1 - 1.0).abs() < 1e-4);

        // A deleted file is never an answer.
        index.delete_file("alice", moved).await.unwrap();
        let found = index.nearest_files(Some("alice"), &away, 10).await.unwrap();
        assert_eq!(found.len(), 10);
        assert!(found.iter().all(|(id, _)| *id != moved));

        // Another model's vectors are not comparable: the graph goes with them.
        index.use_embedding_model("test-8", 8).await.unwrap();
        assert_eq!(index.semantic_index_stats().vectors, 0);
        assert!(
            index
                .nearest_files(Some("alice"), &[1.0; 8], 10)
                .await
                .unwrap()
                .is_empty()
        );
    }

    #[tokio::test]
    async fn a_small_collection_is_not_indexed() {
        let dir = tempfile::tempdir().unwrap();
        let index = SqliteGraphIndex::open(dir.path().join("graph.db"))
            .await
            .unwrap()
            .with_semantic_index_min_files(50);
        index.use_embedding_model("test-32", DIM).await.unwrap();
        let mut of = HashMap::new();
        for (n, v) in vectors(49, 3, 5).into_iter().enumerate() {
            of.insert(add_file(&index, "alice", n).await, v);
        }
        tag_all(&index, &of).await;
        assert_eq!(index.build_semantic_index().await.unwrap(), 0);
        assert_eq!(
            index
                .nearest_files(Some("alice"), &vectors(1, 3, 8)[0], 5)
                .await
                .unwrap()
                .len(),
            5
        );
        let stats = index.semantic_index_stats();
        assert_eq!(
            (
                stats.vectors,
                stats.answered_by_graph,
                stats.answered_by_scan
            ),
            (0, 0, 1)
        );
    }
}
