//! Vocabulary, terms and corpus statistics for the taggers ([`Vocabulary`]).

use std::collections::BTreeMap;

#[allow(unused_imports)]
use super::*;

/// Takes the terms of the file bound to `f` out of its owner's counts.
/// Each owner's `(:Term {owner, name, df})` counts the owner's files whose
/// tagging recorded the term; the term '' counts those files themselves
/// (no real term is empty, see `index_terms`).
pub(super) const UNCOUNT_TERMS: &str = "FOREACH (t IN CASE WHEN size(coalesce(f.terms, [])) = 0 THEN [] ELSE f.terms + [''] END |
     MERGE (x:Term {owner: f.owner, name: t}) SET x.df = CASE WHEN x.df > 0 THEN x.df - 1 ELSE 0 END)";

/// Each owner's `(:TagUse {owner, name, source, n})` counts the owner's
/// files tagged `name` from `source`. Every write that makes or removes a
/// `TAGGED` edge adds its `delta` to the count in the same transaction,
/// so the tag list and the taggers' vocabulary read as many rows as a
/// vocabulary has, not one per edge of the store (a million files' tag
/// list read two million edges). The arguments are Cypher expressions of
/// the statement the clause goes in; `var` names the count node there.
pub(super) fn count_tag_use(
    var: &str,
    owner: &str,
    name: &str,
    source: &str,
    delta: i32,
) -> String {
    format!(
        "MERGE ({var}:TagUse {{owner: {owner}, name: {name}, source: coalesce({source}, '')}})
         SET {var}.n = coalesce({var}.n, 0) + ({delta})"
    )
}

/// Changes to owners' counts ([`UNCOUNT_TERMS`], [`count_tag_use`]) added
/// up over the writes of one transaction, applied once at its end
/// ([`apply_counts`]).
#[derive(Debug, Default, PartialEq)]
pub(super) struct Counts {
    /// `(owner, term)`: the change to its `df`.
    terms: BTreeMap<(String, String), i64>,
    /// `(owner, tag, source)`: the change to its `n`.
    tag_uses: BTreeMap<(String, String, String), i64>,
}

impl Counts {
    /// A file of `owner` whose recorded terms went from `old` to `new`;
    /// the term '' counts the files that have terms.
    pub(super) fn terms_replaced(&mut self, owner: &str, old: &[String], new: &[String]) {
        for (terms, delta) in [(old, -1), (new, 1)] {
            if terms.is_empty() {
                continue;
            }
            for t in terms.iter().map(String::as_str).chain([""]) {
                *self
                    .terms
                    .entry((owner.to_string(), t.to_string()))
                    .or_default() += delta;
            }
        }
    }

    /// A file of `owner` gained (`delta` 1) or lost (-1) the tag `name`
    /// from `source`.
    pub(super) fn tag_use(&mut self, owner: &str, name: &str, source: &str, delta: i64) {
        *self
            .tag_uses
            .entry((owner.to_string(), name.to_string(), source.to_string()))
            .or_default() += delta;
    }
}

/// Applies `counts`, each count once and in the order of its key (terms,
/// then tag uses), so transactions that apply counts this way take their
/// locks in one order and never wait on each other in a circle. A term's
/// count stops at 0, as [`UNCOUNT_TERMS`] does. One statement for both
/// kinds: each statement costs Neo4j as much again in Bolt messages and
/// plan lookups, for every batch of outcomes.
pub(super) async fn apply_counts(txn: &mut Txn, counts: &Counts) -> Result<()> {
    let (mut owners, mut names, mut deltas) = (Vec::new(), Vec::new(), Vec::new());
    for ((owner, name), delta) in counts.terms.iter().filter(|(_, d)| **d != 0) {
        owners.push(owner.clone());
        names.push(name.clone());
        deltas.push(*delta);
    }
    let (mut use_owners, mut use_names, mut use_sources, mut use_deltas) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for ((owner, name, source), delta) in counts.tag_uses.iter().filter(|(_, d)| **d != 0) {
        use_owners.push(owner.clone());
        use_names.push(name.clone());
        use_sources.push(source.clone());
        use_deltas.push(*delta);
    }
    if names.is_empty() && use_names.is_empty() {
        return Ok(());
    }
    txn.run(
        query(
            "CALL () {
                 UNWIND range(0, size($names) - 1) AS i
                 MERGE (x:Term {owner: $owners[i], name: $names[i]})
                 WITH x, coalesce(x.df, 0) + $deltas[i] AS df
                 SET x.df = CASE WHEN df > 0 THEN df ELSE 0 END
             }
             CALL () {
                 UNWIND range(0, size($use_names) - 1) AS i
                 MERGE (u:TagUse {owner: $use_owners[i], name: $use_names[i], source: $use_sources[i]})
                 SET u.n = coalesce(u.n, 0) + $use_deltas[i]
             }",
        )
        .param("owners", owners)
        .param("names", names)
        .param("deltas", deltas)
        .param("use_owners", use_owners)
        .param("use_names", use_names)
        .param("use_sources", use_sources)
        .param("use_deltas", use_deltas),
    )
    .await
    .map_err(db_err)
}

#[async_trait]
impl Vocabulary for Neo4jGraphIndex {
    async fn vocabulary(&self, owner: Option<&str>, limit: usize) -> Result<Vec<TagInfo>> {
        // Read from the per-owner counts (`count_tag_use`).
        let counts = match owner {
            Some(_) => "MATCH (u:TagUse) WHERE u.owner = $owner AND u.n > 0",
            None => "MATCH (u:TagUse) WHERE u.n > 0",
        };
        let rows = self
            .rows(
                query(&format!(
                    "{counts}
                     WITH u.name AS name, sum(u.n) AS c
                     MATCH (t:Tag {{name: name}})
                     RETURN t.name AS name, c, coalesce(t.aliases, []) AS aliases
                     ORDER BY c DESC, name LIMIT $limit"
                ))
                .param("owner", owner)
                .param(
                    "limit",
                    i64::try_from(limit.clamp(1, 100_000)).unwrap_or(1000),
                ),
            )
            .await?;
        rows.iter()
            .filter_map(|r| tag_info_from(r).transpose())
            .collect()
    }

    async fn files_with_term(&self, owner: &str, term: &str, limit: usize) -> Result<Vec<FileId>> {
        // Through the `graphfs_tagged_terms` index (schema.rs): reading every
        // file of the owner for its terms cost each promotion of a new tag
        // a walk of the whole store. The index takes commits in the
        // background, and waiting for it to catch up stalled taggers for
        // seconds under a stream of uploads; the owner's count of the term
        // says whether it has: only when it finds fewer files is it waited
        // for.
        let limit = limit.clamp(1, 100_000);
        let q = format!(
            "+terms:{} +terms_owner:{}",
            lucene_phrase(term),
            lucene_phrase(owner)
        );
        let mut wait = "";
        loop {
            let rows = self
                .rows(
                    query(&format!(
                        "{wait}
                         OPTIONAL MATCH (x:Term {{owner: $owner, name: $term}})
                         WITH coalesce(x.df, 0) AS df
                         CALL (df) {{
                           CALL db.index.fulltext.queryNodes('graphfs_tagged_terms', $q) YIELD node
                           WITH node AS f WHERE f.owner = $owner AND $term IN f.terms
                           WITH f.id AS id ORDER BY id LIMIT $limit
                           RETURN collect(id) AS ids
                         }}
                         RETURN df, ids"
                    ))
                    .param("q", q.clone())
                    .param("owner", owner)
                    .param("term", term)
                    .param("limit", i64::try_from(limit).unwrap_or(1000)),
                )
                .await?;
            let Some(row) = rows.first() else {
                return Ok(Vec::new());
            };
            let counted: i64 = row.get("df").map_err(de_err)?;
            let ids: Vec<FileId> = row
                .get::<Vec<String>>("ids")
                .map_err(de_err)?
                .iter()
                .filter_map(|id| id.parse().ok())
                .collect();
            let expected = usize::try_from(counted).unwrap_or(0).min(limit);
            if ids.len() >= expected || !wait.is_empty() {
                return Ok(ids);
            }
            wait = "CALL db.index.fulltext.awaitEventuallyConsistentIndexRefresh()";
        }
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
                    "MATCH (x:Term) WHERE x.name STARTS WITH $prefix AND x.name <> ''
                     WITH x.name AS name, sum(x.df) AS n WHERE n >= $min
                     RETURN name, n ORDER BY n DESC, name LIMIT $limit",
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

    async fn corpus_stats(&self, owner: &str, terms: &[String]) -> Result<CorpusStats> {
        // The documents' own count is the term ''.
        let asked: Vec<String> = std::iter::once(String::new())
            .chain(terms.iter().cloned())
            .collect();
        // One record with every count: a record a term cost Neo4j a Bolt
        // message each, for every file tagged.
        let rows = self
            .rows(
                query(
                    "UNWIND range(0, size($terms) - 1) AS i
                     OPTIONAL MATCH (x:Term {owner: $owner, name: $terms[i]})
                     RETURN collect([i, coalesce(x.df, 0)]) AS df",
                )
                .param("owner", owner)
                .param("terms", asked),
            )
            .await?;
        let counts: Vec<Vec<i64>> = match rows.first() {
            Some(r) => r.get("df").map_err(de_err)?,
            None => Vec::new(),
        };
        let mut df = vec![0u64; terms.len() + 1];
        for pair in counts {
            if let [i, n] = pair[..]
                && let Some(slot) = usize::try_from(i).ok().and_then(|i| df.get_mut(i))
            {
                *slot = u64::try_from(n).unwrap_or(0);
            }
        }
        let documents = df.remove(0);
        Ok(CorpusStats {
            documents,
            document_frequency: df,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn counts_add_up_per_owner_and_key() {
        let mut c = Counts::default();
        // A first tagging, then a re-tag that keeps one term and swaps one.
        c.terms_replaced("ann", &[], &strings(&["alpha", "beta"]));
        c.terms_replaced(
            "ann",
            &strings(&["alpha", "beta"]),
            &strings(&["alpha", "gamma"]),
        );
        // Another owner's same word is another count.
        c.terms_replaced("bob", &[], &strings(&["alpha"]));
        // A file without terms changes no count, '' included.
        c.terms_replaced("bob", &[], &[]);
        c.tag_use("ann", "invoice", "keyword", 1);
        c.tag_use("ann", "invoice", "keyword", 1);
        c.tag_use("ann", "invoice", "keyword", -1);
        c.tag_use("ann", "invoice", "llm", 1);
        let terms: Vec<_> = c
            .terms
            .iter()
            .map(|((o, t), d)| (o.as_str(), t.as_str(), *d))
            .collect();
        assert_eq!(
            terms,
            [
                ("ann", "", 1),
                ("ann", "alpha", 1),
                ("ann", "beta", 0),
                ("ann", "gamma", 1),
                ("bob", "", 1),
                ("bob", "alpha", 1),
            ]
        );
        let uses: Vec<_> = c
            .tag_uses
            .iter()
            .map(|((o, n, s), d)| (o.as_str(), n.as_str(), s.as_str(), *d))
            .collect();
        assert_eq!(
            uses,
            [
                ("ann", "invoice", "keyword", 1),
                ("ann", "invoice", "llm", 1)
            ]
        );
    }
}
