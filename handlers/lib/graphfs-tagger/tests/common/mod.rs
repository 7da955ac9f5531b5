//! What the worker tests share: an embedded index and object store in a
//! temp folder, files added to them, and workers with test timings.
#![allow(dead_code)] // each test binary uses its own part

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use graphfs_domain::{
    FileCatalog, FileId, FileRecord, Job, JobQueue, NewFile, ObjectStore, TaggingStatus,
};
use graphfs_store_local::{LocalObjectStore, SqliteGraphIndex};
use graphfs_tagger::keywords::KeywordConfig;
use graphfs_tagger::{Admission, AdmissionConfig, OfflineTagger, Tagger, Worker, WorkerConfig};

pub struct Env {
    _dir: tempfile::TempDir,
    pub index: Arc<SqliteGraphIndex>,
    pub store: Arc<LocalObjectStore>,
    pub scratch: std::path::PathBuf,
}

pub async fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    Env {
        index: Arc::new(
            SqliteGraphIndex::open(dir.path().join("g.db"))
                .await
                .unwrap(),
        ),
        store: Arc::new(
            LocalObjectStore::open(dir.path().join("objects"))
                .await
                .unwrap(),
        ),
        scratch: dir.path().join("scratch"),
        _dir: dir,
    }
}

/// The next queued job, claimed by `worker` with a minute's lease, as a
/// worker would before tagging it.
pub async fn claim_next(env: &Env, worker: &str) -> Job {
    env.index
        .claim_job(worker, Duration::from_secs(60))
        .await
        .unwrap()
        .expect("a queued job")
}

pub async fn add_file(env: &Env, name: &str, text: &str) -> FileId {
    let id = FileId::new();
    let body = futures::stream::iter(vec![Ok(Bytes::from(text.to_string()))]);
    env.store
        .put(&id.object_key(), Box::pin(body))
        .await
        .unwrap();
    env.index
        .create_file(NewFile {
            id,
            object_key: id.object_key(),
            owner: "u".into(),
            name: name.into(),
            folder: "/".into(),
            size: text.len() as u64,
            sha256: "0".repeat(64),
            media_type: "text/plain".into(),
        })
        .await
        .unwrap();
    id
}

pub fn config(env: &Env) -> WorkerConfig {
    let mut c = WorkerConfig::new("test-worker", env.scratch.clone());
    c.poll_interval = Duration::from_millis(20);
    c.backoff_base = Duration::from_millis(30);
    c.backoff_max = Duration::from_millis(100);
    c.shutdown_grace = Duration::from_millis(200);
    c
}

pub fn worker(env: &Env, tagger: Arc<dyn Tagger>, cfg: WorkerConfig) -> Worker {
    Worker::new(env.index.clone(), env.store.clone(), tagger, cfg)
}

pub fn offline(env: &Env) -> Arc<dyn Tagger> {
    offline_tagger(env, 1)
}

/// The offline tagger; a keyword joins the vocabulary once `min_frequency`
/// files propose it.
pub fn offline_tagger(env: &Env, min_frequency: u64) -> Arc<dyn Tagger> {
    offline_tagger_with(
        env,
        AdmissionConfig {
            min_frequency,
            ..AdmissionConfig::default()
        },
    )
}

pub fn offline_tagger_with(env: &Env, config: AdmissionConfig) -> Arc<dyn Tagger> {
    let admission = Admission::new(env.index.clone(), None, config);
    Arc::new(OfflineTagger::new(
        env.index.clone(),
        KeywordConfig::default(),
        Arc::new(admission),
        5,
    ))
}

pub async fn wait_status(env: &Env, id: FileId, want: TaggingStatus) -> FileRecord {
    for _ in 0..500 {
        let f = env.index.get_file_internal(id).await.unwrap();
        if f.status == want {
            return f;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("file never reached {want:?}");
}
