//! Desired objects, built from a custom resource without touching the API
//! server: pure functions, unit-tested and compared with YAML fixtures
//! (`tests/build_fixtures.rs`), applied by the reconcilers. Every object is
//! a k8s-openapi struct, so a misspelled field does not compile.
//!
//! One module per kind of child: `secrets` (generated credentials),
//! `backends` (managed MinIO and Neo4j), `api` (the API Deployment, Service
//! and PodDisruptionBudget), `edge` (Ingress or Gateway API HTTPRoute) and
//! `tagger` (a pool's Deployment).

mod api;
mod backends;
mod edge;
mod secrets;
mod tagger;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{
    Capabilities, EnvVar, EnvVarSource, PodSecurityContext, SeccompProfile, SecretKeySelector,
    SecurityContext, Service,
};
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, OwnerReference};
use kube::Resource;
use kube::ResourceExt;
use serde_json::Value;

use crate::crd::GraphFS;

pub use secrets::generated_secrets;
pub use tagger::{tagger_deployment, tagger_selector};

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
    pub const ADMIN_USERS: &str = "GRAPHFS_ADMIN_USERS";
    pub const OIDC_ISSUER_URL: &str = "GRAPHFS_OIDC_ISSUER_URL";
    pub const OIDC_CLIENT_ID: &str = "GRAPHFS_OIDC_CLIENT_ID";
    pub const OIDC_CLIENT_SECRET: &str = "GRAPHFS_OIDC_CLIENT_SECRET";
    pub const OIDC_USER_CLAIM: &str = "GRAPHFS_OIDC_USER_CLAIM";
    pub const OIDC_GROUPS_CLAIM: &str = "GRAPHFS_OIDC_GROUPS_CLAIM";
    pub const OIDC_ADMIN_GROUPS: &str = "GRAPHFS_OIDC_ADMIN_GROUPS";
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

/// The labels a component's pods are selected by.
fn selector_labels(instance: &str, component: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app.kubernetes.io/instance".into(), instance.into()),
        ("app.kubernetes.io/component".into(), component.into()),
    ])
}

fn selector(instance: &str, component: &str) -> LabelSelector {
    LabelSelector {
        match_labels: Some(selector_labels(instance, component)),
        ..Default::default()
    }
}

pub fn owner_ref<K: Resource<DynamicType = ()>>(obj: &K) -> Result<OwnerReference, BuildError> {
    obj.controller_owner_ref(&())
        .ok_or(BuildError::Missing("uid"))
}

fn meta(
    name: &str,
    ns: &str,
    labels: &BTreeMap<String, String>,
    owner: &OwnerReference,
) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.into()),
        namespace: Some(ns.into()),
        labels: Some(labels.clone()),
        owner_references: Some(vec![owner.clone()]),
        ..Default::default()
    }
}

/// Hardened container settings: no root, no privilege escalation, no
/// capabilities, read-only root filesystem.
fn container_security() -> SecurityContext {
    SecurityContext {
        run_as_non_root: Some(true),
        allow_privilege_escalation: Some(false),
        read_only_root_filesystem: Some(true),
        capabilities: Some(drop_all()),
        seccomp_profile: Some(SeccompProfile {
            type_: "RuntimeDefault".into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn drop_all() -> Capabilities {
    Capabilities {
        drop: Some(vec!["ALL".into()]),
        ..Default::default()
    }
}

/// Pods run as this non-root user and group.
fn run_as(user: i64, group: Option<i64>, fs_group: Option<i64>) -> PodSecurityContext {
    PodSecurityContext {
        run_as_non_root: Some(true),
        run_as_user: Some(user),
        run_as_group: group,
        fs_group,
        ..Default::default()
    }
}

fn secret_env(name: &str, secret: &str, key: &str) -> EnvVar {
    EnvVar {
        name: name.into(),
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: secret.into(),
                key: key.into(),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn plain_env(name: &str, value: impl Into<String>) -> EnvVar {
    EnvVar {
        name: name.into(),
        value: Some(value.into()),
        ..Default::default()
    }
}

/// Environment that points a `graphfs` process at the GraphFS's storage and
/// graph, managed or external. Shared by the API and the taggers.
pub fn backend_env(gfs: &GraphFS) -> Result<Vec<EnvVar>, BuildError> {
    let ns = gfs.namespace().ok_or(BuildError::Missing("namespace"))?;
    let n = Names::new(&gfs.name_any());
    let spec = &gfs.spec;
    let mut env = vec![
        plain_env(env::STORAGE, "s3"),
        plain_env(env::S3_BUCKET, spec.storage.bucket.clone()),
        plain_env(env::GRAPH, "neo4j"),
    ];
    let (endpoint, region, s3_secret) = match &spec.storage.external {
        Some(ext) => (
            ext.endpoint.clone(),
            ext.region.clone(),
            ext.credentials_secret.clone(),
        ),
        None => (
            format!("http://{}.{ns}.svc:9000", n.minio()),
            "us-east-1".into(),
            n.minio_secret(),
        ),
    };
    env.extend([
        plain_env(env::S3_ENDPOINT, endpoint),
        plain_env(env::S3_REGION, region),
        secret_env(env::S3_ACCESS_KEY_ID, &s3_secret, "accessKeyId"),
        secret_env(env::S3_SECRET_ACCESS_KEY, &s3_secret, "secretAccessKey"),
    ]);
    let (uri, graph_secret) = match &spec.graph.external {
        Some(ext) => (ext.uri.clone(), ext.credentials_secret.clone()),
        None => (
            format!("bolt://{}.{ns}.svc:7687", n.neo4j()),
            n.neo4j_secret(),
        ),
    };
    env.extend([
        plain_env(env::NEO4J_URI, uri),
        secret_env(env::NEO4J_USER, &graph_secret, "username"),
        secret_env(env::NEO4J_PASSWORD, &graph_secret, "password"),
    ]);
    Ok(env)
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

/// What a GraphFS's spec asks for, in apply order: managed backends, the
/// API, then its Ingress or HTTPRoute.
pub fn graphfs_children(gfs: &GraphFS) -> Result<GraphFSChildren, BuildError> {
    let ns = gfs.namespace().ok_or(BuildError::Missing("namespace"))?;
    let owner = owner_ref(gfs)?;
    let mut out = GraphFSChildren::default();
    for b in backends::managed_backends(gfs, &ns, &owner) {
        out.statefulsets.push(b.statefulset);
        out.services.push(b.service);
        out.network_policies.push(b.network_policy);
    }
    let api = api::api(gfs, &ns, &owner)?;
    out.deployments.push(api.deployment);
    out.services.push(api.service);
    out.pdb = Some(api.pdb);
    if gfs.spec.ingress.enabled {
        let l = labels(&gfs.name_any(), "api");
        match &gfs.spec.ingress.gateway {
            Some(gw) => out.http_route = Some(edge::http_route(gfs, gw, &owner, &ns, &l)),
            None => out.ingress = Some(edge::ingress(gfs, &owner, &ns, &l)),
        }
    }
    Ok(out)
}
