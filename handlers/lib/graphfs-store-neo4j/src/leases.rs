//! Named leases ([`Leases`]): a `GraphfsLease` node per name. The node is
//! write-locked before it is read, so two transactions cannot both see it
//! free; expiry is judged by Neo4j's clock, which every replica shares.

#[allow(unused_imports)]
use super::*;
use graphfs_domain::{Leases, MAX_LEASE};

#[async_trait]
impl Leases for Neo4jGraphIndex {
    async fn acquire_lease(&self, name: &str, holder: &str, ttl: Duration) -> Result<bool> {
        let rows = self
            .rows(
                query(
                    "MERGE (l:GraphfsLease {name: $name})
                     SET l.locked = true
                     WITH l, (l.holder IS NULL OR l.holder = $holder OR l.until <= datetime()) AS free
                     FOREACH (_ IN CASE WHEN free THEN [1] ELSE [] END |
                       SET l.holder = $holder,
                           l.until = datetime() + duration({milliseconds: $ttl_ms}))
                     REMOVE l.locked
                     RETURN free",
                )
                .param("name", name)
                .param("holder", holder)
                .param("ttl_ms", ttl.min(MAX_LEASE).as_millis() as i64),
            )
            .await?;
        rows.first()
            .map(|r| r.get::<bool>("free").map_err(de_err))
            .unwrap_or(Ok(false))
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<()> {
        self.rows(
            query("MATCH (l:GraphfsLease {name: $name, holder: $holder}) DELETE l")
                .param("name", name)
                .param("holder", holder),
        )
        .await
        .map(|_| ())
    }
}
