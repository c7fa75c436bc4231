//! S3 flexible checksums in the domain: each algorithm checked on the way
//! in (header or trailer) and shown on whole-object reads when asked, a
//! mismatch storing nothing, multipart composite and full-object checksums,
//! copies, and the owner-only view across accounts.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::sync::Arc;

use bytes::Bytes;
use ferry_core::CoreError;
use ferry_core::s3::checksum::compute;
use ferry_core::s3::{
    ByteRange, Checksum, ChecksumAlgorithm, ChecksumRequest, ChecksumType, CompletedPart,
    CopyRequest, CopySource, GetRequest, MetadataDirective, ObjectHeaders, TaggingDirective,
    TrailerSource,
};
use sha2::{Digest, Sha256};

mod common;
use common::{World, ctx, world};

const MIB: usize = 1024 * 1024;

fn body(
    data: &[u8],
) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> + Send + Unpin + 'static {
    let chunks: Vec<Result<Bytes, std::io::Error>> = data
        .chunks(64 * 1024)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    futures::stream::iter(chunks)
}

fn data(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i % 251) as u8 ^ seed.wrapping_mul(31))
        .collect()
}

fn b64(d: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(d)
}

fn with_mode() -> GetRequest {
    GetRequest {
        checksum_mode: true,
        ..Default::default()
    }
}

/// Files under the world's blob directory (blobs and temp files alike).
fn blob_files(w: &World) -> usize {
    fn walk(p: &std::path::Path) -> usize {
        let Ok(rd) = std::fs::read_dir(p) else {
            return 0;
        };
        rd.flatten()
            .map(|e| {
                let path = e.path();
                if path.is_dir() { walk(&path) } else { 1 }
            })
            .sum()
    }
    walk(w.dir.path())
}

/// `hello world` in each algorithm, computed independently with Python
/// (zlib.crc32, a bitwise CRC-32C and CRC-64/NVME, hashlib).
const HELLO: [(ChecksumAlgorithm, &str); 5] = [
    (ChecksumAlgorithm::Crc32, "DUoRhQ=="),
    (ChecksumAlgorithm::Crc32c, "yZRlqg=="),
    (ChecksumAlgorithm::Crc64nvme, "jSnVw/bqjr4="),
    (ChecksumAlgorithm::Sha1, "Kq5sNclPz7QV2+lfQIuc6R7oRu0="),
    (
        ChecksumAlgorithm::Sha256,
        "uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek=",
    ),
];

#[tokio::test]
async fn each_algorithm_is_checked_stored_and_shown_when_asked() {
    let w = world().await;
    let f = &w.ferry;
    let c = ctx(f, &w.vendor);
    f.create_bucket(&c, "sums", "us-east-1").await.unwrap();
    for (a, value) in HELLO {
        let key = format!("k-{a}");
        let put = f
            .put_object_with(
                &c,
                "sums",
                &key,
                ObjectHeaders::default(),
                ChecksumRequest::header(a, value),
                body(b"hello world"),
            )
            .await
            .unwrap();
        assert_eq!(put.checksum.value, value, "{a}");
        assert_eq!(put.checksum.kind, ChecksumType::FullObject);
        let info = f.head_object(&c, "sums", &key, with_mode()).await.unwrap();
        assert_eq!(
            info.checksum,
            Some(Checksum {
                algorithm: a,
                kind: ChecksumType::FullObject,
                value: value.to_string()
            })
        );
        let got = f.get_object(&c, "sums", &key, with_mode()).await.unwrap();
        assert_eq!(got.info.checksum.map(|c| c.value).as_deref(), Some(value));
        // Not asked for, or only a range: not shown.
        let info = f
            .head_object(&c, "sums", &key, GetRequest::default())
            .await
            .unwrap();
        assert_eq!(info.checksum, None);
        let ranged = GetRequest {
            range: Some(ByteRange::FromTo(0, 3)),
            ..with_mode()
        };
        let got = f.get_object(&c, "sums", &key, ranged).await.unwrap();
        assert_eq!(got.info.checksum, None);
    }
    // Without a checksum asked for, S3's default: CRC64NVME.
    f.put_object(
        &c,
        "sums",
        "plain",
        ObjectHeaders::default(),
        body(b"hello world"),
    )
    .await
    .unwrap();
    let info = f
        .head_object(&c, "sums", "plain", with_mode())
        .await
        .unwrap();
    let sum = info.checksum.unwrap();
    assert_eq!(sum.algorithm, ChecksumAlgorithm::Crc64nvme);
    assert_eq!(sum.value, "jSnVw/bqjr4=");
}

#[tokio::test]
async fn a_mismatch_stores_nothing_and_a_malformed_value_is_refused() {
    let w = world().await;
    let f = &w.ferry;
    let c = ctx(f, &w.vendor);
    f.create_bucket(&c, "sums", "us-east-1").await.unwrap();
    let before = blob_files(&w);
    // The CRC32 of "other".
    let e = f
        .put_object_with(
            &c,
            "sums",
            "bad",
            ObjectHeaders::default(),
            ChecksumRequest::header(ChecksumAlgorithm::Crc32, "2Vg1IA=="),
            body(b"hello world"),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), "BadDigest");
    assert_eq!(
        e.to_string(),
        "The CRC32 you specified did not match the calculated checksum."
    );
    let e = f
        .head_object(&c, "sums", "bad", GetRequest::default())
        .await
        .unwrap_err();
    assert_eq!(e.code(), "NoSuchKey");
    assert_eq!(blob_files(&w), before, "no blob left behind");

    // An existing object survives a bad overwrite.
    f.put_object(&c, "sums", "keep", ObjectHeaders::default(), body(b"v1"))
        .await
        .unwrap();
    let e = f
        .put_object_with(
            &c,
            "sums",
            "keep",
            ObjectHeaders::default(),
            ChecksumRequest::header(ChecksumAlgorithm::Sha256, HELLO[4].1),
            body(b"v2"),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), "BadDigest");
    let info = f
        .head_object(&c, "sums", "keep", GetRequest::default())
        .await
        .unwrap();
    assert_eq!(info.size, 2);

    for bad in ["not base64!", "AAAA", "AAAAAAAAAAAA"] {
        let e = f
            .put_object_with(
                &c,
                "sums",
                "malformed",
                ObjectHeaders::default(),
                ChecksumRequest::header(ChecksumAlgorithm::Crc32, bad),
                body(b"x"),
            )
            .await
            .unwrap_err();
        assert_eq!(e.code(), "InvalidRequest", "{bad}");
    }
}

#[tokio::test]
async fn a_trailer_is_read_after_the_body() {
    let w = world().await;
    let f = &w.ferry;
    let c = ctx(f, &w.vendor);
    f.create_bucket(&c, "sums", "us-east-1").await.unwrap();
    let trailer = |value: &'static str| ChecksumRequest {
        algorithm: Some("CRC32C".into()),
        trailer: Some("x-amz-checksum-crc32c".into()),
        trailers: Some(Arc::new(move |name: &str| {
            (name == "x-amz-checksum-crc32c").then(|| value.to_string())
        }) as TrailerSource),
        ..Default::default()
    };
    let put = f
        .put_object_with(
            &c,
            "sums",
            "t",
            ObjectHeaders::default(),
            trailer("yZRlqg=="),
            body(b"hello world"),
        )
        .await
        .unwrap();
    assert_eq!(put.checksum.algorithm, ChecksumAlgorithm::Crc32c);
    let e = f
        .put_object_with(
            &c,
            "sums",
            "t2",
            ObjectHeaders::default(),
            trailer("AAAAAA=="),
            body(b"hello world"),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), "BadDigest");
    assert_eq!(
        f.head_object(&c, "sums", "t2", GetRequest::default())
            .await
            .unwrap_err()
            .code(),
        "NoSuchKey"
    );
}

#[tokio::test]
async fn multipart_composite_sha256() {
    let w = world().await;
    let f = &w.ferry;
    let c = ctx(f, &w.vendor);
    f.create_bucket(&c, "mpu", "us-east-1").await.unwrap();
    let (id, made) = f
        .create_multipart_upload_with(
            &c,
            "mpu",
            "big",
            ObjectHeaders::default(),
            Some("SHA256"),
            None,
        )
        .await
        .unwrap();
    let made = made.unwrap();
    assert_eq!(
        (made.algorithm, made.kind),
        (ChecksumAlgorithm::Sha256, ChecksumType::Composite)
    );
    let parts = [data(5 * MIB, 1), data(1000, 2)];
    // Part 1 carries its checksum; part 2 none (the server computes it).
    let p1 = f
        .upload_part_with(
            &c,
            "mpu",
            "big",
            &id,
            1,
            None,
            ChecksumRequest::header(ChecksumAlgorithm::Sha256, b64(&Sha256::digest(&parts[0]))),
            body(&parts[0]),
        )
        .await
        .unwrap();
    let p2 = f
        .upload_part_with(
            &c,
            "mpu",
            "big",
            &id,
            2,
            None,
            ChecksumRequest::default(),
            body(&parts[1]),
        )
        .await
        .unwrap();
    assert_eq!(
        p2.checksum.as_ref().map(|c| c.value.clone()),
        Some(b64(&Sha256::digest(&parts[1])))
    );
    // A part of another algorithm, or a wrong one, is refused.
    let e = f
        .upload_part_with(
            &c,
            "mpu",
            "big",
            &id,
            3,
            None,
            ChecksumRequest::header(ChecksumAlgorithm::Crc32, "DUoRhQ=="),
            body(b"hello world"),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), "InvalidRequest");
    let e = f
        .upload_part_with(
            &c,
            "mpu",
            "big",
            &id,
            3,
            None,
            ChecksumRequest::header(ChecksumAlgorithm::Sha256, HELLO[4].1),
            body(b"not hello"),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), "BadDigest");
    let listed = f
        .list_parts(&c, "mpu", "big", &id, None, None)
        .await
        .unwrap();
    assert_eq!(listed.parts.len(), 2);
    assert_eq!(listed.parts[0].checksum, p1.checksum);
    assert_eq!(listed.checksum, Some(made));

    let complete = |sums: [Option<String>; 2]| -> Vec<CompletedPart> {
        [&p1, &p2]
            .iter()
            .zip(sums)
            .map(|(p, s)| CompletedPart {
                part_number: p.part_number,
                etag: p.etag.clone(),
                checksum: s.map(|s| (ChecksumAlgorithm::Sha256, s)),
            })
            .collect()
    };
    let good = [
        p1.checksum.clone().map(|c| c.value),
        p2.checksum.clone().map(|c| c.value),
    ];
    // A wrong part checksum, or a missing one, fails; the upload stays.
    let e = f
        .complete_multipart_upload_with(
            &c,
            "mpu",
            "big",
            &id,
            complete([good[0].clone(), Some(HELLO[4].1.to_string())]),
            ChecksumRequest::default(),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), "InvalidPart");
    let e = f
        .complete_multipart_upload_with(
            &c,
            "mpu",
            "big",
            &id,
            complete([good[0].clone(), None]),
            ChecksumRequest::default(),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), "InvalidRequest");
    let e = f
        .complete_multipart_upload_with(
            &c,
            "mpu",
            "big",
            &id,
            complete(good.clone()),
            ChecksumRequest::default(),
            Some("FULL_OBJECT"),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), "BadDigest");

    let done = f
        .complete_multipart_upload_with(
            &c,
            "mpu",
            "big",
            &id,
            complete(good),
            ChecksumRequest::default(),
            Some("COMPOSITE"),
        )
        .await
        .unwrap();
    // Independently: SHA-256 of the parts' binary SHA-256s, then -N.
    let mut h = Sha256::new();
    for p in &parts {
        h.update(Sha256::digest(p));
    }
    let want = format!("{}-2", b64(&h.finalize()));
    assert_eq!(done.checksum.value, want);
    assert_eq!(done.checksum.kind, ChecksumType::Composite);
    let info = f.head_object(&c, "mpu", "big", with_mode()).await.unwrap();
    assert_eq!(info.checksum, Some(done.checksum));
}

#[tokio::test]
async fn multipart_full_object_checksums() {
    let w = world().await;
    let f = &w.ferry;
    let c = ctx(f, &w.vendor);
    f.create_bucket(&c, "mpu", "us-east-1").await.unwrap();
    let parts = [data(5 * MIB, 3), data(77, 4)];
    let whole = parts.concat();
    let e = f
        .create_multipart_upload_with(
            &c,
            "mpu",
            "x",
            ObjectHeaders::default(),
            Some("SHA1"),
            Some("FULL_OBJECT"),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), "InvalidRequest");

    for (algorithm, kind) in [(Some("CRC32"), Some("FULL_OBJECT")), (None, None)] {
        let (id, _) = f
            .create_multipart_upload_with(&c, "mpu", "x", ObjectHeaders::default(), algorithm, kind)
            .await
            .unwrap();
        let mut listed = Vec::new();
        for (i, p) in parts.iter().enumerate() {
            let n = i32::try_from(i + 1).unwrap();
            let part = f
                .upload_part_with(
                    &c,
                    "mpu",
                    "x",
                    &id,
                    n,
                    None,
                    ChecksumRequest::default(),
                    body(p),
                )
                .await
                .unwrap();
            listed.push(CompletedPart {
                part_number: n,
                etag: part.etag,
                checksum: part.checksum.map(|c| (c.algorithm, c.value)),
            });
        }
        let a = if algorithm.is_some() {
            ChecksumAlgorithm::Crc32
        } else {
            ChecksumAlgorithm::Crc64nvme
        };
        // A wrong whole-object value fails the completion, which can be
        // tried again.
        let e = f
            .complete_multipart_upload_with(
                &c,
                "mpu",
                "x",
                &id,
                listed.clone(),
                ChecksumRequest {
                    values: vec![(a.header().into(), b64(&compute(a, b"other")))],
                    ..Default::default()
                },
                None,
            )
            .await
            .unwrap_err();
        assert_eq!(e.code(), "BadDigest");
        let done = f
            .complete_multipart_upload_with(
                &c,
                "mpu",
                "x",
                &id,
                listed,
                ChecksumRequest {
                    values: vec![(a.header().into(), b64(&compute(a, &whole)))],
                    ..Default::default()
                },
                None,
            )
            .await
            .unwrap();
        assert_eq!(done.checksum, Checksum::full(a, &compute(a, &whole)));
    }
}

#[tokio::test]
async fn copies_keep_or_recompute_the_checksum() {
    let w = world().await;
    let f = &w.ferry;
    let c = ctx(f, &w.vendor);
    f.create_bucket(&c, "src", "us-east-1").await.unwrap();
    f.put_object_with(
        &c,
        "src",
        "o",
        ObjectHeaders::default(),
        ChecksumRequest::header(ChecksumAlgorithm::Crc32, "DUoRhQ=="),
        body(b"hello world"),
    )
    .await
    .unwrap();
    let copy = |key: &str, algorithm: Option<&str>| CopyRequest {
        source: CopySource {
            bucket: "src".into(),
            key: key.into(),
            conditions: GetRequest::default(),
        },
        directive: MetadataDirective::Copy,
        tagging: TaggingDirective::Copy,
        checksum_algorithm: algorithm.map(str::to_string),
    };
    let kept = f
        .copy_object_with(&c, "src", "kept", copy("o", None))
        .await
        .unwrap();
    assert_eq!(kept.checksum.algorithm, ChecksumAlgorithm::Crc32);
    assert_eq!(kept.checksum.value, "DUoRhQ==");
    let sha = f
        .copy_object_with(&c, "src", "sha", copy("o", Some("SHA1")))
        .await
        .unwrap();
    assert_eq!(sha.checksum.value, HELLO[3].1);
    // Onto itself: allowed when the algorithm changes, as S3's way to
    // re-checksum an object.
    let again = f
        .copy_object_with(&c, "src", "o", copy("o", Some("SHA256")))
        .await
        .unwrap();
    assert_eq!(again.checksum.value, HELLO[4].1);
    let info = f.head_object(&c, "src", "o", with_mode()).await.unwrap();
    assert_eq!(
        info.checksum.map(|c| c.algorithm),
        Some(ChecksumAlgorithm::Sha256)
    );
    let e = f
        .copy_object_with(&c, "src", "o", copy("o", Some("MD4")))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "InvalidRequest");
}

#[tokio::test]
async fn another_account_cannot_read_a_checksum() {
    let w = world().await;
    let f = &w.ferry;
    let v = ctx(f, &w.vendor);
    let cu = ctx(f, &w.customer);
    f.create_bucket(&v, "private", "us-east-1").await.unwrap();
    f.put_object(
        &v,
        "private",
        "o",
        ObjectHeaders::default(),
        body(b"secret"),
    )
    .await
    .unwrap();
    let e = f
        .head_object(&cu, "private", "o", with_mode())
        .await
        .unwrap_err();
    assert!(matches!(e, CoreError::AccessDenied(_)), "{e:?}");
}

#[tokio::test]
async fn uploads_in_progress_show_their_algorithm() {
    let w = world().await;
    let f = &w.ferry;
    let c = ctx(f, &w.vendor);
    f.create_bucket(&c, "mpu", "us-east-1").await.unwrap();
    f.create_multipart_upload_with(
        &c,
        "mpu",
        "a",
        ObjectHeaders::default(),
        Some("crc32c"),
        None,
    )
    .await
    .unwrap();
    f.create_multipart_upload(&c, "mpu", "b", ObjectHeaders::default())
        .await
        .unwrap();
    let page = f
        .list_multipart_uploads(&c, "mpu", Default::default())
        .await
        .unwrap();
    let sums: Vec<_> = page
        .uploads
        .iter()
        .map(|u| u.checksum.map(|c| (c.algorithm, c.kind)))
        .collect();
    assert_eq!(
        sums,
        [
            Some((ChecksumAlgorithm::Crc32c, ChecksumType::Composite)),
            None
        ]
    );
}
