//! Listings by tag over more tagged files than the index reads and sorts
//! at once: it then walks the owner's files in order (and the files shared
//! with the viewer beside them), and every page must still be right. And a
//! search whose best matches are all others' files: the viewer's own still
//! come back.

use std::collections::HashSet;

use graphfs_domain::{
    FileCatalog, FileChange, FileId, FileQuery, FileRecord, SortKey, SortOrder, TagMatch,
    TextSearch, contract::new_text_file,
};
use graphfs_store_local::SqliteGraphIndex;

async fn create(index: &SqliteGraphIndex, owner: &str, name: &str, tags: &[&str]) -> FileId {
    let id = index
        .create_file(new_text_file(owner, "/", name))
        .await
        .unwrap()
        .id;
    for tag in tags {
        index
            .update_file(owner, id, &FileChange::add_tag(tag).unwrap())
            .await
            .unwrap();
    }
    id
}

/// Every page of `query` as `viewer`, checked to be in order and free of
/// repeats.
async fn all_pages(index: &SqliteGraphIndex, viewer: &str, query: FileQuery) -> Vec<FileRecord> {
    let mut out: Vec<FileRecord> = Vec::new();
    let mut cursor = None;
    loop {
        let page = index
            .list_files(
                viewer,
                &FileQuery {
                    cursor,
                    ..query.clone()
                },
            )
            .await
            .unwrap();
        out.extend(page.items);
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    for pair in out.windows(2) {
        let key = |f: &FileRecord| (f.created_at, f.id.to_string());
        assert!(key(&pair[0]) > key(&pair[1]), "out of order: {pair:?}");
    }
    out
}

fn ids(files: &[FileRecord]) -> HashSet<FileId> {
    files.iter().map(|f| f.id).collect()
}

#[tokio::test]
async fn listings_by_a_tag_on_thousands_of_files_page_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let index = SqliteGraphIndex::open(dir.path().join("graph.db"))
        .await
        .unwrap();
    // Bob's files first (the oldest), shared with Ann.
    let mut bobs = Vec::new();
    for (n, tags) in [&["big", "half"][..], &["big"], &["half"]]
        .iter()
        .enumerate()
    {
        let id = create(&index, "bob", &format!("b-{n}"), tags).await;
        bobs.push(id);
    }
    // Ann's files: all "big" (more than the index sorts at once), every
    // other one "half" (fewer).
    let mut anns = Vec::new();
    for n in 0..2100 {
        let tags: &[&str] = if n % 2 == 0 {
            &["big", "half"]
        } else {
            &["big"]
        };
        anns.push(create(&index, "ann", &format!("f-{n:04}"), tags).await);
    }
    for id in &bobs {
        index
            .update_file("bob", *id, &FileChange::share("ann", true).unwrap())
            .await
            .unwrap();
    }
    // A file Ann can see only because it is shared is listed too; one of
    // Bob's that is not shared, never.
    create(&index, "bob", "b-private", &["big", "half"]).await;
    let query = |tags: &[&str], tag_match| FileQuery {
        tags: tags.iter().map(|t| t.to_string()).collect(),
        tag_match,
        sort: SortKey::Created,
        order: SortOrder::Desc,
        limit: 300,
        ..FileQuery::default()
    };

    let big = all_pages(&index, "ann", query(&["big"], TagMatch::Any)).await;
    let want: HashSet<FileId> = anns.iter().chain(&bobs[..2]).copied().collect();
    assert_eq!(big.len(), want.len());
    assert_eq!(ids(&big), want);

    let both = all_pages(&index, "ann", query(&["big", "half"], TagMatch::All)).await;
    let want: HashSet<FileId> = anns.iter().step_by(2).chain(&bobs[..1]).copied().collect();
    assert_eq!(both.len(), want.len());
    assert_eq!(ids(&both), want);

    let half = all_pages(&index, "ann", query(&["half"], TagMatch::Any)).await;
    let want: HashSet<FileId> = anns
        .iter()
        .step_by(2)
        .chain([&bobs[0], &bobs[2]])
        .copied()
        .collect();
    assert_eq!(ids(&half), want);

    // Only what is shared with Ann, and only Ann's own, by tag.
    let shared = all_pages(
        &index,
        "ann",
        FileQuery {
            shared: Some(true),
            ..query(&["big"], TagMatch::Any)
        },
    )
    .await;
    assert_eq!(ids(&shared), bobs[..2].iter().copied().collect());
    let own = all_pages(
        &index,
        "ann",
        FileQuery {
            shared: Some(false),
            ..query(&["big"], TagMatch::Any)
        },
    )
    .await;
    assert_eq!(ids(&own), anns.iter().copied().collect());

    // By name prefix: f-1000 to f-1999, and "b-" only among what is shared.
    let named = |prefix: &str| FileQuery {
        name_prefix: Some(prefix.into()),
        ..query(&[], TagMatch::Any)
    };
    let ones = all_pages(&index, "ann", named("f-1")).await;
    assert_eq!(ids(&ones), anns[1000..2000].iter().copied().collect());
    let bs = all_pages(&index, "ann", named("b-")).await;
    assert_eq!(ids(&bs), bobs.iter().copied().collect());
}

#[tokio::test]
async fn a_search_finds_the_viewers_files_among_thousands_of_others_matches() {
    let dir = tempfile::tempdir().unwrap();
    let index = SqliteGraphIndex::open(dir.path().join("graph.db"))
        .await
        .unwrap();
    // More of Bob's matches than the search ranks before it looks only at
    // what Ann may see; they rank first (the word twice in the name).
    let mut shared = None;
    for n in 0..4200 {
        let id = create(&index, "bob", &format!("glacier glacier {n}.txt"), &[]).await;
        shared.get_or_insert(id);
    }
    let shared = shared.unwrap();
    let own = [
        create(&index, "ann", "glacier notes.txt", &[]).await,
        create(&index, "ann", "trip to the glacier.txt", &[]).await,
    ];
    index
        .update_file("bob", shared, &FileChange::share("ann", true).unwrap())
        .await
        .unwrap();
    let hits = index.search_in("ann", "glacier", None, 10).await.unwrap();
    let found: HashSet<FileId> = hits.iter().map(|h| h.file.id).collect();
    let want: HashSet<FileId> = own.into_iter().chain([shared]).collect();
    assert_eq!(found, want);
    // Best first: the shared file names the word twice.
    assert_eq!(hits[0].file.id, shared);
    // A page smaller than what Ann may see is full.
    assert_eq!(
        index
            .search_in("ann", "glacier", None, 2)
            .await
            .unwrap()
            .len(),
        2
    );
}
