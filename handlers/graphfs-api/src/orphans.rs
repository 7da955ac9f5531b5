//! Periodic repair of the one inconsistency the write order allows: an
//! object whose node was never created (the process died between the two
//! writes) or whose node was deleted while the object delete failed.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use graphfs_domain::{FileId, GraphIndex, ObjectStore, Result};

/// Removes orphaned objects; returns how many.
pub async fn sweep_orphans(
    index: &dyn GraphIndex,
    store: &dyn ObjectStore,
    grace: Duration,
) -> Result<usize> {
    let cutoff = Utc::now() - chrono::Duration::from_std(grace).unwrap_or_default();
    let mut removed = 0;
    let mut after: Option<String> = None;
    loop {
        let batch = store.list("files/", after.as_deref(), 500).await?;
        let Some(last) = batch.last() else { break };
        after = Some(last.key.clone());
        for obj in &batch {
            if obj.modified > cutoff {
                continue;
            }
            let Some(id) = obj
                .key
                .strip_prefix("files/")
                .and_then(|s| s.parse::<FileId>().ok())
            else {
                continue;
            };
            match index.get_file_internal(id).await {
                Ok(_) => {}
                Err(e) if e.is_not_found() => {
                    if store.delete(&obj.key).await? {
                        tracing::info!(key = %obj.key, "removed orphaned object");
                        removed += 1;
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }
    Ok(removed)
}

pub fn spawn_periodic(
    index: Arc<dyn GraphIndex>,
    store: Arc<dyn ObjectStore>,
    every: Duration,
    grace: Duration,
    ingest_owner: String,
) {
    tokio::spawn(async move {
        loop {
            match crate::ingest::adopt_unregistered(index.as_ref(), store.as_ref(), &ingest_owner)
                .await
            {
                Ok(0) => {}
                Ok(n) => tracing::info!(
                    adopted = n,
                    "reconciliation registered objects written straight into the bucket"
                ),
                Err(e) => {
                    tracing::warn!(error = %e, "adopting bucket objects failed; will try again")
                }
            }
            match sweep_orphans(index.as_ref(), store.as_ref(), grace).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(removed = n, "reconciliation removed orphaned objects"),
                Err(e) => tracing::warn!(error = %e, "reconciliation failed; will try again"),
            }
            tokio::time::sleep(every).await;
        }
    });
}
