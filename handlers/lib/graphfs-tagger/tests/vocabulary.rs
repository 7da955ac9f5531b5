//! Vocabulary building and merging with the real all-MiniLM-L6-v2 model
//! (installed by tests/llm/install.sh; GRAPHFS_TEST_EMBEDDING_DIR points at
//! it) over the real embedded graph index.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use graphfs_domain::{
    CANDIDATE_TERM_PREFIX, FileCatalog, FileId, GraphIndex, JobQueue, NewFile, ProposedTag,
    TagSource, TaggingOutcome,
};
use graphfs_embeddings::{Embedder, MiniLm, cosine};
use graphfs_store_local::SqliteGraphIndex;
use graphfs_tagger::rebuild::{self, RebuildConfig};

fn model() -> Option<Arc<dyn Embedder>> {
    let dir = std::env::var_os("GRAPHFS_TEST_EMBEDDING_DIR").map(PathBuf::from)?;
    if !dir.join("model.safetensors").is_file() {
        return None;
    }
    Some(Arc::new(MiniLm::load(&dir).expect("load MiniLM")))
}

/// A file tagged by a "model" with `tags`, proposing `candidates`.
async fn tagged(index: &SqliteGraphIndex, tags: &[&str], candidates: &[&str]) -> FileId {
    let id = FileId::new();
    index
        .create_file(NewFile {
            id,
            object_key: id.object_key(),
            owner: "u".into(),
            name: format!("{id}.txt"),
            folder: "/".into(),
            size: 1,
            sha256: "0".repeat(64),
            media_type: "text/plain".into(),
        })
        .await
        .unwrap();
    let job = index
        .claim_job("w", Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.file_id, id);
    let outcome = TaggingOutcome {
        tags: tags
            .iter()
            .map(|t| ProposedTag {
                name: t.to_string(),
                score: 0.9,
                source: TagSource::Llm,
            })
            .collect(),
        terms: candidates
            .iter()
            .map(|c| format!("{CANDIDATE_TERM_PREFIX}{c}"))
            .collect(),
        ..Default::default()
    };
    assert!(index.complete_job(&job, &outcome).await.unwrap());
    id
}

#[tokio::test]
async fn synonyms_merge_into_the_most_used_tag_and_rare_candidates_stay_out() {
    let Some(embedder) = model() else {
        eprintln!("GRAPHFS_TEST_EMBEDDING_DIR not set (tests/llm/install.sh): skipping");
        return;
    };
    // How MiniLM sees the pairs this test relies on.
    let pairs = [
        ("movie", "film"),
        ("recipe", "recipes"),
        ("movie", "astronomy"),
    ];
    for (a, b) in pairs {
        let v = embedder.embed(&[a.into(), b.into()]).await.unwrap();
        eprintln!("cos({a}, {b}) = {:.3}", cosine(&v[0], &v[1]));
    }
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteGraphIndex::open(dir.path().join("g.db"))
        .await
        .unwrap();
    let index: Arc<dyn GraphIndex> = Arc::new(sqlite.clone());
    let f1 = tagged(&sqlite, &["movie", "recipes"], &[]).await;
    let _f2 = tagged(&sqlite, &["movie"], &["astronomy"]).await;
    let f3 = tagged(&sqlite, &["film", "recipe"], &["astronomy"]).await;
    let _f4 = tagged(&sqlite, &["recipes"], &["zeppelin"]).await;
    // A user's own tag is never merged away, even into a synonym.
    let flick = graphfs_domain::FileChange::add_tag("flick").unwrap();
    sqlite.update_file("u", f1, &flick).await.unwrap();

    let report = rebuild::rebuild(
        &index,
        &embedder,
        &RebuildConfig {
            min_count: 2,
            merge_threshold: 0.8,
        },
    )
    .await
    .unwrap();
    eprintln!("{report:#?}");
    assert!(
        report.merged.contains(&("film".into(), "movie".into())),
        "{report:?}"
    );
    assert!(
        report.merged.contains(&("recipe".into(), "recipes".into())),
        "{report:?}"
    );
    assert!(!report.merged.iter().any(|(from, _)| from == "flick"));
    let names: Vec<&str> = report.clusters.iter().map(|c| c.name.as_str()).collect();
    // Proposed by two files: joins the vocabulary. Proposed once: stays out.
    assert!(names.contains(&"astronomy"), "{names:?}");
    assert!(!names.contains(&"zeppelin"), "{names:?}");
    assert!(!names.contains(&"film") && !names.contains(&"recipe"));

    let vocab = index.vocabulary(None, 100).await.unwrap();
    let movie = vocab.iter().find(|t| t.name == "movie").unwrap();
    assert_eq!(movie.count, 3);
    assert!(movie.aliases.contains(&"film".to_string()));
    assert!(!vocab.iter().any(|t| t.name == "film"));
    let f3 = index.get_file_internal(f3).await.unwrap();
    let mut names: Vec<&str> = f3.tags.iter().map(|t| t.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["movie", "recipes"]);

    // Re-tagging queues every file again.
    let mut seen = Vec::new();
    let n = rebuild::requeue_all(&index, |done, total| seen.push((done, total)))
        .await
        .unwrap();
    assert_eq!(n, 4);
    assert_eq!(seen.last(), Some(&(4, 4)));
    assert_eq!(index.queue_depth().await.unwrap().pending, 4);
}
