//! Users and token hashes ([`Principals`]).

#[allow(unused_imports)]
use super::*;

#[async_trait]
impl Principals for Neo4jGraphIndex {
    async fn add_token(&self, user: &str, token_sha256: &str) -> Result<()> {
        self.graph
            .run(
                query(
                    "MERGE (u:User {id: $user}) ON CREATE SET u.created_at = $now
                     MERGE (k:Token {hash: $hash})
                     SET k.user = $user
                     WITH u, k OPTIONAL MATCH (k)-[o:OF]->() DELETE o
                     WITH u, k MERGE (k)-[:OF]->(u)",
                )
                .param("user", user)
                .param("hash", token_sha256)
                .param("now", stored_time(Utc::now())),
            )
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn user_for_token(&self, token_sha256: &str) -> Result<Option<UserId>> {
        let rows = self
            .rows(
                query("MATCH (k:Token {hash: $hash}) RETURN k.user AS user")
                    .param("hash", token_sha256),
            )
            .await?;
        rows.first()
            .map(|r| r.get::<String>("user").map_err(de_err))
            .transpose()
    }
}
