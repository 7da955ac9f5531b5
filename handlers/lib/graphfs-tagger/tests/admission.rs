//! The vocabulary's admission through the real worker, embedded index and
//! store: a keyword becomes a tag once a second file proposes it. (A test
//! binary of its own: its long-running worker must not share a process with
//! the span test in worker.rs, whose subscriber is thread-local.)

use std::time::Duration;

use graphfs_domain::{
    FileCatalog, FileId, FileRecord, JobQueue, TaggingOutcome, TaggingStatus, Vocabulary as _,
};
use tokio::sync::watch;

mod common;
use common::*;

fn keyword_tags(f: &FileRecord) -> Vec<String> {
    f.tags
        .iter()
        .filter(|t| t.source == graphfs_domain::TagSource::Keyword)
        .map(|t| t.name.clone())
        .collect()
}

/// The file's keyword tags once it is tagged and has `tag` (or, after
/// 10 s, as they are then).
async fn wait_keyword_tag(env: &Env, id: FileId, tag: &str) -> Vec<String> {
    let mut tags = Vec::new();
    for _ in 0..500 {
        let f = env.index.get_file_internal(id).await.unwrap();
        tags = keyword_tags(&f);
        if f.status == TaggingStatus::Done && tags.iter().any(|t| t == tag) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tags
}

#[tokio::test]
async fn a_keyword_becomes_a_tag_once_a_second_file_proposes_it_and_both_get_it() {
    let env = env().await;
    let (stop, rx) = watch::channel(false);
    let run = tokio::spawn(worker(&env, offline_tagger(&env, 2), config(&env)).run(rx));
    let first = add_file(
        &env,
        "ice.txt",
        "Glaciers carve valleys. A glacier moves slowly. Moraines mark where a glacier stood.",
    )
    .await;
    let alone = wait_status(&env, first, TaggingStatus::Done).await;
    // One file's keywords are searchable text, not tags.
    assert!(
        keyword_tags(&alone).is_empty(),
        "{:?}",
        keyword_tags(&alone)
    );
    // A second file proposing the same word puts it in the vocabulary.
    let second = add_file(
        &env,
        "alps.txt",
        "The glaciers of the Alps are shrinking; each glacier loses mass every summer.",
    )
    .await;
    let second = wait_status(&env, second, TaggingStatus::Done).await;
    assert!(
        keyword_tags(&second).contains(&"glacier".to_string()),
        "{:?}",
        keyword_tags(&second)
    );
    // The first file was queued again and now carries the tag too.
    let first_tags = wait_keyword_tag(&env, first, "glacier").await;
    assert!(
        first_tags.contains(&"glacier".to_string()),
        "{first_tags:?}"
    );
    // "moraine" was proposed by one file only: still not a tag.
    assert!(
        !first_tags.iter().any(|t| t.starts_with("moraine")),
        "{first_tags:?}"
    );
    // A third file writing the word in another form gets the same tag.
    let third = add_file(
        &env,
        "notes.txt",
        "Glaciation notes: glaciers, glaciers everywhere, and the glacier's snout.",
    )
    .await;
    let third = wait_status(&env, third, TaggingStatus::Done).await;
    assert!(
        keyword_tags(&third).contains(&"glacier".to_string()),
        "{:?}",
        keyword_tags(&third)
    );
    stop.send(true).unwrap();
    run.await.unwrap();
}

/// A name its owner rejected leads no proposal to another tag after an
/// admin merged it there: it is no alias in that owner's vocabulary.
#[tokio::test]
async fn a_rejected_name_is_no_alias_in_its_owners_vocabulary() {
    use graphfs_domain::{FileChange, TagStore};
    use graphfs_tagger::admission::{Admission, AdmissionConfig};
    let env = env().await;
    let id = add_file(&env, "pay.txt", "monthly pay").await;
    for tag in ["wages", "salary"] {
        env.index
            .update_file("u", id, &FileChange::add_tag(tag).unwrap())
            .await
            .unwrap();
    }
    env.index.merge_tag("wages", "salary").await.unwrap();
    let vocabulary = |index| async move {
        Admission::new(index, None, AdmissionConfig::default())
            .vocabulary("u")
            .await
            .unwrap()
    };
    let before = vocabulary(env.index.clone()).await;
    assert_eq!(before.find("wages"), Some("salary"));
    env.index.set_rejected("u", "wages", true).await.unwrap();
    let after = vocabulary(env.index.clone()).await;
    assert!(after.find("wages").is_none(), "{:?}", after.find("wages"));
    assert_eq!(after.find("salary"), Some("salary"));
}

fn plain(text: &str) -> graphfs_extract::Extracted {
    graphfs_extract::Extracted {
        media_type: "text/plain".into(),
        kind: graphfs_extract::ContentKind::Text,
        text: text.into(),
        metadata: serde_json::json!({}),
        truncated: false,
        keyframe: None,
    }
}

/// Two files tagged at the same time: the first one's proposal is not in
/// the index yet (its tagging is not stored) when the second is admitted.
/// The second still counts it and gets the tag; the first, stored without
/// the tag after that, is queued again and gets it too.
#[tokio::test]
async fn two_files_tagged_at_once_count_each_others_proposal() {
    let env = env().await;
    let tagger = offline_tagger(&env, 2);
    let text_a = "Glaciers carve valleys; a glacier moves.";
    let text_b = "The glaciers of the Alps: each glacier shrinks.";
    let a = add_file(&env, "ice.txt", text_a).await;
    let b = add_file(&env, "alps.txt", text_b).await;
    // `a` is claimed and tagged, as a worker does; its result is not stored yet.
    let job = claim_next(&env, "w").await;
    assert_eq!(job.file_id, a);
    let file_a = env.index.get_file_internal(a).await.unwrap();
    let alone = tagger.tag(&file_a, &plain(text_a), None).await.unwrap();
    assert!(!alone.tags.iter().any(|t| t.name == "glacier"), "{alone:?}");
    // `b` proposes the word meanwhile: two files do, so it is a tag.
    let file_b = env.index.get_file_internal(b).await.unwrap();
    let second = tagger.tag(&file_b, &plain(text_b), None).await.unwrap();
    assert!(
        second.tags.iter().any(|t| t.name == "glacier"),
        "{second:?}"
    );
    // `a`'s result, without the tag, is stored now.
    let outcome = TaggingOutcome {
        text: text_a.into(),
        metadata: serde_json::json!({}),
        media_type: None,
        tags: alone.tags,
        terms: alone.terms,
        embedding: None,
    };
    assert!(env.index.complete_job(&job, &outcome).await.unwrap());
    // A worker takes what is queued: `b`, and `a` again.
    let (stop, rx) = watch::channel(false);
    let run = tokio::spawn(worker(&env, tagger.clone(), config(&env)).run(rx));
    let tags = wait_keyword_tag(&env, a, "glacier").await;
    assert!(tags.contains(&"glacier".to_string()), "{tags:?}");
    stop.send(true).unwrap();
    run.await.unwrap();
}

/// The outcome a worker stores for a tagging of `text`.
fn outcome(text: &str, tagged: graphfs_tagger::TagResult) -> TaggingOutcome {
    TaggingOutcome {
        text: text.into(),
        metadata: serde_json::json!({}),
        media_type: None,
        tags: tagged.tags,
        terms: tagged.terms,
        embedding: None,
    }
}

/// Two tagger processes (two admissions over one index) tag a file each at
/// the same instant: neither sees the other's proposal, which is neither in
/// the index nor in its own log. Once both are stored, the one stored last
/// counts both, and both files end with the tag.
#[tokio::test]
async fn two_processes_tagging_at_once_count_each_others_proposal() {
    let env = env().await;
    let (one, two) = (offline_tagger(&env, 2), offline_tagger(&env, 2));
    let text_a = "Glaciers carve valleys; a glacier moves.";
    let text_b = "The glaciers of the Alps: each glacier shrinks.";
    let a = add_file(&env, "ice.txt", text_a).await;
    let b = add_file(&env, "alps.txt", text_b).await;
    let (job_a, job_b) = (claim_next(&env, "w").await, claim_next(&env, "w").await);
    assert_eq!((job_a.file_id, job_b.file_id), (a, b));
    let file_a = env.index.get_file_internal(a).await.unwrap();
    let file_b = env.index.get_file_internal(b).await.unwrap();
    let tagged_a = one.tag(&file_a, &plain(text_a), None).await.unwrap();
    let tagged_b = two.tag(&file_b, &plain(text_b), None).await.unwrap();
    for tagged in [&tagged_a, &tagged_b] {
        assert!(
            !tagged.tags.iter().any(|t| t.name == "glacier"),
            "{tagged:?}"
        );
    }
    // Stored in turn, each by its own process, as its worker does.
    let (out_a, out_b) = (outcome(text_a, tagged_a), outcome(text_b, tagged_b));
    assert!(env.index.complete_job(&job_a, &out_a).await.unwrap());
    one.stored(&file_a, &out_a).await.unwrap();
    assert!(env.index.complete_job(&job_b, &out_b).await.unwrap());
    two.stored(&file_b, &out_b).await.unwrap();
    // A worker takes what is queued again: both files.
    let (stop, rx) = watch::channel(false);
    let run = tokio::spawn(worker(&env, one.clone(), config(&env)).run(rx));
    for id in [a, b] {
        let tags = wait_keyword_tag(&env, id, "glacier").await;
        assert!(tags.contains(&"glacier".to_string()), "{id}: {tags:?}");
    }
    stop.send(true).unwrap();
    run.await.unwrap();
}

/// Two tagger processes admit two inflections of one word at the same
/// instant, each from its own two files, neither seeing the other's: one
/// `archive`, the other `archiving`. Once both are stored the one stored
/// last finds both, and every file ends with the one tag.
#[tokio::test]
async fn two_processes_admitting_two_inflections_at_once_end_with_one_tag() {
    let env = env().await;
    // Vocabularies read afresh at every file: what each process sees is
    // what the index holds, not what a cache remembered.
    let uncached = || {
        offline_tagger_with(
            &env,
            graphfs_tagger::AdmissionConfig {
                min_frequency: 2,
                vocabulary_ttl: Duration::ZERO,
                ..Default::default()
            },
        )
    };
    let (one, two) = (uncached(), uncached());
    let texts = [
        (
            "a1.txt",
            "The archive holds old letters. Every archive needs care.",
        ),
        (
            "c1.txt",
            "Archiving old letters takes time; archiving needs care.",
        ),
        (
            "a2.txt",
            "An archive of photos: the archive grows each year.",
        ),
        ("c2.txt", "Archiving photos: archiving grows each year."),
    ];
    let mut ids = Vec::new();
    for (name, text) in texts {
        ids.push(add_file(&env, name, text).await);
    }
    let mut jobs = Vec::new();
    for id in &ids {
        let job = claim_next(&env, "w").await;
        assert_eq!(job.file_id, *id);
        jobs.push(job);
    }
    // Process one tags the `archive` files, two the `archiving` ones,
    // interleaved; nothing is stored yet.
    let mut outcomes = Vec::new();
    for (i, ((_, text), id)) in texts.iter().zip(&ids).enumerate() {
        let tagger = if i % 2 == 0 { &one } else { &two };
        let file = env.index.get_file_internal(*id).await.unwrap();
        let tagged = tagger.tag(&file, &plain(text), None).await.unwrap();
        outcomes.push((file, outcome(text, tagged)));
    }
    let has = |o: &TaggingOutcome, tag: &str| o.tags.iter().any(|t| t.name == tag);
    assert!(has(&outcomes[2].1, "archive"), "{:?}", outcomes[2].1.tags);
    assert!(has(&outcomes[3].1, "archiving"), "{:?}", outcomes[3].1.tags);
    // Stored in turn, each by the process that tagged it.
    for (i, (job, (file, out))) in jobs.iter().zip(&outcomes).enumerate() {
        let tagger = if i % 2 == 0 { &one } else { &two };
        assert!(env.index.complete_job(job, out).await.unwrap());
        tagger.stored(file, out).await.unwrap();
    }
    // A worker takes what is queued again, until all four are tagged
    // `archive` and none `archiving`.
    let (stop, rx) = watch::channel(false);
    let run = tokio::spawn(worker(&env, one.clone(), config(&env)).run(rx));
    let mut tags = Vec::new();
    for _ in 0..500 {
        tags.clear();
        let mut settled = true;
        for id in &ids {
            let f = env.index.get_file_internal(*id).await.unwrap();
            let t = keyword_tags(&f);
            settled &= f.status == TaggingStatus::Done
                && t.contains(&"archive".to_string())
                && !t.contains(&"archiving".to_string());
            tags.push(t);
        }
        if settled {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for t in &tags {
        assert!(t.contains(&"archive".to_string()), "{tags:?}");
        assert!(!t.contains(&"archiving".to_string()), "{tags:?}");
    }
    let vocab = env.index.vocabulary(Some("u"), 100).await.unwrap();
    assert!(!vocab.iter().any(|t| t.name == "archiving"), "{vocab:?}");
    stop.send(true).unwrap();
    run.await.unwrap();
}

/// A tagging whose candidates are all tags already has nothing to count
/// again, so a worker writes it and ends its job in one transaction; one
/// that proposes a word still short of the vocabulary, or that admitted
/// one, is followed up after it is stored.
#[tokio::test]
async fn only_a_tagging_with_words_to_count_is_followed_up() {
    let env = env().await;
    let tagger = offline_tagger(&env, 2);
    // Both propose one word only (names count too), so that once it is a
    // tag nothing is left.
    let text_a = "Glaciers, and then a glacier.";
    let text_b = "The glaciers: each glacier.";
    let a = add_file(&env, "glaciers.txt", text_a).await;
    let b = add_file(&env, "glacier.txt", text_b).await;
    let file_a = env.index.get_file_internal(a).await.unwrap();
    let file_b = env.index.get_file_internal(b).await.unwrap();
    let tag = |file, text| {
        let tagger = tagger.clone();
        async move { outcome(text, tagger.tag(file, &plain(text), None).await.unwrap()) }
    };
    let has = |o: &TaggingOutcome| o.tags.iter().any(|t| t.name == "glacier");
    // Alone, `a` proposes the word: a count to make once it is stored.
    let alone = tag(&file_a, text_a).await;
    assert!(!has(&alone), "{alone:?}");
    assert!(tagger.follows_up(&file_a, &alone).await, "{alone:?}");
    // `b` proposes it too and admits it: settling the admission is left.
    let second = tag(&file_b, text_b).await;
    assert!(has(&second), "{second:?}");
    assert!(tagger.follows_up(&file_b, &second).await, "{second:?}");
    tagger.stored(&file_b, &second).await.unwrap();
    // `a` tagged again gets the tag, and every word it proposed is one.
    let again = tag(&file_a, text_a).await;
    assert!(has(&again), "{again:?}");
    assert!(!tagger.follows_up(&file_a, &again).await, "{again:?}");
}
