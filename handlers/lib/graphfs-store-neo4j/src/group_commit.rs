//! Writes that wait together commit together: new files
//! ([`new_files`](super::new_files)) and tagging outcomes
//! ([`outcomes`](super::outcomes)).
//!
//! Every Neo4j commit costs the same whatever it holds: a log flush, and
//! for an eventually consistent full-text index one more change for its
//! background applier, which lets at most 10,000 wait before every commit
//! stalls. Counters many writes share (an owner's term and tag counts) are
//! locked from the statement that changes them to the commit, so writes of
//! one owner commit one at a time. A [`GroupCommit`] therefore has a few
//! writer tasks, each of which takes every write waiting (up to a batch)
//! into its next transaction: the first write of a quiet moment goes alone
//! at once, and none waits for a timer.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::{Mutex, mpsc, oneshot};

#[allow(unused_imports)]
use super::*;

/// A kind of write that can be committed with others of its kind.
pub(super) trait GroupWrite: Send + Sync + Sized + 'static {
    type Output: Send + 'static;
    /// What the writes are, for messages ("new files").
    const WHAT: &'static str;
    /// Transactions of these writes in flight at once from one store.
    const WRITERS: usize;
    /// Writes in one transaction at most.
    const MAX_BATCH: usize;

    /// `writes` in one transaction, each with its own result, in order.
    fn together(
        graph: &Graph,
        writes: &[Self],
    ) -> impl Future<Output = std::result::Result<Vec<Result<Self::Output>>, Together>> + Send;

    /// One write in its own transaction.
    fn alone(graph: &Graph, write: &Self) -> impl Future<Output = Result<Self::Output>> + Send;
}

/// Runs `writes`, each with its own result, in one transaction when no
/// statement fails. When one does (a name taken, a deadlock), nothing of
/// that transaction is kept and each is run alone, so one write's conflict
/// is not another's. When the commit fails, whether it was kept is
/// unknown: running the writes again could find their own effects, so
/// each caller hears it (503).
pub(super) async fn write_all<W: GroupWrite>(
    graph: &Graph,
    writes: &[W],
) -> Vec<Result<W::Output>> {
    if let [write] = writes {
        return vec![W::alone(graph, write).await];
    }
    match W::together(graph, writes).await {
        Ok(written) => written,
        Err(Together::Statement(e)) => {
            tracing::debug!(error = %e, writes = writes.len(), what = W::WHAT, "a batch failed; writing each alone");
            let mut out = Vec::with_capacity(writes.len());
            for write in writes {
                out.push(W::alone(graph, write).await);
            }
            out
        }
        Err(Together::Commit(e)) => writes
            .iter()
            .map(|_| Err(Error::unavailable(format!("committing {}: {e}", W::WHAT))))
            .collect(),
    }
}

type Pending<W> = (W, oneshot::Sender<Result<<W as GroupWrite>::Output>>);

/// Hands writes to [`GroupWrite::WRITERS`] tasks, each of which takes
/// every write waiting (up to [`GroupWrite::MAX_BATCH`]) into its next
/// transaction ([`write_all`]).
pub(super) struct GroupCommit<W: GroupWrite> {
    queue: mpsc::Sender<Pending<W>>,
}

impl<W: GroupWrite> GroupCommit<W> {
    pub(super) fn start(graph: &Graph) -> Self {
        let (queue, waiting) = mpsc::channel(W::WRITERS * W::MAX_BATCH);
        let waiting = Arc::new(Mutex::new(waiting));
        for _ in 0..W::WRITERS {
            tokio::spawn(write_batches(graph.clone(), waiting.clone()));
        }
        GroupCommit { queue }
    }

    /// `write`'s result, with the others waiting with it.
    pub(super) async fn write(&self, graph: &Graph, write: W) -> Result<W::Output> {
        let (done, answer) = oneshot::channel();
        match self.queue.send((write, done)).await {
            Ok(()) => answer.await.unwrap_or_else(|_| {
                // The writer went away mid-transaction (its runtime shut
                // down): whether the write was committed is unknown.
                Err(Error::unavailable(
                    "the graph writer stopped before answering",
                ))
            }),
            // No writer runs (their runtime is gone): write it here.
            Err(mpsc::error::SendError((write, _))) => W::alone(graph, &write).await,
        }
    }
}

async fn write_batches<W: GroupWrite>(
    graph: Graph,
    waiting: Arc<Mutex<mpsc::Receiver<Pending<W>>>>,
) {
    loop {
        let batch = {
            let mut waiting = waiting.lock().await;
            let Some(first) = waiting.recv().await else {
                return;
            };
            let mut batch = vec![first];
            while batch.len() < W::MAX_BATCH {
                match waiting.try_recv() {
                    Ok(next) => batch.push(next),
                    Err(_) => break,
                }
            }
            batch
        };
        let (writes, answers): (Vec<W>, Vec<_>) = batch.into_iter().unzip();
        for (answer, result) in answers.into_iter().zip(write_all(&graph, &writes).await) {
            // A caller that gave up (its request was cancelled) is not told.
            let _ = answer.send(result);
        }
    }
}

/// How a transaction of several writes failed.
pub(super) enum Together {
    /// A statement failed: nothing was committed.
    Statement(Error),
    Commit(Error),
}

impl Together {
    /// A transaction for [`GroupWrite::together`]: failing to open one
    /// commits nothing, like a failed statement.
    pub(super) async fn begin(graph: &Graph) -> std::result::Result<Txn, Together> {
        graph
            .start_txn()
            .await
            .map_err(|e| Together::Statement(db_err(e)))
    }

    pub(super) async fn commit(txn: Txn) -> std::result::Result<(), Together> {
        txn.commit().await.map_err(|e| Together::Commit(db_err(e)))
    }
}
