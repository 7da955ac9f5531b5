//! Versions: new content keeps the old as a version, within the retention.

use super::*;

fn content(key: &str, body: &str) -> NewContent {
    NewContent {
        object_key: key.to_string(),
        size: body.len() as u64,
        sha256: hex::encode(Sha256::digest(body.as_bytes())),
        media_type: "text/plain".into(),
    }
}

fn numbers(versions: &[FileVersion]) -> Vec<u32> {
    versions.iter().map(|v| v.version).collect()
}

pub(super) async fn versions(index: &dyn GraphIndex) {
    let (alice, bob) = (unique("alice"), unique("bob"));
    index.ensure_user(&bob).await.unwrap();
    let f = new_file(index, &alice, "draft.txt", "text/plain").await;
    let first_key = f.object_key.clone();
    tag_file(index, f.id, &outcome("first words", &[])).await;
    assert!(index.versions(&alice, f.id).await.unwrap().is_empty());

    // Bytes written over in place (an S3 client's overwrite) keep nothing.
    let in_place = index
        .replace_content(f.id, &content(&first_key, "first, again"), 5)
        .await
        .unwrap();
    assert!(in_place.unreferenced.is_empty());
    assert_eq!(in_place.file.size, 12);
    assert_eq!(in_place.file.status, TaggingStatus::Pending);
    assert!(index.versions(&alice, f.id).await.unwrap().is_empty());
    tag_file(index, f.id, &outcome("first again", &[])).await;

    // New content at a key of its own keeps the old content as version 1.
    let keys: Vec<String> = (0..5).map(|_| f.id.content_key()).collect();
    let second = index
        .replace_content(f.id, &content(&keys[0], "second"), 2)
        .await
        .unwrap();
    assert!(second.unreferenced.is_empty());
    assert_eq!(second.file.object_key, keys[0]);
    assert_eq!(second.file.sha256, content(&keys[0], "second").sha256);
    assert_eq!(second.file.status, TaggingStatus::Pending, "tagged again");
    assert_eq!(second.file.name, "draft.txt", "the same file");
    let v = index.versions(&alice, f.id).await.unwrap();
    assert_eq!(numbers(&v), [1]);
    assert_eq!(
        (v[0].object_key.as_str(), v[0].size, v[0].sha256.as_str()),
        (
            first_key.as_str(),
            12,
            content("", "first, again").sha256.as_str()
        )
    );
    assert!(v[0].replaced_at >= f.created_at);
    for key in [&first_key, &keys[0]] {
        assert!(index.object_in_use(key).await.unwrap(), "{key}");
    }

    // The retention keeps the newest two; the dropped one's key comes back.
    index
        .replace_content(f.id, &content(&keys[1], "third"), 2)
        .await
        .unwrap();
    let fourth = index
        .replace_content(f.id, &content(&keys[2], "fourth"), 2)
        .await
        .unwrap();
    assert_eq!(fourth.unreferenced, std::slice::from_ref(&first_key));
    assert!(!index.object_in_use(&first_key).await.unwrap());
    let v = index.versions(&alice, f.id).await.unwrap();
    assert_eq!(numbers(&v), [3, 2], "newest first");
    assert_eq!(v[0].object_key, keys[1]);

    // Keeping none drops them all, the content just replaced included; the
    // numbers go on from where they were.
    let none = index
        .replace_content(f.id, &content(&keys[3], "fifth"), 0)
        .await
        .unwrap();
    let mut dropped = none.unreferenced.clone();
    dropped.sort();
    let mut expected = vec![keys[0].clone(), keys[1].clone(), keys[2].clone()];
    expected.sort();
    assert_eq!(dropped, expected);
    assert!(index.versions(&alice, f.id).await.unwrap().is_empty());
    index
        .replace_content(f.id, &content(&keys[4], "sixth"), 10)
        .await
        .unwrap();
    assert_eq!(numbers(&index.versions(&alice, f.id).await.unwrap()), [5]);
    // The file's content ("sixth") and its one version ("fifth").
    assert_eq!(index.bytes_stored(&alice).await.unwrap(), 10);
    assert_eq!(index.bytes_stored(&unique("nobody")).await.unwrap(), 0);

    // Versions are seen by whoever sees the file, and by nobody else.
    assert!(index.versions(&bob, f.id).await.unwrap_err().is_not_found());
    index
        .update_file(&alice, f.id, &FileChange::share(&bob, true).unwrap())
        .await
        .unwrap();
    assert_eq!(numbers(&index.versions(&bob, f.id).await.unwrap()), [5]);
    let missing = FileId::new();
    assert!(
        index
            .versions(&alice, missing)
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert!(
        index
            .replace_content(missing, &content(&missing.content_key(), "x"), 3)
            .await
            .unwrap_err()
            .is_not_found()
    );

    // Deleting the file deletes its versions.
    index.delete_file(&alice, f.id).await.unwrap();
    for key in [&keys[3], &keys[4]] {
        assert!(!index.object_in_use(key).await.unwrap(), "{key}");
    }
}
