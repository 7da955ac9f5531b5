//! Tagging outcomes written under their jobs' leases ([`JobQueue::store_partial`],
//! [`JobQueue::complete_job`]), committed together when several wait
//! ([`group_commit`](super::group_commit): 2 writers per store, up to 16
//! outcomes each).
//!
//! Every outcome of one owner changes that owner's counts: the term ''
//! (the owner's tagged files) and the common words and tags. A count is
//! locked from the statement that changes it to the commit, so one owner's
//! outcomes committed one by one, and under a stream of uploads the taggers
//! spent most of their time waiting for those locks (README). Here each
//! transaction reads and writes its outcomes first, adds their count
//! changes up, and changes each count once, in one statement just before
//! the commit, in the order of its key, so two transactions never hold
//! counts the other waits for. On 2 cores this did not make tagging
//! faster: there Neo4j's CPU for each tagged file is the limit (README).

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

/// Writes one outcome in `txn`: text, metadata, machine tags (user tags
/// stay, removed tags stay removed, aliases land on their tag), terms and
/// embedding; with `done`, also the status, and the job is removed. Its
/// count changes go to `batch`. The inner result is the outcome's own: an
/// embedding of the wrong length fails it alone; the outer one fails the
/// transaction.
async fn write_one(txn: &mut Txn, write: &OutcomeWrite, batch: &mut Batch) -> Result<Result<bool>> {
    let OutcomeWrite { job, outcome, done } = write;
    let fid = job.file_id.to_string();
    let proposed: Vec<(String, f64, String)> = outcome
        .tags
        .iter()
        .filter(|t| t.source != TagSource::User)
        .filter_map(|t| {
            let n = normalize_tag(&t.name).ok()?;
            Some((
                n,
                f64::from(t.score.clamp(0.0, 1.0)),
                t.source.as_str().to_string(),
            ))
        })
        .collect();
    // The job locked (`LOCK_HELD`), and what the write starts from, in one
    // round trip: the file's tags, the names its owner rejected and the
    // tag each proposed name is ([`CANONICAL`]).
    let rows = txn_rows(
        txn,
        held(
            query(&format!(
                "{LOCK_HELD}
                 WITH j OPTIONAL MATCH (f:File {{id: $fid}})
                 RETURN coalesce(j.again, false) AS again,
                        [(f)-[:TAGGED]->(t:Tag) | t.name] AS tags,
                        COLLECT {{ MATCH (x:Rejection {{owner: f.owner}}) RETURN x.name }} AS rejected,
                        [n IN $proposed | {CANONICAL}] AS canonical"
            ))
            .param(
                "proposed",
                proposed.iter().map(|(n, _, _)| n.clone()).collect::<Vec<_>>(),
            ),
            job,
        ),
    )
    .await?;
    let Some(row) = rows.first() else {
        return Ok(Ok(false));
    };
    let again: bool = row.get("again").map_err(de_err)?;
    let old_tags: Vec<String> = row
        .get::<Option<Vec<String>>>("tags")
        .map_err(de_err)?
        .unwrap_or_default();
    let rejected: HashSet<String> = row
        .get::<Option<Vec<String>>>("rejected")
        .map_err(de_err)?
        .unwrap_or_default()
        .into_iter()
        .collect();
    // A name rejected stays refused after an admin's merge made it another
    // tag's alias: checked before the alias resolves.
    let canonical: Vec<(String, (String, f64, String))> = canonical_from(row)?
        .into_iter()
        .zip(proposed)
        .filter(|(_, (n, _, _))| !rejected.contains(n))
        .collect();
    let mut names = Vec::new();
    let mut scores = Vec::new();
    let mut sources = Vec::new();
    for (name, (_, score, source)) in canonical {
        if !names.contains(&name) {
            names.push(name);
            scores.push(score);
            sources.push(source);
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
    // The terms the file had and the machine tags it loses or gains come
    // back for the counts; its tag text (for search) is written from the
    // tags it ends with.
    let rows = txn_rows(
        txn,
        query(&format!(
            "MATCH (f:File {{id: $fid}})
             WITH f, f.owner AS owner, coalesce(f.terms, []) AS old_terms
             SET f.text = $text, f.metadata = $metadata, f.media_type = CASE WHEN $media = '' THEN f.media_type ELSE $media END,
                 f.updated_at = $now, f.terms = $terms, f.terms_owner = f.owner, f.embedding = $embedding
             WITH f, owner, old_terms
             OPTIONAL MATCH (f)-[r:TAGGED]->(old:Tag) WHERE r.source <> 'user'
             WITH f, owner, old_terms, collect(r) AS edges,
                  collect(CASE WHEN r IS NULL THEN null ELSE [old.name, coalesce(r.source, '')] END) AS gone
             FOREACH (r IN edges | DELETE r)
             WITH f, owner, old_terms, gone
             CALL (f) {{
                 UNWIND range(0, size($names) - 1) AS i
                 MERGE (t:Tag {{name: $names[i]}})
                 WITH f, t, i WHERE NOT (f)-[:REMOVED]->(t) AND NOT (f)-[:TAGGED]->(t)
                   AND NOT EXISTS {{ MATCH (:Rejection {{owner: f.owner, name: t.name}}) }}
                 CREATE (f)-[:TAGGED {{score: $scores[i], source: $sources[i]}}]->(t)
                 RETURN collect([t.name, $sources[i]]) AS used
             }}
             {SET_TAGS_TEXT}
             RETURN owner, old_terms, gone, used",
        ))
        .param("fid", fid)
        .param("text", truncate_utf8(&outcome.text, MAX_INDEXED_TEXT).to_string())
        .param("metadata", metadata)
        .param("media", outcome.media_type.clone().unwrap_or_default())
        .param("now", stored_time(Utc::now()))
        .param("terms", terms.clone())
        .param("embedding", embedding)
        .param("names", names)
        .param("scores", scores)
        .param("sources", sources),
    )
    .await?;
    // The job holds its file: a file deleted meanwhile took the job along.
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
    batch.maybe_orphans.extend(old_tags);
    if *done {
        finish_held(txn, job, again).await?;
    }
    Ok(Ok(true))
}
