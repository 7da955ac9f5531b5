//! The S3 object store against a real MinIO on loopback.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use graphfs_domain::{ByteRange, ByteStream, ObjectStore, contract};
use graphfs_e2e::servers::ExternalServer;
use graphfs_store_s3::{S3Config, S3ObjectStore};

fn config(minio: &ExternalServer, bucket: &str) -> S3Config {
    S3Config {
        endpoint: minio.get("GRAPHFS_S3_ENDPOINT").to_string(),
        region: "us-east-1".into(),
        bucket: bucket.into(),
        access_key_id: minio.get("GRAPHFS_S3_ACCESS_KEY_ID").to_string(),
        secret_access_key: minio.get("GRAPHFS_S3_SECRET_ACCESS_KEY").to_string(),
        part_size: 5 << 20,
        // Fewer slots than the big object below has parts, so an upload also
        // waits for a slot to free.
        upload_concurrency: 2,
        // Room for three parts across all uploads: the concurrent uploads
        // below have to wait for each other.
        upload_buffer_bytes: 15 << 20,
        // Big objects come back as ranges, two at a time, with room for one
        // such download: others at once read with plain GETs.
        download_concurrency: 2,
        download_buffer_bytes: 15 << 20,
        timeout: Duration::from_secs(10),
        notify_arn: None,
    }
}

async fn read_all(mut stream: ByteStream) -> std::io::Result<Vec<u8>> {
    let mut got = Vec::new();
    while let Some(c) = stream.next().await {
        got.extend_from_slice(&c?);
    }
    Ok(got)
}

#[tokio::test]
async fn s3_store_meets_the_contract_and_streams_multipart() {
    let minio = ExternalServer::start("minio").unwrap();
    let store = Arc::new(
        S3ObjectStore::connect(config(&minio, "contract"))
            .await
            .unwrap(),
    );
    contract::object_store(store.clone()).await;

    // 12 MiB in 64 KiB chunks: three parts, two at a time, bytes intact.
    let data: Vec<u8> = (0..12u32 << 20).map(|i| (i % 253) as u8).collect();
    let chunks: Vec<std::io::Result<Bytes>> = data
        .chunks(65536)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    assert_eq!(
        store
            .put("files/big", Box::pin(futures::stream::iter(chunks)))
            .await
            .unwrap(),
        12 << 20
    );
    let mut got = Vec::new();
    let mut s = store.get("files/big", None).await.unwrap().stream;
    while let Some(c) = s.next().await {
        got.extend_from_slice(&c.unwrap());
    }
    assert!(got == data, "multipart object differs");
    drop(s);
    assert_eq!(
        store.download_budget().in_use(),
        0,
        "the download gave its room back"
    );

    // Ranged reads of a big object: inside it, and to its end.
    for (from, to) in [(1u64, (11 << 20) + 3), (7 << 20, (12 << 20) - 1)] {
        let body = store
            .get(
                "files/big",
                Some(ByteRange {
                    start: from,
                    end: Some(to),
                }),
            )
            .await
            .unwrap();
        assert_eq!((body.start, body.end), (from, to));
        let got = read_all(body.stream).await.unwrap();
        assert!(
            got[..] == data[from as usize..=to as usize],
            "range {from}-{to} differs"
        );
    }

    // Two downloads at once: room for one download's ranges, so the second
    // reads with a plain GET, and both arrive whole.
    let first = store.get("files/big", None).await.unwrap();
    assert_eq!(store.download_budget().in_use(), 15 << 20);
    let second = store.get("files/big", None).await.unwrap();
    assert_eq!(store.download_budget().in_use(), 15 << 20);
    let (a, b) = futures::join!(read_all(first.stream), read_all(second.stream));
    assert!(
        a.unwrap() == data && b.unwrap() == data,
        "concurrent downloads differ"
    );
    assert_eq!(store.download_budget().in_use(), 0);

    // An object overwritten while it is read in ranges fails the download
    // instead of splicing the old and the new content.
    let mut stream = store.get("files/big", None).await.unwrap().stream;
    let head = stream.next().await.unwrap().unwrap();
    assert!(head[..] == data[..head.len()]);
    store
        .put(
            "files/big",
            Box::pin(futures::stream::iter(vec![Ok(Bytes::from(vec![
                1u8;
                12 << 20
            ]))])),
        )
        .await
        .unwrap();
    let (mut offset, mut failed) = (head.len(), false);
    while let Some(c) = stream.next().await {
        match c {
            Ok(c) => {
                assert!(
                    c[..] == data[offset..offset + c.len()],
                    "new bytes spliced into the old"
                );
                offset += c.len();
            }
            Err(_) => failed = true,
        }
    }
    assert!(failed, "the overwritten object's download went on");

    // A stream failing after two parts aborts the upload: nothing left behind.
    let mut chunks: Vec<std::io::Result<Bytes>> = data
        .chunks(65536)
        .take(170)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    chunks.push(Err(std::io::Error::other("client went away")));
    assert!(
        store
            .put("files/broken", Box::pin(futures::stream::iter(chunks)))
            .await
            .is_err()
    );
    assert!(store.head("files/broken").await.unwrap_err().is_not_found());
    let sdk = minio.s3_client();
    let uploads = sdk
        .list_multipart_uploads()
        .bucket("contract")
        .send()
        .await
        .unwrap();
    assert!(
        uploads.uploads().is_empty(),
        "incomplete upload left: {:?}",
        uploads.uploads()
    );
    store.delete("files/big").await.unwrap();

    // Eight 12 MiB uploads at once share room for three parts: they wait for
    // each other instead of holding 8 x 3 parts, and every one arrives whole.
    let uploads = (0..8).map(|i| {
        let store = store.clone();
        let data = data.clone();
        async move {
            let chunks: Vec<std::io::Result<Bytes>> = data
                .chunks(65536)
                .map(|c| Ok(Bytes::copy_from_slice(c)))
                .collect();
            let key = format!("files/many-{i}");
            store
                .put(&key, Box::pin(futures::stream::iter(chunks)))
                .await
                .unwrap();
            key
        }
    });
    let keys = futures::future::join_all(uploads).await;
    let budget = store.buffer_budget();
    assert_eq!(budget.bytes(), 15 << 20);
    // The semaphore keeps reservations within the budget; that the uploads
    // filled it shows they were held back by it (eight at once would want
    // more than three parts).
    assert_eq!(budget.peak(), budget.bytes());
    assert_eq!(budget.in_use(), 0, "every buffer's room was given back");
    for key in keys {
        assert_eq!(store.head(&key).await.unwrap().size, 12 << 20);
        store.delete(&key).await.unwrap();
    }
}

#[tokio::test]
async fn a_stopped_server_is_unavailable_not_an_internal_error() {
    let mut minio = ExternalServer::start("minio").unwrap();
    let store = S3ObjectStore::connect(config(&minio, "outage"))
        .await
        .unwrap();
    store
        .put(
            "k",
            Box::pin(futures::stream::iter(vec![Ok(Bytes::from_static(b"v"))])),
        )
        .await
        .unwrap();
    minio.stop().unwrap();
    let err = store.head("k").await.unwrap_err();
    assert!(
        matches!(err, graphfs_domain::Error::Unavailable { .. }),
        "{err:?}"
    );
    assert!(store.ping().await.is_err());
    minio.resume().unwrap();
    assert_eq!(store.head("k").await.unwrap().size, 1);
}
