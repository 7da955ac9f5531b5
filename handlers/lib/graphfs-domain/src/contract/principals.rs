//! Users and tokens: registration, expiry, listing, revocation, and the
//! tokens file kept in step.

use chrono::{Duration as Days, Utc};

use super::*;

fn new_token(user: &str, secret: &str, source: TokenSource) -> NewToken {
    NewToken {
        user: user.to_string(),
        sha256: hex::encode(Sha256::digest(secret.as_bytes())),
        label: format!("{source:?} token"),
        source,
        expires_at: None,
    }
}

pub(super) async fn users_and_tokens(index: &dyn GraphIndex) {
    let alice = unique("alice");
    let bob = unique("bob");
    let t = new_token(&alice, &unique("secret"), TokenSource::Cli);
    assert_eq!(index.user_for_token(&t.sha256).await.unwrap(), None);
    let info = index.add_token(t.clone()).await.unwrap();
    assert_eq!(info.id, token_id(&t.sha256));
    assert_eq!(
        (info.user.as_str(), info.source, info.expires_at),
        (alice.as_str(), TokenSource::Cli, None)
    );
    // Registering the same token again updates it instead of doubling it.
    index.add_token(t.clone()).await.unwrap();
    assert_eq!(index.list_tokens(Some(&alice)).await.unwrap().len(), 1);
    assert_eq!(
        index.user_for_token(&t.sha256).await.unwrap(),
        Some(alice.clone())
    );

    // Expiry: a token past its time signs no one in, one before it does.
    let expired = NewToken {
        expires_at: Some(Utc::now() - Days::hours(1)),
        ..new_token(&alice, &unique("secret"), TokenSource::Api)
    };
    let current = NewToken {
        expires_at: Some(Utc::now() + Days::days(30)),
        label: "laptop".into(),
        ..new_token(&alice, &unique("secret"), TokenSource::Api)
    };
    index.add_token(expired.clone()).await.unwrap();
    let added = index.add_token(current.clone()).await.unwrap();
    assert_eq!(index.user_for_token(&expired.sha256).await.unwrap(), None);
    assert_eq!(
        index.user_for_token(&current.sha256).await.unwrap(),
        Some(alice.clone())
    );
    let listed = index.list_tokens(Some(&alice)).await.unwrap();
    assert_eq!(listed.len(), 3, "expired tokens are still listed");
    assert!(listed.contains(&added));
    assert!(
        listed
            .windows(2)
            .all(|w| w[0].created_at >= w[1].created_at),
        "newest first"
    );

    // Revocation is scoped to the owner when an owner is given.
    let b = index
        .add_token(new_token(&bob, &unique("secret"), TokenSource::Api))
        .await
        .unwrap();
    assert!(
        index
            .revoke_token(Some(&alice), &b.id)
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert_eq!(
        index.revoke_token(Some(&alice), &added.id).await.unwrap(),
        added
    );
    assert_eq!(index.user_for_token(&current.sha256).await.unwrap(), None);
    assert!(
        index
            .revoke_token(Some(&alice), &added.id)
            .await
            .unwrap_err()
            .is_not_found(),
        "revoked once"
    );
    assert_eq!(index.revoke_token(None, &b.id).await.unwrap().user, bob);
    let everyone = index.list_tokens(None).await.unwrap();
    assert!(everyone.iter().any(|t| t.user == alice));
    assert!(!everyone.iter().any(|t| t.id == b.id));

    // The tokens file: what it lists is registered, what leaves it is
    // removed, and other tokens are left alone.
    let carol = unique("carol");
    let f1 = new_token(&carol, &unique("secret"), TokenSource::File);
    let f2 = new_token(&carol, &unique("secret"), TokenSource::File);
    let by_hand = index
        .add_token(new_token(&carol, &unique("secret"), TokenSource::Cli))
        .await
        .unwrap();
    let before: Vec<_> = index.list_tokens(None).await.unwrap();
    let others_from_file = before
        .iter()
        .filter(|t| t.source == TokenSource::File)
        .count();
    assert_eq!(
        index
            .sync_file_tokens(&[f1.clone(), f2.clone()])
            .await
            .unwrap(),
        (2, others_from_file)
    );
    assert_eq!(
        index
            .sync_file_tokens(&[f1.clone(), f2.clone()])
            .await
            .unwrap(),
        (0, 0),
        "a second sync of the same file changes nothing"
    );
    assert_eq!(
        index
            .sync_file_tokens(std::slice::from_ref(&f1))
            .await
            .unwrap(),
        (0, 1)
    );
    assert_eq!(
        index.user_for_token(&f1.sha256).await.unwrap(),
        Some(carol.clone())
    );
    assert_eq!(index.user_for_token(&f2.sha256).await.unwrap(), None);
    let carols = index.list_tokens(Some(&carol)).await.unwrap();
    assert_eq!(carols.len(), 2);
    assert!(carols.contains(&by_hand), "a hand-made token stays");
    assert_eq!(index.sync_file_tokens(&[]).await.unwrap(), (0, 1));
}
