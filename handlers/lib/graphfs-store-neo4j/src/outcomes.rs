//! Tagging outcomes written under their jobs' leases ([`JobQueue::store_partial`],
//! [`JobQueue::complete_job`]), committed together when several wait
//! ([`group_commit`](super::group_commit): 2 writers per store, up to 16
//! outcomes each).
//!
//! Every outcome of one owner changes that owner's counts: the term ''
//! (the owner's tagged files) and the common words and tags. A count is
//! locked from the statement that changes it to the commit, so one owner's
//! outcomes committed one by one, and under a stream of uploads the taggers
//! spent most of their time waiting for those locks (docs/performance.md). Here each
//! transaction reads and writes its outcomes first, adds their count
//! changes up, and changes each count once, in one statement just before
//! the commit, in the order of its key, so two transactions never hold
//! counts the other waits for. On 2 cores this did not make tagging
//! faster: there Neo4j's CPU for each tagged file is the limit (docs/performance.md).

use std::collections::BTreeSet;

use super::group_commit::{GroupWrite, Together};
#[allow(unused_imports)]
use super::*;

/// An outcome to write while `job` is held; with `done`, the job ends too.
pub(super) struct OutcomeWrite {
    pub job: Job,
    pub outcome: TaggingOutcome,
    pub done: bool,
}

impl GroupWrite for OutcomeWrite {
    /// Whether the outcome was written: false when the job is no longer
    /// held as claimed (its lease lapsed, the file was deleted).
    type Output = bool;
    const WHAT: &'static str = "tagging outcomes";
    /// Taggers run a few jobs at once.
    const WRITERS: usize = 2;
    const MAX_BATCH: usize = 16;

    async fn together(
        graph: &Graph,
        writes: &[OutcomeWrite],
    ) -> std::result::Result<Vec<Result<bool>>, Together> {
        let mut txn = Together::begin(graph).await?;
        let mut batch = Batch::default();
        let mut written = Vec::with_capacity(writes.len());
        for write in writes {
            written.push(
                write_one(&mut txn, write, &mut batch)
                    .await
                    .map_err(Together::Statement)?,
            );
        }
        apply_counts(&mut txn, &batch.counts)
            .await
            .map_err(Together::Statement)?;
        // After the counts: a tag left without files loses its counts with it.
        let orphans: Vec<String> = batch.maybe_orphans.into_iter().collect();
        drop_orphans(&mut txn, &orphans)
            .await
            .map_err(Together::Statement)?;
        Together::commit(txn).await?;
        Ok(written)
    }

    /// A deadlock with another writer of the same tags is run again rather
    /// than costing the job an attempt.
    async fn alone(graph: &Graph, write: &OutcomeWrite) -> Result<bool> {
        retry_transient(|| async {
            match Self::together(graph, std::slice::from_ref(write)).await {
                Ok(mut written) => written.pop().unwrap_or_else(|| {
                    Err(Error::internal("an outcome written without an answer"))
                }),
                Err(Together::Statement(e) | Together::Commit(e)) => Err(e),
            }
        })
        .await
    }
}

/// What the outcomes of one transaction leave to do once, at its end.
#[derive(Default)]
struct Batch {
    counts: Counts,
    /// Tags the files had before: those no file has any more are dropped.
    maybe_orphans: BTreeSet<String>,
    /// The recorded embedding model, read once per transaction.
    model: Option<Option<(String, usize)>>,
}

/// Writes one outcome in `txn`, in one statement: text, metadata, machine
/// tags (user tags stay, removed and rejected ones stay away, aliases land
/// on their tag), terms and embedding; with `done`, also the status, and
/// the job ends. Its count changes go to `batch`. The inner result is the
/// outcome's own: an embedding of the wrong length fails it alone; the
/// outer one fails the transaction.
///
/// It was three statements (lock and read, write, end); each statement
/// costs Neo4j its Bolt messages and a plan-cache lookup whatever it does,
/// about a third of its CPU while taggers drain a queue (docs/performance.md).
async fn write_one(txn: &mut Txn, write: &OutcomeWrite, batch: &mut Batch) -> Result<Result<bool>> {
    let OutcomeWrite { job, outcome, done } = write;
    let (mut names, mut scores, mut sources) = (Vec::new(), Vec::new(), Vec::new());
    for t in outcome.tags.iter().filter(|t| t.source != TagSource::User) {
        if let Ok(n) = normalize_tag(&t.name) {
            names.push(n);
            scores.push(f64::from(t.score.clamp(0.0, 1.0)));
            sources.push(t.source.as_str().to_string());
        }
    }
    let metadata = if outcome.metadata.is_object() {
        outcome.metadata.to_string()
    } else {
        "{}".into()
    };
    let terms = index_terms(&outcome.terms);
    let embedding: Option<Vec<f64>> = outcome
        .embedding
        .as_ref()
        .filter(|v| !v.is_empty())
        .map(|v| v.iter().map(|x| f64::from(*x)).collect());
    if let Some(v) = &embedding {
        if batch.model.is_none() {
            batch.model = Some(txn_embedding_model(txn).await?);
        }
        let model = batch.model.as_ref().and_then(Option::as_ref);
        if let Err(e) = check_embedding(v.len(), model.map(|(m, d)| (m.as_str(), *d))) {
            return Ok(Err(e));
        }
    }
    // The job is locked first (`LOCK_HELD`), so what follows reads what
    // the last writer committed. A name its owner rejected stays refused
    // after an admin's merge made it another tag's alias: it is left out
    // before the alias resolves ([`CANONICAL`]), and the tag it resolves
    // to is checked too. The first proposal of each tag is kept. The terms
    // the file had and the machine tags it loses or gains come back for
    // the counts; its tag text (for search) is written from the tags it
    // ends with.
    let rows = txn_rows(
        txn,
        held(
            query(&format!(
                "{LOCK_HELD}
                 WITH j, coalesce(j.again, false) AS again
                 MATCH (f:File {{id: $fid}})
                 WITH j, again, f, f.owner AS owner, coalesce(f.terms, []) AS old_terms,
                      [(f)-[:TAGGED]->(t:Tag) | t.name] AS old_tags,
                      COLLECT {{ MATCH (x:Rejection {{owner: f.owner}}) RETURN x.name }} AS rejected,
                      [n IN $names | {CANONICAL}] AS canonical
                 WITH j, again, f, owner, old_terms, old_tags,
                      reduce(kept = [], p IN [i IN range(0, size($names) - 1) WHERE NOT $names[i] IN rejected |
                                                  {{name: canonical[i], score: $scores[i], source: $sources[i]}}] |
                             CASE WHEN any(k IN kept WHERE k.name = p.name) THEN kept ELSE kept + [p] END) AS proposals
                 SET f.text = $text, f.metadata = $metadata, f.media_type = CASE WHEN $media = '' THEN f.media_type ELSE $media END,
                     f.updated_at = $updated_at, f.terms = $terms, f.terms_owner = f.owner, f.embedding = $embedding
                 WITH j, again, f, owner, old_terms, old_tags, proposals
                 OPTIONAL MATCH (f)-[r:TAGGED]->(old:Tag) WHERE r.source <> 'user'
                 WITH j, again, f, owner, old_terms, old_tags, proposals, collect(r) AS edges,
                      collect(CASE WHEN r IS NULL THEN null ELSE [old.name, coalesce(r.source, '')] END) AS gone
                 FOREACH (r IN edges | DELETE r)
                 WITH j, again, f, owner, old_terms, old_tags, proposals, gone
                 CALL (f, proposals) {{
                     UNWIND proposals AS p
                     MERGE (t:Tag {{name: p.name}})
                     WITH f, t, p WHERE NOT (f)-[:REMOVED]->(t) AND NOT (f)-[:TAGGED]->(t)
                       AND NOT EXISTS {{ MATCH (:Rejection {{owner: f.owner, name: t.name}}) }}
                     CREATE (f)-[:TAGGED {{score: p.score, source: p.source}}]->(t)
                     RETURN collect([t.name, p.source]) AS used
                 }}
                 {SET_TAGS_TEXT}
                 FOREACH (_ IN CASE WHEN $done AND again THEN [1] ELSE [] END | {JOB_AGAIN})
                 FOREACH (_ IN CASE WHEN $done AND NOT again THEN [1] ELSE [] END | {JOB_DONE})
                 RETURN owner, old_terms, old_tags, gone, used"
            ))
            .param("text", truncate_utf8(&outcome.text, MAX_INDEXED_TEXT).to_string())
            .param("metadata", metadata)
            .param("media", outcome.media_type.clone().unwrap_or_default())
            .param("updated_at", stored_time(Utc::now()))
            .param("now", now_ms())
            .param("terms", terms.clone())
            .param("embedding", embedding)
            .param("names", names)
            .param("scores", scores)
            .param("sources", sources)
            .param("done", *done),
            job,
        ),
    )
    .await?;
    // No row: the job is no longer held as claimed (its lease lapsed, the
    // file was deleted and took the job along).
    let Some(row) = rows.first() else {
        return Ok(Ok(false));
    };
    let owner: String = row.get("owner").map_err(de_err)?;
    let old_terms: Vec<String> = row.get("old_terms").map_err(de_err)?;
    batch.counts.terms_replaced(&owner, &old_terms, &terms);
    for (used, delta) in [("gone", -1), ("used", 1)] {
        for pair in row.get::<Vec<Vec<String>>>(used).map_err(de_err)? {
            if let [name, source] = pair.as_slice() {
                batch.counts.tag_use(&owner, name, source, delta);
            }
        }
    }
    batch
        .maybe_orphans
        .extend(row.get::<Vec<String>>("old_tags").map_err(de_err)?);
    Ok(Ok(true))
}
