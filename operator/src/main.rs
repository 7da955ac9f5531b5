//! `graphfs-operator`: reconciles GraphFS and TaggerPool resources.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result};
use clap::Parser;
use futures::{Stream, StreamExt};
use graphfs_operator::crd::{GraphFS, TaggerPool};
use graphfs_operator::leader::LeaderElector;
use graphfs_operator::metrics::Metrics;
use graphfs_operator::queue::HttpQueue;
use graphfs_operator::reconcile::{self, Child, ChildCache, Context};
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::ListParams;
use kube::runtime::events::Reporter;
use kube::runtime::{Controller, controller};
use kube::runtime::{WatchStreamExt, predicates, reflector, watcher};
use kube::{Api, Client, ResourceExt};

#[derive(Debug, Parser)]
#[command(
    name = "graphfs-operator",
    version,
    about = "Reconciles GraphFS and TaggerPool custom resources"
)]
struct Args {
    /// Namespace to watch (all namespaces when empty).
    #[arg(long, env = "GRAPHFS_OPERATOR_WATCH_NAMESPACE", default_value = "")]
    watch_namespace: String,
    /// Namespace of the leader-election Lease (the operator's own).
    #[arg(
        long,
        env = "GRAPHFS_OPERATOR_NAMESPACE",
        default_value = "graphfs-system"
    )]
    namespace: String,
    /// Name of the leader-election Lease.
    #[arg(
        long,
        env = "GRAPHFS_OPERATOR_LEASE_NAME",
        default_value = "graphfs-operator"
    )]
    lease_name: String,
    /// Seconds a leader's lease lasts without renewal.
    #[arg(long, env = "GRAPHFS_OPERATOR_LEASE_SECONDS", default_value_t = 15)]
    lease_seconds: u64,
    /// This replica's identity in the Lease (pod name in a cluster).
    #[arg(long, env = "GRAPHFS_OPERATOR_IDENTITY")]
    identity: Option<String>,
    /// Base URL of a GraphFS API, with {name} and {namespace} placeholders.
    #[arg(
        long,
        env = "GRAPHFS_OPERATOR_API_URL_TEMPLATE",
        default_value = "http://{name}-api.{namespace}.svc"
    )]
    api_url_template: String,
    /// Address of /metrics and /healthz.
    #[arg(
        long,
        env = "GRAPHFS_OPERATOR_METRICS_ADDR",
        default_value = "127.0.0.1:9090"
    )]
    metrics_addr: SocketAddr,
    /// Log format: text or json.
    #[arg(long, env = "GRAPHFS_OPERATOR_LOG_FORMAT", default_value = "text")]
    log_format: String,
    /// Changes to one resource or its children within this many milliseconds
    /// start one reconcile, not one each: creating a GraphFS's children or
    /// their pods becoming ready is a burst of events.
    #[arg(
        long,
        env = "GRAPHFS_OPERATOR_RECONCILE_DEBOUNCE_MS",
        default_value_t = 500
    )]
    reconcile_debounce_ms: u64,
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    graphfs_operator::install_crypto_provider();
    let filter = tracing_subscriber::EnvFilter::try_from_env("GRAPHFS_OPERATOR_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,kube=warn"));
    let fmt = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if args.log_format == "json" {
        fmt.json().init();
    } else {
        fmt.init();
    }
    let identity = args.identity.clone().unwrap_or_else(|| {
        format!(
            "{}-{}",
            std::env::var("HOSTNAME").unwrap_or_else(|_| "operator".into()),
            std::process::id()
        )
    });
    let client = Client::try_default()
        .await
        .context("connecting to the Kubernetes API")?;
    let metrics = Arc::new(Metrics::default());
    serve_metrics(args.metrics_addr, metrics.clone()).await?;

    wait_for_crds(&client, &args.watch_namespace).await;
    let elector = LeaderElector {
        api: Api::<Lease>::namespaced(client.clone(), &args.namespace),
        name: args.lease_name.clone(),
        identity: identity.clone(),
        lease_duration: Duration::from_secs(args.lease_seconds.max(3)),
    };
    elector.acquire().await;
    metrics
        .leader
        .store(true, std::sync::atomic::Ordering::Relaxed);
    tracing::info!(%identity, "leading; starting controllers");

    let ns = args.watch_namespace.clone();
    fn scoped<K>(client: &Client, ns: &str) -> Api<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
            + Clone
            + serde::de::DeserializeOwned
            + std::fmt::Debug,
        K::DynamicType: Default,
    {
        if ns.is_empty() {
            Api::all(client.clone())
        } else {
            Api::namespaced(client.clone(), ns)
        }
    }
    let owned =
        || watcher::Config::default().labels("app.kubernetes.io/managed-by=graphfs-operator");
    // The GraphFS children's watches both trigger reconciles and fill the
    // cache that spares unchanged children an apply.
    let (deployments, deployment_events) = cached(scoped::<Deployment>(&client, &ns), owned());
    let (statefulsets, statefulset_events) = cached(scoped::<StatefulSet>(&client, &ns), owned());
    let (services, service_events) = cached(scoped::<Service>(&client, &ns), owned());
    let (ingresses, ingress_events) = cached(scoped::<Ingress>(&client, &ns), owned());
    let (pdbs, pdb_events) = cached(scoped::<PodDisruptionBudget>(&client, &ns), owned());
    let (network_policies, network_policy_events) =
        cached(scoped::<NetworkPolicy>(&client, &ns), owned());
    let children = ChildCache {
        deployments,
        statefulsets,
        services,
        ingresses,
        pdbs,
        network_policies,
    };
    let ctx = Arc::new(Context {
        client: client.clone(),
        reporter: Reporter {
            controller: "graphfs-operator".into(),
            instance: Some(identity.clone()),
        },
        queue: Arc::new(HttpQueue::new(args.api_url_template.clone())?),
        metrics: metrics.clone(),
        prunes: Default::default(),
        children: children.clone(),
        applied: Default::default(),
    });
    let wc = watcher::Config::default();
    let debounce = || {
        controller::Config::default().debounce(Duration::from_millis(args.reconcile_debounce_ms))
    };
    let graphfs = Controller::new(scoped::<GraphFS>(&client, &ns), wc.clone())
        .with_config(debounce())
        .owns_stream(deployment_events)
        .owns_stream(statefulset_events)
        .owns_stream(service_events)
        .owns_stream(ingress_events)
        .owns_stream(pdb_events)
        .owns_stream(network_policy_events)
        .shutdown_on_signal()
        .run(
            reconcile::reconcile_graphfs,
            reconcile::error_policy,
            ctx.clone(),
        )
        .for_each(|r| async move {
            if let Err(e) = r {
                tracing::debug!(error = %e, "GraphFS reconcile");
            }
        });
    // Pool status changes on every poll (queue depth, recommendations); only
    // spec (generation) and annotation (pause) changes should trigger, or
    // each status write would start another reconcile at once.
    let (reader, writer) = reflector::store();
    let pool_changes = watcher(scoped::<TaggerPool>(&client, &ns), wc)
        .default_backoff()
        .reflect(writer)
        .applied_objects()
        .predicate_filter(
            |p: &TaggerPool| {
                let g = predicates::generation(p).unwrap_or(0);
                let a = predicates::annotations(p).unwrap_or(0);
                Some(g ^ a.rotate_left(17))
            },
            Default::default(),
        );
    let pools = Controller::for_stream(pool_changes, reader)
        .with_config(debounce())
        .owns(scoped::<Deployment>(&client, &ns), owned())
        .shutdown_on_signal()
        .run(
            reconcile::reconcile_pool,
            reconcile::error_policy,
            ctx.clone(),
        )
        .for_each(|r| async move {
            if let Err(e) = r {
                tracing::debug!(error = %e, "TaggerPool reconcile");
            }
        });
    tokio::select! {
        _ = futures::future::join(graphfs, pools) => {
            tracing::info!("controllers stopped");
            Ok(())
        }
        _ = elector.keep() => {
            anyhow::bail!("leadership lost; exiting so that a fresh start stands by")
        }
    }
}

/// Waits until both CRDs are served, asking only in the watched namespace
/// (when one is set) so that a namespaced Role is enough.
async fn wait_for_crds(client: &Client, ns: &str) {
    let mut announced = false;
    let (gapi, tapi): (Api<GraphFS>, Api<TaggerPool>) = if ns.is_empty() {
        (Api::all(client.clone()), Api::all(client.clone()))
    } else {
        (
            Api::namespaced(client.clone(), ns),
            Api::namespaced(client.clone(), ns),
        )
    };
    loop {
        let g = gapi.list(&ListParams::default().limit(1)).await;
        let t = tapi.list(&ListParams::default().limit(1)).await;
        match (g, t) {
            (Ok(_), Ok(_)) => return,
            (Err(e), _) | (_, Err(e)) => {
                if !announced {
                    tracing::info!(error = %e, "waiting for the GraphFS and TaggerPool CRDs to be installed");
                    announced = true;
                }
            }
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

async fn serve_metrics(addr: SocketAddr, metrics: Arc<Metrics>) -> Result<()> {
    use axum::routing::get;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    let app = axum::Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/metrics",
            get(move || {
                let m = metrics.clone();
                async move { m.render() }
            }),
        );
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "metrics server stopped");
        }
    });
    Ok(())
}

/// A watch of one kind of child: the store it fills and the objects it saw
/// change, for the controller's triggers.
fn cached<K: Child>(
    api: Api<K>,
    wc: watcher::Config,
) -> (
    reflector::Store<K>,
    impl Stream<Item = Result<K, watcher::Error>> + Send + 'static,
) {
    let (reader, writer) = reflector::store();
    let events = watcher(api, wc)
        .default_backoff()
        // Who set which field is the API server's business; the copy needs
        // the spec, status and owners, and is a third smaller without it.
        .modify(|o| o.managed_fields_mut().clear())
        .reflect(writer)
        .touched_objects();
    (reader, events)
}
