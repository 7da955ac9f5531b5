//! The object store: put, ranged get, head, list, atomic overwrite, delete.

use super::*;

/// The object store contract.
pub async fn object_store(store: Arc<dyn ObjectStore>) {
    store.ping().await.expect("ping");
    let prefix = unique("contract");
    let key = format!("{prefix}/a");

    // Put from several chunks, read back whole and in ranges.
    let n = store
        .put(&key, body(vec![b"hello ", b"graph", b"fs"]))
        .await
        .unwrap();
    assert_eq!(n, 13);
    let whole = store.get(&key, None).await.unwrap();
    assert_eq!((whole.size, whole.start, whole.end), (13, 0, 12));
    assert_eq!(read_all(whole.stream).await, b"hello graphfs");
    let part = store
        .get(
            &key,
            Some(ByteRange {
                start: 6,
                end: Some(10),
            }),
        )
        .await
        .unwrap();
    assert_eq!((part.start, part.end, part.size), (6, 10, 13));
    assert_eq!(read_all(part.stream).await, b"graph");
    let tail = store
        .get(
            &key,
            Some(ByteRange {
                start: 11,
                end: Some(1000),
            }),
        )
        .await
        .unwrap();
    assert_eq!(tail.end, 12, "an end past the object is clipped");
    assert_eq!(read_all(tail.stream).await, b"fs");
    let err = store
        .get(
            &key,
            Some(ByteRange {
                start: 13,
                end: None,
            }),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::RangeNotSatisfiable { size: 13 }),
        "{err:?}"
    );

    // Head and list.
    let meta = store.head(&key).await.unwrap();
    assert_eq!((meta.key.as_str(), meta.size), (key.as_str(), 13));
    let key_b = format!("{prefix}/b");
    store.put(&key_b, body(vec![])).await.unwrap();
    let empty = store.get(&key_b, None).await.unwrap();
    assert_eq!(empty.size, 0);
    assert!(
        read_all(empty.stream).await.is_empty(),
        "empty objects are allowed"
    );
    let listed = store.list(&format!("{prefix}/"), None, 10).await.unwrap();
    let keys: Vec<_> = listed.iter().map(|m| m.key.clone()).collect();
    assert_eq!(keys, vec![key.clone(), key_b.clone()]);
    let after = store
        .list(&format!("{prefix}/"), Some(&key), 10)
        .await
        .unwrap();
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].key, key_b);

    // Overwrite is atomic and whole.
    store.put(&key, body(vec![b"v2"])).await.unwrap();
    assert_eq!(
        read_all(store.get(&key, None).await.unwrap().stream).await,
        b"v2"
    );

    // A failing stream leaves the old object untouched and nothing new behind.
    let failing: ByteStream = Box::pin(stream::iter(vec![
        Ok(Bytes::from_static(b"partial")),
        Err(std::io::Error::other("client went away")),
    ]));
    assert!(store.put(&key, failing).await.is_err());
    assert_eq!(
        read_all(store.get(&key, None).await.unwrap().stream).await,
        b"v2"
    );
    let key_c = format!("{prefix}/c");
    let failing: ByteStream = Box::pin(stream::iter(vec![Err(std::io::Error::other("boom"))]));
    assert!(store.put(&key_c, failing).await.is_err());
    assert!(store.head(&key_c).await.unwrap_err().is_not_found());

    // A larger object in many chunks keeps its bytes in order.
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let chunks: Vec<std::io::Result<Bytes>> = big
        .chunks(65_536)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    let key_big = format!("{prefix}/big");
    store
        .put(&key_big, Box::pin(stream::iter(chunks)))
        .await
        .unwrap();
    let got = read_all(store.get(&key_big, None).await.unwrap().stream).await;
    assert_eq!(Sha256::digest(&got), Sha256::digest(&big));

    // Delete is idempotent.
    for k in [&key, &key_b, &key_big] {
        assert!(store.delete(k).await.unwrap());
        assert!(!store.delete(k).await.unwrap());
        assert!(store.get(k, None).await.unwrap_err().is_not_found());
    }
    assert!(
        store
            .list(&format!("{prefix}/"), None, 10)
            .await
            .unwrap()
            .is_empty()
    );
}
