//! `make bench`: how long the operator takes to bring 100 GraphFS resources to
//! Ready on a real kube-apiserver and etcd (tests/envtest), and its memory.
//!
//! There is no kubelet here, so the benchmark plays its part: as each
//! GraphFS's workloads appear, it marks their replicas ready in their status,
//! as a kubelet and the controller-manager would once pods start. The figure
//! runs from the first create to the moment all 100 report `Ready=True`.

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use graphfs_e2e::proc_status_kib;
use graphfs_operator::crd::GraphFS;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use kube::ResourceExt;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;
use support::{Operator, client, condition, gfs, namespace};

const RESOURCES: usize = 100;
const TARGET: Duration = Duration::from_secs(10);
const GIVE_UP: Duration = Duration::from_secs(180);

/// Marks every workload in `ns` that has no ready replicas yet as ready; the
/// names it marked are remembered so each is patched once.
async fn play_kubelet(client: &kube::Client, ns: &str, marked: &mut BTreeSet<String>) {
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns);
    let statefulsets: Api<StatefulSet> = Api::namespaced(client.clone(), ns);
    let mut patches = Vec::new();
    if let Ok(list) = deployments.list(&ListParams::default()).await {
        for d in list {
            let name = d.name_any();
            let replicas = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
            if marked.insert(format!("deploy/{name}")) {
                patches.push((true, name, replicas));
            }
        }
    }
    if let Ok(list) = statefulsets.list(&ListParams::default()).await {
        for s in list {
            let name = s.name_any();
            let replicas = s.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
            if marked.insert(format!("sts/{name}")) {
                patches.push((false, name, replicas));
            }
        }
    }
    futures::stream::iter(patches)
        .for_each_concurrent(16, |(deployment, name, replicas)| {
            let (deployments, statefulsets) = (deployments.clone(), statefulsets.clone());
            async move {
                let status = Patch::Merge(json!({"status": {
                    "replicas": replicas, "readyReplicas": replicas,
                    "availableReplicas": replicas, "updatedReplicas": replicas
                }}));
                let done = if deployment {
                    deployments
                        .patch_status(&name, &PatchParams::default(), &status)
                        .await
                        .map(drop)
                } else {
                    statefulsets
                        .patch_status(&name, &PatchParams::default(), &status)
                        .await
                        .map(drop)
                };
                if let Err(e) = done {
                    eprintln!("marking {name} ready: {e}");
                }
            }
        })
        .await;
}

#[tokio::main]
async fn main() {
    let client = client().await;
    let ns = namespace(&client, "bench").await;
    let op = Operator::start(
        &ns,
        "op",
        "bench",
        &[("GRAPHFS_OPERATOR_LOG", "warn".to_string())],
    )
    .await;
    let pid = op.child.id().expect("operator pid");
    let gapi: Api<GraphFS> = Api::namespaced(client.clone(), &ns);
    // Let the operator start and take its lease before the clock runs.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_idle = proc_status_kib(pid, "VmRSS:").unwrap_or(0);

    let start = Instant::now();
    futures::stream::iter(0..RESOURCES)
        .map(|i| {
            let gapi = gapi.clone();
            async move {
                let name = format!("g{i:03}");
                let spec = json!({"ingress": {"host": format!("{name}.example.com")}});
                gapi.create(&PostParams::default(), &gfs(&name, spec))
                    .await
                    .map(drop)
            }
        })
        .buffer_unordered(16)
        .try_collect::<Vec<_>>()
        .await
        .expect("create the GraphFS resources");
    let created = start.elapsed();

    // Each GraphFS has an API Deployment and MinIO and Neo4j StatefulSets.
    let workloads = 3 * RESOURCES;
    let mut marked = BTreeSet::new();
    let mut all_marked = None;
    let ready_at = loop {
        play_kubelet(&client, &ns, &mut marked).await;
        if all_marked.is_none() && marked.len() >= workloads {
            all_marked = Some(start.elapsed());
        }
        let ready = gapi
            .list(&ListParams::default())
            .await
            .expect("list GraphFS")
            .into_iter()
            .filter(|g| {
                g.status
                    .as_ref()
                    .and_then(|s| condition(&s.conditions, "Ready"))
                    .as_deref()
                    == Some("True")
            })
            .count();
        if ready == RESOURCES {
            break start.elapsed();
        }
        assert!(
            start.elapsed() < GIVE_UP,
            "only {ready} of {RESOURCES} GraphFS Ready after {GIVE_UP:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let peak = proc_status_kib(pid, "VmHWM:").unwrap_or(0);
    println!(
        "operator: {RESOURCES} GraphFS to Ready on a real API server in {:.1} s (target <= {} s; created in {:.1} s, all {workloads} workloads made and marked ready by {:.1} s), operator RSS {:.0} MiB idle, peak {:.0} MiB",
        ready_at.as_secs_f64(),
        TARGET.as_secs(),
        created.as_secs_f64(),
        all_marked.unwrap_or(ready_at).as_secs_f64(),
        rss_idle as f64 / 1024.0,
        peak as f64 / 1024.0,
    );
}
