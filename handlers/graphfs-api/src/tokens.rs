//! A short-lived cache of token → user lookups, so that a request does not
//! cost a database round trip just to say who sent it.
//!
//! Only known tokens are cached, each for at most the TTL: a token removed
//! from the index stops working within the TTL, and a token added is usable
//! at once. The cache is bounded; when full, expired entries go first and
//! then everything (it refills from the index).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use graphfs_domain::{Principals, Result, UserId};

/// How long a looked-up token is trusted without asking the index again.
pub const TOKEN_CACHE_TTL: Duration = Duration::from_secs(5);
const MAX_CACHED: usize = 10_000;

pub struct TokenCache {
    ttl: Duration,
    max: usize,
    entries: Mutex<HashMap<String, (UserId, Instant)>>,
    /// Users signed in through the OIDC provider already recorded.
    remembered: Mutex<std::collections::HashSet<UserId>>,
}

impl Default for TokenCache {
    fn default() -> Self {
        TokenCache::new(TOKEN_CACHE_TTL)
    }
}

impl TokenCache {
    pub fn new(ttl: Duration) -> Self {
        TokenCache {
            ttl,
            max: MAX_CACHED,
            entries: Mutex::new(HashMap::new()),
            remembered: Mutex::new(Default::default()),
        }
    }

    /// Forgets every cached lookup: after a revocation this process stops
    /// honouring the token at once (other replicas within the TTL).
    pub fn clear(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.clear();
        }
    }

    /// Records a user signed in without a token here, once per process
    /// (bounded like the token cache).
    pub async fn remember_user(&self, principals: &dyn Principals, user: &str) -> Result<()> {
        if self.remembered.lock().is_ok_and(|r| r.contains(user)) {
            return Ok(());
        }
        principals.ensure_user(user).await?;
        if let Ok(mut r) = self.remembered.lock() {
            if r.len() >= self.max {
                r.clear();
            }
            r.insert(user.to_string());
        }
        Ok(())
    }

    /// The user a token hash belongs to, from the cache or the index.
    pub async fn user_for(
        &self,
        principals: &dyn Principals,
        token_sha256: &str,
    ) -> Result<Option<UserId>> {
        self.user_for_at(principals, token_sha256, Instant::now())
            .await
    }

    /// [`Self::user_for`] at a given instant (the clock is the caller's).
    async fn user_for_at(
        &self,
        principals: &dyn Principals,
        token_sha256: &str,
        now: Instant,
    ) -> Result<Option<UserId>> {
        if let Ok(entries) = self.entries.lock()
            && let Some((user, at)) = entries.get(token_sha256)
            && now.saturating_duration_since(*at) < self.ttl
        {
            return Ok(Some(user.clone()));
        }
        let found = principals.user_for_token(token_sha256).await?;
        if let Ok(mut entries) = self.entries.lock() {
            match &found {
                Some(user) => {
                    if entries.len() >= self.max {
                        let ttl = self.ttl;
                        entries.retain(|_, (_, at)| now.saturating_duration_since(*at) < ttl);
                        if entries.len() >= self.max {
                            entries.clear();
                        }
                    }
                    entries.insert(token_sha256.to_string(), (user.clone(), now));
                }
                None => {
                    entries.remove(token_sha256);
                }
            }
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use async_trait::async_trait;
    use graphfs_domain::{NewToken, TokenInfo, TokenSource};
    use graphfs_store_local::SqliteGraphIndex;

    use super::*;

    /// The real index, counting the lookups that reach it.
    struct Counted {
        index: SqliteGraphIndex,
        lookups: AtomicUsize,
    }

    #[async_trait]
    impl Principals for Counted {
        async fn add_token(&self, token: NewToken) -> Result<TokenInfo> {
            self.index.add_token(token).await
        }
        async fn ensure_user(&self, user: &str) -> Result<()> {
            self.lookups.fetch_add(1, Ordering::SeqCst);
            self.index.ensure_user(user).await
        }
        async fn user_for_token(&self, token_sha256: &str) -> Result<Option<UserId>> {
            self.lookups.fetch_add(1, Ordering::SeqCst);
            self.index.user_for_token(token_sha256).await
        }
        async fn list_tokens(&self, user: Option<&str>) -> Result<Vec<TokenInfo>> {
            self.index.list_tokens(user).await
        }
        async fn revoke_token(&self, user: Option<&str>, id: &str) -> Result<TokenInfo> {
            self.index.revoke_token(user, id).await
        }
        async fn sync_file_tokens(&self, tokens: &[NewToken]) -> Result<(usize, usize)> {
            self.index.sync_file_tokens(tokens).await
        }
    }

    async fn counted(dir: &tempfile::TempDir) -> Counted {
        Counted {
            index: SqliteGraphIndex::open(dir.path().join("g.db"))
                .await
                .unwrap(),
            lookups: AtomicUsize::new(0),
        }
    }

    fn token(user: &str, hash: &str) -> NewToken {
        NewToken {
            user: user.into(),
            sha256: hash.into(),
            label: String::new(),
            source: TokenSource::Cli,
            expires_at: None,
        }
    }

    #[tokio::test]
    async fn a_signed_in_user_is_recorded_once() {
        let dir = tempfile::tempdir().unwrap();
        let p = counted(&dir).await;
        let cache = TokenCache::default();
        for _ in 0..3 {
            cache.remember_user(&p, "oidc:carol").await.unwrap();
        }
        cache.remember_user(&p, "oidc:dave").await.unwrap();
        assert_eq!(p.lookups.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_known_token_is_looked_up_once_per_ttl() {
        let dir = tempfile::tempdir().unwrap();
        let p = counted(&dir).await;
        p.add_token(token("alice", "h1")).await.unwrap();
        let cache = TokenCache::new(Duration::from_secs(5));
        let t0 = Instant::now();
        for i in 0..10 {
            let at = t0 + Duration::from_millis(400 * i);
            assert_eq!(
                cache.user_for_at(&p, "h1", at).await.unwrap().as_deref(),
                Some("alice")
            );
        }
        assert_eq!(p.lookups.load(Ordering::SeqCst), 1);
        // Past the TTL the index is asked again.
        cache
            .user_for_at(&p, "h1", t0 + Duration::from_secs(6))
            .await
            .unwrap();
        assert_eq!(p.lookups.load(Ordering::SeqCst), 2);
        // Unknown tokens are not cached: one added later works at once.
        assert_eq!(cache.user_for_at(&p, "h2", t0).await.unwrap(), None);
        p.add_token(token("bob", "h2")).await.unwrap();
        assert_eq!(
            cache.user_for_at(&p, "h2", t0).await.unwrap().as_deref(),
            Some("bob")
        );
    }
}
