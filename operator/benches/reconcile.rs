//! `make bench`: how long the operator takes to bring 100 GraphFS resources to
//! Ready on a real kube-apiserver and etcd (tests/envtest), and its memory.
//!
//! There is no kubelet here, so the benchmark plays its part: as each
//! GraphFS's workloads appear, it marks their replicas ready in their status,
//! as a kubelet and the controller-manager would once pods start. Like them,
//! it learns of workloads and of readiness from watches: polling with LISTs
//! would load the very API server whose work is measured. The figure runs
//! from the first create to the moment all 100 report `Ready=True`.

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::BTreeSet;
use std::fmt::Debug;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use graphfs_e2e::proc_status_kib;
use graphfs_operator::crd::GraphFS;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Resource, ResourceExt};
use serde::de::DeserializeOwned;
use serde_json::json;
use support::{Operator, client, condition, gfs, namespace};

const RESOURCES: usize = 100;
const TARGET: Duration = Duration::from_secs(10);
const GIVE_UP: Duration = Duration::from_secs(180);

/// How many workloads were marked ready, and when the last one was.
#[derive(Default)]
struct Marked {
    count: usize,
    last: Option<Instant>,
}

/// Marks each workload of kind `K` in the watched namespace ready once, when
/// it first appears.
async fn play_kubelet<K>(api: Api<K>, replicas: fn(&K) -> i32, marked: Arc<Mutex<Marked>>)
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    let mut seen = BTreeSet::new();
    watcher(api.clone(), watcher::Config::default())
        .default_backoff()
        .applied_objects()
        .filter_map(|o| async move { o.ok() })
        .filter(move |o| std::future::ready(seen.insert(o.name_any())))
        .for_each_concurrent(16, |o| {
            let (api, marked) = (api.clone(), marked.clone());
            async move {
                let n = replicas(&o);
                let status = Patch::Merge(json!({"status": {
                    "replicas": n, "readyReplicas": n,
                    "availableReplicas": n, "updatedReplicas": n
                }}));
                match api
                    .patch_status(&o.name_any(), &PatchParams::default(), &status)
                    .await
                {
                    Ok(_) => {
                        if let Ok(mut m) = marked.lock() {
                            m.count += 1;
                            m.last = Some(Instant::now());
                        }
                    }
                    Err(e) => eprintln!("marking {} ready: {e}", o.name_any()),
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
    let marked = Arc::new(Mutex::new(Marked::default()));
    tokio::spawn(play_kubelet(
        Api::<Deployment>::namespaced(client.clone(), &ns),
        |d| d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1),
        marked.clone(),
    ));
    tokio::spawn(play_kubelet(
        Api::<StatefulSet>::namespaced(client.clone(), &ns),
        |s| s.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1),
        marked.clone(),
    ));
    // Readiness as the GraphFS report it, from a watch.
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    tokio::spawn({
        let gapi = gapi.clone();
        async move {
            let mut ready = BTreeSet::new();
            let mut all = std::pin::pin!(
                watcher(gapi, watcher::Config::default())
                    .default_backoff()
                    .applied_objects()
            );
            while let Some(Ok(g)) = all.next().await {
                let is_ready = g
                    .status
                    .as_ref()
                    .and_then(|s| condition(&s.conditions, "Ready"))
                    .as_deref()
                    == Some("True");
                if is_ready {
                    ready.insert(g.name_any());
                } else {
                    ready.remove(&g.name_any());
                }
                if ready.len() == RESOURCES {
                    let _ = ready_tx.send(Instant::now());
                    return;
                }
            }
        }
    });
    // Let the operator start and take its lease, and the watches list,
    // before the clock runs.
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
    let ready_at = tokio::time::timeout(GIVE_UP, ready_rx)
        .await
        .unwrap_or_else(|_| panic!("not all {RESOURCES} GraphFS Ready after {GIVE_UP:?}"))
        .expect("the readiness watch ended")
        - start;

    // Each GraphFS has an API Deployment and MinIO and Neo4j StatefulSets.
    let workloads = 3 * RESOURCES;
    let (count, last) = marked
        .lock()
        .map(|m| (m.count, m.last))
        .unwrap_or((0, None));
    let peak = proc_status_kib(pid, "VmHWM:").unwrap_or(0);
    println!(
        "operator: {RESOURCES} GraphFS to Ready on a real API server in {:.1} s (target <= {} s; created in {:.1} s, {count} of {workloads} workloads made and marked ready by {:.1} s), operator RSS {:.0} MiB idle, peak {:.0} MiB",
        ready_at.as_secs_f64(),
        TARGET.as_secs(),
        created.as_secs_f64(),
        last.map_or(0.0, |l| (l - start).as_secs_f64()),
        rss_idle as f64 / 1024.0,
        peak as f64 / 1024.0,
    );
}
