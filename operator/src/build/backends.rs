//! The managed MinIO and Neo4j: a one-replica StatefulSet with a volume,
//! a Service, and a NetworkPolicy that lets only this GraphFS's API and
//! taggers in.

use k8s_openapi::api::apps::v1::{
    StatefulSet, StatefulSetPersistentVolumeClaimRetentionPolicy, StatefulSetSpec,
};
use k8s_openapi::api::core::v1::{
    Container, ContainerPort, EnvVar, PersistentVolumeClaim, PersistentVolumeClaimSpec, PodSpec,
    PodTemplateSpec, SecurityContext, Service, ServicePort, ServiceSpec, VolumeMount,
    VolumeResourceRequirements,
};
use k8s_openapi::api::networking::v1::{
    NetworkPolicy, NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
    LabelSelector, LabelSelectorRequirement, ObjectMeta, OwnerReference,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::*;
use crate::crd::{ManagedVolume, Retention};

/// The children of one managed backend.
pub(super) struct Backend {
    pub statefulset: StatefulSet,
    pub service: Service,
    pub network_policy: NetworkPolicy,
}

/// What differs between the backends.
struct BackendSpec<'a> {
    component: &'static str,
    name: String,
    image: &'a str,
    /// Container ports, by name; the first is the Service's.
    ports: &'static [(&'static str, i32)],
    env: Vec<EnvVar>,
    args: Vec<String>,
    volume: &'a ManagedVolume,
}

/// The managed backends the spec asks for: MinIO, then Neo4j.
pub(super) fn managed_backends(gfs: &GraphFS, ns: &str, owner: &OwnerReference) -> Vec<Backend> {
    let n = Names::new(&gfs.name_any());
    let images = &gfs.spec.images;
    let mut out = Vec::new();
    if let Some(volume) = &gfs.spec.storage.managed {
        let secret = n.minio_secret();
        out.push(backend(
            gfs,
            ns,
            owner,
            BackendSpec {
                component: "minio",
                name: n.minio(),
                image: images.minio.as_deref().unwrap_or(DEFAULT_MINIO_IMAGE),
                ports: &[("s3", 9000)],
                env: vec![
                    secret_env("MINIO_ROOT_USER", &secret, "accessKeyId"),
                    secret_env("MINIO_ROOT_PASSWORD", &secret, "secretAccessKey"),
                ],
                args: ["server", "/data", "--address", ":9000"]
                    .map(String::from)
                    .to_vec(),
                volume,
            },
        ));
    }
    if let Some(volume) = &gfs.spec.graph.managed {
        out.push(backend(
            gfs,
            ns,
            owner,
            BackendSpec {
                component: "neo4j",
                name: n.neo4j(),
                image: images.neo4j.as_deref().unwrap_or(DEFAULT_NEO4J_IMAGE),
                ports: &[("bolt", 7687), ("http", 7474)],
                env: vec![
                    secret_env("NEO4J_AUTH", &n.neo4j_secret(), "NEO4J_AUTH"),
                    // db.index.fulltext.eventually_consistent_refresh_interval:
                    // Lucene's readers refresh once a second, not after each
                    // transaction applied (a new segment each time), which
                    // held uploads to the rate of those refreshes. GraphFS's
                    // searches wait for every earlier write all the same.
                    plain_env(
                        "NEO4J_db_index_fulltext_eventually__consistent__refresh__interval",
                        "1s",
                    ),
                ],
                args: Vec::new(),
                volume,
            },
        ));
    }
    out
}

fn backend(gfs: &GraphFS, ns: &str, owner: &OwnerReference, b: BackendSpec) -> Backend {
    let instance = gfs.name_any();
    let l = labels(&instance, b.component);
    let pvc_policy = match gfs.spec.retention {
        Retention::Keep => "Retain",
        Retention::Delete => "Delete",
    };
    let claim = PersistentVolumeClaim {
        metadata: ObjectMeta {
            name: Some("data".into()),
            labels: Some(l.clone()),
            ..Default::default()
        },
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec!["ReadWriteOnce".into()]),
            resources: Some(VolumeResourceRequirements {
                requests: Some([("storage".to_string(), Quantity(b.volume.size.clone()))].into()),
                ..Default::default()
            }),
            storage_class_name: b.volume.storage_class_name.clone(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let statefulset = StatefulSet {
        metadata: meta(&b.name, ns, &l, owner),
        spec: Some(StatefulSetSpec {
            service_name: Some(b.name.clone()),
            replicas: Some(1),
            selector: selector(&instance, b.component),
            persistent_volume_claim_retention_policy: Some(
                StatefulSetPersistentVolumeClaimRetentionPolicy {
                    when_deleted: Some(pvc_policy.into()),
                    when_scaled: Some("Retain".into()),
                },
            ),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(l.clone()),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    security_context: Some(run_as(1000, None, Some(1000))),
                    containers: vec![Container {
                        name: b.component.into(),
                        image: Some(b.image.into()),
                        args: Some(b.args),
                        env: Some(b.env),
                        ports: Some(
                            b.ports
                                .iter()
                                .map(|(name, port)| ContainerPort {
                                    name: Some((*name).into()),
                                    container_port: *port,
                                    ..Default::default()
                                })
                                .collect(),
                        ),
                        volume_mounts: Some(vec![VolumeMount {
                            name: "data".into(),
                            mount_path: "/data".into(),
                            ..Default::default()
                        }]),
                        security_context: Some(SecurityContext {
                            allow_privilege_escalation: Some(false),
                            capabilities: Some(drop_all()),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
            },
            volume_claim_templates: Some(vec![claim]),
            ..Default::default()
        }),
        ..Default::default()
    };
    let (port_name, port) = b.ports[0];
    let service = Service {
        metadata: meta(&b.name, ns, &l, owner),
        spec: Some(ServiceSpec {
            selector: Some(selector_labels(&instance, b.component)),
            ports: Some(vec![ServicePort {
                name: Some(port_name.into()),
                port,
                target_port: Some(IntOrString::String(port_name.into())),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    };
    let within = |key: &str, values: Vec<String>| LabelSelectorRequirement {
        key: key.into(),
        operator: "In".into(),
        values: Some(values),
    };
    let network_policy = NetworkPolicy {
        metadata: meta(&b.name, ns, &l, owner),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(selector(&instance, b.component)),
            policy_types: Some(vec!["Ingress".into()]),
            ingress: Some(vec![NetworkPolicyIngressRule {
                from: Some(vec![NetworkPolicyPeer {
                    pod_selector: Some(LabelSelector {
                        match_expressions: Some(vec![
                            within("app.kubernetes.io/instance", vec![instance.clone()]),
                            within(
                                "app.kubernetes.io/component",
                                vec!["api".into(), "tagger".into()],
                            ),
                        ]),
                        ..Default::default()
                    }),
                    ..Default::default()
                }]),
                ..Default::default()
            }]),
            ..Default::default()
        }),
    };
    Backend {
        statefulset,
        service,
        network_policy,
    }
}
