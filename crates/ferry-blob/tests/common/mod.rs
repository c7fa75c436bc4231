//! Checks shared by the local and the S3 backend.
#![allow(dead_code)]

use std::io;
use std::time::Duration;

use bytes::Bytes;
use ferry_blob::{BlobEntry, BlobError, BlobRoot, Blobs, PutOptions};
use ferry_types::AccountId;
use futures_util::{Stream, StreamExt, stream};
use md5::Md5;
use sha2::{Digest, Sha256};

pub fn account(s: &str) -> AccountId {
    s.parse().expect("account id")
}

/// `data` as a stream of `chunk`-sized pieces.
pub fn chunked(data: &[u8], chunk: usize) -> impl Stream<Item = Result<Bytes, io::Error>> + use<> {
    let pieces: Vec<Result<Bytes, io::Error>> = data
        .chunks(chunk.max(1))
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    stream::iter(pieces)
}

/// Deterministic pseudo-random chunk `i` of `len` bytes.
pub fn gen_chunk(i: u64, len: usize) -> Bytes {
    let mut x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut v = Vec::with_capacity(len);
    while v.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.truncate(len);
    v.into()
}

/// `n` chunks of `len` bytes, produced one at a time (nothing collected).
pub fn generated(n: u64, len: usize) -> impl Stream<Item = Result<Bytes, io::Error>> {
    stream::iter(0..n).map(move |i| Ok(gen_chunk(i, len)))
}

/// `good` bytes in chunks, then an error.
pub fn failing(good: u64, len: usize) -> impl Stream<Item = Result<Bytes, io::Error>> {
    generated(good, len).chain(stream::once(async {
        Err(io::Error::new(
            io::ErrorKind::ConnectionReset,
            "client went away",
        ))
    }))
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub async fn read_all(blobs: &Blobs, root: BlobRoot, key: &str) -> Vec<u8> {
    blobs
        .get(root, key, None)
        .await
        .expect("get")
        .bytes()
        .await
        .expect("read")
        .to_vec()
}

fn keys(entries: &[BlobEntry]) -> Vec<&str> {
    entries.iter().map(|e| e.key.as_str()).collect()
}

/// put / get / head / list / delete.
pub async fn round_trip(blobs: &Blobs, root: BlobRoot) {
    let key = "123456789012/0b9e6c1a-6f7e-4d2b-9a51-1f0b5c2f2d10";
    let info = blobs
        .put(root, key, chunked(b"hello world", 3))
        .await
        .expect("put");
    assert_eq!(info.key, key);
    assert_eq!(info.size, 11);
    assert_eq!(info.md5_hex(), "5eb63bbbe01eeed093cb22bb8f5acdc3");
    assert_eq!(
        info.sha256_hex(),
        "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"
    );
    assert_eq!(blobs.head(root, key).await.expect("head"), Some(11));
    let r = blobs.get(root, key, None).await.expect("get");
    assert_eq!((r.size(), r.range()), (11, 0..11));
    assert_eq!(&r.bytes().await.expect("bytes")[..], b"hello world");

    let listed = blobs.list(root, "").await.expect("list");
    assert_eq!(keys(&listed), vec![key]);
    assert_eq!(listed[0].size, 11);
    let age = std::time::SystemTime::now()
        .duration_since(listed[0].last_modified)
        .unwrap_or_default();
    assert!(age < Duration::from_secs(300), "last_modified {age:?} ago");
    assert_eq!(
        keys(&blobs.list(root, "123456789012").await.expect("list")),
        vec![key]
    );
    assert_eq!(
        keys(&blobs.list(root, "123456789012/").await.expect("list")),
        vec![key]
    );
    assert!(
        blobs
            .list(root, "999999999999")
            .await
            .expect("list")
            .is_empty()
    );

    // Overwrite replaces.
    blobs
        .put(root, key, chunked(b"bye", 1))
        .await
        .expect("overwrite");
    assert_eq!(read_all(blobs, root, key).await, b"bye");

    // Empty blob.
    let info = blobs
        .put(root, "empty", stream::empty::<Result<Bytes, io::Error>>())
        .await
        .expect("put empty");
    assert_eq!(info.md5_hex(), "d41d8cd98f00b204e9800998ecf8427e");
    assert_eq!(blobs.head(root, "empty").await.expect("head"), Some(0));
    assert!(read_all(blobs, root, "empty").await.is_empty());

    // Unusual but valid characters survive put, get and list unchanged.
    let odd = "odd/with space/100%25 & %41+plus/ünïcødé#1a/~!$'()*,;=@[]";
    blobs
        .put(root, odd, chunked(b"odd", 1))
        .await
        .expect("put odd key");
    assert_eq!(read_all(blobs, root, odd).await, b"odd");
    assert_eq!(
        keys(&blobs.list(root, "odd/with space").await.expect("list")),
        vec![odd]
    );
    blobs.delete(root, odd).await.expect("delete odd key");

    blobs.delete(root, key).await.expect("delete");
    blobs.delete(root, "empty").await.expect("delete");
    assert_eq!(blobs.head(root, key).await.expect("head"), None);
    assert!(matches!(
        blobs.get(root, key, None).await,
        Err(BlobError::NotFound(k)) if k == key
    ));
    // Idempotent.
    blobs.delete(root, key).await.expect("delete again");
    assert!(blobs.list(root, "").await.expect("list").is_empty());
}

/// Range reads: start, middle, end, whole, clamped, refused.
pub async fn ranges(blobs: &Blobs, root: BlobRoot) {
    let data: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
    blobs
        .put(root, "r/blob", chunked(&data, 77))
        .await
        .expect("put");
    for (range, want) in [
        (0..10, 0..10),
        (500..600, 500..600),
        (990..1000, 990..1000),
        (0..1000, 0..1000),
        (999..1000, 999..1000),
        (900..5000, 900..1000),
    ] {
        let r = blobs
            .get(root, "r/blob", Some(range.clone()))
            .await
            .unwrap_or_else(|e| panic!("range {range:?}: {e}"));
        assert_eq!(r.size(), 1000);
        assert_eq!(r.range(), want, "range {range:?}");
        let got = r.bytes().await.expect("bytes");
        let (s, e) = (want.start as usize, want.end as usize);
        assert_eq!(&got[..], &data[s..e], "range {range:?}");
    }
    for range in [1000..1001, 2000..3000, 5..5] {
        match blobs.get(root, "r/blob", Some(range.clone())).await {
            Err(BlobError::InvalidRange { range: r, size }) => {
                assert_eq!((r, size), (range, 1000));
            }
            other => panic!("range {range:?}: {other:?}"),
        }
    }
    assert!(matches!(
        blobs.get(root, "r/missing", Some(0..1)).await,
        Err(BlobError::NotFound(_))
    ));
    blobs.delete(root, "r/blob").await.expect("delete");
}

/// Keys that could escape the root, or are otherwise odd, are refused by
/// every operation.
pub async fn invalid_keys(blobs: &Blobs, root: BlobRoot) {
    let long = "k".repeat(1025);
    for key in [
        "../x",
        "a/../../x",
        "..",
        "",
        "/etc/passwd",
        "a\0b",
        "a//b",
        "a/",
        ".tmp/x",
        long.as_str(),
    ] {
        fn invalid<T>(r: &Result<T, BlobError>) -> bool {
            matches!(r, Err(BlobError::InvalidKey { .. }))
        }
        let put = blobs.put(root, key, chunked(b"x", 1)).await;
        assert!(invalid(&put), "put {key:?}: {put:?}");
        let get = blobs.get(root, key, None).await.map(|_| ());
        assert!(invalid(&get), "get {key:?}: {get:?}");
        let head = blobs.head(root, key).await;
        assert!(invalid(&head), "head {key:?}: {head:?}");
        let del = blobs.delete(root, key).await;
        assert!(invalid(&del), "delete {key:?}: {del:?}");
    }
    for prefix in ["../", "/", "/x", "a/../b"] {
        let r = blobs.list(root, prefix).await;
        assert!(
            matches!(r, Err(BlobError::InvalidKey { .. })),
            "list {prefix:?}: {r:?}"
        );
    }
    assert!(blobs.list(root, "").await.expect("list").is_empty());
}

/// The same key in two roots holds two blobs.
pub async fn roots_apart(blobs: &Blobs, a: BlobRoot, b: BlobRoot) {
    let key = "same/key";
    blobs.put(a, key, chunked(b"in a", 2)).await.expect("put a");
    blobs
        .put(b, key, chunked(b"in b!", 2))
        .await
        .expect("put b");
    assert_eq!(read_all(blobs, a, key).await, b"in a");
    assert_eq!(read_all(blobs, b, key).await, b"in b!");
    blobs.delete(a, key).await.expect("delete a");
    assert_eq!(blobs.head(a, key).await.expect("head"), None);
    assert_eq!(read_all(blobs, b, key).await, b"in b!");
    blobs.delete(b, key).await.expect("delete b");
}

/// Prefix listing is by whole segments, sorted.
pub async fn list_prefixes(blobs: &Blobs, root: BlobRoot) {
    for k in ["b/x", "a/2", "ab/1", "a/1", "a/sub/3"] {
        blobs
            .put(root, k, chunked(k.as_bytes(), 2))
            .await
            .expect("put");
    }
    let all = blobs.list(root, "").await.expect("list");
    assert_eq!(keys(&all), vec!["a/1", "a/2", "a/sub/3", "ab/1", "b/x"]);
    assert_eq!(
        keys(&blobs.list(root, "a").await.expect("list")),
        vec!["a/1", "a/2", "a/sub/3"]
    );
    assert_eq!(
        keys(&blobs.list(root, "a/sub/").await.expect("list")),
        vec!["a/sub/3"]
    );
    for k in ["b/x", "a/2", "ab/1", "a/1", "a/sub/3"] {
        blobs.delete(root, k).await.expect("delete");
    }
    assert!(blobs.list(root, "").await.expect("list").is_empty());
}

/// A big body streamed in 64 KiB chunks; digests match ones computed apart.
pub async fn streaming(blobs: &Blobs, root: BlobRoot, mib: u64) {
    const CHUNK: usize = 64 * 1024;
    let n = mib * 1024 * 1024 / CHUNK as u64;
    let mut md5 = Md5::new();
    let mut sha = Sha256::new();
    for i in 0..n {
        let c = gen_chunk(i, CHUNK);
        md5.update(&c);
        sha.update(&c);
    }
    let (md5, sha) = (hex(&md5.finalize()), hex(&sha.finalize()));

    let info = blobs
        .put(root, "big/blob", generated(n, CHUNK))
        .await
        .expect("big put");
    assert_eq!(info.size, mib * 1024 * 1024);
    assert_eq!(info.md5_hex(), md5);
    assert_eq!(info.sha256_hex(), sha);
    assert_eq!(
        blobs.head(root, "big/blob").await.expect("head"),
        Some(info.size)
    );

    // Read it back as a stream, hashing on the way.
    let mut r = blobs.get(root, "big/blob", None).await.expect("get");
    let mut rmd5 = Md5::new();
    let mut total = 0u64;
    while let Some(c) = r.next().await {
        let c = c.expect("chunk");
        total += c.len() as u64;
        rmd5.update(&c);
    }
    assert_eq!(total, info.size);
    assert_eq!(hex(&rmd5.finalize()), md5);

    // A range across a chunk boundary.
    let start = CHUNK as u64 - 10;
    let got = blobs
        .get(root, "big/blob", Some(start..start + 20))
        .await
        .expect("range")
        .bytes()
        .await
        .expect("bytes");
    let mut want = gen_chunk(0, CHUNK)[CHUNK - 10..].to_vec();
    want.extend_from_slice(&gen_chunk(1, CHUNK)[..10]);
    assert_eq!(&got[..], &want[..]);
    blobs.delete(root, "big/blob").await.expect("delete");
}

/// A put whose body fails midway publishes nothing, and leaves an existing
/// blob at the key untouched. `good_chunks` of 64 KiB come before the error.
pub async fn failed_put(blobs: &Blobs, root: BlobRoot, good_chunks: u64) {
    let err = blobs
        .put(root, "fail/new", failing(good_chunks, 64 * 1024))
        .await
        .expect_err("put must fail");
    assert!(matches!(err, BlobError::Body(_)), "{err:?}");
    assert!(matches!(
        blobs.get(root, "fail/new", None).await,
        Err(BlobError::NotFound(_))
    ));
    assert_eq!(blobs.head(root, "fail/new").await.expect("head"), None);

    blobs
        .put(root, "fail/old", chunked(b"old content", 4))
        .await
        .expect("put");
    let err = blobs
        .put(root, "fail/old", failing(good_chunks, 64 * 1024))
        .await
        .expect_err("put must fail");
    assert!(matches!(err, BlobError::Body(_)), "{err:?}");
    assert_eq!(read_all(blobs, root, "fail/old").await, b"old content");

    // A body that does not match what the caller announced is refused the
    // same way.
    let n = good_chunks.max(1);
    let len = n * 64 * 1024;
    for (opts, what) in [
        (
            PutOptions {
                expected_md5: Some([0; 16]),
                ..PutOptions::default()
            },
            "md5",
        ),
        (
            PutOptions {
                expected_sha256: Some([0; 32]),
                ..PutOptions::default()
            },
            "sha256",
        ),
        (
            PutOptions {
                expected_size: Some(len + 1),
                ..PutOptions::default()
            },
            "short",
        ),
        (
            PutOptions {
                expected_size: Some(len - 1),
                ..PutOptions::default()
            },
            "long",
        ),
    ] {
        let r = blobs
            .put_with(root, "fail/old", generated(n, 64 * 1024), &opts)
            .await;
        assert!(
            matches!(
                r,
                Err(BlobError::DigestMismatch { .. } | BlobError::SizeMismatch { .. })
            ),
            "{what}: {r:?}"
        );
        assert_eq!(read_all(blobs, root, "fail/old").await, b"old content");
    }
    // And accepted when it matches.
    let body = gen_chunk(7, 1000);
    let opts = PutOptions {
        expected_size: Some(1000),
        expected_md5: Some(Md5::digest(&body).into()),
        expected_sha256: Some(Sha256::digest(&body).into()),
    };
    blobs
        .put_with(root, "fail/old", chunked(&body, 100), &opts)
        .await
        .expect("matching put");
    assert_eq!(read_all(blobs, root, "fail/old").await, &body[..]);
    blobs.delete(root, "fail/old").await.expect("delete");
    assert!(blobs.list(root, "").await.expect("list").is_empty());
}

/// Readers of a key being overwritten see the whole old or the whole new
/// blob.
pub async fn atomic_overwrite(blobs: &Blobs, root: BlobRoot, rounds: usize) {
    let key = "atomic/blob";
    let a = vec![b'a'; 1024 * 1024];
    let b = vec![b'b'; 2 * 1024 * 1024 + 3];
    blobs
        .put(root, key, chunked(&a, 64 * 1024))
        .await
        .expect("put");
    let writer = {
        let blobs = blobs.clone();
        let (a, b) = (a.clone(), b.clone());
        tokio::spawn(async move {
            for i in 0..rounds {
                let body = if i % 2 == 0 { &b } else { &a };
                blobs
                    .put(root, key, chunked(body, 64 * 1024))
                    .await
                    .expect("overwrite");
            }
        })
    };
    let mut reads = 0;
    let mut seen = [false; 2];
    while !writer.is_finished() || reads < 3 {
        let r = blobs.get(root, key, None).await.expect("get");
        let size = r.size();
        let got = r.bytes().await.expect("read");
        assert_eq!(got.len() as u64, size);
        if got.len() == a.len() {
            assert!(got.iter().all(|&x| x == b'a'), "torn read (old)");
            seen[0] = true;
        } else {
            assert_eq!(got.len(), b.len(), "torn read (length)");
            assert!(got.iter().all(|&x| x == b'b'), "torn read (new)");
            seen[1] = true;
        }
        reads += 1;
    }
    writer.await.expect("writer");
    eprintln!("atomic_overwrite: {reads} reads, saw old/new: {seen:?}");
    assert!(reads >= 3);
    blobs.delete(root, key).await.expect("delete");
}
