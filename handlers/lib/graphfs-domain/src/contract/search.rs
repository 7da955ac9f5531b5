//! Text search and the graph view.

use super::*;

pub(super) async fn search_and_graph(index: &dyn GraphIndex) {
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
    // Prefix search as one types; the query is split the same way in every
    // backend (`query_terms`), so punctuation after the word and upper case
    // change nothing.
    assert_eq!(index.search(&u, &word[..6], 10).await.unwrap().len(), 2);
    for q in [
        format!("{}!", &word[..6]),
        format!("\"{}\"", word[..6].to_uppercase()),
    ] {
        assert_eq!(index.search(&u, &q, 10).await.unwrap().len(), 2, "{q}");
    }
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

/// Extracted text is kept up to [`MAX_INDEXED_TEXT`] bytes, cut on a
/// character boundary, in every backend: a word before the cut is found, one
/// after it is not, and a cut inside a multi-byte character is no error.
pub(super) async fn long_text_is_cut_at_the_same_byte(index: &dyn GraphIndex) {
    let u = unique("longtext");
    let head = format!("zh{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let tail = format!("zt{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    // "é" is two bytes; the odd prefix puts the cut inside one.
    let filler = "é".repeat(MAX_INDEXED_TEXT / 2);
    let text = format!("{head} xy{filler} {tail}");
    assert!(text.len() > MAX_INDEXED_TEXT && !text.is_char_boundary(MAX_INDEXED_TEXT));
    let f = new_file(index, &u, "long.txt", "text/plain").await;
    tag_file(index, f.id, &outcome(&text, &[])).await;
    let hits = index.search(&u, &head, 10).await.unwrap();
    assert_eq!(
        hits.iter().map(|h| h.file.id).collect::<Vec<_>>(),
        vec![f.id]
    );
    assert!(
        index.search(&u, &tail, 10).await.unwrap().is_empty(),
        "text past the limit is not indexed"
    );
    index.delete_file(&u, f.id).await.unwrap();
}

/// Who else may see a file does not change its rank: the file with the word
/// twice ranks above the one with it once, however many it is shared with.
pub(super) async fn sharing_does_not_change_rank(index: &dyn GraphIndex) {
    let u = unique("ranker");
    let word = format!("zr{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let twice = new_file(index, &u, "first.txt", "text/plain").await;
    let once = new_file(index, &u, "second.txt", "text/plain").await;
    tag_file(
        index,
        twice.id,
        &outcome(&format!("{word} {word} harbor light"), &[]),
    )
    .await;
    tag_file(
        index,
        once.id,
        &outcome(&format!("{word} harbor light tower"), &[]),
    )
    .await;
    let friends: Vec<String> = (0..6).map(|_| unique("friend")).collect();
    for friend in &friends {
        index.ensure_user(friend).await.unwrap();
        index
            .update_file(&u, twice.id, &FileChange::share(friend, true).unwrap())
            .await
            .unwrap();
    }
    let hits = index.search(&u, &word, 10).await.unwrap();
    assert_eq!(
        hits.iter().map(|h| h.file.id).collect::<Vec<_>>(),
        vec![twice.id, once.id],
        "{hits:?}"
    );
    // A friend sees the shared file only.
    let seen = index.search(&friends[0], &word, 10).await.unwrap();
    assert_eq!(
        seen.iter().map(|h| h.file.id).collect::<Vec<_>>(),
        vec![twice.id]
    );
    for f in [twice, once] {
        index.delete_file(&u, f.id).await.unwrap();
    }
}
