//! Leases: one holder at a time, renewal, release, expiry.

use super::*;

pub(super) async fn leases(index: &dyn GraphIndex) {
    let name = unique("lease");
    let hour = Duration::from_secs(3600);
    assert!(index.acquire_lease(&name, "a", hour).await.unwrap());
    assert!(
        !index.acquire_lease(&name, "b", hour).await.unwrap(),
        "a running lease keeps others out"
    );
    assert!(
        index.acquire_lease(&name, "a", hour).await.unwrap(),
        "its holder renews it"
    );
    // Releasing what one does not hold changes nothing.
    index.release_lease(&name, "b").await.unwrap();
    assert!(!index.acquire_lease(&name, "b", hour).await.unwrap());
    index.release_lease(&name, "a").await.unwrap();
    assert!(
        index.acquire_lease(&name, "b", hour).await.unwrap(),
        "a released lease is free at once"
    );

    // A lease of no length has expired when it is taken: no waiting on the
    // clock is needed to see an expired lease change hands.
    let brief = unique("lease");
    assert!(
        index
            .acquire_lease(&brief, "a", Duration::ZERO)
            .await
            .unwrap()
    );
    assert!(
        index.acquire_lease(&brief, "b", hour).await.unwrap(),
        "an expired lease is free"
    );
    assert!(!index.acquire_lease(&brief, "a", hour).await.unwrap());
    // Leases longer than the cap are taken, not refused or overflowed.
    assert!(
        index
            .acquire_lease(&unique("lease"), "a", Duration::MAX)
            .await
            .unwrap()
    );

    // Many callers at once: exactly one wins.
    let contested = unique("lease");
    let wins = futures::future::join_all((0..8).map(|i| {
        let contested = contested.clone();
        async move {
            index
                .acquire_lease(&contested, &format!("r{i}"), hour)
                .await
                .unwrap()
        }
    }))
    .await;
    assert_eq!(wins.iter().filter(|w| **w).count(), 1, "{wins:?}");
}
