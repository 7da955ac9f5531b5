//! Desired objects, built from a custom resource without touching the API
//! server: pure functions, unit-tested, applied by the reconcilers.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{Secret, Service};
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::Resource;
use kube::ResourceExt;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::crd::{GraphFS, Resources, Retention, TaggerPool, TaggingMode};

/// The `app.kubernetes.io/managed-by` label of every child: with the owner
/// reference, what marks an object as the operator's own.
pub const MANAGED_BY: &str = "graphfs-operator";
pub const DEFAULT_GRAPHFS_IMAGE: &str = "ghcr.io/graphfs/graphfs:0.1.0";
pub const DEFAULT_MINIO_IMAGE: &str = "quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z";
pub const DEFAULT_NEO4J_IMAGE: &str = "neo4j:5.26-community";
pub const API_PORT: i32 = 8080;

/// Environment variables of the `graphfs` binary that the operator sets.
pub mod env {
    pub const ADDR: &str = "GRAPHFS_ADDR";
    pub const TOKENS_FILE: &str = "GRAPHFS_TOKENS_FILE";
    pub const MAX_UPLOAD_BYTES: &str = "GRAPHFS_MAX_UPLOAD_BYTES";
    pub const TAGGER_CONCURRENCY: &str = "GRAPHFS_TAGGER_CONCURRENCY";
    pub const LOG_FORMAT: &str = "GRAPHFS_LOG_FORMAT";
    pub const DATA_DIR: &str = "GRAPHFS_DATA_DIR";
    pub const STORAGE: &str = "GRAPHFS_STORAGE";
    pub const S3_ENDPOINT: &str = "GRAPHFS_S3_ENDPOINT";
    pub const S3_REGION: &str = "GRAPHFS_S3_REGION";
    pub const S3_BUCKET: &str = "GRAPHFS_S3_BUCKET";
    pub const S3_ACCESS_KEY_ID: &str = "GRAPHFS_S3_ACCESS_KEY_ID";
    pub const S3_SECRET_ACCESS_KEY: &str = "GRAPHFS_S3_SECRET_ACCESS_KEY";
    pub const GRAPH: &str = "GRAPHFS_GRAPH";
    pub const NEO4J_URI: &str = "GRAPHFS_NEO4J_URI";
    pub const NEO4J_USER: &str = "GRAPHFS_NEO4J_USER";
    pub const NEO4J_PASSWORD: &str = "GRAPHFS_NEO4J_PASSWORD";
    pub const TAGGING_MODE: &str = "GRAPHFS_TAGGING_MODE";
    pub const LLM_BASE_URL: &str = "GRAPHFS_LLM_BASE_URL";
    pub const LLM_CHAT_MODEL: &str = "GRAPHFS_LLM_CHAT_MODEL";
    pub const LLM_VISION_MODEL: &str = "GRAPHFS_LLM_VISION_MODEL";
    pub const LLM_TRANSCRIPTION_MODEL: &str = "GRAPHFS_LLM_TRANSCRIPTION_MODEL";
    pub const LLM_API_KEY: &str = "GRAPHFS_LLM_API_KEY";
    pub const LLM_TIMEOUT_SECONDS: &str = "GRAPHFS_LLM_TIMEOUT_SECONDS";
    pub const EMBEDDING_BASE_URL: &str = "GRAPHFS_EMBEDDING_BASE_URL";
    pub const EMBEDDING_MODEL: &str = "GRAPHFS_EMBEDDING_MODEL";
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("the resource has no {0}")]
    Missing(&'static str),
    #[error("building {kind}: {source}")]
    Shape {
        kind: &'static str,
        source: serde_json::Error,
    },
}

fn typed<T: DeserializeOwned>(kind: &'static str, v: Value) -> Result<T, BuildError> {
    serde_json::from_value(v).map_err(|source| BuildError::Shape { kind, source })
}

/// Names of everything a GraphFS owns, in one place.
pub struct Names {
    pub base: String,
}

impl Names {
    pub fn new(gfs: &str) -> Self {
        Names {
            base: gfs.to_string(),
        }
    }
    pub fn api(&self) -> String {
        format!("{}-api", self.base)
    }
    pub fn minio(&self) -> String {
        format!("{}-minio", self.base)
    }
    pub fn neo4j(&self) -> String {
        format!("{}-neo4j", self.base)
    }
    pub fn minio_secret(&self) -> String {
        format!("{}-minio-credentials", self.base)
    }
    pub fn neo4j_secret(&self) -> String {
        format!("{}-neo4j-credentials", self.base)
    }
    pub fn tokens_secret(&self) -> String {
        format!("{}-api-tokens", self.base)
    }
    pub fn tagger(&self, pool: &str) -> String {
        format!("{}-tagger-{pool}", self.base)
    }
}

pub fn labels(instance: &str, component: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app.kubernetes.io/name".into(), "graphfs".into()),
        ("app.kubernetes.io/instance".into(), instance.into()),
        ("app.kubernetes.io/component".into(), component.into()),
        ("app.kubernetes.io/part-of".into(), "graphfs".into()),
        ("app.kubernetes.io/managed-by".into(), MANAGED_BY.into()),
    ])
}

fn selector(instance: &str, component: &str) -> Value {
    json!({
        "app.kubernetes.io/instance": instance,
        "app.kubernetes.io/component": component,
    })
}

pub fn owner_ref<K: Resource<DynamicType = ()>>(obj: &K) -> Result<OwnerReference, BuildError> {
    obj.controller_owner_ref(&())
        .ok_or(BuildError::Missing("uid"))
}

fn meta(name: &str, ns: &str, labels: &BTreeMap<String, String>, owner: &OwnerReference) -> Value {
    json!({ "name": name, "namespace": ns, "labels": labels, "ownerReferences": [owner] })
}

fn resources_or(r: &Option<Resources>, default: Value) -> Value {
    r.as_ref()
        .and_then(|r| serde_json::to_value(r).ok())
        .unwrap_or(default)
}

/// Hardened container settings: no root, no privilege escalation, no
/// capabilities, read-only root filesystem.
fn container_security() -> Value {
    json!({
        "runAsNonRoot": true,
        "allowPrivilegeEscalation": false,
        "readOnlyRootFilesystem": true,
        "capabilities": { "drop": ["ALL"] },
        "seccompProfile": { "type": "RuntimeDefault" },
    })
}

fn secret_env(name: &str, secret: &str, key: &str) -> Value {
    json!({ "name": name, "valueFrom": { "secretKeyRef": { "name": secret, "key": key } } })
}

fn plain_env(name: &str, value: impl Into<String>) -> Value {
    json!({ "name": name, "value": value.into() })
}

/// Environment that points a `graphfs` process at the GraphFS's storage and
/// graph, managed or external. Shared by the API and the taggers.
pub fn backend_env(gfs: &GraphFS) -> Result<Vec<Value>, BuildError> {
    let ns = gfs.namespace().ok_or(BuildError::Missing("namespace"))?;
    let n = Names::new(&gfs.name_any());
    let spec = &gfs.spec;
    let mut env = vec![
        plain_env(env::STORAGE, "s3"),
        plain_env(env::S3_BUCKET, spec.storage.bucket.clone()),
        plain_env(env::GRAPH, "neo4j"),
    ];
    match &spec.storage.external {
        Some(ext) => env.extend([
            plain_env(env::S3_ENDPOINT, ext.endpoint.clone()),
            plain_env(env::S3_REGION, ext.region.clone()),
            secret_env(
                env::S3_ACCESS_KEY_ID,
                &ext.credentials_secret,
                "accessKeyId",
            ),
            secret_env(
                env::S3_SECRET_ACCESS_KEY,
                &ext.credentials_secret,
                "secretAccessKey",
            ),
        ]),
        None => env.extend([
            plain_env(
                env::S3_ENDPOINT,
                format!("http://{}.{ns}.svc:9000", n.minio()),
            ),
            plain_env(env::S3_REGION, "us-east-1"),
            secret_env(env::S3_ACCESS_KEY_ID, &n.minio_secret(), "accessKeyId"),
            secret_env(
                env::S3_SECRET_ACCESS_KEY,
                &n.minio_secret(),
                "secretAccessKey",
            ),
        ]),
    }
    match &spec.graph.external {
        Some(ext) => env.extend([
            plain_env(env::NEO4J_URI, ext.uri.clone()),
            secret_env(env::NEO4J_USER, &ext.credentials_secret, "username"),
            secret_env(env::NEO4J_PASSWORD, &ext.credentials_secret, "password"),
        ]),
        None => env.extend([
            plain_env(
                env::NEO4J_URI,
                format!("bolt://{}.{ns}.svc:7687", n.neo4j()),
            ),
            secret_env(env::NEO4J_USER, &n.neo4j_secret(), "username"),
            secret_env(env::NEO4J_PASSWORD, &n.neo4j_secret(), "password"),
        ]),
    }
    Ok(env)
}

/// Generated credentials the GraphFS needs, each with fresh random values.
/// They are created only when missing and never overwritten. Under
/// `retention: Keep` they carry no owner reference, so deleting the GraphFS
/// leaves the credentials of the kept volumes in place.
pub fn generated_secrets(
    gfs: &GraphFS,
    random: &mut dyn FnMut() -> String,
) -> Result<Vec<Secret>, BuildError> {
    let ns = gfs.namespace().ok_or(BuildError::Missing("namespace"))?;
    let name = gfs.name_any();
    let n = Names::new(&name);
    let owners = match gfs.spec.retention {
        Retention::Keep => json!([]),
        Retention::Delete => json!([owner_ref(gfs)?]),
    };
    let mut out = Vec::new();
    let mut secret = |sname: String, component: &str, data: Value| -> Result<(), BuildError> {
        out.push(typed(
            "Secret",
            json!({
                "apiVersion": "v1", "kind": "Secret",
                "metadata": { "name": sname, "namespace": ns, "labels": labels(&name, component), "ownerReferences": owners },
                "type": "Opaque",
                "stringData": data,
            }),
        )?);
        Ok(())
    };
    if gfs.spec.storage.managed.is_some() {
        secret(
            n.minio_secret(),
            "minio",
            json!({ "accessKeyId": format!("graphfs-{}", &random()[..8]), "secretAccessKey": random() }),
        )?;
    }
    if gfs.spec.graph.managed.is_some() {
        let pw = random();
        secret(
            n.neo4j_secret(),
            "neo4j",
            json!({ "username": "neo4j", "password": pw, "NEO4J_AUTH": format!("neo4j/{pw}") }),
        )?;
    }
    if gfs.spec.auth.tokens_secret.is_none() {
        let tokens = format!("admin:gfs_{}\noperator:gfs_{}\n", random(), random());
        secret(n.tokens_secret(), "api", json!({ "tokens": tokens }))?;
    }
    Ok(out)
}

/// The objects applied (server-side) for a GraphFS.
#[derive(Debug, Default)]
pub struct GraphFSChildren {
    pub statefulsets: Vec<StatefulSet>,
    pub services: Vec<Service>,
    pub deployments: Vec<Deployment>,
    pub ingress: Option<Ingress>,
    /// A Gateway API HTTPRoute (untyped: the Gateway API is not part of
    /// Kubernetes' own types).
    pub http_route: Option<Value>,
    pub pdb: Option<PodDisruptionBudget>,
    pub network_policies: Vec<NetworkPolicy>,
}

pub fn graphfs_children(gfs: &GraphFS) -> Result<GraphFSChildren, BuildError> {
    let ns = gfs.namespace().ok_or(BuildError::Missing("namespace"))?;
    let name = gfs.name_any();
    let n = Names::new(&name);
    let owner = owner_ref(gfs)?;
    let spec = &gfs.spec;
    let images = &spec.images;
    let mut out = GraphFSChildren::default();
    let pvc_policy = match spec.retention {
        Retention::Keep => "Retain",
        Retention::Delete => "Delete",
    };

    let mut managed = |component: &str,
                       sname: String,
                       image: &str,
                       ports: Value,
                       svc_ports: Value,
                       env: Value,
                       args: Value,
                       data_path: &str,
                       vol: &crate::crd::ManagedVolume|
     -> Result<(), BuildError> {
        let l = labels(&name, component);
        let mut pvc = json!({
            "metadata": { "name": "data", "labels": l },
            "spec": { "accessModes": ["ReadWriteOnce"], "resources": { "requests": { "storage": vol.size } } }
        });
        if let Some(sc) = &vol.storage_class_name {
            pvc["spec"]["storageClassName"] = json!(sc);
        }
        out.statefulsets.push(typed("StatefulSet", json!({
            "apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": meta(&sname, &ns, &l, &owner),
            "spec": {
                "serviceName": sname,
                "replicas": 1,
                "selector": { "matchLabels": selector(&name, component) },
                "persistentVolumeClaimRetentionPolicy": { "whenDeleted": pvc_policy, "whenScaled": "Retain" },
                "template": {
                    "metadata": { "labels": l },
                    "spec": {
                        "securityContext": { "runAsNonRoot": true, "runAsUser": 1000, "fsGroup": 1000 },
                        "containers": [{
                            "name": component, "image": image, "args": args, "env": env, "ports": ports,
                            "volumeMounts": [{ "name": "data", "mountPath": data_path }],
                            "securityContext": { "allowPrivilegeEscalation": false, "capabilities": { "drop": ["ALL"] } },
                        }]
                    }
                },
                "volumeClaimTemplates": [pvc]
            }
        }))?);
        out.services.push(typed(
            "Service",
            json!({
                "apiVersion": "v1", "kind": "Service",
                "metadata": meta(&sname, &ns, &l, &owner),
                "spec": { "selector": selector(&name, component), "ports": svc_ports }
            }),
        )?);
        out.network_policies.push(typed("NetworkPolicy", json!({
            "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": meta(&sname, &ns, &l, &owner),
            "spec": {
                "podSelector": { "matchLabels": selector(&name, component) },
                "policyTypes": ["Ingress"],
                "ingress": [{
                    "from": [{ "podSelector": { "matchExpressions": [
                        { "key": "app.kubernetes.io/instance", "operator": "In", "values": [name] },
                        { "key": "app.kubernetes.io/component", "operator": "In", "values": ["api", "tagger"] },
                    ] } }],
                }]
            }
        }))?);
        Ok(())
    };

    if let Some(vol) = &spec.storage.managed {
        let secret = n.minio_secret();
        managed(
            "minio",
            n.minio(),
            images.minio.as_deref().unwrap_or(DEFAULT_MINIO_IMAGE),
            json!([{ "name": "s3", "containerPort": 9000 }]),
            json!([{ "name": "s3", "port": 9000, "targetPort": "s3" }]),
            json!([
                secret_env("MINIO_ROOT_USER", &secret, "accessKeyId"),
                secret_env("MINIO_ROOT_PASSWORD", &secret, "secretAccessKey"),
            ]),
            json!(["server", "/data", "--address", ":9000"]),
            "/data",
            vol,
        )?;
    }
    if let Some(vol) = &spec.graph.managed {
        managed(
            "neo4j",
            n.neo4j(),
            images.neo4j.as_deref().unwrap_or(DEFAULT_NEO4J_IMAGE),
            json!([{ "name": "bolt", "containerPort": 7687 }, { "name": "http", "containerPort": 7474 }]),
            json!([{ "name": "bolt", "port": 7687, "targetPort": "bolt" }]),
            json!([secret_env("NEO4J_AUTH", &n.neo4j_secret(), "NEO4J_AUTH")]),
            json!([]),
            "/data",
            vol,
        )?;
    }

    // The API: stateless replicas.
    let l = labels(&name, "api");
    let tokens_secret = spec
        .auth
        .tokens_secret
        .clone()
        .unwrap_or_else(|| n.tokens_secret());
    let mut api_env = vec![
        plain_env(env::ADDR, format!("0.0.0.0:{API_PORT}")),
        plain_env(env::TOKENS_FILE, "/etc/graphfs/tokens/tokens"),
        plain_env(env::MAX_UPLOAD_BYTES, spec.api.max_upload_bytes.to_string()),
        // Taggers run in their own pods (TaggerPool).
        plain_env(env::TAGGER_CONCURRENCY, "0"),
        plain_env(env::LOG_FORMAT, "json"),
        plain_env(env::DATA_DIR, "/tmp/graphfs"),
    ];
    api_env.extend(backend_env(gfs)?);
    let probe = |path: &str, period: i32| json!({ "httpGet": { "path": path, "port": "http" }, "periodSeconds": period, "timeoutSeconds": 3, "failureThreshold": 3 });
    out.deployments.push(typed("Deployment", json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": meta(&n.api(), &ns, &l, &owner),
        "spec": {
            "replicas": spec.api.replicas,
            "selector": { "matchLabels": selector(&name, "api") },
            "strategy": { "type": "RollingUpdate", "rollingUpdate": { "maxUnavailable": 0, "maxSurge": 1 } },
            "template": {
                "metadata": { "labels": l },
                "spec": {
                    "terminationGracePeriodSeconds": 30,
                    "securityContext": { "runAsNonRoot": true, "runAsUser": 65532, "runAsGroup": 65532 },
                    "containers": [{
                        "name": "api",
                        "image": images.graphfs.as_deref().unwrap_or(DEFAULT_GRAPHFS_IMAGE),
                        "args": ["serve"],
                        "env": api_env,
                        "ports": [{ "name": "http", "containerPort": API_PORT }],
                        "readinessProbe": probe("/readyz", 5),
                        "livenessProbe": probe("/healthz", 10),
                        // Endpoints drop the pod before it stops taking requests.
                        "lifecycle": { "preStop": { "sleep": { "seconds": 5 } } },
                        "resources": resources_or(&spec.api.resources, json!({ "requests": { "cpu": "100m", "memory": "128Mi" }, "limits": { "memory": "1Gi" } })),
                        "securityContext": container_security(),
                        "volumeMounts": [
                            { "name": "tokens", "mountPath": "/etc/graphfs/tokens", "readOnly": true },
                            { "name": "tmp", "mountPath": "/tmp" },
                        ],
                    }],
                    "volumes": [
                        { "name": "tokens", "secret": { "secretName": tokens_secret } },
                        { "name": "tmp", "emptyDir": {} },
                    ]
                }
            }
        }
    }))?);
    out.services.push(typed("Service", json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": meta(&n.api(), &ns, &l, &owner),
        "spec": { "selector": selector(&name, "api"), "ports": [{ "name": "http", "port": 80, "targetPort": "http" }] }
    }))?);
    out.pdb = Some(typed(
        "PodDisruptionBudget",
        json!({
            "apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": meta(&n.api(), &ns, &l, &owner),
            "spec": { "maxUnavailable": 1, "selector": { "matchLabels": selector(&name, "api") } }
        }),
    )?);
    if spec.ingress.enabled {
        match &spec.ingress.gateway {
            Some(gw) => out.http_route = Some(http_route(gfs, gw, &owner, &ns, &l)),
            None => out.ingress = Some(ingress(gfs, &owner, &ns, &l)?),
        }
    }
    Ok(out)
}

fn ingress(
    gfs: &GraphFS,
    owner: &OwnerReference,
    ns: &str,
    l: &BTreeMap<String, String>,
) -> Result<Ingress, BuildError> {
    let ing = &gfs.spec.ingress;
    let n = Names::new(&gfs.name_any());
    let mut annotations = BTreeMap::new();
    if ing.class_name == "nginx" {
        let t = ing.timeout_seconds.to_string();
        for (k, v) in [
            ("proxy-body-size", ing.body_size_limit.clone()),
            ("proxy-read-timeout", t.clone()),
            ("proxy-send-timeout", t),
            // Uploads stream through to the API instead of spooling at the edge.
            ("proxy-request-buffering", "off".into()),
            // A failed replica's idempotent requests go to another one.
            (
                "proxy-next-upstream",
                "error timeout http_502 http_503 http_504".into(),
            ),
            ("proxy-next-upstream-tries", "3".into()),
        ] {
            annotations.insert(format!("nginx.ingress.kubernetes.io/{k}"), v);
        }
        if let Some(rps) = ing.rate_limit_rps {
            annotations.insert(
                "nginx.ingress.kubernetes.io/limit-rps".into(),
                rps.to_string(),
            );
        }
    }
    let mut rule = json!({ "http": { "paths": [{ "path": "/", "pathType": "Prefix", "backend": { "service": { "name": n.api(), "port": { "name": "http" } } } }] } });
    if let Some(h) = &ing.host {
        rule["host"] = json!(h);
    }
    let mut spec = json!({ "ingressClassName": ing.class_name, "rules": [rule] });
    if let Some(tls) = &ing.tls_secret_name {
        spec["tls"] = json!([{ "hosts": ing.host.iter().collect::<Vec<_>>(), "secretName": tls }]);
    }
    let mut m = meta(&n.api(), ns, l, owner);
    m["annotations"] = json!(annotations);
    typed(
        "Ingress",
        json!({ "apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": m, "spec": spec }),
    )
}

fn http_route(
    gfs: &GraphFS,
    gw: &crate::crd::GatewayRef,
    owner: &OwnerReference,
    ns: &str,
    l: &BTreeMap<String, String>,
) -> Value {
    let n = Names::new(&gfs.name_any());
    let mut parent = json!({ "name": gw.name });
    if let Some(p) = &gw.namespace {
        parent["namespace"] = json!(p);
    }
    if let Some(s) = &gw.section_name {
        parent["sectionName"] = json!(s);
    }
    let mut spec = json!({
        "parentRefs": [parent],
        "rules": [{
            "matches": [{ "path": { "type": "PathPrefix", "value": "/" } }],
            "backendRefs": [{ "name": n.api(), "port": 80 }],
        }],
    });
    if let Some(h) = &gfs.spec.ingress.host {
        spec["hostnames"] = json!([h]);
    }
    json!({
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": meta(&n.api(), ns, l, owner),
        "spec": spec,
    })
}

/// The tagger Deployment of a pool, at `replicas`.
pub fn tagger_deployment(
    pool: &TaggerPool,
    gfs: &GraphFS,
    replicas: i32,
) -> Result<Deployment, BuildError> {
    let ns = pool.namespace().ok_or(BuildError::Missing("namespace"))?;
    let pool_name = pool.name_any();
    let gname = gfs.name_any();
    let n = Names::new(&gname);
    let owner = owner_ref(pool)?;
    let spec = &pool.spec;
    let mut l = labels(&gname, "tagger");
    l.insert("graphfs.io/tagger-pool".into(), pool_name.clone());
    let mode = match spec.mode {
        TaggingMode::Offline => "offline",
        TaggingMode::Generative => "generative",
        TaggingMode::Selective => "selective",
    };
    let mut envs = vec![
        plain_env(
            env::TAGGER_CONCURRENCY,
            spec.concurrency_per_pod.to_string(),
        ),
        plain_env(env::TAGGING_MODE, mode),
        plain_env(env::LOG_FORMAT, "json"),
        plain_env(env::DATA_DIR, "/tmp/graphfs"),
    ];
    if let Some(llm) = &spec.llm
        && spec.mode != TaggingMode::Offline
    {
        envs.push(plain_env(env::LLM_BASE_URL, llm.base_url.clone()));
        envs.push(plain_env(env::LLM_CHAT_MODEL, llm.chat_model.clone()));
        envs.push(plain_env(
            env::LLM_TIMEOUT_SECONDS,
            llm.timeout_seconds.to_string(),
        ));
        if let Some(m) = &llm.vision_model {
            envs.push(plain_env(env::LLM_VISION_MODEL, m.clone()));
        }
        if let Some(m) = &llm.transcription_model {
            envs.push(plain_env(env::LLM_TRANSCRIPTION_MODEL, m.clone()));
        }
        if let Some(k) = &llm.api_key_secret {
            envs.push(secret_env(env::LLM_API_KEY, &k.name, &k.key));
        }
    }
    if let Some(url) = &spec.embedding.base_url {
        envs.push(plain_env(env::EMBEDDING_BASE_URL, url.clone()));
    }
    if let Some(m) = &spec.embedding.model {
        envs.push(plain_env(env::EMBEDDING_MODEL, m.clone()));
    }
    envs.extend(backend_env(gfs)?);
    let sel = json!({
        "app.kubernetes.io/instance": gname,
        "app.kubernetes.io/component": "tagger",
        "graphfs.io/tagger-pool": pool_name,
    });
    typed(
        "Deployment",
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": meta(&n.tagger(&pool_name), &ns, &l, &owner),
            "spec": {
                "replicas": replicas,
                "selector": { "matchLabels": sel },
                "template": {
                    "metadata": { "labels": l },
                    "spec": {
                        // Longer than a model call: a stopping tagger finishes its jobs.
                        "terminationGracePeriodSeconds": spec.termination_grace_period_seconds,
                        "securityContext": { "runAsNonRoot": true, "runAsUser": 65532, "runAsGroup": 65532 },
                        "containers": [{
                            "name": "tagger",
                            "image": gfs.spec.images.graphfs.as_deref().unwrap_or(DEFAULT_GRAPHFS_IMAGE),
                            "args": ["tagger"],
                            "env": envs,
                            "resources": resources_or(&spec.resources, json!({ "requests": { "cpu": "250m", "memory": "512Mi" }, "limits": { "memory": "4Gi" } })),
                            "securityContext": container_security(),
                            "volumeMounts": [{ "name": "tmp", "mountPath": "/tmp" }],
                        }],
                        "volumes": [{ "name": "tmp", "emptyDir": {} }]
                    }
                }
            }
        }),
    )
}

/// The label selector string of a pool's pods (for the scale subresource).
pub fn tagger_selector(gfs_name: &str, pool: &str) -> String {
    format!(
        "app.kubernetes.io/component=tagger,app.kubernetes.io/instance={gfs_name},graphfs.io/tagger-pool={pool}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::{
        ExternalGraph, ExternalStorage, GraphFSSpec, GraphSpec, StorageSpec, TaggerPoolSpec,
    };

    fn gfs(spec: GraphFSSpec) -> GraphFS {
        let mut g = GraphFS::new("files", spec);
        g.metadata.namespace = Some("team".into());
        g.metadata.uid = Some("uid-1".into());
        g
    }

    fn default_spec() -> GraphFSSpec {
        serde_json::from_value(json!({})).unwrap()
    }

    fn env_names(d: &Deployment) -> Vec<String> {
        let c = &d
            .spec
            .as_ref()
            .unwrap()
            .template
            .spec
            .as_ref()
            .unwrap()
            .containers[0];
        c.env
            .as_ref()
            .unwrap()
            .iter()
            .map(|e| e.name.clone())
            .collect()
    }

    #[test]
    fn defaults_give_managed_backends_an_api_and_an_nginx_ingress() {
        let g = gfs(default_spec());
        let c = graphfs_children(&g).unwrap();
        let sts: Vec<_> = c
            .statefulsets
            .iter()
            .map(|s| s.metadata.name.clone().unwrap())
            .collect();
        assert_eq!(sts, vec!["files-minio", "files-neo4j"]);
        let svcs: Vec<_> = c
            .services
            .iter()
            .map(|s| s.metadata.name.clone().unwrap())
            .collect();
        assert_eq!(svcs, vec!["files-minio", "files-neo4j", "files-api"]);
        assert_eq!(c.network_policies.len(), 2);
        let api = &c.deployments[0];
        let s = api.spec.as_ref().unwrap();
        assert_eq!(s.replicas, Some(2));
        let ru = s
            .strategy
            .as_ref()
            .unwrap()
            .rolling_update
            .as_ref()
            .unwrap();
        assert_eq!(
            ru.max_unavailable,
            Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(0))
        );
        let pod = s.template.spec.as_ref().unwrap();
        let ctr = &pod.containers[0];
        assert_eq!(
            ctr.readiness_probe
                .as_ref()
                .unwrap()
                .http_get
                .as_ref()
                .unwrap()
                .path
                .as_deref(),
            Some("/readyz")
        );
        assert_eq!(
            ctr.liveness_probe
                .as_ref()
                .unwrap()
                .http_get
                .as_ref()
                .unwrap()
                .path
                .as_deref(),
            Some("/healthz")
        );
        let sc = ctr.security_context.as_ref().unwrap();
        assert_eq!(sc.read_only_root_filesystem, Some(true));
        assert_eq!(sc.run_as_non_root, Some(true));
        assert_eq!(
            sc.capabilities.as_ref().unwrap().drop.as_ref().unwrap(),
            &vec!["ALL".to_string()]
        );
        let names = env_names(api);
        for e in [
            env::S3_ENDPOINT,
            env::S3_ACCESS_KEY_ID,
            env::NEO4J_URI,
            env::NEO4J_PASSWORD,
            env::TOKENS_FILE,
        ] {
            assert!(names.contains(&e.to_string()), "{e} missing");
        }
        // Everything is owned by the GraphFS.
        for o in c
            .statefulsets
            .iter()
            .map(|x| &x.metadata)
            .chain(c.services.iter().map(|x| &x.metadata))
        {
            assert_eq!(o.owner_references.as_ref().unwrap()[0].uid, "uid-1");
        }
        let ing = c.ingress.unwrap();
        let a = ing.metadata.annotations.unwrap();
        assert_eq!(a["nginx.ingress.kubernetes.io/proxy-body-size"], "4g");
        assert!(a["nginx.ingress.kubernetes.io/proxy-next-upstream"].contains("http_502"));
        assert_eq!(
            ing.spec.unwrap().ingress_class_name.as_deref(),
            Some("nginx")
        );
    }

    #[test]
    fn external_backends_replace_the_managed_servers() {
        let mut spec = default_spec();
        spec.storage = StorageSpec {
            managed: None,
            external: Some(ExternalStorage {
                endpoint: "https://s3.example.com".into(),
                region: "eu-west-1".into(),
                credentials_secret: "s3-creds".into(),
            }),
            bucket: "files".into(),
        };
        spec.graph = GraphSpec {
            managed: None,
            external: Some(ExternalGraph {
                uri: "bolt://db:7687".into(),
                credentials_secret: "db-creds".into(),
            }),
        };
        let g = gfs(spec);
        let c = graphfs_children(&g).unwrap();
        assert!(c.statefulsets.is_empty());
        assert!(c.network_policies.is_empty());
        let env = serde_json::to_value(
            &c.deployments[0]
                .spec
                .as_ref()
                .unwrap()
                .template
                .spec
                .as_ref()
                .unwrap()
                .containers[0]
                .env,
        )
        .unwrap();
        let s = env.to_string();
        assert!(
            s.contains("https://s3.example.com")
                && s.contains("s3-creds")
                && s.contains("bolt://db:7687")
        );
        // Only the tokens secret is generated.
        let secrets = generated_secrets(&g, &mut || "x".repeat(32)).unwrap();
        assert_eq!(secrets.len(), 1);
        assert_eq!(
            secrets[0].metadata.name.as_deref(),
            Some("files-api-tokens")
        );
    }

    #[test]
    fn other_ingress_classes_get_no_nginx_annotations() {
        let mut spec = default_spec();
        spec.ingress.class_name = "traefik".into();
        spec.ingress.host = Some("files.example.com".into());
        spec.ingress.tls_secret_name = Some("files-tls".into());
        let ing = graphfs_children(&gfs(spec)).unwrap().ingress.unwrap();
        assert!(ing.metadata.annotations.unwrap_or_default().is_empty());
        let s = ing.spec.unwrap();
        assert_eq!(s.tls.unwrap()[0].secret_name.as_deref(), Some("files-tls"));
        assert_eq!(
            s.rules.unwrap()[0].host.as_deref(),
            Some("files.example.com")
        );
    }

    #[test]
    fn a_gateway_gets_an_httproute_instead_of_an_ingress() {
        let mut spec = default_spec();
        spec.ingress.host = Some("files.example.com".into());
        spec.ingress.gateway = Some(crate::crd::GatewayRef {
            name: "public".into(),
            namespace: Some("gateways".into()),
            section_name: Some("https".into()),
        });
        let c = graphfs_children(&gfs(spec)).unwrap();
        assert!(c.ingress.is_none());
        let r = c.http_route.unwrap();
        assert_eq!(r["kind"], "HTTPRoute");
        assert_eq!(
            r["spec"]["parentRefs"][0],
            json!({"name": "public", "namespace": "gateways", "sectionName": "https"})
        );
        assert_eq!(r["spec"]["hostnames"][0], "files.example.com");
        assert_eq!(r["spec"]["rules"][0]["backendRefs"][0]["name"], "files-api");
        assert_eq!(r["metadata"]["ownerReferences"][0]["uid"], "uid-1");
    }

    #[test]
    fn retention_decides_secret_ownership_and_pvc_policy() {
        let g = gfs(default_spec());
        let keep = generated_secrets(&g, &mut || "k".repeat(32)).unwrap();
        assert_eq!(keep.len(), 3);
        assert!(keep.iter().all(|s| {
            s.metadata
                .owner_references
                .as_deref()
                .unwrap_or_default()
                .is_empty()
        }));
        let c = graphfs_children(&g).unwrap();
        let policy = c.statefulsets[0]
            .spec
            .as_ref()
            .unwrap()
            .persistent_volume_claim_retention_policy
            .clone()
            .unwrap();
        assert_eq!(policy.when_deleted.as_deref(), Some("Retain"));

        let mut spec = default_spec();
        spec.retention = Retention::Delete;
        let g = gfs(spec);
        let del = generated_secrets(&g, &mut || "d".repeat(32)).unwrap();
        assert!(
            del.iter()
                .all(|s| s.metadata.owner_references.as_ref().unwrap().len() == 1)
        );
        let c = graphfs_children(&g).unwrap();
        let policy = c.statefulsets[0]
            .spec
            .as_ref()
            .unwrap()
            .persistent_volume_claim_retention_policy
            .clone()
            .unwrap();
        assert_eq!(policy.when_deleted.as_deref(), Some("Delete"));
    }

    #[test]
    fn tagger_deployment_carries_pool_settings_and_backends() {
        let g = gfs(default_spec());
        let spec: TaggerPoolSpec = serde_json::from_value(json!({
            "graphFsRef": "files",
            "concurrencyPerPod": 4,
            "llm": { "baseUrl": "http://llm:8000/v1", "chatModel": "smollm2", "apiKeySecret": { "name": "llm", "key": "key" } }
        }))
        .unwrap();
        let mut pool = TaggerPool::new("main", spec);
        pool.metadata.namespace = Some("team".into());
        pool.metadata.uid = Some("uid-p".into());
        let d = tagger_deployment(&pool, &g, 3).unwrap();
        assert_eq!(d.metadata.name.as_deref(), Some("files-tagger-main"));
        let s = d.spec.as_ref().unwrap();
        assert_eq!(s.replicas, Some(3));
        assert_eq!(
            s.template
                .spec
                .as_ref()
                .unwrap()
                .termination_grace_period_seconds,
            Some(300)
        );
        let names = env_names(&d);
        for e in [
            env::LLM_BASE_URL,
            env::LLM_API_KEY,
            env::NEO4J_URI,
            env::S3_BUCKET,
            env::TAGGER_CONCURRENCY,
        ] {
            assert!(names.contains(&e.to_string()), "{e} missing: {names:?}");
        }
        assert_eq!(
            d.metadata.owner_references.as_ref().unwrap()[0].uid,
            "uid-p"
        );
        let labels = s.selector.match_labels.as_ref().unwrap();
        let sel = tagger_selector("files", "main");
        for (k, v) in labels {
            assert!(sel.contains(&format!("{k}={v}")));
        }
    }
}
