//! The tagging queue ([`JobQueue`]) as `(:Job)` nodes; outcomes.rs writes what taggers found.

#[allow(unused_imports)]
use super::*;

/// Cypher that binds `j` to the job `$fid` if it is still held as claimed
/// (`$seq`, `$worker`: see [`held`]) and locks it until the transaction
/// ends, so a re-queue waits for it. The first SET takes the node's write
/// lock; what is read after it is what the last writer committed.
pub(super) const LOCK_HELD: &str =
    "MATCH (j:Job {file_id: $fid}) WHERE j.seq = $seq AND j.worker = $worker
     SET j._lock = true REMOVE j._lock";

/// `q`, a statement that starts with [`LOCK_HELD`], for `job`.
pub(super) fn held(q: Query, job: &Job) -> Query {
    q.param("fid", job.file_id.to_string())
        .param("seq", job.id)
        .param("worker", job.worker.clone())
}

/// Locks `job` ([`LOCK_HELD`]); whether its file was queued again
/// meanwhile, or `None` when the job is no longer held so.
async fn lock_held(txn: &mut Txn, job: &Job) -> Result<Option<bool>> {
    let rows = txn_rows(
        txn,
        held(
            query(&format!(
                "{LOCK_HELD} RETURN coalesce(j.again, false) AS again"
            )),
            job,
        ),
    )
    .await?;
    rows.first()
        .map(|r| r.get::<bool>("again").map_err(de_err))
        .transpose()
}

/// Cypher that ends a held job bound to `j` (its file, if any, to `f`):
/// the file is done and the job gone.
pub(super) const JOB_DONE: &str = "SET f.status = 'done', f.status_reason = '' DETACH DELETE j";

/// Cypher that puts a held job bound to `j` back in the queue, due `$now`
/// with fresh attempts (it keeps its turn), and its file `f` pending.
pub(super) const JOB_AGAIN: &str =
    "SET j.worker = '', j.lease_until = 0, j.attempts = 0, j.again = false,
        j.last_error = '', j.due_at = $now, f.status = 'pending', f.status_reason = ''";

/// Puts a held job back in the queue ([`JOB_AGAIN`]).
async fn queue_held_again(txn: &mut Txn, fid: &str) -> Result<()> {
    txn.run(
        query(&format!(
            "MATCH (j:Job {{file_id: $fid}}) OPTIONAL MATCH (f:File {{id: $fid}}) {JOB_AGAIN}"
        ))
        .param("fid", fid.to_string())
        .param("now", now_ms()),
    )
    .await
    .map_err(db_err)
}

/// Cypher that leaves `turn`, the next turn of `$owner` in the tagging
/// queue: start-time fair queuing. A job's turn comes after the owner's
/// latest job queued and no earlier than the work being served now (the
/// lowest turn queued), and claims go in turn order, so owners take turns:
/// one user's thousand files, or a re-tag loop, wait behind each other, not
/// in front of everyone else's. Both are read through the `(vtag)` and
/// `(owner, vtag)` indexes in their order (ordering by both fields is what
/// lets the planner read the composite one backwards instead of sorting
/// the owner's backlog), and nothing is locked: a counter node per owner
/// (taken and held to the commit) made one owner's uploads commit one at a
/// time (81 files/s through the local cluster, against 157 for two owners
/// at once). Uploads of one owner at the same instant may share a turn,
/// which claims break by file id.
pub(super) const NEXT_TURN: &str = "
    CALL () {
        OPTIONAL MATCH (q:Job) WHERE q.vtag IS NOT NULL
        WITH q ORDER BY q.vtag LIMIT 1
        RETURN q.vtag AS low
    }
    CALL () {
        OPTIONAL MATCH (o:Job) WHERE o.owner = $owner AND o.vtag IS NOT NULL
        WITH o ORDER BY o.owner DESC, o.vtag DESC LIMIT 1
        RETURN o.vtag AS latest
    }
    WITH *, coalesce(low, 0) AS clock, coalesce(latest, 0) AS latest
    WITH *, CASE WHEN clock > latest THEN clock ELSE latest END + 1 AS turn";

/// Queues a file of `owner` for tagging now, in the owner's next turn,
/// whether or not a job is waiting.
pub(super) fn queue_again(id: FileId, owner: &str) -> Query {
    query(&format!(
        "{NEXT_TURN}
         MATCH (f:File {{id: $fid}})
         MERGE (j:Job {{file_id: $fid}})
         ON CREATE SET j.seq = $seq, j.attempts = 0, j.due_at = $now, j.worker = '', j.lease_until = 0,
             j.last_error = '', j.vtag = turn, j.owner = $owner
         ON MATCH SET j.due_at = $now, j.attempts = 0, j.last_error = '', j.vtag = turn, j.owner = $owner,
             j.again = coalesce(j.worker, '') <> ''
         MERGE (j)-[:FOR]->(f)
         SET f.status = CASE WHEN f.status = 'running' THEN f.status ELSE 'pending' END, f.status_reason = ''"
    ))
    .param("fid", id.to_string())
    .param("owner", owner)
    .param("seq", new_seq())
    .param("now", now_ms())
}

/// Claims the first job due at `now` in turn order for `worker` until
/// `until` (see [`JobQueue::claim_job`]): a row with the job's file id,
/// attempts and file ([`FILE_PROJECTION`]), attempts null when another
/// claim took the job first, or no row when none is due.
fn claim_next(now: i64, until: i64, worker: &str, seq: i64) -> Query {
    query(&format!(
        // Walked in turn order and stopped at the first one free: the
        // planner's own choice, the due-time index, sorted every job due,
        // so each claim cost as much as the whole backlog.
        "MATCH (c:Job) USING INDEX c:Job(vtag)
         WHERE c.vtag IS NOT NULL AND c.due_at <= $now AND c.lease_until < $now
         WITH c ORDER BY c.vtag, c.file_id LIMIT 1
         SET c._lock = true REMOVE c._lock
         WITH c.file_id AS fid
         OPTIONAL CALL (fid) {{
             MATCH (j:Job {{file_id: fid}}) WHERE j.due_at <= $now AND j.lease_until < $now
             SET j.worker = $worker, j.lease_until = $until, j.attempts = j.attempts + 1,
                 j.seq = $seq, j.again = false
             WITH j MATCH (f:File {{id: j.file_id}}) SET f.status = 'running'
             RETURN j.attempts AS attempts, {FILE_PROJECTION}
         }}
         RETURN fid, attempts, f, tags",
    ))
    .param("now", now)
    .param("until", until)
    .param("worker", worker)
    .param("seq", seq)
}

impl Neo4jGraphIndex {
    /// Writes a tagging outcome under the job's lease (outcomes.rs).
    async fn write_outcome(&self, job: &Job, outcome: &TaggingOutcome, done: bool) -> Result<bool> {
        let write = outcomes::OutcomeWrite {
            job: job.clone(),
            outcome: outcome.clone(),
            done,
        };
        self.outcomes.write(&self.graph, write).await
    }
}

#[async_trait]
impl JobQueue for Neo4jGraphIndex {
    async fn claim_job(&self, worker: &str, lease: Duration) -> Result<Option<Job>> {
        Ok(self
            .claim_job_and_file(worker, lease)
            .await?
            .map(|(job, _)| job))
    }

    /// The file comes with the claim: a tagger's first read was a
    /// statement of its own, one of eight for each file tagged (docs/performance.md).
    async fn claim_job_and_file(
        &self,
        worker: &str,
        lease: Duration,
    ) -> Result<Option<(Job, Option<FileRecord>)>> {
        // One statement: the first job due in turn order, locked by the
        // first SET, then matched again under a new name and checked, so
        // what is read is what the last claim committed and two claims
        // never win. (Neo4j 5.26 re-reads the first name's values after the
        // lock too; the new name keeps that from resting on the planner.
        // Without the check, six claimers racing for 12 jobs made 31-37
        // claims.) Claimers racing for the same job wait for the winner, find
        // it taken and try again. It was two statements, a pick and then
        // the claim in a transaction of its own.
        for _ in 0..5 {
            let now = now_ms();
            let until = now + lease_ms(lease);
            let seq = new_seq();
            // A job deleted under the claim (its file was) is transient.
            let rows = self.rows(claim_next(now, until, worker, seq)).await?;
            let Some(row) = rows.first() else {
                return Ok(None);
            };
            let Some(attempts) = row.get::<Option<i64>>("attempts").map_err(de_err)? else {
                // Another claim took it first.
                continue;
            };
            let fid: String = row.get("fid").map_err(de_err)?;
            let job = Job {
                id: seq,
                file_id: fid.parse().map_err(de_err)?,
                attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
                worker: worker.to_string(),
                lease_until: DateTime::from_timestamp_millis(until).unwrap_or_default(),
            };
            // The file was written by the claim, so it is there.
            return Ok(Some((job, file_from(row)?)));
        }
        Ok(None)
    }

    async fn heartbeat(&self, job: &Job, lease: Duration) -> Result<bool> {
        let rows = self
            .rows(
                query(
                    "MATCH (j:Job {file_id: $fid}) WHERE j.seq = $seq AND j.worker = $worker
                     SET j.lease_until = $until RETURN count(j) AS n",
                )
                .param("fid", job.file_id.to_string())
                .param("seq", job.id)
                .param("worker", job.worker.clone())
                .param("until", now_ms() + lease_ms(lease)),
            )
            .await?;
        Ok(rows
            .first()
            .map(|r| r.get::<i64>("n").unwrap_or(0))
            .unwrap_or(0)
            == 1)
    }

    async fn complete_job(&self, job: &Job, outcome: &TaggingOutcome) -> Result<bool> {
        self.write_outcome(job, outcome, true).await
    }

    async fn store_partial(&self, job: &Job, outcome: &TaggingOutcome) -> Result<bool> {
        self.write_outcome(job, outcome, false).await
    }

    async fn finish_job(&self, job: &Job) -> Result<bool> {
        // `lock_held` and the end in one statement: the job is
        // locked by its first SET, then ended one way or the other.
        let rows = self
            .rows(
                held(
                    query(&format!(
                        "{LOCK_HELD}
                         WITH j, coalesce(j.again, false) AS again
                         OPTIONAL MATCH (f:File {{id: $fid}})
                         FOREACH (_ IN CASE WHEN again THEN [1] ELSE [] END | {JOB_AGAIN})
                         FOREACH (_ IN CASE WHEN again THEN [] ELSE [1] END | {JOB_DONE})
                         RETURN again"
                    )),
                    job,
                )
                .param("now", now_ms()),
            )
            .await?;
        Ok(!rows.is_empty())
    }

    async fn fail_job(&self, job: &Job, reason: &str, failure: JobFailure) -> Result<()> {
        let mut txn = self.graph.start_txn().await.map_err(db_err)?;
        let Some(again) = lock_held(&mut txn, job).await? else {
            txn.rollback().await.map_err(db_err)?;
            return Ok(());
        };
        if again {
            queue_held_again(&mut txn, &job.file_id.to_string()).await?;
            return txn.commit().await.map_err(db_err);
        }
        let q = match failure {
            JobFailure::RetryAt(at) => query(
                "MATCH (j:Job {file_id: $fid}) WHERE j.seq = $seq AND j.worker = $worker
                 SET j.worker = '', j.lease_until = 0, j.due_at = $at, j.last_error = $reason
                 WITH j MATCH (f:File {id: j.file_id}) SET f.status = 'pending', f.status_reason = 'retrying: ' + $reason",
            )
            .param("at", at.timestamp_millis()),
            JobFailure::GiveUp => query(
                "MATCH (j:Job {file_id: $fid}) WHERE j.seq = $seq AND j.worker = $worker
                 MATCH (f:File {id: j.file_id})
                 DETACH DELETE j
                 SET f.status = 'failed', f.status_reason = $reason, f.updated_at = $now",
            )
            .param("now", stored_time(Utc::now())),
        };
        txn.run(
            q.param("fid", job.file_id.to_string())
                .param("seq", job.id)
                .param("worker", job.worker.clone())
                .param("reason", reason),
        )
        .await
        .map_err(db_err)?;
        txn.commit().await.map_err(db_err)
    }

    async fn release_job(&self, job: &Job) -> Result<()> {
        self.graph
            .run(
                query(
                    "MATCH (j:Job {file_id: $fid}) WHERE j.seq = $seq AND j.worker = $worker
                     SET j.worker = '', j.lease_until = 0, j.attempts = CASE WHEN j.attempts > 0 THEN j.attempts - 1 ELSE 0 END,
                         j.again = false
                     WITH j MATCH (f:File {id: j.file_id}) SET f.status = 'pending'",
                )
                .param("fid", job.file_id.to_string())
                .param("seq", job.id)
                .param("worker", job.worker.clone()),
            )
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn requeue(&self, id: FileId) -> Result<()> {
        let file = self.get_file_internal(id).await?;
        // A tagger finishing the file's job at the same moment deletes the
        // node this MERGE found: a transient failure, which `rows` runs again.
        self.rows(queue_again(id, &file.owner)).await.map(|_| ())
    }

    async fn queue_depth(&self) -> Result<QueueDepth> {
        let rows = self
            .rows(
                // Each count from an index or the count store, never by
                // reading every job (graphfs_job_lease).
                query(
                    "CALL () { MATCH (j:Job) RETURN count(j) AS jobs }
                     CALL () { MATCH (j:Job) WHERE j.lease_until >= $now RETURN count(j) AS in_flight }
                     CALL () { MATCH (f:File) WHERE f.status = 'failed' RETURN count(f) AS failed }
                     RETURN jobs - in_flight AS pending, in_flight, failed",
                )
                .param("now", now_ms()),
            )
            .await?;
        let r = rows
            .first()
            .ok_or_else(|| Error::internal("queue depth query returned nothing"))?;
        let get = |k: &str| {
            r.get::<i64>(k)
                .map(|v| u64::try_from(v).unwrap_or(0))
                .map_err(de_err)
        };
        Ok(QueueDepth {
            pending: get("pending")?,
            in_flight: get("in_flight")?,
            failed: get("failed")?,
        })
    }
}
