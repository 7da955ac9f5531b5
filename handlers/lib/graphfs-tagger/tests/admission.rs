//! The vocabulary's admission through the real worker, embedded index and
//! store: a keyword becomes a tag once a second file proposes it. (A test
//! binary of its own: its long-running worker must not share a process with
//! the span test in worker.rs, whose subscriber is thread-local.)

use std::time::Duration;

use graphfs_domain::{FileCatalog, FileRecord, TaggingStatus};
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
    let mut first_tags = Vec::new();
    for _ in 0..500 {
        let f = env.index.get_file_internal(first).await.unwrap();
        first_tags = keyword_tags(&f);
        if f.status == TaggingStatus::Done && first_tags.contains(&"glacier".to_string()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
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
