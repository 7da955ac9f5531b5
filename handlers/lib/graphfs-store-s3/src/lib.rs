//! The object store on an S3-compatible server (MinIO in a cluster; any S3
//! API works). Path-style addressing, so a plain endpoint URL is enough.
//!
//! Uploads stream: bodies smaller than one part go up in a single PUT, larger
//! ones as a multipart upload whose parts are sent as they fill, a bounded
//! number at a time, so that reading (and hashing) the next part overlaps the
//! upload of the previous ones while memory stays at `upload_concurrency + 1`
//! parts whatever the file size. Across uploads, part buffers share one
//! budget ([`budget`]): however many uploads run, their buffers stay within
//! it. A failed multipart upload is aborted, so no incomplete upload is left
//! in the bucket.
//!
//! Payloads go up unsigned (`UNSIGNED-PAYLOAD`). Signing one costs a SHA-256
//! pass over every byte, on top of the pass the API already makes for the
//! file's digest. Integrity on the wire still holds: every request carries
//! the SDK's CRC32 checksum of its body, and the server verifies it.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::{Credentials, Region};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::head_object::HeadObjectOutput;
use aws_sdk_s3::primitives::ByteStream as S3Body;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use graphfs_domain::{ByteRange, ByteStream, Error, ObjectBody, ObjectMeta, ObjectStore, Result};
use tokio::task::JoinSet;

pub mod budget;

pub use budget::BufferBudget;
use budget::Reservation;

/// S3's smallest part (except the last).
pub const MIN_PART_SIZE: usize = 5 << 20;

/// A body up to this size is buffered without a reservation: the many small
/// uploads do not queue behind the budget that large ones share.
const SMALL_BODY: usize = 256 << 10;

#[derive(Debug, Clone)]
pub struct S3Config {
    pub endpoint: String,
    pub region: String,
    pub bucket: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// Multipart part size; bodies up to this size use a single PUT.
    pub part_size: usize,
    /// Parts of one multipart upload in flight at once (at least 1).
    pub upload_concurrency: usize,
    /// Bytes of part buffers all uploads together may hold (at least one
    /// part); an upload past it waits for room.
    pub upload_buffer_bytes: usize,
    /// Ranges of one large download fetched at once (1: one plain GET).
    pub download_concurrency: usize,
    /// Bytes of range buffers all downloads together may hold; a download
    /// that finds no room streams with one plain GET instead of waiting.
    pub download_buffer_bytes: usize,
    /// Per-request timeout; a server that stopped answering is `Unavailable`.
    pub timeout: Duration,
    /// Notification target to subscribe the bucket to (created and removed
    /// objects), so files written straight into it are registered.
    pub notify_arn: Option<String>,
}

pub struct S3ObjectStore {
    client: Client,
    bucket: String,
    part_size: usize,
    upload_concurrency: usize,
    budget: BufferBudget,
    pool: PartPool,
    download_concurrency: usize,
    download_budget: BufferBudget,
}

/// Maps an SDK error to the domain's by the S3 error code and the HTTP
/// status of the response. (A HEAD has no body, so its 404 has no code.)
fn classify<E>(what: &str, err: SdkError<E, HttpResponse>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match &err {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
            Error::unavailable(format!("object store unreachable ({what})"))
        }
        SdkError::ServiceError(se) => {
            let code = se.err().code().unwrap_or("");
            let status = se.raw().status().as_u16();
            if matches!(code, "NoSuchKey" | "NotFound" | "NoSuchBucket") || status == 404 {
                Error::NotFound(what.to_string())
            } else if code == "InvalidRange" || status == 416 {
                Error::RangeNotSatisfiable { size: 0 }
            } else if matches!(
                code,
                "SlowDown" | "ServiceUnavailable" | "InternalError" | "XMinioServerNotInitialized"
            ) || status >= 500
            {
                Error::unavailable(format!("object store {what}: {status} {code}"))
            } else {
                Error::Internal(format!(
                    "object store {what}: {status} {code} {}",
                    se.err().message().unwrap_or("")
                ))
            }
        }
        SdkError::ResponseError(_) => {
            Error::unavailable(format!("object store {what}: bad response"))
        }
        _ => Error::Internal(format!("object store {what}: {err}")),
    }
}

impl S3ObjectStore {
    /// Connects and creates the bucket if it is missing.
    pub async fn connect(cfg: S3Config) -> Result<Self> {
        let conf = aws_sdk_s3::Config::builder()
            .behavior_version_latest()
            .endpoint_url(&cfg.endpoint)
            .region(Region::new(cfg.region.clone()))
            .credentials_provider(Credentials::new(
                &cfg.access_key_id,
                &cfg.secret_access_key,
                None,
                None,
                "graphfs",
            ))
            .force_path_style(true)
            .timeout_config(
                aws_sdk_s3::config::timeout::TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5))
                    .operation_attempt_timeout(cfg.timeout)
                    .build(),
            )
            .build();
        let part_size = cfg.part_size.max(MIN_PART_SIZE);
        let store = S3ObjectStore {
            client: Client::from_conf(conf),
            bucket: cfg.bucket,
            part_size,
            upload_concurrency: cfg.upload_concurrency.max(1),
            budget: BufferBudget::new(cfg.upload_buffer_bytes, part_size),
            pool: PartPool::new(part_size, cfg.upload_concurrency.max(1) + 1),
            download_concurrency: cfg.download_concurrency.max(1),
            download_budget: BufferBudget::new(cfg.download_buffer_bytes, 0),
        };
        store.ensure_bucket().await?;
        if let Some(arn) = &cfg.notify_arn {
            store.subscribe(arn).await?;
        }
        Ok(store)
    }

    async fn ensure_bucket(&self) -> Result<()> {
        match self.client.head_bucket().bucket(&self.bucket).send().await {
            Ok(_) => Ok(()),
            Err(e) => match classify("bucket", e) {
                Error::NotFound(_) => {
                    match self
                        .client
                        .create_bucket()
                        .bucket(&self.bucket)
                        .send()
                        .await
                    {
                        Ok(_) => {
                            tracing::info!(bucket = %self.bucket, "created bucket");
                            Ok(())
                        }
                        // Another replica made it first.
                        Err(e) if e.code() == Some("BucketAlreadyOwnedByYou") => Ok(()),
                        Err(e) => Err(classify("create bucket", e)),
                    }
                }
                other => Err(other),
            },
        }
    }

    async fn subscribe(&self, arn: &str) -> Result<()> {
        use aws_sdk_s3::types::{Event, NotificationConfiguration, QueueConfiguration};
        let queue = QueueConfiguration::builder()
            .id("graphfs")
            .queue_arn(arn)
            .events(Event::from("s3:ObjectCreated:*"))
            .events(Event::from("s3:ObjectRemoved:*"))
            .build()
            .map_err(Error::internal)?;
        self.client
            .put_bucket_notification_configuration()
            .bucket(&self.bucket)
            .notification_configuration(
                NotificationConfiguration::builder()
                    .queue_configurations(queue)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| classify("bucket notifications", e))?;
        tracing::info!(bucket = %self.bucket, %arn, "bucket notifications subscribed");
        Ok(())
    }

    /// The budget part buffers share (for metrics and tests).
    pub fn buffer_budget(&self) -> &BufferBudget {
        &self.budget
    }

    async fn head_object(&self, key: &str) -> Result<HeadObjectOutput> {
        self.client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| not_found_as_key(classify("head", e), key))
    }

    /// The budget download ranges share (for metrics and tests).
    pub fn download_budget(&self) -> &BufferBudget {
        &self.download_budget
    }

    /// Room for one download's ranges in flight, if ranges are on and the
    /// download budget has it now.
    fn download_room(&self) -> Option<Reservation> {
        if self.download_concurrency < 2 {
            return None;
        }
        // The ranges in flight, and the one the connection is still sending.
        self.download_budget
            .try_reserve((self.download_concurrency + 1) * self.part_size)
    }

    async fn put_multipart(
        &self,
        key: &str,
        first: (Bytes, Reservation),
        carry: Option<Bytes>,
        body: &mut ByteStream,
    ) -> Result<u64> {
        let created = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| classify("create multipart upload", e))?;
        let upload_id = created
            .upload_id()
            .ok_or_else(|| Error::internal("multipart upload without an id"))?
            .to_string();
        let result = self.upload_parts(key, &upload_id, first, carry, body).await;
        if result.is_err()
            && let Err(e) = self
                .client
                .abort_multipart_upload()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(&upload_id)
                .send()
                .await
        {
            tracing::warn!(%key, error = %e, "could not abort a failed multipart upload");
        }
        result
    }

    async fn upload_parts(
        &self,
        key: &str,
        upload_id: &str,
        (first, first_room): (Bytes, Reservation),
        mut carry: Option<Bytes>,
        body: &mut ByteStream,
    ) -> Result<u64> {
        // Dropping the set (on an error) cancels the parts still in flight;
        // the caller then aborts the upload.
        let mut in_flight = JoinSet::new();
        let target = PartTarget {
            client: self.client.clone(),
            bucket: self.bucket.clone(),
            key: key.into(),
            upload_id: upload_id.into(),
            pool: self.pool.clone(),
        };
        let mut parts = Vec::new();
        let mut total = first.len() as u64;
        in_flight.spawn(target.clone().send(1, first, first_room));
        let mut next_number = 2i32;
        let mut ended = false;
        while !ended {
            while in_flight.len() >= self.upload_concurrency {
                if let Some(done) = in_flight.join_next().await {
                    parts.push(joined(done)?);
                }
            }
            // Room for the next buffer; parts on the wire meanwhile finish
            // and give theirs back.
            let room = loop {
                tokio::select! {
                    biased;
                    Some(done) = in_flight.join_next(), if !in_flight.is_empty() => parts.push(joined(done)?),
                    room = self.budget.reserve(self.part_size) => break room?,
                }
            };
            // Each part gets a buffer of exactly one part: growing one by
            // doubling would hold up to twice the part size per part in flight.
            let mut part = self.pool.take();
            while part.len() < self.part_size {
                let chunk = match carry.take() {
                    Some(chunk) => chunk,
                    // Fill the next part while earlier ones are on the wire;
                    // an upload that finishes meanwhile frees its slot.
                    None => tokio::select! {
                        biased;
                        Some(done) = in_flight.join_next(), if !in_flight.is_empty() => {
                            parts.push(joined(done)?);
                            continue;
                        }
                        chunk = body.next() => match chunk {
                            Some(chunk) => chunk?,
                            None => {
                                ended = true;
                                break;
                            }
                        },
                    },
                };
                let space = self.part_size - part.len();
                if chunk.len() > space {
                    part.extend_from_slice(&chunk[..space]);
                    carry = Some(chunk.slice(space..));
                } else {
                    part.extend_from_slice(&chunk);
                }
            }
            if part.is_empty() {
                break;
            }
            total += part.len() as u64;
            in_flight.spawn(target.clone().send(next_number, part.freeze(), room));
            next_number = next_number
                .checked_add(1)
                .ok_or_else(|| Error::internal("too many parts"))?;
        }
        while let Some(done) = in_flight.join_next().await {
            parts.push(joined(done)?);
        }
        parts.sort_by_key(|p| p.part_number());
        self.client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| classify("complete multipart upload", e))?;
        Ok(total)
    }
}

/// Where the parts of one multipart upload go. Each part is sent on a task
/// of its own, so signing and writing it run on another core while the
/// request's task reads (and hashes) the next part.
#[derive(Clone)]
struct PartTarget {
    client: Client,
    bucket: String,
    key: Arc<str>,
    upload_id: Arc<str>,
    pool: PartPool,
}

impl PartTarget {
    /// Sends one part; its buffer's room in the budget is given back once
    /// the part is on the server.
    async fn send(self, number: i32, part: Bytes, room: Reservation) -> Result<CompletedPart> {
        let kept = part.clone();
        let out = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(&*self.key)
            .upload_id(&*self.upload_id)
            .part_number(number)
            .body(S3Body::from(part))
            .customize()
            .disable_payload_signing()
            .send()
            .await
            .map_err(|e| classify("upload part", e));
        self.pool.give_back(kept);
        drop(room);
        Ok(CompletedPart::builder()
            .part_number(number)
            .set_e_tag(out?.e_tag().map(str::to_string))
            .build())
    }
}

/// Part buffers kept for the next part once the server has one. A reused
/// buffer is already paged in, where a fresh one faults in a part's worth of
/// pages; and the allocator is not left holding freed parts in per-thread
/// arenas, which grew the server's memory past the parts in flight. At most
/// `keep` are kept.
#[derive(Clone)]
struct PartPool {
    free: Arc<std::sync::Mutex<Vec<BytesMut>>>,
    size: usize,
    keep: usize,
}

impl PartPool {
    fn new(size: usize, keep: usize) -> Self {
        PartPool {
            free: Arc::default(),
            size,
            keep,
        }
    }

    /// An empty buffer with room for one part.
    fn take(&self) -> BytesMut {
        self.free
            .lock()
            .ok()
            .and_then(|mut free| free.pop())
            .unwrap_or_else(|| BytesMut::with_capacity(self.size))
    }

    /// Keeps a sent part's buffer, unless something still refers to it.
    fn give_back(&self, part: Bytes) {
        let Ok(mut buf) = part.try_into_mut() else {
            return;
        };
        if buf.capacity() < self.size {
            return;
        }
        buf.clear();
        if let Ok(mut free) = self.free.lock()
            && free.len() < self.keep
        {
            free.push(buf);
        }
    }
}

/// A part's outcome from its task.
fn joined(
    done: std::result::Result<Result<CompletedPart>, tokio::task::JoinError>,
) -> Result<CompletedPart> {
    done.map_err(|e| Error::internal(format!("upload part task: {e}")))?
}

/// A missing object is named by its key.
fn not_found_as_key(e: Error, key: &str) -> Error {
    match e {
        Error::NotFound(_) => Error::NotFound(format!("object '{key}'")),
        other => other,
    }
}

/// Wraps a task so that dropping it (a download the client gave up on)
/// cancels the task instead of letting it run to the end.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl<T> std::future::Future for AbortOnDrop<T> {
    type Output = std::result::Result<T, tokio::task::JoinError>;
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        std::pin::Pin::new(&mut self.0).poll(cx)
    }
}

/// One object read as consecutive ranges of a part each, a few fetched at
/// once on tasks of their own and handed on in order. A single GET streams
/// at what one connection and one of the server's request pipelines
/// deliver; ranges in parallel use the idle cores. Every range asks for the
/// ETag the object had when the download began, so an object overwritten
/// meanwhile (possible only for files written straight into the bucket)
/// fails the download instead of splicing two contents.
#[derive(Clone)]
struct RangeSource {
    client: Client,
    bucket: String,
    key: Arc<str>,
    etag: Arc<str>,
}

impl RangeSource {
    fn stream(
        self,
        start: u64,
        end: u64,
        part: usize,
        concurrency: usize,
        room: Reservation,
    ) -> ByteStream {
        let step = part as u64;
        let ranges = (0u64..)
            .map(move |i| start + i * step)
            .take_while(move |from| *from <= end)
            .map(move |from| (from, (from + step - 1).min(end)));
        let stream = futures::stream::iter(ranges)
            .map(move |(from, to)| {
                let task = AbortOnDrop(tokio::spawn(self.clone().fetch(from, to)));
                async move { task.await.map_err(std::io::Error::other)? }
            })
            .buffered(concurrency)
            // The room is the stream's: it goes back when the download ends.
            .map(move |r| {
                let _held = &room;
                r
            });
        Box::pin(stream)
    }

    async fn fetch(self, from: u64, to: u64) -> std::io::Result<Bytes> {
        let out = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&*self.key)
            .range(format!("bytes={from}-{to}"))
            .if_match(&*self.etag)
            .send()
            .await
            .map_err(|e| std::io::Error::other(classify("get", e).to_string()))?;
        let mut buf = BytesMut::with_capacity(usize::try_from(to - from + 1).unwrap_or(0));
        let mut body = out.body;
        while let Some(chunk) = body.next().await {
            buf.extend_from_slice(&chunk.map_err(|e| std::io::Error::other(e.to_string()))?);
        }
        Ok(buf.freeze())
    }
}

fn to_chrono(t: Option<&aws_sdk_s3::primitives::DateTime>) -> chrono::DateTime<chrono::Utc> {
    t.and_then(|t| chrono::DateTime::from_timestamp(t.secs(), t.subsec_nanos()))
        .unwrap_or_else(chrono::Utc::now)
}

#[async_trait]
impl ObjectStore for S3ObjectStore {
    async fn put(&self, key: &str, mut body: ByteStream) -> Result<u64> {
        let mut buf = BytesMut::new();
        let mut room: Option<Reservation> = None;
        let mut carry = None;
        while buf.len() < self.part_size {
            match body.next().await {
                Some(chunk) => {
                    let chunk = chunk?;
                    // Past a small body, a whole part's room is reserved
                    // before the buffer grows, and it is sized once.
                    if room.is_none() && buf.len() + chunk.len() > SMALL_BODY {
                        room = Some(self.budget.reserve(self.part_size).await?);
                        let mut part = self.pool.take();
                        part.extend_from_slice(&buf);
                        buf = part;
                    }
                    let space = self.part_size - buf.len();
                    if chunk.len() > space {
                        buf.extend_from_slice(&chunk[..space]);
                        carry = Some(chunk.slice(space..));
                    } else {
                        buf.extend_from_slice(&chunk);
                    }
                }
                None => {
                    let len = buf.len() as u64;
                    self.client
                        .put_object()
                        .bucket(&self.bucket)
                        .key(key)
                        .body(S3Body::from(buf.freeze()))
                        .customize()
                        .disable_payload_signing()
                        .send()
                        .await
                        .map_err(|e| classify("put", e))?;
                    drop(room);
                    return Ok(len);
                }
            }
        }
        // A full part is past SMALL_BODY, so its room is held.
        let room = match room {
            Some(room) => room,
            None => self.budget.reserve(self.part_size).await?,
        };
        self.put_multipart(key, (buf.freeze(), room), carry, &mut body)
            .await
    }

    async fn get(&self, key: &str, range: Option<ByteRange>) -> Result<ObjectBody> {
        let head = self.head_object(key).await?;
        let size = u64::try_from(head.content_length().unwrap_or(0)).unwrap_or(0);
        let (start, end) = ByteRange::resolve(range, size)?;
        if size > 0
            && end - start + 1 >= 2 * self.part_size as u64
            && let Some(etag) = head.e_tag()
            && let Some(room) = self.download_room()
        {
            let source = RangeSource {
                client: self.client.clone(),
                bucket: self.bucket.clone(),
                key: key.into(),
                etag: etag.into(),
            };
            return Ok(ObjectBody {
                size,
                start,
                end,
                stream: source.stream(start, end, self.part_size, self.download_concurrency, room),
            });
        }
        let mut req = self.client.get_object().bucket(&self.bucket).key(key);
        if size > 0 && range.is_some() {
            req = req.range(format!("bytes={start}-{end}"));
        }
        let out = req.send().await.map_err(|e| match classify("get", e) {
            Error::RangeNotSatisfiable { .. } => Error::RangeNotSatisfiable { size },
            other => not_found_as_key(other, key),
        })?;
        let stream = futures::stream::unfold(out.body, |mut b| async move {
            b.next()
                .await
                .map(|r| (r.map_err(|e| std::io::Error::other(e.to_string())), b))
        });
        Ok(ObjectBody {
            size,
            start,
            end,
            stream: Box::pin(stream),
        })
    }

    async fn head(&self, key: &str) -> Result<ObjectMeta> {
        let out = self.head_object(key).await?;
        Ok(ObjectMeta {
            key: key.to_string(),
            size: u64::try_from(out.content_length().unwrap_or(0)).unwrap_or(0),
            modified: to_chrono(out.last_modified()),
        })
    }

    async fn delete(&self, key: &str) -> Result<bool> {
        // S3 deletes answer the same whether or not the key existed.
        let existed = match self.head(key).await {
            Ok(_) => true,
            Err(Error::NotFound(_)) => false,
            Err(e) => return Err(e),
        };
        if existed {
            self.client
                .delete_object()
                .bucket(&self.bucket)
                .key(key)
                .send()
                .await
                .map_err(|e| classify("delete", e))?;
        }
        Ok(existed)
    }

    async fn list(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ObjectMeta>> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        while out.len() < limit {
            let mut req = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .max_keys(i32::try_from((limit - out.len()).min(1000)).unwrap_or(1000));
            if let Some(t) = &token {
                req = req.continuation_token(t);
            } else if let Some(a) = after {
                req = req.start_after(a);
            }
            let page = req.send().await.map_err(|e| classify("list", e))?;
            for o in page.contents() {
                out.push(ObjectMeta {
                    key: o.key().unwrap_or_default().to_string(),
                    size: u64::try_from(o.size().unwrap_or(0)).unwrap_or(0),
                    modified: to_chrono(o.last_modified()),
                });
            }
            match page.next_continuation_token() {
                Some(t) if page.is_truncated() == Some(true) => token = Some(t.to_string()),
                _ => break,
            }
        }
        out.truncate(limit);
        Ok(out)
    }

    async fn ping(&self) -> Result<()> {
        self.client
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| match classify("ping", e) {
                Error::NotFound(m) => Error::unavailable(format!("bucket missing: {m}")),
                other => other,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_s3::error::ErrorMetadata;
    use aws_sdk_s3::operation::head_object::HeadObjectError;
    use aws_sdk_s3::primitives::SdkBody;

    #[test]
    fn sent_parts_buffers_are_reused_when_nothing_else_holds_them() {
        let pool = PartPool::new(1024, 2);
        let mut a = pool.take();
        assert!(a.capacity() >= 1024 && a.is_empty());
        a.extend_from_slice(&[1; 1024]);
        let a = a.freeze();
        let at = a.as_ptr();
        pool.give_back(a);
        let again = pool.take();
        assert_eq!(again.as_ptr(), at, "the sent buffer came back");
        assert!(again.is_empty() && again.capacity() >= 1024);

        // Still referenced elsewhere (the SDK kept a copy): not reused.
        let shared = again.freeze();
        let other = shared.clone();
        pool.give_back(shared);
        assert_ne!(pool.take().as_ptr(), other.as_ptr());

        // At most `keep` are kept.
        for _ in 0..4 {
            pool.give_back(Bytes::from(vec![0u8; 1024]));
        }
        assert_eq!(pool.free.lock().unwrap().len(), 2);
    }

    fn service_error(
        status: u16,
        code: Option<&str>,
        header: &str,
    ) -> SdkError<HeadObjectError, HttpResponse> {
        let mut meta = ErrorMetadata::builder();
        if let Some(c) = code {
            meta = meta.code(c);
        }
        let mut raw = HttpResponse::new(status.try_into().unwrap(), SdkBody::empty());
        raw.headers_mut()
            .insert("x-amz-request-id", header.to_string());
        SdkError::service_error(HeadObjectError::generic(meta.build()), raw)
    }

    #[test]
    fn errors_are_classified_by_status_and_code_not_by_their_text() {
        // A refusal whose request id happens to hold "404" or "500" is neither.
        let e = classify("head", service_error(403, Some("AccessDenied"), "4045001"));
        assert!(matches!(e, Error::Internal(_)), "{e:?}");
        // A HEAD's 404 has no body and so no code.
        assert!(classify("head", service_error(404, None, "x")).is_not_found());
        assert!(matches!(
            classify("get", service_error(416, None, "x")),
            Error::RangeNotSatisfiable { .. }
        ));
        for status in [500, 503] {
            let e = classify("put", service_error(status, None, "x"));
            assert!(matches!(e, Error::Unavailable { .. }), "{status}: {e:?}");
        }
    }
}
