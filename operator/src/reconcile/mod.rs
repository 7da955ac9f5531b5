//! One reconciler per kind, each dereference → validate → build (pure,
//! `build`) → apply (server-side, one field manager) → status from the
//! children: `graphfs` and `pool`. What they share is here.

mod children;
mod graphfs;
mod pool;

use children::{Applied, spec_hash};
pub use children::{AppliedMemory, Child, ChildCache};

pub use graphfs::reconcile_graphfs;
pub use pool::reconcile_pool;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams,
};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::runtime::finalizer::{Event as Finalizer, finalizer};
use kube::runtime::reflector::ObjectRef;
use kube::{Client, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::build::{self, Names};
use crate::crd::{
    Condition, GraphFS, GraphFSStatus, PAUSE_ANNOTATION, Retention, TaggerPool, TaggerPoolStatus,
};
use crate::queue::QueueSource;
use crate::scaling::{self, ScalingMemory};

pub const FIELD_MANAGER: &str = "graphfs-operator";
pub const FINALIZER: &str = "graphfs.io/retention";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("{0}")]
    Build(#[from] build::BuildError),
    #[error("finalizer: {0}")]
    Finalizer(Box<kube::runtime::finalizer::Error<Error>>),
    /// A spec the API server accepted but that cannot work; waits for a change.
    #[error("invalid spec: {0}")]
    Invalid(String),
}

pub struct Context {
    pub client: Client,
    pub reporter: Reporter,
    pub queue: Arc<dyn QueueSource>,
    pub metrics: Arc<crate::metrics::Metrics>,
    pub prunes: PruneMemory,
    /// The owned-object watches' view of the children.
    pub children: ChildCache,
    pub applied: AppliedMemory,
}

/// How long a GraphFS goes without its children being pruned while its
/// spec stays the same.
pub const PRUNE_EVERY: Duration = Duration::from_secs(600);

/// When each GraphFS's children were last fully synced, by uid, and at which
/// generation. A full sync applies every child, checks the generated Secrets
/// and prunes, which lists every kind of child; so it runs when the spec
/// changed, on the first reconcile after the operator starts (a newer
/// operator may want fewer children) and every [`PRUNE_EVERY`], not on each
/// of the reconciles that the children's status changes set off.
#[derive(Debug, Default)]
pub struct PruneMemory(Mutex<HashMap<String, (Option<i64>, Instant)>>);

impl PruneMemory {
    pub fn due(&self, uid: &str, generation: Option<i64>, now: Instant) -> bool {
        let seen = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match seen.get(uid) {
            Some((g, at)) => *g != generation || now.duration_since(*at) >= PRUNE_EVERY,
            None => true,
        }
    }

    pub fn done(&self, uid: &str, generation: Option<i64>, now: Instant) {
        let mut seen = self.0.lock().unwrap_or_else(|e| e.into_inner());
        seen.insert(uid.to_string(), (generation, now));
    }

    pub fn forget(&self, uid: &str) {
        let mut seen = self.0.lock().unwrap_or_else(|e| e.into_inner());
        seen.remove(uid);
    }
}

fn condition(
    type_: &str,
    ok: bool,
    reason: &str,
    message: impl Into<String>,
    generation: Option<i64>,
) -> Condition {
    Condition {
        type_: type_.into(),
        status: if ok { "True" } else { "False" }.into(),
        reason: reason.into(),
        message: message.into(),
        last_transition_time: Utc::now().to_rfc3339(),
        observed_generation: generation,
    }
}

/// Keeps the transition time of conditions whose status did not change.
pub fn merge_conditions(old: &[Condition], new: Vec<Condition>) -> Vec<Condition> {
    new.into_iter()
        .map(|mut c| {
            if let Some(prev) = old.iter().find(|o| o.type_ == c.type_)
                && prev.status == c.status
            {
                c.last_transition_time = prev.last_transition_time.clone();
            }
            c
        })
        .collect()
}

/// Gateway API HTTPRoute, addressed untyped.
pub fn http_route_resource() -> ApiResource {
    ApiResource {
        group: "gateway.networking.k8s.io".into(),
        version: "v1".into(),
        api_version: "gateway.networking.k8s.io/v1".into(),
        kind: "HTTPRoute".into(),
        plural: "httproutes".into(),
    }
}

async fn apply<K>(api: &Api<K>, obj: &K) -> Result<K, kube::Error>
where
    K: Resource + Clone + DeserializeOwned + Serialize + std::fmt::Debug,
{
    let name = obj.meta().name.clone().unwrap_or_default();
    api.patch(
        &name,
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(obj),
    )
    .await
}

fn names_of<'a, K: Resource + 'a>(objs: impl Iterator<Item = &'a K>) -> BTreeSet<String> {
    objs.filter_map(|o| o.meta().name.clone()).collect()
}

/// Whether the object carries an owner reference to the resource with `uid`.
pub fn owned_by(meta: &ObjectMeta, uid: &str) -> bool {
    !uid.is_empty() && meta.owner_references.iter().flatten().any(|o| o.uid == uid)
}

/// Applies `obj` unless an object of its name exists that the owner `uid` did
/// not create: that one is left alone and named in `foreign`.
async fn apply_owned<K>(
    api: &Api<K>,
    obj: &K,
    uid: &str,
    foreign: &mut Vec<String>,
) -> Result<Option<K>, Error>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Serialize + std::fmt::Debug,
{
    let name = obj.meta().name.clone().unwrap_or_default();
    if let Some(existing) = api.get_opt(&name).await?
        && !owned_by(existing.meta(), uid)
    {
        tracing::warn!(kind = %K::kind(&()), %name, "an object of this name belongs to someone else; leaving it alone");
        foreign.push(format!("{} {name}", K::kind(&())));
        return Ok(None);
    }
    Ok(Some(apply(api, obj).await?))
}

/// Deletes the objects of one kind that the owner `uid` created for the
/// instance `instance` and no longer wants; returns "Kind name" of each.
async fn prune<K>(
    api: &Api<K>,
    instance: &str,
    uid: &str,
    keep: &BTreeSet<String>,
) -> Result<Vec<String>, Error>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug,
{
    let lp = ListParams::default().labels(&format!(
        "app.kubernetes.io/instance={instance},app.kubernetes.io/managed-by={}",
        build::MANAGED_BY
    ));
    let mut gone = Vec::new();
    for o in api.list(&lp).await? {
        let name = o.name_any();
        if owned_by(o.meta(), uid) && !keep.contains(&name) {
            tracing::info!(kind = %K::kind(&()), %name, "pruning a child the spec no longer asks for");
            match api.delete(&name, &DeleteParams::background()).await {
                Ok(_) => gone.push(format!("{} {name}", K::kind(&()))),
                Err(kube::Error::Api(ae)) if ae.code == 404 => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(gone)
}

async fn publish<K: Resource<DynamicType = ()>>(
    ctx: &Context,
    obj: &K,
    type_: EventType,
    reason: &str,
    note: String,
) {
    let recorder = Recorder::new(ctx.client.clone(), ctx.reporter.clone());
    let ev = Event {
        type_,
        reason: reason.into(),
        note: Some(note),
        action: "Reconcile".into(),
        secondary: None,
    };
    if let Err(e) = recorder.publish(&ev, &obj.object_ref(&())).await {
        tracing::warn!(error = %e, "could not publish event");
    }
}

/// Invalid specs wait for a change; anything else backs off and retries.
pub fn error_policy<K>(_obj: Arc<K>, err: &Error, ctx: Arc<Context>) -> Action {
    ctx.metrics.failed();
    retry_action(err)
}

/// What follows a failed reconcile: an invalid spec waits for a change,
/// anything else is retried.
pub fn retry_action(err: &Error) -> Action {
    match err {
        Error::Invalid(_) => Action::await_change(),
        _ => {
            tracing::warn!(error = %err, "reconcile failed; retrying");
            Action::requeue(Duration::from_secs(10))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::graphfs::unwrap_finalizer_error;
    use super::*;

    #[test]
    fn an_invalid_spec_out_of_the_finalizer_waits_for_a_change() {
        use kube::runtime::finalizer::Error as F;
        let invalid =
            unwrap_finalizer_error(F::ApplyFailed(Error::Invalid("no Gateway API".into())));
        assert!(matches!(invalid, Error::Invalid(_)), "{invalid:?}");
        assert_eq!(retry_action(&invalid), Action::await_change());
        let cleanup = unwrap_finalizer_error(F::CleanupFailed(Error::Invalid("x".into())));
        assert_eq!(retry_action(&cleanup), Action::await_change());
        // The helper's own failures (e.g. adding the finalizer) are retried.
        let own = Error::Finalizer(Box::new(F::UnnamedObject));
        assert_eq!(retry_action(&own), Action::requeue(Duration::from_secs(10)));
    }

    #[test]
    fn only_an_owner_reference_with_the_uid_makes_an_object_ours() {
        let mut meta = ObjectMeta::default();
        assert!(!owned_by(&meta, "u1"));
        meta.owner_references = Some(vec![
            k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference {
                uid: "u2".into(),
                ..Default::default()
            },
        ]);
        assert!(!owned_by(&meta, "u1"));
        assert!(owned_by(&meta, "u2"));
        // An object without a uid (not yet created) owns nothing.
        assert!(!owned_by(&meta, ""));
    }

    #[test]
    fn unchanged_conditions_keep_their_transition_time() {
        let old = vec![Condition {
            type_: "Ready".into(),
            status: "True".into(),
            reason: "Ready".into(),
            message: String::new(),
            last_transition_time: "2026-01-01T00:00:00Z".into(),
            observed_generation: Some(1),
        }];
        let same = merge_conditions(&old, vec![condition("Ready", true, "Ready", "ok", Some(2))]);
        assert_eq!(same[0].last_transition_time, "2026-01-01T00:00:00Z");
        let flipped = merge_conditions(
            &old,
            vec![condition("Ready", false, "NotReady", "no", Some(2))],
        );
        assert_ne!(flipped[0].last_transition_time, "2026-01-01T00:00:00Z");
    }

    #[test]
    fn children_are_pruned_when_the_spec_changed_or_after_a_while() {
        let memory = PruneMemory::default();
        let t0 = Instant::now();
        assert!(memory.due("u1", Some(1), t0), "never pruned");
        memory.done("u1", Some(1), t0);
        assert!(!memory.due("u1", Some(1), t0 + Duration::from_secs(5)));
        assert!(
            memory.due("u1", Some(2), t0 + Duration::from_secs(5)),
            "spec changed"
        );
        assert!(memory.due("u1", Some(1), t0 + PRUNE_EVERY), "a while since");
        assert!(memory.due("u2", Some(1), t0), "another GraphFS");
        memory.forget("u1");
        assert!(memory.due("u1", Some(1), t0));
    }
}
