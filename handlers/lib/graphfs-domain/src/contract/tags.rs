//! Tags: user tags, removals, merges, related tags.

use super::*;

pub(super) async fn tags_and_removal(index: &dyn GraphIndex) {
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
    // Nor can they tell a tag on someone else's files from one nobody has:
    // both are not found, in the related tags and as a graph's start.
    for name in [tag_x.clone(), unique("no-such-tag")] {
        assert!(
            index
                .related_tags(&other, &name, 10)
                .await
                .unwrap_err()
                .is_not_found(),
            "{name}"
        );
        assert!(
            index
                .neighbourhood(&other, &GraphStart::Tag(name.clone()), 1, 10)
                .await
                .unwrap_err()
                .is_not_found(),
            "{name}"
        );
    }

    // A user's tag survives re-tagging; a removed machine tag stays removed.
    let change = |c: Result<FileChange>| c.unwrap();
    index
        .update_file(&u, a.id, &change(FileChange::add_tag(&tag_z)))
        .await
        .unwrap();
    let untag = change(FileChange::remove_tag(&tag_y));
    let once = index.update_file(&u, a.id, &untag).await.unwrap();
    // A tag already gone is gone: removing it again changes nothing.
    let twice = index.update_file(&u, a.id, &untag).await.unwrap();
    assert_eq!(once.tags, twice.tags);
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
    index
        .update_file(&u, a.id, &change(FileChange::add_tag(&tag_y)))
        .await
        .unwrap();
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

    // Corpus statistics count the owner's tagged documents, and only theirs:
    // another owner's files weigh nothing here.
    let stats_of = |owner: String| async move {
        let s = index
            .corpus_stats(&owner, &["alpha".into(), "text".into(), "gamma".into()])
            .await
            .unwrap();
        (s.documents, s.document_frequency)
    };
    assert_eq!(stats_of(u.clone()).await, (2, vec![1, 2, 0]));
    let stranger = unique("stranger");
    let s = new_file(index, &stranger, "s.txt", "text/plain").await;
    tag_file(index, s.id, &outcome("gamma text alpha", &[])).await;
    assert_eq!(stats_of(u.clone()).await, (2, vec![1, 2, 0]));
    assert_eq!(stats_of(stranger.clone()).await, (1, vec![1, 1, 1]));
    // A re-tag counts the new terms instead of the old ones.
    index.requeue(s.id).await.unwrap();
    tag_file(index, s.id, &outcome("gamma words", &[])).await;
    assert_eq!(stats_of(stranger.clone()).await, (1, vec![0, 0, 1]));
    index.delete_file(&stranger, s.id).await.unwrap();
    assert_eq!(stats_of(stranger).await, (0, vec![0, 0, 0]));

    // Deleting a file removes its edges: b's tag count drops, a has no similar.
    index.delete_file(&u, b.id).await.unwrap();
    assert_eq!(stats_of(u.clone()).await, (1, vec![1, 1, 0]));
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

/// A re-tag that leaves a tag on no file deletes that tag. Reads at the
/// same moment see the file with its old tags or its new ones, never an
/// error: on Neo4j a tag deleted mid-read reads back with a null name.
pub(super) async fn reads_while_tags_change(index: &dyn GraphIndex) {
    use std::sync::atomic::{AtomicBool, Ordering};

    const ROUNDS: usize = 25;
    let u = unique("racer");
    let f = new_file(index, &u, "race.txt", "text/plain").await;
    let done = AtomicBool::new(false);
    let writer = async {
        for round in 0..ROUNDS {
            if round > 0 {
                index.requeue(f.id).await.unwrap();
            }
            let tag = unique("fleeting");
            tag_file(index, f.id, &outcome("race text", &[(&tag, 0.9)])).await;
        }
        done.store(true, Ordering::Release);
    };
    let reader = async {
        let mut reads = 0usize;
        while !done.load(Ordering::Acquire) {
            let got = index.get_file(&u, f.id).await.unwrap();
            assert!(got.tags.len() <= 1, "{:?}", got.tags);
            let page = index
                .list_files(
                    &u,
                    &FileQuery {
                        limit: 10,
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
            assert_eq!(page.items.len(), 1);
            assert!(index.list_tags(&u, None, 10).await.unwrap().len() <= 1);
            index
                .neighbourhood(&u, &GraphStart::File(f.id), 2, 50)
                .await
                .unwrap();
            reads += 1;
        }
        reads
    };
    let ((), reads) = futures::join!(writer, reader);
    assert!(reads > 0);
    // Only the last round's tag is left.
    let last = index.get_file(&u, f.id).await.unwrap();
    assert_eq!(last.tags.len(), 1);
    assert_eq!(index.list_tags(&u, None, 10).await.unwrap().len(), 1);
}

/// A tag an owner rejects for good comes off their files and no tagging
/// gives it back; other owners' files keep it; by hand it still goes on;
/// taken back, taggings give it again. Listings say where tags came from.
pub(super) async fn rejected_tags(index: &dyn GraphIndex) {
    let (u, v) = (unique("rejecter"), unique("keeper"));
    let tag = unique("noise");
    let tagged = |owner: String, name: &'static str| {
        let tag = tag.clone();
        async move {
            let f = new_file(index, &owner, name, "text/plain").await;
            tag_file(index, f.id, &outcome("some words", &[(&tag, 0.9)])).await;
            f
        }
    };
    let carries = |owner: String, id: FileId| {
        let tag = tag.clone();
        async move {
            index
                .get_file(&owner, id)
                .await
                .unwrap()
                .tags
                .iter()
                .find(|t| t.name == tag)
                .map(|t| t.source)
        }
    };
    let a = tagged(u.clone(), "a.txt").await;
    let b = tagged(u.clone(), "b.txt").await;
    let c = tagged(v.clone(), "c.txt").await;
    let listed = index.list_tags(&u, Some(&tag), 10).await.unwrap();
    assert_eq!(listed[0].sources, vec![TagSource::Keyword], "{listed:?}");

    assert_eq!(reject_tag(index, &u, &tag).await.unwrap(), 2);
    assert_eq!(carries(u.clone(), a.id).await, None);
    assert_eq!(carries(u.clone(), b.id).await, None);
    assert_eq!(carries(v.clone(), c.id).await, Some(TagSource::Keyword));
    assert_eq!(index.rejected_tags(&u).await.unwrap(), vec![tag.clone()]);
    assert!(index.rejected_tags(&v).await.unwrap().is_empty());
    assert!(
        index
            .list_tags(&u, Some(&tag), 10)
            .await
            .unwrap()
            .is_empty()
    );
    // Rejecting again changes nothing.
    assert_eq!(reject_tag(index, &u, &tag).await.unwrap(), 0);

    // No tagging gives it back, to an old file or a new one.
    index.requeue(a.id).await.unwrap();
    tag_file(index, a.id, &outcome("some words", &[(&tag, 0.9)])).await;
    assert_eq!(carries(u.clone(), a.id).await, None);
    let d = tagged(u.clone(), "d.txt").await;
    assert_eq!(carries(u.clone(), d.id).await, None);

    // By hand it goes on, and the listing says so.
    index
        .update_file(&u, b.id, &FileChange::add_tag(&tag).unwrap())
        .await
        .unwrap();
    assert_eq!(carries(u.clone(), b.id).await, Some(TagSource::User));
    let listed = index.list_tags(&u, Some(&tag), 10).await.unwrap();
    assert_eq!(listed[0].sources, vec![TagSource::User], "{listed:?}");

    // Taken back: the next tagging of a new file gives it again.
    assert!(index.set_rejected(&u, &tag, false).await.unwrap());
    assert!(!index.set_rejected(&u, &tag, false).await.unwrap());
    assert!(index.rejected_tags(&u).await.unwrap().is_empty());
    let e = tagged(u.clone(), "e.txt").await;
    assert_eq!(carries(u.clone(), e.id).await, Some(TagSource::Keyword));
    let listed = index.list_tags(&u, Some(&tag), 10).await.unwrap();
    assert_eq!(
        listed[0].sources,
        vec![TagSource::User, TagSource::Keyword],
        "{listed:?}"
    );

    // A rejected name an admin then merges into another tag stays refused
    // when proposed, for the one who rejected it; the other tag is not.
    let (old, kept) = (unique("oldname"), unique("keptname"));
    let f = new_file(index, &u, "f.txt", "text/plain").await;
    tag_file(index, f.id, &outcome("w", &[(&old, 0.9), (&kept, 0.8)])).await;
    let g = new_file(index, &v, "g.txt", "text/plain").await;
    tag_file(index, g.id, &outcome("w", &[(&old, 0.9)])).await;
    assert_eq!(reject_tag(index, &u, &old).await.unwrap(), 1);
    index.merge_tag(&old, &kept).await.unwrap();
    let names = |owner: String, id: FileId| async move {
        let mut n: Vec<String> = index
            .get_file(&owner, id)
            .await
            .unwrap()
            .tags
            .into_iter()
            .map(|t| t.name)
            .collect();
        n.sort();
        n
    };
    // (A file that lost the tag keeps it off under its new name too; a new
    // file shows what a proposal does.)
    let h = new_file(index, &u, "h.txt", "text/plain").await;
    tag_file(index, h.id, &outcome("w", &[(&old, 0.9)])).await;
    assert_eq!(
        names(u.clone(), h.id).await,
        Vec::<String>::new(),
        "the rejected name, now an alias"
    );
    index.requeue(h.id).await.unwrap();
    tag_file(index, h.id, &outcome("w", &[(&old, 0.9), (&kept, 0.8)])).await;
    assert_eq!(names(u.clone(), h.id).await, vec![kept.clone()]);
    index.requeue(g.id).await.unwrap();
    tag_file(index, g.id, &outcome("w", &[(&old, 0.9)])).await;
    assert_eq!(
        names(v.clone(), g.id).await,
        vec![kept.clone()],
        "another user's proposal"
    );
    // A user's tag of the old name is the kept tag too.
    let k = new_file(index, &v, "k.txt", "text/plain").await;
    index
        .update_file(&v, k.id, &FileChange::add_tag(&old).unwrap())
        .await
        .unwrap();
    assert_eq!(
        names(v.clone(), k.id).await,
        vec![kept.clone()],
        "a user's tag of the old name"
    );
}

/// The counts a tag list and a tagger's vocabulary show follow every way a
/// file gains or loses a tag: tagging, a user's tag on a tag a tagger gave,
/// a user's removal, a re-tag, a merge and a deletion.
pub(super) async fn tag_counts_follow_every_change(index: &dyn GraphIndex) {
    let u = unique("counted");
    let (x, y, z, w) = (unique("x"), unique("y"), unique("z"), unique("w"));
    let a = new_file(index, &u, "a.txt", "text/plain").await;
    let b = new_file(index, &u, "b.txt", "text/plain").await;
    let c = new_file(index, &u, "c.txt", "text/plain").await;
    tag_file(index, a.id, &outcome("a", &[(&x, 0.9), (&y, 0.5)])).await;
    tag_file(index, b.id, &outcome("b", &[(&x, 0.8)])).await;
    tag_file(index, c.id, &outcome("c", &[])).await;
    // Each tag's count and sources in the tag list, and the same counts in
    // the owner's vocabulary.
    let counts = |expected: Vec<(&str, u64, Vec<TagSource>)>| {
        let u = u.clone();
        let mut want: Vec<(String, u64, Vec<TagSource>)> = expected
            .into_iter()
            .map(|(n, c, s)| (n.to_string(), c, s))
            .collect();
        want.sort_by(|a, b| a.0.cmp(&b.0));
        async move {
            let listed = index.list_tags(&u, None, 1000).await.unwrap();
            let mut got: Vec<(String, u64, Vec<TagSource>)> = listed
                .into_iter()
                .map(|t| (t.name, t.count, t.sources))
                .collect();
            got.sort_by(|a, b| a.0.cmp(&b.0));
            assert_eq!(got, want, "tag list");
            let mut vocab: Vec<(String, u64)> = index
                .vocabulary(Some(&u), 1000)
                .await
                .unwrap()
                .into_iter()
                .map(|t| (t.name, t.count))
                .collect();
            vocab.sort();
            let want: Vec<(String, u64)> = want.into_iter().map(|(n, c, _)| (n, c)).collect();
            assert_eq!(vocab, want, "vocabulary");
        }
    };
    use TagSource::{Keyword, User};
    counts(vec![(&x, 2, vec![Keyword]), (&y, 1, vec![Keyword])]).await;

    // A user's tag on a tag the tagger gave is the user's now, counted once.
    let change = |add: &[String], remove: &[String]| {
        FileChange::check(&FileChangeRequest {
            add_tags: add,
            remove_tags: remove,
            ..Default::default()
        })
        .unwrap()
    };
    index
        .update_file(&u, a.id, &change(std::slice::from_ref(&x), &[]))
        .await
        .unwrap();
    index
        .update_file(&u, c.id, &change(&[z.clone(), z.clone()], &[]))
        .await
        .unwrap();
    counts(vec![
        (&x, 2, vec![User, Keyword]),
        (&y, 1, vec![Keyword]),
        (&z, 1, vec![User]),
    ])
    .await;
    index
        .update_file(&u, a.id, &change(&[], std::slice::from_ref(&y)))
        .await
        .unwrap();
    counts(vec![(&x, 2, vec![User, Keyword]), (&z, 1, vec![User])]).await;

    // A re-tag replaces the tagger's tags, not the user's.
    index.requeue(b.id).await.unwrap();
    tag_file(index, b.id, &outcome("b", &[(&w, 0.7)])).await;
    index.requeue(a.id).await.unwrap();
    tag_file(index, a.id, &outcome("a", &[(&w, 0.7)])).await;
    counts(vec![
        (&x, 1, vec![User]),
        (&w, 2, vec![Keyword]),
        (&z, 1, vec![User]),
    ])
    .await;

    // A merge moves the counts: a had both (counted once, the user's).
    index.merge_tag(&w, &x).await.unwrap();
    counts(vec![(&x, 2, vec![User, Keyword]), (&z, 1, vec![User])]).await;

    index.delete_file(&u, a.id).await.unwrap();
    counts(vec![(&x, 1, vec![Keyword]), (&z, 1, vec![User])]).await;
    index.delete_file(&u, b.id).await.unwrap();
    index.delete_file(&u, c.id).await.unwrap();
    counts(vec![]).await;
}
