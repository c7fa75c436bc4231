//! The local filesystem backend, on real files in a temp dir.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use common::*;
use ferry_blob::{BlobError, BlobRoot, Blobs};
use futures_util::{StreamExt, stream};

fn setup() -> (tempfile::TempDir, Blobs) {
    let dir = tempfile::tempdir().expect("tempdir");
    let blobs = Blobs::local(dir.path()).expect("local blobs");
    (dir, blobs)
}

/// Every regular file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn silo() -> BlobRoot {
    BlobRoot::Silo(account("210987654321"))
}

#[tokio::test]
async fn round_trip_shared_and_silo() {
    let (_dir, blobs) = setup();
    round_trip(&blobs, BlobRoot::Shared).await;
    round_trip(&blobs, silo()).await;
}

#[tokio::test]
async fn range_reads() {
    let (_dir, blobs) = setup();
    ranges(&blobs, BlobRoot::Shared).await;
    ranges(&blobs, silo()).await;
}

#[tokio::test]
async fn invalid_keys_are_refused() {
    let (dir, blobs) = setup();
    invalid_keys(&blobs, BlobRoot::Shared).await;
    invalid_keys(&blobs, silo()).await;
    // Nothing was written anywhere (in particular not outside the roots).
    assert!(files_under(dir.path()).is_empty());
}

#[tokio::test]
async fn listing_by_prefix() {
    let (_dir, blobs) = setup();
    list_prefixes(&blobs, BlobRoot::Shared).await;
}

#[tokio::test]
async fn roots_are_physically_apart() {
    let (dir, blobs) = setup();
    let data = std::fs::canonicalize(dir.path()).expect("canonicalize");
    let id = "210987654321";
    let silo = BlobRoot::Silo(account(id));
    let key = "123456789012/obj-1";
    blobs
        .put(BlobRoot::Shared, key, chunked(b"pooled bytes", 5))
        .await
        .expect("put shared");
    blobs
        .put(silo, key, chunked(b"siloed bytes", 5))
        .await
        .expect("put silo");

    let shared_file = data.join("blobs").join("123456789012").join("obj-1");
    let silo_file = data
        .join("accounts")
        .join(id)
        .join("blobs")
        .join("123456789012")
        .join("obj-1");
    assert_eq!(
        std::fs::read(&shared_file).expect("shared file"),
        b"pooled bytes"
    );
    assert_eq!(
        std::fs::read(&silo_file).expect("silo file"),
        b"siloed bytes"
    );
    assert_eq!(files_under(&data), vec![silo_file, shared_file]);
    assert_eq!(
        blobs.local_dir(silo),
        Some(data.join("accounts").join(id).join("blobs"))
    );

    roots_apart(&blobs, BlobRoot::Shared, silo).await;
    roots_apart(&blobs, silo, BlobRoot::Silo(account("333333333333"))).await;
}

#[tokio::test]
async fn reads_of_an_unwritten_root_create_nothing() {
    let (dir, blobs) = setup();
    let root = BlobRoot::Silo(account("444444444444"));
    assert_eq!(blobs.head(root, "a/b").await.expect("head"), None);
    assert!(matches!(
        blobs.get(root, "a/b", None).await,
        Err(BlobError::NotFound(_))
    ));
    assert!(blobs.list(root, "").await.expect("list").is_empty());
    blobs.delete(root, "a/b").await.expect("delete");
    assert_eq!(
        blobs.sweep_temp(root, Duration::ZERO).await.expect("sweep"),
        0
    );
    assert!(!dir.path().join("accounts").exists());
}

#[tokio::test]
async fn streaming_64_mib() {
    let (_dir, blobs) = setup();
    streaming(&blobs, BlobRoot::Shared, 64).await;
}

#[tokio::test]
async fn failed_put_leaves_nothing() {
    let (dir, blobs) = setup();
    for root in [BlobRoot::Shared, silo()] {
        failed_put(&blobs, root, 10).await;
        let root_dir = blobs.local_dir(root).expect("local dir");
        assert_eq!(files_under(&root_dir), Vec::<PathBuf>::new());
    }
    // Failing at once (before any byte) too.
    let err = blobs
        .put(BlobRoot::Shared, "fail/now", failing(0, 1))
        .await
        .expect_err("fails");
    assert!(matches!(err, BlobError::Body(_)));
    assert!(files_under(dir.path()).is_empty());
}

#[tokio::test]
async fn dropped_put_leaves_nothing() {
    let (dir, blobs) = setup();
    // 1 MiB, then a body that never ends: the put is cancelled midway.
    let body = generated(16, 64 * 1024).chain(stream::pending());
    let b = blobs.clone();
    let task = tokio::spawn(async move { b.put(BlobRoot::Shared, "cancelled/blob", body).await });
    let tmp = blobs.local_dir(BlobRoot::Shared).expect("dir").join(".tmp");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while files_under(&tmp).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "no temp file appeared"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    task.abort();
    assert!(task.await.is_err_and(|e| e.is_cancelled()));
    // Give any in-flight file write a moment to land.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        files_under(dir.path()).is_empty(),
        "{:?}",
        files_under(dir.path())
    );
    assert_eq!(
        blobs
            .head(BlobRoot::Shared, "cancelled/blob")
            .await
            .expect("head"),
        None
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overwrite_is_atomic() {
    let (_dir, blobs) = setup();
    atomic_overwrite(&blobs, BlobRoot::Shared, 40).await;
}

#[tokio::test]
async fn sweep_removes_stale_temp_files_only() {
    let (_dir, blobs) = setup();
    let root = BlobRoot::Shared;
    blobs
        .put(root, "keep/me", chunked(b"live", 2))
        .await
        .expect("put");
    let tmp = blobs.local_dir(root).expect("dir").join(".tmp");
    // What a crash mid-put leaves.
    std::fs::write(tmp.join("123-456-7"), b"partial").expect("write leftover");
    assert_eq!(
        blobs.list(root, "").await.expect("list").len(),
        1,
        "temp files are never listed"
    );
    assert_eq!(
        blobs
            .sweep_temp(root, Duration::from_secs(3600))
            .await
            .expect("sweep"),
        0,
        "a fresh temp file may be a live put"
    );
    assert!(tmp.join("123-456-7").exists());
    assert_eq!(
        blobs.sweep_temp(root, Duration::ZERO).await.expect("sweep"),
        1
    );
    assert!(!tmp.join("123-456-7").exists());
    assert_eq!(read_all(&blobs, root, "keep/me").await, b"live");
}

#[tokio::test]
async fn key_and_directory_conflict_is_an_error_not_a_panic() {
    let (_dir, blobs) = setup();
    let root = BlobRoot::Shared;
    blobs.put(root, "a/b", chunked(b"x", 1)).await.expect("put");
    let r = blobs.put(root, "a", chunked(b"y", 1)).await;
    assert!(matches!(r, Err(BlobError::Io(_))), "{r:?}");
    let r = blobs.put(root, "a/b/c", chunked(b"z", 1)).await;
    assert!(matches!(r, Err(BlobError::Io(_))), "{r:?}");
    assert_eq!(read_all(&blobs, root, "a/b").await, b"x");
    // "a" is a directory here, not a blob.
    assert_eq!(blobs.head(root, "a").await.expect("head"), None);
    assert!(matches!(
        blobs.get(root, "a", None).await,
        Err(BlobError::NotFound(_))
    ));
    // No temp files left behind by the refused puts.
    let tmp = blobs.local_dir(root).expect("dir").join(".tmp");
    assert!(files_under(&tmp).is_empty());
}

#[tokio::test]
async fn blobs_is_cheap_to_clone_and_shares_roots() {
    let (_dir, blobs) = setup();
    let other = blobs.clone();
    blobs
        .put(
            BlobRoot::Shared,
            "k",
            stream::iter([Ok::<_, std::io::Error>(Bytes::from_static(b"v"))]),
        )
        .await
        .expect("put");
    assert_eq!(read_all(&other, BlobRoot::Shared, "k").await, b"v");
}
