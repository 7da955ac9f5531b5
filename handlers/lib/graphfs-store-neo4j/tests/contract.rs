//! The Neo4j graph index against a real Neo4j 5 on loopback.

use std::sync::Arc;

use graphfs_domain::{
    Error, FileCatalog, FileId, Folders, GraphIndex, Job, JobQueue, ProposedTag, TagSource,
    TaggingOutcome, Vocabulary, contract, name_with_id,
};
use graphfs_e2e::servers::ExternalServer;
use graphfs_store_neo4j::{Neo4jConfig, Neo4jGraphIndex};

fn config(neo4j: &ExternalServer) -> Neo4jConfig {
    Neo4jConfig {
        uri: neo4j.get("GRAPHFS_NEO4J_URI").to_string(),
        user: neo4j.get("GRAPHFS_NEO4J_USER").to_string(),
        password: neo4j.get("GRAPHFS_NEO4J_PASSWORD").to_string(),
        max_connections: 8,
        timeout: std::time::Duration::from_secs(30),
    }
}

/// A plain connection, for writing a store as an earlier GraphFS left it
/// and reading back what connecting made of it.
fn raw_graph(neo4j: &ExternalServer) -> neo4rs::Graph {
    let cfg = config(neo4j);
    neo4rs::Graph::new(&cfg.uri, &cfg.user, &cfg.password).unwrap()
}

#[tokio::test]
async fn neo4j_index_meets_the_contract() {
    let mut neo4j = ExternalServer::start("neo4j").unwrap();
    let index = Arc::new(Neo4jGraphIndex::connect(config(&neo4j)).await.unwrap());
    contract::graph_index(index.clone()).await;

    // Schema creation is idempotent: connecting again changes nothing.
    Neo4jGraphIndex::connect(config(&neo4j)).await.unwrap();

    a_store_from_before_unique_names_is_migrated(&neo4j, index.as_ref()).await;
    a_store_from_before_owner_term_counts_is_recounted(&neo4j, index.as_ref()).await;
    a_store_from_before_the_terms_index_finds_files_by_term(&neo4j, index.as_ref()).await;
    a_store_from_before_loses_its_co_occurrence_edges(&neo4j, index.as_ref()).await;
    a_store_from_before_shared_links_lists_its_shared_files(&neo4j, index.as_ref()).await;
    a_store_from_before_tag_counts_is_counted(&neo4j, index.as_ref()).await;
    a_store_from_before_owned_jobs_keeps_each_owners_order(&neo4j, index.as_ref()).await;
    a_store_from_before_aliased_tags_still_resolves_merged_names(&neo4j, index.as_ref()).await;
    a_viewer_who_owns_most_of_the_store_sees_only_what_they_may(&neo4j, index.as_ref()).await;
    new_files_are_committed_together_or_each_alone(&neo4j, index.as_ref()).await;
    tagging_outcomes_committed_together_count_once_each(&neo4j, index.as_ref()).await;

    // An outage is `Unavailable`, and the index recovers when Neo4j is back.
    neo4j.stop().unwrap();
    let err = index.ping().await.unwrap_err();
    assert!(
        matches!(err, graphfs_domain::Error::Unavailable { .. }),
        "{err:?}"
    );
    neo4j.resume().unwrap();
    let mut ok = false;
    for _ in 0..50 {
        if index.ping().await.is_ok() {
            ok = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(ok, "index did not reconnect after Neo4j came back");
}

/// A store from before names were unique within a folder: two files share
/// a name, under the plain index and the synchronous full-text index of
/// then. Connecting renames the later file, keeps the earlier one, and
/// replaces both indexes.
async fn a_store_from_before_unique_names_is_migrated(
    neo4j: &ExternalServer,
    index: &Neo4jGraphIndex,
) {
    let raw = raw_graph(neo4j);
    let (first, later) = (FileId::new(), FileId::new());
    for stmt in [
        "DROP CONSTRAINT graphfs_file_name",
        "DROP INDEX graphfs_file_text",
        "CREATE INDEX graphfs_file_folder FOR (f:File) ON (f.owner, f.folder, f.name)",
        "CREATE FULLTEXT INDEX graphfs_file_search FOR (f:File) ON EACH [f.name_tokens, f.text, f.tags_text, f.viewers]",
    ] {
        raw.run(neo4rs::query(stmt)).await.unwrap();
    }
    for (id, at) in [
        (first, "2020-01-01T00:00:00.000000Z"),
        (later, "2021-01-01T00:00:00.000000Z"),
    ] {
        raw.run(
            neo4rs::query(
                "MERGE (u:User {id: 'legacy'}) CREATE (u)-[:OWNS]->(:File {id: $id, owner: 'legacy', name: 'a.txt',
                 folder: '/', name_tokens: ['a', 'txt'], size: 1, sha256: '', media_type: 'text/plain',
                 created_at: $at, updated_at: $at, status: 'done', status_reason: '', metadata: '{}',
                 text: '', tags_text: '', shared_with: [], terms: [], object_key: $id, viewers: 'legacy'})",
            )
            .param("id", id.to_string())
            .param("at", at),
        )
        .await
        .unwrap();
    }

    Neo4jGraphIndex::connect(config(neo4j)).await.unwrap();
    let name = |id| async move { index.get_file_internal(id).await.unwrap().name };
    assert_eq!(name(first).await, "a.txt");
    assert_eq!(name(later).await, name_with_id("a.txt", &later.to_string()));
    let names = index_names(&raw).await;
    for gone in ["graphfs_file_folder", "graphfs_file_search"] {
        assert!(
            !names.iter().any(|n| n == gone),
            "{gone} is still there: {names:?}"
        );
    }
    for made in ["graphfs_file_name", "graphfs_file_text"] {
        assert!(
            names.iter().any(|n| n == made),
            "{made} is missing: {names:?}"
        );
    }
}

/// A store from before corpus statistics were kept per owner: one global
/// `Term` per word under `graphfs_term_name`. Connecting drops those counts
/// and counts each owner's again from the terms their files recorded.
async fn a_store_from_before_owner_term_counts_is_recounted(
    neo4j: &ExternalServer,
    index: &Neo4jGraphIndex,
) {
    use graphfs_domain::Vocabulary;
    let raw = raw_graph(neo4j);
    let owner = format!("terms-{}", FileId::new());
    for stmt in [
        "DROP CONSTRAINT graphfs_term_owner",
        "MATCH (x:Term) DELETE x",
        "CREATE CONSTRAINT graphfs_term_name FOR (t:Term) REQUIRE t.name IS UNIQUE",
        "CREATE (:Term {name: 'legacyword', df: 7}), (:Term {name: 'shared', df: 9})",
    ] {
        raw.run(neo4rs::query(stmt)).await.unwrap();
    }
    for terms in [vec!["legacyword", "shared"], vec!["shared"], vec![]] {
        file_from_before(&raw, &owner, &terms, &[]).await;
    }

    Neo4jGraphIndex::connect(config(neo4j)).await.unwrap();
    let stats = index
        .corpus_stats(&owner, &["legacyword".into(), "shared".into()])
        .await
        .unwrap();
    assert_eq!(
        (stats.documents, &stats.document_frequency[..]),
        (2, &[1, 2][..])
    );
    let mut rows = raw
        .execute(neo4rs::query(
            "MATCH (x:Term) WHERE x.owner IS NULL RETURN count(x) AS n",
        ))
        .await
        .unwrap();
    let left: i64 = rows.next().await.unwrap().unwrap().get("n").unwrap();
    assert_eq!(left, 0, "the installation-wide counts are gone");
    // Connecting again finds the counts made and counts nothing twice.
    Neo4jGraphIndex::connect(config(neo4j)).await.unwrap();
    let again = index
        .corpus_stats(&owner, &["legacyword".into(), "shared".into()])
        .await
        .unwrap();
    assert_eq!(again, stats);
}

/// A store from before `graphfs_tagged_terms`: files whose terms were
/// recorded with no copy of their owner beside them, and the index that
/// was over every file's owner. Connecting drops that one, makes the new
/// index from what is stored, and a term's files are found through it,
/// each owner's apart.
async fn a_store_from_before_the_terms_index_finds_files_by_term(
    neo4j: &ExternalServer,
    index: &Neo4jGraphIndex,
) {
    use graphfs_domain::Vocabulary;
    let raw = raw_graph(neo4j);
    raw.run(neo4rs::query("DROP INDEX graphfs_tagged_terms"))
        .await
        .unwrap();
    raw.run(neo4rs::query(
        "CREATE FULLTEXT INDEX graphfs_file_terms FOR (f:File) ON EACH [f.terms, f.owner] \
         OPTIONS {indexConfig: {`fulltext.analyzer`: 'keyword', `fulltext.eventually_consistent`: true}}",
    ))
    .await
    .unwrap();
    raw.run(neo4rs::query(
        "CREATE INDEX graphfs_job_due FOR (j:Job) ON (j.due_at)",
    ))
    .await
    .unwrap();
    let (owner, other) = (
        format!("term-index-{}", FileId::new()),
        format!("term-index-other-{}", FileId::new()),
    );
    // A term with Lucene's syntax in it is still one whole term.
    let odd = r#"candidate-key:say "hi" \ (now)"#;
    let with_odd = file_from_before(&raw, &owner, &["river", odd], &[]).await;
    let mut both = vec![
        with_odd.clone(),
        file_from_before(&raw, &owner, &["river"], &[]).await,
    ];
    file_from_before(&raw, &owner, &["riverbank"], &[]).await;
    file_from_before(&raw, &other, &["river"], &[]).await;

    Neo4jGraphIndex::connect(config(neo4j)).await.unwrap();
    both.sort();
    let found = |term: &'static str, limit: usize| {
        let owner = owner.clone();
        async move {
            let ids = index.files_with_term(&owner, term, limit).await.unwrap();
            ids.iter().map(ToString::to_string).collect::<Vec<_>>()
        }
    };
    assert_eq!(found("river", 10).await, both);
    assert_eq!(found("river", 1).await, both[..1]);
    assert_eq!(found(odd, 10).await, vec![with_odd]);
    assert!(found("rive", 10).await.is_empty(), "terms match whole");
    let names = index_names(&raw).await;
    for gone in ["graphfs_file_terms", "graphfs_job_due"] {
        assert!(
            !names.iter().any(|n| n == gone),
            "{gone} is still there: {names:?}"
        );
    }
}

/// A store from before co-occurrence was counted only when read: tags
/// linked by installation-wide `CO_OCCURS` counts. Connecting deletes the
/// edges, and a tagging or a deletion makes none; related tags still count
/// the viewer's files.
async fn a_store_from_before_loses_its_co_occurrence_edges(
    neo4j: &ExternalServer,
    index: &Neo4jGraphIndex,
) {
    use graphfs_domain::{FileChange, TagStore};
    let raw = raw_graph(neo4j);
    let owner = format!("co-occurs-{}", FileId::new());
    let (a, b) = (format!("alpha-{owner}"), format!("beta-{owner}"));
    let id = file_from_before(&raw, &owner, &[], &[&a, &b]).await;
    raw.run(
        neo4rs::query(
            "MATCH (a:Tag {name: $a}), (b:Tag {name: $b}) CREATE (a)-[:CO_OCCURS {count: 1}]->(b)",
        )
        .param("a", a.clone())
        .param("b", b.clone()),
    )
    .await
    .unwrap();
    let edges = || async {
        let mut rows = raw
            .execute(neo4rs::query(
                "MATCH ()-[c:CO_OCCURS]->() RETURN count(c) AS n",
            ))
            .await
            .unwrap();
        rows.next().await.unwrap().unwrap().get::<i64>("n").unwrap()
    };
    assert_eq!(edges().await, 1);

    forget_migrations(&raw).await;
    Neo4jGraphIndex::connect(config(neo4j)).await.unwrap();
    assert_eq!(edges().await, 0, "connecting deletes the old counts");
    // Once per store: a start after that does not read every edge again.
    let stray = || {
        raw.run(
            neo4rs::query(
                "MATCH (a:Tag {name: $a}), (b:Tag {name: $b}) CREATE (a)-[:CO_OCCURS {count: 1}]->(b)",
            )
            .param("a", a.clone())
            .param("b", b.clone()),
        )
    };
    stray().await.unwrap();
    Neo4jGraphIndex::connect(config(neo4j)).await.unwrap();
    assert_eq!(edges().await, 1, "a migrated store is not migrated again");
    raw.run(neo4rs::query("MATCH ()-[c:CO_OCCURS]->() DELETE c"))
        .await
        .unwrap();
    let file: FileId = id.parse().unwrap();
    let c = format!("gamma-{owner}");
    index
        .update_file(&owner, file, &FileChange::add_tag(&c).unwrap())
        .await
        .unwrap();
    assert_eq!(edges().await, 0, "a tag change makes none");
    let related = index.related_tags(&owner, &a, 10).await.unwrap();
    let mut names: Vec<_> = related.iter().map(|t| (t.name.clone(), t.count)).collect();
    names.sort();
    assert_eq!(names, vec![(b, 1), (c, 1)]);
    index.delete_file(&owner, file).await.unwrap();
    assert_eq!(edges().await, 0);
}

/// A store from before files shared with a user were linked to that user:
/// a file shared through its `shared_with` list only. Connecting links it,
/// so that the viewer's listing shows it, and does so once.
async fn a_store_from_before_shared_links_lists_its_shared_files(
    neo4j: &ExternalServer,
    index: &Neo4jGraphIndex,
) {
    use graphfs_domain::{FileCatalog, FileQuery};
    let raw = raw_graph(neo4j);
    let (owner, viewer) = (
        format!("sharer-{}", FileId::new()),
        format!("viewer-{}", FileId::new()),
    );
    let id = FileId::new().to_string();
    forget_migrations(&raw).await;
    raw.run(
        neo4rs::query(
            "MERGE (:User {id: $viewer})
             MERGE (u:User {id: $owner}) CREATE (u)-[:OWNS]->(:File {id: $id, owner: $owner, name: 'old-share.txt',
             folder: '/', name_tokens: [], size: 1, sha256: '', media_type: 'text/plain',
             created_at: '2020-01-01T00:00:00.000000Z', updated_at: '2020-01-01T00:00:00.000000Z',
             status: 'done', status_reason: '', metadata: '{}', text: '', tags_text: '',
             shared_with: [$viewer], terms: [], object_key: $id, viewers: $owner + ' ' + $viewer})",
        )
        .param("owner", owner.as_str())
        .param("viewer", viewer.as_str())
        .param("id", id.as_str()),
    )
    .await
    .unwrap();
    let listed = || async {
        index
            .list_files(
                &viewer,
                &FileQuery {
                    limit: 10,
                    ..FileQuery::default()
                },
            )
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|f| f.id.to_string())
            .collect::<Vec<_>>()
    };
    assert!(listed().await.is_empty(), "not linked before the migration");
    Neo4jGraphIndex::connect(config(neo4j)).await.unwrap();
    assert_eq!(listed().await, vec![id.clone()]);
    Neo4jGraphIndex::connect(config(neo4j)).await.unwrap();
    let mut rows = raw
        .execute(
            neo4rs::query("MATCH (:File {id: $id})-[s:SHARED_WITH]->() RETURN count(s) AS n")
                .param("id", id.as_str()),
        )
        .await
        .unwrap();
    let links: i64 = rows.next().await.unwrap().unwrap().get("n").unwrap();
    assert_eq!(links, 1, "one link, however often it connects");
}

/// A store from before tags were counted per owner: tagged files, no
/// counts. Connecting counts them once, so the tag list and the vocabulary
/// show them; connecting again counts nothing twice.
async fn a_store_from_before_tag_counts_is_counted(
    neo4j: &ExternalServer,
    index: &Neo4jGraphIndex,
) {
    use graphfs_domain::{TagStore, Vocabulary};
    let raw = raw_graph(neo4j);
    let owner = format!("counts-{}", FileId::new());
    let (common, rare) = (format!("common-{owner}"), format!("rare-{owner}"));
    raw.run(neo4rs::query("DROP CONSTRAINT graphfs_tag_use"))
        .await
        .unwrap();
    raw.run(neo4rs::query("MATCH (u:TagUse) DELETE u"))
        .await
        .unwrap();
    for tags in [vec![common.as_str(), rare.as_str()], vec![common.as_str()]] {
        file_from_before(&raw, &owner, &[], &tags).await;
    }
    let counted = || async {
        let listed = index.list_tags(&owner, None, 10).await.unwrap();
        let vocab = index.vocabulary(Some(&owner), 10).await.unwrap();
        let pairs = |tags: Vec<graphfs_domain::TagInfo>| {
            tags.into_iter()
                .map(|t| (t.name, t.count))
                .collect::<Vec<_>>()
        };
        (pairs(listed), pairs(vocab))
    };
    assert!(
        counted().await.0.is_empty(),
        "not counted before the migration"
    );

    Neo4jGraphIndex::connect(config(neo4j)).await.unwrap();
    let want = vec![(common.clone(), 2), (rare.clone(), 1)];
    assert_eq!(counted().await, (want.clone(), want.clone()));
    Neo4jGraphIndex::connect(config(neo4j)).await.unwrap();
    assert_eq!(counted().await, (want.clone(), want));
}

/// A store from before jobs knew their owner, when each owner's latest
/// turn was a counter node: a job waits in a late turn. Connecting gives
/// the job its owner and drops the counters, and the owner's next file is
/// queued after that job, as the counter would have placed it.
async fn a_store_from_before_owned_jobs_keeps_each_owners_order(
    neo4j: &ExternalServer,
    index: &Neo4jGraphIndex,
) {
    let raw = raw_graph(neo4j);
    let owner = format!("turns-{}", FileId::new());
    let waiting = file_from_before(&raw, &owner, &[], &[]).await;
    raw.run(
        neo4rs::query(
            "MATCH (f:File {id: $id})
             CREATE (:Job {file_id: $id, seq: 1, attempts: 0, due_at: 0, worker: '', lease_until: 0,
                 last_error: '', vtag: 1000000})-[:FOR]->(f)
             MERGE (:QueueTurn {owner: $owner, last: 1000000})",
        )
        .param("id", waiting.clone())
        .param("owner", owner.clone()),
    )
    .await
    .unwrap();
    let one = |q: &'static str, id: String| {
        let raw = raw.clone();
        async move {
            let mut rows = raw.execute(neo4rs::query(q).param("id", id)).await.unwrap();
            let row = rows.next().await.unwrap().expect("a row");
            row.get::<neo4rs::BoltType>("v").unwrap()
        }
    };

    forget_migrations(&raw).await;
    Neo4jGraphIndex::connect(config(neo4j)).await.unwrap();
    assert_eq!(
        one(
            "MATCH (j:Job {file_id: $id}) RETURN j.owner AS v",
            waiting.clone()
        )
        .await,
        neo4rs::BoltType::from(owner.as_str()),
        "the waiting job learnt its owner"
    );
    assert_eq!(
        one("MATCH (t:QueueTurn) RETURN count(t) AS v", String::new()).await,
        neo4rs::BoltType::from(0_i64),
        "the turn counters are gone"
    );
    let next = index
        .create_file(contract::new_text_file(&owner, "/", "next.txt"))
        .await
        .unwrap();
    let turn = |id: String| one("MATCH (j:Job {file_id: $id}) RETURN j.vtag AS v", id);
    let (before, after) = (turn(waiting.clone()).await, turn(next.id.to_string()).await);
    let (neo4rs::BoltType::Integer(before), neo4rs::BoltType::Integer(after)) = (before, after)
    else {
        panic!("turns are integers");
    };
    assert!(
        after.value > before.value,
        "the new file's turn {} comes after the waiting job's {}",
        after.value,
        before.value
    );
    raw.run(
        neo4rs::query("MATCH (j:Job) WHERE j.file_id IN $ids DETACH DELETE j")
            .param("ids", vec![waiting, next.id.to_string()]),
    )
    .await
    .unwrap();
}

/// A store from before tags with aliases were labelled: a tag that a merge
/// gave an alias. Connecting labels it, so the old name still resolves to
/// it: a user's tag of the old name lands on the kept tag.
async fn a_store_from_before_aliased_tags_still_resolves_merged_names(
    neo4j: &ExternalServer,
    index: &Neo4jGraphIndex,
) {
    use graphfs_domain::FileChange;
    let raw = raw_graph(neo4j);
    let owner = format!("aliases-{}", FileId::new());
    let (old, kept) = (format!("old-{owner}"), format!("kept-{owner}"));
    let id: FileId = file_from_before(&raw, &owner, &[], &[])
        .await
        .parse()
        .unwrap();
    raw.run(
        neo4rs::query("CREATE (:Tag {name: $kept, aliases: [$old]})")
            .param("kept", kept.clone())
            .param("old", old.clone()),
    )
    .await
    .unwrap();

    forget_migrations(&raw).await;
    Neo4jGraphIndex::connect(config(neo4j)).await.unwrap();
    let file = index
        .update_file(&owner, id, &FileChange::add_tag(&old).unwrap())
        .await
        .unwrap();
    let names: Vec<String> = file.tags.into_iter().map(|t| t.name).collect();
    assert_eq!(names, vec![kept], "the old name is the kept tag's alias");
}

/// A viewer who owns most of the store is searched without the viewer term
/// (search.rs: the index ranks everyone's files, theirs are kept). Another
/// owner's files that rank first stay out; when too few of those ranked are
/// theirs, their own still come, best first; a file shared with them is
/// found like their own.
async fn a_viewer_who_owns_most_of_the_store_sees_only_what_they_may(
    neo4j: &ExternalServer,
    index: &Neo4jGraphIndex,
) {
    use graphfs_domain::TextSearch;
    let raw = raw_graph(neo4j);
    let tail = FileId::new().to_string();
    let (most, other) = (format!("most-{tail}"), format!("other-{tail}"));
    let word = format!("zo{}", &tail[..8]);
    let mut total = raw
        .execute(neo4rs::query("MATCH (f:File) RETURN count(f) AS n"))
        .await
        .unwrap();
    let total: i64 = total.next().await.unwrap().unwrap().get("n").unwrap();
    // `most` gets more files than the rest of the store together (`other`'s
    // 30 included); three have the word once (the one with the shortest
    // text ranks first).
    // `other` has 30 with it four times, ranked above all of `most`'s, and
    // shares the last of them with `most`.
    let mut texts: Vec<(String, String, Vec<String>)> = (0..total + 40)
        .map(|_| (most.clone(), "plain filler words".to_string(), vec![]))
        .collect();
    for extra in ["", " more", " more words"] {
        texts.push((most.clone(), format!("{word} here{extra}"), vec![]));
    }
    for i in 0..30 {
        let shared = if i == 29 { vec![most.clone()] } else { vec![] };
        texts.push((
            other.clone(),
            format!("{word} {word} {word} {word}"),
            shared,
        ));
    }
    for (owner, text, shared) in texts {
        let id = FileId::new().to_string();
        let viewers = std::iter::once(owner.clone())
            .chain(shared.iter().cloned())
            .collect::<Vec<_>>()
            .join(" ");
        raw.run(
            neo4rs::query(
                "MERGE (u:User {id: $owner}) CREATE (u)-[:OWNS]->(f:File {id: $id, owner: $owner, name: $id,
                 folder: '/', name_tokens: '', size: 1, sha256: '', media_type: 'text/plain',
                 created_at: '2020-01-01T00:00:00.000000Z', updated_at: '2020-01-01T00:00:00.000000Z',
                 status: 'done', status_reason: '', metadata: '{}', text: $text, tags_text: '',
                 shared_with: $shared, terms: [], object_key: $id, viewers: $viewers})",
            )
            .param("owner", owner)
            .param("id", id)
            .param("text", text)
            .param("shared", shared)
            .param("viewers", viewers),
        )
        .await
        .unwrap();
    }
    let found = |viewer: String, limit: usize| {
        let word = word.clone();
        async move {
            let hits = index.search_in(&viewer, &word, None, limit).await.unwrap();
            hits.into_iter()
                .map(|h| {
                    (
                        h.file.owner,
                        h.file.shared_with,
                        h.snippet.unwrap_or_default(),
                    )
                })
                .collect::<Vec<_>>()
        }
    };
    // A page of 2 ranks 10: all `other`'s, of which `most` may see one at
    // most, so `most`'s own are asked for again.
    let two = found(most.clone(), 2).await;
    assert_eq!(two.len(), 2, "{two:?}");
    assert_eq!(
        two[0].1,
        vec![most.clone()],
        "the shared file first: {two:?}"
    );
    assert_eq!(
        (two[1].0.as_str(), two[1].2.as_str()),
        (most.as_str(), format!("[{word}] here").as_str())
    );
    // A page of 10 ranks 50, more than match: what is kept is all there is.
    let ten = found(most.clone(), 10).await;
    assert_eq!(ten.len(), 4, "{ten:?}");
    assert!(
        ten.iter()
            .all(|(owner, shared, _)| *owner == most || shared.contains(&most)),
        "{ten:?}"
    );
    // The other owner, with a small part of the store, sees their 30.
    assert_eq!(found(other.clone(), 50).await.len(), 30);
    raw.run(
        neo4rs::query("MATCH (f:File) WHERE f.owner IN [$most, $other] DETACH DELETE f")
            .param("most", most)
            .param("other", other),
    )
    .await
    .unwrap();
}

/// Uploads waiting together are created in one transaction: each file
/// gets its own turn in its owner's queue, and a name taken (before, or
/// earlier in the same batch) fails that file alone.
async fn new_files_are_committed_together_or_each_alone(
    neo4j: &ExternalServer,
    index: &Neo4jGraphIndex,
) {
    let owner = name_with_id("batch", &FileId::new().to_string());
    let file = |name: &str| contract::new_text_file(&owner, "/in/batch", name);
    let names = ["a.txt", "b.txt", "c.txt", "d.txt", "e.txt"];
    let batch: Vec<_> = names.iter().map(|n| file(n)).collect();
    let created = index.create_files(&batch).await;
    for (result, asked) in created.iter().zip(&batch) {
        let record = result.as_ref().unwrap();
        assert_eq!(
            (record.id, record.name.as_str(), record.folder.as_str()),
            (asked.id, asked.name.as_str(), "/in/batch")
        );
        let found = index
            .file_at(&owner, "/in/batch", &asked.name)
            .await
            .unwrap();
        assert_eq!(found.map(|f| f.id), Some(asked.id));
    }
    // One job per file, in the order asked, each in a turn of its own.
    let mut rows = raw_graph(neo4j)
        .execute(
            neo4rs::query(
                "MATCH (j:Job)-[:FOR]->(f:File {owner: $owner}) RETURN f.name AS name, j.vtag AS turn ORDER BY turn",
            )
            .param("owner", owner.clone()),
        )
        .await
        .unwrap();
    let mut turns = Vec::new();
    while let Some(row) = rows.next().await.unwrap() {
        turns.push((
            row.get::<String>("name").unwrap(),
            row.get::<i64>("turn").unwrap(),
        ));
    }
    assert_eq!(
        turns.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        names,
        "{turns:?}"
    );
    assert!(turns.windows(2).all(|w| w[0].1 < w[1].1), "{turns:?}");

    // A taken name and a name twice in the batch: those two fail, the
    // others are created.
    let mixed = vec![file("f.txt"), file("a.txt"), file("g.txt"), file("g.txt")];
    let results = index.create_files(&mixed).await;
    let outcome: Vec<_> = results
        .iter()
        .map(|r| match r {
            Ok(f) => Ok(f.id),
            Err(e) => Err(matches!(e, graphfs_domain::Error::Conflict(_))),
        })
        .collect();
    assert_eq!(
        outcome,
        vec![Ok(mixed[0].id), Err(true), Ok(mixed[2].id), Err(true)]
    );
    assert_eq!(
        index
            .file_at(&owner, "/in/batch", "a.txt")
            .await
            .unwrap()
            .map(|f| f.id),
        Some(batch[0].id),
        "the first keeps its name"
    );
    assert!(index.create_files(&[]).await.is_empty());
}

/// Tagging outcomes waiting together are written in one transaction,
/// their owner's counts changed once each at its end: the counts come out
/// as if each was written alone, a job no longer held and an embedding of
/// the wrong length fail only their own outcome, and a tag a re-tag leaves
/// without files is dropped with its counts.
async fn tagging_outcomes_committed_together_count_once_each(
    neo4j: &ExternalServer,
    index: &Neo4jGraphIndex,
) {
    let id = FileId::new().to_string();
    let owner = name_with_id("outcomes", &id);
    let [report, memo] = ["report", "memo"].map(|t| format!("{t} {}", &id[..8]));
    let batch: Vec<_> = ["a.txt", "b.txt", "c.txt", "d.txt"]
        .iter()
        .map(|n| contract::new_text_file(&owner, "/tagged", n))
        .collect();
    for created in index.create_files(&batch).await {
        created.unwrap();
    }
    let jobs = claim_jobs_of(index, &batch.iter().map(|f| f.id).collect::<Vec<_>>()).await;
    let outcome = |terms: &[&str], tags: &[&String]| TaggingOutcome {
        text: terms.join(" "),
        terms: terms.iter().map(|t| t.to_string()).collect(),
        tags: tags
            .iter()
            .map(|t| ProposedTag {
                name: t.to_string(),
                score: 0.5,
                source: TagSource::Keyword,
            })
            .collect(),
        ..TaggingOutcome::default()
    };
    let stale = Job {
        id: jobs[2].id.wrapping_add(1),
        ..jobs[2].clone()
    };
    let bad_embedding = TaggingOutcome {
        embedding: Some(vec![0.5; 3]),
        ..outcome(&["alpha"], &[&report])
    };
    let written = index
        .store_outcomes(&[
            (jobs[0].clone(), outcome(&["alpha", "beta"], &[&report])),
            (
                jobs[1].clone(),
                outcome(&["alpha", "gamma"], &[&report, &memo]),
            ),
            (stale, outcome(&["alpha"], &[&report])),
            (jobs[3].clone(), bad_embedding),
        ])
        .await;
    let written: Vec<_> = written
        .into_iter()
        .map(|r| r.map_err(|e| matches!(e, Error::InvalidInput(_))))
        .collect();
    assert_eq!(written, vec![Ok(true), Ok(true), Ok(false), Err(true)]);
    let terms = ["alpha", "beta", "gamma"].map(String::from);
    let stats = index.corpus_stats(&owner, &terms).await.unwrap();
    assert_eq!(
        (stats.documents, stats.document_frequency),
        (2, vec![2, 1, 1])
    );
    assert_eq!(
        tag_counts(index, &owner).await,
        vec![(report.clone(), 2), (memo.clone(), 1)]
    );

    // A re-tag and a first tagging together: the first file loses alpha
    // and the report tag, the fourth gains both.
    let written = index
        .store_outcomes(&[
            (jobs[0].clone(), outcome(&["beta"], &[&memo])),
            (jobs[3].clone(), outcome(&["alpha"], &[&report])),
        ])
        .await;
    assert_eq!(
        written.into_iter().map(Result::unwrap).collect::<Vec<_>>(),
        [true, true]
    );
    let stats = index.corpus_stats(&owner, &terms).await.unwrap();
    assert_eq!(
        (stats.documents, stats.document_frequency),
        (3, vec![2, 1, 1])
    );
    assert_eq!(
        tag_counts(index, &owner).await,
        vec![(memo.clone(), 2), (report.clone(), 2)]
    );

    // The last two files with the report tag lose it in one transaction:
    // the tag goes, and no count of it stays behind.
    let written = index
        .store_outcomes(&[
            (jobs[1].clone(), outcome(&["gamma"], &[&memo])),
            (jobs[3].clone(), outcome(&["alpha"], &[])),
        ])
        .await;
    assert_eq!(
        written.into_iter().map(Result::unwrap).collect::<Vec<_>>(),
        [true, true]
    );
    assert_eq!(tag_counts(index, &owner).await, vec![(memo.clone(), 2)]);
    let mut rows = raw_graph(neo4j)
        .execute(
            neo4rs::query(
                "OPTIONAL MATCH (t:Tag {name: $n}) WITH count(t) AS tags
                 OPTIONAL MATCH (u:TagUse {name: $n}) RETURN tags, count(u) AS uses",
            )
            .param("n", report.clone()),
        )
        .await
        .unwrap();
    let row = rows.next().await.unwrap().unwrap();
    assert_eq!(
        (
            row.get::<i64>("tags").unwrap(),
            row.get::<i64>("uses").unwrap()
        ),
        (0, 0)
    );
    for job in &jobs {
        assert!(index.finish_job(job).await.unwrap());
    }
}

/// Claims jobs until those of `files` are all held, and gives back the
/// others claimed on the way; in the order of `files`.
async fn claim_jobs_of(index: &Neo4jGraphIndex, files: &[FileId]) -> Vec<Job> {
    let (mut mine, mut others) = (Vec::new(), Vec::new());
    while mine.len() < files.len() {
        let job = index
            .claim_job("outcome-batch", std::time::Duration::from_secs(60))
            .await
            .unwrap()
            .expect("the files' jobs are queued");
        if files.contains(&job.file_id) {
            mine.push(job);
        } else {
            others.push(job);
        }
        assert!(others.len() < 1000, "the files' jobs never came up");
    }
    for job in &others {
        index.release_job(job).await.unwrap();
    }
    mine.sort_by_key(|j| files.iter().position(|f| *f == j.file_id));
    mine
}

/// `owner`'s tags and how many of their files carry each, most first.
async fn tag_counts(index: &Neo4jGraphIndex, owner: &str) -> Vec<(String, u64)> {
    index
        .vocabulary(Some(owner), 100)
        .await
        .unwrap()
        .into_iter()
        .map(|t| (t.name, t.count))
        .collect()
}

/// Makes the store look as from before the data migrations: none
/// recorded, so the next connect runs each.
async fn forget_migrations(raw: &neo4rs::Graph) {
    raw.run(neo4rs::query("MATCH (m:GraphfsMigration) DELETE m"))
        .await
        .unwrap();
}

/// The names of the store's indexes, those behind constraints included.
async fn index_names(raw: &neo4rs::Graph) -> Vec<String> {
    let mut names = Vec::new();
    let mut rows = raw
        .execute(neo4rs::query("SHOW INDEXES YIELD name RETURN name"))
        .await
        .unwrap();
    while let Some(row) = rows.next().await.unwrap() {
        names.push(row.get::<String>("name").unwrap());
    }
    names
}

/// A file written as an earlier GraphFS wrote it, straight into the graph:
/// its terms recorded and its tags as `keyword` edges, nothing counted.
async fn file_from_before(
    raw: &neo4rs::Graph,
    owner: &str,
    terms: &[&str],
    tags: &[&str],
) -> String {
    let id = FileId::new().to_string();
    let list = |v: &[&str]| v.iter().map(|t| t.to_string()).collect::<Vec<String>>();
    raw.run(
        neo4rs::query(
            "MERGE (u:User {id: $owner}) CREATE (u)-[:OWNS]->(f:File {id: $id, owner: $owner, name: $id,
             folder: '/', name_tokens: [], size: 1, sha256: '', media_type: 'text/plain',
             created_at: '2020-01-01T00:00:00.000000Z', updated_at: '2020-01-01T00:00:00.000000Z',
             status: 'done', status_reason: '', metadata: '{}', text: '', tags_text: '',
             shared_with: [], terms: $terms, object_key: $id, viewers: $owner})
             WITH f UNWIND $tags AS name MERGE (t:Tag {name: name})
             CREATE (f)-[:TAGGED {score: 1.0, source: 'keyword'}]->(t)",
        )
        .param("owner", owner)
        .param("id", id.clone())
        .param("terms", list(terms))
        .param("tags", list(tags)),
    )
    .await
    .unwrap();
    id
}
