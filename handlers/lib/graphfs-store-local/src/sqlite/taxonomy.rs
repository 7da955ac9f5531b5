//! The imported taxonomy ([`TaxonomyStore`]): one row.

#[allow(unused_imports)]
use super::*;

#[async_trait]
impl TaxonomyStore for SqliteGraphIndex {
    async fn stored_taxonomy(&self) -> Result<(u64, Option<String>)> {
        self.read(|c| {
            let row = c
                .query_row("SELECT version, body FROM taxonomy WHERE id = 1", [], |r| {
                    Ok((r.get::<_, i64>(0)? as u64, r.get(1)?))
                })
                .optional()
                .map_err(db_err)?;
            Ok(row.unwrap_or((0, None)))
        })
        .await
    }

    async fn replace_taxonomy(&self, version: u64, body: Option<&str>) -> Result<bool> {
        let body = body.map(str::to_string);
        let version = i64::try_from(version).unwrap_or(i64::MAX);
        self.write(move |c| {
            let changed = if version == 0 {
                c.execute(
                    "INSERT OR IGNORE INTO taxonomy(id, version, body) VALUES (1, 1, ?1)",
                    params![body],
                )
            } else {
                c.execute(
                    "UPDATE taxonomy SET version = version + 1, body = ?2
                     WHERE id = 1 AND version = ?1",
                    params![version, body],
                )
            }
            .map_err(db_err)?;
            Ok(changed == 1)
        })
        .await
    }
}
