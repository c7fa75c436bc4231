//! The local filesystem backend's own write path: temp file under the root's
//! `.tmp/`, fsync, rename into place, fsync the directory. Reads, heads,
//! deletes and lists go through object_store's `LocalFileSystem`.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjPath;
use tokio::io::AsyncWriteExt;

use crate::hash::{BodyHasher, Digests};
use crate::key::TEMP_DIR;
use crate::{BlobError, PutOptions};

/// One local root: a directory and the object_store view of it.
#[derive(Debug)]
pub(crate) struct LocalRoot {
    pub(crate) dir: PathBuf,
    pub(crate) fs: LocalFileSystem,
}

impl LocalRoot {
    /// Opens the root at `dir`. Without `create`, a missing directory is
    /// `None` (nothing has been stored there yet).
    pub(crate) fn open(dir: &Path, create: bool) -> Result<Option<LocalRoot>, BlobError> {
        match std::fs::metadata(dir) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(BlobError::Io(format!(
                    "{} exists and is not a directory",
                    dir.display()
                )));
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {
                if !create {
                    return Ok(None);
                }
                ensure_dir_durable(dir)?;
            }
            Err(e) => return Err(BlobError::io(dir.display(), e)),
        }
        let fs =
            LocalFileSystem::new_with_prefix(dir).map_err(|e| BlobError::io(dir.display(), e))?;
        Ok(Some(LocalRoot {
            dir: dir.to_path_buf(),
            fs,
        }))
    }

    fn temp_dir(&self) -> PathBuf {
        self.dir.join(TEMP_DIR)
    }

    /// Streams `body` to a temp file, then publishes it at `key` atomically
    /// and durably.
    pub(crate) async fn put<S, E>(
        &self,
        key: &ObjPath,
        body: S,
        opts: &PutOptions,
    ) -> Result<Digests, BlobError>
    where
        S: Stream<Item = Result<Bytes, E>>,
        E: Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    {
        let dest = self
            .fs
            .path_to_filesystem(key)
            .map_err(|e| BlobError::store(key.as_ref(), e))?;
        // Durably: this also recreates the root if it was removed meanwhile.
        let tmp_dir = self.temp_dir();
        let dir = tmp_dir.clone();
        tokio::task::spawn_blocking(move || ensure_dir_durable(&dir))
            .await
            .map_err(|e| BlobError::Io(format!("create {}: {e}", tmp_dir.display())))??;
        let tmp = tmp_dir.join(temp_name());
        // Removes the temp file on every early return, and when the put
        // future is dropped midway.
        let mut guard = TempFile(Some(tmp.clone()));
        let io = |e: std::io::Error| BlobError::io(tmp.display(), e);
        let mut file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .await
            .map_err(io)?;
        let mut hasher = BodyHasher::new();
        let mut body = pin!(body);
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| BlobError::Body(e.into()))?;
            hasher.update(&chunk, opts)?;
            file.write_all(&chunk).await.map_err(io)?;
        }
        let digests = hasher.finish(opts)?;
        file.flush().await.map_err(io)?;
        file.sync_all().await.map_err(io)?;
        drop(file);

        let from = tmp.clone();
        tokio::task::spawn_blocking(move || publish(&from, &dest))
            .await
            .map_err(|e| BlobError::Io(format!("publish task failed: {e}")))??;
        guard.0 = None;
        Ok(digests)
    }

    /// Deletes temp files last modified at least `older_than` ago.
    pub(crate) fn sweep_temp(&self, older_than: Duration) -> Result<usize, BlobError> {
        let dir = self.temp_dir();
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(BlobError::io(dir.display(), e)),
        };
        let now = SystemTime::now();
        let mut removed = 0;
        for entry in entries {
            let entry = entry.map_err(|e| BlobError::io(dir.display(), e))?;
            let path = entry.path();
            let meta = match entry.metadata() {
                Ok(m) => m,
                Err(e) if e.kind() == ErrorKind::NotFound => continue,
                Err(e) => return Err(BlobError::io(path.display(), e)),
            };
            if !meta.is_file() {
                continue;
            }
            let age = meta
                .modified()
                .ok()
                .and_then(|m| now.duration_since(m).ok())
                .unwrap_or_default();
            if age < older_than {
                continue;
            }
            match std::fs::remove_file(&path) {
                Ok(()) => removed += 1,
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(BlobError::io(path.display(), e)),
            }
        }
        Ok(removed)
    }
}

/// Removes the temp file it holds when dropped.
struct TempFile(Option<PathBuf>);

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(p) = self.0.take()
            && let Err(e) = std::fs::remove_file(&p)
            && e.kind() != ErrorKind::NotFound
        {
            tracing::warn!(path = %p.display(), error = %e, "could not remove blob temp file");
        }
    }
}

/// A name no other put (in this or another process) is using.
fn temp_name() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!(
        "{}-{}-{}",
        std::process::id(),
        nanos,
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Renames the synced temp file onto `dest` (atomic: readers see the old or
/// the new file, never a partial one) and fsyncs the directory entries.
fn publish(tmp: &Path, dest: &Path) -> Result<(), BlobError> {
    let parent = dest
        .parent()
        .ok_or_else(|| BlobError::Io(format!("{} has no parent", dest.display())))?;
    ensure_dir_durable(parent)?;
    let rename = || std::fs::rename(tmp, dest);
    match rename() {
        Ok(()) => {}
        // The parent vanished in between (a cleanup elsewhere): once more.
        Err(e) if e.kind() == ErrorKind::NotFound && tmp.exists() => {
            ensure_dir_durable(parent)?;
            rename().map_err(|e| BlobError::io(dest.display(), e))?;
        }
        Err(e) => return Err(BlobError::io(dest.display(), e)),
    }
    fsync_dir(parent)
}

/// Creates `dir` and its missing ancestors, fsyncing the parent of each
/// directory created so the new entries survive a crash.
pub(crate) fn ensure_dir_durable(dir: &Path) -> Result<(), BlobError> {
    let mut missing = Vec::new();
    let mut cur = Some(dir);
    while let Some(d) = cur {
        match std::fs::metadata(d) {
            Ok(_) => break,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                missing.push(d);
                cur = d.parent();
            }
            Err(e) => return Err(BlobError::io(d.display(), e)),
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    std::fs::create_dir_all(dir).map_err(|e| BlobError::io(dir.display(), e))?;
    // Outermost first: a parent's entry is durable before its child's.
    for d in missing.iter().rev() {
        if let Some(parent) = d.parent() {
            fsync_dir(parent)?;
        }
    }
    Ok(())
}

fn fsync_dir(dir: &Path) -> Result<(), BlobError> {
    std::fs::File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(|e| BlobError::io(format!("fsync {}", dir.display()), e))
}
