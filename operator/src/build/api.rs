//! The API: stateless replicas behind a Service, kept available through
//! rollouts and node drains.

use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment,
};
use k8s_openapi::api::core::v1::{
    Container, ContainerPort, EmptyDirVolumeSource, HTTPGetAction, Lifecycle, LifecycleHandler,
    PodSpec, PodTemplateSpec, Probe, ResourceRequirements, SecretVolumeSource, Service,
    ServicePort, ServiceSpec, SleepAction, Volume, VolumeMount,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::*;

pub(super) struct Api {
    pub deployment: Deployment,
    pub service: Service,
    pub pdb: PodDisruptionBudget,
}

fn quantities(pairs: &[(&str, &str)]) -> BTreeMap<String, Quantity> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_string(), Quantity((*v).to_string())))
        .collect()
}

/// Requests and limits when the spec gives none.
pub(super) fn default_resources(
    cpu: &str,
    memory: &str,
    memory_limit: &str,
) -> ResourceRequirements {
    ResourceRequirements {
        requests: Some(quantities(&[("cpu", cpu), ("memory", memory)])),
        limits: Some(quantities(&[("memory", memory_limit)])),
        ..Default::default()
    }
}

fn probe(path: &str, period: i32) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.into()),
            port: IntOrString::String("http".into()),
            ..Default::default()
        }),
        period_seconds: Some(period),
        timeout_seconds: Some(3),
        failure_threshold: Some(3),
        ..Default::default()
    }
}

pub(super) fn api(gfs: &GraphFS, ns: &str, owner: &OwnerReference) -> Result<Api, BuildError> {
    let name = gfs.name_any();
    let n = Names::new(&name);
    let spec = &gfs.spec;
    let l = labels(&name, "api");
    let tokens_secret = spec
        .auth
        .tokens_secret
        .clone()
        .unwrap_or_else(|| n.tokens_secret());
    let mut env = vec![
        plain_env(env::ADDR, format!("0.0.0.0:{API_PORT}")),
        plain_env(env::TOKENS_FILE, "/etc/graphfs/tokens/tokens"),
        plain_env(env::ADMIN_USERS, spec.auth.admins().join(",")),
        plain_env(env::MAX_UPLOAD_BYTES, spec.api.max_upload_bytes.to_string()),
        // Taggers run in their own pods (TaggerPool).
        plain_env(env::TAGGER_CONCURRENCY, "0"),
        plain_env(env::LOG_FORMAT, "json"),
        plain_env(env::DATA_DIR, "/tmp/graphfs"),
    ];
    if let Some(oidc) = &spec.auth.oidc {
        env.push(plain_env(env::OIDC_ISSUER_URL, oidc.issuer_url.clone()));
        env.push(plain_env(env::OIDC_CLIENT_ID, oidc.client_id.clone()));
        if let Some(k) = &oidc.client_secret {
            env.push(secret_env(env::OIDC_CLIENT_SECRET, &k.name, &k.key));
        }
        if let Some(claim) = &oidc.user_claim {
            env.push(plain_env(env::OIDC_USER_CLAIM, claim.clone()));
        }
        if let Some(claim) = &oidc.groups_claim {
            env.push(plain_env(env::OIDC_GROUPS_CLAIM, claim.clone()));
        }
        env.push(plain_env(
            env::OIDC_ADMIN_GROUPS,
            oidc.admin_groups.join(","),
        ));
    }
    env.extend(backend_env(gfs)?);
    let container = Container {
        name: "api".into(),
        image: Some(
            spec.images
                .graphfs
                .as_deref()
                .unwrap_or(DEFAULT_GRAPHFS_IMAGE)
                .into(),
        ),
        args: Some(vec!["serve".into()]),
        env: Some(env),
        ports: Some(vec![ContainerPort {
            name: Some("http".into()),
            container_port: API_PORT,
            ..Default::default()
        }]),
        readiness_probe: Some(probe("/readyz", 5)),
        liveness_probe: Some(probe("/healthz", 10)),
        // Endpoints drop the pod before it stops taking requests.
        lifecycle: Some(Lifecycle {
            pre_stop: Some(LifecycleHandler {
                sleep: Some(SleepAction { seconds: 5 }),
                ..Default::default()
            }),
            ..Default::default()
        }),
        resources: Some(
            spec.api
                .resources
                .clone()
                .unwrap_or_else(|| default_resources("100m", "128Mi", "1Gi")),
        ),
        security_context: Some(container_security()),
        volume_mounts: Some(vec![
            VolumeMount {
                name: "tokens".into(),
                mount_path: "/etc/graphfs/tokens".into(),
                read_only: Some(true),
                ..Default::default()
            },
            VolumeMount {
                name: "tmp".into(),
                mount_path: "/tmp".into(),
                ..Default::default()
            },
        ]),
        ..Default::default()
    };
    let deployment = Deployment {
        metadata: meta(&n.api(), ns, &l, owner),
        spec: Some(DeploymentSpec {
            replicas: Some(spec.api.replicas),
            selector: selector(&name, "api"),
            strategy: Some(DeploymentStrategy {
                type_: Some("RollingUpdate".into()),
                rolling_update: Some(RollingUpdateDeployment {
                    max_unavailable: Some(IntOrString::Int(0)),
                    max_surge: Some(IntOrString::Int(1)),
                }),
            }),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(l.clone()),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    termination_grace_period_seconds: Some(30),
                    security_context: Some(run_as(65532, Some(65532), None)),
                    containers: vec![container],
                    volumes: Some(vec![
                        Volume {
                            name: "tokens".into(),
                            secret: Some(SecretVolumeSource {
                                secret_name: Some(tokens_secret),
                                ..Default::default()
                            }),
                            ..Default::default()
                        },
                        Volume {
                            name: "tmp".into(),
                            empty_dir: Some(EmptyDirVolumeSource::default()),
                            ..Default::default()
                        },
                    ]),
                    ..Default::default()
                }),
            },
            ..Default::default()
        }),
        ..Default::default()
    };
    let service = Service {
        metadata: meta(&n.api(), ns, &l, owner),
        spec: Some(ServiceSpec {
            selector: Some(selector_labels(&name, "api")),
            ports: Some(vec![ServicePort {
                name: Some("http".into()),
                port: 80,
                target_port: Some(IntOrString::String("http".into())),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    };
    let pdb = PodDisruptionBudget {
        metadata: meta(&n.api(), ns, &l, owner),
        spec: Some(PodDisruptionBudgetSpec {
            max_unavailable: Some(IntOrString::Int(1)),
            selector: Some(selector(&name, "api")),
            ..Default::default()
        }),
        ..Default::default()
    };
    Ok(Api {
        deployment,
        service,
        pdb,
    })
}
