//! The TaggerPool reconciler: the tagging handlers' Deployment, scaled
//! from the queue depth.

use super::*;

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
