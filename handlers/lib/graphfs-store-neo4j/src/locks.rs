//! The drive's lock tables ([`DriveLocks`]): a `DriveLocks` node per user.

#[allow(unused_imports)]
use super::*;

#[async_trait]
impl DriveLocks for Neo4jGraphIndex {
    async fn lock_table(&self, owner: &str) -> Result<Option<(u64, String)>> {
        let rows = self
            .rows(
                query("MATCH (d:DriveLocks {owner: $owner}) RETURN d.version AS version, d.body AS body")
                    .param("owner", owner),
            )
            .await?;
        versioned_body(&rows)
    }

    async fn replace_lock_table(&self, owner: &str, version: u64, table: &str) -> Result<bool> {
        // The write lock is taken before the version is compared, so of two
        // writers at one version only the first replaces the table.
        let rows = self
            .rows(
                query(
                    "MERGE (d:DriveLocks {owner: $owner}) ON CREATE SET d.version = 0, d.body = ''
                     SET d._lock = true REMOVE d._lock
                     WITH d WHERE d.version = $version
                     SET d.version = $version + 1, d.body = $body
                     RETURN d.version AS version",
                )
                .param("owner", owner)
                .param("version", i64::try_from(version).unwrap_or(i64::MAX))
                .param("body", table),
            )
            .await?;
        Ok(!rows.is_empty())
    }
}
