//! How traffic reaches the API: an Ingress, or a Gateway API HTTPRoute.

use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, Ingress, IngressBackend, IngressRule,
    IngressServiceBackend, IngressSpec, IngressTLS, ServiceBackendPort,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use serde_json::json;

use super::*;
use crate::crd::GatewayRef;

/// Annotations that tune ingress-nginx for uploads; other controllers get
/// none (they ignore them, and their own are for the user to add).
fn nginx_annotations(gfs: &GraphFS) -> BTreeMap<String, String> {
    let ing = &gfs.spec.ingress;
    let mut annotations = BTreeMap::new();
    if ing.class_name != "nginx" {
        return annotations;
    }
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
    annotations
}

pub(super) fn ingress(
    gfs: &GraphFS,
    owner: &OwnerReference,
    ns: &str,
    l: &BTreeMap<String, String>,
) -> Ingress {
    let ing = &gfs.spec.ingress;
    let n = Names::new(&gfs.name_any());
    let rule = IngressRule {
        host: ing.host.clone(),
        http: Some(HTTPIngressRuleValue {
            paths: vec![HTTPIngressPath {
                path: Some("/".into()),
                path_type: "Prefix".into(),
                backend: IngressBackend {
                    service: Some(IngressServiceBackend {
                        name: n.api(),
                        port: Some(ServiceBackendPort {
                            name: Some("http".into()),
                            ..Default::default()
                        }),
                    }),
                    ..Default::default()
                },
            }],
        }),
    };
    let tls = ing.tls_secret_name.as_ref().map(|secret| {
        vec![IngressTLS {
            hosts: Some(ing.host.iter().cloned().collect()),
            secret_name: Some(secret.clone()),
        }]
    });
    let mut metadata = meta(&n.api(), ns, l, owner);
    metadata.annotations = Some(nginx_annotations(gfs));
    Ingress {
        metadata,
        spec: Some(IngressSpec {
            ingress_class_name: Some(ing.class_name.clone()),
            rules: Some(vec![rule]),
            tls,
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A Gateway API HTTPRoute: untyped, as the Gateway API is not part of
/// Kubernetes' own types.
pub(super) fn http_route(
    gfs: &GraphFS,
    gw: &GatewayRef,
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
