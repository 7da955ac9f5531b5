//! Users and the API tokens that name them. Only a token's SHA-256 is
//! stored; a token is listed and revoked by its id, the first 12 hex digits
//! of that hash, which says nothing of the token itself.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Result, UserId};

/// Where a token came from, which says how it goes away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TokenSource {
    /// Created by its user through the API or the page.
    Api,
    /// Created by an operator with `graphfs token`.
    Cli,
    /// Listed in the tokens file (a mounted Secret in a cluster); removed
    /// when it leaves the file.
    File,
    /// The development server's own token.
    Dev,
}

impl TokenSource {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenSource::Api => "api",
            TokenSource::Cli => "cli",
            TokenSource::File => "file",
            TokenSource::Dev => "dev",
        }
    }

    /// The source a backend stored; tokens from before sources were kept
    /// were made by `graphfs token`.
    pub fn parse(s: &str) -> TokenSource {
        match s {
            "api" => TokenSource::Api,
            "file" => TokenSource::File,
            "dev" => TokenSource::Dev,
            _ => TokenSource::Cli,
        }
    }
}

/// A token as it is listed: never the token itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TokenInfo {
    /// Names the token for revoking: the first 12 hex digits of its SHA-256.
    pub id: String,
    pub user: UserId,
    /// What its owner called it ("laptop", "backup script").
    pub label: String,
    pub source: TokenSource,
    pub created_at: DateTime<Utc>,
    /// After this the token signs no one in; absent: it does not expire.
    pub expires_at: Option<DateTime<Utc>>,
}

/// A token to register, by the hash of its secret.
#[derive(Debug, Clone, PartialEq)]
pub struct NewToken {
    pub user: UserId,
    pub sha256: String,
    pub label: String,
    pub source: TokenSource,
    pub expires_at: Option<DateTime<Utc>>,
}

/// The longest life a token can be given, in days (ten years).
pub const MAX_TOKEN_DAYS: u32 = 3650;

/// When a token made at `now` to last `days` expires: never without a
/// number of days, `None` (an error) outside 1 to [`MAX_TOKEN_DAYS`].
pub fn token_expiry(days: Option<u32>, now: DateTime<Utc>) -> Option<Option<DateTime<Utc>>> {
    match days {
        None => Some(None),
        Some(d @ 1..=MAX_TOKEN_DAYS) => Some(Some(now + chrono::Duration::days(d.into()))),
        Some(_) => None,
    }
}

/// The id a token is listed and revoked by.
pub fn token_id(sha256: &str) -> String {
    sha256.chars().take(12).collect()
}

#[async_trait]
pub trait Principals: Send + Sync + 'static {
    /// Creates the user if missing and registers a token (again: the same
    /// hash is updated, not doubled).
    async fn add_token(&self, token: NewToken) -> Result<TokenInfo>;
    /// Records that a user exists (one signed in through the OIDC
    /// provider, who has no token here), so files can be shared with them.
    async fn ensure_user(&self, user: &str) -> Result<()>;
    /// The user a token hash signs in: none when it is unknown or expired.
    async fn user_for_token(&self, token_sha256: &str) -> Result<Option<UserId>>;
    /// The tokens of `user`, or of everyone, newest first.
    async fn list_tokens(&self, user: Option<&str>) -> Result<Vec<TokenInfo>>;
    /// Removes the token with this id (only `user`'s, when given);
    /// `NotFound` when there is none.
    async fn revoke_token(&self, user: Option<&str>, id: &str) -> Result<TokenInfo>;
    /// Makes the tokens from the tokens file exactly `tokens` (each of
    /// source `File`): new ones are added, ones no longer listed removed,
    /// tokens from elsewhere untouched. Returns (added, removed).
    async fn sync_file_tokens(&self, tokens: &[NewToken]) -> Result<(usize, usize)>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_lives_are_bounded() {
        let now = Utc::now();
        assert_eq!(token_expiry(None, now), Some(None));
        assert_eq!(
            token_expiry(Some(30), now),
            Some(Some(now + chrono::Duration::days(30)))
        );
        assert_eq!(token_expiry(Some(0), now), None);
        assert_eq!(token_expiry(Some(MAX_TOKEN_DAYS + 1), now), None);
    }
}
