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

type Pending<T, R> = (T, oneshot::Sender<Result<R>>);

/// Hands writes of type `T` to writer tasks, each of which runs every
/// write waiting (up to its batch) with one call of its `write`, which
/// answers each write in order.
pub(super) struct GroupCommit<T, R> {
    queue: mpsc::Sender<Pending<T, R>>,
}

impl<T: Send + 'static, R: Send + 'static> GroupCommit<T, R> {
    pub(super) fn start<F, Fut>(graph: &Graph, writers: usize, batch: usize, write: F) -> Self
    where
        F: Fn(Graph, Vec<T>) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = Vec<Result<R>>> + Send + 'static,
    {
        let (queue, waiting) = mpsc::channel(writers * batch);
        let waiting = Arc::new(Mutex::new(waiting));
        for _ in 0..writers {
            tokio::spawn(write_batches(
                graph.clone(),
                waiting.clone(),
                batch,
                write.clone(),
            ));
        }
        GroupCommit { queue }
    }

    /// The answer to `write`, or `write` back when no writer runs (their
    /// runtime is gone), for the caller to run alone.
    pub(super) async fn submit(&self, write: T) -> std::result::Result<Result<R>, T> {
        let (done, answer) = oneshot::channel();
        match self.queue.send((write, done)).await {
            Ok(()) => Ok(answer.await.unwrap_or_else(|_| {
                // The writer went away mid-transaction (its runtime shut
                // down): whether the write was committed is unknown.
                Err(Error::unavailable(
                    "the graph writer stopped before answering",
                ))
            })),
            Err(mpsc::error::SendError((write, _))) => Err(write),
        }
    }
}

async fn write_batches<T, R, F, Fut>(
    graph: Graph,
    waiting: Arc<Mutex<mpsc::Receiver<Pending<T, R>>>>,
    most: usize,
    write: F,
) where
    F: Fn(Graph, Vec<T>) -> Fut,
    Fut: Future<Output = Vec<Result<R>>>,
{
    loop {
        let batch = {
            let mut waiting = waiting.lock().await;
            let Some(first) = waiting.recv().await else {
                return;
            };
            let mut batch = vec![first];
            while batch.len() < most {
                match waiting.try_recv() {
                    Ok(next) => batch.push(next),
                    Err(_) => break,
                }
            }
            batch
        };
        let (writes, answers): (Vec<T>, Vec<_>) = batch.into_iter().unzip();
        for (answer, result) in answers.into_iter().zip(write(graph.clone(), writes).await) {
            // A caller that gave up (its request was cancelled) is not told.
            let _ = answer.send(result);
        }
    }
}

/// How a transaction of several writes failed.
pub(super) enum Together {
    /// A statement failed: nothing was committed, and each write can be
    /// run alone, so one write's conflict is not another's.
    Statement(Error),
    /// The commit failed: whether it was kept is unknown, so the writes
    /// are not run again (each caller hears it).
    Commit(Error),
}
