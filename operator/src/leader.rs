//! Leader election on a coordination.k8s.io Lease, so that two operator
//! replicas never reconcile at once. The holder renews the lease; others
//! take it over only after it lapses.

use std::time::Duration;

use chrono::Utc;
use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;
use kube::api::PostParams;

pub struct LeaderElector {
    pub api: Api<Lease>,
    pub name: String,
    pub identity: String,
    pub lease_duration: Duration,
}

fn micro_time_now() -> serde_json::Value {
    serde_json::json!(Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
}

impl LeaderElector {
    /// Tries once to become or stay leader. `Ok(true)` when we hold the lease.
    pub async fn try_acquire(&self) -> Result<bool, kube::Error> {
        let now = Utc::now();
        let secs = i32::try_from(self.lease_duration.as_secs()).unwrap_or(15);
        let Some(current) = self.api.get_opt(&self.name).await? else {
            let lease: Lease = serde_json::from_value(serde_json::json!({
                "metadata": { "name": self.name },
                "spec": {
                    "holderIdentity": self.identity,
                    "leaseDurationSeconds": secs,
                    "acquireTime": micro_time_now(),
                    "renewTime": micro_time_now(),
                    "leaseTransitions": 0,
                }
            }))
            .map_err(kube::Error::SerdeError)?;
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(e)) if e.code == 409 => Ok(false),
                Err(e) => Err(e),
            };
        };
        let spec = current.spec.clone().unwrap_or_default();
        let holder = spec.holder_identity.clone().unwrap_or_default();
        let renewed = spec
            .renew_time
            .as_ref()
            .and_then(|t| serde_json::to_value(t).ok())
            .and_then(|v| {
                v.as_str()
                    .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
            })
            .map(|t| t.with_timezone(&Utc));
        let duration = i64::from(spec.lease_duration_seconds.unwrap_or(secs));
        let lapsed = renewed.is_none_or(|t| (now - t).num_seconds() >= duration);
        if holder != self.identity && !holder.is_empty() && !lapsed {
            return Ok(false);
        }
        let transitions = spec.lease_transitions.unwrap_or(0) + i32::from(holder != self.identity);
        let mut value = serde_json::json!({
            "metadata": { "name": self.name, "resourceVersion": current.metadata.resource_version },
            "spec": {
                "holderIdentity": self.identity,
                "leaseDurationSeconds": secs,
                "renewTime": micro_time_now(),
                "leaseTransitions": transitions,
            }
        });
        value["spec"]["acquireTime"] = if holder == self.identity {
            spec.acquire_time
                .as_ref()
                .and_then(|t| serde_json::to_value(t).ok())
                .unwrap_or_else(micro_time_now)
        } else {
            micro_time_now()
        };
        let lease: Lease = serde_json::from_value(value).map_err(kube::Error::SerdeError)?;
        // Replace with the read resourceVersion: if another replica renewed
        // meanwhile, this conflicts and we stay a follower.
        match self
            .api
            .replace(&self.name, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(e)) if e.code == 409 => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Waits until this replica leads.
    pub async fn acquire(&self) {
        let mut announced = false;
        loop {
            match self.try_acquire().await {
                Ok(true) => return,
                Ok(false) => {
                    if !announced {
                        tracing::info!(lease = %self.name, "another replica leads; standing by");
                        announced = true;
                    }
                }
                Err(e) => tracing::warn!(error = %e, "leader election failed; retrying"),
            }
            tokio::time::sleep(self.lease_duration / 3).await;
        }
    }

    /// Renews until renewal fails for longer than the lease; then returns,
    /// and the caller must stop acting as leader.
    pub async fn keep(&self) {
        let mut last_ok = tokio::time::Instant::now();
        loop {
            tokio::time::sleep(self.lease_duration / 3).await;
            match self.try_acquire().await {
                Ok(true) => last_ok = tokio::time::Instant::now(),
                Ok(false) => {
                    tracing::error!("lost the leader lease to another replica");
                    return;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "lease renewal failed");
                    if last_ok.elapsed() > self.lease_duration {
                        return;
                    }
                }
            }
        }
    }
}
