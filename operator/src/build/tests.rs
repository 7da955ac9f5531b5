//! Unit tests of the pure builders.

use super::*;
use serde_json::json;

use crate::crd::{
    ExternalGraph, ExternalStorage, GraphFSSpec, GraphSpec, Retention, StorageSpec, TaggerPool,
    TaggerPoolSpec,
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

fn env_value(d: &Deployment, name: &str) -> Option<String> {
    d.spec.as_ref()?.template.spec.as_ref()?.containers[0]
        .env
        .as_ref()?
        .iter()
        .find(|e| e.name == name)
        .and_then(|e| e.value.clone())
}

#[test]
fn admins_are_the_generated_admin_unless_the_spec_names_them() {
    let api_env = |spec: GraphFSSpec| {
        let c = graphfs_children(&gfs(spec)).unwrap();
        env_value(&c.deployments[0], env::ADMIN_USERS)
    };
    assert_eq!(api_env(default_spec()).as_deref(), Some("admin"));
    let secrets = generated_secrets(&gfs(default_spec()), &mut || "x".repeat(32)).unwrap();
    let tokens = secrets
        .iter()
        .find_map(|s| s.string_data.as_ref()?.get("tokens"))
        .unwrap();
    assert!(
        tokens.starts_with("admin:gfs_"),
        "the default admin has a token"
    );

    let mut spec = default_spec();
    spec.auth.admin_users = Some(vec!["alice".into(), "ops@example.com".into()]);
    assert_eq!(
        api_env(spec.clone()).as_deref(),
        Some("alice,ops@example.com")
    );
    spec.auth.admin_users = Some(vec![]);
    assert_eq!(api_env(spec).as_deref(), Some(""));
}

#[test]
fn oidc_sign_in_reaches_the_api_pods() {
    let mut spec = default_spec();
    let plain = graphfs_children(&gfs(spec.clone())).unwrap();
    assert_eq!(env_value(&plain.deployments[0], env::OIDC_ISSUER_URL), None);
    spec.auth.oidc = serde_json::from_value(json!({
        "issuerUrl": "https://id.example.com/realms/files",
        "adminGroups": ["graphfs-admins", "ops"],
    }))
    .unwrap();
    let c = graphfs_children(&gfs(spec)).unwrap();
    let api = &c.deployments[0];
    assert_eq!(
        env_value(api, env::OIDC_ISSUER_URL).as_deref(),
        Some("https://id.example.com/realms/files")
    );
    assert_eq!(
        env_value(api, env::OIDC_CLIENT_ID).as_deref(),
        Some("graphfs")
    );
    assert_eq!(
        env_value(api, env::OIDC_ADMIN_GROUPS).as_deref(),
        Some("graphfs-admins,ops")
    );
    assert_eq!(
        env_value(api, env::OIDC_USER_CLAIM),
        None,
        "the binary's default"
    );
    assert!(
        !env_names(api).contains(&env::OIDC_CLIENT_SECRET.to_string()),
        "a public client"
    );
    // A confidential client: the secret comes from the named Secret key,
    // never as a value in the pod spec.
    let mut spec = default_spec();
    spec.auth.oidc = serde_json::from_value(json!({
        "issuerUrl": "https://id.example.com/realms/files",
        "clientSecret": {"name": "graphfs-oidc", "key": "client-secret"},
    }))
    .unwrap();
    let c = graphfs_children(&gfs(spec)).unwrap();
    let secret = c.deployments[0]
        .spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref())
        .and_then(|p| p.containers[0].env.as_ref())
        .and_then(|e| e.iter().find(|v| v.name == env::OIDC_CLIENT_SECRET))
        .cloned()
        .unwrap();
    assert_eq!(secret.value, None);
    let from = secret.value_from.unwrap().secret_key_ref.unwrap();
    assert_eq!(
        (from.name.as_str(), from.key.as_str()),
        ("graphfs-oidc", "client-secret")
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
