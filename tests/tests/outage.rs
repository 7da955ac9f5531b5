//! Consistency between object store and graph when either goes away: real
//! MinIO and Neo4j processes are stopped in the middle of use and started
//! again. Meanwhile the API answers 503 with a problem document; afterwards
//! nothing is lost and nothing is left behind.

use std::time::Duration;

use graphfs_e2e::Server;
use graphfs_e2e::servers::ExternalServer;
use reqwest::{Method, StatusCode};
use serde_json::Value;

async fn expect_unavailable(resp: reqwest::Response) {
    let status = resp.status();
    let ctype = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string());
    let body: Value = resp.json().await.unwrap();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(ctype.as_deref(), Some("application/problem+json"));
    assert!(
        body["type"].as_str().unwrap().ends_with("/unavailable"),
        "{body}"
    );
    // Which backend failed, where it listens and what its driver said stay
    // in the server's log.
    let detail = body["detail"].as_str().unwrap();
    for leak in [
        "127.0.0.1",
        "bolt",
        "http://",
        "neo4j",
        "minio",
        "connection",
    ] {
        assert!(!detail.to_lowercase().contains(leak), "{detail}");
    }
}

async fn wait_ready(s: &Server) {
    for _ in 0..150 {
        if let Ok(r) = s.client.get(s.url("/readyz")).send().await
            && r.status() == 200
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("server never became ready again");
}

fn names(list: &Value) -> Vec<String> {
    let mut n: Vec<String> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_string())
        .collect();
    n.sort();
    n
}

#[tokio::test]
async fn outages_of_either_backend_lose_nothing_and_leave_nothing() {
    let mut minio = ExternalServer::start("minio").unwrap();
    let mut neo4j = ExternalServer::start("neo4j").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start_on(
        dir.path(),
        &minio,
        &neo4j,
        "outage",
        &[
            "--reconcile-interval-seconds",
            "1",
            // Longer than any upload takes between writing its object and
            // its node (a sweep inside that gap would take the object for
            // an orphan), short enough for the half-way delete below.
            "--orphan-grace-seconds",
            "5",
            // A job held when a backend went away is taken again after its
            // lease: short, so the check after the outages waits little.
            "--tagger-lease-seconds",
            "5",
        ],
        &[],
    )
    .await
    .unwrap();
    let (status, a) = s.upload("a.txt", "alpha survives outages").await.unwrap();
    assert_eq!(status, 201);
    let a_id = a["id"].as_str().unwrap().to_string();

    // The graph goes away: uploads and reads answer 503, and the object of
    // the refused upload is removed again.
    neo4j.stop().unwrap();
    let resp = s
        .request(Method::POST, "/api/v1/files?name=b.txt")
        .body("beta is refused")
        .send()
        .await
        .unwrap();
    expect_unavailable(resp).await;
    expect_unavailable(s.get("/api/v1/files").send().await.unwrap()).await;
    expect_unavailable(
        s.get(&format!("/api/v1/files/{a_id}/content"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    expect_unavailable(s.client.get(s.url("/readyz")).send().await.unwrap()).await;
    neo4j.resume().unwrap();
    wait_ready(&s).await;
    assert_eq!(
        names(&s.json("/api/v1/files").await.unwrap()),
        vec!["a.txt"]
    );
    assert_eq!(
        s.object_files_in("outage", &minio).await,
        vec![a_id.clone()]
    );

    // The graph hangs (its process frozen, its connections open): requests
    // are answered 503 at the request deadline, not held for as long as it
    // hangs. The client would wait far longer than the deadline. A second
    // replica of the same installation, with a short deadline, answers
    // them (the first keeps the default, so that the outages below, which
    // the S3 client retries for a while, end as they would in use).
    let replica_dir = tempfile::tempdir().unwrap();
    let replica = Server::start_on(
        replica_dir.path(),
        &minio,
        &neo4j,
        "outage",
        &[
            "--request-timeout-seconds",
            "2",
            "--tagger-concurrency",
            "0",
            // It may take the sweep lease: short, so that the first
            // replica sweeps again soon after this one is gone.
            "--reconcile-interval-seconds",
            "1",
            "--orphan-grace-seconds",
            "5",
        ],
        &[],
    )
    .await
    .unwrap();
    neo4j.freeze().unwrap();
    let patient = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    for path in ["/api/v1/files", "/api/v1/tags"] {
        let resp = patient
            .get(replica.url(path))
            .bearer_auth(&replica.token)
            .send()
            .await
            .unwrap();
        let body: Value = resp.json().await.unwrap();
        assert!(
            body["type"].as_str().unwrap().ends_with("/timeout"),
            "{path}: {body}"
        );
        assert_eq!(body["status"], 503, "{body}");
    }
    neo4j.thaw().unwrap();
    wait_ready(&replica).await;
    wait_ready(&s).await;
    drop(replica);
    assert_eq!(
        names(&s.json("/api/v1/files").await.unwrap()),
        vec!["a.txt"]
    );

    // The object store goes away: uploads and downloads answer 503 and no
    // node is created for bytes that were never stored.
    let (status, c) = s.upload("c.txt", "gamma").await.unwrap();
    assert_eq!(status, 201);
    let c_id = c["id"].as_str().unwrap().to_string();
    minio.stop().unwrap();
    let resp = s
        .request(Method::POST, "/api/v1/files?name=d.txt")
        .body("delta is refused")
        .send()
        .await
        .unwrap();
    expect_unavailable(resp).await;
    expect_unavailable(
        s.get(&format!("/api/v1/files/{a_id}/content"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    // A delete half-way: the node goes, the object stays behind for now.
    let resp = s
        .request(Method::DELETE, &format!("/api/v1/files/{c_id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    assert_eq!(
        names(&s.json("/api/v1/files").await.unwrap()),
        vec!["a.txt"]
    );
    minio.resume().unwrap();
    wait_ready(&s).await;

    // Reconciliation finishes the delete; what was stored is intact.
    let mut left = Vec::new();
    for _ in 0..300 {
        left = s.object_files_in("outage", &minio).await;
        if left == vec![a_id.clone()] {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(left, vec![a_id.clone()], "orphaned object not reconciled");
    let body = s
        .get(&format!("/api/v1/files/{a_id}/content"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(body, "alpha survives outages");
    let list = s.wait_tagged(Duration::from_secs(60)).await.unwrap();
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["status"] == "done"),
        "{list}"
    );
}
