//! The graph index in Neo4j 5.
//!
//! Model: `(:User)-[:OWNS]->(:File)-[:TAGGED {score, source}]->(:Tag)`,
//! `(:File)-[:SIMILAR {score}]->(:File)`,
//! `(:File)-[:REMOVED]->(:Tag)` (a user's removal, remembered),
//! `(:File)-[:SHARED_WITH]->(:User)` (beside the file's `shared_with` list,
//! which access checks read; the links let a listing find a viewer's shared
//! files),
//! `(:Rejection {owner, name})` (a tag an owner rejected for good), the tagging
//! queue as `(:Job)-[:FOR]->(:File)`, `(:Term {owner, name, df})` for
//! each owner's corpus statistics, and `(:TagUse {owner, name, source, n})`
//! for each owner's count of files per tag and source. Every query takes user input as parameters only; the one
//! string built from user text is a Lucene query, and every term in it is
//! escaped.

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::Ordering;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use graphfs_domain::{
    ContentReplaced, CorpusStats, Cursor, CursorKey, DriveLocks, DriveProps, EdgeKind, Error,
    FileCatalog, FileChange, FileId, FileQuery, FileRecord, FileTag, FileVersion, FolderFilter,
    FolderInfo, Folders, GraphBuilder, GraphIndex, GraphStart, GraphView, GraphWalk, Job,
    JobFailure, JobQueue, Keyset, MAX_INDEXED_TEXT, NewContent, NewFile, NodeKind, Page,
    Principals, QueryTerm, QueueDepth, ROOT_FOLDER, RelatedTag, Result, SearchHit, SimilarFile,
    Similarity, TagInfo, TagMatch, TagSource, TagStore, TaggingOutcome, TaggingStatus,
    TaxonomyStore, TextSearch, UserId, Versions, Vocabulary, access, check_embedding,
    check_folder_move, folder_ancestry, folder_name, index_terms, name_taken, name_tokens,
    name_with_id, normalize_tag, parent_folder, parse_stored_time, query_terms, share_with_owner,
    snippet, stored_time, tag_sources, truncate_utf8, unknown_user,
};
use neo4rs::{ConfigBuilder, Graph, Query, Row, Txn, query};
use serde::Deserialize;

mod files;
mod folders;
mod group_commit;
mod leases;
mod listing;
mod locks;
mod new_files;
mod outcomes;
mod principals;
mod props;
mod queue;
mod rows;
mod schema;
mod search;
mod similarity;
mod tags;
mod taxonomy;
mod versions;
mod vocabulary;
mod walk;

// The helpers the trait modules share; each reaches them through `super::*`.
#[allow(unused_imports)]
use self::{
    folders::*, listing::*, queue::*, rows::*, schema::*, search::*, similarity::*, tags::*,
    versions::*, vocabulary::*,
};

const TAG_FANOUT: i64 = 50;

const COOCCUR_FANOUT: i64 = 10;

#[derive(Debug, Clone)]
pub struct Neo4jConfig {
    pub uri: String,
    pub user: String,
    pub password: String,
    pub max_connections: usize,
    /// Longest wait for a connection or for any answer of the server. A
    /// connection whose server went away (a pod deleted, a network cut) can
    /// otherwise hold a request until TCP gives up; past this the request
    /// fails as Unavailable (503).
    pub timeout: std::time::Duration,
}

pub struct Neo4jGraphIndex {
    graph: Graph,
    /// Commits new files together when several wait (new_files.rs).
    creator: group_commit::GroupCommit<NewFile>,
    /// Commits tagging outcomes together when several wait (outcomes.rs).
    outcomes: group_commit::GroupCommit<outcomes::OutcomeWrite>,
    /// Length of the recorded embedding model's vectors; 0 while none is.
    dimensions: std::sync::atomic::AtomicUsize,
}

fn db_err(e: neo4rs::Error) -> Error {
    use neo4rs::Error as E;
    match &e {
        E::IOError { .. }
        | E::ConnectionError
        | E::ConnectionTimedOut
        | E::IncompleteBoltExchange
        | E::ServerUnavailableError(_)
        | E::RequestIgnoredError => Error::unavailable(format!("graph database unreachable: {e}")),
        E::Neo4j(n) if n.code().contains("ConstraintValidationFailed") => {
            Error::Conflict(e.to_string())
        }
        // Neo4j asks clients to run a transaction that failed this way again
        // (a deadlock with a concurrent writer, a leader switch): say when.
        // EntityNotFound is one too at read committed: a node the statement
        // found was deleted by another commit before it was read (a job its
        // tagger finished); run again, the statement sees the store after.
        // So is a transaction the server ended while it waited on a lock
        // (`LockClientStopped`, `TransactionTimedOut`): another client held
        // the lock past the server's transaction timeout (a frozen tagger),
        // and Neo4j asks for the operation again in a new transaction.
        E::Neo4j(n) if is_transient(n.code()) => Error::Unavailable {
            message: e.to_string(),
            retry_after: Some(TRANSIENT_RETRY_AFTER),
        },
        E::Neo4j(n) if n.code().contains("DatabaseUnavailable") => {
            Error::unavailable(e.to_string())
        }
        E::AuthenticationError(_) => {
            Error::unavailable(format!("graph database refused our credentials: {e}"))
        }
        _ => Error::internal(e),
    }
}

const TRANSIENT_RETRY_AFTER: std::time::Duration = std::time::Duration::from_millis(50);

/// Neo4j codes of failures a new transaction may not meet (see `db_err`).
fn is_transient(code: &str) -> bool {
    [
        "TransientError",
        "EntityNotFound",
        "LockClientStopped",
        "TransactionTimedOut",
    ]
    .iter()
    .any(|c| code.contains(c))
}

/// Runs a statement or transaction again, a few times with growing pauses,
/// when Neo4j reported a transient failure (see `db_err`): a write that lost a
/// lock race or a read that met a concurrent commit. Anything else, or the
/// last failure, is returned as it is.
async fn retry_transient<T, F, Fut>(mut attempt: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let mut pause = TRANSIENT_RETRY_AFTER;
    for _ in 0..5 {
        match attempt().await {
            Err(Error::Unavailable {
                retry_after: Some(_),
                message,
            }) => {
                tracing::debug!(%message, ?pause, "transient graph failure; running it again");
                tokio::time::sleep(pause).await;
                pause *= 2;
            }
            other => return other,
        }
    }
    attempt().await
}

fn de_err(e: impl std::fmt::Display) -> Error {
    Error::Internal(format!("graph database returned an unexpected shape: {e}"))
}

fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

fn lease_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 2)
}

fn new_seq() -> i64 {
    (uuid::Uuid::new_v4().as_u128() as i64).abs()
}

async fn txn_rows(txn: &mut Txn, q: Query) -> Result<Vec<Row>> {
    let mut stream = txn.execute(q).await.map_err(db_err)?;
    let mut out = Vec::new();
    while let Some(row) = stream.next(&mut *txn).await.map_err(db_err)? {
        out.push(row);
    }
    Ok(out)
}

/// Every row of `q`, run in a transaction of its own, and run again when
/// Neo4j reports a transient failure (`retry_transient`): a statement
/// alone commits whole or not at all, so a read that met a concurrent
/// commit (`Transaction.Outdated`) or a write that met a deadlock is
/// answered instead of failing its request with a 503.
async fn graph_rows(graph: &Graph, q: Query) -> Result<Vec<Row>> {
    retry_transient(|| graph_rows_once(graph, q.clone())).await
}

async fn graph_rows_once(graph: &Graph, q: Query) -> Result<Vec<Row>> {
    let mut stream = graph.execute(q).await.map_err(db_err)?;
    let mut out = Vec::new();
    while let Some(row) = stream.next().await.map_err(db_err)? {
        out.push(row);
    }
    Ok(out)
}

impl Neo4jGraphIndex {
    /// Connects and creates the schema (constraints, indexes) if missing.
    pub async fn connect(cfg: Neo4jConfig) -> Result<Self> {
        let config = ConfigBuilder::default()
            .uri(cfg.uri)
            .user(cfg.user)
            .password(cfg.password)
            .max_connections(cfg.max_connections.max(2))
            .connection_timeout(cfg.timeout)
            .fetch_size(500)
            .build()
            .map_err(db_err)?;
        let graph = Graph::connect(config).map_err(db_err)?;
        let index = Neo4jGraphIndex {
            creator: group_commit::GroupCommit::start(&graph),
            outcomes: group_commit::GroupCommit::start(&graph),
            graph,
            dimensions: Default::default(),
        };
        run_schema(&index, SCHEMA).await?;
        run_migrations(&index).await?;
        index_tagged_terms(&index).await?;
        require_unique_names(&index).await?;
        count_terms_per_owner(&index).await?;
        count_tag_uses(&index).await?;
        link_shared_files(&index).await?;
        if let Some((_, dimensions)) = index.embedding_model().await? {
            index.ensure_vector_index(dimensions).await?;
        }
        // Indexes still populating (a large store after a restart) only slow
        // queries down; wait a while for them, within the answer timeout.
        let wait = cfg.timeout.as_secs().saturating_sub(1).max(1);
        if let Err(e) = index
            .graph
            .run(query("CALL db.awaitIndexes($secs)").param("secs", wait as i64))
            .await
        {
            tracing::warn!(error = %e, "graph indexes are still being populated; going on");
        }
        Ok(index)
    }

    async fn rows(&self, q: Query) -> Result<Vec<Row>> {
        graph_rows(&self.graph, q).await
    }

    /// Creates `files` in one transaction when all of them can be, else
    /// each alone; each has its own result, in order. What
    /// [`FileCatalog::create_file`] does for the uploads waiting together.
    pub async fn create_files(&self, files: &[NewFile]) -> Vec<Result<FileRecord>> {
        group_commit::write_all(&self.graph, files).await
    }

    /// Stores tagging outcomes of held jobs in one transaction when no
    /// statement fails, else each alone; each has its own result, in
    /// order. What [`JobQueue::store_partial`] does for the outcomes
    /// waiting together.
    pub async fn store_outcomes(&self, outcomes: &[(Job, TaggingOutcome)]) -> Vec<Result<bool>> {
        let writes: Vec<_> = outcomes
            .iter()
            .map(|(job, outcome)| outcomes::OutcomeWrite {
                job: job.clone(),
                outcome: outcome.clone(),
                done: false,
            })
            .collect();
        group_commit::write_all(&self.graph, &writes).await
    }

    async fn one_file(&self, q: Query, what: FileId) -> Result<FileRecord> {
        let rows = self.rows(q).await?;
        rows.first()
            .map(file_from)
            .transpose()?
            .flatten()
            .ok_or_else(|| Error::NotFound(format!("file {what}")))
    }
}

#[async_trait]
impl GraphIndex for Neo4jGraphIndex {
    async fn ping(&self) -> Result<()> {
        self.rows(query("RETURN 1 AS ok")).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transactions_ended_by_the_server_are_transient() {
        for code in [
            "Neo.TransientError.Transaction.DeadlockDetected",
            "Neo.ClientError.Statement.EntityNotFound",
            "Neo.ClientError.Transaction.LockClientStopped",
            "Neo.ClientError.Transaction.TransactionTimedOutClientConfiguration",
        ] {
            assert!(is_transient(code), "{code}");
        }
        for code in [
            "Neo.ClientError.Schema.ConstraintValidationFailed",
            "Neo.ClientError.Statement.SyntaxError",
        ] {
            assert!(!is_transient(code), "{code}");
        }
    }

    #[tokio::test]
    async fn transient_failures_run_the_transaction_again_and_others_do_not() {
        use std::sync::atomic::{AtomicU32, Ordering};
        let transient = || Error::Unavailable {
            message: "Neo.TransientError.Transaction.DeadlockDetected".into(),
            retry_after: Some(TRANSIENT_RETRY_AFTER),
        };
        // Two deadlocks, then success: the caller sees the success.
        let calls = AtomicU32::new(0);
        let out = retry_transient(|| async {
            match calls.fetch_add(1, Ordering::SeqCst) {
                0 | 1 => Err(transient()),
                _ => Ok(7),
            }
        })
        .await;
        assert_eq!(out.unwrap(), 7);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        // An outage (no retry_after) is returned at once.
        let calls = AtomicU32::new(0);
        let out: Result<()> = retry_transient(|| async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(Error::unavailable("graph database unreachable"))
        })
        .await;
        assert!(matches!(
            out,
            Err(Error::Unavailable {
                retry_after: None,
                ..
            })
        ));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // Transient forever: a bounded number of attempts, then the failure.
        let calls = AtomicU32::new(0);
        let out: Result<()> = retry_transient(|| async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(transient())
        })
        .await;
        assert!(out.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 6);
    }
}
