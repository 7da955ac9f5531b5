//! A TaggerPool's Deployment: tagging handlers at the replica count the
//! scaler chose.

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::{
    Container, EmptyDirVolumeSource, PodSpec, PodTemplateSpec, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

use super::*;
use crate::crd::{TaggerPool, TaggingMode};

/// The label that names a pod's pool.
const POOL_LABEL: &str = "graphfs.io/tagger-pool";

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
    l.insert(POOL_LABEL.into(), pool_name.clone());
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
    let mut match_labels = selector_labels(&gname, "tagger");
    match_labels.insert(POOL_LABEL.into(), pool_name.clone());
    Ok(Deployment {
        metadata: meta(&n.tagger(&pool_name), &ns, &l, &owner),
        spec: Some(DeploymentSpec {
            replicas: Some(replicas),
            selector: LabelSelector {
                match_labels: Some(match_labels),
                ..Default::default()
            },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(l),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    // Longer than a model call: a stopping tagger finishes its jobs.
                    termination_grace_period_seconds: Some(spec.termination_grace_period_seconds),
                    security_context: Some(run_as(65532, Some(65532), None)),
                    containers: vec![Container {
                        name: "tagger".into(),
                        image: Some(
                            gfs.spec
                                .images
                                .graphfs
                                .as_deref()
                                .unwrap_or(DEFAULT_GRAPHFS_IMAGE)
                                .into(),
                        ),
                        args: Some(vec!["tagger".into()]),
                        env: Some(envs),
                        resources: Some(spec.resources.clone().unwrap_or_else(|| {
                            super::api::default_resources("250m", "512Mi", "4Gi")
                        })),
                        security_context: Some(container_security()),
                        volume_mounts: Some(vec![VolumeMount {
                            name: "tmp".into(),
                            mount_path: "/tmp".into(),
                            ..Default::default()
                        }]),
                        ..Default::default()
                    }],
                    volumes: Some(vec![Volume {
                        name: "tmp".into(),
                        empty_dir: Some(EmptyDirVolumeSource::default()),
                        ..Default::default()
                    }]),
                    ..Default::default()
                }),
            },
            ..Default::default()
        }),
        ..Default::default()
    })
}

/// The label selector string of a pool's pods (for the scale subresource).
pub fn tagger_selector(gfs_name: &str, pool: &str) -> String {
    format!(
        "app.kubernetes.io/component=tagger,app.kubernetes.io/instance={gfs_name},{POOL_LABEL}={pool}"
    )
}
