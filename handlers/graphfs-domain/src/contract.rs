//! The contract every backend passes. Each backend's tests call
//! [`object_store`] and [`graph_index`] with a fresh instance; the checks use
//! unique keys and user names so they can share one server.
//!
//! Panics (assertion failures) are the point here: this is test code.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::{StreamExt, stream};
use sha2::{Digest, Sha256};

use crate::*;

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

fn body(chunks: Vec<&'static [u8]>) -> ByteStream {
    Box::pin(stream::iter(
        chunks.into_iter().map(|c| Ok(Bytes::from_static(c))),
    ))
}

async fn read_all(mut s: ByteStream) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(c) = s.next().await {
        out.extend_from_slice(&c.unwrap());
    }
    out
}

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

async fn new_file(index: &dyn GraphIndex, owner: &str, name: &str, media: &str) -> FileRecord {
    index
        .create_file({
            let id = FileId::new();
            NewFile {
                id,
                object_key: id.object_key(),
                owner: owner.to_string(),
                name: name.to_string(),
                size: 10,
                sha256: hex::encode(Sha256::digest(name.as_bytes())),
                media_type: media.to_string(),
            }
        })
        .await
        .unwrap()
}

fn outcome(text: &str, tags: &[(&str, f32)]) -> TaggingOutcome {
    TaggingOutcome {
        text: text.to_string(),
        metadata: serde_json::json!({"words": text.split_whitespace().count()}),
        media_type: None,
        tags: tags
            .iter()
            .map(|(n, s)| ProposedTag {
                name: n.to_string(),
                score: *s,
                source: TagSource::Keyword,
            })
            .collect(),
        terms: text.split_whitespace().map(str::to_lowercase).collect(),
        embedding: None,
    }
}

/// A 384-dimension unit vector (the graph's vector index takes 384) along
/// axis `a`, tilted towards axis `b` by `t`.
fn unit(a: usize, b: usize, t: f32) -> Vec<f32> {
    let mut v = vec![0f32; 384];
    v[a] = 1.0;
    v[b] += t;
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter().map(|x| x / n).collect()
}

/// Claims jobs until the one for `file` comes up, completing others on the way.
async fn tag_file(index: &dyn GraphIndex, file: FileId, out: &TaggingOutcome) {
    for _ in 0..10_000 {
        let job = index
            .claim_job("contract-worker", Duration::from_secs(60))
            .await
            .unwrap()
            .expect("the file's job is queued");
        if job.file_id == file {
            assert!(index.complete_job(&job, out).await.unwrap());
            return;
        }
        // Another check's leftover job: finish it to move past it.
        index
            .complete_job(&job, &TaggingOutcome::default())
            .await
            .unwrap();
    }
    panic!("job for {file} never came up");
}

/// The graph index contract.
pub async fn graph_index(index: Arc<dyn GraphIndex>) {
    let index = index.as_ref();
    index.ping().await.unwrap();
    users_and_tokens(index).await;
    files_and_visibility(index).await;
    listing(index).await;
    tags_and_removal(index).await;
    search_and_graph(index).await;
    queue(index).await;
    embeddings_and_vocabulary(index).await;
}

async fn embeddings_and_vocabulary(index: &dyn GraphIndex) {
    let (a, b) = (unique("vec-a"), unique("vec-b"));
    let tag = |p: &str| format!("{p}{}", &unique("t")[2..14]);
    let (x, y, u, cand) = (tag("x"), tag("y"), tag("u"), tag("zz"));
    let f1 = new_file(index, &a, "one.txt", "text/plain").await;
    let f2 = new_file(index, &a, "two.txt", "text/plain").await;
    let f3 = new_file(index, &a, "three.txt", "text/plain").await;
    let f4 = new_file(index, &b, "other.txt", "text/plain").await;
    let candidate = format!("{CANDIDATE_TERM_PREFIX}{cand}");
    let with = |text: &str, tags: &[(&str, f32)], v: Vec<f32>, extra: &[&str]| {
        let mut o = outcome(text, tags);
        o.embedding = Some(v);
        o.terms.extend(extra.iter().map(|t| t.to_string()));
        o
    };
    tag_file(
        index,
        f1.id,
        &with("alpha", &[(&x, 0.9)], unit(0, 1, 0.0), &[&candidate]),
    )
    .await;
    tag_file(
        index,
        f2.id,
        &with("beta", &[(&y, 0.8)], unit(0, 1, 0.1), &[&candidate]),
    )
    .await;
    tag_file(index, f3.id, &with("gamma", &[], unit(1, 0, 0.0), &[])).await;
    tag_file(
        index,
        f4.id,
        &with("delta", &[(&x, 0.5)], unit(0, 1, 0.0), &[]),
    )
    .await;

    // Nearest by meaning, only among visible files (vector indexes may be
    // eventually consistent: wait a little for the writes to show).
    let mut near = Vec::new();
    for _ in 0..50 {
        near = index
            .nearest_files(Some(&a), &unit(0, 1, 0.0), 2)
            .await
            .unwrap();
        if near.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let ids: Vec<FileId> = near.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids, vec![f1.id, f2.id], "{near:?}");
    assert!(
        (near[0].1 - 1.0).abs() < 1e-3 && near[1].1 < near[0].1,
        "{near:?}"
    );
    let all = index
        .nearest_files(None, &unit(0, 1, 0.0), 50)
        .await
        .unwrap();
    assert!(
        all.iter().any(|(id, _)| *id == f4.id),
        "all files without a viewer"
    );
    assert!(
        !index
            .nearest_files(Some(&a), &unit(0, 1, 0.0), 50)
            .await
            .unwrap()
            .iter()
            .any(|(id, _)| *id == f4.id),
        "another user's file is not visible"
    );

    // Candidate terms are counted over files.
    let freq = index.frequent_terms(&candidate, 2, 10).await.unwrap();
    assert_eq!(freq, vec![(candidate.clone(), 2)]);
    assert!(
        index
            .frequent_terms(&candidate, 3, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // The global vocabulary counts every user's files.
    let vocab = index.vocabulary(100_000).await.unwrap();
    let count = |n: &str| vocab.iter().find(|t| t.name == n).map(|t| t.count);
    assert_eq!(count(&x), Some(2));
    assert_eq!(count(&y), Some(1));

    // Merging moves every edge, keeps user tags user tags, records an alias.
    index.add_user_tag(&a, f3.id, &u).await.unwrap();
    let user_tags = index.user_tags().await.unwrap();
    assert!(
        user_tags.contains(&u) && !user_tags.contains(&x),
        "{user_tags:?}"
    );
    index.merge_tag(&x, &y).await.unwrap();
    index.merge_tag(&u, &y).await.unwrap();
    let tags = index.list_tags(&a, Some(&y), 10).await.unwrap();
    assert_eq!(tags.len(), 1, "{tags:?}");
    assert_eq!(tags[0].count, 3);
    assert!(
        tags[0].aliases.contains(&x) && tags[0].aliases.contains(&u),
        "{tags:?}"
    );
    assert!(index.list_tags(&a, Some(&x), 10).await.unwrap().is_empty());
    let t3 = index.get_file(&a, f3.id).await.unwrap();
    assert_eq!(
        t3.tags.iter().find(|t| t.name == y).map(|t| t.source),
        Some(TagSource::User)
    );
    assert_eq!(index.get_file(&b, f4.id).await.unwrap().tags[0].name, y);
    assert!(matches!(
        index.merge_tag(&tag("missing"), &y).await,
        Err(Error::NotFound(_))
    ));
    // A later tagging with the old name lands on the merged tag.
    index.requeue(f1.id).await.unwrap();
    tag_file(
        index,
        f1.id,
        &with("alpha", &[(&x, 0.9)], unit(0, 1, 0.0), &[]),
    )
    .await;
    let t1 = index.get_file(&a, f1.id).await.unwrap();
    assert_eq!(
        t1.tags.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
        vec![y.as_str()]
    );

    // A partial outcome is searchable while the job stays queued.
    let f5 = new_file(index, &a, "partial.txt", "text/plain").await;
    let word = format!("w{}", &unique("p")[2..12]);
    for _ in 0..10_000 {
        let job = index
            .claim_job("contract-worker", Duration::from_secs(60))
            .await
            .unwrap()
            .expect("queued");
        if job.file_id != f5.id {
            index
                .complete_job(&job, &TaggingOutcome::default())
                .await
                .unwrap();
            continue;
        }
        assert!(
            index
                .store_partial(&job, &outcome(&word, &[("offline", 0.5)]))
                .await
                .unwrap()
        );
        let f = index.get_file(&a, f5.id).await.unwrap();
        assert_ne!(f.status, TaggingStatus::Done);
        assert_eq!(f.tags[0].name, "offline");
        let hits = index.search(&a, &word, 5).await.unwrap();
        assert_eq!(hits.len(), 1, "partial text is searchable");
        index.release_job(&job).await.unwrap();
        break;
    }
}

async fn users_and_tokens(index: &dyn GraphIndex) {
    let alice = unique("alice");
    let hash = hex::encode(Sha256::digest(alice.as_bytes()));
    assert_eq!(index.user_for_token(&hash).await.unwrap(), None);
    index.add_token(&alice, &hash).await.unwrap();
    index.add_token(&alice, &hash).await.unwrap();
    assert_eq!(index.user_for_token(&hash).await.unwrap(), Some(alice));
}

async fn files_and_visibility(index: &dyn GraphIndex) {
    let (alice, bob) = (unique("alice"), unique("bob"));
    let f = new_file(index, &alice, "notes.txt", "text/plain").await;
    assert_eq!(f.status, TaggingStatus::Pending);
    assert_eq!(f.owner, alice);
    assert_eq!(f.object_key, f.id.object_key());
    assert_eq!(
        index.file_by_object_key(&f.object_key).await.unwrap(),
        Some(f.id)
    );
    assert_eq!(index.file_by_object_key("inbox/none").await.unwrap(), None);

    // A file registered from an object written straight into the bucket
    // keeps that key; registering the same key twice is a conflict.
    let key = format!("inbox/{}/report.pdf", unique("k"));
    let direct = NewFile {
        id: FileId::new(),
        object_key: key.clone(),
        owner: alice.clone(),
        name: "report.pdf".into(),
        size: 3,
        sha256: String::new(),
        media_type: "application/pdf".into(),
    };
    let d = index.create_file(direct.clone()).await.unwrap();
    assert_eq!(d.object_key, key);
    assert_eq!(index.file_by_object_key(&key).await.unwrap(), Some(d.id));
    let again = index
        .create_file(NewFile {
            id: FileId::new(),
            ..direct
        })
        .await;
    assert!(matches!(again, Err(Error::Conflict(_))), "{again:?}");
    index.delete_file(&alice, d.id).await.unwrap();
    assert_eq!(index.file_by_object_key(&key).await.unwrap(), None);
    assert_eq!(
        index.get_file(&alice, f.id).await.unwrap().name,
        "notes.txt"
    );

    // Invisible to others, who cannot change it either.
    assert!(index.get_file(&bob, f.id).await.unwrap_err().is_not_found());
    assert!(index.rename_file(&bob, f.id, "x").await.is_err());
    assert!(index.delete_file(&bob, f.id).await.is_err());

    // Sharing makes it visible, not writable.
    let shared = index.set_shared(&alice, f.id, &bob, true).await.unwrap();
    assert_eq!(shared.shared_with, vec![bob.clone()]);
    assert_eq!(index.get_file(&bob, f.id).await.unwrap().id, f.id);
    assert!(index.rename_file(&bob, f.id, "x").await.is_err());
    index.set_shared(&alice, f.id, &bob, false).await.unwrap();
    assert!(index.get_file(&bob, f.id).await.unwrap_err().is_not_found());

    let renamed = index
        .rename_file(&alice, f.id, "journal.txt")
        .await
        .unwrap();
    assert_eq!(renamed.name, "journal.txt");
    assert!(renamed.updated_at >= f.updated_at);

    // Delete removes it; a second delete is NotFound.
    let gone = index.delete_file(&alice, f.id).await.unwrap();
    assert_eq!(gone.id, f.id);
    assert!(
        index
            .delete_file(&alice, f.id)
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert!(
        index
            .get_file_internal(f.id)
            .await
            .unwrap_err()
            .is_not_found()
    );
}

async fn listing(index: &dyn GraphIndex) {
    let u = unique("lister");
    let mut ids = Vec::new();
    for i in 0..7 {
        let media = if i % 2 == 0 {
            "text/plain"
        } else {
            "image/png"
        };
        ids.push(new_file(index, &u, &format!("f{i}.dat"), media).await.id);
    }
    // Newest first by default, paged with a cursor, no overlaps or gaps.
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = index
            .list_files(
                &u,
                &FileQuery {
                    limit: 3,
                    cursor: cursor.clone(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert!(page.items.len() <= 3);
        seen.extend(page.items.iter().map(|f| f.id));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    let mut expected = ids.clone();
    expected.reverse();
    assert_eq!(seen, expected);

    let by_name = index
        .list_files(
            &u,
            &FileQuery {
                limit: 100,
                sort: SortKey::Name,
                order: SortOrder::Asc,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let names: Vec<_> = by_name.items.iter().map(|f| f.name.clone()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);

    let images = index
        .list_files(
            &u,
            &FileQuery {
                limit: 100,
                media_type: Some("image/".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(images.items.len(), 3);
    assert!(images.items.iter().all(|f| f.media_type == "image/png"));
    let prefixed = index
        .list_files(
            &u,
            &FileQuery {
                limit: 100,
                name_prefix: Some("f1".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(prefixed.items.len(), 1);
    let pending = index
        .list_files(
            &u,
            &FileQuery {
                limit: 100,
                status: Some(TaggingStatus::Pending),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(pending.items.len(), 7);
    let bad = index
        .list_files(
            &u,
            &FileQuery {
                limit: 3,
                cursor: Some("not-a-cursor".into()),
                ..Default::default()
            },
        )
        .await;
    assert!(matches!(bad, Err(Error::InvalidInput(_))), "{bad:?}");
    for id in ids {
        index.delete_file(&u, id).await.unwrap();
    }
}

async fn tags_and_removal(index: &dyn GraphIndex) {
    let u = unique("tagger");
    let a = new_file(index, &u, "a.txt", "text/plain").await;
    let b = new_file(index, &u, "b.txt", "text/plain").await;
    let tag_x = unique("x");
    let tag_y = unique("y");
    let tag_z = unique("z");
    tag_file(
        index,
        a.id,
        &outcome("alpha text", &[(&tag_x, 0.9), (&tag_y, 0.5)]),
    )
    .await;
    tag_file(index, b.id, &outcome("beta text", &[(&tag_x, 0.8)])).await;
    let a1 = index.get_file(&u, a.id).await.unwrap();
    assert_eq!(a1.status, TaggingStatus::Done);
    assert_eq!(a1.tags.len(), 2);
    assert_eq!(a1.metadata["words"], 2);

    // Filters: ALL and ANY.
    let all = index
        .list_files(
            &u,
            &FileQuery {
                limit: 10,
                tags: vec![tag_x.clone(), tag_y.clone()],
                tag_match: TagMatch::All,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        all.items.iter().map(|f| f.id).collect::<Vec<_>>(),
        vec![a.id]
    );
    let any = index
        .list_files(
            &u,
            &FileQuery {
                limit: 10,
                tags: vec![tag_x.clone(), tag_y.clone()],
                tag_match: TagMatch::Any,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(any.items.len(), 2);

    // Vocabulary counts and co-occurrence.
    let vocab = index.list_tags(&u, None, 100).await.unwrap();
    let count = |t: &str| vocab.iter().find(|i| i.name == t).map(|i| i.count);
    assert_eq!(count(&tag_x), Some(2));
    assert_eq!(count(&tag_y), Some(1));
    let related = index.related_tags(&u, &tag_x, 10).await.unwrap();
    assert_eq!(
        related,
        vec![RelatedTag {
            name: tag_y.clone(),
            count: 1
        }]
    );
    // Others see none of it.
    let other = unique("other");
    assert!(
        index
            .list_tags(&other, None, 100)
            .await
            .unwrap()
            .iter()
            .all(|t| t.name != tag_x)
    );

    // A user's tag survives re-tagging; a removed machine tag stays removed.
    index.add_user_tag(&u, a.id, &tag_z).await.unwrap();
    index.remove_tag(&u, a.id, &tag_y).await.unwrap();
    assert!(
        index
            .remove_tag(&u, a.id, &tag_y)
            .await
            .unwrap_err()
            .is_not_found()
    );
    index.requeue(a.id).await.unwrap();
    tag_file(
        index,
        a.id,
        &outcome("alpha text", &[(&tag_x, 0.9), (&tag_y, 0.5)]),
    )
    .await;
    let a2 = index.get_file(&u, a.id).await.unwrap();
    let names: Vec<_> = a2
        .tags
        .iter()
        .map(|t| (t.name.as_str(), t.source))
        .collect();
    assert!(
        names.contains(&(tag_z.as_str(), TagSource::User)),
        "{names:?}"
    );
    assert!(
        names.contains(&(tag_x.as_str(), TagSource::Keyword)),
        "{names:?}"
    );
    assert!(
        !names.iter().any(|(n, _)| *n == tag_y),
        "removed tag came back: {names:?}"
    );
    // Adding it by hand again is the user's choice.
    index.add_user_tag(&u, a.id, &tag_y).await.unwrap();
    let a3 = index.get_file(&u, a.id).await.unwrap();
    assert!(
        a3.tags
            .iter()
            .any(|t| t.name == tag_y && t.source == TagSource::User)
    );

    // Similar edges, both directions, and deleted ends vanish.
    index.set_similar(a.id, &[(b.id, 0.75)]).await.unwrap();
    let sim = index.similar_files(&u, b.id, 10).await.unwrap();
    assert_eq!(sim.len(), 1);
    assert_eq!(sim[0].id, a.id);

    // Corpus statistics count tagged documents.
    let stats = index
        .corpus_stats(&["alpha".into(), "text".into(), unique("none")])
        .await
        .unwrap();
    assert!(stats.documents >= 2);
    assert!(stats.document_frequency[0] >= 1);
    assert!(stats.document_frequency[1] >= 2);
    assert_eq!(stats.document_frequency[2], 0);

    // Deleting a file removes its edges: b's tag count drops, a has no similar.
    index.delete_file(&u, b.id).await.unwrap();
    assert!(index.similar_files(&u, a.id, 10).await.unwrap().is_empty());
    let vocab = index.list_tags(&u, None, 100).await.unwrap();
    assert_eq!(
        vocab.iter().find(|i| i.name == tag_x).map(|i| i.count),
        Some(1)
    );
    index.delete_file(&u, a.id).await.unwrap();
    assert!(index.list_tags(&u, None, 100).await.unwrap().is_empty());
    assert!(
        index
            .related_tags(&u, &tag_x, 10)
            .await
            .unwrap_or_default()
            .is_empty()
    );
}

async fn search_and_graph(index: &dyn GraphIndex) {
    let u = unique("searcher");
    let word = format!("zq{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let a = new_file(index, &u, &format!("{word}-report.pdf"), "application/pdf").await;
    let b = new_file(index, &u, "plain.txt", "text/plain").await;
    let c = new_file(index, &u, "chinese.txt", "text/plain").await;
    let tag = unique("t");
    tag_file(index, a.id, &outcome("quarterly figures", &[(&tag, 0.9)])).await;
    tag_file(
        index,
        b.id,
        &outcome(
            &format!("the {word} appears in this body text"),
            &[(&tag, 0.4)],
        ),
    )
    .await;
    tag_file(index, c.id, &outcome("我们正在研究机器学习和图数据库", &[])).await;

    // Name matches rank above body matches.
    let hits = index.search(&u, &word, 10).await.unwrap();
    let ids: Vec<_> = hits.iter().map(|h| h.file.id).collect();
    assert_eq!(ids, vec![a.id, b.id], "{hits:?}");
    assert!(hits[0].matched.contains(&MatchField::Name));
    assert!(hits[1].matched.contains(&MatchField::Text));
    assert!(
        hits[1]
            .snippet
            .as_deref()
            .unwrap_or("")
            .contains(&format!("[{word}]"))
    );
    // Prefix search as one types.
    assert_eq!(index.search(&u, &word[..6], 10).await.unwrap().len(), 2);
    // Chinese text is searchable by a word inside a sentence.
    let zh = index.search(&u, "机器学习", 10).await.unwrap();
    assert_eq!(zh.iter().map(|h| h.file.id).collect::<Vec<_>>(), vec![c.id]);
    // A word no file has finds nothing (not everything).
    assert!(
        index
            .search(&u, "qqzxnomatchxzqq", 10)
            .await
            .unwrap()
            .is_empty()
    );
    // Query syntax is never interpreted.
    for q in [
        "\"",
        "a OR",
        "NEAR(x y)",
        "*",
        "title:x",
        "'; DROP TABLE files; --",
    ] {
        index.search(&u, q, 10).await.unwrap();
    }
    // Others find nothing.
    assert!(
        index
            .search(&unique("other"), &word, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // Graph: file -> tag -> other file at depth 2.
    let g = index
        .neighbourhood(&u, &GraphStart::File(a.id), 2, 100)
        .await
        .unwrap();
    let node_ids: Vec<_> = g.nodes.iter().map(|n| n.id.clone()).collect();
    assert!(node_ids.contains(&format!("file:{}", a.id)));
    assert!(node_ids.contains(&format!("tag:{tag}")));
    assert!(node_ids.contains(&format!("file:{}", b.id)));
    assert!(
        g.edges
            .iter()
            .all(|e| node_ids.contains(&e.source) && node_ids.contains(&e.target))
    );
    assert!(g.edges.iter().any(|e| e.kind == EdgeKind::Tagged));
    let g1 = index
        .neighbourhood(&u, &GraphStart::Tag(tag.clone()), 1, 2)
        .await
        .unwrap();
    assert_eq!(g1.nodes.len(), 2);
    assert!(g1.truncated);
    assert!(
        index
            .neighbourhood(&unique("other"), &GraphStart::File(a.id), 1, 10)
            .await
            .unwrap_err()
            .is_not_found()
    );
    for f in [a, b, c] {
        index.delete_file(&u, f.id).await.unwrap();
    }
}

async fn queue(index: &dyn GraphIndex) {
    let u = unique("queuer");
    let f = new_file(index, &u, "q.txt", "text/plain").await;
    // Drain older jobs of other checks so the queue holds only ours.
    let mut job = None;
    for _ in 0..10_000 {
        let j = index
            .claim_job("w1", Duration::from_secs(60))
            .await
            .unwrap()
            .expect("queued");
        if j.file_id == f.id {
            job = Some(j);
            break;
        }
        index
            .complete_job(&j, &TaggingOutcome::default())
            .await
            .unwrap();
    }
    let job = job.unwrap();
    assert_eq!(job.attempts, 1);
    assert_eq!(
        index.get_file(&u, f.id).await.unwrap().status,
        TaggingStatus::Running
    );
    let depth = index.queue_depth().await.unwrap();
    assert!(depth.in_flight >= 1);
    // Held under lease: nobody else gets it.
    assert!(
        index
            .claim_job("w2", Duration::from_secs(60))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        index
            .heartbeat(&job, Duration::from_millis(50))
            .await
            .unwrap()
    );

    // A lapsed lease (the handler died) makes the job claimable again.
    tokio::time::sleep(Duration::from_millis(120)).await;
    let again = index
        .claim_job("w2", Duration::from_secs(60))
        .await
        .unwrap()
        .expect("lease lapsed");
    assert_eq!(again.file_id, f.id);
    assert_eq!(again.attempts, 2);
    // The old holder lost it: its heartbeat and completion are refused.
    assert!(
        !index
            .heartbeat(&job, Duration::from_secs(60))
            .await
            .unwrap()
    );
    assert!(
        !index
            .complete_job(&job, &outcome("stale", &[]))
            .await
            .unwrap()
    );

    // Retry with backoff. Times are far from now in either direction, so the
    // checks hold however long the round trips in between take.
    // A retry time that has passed is due at once.
    let past = chrono::Utc::now() - chrono::Duration::minutes(5);
    index
        .fail_job(&again, "llm timed out", JobFailure::RetryAt(past))
        .await
        .unwrap();
    assert_eq!(
        index.get_file(&u, f.id).await.unwrap().status,
        TaggingStatus::Pending
    );
    let third = index
        .claim_job("w3", Duration::from_secs(60))
        .await
        .unwrap()
        .expect("due");
    assert_eq!(third.attempts, 3);
    // A retry time in the future is not due until then.
    let later = chrono::Utc::now() + chrono::Duration::hours(1);
    index
        .fail_job(&third, "llm timed out", JobFailure::RetryAt(later))
        .await
        .unwrap();
    assert_eq!(
        index.get_file(&u, f.id).await.unwrap().status,
        TaggingStatus::Pending
    );
    assert!(
        index
            .claim_job("w3", Duration::from_secs(60))
            .await
            .unwrap()
            .is_none()
    );
    assert!(index.queue_depth().await.unwrap().pending >= 1);
    // Re-queueing makes a waiting job due now, with a fresh attempt count.
    index.requeue(f.id).await.unwrap();
    let fourth = index
        .claim_job("w3", Duration::from_secs(60))
        .await
        .unwrap()
        .expect("requeued");
    assert_eq!(fourth.attempts, 1);

    // Giving up records the reason on the file.
    index
        .fail_job(&fourth, "could not parse the PDF", JobFailure::GiveUp)
        .await
        .unwrap();
    let failed = index.get_file(&u, f.id).await.unwrap();
    assert_eq!(failed.status, TaggingStatus::Failed);
    assert_eq!(
        failed.status_reason.as_deref(),
        Some("could not parse the PDF")
    );
    assert!(index.queue_depth().await.unwrap().failed >= 1);

    // Re-queue and release (graceful shutdown) keep the job for later.
    index.requeue(f.id).await.unwrap();
    let j = index
        .claim_job("w4", Duration::from_secs(60))
        .await
        .unwrap()
        .expect("requeued");
    assert_eq!(j.attempts, 1);
    index.release_job(&j).await.unwrap();
    let j = index
        .claim_job("w5", Duration::from_secs(60))
        .await
        .unwrap()
        .expect("released");
    assert_eq!(j.attempts, 1, "a released attempt does not count");

    // Completing twice is harmless; deleting the file removes its job.
    assert!(index.complete_job(&j, &outcome("done", &[])).await.unwrap());
    assert!(!index.complete_job(&j, &outcome("done", &[])).await.unwrap());
    index.requeue(f.id).await.unwrap();
    index.delete_file(&u, f.id).await.unwrap();
    assert!(
        index
            .claim_job("w6", Duration::from_secs(60))
            .await
            .unwrap()
            .is_none()
    );
}
