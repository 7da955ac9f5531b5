//! Once the collection is large enough, semantic search walks the in-memory
//! graph instead of reading every vector, and answers as the exact scan
//! would: the same files, the same scores, only what the viewer may see.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use graphfs_domain::{FileCatalog, FileId, JobQueue, NewFile, Similarity, TaggingOutcome, cosine};
use graphfs_store_local::SqliteGraphIndex;

const DIM: usize = 32;

/// Seeded vectors around `topics` centres, as documents on a few subjects.
fn vectors(n: usize, topics: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut s = seed;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    };
    let centres: Vec<Vec<f32>> = (0..topics)
        .map(|_| (0..DIM).map(|_| next()).collect())
        .collect();
    (0..n)
        .map(|i| {
            centres[i % topics]
                .iter()
                .map(|c| c + 0.5 * next())
                .collect()
        })
        .collect()
}

async fn add_file(index: &SqliteGraphIndex, owner: &str, n: usize) -> FileId {
    let id = FileId::new();
    index
        .create_file(NewFile {
            id,
            object_key: id.object_key(),
            owner: owner.into(),
            name: format!("f{n}.txt"),
            folder: "/".into(),
            size: 1,
            sha256: "00".repeat(32),
            media_type: "text/plain".into(),
        })
        .await
        .unwrap();
    id
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
