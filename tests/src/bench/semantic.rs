//! Semantic search over N files, straight against each graph index (the
//! query embedding is given, so what is timed is the search, not a model):
//! latency of the approximate search the server uses, and its recall@10
//! against an exact search over the same vectors.
//!
//! The vectors are synthetic: 384 floats (MiniLM's size) around 1,000
//! topic centres, drawn from each file's id, so that a million of them cost
//! no model time and need no memory to remember.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use anyhow::Result;
use futures::StreamExt;
use graphfs_domain::{FileId, GraphIndex, Similarity, TaggingOutcome};
use graphfs_store_local::{DEFAULT_SEMANTIC_INDEX_MIN_FILES, SqliteGraphIndex};

use super::{bench_file, percentile, rss_kib};

pub const DIM: usize = 384;
const TOPICS: u64 = 1000;
const K: usize = 10;
const OWNER: &str = "bench";

fn xorshift(mut s: u64) -> impl FnMut() -> f32 {
    move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    }
}

/// The vector of the file (or query) with this seed: its topic's centre
/// plus noise, as documents on one subject lie near each other.
pub fn vector(seed: u64) -> Vec<f32> {
    let seed = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut centre = xorshift((seed % TOPICS + 1).wrapping_mul(0xD1B5_4A32_D192_ED03));
    let mut noise = xorshift(seed);
    (0..DIM).map(|_| centre() + 0.35 * noise()).collect()
}

/// The seed of the file with this id (as stored).
pub fn seed_of(id: &str) -> u64 {
    id.bytes().fold(0xCBF2_9CE4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01B3)
    })
}

/// Creates `files` files and stores each one's vector as a tagger would.
async fn fill(index: &dyn GraphIndex, files: usize) -> Result<()> {
    futures::stream::iter(0..files)
        .map(|n| async move {
            index
                .create_file(bench_file(OWNER, format!("doc-{n}.txt")))
                .await
        })
        .buffer_unordered(8)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<graphfs_domain::Result<Vec<_>>>()?;
    let worker = |w: usize| async move {
        let name = format!("bench-{w}");
        while let Some(job) = index.claim_job(&name, Duration::from_secs(3600)).await? {
            let outcome = TaggingOutcome {
                text: String::new(),
                metadata: serde_json::json!({}),
                embedding: Some(vector(seed_of(&job.file_id.to_string()))),
                ..TaggingOutcome::default()
            };
            index.complete_job(&job, &outcome).await?;
        }
        anyhow::Ok(())
    };
    futures::future::try_join_all((0..4).map(worker)).await?;
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Times `queries` searches on `fast` and checks the first `checked` of
/// them against `exact`; prints one line.
async fn measure(
    what: &str,
    fast: &dyn GraphIndex,
    owner: &str,
    exact: impl AsyncFn(&[f32]) -> Result<Vec<FileId>>,
    queries: usize,
    checked: usize,
) -> Result<()> {
    let (mut fast_lat, mut exact_lat) = (Vec::new(), Vec::new());
    let (mut hits, mut wanted) = (0, 0);
    for q in 0..queries {
        let query = vector(u64::MAX - q as u64);
        let t = Instant::now();
        let found = fast.nearest_files(Some(owner), &query, K).await?;
        fast_lat.push(t.elapsed());
        if q < checked {
            let t = Instant::now();
            let truth = exact(&query).await?;
            exact_lat.push(t.elapsed());
            let truth: HashSet<FileId> = truth.into_iter().collect();
            hits += found.iter().filter(|(id, _)| truth.contains(id)).count();
            wanted += truth.len();
        }
    }
    fast_lat.sort();
    exact_lat.sort();
    println!(
        "semantic search over {what}: p50 {:.2} ms, p99 {:.2} ms; recall@{K} {:.3} against exact search (p50 {:.0} ms, {checked} queries)",
        ms(percentile(&fast_lat, 0.5)),
        ms(percentile(&fast_lat, 0.99)),
        hits as f64 / wanted.max(1) as f64,
        ms(percentile(&exact_lat, 0.5)),
    );
    Ok(())
}

/// SQLite: the in-memory HNSW graph against the exact scan of every vector.
pub async fn sqlite(files: usize, queries: usize, checked: usize) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("graph.db");
    let index = SqliteGraphIndex::open(&path)
        .await?
        .with_semantic_index_min_files(DEFAULT_SEMANTIC_INDEX_MIN_FILES.min(files));
    index.use_embedding_model("bench-384", DIM).await?;
    let t = Instant::now();
    fill(&index, files).await?;
    let written = t.elapsed();
    let rss_before = rss_kib(std::process::id()).unwrap_or(0);
    let t = Instant::now();
    let indexed = index.build_semantic_index().await?;
    let built = t.elapsed();
    let rss_after = rss_kib(std::process::id()).unwrap_or(0);
    anyhow::ensure!(
        indexed == files,
        "the graph holds {indexed} of {files} vectors"
    );
    println!(
        "embedded semantic index: {files} files written in {:.0} s; graph built in {:.1} s, {:.0} MiB",
        written.as_secs_f64(),
        built.as_secs_f64(),
        rss_after.saturating_sub(rss_before) as f64 / 1024.0
    );
    // The same database with the graph off answers by reading every vector.
    let scan = SqliteGraphIndex::open(&path)
        .await?
        .with_semantic_index_min_files(0);
    let exact = async |q: &[f32]| -> Result<Vec<FileId>> {
        Ok(scan
            .nearest_files(Some(OWNER), q, K)
            .await?
            .into_iter()
            .map(|(id, _)| id)
            .collect())
    };
    measure(
        &format!("{files} files (SQLite, HNSW)"),
        &index,
        OWNER,
        exact,
        queries,
        checked,
    )
    .await?;
    anyhow::ensure!(
        index.semantic_index_stats().answered_by_scan == 0,
        "a query fell back to scanning"
    );
    // A restart: the graph saved beside the database is read and caught
    // up with the table instead of built.
    drop((index, scan));
    let saved = std::fs::metadata(dir.path().join("graph.db.hnsw"))?.len();
    let again = SqliteGraphIndex::open(&path)
        .await?
        .with_semantic_index_min_files(DEFAULT_SEMANTIC_INDEX_MIN_FILES.min(files));
    let t = Instant::now();
    let indexed = again.build_semantic_index().await?;
    let loaded = t.elapsed();
    anyhow::ensure!(
        indexed == files && again.semantic_index_stats().loaded,
        "a restart did not read the saved graph ({indexed} vectors)"
    );
    println!(
        "embedded semantic index: a restart reads the saved graph ({:.0} MiB) and checks it against the table in {:.1} s, where a build took {:.1} s",
        saved as f64 / (1 << 20) as f64,
        loaded.as_secs_f64(),
        built.as_secs_f64()
    );
    Ok(())
}

/// Neo4j: its vector index (Lucene HNSW) against an exact Cypher scan of
/// the same vectors. The corpus is the one the search benchmark wrote.
pub async fn neo4j(
    graph: &neo4rs::Graph,
    index: &graphfs_store_neo4j::Neo4jGraphIndex,
    owner: &str,
    files: usize,
    queries: usize,
    checked: usize,
) -> Result<()> {
    let exact = async |q: &[f32]| -> Result<Vec<FileId>> {
        let q: Vec<f64> = q.iter().map(|x| f64::from(*x)).collect();
        let mut rows = graph
            .execute(
                neo4rs::query(
                    "MATCH (f:File {owner: $owner}) WHERE f.embedding IS NOT NULL
                     RETURN f.id AS id ORDER BY vector.similarity.cosine(f.embedding, $q) DESC, id LIMIT $k",
                )
                .param("owner", owner)
                .param("q", q)
                .param("k", K as i64),
            )
            .await?;
        let mut ids = Vec::new();
        while let Some(row) = rows.next().await? {
            ids.push(row.get::<String>("id")?.parse()?);
        }
        Ok(ids)
    };
    measure(
        &format!("{files} files (Neo4j, vector index)"),
        index,
        owner,
        exact,
        queries,
        checked,
    )
    .await
}
