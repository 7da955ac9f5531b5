//! The drive's dead properties ([`DriveProps`]): a `DriveProps` node per
//! resource.

#[allow(unused_imports)]
use super::*;

/// The owner's documents on `$path` and beneath it, as `d`.
const AT_OR_BENEATH: &str = "MATCH (d:DriveProps {owner: $owner})
     WHERE d.path = $path OR d.path STARTS WITH $path + '/'";

fn version_param(version: u64) -> i64 {
    i64::try_from(version).unwrap_or(i64::MAX)
}

#[async_trait]
impl DriveProps for Neo4jGraphIndex {
    async fn dead_props(&self, owner: &str, path: &str) -> Result<Option<(u64, String)>> {
        let rows = self
            .rows(
                query(
                    "MATCH (d:DriveProps {owner: $owner, path: $path})
                     RETURN d.version AS version, d.body AS body",
                )
                .param("owner", owner)
                .param("path", path),
            )
            .await?;
        versioned_body(&rows)
    }

    async fn replace_dead_props(
        &self,
        owner: &str,
        path: &str,
        version: u64,
        body: Option<&str>,
    ) -> Result<bool> {
        // The write lock is taken before the version is compared, so of two
        // writers at one version only the first changes the document.
        let statement = match (version, body) {
            (0, None) => {
                let rows = self
                    .rows(
                        query("OPTIONAL MATCH (d:DriveProps {owner: $owner, path: $path}) RETURN d IS NULL AS none")
                            .param("owner", owner)
                            .param("path", path),
                    )
                    .await?;
                return match rows.first() {
                    Some(r) => r.get::<bool>("none").map_err(de_err),
                    None => Ok(true),
                };
            }
            (0, Some(_)) => {
                "MERGE (d:DriveProps {owner: $owner, path: $path}) ON CREATE SET d.version = 0, d.body = ''
                 SET d._lock = true REMOVE d._lock
                 WITH d WHERE d.version = $version
                 SET d.version = $version + 1, d.body = $body
                 RETURN d.version AS version"
            }
            (_, Some(_)) => {
                "MATCH (d:DriveProps {owner: $owner, path: $path})
                 SET d._lock = true REMOVE d._lock
                 WITH d WHERE d.version = $version
                 SET d.version = $version + 1, d.body = $body
                 RETURN d.version AS version"
            }
            (_, None) => {
                "MATCH (d:DriveProps {owner: $owner, path: $path})
                 SET d._lock = true REMOVE d._lock
                 WITH d WHERE d.version = $version
                 DELETE d
                 RETURN $version AS version"
            }
        };
        let rows = self
            .rows(
                query(statement)
                    .param("owner", owner)
                    .param("path", path)
                    .param("version", version_param(version))
                    .param("body", body.unwrap_or_default()),
            )
            .await?;
        Ok(!rows.is_empty())
    }

    async fn dead_props_count(&self, owner: &str) -> Result<u64> {
        let rows = self
            .rows(
                query("MATCH (d:DriveProps {owner: $owner}) RETURN count(d) AS n")
                    .param("owner", owner),
            )
            .await?;
        let n: i64 = match rows.first() {
            Some(r) => r.get("n").map_err(de_err)?,
            None => 0,
        };
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn move_dead_props(&self, owner: &str, from: &str, to: &str) -> Result<()> {
        // What was at the destination goes first; the uniqueness of
        // (owner, path) is checked when the statement commits.
        self.rows(
            query(&format!(
                "CALL {{ {AT_OR_BENEATH} DELETE d }}
                     WITH 1 AS one
                     MATCH (m:DriveProps {{owner: $owner}})
                     WHERE m.path = $from OR m.path STARTS WITH $from + '/'
                     SET m.path = $to + substring(m.path, size($from)),
                         m.version = m.version + 1"
            ))
            .param("owner", owner)
            .param("path", to)
            .param("from", from)
            .param("to", to),
        )
        .await
        .map(|_| ())
    }

    async fn copy_dead_props(&self, owner: &str, from: &str, to: &str) -> Result<()> {
        // The copy's version moves on from the one it replaces, so a writer
        // that read the old document loses.
        self.rows(
            query(
                "MATCH (s:DriveProps {owner: $owner, path: $from})
                     MERGE (d:DriveProps {owner: $owner, path: $to}) ON CREATE SET d.version = 0
                     SET d.version = d.version + 1, d.body = s.body",
            )
            .param("owner", owner)
            .param("from", from)
            .param("to", to),
        )
        .await
        .map(|_| ())
    }

    async fn remove_dead_props(&self, owner: &str, path: &str) -> Result<()> {
        self.rows(
            query(&format!("{AT_OR_BENEATH} DELETE d"))
                .param("owner", owner)
                .param("path", path),
        )
        .await
        .map(|_| ())
    }
}
