//! Open WebDAV files: a reader that streams an object from any offset, and
//! a writer that streams a PUT body into the store as it arrives.

use std::io::SeekFrom;

use bytes::{Buf, Bytes};
use dav_server::fs::{DavFile, DavMetaData, FsError, FsFuture};
use futures::{FutureExt, StreamExt};
use graphfs_domain::{ByteRange, ByteStream, Error, FileId, FileRecord};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::fs::{Meta, fs_error};
use crate::app::SharedState;
use crate::files::{
    NewUpload, Seen, new_content_key, put_tapped, register_new_content, register_upload,
};

/// Reads an object from `pos` on; a seek starts a new ranged read.
pub struct Reader {
    state: SharedState,
    file: FileRecord,
    pos: u64,
    // A Mutex only to be Sync as `DavFile` must; `&mut self` reaches it
    // without locking.
    body: Option<std::sync::Mutex<ByteStream>>,
    pending: Bytes,
}

impl std::fmt::Debug for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader")
            .field("file", &self.file.id)
            .field("pos", &self.pos)
            .finish()
    }
}

impl Reader {
    pub fn new(state: SharedState, file: FileRecord) -> Reader {
        Reader {
            state,
            file,
            pos: 0,
            body: None,
            pending: Bytes::new(),
        }
    }
}

impl DavFile for Reader {
    fn metadata(&mut self) -> FsFuture<'_, Box<dyn DavMetaData>> {
        let meta: Box<dyn DavMetaData> = Box::new(Meta::file(&self.file));
        futures::future::ready(Ok(meta)).boxed()
    }

    fn write_buf(&mut self, _buf: Box<dyn Buf + Send>) -> FsFuture<'_, ()> {
        futures::future::ready(Err(FsError::Forbidden)).boxed()
    }

    fn write_bytes(&mut self, _buf: Bytes) -> FsFuture<'_, ()> {
        futures::future::ready(Err(FsError::Forbidden)).boxed()
    }

    fn read_bytes(&mut self, count: usize) -> FsFuture<'_, Bytes> {
        async move {
            if self.pos >= self.file.size || count == 0 {
                return Ok(Bytes::new());
            }
            if self.pending.is_empty() {
                if self.body.is_none() {
                    let range = ByteRange {
                        start: self.pos,
                        end: None,
                    };
                    let body = self
                        .state
                        .store
                        .get(&self.file.object_key, Some(range))
                        .await
                        .map_err(fs_error)?;
                    self.body = Some(std::sync::Mutex::new(body.stream));
                }
                let Some(Ok(body)) = self.body.as_mut().map(|m| m.get_mut()) else {
                    return Err(FsError::GeneralFailure);
                };
                match body.next().await {
                    Some(Ok(chunk)) => self.pending = chunk,
                    Some(Err(e)) => {
                        tracing::warn!(file = %self.file.id, error = %e, "webdav read failed");
                        return Err(FsError::GeneralFailure);
                    }
                    None => return Ok(Bytes::new()),
                }
            }
            let n = count.min(self.pending.len());
            let out = self.pending.split_to(n);
            self.pos += n as u64;
            Ok(out)
        }
        .boxed()
    }

    fn seek(&mut self, pos: SeekFrom) -> FsFuture<'_, u64> {
        let size = self.file.size as i128;
        let to = match pos {
            SeekFrom::Start(n) => n as i128,
            SeekFrom::Current(d) => self.pos as i128 + d as i128,
            SeekFrom::End(d) => size + d as i128,
        };
        let result = if to < 0 {
            Err(FsError::GeneralFailure)
        } else {
            let to = to as u64;
            if to != self.pos {
                self.pos = to;
                self.body = None;
                self.pending = Bytes::new();
            }
            Ok(to)
        };
        futures::future::ready(result).boxed()
    }

    fn flush(&mut self) -> FsFuture<'_, ()> {
        futures::future::ready(Ok(())).boxed()
    }
}

/// Where a written file goes.
pub enum Target {
    /// A new file in `folder`.
    New { folder: String, name: String },
    /// New bytes for a file; what it had becomes a version
    /// ([`new_content_key`]).
    Existing(Box<FileRecord>),
}

/// Streams what is written into the store in a task of its own, so that
/// the body never sits in memory; `flush` makes it the file. Dropped
/// before that (the client went away), the write is abandoned and the
/// object store keeps what it had.
pub struct Writer {
    state: SharedState,
    user: String,
    target: Target,
    id: FileId,
    key: String,
    tx: Option<mpsc::Sender<std::io::Result<Bytes>>>,
    task: Option<JoinHandle<Result<Seen, Error>>>,
    written: u64,
    expected: Option<u64>,
    done: Option<Meta>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("key", &self.key)
            .field("written", &self.written)
            .finish()
    }
}

impl Writer {
    pub fn start(
        state: SharedState,
        user: String,
        target: Target,
        expected: Option<u64>,
    ) -> Writer {
        let (id, key) = match &target {
            Target::New { .. } => {
                let id = FileId::new();
                (id, id.object_key())
            }
            Target::Existing(f) => (f.id, new_content_key(f)),
        };
        let (tx, mut rx) = mpsc::channel::<std::io::Result<Bytes>>(4);
        let body = futures::stream::poll_fn(move |cx| rx.poll_recv(cx));
        let task = {
            let (state, key) = (state.clone(), key.clone());
            tokio::spawn(async move { put_tapped(&state, &key, body).await })
        };
        Writer {
            state,
            user,
            target,
            id,
            key,
            tx: Some(tx),
            task: Some(task),
            written: 0,
            expected,
            done: None,
        }
    }

    /// The store's answer once the body has ended (or failed).
    async fn finish_put(&mut self) -> Result<Seen, FsError> {
        self.tx = None;
        let task = self.task.take().ok_or(FsError::GeneralFailure)?;
        match task.await {
            Ok(result) => result.map_err(fs_error),
            Err(e) => {
                tracing::warn!(error = %e, "webdav upload task failed");
                Err(FsError::GeneralFailure)
            }
        }
    }

    async fn send(&mut self, bytes: Bytes) -> Result<(), FsError> {
        if self.done.is_some() {
            return Err(FsError::GeneralFailure);
        }
        self.written += bytes.len() as u64;
        let Some(tx) = self.tx.as_ref() else {
            return Err(FsError::GeneralFailure);
        };
        if tx.send(Ok(bytes)).await.is_err() {
            // The store stopped reading: its error says why (too large, say).
            return Err(self
                .finish_put()
                .await
                .err()
                .unwrap_or(FsError::GeneralFailure));
        }
        Ok(())
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            // Never flushed: drop the half-written object, keep the old one.
            task.abort();
        }
    }
}

impl DavFile for Writer {
    fn metadata(&mut self) -> FsFuture<'_, Box<dyn DavMetaData>> {
        let meta = self.done.clone().unwrap_or(Meta {
            len: self.written,
            modified: std::time::SystemTime::now(),
            dir: false,
            etag: None,
        });
        let meta: Box<dyn DavMetaData> = Box::new(meta);
        futures::future::ready(Ok(meta)).boxed()
    }

    fn write_buf(&mut self, mut buf: Box<dyn Buf + Send>) -> FsFuture<'_, ()> {
        async move {
            let bytes = buf.copy_to_bytes(buf.remaining());
            self.send(bytes).await
        }
        .boxed()
    }

    fn write_bytes(&mut self, buf: Bytes) -> FsFuture<'_, ()> {
        async move { self.send(buf).await }.boxed()
    }

    fn read_bytes(&mut self, _count: usize) -> FsFuture<'_, Bytes> {
        futures::future::ready(Err(FsError::Forbidden)).boxed()
    }

    fn seek(&mut self, pos: SeekFrom) -> FsFuture<'_, u64> {
        // Writes are whole bodies from the start; partial PUTs are not kept.
        let result = match pos {
            SeekFrom::Start(0) if self.written == 0 => Ok(0),
            _ => Err(FsError::NotImplemented),
        };
        futures::future::ready(result).boxed()
    }

    fn flush(&mut self) -> FsFuture<'_, ()> {
        async move {
            if self.done.is_some() {
                return Ok(());
            }
            if self.expected.is_some_and(|n| n != self.written) {
                // A short body: leave the stored file as it was.
                if let Some(task) = self.task.take() {
                    task.abort();
                }
                self.tx = None;
                return Err(FsError::GeneralFailure);
            }
            let seen = self.finish_put().await?;
            let state = &self.state;
            let file = match &self.target {
                Target::New { folder, name } => register_upload(
                    state,
                    NewUpload {
                        id: self.id,
                        key: self.key.clone(),
                        owner: self.user.clone(),
                        folder: folder.clone(),
                        name: name.clone(),
                        declared_type: None,
                        create_only: false,
                    },
                    seen,
                )
                .await
                .map_err(fs_error)?
                .file()
                .clone(),
                Target::Existing(f) => register_new_content(state, f, &self.key, seen)
                    .await
                    .map_err(fs_error)?,
            };
            self.done = Some(Meta::file(&file));
            Ok(())
        }
        .boxed()
    }
}
