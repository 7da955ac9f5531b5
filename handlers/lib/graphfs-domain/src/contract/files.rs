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
        folder: "/inbox".into(),
        size: 3,
        sha256: String::new(),
        media_type: "application/pdf".into(),
    };
    let d = index.create_file(direct.clone()).await.unwrap();
    assert_eq!(d.object_key, key);
    assert_eq!(d.folder, "/inbox");
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
    let share = |user: &str, on: bool| FileChange::share(user, on).unwrap();
    let shared = index
        .update_file(&alice, f.id, &share(&bob, true))
        .await
        .unwrap();
    assert_eq!(shared.shared_with, vec![bob.clone()]);
    assert_eq!(index.get_file(&bob, f.id).await.unwrap().id, f.id);
    refused_writes(index, &bob, f.id, |e| matches!(e, Error::Forbidden(_))).await;
    let unchanged = index.get_file(&alice, f.id).await.unwrap();
    assert_eq!(
        (unchanged.name.as_str(), unchanged.shared_with.clone()),
        ("notes.txt", vec![bob.clone()]),
        "a refused write leaves nothing behind"
    );
    index
        .update_file(&alice, f.id, &share(&bob, false))
        .await
        .unwrap();
    assert!(index.get_file(&bob, f.id).await.unwrap_err().is_not_found());

    // A user signed in elsewhere (an OIDC provider) is known once recorded.
    let carol = unique("carol");
    let with_carol = FileChange::share(&carol, true).unwrap();
    let unknown = index.update_file(&alice, f.id, &with_carol).await;
    assert!(
        matches!(unknown, Err(Error::InvalidInput(_))),
        "{unknown:?}"
    );
    index.ensure_user(&carol).await.unwrap();
    index.ensure_user(&carol).await.unwrap();
    let shared = index.update_file(&alice, f.id, &with_carol).await.unwrap();
    assert_eq!(shared.shared_with, vec![carol.clone()]);
    // Listings keep to what others share, or to one's own.
    let mine = new_file(index, &carol, "carols.txt", "text/plain").await;
    let only = |viewer: String, shared: bool| async move {
        let q = FileQuery {
            limit: 10,
            shared: Some(shared),
            ..Default::default()
        };
        let page = index.list_files(&viewer, &q).await.unwrap();
        page.items.iter().map(|f| f.id).collect::<Vec<_>>()
    };
    assert_eq!(only(carol.clone(), true).await, vec![f.id]);
    assert_eq!(only(carol.clone(), false).await, vec![mine.id]);
    assert!(!only(alice.clone(), true).await.contains(&f.id));
    assert!(only(alice.clone(), false).await.contains(&f.id));
    // A shared file's tags are in the tag list of whom it is shared with,
    // and leave it with the share.
    let tag = unique("sharedtag");
    let tags = [tag.clone()];
    let tagging = FileChange::check(&FileChangeRequest {
        add_tags: &tags,
        ..Default::default()
    })
    .unwrap();
    index.update_file(&alice, f.id, &tagging).await.unwrap();
    let count_for = |viewer: String| {
        let tag = tag.clone();
        async move {
            let listed = index.list_tags(&viewer, None, 1000).await.unwrap();
            listed.into_iter().find(|t| t.name == tag).map(|t| t.count)
        }
    };
    assert_eq!(count_for(carol.clone()).await, Some(1));
    assert_eq!(count_for(alice.clone()).await, Some(1));
    index
        .update_file(&alice, f.id, &FileChange::share(&carol, false).unwrap())
        .await
        .unwrap();
    assert_eq!(count_for(carol.clone()).await, None);
    let untagging = FileChange::check(&FileChangeRequest {
        remove_tags: &tags,
        ..Default::default()
    })
    .unwrap();
    index.update_file(&alice, f.id, &untagging).await.unwrap();
    assert_eq!(count_for(alice.clone()).await, None);

    // Sharing with the owner or with a user nobody knows is refused, and a
    // refused change leaves none of its parts behind.
    for user in [alice.clone(), unique("nobody")] {
        let (tags, shares) = ([unique("kept")], [user.clone()]);
        let change = FileChange::check(&FileChangeRequest {
            name: Some("lost.txt"),
            add_tags: &tags,
            share_with: &shares,
            ..Default::default()
        })
        .unwrap();
        let refused = index.update_file(&alice, f.id, &change).await;
        assert!(
            matches!(refused, Err(Error::InvalidInput(_))),
            "{user}: {refused:?}"
        );
        let after = index.get_file(&alice, f.id).await.unwrap();
        assert_eq!(after.name, "notes.txt", "{user}");
        assert!(
            after.tags.is_empty() && after.shared_with.is_empty(),
            "{after:?}"
        );
    }

    // A change applies every part together.
    let (tags, shares) = ([unique("diary")], [bob.clone()]);
    let changed = index
        .update_file(
            &alice,
            f.id,
            &FileChange::check(&FileChangeRequest {
                name: Some("journal.txt"),
                add_tags: &tags,
                share_with: &shares,
                ..Default::default()
            })
            .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(changed.name, "journal.txt");
    assert_eq!(changed.shared_with, vec![bob.clone()]);
    assert_eq!(
        changed
            .tags
            .iter()
            .map(|t| (t.name.as_str(), t.source))
            .collect::<Vec<_>>(),
        vec![(tags[0].as_str(), TagSource::User)]
    );
    assert!(changed.updated_at >= f.updated_at);
    index
        .update_file(&alice, f.id, &share(&bob, false))
        .await
        .unwrap();

    // New bytes written over a file's object are recorded and tagged again.
    tag_file(index, f.id, &outcome("old words", &[])).await;
    assert_eq!(
        index.get_file(&alice, f.id).await.unwrap().status,
        TaggingStatus::Done
    );
    let rewritten = NewContent {
        object_key: f.object_key.clone(),
        size: 42,
        sha256: "ab".repeat(32),
        media_type: "text/markdown".into(),
    };
    let replaced = index
        .replace_content(f.id, &rewritten, 0)
        .await
        .unwrap()
        .file;
    assert_eq!(
        (
            replaced.size,
            replaced.sha256.as_str(),
            replaced.media_type.as_str()
        ),
        (42, "ab".repeat(32).as_str(), "text/markdown")
    );
    assert_eq!(replaced.status, TaggingStatus::Pending);
    assert_eq!(replaced.name, "journal.txt", "the file stays the same file");
    tag_file(index, f.id, &outcome("new words", &[])).await;

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
    let seen = all_pages(
        index,
        &u,
        FileQuery {
            limit: 3,
            ..Default::default()
        },
    )
    .await;
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

/// Every page of `q` for `viewer`, followed by cursor: the files in order.
async fn all_pages(index: &dyn GraphIndex, viewer: &str, mut q: FileQuery) -> Vec<FileId> {
    let mut seen = Vec::new();
    loop {
        let page = index.list_files(viewer, &q).await.unwrap();
        assert!(page.items.len() <= q.limit, "a page longer than asked");
        seen.extend(page.items.iter().map(|f| f.id));
        match page.next_cursor {
            Some(c) => q.cursor = Some(c),
            None => return seen,
        }
    }
}

/// Listing by a tag most of an owner's files carry and by one few carry.
/// A store may read the two differently (walking the owner's files in the
/// listing's order, or reading the tagged files and sorting them); both
/// give every page in order, with the files shared with the viewer among
/// the viewer's own and nobody else's.
pub(super) async fn listing_by_tag(index: &dyn GraphIndex) {
    let (me, other) = (unique("tag-lister"), unique("tag-sharer"));
    let (common, rare) = (unique("common"), unique("rare"));
    // (file, name, tags) in the order they were made.
    let mut made: Vec<(FileId, String, Vec<&str>)> = Vec::new();
    for i in 0..14 {
        let (owner, name) = match i {
            // Another owner's files between the viewer's: two shared, one not.
            5 | 9 | 11 => (other.as_str(), format!("theirs-{i:02}.txt")),
            _ => (me.as_str(), format!("mine-{i:02}.txt")),
        };
        let f = new_file(index, owner, &name, "text/plain").await;
        let tags: Vec<&str> = match i {
            12 | 13 => vec![rare.as_str()],
            3 | 9 => vec![common.as_str(), rare.as_str()],
            _ => vec![common.as_str()],
        };
        for t in &tags {
            index
                .update_file(owner, f.id, &FileChange::add_tag(t).unwrap())
                .await
                .unwrap();
        }
        if i == 5 || i == 9 {
            index
                .update_file(owner, f.id, &FileChange::share(&me, true).unwrap())
                .await
                .unwrap();
        }
        if i != 11 {
            made.push((f.id, name, tags));
        }
    }
    let expect = |want: &dyn Fn(&[&str]) -> bool, sort: SortKey| {
        let mut files: Vec<&(FileId, String, Vec<&str>)> =
            made.iter().filter(|(_, _, t)| want(t)).collect();
        match sort {
            SortKey::Name => files.sort_by(|a, b| a.1.cmp(&b.1)),
            _ => files.reverse(),
        }
        files.iter().map(|f| f.0).collect::<Vec<_>>()
    };
    let (c, r) = (common.as_str(), rare.as_str());
    // The tags asked for, how they combine, and which files they give.
    type Wanted<'a> = &'a dyn Fn(&[&str]) -> bool;
    let cases: [(Vec<String>, TagMatch, Wanted); 4] = [
        (vec![common.clone()], TagMatch::All, &|t| t.contains(&c)),
        (vec![rare.clone()], TagMatch::All, &|t| t.contains(&r)),
        (vec![common.clone(), rare.clone()], TagMatch::All, &|t| {
            t.contains(&c) && t.contains(&r)
        }),
        (vec![common.clone(), rare.clone()], TagMatch::Any, &|t| {
            t.contains(&c) || t.contains(&r)
        }),
    ];
    for (tags, tag_match, want) in cases {
        for sort in [SortKey::Created, SortKey::Name] {
            let order = if sort == SortKey::Name {
                SortOrder::Asc
            } else {
                SortOrder::Desc
            };
            for limit in [1, 4, 100] {
                let seen = all_pages(
                    index,
                    &me,
                    FileQuery {
                        limit,
                        tags: tags.clone(),
                        tag_match,
                        sort,
                        order,
                        ..Default::default()
                    },
                )
                .await;
                assert_eq!(
                    seen,
                    expect(want, sort),
                    "{tags:?} {tag_match:?} by {sort:?}, pages of {limit}"
                );
            }
        }
    }
}

/// Every owner-only write by `viewer` on `id` fails with an error `expected` accepts.
async fn refused_writes(
    index: &dyn GraphIndex,
    viewer: &str,
    id: FileId,
    expected: impl Fn(&Error) -> bool,
) {
    let changes = [
        ("rename", FileChange::rename("x")),
        ("share", FileChange::share("carol", true)),
        ("tag", FileChange::add_tag("mine")),
        ("untag", FileChange::remove_tag("mine")),
    ];
    let mut results = Vec::new();
    for (what, change) in changes {
        results.push((
            what,
            index.update_file(viewer, id, &change.unwrap()).await.err(),
        ));
    }
    results.push(("delete", index.delete_file(viewer, id).await.err()));
    for (what, err) in results {
        match err {
            Some(e) if expected(&e) => {}
            other => panic!("{what} by {viewer}: {other:?}"),
        }
    }
}
