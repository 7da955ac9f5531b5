//! Users and token hashes.

use super::*;

pub(super) async fn users_and_tokens(index: &dyn GraphIndex) {
    let alice = unique("alice");
    let hash = hex::encode(Sha256::digest(alice.as_bytes()));
    assert_eq!(index.user_for_token(&hash).await.unwrap(), None);
    index.add_token(&alice, &hash).await.unwrap();
    index.add_token(&alice, &hash).await.unwrap();
    assert_eq!(index.user_for_token(&hash).await.unwrap(), Some(alice));
}
