//! The embedded backends pass the shared backend contract.

use std::sync::Arc;

use graphfs_domain::contract;
use graphfs_store_local::{LocalObjectStore, SqliteGraphIndex};

#[tokio::test]
async fn local_object_store_meets_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalObjectStore::open(dir.path().join("objects"))
        .await
        .unwrap();
    contract::object_store(Arc::new(store)).await;
}

#[tokio::test]
async fn sqlite_graph_index_meets_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let index = SqliteGraphIndex::open(dir.path().join("graph.db"))
        .await
        .unwrap();
    contract::graph_index(Arc::new(index)).await;
    // The per-owner tag counts the triggers kept through all of that are
    // the counts of the edges left.
    let c = rusqlite::Connection::open(dir.path().join("graph.db")).unwrap();
    let differing: i64 = c
        .query_row(
            "WITH edges AS (SELECT f.owner, ft.tag_id, ft.source, count(*) AS files
                 FROM file_tags ft JOIN files f ON f.rowid = ft.file_rowid
                 GROUP BY f.owner, ft.tag_id, ft.source)
             SELECT (SELECT count(*) FROM (SELECT * FROM edges EXCEPT SELECT * FROM owner_tag_counts))
                  + (SELECT count(*) FROM (SELECT * FROM owner_tag_counts EXCEPT SELECT * FROM edges))",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(differing, 0);
    let kept: i64 = c
        .query_row("SELECT count(*) FROM owner_tag_counts", [], |r| r.get(0))
        .unwrap();
    assert!(kept > 0, "the contract leaves tagged files behind");
}

#[tokio::test]
async fn sqlite_graph_index_survives_reopening() {
    use graphfs_domain::{FileCatalog, JobQueue};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("graph.db");
    let id = {
        let index = SqliteGraphIndex::open(&path).await.unwrap();
        index
            .create_file(contract::new_text_file("alice", "/", "kept.txt"))
            .await
            .unwrap()
            .id
    };
    let index = SqliteGraphIndex::open(&path).await.unwrap();
    assert_eq!(index.get_file("alice", id).await.unwrap().name, "kept.txt");
    assert_eq!(index.queue_depth().await.unwrap().pending, 1);
}

#[tokio::test]
async fn leftover_temp_files_are_swept_at_start() {
    use graphfs_domain::ObjectStore;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("objects");
    std::fs::create_dir_all(root.join("files")).unwrap();
    std::fs::write(root.join("files/.tmp-crashed"), b"half").unwrap();
    let store = LocalObjectStore::open(&root).await.unwrap();
    assert!(!root.join("files/.tmp-crashed").exists());
    assert!(store.list("", None, 10).await.unwrap().is_empty());
}
