//! Where file bytes live: the object store seam.

use std::pin::Pin;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::Stream;

use crate::Result;

/// A stream of body chunks. Errors are `io::Error` so that size limits and
/// client disconnects travel through unchanged.
pub type ByteStream = Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>>;

/// An inclusive byte range, as HTTP `Range: bytes=start-end` means it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    pub start: u64,
    /// Inclusive end; `None` reads to the end of the object.
    pub end: Option<u64>,
}

impl ByteRange {
    /// Resolves an optional range against an object's size into an inclusive
    /// `(start, end)`, the same way for every backend. An empty object has
    /// the (0, 0) "range" and an empty body.
    pub fn resolve(range: Option<ByteRange>, size: u64) -> Result<(u64, u64)> {
        match range {
            None => Ok((0, size.saturating_sub(1))),
            Some(r) => {
                if r.start >= size || r.end.is_some_and(|e| e < r.start) {
                    return Err(crate::Error::RangeNotSatisfiable { size });
                }
                let end = r.end.map_or(size - 1, |e| e.min(size - 1));
                Ok((r.start, end))
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    pub key: String,
    pub size: u64,
    pub modified: DateTime<Utc>,
}

pub struct ObjectBody {
    /// The whole object's size.
    pub size: u64,
    /// The inclusive range delivered (the whole object when none was asked).
    pub start: u64,
    pub end: u64,
    pub stream: ByteStream,
}

impl std::fmt::Debug for ObjectBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectBody")
            .field("size", &self.size)
            .field("start", &self.start)
            .field("end", &self.end)
            .finish_non_exhaustive()
    }
}

/// Where file bytes live. Keys are opaque ASCII strings chosen by GraphFS.
#[async_trait]
pub trait ObjectStore: Send + Sync + 'static {
    /// Stores the stream under `key`, replacing any object there. The write
    /// is atomic: readers see the old object or the whole new one, and a
    /// failed or interrupted put leaves nothing behind. Returns bytes written.
    async fn put(&self, key: &str, body: ByteStream) -> Result<u64>;

    /// Reads the object, or the part of it in `range`. A range starting past
    /// the end is [`crate::Error::RangeNotSatisfiable`]; an end past the end
    /// is clipped.
    async fn get(&self, key: &str, range: Option<ByteRange>) -> Result<ObjectBody>;

    async fn head(&self, key: &str) -> Result<ObjectMeta>;

    /// Removes the object. Returns whether it existed; removing a missing
    /// object is not an error, so retries of a half-done delete succeed.
    async fn delete(&self, key: &str) -> Result<bool>;

    /// Lists objects whose key starts with `prefix`, in key order, starting
    /// after `after`, at most `limit`.
    async fn list(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ObjectMeta>>;

    /// Cheap reachability check for readiness probes.
    async fn ping(&self) -> Result<()>;
}
