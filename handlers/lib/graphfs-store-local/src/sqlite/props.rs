//! The drive's dead properties ([`DriveProps`]): a row per resource.

#[allow(unused_imports)]
use super::*;

/// Rows on `?2` and beneath it, for the owner `?1`.
const AT_OR_BENEATH: &str =
    "owner = ?1 AND (path = ?2 OR substr(path, 1, length(?2) + 1) = ?2 || '/')";

#[async_trait]
impl DriveProps for SqliteGraphIndex {
    async fn dead_props(&self, owner: &str, path: &str) -> Result<Option<(u64, String)>> {
        let (owner, path) = (owner.to_string(), path.to_string());
        self.read(move |c| {
            c.query_row(
                "SELECT version, body FROM drive_props WHERE owner = ?1 AND path = ?2",
                [owner, path],
                |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)),
            )
            .optional()
            .map_err(db_err)
        })
        .await
    }

    async fn replace_dead_props(
        &self,
        owner: &str,
        path: &str,
        version: u64,
        body: Option<&str>,
    ) -> Result<bool> {
        let (owner, path) = (owner.to_string(), path.to_string());
        let body = body.map(str::to_string);
        let version = i64::try_from(version).unwrap_or(i64::MAX);
        self.write(move |c| {
            let changed = match (version, body) {
                (0, Some(body)) => c.execute(
                    "INSERT OR IGNORE INTO drive_props(owner, path, version, body)
                     VALUES (?1, ?2, 1, ?3)",
                    params![owner, path, body],
                ),
                (0, None) => {
                    // Nothing to remove: done, unless a document appeared.
                    let exists: bool = c
                        .query_row(
                            "SELECT EXISTS(SELECT 1 FROM drive_props WHERE owner = ?1 AND path = ?2)",
                            params![owner, path],
                            |r| r.get(0),
                        )
                        .map_err(db_err)?;
                    return Ok(!exists);
                }
                (_, Some(body)) => c.execute(
                    "UPDATE drive_props SET version = version + 1, body = ?4
                     WHERE owner = ?1 AND path = ?2 AND version = ?3",
                    params![owner, path, version, body],
                ),
                (_, None) => c.execute(
                    "DELETE FROM drive_props WHERE owner = ?1 AND path = ?2 AND version = ?3",
                    params![owner, path, version],
                ),
            }
            .map_err(db_err)?;
            Ok(changed == 1)
        })
        .await
    }

    async fn dead_props_count(&self, owner: &str) -> Result<u64> {
        let owner = owner.to_string();
        self.read(move |c| {
            c.query_row(
                "SELECT COUNT(*) FROM drive_props WHERE owner = ?1",
                [owner],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as u64)
            .map_err(db_err)
        })
        .await
    }

    async fn move_dead_props(&self, owner: &str, from: &str, to: &str) -> Result<()> {
        let (owner, from, to) = (owner.to_string(), from.to_string(), to.to_string());
        self.write(move |c| {
            c.execute(
                &format!("DELETE FROM drive_props WHERE {AT_OR_BENEATH}"),
                params![owner, to],
            )
            .map_err(db_err)?;
            c.execute(
                &format!(
                    "UPDATE drive_props SET path = ?3 || substr(path, length(?2) + 1),
                     version = version + 1 WHERE {AT_OR_BENEATH}"
                ),
                params![owner, from, to],
            )
            .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn copy_dead_props(&self, owner: &str, from: &str, to: &str) -> Result<()> {
        let (owner, from, to) = (owner.to_string(), from.to_string(), to.to_string());
        self.write(move |c| {
            // The copy's version moves on from the one it replaces, so a
            // writer that read the old document loses.
            c.execute(
                "INSERT OR REPLACE INTO drive_props(owner, path, version, body)
                 SELECT owner, ?3, 1 + COALESCE(
                     (SELECT version FROM drive_props WHERE owner = ?1 AND path = ?3), 0), body
                 FROM drive_props WHERE owner = ?1 AND path = ?2",
                params![owner, from, to],
            )
            .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn remove_dead_props(&self, owner: &str, path: &str) -> Result<()> {
        let (owner, path) = (owner.to_string(), path.to_string());
        self.write(move |c| {
            c.execute(
                &format!("DELETE FROM drive_props WHERE {AT_OR_BENEATH}"),
                params![owner, path],
            )
            .map_err(db_err)?;
            Ok(())
        })
        .await
    }
}
