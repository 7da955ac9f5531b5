//! The two reconcilers: dereference → validate → build (pure, `build`) →
//! apply (server-side, one field manager) → status from the children.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Secret, Service};
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams,
};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::runtime::finalizer::{Event as Finalizer, finalizer};
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

// ---------------------------------------------------------------- GraphFS

pub async fn reconcile_graphfs(gfs: Arc<GraphFS>, ctx: Arc<Context>) -> Result<Action, Error> {
    let ns = gfs.namespace().unwrap_or_default();
    let api: Api<GraphFS> = Api::namespaced(ctx.client.clone(), &ns);
    ctx.metrics.reconciled("GraphFS");
    finalizer(&api, FINALIZER, gfs, |event| async {
        match event {
            Finalizer::Apply(g) => apply_graphfs(&g, &ctx).await,
            Finalizer::Cleanup(g) => cleanup_graphfs(&g, &ctx).await,
        }
    })
    .await
    .map_err(unwrap_finalizer_error)
}

/// The reconciler's own errors come back out of the finalizer helper, so that
/// `error_policy` can tell an invalid spec (wait for a change) from a
/// transient failure (retry).
fn unwrap_finalizer_error(e: kube::runtime::finalizer::Error<Error>) -> Error {
    use kube::runtime::finalizer::Error as F;
    match e {
        F::ApplyFailed(e) | F::CleanupFailed(e) => e,
        other => Error::Finalizer(Box::new(other)),
    }
}

/// Checks what CEL cannot: references to Secrets that must exist.
async fn validate_graphfs(gfs: &GraphFS, secrets: &Api<Secret>) -> Result<(), Error> {
    let mut wanted = Vec::new();
    if let Some(e) = &gfs.spec.storage.external {
        wanted.push((
            "storage.external.credentialsSecret",
            e.credentials_secret.clone(),
        ));
    }
    if let Some(e) = &gfs.spec.graph.external {
        wanted.push((
            "graph.external.credentialsSecret",
            e.credentials_secret.clone(),
        ));
    }
    if let Some(t) = &gfs.spec.auth.tokens_secret {
        wanted.push(("auth.tokensSecret", t.clone()));
    }
    for (field, name) in wanted {
        if secrets.get_opt(&name).await?.is_none() {
            return Err(Error::Invalid(format!(
                "{field}: Secret '{name}' does not exist"
            )));
        }
    }
    Ok(())
}

fn random_secret() -> String {
    use rand::RngCore;
    let mut b = [0u8; 24];
    rand::rng().fill_bytes(&mut b);
    hex::encode(b)
}

/// Applies the children; a spec that cannot work is reported on the status
/// (Ready=False, InvalidSpec) and in an event, and then waits for a change.
async fn apply_graphfs(gfs: &GraphFS, ctx: &Context) -> Result<Action, Error> {
    match apply_graphfs_children(gfs, ctx).await {
        Err(Error::Invalid(msg)) => {
            report_invalid(gfs, ctx, &msg).await?;
            Err(Error::Invalid(msg))
        }
        other => other,
    }
}

async fn report_invalid(gfs: &GraphFS, ctx: &Context, msg: &str) -> Result<(), Error> {
    let generation = gfs.metadata.generation;
    let api_ready = gfs
        .status
        .as_ref()
        .map(|s| s.api_ready_replicas)
        .unwrap_or(0);
    set_graphfs_status(
        gfs,
        ctx,
        api_ready,
        vec![condition(
            "Ready",
            false,
            "InvalidSpec",
            msg.to_string(),
            generation,
        )],
    )
    .await?;
    publish(ctx, gfs, EventType::Warning, "InvalidSpec", msg.to_string()).await;
    Ok(())
}

async fn apply_graphfs_children(gfs: &GraphFS, ctx: &Context) -> Result<Action, Error> {
    let ns = gfs.namespace().unwrap_or_default();
    let client = ctx.client.clone();
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    let generation = gfs.metadata.generation;

    if let Err(e) = validate_graphfs(gfs, &secrets).await {
        if let Error::Invalid(msg) = &e {
            report_invalid(gfs, ctx, msg).await?;
            // A Secret created later is no change of the GraphFS (nor of its
            // children): look again after a while.
            return Ok(Action::requeue(Duration::from_secs(300)));
        }
        return Err(e);
    }

    // Generated credentials: created once, never overwritten.
    for s in build::generated_secrets(gfs, &mut random_secret)? {
        let name = s.metadata.name.clone().unwrap_or_default();
        if secrets.get_opt(&name).await?.is_none() {
            match secrets.create(&PostParams::default(), &s).await {
                Ok(_) => {
                    publish(
                        ctx,
                        gfs,
                        EventType::Normal,
                        "SecretCreated",
                        format!("generated Secret {name}"),
                    )
                    .await
                }
                Err(kube::Error::Api(ae)) if ae.code == 409 => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    let children = build::graphfs_children(gfs)?;
    let uid = gfs.uid().unwrap_or_default();
    let name = gfs.name_any();
    let n = Names::new(&name);
    // Objects of a child's name that this GraphFS did not create: left alone.
    let mut foreign: Vec<String> = Vec::new();

    let sts_api: Api<StatefulSet> = Api::namespaced(client.clone(), &ns);
    let mut sts_status = BTreeMap::new();
    for s in &children.statefulsets {
        if let Some(applied) = apply_owned(&sts_api, s, &uid, &mut foreign).await? {
            let ready = applied
                .status
                .as_ref()
                .and_then(|st| st.ready_replicas)
                .unwrap_or(0);
            sts_status.insert(applied.name_any(), ready);
        }
    }
    let svc_api: Api<Service> = Api::namespaced(client.clone(), &ns);
    for s in &children.services {
        apply_owned(&svc_api, s, &uid, &mut foreign).await?;
    }
    let np_api: Api<NetworkPolicy> = Api::namespaced(client.clone(), &ns);
    for p in &children.network_policies {
        apply_owned(&np_api, p, &uid, &mut foreign).await?;
    }
    let dep_api: Api<Deployment> = Api::namespaced(client.clone(), &ns);
    let mut api_available = 0;
    let mut api_wanted = 0;
    for d in &children.deployments {
        api_wanted = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0);
        if let Some(applied) = apply_owned(&dep_api, d, &uid, &mut foreign).await? {
            api_available = applied
                .status
                .as_ref()
                .and_then(|s| s.available_replicas)
                .unwrap_or(0);
        }
    }
    let pdb_api = Api::<PodDisruptionBudget>::namespaced(client.clone(), &ns);
    if let Some(pdb) = &children.pdb {
        apply_owned(&pdb_api, pdb, &uid, &mut foreign).await?;
    }
    let ing_api: Api<Ingress> = Api::namespaced(client.clone(), &ns);
    if let Some(i) = &children.ingress {
        apply_owned(&ing_api, i, &uid, &mut foreign).await?;
    }

    // What the spec no longer asks for (managed storage switched to an
    // external one, the Ingress or PDB turned off) goes; only objects this
    // GraphFS owns are candidates.
    let keep_sts = names_of(children.statefulsets.iter());
    let keep_svc = names_of(children.services.iter());
    let keep_np = names_of(children.network_policies.iter());
    let keep_dep = names_of(children.deployments.iter());
    let keep_pdb = names_of(children.pdb.iter());
    let keep_ing = names_of(children.ingress.iter());
    let mut pruned = Vec::new();
    pruned.extend(prune(&sts_api, &name, &uid, &keep_sts).await?);
    pruned.extend(prune(&svc_api, &name, &uid, &keep_svc).await?);
    pruned.extend(prune(&np_api, &name, &uid, &keep_np).await?);
    pruned.extend(prune(&dep_api, &name, &uid, &keep_dep).await?);
    pruned.extend(prune(&pdb_api, &name, &uid, &keep_pdb).await?);
    pruned.extend(prune(&ing_api, &name, &uid, &keep_ing).await?);
    for p in &pruned {
        publish(
            ctx,
            gfs,
            EventType::Normal,
            "Pruned",
            format!("deleted {p}: the spec no longer asks for it"),
        )
        .await;
    }

    let route_api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), &ns, &http_route_resource());
    match &children.http_route {
        Some(route) => {
            let obj: DynamicObject = serde_json::from_value(route.clone())
                .map_err(|e| Error::Invalid(format!("HTTPRoute: {e}")))?;
            let existing = match route_api.get_opt(&n.api()).await {
                Ok(o) => o,
                // No Gateway API in this cluster: say so and wait for a change.
                Err(kube::Error::Api(ae)) if ae.code == 404 => {
                    return Err(Error::Invalid(
                        "spec.ingress.gateway is set but this cluster has no Gateway API (HTTPRoute)".into(),
                    ));
                }
                Err(e) => return Err(e.into()),
            };
            match existing {
                Some(o) if !owned_by(&o.metadata, &uid) => {
                    foreign.push(format!("HTTPRoute {}", n.api()));
                }
                _ => {
                    apply(&route_api, &obj).await?;
                }
            }
        }
        None => {
            if let Ok(Some(o)) = route_api.get_opt(&n.api()).await
                && owned_by(&o.metadata, &uid)
            {
                route_api.delete(&n.api(), &DeleteParams::default()).await?;
            }
        }
    }

    // Status from the children's real status.
    let backend = |managed: bool, sts: String, what: &str| -> Condition {
        if !managed {
            return condition(
                &format!("{what}Ready"),
                true,
                "External",
                "an external endpoint is configured",
                generation,
            );
        }
        let ready = sts_status.get(&sts).copied().unwrap_or(0);
        if ready >= 1 {
            condition(
                &format!("{what}Ready"),
                true,
                "Ready",
                format!("StatefulSet {sts} has {ready} ready replica(s)"),
                generation,
            )
        } else {
            condition(
                &format!("{what}Ready"),
                false,
                "NotReady",
                format!("StatefulSet {sts} has no ready replica yet"),
                generation,
            )
        }
    };
    let storage = backend(gfs.spec.storage.managed.is_some(), n.minio(), "Storage");
    let graph = backend(gfs.spec.graph.managed.is_some(), n.neo4j(), "Graph");
    let api_cond = if api_available >= 1 {
        condition(
            "ApiReady",
            true,
            "Available",
            format!("{api_available}/{api_wanted} API replicas available"),
            generation,
        )
    } else {
        condition(
            "ApiReady",
            false,
            "Unavailable",
            format!("0/{api_wanted} API replicas available"),
            generation,
        )
    };
    let ownership = if foreign.is_empty() {
        condition(
            "OwnershipConflict",
            false,
            "None",
            "every child object is this GraphFS's own",
            generation,
        )
    } else {
        condition(
            "OwnershipConflict",
            true,
            "ForeignObject",
            format!(
                "{} already exist(s) and belong(s) to someone else; left alone (rename or delete it, or change this GraphFS)",
                foreign.join(", ")
            ),
            generation,
        )
    };
    let all = [&storage, &graph, &api_cond];
    let ready = if !foreign.is_empty() {
        condition(
            "Ready",
            false,
            "OwnershipConflict",
            ownership.message.clone(),
            generation,
        )
    } else if let Some(bad) = all.iter().find(|c| c.status != "True") {
        condition(
            "Ready",
            false,
            "NotReady",
            format!("{}: {}", bad.type_, bad.message),
            generation,
        )
    } else {
        condition(
            "Ready",
            true,
            "Ready",
            "storage, graph and API are ready",
            generation,
        )
    };
    let was_ready = gfs
        .status
        .as_ref()
        .and_then(|s| s.conditions.iter().find(|c| c.type_ == "Ready"))
        .map(|c| c.status == "True");
    if was_ready != Some(ready.status == "True") {
        let (t, r) = if ready.status == "True" {
            (EventType::Normal, "Ready")
        } else {
            (EventType::Warning, "NotReady")
        };
        publish(ctx, gfs, t, r, ready.message.clone()).await;
    }
    set_graphfs_status(
        gfs,
        ctx,
        api_available,
        vec![ready, storage, graph, api_cond, ownership],
    )
    .await?;
    Ok(Action::requeue(Duration::from_secs(300)))
}

async fn set_graphfs_status(
    gfs: &GraphFS,
    ctx: &Context,
    api_ready: i32,
    conditions: Vec<Condition>,
) -> Result<(), Error> {
    let ns = gfs.namespace().unwrap_or_default();
    let api: Api<GraphFS> = Api::namespaced(ctx.client.clone(), &ns);
    let old = gfs.status.clone().unwrap_or_default();
    let status = GraphFSStatus {
        observed_generation: gfs.metadata.generation,
        api_ready_replicas: api_ready,
        api_service: Some(format!("{}.{ns}.svc", Names::new(&gfs.name_any()).api())),
        conditions: merge_conditions(&old.conditions, conditions),
    };
    if gfs.status.as_ref() == Some(&status) {
        return Ok(());
    }
    api.patch_status(
        &gfs.name_any(),
        &PatchParams::default(),
        &Patch::Merge(json!({ "status": status })),
    )
    .await?;
    Ok(())
}

/// Runs before the GraphFS goes away. Children with owner references are
/// collected by Kubernetes; what outlives them is decided here.
async fn cleanup_graphfs(gfs: &GraphFS, ctx: &Context) -> Result<Action, Error> {
    let ns = gfs.namespace().unwrap_or_default();
    let name = gfs.name_any();
    match gfs.spec.retention {
        Retention::Keep => {
            publish(
                ctx,
                gfs,
                EventType::Normal,
                "DataKept",
                "volumes and credentials are kept (retention: Keep)".into(),
            )
            .await;
        }
        Retention::Delete => {
            let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(ctx.client.clone(), &ns);
            let lp = ListParams::default().labels(&format!(
                "app.kubernetes.io/instance={name},app.kubernetes.io/component in (minio,neo4j),app.kubernetes.io/managed-by={}",
                build::MANAGED_BY
            ));
            for pvc in pvcs.list(&lp).await? {
                tracing::info!(pvc = %pvc.name_any(), "deleting volume (retention: Delete)");
                pvcs.delete(&pvc.name_any(), &DeleteParams::default())
                    .await?;
            }
            let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), &ns);
            let n = Names::new(&name);
            for s in [n.minio_secret(), n.neo4j_secret(), n.tokens_secret()] {
                if secrets.get_opt(&s).await?.is_some() {
                    secrets.delete(&s, &DeleteParams::default()).await?;
                }
            }
            publish(
                ctx,
                gfs,
                EventType::Normal,
                "DataDeleted",
                "volumes and credentials deleted (retention: Delete)".into(),
            )
            .await;
        }
    }
    Ok(Action::await_change())
}

// ------------------------------------------------------------- TaggerPool

pub async fn reconcile_pool(pool: Arc<TaggerPool>, ctx: Arc<Context>) -> Result<Action, Error> {
    let ns = pool.namespace().unwrap_or_default();
    ctx.metrics.reconciled("TaggerPool");
    let generation = pool.metadata.generation;
    let gfs_api: Api<GraphFS> = Api::namespaced(ctx.client.clone(), &ns);
    let Some(gfs) = gfs_api.get_opt(&pool.spec.graph_fs_ref).await? else {
        let msg = format!(
            "GraphFS '{}' not found in namespace {ns}",
            pool.spec.graph_fs_ref
        );
        let status = TaggerPoolStatus {
            observed_generation: generation,
            conditions: merge_conditions(
                &pool.status.clone().unwrap_or_default().conditions,
                vec![condition(
                    "Ready",
                    false,
                    "GraphFSNotFound",
                    msg.clone(),
                    generation,
                )],
            ),
            ..pool.status.clone().unwrap_or_default()
        };
        patch_pool_status(&pool, &ctx, status).await?;
        return Ok(Action::requeue(Duration::from_secs(30)));
    };

    let dep_api: Api<Deployment> = Api::namespaced(ctx.client.clone(), &ns);
    let dep_name = Names::new(&gfs.name_any()).tagger(&pool.name_any());
    let existing = dep_api.get_opt(&dep_name).await?;
    let current = existing
        .as_ref()
        .and_then(|d| d.spec.as_ref())
        .and_then(|s| s.replicas)
        .unwrap_or(0);
    let old = pool.status.clone().unwrap_or_default();
    let auto = &pool.spec.autoscaling;
    let paused = pool
        .annotations()
        .get(PAUSE_ANNOTATION)
        .is_some_and(|v| v == "true");
    let now = Utc::now().timestamp();

    let mut conditions = Vec::new();
    let mut memory = ScalingMemory {
        last_active: old.last_active_time,
        metric_failures: old.metric_failures,
        recommendations: old.recommendations.clone(),
    };
    let mut depth_seen = old.queue_depth;
    let desired = if !auto.enabled {
        conditions.push(condition(
            "Active",
            false,
            "AutoscalingDisabled",
            "replicas come from spec.replicas",
            generation,
        ));
        pool.spec.replicas.unwrap_or(1)
    } else if paused {
        conditions.push(condition(
            "Active",
            false,
            "Paused",
            format!("{PAUSE_ANNOTATION} is set; replicas stay at {current}"),
            generation,
        ));
        current
    } else {
        let depth = match ctx.queue.depth(&gfs, &ctx.client).await {
            Ok(d) => Some(d.depth()),
            Err(e) => {
                tracing::warn!(pool = %pool.name_any(), error = %e, "queue depth unreadable");
                None
            }
        };
        let d = scaling::decide(auto, current, depth, &memory, now);
        if let Some(depth) = depth {
            depth_seen = Some(i64::try_from(depth).unwrap_or(i64::MAX));
        }
        conditions.push(if d.active {
            condition("Active", true, "QueueActive", d.reason.clone(), generation)
        } else {
            condition("Active", false, "QueueIdle", d.reason.clone(), generation)
        });
        conditions.push(if d.fallback {
            condition(
                "Fallback",
                true,
                "MetricUnavailable",
                d.reason.clone(),
                generation,
            )
        } else {
            condition(
                "Fallback",
                false,
                "MetricAvailable",
                "queue depth read",
                generation,
            )
        });
        memory = d.memory;
        if d.replicas != current {
            publish(
                ctx.as_ref(),
                pool.as_ref(),
                EventType::Normal,
                "Scaled",
                d.reason.clone(),
            )
            .await;
            tracing::info!(pool = %pool.name_any(), from = current, to = d.replicas, reason = %d.reason, "scaling taggers");
        }
        d.replicas
    };

    let dep = build::tagger_deployment(&pool, &gfs, desired)?;
    let applied = apply(&dep_api, &dep).await?;
    let st = applied.status.clone().unwrap_or_default();
    let ready_replicas = st.ready_replicas.unwrap_or(0);
    let replicas = st.replicas.unwrap_or(0);
    let taggers = if desired == 0 {
        condition(
            "TaggersReady",
            true,
            "ScaledToZero",
            "no taggers needed: the queue is idle",
            generation,
        )
    } else if ready_replicas >= desired {
        condition(
            "TaggersReady",
            true,
            "Ready",
            format!("{ready_replicas}/{desired} taggers ready"),
            generation,
        )
    } else {
        condition(
            "TaggersReady",
            false,
            "NotReady",
            format!("{ready_replicas}/{desired} taggers ready"),
            generation,
        )
    };
    let ready = condition(
        "Ready",
        taggers.status == "True",
        &taggers.reason,
        taggers.message.clone(),
        generation,
    );
    conditions.insert(0, taggers);
    conditions.insert(0, ready);
    let status = TaggerPoolStatus {
        observed_generation: generation,
        replicas,
        ready_replicas,
        desired_replicas: desired,
        selector: build::tagger_selector(&gfs.name_any(), &pool.name_any()),
        queue_depth: depth_seen,
        last_active_time: memory.last_active,
        metric_failures: memory.metric_failures,
        recommendations: memory.recommendations,
        conditions: merge_conditions(&old.conditions, conditions),
    };
    patch_pool_status(&pool, &ctx, status).await?;
    Ok(Action::requeue(Duration::from_secs(
        auto.polling_interval_seconds.max(1) as u64,
    )))
}

async fn patch_pool_status(
    pool: &TaggerPool,
    ctx: &Context,
    status: TaggerPoolStatus,
) -> Result<(), Error> {
    if pool.status.as_ref() == Some(&status) {
        return Ok(());
    }
    let api: Api<TaggerPool> =
        Api::namespaced(ctx.client.clone(), &pool.namespace().unwrap_or_default());
    api.patch_status(
        &pool.name_any(),
        &PatchParams::default(),
        &Patch::Merge(json!({ "status": status })),
    )
    .await?;
    Ok(())
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
}
