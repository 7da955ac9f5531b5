//! The job lifecycle against the real embedded index and object store.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use graphfs_domain::{FileCatalog, FileRecord, JobQueue, TaggingStatus};
use graphfs_extract::Extracted;
use graphfs_tagger::{JobError, TagResult, Tagger};
use tokio::sync::watch;

mod common;
use common::*;

const TEXT: &str = "Glaciers carve valleys. A glacier moves slowly, and glaciers shape mountains.";

#[tokio::test]
async fn a_job_whose_handler_died_is_taken_over_after_the_lease() {
    let env = env().await;
    let id = add_file(&env, "ice.txt", TEXT).await;
    // A handler claims the job and dies without a word.
    let dead = env
        .index
        .claim_job("dead-handler", Duration::from_millis(300))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(dead.file_id, id);

    let (stop, rx) = watch::channel(false);
    let run = tokio::spawn(worker(&env, offline(&env), config(&env)).run(rx));
    let f = wait_status(&env, id, TaggingStatus::Done).await;
    assert!(
        f.tags.iter().any(|t| t.name.contains("glacier")),
        "{:?}",
        f.tags
    );
    // The dead handler's late answer is refused.
    assert!(
        !env.index
            .complete_job(&dead, &Default::default())
            .await
            .unwrap()
    );
    stop.send(true).unwrap();
    run.await.unwrap();
}

struct Flaky {
    failures_left: AtomicU32,
    calls: AtomicU32,
}

#[async_trait]
impl Tagger for Flaky {
    async fn tag(
        &self,
        _: &FileRecord,
        _: &Extracted,
        _: Option<&std::path::Path>,
    ) -> Result<TagResult, JobError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.failures_left.load(Ordering::SeqCst) > 0 {
            self.failures_left.fetch_sub(1, Ordering::SeqCst);
            return Err(JobError::Transient("model endpoint timed out".into()));
        }
        Ok(TagResult::default())
    }
}

#[tokio::test]
async fn transient_failures_retry_with_backoff_then_succeed() {
    let env = env().await;
    let id = add_file(&env, "a.txt", TEXT).await;
    let tagger = Arc::new(Flaky {
        failures_left: AtomicU32::new(2),
        calls: AtomicU32::new(0),
    });
    let (stop, rx) = watch::channel(false);
    let run = tokio::spawn(worker(&env, tagger.clone(), config(&env)).run(rx));
    let f = wait_status(&env, id, TaggingStatus::Done).await;
    assert_eq!(tagger.calls.load(Ordering::SeqCst), 3);
    assert_eq!(f.status_reason, None);
    stop.send(true).unwrap();
    run.await.unwrap();
}

#[tokio::test]
async fn the_last_failure_gives_up_with_the_reason_on_the_file() {
    let env = env().await;
    let id = add_file(&env, "a.txt", TEXT).await;
    let tagger = Arc::new(Flaky {
        failures_left: AtomicU32::new(100),
        calls: AtomicU32::new(0),
    });
    let mut cfg = config(&env);
    cfg.max_attempts = 3;
    let (stop, rx) = watch::channel(false);
    let run = tokio::spawn(worker(&env, tagger.clone(), cfg).run(rx));
    let f = wait_status(&env, id, TaggingStatus::Failed).await;
    assert_eq!(tagger.calls.load(Ordering::SeqCst), 3);
    let reason = f.status_reason.unwrap();
    assert!(
        reason.contains("model endpoint timed out") && reason.contains("3 attempts"),
        "{reason}"
    );
    stop.send(true).unwrap();
    run.await.unwrap();
}

struct Stuck;

#[async_trait]
impl Tagger for Stuck {
    async fn tag(
        &self,
        _: &FileRecord,
        _: &Extracted,
        _: Option<&std::path::Path>,
    ) -> Result<TagResult, JobError> {
        tokio::time::sleep(Duration::from_secs(3600)).await;
        Ok(TagResult::default())
    }
}

#[tokio::test]
async fn shutdown_releases_unfinished_jobs_for_another_handler() {
    let env = env().await;
    let id = add_file(&env, "a.txt", TEXT).await;
    let (stop, rx) = watch::channel(false);
    let run = tokio::spawn(worker(&env, Arc::new(Stuck), config(&env)).run(rx));
    wait_status(&env, id, TaggingStatus::Running).await;
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), run)
        .await
        .unwrap()
        .unwrap();
    let f = env.index.get_file_internal(id).await.unwrap();
    assert_eq!(f.status, TaggingStatus::Pending);
    // Released, not lapsed: another handler gets it at once, first attempt.
    let job = claim_next(&env, "next").await;
    assert_eq!((job.file_id, job.attempts), (id, 1));
}

#[tokio::test]
async fn running_a_job_twice_gives_the_same_graph() {
    let env = env().await;
    let id = add_file(&env, "ice.txt", TEXT).await;
    let mut runs = Vec::new();
    for _ in 0..2 {
        let (stop, rx) = watch::channel(false);
        let run = tokio::spawn(worker(&env, offline(&env), config(&env)).run(rx));
        runs.push(wait_status(&env, id, TaggingStatus::Done).await);
        stop.send(true).unwrap();
        run.await.unwrap();
        env.index.requeue(id).await.unwrap();
    }
    let names = |f: &FileRecord| f.tags.iter().map(|t| t.name.clone()).collect::<Vec<_>>();
    assert!(!runs[0].tags.is_empty());
    assert_eq!(names(&runs[0]), names(&runs[1]));
}

/// A tagger that yields in the middle, so concurrent jobs interleave.
struct Yielding;

#[async_trait]
impl Tagger for Yielding {
    async fn tag(
        &self,
        _: &FileRecord,
        _: &Extracted,
        _: Option<&std::path::Path>,
    ) -> Result<TagResult, JobError> {
        for _ in 0..5 {
            tokio::task::yield_now().await;
        }
        Ok(TagResult::default())
    }
}

/// Records, for every event that names a file, the file of the span it was
/// logged under.
#[derive(Clone, Default)]
struct SpanFiles(Arc<std::sync::Mutex<Vec<Logged>>>);

/// The file of the span an event was logged under, and the event's own.
type Logged = (Option<String>, String);

#[derive(Default)]
struct FileField(Option<String>);

impl tracing::field::Visit for FileField {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "file" {
            self.0 = Some(format!("{value:?}"));
        }
    }
}

impl<S> tracing_subscriber::Layer<S> for SpanFiles
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        let mut f = FileField::default();
        attrs.record(&mut f);
        if let (Some(span), Some(file)) = (ctx.span(id), f.0) {
            span.extensions_mut().insert(file);
        }
    }

    fn on_event(&self, event: &tracing::Event<'_>, ctx: tracing_subscriber::layer::Context<'_, S>) {
        let mut f = FileField::default();
        event.record(&mut f);
        if let Some(file) = f.0 {
            let span_file = ctx
                .event_span(event)
                .and_then(|s| s.extensions().get::<String>().cloned());
            self.0.lock().unwrap().push((span_file, file));
        }
    }
}

#[tokio::test]
async fn concurrent_jobs_log_under_their_own_span() {
    use tracing_subscriber::layer::SubscriberExt;
    let seen = SpanFiles::default();
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(seen.clone()));
    let env = env().await;
    add_file(&env, "a.txt", TEXT).await;
    add_file(&env, "b.txt", TEXT).await;
    let w = worker(&env, Arc::new(Yielding), config(&env));
    let a = claim_next(&env, "test-worker").await;
    let b = claim_next(&env, "test-worker").await;
    tokio::join!(w.process(a), w.process(b));
    let seen = seen.0.lock().unwrap().clone();
    assert!(seen.len() >= 4, "claimed and tagged for both: {seen:?}");
    for (span_file, event_file) in &seen {
        assert_eq!(span_file.as_deref(), Some(event_file.as_str()), "{seen:?}");
    }
}
