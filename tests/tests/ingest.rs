//! Files written straight into the bucket by an S3 client are registered:
//! from MinIO's bucket notification (webhook), or by the reconciliation when
//! the notification was lost.

use std::time::Duration;

use bytes::Bytes;
use graphfs_domain::ObjectStore;
use graphfs_e2e::servers::ExternalServer;
use graphfs_e2e::{Server, free_port};
use reqwest::Method;
use serde_json::Value;

const WEBHOOK_TOKEN: &str = "whk_test_0123456789abcdef";

async fn wait_for_file(s: &Server, name: &str) -> Value {
    for _ in 0..150 {
        let list = s.json("/api/v1/files?limit=200").await.unwrap();
        if let Some(f) = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == name)
        {
            return f.clone();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{name} never showed up");
}

#[tokio::test]
async fn objects_written_straight_into_the_bucket_become_files() {
    let port = free_port();
    let hook = format!("http://127.0.0.1:{port}/api/v1/events/s3");
    let minio = ExternalServer::start_with_env(
        "minio",
        &[
            ("GRAPHFS_MINIO_WEBHOOK_URL", hook.as_str()),
            ("GRAPHFS_MINIO_WEBHOOK_TOKEN", WEBHOOK_TOKEN),
        ],
    )
    .unwrap();
    let neo4j = ExternalServer::start("neo4j").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let addr = format!("127.0.0.1:{port}");
    let mut s = Server::start_on(
        dir.path(),
        &minio,
        &neo4j,
        "inbox",
        &[
            "--addr",
            &addr,
            "--s3-notify-arn",
            "arn:minio:sqs::graphfs:webhook",
            "--ingest-owner",
            "dev",
            "--reconcile-interval-seconds",
            "1",
        ],
        &[("GRAPHFS_S3_WEBHOOK_TOKEN", WEBHOOK_TOKEN)],
    )
    .await
    .unwrap();

    // Any S3 client: here the SDK writes a key of its own choosing.
    let client = minio.s3_store("inbox").await;
    let text = "Glaciers carve valleys; glaciers and moraines shape mountains.";
    let put = |key: &'static str, body: &'static str| {
        let client = &client;
        async move {
            client
                .put(
                    key,
                    Box::pin(futures::stream::iter(vec![Ok(Bytes::from_static(
                        body.as_bytes(),
                    ))])),
                )
                .await
                .unwrap()
        }
    };
    put("scans/field notes+ice.txt", text).await;
    let f = wait_for_file(&s, "field notes+ice.txt").await;
    assert_eq!(f["object_key"], "scans/field notes+ice.txt");
    assert_eq!(f["owner"], "dev");
    assert_eq!(f["size"], text.len());
    let id = f["id"].as_str().unwrap().to_string();
    s.wait_tagged(Duration::from_secs(60)).await.unwrap();
    let body = s
        .get(&format!("/api/v1/files/{id}/content"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(body, text);
    let hits = s.json("/api/v1/search?q=moraines").await.unwrap();
    assert_eq!(hits["items"][0]["file"]["id"], id.as_str());

    // Written again with new bytes: the same file, its new content tagged
    // and searchable, its old words gone.
    let reef = "Coral reefs bleach when oceans warm; reefs shelter fish.";
    put("scans/field notes+ice.txt", reef).await;
    let mut refreshed = Value::Null;
    for _ in 0..150 {
        let hits = s.json("/api/v1/search?q=reefs").await.unwrap();
        if hits["items"][0]["file"]["id"] == id.as_str() {
            refreshed = hits["items"][0]["file"].clone();
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(refreshed["size"], reef.len(), "{refreshed}");
    s.wait_tagged(Duration::from_secs(60)).await.unwrap();
    let hits = s.json("/api/v1/search?q=moraines").await.unwrap();
    assert_eq!(hits["items"].as_array().unwrap().len(), 0, "{hits}");

    // A removal notified for an object that is still there (late, or out of
    // order with a write) forgets nothing.
    let stale = serde_json::json!({"Records": [{
        "eventName": "s3:ObjectRemoved:Delete",
        "s3": {"object": {"key": "scans/field+notes%2Bice.txt"}},
    }]});
    let resp = s
        .client
        .post(s.url("/api/v1/events/s3"))
        .bearer_auth(WEBHOOK_TOKEN)
        .json(&stale)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let done: Value = resp.json().await.unwrap();
    assert_eq!(done["forgotten"], 0, "{done}");
    let kept = s.get(&format!("/api/v1/files/{id}")).send().await.unwrap();
    assert_eq!(kept.status(), 200);

    // Removed from the bucket directly: the file goes too.
    put("scans/temp.txt", "short-lived").await;
    let t = wait_for_file(&s, "temp.txt").await;
    client.delete("scans/temp.txt").await.unwrap();
    let mut gone = false;
    for _ in 0..100 {
        let r = s
            .get(&format!("/api/v1/files/{}", t["id"].as_str().unwrap()))
            .send()
            .await
            .unwrap();
        if r.status() == 404 {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(gone, "file of a removed object stayed");

    // Deleting through the API removes the client's object.
    let resp = s
        .request(Method::DELETE, &format!("/api/v1/files/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    assert!(
        client
            .head("scans/field notes+ice.txt")
            .await
            .unwrap_err()
            .is_not_found()
    );

    // A notification lost while GraphFS was down: reconciliation adopts it.
    s.kill().await.unwrap();
    put("late/arrival.txt", "written while nobody listened").await;
    s.restart().await.unwrap();
    wait_for_file(&s, "arrival.txt").await;

    // Forged notifications are refused.
    let resp = s
        .client
        .post(s.url("/api/v1/events/s3"))
        .bearer_auth("not-the-token")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
}
