//! Users and token hashes ([`Principals`]).

#[allow(unused_imports)]
use super::*;

#[async_trait]
impl Principals for SqliteGraphIndex {
    async fn add_token(&self, user: &str, token_sha256: &str) -> Result<()> {
        let (user, hash) = (user.to_string(), token_sha256.to_string());
        self.write(move |c| {
            let now = stored_time(now());
            c.execute(
                "INSERT OR IGNORE INTO users(id, created_at) VALUES (?1, ?2)",
                params![user, now],
            )
            .map_err(db_err)?;
            c.execute(
                "INSERT INTO tokens(hash, user_id, created_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT(hash) DO UPDATE SET user_id = excluded.user_id",
                params![hash, user, now],
            )
            .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn user_for_token(&self, token_sha256: &str) -> Result<Option<UserId>> {
        let hash = token_sha256.to_string();
        self.read(move |c| {
            c.prepare_cached("SELECT user_id FROM tokens WHERE hash = ?1")
                .and_then(|mut s| s.query_row([hash], |r| r.get(0)).optional())
                .map_err(db_err)
        })
        .await
    }
}
