//! Named leases ([`Leases`]): one row per lease, taken or renewed in one
//! statement, so two callers cannot both win.

#[allow(unused_imports)]
use super::*;
use graphfs_domain::MAX_LEASE;

#[async_trait]
impl Leases for SqliteGraphIndex {
    async fn acquire_lease(&self, name: &str, holder: &str, ttl: Duration) -> Result<bool> {
        let (name, holder) = (name.to_string(), holder.to_string());
        self.write(move |c| {
            let now = now();
            let until = now + chrono::Duration::from_std(ttl.min(MAX_LEASE)).unwrap_or_default();
            let changed = c
                .execute(
                    "INSERT INTO leases(name, holder, until) VALUES (?1, ?2, ?3)
                     ON CONFLICT(name) DO UPDATE SET holder = excluded.holder, until = excluded.until
                     WHERE leases.holder = excluded.holder OR leases.until <= ?4",
                    params![name, holder, stored_time(until), stored_time(now)],
                )
                .map_err(db_err)?;
            Ok(changed == 1)
        })
        .await
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<()> {
        let (name, holder) = (name.to_string(), holder.to_string());
        self.write(move |c| {
            c.execute(
                "DELETE FROM leases WHERE name = ?1 AND holder = ?2",
                params![name, holder],
            )
            .map_err(db_err)?;
            Ok(())
        })
        .await
    }
}
