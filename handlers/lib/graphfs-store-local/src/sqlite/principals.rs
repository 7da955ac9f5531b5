//! Users and token hashes ([`Principals`]).

#[allow(unused_imports)]
use super::*;
use graphfs_domain::{NewToken, TokenInfo, TokenSource, token_id};

const TOKEN_COLUMNS: &str = "hash, user_id, label, source, created_at, expires_at";

fn token_row(r: &Row) -> rusqlite::Result<TokenInfo> {
    let hash: String = r.get(0)?;
    let expires: Option<String> = r.get(5)?;
    Ok(TokenInfo {
        id: token_id(&hash),
        user: r.get(1)?,
        label: r.get(2)?,
        source: TokenSource::parse(&r.get::<_, String>(3)?),
        created_at: parse_stored_time(&r.get::<_, String>(4)?),
        expires_at: expires.as_deref().map(parse_stored_time),
    })
}

/// Inserts or updates one token; true when it was new.
fn upsert_token(c: &Connection, t: &NewToken) -> Result<bool> {
    let now = stored_time(now());
    c.execute(
        "INSERT OR IGNORE INTO users(id, created_at) VALUES (?1, ?2)",
        params![t.user, now],
    )
    .map_err(db_err)?;
    let existed: bool = c
        .query_row(
            "SELECT count(*) > 0 FROM tokens WHERE hash = ?1",
            [&t.sha256],
            |r| r.get(0),
        )
        .map_err(db_err)?;
    c.execute(
        "INSERT INTO tokens(hash, user_id, label, source, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT(hash) DO UPDATE SET user_id = excluded.user_id, label = excluded.label,
             source = excluded.source, expires_at = excluded.expires_at",
        params![
            t.sha256,
            t.user,
            t.label,
            t.source.as_str(),
            now,
            t.expires_at.map(stored_time)
        ],
    )
    .map_err(db_err)?;
    Ok(!existed)
}

/// Tokens whose hash starts with `id` (of `user`, when given).
fn tokens_with_id(
    c: &Connection,
    user: Option<&str>,
    id: &str,
) -> Result<Vec<(String, TokenInfo)>> {
    let mut s = c
        .prepare_cached(&format!(
            "SELECT {TOKEN_COLUMNS} FROM tokens
             WHERE substr(hash, 1, 12) = ?1 AND (?2 IS NULL OR user_id = ?2)"
        ))
        .map_err(db_err)?;
    s.query_map(params![id, user], |r| {
        Ok((r.get::<_, String>(0)?, token_row(r)?))
    })
    .and_then(|rows| rows.collect())
    .map_err(db_err)
}

#[async_trait]
impl Principals for SqliteGraphIndex {
    async fn add_token(&self, token: NewToken) -> Result<TokenInfo> {
        self.write(move |c| {
            upsert_token(c, &token)?;
            c.query_row(
                &format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE hash = ?1"),
                [&token.sha256],
                token_row,
            )
            .map_err(db_err)
        })
        .await
    }

    async fn ensure_user(&self, user: &str) -> Result<()> {
        let user = user.to_string();
        self.write(move |c| {
            c.execute(
                "INSERT OR IGNORE INTO users(id, created_at) VALUES (?1, ?2)",
                params![user, stored_time(now())],
            )
            .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn user_for_token(&self, token_sha256: &str) -> Result<Option<UserId>> {
        let hash = token_sha256.to_string();
        self.read(move |c| {
            c.prepare_cached(
                "SELECT user_id FROM tokens
                 WHERE hash = ?1 AND (expires_at IS NULL OR expires_at > ?2)",
            )
            .and_then(|mut s| {
                s.query_row(params![hash, stored_time(now())], |r| r.get(0))
                    .optional()
            })
            .map_err(db_err)
        })
        .await
    }

    async fn list_tokens(&self, user: Option<&str>) -> Result<Vec<TokenInfo>> {
        let user = user.map(str::to_string);
        self.read(move |c| {
            let mut s = c
                .prepare_cached(&format!(
                    "SELECT {TOKEN_COLUMNS} FROM tokens WHERE ?1 IS NULL OR user_id = ?1
                     ORDER BY created_at DESC, hash"
                ))
                .map_err(db_err)?;
            s.query_map([user], token_row)
                .and_then(|rows| rows.collect())
                .map_err(db_err)
        })
        .await
    }

    async fn revoke_token(&self, user: Option<&str>, id: &str) -> Result<TokenInfo> {
        let (user, id) = (user.map(str::to_string), id.to_string());
        self.write(move |c| {
            let found = tokens_with_id(c, user.as_deref(), &id)?;
            let [(hash, info)] = <[_; 1]>::try_from(found).map_err(|found| {
                if found.is_empty() {
                    Error::NotFound(format!("token {id}"))
                } else {
                    Error::InvalidInput(format!("token id {id} is ambiguous"))
                }
            })?;
            c.execute("DELETE FROM tokens WHERE hash = ?1", [hash])
                .map_err(db_err)?;
            Ok(info)
        })
        .await
    }

    async fn sync_file_tokens(&self, tokens: &[NewToken]) -> Result<(usize, usize)> {
        let tokens = tokens.to_vec();
        self.write(move |c| {
            let mut added = 0;
            for t in &tokens {
                added += upsert_token(c, t)? as usize;
            }
            let listed: Vec<&str> = tokens.iter().map(|t| t.sha256.as_str()).collect();
            let listed = serde_json::to_string(&listed).map_err(Error::internal)?;
            let removed = c
                .execute(
                    "DELETE FROM tokens WHERE source = 'file'
                     AND hash NOT IN (SELECT value FROM json_each(?1))",
                    [listed],
                )
                .map_err(db_err)?;
            Ok((added, removed))
        })
        .await
    }
}
