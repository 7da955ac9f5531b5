//! Objects on the local filesystem.
//!
//! Objects are addressed by the id GraphFS gives them (`files/<uuid>`), not by
//! content hash: deleting a file must remove exactly its bytes, and with
//! content addressing two users uploading the same bytes would share one
//! object and need reference counting across the graph, which a crash could
//! leave inconsistent. The SHA-256 is still computed and kept on the node.
//!
//! Writes go to a temp file in the same directory, are fsynced and renamed
//! into place, so a reader never sees a partial object and a crash leaves at
//! most a `.tmp-*` file, which start-up sweeps away.

use std::io::SeekFrom;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use graphfs_domain::{ByteRange, ByteStream, Error, ObjectBody, ObjectMeta, ObjectStore, Result};
use tokio::fs;
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use tokio_util::io::ReaderStream;

const TMP_PREFIX: &str = ".tmp-";

pub struct LocalObjectStore {
    root: PathBuf,
}

impl LocalObjectStore {
    /// Opens (creating if needed) a store rooted at `root` and removes temp
    /// files left by an earlier crash.
    pub async fn open(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        fs::create_dir_all(&root).await?;
        let store = LocalObjectStore { root };
        store.sweep_temp_files(&store.root.clone()).await?;
        Ok(store)
    }

    fn sweep_temp_files<'a>(&'a self, dir: &'a Path) -> futures::future::BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let mut entries = fs::read_dir(dir).await?;
            while let Some(entry) = entries.next_entry().await? {
                let path = entry.path();
                if entry.file_type().await?.is_dir() {
                    self.sweep_temp_files(&path).await?;
                } else if entry.file_name().to_string_lossy().starts_with(TMP_PREFIX) {
                    tracing::info!(path = %path.display(), "removing temp file left by a crash");
                    let _ = fs::remove_file(&path).await;
                }
            }
            Ok(())
        })
    }

    /// Maps a key to a path, refusing anything that could leave the root.
    fn path_of(&self, key: &str) -> Result<PathBuf> {
        let valid = !key.is_empty()
            && key.len() <= 512
            && key.split('/').all(|part| {
                !part.is_empty()
                    && part != "."
                    && part != ".."
                    && !part.starts_with(TMP_PREFIX)
                    && part
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            });
        if !valid {
            return Err(Error::InvalidInput(format!("invalid object key '{key}'")));
        }
        Ok(self.root.join(key))
    }

    fn key_of(&self, path: &Path) -> Option<String> {
        let rel = path.strip_prefix(&self.root).ok()?;
        let parts: Vec<_> = rel
            .components()
            .map(|c| c.as_os_str().to_str().map(str::to_owned))
            .collect::<Option<_>>()?;
        Some(parts.join("/"))
    }
}

fn modified(meta: &std::fs::Metadata) -> DateTime<Utc> {
    meta.modified()
        .map(DateTime::<Utc>::from)
        .unwrap_or_else(|_| Utc::now())
}

#[async_trait]
impl ObjectStore for LocalObjectStore {
    async fn put(&self, key: &str, mut body: ByteStream) -> Result<u64> {
        let path = self.path_of(key)?;
        let dir = path
            .parent()
            .ok_or_else(|| Error::InvalidInput(format!("invalid object key '{key}'")))?;
        fs::create_dir_all(dir).await?;
        let tmp = dir.join(format!("{TMP_PREFIX}{}", uuid::Uuid::new_v4().simple()));
        let write = async {
            let mut file = fs::File::create(&tmp).await?;
            let mut written = 0u64;
            while let Some(chunk) = body.next().await {
                let chunk = chunk?;
                file.write_all(&chunk).await?;
                written += chunk.len() as u64;
            }
            file.sync_all().await?;
            drop(file);
            fs::rename(&tmp, &path).await?;
            // Make the rename itself durable.
            if let Ok(d) = fs::File::open(dir).await {
                let _ = d.sync_all().await;
            }
            Ok::<u64, std::io::Error>(written)
        };
        match write.await {
            Ok(n) => Ok(n),
            Err(e) => {
                let _ = fs::remove_file(&tmp).await;
                Err(e.into())
            }
        }
    }

    async fn get(&self, key: &str, range: Option<ByteRange>) -> Result<ObjectBody> {
        let path = self.path_of(key)?;
        let mut file = fs::File::open(&path).await.map_err(not_found(key))?;
        let size = file.metadata().await?.len();
        let (start, end) = ByteRange::resolve(range, size)?;
        if start > 0 {
            file.seek(SeekFrom::Start(start)).await?;
        }
        let len = if size == 0 { 0 } else { end - start + 1 };
        let stream = ReaderStream::with_capacity(file.take(len), 64 * 1024);
        Ok(ObjectBody {
            size,
            start,
            end,
            stream: Box::pin(stream),
        })
    }

    async fn head(&self, key: &str) -> Result<ObjectMeta> {
        let path = self.path_of(key)?;
        let meta = fs::metadata(&path).await.map_err(not_found(key))?;
        Ok(ObjectMeta {
            key: key.to_string(),
            size: meta.len(),
            modified: modified(&meta),
        })
    }

    async fn delete(&self, key: &str) -> Result<bool> {
        let path = self.path_of(key)?;
        match fs::remove_file(&path).await {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    async fn list(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ObjectMeta>> {
        // Walk the whole tree: keys are few levels deep and listing is used by
        // reconciliation only, not on request paths.
        let mut out = Vec::new();
        let mut stack = vec![self.root.clone()];
        while let Some(dir) = stack.pop() {
            let mut entries = match fs::read_dir(&dir).await {
                Ok(e) => e,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e.into()),
            };
            while let Some(entry) = entries.next_entry().await? {
                let path = entry.path();
                let meta = entry.metadata().await?;
                if meta.is_dir() {
                    stack.push(path);
                    continue;
                }
                if entry.file_name().to_string_lossy().starts_with(TMP_PREFIX) {
                    continue;
                }
                let Some(key) = self.key_of(&path) else {
                    continue;
                };
                if key.starts_with(prefix) && after.is_none_or(|a| key.as_str() > a) {
                    out.push(ObjectMeta {
                        key,
                        size: meta.len(),
                        modified: modified(&meta),
                    });
                }
            }
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        out.truncate(limit);
        Ok(out)
    }

    async fn ping(&self) -> Result<()> {
        fs::metadata(&self.root)
            .await
            .map(|_| ())
            .map_err(|e| Error::unavailable(format!("object directory: {e}")))
    }
}

fn not_found(key: &str) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::NotFound(format!("object '{key}'"))
        } else {
            e.into()
        }
    }
}
