//! Users and token hashes ([`Principals`]): a `Token` node per hash, `OF`
//! its user. Times are stored as text (`stored_time`), so expiry compares
//! as text against the caller's clock.

#[allow(unused_imports)]
use super::*;
use graphfs_domain::{NewToken, TokenInfo, TokenSource, token_id};

/// The columns every token query returns, from a token bound to `k`.
const TOKEN_FIELDS: &str = "k.hash AS hash, k.user AS user, coalesce(k.label, '') AS label,
     coalesce(k.source, 'cli') AS source, k.created_at AS created_at, k.expires_at AS expires_at";

/// Sets a token bound to `k` (merged by hash) from `$t` and links it to
/// its user, as one Cypher fragment shared by adding and syncing.
const SET_TOKEN: &str = "MERGE (u:User {id: t.user}) ON CREATE SET u.created_at = $now
     MERGE (k:Token {hash: t.hash})
     ON CREATE SET k.created_at = $now, k.added = true
     SET k.user = t.user, k.id = t.id, k.label = t.label, k.source = t.source,
         k.expires_at = t.expires_at
     WITH u, k OPTIONAL MATCH (k)-[o:OF]->(other) WHERE other <> u DELETE o
     WITH u, k MERGE (k)-[:OF]->(u)";

fn token_from(row: &Row) -> Result<TokenInfo> {
    let hash: String = row.get("hash").map_err(de_err)?;
    let expires: Option<String> = row.get("expires_at").map_err(de_err)?;
    let created: Option<String> = row.get("created_at").map_err(de_err)?;
    Ok(TokenInfo {
        id: token_id(&hash),
        user: row.get("user").map_err(de_err)?,
        label: row.get("label").map_err(de_err)?,
        source: TokenSource::parse(&row.get::<String>("source").map_err(de_err)?),
        created_at: parse_stored_time(created.as_deref().unwrap_or_default()),
        expires_at: expires.as_deref().map(parse_stored_time),
    })
}

/// A token as the `t` map [`SET_TOKEN`] reads.
fn token_param(t: &NewToken) -> neo4rs::BoltType {
    let mut m = std::collections::HashMap::<String, neo4rs::BoltType>::new();
    m.insert("hash".into(), t.sha256.clone().into());
    m.insert("id".into(), token_id(&t.sha256).into());
    m.insert("user".into(), t.user.clone().into());
    m.insert("label".into(), t.label.clone().into());
    m.insert("source".into(), t.source.as_str().into());
    m.insert("expires_at".into(), t.expires_at.map(stored_time).into());
    m.into()
}

#[async_trait]
impl Principals for Neo4jGraphIndex {
    async fn add_token(&self, token: NewToken) -> Result<TokenInfo> {
        let rows = self
            .rows(
                query(&format!(
                    "WITH $t AS t {SET_TOKEN} REMOVE k.added RETURN {TOKEN_FIELDS}"
                ))
                .param("t", token_param(&token))
                .param("now", stored_time(Utc::now())),
            )
            .await?;
        rows.first()
            .map(token_from)
            .unwrap_or_else(|| Err(Error::internal("a token write returned nothing")))
    }

    async fn ensure_user(&self, user: &str) -> Result<()> {
        self.graph
            .run(
                query("MERGE (u:User {id: $user}) ON CREATE SET u.created_at = $now")
                    .param("user", user)
                    .param("now", stored_time(Utc::now())),
            )
            .await
            .map_err(db_err)
    }

    async fn user_for_token(&self, token_sha256: &str) -> Result<Option<UserId>> {
        let rows = self
            .rows(
                query(
                    "MATCH (k:Token {hash: $hash})
                     WHERE k.expires_at IS NULL OR k.expires_at > $now
                     RETURN k.user AS user",
                )
                .param("hash", token_sha256)
                .param("now", stored_time(Utc::now())),
            )
            .await?;
        rows.first()
            .map(|r| r.get::<String>("user").map_err(de_err))
            .transpose()
    }

    async fn list_tokens(&self, user: Option<&str>) -> Result<Vec<TokenInfo>> {
        let rows = self
            .rows(
                query(&format!(
                    "MATCH (k:Token) WHERE $user IS NULL OR k.user = $user
                     RETURN {TOKEN_FIELDS} ORDER BY created_at DESC, hash"
                ))
                .param("user", user.map(str::to_string)),
            )
            .await?;
        rows.iter().map(token_from).collect()
    }

    async fn revoke_token(&self, user: Option<&str>, id: &str) -> Result<TokenInfo> {
        retry_transient(|| async {
            let mut txn = self.graph.start_txn().await.map_err(db_err)?;
            let found = txn_rows(
                &mut txn,
                query(&format!(
                    "MATCH (k:Token) WHERE substring(k.hash, 0, 12) = $id
                       AND ($user IS NULL OR k.user = $user)
                     SET k.locked = true
                     RETURN {TOKEN_FIELDS}"
                ))
                .param("id", id)
                .param("user", user.map(str::to_string)),
            )
            .await?;
            let info = match found.as_slice() {
                [one] => token_from(one)?,
                [] => return Err(Error::NotFound(format!("token {id}"))),
                _ => return Err(Error::InvalidInput(format!("token id {id} is ambiguous"))),
            };
            txn_rows(
                &mut txn,
                query("MATCH (k:Token {hash: $hash}) DETACH DELETE k")
                    .param("hash", found[0].get::<String>("hash").map_err(de_err)?),
            )
            .await?;
            txn.commit().await.map_err(db_err)?;
            Ok(info)
        })
        .await
    }

    async fn sync_file_tokens(&self, tokens: &[NewToken]) -> Result<(usize, usize)> {
        let listed: Vec<neo4rs::BoltType> = tokens.iter().map(token_param).collect();
        let hashes: Vec<String> = tokens.iter().map(|t| t.sha256.clone()).collect();
        retry_transient(|| async {
            let mut txn = self.graph.start_txn().await.map_err(db_err)?;
            let rows = txn_rows(
                &mut txn,
                query(&format!(
                    "UNWIND $tokens AS t {SET_TOKEN}
                     WITH k, coalesce(k.added, false) AS added REMOVE k.added
                     RETURN count(CASE WHEN added THEN 1 END) AS added"
                ))
                .param("tokens", listed.clone())
                .param("now", stored_time(Utc::now())),
            )
            .await?;
            let added = match rows.first() {
                Some(r) => r.get::<i64>("added").map_err(de_err)?,
                None => 0,
            };
            let rows = txn_rows(
                &mut txn,
                query(
                    "MATCH (k:Token {source: 'file'}) WHERE NOT k.hash IN $hashes
                     DETACH DELETE k RETURN count(*) AS removed",
                )
                .param("hashes", hashes.clone()),
            )
            .await?;
            let removed = match rows.first() {
                Some(r) => r.get::<i64>("removed").map_err(de_err)?,
                None => 0,
            };
            txn.commit().await.map_err(db_err)?;
            Ok((added as usize, removed as usize))
        })
        .await
    }
}
