//! The tagging queue: claims, leases, retries, completion.

use super::*;

pub(super) async fn queue(index: &dyn GraphIndex) {
    // Older jobs of other checks go first, so the queue holds only ours.
    drain(index).await;
    // Jobs of other checks held or due later stay in the counts.
    let before = index.queue_depth().await.unwrap();
    let u = unique("queuer");
    let f = new_file(index, &u, "q.txt", "text/plain").await;
    let queued = index.queue_depth().await.unwrap();
    assert_eq!(
        (queued.pending, queued.in_flight),
        (before.pending + 1, before.in_flight)
    );
    let job = claim_for(index, f.id).await;
    assert_eq!(job.attempts, 1);
    assert_eq!(
        index.get_file(&u, f.id).await.unwrap().status,
        TaggingStatus::Running
    );
    let held = index.queue_depth().await.unwrap();
    assert_eq!(
        (held.pending, held.in_flight),
        (before.pending, before.in_flight + 1)
    );
    // Held under lease: nobody else gets it.
    assert!(
        index
            .claim_job("w2", Duration::from_secs(60))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        index
            .heartbeat(&job, Duration::from_millis(50))
            .await
            .unwrap()
    );

    // A lapsed lease (the handler died) makes the job claimable again.
    tokio::time::sleep(Duration::from_millis(120)).await;
    let again = index
        .claim_job("w2", Duration::from_secs(60))
        .await
        .unwrap()
        .expect("lease lapsed");
    assert_eq!(again.file_id, f.id);
    assert_eq!(again.attempts, 2);
    // The old holder lost it: its heartbeat and completion are refused.
    assert!(
        !index
            .heartbeat(&job, Duration::from_secs(60))
            .await
            .unwrap()
    );
    assert!(
        !index
            .complete_job(&job, &outcome("stale", &[]))
            .await
            .unwrap()
    );

    // Retry with backoff. Times are far from now in either direction, so the
    // checks hold however long the round trips in between take.
    // A retry time that has passed is due at once.
    let past = chrono::Utc::now() - chrono::Duration::minutes(5);
    index
        .fail_job(&again, "llm timed out", JobFailure::RetryAt(past))
        .await
        .unwrap();
    assert_eq!(
        index.get_file(&u, f.id).await.unwrap().status,
        TaggingStatus::Pending
    );
    let third = index
        .claim_job("w3", Duration::from_secs(60))
        .await
        .unwrap()
        .expect("due");
    assert_eq!(third.attempts, 3);
    // A retry time in the future is not due until then.
    let later = chrono::Utc::now() + chrono::Duration::hours(1);
    index
        .fail_job(&third, "llm timed out", JobFailure::RetryAt(later))
        .await
        .unwrap();
    assert_eq!(
        index.get_file(&u, f.id).await.unwrap().status,
        TaggingStatus::Pending
    );
    assert!(
        index
            .claim_job("w3", Duration::from_secs(60))
            .await
            .unwrap()
            .is_none()
    );
    assert!(index.queue_depth().await.unwrap().pending >= 1);
    // Re-queueing makes a waiting job due now, with a fresh attempt count.
    index.requeue(f.id).await.unwrap();
    let fourth = index
        .claim_job("w3", Duration::from_secs(60))
        .await
        .unwrap()
        .expect("requeued");
    assert_eq!(fourth.attempts, 1);

    // Giving up records the reason on the file.
    index
        .fail_job(&fourth, "could not parse the PDF", JobFailure::GiveUp)
        .await
        .unwrap();
    let failed = index.get_file(&u, f.id).await.unwrap();
    assert_eq!(failed.status, TaggingStatus::Failed);
    assert_eq!(
        failed.status_reason.as_deref(),
        Some("could not parse the PDF")
    );
    assert!(index.queue_depth().await.unwrap().failed >= 1);

    // Re-queue and release (graceful shutdown) keep the job for later.
    index.requeue(f.id).await.unwrap();
    let j = index
        .claim_job("w4", Duration::from_secs(60))
        .await
        .unwrap()
        .expect("requeued");
    assert_eq!(j.attempts, 1);
    index.release_job(&j).await.unwrap();
    let j = index
        .claim_job("w5", Duration::from_secs(60))
        .await
        .unwrap()
        .expect("released");
    assert_eq!(j.attempts, 1, "a released attempt does not count");

    // Completing twice is harmless; deleting the file removes its job.
    assert!(index.complete_job(&j, &outcome("done", &[])).await.unwrap());
    assert!(!index.complete_job(&j, &outcome("done", &[])).await.unwrap());
    index.requeue(f.id).await.unwrap();
    index.delete_file(&u, f.id).await.unwrap();
    assert!(
        index
            .claim_job("w6", Duration::from_secs(60))
            .await
            .unwrap()
            .is_none()
    );

    // A file queued again while its job is held (new content, a re-tag, a
    // new tag in the vocabulary) is not lost: the job's end queues it
    // again, and the file is never `done` in between.
    let g = new_file(index, &u, "again.txt", "text/plain").await;
    let owner = u.as_str();
    let status = move |id| async move { index.get_file(owner, id).await.unwrap() };
    let held = claim_for(index, g.id).await;
    index.requeue(g.id).await.unwrap();
    assert_eq!(status(g.id).await.status, TaggingStatus::Running);
    let first = outcome("first words", &[("first", 0.9)]);
    assert!(index.complete_job(&held, &first).await.unwrap());
    let f = status(g.id).await;
    assert_eq!(f.status, TaggingStatus::Pending, "queued again, not done");
    assert!(
        f.tags.iter().any(|t| t.name == "first"),
        "and its outcome kept"
    );
    let second = claim_for(index, g.id).await;
    assert_eq!(second.attempts, 1, "with fresh attempts");
    // Stored first and ended after: re-queued in between, it is queued again.
    assert!(index.store_partial(&second, &first).await.unwrap());
    assert_eq!(status(g.id).await.status, TaggingStatus::Running);
    index.requeue(g.id).await.unwrap();
    assert!(index.finish_job(&second).await.unwrap());
    assert_eq!(status(g.id).await.status, TaggingStatus::Pending);
    // A failure given up on while re-queued is tried again, not recorded.
    let third = claim_for(index, g.id).await;
    index.requeue(g.id).await.unwrap();
    index
        .fail_job(&third, "unreadable", JobFailure::GiveUp)
        .await
        .unwrap();
    let f = status(g.id).await;
    assert_eq!(
        (f.status, f.status_reason),
        (TaggingStatus::Pending, None),
        "queued again"
    );
    // Released (shutdown) after a re-queue, then claimed, it ends done.
    let fourth = claim_for(index, g.id).await;
    index.requeue(g.id).await.unwrap();
    index.release_job(&fourth).await.unwrap();
    let fifth = claim_for(index, g.id).await;
    assert!(index.store_partial(&fifth, &first).await.unwrap());
    assert!(index.finish_job(&fifth).await.unwrap());
    assert_eq!(status(g.id).await.status, TaggingStatus::Done);
    assert!(!index.finish_job(&fifth).await.unwrap(), "ended once");
    assert!(
        index
            .claim_job("w7", Duration::from_secs(60))
            .await
            .unwrap()
            .is_none(),
        "nothing left queued"
    );

    // Owners take turns: one owner's backlog does not hold up another's
    // file, and each owner's files keep their own order.
    let (heavy, light) = (unique("heavy"), unique("light"));
    let mut backlog = Vec::new();
    for i in 0..5 {
        let name = format!("backlog-{i}.txt");
        backlog.push(new_file(index, &heavy, &name, "text/plain").await.id);
    }
    let one = new_file(index, &light, "one.txt", "text/plain").await.id;
    let mut order = Vec::new();
    while let Some(j) = index
        .claim_job("fair", Duration::from_secs(60))
        .await
        .unwrap()
    {
        order.push(j.file_id);
        index.complete_job(&j, &outcome("done", &[])).await.unwrap();
    }
    assert_eq!(order.len(), 6, "{order:?}");
    let at = order.iter().position(|id| *id == one).unwrap();
    assert!(at <= 2, "the light owner's file came {}th of 6", at + 1);
    order.retain(|id| *id != one);
    assert_eq!(order, backlog);

    // Taggers claiming at once race for the same first job: each job goes
    // to one of them.
    let racer = unique("racer");
    let mut queued = Vec::new();
    for i in 0..12 {
        let name = format!("race-{i}.txt");
        queued.push(new_file(index, &racer, &name, "text/plain").await.id);
    }
    let claimers = (0..6).map(|w| async move {
        let worker = format!("racer-{w}");
        let mut held = Vec::new();
        while let Some(j) = index
            .claim_job(&worker, Duration::from_secs(60))
            .await
            .unwrap()
        {
            held.push(j);
        }
        held
    });
    let mut held: Vec<Job> = futures::future::join_all(claimers)
        .await
        .into_iter()
        .flatten()
        .collect();
    // A claimer outrun on every try stops early: what it left is still due.
    while let Some(j) = index
        .claim_job("racer-last", Duration::from_secs(60))
        .await
        .unwrap()
    {
        held.push(j);
    }
    let mut claimed: Vec<FileId> = held.iter().map(|j| j.file_id).collect();
    claimed.sort();
    queued.sort();
    assert_eq!(claimed, queued, "every job claimed once");
    for j in &held {
        assert!(index.complete_job(j, &outcome("done", &[])).await.unwrap());
    }

    // Jobs ending at once each end their own way: done, queued again, or
    // not at all when the lease went to another handler.
    drain(index).await;
    let ender = unique("ender");
    let mut ending = Vec::new();
    for i in 0..6 {
        let name = format!("end-{i}.txt");
        let file = new_file(index, &ender, &name, "text/plain").await;
        let job = claim_for(index, file.id).await;
        assert!(index.store_partial(&job, &first).await.unwrap());
        ending.push(job);
    }
    let (again, lost) = (ending[1].file_id, ending[4].file_id);
    let status_of = |id| async move { index.get_file_internal(id).await.unwrap().status };
    index.requeue(again).await.unwrap();
    index.release_job(&ending[4]).await.unwrap();
    let taker = index
        .claim_job("taker", Duration::from_secs(60))
        .await
        .unwrap()
        .expect("the released job is due");
    assert_eq!(taker.file_id, lost);
    let ended = futures::future::join_all(ending.iter().map(|j| index.finish_job(j))).await;
    for (job, ended) in ending.iter().zip(ended) {
        let ended = ended.unwrap();
        let status = status_of(job.file_id).await;
        if job.file_id == lost {
            assert!(!ended, "a lease lost is not ended");
            assert_eq!(status, TaggingStatus::Running, "its new holder has it");
        } else if job.file_id == again {
            assert!(ended);
            assert_eq!(status, TaggingStatus::Pending, "queued again");
        } else {
            assert!(ended);
            assert_eq!(status, TaggingStatus::Done);
        }
    }
    assert!(index.finish_job(&taker).await.unwrap());
    assert_eq!(status_of(lost).await, TaggingStatus::Done);
    let queued_again = claim_for(index, again).await;
    assert!(index.finish_job(&queued_again).await.unwrap());

    // A claim that brings its file brings it as read after the claim.
    drain(index).await;
    let reader = unique("claim-reader");
    let queued = new_file(index, &reader, "read-with-claim.txt", "text/plain").await;
    let (job, file) = index
        .claim_job_and_file("reader", Duration::from_secs(60))
        .await
        .unwrap()
        .expect("the file's job is due");
    assert_eq!(job.file_id, queued.id);
    if let Some(file) = file {
        assert_eq!(file, index.get_file_internal(queued.id).await.unwrap());
        assert_eq!(file.status, TaggingStatus::Running);
    }
    assert!(
        index
            .complete_job(&job, &outcome("done", &[]))
            .await
            .unwrap()
    );
}
