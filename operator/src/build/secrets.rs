//! Generated credentials: created once when missing, never overwritten.

use k8s_openapi::api::core::v1::Secret;

use super::*;
use crate::crd::{AuthSpec, Retention};

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
        Retention::Keep => vec![],
        Retention::Delete => vec![owner_ref(gfs)?],
    };
    let secret = |sname: String, component: &str, data: &[(&str, String)]| Secret {
        metadata: ObjectMeta {
            name: Some(sname),
            namespace: Some(ns.clone()),
            labels: Some(labels(&name, component)),
            owner_references: Some(owners.clone()),
            ..Default::default()
        },
        type_: Some("Opaque".into()),
        string_data: Some(
            data.iter()
                .map(|(k, v)| ((*k).to_string(), v.clone()))
                .collect(),
        ),
        ..Default::default()
    };
    let mut out = Vec::new();
    if gfs.spec.storage.managed.is_some() {
        let access_key = format!("graphfs-{}", &random()[..8]);
        out.push(secret(
            n.minio_secret(),
            "minio",
            &[("accessKeyId", access_key), ("secretAccessKey", random())],
        ));
    }
    if gfs.spec.graph.managed.is_some() {
        let pw = random();
        out.push(secret(
            n.neo4j_secret(),
            "neo4j",
            &[
                ("username", "neo4j".into()),
                ("NEO4J_AUTH", format!("neo4j/{pw}")),
                ("password", pw),
            ],
        ));
    }
    if gfs.spec.auth.tokens_secret.is_none() {
        let tokens = format!(
            "{}:gfs_{}\noperator:gfs_{}\n",
            AuthSpec::DEFAULT_ADMIN,
            random(),
            random()
        );
        out.push(secret(n.tokens_secret(), "api", &[("tokens", tokens)]));
    }
    Ok(out)
}
