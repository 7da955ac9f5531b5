//! The operator against a real kube-apiserver and etcd (tests/envtest), as a
//! separate process per test, watching its own namespace. There is no
//! kubelet or controller-manager: tests set children's status themselves.

use std::path::PathBuf;
use std::time::Duration;

use graphfs_operator::crd::{GraphFS, TaggerPool};
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Secret, Service};
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use serde_json::{Value, json};

mod support;
use support::*;

#[tokio::test]
async fn the_api_server_rejects_invalid_specs() {
    let client = client().await;
    let ns = namespace(&client, "invalid").await;
    let gapi: Api<GraphFS> = Api::namespaced(client.clone(), &ns);
    let bad = [
        (
            json!({"storage": {"managed": {}, "external": {"endpoint": "http://s3", "credentialsSecret": "s"}}}),
            "exactly one of managed or external",
        ),
        (json!({"graph": {}}), "exactly one of managed or external"),
        (json!({"api": {"replicas": 0}}), "replicas"),
        (
            json!({"ingress": {"bodySizeLimit": "lots"}}),
            "a size such as",
        ),
        (
            json!({"storage": {"external": {"endpoint": "s3.example.com", "credentialsSecret": "s"}}}),
            "an http(s) URL",
        ),
        (
            json!({"graph": {"external": {"uri": "http://db", "credentialsSecret": "s"}}}),
            "bolt://",
        ),
        (json!({"retention": "Sometimes"}), "retention"),
        (
            json!({"auth": {"adminUsers": ["alice,bob"]}}),
            "adminUsers[0]",
        ),
        (
            json!({"auth": {"adminUsers": ["ok", " alice"]}}),
            "adminUsers[1]",
        ),
        (
            json!({"auth": {"oidc": {"issuerUrl": "id.example.com"}}}),
            "an http(s) URL",
        ),
    ];
    // Sent untyped: some of these cannot even be represented in the Rust types.
    let raw = |kind: &str, spec: &Value| -> DynamicObject {
        serde_json::from_value(json!({"apiVersion": "graphfs.io/v1alpha1", "kind": kind, "metadata": {"name": "bad"}, "spec": spec})).unwrap()
    };
    let graw: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), &ns, &ApiResource::erase::<GraphFS>(&()));
    let praw: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), &ns, &ApiResource::erase::<TaggerPool>(&()));
    for (spec, want) in bad {
        let err = graw
            .create(&PostParams::default(), &raw("GraphFS", &spec))
            .await
            .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains(want), "{spec}: {msg}");
    }
    let papi: Api<TaggerPool> = Api::namespaced(client.clone(), &ns);
    let pool = |spec: Value| -> TaggerPool {
        serde_json::from_value(json!({"apiVersion": "graphfs.io/v1alpha1", "kind": "TaggerPool", "metadata": {"name": "p"}, "spec": spec})).unwrap()
    };
    for (spec, want) in [
        (
            json!({"graphFsRef": "x", "autoscaling": {"minReplicas": 5, "maxReplicas": 2}}),
            "minReplicas must not exceed maxReplicas",
        ),
        (json!({"graphFsRef": ""}), "name the GraphFS"),
        (json!({"graphFsRef": "x", "mode": "Creative"}), "mode"),
        (
            json!({"graphFsRef": "x", "embedding": {"mode": "Endpoint"}}),
            "baseUrl",
        ),
        (
            json!({"graphFsRef": "x", "concurrencyPerPod": 0}),
            "concurrencyPerPod",
        ),
    ] {
        let err = praw
            .create(&PostParams::default(), &raw("TaggerPool", &spec))
            .await
            .unwrap_err();
        assert!(err.to_string().contains(want), "{spec}: {err}");
    }
    // And good ones are accepted, with defaults filled in.
    let created = gapi
        .create(&PostParams::default(), &gfs("good", json!({})))
        .await
        .unwrap();
    assert_eq!(created.spec.api.replicas, 2);
    papi.create(&PostParams::default(), &pool(json!({"graphFsRef": "good"})))
        .await
        .unwrap();
}

async fn children_exist(client: &Client, ns: &str) -> Option<()> {
    let ok = Api::<StatefulSet>::namespaced(client.clone(), ns)
        .get_opt("files-minio")
        .await
        .ok()??
        .metadata
        .name
        .is_some()
        && Api::<StatefulSet>::namespaced(client.clone(), ns)
            .get_opt("files-neo4j")
            .await
            .ok()?
            .is_some()
        && Api::<Deployment>::namespaced(client.clone(), ns)
            .get_opt("files-api")
            .await
            .ok()?
            .is_some()
        && Api::<Service>::namespaced(client.clone(), ns)
            .get_opt("files-api")
            .await
            .ok()?
            .is_some()
        && Api::<Ingress>::namespaced(client.clone(), ns)
            .get_opt("files-api")
            .await
            .ok()?
            .is_some()
        && Api::<PodDisruptionBudget>::namespaced(client.clone(), ns)
            .get_opt("files-api")
            .await
            .ok()?
            .is_some()
        && Api::<NetworkPolicy>::namespaced(client.clone(), ns)
            .get_opt("files-neo4j")
            .await
            .ok()?
            .is_some();
    ok.then_some(())
}

#[tokio::test]
async fn a_graphfs_becomes_its_children_with_status_drift_repair_and_retention() {
    let client = client().await;
    let ns = namespace(&client, "gfs").await;
    let mut op = Operator::start(&ns, "op", "op-a", &[]).await;
    let gapi: Api<GraphFS> = Api::namespaced(client.clone(), &ns);
    gapi.create(
        &PostParams::default(),
        &gfs("files", json!({"ingress": {"host": "files.example.com"}})),
    )
    .await
    .unwrap();
    wait_for(Duration::from_secs(60), "children", || {
        children_exist(&client, &ns)
    })
    .await;

    // Generated credentials, not owned under retention Keep.
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    for s in [
        "files-minio-credentials",
        "files-neo4j-credentials",
        "files-api-tokens",
    ] {
        let sec = secrets.get(s).await.unwrap();
        assert!(
            sec.metadata.owner_references.unwrap_or_default().is_empty(),
            "{s}"
        );
    }
    let tokens_before = secrets.get("files-api-tokens").await.unwrap().data;

    // The children carry the spec.
    let dapi: Api<Deployment> = Api::namespaced(client.clone(), &ns);
    let api = dapi.get("files-api").await.unwrap();
    assert_eq!(api.spec.as_ref().unwrap().replicas, Some(2));
    assert_eq!(api.owner_references()[0].kind, "GraphFS");
    let ing = Api::<Ingress>::namespaced(client.clone(), &ns)
        .get("files-api")
        .await
        .unwrap();
    assert_eq!(
        ing.spec.unwrap().rules.unwrap()[0].host.as_deref(),
        Some("files.example.com")
    );
    let g = gapi.get("files").await.unwrap();
    assert!(g.finalizers().contains(&"graphfs.io/retention".to_string()));

    // Not ready until the children say so (there is no kubelet here).
    let g = wait_for(Duration::from_secs(30), "status", || async {
        let g = gapi.get("files").await.ok()?;
        g.status.as_ref().filter(|s| !s.conditions.is_empty())?;
        Some(g)
    })
    .await;
    let st = g.status.unwrap();
    assert_eq!(condition(&st.conditions, "Ready").as_deref(), Some("False"));
    assert_eq!(
        condition(&st.conditions, "StorageReady").as_deref(),
        Some("False")
    );
    let sapi: Api<StatefulSet> = Api::namespaced(client.clone(), &ns);
    for s in ["files-minio", "files-neo4j"] {
        set_status(
            &sapi,
            s,
            json!({"replicas": 1, "readyReplicas": 1, "availableReplicas": 1}),
        )
        .await;
    }
    set_status(
        &dapi,
        "files-api",
        json!({"replicas": 2, "readyReplicas": 2, "availableReplicas": 2}),
    )
    .await;
    let g = wait_for(Duration::from_secs(30), "Ready", || async {
        let g = gapi.get("files").await.ok()?;
        (condition(&g.status.as_ref()?.conditions, "Ready").as_deref() == Some("True")).then_some(g)
    })
    .await;
    assert_eq!(g.status.unwrap().api_ready_replicas, 2);

    // Drift is corrected: a deleted Service and an edited Deployment come back.
    Api::<Service>::namespaced(client.clone(), &ns)
        .delete("files-api", &DeleteParams::default())
        .await
        .unwrap();
    dapi.patch("files-api", &PatchParams::apply("someone-else").force(), &Patch::Apply(json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "files-api"}, "spec": {"replicas": 7}
    })))
    .await
    .unwrap();
    wait_for(Duration::from_secs(30), "drift repaired", || async {
        let svc = Api::<Service>::namespaced(client.clone(), &ns)
            .get_opt("files-api")
            .await
            .ok()??;
        let d = dapi.get("files-api").await.ok()?;
        (svc.metadata.name.is_some() && d.spec?.replicas == Some(2)).then_some(())
    })
    .await;

    // Spec changes flow through; credentials are never regenerated.
    gapi.patch(
        "files",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"api": {"replicas": 3}}})),
    )
    .await
    .unwrap();
    wait_for(Duration::from_secs(30), "replicas 3", || async {
        (dapi.get("files-api").await.ok()?.spec?.replicas == Some(3)).then_some(())
    })
    .await;
    assert_eq!(
        secrets.get("files-api-tokens").await.unwrap().data,
        tokens_before
    );

    // A restarted operator changes nothing.
    let versions = |client: Client, ns: String| async move {
        let mut v = Vec::new();
        v.push(
            Api::<Deployment>::namespaced(client.clone(), &ns)
                .get("files-api")
                .await
                .unwrap()
                .resource_version(),
        );
        v.push(
            Api::<StatefulSet>::namespaced(client.clone(), &ns)
                .get("files-minio")
                .await
                .unwrap()
                .resource_version(),
        );
        v.push(
            Api::<Service>::namespaced(client.clone(), &ns)
                .get("files-api")
                .await
                .unwrap()
                .resource_version(),
        );
        v.push(
            Api::<Ingress>::namespaced(client.clone(), &ns)
                .get("files-api")
                .await
                .unwrap()
                .resource_version(),
        );
        v.push(
            Api::<GraphFS>::namespaced(client.clone(), &ns)
                .get("files")
                .await
                .unwrap()
                .resource_version(),
        );
        v
    };
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = versions(client.clone(), ns.clone()).await;
    op.kill().await;
    let mut op = Operator::start(&ns, "op", "op-b", &[]).await;
    // Long enough for the new leader to take the lapsed lease and reconcile.
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(
        versions(client.clone(), ns.clone()).await,
        before,
        "a restart rewrote objects"
    );

    // Deletion with retention Keep leaves the credentials behind.
    gapi.delete("files", &DeleteParams::default())
        .await
        .unwrap();
    wait_for(Duration::from_secs(30), "GraphFS gone", || async {
        gapi.get_opt("files").await.ok()?.is_none().then_some(())
    })
    .await;
    assert!(
        secrets
            .get_opt("files-neo4j-credentials")
            .await
            .unwrap()
            .is_some()
    );

    // Retention Delete removes volumes and credentials.
    gapi.create(
        &PostParams::default(),
        &gfs("temp", json!({"retention": "Delete"})),
    )
    .await
    .unwrap();
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), &ns);
    wait_for(Duration::from_secs(30), "temp secrets", || async {
        secrets
            .get_opt("temp-neo4j-credentials")
            .await
            .ok()?
            .map(|_| ())
    })
    .await;
    // The volume a StatefulSet controller would have made (labels from the
    // claim template), and one of someone else's with the same instance and
    // component labels but not managed by the operator: it must stay.
    for (name, managed) in [("data-temp-neo4j-0", true), ("their-temp-neo4j", false)] {
        let mut labels =
            json!({"app.kubernetes.io/instance": "temp", "app.kubernetes.io/component": "neo4j"});
        if managed {
            labels["app.kubernetes.io/managed-by"] = json!("graphfs-operator");
        }
        pvcs.create(&PostParams::default(), &serde_json::from_value(json!({
            "metadata": {"name": name, "labels": labels},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
        })).unwrap())
        .await
        .unwrap();
    }
    gapi.delete("temp", &DeleteParams::default()).await.unwrap();
    wait_for(Duration::from_secs(30), "temp gone", || async {
        gapi.get_opt("temp").await.ok()?.is_none().then_some(())
    })
    .await;
    assert!(
        secrets
            .get_opt("temp-neo4j-credentials")
            .await
            .unwrap()
            .is_none()
    );
    // The PVC is deleted (it may wait on its protection finalizer, which no controller removes here).
    let pvc = pvcs.get_opt("data-temp-neo4j-0").await.unwrap();
    assert!(pvc.is_none_or(|p| p.metadata.deletion_timestamp.is_some()));
    let theirs = pvcs.get("their-temp-neo4j").await.unwrap();
    assert!(theirs.metadata.deletion_timestamp.is_none());
    op.kill().await;
}

#[tokio::test]
async fn taggers_scale_with_the_queue_to_zero_and_back() {
    let client = client().await;
    let ns = namespace(&client, "scale").await;
    let gapi: Api<GraphFS> = Api::namespaced(client.clone(), &ns);
    gapi.create(&PostParams::default(), &gfs("files", json!({})))
        .await
        .unwrap();
    // The operator generates the tokens Secret; a real GraphFS API (no
    // in-process tagger, so the queue only drains when told) uses it.
    let mut op = Operator::start(&ns, "op", "op-scale", &[]).await;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    let tokens = wait_for(Duration::from_secs(30), "tokens", || async {
        let s = secrets.get_opt("files-api-tokens").await.ok()??;
        String::from_utf8(s.data?.get("tokens")?.0.clone()).ok()
    })
    .await;
    op.kill().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tokens"), &tokens).unwrap();
    let tokens_file = dir.path().join("tokens").display().to_string();
    let server = graphfs_e2e::Server::start(
        &dir.path().join("data"),
        &["--tagger-concurrency", "0", "--tokens-file", &tokens_file],
    )
    .await
    .unwrap();
    let mut op = Operator::start(
        &ns,
        "op",
        "op-scale-2",
        &[("GRAPHFS_OPERATOR_API_URL_TEMPLATE", server.base.clone())],
    )
    .await;

    let papi: Api<TaggerPool> = Api::namespaced(client.clone(), &ns);
    let pool: TaggerPool = serde_json::from_value(json!({
        "apiVersion": "graphfs.io/v1alpha1", "kind": "TaggerPool", "metadata": {"name": "main"},
        "spec": {"graphFsRef": "files", "autoscaling": {
            "minReplicas": 0, "maxReplicas": 5, "pollingIntervalSeconds": 1, "cooldownPeriodSeconds": 4,
            "targetQueueDepthPerReplica": 2,
            "scaleUp": {"stabilizationWindowSeconds": 0, "maxStep": 10},
            "scaleDown": {"stabilizationWindowSeconds": 0, "maxStep": 10}
        }}
    }))
    .unwrap();
    papi.create(&PostParams::default(), &pool).await.unwrap();
    let dapi: Api<Deployment> = Api::namespaced(client.clone(), &ns);
    let replicas = |want: i32| {
        let dapi = dapi.clone();
        async move {
            let d = dapi.get_opt("files-tagger-main").await.ok()??;
            (d.spec?.replicas == Some(want)).then_some(())
        }
    };
    // An empty queue: zero taggers.
    wait_for(Duration::from_secs(30), "0 replicas", || replicas(0)).await;

    // Seven jobs, two per replica: ceil(7/2) = 4.
    let mut ids = Vec::new();
    for i in 0..7 {
        let (status, f) = server
            .upload(&format!("f{i}.txt"), "queued work")
            .await
            .unwrap();
        assert_eq!(status, 201);
        ids.push(f["id"].as_str().unwrap().to_string());
    }
    wait_for(Duration::from_secs(30), "4 replicas", || replicas(4)).await;
    // The status is written after the Deployment, in the same reconcile.
    let st = wait_for(Duration::from_secs(30), "status of 4", || async {
        let st = papi.get("main").await.ok()?.status?;
        (st.desired_replicas == 4).then_some(st)
    })
    .await;
    assert_eq!(st.queue_depth, Some(7));
    assert_eq!(st.desired_replicas, 4);
    assert_eq!(condition(&st.conditions, "Active").as_deref(), Some("True"));
    assert!(st.selector.contains("graphfs.io/tagger-pool=main"));

    // The queue empties: one replica through the cooldown, then zero.
    for id in &ids {
        let resp = server
            .request(reqwest::Method::DELETE, &format!("/api/v1/files/{id}"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 204);
    }
    wait_for(Duration::from_secs(30), "1 replica in cooldown", || {
        replicas(1)
    })
    .await;
    wait_for(Duration::from_secs(30), "0 replicas after cooldown", || {
        replicas(0)
    })
    .await;

    // And back from zero.
    server.upload("again.txt", "more work").await.unwrap();
    wait_for(Duration::from_secs(30), "back to 1", || replicas(1)).await;

    // Pause freezes it; with autoscaling off, the scale subresource decides.
    papi.patch(
        "main",
        &PatchParams::default(),
        &Patch::Merge(
            json!({"metadata": {"annotations": {"autoscaling.graphfs.io/paused": "true"}}}),
        ),
    )
    .await
    .unwrap();
    for i in 0..20 {
        server.upload(&format!("burst{i}.txt"), "x").await.unwrap();
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(replicas(1).await.is_some(), "paused pool scaled");
    papi.patch(
        "main",
        &PatchParams::default(),
        &Patch::Merge(json!({
            "metadata": {"annotations": {"autoscaling.graphfs.io/paused": null}},
            "spec": {"autoscaling": {"enabled": false}}
        })),
    )
    .await
    .unwrap();
    papi.patch_scale(
        "main",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"replicas": 3}})),
    )
    .await
    .unwrap();
    wait_for(Duration::from_secs(30), "scaled by hand to 3", || {
        replicas(3)
    })
    .await;
    let scale = papi.get_scale("main").await.unwrap();
    assert_eq!(scale.spec.unwrap().replicas, Some(3));

    // An unreachable API with a fallback: replicas go to the fallback.
    papi.patch(
        "main",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"autoscaling": {
            "enabled": true, "fallback": {"failureThreshold": 2, "replicas": 2}
        }}})),
    )
    .await
    .unwrap();
    op.kill().await;
    let mut op = Operator::start(
        &ns,
        "op",
        "op-scale-3",
        &[(
            "GRAPHFS_OPERATOR_API_URL_TEMPLATE",
            "http://127.0.0.1:9".into(),
        )],
    )
    .await;
    wait_for(Duration::from_secs(40), "fallback replicas", || replicas(2)).await;
    wait_for(Duration::from_secs(30), "Fallback condition", || async {
        let st = papi.get("main").await.ok()?.status?;
        (condition(&st.conditions, "Fallback").as_deref() == Some("True")).then_some(())
    })
    .await;
    op.kill().await;
    drop(server);
}

#[tokio::test]
async fn a_second_operator_stands_by_until_the_leader_lease_lapses() {
    let client = client().await;
    let ns = namespace(&client, "leader").await;
    let leases: Api<Lease> = Api::namespaced(client.clone(), &ns);
    let mut a = Operator::start(&ns, "op", "leader-a", &[]).await;
    let holder = || {
        let leases = leases.clone();
        async move { leases.get_opt("op").await.ok()??.spec?.holder_identity }
    };
    wait_for(Duration::from_secs(30), "a leads", || async {
        (holder().await? == "leader-a").then_some(())
    })
    .await;
    let mut b = Operator::start(&ns, "op", "leader-b", &[]).await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(
        holder().await.as_deref(),
        Some("leader-a"),
        "b took the lease from a live leader"
    );

    // The leader dies without a word; b takes over after the lease lapses and acts.
    a.kill().await;
    wait_for(Duration::from_secs(30), "b leads", || async {
        (holder().await? == "leader-b").then_some(())
    })
    .await;
    let gapi: Api<GraphFS> = Api::namespaced(client.clone(), &ns);
    gapi.create(&PostParams::default(), &gfs("files", json!({})))
        .await
        .unwrap();
    wait_for(Duration::from_secs(60), "children from b", || {
        children_exist(&client, &ns)
    })
    .await;
    b.kill().await;
}

#[tokio::test]
async fn a_spec_naming_a_missing_secret_says_so_and_waits_for_a_change() {
    let client = client().await;
    let ns = namespace(&client, "invalidref").await;
    let mut op = Operator::start(&ns, "op", "op-ref", &[]).await;
    let gapi: Api<GraphFS> = Api::namespaced(client.clone(), &ns);
    let spec = json!({"storage": {"external": {"endpoint": "https://s3.example.com", "credentialsSecret": "s3-creds"}}});
    gapi.create(&PostParams::default(), &gfs("files", spec))
        .await
        .unwrap();
    let (r, msg) = wait_for(Duration::from_secs(30), "InvalidSpec", || async {
        ready_reason(&gapi, "files")
            .await
            .filter(|(r, _)| r == "InvalidSpec")
    })
    .await;
    assert_eq!(r, "InvalidSpec");
    assert!(msg.contains("s3-creds"), "{msg}");
    // Nothing was built from the invalid spec.
    assert!(
        Api::<Deployment>::namespaced(client.clone(), &ns)
            .get_opt("files-api")
            .await
            .unwrap()
            .is_none()
    );

    // The Secret appears and the spec is touched: the operator goes on.
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    secrets
        .create(&PostParams::default(), &serde_json::from_value(json!({
            "metadata": {"name": "s3-creds"}, "stringData": {"accessKeyId": "a", "secretAccessKey": "b"}
        })).unwrap())
        .await
        .unwrap();
    gapi.patch(
        "files",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"api": {"replicas": 1}}})),
    )
    .await
    .unwrap();
    wait_for(Duration::from_secs(30), "API built", || async {
        Api::<Deployment>::namespaced(client.clone(), &ns)
            .get_opt("files-api")
            .await
            .ok()?
            .map(|_| ())
    })
    .await;
    // The children are applied before the status is written: wait for it.
    wait_for(
        Duration::from_secs(30),
        "the InvalidSpec condition cleared",
        || async {
            ready_reason(&gapi, "files")
                .await
                .filter(|(r, _)| r != "InvalidSpec")
        },
    )
    .await;
    op.kill().await;
}

#[tokio::test]
async fn the_examples_apply_cleanly() {
    let client = client().await;
    let ns = namespace(&client, "examples").await;
    let dir = std::path::Path::new(ROOT).join("examples");
    let mut applied = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let obj: DynamicObject = serde_yaml::from_str(&text).unwrap();
        let kind = obj.types.as_ref().unwrap().kind.clone();
        let ar = match kind.as_str() {
            "GraphFS" => ApiResource::erase::<GraphFS>(&()),
            "TaggerPool" => ApiResource::erase::<TaggerPool>(&()),
            other => panic!("unexpected kind {other} in {}", path.display()),
        };
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &ns, &ar);
        api.create(&PostParams::default(), &obj)
            .await
            .unwrap_or_else(|e| panic!("{} was rejected: {e}", path.display()));
        applied += 1;
    }
    assert_eq!(applied, 3);
}

/// The HTTPRoute CRD from the Gateway API's Go module (the standard channel).
async fn install_gateway_api(client: &Client) {
    // The module cache every Go tool of the tests shares (tests/lib/go-env.sh).
    let cache = std::env::var("GRAPHFS_CACHE")
        .unwrap_or_else(|_| std::env::var("HOME").unwrap_or_default() + "/.cache/graphfs")
        + "/go/mod";
    let out = std::process::Command::new("go")
        .args(["mod", "download", "-json", "sigs.k8s.io/gateway-api@v1.2.1"])
        .env("GOMODCACHE", &cache)
        .env("GOFLAGS", "-mod=mod -modcacherw")
        .current_dir(std::env::temp_dir())
        .output()
        .expect("go is needed to fetch the Gateway API CRDs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let info: Value = serde_json::from_slice(&out.stdout).unwrap();
    let path = PathBuf::from(info["Dir"].as_str().unwrap())
        .join("config/crd/standard/gateway.networking.k8s.io_httproutes.yaml");
    let crd: CustomResourceDefinition =
        serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    apply_crd(client, &crd).await;
}

#[tokio::test]
async fn a_gateway_parent_gets_an_httproute_instead_of_an_ingress() {
    let client = client().await;
    install_gateway_api(&client).await;
    let ns = namespace(&client, "gateway").await;
    let mut op = Operator::start(&ns, "op", "op-gw", &[]).await;
    let gapi: Api<GraphFS> = Api::namespaced(client.clone(), &ns);
    gapi.create(
        &PostParams::default(),
        &gfs("files", json!({"ingress": {"host": "files.example.com", "gateway": {"name": "public", "sectionName": "https"}}})),
    )
    .await
    .unwrap();
    let routes: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        &ns,
        &graphfs_operator::reconcile::http_route_resource(),
    );
    let route = wait_for(Duration::from_secs(30), "HTTPRoute", || async {
        routes.get_opt("files-api").await.ok()?
    })
    .await;
    assert_eq!(route.data["spec"]["parentRefs"][0]["name"], "public");
    assert_eq!(route.data["spec"]["hostnames"][0], "files.example.com");
    assert_eq!(
        route.data["spec"]["rules"][0]["backendRefs"][0]["name"],
        "files-api"
    );
    let ingresses = Api::<Ingress>::namespaced(client.clone(), &ns);
    assert!(ingresses.get_opt("files-api").await.unwrap().is_none());

    // Switching back to an Ingress removes the route.
    gapi.patch(
        "files",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"ingress": {"gateway": null}}})),
    )
    .await
    .unwrap();
    wait_for(
        Duration::from_secs(30),
        "Ingress instead of HTTPRoute",
        || async {
            let ing = ingresses.get_opt("files-api").await.ok()?;
            let route = routes.get_opt("files-api").await.ok()?;
            (ing.is_some() && route.is_none()).then_some(())
        },
    )
    .await;
    op.kill().await;
}

/// The Ready condition's (reason, message) of the GraphFS `name`.
async fn ready_reason(gapi: &Api<GraphFS>, name: &str) -> Option<(String, String)> {
    let g = gapi.get(name).await.ok()?;
    g.status?
        .conditions
        .into_iter()
        .find(|c| c.type_ == "Ready")
        .map(|c| (c.reason, c.message))
}

#[tokio::test]
async fn switching_to_external_storage_and_graph_removes_the_managed_children() {
    let client = client().await;
    let ns = namespace(&client, "switch").await;
    let mut op = Operator::start(&ns, "op", "op-switch", &[]).await;
    let gapi: Api<GraphFS> = Api::namespaced(client.clone(), &ns);
    gapi.create(
        &PostParams::default(),
        &gfs(
            "files",
            json!({"storage": {"managed": {"size": "1Gi"}}, "graph": {"managed": {"size": "1Gi"}}}),
        ),
    )
    .await
    .unwrap();
    let sts: Api<StatefulSet> = Api::namespaced(client.clone(), &ns);
    let svc: Api<Service> = Api::namespaced(client.clone(), &ns);
    wait_for(
        Duration::from_secs(30),
        "managed MinIO and Neo4j",
        || async {
            (sts.get_opt("files-minio").await.ok()?.is_some()
                && sts.get_opt("files-neo4j").await.ok()?.is_some())
            .then_some(())
        },
    )
    .await;

    // Someone else's StatefulSet with the same labels must survive the prune.
    let mut foreign: StatefulSet = serde_json::from_value(json!({
        "metadata": {"name": "files-cache", "labels": {
            "app.kubernetes.io/instance": "files", "app.kubernetes.io/managed-by": "graphfs-operator"}},
        "spec": {"selector": {"matchLabels": {"x": "y"}}, "serviceName": "files-cache",
                 "template": {"metadata": {"labels": {"x": "y"}}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}
    }))
    .unwrap();
    foreign = sts.create(&PostParams::default(), &foreign).await.unwrap();

    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    for name in ["s3-creds", "neo4j-creds"] {
        secrets
            .create(&PostParams::default(), &serde_json::from_value(json!({
                "metadata": {"name": name},
                "stringData": {"accessKeyId": "a", "secretAccessKey": "b", "username": "neo4j", "password": "p"}
            })).unwrap())
            .await
            .unwrap();
    }
    gapi.patch(
        "files",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {
            "storage": {"managed": null, "external": {"endpoint": "https://s3.example.com", "credentialsSecret": "s3-creds"}},
            "graph": {"managed": null, "external": {"uri": "bolt://neo4j.example.com:7687", "credentialsSecret": "neo4j-creds"}}
        }})),
    )
    .await
    .unwrap();
    wait_for(
        Duration::from_secs(30),
        "managed children pruned",
        || async {
            let gone = sts.get_opt("files-minio").await.ok()?.is_none()
                && sts.get_opt("files-neo4j").await.ok()?.is_none()
                && svc.get_opt("files-minio").await.ok()?.is_none()
                && svc.get_opt("files-neo4j").await.ok()?.is_none();
            gone.then_some(())
        },
    )
    .await;
    // The API stays, pointed at the external endpoints (its Deployment may
    // be applied after the children are pruned: waited for, not read once);
    // the foreign object stays.
    let deployments = Api::<Deployment>::namespaced(client.clone(), &ns);
    let env = wait_for(
        Duration::from_secs(30),
        "the API pointed at the external endpoints",
        || async {
            let api = deployments.get("files-api").await.ok()?;
            let env =
                serde_json::to_string(&api.spec?.template.spec?.containers.first()?.env).ok()?;
            (env.contains("s3.example.com") && env.contains("neo4j.example.com")).then_some(env)
        },
    )
    .await;
    assert!(
        env.contains("s3.example.com") && env.contains("neo4j.example.com"),
        "{env}"
    );
    let still = sts.get("files-cache").await.unwrap();
    assert_eq!(still.uid(), foreign.uid());
    op.kill().await;
}

#[tokio::test]
async fn an_ingress_someone_else_made_is_left_alone_with_a_condition() {
    let client = client().await;
    let ns = namespace(&client, "foreign").await;
    let ingresses: Api<Ingress> = Api::namespaced(client.clone(), &ns);
    let theirs: Ingress = serde_json::from_value(json!({
        "metadata": {"name": "files-api", "labels": {"team": "web"}},
        "spec": {"rules": [{"host": "www.example.com", "http": {"paths": [{"path": "/", "pathType": "Prefix",
                  "backend": {"service": {"name": "website", "port": {"number": 80}}}}]}}]}
    }))
    .unwrap();
    let theirs = ingresses
        .create(&PostParams::default(), &theirs)
        .await
        .unwrap();
    let mut op = Operator::start(&ns, "op", "op-foreign", &[]).await;
    let gapi: Api<GraphFS> = Api::namespaced(client.clone(), &ns);
    gapi.create(
        &PostParams::default(),
        &gfs("files", json!({"ingress": {"host": "files.example.com"}})),
    )
    .await
    .unwrap();
    let (reason, msg) = wait_for(Duration::from_secs(30), "OwnershipConflict", || async {
        ready_reason(&gapi, "files")
            .await
            .filter(|(r, _)| r == "OwnershipConflict")
    })
    .await;
    assert_eq!(reason, "OwnershipConflict");
    assert!(msg.contains("Ingress files-api"), "{msg}");
    // The rest was built; their Ingress is untouched.
    wait_for(Duration::from_secs(30), "API Deployment", || async {
        Api::<Deployment>::namespaced(client.clone(), &ns)
            .get_opt("files-api")
            .await
            .ok()?
    })
    .await;
    let now = ingresses.get("files-api").await.unwrap();
    assert_eq!(now.uid(), theirs.uid());
    assert_eq!(
        now.metadata.resource_version,
        theirs.metadata.resource_version
    );
    assert!(now.metadata.owner_references.is_none());
    // Turning the GraphFS's Ingress off does not delete theirs either.
    gapi.patch(
        "files",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"ingress": {"enabled": false}}})),
    )
    .await
    .unwrap();
    wait_for(Duration::from_secs(30), "conflict resolved", || async {
        ready_reason(&gapi, "files")
            .await
            .filter(|(r, _)| r != "OwnershipConflict")
    })
    .await;
    assert_eq!(
        ingresses.get("files-api").await.unwrap().uid(),
        theirs.uid()
    );
    op.kill().await;
}
