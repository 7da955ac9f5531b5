//! The objects the operator builds, compared with YAML fixtures (reviewed
//! by hand, kept in `tests/fixtures/build/`). A change to what the operator
//! applies shows up as a diff of these files. `GRAPHFS_BLESS=1 cargo test -p
//! graphfs-operator --test build_fixtures` rewrites them after a deliberate
//! change.

use std::path::PathBuf;

use graphfs_operator::build::{generated_secrets, graphfs_children, tagger_deployment};
use graphfs_operator::crd::{GraphFS, TaggerPool};
use serde_json::{Value, json};

const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples");

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/build")
}

fn example<T: serde::de::DeserializeOwned + kube::Resource>(file: &str, doc: usize) -> T {
    let text = std::fs::read_to_string(format!("{EXAMPLES}/{file}")).unwrap();
    let v: Value = serde_yaml::Deserializer::from_str(&text)
        .nth(doc)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .unwrap();
    let mut obj: T = serde_json::from_value(v).unwrap();
    obj.meta_mut().namespace = Some("team".into());
    obj.meta_mut().uid = Some(format!("uid-{file}"));
    obj
}

fn graphfs(file: &str, patch: Value) -> GraphFS {
    let mut g: GraphFS = example(file, 0);
    let mut spec = serde_json::to_value(&g.spec).unwrap();
    merge(&mut spec, patch);
    g.spec = serde_json::from_value(spec).unwrap();
    g
}

fn merge(a: &mut Value, b: Value) {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k).or_insert(Value::Null), v);
            }
        }
        (a, b) => *a = b,
    }
}

/// Every child of a GraphFS as one YAML stream, in apply order.
fn children_yaml(g: &GraphFS) -> String {
    let c = graphfs_children(g).unwrap();
    let mut docs: Vec<Value> = Vec::new();
    let mut push = |v: Value| docs.push(v);
    let secrets = generated_secrets(g, &mut || "0123456789abcdef0123456789abcdef".into()).unwrap();
    secrets
        .iter()
        .for_each(|s| push(serde_json::to_value(s).unwrap()));
    c.statefulsets
        .iter()
        .for_each(|s| push(serde_json::to_value(s).unwrap()));
    c.services
        .iter()
        .for_each(|s| push(serde_json::to_value(s).unwrap()));
    c.network_policies
        .iter()
        .for_each(|s| push(serde_json::to_value(s).unwrap()));
    c.deployments
        .iter()
        .for_each(|s| push(serde_json::to_value(s).unwrap()));
    c.pdb
        .iter()
        .for_each(|s| push(serde_json::to_value(s).unwrap()));
    c.ingress
        .iter()
        .for_each(|s| push(serde_json::to_value(s).unwrap()));
    c.http_route
        .iter()
        .for_each(|s| push(serde_json::to_value(s).unwrap()));
    docs.iter()
        .map(|d| serde_yaml::to_string(d).unwrap())
        .collect::<Vec<_>>()
        .join("---\n")
}

fn check(name: &str, actual: String) {
    let path = fixture_dir().join(format!("{name}.yaml"));
    if std::env::var_os("GRAPHFS_BLESS").is_some() {
        std::fs::write(&path, &actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (GRAPHFS_BLESS=1 writes it)", path.display()));
    if expected != actual {
        let first = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(expected.lines().count().min(actual.lines().count()));
        panic!(
            "{} differs from what the operator builds, from line {}:\n  fixture: {:?}\n  built:   {:?}\n(GRAPHFS_BLESS=1 rewrites it after a deliberate change)",
            path.display(),
            first + 1,
            expected.lines().nth(first),
            actual.lines().nth(first)
        );
    }
}

#[test]
fn the_example_graphfs_builds_its_fixture() {
    check(
        "graphfs",
        children_yaml(&graphfs("graphfs.yaml", json!({}))),
    );
}

#[test]
fn external_backends_build_their_fixture() {
    check(
        "graphfs-external",
        children_yaml(&graphfs("graphfs-external.yaml", json!({}))),
    );
}

#[test]
fn an_ingress_with_tls_and_a_gateway_route_build_their_fixtures() {
    let tls = json!({"ingress": {"className": "traefik", "host": "files.example.com", "tlsSecretName": "files-tls"}, "retention": "Delete"});
    check(
        "graphfs-traefik-tls",
        children_yaml(&graphfs("graphfs.yaml", tls)),
    );
    let gw = json!({"ingress": {"host": "files.example.com", "gateway": {"name": "public", "namespace": "gateways", "sectionName": "https"}}});
    check(
        "graphfs-gateway",
        children_yaml(&graphfs("graphfs.yaml", gw)),
    );
}

#[test]
fn the_example_tagger_pool_builds_its_fixture() {
    let g = graphfs("graphfs.yaml", json!({}));
    let pool: TaggerPool = example("taggerpool.yaml", 0);
    let d = tagger_deployment(&pool, &g, 2).unwrap();
    check("taggerpool", serde_yaml::to_string(&d).unwrap());
}
