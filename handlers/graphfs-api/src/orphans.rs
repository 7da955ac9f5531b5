//! Periodic repair of the one inconsistency the write order allows: an
//! object of ours that nothing refers to, because its node was never
//! created (the process died between the two writes), or its file or
//! version was deleted while the object delete failed.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use graphfs_domain::{GraphIndex, ObjectStore, Result};

use crate::ingest::{OWN_PREFIX, register};

/// What one pass over the bucket did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    /// Objects outside `files/` registered as files (missed notifications).
    pub adopted: usize,
    /// Objects under `files/` no file or version refers to, removed.
    pub removed: usize,
}

/// One listing of the bucket serves both repairs: objects under `files/`
/// older than `grace` that no file or version refers to are removed, and objects elsewhere
/// that no file points at are adopted for `owner`.
pub async fn reconcile_bucket(
    index: &dyn GraphIndex,
    store: &dyn ObjectStore,
    grace: Duration,
    owner: &str,
) -> Result<Pass> {
    let cutoff = Utc::now() - chrono::Duration::from_std(grace).unwrap_or_default();
    let mut pass = Pass::default();
    let mut after: Option<String> = None;
    loop {
        let batch = store.list("", after.as_deref(), 500).await?;
        let Some(last) = batch.last() else { break };
        after = Some(last.key.clone());
        for obj in &batch {
            let Some(rest) = obj.key.strip_prefix(OWN_PREFIX) else {
                if register(index, store, &obj.key, owner).await?.is_some() {
                    pass.adopted += 1;
                }
                continue;
            };
            if obj.modified > cutoff {
                continue;
            }
            if rest.is_empty() || index.object_in_use(&obj.key).await? {
                continue;
            }
            if store.delete(&obj.key).await? {
                tracing::info!(key = %obj.key, "removed orphaned object");
                pass.removed += 1;
            }
        }
        if batch.len() < 500 {
            break;
        }
    }
    Ok(pass)
}

/// The lease that elects the one replica that sweeps the bucket.
pub const SWEEP_LEASE: &str = "orphan-sweep";

/// One pass when `holder` holds the sweep lease or can take it; `None` when
/// another replica holds it. The lease runs three periods, so a holder that
/// dies is replaced within that time, and a live one renews it every pass.
pub async fn sweep_if_elected(
    index: &dyn GraphIndex,
    store: &dyn ObjectStore,
    holder: &str,
    every: Duration,
    grace: Duration,
    owner: &str,
) -> Result<Option<Pass>> {
    if !index.acquire_lease(SWEEP_LEASE, holder, every * 3).await? {
        return Ok(None);
    }
    reconcile_bucket(index, store, grace, owner).await.map(Some)
}

pub fn spawn_periodic(
    index: Arc<dyn GraphIndex>,
    store: Arc<dyn ObjectStore>,
    every: Duration,
    grace: Duration,
    ingest_owner: String,
) {
    let holder = crate::app::instance_name();
    tokio::spawn(async move {
        loop {
            match sweep_if_elected(
                index.as_ref(),
                store.as_ref(),
                &holder,
                every,
                grace,
                &ingest_owner,
            )
            .await
            {
                Ok(Some(Pass { adopted, removed })) if adopted + removed > 0 => tracing::info!(
                    adopted,
                    removed,
                    "reconciliation registered objects written straight into the bucket and removed orphaned ones"
                ),
                Ok(Some(_)) => {}
                Ok(None) => tracing::debug!("another replica sweeps the bucket"),
                Err(e) => tracing::warn!(error = %e, "reconciliation failed; will try again"),
            }
            tokio::time::sleep(every).await;
        }
    });
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use async_trait::async_trait;
    use bytes::Bytes;
    use graphfs_domain::{
        ByteRange, ByteStream, FileCatalog, FileId, Leases, NewContent, NewFile, ObjectBody,
        ObjectMeta, Versions,
    };
    use graphfs_store_local::{LocalObjectStore, SqliteGraphIndex};

    use super::*;

    /// The real local store, counting listings.
    struct Counted {
        store: LocalObjectStore,
        lists: AtomicUsize,
    }

    #[async_trait]
    impl ObjectStore for Counted {
        async fn put(&self, key: &str, body: ByteStream) -> Result<u64> {
            self.store.put(key, body).await
        }
        async fn get(&self, key: &str, range: Option<ByteRange>) -> Result<ObjectBody> {
            self.store.get(key, range).await
        }
        async fn head(&self, key: &str) -> Result<ObjectMeta> {
            self.store.head(key).await
        }
        async fn delete(&self, key: &str) -> Result<bool> {
            self.store.delete(key).await
        }
        async fn list(
            &self,
            prefix: &str,
            after: Option<&str>,
            limit: usize,
        ) -> Result<Vec<ObjectMeta>> {
            self.lists.fetch_add(1, Ordering::SeqCst);
            self.store.list(prefix, after, limit).await
        }
        async fn ping(&self) -> Result<()> {
            self.store.ping().await
        }
    }

    fn body(text: &'static str) -> ByteStream {
        Box::pin(futures::stream::iter(vec![Ok(Bytes::from_static(
            text.as_bytes(),
        ))]))
    }

    /// The real SQLite index and local store in a temp folder.
    async fn local() -> (tempfile::TempDir, SqliteGraphIndex, Counted) {
        let dir = tempfile::tempdir().unwrap();
        let index = SqliteGraphIndex::open(dir.path().join("g.db"))
            .await
            .unwrap();
        let store = Counted {
            store: LocalObjectStore::open(dir.path().join("objects"))
                .await
                .unwrap(),
            lists: AtomicUsize::new(0),
        };
        (dir, index, store)
    }

    #[tokio::test]
    async fn one_listing_adopts_strays_and_removes_orphans() {
        let (_dir, index, store) = local().await;
        let kept = FileId::new();
        index
            .create_file(NewFile {
                id: kept,
                object_key: kept.object_key(),
                owner: "alice".into(),
                name: "kept.txt".into(),
                folder: "/".into(),
                size: 4,
                sha256: String::new(),
                media_type: "text/plain".into(),
            })
            .await
            .unwrap();
        store.put(&kept.object_key(), body("kept")).await.unwrap();
        // New content: the first stays as a version, so both are in use.
        let newer = kept.content_key();
        store.put(&newer, body("newer")).await.unwrap();
        let content = NewContent {
            object_key: newer.clone(),
            size: 5,
            sha256: String::new(),
            media_type: "text/plain".into(),
        };
        index.replace_content(kept, &content, 1).await.unwrap();
        let orphan = FileId::new().object_key();
        store.put(&orphan, body("lost")).await.unwrap();
        // Content of a kept file that never became its content or a version.
        let abandoned = kept.content_key();
        store.put(&abandoned, body("abandoned")).await.unwrap();
        store.put("inbox/stray.txt", body("stray")).await.unwrap();

        let pass = reconcile_bucket(&index, &store, Duration::ZERO, "ingest")
            .await
            .unwrap();
        assert_eq!(
            pass,
            Pass {
                adopted: 1,
                removed: 2
            }
        );
        assert_eq!(
            store.lists.load(Ordering::SeqCst),
            1,
            "one listing per pass"
        );
        assert!(store.head(&orphan).await.unwrap_err().is_not_found());
        assert!(store.head(&abandoned).await.unwrap_err().is_not_found());
        assert!(store.head(&kept.object_key()).await.is_ok(), "a version");
        assert!(store.head(&newer).await.is_ok(), "the content");
        assert!(
            index
                .file_by_object_key("inbox/stray.txt")
                .await
                .unwrap()
                .is_some()
        );
        // A second pass has nothing left to do.
        let again = reconcile_bucket(&index, &store, Duration::ZERO, "ingest")
            .await
            .unwrap();
        assert_eq!(again, Pass::default());
    }

    #[tokio::test]
    async fn one_replica_sweeps_at_a_time() {
        let (_dir, index, store) = local().await;
        let every = Duration::from_secs(60);
        let sweep = |holder: &'static str| {
            sweep_if_elected(&index, &store, holder, every, Duration::ZERO, "ingest")
        };
        assert_eq!(sweep("a").await.unwrap(), Some(Pass::default()));
        assert_eq!(sweep("b").await.unwrap(), None, "a holds the lease");
        assert_eq!(sweep("a").await.unwrap(), Some(Pass::default()));
        assert_eq!(store.lists.load(Ordering::SeqCst), 2, "only a listed");
        // When a stops (its lease given up or run out), b takes over.
        index.release_lease(SWEEP_LEASE, "a").await.unwrap();
        assert_eq!(sweep("b").await.unwrap(), Some(Pass::default()));
        assert_eq!(sweep("a").await.unwrap(), None);
    }
}
