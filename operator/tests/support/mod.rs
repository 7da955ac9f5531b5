//! What the operator's envtest suite and its benchmark share: one real
//! kube-apiserver and etcd per process (tests/envtest), the CRDs, namespaces,
//! the operator binary as a child process, and polling helpers.
// Each of the two takes what it needs.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use graphfs_operator::crd::GraphFS;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config, ResourceExt};
use serde_json::{Value, json};
use tokio::process::{Child, Command};

pub const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

pub struct Cluster {
    _dir: tempfile::TempDir,
    pub kubeconfig: PathBuf,
}

/// One API server for the whole test binary, stopped when the binary exits.
pub fn cluster() -> &'static Cluster {
    static CLUSTER: OnceLock<Cluster> = OnceLock::new();
    CLUSTER.get_or_init(|| {
        let install = std::process::Command::new(format!("{ROOT}/tests/envtest/install.sh"))
            .status()
            .expect("run tests/envtest/install.sh");
        assert!(install.success(), "installing kube-apiserver and etcd failed");
        let dir = tempfile::tempdir().unwrap();
        let out = std::process::Command::new(format!("{ROOT}/tests/envtest/start.sh"))
            .arg(dir.path())
            .stdout(Stdio::null())
            .status()
            .expect("run tests/envtest/start.sh");
        assert!(out.success(), "starting the API server failed");
        // A watchdog stops the servers once this test process is gone.
        let script = format!(
            "while kill -0 {} 2>/dev/null; do sleep 1; done; {ROOT}/tests/envtest/stop.sh {} >/dev/null 2>&1",
            std::process::id(),
            dir.path().display()
        );
        // Outlives this process on purpose: it is what stops the servers.
        #[allow(clippy::zombie_processes)]
        std::process::Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("watchdog");
        let kubeconfig = dir.path().join("kubeconfig");
        Cluster { _dir: dir, kubeconfig }
    })
}

pub async fn client() -> Client {
    graphfs_operator::install_crypto_provider();
    let c = cluster();
    let kc = Kubeconfig::read_from(&c.kubeconfig).unwrap();
    let config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .unwrap();
    let client = Client::try_from(config).unwrap();
    install_crds(&client).await;
    client
}

pub async fn install_crds(client: &Client) {
    let yaml = std::fs::read_to_string(format!("{ROOT}/crds/graphfs.yaml")).unwrap();
    for doc in yaml
        .split("\n---\n")
        .filter(|d| d.contains("kind: CustomResourceDefinition"))
    {
        apply_crd(client, &serde_yaml::from_str(doc).unwrap()).await;
    }
}

/// Applies a CRD and waits until the API server serves it.
pub async fn apply_crd(client: &Client, crd: &CustomResourceDefinition) {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    api.patch(
        &crd.name_any(),
        &PatchParams::apply("graphfs-tests").force(),
        &Patch::Apply(crd),
    )
    .await
    .unwrap();
    wait_for(Duration::from_secs(30), "CRD established", || async {
        let c = api.get(&crd.name_any()).await.ok()?;
        c.status?
            .conditions?
            .iter()
            .any(|c| c.type_ == "Established" && c.status == "True")
            .then_some(())
    })
    .await;
}

pub async fn namespace(client: &Client, name: &str) -> String {
    let ns = format!("{name}-{}", &uuid_like()[..6]);
    let api: Api<Namespace> = Api::all(client.clone());
    api.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap(),
    )
    .await
    .unwrap();
    ns
}

pub fn uuid_like() -> String {
    format!("{:016x}", rand::random::<u64>())
}

pub async fn wait_for<T, F, Fut>(timeout: Duration, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub struct Operator {
    pub child: Child,
}

impl Operator {
    pub async fn start(
        ns: &str,
        lease: &str,
        identity: &str,
        extra_env: &[(&str, String)],
    ) -> Operator {
        let c = cluster();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_graphfs-operator"));
        cmd.env("KUBECONFIG", &c.kubeconfig)
            .env("GRAPHFS_OPERATOR_WATCH_NAMESPACE", ns)
            .env("GRAPHFS_OPERATOR_NAMESPACE", ns)
            .env("GRAPHFS_OPERATOR_LEASE_NAME", lease)
            .env("GRAPHFS_OPERATOR_LEASE_SECONDS", "4")
            .env("GRAPHFS_OPERATOR_IDENTITY", identity)
            .env("GRAPHFS_OPERATOR_METRICS_ADDR", "127.0.0.1:0")
            .env("GRAPHFS_OPERATOR_LOG", "info,kube=warn")
            .envs(extra_env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        Operator {
            child: cmd.spawn().expect("start graphfs-operator"),
        }
    }

    pub async fn kill(&mut self) {
        self.child.kill().await.unwrap();
    }
}

pub fn gfs(name: &str, spec: Value) -> GraphFS {
    serde_json::from_value(json!({
        "apiVersion": "graphfs.io/v1alpha1", "kind": "GraphFS",
        "metadata": { "name": name }, "spec": spec
    }))
    .unwrap()
}

pub fn condition(conds: &[graphfs_operator::crd::Condition], t: &str) -> Option<String> {
    conds
        .iter()
        .find(|c| c.type_ == t)
        .map(|c| c.status.clone())
}

pub async fn set_status<K>(api: &Api<K>, name: &str, status: Value)
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    api.patch_status(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({ "status": status })),
    )
    .await
    .unwrap();
}
