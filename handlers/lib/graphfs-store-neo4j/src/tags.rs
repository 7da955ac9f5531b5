//! Tags as users see and change them ([`TagStore`]), and the tag helpers writes share.

#[allow(unused_imports)]
use super::*;

/// Cypher that writes the tag text (for search) of the file bound to `f`
/// from the tags it has.
pub(super) const SET_TAGS_TEXT: &str =
    "SET f.tags_text = reduce(s = '', n IN [(f)-[:TAGGED]->(t:Tag) | t.name] | s + ' , ' + n)";

/// Refreshes a file's tag text ([`SET_TAGS_TEXT`]) and drops tags in
/// `maybe_orphans` that nothing refers to any more.
pub(super) async fn after_tag_change(
    txn: &mut Txn,
    file: &str,
    maybe_orphans: &[String],
) -> Result<()> {
    txn.run(query(&format!("MATCH (f:File {{id: $id}}) {SET_TAGS_TEXT}")).param("id", file))
        .await
        .map_err(db_err)?;
    drop_orphans(txn, maybe_orphans).await
}

pub(super) async fn drop_orphans(txn: &mut Txn, tags: &[String]) -> Result<()> {
    if tags.is_empty() {
        return Ok(());
    }
    txn.run(
        query(
            "UNWIND $tags AS name MATCH (t:Tag {name: name})
             WHERE NOT (t)<-[:TAGGED]-() AND NOT (t)<-[:REMOVED]-()
               AND size(coalesce(t.aliases, [])) = 0
             CALL (name) { MATCH (u:TagUse {name: name}) DELETE u }
             DETACH DELETE t",
        )
        .param("tags", tags.to_vec()),
    )
    .await
    .map_err(db_err)?;
    Ok(())
}

/// A tag row: `name`, count `c` and `aliases`; `None` for a tag deleted
/// while being read (its name reads back null, see [`FileProps`]).
pub(super) fn tag_info_from(r: &Row) -> Result<Option<TagInfo>> {
    let Some(name) = r.get::<Option<String>>("name").map_err(de_err)? else {
        return Ok(None);
    };
    Ok(Some(TagInfo {
        name,
        count: u64::try_from(r.get::<i64>("c").map_err(de_err)?).unwrap_or(0),
        aliases: r
            .get::<Option<Vec<String>>>("aliases")
            .map_err(de_err)?
            .unwrap_or_default(),
        // Only the viewer's listing asks for them.
        sources: tag_sources(
            r.get::<Option<Vec<String>>>("sources")
                .ok()
                .flatten()
                .unwrap_or_default()
                .iter()
                .map(String::as_str),
        ),
    }))
}

/// Maps tag names that are aliases to the tag they were merged into, each
/// once.
pub(super) async fn resolve_aliases(txn: &mut Txn, names: Vec<String>) -> Result<Vec<String>> {
    let mut seen = HashSet::new();
    Ok(canonical_names(txn, names)
        .await?
        .into_iter()
        .filter(|n| seen.insert(n.clone()))
        .collect())
}

/// Cypher for the name `n`, or the tag it is an alias of. A list property
/// has no index, so only the tags that have aliases (label `Aliased`, given
/// by a merge) are looked through, not every tag. Its own variable has a
/// name no statement around it binds: inside the subquery, an outer
/// variable of the same name would stand for the outer node.
pub(super) const CANONICAL: &str =
    "coalesce(COLLECT { MATCH (alias_of:Aliased) WHERE n IN alias_of.aliases
                 RETURN alias_of.name }[0], n)";

/// Each of `names`, or the tag it is an alias of ([`CANONICAL`]), in the
/// same order.
pub(super) async fn canonical_names(txn: &mut Txn, names: Vec<String>) -> Result<Vec<String>> {
    if names.is_empty() {
        return Ok(names);
    }
    let rows = txn_rows(
        txn,
        query(&format!("RETURN [n IN $names | {CANONICAL}] AS canonical")).param("names", names),
    )
    .await?;
    Ok(rows
        .first()
        .map(canonical_from)
        .transpose()?
        .unwrap_or_default())
}

/// The `canonical` list of a row that returned it.
fn canonical_from(row: &Row) -> Result<Vec<String>> {
    row.get::<Vec<String>>("canonical").map_err(de_err)
}

pub(super) async fn file_tags(txn: &mut Txn, id: &str) -> Result<Vec<String>> {
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
impl TagStore for Neo4jGraphIndex {
    async fn list_tags(
        &self,
        viewer: &str,
        prefix: Option<&str>,
        limit: usize,
    ) -> Result<Vec<TagInfo>> {
        let rows = self
            .rows(
                // The viewer's own files from their counts (a vocabulary's
                // rows, not a store's edges) and the files shared with them
                // through their links, as a listing finds them.
                query(
                    "CALL () {
                         MATCH (u:TagUse) WHERE u.owner = $viewer AND u.n > 0 AND u.name STARTS WITH $prefix
                         RETURN u.name AS name, u.n AS n, u.source AS source
                         UNION ALL
                         MATCH (:User {id: $viewer})<-[:SHARED_WITH]-(f:File)-[r:TAGGED]->(t:Tag)
                         WHERE f.owner <> $viewer AND t.name STARTS WITH $prefix
                         RETURN t.name AS name, 1 AS n, r.source AS source
                     }
                     WITH name, sum(n) AS c, collect(DISTINCT source) AS sources
                     MATCH (t:Tag {name: name})
                     RETURN t.name AS name, c, coalesce(t.aliases, []) AS aliases, sources
                     ORDER BY c DESC, name LIMIT $limit",
                )
                .param("viewer", viewer)
                .param("prefix", prefix.unwrap_or(""))
                .param(
                    "limit",
                    i64::try_from(limit.clamp(1, 10_000)).unwrap_or(100),
                ),
            )
            .await?;
        rows.iter()
            .filter_map(|r| tag_info_from(r).transpose())
            .collect()
    }

    async fn related_tags(&self, viewer: &str, tag: &str, limit: usize) -> Result<Vec<RelatedTag>> {
        self.require_visible_tag(viewer, tag).await?;
        self.related(viewer, tag, limit).await
    }

    async fn set_rejected(&self, owner: &str, tag: &str, rejected: bool) -> Result<bool> {
        let stmt = if rejected {
            "OPTIONAL MATCH (x:Rejection {owner: $owner, name: $tag})
             WITH x WHERE x IS NULL
             MERGE (:Rejection {owner: $owner, name: $tag}) RETURN count(*) AS n"
        } else {
            "MATCH (x:Rejection {owner: $owner, name: $tag}) DELETE x RETURN count(*) AS n"
        };
        let rows = self
            .rows(query(stmt).param("owner", owner).param("tag", tag))
            .await?;
        Ok(rows
            .first()
            .and_then(|r| r.get::<i64>("n").ok())
            .is_some_and(|n| n > 0))
    }

    async fn rejected_tags(&self, owner: &str) -> Result<Vec<String>> {
        let rows = self
            .rows(
                query("MATCH (x:Rejection {owner: $owner}) RETURN x.name AS name ORDER BY name")
                    .param("owner", owner),
            )
            .await?;
        rows.iter()
            .map(|r| r.get::<String>("name").map_err(de_err))
            .collect()
    }

    async fn merge_tag(&self, from: &str, into: &str) -> Result<()> {
        let mut txn = self.graph.start_txn().await.map_err(db_err)?;
        let found = txn_rows(
            &mut txn,
            query(
                "OPTIONAL MATCH (a:Tag {name: $from})
                 OPTIONAL MATCH (b:Aliased) WHERE $from IN b.aliases
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
                 SET b:Aliased, b.aliases = reduce(acc = [], x IN coalesce(b.aliases, []) + coalesce(a.aliases, []) + [a.name] |
                                        CASE WHEN x IN acc OR x = b.name THEN acc ELSE acc + x END)
                 DETACH DELETE a",
            )
            .param("from", from.clone())
            .param("into", into.clone()),
        )
        .await
        .map_err(db_err)?;
        // Merges are rare and their edges changed in several ways (moved,
        // folded into an edge the file had, made the user's), so the two
        // names' counts are made again from the edges (merged, not created:
        // a tagger may have counted the name since they were dropped).
        txn.run(
            query(
                "CALL () { MATCH (u:TagUse) WHERE u.name IN [$from, $into] DELETE u }
                 MATCH (f:File)-[r:TAGGED]->(:Tag {name: $into})
                 WITH f.owner AS owner, coalesce(r.source, '') AS source, count(*) AS n
                 MERGE (u:TagUse {owner: owner, name: $into, source: source}) SET u.n = n",
            )
            .param("from", from.clone())
            .param("into", into.clone()),
        )
        .await
        .map_err(db_err)?;
        for f in &files {
            after_tag_change(&mut txn, f, &[]).await?;
        }
        txn.commit().await.map_err(db_err)?;
        Ok(())
    }
}

impl Neo4jGraphIndex {
    pub(super) async fn related(
        &self,
        viewer: &str,
        tag: &str,
        limit: usize,
    ) -> Result<Vec<RelatedTag>> {
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
            .filter_map(|r| {
                // A tag deleted while being read has a null name; skip it.
                let name = r
                    .get::<Option<String>>("name")
                    .map_err(de_err)
                    .transpose()?;
                Some(name.and_then(|name| {
                    Ok(RelatedTag {
                        name,
                        count: u64::try_from(r.get::<i64>("c").map_err(de_err)?).unwrap_or(0),
                    })
                }))
            })
            .collect()
    }
}

impl Neo4jGraphIndex {
    /// A tag on none of `viewer`'s visible files does not exist for them,
    /// so its name cannot be probed for.
    pub(super) async fn require_visible_tag(&self, viewer: &str, tag: &str) -> Result<()> {
        let seen = self
            .rows(
                query(&format!(
                    "MATCH (f:File)-[:TAGGED]->(:Tag {{name: $tag}}) WHERE {VISIBLE}
                     RETURN f.id AS id LIMIT 1"
                ))
                .param("tag", tag)
                .param("viewer", viewer),
            )
            .await?;
        if seen.is_empty() {
            return Err(Error::NotFound(format!("tag '{tag}'")));
        }
        Ok(())
    }
}
