//! Ferry's object bytes: blobs in blob roots, on the local filesystem or an
//! S3-compatible store, through the `object_store` crate.
//!
//! This crate stores and serves bytes, nothing else. It knows no HTTP, no
//! S3 API semantics (ETags, versions, multipart-upload bookkeeping: those
//! live with the metadata, in Ferry's S3 service), and must not depend on
//! `ferry-core` or any HTTP crate. It depends on `ferry-store` only for
//! [`BlobRoot`].
//!
//! # Roots
//! Which root holds an account's bytes is decided by
//! `ferry_store::Placement::blob_root`, never here. This crate only maps a
//! [`BlobRoot`] to storage:
//!
//! | backend | `BlobRoot::Shared` | `BlobRoot::Silo(id)` |
//! |---|---|---|
//! | [`Blobs::local`]`(data_dir)` | `<data_dir>/blobs/` | `<data_dir>/accounts/<id>/blobs/` |
//! | [`Blobs::s3`]`("s3://bucket/prefix")` | `prefix/shared/` | `prefix/accounts/<id>/` |
//!
//! Local root directories are created on the first write (reads of a root
//! that was never written see no blobs and create nothing).
//!
//! # Keys
//! Keys are chosen by Ferry (e.g. `<account>/<object-uuid>`), and validated
//! anyway so that no key can leave its root: see [`BlobError::InvalidKey`]
//! and `key.rs` for the rules. On the local backend a key cannot be both a
//! blob and a "directory" of another key (`a` and `a/b`).
//!
//! # Writes
//! [`Blobs::put`] streams the body (never holding all of it), computes its
//! MD5 and SHA-256 on the way, and publishes atomically: a reader sees the
//! whole old blob or the whole new one, never a partial one.
//! - local: the body goes to `<root>/.tmp/<unique>`, which is fsynced, renamed
//!   onto the key, and the key's directory fsynced; `put` returns only when
//!   the blob is durable. A failed or dropped put removes its temp file; what
//!   a crash leaves in `.tmp/` is removed by [`Blobs::sweep_temp`].
//! - S3: one `PutObject` up to 8 MiB, else a multipart upload in 8 MiB parts
//!   (two in flight), completed only after the whole body was read and
//!   checked. A failed or dropped put aborts the upload; what a crash leaves
//!   is an incomplete multipart upload, invisible, which the bucket's
//!   `AbortIncompleteMultipartUpload` lifecycle rule should clear.
//!
//! # Layout
//! - `lib.rs`: [`Blobs`] (root mapping, the operations), [`BlobInfo`],
//!   [`BlobReader`], [`BlobEntry`], [`PutOptions`].
//! - `error.rs`: [`BlobError`].
//! - `key.rs`: key and prefix validation.
//! - `hash.rs`: streaming MD5 + SHA-256 and the announced-digest checks.
//! - `local.rs`: the local write path (temp file, fsync, rename), temp sweep.
//! - `s3.rs`: [`S3Options`], `s3://` URLs, the single/multipart write path.
#![warn(missing_docs)]

mod error;
mod hash;
mod key;
mod local;
mod s3;

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::{Stream, StreamExt, TryStreamExt};
use object_store::path::Path as ObjPath;
use object_store::prefix::PrefixStore;
use object_store::{GetOptions, GetRange, GetResultPayload, ObjectStore, ObjectStoreExt};

pub use error::BlobError;
pub use ferry_store::BlobRoot;
pub use key::MAX_KEY_LEN;
pub use s3::S3Options;

use local::LocalRoot;

/// The blob store: maps [`BlobRoot`]s to storage. Cheap to clone.
#[derive(Clone)]
pub struct Blobs {
    inner: Arc<Inner>,
}

struct Inner {
    backend: Backend,
    // std lock: held only for map lookups, never across an await.
    roots: Mutex<HashMap<BlobRoot, Arc<Root>>>,
}

enum Backend {
    Local {
        data_dir: PathBuf,
    },
    S3 {
        store: Arc<dyn ObjectStore>,
        prefix: String,
        url: String,
    },
}

/// One opened root.
struct Root {
    /// The root as an object store (keys relative to the root).
    store: Arc<dyn ObjectStore>,
    /// Set for the local backend, which writes through its own path.
    local: Option<Arc<LocalRoot>>,
}

impl std::fmt::Debug for Blobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.inner.backend {
            Backend::Local { data_dir } => f
                .debug_struct("Blobs::Local")
                .field("data_dir", data_dir)
                .finish(),
            Backend::S3 { url, .. } => f.debug_struct("Blobs::S3").field("url", url).finish(),
        }
    }
}

/// What [`Blobs::put`] stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobInfo {
    /// The key, as given.
    pub key: String,
    /// Bytes stored.
    pub size: u64,
    /// MD5 of the bytes (an S3 single-part ETag is its hex).
    pub md5: [u8; 16],
    /// SHA-256 of the bytes.
    pub sha256: [u8; 32],
}

impl BlobInfo {
    /// MD5 as lowercase hex.
    pub fn md5_hex(&self) -> String {
        hash::hex(&self.md5)
    }

    /// SHA-256 as lowercase hex.
    pub fn sha256_hex(&self) -> String {
        hash::hex(&self.sha256)
    }
}

/// What the caller knows about a body in advance (e.g. from
/// `Content-Length`, `Content-MD5`, `x-amz-content-sha256`). A body that
/// does not match is refused before anything is published.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PutOptions {
    /// Exact length; a longer body is cut off as soon as it overruns.
    pub expected_size: Option<u64>,
    /// Expected MD5.
    pub expected_md5: Option<[u8; 16]>,
    /// Expected SHA-256.
    pub expected_sha256: Option<[u8; 32]>,
}

/// A blob in a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobEntry {
    /// The key, relative to the root.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// Last write (orphan sweeps should spare recent blobs, whose metadata
    /// may not be committed yet).
    pub last_modified: SystemTime,
}

/// The bytes of a blob (or of a range of it), as a stream of chunks.
/// Implements [`Stream`]; dropping it stops the read.
pub struct BlobReader {
    size: u64,
    range: Range<u64>,
    stream: BoxStream<'static, Result<Bytes, BlobError>>,
}

impl BlobReader {
    /// The whole blob's size (not the range's).
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The bytes this reader yields: `0..size` without a range, else the
    /// range asked for with its end clamped to `size`.
    pub fn range(&self) -> Range<u64> {
        self.range.clone()
    }

    /// The byte stream.
    pub fn into_stream(self) -> BoxStream<'static, Result<Bytes, BlobError>> {
        self.stream
    }

    /// Reads everything into memory: for small blobs and tests only.
    pub async fn bytes(self) -> Result<Bytes, BlobError> {
        let cap = usize::try_from(self.range.end - self.range.start).unwrap_or(0);
        let mut out = Vec::with_capacity(cap);
        let mut s = self.stream;
        while let Some(chunk) = s.next().await {
            out.extend_from_slice(&chunk?);
        }
        Ok(out.into())
    }
}

impl std::fmt::Debug for BlobReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobReader")
            .field("size", &self.size)
            .field("range", &self.range)
            .finish_non_exhaustive()
    }
}

impl Stream for BlobReader {
    type Item = Result<Bytes, BlobError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.stream.poll_next_unpin(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.stream.size_hint()
    }
}

/// Bytes per read of a local file.
const FILE_CHUNK: u64 = 256 * 1024;

/// A local file's `range` in [`FILE_CHUNK`] reads. object_store's own
/// stream of a local file reads 8 KiB per blocking task, which held a 1 GiB
/// GET to ~100-350 MB/s on this machine's 2 cores.
fn file_stream(
    file: std::fs::File,
    range: Range<u64>,
    key: String,
) -> BoxStream<'static, Result<Bytes, BlobError>> {
    let file = Arc::new(file);
    futures_util::stream::try_unfold(range.start, move |pos| {
        let (file, key, end) = (file.clone(), key.clone(), range.end);
        async move {
            if pos >= end {
                return Ok(None);
            }
            let len = usize::try_from((end - pos).min(FILE_CHUNK)).unwrap_or(0);
            let read = tokio::task::spawn_blocking(move || {
                use std::os::unix::fs::FileExt;
                let mut buf = vec![0u8; len];
                file.read_exact_at(&mut buf, pos).map(|()| buf)
            })
            .await
            .map_err(|e| BlobError::Io(format!("{key}: {e}")))?
            .map_err(|e| BlobError::Io(format!("{key}: {e}")))?;
            Ok(Some((Bytes::from(read), pos + len as u64)))
        }
    })
    .boxed()
}

impl Blobs {
    /// Blobs on the local filesystem under `data_dir` (created if missing).
    pub fn local(data_dir: &Path) -> Result<Self, BlobError> {
        local::ensure_dir_durable(data_dir)?;
        let data_dir =
            std::fs::canonicalize(data_dir).map_err(|e| BlobError::io(data_dir.display(), e))?;
        Ok(Self::with_backend(Backend::Local { data_dir }))
    }

    /// Blobs in an S3-compatible store at `url` (`s3://bucket[/prefix]`).
    /// Nothing is contacted until the first operation, and the bucket must
    /// already exist.
    pub fn s3(url: &str, opts: S3Options) -> Result<Self, BlobError> {
        let parsed = s3::parse_url(url)?;
        let store = s3::build(&parsed, &opts)?;
        Ok(Self::with_backend(Backend::S3 {
            store,
            prefix: parsed.prefix,
            url: url.to_string(),
        }))
    }

    fn with_backend(backend: Backend) -> Self {
        Blobs {
            inner: Arc::new(Inner {
                backend,
                roots: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The directory of a local root (`None` on S3). For diagnostics and
    /// tests; do not write there.
    pub fn local_dir(&self, root: BlobRoot) -> Option<PathBuf> {
        match &self.inner.backend {
            Backend::Local { data_dir } => Some(match root {
                BlobRoot::Shared => data_dir.join("blobs"),
                BlobRoot::Silo(id) => data_dir.join("accounts").join(id.to_string()).join("blobs"),
            }),
            Backend::S3 { .. } => None,
        }
    }

    /// The opened root, creating local directories when `create`; `None`
    /// if the local root does not exist and `create` is false.
    async fn root(&self, root: BlobRoot, create: bool) -> Result<Option<Arc<Root>>, BlobError> {
        if let Some(r) = self.cached(root) {
            return Ok(Some(r));
        }
        let opened = match &self.inner.backend {
            Backend::Local { .. } => {
                let dir = self
                    .local_dir(root)
                    .ok_or_else(|| BlobError::Io("no local directory".into()))?;
                let opened = tokio::task::spawn_blocking(move || LocalRoot::open(&dir, create))
                    .await
                    .map_err(|e| BlobError::Io(format!("open root: {e}")))??;
                match opened {
                    None => return Ok(None),
                    Some(l) => {
                        let l = Arc::new(l);
                        Root {
                            store: Arc::new(l.fs.clone()),
                            local: Some(l),
                        }
                    }
                }
            }
            Backend::S3 { store, prefix, .. } => {
                let sub = match root {
                    BlobRoot::Shared => "shared".to_string(),
                    BlobRoot::Silo(id) => format!("accounts/{id}"),
                };
                let full = if prefix.is_empty() {
                    sub
                } else {
                    format!("{prefix}/{sub}")
                };
                Root {
                    store: Arc::new(PrefixStore::new(store.clone(), ObjPath::from(full))),
                    local: None,
                }
            }
        };
        let mut roots = self
            .inner
            .roots
            .lock()
            .map_err(|_| BlobError::Io("root cache poisoned".into()))?;
        Ok(Some(roots.entry(root).or_insert(Arc::new(opened)).clone()))
    }

    fn cached(&self, root: BlobRoot) -> Option<Arc<Root>> {
        self.inner
            .roots
            .lock()
            .ok()
            .and_then(|r| r.get(&root).cloned())
    }

    /// Streams `body` into the blob `key` of `root`, replacing any blob
    /// there, and returns its size and digests. Returns once the blob is
    /// durable; see the crate docs for atomicity and cleanup.
    pub async fn put<S, E>(&self, root: BlobRoot, key: &str, body: S) -> Result<BlobInfo, BlobError>
    where
        S: Stream<Item = Result<Bytes, E>>,
        E: Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    {
        self.put_with(root, key, body, &PutOptions::default()).await
    }

    /// [`Blobs::put`], refusing a body whose size or digests differ from
    /// `opts` ([`BlobError::SizeMismatch`], [`BlobError::DigestMismatch`])
    /// without publishing anything.
    pub async fn put_with<S, E>(
        &self,
        root: BlobRoot,
        key: &str,
        body: S,
        opts: &PutOptions,
    ) -> Result<BlobInfo, BlobError>
    where
        S: Stream<Item = Result<Bytes, E>>,
        E: Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    {
        let path = key::parse_key(key)?;
        let r = self
            .root(root, true)
            .await?
            .ok_or_else(|| BlobError::Io("root not created".into()))?;
        let d = match &r.local {
            Some(l) => l.put(&path, body, opts).await?,
            None => s3::put(&r.store, &path, body, opts).await?,
        };
        Ok(BlobInfo {
            key: key.to_string(),
            size: d.size,
            md5: d.md5,
            sha256: d.sha256,
        })
    }

    /// Reads the blob `key`, or the bytes `range` of it (half-open; an end
    /// past the blob is clamped to its size). [`BlobError::InvalidRange`]
    /// if the range is empty or starts at or past the end.
    pub async fn get(
        &self,
        root: BlobRoot,
        key: &str,
        range: Option<Range<u64>>,
    ) -> Result<BlobReader, BlobError> {
        let path = key::parse_key(key)?;
        if let Some(r) = &range
            && r.start >= r.end
        {
            // The size is needed for the error (and a missing blob wins).
            let size = self.size_of(root, key).await?;
            return Err(BlobError::InvalidRange {
                range: r.clone(),
                size,
            });
        }
        let Some(r) = self.root(root, false).await? else {
            return Err(BlobError::NotFound(key.to_string()));
        };
        let opts = GetOptions::new().with_range(range.clone().map(GetRange::Bounded));
        let res = match r.store.get_opts(&path, opts).await {
            Ok(res) => res,
            Err(e) if error::is_not_found(&e) => return Err(BlobError::NotFound(key.to_string())),
            Err(e) => {
                // A range past the end fails in a backend-specific way:
                // tell it apart by the size.
                if let Some(rg) = range {
                    let size = self.size_of(root, key).await?;
                    if rg.start >= size {
                        return Err(BlobError::InvalidRange { range: rg, size });
                    }
                }
                return Err(BlobError::store(key, e));
            }
        };
        let size = res.meta.size;
        let range = res.range.clone();
        let k = key.to_string();
        let stream = match res.payload {
            GetResultPayload::File(file, _) => file_stream(file, range.clone(), k),
            GetResultPayload::Stream(s) => s.map_err(move |e| BlobError::store(&k, e)).boxed(),
        };
        Ok(BlobReader {
            size,
            range,
            stream,
        })
    }

    async fn size_of(&self, root: BlobRoot, key: &str) -> Result<u64, BlobError> {
        self.head(root, key)
            .await?
            .ok_or_else(|| BlobError::NotFound(key.to_string()))
    }

    /// The size of the blob `key`, or `None` if there is none.
    pub async fn head(&self, root: BlobRoot, key: &str) -> Result<Option<u64>, BlobError> {
        let path = key::parse_key(key)?;
        let Some(r) = self.root(root, false).await? else {
            return Ok(None);
        };
        match r.store.head(&path).await {
            Ok(m) => Ok(Some(m.size)),
            Err(e) if error::is_not_found(&e) => Ok(None),
            Err(e) => Err(BlobError::store(key, e)),
        }
    }

    /// Deletes the blob `key`; deleting a missing blob succeeds. (Not
    /// fsynced: a delete lost to a crash leaves an orphan for the sweep.)
    pub async fn delete(&self, root: BlobRoot, key: &str) -> Result<(), BlobError> {
        let path = key::parse_key(key)?;
        let Some(r) = self.root(root, false).await? else {
            return Ok(());
        };
        match r.store.delete(&path).await {
            Ok(()) => Ok(()),
            Err(e) if error::is_not_found(&e) => Ok(()),
            Err(e) => Err(BlobError::store(key, e)),
        }
    }

    /// The blobs of `root` under `prefix`, sorted by key. `prefix` is ""
    /// (everything) or whole key segments (`"acct"` lists `acct/...`, not
    /// `acct2/...`), with or without a trailing `/`. In-flight uploads are
    /// never listed.
    pub async fn list(&self, root: BlobRoot, prefix: &str) -> Result<Vec<BlobEntry>, BlobError> {
        let mut all: Vec<BlobEntry> = self.list_stream(root, prefix).await?.try_collect().await?;
        all.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(all)
    }

    /// [`Blobs::list`] as a stream, in backend order (unsorted on local
    /// storage), for roots too big to hold in a `Vec`.
    pub async fn list_stream(
        &self,
        root: BlobRoot,
        prefix: &str,
    ) -> Result<BoxStream<'static, Result<BlobEntry, BlobError>>, BlobError> {
        let p = key::parse_prefix(prefix)?;
        let Some(r) = self.root(root, false).await? else {
            return Ok(futures_util::stream::empty().boxed());
        };
        let tmp = format!("{}/", key::TEMP_DIR);
        let prefix = prefix.to_string();
        let stream = r
            .store
            .list(p.as_ref())
            .map_err(move |e| BlobError::store(&prefix, e))
            .try_filter_map(move |m| {
                let key = m.location.to_string();
                let keep = !key.starts_with(&tmp);
                futures_util::future::ready(Ok(keep.then(|| BlobEntry {
                    key,
                    size: m.size,
                    last_modified: SystemTime::from(m.last_modified),
                })))
            })
            .boxed();
        Ok(stream)
    }

    /// Deletes in-flight upload leftovers of `root` last written at least
    /// `older_than` ago (what a crash mid-put leaves); returns how many.
    /// Pick `older_than` well above the longest put (an hour, say): a put
    /// whose temp file is swept fails. On S3 this clears stray objects under
    /// the root's `.tmp/` (this crate writes none there); incomplete
    /// multipart uploads are the bucket lifecycle rule's job.
    pub async fn sweep_temp(
        &self,
        root: BlobRoot,
        older_than: Duration,
    ) -> Result<usize, BlobError> {
        let Some(r) = self.root(root, false).await? else {
            return Ok(0);
        };
        if let Some(l) = &r.local {
            let l = l.clone();
            return tokio::task::spawn_blocking(move || l.sweep_temp(older_than))
                .await
                .map_err(|e| BlobError::Io(format!("sweep task failed: {e}")))?;
        }
        let tmp = ObjPath::from(key::TEMP_DIR);
        let stale: Vec<ObjPath> = r
            .store
            .list(Some(&tmp))
            .try_filter_map(|m| {
                let old = SystemTime::now()
                    .duration_since(SystemTime::from(m.last_modified))
                    .is_ok_and(|age| age >= older_than);
                futures_util::future::ready(Ok(old.then_some(m.location)))
            })
            .try_collect()
            .await
            .map_err(|e| BlobError::store(key::TEMP_DIR, e))?;
        let mut removed = 0;
        for p in stale {
            match r.store.delete(&p).await {
                Ok(()) => removed += 1,
                Err(e) if error::is_not_found(&e) => {}
                Err(e) => return Err(BlobError::store(p.as_ref(), e)),
            }
        }
        Ok(removed)
    }
}
