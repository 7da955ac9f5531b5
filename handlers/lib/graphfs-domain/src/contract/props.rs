//! The drive's dead properties: one document per path, replaced only from
//! the version read, and following moves, copies and removals.

use super::*;

pub(super) async fn drive_props(index: &dyn GraphIndex) {
    let (u, other) = (unique("patcher"), unique("patcher"));
    assert_eq!(index.dead_props(&u, "/a").await.unwrap(), None);
    assert!(
        index
            .replace_dead_props(&u, "/a", 0, Some("one"))
            .await
            .unwrap()
    );
    assert_eq!(
        index.dead_props(&u, "/a").await.unwrap(),
        Some((1, "one".to_string()))
    );
    // A writer that read an older version loses; the document is unchanged.
    assert!(
        !index
            .replace_dead_props(&u, "/a", 0, Some("stale"))
            .await
            .unwrap()
    );
    assert!(
        index
            .replace_dead_props(&u, "/a", 1, Some("two"))
            .await
            .unwrap()
    );
    assert!(!index.replace_dead_props(&u, "/a", 1, None).await.unwrap());
    assert_eq!(
        index.dead_props(&u, "/a").await.unwrap(),
        Some((2, "two".to_string()))
    );
    assert_eq!(
        index.dead_props(&other, "/a").await.unwrap(),
        None,
        "per user"
    );
    assert!(!index.replace_dead_props(&u, "/a", 0, None).await.unwrap());
    assert!(
        index
            .replace_dead_props(&other, "/a", 0, None)
            .await
            .unwrap()
    );

    // A folder, what is beneath it, and a name that only starts alike.
    for path in ["/d/x", "/d/e/y", "/dd"] {
        assert!(
            index
                .replace_dead_props(&u, path, 0, Some(path))
                .await
                .unwrap()
        );
    }
    assert_eq!(index.dead_props_count(&u).await.unwrap(), 4);
    assert_eq!(index.dead_props_count(&other).await.unwrap(), 0);
    // Moving over a path that holds a document replaces it.
    assert!(
        index
            .replace_dead_props(&u, "/m/x", 0, Some("old"))
            .await
            .unwrap()
    );
    index.move_dead_props(&u, "/d", "/m").await.unwrap();
    assert_eq!(index.dead_props(&u, "/d/x").await.unwrap(), None);
    assert_eq!(
        index.dead_props(&u, "/m/x").await.unwrap().unwrap().1,
        "/d/x"
    );
    assert_eq!(
        index.dead_props(&u, "/m/e/y").await.unwrap().unwrap().1,
        "/d/e/y"
    );
    assert_eq!(index.dead_props(&u, "/dd").await.unwrap().unwrap().1, "/dd");
    assert_eq!(index.dead_props_count(&u).await.unwrap(), 4);

    // A copy takes the one document, not those beneath it, and moves the
    // version on from the one it replaces.
    index.copy_dead_props(&u, "/m/x", "/a").await.unwrap();
    let (version, body) = index.dead_props(&u, "/a").await.unwrap().unwrap();
    assert_eq!(body, "/d/x");
    assert!(
        version > 2,
        "a copy over /a moves its version on: {version}"
    );
    index.copy_dead_props(&u, "/m", "/n").await.unwrap();
    assert_eq!(index.dead_props(&u, "/n/x").await.unwrap(), None);
    index.copy_dead_props(&other, "/m/x", "/b").await.unwrap();
    assert_eq!(
        index.dead_props(&other, "/b").await.unwrap(),
        None,
        "per user"
    );

    index.remove_dead_props(&u, "/m").await.unwrap();
    assert_eq!(index.dead_props(&u, "/m/x").await.unwrap(), None);
    assert_eq!(index.dead_props(&u, "/m/e/y").await.unwrap(), None);
    assert_eq!(
        index.dead_props_count(&u).await.unwrap(),
        2,
        "/a and /dd stay"
    );
    assert!(
        index
            .replace_dead_props(&u, "/a", version, None)
            .await
            .unwrap()
    );
    assert_eq!(index.dead_props(&u, "/a").await.unwrap(), None);

    // Writers at once, each retrying from what it reads: none is lost.
    let bump = || async {
        loop {
            let (version, body) = index
                .dead_props(&other, "/c")
                .await
                .unwrap()
                .unwrap_or((0, "0".to_string()));
            let n: u32 = body.parse().unwrap();
            let next = (n + 1).to_string();
            if index
                .replace_dead_props(&other, "/c", version, Some(&next))
                .await
                .unwrap()
            {
                break;
            }
        }
    };
    futures::future::join_all((0..8).map(|_| bump())).await;
    let (_, body) = index.dead_props(&other, "/c").await.unwrap().unwrap();
    assert_eq!(body, "8");
}

/// The imported taxonomy: one document for everyone, replaced only from the
/// version read, whose version keeps growing through a reset.
pub(super) async fn taxonomy_document(index: &dyn GraphIndex) {
    let (start, before) = index.stored_taxonomy().await.unwrap();
    assert!(
        index
            .replace_taxonomy(start, Some("topics: []"))
            .await
            .unwrap()
    );
    assert_eq!(
        index.stored_taxonomy().await.unwrap(),
        (start + 1, Some("topics: []".to_string()))
    );
    assert!(
        !index.replace_taxonomy(start, Some("stale")).await.unwrap(),
        "a writer that read an older version loses"
    );
    assert!(index.replace_taxonomy(start + 1, None).await.unwrap());
    assert_eq!(
        index.stored_taxonomy().await.unwrap(),
        (start + 2, None),
        "a reset keeps the version growing"
    );
    assert!(!index.replace_taxonomy(start + 1, None).await.unwrap());
    // Two writers from one version: exactly one wins.
    let (a, b) = tokio::join!(
        index.replace_taxonomy(start + 2, Some("a")),
        index.replace_taxonomy(start + 2, Some("b"))
    );
    assert!(a.unwrap() ^ b.unwrap());
    assert_eq!(index.stored_taxonomy().await.unwrap().0, start + 3);
    // What was there before the test is put back.
    assert!(
        index
            .replace_taxonomy(start + 3, before.as_deref())
            .await
            .unwrap()
    );
}
