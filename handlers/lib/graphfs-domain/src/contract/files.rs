//! Files: visibility, ownership, sharing, listing and cursors.

use super::*;

pub(super) async fn files_and_visibility(index: &dyn GraphIndex) {
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

    // Invisible to others, who cannot change it either: to them it does
    // not exist (`access::require_owner`), in every backend and every write.
    assert!(index.get_file(&bob, f.id).await.unwrap_err().is_not_found());
    refused_writes(index, &bob, f.id, |e| e.is_not_found()).await;

    // A batch read keeps the order asked for and leaves out what the viewer
    // may not see or what does not exist.
    let other = new_file(index, &bob, "bobs.txt", "text/plain").await;
    let batch = index
        .get_files(&alice, &[other.id, f.id, FileId::new(), f.id])
        .await
        .unwrap();
    assert_eq!(
        batch.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![f.id, f.id]
    );
    assert_eq!(batch[0].name, "notes.txt");
    assert!(index.get_files(&alice, &[]).await.unwrap().is_empty());
    index.delete_file(&bob, other.id).await.unwrap();

    // Sharing makes it visible, not writable: a 403 that says why.
    let shared = index.set_shared(&alice, f.id, &bob, true).await.unwrap();
    assert_eq!(shared.shared_with, vec![bob.clone()]);
    assert_eq!(index.get_file(&bob, f.id).await.unwrap().id, f.id);
    refused_writes(index, &bob, f.id, |e| matches!(e, Error::Forbidden(_))).await;
    let unchanged = index.get_file(&alice, f.id).await.unwrap();
    assert_eq!(
        (unchanged.name.as_str(), unchanged.shared_with.clone()),
        ("notes.txt", vec![bob.clone()]),
        "a refused write leaves nothing behind"
    );
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

pub(super) async fn listing(index: &dyn GraphIndex) {
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

/// Every owner-only write by `viewer` on `id` fails with an error `expected` accepts.
async fn refused_writes(
    index: &dyn GraphIndex,
    viewer: &str,
    id: FileId,
    expected: impl Fn(&Error) -> bool,
) {
    let results = [
        ("rename", index.rename_file(viewer, id, "x").await.err()),
        (
            "share",
            index.set_shared(viewer, id, "carol", true).await.err(),
        ),
        ("tag", index.add_user_tag(viewer, id, "mine").await.err()),
        ("untag", index.remove_tag(viewer, id, "mine").await.err()),
        ("delete", index.delete_file(viewer, id).await.err()),
    ];
    for (what, err) in results {
        match err {
            Some(e) if expected(&e) => {}
            other => panic!("{what} by {viewer}: {other:?}"),
        }
    }
}
