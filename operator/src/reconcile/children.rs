//! What the operator knows of the children it applied, so that the many
//! reconciles their status changes set off do not apply every child again.
//!
//! The watches that trigger reconciles also fill a [`ChildCache`]. A child is
//! applied again only when what the operator wants of it changed (its hash),
//! when it is gone from the cache, or when someone else changed it since the
//! operator's last apply; otherwise the cached object stands in for the apply's
//! answer. On a full sync (a spec change, the first reconcile after start, and
//! every [`super::PRUNE_EVERY`]) everything is applied regardless.

use std::collections::HashMap;
use std::sync::Mutex;

use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::Resource;
use kube::runtime::reflector::Store;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

/// The children of every GraphFS, as the owned-object watches last saw them.
#[derive(Clone)]
pub struct ChildCache {
    pub deployments: Store<Deployment>,
    pub statefulsets: Store<StatefulSet>,
    pub services: Store<Service>,
    pub ingresses: Store<Ingress>,
    pub pdbs: Store<PodDisruptionBudget>,
    pub network_policies: Store<NetworkPolicy>,
}

/// A kind of object a GraphFS owns.
pub trait Child:
    Resource<DynamicType = (), Scope = NamespaceResourceScope>
    + Clone
    + DeserializeOwned
    + Serialize
    + std::fmt::Debug
    + Send
    + Sync
    + 'static
{
    /// Whether the API server raises `metadata.generation` on spec changes
    /// only, so that a status update (a pod became ready) is not taken for
    /// someone else's edit. For the other kinds any new resourceVersion is.
    const GENERATION_TRACKS_SPEC: bool;

    fn store(cache: &ChildCache) -> &Store<Self>;
}

macro_rules! child {
    ($kind:ty, $field:ident, $generation:expr) => {
        impl Child for $kind {
            const GENERATION_TRACKS_SPEC: bool = $generation;
            fn store(cache: &ChildCache) -> &Store<Self> {
                &cache.$field
            }
        }
    };
}
child!(Deployment, deployments, true);
child!(StatefulSet, statefulsets, true);
child!(PodDisruptionBudget, pdbs, true);
// Services, Ingresses and NetworkPolicies are compared by resourceVersion:
// their status changes seldom, and an extra apply costs one no-op request.
child!(Service, services, false);
child!(Ingress, ingresses, false);
child!(NetworkPolicy, network_policies, false);

/// A digest of what the operator wants of a child.
pub fn spec_hash<K: Serialize>(obj: &K) -> String {
    let json = serde_json::to_vec(obj).unwrap_or_default();
    hex::encode(&Sha256::digest(&json)[..16])
}

/// One child as the operator's last apply left it.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    pub hash: String,
    pub generation: Option<i64>,
    pub resource_version: Option<String>,
}

impl Applied {
    pub fn of<K: Resource>(obj: &K, hash: String) -> Self {
        Applied {
            hash,
            generation: obj.meta().generation,
            resource_version: obj.meta().resource_version.clone(),
        }
    }

    /// Whether `cached` is still what this apply made of a child wanted as
    /// `hash`: nothing to apply.
    pub fn still<K: Child>(&self, cached: &K, hash: &str) -> bool {
        if self.hash != hash {
            return false;
        }
        if K::GENERATION_TRACKS_SPEC {
            self.generation.is_some() && cached.meta().generation == self.generation
        } else {
            self.resource_version.is_some()
                && cached.meta().resource_version == self.resource_version
        }
    }
}

/// The last apply of each child, by owner uid, then by "Kind name".
#[derive(Debug, Default)]
pub struct AppliedMemory(Mutex<HashMap<String, HashMap<String, Applied>>>);

impl AppliedMemory {
    pub fn get(&self, owner: &str, child: &str) -> Option<Applied> {
        let m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        m.get(owner)?.get(child).cloned()
    }

    pub fn record(&self, owner: &str, child: String, applied: Applied) {
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        m.entry(owner.to_string())
            .or_default()
            .insert(child, applied);
    }

    pub fn forget(&self, owner: &str) {
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        m.remove(owner);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::DeploymentSpec;

    fn deployment(generation: i64, rv: &str, replicas: i32) -> Deployment {
        let mut d = Deployment {
            spec: Some(DeploymentSpec {
                replicas: Some(replicas),
                ..Default::default()
            }),
            ..Default::default()
        };
        d.metadata.generation = Some(generation);
        d.metadata.resource_version = Some(rv.into());
        d
    }

    #[test]
    fn a_workload_whose_status_moved_is_not_applied_again() {
        let wanted = deployment(0, "", 2);
        let hash = spec_hash(&wanted);
        let applied = Applied::of(&deployment(1, "10", 2), hash.clone());
        // A kubelet reported ready replicas: new resourceVersion, same generation.
        assert!(applied.still(&deployment(1, "11", 2), &hash));
        // Someone scaled it by hand: the generation moved.
        assert!(!applied.still(&deployment(2, "12", 7), &hash));
        // The operator wants something else of it now.
        let other = spec_hash(&deployment(0, "", 3));
        assert_ne!(other, hash);
        assert!(!applied.still(&deployment(1, "11", 2), &other));
    }

    #[test]
    fn a_service_counts_any_new_version_as_someone_elses_change() {
        let svc = |rv: &str| {
            let mut s = Service::default();
            s.metadata.resource_version = Some(rv.into());
            s.metadata.generation = Some(1);
            s
        };
        let hash = spec_hash(&Service::default());
        let applied = Applied::of(&svc("5"), hash.clone());
        assert!(applied.still(&svc("5"), &hash));
        assert!(!applied.still(&svc("6"), &hash));
        // An apply whose answer carried no version proves nothing.
        let blank = Applied::of(&Service::default(), hash.clone());
        assert!(!blank.still(&Service::default(), &hash));
    }

    #[test]
    fn the_memory_is_kept_per_owner() {
        let m = AppliedMemory::default();
        let a = Applied::of(&deployment(1, "1", 1), "h".into());
        m.record("u1", "Deployment x".into(), a.clone());
        assert_eq!(m.get("u1", "Deployment x"), Some(a));
        assert_eq!(m.get("u2", "Deployment x"), None);
        m.forget("u1");
        assert_eq!(m.get("u1", "Deployment x"), None);
    }
}
