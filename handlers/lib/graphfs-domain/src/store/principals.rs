//! Users and the API tokens that name them.

use async_trait::async_trait;

use crate::{Result, UserId};

#[async_trait]
pub trait Principals: Send + Sync + 'static {
    /// Creates the user if missing and registers the hash of a bearer token.
    async fn add_token(&self, user: &str, token_sha256: &str) -> Result<()>;
    /// The user a token hash belongs to, if any.
    async fn user_for_token(&self, token_sha256: &str) -> Result<Option<UserId>>;
}
