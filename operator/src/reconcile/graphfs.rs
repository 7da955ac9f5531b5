//! The GraphFS reconciler: its managed backends, API, Ingress or
//! HTTPRoute, generated credentials, and the retention finalizer.

use super::*;

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
pub(super) fn unwrap_finalizer_error(e: kube::runtime::finalizer::Error<Error>) -> Error {
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

    if let Err(e) = validate_graphfs(gfs, &secrets).await {
        if let Error::Invalid(msg) = &e {
            report_invalid(gfs, ctx, msg).await?;
            // A Secret created later is no change of the GraphFS (nor of its
            // children): look again after a while.
            return Ok(Action::requeue(Duration::from_secs(300)));
        }
        return Err(e);
    }

    let uid = gfs.uid().unwrap_or_default();
    let started = Instant::now();
    let generation = gfs.metadata.generation;
    let full = ctx.prunes.due(&uid, generation, started);
    if full {
        create_generated_secrets(gfs, ctx, &secrets).await?;
    }

    let children = build::graphfs_children(gfs)?;
    let name = gfs.name_any();
    let mut sync = Sync {
        client: &client,
        ns: &ns,
        instance: &name,
        uid: &uid,
        full,
        cache: &ctx.children,
        applied: &ctx.applied,
        foreign: Vec::new(),
        pruned: Vec::new(),
    };
    // One step per kind of child, in dependency order; each also prunes the
    // objects of its kind that the spec no longer asks for.
    let statefulsets = sync.kind(&children.statefulsets).await?;
    sync.kind(&children.services).await?;
    sync.kind(&children.network_policies).await?;
    let deployments = sync.kind(&children.deployments).await?;
    sync.kind(children.pdb.as_slice()).await?;
    sync.kind(children.ingress.as_slice()).await?;
    sync.http_route(children.http_route.as_ref()).await?;
    if sync.full {
        ctx.prunes.done(&uid, generation, started);
    }
    for p in &sync.pruned {
        publish(
            ctx,
            gfs,
            EventType::Normal,
            "Pruned",
            format!("deleted {p}: the spec no longer asks for it"),
        )
        .await;
    }

    let observed = Observed {
        backends_ready: statefulsets
            .iter()
            .map(|s| {
                let ready = s.status.as_ref().and_then(|st| st.ready_replicas);
                (s.name_any(), ready.unwrap_or(0))
            })
            .collect(),
        api_wanted: children
            .deployments
            .first()
            .and_then(|d| d.spec.as_ref()?.replicas)
            .unwrap_or(0),
        api_available: deployments
            .first()
            .and_then(|d| d.status.as_ref()?.available_replicas)
            .unwrap_or(0),
        foreign: sync.foreign,
    };
    let conditions = graphfs_conditions(gfs, &observed);
    let ready = &conditions[0];
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
    set_graphfs_status(gfs, ctx, observed.api_available, conditions).await?;
    Ok(Action::requeue(Duration::from_secs(300)))
}

/// Generated credentials: created when missing, never overwritten.
async fn create_generated_secrets(
    gfs: &GraphFS,
    ctx: &Context,
    secrets: &Api<Secret>,
) -> Result<(), Error> {
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
    Ok(())
}

/// Applies one GraphFS's children kind by kind.
struct Sync<'a> {
    client: &'a Client,
    ns: &'a str,
    instance: &'a str,
    uid: &'a str,
    /// Whether to apply every child and delete those the spec no longer asks
    /// for ([`PruneMemory`]); otherwise only the children that changed are
    /// applied ([`super::children`]).
    full: bool,
    cache: &'a ChildCache,
    applied: &'a AppliedMemory,
    /// Objects of a child's name that this GraphFS did not create: left alone.
    foreign: Vec<String>,
    /// "Kind name" of each child deleted because the spec no longer asks for it.
    pruned: Vec<String>,
}

impl Sync<'_> {
    /// Applies the wanted objects of one kind that changed (those of someone
    /// else's are left alone) and deletes this GraphFS's others of that kind;
    /// returns the objects as the API server (or, when unchanged, the watch)
    /// has them.
    async fn kind<K: Child>(&mut self, wanted: &[K]) -> Result<Vec<K>, Error> {
        let api: Api<K> = Api::namespaced(self.client.clone(), self.ns);
        let store = K::store(self.cache);
        let mut applied = Vec::new();
        for obj in wanted {
            let name = obj.meta().name.clone().unwrap_or_default();
            let key = format!("{} {name}", K::kind(&()));
            let hash = spec_hash(obj);
            if !self.full
                && let Some(cached) = store.get(&ObjectRef::new(&name).within(self.ns))
                && owned_by(cached.meta(), self.uid)
                && self
                    .applied
                    .get(self.uid, &key)
                    .is_some_and(|a| a.still(cached.as_ref(), &hash))
            {
                applied.push(cached.as_ref().clone());
                continue;
            }
            if let Some(a) = apply_owned(&api, obj, self.uid, &mut self.foreign).await? {
                self.applied.record(self.uid, key, Applied::of(&a, hash));
                applied.push(a);
            }
        }
        if self.full {
            let keep = names_of(wanted.iter());
            self.pruned
                .extend(prune(&api, self.instance, self.uid, &keep).await?);
        }
        Ok(applied)
    }

    /// The Gateway API route, untyped (not one of Kubernetes' own kinds).
    async fn http_route(&mut self, route: Option<&serde_json::Value>) -> Result<(), Error> {
        let api: Api<DynamicObject> =
            Api::namespaced_with(self.client.clone(), self.ns, &http_route_resource());
        let name = Names::new(self.instance).api();
        let Some(route) = route else {
            if self.full
                && let Ok(Some(o)) = api.get_opt(&name).await
                && owned_by(&o.metadata, self.uid)
            {
                api.delete(&name, &DeleteParams::default()).await?;
            }
            return Ok(());
        };
        let obj: DynamicObject = serde_json::from_value(route.clone())
            .map_err(|e| Error::Invalid(format!("HTTPRoute: {e}")))?;
        let existing = match api.get_opt(&name).await {
            Ok(o) => o,
            // No Gateway API in this cluster: say so and wait for a change.
            Err(kube::Error::Api(ae)) if ae.code == 404 => {
                return Err(Error::Invalid(
                    "spec.ingress.gateway is set but this cluster has no Gateway API (HTTPRoute)"
                        .into(),
                ));
            }
            Err(e) => return Err(e.into()),
        };
        match existing {
            Some(o) if !owned_by(&o.metadata, self.uid) => {
                self.foreign.push(format!("HTTPRoute {name}"));
            }
            _ => {
                apply(&api, &obj).await?;
            }
        }
        Ok(())
    }
}

/// What the applied children report, for the status.
#[derive(Debug, Default)]
struct Observed {
    /// Ready replicas of each managed backend's StatefulSet, by name.
    backends_ready: BTreeMap<String, i32>,
    api_wanted: i32,
    api_available: i32,
    foreign: Vec<String>,
}

/// The GraphFS's conditions from what its children report: `Ready` first,
/// then `StorageReady`, `GraphReady`, `ApiReady`, `OwnershipConflict`.
fn graphfs_conditions(gfs: &GraphFS, o: &Observed) -> Vec<Condition> {
    let generation = gfs.metadata.generation;
    let n = Names::new(&gfs.name_any());
    let backend = |managed: bool, sts: String, what: &str| -> Condition {
        let type_ = format!("{what}Ready");
        if !managed {
            return condition(
                &type_,
                true,
                "External",
                "an external endpoint is configured",
                generation,
            );
        }
        match o.backends_ready.get(&sts).copied().unwrap_or(0) {
            0 => condition(
                &type_,
                false,
                "NotReady",
                format!("StatefulSet {sts} has no ready replica yet"),
                generation,
            ),
            ready => condition(
                &type_,
                true,
                "Ready",
                format!("StatefulSet {sts} has {ready} ready replica(s)"),
                generation,
            ),
        }
    };
    let storage = backend(gfs.spec.storage.managed.is_some(), n.minio(), "Storage");
    let graph = backend(gfs.spec.graph.managed.is_some(), n.neo4j(), "Graph");
    let api = if o.api_available >= 1 {
        condition(
            "ApiReady",
            true,
            "Available",
            format!(
                "{}/{} API replicas available",
                o.api_available, o.api_wanted
            ),
            generation,
        )
    } else {
        condition(
            "ApiReady",
            false,
            "Unavailable",
            format!("0/{} API replicas available", o.api_wanted),
            generation,
        )
    };
    let ownership = if o.foreign.is_empty() {
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
                o.foreign.join(", ")
            ),
            generation,
        )
    };
    let ready = if !o.foreign.is_empty() {
        condition(
            "Ready",
            false,
            "OwnershipConflict",
            ownership.message.clone(),
            generation,
        )
    } else if let Some(bad) = [&storage, &graph, &api]
        .into_iter()
        .find(|c| c.status != "True")
    {
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
    vec![ready, storage, graph, api, ownership]
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
    ctx.prunes.forget(&gfs.uid().unwrap_or_default());
    ctx.applied.forget(&gfs.uid().unwrap_or_default());
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

#[cfg(test)]
mod tests {
    use super::*;

    fn gfs(spec: serde_json::Value) -> GraphFS {
        let mut g = GraphFS::new("files", serde_json::from_value(spec).unwrap());
        g.metadata.generation = Some(3);
        g
    }

    fn status_of<'a>(c: &'a [Condition], type_: &str) -> (&'a str, &'a str) {
        let c = c.iter().find(|c| c.type_ == type_).unwrap();
        (c.status.as_str(), c.reason.as_str())
    }

    #[test]
    fn ready_needs_every_part_and_names_the_first_that_is_not() {
        let g = gfs(json!({}));
        let mut o = Observed {
            backends_ready: BTreeMap::from([("files-minio".into(), 1), ("files-neo4j".into(), 0)]),
            api_wanted: 2,
            api_available: 2,
            foreign: vec![],
        };
        let c = graphfs_conditions(&g, &o);
        assert_eq!(status_of(&c, "Ready"), ("False", "NotReady"));
        assert!(c[0].message.starts_with("GraphReady"), "{}", c[0].message);
        assert_eq!(status_of(&c, "StorageReady"), ("True", "Ready"));
        assert!(c.iter().all(|c| c.observed_generation == Some(3)));
        o.backends_ready.insert("files-neo4j".into(), 1);
        let c = graphfs_conditions(&g, &o);
        assert_eq!(status_of(&c, "Ready"), ("True", "Ready"));
        assert_eq!(c[3].message, "2/2 API replicas available");
    }

    #[test]
    fn external_backends_are_ready_and_a_foreign_object_is_not() {
        let g = gfs(json!({
            "storage": {"external": {"endpoint": "https://s3", "credentialsSecret": "s"}},
            "graph": {"external": {"uri": "bolt://db:7687", "credentialsSecret": "d"}}
        }));
        let mut o = Observed {
            api_wanted: 1,
            api_available: 1,
            ..Default::default()
        };
        let c = graphfs_conditions(&g, &o);
        assert_eq!(status_of(&c, "StorageReady"), ("True", "External"));
        assert_eq!(status_of(&c, "Ready"), ("True", "Ready"));
        o.foreign.push("Ingress files-api".into());
        let c = graphfs_conditions(&g, &o);
        assert_eq!(status_of(&c, "Ready"), ("False", "OwnershipConflict"));
        assert!(c[0].message.contains("Ingress files-api"));
        assert_eq!(
            status_of(&c, "OwnershipConflict"),
            ("True", "ForeignObject")
        );
    }
}
