//! The imported taxonomy ([`TaxonomyStore`]): one `Taxonomy` node, whose
//! body is empty after a reset (Neo4j keeps no null property).

#[allow(unused_imports)]
use super::*;

#[async_trait]
impl TaxonomyStore for Neo4jGraphIndex {
    async fn stored_taxonomy(&self) -> Result<(u64, Option<String>)> {
        let rows = self
            .rows(query(
                "MATCH (t:Taxonomy {key: 'taxonomy'}) RETURN t.version AS version, t.body AS body",
            ))
            .await?;
        Ok(match versioned_body(&rows)? {
            Some((version, body)) => (version, Some(body).filter(|b| !b.is_empty())),
            None => (0, None),
        })
    }

    async fn replace_taxonomy(&self, version: u64, body: Option<&str>) -> Result<bool> {
        // The write lock is taken before the version is compared, so of two
        // writers at one version only the first changes the document.
        let rows = self
            .rows(
                query(
                    "MERGE (t:Taxonomy {key: 'taxonomy'}) ON CREATE SET t.version = 0, t.body = ''
                     SET t._lock = true REMOVE t._lock
                     WITH t WHERE t.version = $version
                     SET t.version = $version + 1, t.body = $body
                     RETURN t.version AS version",
                )
                .param("version", i64::try_from(version).unwrap_or(i64::MAX))
                .param("body", body.unwrap_or_default()),
            )
            .await?;
        Ok(!rows.is_empty())
    }
}
