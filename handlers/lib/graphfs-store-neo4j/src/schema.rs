//! Constraints and indexes, created on connect.

#[allow(unused_imports)]
use super::*;

pub(super) const SCHEMA: &[&str] = &[
    "CREATE CONSTRAINT graphfs_file_id IF NOT EXISTS FOR (f:File) REQUIRE f.id IS UNIQUE",
    "CREATE CONSTRAINT graphfs_tag_name IF NOT EXISTS FOR (t:Tag) REQUIRE t.name IS UNIQUE",
    "CREATE CONSTRAINT graphfs_user_id IF NOT EXISTS FOR (u:User) REQUIRE u.id IS UNIQUE",
    "CREATE CONSTRAINT graphfs_token_hash IF NOT EXISTS FOR (k:Token) REQUIRE k.hash IS UNIQUE",
    "CREATE CONSTRAINT graphfs_job_file IF NOT EXISTS FOR (j:Job) REQUIRE j.file_id IS UNIQUE",
    "CREATE CONSTRAINT graphfs_file_object_key IF NOT EXISTS FOR (f:File) REQUIRE f.object_key IS UNIQUE",
    // Versions (versions.rs): each earlier content keeps its own object.
    "CREATE CONSTRAINT graphfs_version_object_key IF NOT EXISTS FOR (v:Version) REQUIRE v.object_key IS UNIQUE",
    // Tags an owner rejected for good (TagStore::set_rejected).
    "CREATE CONSTRAINT graphfs_rejection IF NOT EXISTS FOR (x:Rejection) REQUIRE (x.owner, x.name) IS UNIQUE",
    "CREATE CONSTRAINT graphfs_drive_locks IF NOT EXISTS FOR (d:DriveLocks) REQUIRE d.owner IS UNIQUE",
    // The drive's dead properties (props.rs): one document per resource.
    "CREATE CONSTRAINT graphfs_drive_props IF NOT EXISTS FOR (d:DriveProps) REQUIRE (d.owner, d.path) IS UNIQUE",
    // The imported taxonomy (taxonomy.rs): one node.
    "CREATE CONSTRAINT graphfs_taxonomy IF NOT EXISTS FOR (t:Taxonomy) REQUIRE t.key IS UNIQUE",
    "CREATE CONSTRAINT graphfs_lease_name IF NOT EXISTS FOR (l:GraphfsLease) REQUIRE l.name IS UNIQUE",
    // Tag counts per owner (vocabulary::count_tag_use), read by owner and
    // dropped by name; their constraint is made by `count_tag_uses`.
    "CREATE INDEX graphfs_tag_use_owner IF NOT EXISTS FOR (u:TagUse) ON (u.owner)",
    "CREATE INDEX graphfs_tag_use_name IF NOT EXISTS FOR (u:TagUse) ON (u.name)",
    "CREATE INDEX graphfs_file_owner_created IF NOT EXISTS FOR (f:File) ON (f.owner, f.created_at)",
    // With `(owner, created_at)`, a listing walks an owner's files in its
    // order, whichever key it sorts by (listing.rs).
    "CREATE INDEX graphfs_file_owner_name IF NOT EXISTS FOR (f:File) ON (f.owner, f.name)",
    "CREATE INDEX graphfs_file_owner_size IF NOT EXISTS FOR (f:File) ON (f.owner, f.size)",
    "CREATE INDEX graphfs_file_status IF NOT EXISTS FOR (f:File) ON (f.status)",
    // Listings by name prefix (`STARTS WITH`).
    "CREATE INDEX graphfs_file_name_prefix IF NOT EXISTS FOR (f:File) ON (f.name)",
    // Claims go in turn order (queue::NEXT_TURN).
    "CREATE INDEX graphfs_job_turn IF NOT EXISTS FOR (j:Job) ON (j.vtag)",
    // An owner's next turn follows their latest job queued. The per-owner
    // turn counters this replaced go (their nodes: MIGRATIONS).
    "CREATE INDEX graphfs_job_owner_turn IF NOT EXISTS FOR (j:Job) ON (j.owner, j.vtag)",
    // The queue's depth counts the jobs held (a few per tagger) here and
    // every job from the count store: counting due and held jobs by
    // reading each took 71 ms a call with 27,000 queued (docs/performance.md).
    "CREATE INDEX graphfs_job_lease IF NOT EXISTS FOR (j:Job) ON (j.lease_until)",
    "DROP CONSTRAINT graphfs_queue_turn IF EXISTS",
    "DROP INDEX graphfs_queue_turn_last IF EXISTS",
    // Folders (folders.rs): one node per folder of each owner, the root left
    // out.
    "CREATE CONSTRAINT graphfs_folder IF NOT EXISTS FOR (d:Folder) REQUIRE (d.owner, d.path) IS UNIQUE",
    // `viewers` (owner and users shared with) lets Lucene keep to the
    // viewer's files before ranking, instead of ranking everyone's.
    // Eventually consistent: Lucene takes a commit's changes in a background
    // batch, where a synchronous update made each write that touched it
    // (every upload, every tagging) wait about 13 ms. Searches first wait
    // for the changes committed before them (search.rs), so they still see
    // every earlier write. It replaced `graphfs_file_search`, a synchronous
    // index over the same fields, which goes first: Neo4j keeps one
    // full-text index per set of fields.
    "DROP INDEX graphfs_file_search IF EXISTS",
    "CREATE FULLTEXT INDEX graphfs_file_text IF NOT EXISTS FOR (f:File) ON EACH [f.name_tokens, f.text, f.tags_text, f.viewers] \
     OPTIONS {indexConfig: {`fulltext.eventually_consistent`: true}}",
    // Claims read jobs in turn order (`graphfs_job_turn`); nothing looks
    // jobs up by due time, and each queued, retried and finished job
    // wrote to this index.
    "DROP INDEX graphfs_job_due IF EXISTS",
];

/// The vector index over file embeddings, for vectors of `dimensions`
/// values: created when an embedding model is recorded, rebuilt when it
/// changes ([`Similarity::use_embedding_model`]).
pub(super) fn vector_index(dimensions: usize) -> String {
    format!(
        "CREATE VECTOR INDEX graphfs_file_embedding IF NOT EXISTS FOR (f:File) ON (f.embedding) \
         OPTIONS {{indexConfig: {{`vector.dimensions`: {dimensions}, `vector.similarity_function`: 'cosine'}}}}"
    )
}

/// Whether the constraint `name` exists: the mark a once-per-store
/// migration leaves.
async fn constraint_exists(index: &Neo4jGraphIndex, name: &str) -> Result<bool> {
    let rows = index
        .rows(
            query("SHOW CONSTRAINTS YIELD name WHERE name = $name RETURN name").param("name", name),
        )
        .await?;
    Ok(!rows.is_empty())
}

/// Changes to the data of a store from before, each run once per store:
/// every one reads all nodes of a kind (a million files at a time), so a
/// `GraphfsMigration` node records it done and later starts skip it.
/// Replicas starting together may both run one; each is idempotent.
pub(super) const MIGRATIONS: &[(&str, &[&str])] = &[
    (
        // Jobs queued before turns existed take turn 0 and learn their
        // owner from their file; the per-owner turn counters go.
        "job-turns",
        &[
            "MATCH (j:Job) WHERE j.vtag IS NULL SET j.vtag = 0",
            "MATCH (j:Job)-[:FOR]->(f:File) WHERE j.owner IS NULL SET j.owner = f.owner",
            "MATCH (t:QueueTurn) DELETE t",
        ],
    ),
    (
        // Tags with aliases carry the label `Aliased` (tags::canonical_names
        // looks through those alone); those merged before it get it.
        "aliased-tags",
        &["MATCH (t:Tag) WHERE size(coalesce(t.aliases, [])) > 0 AND NOT t:Aliased SET t:Aliased"],
    ),
    (
        // Installation-wide `CO_OCCURS` counts between tags went: nothing
        // read them (related tags and the graph count only the viewer's
        // files), and each tagging counted again the files of every pair
        // of its tags.
        "co-occurrence-edges",
        &["MATCH ()-[c:CO_OCCURS]->() CALL { WITH c DELETE c } IN TRANSACTIONS OF 10000 ROWS"],
    ),
    (
        // Files from before folders are in the root.
        "files-in-folders",
        &[
            "MATCH (f:File) WHERE f.folder IS NULL CALL { WITH f SET f.folder = '/' } IN TRANSACTIONS OF 10000 ROWS",
        ],
    ),
];

/// Runs what of [`MIGRATIONS`] this store has not had, in order.
pub(super) async fn run_migrations(index: &Neo4jGraphIndex) -> Result<()> {
    for (name, statements) in MIGRATIONS {
        migrate_once(index, name, statements).await?;
    }
    Ok(())
}

/// Runs `statements` unless a `GraphfsMigration` node named `name` says
/// this store had them, and then makes that node.
async fn migrate_once(index: &Neo4jGraphIndex, name: &str, statements: &[&str]) -> Result<()> {
    let done = index
        .rows(
            query("MATCH (m:GraphfsMigration {name: $name}) RETURN m.name AS name LIMIT 1")
                .param("name", name),
        )
        .await?;
    if !done.is_empty() {
        return Ok(());
    }
    tracing::info!(migration = name, "migrating the graph");
    for stmt in statements {
        index.graph.run(query(stmt)).await.map_err(db_err)?;
    }
    index
        .graph
        .run(query("MERGE (:GraphfsMigration {name: $name})").param("name", name))
        .await
        .map_err(db_err)
}

/// Makes the constraint that marks a migration done, before the migration
/// runs, so replicas starting together run it once: false when another
/// replica made it a moment ago (that one migrates).
async fn make_marker_constraint(index: &Neo4jGraphIndex, create: &str) -> Result<bool> {
    match index.graph.run(query(create)).await {
        Ok(_) => Ok(true),
        Err(neo4rs::Error::Neo4j(e)) if e.code().contains("AlreadyExists") => Ok(false),
        Err(e) => Err(db_err(e)),
    }
}

/// Runs schema statements in order; one another replica starting at the
/// same moment made first is not an error.
pub(super) async fn run_schema(index: &Neo4jGraphIndex, statements: &[&str]) -> Result<()> {
    for stmt in statements {
        match index.graph.run(query(stmt)).await {
            Ok(_) => {}
            // `IF NOT EXISTS` does not cover the race; this does.
            Err(neo4rs::Error::Neo4j(e)) if e.code().contains("AlreadyExists") => {}
            Err(e) => return Err(db_err(e)),
        }
    }
    Ok(())
}

/// Each tagged file's recorded terms and its owner (`terms_owner`, set
/// with the terms), each a whole token: the taggers find an owner's files
/// with a term through it (`Vocabulary::files_with_term`). Eventually
/// consistent like `graphfs_file_text`, so a tagging's write does not wait
/// for Lucene. It replaced `graphfs_file_terms`, over `owner` itself, which
/// put every upload in it before the file had a term; files tagged before
/// get their `terms_owner` first. The index is made last, so once it is
/// there the store is migrated and a start does not read every file again.
pub(super) async fn index_tagged_terms(index: &Neo4jGraphIndex) -> Result<()> {
    let made = index
        .rows(query(
            "SHOW INDEXES YIELD name WHERE name = 'graphfs_tagged_terms' RETURN name",
        ))
        .await?;
    if !made.is_empty() {
        return Ok(());
    }
    run_schema(
        index,
        &[
            "DROP INDEX graphfs_file_terms IF EXISTS",
            "MATCH (f:File) WHERE size(coalesce(f.terms, [])) > 0 AND f.terms_owner IS NULL
             CALL { WITH f SET f.terms_owner = f.owner } IN TRANSACTIONS OF 10000 ROWS",
            "CREATE FULLTEXT INDEX graphfs_tagged_terms IF NOT EXISTS FOR (f:File) ON EACH [f.terms, f.terms_owner] \
             OPTIONS {indexConfig: {`fulltext.analyzer`: 'keyword', `fulltext.eventually_consistent`: true}}",
        ],
    )
    .await
}

/// The constraint that keeps file names unique within a folder of an
/// owner. Names became unique after files existed, so before it is made
/// the later files of a name one folder holds twice get their id in it
/// ([`name_with_id`]), and the plain index it replaces is dropped. Runs
/// once per store: it returns at once when the constraint is there.
pub(super) async fn require_unique_names(index: &Neo4jGraphIndex) -> Result<()> {
    if constraint_exists(index, "graphfs_file_name").await? {
        return Ok(());
    }
    let shared = index
        .rows(query(
            "MATCH (f:File) WHERE f.name IS NOT NULL
             WITH f ORDER BY f.created_at, f.id
             WITH f.owner AS owner, f.folder AS folder, f.name AS name, collect(f.id) AS ids
             WHERE size(ids) > 1
             UNWIND tail(ids) AS id RETURN id, name",
        ))
        .await?;
    for row in shared {
        let id: String = row.get("id").map_err(de_err)?;
        let name: String = row.get("name").map_err(de_err)?;
        let renamed = name_with_id(&name, &id);
        tracing::warn!(%id, %name, %renamed, "renaming a file whose name another file in its folder had first");
        index
            .graph
            .run(
                query("MATCH (f:File {id: $id}) SET f.name = $name, f.name_tokens = $tokens")
                    .param("id", id)
                    .param("tokens", name_tokens(&renamed))
                    .param("name", renamed),
            )
            .await
            .map_err(db_err)?;
    }
    // Replicas starting together race to make it: `run_schema` lets them.
    run_schema(
        index,
        &[
            "DROP INDEX graphfs_file_folder IF EXISTS",
            "CREATE CONSTRAINT graphfs_file_name IF NOT EXISTS FOR (f:File) REQUIRE (f.owner, f.folder, f.name) IS UNIQUE",
        ],
    )
    .await
}

/// Corpus statistics are counted per owner (`vocabulary::Counts`).
/// A store from before counted each term once for the whole installation,
/// under the constraint `graphfs_term_name`: those counts are dropped and
/// each owner's are counted again from the terms the files recorded. Runs
/// once per store: it returns at once when the owner constraint is there.
///
/// The constraint is made first, so replicas starting together count once.
/// A tagging finished while the counting runs may leave a term off by one,
/// which only nudges a keyword's weight.
pub(super) async fn count_terms_per_owner(index: &Neo4jGraphIndex) -> Result<()> {
    if constraint_exists(index, "graphfs_term_owner").await? {
        return Ok(());
    }
    index
        .graph
        .run(query("DROP CONSTRAINT graphfs_term_name IF EXISTS"))
        .await
        .map_err(db_err)?;
    if !make_marker_constraint(
        index,
        "CREATE CONSTRAINT graphfs_term_owner FOR (t:Term) REQUIRE (t.owner, t.name) IS UNIQUE",
    )
    .await?
    {
        return Ok(());
    }
    tracing::info!("counting each owner's corpus statistics");
    for stmt in [
        "MATCH (x:Term) WHERE x.owner IS NULL CALL { WITH x DELETE x } IN TRANSACTIONS OF 10000 ROWS",
        "MATCH (f:File) WHERE size(coalesce(f.terms, [])) > 0
         CALL { WITH f UNWIND f.terms + [''] AS t
                MERGE (x:Term {owner: f.owner, name: t}) SET x.df = coalesce(x.df, 0) + 1 }
         IN TRANSACTIONS OF 1000 ROWS",
    ] {
        index.graph.run(query(stmt)).await.map_err(db_err)?;
    }
    Ok(())
}

/// Tag counts are kept per owner (`vocabulary::count_tag_use`). A store
/// from before has only the edges: each owner's counts are made from them
/// once. As with the term counts, the constraint is made first and marks
/// the store as counted, so replicas starting together count once; a
/// tagging that finishes while the counting runs may leave one count off
/// by one until that tag next changes on that file.
pub(super) async fn count_tag_uses(index: &Neo4jGraphIndex) -> Result<()> {
    if constraint_exists(index, "graphfs_tag_use").await? {
        return Ok(());
    }
    if !make_marker_constraint(
        index,
        "CREATE CONSTRAINT graphfs_tag_use FOR (u:TagUse) REQUIRE (u.owner, u.name, u.source) IS UNIQUE",
    )
    .await?
    {
        return Ok(());
    }
    tracing::info!("counting each owner's tagged files per tag");
    index
        .graph
        .run(query(
            "MATCH (f:File)-[r:TAGGED]->(t:Tag)
             WITH f.owner AS owner, t.name AS name, coalesce(r.source, '') AS source, count(*) AS n
             MERGE (u:TagUse {owner: owner, name: name, source: source}) SET u.n = n",
        ))
        .await
        .map_err(db_err)?;
    Ok(())
}

/// Files shared with a user are linked to that user (`SHARED_WITH`), so a
/// listing reads the files shared with a viewer without reading every file.
/// A store from before has only the `shared_with` lists: the links are made
/// from them once, and a `GraphfsMigration` node records that. Replicas
/// starting together may both link; `MERGE` makes that harmless.
pub(super) async fn link_shared_files(index: &Neo4jGraphIndex) -> Result<()> {
    migrate_once(
        index,
        "shared-links",
        &["MATCH (f:File) WHERE size(coalesce(f.shared_with, [])) > 0
           CALL { WITH f UNWIND f.shared_with AS uid MATCH (u:User {id: uid}) MERGE (f)-[:SHARED_WITH]->(u) }
           IN TRANSACTIONS OF 1000 ROWS"],
    )
    .await
}
