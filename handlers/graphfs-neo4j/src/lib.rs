//! The graph index in Neo4j 5.
//!
//! Model: `(:User)-[:OWNS]->(:File)-[:TAGGED {score, source}]->(:Tag)`,
//! `(:File)-[:SIMILAR {score}]->(:File)`, `(:Tag)-[:CO_OCCURS {count}]->(:Tag)`,
//! `(:File)-[:REMOVED]->(:Tag)` (a user's removal, remembered), the tagging
//! queue as `(:Job)-[:FOR]->(:File)`, and `(:Term {df})` for corpus
//! statistics. Every query takes user input as parameters only; the one
//! string built from user text is a Lucene query, and every term in it is
//! escaped.

use std::collections::{HashSet, VecDeque};
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use chrono::{DateTime, SecondsFormat, Utc};
use graphfs_domain::{
    CorpusStats, EdgeKind, Error, FileId, FileQuery, FileRecord, FileTag, GraphBuilder, GraphIndex,
    GraphStart, GraphView, Job, JobFailure, NewFile, NodeKind, Page, QueueDepth, RelatedTag,
    Result, SearchHit, SimilarFile, SortKey, SortOrder, TagInfo, TagMatch, TagSource,
    TaggingOutcome, TaggingStatus, UserId, normalize_tag,
};
use neo4rs::{ConfigBuilder, Graph, Query, Row, Txn, query};
use serde::{Deserialize, Serialize};

/// Length of file embeddings the vector index takes (all-MiniLM-L6-v2).
const EMBEDDING_DIMENSIONS: usize = 384;
const MAX_INDEXED_TEXT: usize = 1 << 20;
const TAG_FANOUT: i64 = 50;
const COOCCUR_FANOUT: i64 = 10;

const SCHEMA: &[&str] = &[
    "CREATE CONSTRAINT graphfs_file_id IF NOT EXISTS FOR (f:File) REQUIRE f.id IS UNIQUE",
    "CREATE CONSTRAINT graphfs_tag_name IF NOT EXISTS FOR (t:Tag) REQUIRE t.name IS UNIQUE",
    "CREATE CONSTRAINT graphfs_user_id IF NOT EXISTS FOR (u:User) REQUIRE u.id IS UNIQUE",
    "CREATE CONSTRAINT graphfs_token_hash IF NOT EXISTS FOR (k:Token) REQUIRE k.hash IS UNIQUE",
    "CREATE CONSTRAINT graphfs_job_file IF NOT EXISTS FOR (j:Job) REQUIRE j.file_id IS UNIQUE",
    "CREATE CONSTRAINT graphfs_term_name IF NOT EXISTS FOR (t:Term) REQUIRE t.name IS UNIQUE",
    "CREATE CONSTRAINT graphfs_file_object_key IF NOT EXISTS FOR (f:File) REQUIRE f.object_key IS UNIQUE",
    "CREATE INDEX graphfs_file_owner_created IF NOT EXISTS FOR (f:File) ON (f.owner, f.created_at)",
    "CREATE INDEX graphfs_file_status IF NOT EXISTS FOR (f:File) ON (f.status)",
    "CREATE INDEX graphfs_job_due IF NOT EXISTS FOR (j:Job) ON (j.due_at)",
    // `viewers` (owner and users shared with) lets Lucene keep to the
    // viewer's files before ranking, instead of ranking everyone's.
    "CREATE FULLTEXT INDEX graphfs_file_search IF NOT EXISTS FOR (f:File) ON EACH [f.name_tokens, f.text, f.tags_text, f.viewers]",
    "CREATE VECTOR INDEX graphfs_file_embedding IF NOT EXISTS FOR (f:File) ON (f.embedding) OPTIONS {indexConfig: {`vector.dimensions`: 384, `vector.similarity_function`: 'cosine'}}",
];

const VISIBLE: &str = "(f.owner = $viewer OR $viewer IN f.shared_with)";

/// The projection every file-returning query ends with.
const FILE_PROJECTION: &str = "f {.id, .owner, .name, .size, .sha256, .media_type, .created_at, .updated_at, .status, .status_reason, .metadata, .shared_with, .object_key} AS f, \
     [(f)-[r:TAGGED]->(t:Tag) | {name: t.name, score: r.score, source: r.source}] AS tags";

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
        E::Neo4j(n) if n.code().contains("TransientError") => Error::Unavailable {
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

/// Runs a write transaction again, a few times with growing pauses, when
/// Neo4j reported a transient failure (see `db_err`); anything else, or the
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
                tracing::debug!(%message, ?pause, "transient graph failure; running the transaction again");
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

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn parse_ts(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
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

fn name_tokens(name: &str) -> String {
    let spaced: String = name
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    format!("{name} {spaced}")
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[derive(Deserialize)]
struct FileProps {
    id: String,
    owner: String,
    name: String,
    size: i64,
    sha256: String,
    media_type: String,
    created_at: String,
    updated_at: String,
    status: String,
    status_reason: String,
    metadata: String,
    shared_with: Vec<String>,
    object_key: String,
}

#[derive(Deserialize)]
struct TagProps {
    name: String,
    score: f64,
    source: String,
}

fn file_from(row: &Row) -> Result<FileRecord> {
    let f: FileProps = row.get("f").map_err(de_err)?;
    let tags: Vec<TagProps> = row.get("tags").map_err(de_err)?;
    let mut tags: Vec<FileTag> = tags
        .into_iter()
        .map(|t| FileTag {
            name: t.name,
            score: t.score as f32,
            source: t.source.parse().unwrap_or(TagSource::Keyword),
        })
        .collect();
    tags.sort_by(|a, b| {
        (b.source == TagSource::User)
            .cmp(&(a.source == TagSource::User))
            .then(b.score.total_cmp(&a.score))
            .then(a.name.cmp(&b.name))
    });
    let mut shared_with = f.shared_with;
    shared_with.sort();
    Ok(FileRecord {
        id: f.id.parse().map_err(de_err)?,
        owner: f.owner,
        name: f.name,
        size: u64::try_from(f.size).unwrap_or(0),
        sha256: f.sha256,
        media_type: f.media_type,
        created_at: parse_ts(&f.created_at),
        updated_at: parse_ts(&f.updated_at),
        status: f.status.parse().unwrap_or(TaggingStatus::Pending),
        status_reason: Some(f.status_reason).filter(|s| !s.is_empty()),
        tags,
        metadata: serde_json::from_str(&f.metadata).unwrap_or_else(|_| serde_json::json!({})),
        shared_with,
        object_key: f.object_key,
    })
}

#[derive(Serialize, Deserialize)]
struct Cursor {
    k: serde_json::Value,
    id: String,
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0xAC00..=0xD7AF | 0x20000..=0x2FA1F)
}

/// Words and CJK runs of a query, lower-cased, at most 16.
fn query_terms(q: &str) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut cjk = String::new();
    for c in q.chars().chain(std::iter::once(' ')) {
        if is_cjk(c) {
            if !word.is_empty() {
                out.push((std::mem::take(&mut word), false));
            }
            cjk.push(c);
        } else if c.is_alphanumeric() {
            if !cjk.is_empty() {
                out.push((std::mem::take(&mut cjk), true));
            }
            word.extend(c.to_lowercase());
        } else {
            if !word.is_empty() {
                out.push((std::mem::take(&mut word), false));
            }
            if !cjk.is_empty() {
                out.push((std::mem::take(&mut cjk), true));
            }
        }
    }
    out.truncate(16);
    out
}

/// A Lucene query over the three indexed fields with name and tag matches
/// boosted. Terms contain only letters and digits, so quoting is enough; the
/// last word is also matched as a prefix (search as one types).
fn lucene_query(terms: &[(String, bool)], all: bool) -> String {
    let last = terms.len().saturating_sub(1);
    let groups: Vec<String> = terms
        .iter()
        .enumerate()
        .map(|(i, (t, cjk))| {
            if i == last && !cjk {
                format!("(name_tokens:{t}*^10 text:{t}* tags_text:{t}*^5 name_tokens:\"{t}\"^10 text:\"{t}\" tags_text:\"{t}\"^5)")
            } else {
                format!("(name_tokens:\"{t}\"^10 text:\"{t}\" tags_text:\"{t}\"^5)")
            }
        })
        .collect();
    if all {
        groups
            .iter()
            .map(|g| format!("+{g}"))
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        // At least one term must match (the viewer clause is required too).
        format!("+({})", groups.join(" "))
    }
}

/// A fragment of `text` around the first match, matches in brackets.
fn snippet(text: &str, words: &[String]) -> Option<String> {
    let lower = text.to_lowercase();
    if lower.len() != text.len() {
        // Lower-casing changed byte offsets; search the original instead.
        return snippet_exact(text, words);
    }
    let (pos, _) = words
        .iter()
        .filter(|w| !w.is_empty())
        .filter_map(|w| lower.find(w.as_str()).map(|p| (p, w)))
        .min_by_key(|(p, _)| *p)?;
    let mut start = pos.saturating_sub(60);
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = (pos + 120).min(text.len());
    while !text.is_char_boundary(end) {
        end += 1;
    }
    let window = &text[start..end];
    let wl = &lower[start..end];
    let mut out = String::new();
    let mut i = 0;
    while i < window.len() {
        if let Some(w) = words
            .iter()
            .filter(|w| !w.is_empty())
            .find(|w| wl[i..].starts_with(w.as_str()))
        {
            out.push('[');
            out.push_str(&window[i..i + w.len()]);
            out.push(']');
            i += w.len();
        } else {
            let ch = window[i..].chars().next().unwrap_or(' ');
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    Some(format!(
        "{}{}{}",
        if start > 0 { "…" } else { "" },
        out.trim(),
        if end < text.len() { "…" } else { "" }
    ))
}

fn snippet_exact(text: &str, words: &[String]) -> Option<String> {
    let w = words
        .iter()
        .find(|w| !w.is_empty() && text.contains(w.as_str()))?;
    let pos = text.find(w.as_str())?;
    let before: String = text[..pos]
        .chars()
        .rev()
        .take(60)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let after: String = text[pos + w.len()..].chars().take(100).collect();
    Some(format!("{before}[{w}]{after}"))
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
        let index = Neo4jGraphIndex { graph };
        for stmt in SCHEMA {
            match index.graph.run(query(stmt)).await {
                Ok(_) => {}
                // Replicas starting together race to create the same schema;
                // `IF NOT EXISTS` does not cover the race, this does.
                Err(neo4rs::Error::Neo4j(e)) if e.code().contains("AlreadyExists") => {}
                Err(e) => return Err(db_err(e)),
            }
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

    /// One attempt at `delete_file` (see there).
    async fn delete_file_once(&self, viewer: &str, id: FileId) -> Result<FileRecord> {
        self.check_owned(viewer, id).await?;
        let record = self.get_owned(id).await?;
        let sid = id.to_string();
        let mut txn = self.graph.start_txn().await.map_err(db_err)?;
        let tags = file_tags(&mut txn, &sid).await?;
        let removed = txn_rows(
            &mut txn,
            query("MATCH (:File {id: $id})-[:REMOVED]->(t:Tag) RETURN t.name AS n")
                .param("id", sid.clone()),
        )
        .await?;
        let mut orphans = tags.clone();
        for r in removed {
            orphans.push(r.get("n").map_err(de_err)?);
        }
        txn.run(
            query(
                "MATCH (f:File {id: $id})
                 FOREACH (t IN f.terms | MERGE (x:Term {name: t}) SET x.df = CASE WHEN x.df > 0 THEN x.df - 1 ELSE 0 END)
                 WITH f OPTIONAL MATCH (j:Job {file_id: $id})
                 DETACH DELETE j, f",
            )
            .param("id", sid),
        )
        .await
        .map_err(db_err)?;
        recount_cooccurrence(&mut txn, &tags).await?;
        drop_orphans(&mut txn, &orphans).await?;
        txn.commit().await.map_err(db_err)?;
        Ok(record)
    }

    /// Writes a tagging outcome under the job's lease: text, metadata,
    /// machine tags (user tags stay, removed tags stay removed; aliases land
    /// on their tag), terms and embedding; with `done`, also the status, and
    /// the job is removed.
    async fn write_outcome(&self, job: &Job, outcome: &TaggingOutcome, done: bool) -> Result<bool> {
        let fid = job.file_id.to_string();
        let mut txn = self.graph.start_txn().await.map_err(db_err)?;
        let held = txn_rows(
            &mut txn,
            query("MATCH (j:Job {file_id: $fid}) WHERE j.seq = $seq AND j.worker = $worker SET j._lock = true RETURN count(j) AS n")
                .param("fid", fid.clone())
                .param("seq", job.id)
                .param("worker", job.worker.clone()),
        )
        .await?;
        if held
            .first()
            .map(|r| r.get::<i64>("n").unwrap_or(0))
            .unwrap_or(0)
            == 0
        {
            txn.rollback().await.map_err(db_err)?;
            return Ok(false);
        }
        let old_tags = file_tags(&mut txn, &fid).await?;
        let mut names = Vec::new();
        let mut scores = Vec::new();
        let mut sources = Vec::new();
        for t in &outcome.tags {
            if t.source == TagSource::User {
                continue;
            }
            if let Ok(n) = normalize_tag(&t.name) {
                names.push(n);
                scores.push(f64::from(t.score.clamp(0.0, 1.0)));
                sources.push(t.source.as_str().to_string());
            }
        }
        let names = resolve_aliases(&mut txn, names).await?;
        let metadata = if outcome.metadata.is_object() {
            outcome.metadata.to_string()
        } else {
            "{}".into()
        };
        let mut terms: Vec<String> = outcome.terms.iter().take(256).cloned().collect();
        terms.sort();
        terms.dedup();
        let embedding: Option<Vec<f64>> = outcome
            .embedding
            .as_ref()
            .filter(|v| v.len() == EMBEDDING_DIMENSIONS)
            .map(|v| v.iter().map(|x| f64::from(*x)).collect());
        txn.run(
            query(
                "MATCH (f:File {id: $fid})
                 FOREACH (t IN f.terms | MERGE (x:Term {name: t}) SET x.df = CASE WHEN x.df > 0 THEN x.df - 1 ELSE 0 END)
                 FOREACH (t IN $terms | MERGE (x:Term {name: t}) SET x.df = coalesce(x.df, 0) + 1)
                 SET f.text = $text, f.metadata = $metadata, f.media_type = CASE WHEN $media = '' THEN f.media_type ELSE $media END,
                     f.status = CASE WHEN $done THEN 'done' ELSE f.status END,
                     f.status_reason = CASE WHEN $done THEN '' ELSE f.status_reason END,
                     f.updated_at = $now, f.terms = $terms, f.embedding = $embedding
                 WITH f OPTIONAL MATCH (f)-[r:TAGGED]->() WHERE r.source <> 'user' DELETE r
                 WITH DISTINCT f
                 UNWIND (CASE WHEN size($names) = 0 THEN [null] ELSE range(0, size($names) - 1) END) AS i
                 WITH f, i WHERE i IS NOT NULL
                 MERGE (t:Tag {name: $names[i]})
                 WITH f, t, i WHERE NOT (f)-[:REMOVED]->(t) AND NOT (f)-[:TAGGED]->(t)
                 CREATE (f)-[:TAGGED {score: $scores[i], source: $sources[i]}]->(t)",
            )
            .param("fid", fid.clone())
            .param("text", truncate(&outcome.text, MAX_INDEXED_TEXT).to_string())
            .param("metadata", metadata)
            .param("media", outcome.media_type.clone().unwrap_or_default())
            .param("now", ts(Utc::now()))
            .param("done", done)
            .param("terms", terms)
            .param("embedding", embedding)
            .param("names", names)
            .param("scores", scores)
            .param("sources", sources),
        )
        .await
        .map_err(db_err)?;
        let new_tags = file_tags(&mut txn, &fid).await?;
        let mut touched: Vec<String> = old_tags.iter().chain(new_tags.iter()).cloned().collect();
        touched.sort();
        touched.dedup();
        after_tag_change(&mut txn, &fid, &touched, &old_tags).await?;
        if done {
            txn.run(query("MATCH (j:Job {file_id: $fid}) DETACH DELETE j").param("fid", fid))
                .await
                .map_err(db_err)?;
        }
        txn.commit().await.map_err(db_err)?;
        Ok(true)
    }

    async fn rows(&self, q: Query) -> Result<Vec<Row>> {
        let mut stream = self.graph.execute(q).await.map_err(db_err)?;
        let mut out = Vec::new();
        while let Some(row) = stream.next().await.map_err(db_err)? {
            out.push(row);
        }
        Ok(out)
    }

    async fn one_file(&self, q: Query, what: FileId) -> Result<FileRecord> {
        let rows = self.rows(q).await?;
        let row = rows
            .first()
            .ok_or_else(|| Error::NotFound(format!("file {what}")))?;
        file_from(row)
    }

    /// NotFound unless visible; Forbidden unless owned.
    async fn check_owned(&self, viewer: &str, id: FileId) -> Result<()> {
        let rows = self
            .rows(
                query("MATCH (f:File {id: $id}) RETURN f.owner AS owner, f.shared_with AS shared")
                    .param("id", id.to_string()),
            )
            .await?;
        let Some(row) = rows.first() else {
            return Err(Error::NotFound(format!("file {id}")));
        };
        let owner: String = row.get("owner").map_err(de_err)?;
        let shared: Vec<String> = row.get("shared").map_err(de_err)?;
        if owner == viewer {
            Ok(())
        } else if shared.iter().any(|s| s == viewer) {
            Err(Error::Forbidden(format!(
                "file {id} belongs to {owner}; only its owner may change it"
            )))
        } else {
            Err(Error::NotFound(format!("file {id}")))
        }
    }

    async fn get_owned(&self, id: FileId) -> Result<FileRecord> {
        self.one_file(
            query(&format!(
                "MATCH (f:File {{id: $id}}) RETURN {FILE_PROJECTION}"
            ))
            .param("id", id.to_string()),
            id,
        )
        .await
    }
}

async fn txn_rows(txn: &mut Txn, q: Query) -> Result<Vec<Row>> {
    let mut stream = txn.execute(q).await.map_err(db_err)?;
    let mut out = Vec::new();
    while let Some(row) = stream.next(&mut *txn).await.map_err(db_err)? {
        out.push(row);
    }
    Ok(out)
}

/// Refreshes a file's tag text (for search) and the CO_OCCURS counts among
/// `tags`, and drops tags in `maybe_orphans` that nothing refers to any more.
async fn after_tag_change(
    txn: &mut Txn,
    file: &str,
    tags: &[String],
    maybe_orphans: &[String],
) -> Result<()> {
    txn.run(
        query(
            "MATCH (f:File {id: $id})
             SET f.tags_text = reduce(s = '', n IN [(f)-[:TAGGED]->(t:Tag) | t.name] | s + ' , ' + n)",
        )
        .param("id", file),
    )
    .await
    .map_err(db_err)?;
    recount_cooccurrence(txn, tags).await?;
    drop_orphans(txn, maybe_orphans).await
}

async fn recount_cooccurrence(txn: &mut Txn, tags: &[String]) -> Result<()> {
    if tags.len() < 2 {
        return Ok(());
    }
    txn.run(
        query(
            "UNWIND $tags AS a UNWIND $tags AS b
             WITH a, b WHERE a < b
             MATCH (ta:Tag {name: a}), (tb:Tag {name: b})
             CALL (ta, tb) {
               OPTIONAL MATCH (ta)<-[:TAGGED]-(f:File)-[:TAGGED]->(tb)
               WITH ta, tb, count(f) AS n
               OPTIONAL MATCH (ta)-[old:CO_OCCURS]-(tb)
               DELETE old
               WITH ta, tb, n WHERE n > 0
               CREATE (ta)-[:CO_OCCURS {count: n}]->(tb)
             }",
        )
        .param("tags", tags.to_vec()),
    )
    .await
    .map_err(db_err)?;
    Ok(())
}

async fn drop_orphans(txn: &mut Txn, tags: &[String]) -> Result<()> {
    if tags.is_empty() {
        return Ok(());
    }
    txn.run(
        query(
            "UNWIND $tags AS name MATCH (t:Tag {name: name})
             WHERE NOT (t)<-[:TAGGED]-() AND NOT (t)<-[:REMOVED]-()
               AND size(coalesce(t.aliases, [])) = 0
             DETACH DELETE t",
        )
        .param("tags", tags.to_vec()),
    )
    .await
    .map_err(db_err)?;
    Ok(())
}

/// A tag row: `name`, count `c` and `aliases`.
fn tag_info_from(r: &Row) -> Result<TagInfo> {
    Ok(TagInfo {
        name: r.get("name").map_err(de_err)?,
        count: u64::try_from(r.get::<i64>("c").map_err(de_err)?).unwrap_or(0),
        aliases: r.get("aliases").map_err(de_err)?,
    })
}

/// Maps tag names that are aliases to the tag they were merged into.
async fn resolve_aliases(txn: &mut Txn, names: Vec<String>) -> Result<Vec<String>> {
    if names.is_empty() {
        return Ok(names);
    }
    let rows = txn_rows(
        txn,
        query(
            "UNWIND range(0, size($names) - 1) AS i
             OPTIONAL MATCH (t:Tag) WHERE $names[i] IN t.aliases
             RETURN i, t.name AS canonical",
        )
        .param("names", names.clone()),
    )
    .await?;
    let mut out = names;
    for r in rows {
        if let (Ok(i), Ok(c)) = (r.get::<i64>("i"), r.get::<String>("canonical"))
            && let Some(slot) = usize::try_from(i).ok().and_then(|i| out.get_mut(i))
        {
            *slot = c;
        }
    }
    let mut seen = HashSet::new();
    Ok(out.into_iter().filter(|n| seen.insert(n.clone())).collect())
}

async fn file_tags(txn: &mut Txn, id: &str) -> Result<Vec<String>> {
    let rows = txn_rows(
        txn,
        query("MATCH (:File {id: $id})-[:TAGGED]->(t:Tag) RETURN t.name AS n").param("id", id),
    )
    .await?;
    rows.iter()
        .map(|r| r.get::<String>("n").map_err(de_err))
        .collect()
}

#[async_trait]
impl GraphIndex for Neo4jGraphIndex {
    async fn add_token(&self, user: &str, token_sha256: &str) -> Result<()> {
        self.graph
            .run(
                query(
                    "MERGE (u:User {id: $user}) ON CREATE SET u.created_at = $now
                     MERGE (k:Token {hash: $hash})
                     SET k.user = $user
                     WITH u, k OPTIONAL MATCH (k)-[o:OF]->() DELETE o
                     WITH u, k MERGE (k)-[:OF]->(u)",
                )
                .param("user", user)
                .param("hash", token_sha256)
                .param("now", ts(Utc::now())),
            )
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn user_for_token(&self, token_sha256: &str) -> Result<Option<UserId>> {
        let rows = self
            .rows(
                query("MATCH (k:Token {hash: $hash}) RETURN k.user AS user")
                    .param("hash", token_sha256),
            )
            .await?;
        rows.first()
            .map(|r| r.get::<String>("user").map_err(de_err))
            .transpose()
    }

    async fn create_file(&self, file: NewFile) -> Result<FileRecord> {
        let now = Utc::now();
        let mut txn = self.graph.start_txn().await.map_err(db_err)?;
        txn.run(
            query(
                "MERGE (u:User {id: $owner}) ON CREATE SET u.created_at = $now
                 CREATE (u)-[:OWNS]->(f:File {id: $id, owner: $owner, name: $name, name_tokens: $tokens,
                     size: $size, sha256: $sha, media_type: $media, created_at: $now, updated_at: $now,
                     status: 'pending', status_reason: '', metadata: '{}', text: '', tags_text: '',
                     shared_with: [], terms: [], object_key: $key, viewers: $owner})
                 CREATE (:Job {file_id: $id, seq: $seq, attempts: 0, due_at: $now_ms, worker: '',
                     lease_until: 0, last_error: ''})-[:FOR]->(f)",
            )
            .param("owner", file.owner.clone())
            .param("id", file.id.to_string())
            .param("name", file.name.clone())
            .param("tokens", name_tokens(&file.name))
            .param("size", i64::try_from(file.size).unwrap_or(i64::MAX))
            .param("sha", file.sha256.clone())
            .param("media", file.media_type.clone())
            .param("now", ts(now))
            .param("now_ms", now.timestamp_millis())
            .param("seq", new_seq())
            .param("key", file.object_key.clone()),
        )
        .await
        .map_err(db_err)?;
        txn.commit().await.map_err(db_err)?;
        self.get_owned(file.id).await
    }

    async fn get_file(&self, viewer: &str, id: FileId) -> Result<FileRecord> {
        self.one_file(
            query(&format!(
                "MATCH (f:File {{id: $id}}) WHERE {VISIBLE} RETURN {FILE_PROJECTION}"
            ))
            .param("id", id.to_string())
            .param("viewer", viewer),
            id,
        )
        .await
    }

    async fn list_files(&self, viewer: &str, q: &FileQuery) -> Result<Page<FileRecord>> {
        let mut conds = vec![VISIBLE.to_string()];
        let mut cypher_params: Vec<(&str, neo4rs::BoltType)> = vec![("viewer", viewer.into())];
        if !q.tags.is_empty() {
            let quant = if q.tag_match == TagMatch::All {
                "ALL"
            } else {
                "ANY"
            };
            conds.push(format!(
                "{quant}(tn IN $tags WHERE EXISTS {{ (f)-[:TAGGED]->(:Tag {{name: tn}}) }})"
            ));
            cypher_params.push(("tags", q.tags.clone().into()));
        }
        if let Some(mt) = &q.media_type {
            conds.push(if mt.ends_with('/') {
                "f.media_type STARTS WITH $mt".into()
            } else {
                "f.media_type = $mt".into()
            });
            cypher_params.push(("mt", mt.clone().into()));
        }
        if let Some(p) = &q.name_prefix {
            conds.push("f.name STARTS WITH $np".into());
            cypher_params.push(("np", p.clone().into()));
        }
        if let Some(s) = q.status {
            conds.push("f.status = $status".into());
            cypher_params.push(("status", s.as_str().into()));
        }
        let key = match q.sort {
            SortKey::Created => "f.created_at",
            SortKey::Name => "f.name",
            SortKey::Size => "f.size",
        };
        let (cmp, dir) = match q.order {
            SortOrder::Asc => (">", "ASC"),
            SortOrder::Desc => ("<", "DESC"),
        };
        if let Some(c) = &q.cursor {
            let c: Cursor = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(c)
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
                .ok_or_else(|| {
                    Error::InvalidInput("the cursor is not one this server gave out".into())
                })?;
            let k: neo4rs::BoltType = match (q.sort, &c.k) {
                (SortKey::Size, serde_json::Value::Number(n)) => n.as_i64().unwrap_or(0).into(),
                (SortKey::Created | SortKey::Name, serde_json::Value::String(s)) => {
                    s.clone().into()
                }
                _ => {
                    return Err(Error::InvalidInput(
                        "the cursor belongs to a listing with another sort".into(),
                    ));
                }
            };
            conds.push(format!(
                "({key} {cmp} $ck OR ({key} = $ck AND f.id {cmp} $cid))"
            ));
            cypher_params.push(("ck", k));
            cypher_params.push(("cid", c.id.into()));
        }
        let limit = q.limit.clamp(1, 1000);
        let text = format!(
            "MATCH (f:File) WHERE {} WITH f ORDER BY {key} {dir}, f.id {dir} LIMIT {} RETURN {FILE_PROJECTION}",
            conds.join(" AND "),
            limit + 1
        );
        let mut cq = query(&text);
        for (k, v) in cypher_params {
            cq = cq.param(k, v);
        }
        let rows = self.rows(cq).await?;
        let has_more = rows.len() > limit;
        let items = rows
            .iter()
            .take(limit)
            .map(file_from)
            .collect::<Result<Vec<_>>>()?;
        let next_cursor = match (has_more, items.last()) {
            (true, Some(last)) => {
                let c = Cursor {
                    k: match q.sort {
                        SortKey::Created => ts(last.created_at).into(),
                        SortKey::Name => last.name.clone().into(),
                        SortKey::Size => last.size.into(),
                    },
                    id: last.id.to_string(),
                };
                Some(
                    base64::engine::general_purpose::URL_SAFE_NO_PAD
                        .encode(serde_json::to_vec(&c).unwrap_or_default()),
                )
            }
            _ => None,
        };
        Ok(Page { items, next_cursor })
    }

    async fn rename_file(&self, viewer: &str, id: FileId, name: &str) -> Result<FileRecord> {
        self.check_owned(viewer, id).await?;
        self.graph
            .run(
                query("MATCH (f:File {id: $id}) SET f.name = $name, f.name_tokens = $tokens, f.updated_at = $now")
                    .param("id", id.to_string())
                    .param("name", name)
                    .param("tokens", name_tokens(name))
                    .param("now", ts(Utc::now())),
            )
            .await
            .map_err(db_err)?;
        self.get_owned(id).await
    }

    async fn delete_file(&self, viewer: &str, id: FileId) -> Result<FileRecord> {
        // Deleting races with tagging the same file (both lock its node and
        // its tags): a deadlock is retried, not reported.
        retry_transient(|| self.delete_file_once(viewer, id)).await
    }

    async fn set_shared(
        &self,
        viewer: &str,
        id: FileId,
        user: &str,
        shared: bool,
    ) -> Result<FileRecord> {
        self.check_owned(viewer, id).await?;
        if user == viewer {
            return Err(Error::InvalidInput(
                "a file is always visible to its owner".into(),
            ));
        }
        self.graph
            .run(
                query(
                    "MATCH (f:File {id: $id})
                     SET f.shared_with = [x IN f.shared_with WHERE x <> $user] + CASE WHEN $shared THEN [$user] ELSE [] END
                     SET f.viewers = reduce(v = f.owner, u IN f.shared_with | v + ' ' + u)",
                )
                .param("id", id.to_string())
                .param("user", user)
                .param("shared", shared),
            )
            .await
            .map_err(db_err)?;
        self.get_owned(id).await
    }

    async fn all_file_ids(&self, after: Option<FileId>, limit: usize) -> Result<Vec<FileId>> {
        let rows = self
            .rows(
                query(
                    "MATCH (f:File) WHERE f.id > $after RETURN f.id AS id ORDER BY id LIMIT $limit",
                )
                .param("after", after.map(|a| a.to_string()).unwrap_or_default())
                .param("limit", i64::try_from(limit).unwrap_or(1000)),
            )
            .await?;
        rows.iter()
            .map(|r| {
                r.get::<String>("id")
                    .map_err(de_err)
                    .and_then(|s| s.parse().map_err(de_err))
            })
            .collect()
    }

    async fn get_file_internal(&self, id: FileId) -> Result<FileRecord> {
        self.get_owned(id).await
    }

    async fn file_by_object_key(&self, key: &str) -> Result<Option<FileId>> {
        let rows = self
            .rows(query("MATCH (f:File {object_key: $key}) RETURN f.id AS id").param("key", key))
            .await?;
        rows.first()
            .map(|r| {
                r.get::<String>("id")
                    .map_err(de_err)
                    .and_then(|s| s.parse().map_err(de_err))
            })
            .transpose()
    }

    async fn add_user_tag(&self, viewer: &str, id: FileId, tag: &str) -> Result<FileRecord> {
        self.check_owned(viewer, id).await?;
        let sid = id.to_string();
        let mut txn = self.graph.start_txn().await.map_err(db_err)?;
        txn.run(
            query(
                "MATCH (f:File {id: $id}) MERGE (t:Tag {name: $tag})
                 MERGE (f)-[r:TAGGED]->(t) SET r.score = 1.0, r.source = 'user'
                 WITH f, t OPTIONAL MATCH (f)-[x:REMOVED]->(t) DELETE x
                 WITH f SET f.updated_at = $now",
            )
            .param("id", sid.clone())
            .param("tag", tag)
            .param("now", ts(Utc::now())),
        )
        .await
        .map_err(db_err)?;
        let tags = file_tags(&mut txn, &sid).await?;
        after_tag_change(&mut txn, &sid, &tags, &[]).await?;
        txn.commit().await.map_err(db_err)?;
        self.get_owned(id).await
    }

    async fn remove_tag(&self, viewer: &str, id: FileId, tag: &str) -> Result<FileRecord> {
        self.check_owned(viewer, id).await?;
        let sid = id.to_string();
        let mut txn = self.graph.start_txn().await.map_err(db_err)?;
        let mut before = file_tags(&mut txn, &sid).await?;
        let rows = txn_rows(
            &mut txn,
            query(
                "MATCH (f:File {id: $id})-[r:TAGGED]->(t:Tag {name: $tag})
                 DELETE r MERGE (f)-[:REMOVED]->(t) SET f.updated_at = $now RETURN count(*) AS n",
            )
            .param("id", sid.clone())
            .param("tag", tag)
            .param("now", ts(Utc::now())),
        )
        .await?;
        let n: i64 = rows.first().map(|r| r.get("n").unwrap_or(0)).unwrap_or(0);
        if n == 0 {
            txn.rollback().await.map_err(db_err)?;
            return Err(Error::NotFound(format!("tag '{tag}' on file {id}")));
        }
        after_tag_change(&mut txn, &sid, &before, &[]).await?;
        before.retain(|t| t != tag);
        txn.commit().await.map_err(db_err)?;
        self.get_owned(id).await
    }

    async fn list_tags(
        &self,
        viewer: &str,
        prefix: Option<&str>,
        limit: usize,
    ) -> Result<Vec<TagInfo>> {
        let rows = self
            .rows(
                query(&format!(
                    "MATCH (f:File)-[:TAGGED]->(t:Tag) WHERE {VISIBLE} AND t.name STARTS WITH $prefix
                     RETURN t.name AS name, count(f) AS c, coalesce(t.aliases, []) AS aliases
                     ORDER BY c DESC, name LIMIT $limit"
                ))
                .param("viewer", viewer)
                .param("prefix", prefix.unwrap_or(""))
                .param("limit", i64::try_from(limit.clamp(1, 10_000)).unwrap_or(100)),
            )
            .await?;
        rows.iter().map(tag_info_from).collect()
    }

    async fn related_tags(&self, viewer: &str, tag: &str, limit: usize) -> Result<Vec<RelatedTag>> {
        let exists = self
            .rows(query("MATCH (t:Tag {name: $tag}) RETURN t.name AS n").param("tag", tag))
            .await?;
        if exists.is_empty() {
            return Err(Error::NotFound(format!("tag '{tag}'")));
        }
        self.related(viewer, tag, limit).await
    }

    async fn similar_files(
        &self,
        viewer: &str,
        id: FileId,
        limit: usize,
    ) -> Result<Vec<SimilarFile>> {
        self.get_file(viewer, id).await?;
        let rows = self
            .rows(
                query(&format!(
                    "MATCH (:File {{id: $id}})-[s:SIMILAR]-(f:File) WHERE {VISIBLE}
                     RETURN f.id AS id, f.name AS name, max(s.score) AS score ORDER BY score DESC, id LIMIT $limit"
                ))
                .param("id", id.to_string())
                .param("viewer", viewer)
                .param("limit", i64::try_from(limit.clamp(1, 1000)).unwrap_or(10)),
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(SimilarFile {
                    id: r
                        .get::<String>("id")
                        .map_err(de_err)?
                        .parse()
                        .map_err(de_err)?,
                    name: r.get("name").map_err(de_err)?,
                    score: r.get::<f64>("score").map_err(de_err)? as f32,
                })
            })
            .collect()
    }

    async fn set_similar(&self, id: FileId, similar: &[(FileId, f32)]) -> Result<()> {
        self.get_owned(id).await?;
        let ids: Vec<String> = similar.iter().map(|(f, _)| f.to_string()).collect();
        let scores: Vec<f64> = similar.iter().map(|(_, s)| f64::from(*s)).collect();
        self.graph
            .run(
                query(
                    "MATCH (f:File {id: $id})
                     OPTIONAL MATCH (f)-[s:SIMILAR]->() DELETE s
                     WITH DISTINCT f
                     UNWIND range(0, size($ids) - 1) AS i
                     MATCH (o:File {id: $ids[i]}) WHERE o.id <> f.id
                     MERGE (f)-[r:SIMILAR]->(o) SET r.score = $scores[i]",
                )
                .param("id", id.to_string())
                .param("ids", ids)
                .param("scores", scores),
            )
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn nearest_files(
        &self,
        viewer: Option<&str>,
        embedding: &[f32],
        limit: usize,
    ) -> Result<Vec<(FileId, f32)>> {
        if embedding.len() != EMBEDDING_DIMENSIONS {
            return Ok(Vec::new());
        }
        let vector: Vec<f64> = embedding.iter().map(|x| f64::from(*x)).collect();
        // The index answers the nearest files of everyone; ask for more than
        // needed so that enough visible ones remain after the filter.
        let k = i64::try_from(limit.clamp(1, 1000) * if viewer.is_some() { 4 } else { 1 })
            .unwrap_or(40);
        let rows = self
            .rows(
                query(&format!(
                    "CALL db.index.vector.queryNodes('graphfs_file_embedding', $k, $vector)
                     YIELD node AS f, score
                     WITH f, score WHERE $all OR {VISIBLE}
                     RETURN f.id AS id, score ORDER BY score DESC, id LIMIT $limit"
                ))
                .param("k", k)
                .param("vector", vector)
                .param("all", viewer.is_none())
                .param("viewer", viewer.unwrap_or(""))
                .param("limit", i64::try_from(limit.clamp(1, 1000)).unwrap_or(10)),
            )
            .await?;
        rows.iter()
            .map(|r| {
                let id: FileId = r
                    .get::<String>("id")
                    .map_err(de_err)?
                    .parse()
                    .map_err(de_err)?;
                // Neo4j reports cosine as (1 + cos) / 2.
                let score = r.get::<f64>("score").map_err(de_err)?;
                Ok((id, (2.0 * score - 1.0) as f32))
            })
            .collect()
    }

    async fn vocabulary(&self, limit: usize) -> Result<Vec<TagInfo>> {
        let rows = self
            .rows(
                query(
                    "MATCH (f:File)-[:TAGGED]->(t:Tag)
                     RETURN t.name AS name, count(f) AS c, coalesce(t.aliases, []) AS aliases
                     ORDER BY c DESC, name LIMIT $limit",
                )
                .param(
                    "limit",
                    i64::try_from(limit.clamp(1, 100_000)).unwrap_or(1000),
                ),
            )
            .await?;
        rows.iter().map(tag_info_from).collect()
    }

    async fn merge_tag(&self, from: &str, into: &str) -> Result<()> {
        let mut txn = self.graph.start_txn().await.map_err(db_err)?;
        let found = txn_rows(
            &mut txn,
            query(
                "OPTIONAL MATCH (a:Tag {name: $from})
                 OPTIONAL MATCH (b:Tag) WHERE $from IN b.aliases
                 RETURN coalesce(a.name, b.name) AS name",
            )
            .param("from", from),
        )
        .await?;
        let Some(from) = found.first().and_then(|r| r.get::<String>("name").ok()) else {
            txn.rollback().await.map_err(db_err)?;
            return Err(Error::NotFound(format!("tag '{from}'")));
        };
        let into = resolve_aliases(&mut txn, vec![into.to_string()])
            .await?
            .pop()
            .unwrap_or_else(|| into.to_string());
        if from == into {
            txn.rollback().await.map_err(db_err)?;
            return Ok(());
        }
        let files: Vec<String> = txn_rows(
            &mut txn,
            query(
                "MATCH (f:File)-[:TAGGED|REMOVED]->(:Tag {name: $from}) RETURN DISTINCT f.id AS id",
            )
            .param("from", from.clone()),
        )
        .await?
        .iter()
        .filter_map(|r| r.get::<String>("id").ok())
        .collect();
        txn.run(
            query(
                "MATCH (a:Tag {name: $from}) MERGE (b:Tag {name: $into})
                 WITH a, b
                 OPTIONAL MATCH (f:File)-[r:TAGGED]->(a)
                 FOREACH (_ IN CASE WHEN r IS NULL THEN [] ELSE [1] END |
                   MERGE (f)-[r2:TAGGED]->(b)
                   ON CREATE SET r2.score = r.score, r2.source = r.source
                   ON MATCH SET r2.score = CASE WHEN r.score > r2.score THEN r.score ELSE r2.score END,
                                r2.source = CASE WHEN r.source = 'user' THEN 'user' ELSE r2.source END)
                 WITH DISTINCT a, b
                 OPTIONAL MATCH (g:File)-[:REMOVED]->(a)
                 FOREACH (_ IN CASE WHEN g IS NULL THEN [] ELSE [1] END | MERGE (g)-[:REMOVED]->(b))
                 WITH DISTINCT a, b
                 SET b.aliases = reduce(acc = [], x IN coalesce(b.aliases, []) + coalesce(a.aliases, []) + [a.name] |
                                        CASE WHEN x IN acc OR x = b.name THEN acc ELSE acc + x END)
                 DETACH DELETE a",
            )
            .param("from", from.clone())
            .param("into", into.clone()),
        )
        .await
        .map_err(db_err)?;
        for f in &files {
            let tags = file_tags(&mut txn, f).await?;
            after_tag_change(&mut txn, f, &tags, &[]).await?;
        }
        txn.commit().await.map_err(db_err)?;
        Ok(())
    }

    async fn files_with_term(&self, term: &str, limit: usize) -> Result<Vec<FileId>> {
        let rows = self
            .rows(
                query("MATCH (f:File) WHERE $term IN f.terms RETURN f.id AS id ORDER BY id LIMIT $limit")
                    .param("term", term)
                    .param("limit", i64::try_from(limit.clamp(1, 100_000)).unwrap_or(1000)),
            )
            .await?;
        Ok(rows
            .iter()
            .filter_map(|r| r.get::<String>("id").ok()?.parse().ok())
            .collect())
    }

    async fn user_tags(&self) -> Result<Vec<String>> {
        let rows = self
            .rows(query(
                "MATCH (:File)-[:TAGGED {source: 'user'}]->(t:Tag) RETURN DISTINCT t.name AS name ORDER BY name",
            ))
            .await?;
        rows.iter()
            .map(|r| r.get::<String>("name").map_err(de_err))
            .collect()
    }

    async fn frequent_terms(
        &self,
        prefix: &str,
        min_count: u64,
        limit: usize,
    ) -> Result<Vec<(String, u64)>> {
        let rows = self
            .rows(
                query(
                    "MATCH (x:Term) WHERE x.name STARTS WITH $prefix AND x.df >= $min
                     RETURN x.name AS name, x.df AS n ORDER BY n DESC, name LIMIT $limit",
                )
                .param("prefix", prefix)
                .param("min", i64::try_from(min_count.max(1)).unwrap_or(1))
                .param(
                    "limit",
                    i64::try_from(limit.clamp(1, 100_000)).unwrap_or(1000),
                ),
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.get::<String>("name").map_err(de_err)?,
                    u64::try_from(r.get::<i64>("n").map_err(de_err)?).unwrap_or(0),
                ))
            })
            .collect()
    }

    async fn search(&self, viewer: &str, q: &str, limit: usize) -> Result<Vec<SearchHit>> {
        let terms = query_terms(q);
        if terms.is_empty() {
            return Ok(vec![]);
        }
        let words: Vec<String> = terms.iter().map(|(t, _)| t.clone()).collect();
        let viewer_clause = format!(
            "+viewers:\"{}\"",
            viewer.replace('\\', "\\\\").replace('"', "\\\"")
        );
        for all in [true, false] {
            let lucene = format!("{viewer_clause} {}", lucene_query(&terms, all));
            let rows = self
                .rows(
                    query(&format!(
                        "CALL db.index.fulltext.queryNodes('graphfs_file_search', $q, {{limit: $candidates}})
                         YIELD node AS f, score
                         WHERE {VISIBLE}
                         WITH f, score ORDER BY score DESC, f.id LIMIT $limit
                         RETURN {FILE_PROJECTION}, score, f.text AS text"
                    ))
                    .param("q", lucene)
                    .param("viewer", viewer)
                    .param("limit", i64::try_from(limit.clamp(1, 200)).unwrap_or(20))
                    // The index already keeps to the viewer's files; the
                    // margin covers tokenizer collisions of user names.
                    .param("candidates", i64::try_from(limit.clamp(1, 200) * 5).unwrap_or(100)),
                )
                .await?;
            if rows.is_empty() {
                continue;
            }
            let mut hits = Vec::new();
            for r in &rows {
                let file = file_from(r)?;
                let text: String = r.get("text").map_err(de_err)?;
                let score: f64 = r.get("score").map_err(de_err)?;
                let snip = snippet(&text, &words);
                hits.push(SearchHit::new(file, score, &words, snip));
            }
            return Ok(hits);
        }
        Ok(vec![])
    }

    async fn neighbourhood(
        &self,
        viewer: &str,
        start: &GraphStart,
        depth: u32,
        max_nodes: usize,
    ) -> Result<GraphView> {
        let mut g = GraphBuilder::new(max_nodes);
        let mut queue = VecDeque::new();
        match start {
            GraphStart::File(id) => {
                let f = self.get_file(viewer, *id).await?;
                let nid = format!("file:{}", f.id);
                g.node(nid.clone(), NodeKind::File, f.name, Some(f.media_type));
                queue.push_back((nid, 0));
            }
            GraphStart::Tag(t) => {
                let name = normalize_tag(t).map_err(|e| Error::InvalidInput(e.to_string()))?;
                let exists = self
                    .rows(
                        query("MATCH (t:Tag {name: $tag}) RETURN t.name AS n")
                            .param("tag", name.clone()),
                    )
                    .await?;
                if exists.is_empty() {
                    return Err(Error::NotFound(format!("tag '{name}'")));
                }
                let nid = format!("tag:{name}");
                g.node(nid.clone(), NodeKind::Tag, name, None);
                queue.push_back((nid, 0));
            }
        }
        let mut expanded = HashSet::new();
        while let Some((nid, d)) = queue.pop_front() {
            if d >= depth.min(3) || !expanded.insert(nid.clone()) {
                continue;
            }
            if let Some(fid) = nid.strip_prefix("file:") {
                let rows = self
                    .rows(query("MATCH (:File {id: $id})-[r:TAGGED]->(t:Tag) RETURN t.name AS n, r.score AS s ORDER BY s DESC, n").param("id", fid))
                    .await?;
                for r in rows {
                    let name: String = r.get("n").map_err(de_err)?;
                    let s: f64 = r.get("s").map_err(de_err)?;
                    let tid = format!("tag:{name}");
                    if g.node(tid.clone(), NodeKind::Tag, name, None) {
                        g.edge(EdgeKind::Tagged, &nid, &tid, s as f32);
                        queue.push_back((tid, d + 1));
                    }
                }
                let rows = self
                    .rows(
                        query(&format!(
                            "MATCH (:File {{id: $id}})-[s:SIMILAR]-(f:File) WHERE {VISIBLE}
                             RETURN f.id AS id, f.name AS name, f.media_type AS mt, max(s.score) AS s ORDER BY s DESC LIMIT 20"
                        ))
                        .param("id", fid)
                        .param("viewer", viewer),
                    )
                    .await?;
                for r in rows {
                    let oid = format!("file:{}", r.get::<String>("id").map_err(de_err)?);
                    if g.node(
                        oid.clone(),
                        NodeKind::File,
                        r.get("name").map_err(de_err)?,
                        Some(r.get("mt").map_err(de_err)?),
                    ) {
                        g.edge(
                            EdgeKind::Similar,
                            &nid,
                            &oid,
                            r.get::<f64>("s").map_err(de_err)? as f32,
                        );
                        queue.push_back((oid, d + 1));
                    }
                }
            } else if let Some(tag) = nid.strip_prefix("tag:") {
                let rows = self
                    .rows(
                        query(&format!(
                            "MATCH (f:File)-[r:TAGGED]->(:Tag {{name: $tag}}) WHERE {VISIBLE}
                             RETURN f.id AS id, f.name AS name, f.media_type AS mt, r.score AS s
                             ORDER BY s DESC, id LIMIT {TAG_FANOUT}"
                        ))
                        .param("tag", tag)
                        .param("viewer", viewer),
                    )
                    .await?;
                for r in rows {
                    let fid = format!("file:{}", r.get::<String>("id").map_err(de_err)?);
                    if g.node(
                        fid.clone(),
                        NodeKind::File,
                        r.get("name").map_err(de_err)?,
                        Some(r.get("mt").map_err(de_err)?),
                    ) {
                        g.edge(
                            EdgeKind::Tagged,
                            &fid,
                            &nid,
                            r.get::<f64>("s").map_err(de_err)? as f32,
                        );
                        queue.push_back((fid, d + 1));
                    }
                }
                for rt in self.related(viewer, tag, COOCCUR_FANOUT as usize).await? {
                    let oid = format!("tag:{}", rt.name);
                    if g.node(oid.clone(), NodeKind::Tag, rt.name, None) {
                        g.edge(EdgeKind::CoOccurs, &nid, &oid, rt.count as f32);
                        queue.push_back((oid, d + 1));
                    }
                }
            }
        }
        Ok(g.finish())
    }

    async fn claim_job(&self, worker: &str, lease: Duration) -> Result<Option<Job>> {
        // The first SET takes the node's write lock; the re-check after it
        // sees any claim committed meanwhile, so two claims never win.
        for _ in 0..5 {
            let now = now_ms();
            let until = now + lease_ms(lease);
            let seq = new_seq();
            let candidates = self
                .rows(
                    query(
                        "MATCH (j:Job) WHERE j.due_at <= $now AND j.lease_until < $now
                         RETURN j.file_id AS id ORDER BY j.due_at, j.file_id LIMIT 1",
                    )
                    .param("now", now),
                )
                .await?;
            let Some(row) = candidates.first() else {
                return Ok(None);
            };
            let fid: String = row.get("id").map_err(de_err)?;
            let mut txn = self.graph.start_txn().await.map_err(db_err)?;
            let rows = txn_rows(
                &mut txn,
                query(
                    "MATCH (j:Job {file_id: $fid}) SET j._lock = true
                     WITH j WHERE j.due_at <= $now AND j.lease_until < $now
                     SET j.worker = $worker, j.lease_until = $until, j.attempts = j.attempts + 1, j.seq = $seq
                     REMOVE j._lock
                     WITH j MATCH (f:File {id: j.file_id}) SET f.status = 'running'
                     RETURN j.attempts AS attempts",
                )
                .param("fid", fid.clone())
                .param("now", now)
                .param("until", until)
                .param("worker", worker)
                .param("seq", seq),
            )
            .await?;
            txn.commit().await.map_err(db_err)?;
            if let Some(r) = rows.first() {
                let attempts: i64 = r.get("attempts").map_err(de_err)?;
                return Ok(Some(Job {
                    id: seq,
                    file_id: fid.parse().map_err(de_err)?,
                    attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
                    worker: worker.to_string(),
                    lease_until: DateTime::from_timestamp_millis(until).unwrap_or_default(),
                }));
            }
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

    async fn fail_job(&self, job: &Job, reason: &str, failure: JobFailure) -> Result<()> {
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
            .param("now", ts(Utc::now())),
        };
        self.graph
            .run(
                q.param("fid", job.file_id.to_string())
                    .param("seq", job.id)
                    .param("worker", job.worker.clone())
                    .param("reason", reason),
            )
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn release_job(&self, job: &Job) -> Result<()> {
        self.graph
            .run(
                query(
                    "MATCH (j:Job {file_id: $fid}) WHERE j.seq = $seq AND j.worker = $worker
                     SET j.worker = '', j.lease_until = 0, j.attempts = CASE WHEN j.attempts > 0 THEN j.attempts - 1 ELSE 0 END
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
        self.get_owned(id).await?;
        self.graph
            .run(
                query(
                    "MATCH (f:File {id: $fid})
                     MERGE (j:Job {file_id: $fid})
                     ON CREATE SET j.seq = $seq, j.attempts = 0, j.due_at = $now, j.worker = '', j.lease_until = 0, j.last_error = ''
                     ON MATCH SET j.due_at = $now, j.attempts = 0, j.last_error = ''
                     MERGE (j)-[:FOR]->(f)
                     SET f.status = CASE WHEN f.status = 'running' THEN f.status ELSE 'pending' END, f.status_reason = ''",
                )
                .param("fid", id.to_string())
                .param("seq", new_seq())
                .param("now", now_ms()),
            )
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn queue_depth(&self) -> Result<QueueDepth> {
        let rows = self
            .rows(
                query(
                    "OPTIONAL MATCH (j:Job)
                     WITH sum(CASE WHEN j IS NOT NULL AND j.lease_until < $now THEN 1 ELSE 0 END) AS pending,
                          sum(CASE WHEN j IS NOT NULL AND j.lease_until >= $now THEN 1 ELSE 0 END) AS in_flight
                     OPTIONAL MATCH (f:File {status: 'failed'})
                     RETURN pending, in_flight, count(f) AS failed",
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

    async fn corpus_stats(&self, terms: &[String]) -> Result<CorpusStats> {
        let docs = self
            .rows(query(
                "MATCH (f:File {status: 'done'}) RETURN count(f) AS n",
            ))
            .await?;
        let documents = docs
            .first()
            .map(|r| r.get::<i64>("n").unwrap_or(0))
            .unwrap_or(0);
        let rows = self
            .rows(
                query(
                    "UNWIND range(0, size($terms) - 1) AS i
                     OPTIONAL MATCH (x:Term {name: $terms[i]})
                     RETURN i, coalesce(x.df, 0) AS df ORDER BY i",
                )
                .param("terms", terms.to_vec()),
            )
            .await?;
        let mut df = vec![0u64; terms.len()];
        for r in rows {
            let i: i64 = r.get("i").map_err(de_err)?;
            if let Some(slot) = usize::try_from(i).ok().and_then(|i| df.get_mut(i)) {
                *slot = u64::try_from(r.get::<i64>("df").map_err(de_err)?).unwrap_or(0);
            }
        }
        Ok(CorpusStats {
            documents: u64::try_from(documents).unwrap_or(0),
            document_frequency: df,
        })
    }

    async fn ping(&self) -> Result<()> {
        self.rows(query("RETURN 1 AS ok")).await.map(|_| ())
    }
}

impl Neo4jGraphIndex {
    async fn related(&self, viewer: &str, tag: &str, limit: usize) -> Result<Vec<RelatedTag>> {
        let rows = self
            .rows(
                query(&format!(
                    "MATCH (:Tag {{name: $tag}})<-[:TAGGED]-(f:File)-[:TAGGED]->(b:Tag) WHERE {VISIBLE}
                     RETURN b.name AS name, count(f) AS c ORDER BY c DESC, name LIMIT $limit"
                ))
                .param("tag", tag)
                .param("viewer", viewer)
                .param("limit", i64::try_from(limit.clamp(1, 1000)).unwrap_or(20)),
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(RelatedTag {
                    name: r.get("name").map_err(de_err)?,
                    count: u64::try_from(r.get::<i64>("c").map_err(de_err)?).unwrap_or(0),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn user_text_becomes_quoted_terms_only() {
        let t = query_terms("Tax-report OR title:x \"quoted\" 机器学习");
        let words: Vec<_> = t.iter().map(|(w, _)| w.as_str()).collect();
        assert_eq!(
            words,
            vec!["tax", "report", "or", "title", "x", "quoted", "机器学习"]
        );
        let q = lucene_query(&t[..2], true);
        assert_eq!(
            q,
            "+(name_tokens:\"tax\"^10 text:\"tax\" tags_text:\"tax\"^5) +(name_tokens:report*^10 text:report* tags_text:report*^5 name_tokens:\"report\"^10 text:\"report\" tags_text:\"report\"^5)"
        );
        // Any-term fallback still needs one term to match.
        assert!(lucene_query(&t[..2], false).starts_with("+((name_tokens:\"tax\""));
        assert!(query_terms(" ;; *** ").is_empty());
    }

    #[test]
    fn snippets_bracket_the_match() {
        let s = snippet("The Calvin cycle fixes carbon.", &["calvin".into()]).unwrap();
        assert_eq!(s, "The [Calvin] cycle fixes carbon.");
        let s = snippet("我们正在研究机器学习和图数据库", &["机器学习".into()]).unwrap();
        assert!(s.contains("[机器学习]"), "{s}");
        assert!(snippet("nothing here", &["absent".into()]).is_none());
    }
}
