//! The drive's lock tables ([`DriveLocks`]): a row per user.

#[allow(unused_imports)]
use super::*;

#[async_trait]
impl DriveLocks for SqliteGraphIndex {
    async fn lock_table(&self, owner: &str) -> Result<Option<(u64, String)>> {
        let owner = owner.to_string();
        self.read(move |c| {
            c.query_row(
                "SELECT version, body FROM drive_locks WHERE owner = ?1",
                [owner],
                |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)),
            )
            .optional()
            .map_err(db_err)
        })
        .await
    }

    async fn replace_lock_table(&self, owner: &str, version: u64, table: &str) -> Result<bool> {
        let (owner, table) = (owner.to_string(), table.to_string());
        let version = i64::try_from(version).unwrap_or(i64::MAX);
        self.write(move |c| {
            let changed = if version == 0 {
                c.execute(
                    "INSERT OR IGNORE INTO drive_locks(owner, version, body) VALUES (?1, 1, ?2)",
                    params![owner, table],
                )
            } else {
                c.execute(
                    "UPDATE drive_locks SET version = version + 1, body = ?3
                     WHERE owner = ?1 AND version = ?2",
                    params![owner, version, table],
                )
            }
            .map_err(db_err)?;
            Ok(changed == 1)
        })
        .await
    }
}
