//! Vocabulary, terms and corpus statistics for the taggers ([`Vocabulary`]).

#[allow(unused_imports)]
use super::*;

#[async_trait]
impl Vocabulary for Neo4jGraphIndex {
    async fn vocabulary(&self, owner: Option<&str>, limit: usize) -> Result<Vec<TagInfo>> {
        let rows = self
            .rows(
                query(
                    "MATCH (f:File)-[:TAGGED]->(t:Tag) WHERE $owner IS NULL OR f.owner = $owner
                     RETURN t.name AS name, count(f) AS c, coalesce(t.aliases, []) AS aliases
                     ORDER BY c DESC, name LIMIT $limit",
                )
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
        let rows = self
            .rows(
                query("MATCH (f:File {owner: $owner}) WHERE $term IN f.terms RETURN f.id AS id ORDER BY id LIMIT $limit")
                    .param("owner", owner)
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
}
