//! Embeddings, similar files and the taggers' vocabulary.

use super::*;

pub(super) async fn embeddings_and_vocabulary(index: &dyn GraphIndex) {
    // The vectors below come from a (pretend) 384-value model.
    index
        .use_embedding_model("contract-384", 384)
        .await
        .unwrap();
    assert_eq!(
        index
            .use_embedding_model("contract-384", 384)
            .await
            .unwrap(),
        0,
        "the same model again changes nothing"
    );
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
        &with("delta", &[(&x, 0.5)], unit(0, 1, 0.0), &[&candidate]),
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

    // A viewer who may see few of the files still gets their nearest ones,
    // however many of other people's files lie nearer the query.
    let (crowd, few) = (unique("crowd"), unique("few"));
    for n in 0..24 {
        let f = new_file(index, &crowd, &format!("c{n}.txt"), "text/plain").await;
        let t = 0.01 * n as f32;
        tag_file(index, f.id, &with("crowd", &[], unit(5, 6, t), &[])).await;
    }
    let mine = new_file(index, &few, "mine.txt", "text/plain").await;
    tag_file(index, mine.id, &with("mine", &[], unit(5, 7, 1.0), &[])).await;
    let mut near = Vec::new();
    for _ in 0..50 {
        near = index
            .nearest_files(Some(&few), &unit(5, 6, 0.0), 1)
            .await
            .unwrap();
        if !near.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(near.iter().map(|n| n.0).collect::<Vec<_>>(), vec![mine.id]);
    // A file shared with them is theirs to find too, and only that one.
    let lent = new_file(index, &crowd, "lent.txt", "text/plain").await;
    tag_file(index, lent.id, &with("lent", &[], unit(5, 7, 0.5), &[])).await;
    index
        .update_file(&crowd, lent.id, &FileChange::share(&few, true).unwrap())
        .await
        .unwrap();
    for _ in 0..50 {
        near = index
            .nearest_files(Some(&few), &unit(5, 6, 0.0), 5)
            .await
            .unwrap();
        if near.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        near.iter().map(|n| n.0).collect::<Vec<_>>(),
        vec![lent.id, mine.id]
    );

    // Candidate terms are counted over files (an admin's rebuild: all of them).
    let freq = index.frequent_terms(&candidate, 2, 10).await.unwrap();
    assert_eq!(freq, vec![(candidate.clone(), 3)]);
    assert!(
        index
            .frequent_terms(&candidate, 4, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // Candidate proposals are found per owner: b's files never count for a.
    let files = |owner: &str| {
        let (owner, candidate) = (owner.to_string(), candidate.clone());
        async move { index.files_with_term(&owner, &candidate, 10).await.unwrap() }
    };
    let mut proposed = files(&a).await;
    proposed.sort();
    let mut expected = vec![f1.id, f2.id];
    expected.sort();
    assert_eq!(proposed, expected);
    assert_eq!(files(&b).await, vec![f4.id]);

    // The whole vocabulary (an admin's rebuild) counts every user's files;
    // an owner's counts only theirs, and has none of another's tags.
    let counts = |vocab: &[TagInfo], n: &str| vocab.iter().find(|t| t.name == n).map(|t| t.count);
    let all = index.vocabulary(None, 100_000).await.unwrap();
    assert_eq!((counts(&all, &x), counts(&all, &y)), (Some(2), Some(1)));
    let of_a = index.vocabulary(Some(&a), 100_000).await.unwrap();
    assert_eq!((counts(&of_a, &x), counts(&of_a, &y)), (Some(1), Some(1)));
    let of_b = index.vocabulary(Some(&b), 100_000).await.unwrap();
    assert_eq!(
        of_b.iter()
            .map(|t| (t.name.as_str(), t.count))
            .collect::<Vec<_>>(),
        vec![(x.as_str(), 1)]
    );

    // Merging moves every edge, keeps user tags user tags, records an alias.
    index
        .update_file(&a, f3.id, &FileChange::add_tag(&u).unwrap())
        .await
        .unwrap();
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

/// A changed embedding model is detected and handled, never ignored:
/// vectors of another length are refused (not dropped silently), and
/// switching models drops the old vectors, rebuilds the vector index for the
/// new length and queues every file to be embedded again.
pub(super) async fn embedding_model_changes(index: &dyn GraphIndex) {
    index
        .use_embedding_model("contract-384", 384)
        .await
        .unwrap();
    let u = unique("model");
    let old = new_file(index, &u, "old.txt", "text/plain").await;
    let mut o = outcome("old vectors", &[]);
    o.embedding = Some(unit(0, 1, 0.0));
    tag_file(index, old.id, &o).await;
    assert_eq!(
        index
            .nearest_files(Some(&u), &unit(0, 1, 0.0), 5)
            .await
            .unwrap()[0]
            .0,
        old.id
    );

    // A vector of another length is an error, and the file keeps its state.
    let wrong = new_file(index, &u, "wrong.txt", "text/plain").await;
    let mut bad = outcome("eight values", &[]);
    bad.embedding = Some(vec![0.5; 8]);
    let job = claim_for(index, wrong.id).await;
    let err = index.complete_job(&job, &bad).await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
    assert_ne!(
        index.get_file(&u, wrong.id).await.unwrap().status,
        TaggingStatus::Done
    );
    index.release_job(&job).await.unwrap();

    // Another model: old vectors go, every file is queued again.
    let queued = index.use_embedding_model("contract-8", 8).await.unwrap();
    assert!(queued >= 2, "{queued}");
    assert_eq!(
        index.get_file(&u, old.id).await.unwrap().status,
        TaggingStatus::Pending,
        "queued to be embedded by the new model"
    );
    assert!(
        index
            .nearest_files(Some(&u), &unit(0, 1, 0.0), 5)
            .await
            .unwrap()
            .is_empty()
    );
    let mut eight = vec![0f32; 8];
    eight[3] = 1.0;
    let mut good = outcome("eight values", &[]);
    good.embedding = Some(eight.clone());
    tag_file(index, wrong.id, &good).await;
    tag_file(index, old.id, &outcome("no vector yet", &[])).await;
    let near = index.nearest_files(Some(&u), &eight, 5).await.unwrap();
    assert_eq!(
        near.iter().map(|(f, _)| *f).collect::<Vec<_>>(),
        vec![wrong.id]
    );
    assert!((near[0].1 - 1.0).abs() < 1e-3, "{near:?}");

    // Back to the first model for whoever shares this index next.
    index
        .use_embedding_model("contract-384", 384)
        .await
        .unwrap();
    drain(index).await;
}
