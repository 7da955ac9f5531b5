//! The drive's lock tables: replaced whole, only from the version read.

use super::*;

pub(super) async fn drive_locks(index: &dyn GraphIndex) {
    let (u, other) = (unique("locker"), unique("locker"));
    assert_eq!(index.lock_table(&u).await.unwrap(), None);
    assert!(index.replace_lock_table(&u, 0, "first").await.unwrap());
    assert_eq!(
        index.lock_table(&u).await.unwrap(),
        Some((1, "first".to_string()))
    );
    // A writer that read an older version loses; the table is unchanged.
    assert!(!index.replace_lock_table(&u, 0, "stale").await.unwrap());
    assert!(index.replace_lock_table(&u, 1, "second").await.unwrap());
    assert!(!index.replace_lock_table(&u, 1, "stale").await.unwrap());
    assert_eq!(
        index.lock_table(&u).await.unwrap(),
        Some((2, "second".to_string()))
    );
    assert_eq!(index.lock_table(&other).await.unwrap(), None, "per user");

    // Writers at once, each retrying from what it reads: none is lost.
    let bump = || async {
        loop {
            let (version, body) = index
                .lock_table(&other)
                .await
                .unwrap()
                .unwrap_or((0, "0".to_string()));
            let n: u32 = body.parse().unwrap();
            if index
                .replace_lock_table(&other, version, &(n + 1).to_string())
                .await
                .unwrap()
            {
                break;
            }
        }
    };
    futures::future::join_all((0..8).map(|_| bump())).await;
    let (_, body) = index.lock_table(&other).await.unwrap().unwrap();
    assert_eq!(body, "8");
}
