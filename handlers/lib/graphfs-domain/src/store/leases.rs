//! Named leases: work that one process of a deployment should do at a time
//! (the orphan sweep), whichever replica that is.

use std::time::Duration;

use async_trait::async_trait;

use crate::Result;

/// The longest lease: longer ones are cut to it, so that expiry times
/// stay ordinary dates.
pub const MAX_LEASE: Duration = Duration::from_secs(365 * 24 * 3600);

#[async_trait]
pub trait Leases: Send + Sync + 'static {
    /// Takes `name` for `holder`, or renews it, until `ttl` (at most
    /// [`MAX_LEASE`]) from now; false
    /// while another holder's lease runs. Expiry is judged by the backend's
    /// clock, so replicas whose clocks differ still agree.
    async fn acquire_lease(&self, name: &str, holder: &str, ttl: Duration) -> Result<bool>;
    /// Gives `name` up, if `holder` holds it, so another may take it at once.
    async fn release_lease(&self, name: &str, holder: &str) -> Result<()>;
}
