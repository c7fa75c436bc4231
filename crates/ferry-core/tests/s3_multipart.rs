//! S3 multipart uploads, CopyObject and DeleteObjects in the domain: parts
//! in their own blobs, completion rules, the multipart ETag, bytes swept
//! once an upload is aborted or completed, and permissions across accounts.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use bytes::Bytes;
use ferry_core::CoreError;
use ferry_core::s3::{
    CompletedPart, CopyRequest, CopySource, GetRequest, ListUploadsRequest, MetadataDirective,
    ObjectHeaders, TaggingDirective,
};
use ferry_workers::Worker;
use futures::StreamExt;
use md5::{Digest, Md5};

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

async fn read_all(w: &World, who: &ferry_core::Principal, bucket: &str, key: &str) -> Vec<u8> {
    let got = w
        .ferry
        .get_object(&ctx(&w.ferry, who), bucket, key, GetRequest::default())
        .await
        .unwrap();
    let mut out = Vec::new();
    let mut s = got.body;
    while let Some(chunk) = s.next().await {
        out.extend_from_slice(&chunk.unwrap());
    }
    out
}

/// Blobs in the world's blob directory, of every account.
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

/// Runs the real blob collector after every grace time has passed.
async fn collect(w: &World) {
    w.clock.advance(chrono::Duration::days(2));
    let blobs = ferry_blob::Blobs::local(w.dir.path()).unwrap();
    let mut gc =
        ferry_workers::BlobCollector::new(w.ferry.placement().clone(), blobs, w.clock.clone());
    gc.step().await;
}

#[tokio::test]
async fn multipart_happy_path_with_the_s3_etag() {
    let w = world().await;
    let f = &w.ferry;
    let c = ctx(f, &w.vendor);
    f.create_bucket(&c, "mpu", "us-east-1").await.unwrap();
    let headers = ObjectHeaders {
        content_type: Some("text/csv".into()),
        metadata: vec![("owner".into(), "vendor".into())],
        ..Default::default()
    };
    let id = f
        .create_multipart_upload(&c, "mpu", "big.bin", headers)
        .await
        .unwrap();
    let parts = [data(5 * MIB, 1), data(5 * MIB, 2), data(1000, 3)];
    let mut etags = Vec::new();
    // Uploaded out of order; part 2 twice (the second replaces the first).
    for (n, p) in [
        (3, &parts[2]),
        (1, &parts[0]),
        (2, &parts[0]),
        (2, &parts[1]),
    ] {
        let md5 = base64_md5(p);
        let etag = f
            .upload_part(&c, "mpu", "big.bin", &id, n, Some(&md5), body(p))
            .await
            .unwrap();
        assert_eq!(etag, format!("\"{}\"", hex::encode(Md5::digest(p))));
        if etags.len() < 3 || n == 2 {
            etags.push((n, etag));
        }
    }
    let bad = f
        .upload_part(
            &c,
            "mpu",
            "big.bin",
            &id,
            4,
            Some(&base64_md5(b"other")),
            body(b"x"),
        )
        .await
        .unwrap_err();
    assert_eq!(bad.code(), "BadDigest");
    let listed = f
        .list_parts(&c, "mpu", "big.bin", &id, None, None)
        .await
        .unwrap();
    assert_eq!(
        listed
            .parts
            .iter()
            .map(|p| (p.part_number, p.size))
            .collect::<Vec<_>>(),
        [(1, 5 * MIB as u64), (2, 5 * MIB as u64), (3, 1000)]
    );
    let page = f
        .list_parts(&c, "mpu", "big.bin", &id, Some(1), Some(1))
        .await
        .unwrap();
    assert_eq!(page.parts.len(), 1);
    assert_eq!(page.parts[0].part_number, 2);
    assert!(page.is_truncated);
    assert_eq!(page.next_part_number_marker, Some(2));
    let uploads = f
        .list_multipart_uploads(&c, "mpu", ListUploadsRequest::default())
        .await
        .unwrap();
    assert_eq!(uploads.uploads.len(), 1);
    assert_eq!(uploads.uploads[0].key, "big.bin");
    assert_eq!(uploads.uploads[0].initiator, w.vendor.arn);

    let complete: Vec<CompletedPart> = listed
        .parts
        .iter()
        .map(|p| CompletedPart {
            part_number: p.part_number,
            etag: p.etag.clone(),
            ..Default::default()
        })
        .collect();
    let etag = f
        .complete_multipart_upload(&c, "mpu", "big.bin", &id, complete.clone())
        .await
        .unwrap();
    // Independently: MD5 of the concatenated binary MD5s, then -N.
    let mut h = Md5::new();
    for p in &parts {
        h.update(Md5::digest(p));
    }
    assert_eq!(etag, format!("\"{}-3\"", hex::encode(h.finalize())));
    let whole: Vec<u8> = parts.concat();
    assert_eq!(read_all(&w, &w.vendor, "mpu", "big.bin").await, whole);
    let info = f
        .head_object(&c, "mpu", "big.bin", GetRequest::default())
        .await
        .unwrap();
    assert_eq!(info.etag, etag);
    assert_eq!(info.size, whole.len() as u64);
    assert_eq!(info.headers.content_type.as_deref(), Some("text/csv"));
    assert_eq!(
        info.headers.metadata,
        [("owner".to_string(), "vendor".to_string())]
    );
    // The upload is gone, and so are the parts' bytes once collected.
    let err = f
        .complete_multipart_upload(&c, "mpu", "big.bin", &id, complete)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "NoSuchUpload");
    assert!(
        f.list_multipart_uploads(&c, "mpu", ListUploadsRequest::default())
            .await
            .unwrap()
            .uploads
            .is_empty()
    );
    collect(&w).await;
    assert_eq!(blob_files(&w), 1, "only the object's blob is left");
    assert_eq!(read_all(&w, &w.vendor, "mpu", "big.bin").await, whole);
}

fn base64_md5(d: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(Md5::digest(d))
}

async fn upload(w: &World, key: &str, parts: &[Vec<u8>]) -> (String, Vec<CompletedPart>) {
    let f = &w.ferry;
    let c = ctx(f, &w.vendor);
    let id = f
        .create_multipart_upload(&c, "mpu", key, ObjectHeaders::default())
        .await
        .unwrap();
    let mut done = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        let n = i32::try_from(i + 1).unwrap();
        let etag = f
            .upload_part(&c, "mpu", key, &id, n, None, body(p))
            .await
            .unwrap();
        done.push(CompletedPart {
            part_number: n,
            etag,
            ..Default::default()
        });
    }
    (id, done)
}

#[tokio::test]
async fn completion_rules() {
    let w = world().await;
    let f = &w.ferry;
    let c = ctx(f, &w.vendor);
    f.create_bucket(&c, "mpu", "us-east-1").await.unwrap();
    // Every part but the last at least 5 MiB.
    let (id, parts) = upload(&w, "small", &[data(100, 1), data(100, 2)]).await;
    let err = f
        .complete_multipart_upload(&c, "mpu", "small", &id, parts.clone())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "EntityTooSmall");
    // A single small part is fine (it is the last).
    let etag = f
        .complete_multipart_upload(&c, "mpu", "small", &id, parts[..1].to_vec())
        .await
        .unwrap();
    assert!(etag.ends_with("-1\""), "{etag}");
    assert_eq!(read_all(&w, &w.vendor, "mpu", "small").await, data(100, 1));

    let (id, parts) = upload(&w, "k", &[data(5 * MIB, 1), data(10, 2)]).await;
    let mut wrong_etag = parts.clone();
    wrong_etag[1].etag = "\"00000000000000000000000000000000\"".into();
    let err = f
        .complete_multipart_upload(&c, "mpu", "k", &id, wrong_etag)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "InvalidPart");
    let mut missing = parts.clone();
    missing[1].part_number = 7;
    let err = f
        .complete_multipart_upload(&c, "mpu", "k", &id, missing)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "InvalidPart");
    let reversed: Vec<CompletedPart> = parts.iter().rev().cloned().collect();
    let err = f
        .complete_multipart_upload(&c, "mpu", "k", &id, reversed)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "InvalidPartOrder");
    let err = f
        .complete_multipart_upload(&c, "mpu", "k", &id, Vec::new())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "MalformedXML");
    for n in [0, 10_001] {
        let err = f
            .upload_part(&c, "mpu", "k", &id, n, None, body(b"x"))
            .await
            .unwrap_err();
        assert_eq!(err.code(), "InvalidArgument");
    }
    // The upload id belongs to its key.
    let err = f
        .upload_part(&c, "mpu", "other", &id, 1, None, body(b"x"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "NoSuchUpload");
    let err = f
        .abort_multipart_upload(&c, "mpu", "k", "nope")
        .await
        .unwrap_err();
    assert_eq!(err.code(), "NoSuchUpload");
    // Unquoted ETags are accepted, as on S3.
    let mut bare = parts.clone();
    for p in &mut bare {
        p.etag = p.etag.trim_matches('"').to_string();
    }
    f.complete_multipart_upload(&c, "mpu", "k", &id, bare)
        .await
        .unwrap();
}

#[tokio::test]
async fn abort_leaves_no_bytes_after_the_collector_runs() {
    let w = world().await;
    let f = &w.ferry;
    let c = ctx(f, &w.vendor);
    f.create_bucket(&c, "mpu", "us-east-1").await.unwrap();
    let (id, _) = upload(&w, "gone", &[data(1000, 1), data(1000, 2)]).await;
    assert_eq!(blob_files(&w), 2);
    // Parts are kept while the upload is open, however long it takes.
    collect(&w).await;
    assert_eq!(blob_files(&w), 2, "an open upload keeps its parts");
    f.abort_multipart_upload(&c, "mpu", "gone", &id)
        .await
        .unwrap();
    let err = f
        .list_parts(&c, "mpu", "gone", &id, None, None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "NoSuchUpload");
    collect(&w).await;
    assert_eq!(blob_files(&w), 0, "the aborted parts' bytes are gone");
}

#[tokio::test]
async fn another_account_is_refused_without_a_grant() {
    let w = world().await;
    let f = &w.ferry;
    let v = ctx(f, &w.vendor);
    let cu = ctx(f, &w.customer);
    f.create_bucket(&v, "mpu", "us-east-1").await.unwrap();
    let (id, parts) = upload(&w, "k", &[data(10, 1)]).await;
    let denied = |e: CoreError| assert!(matches!(e, CoreError::AccessDenied(_)), "{e:?}");
    denied(
        f.create_multipart_upload(&cu, "mpu", "x", ObjectHeaders::default())
            .await
            .unwrap_err(),
    );
    denied(
        f.upload_part(&cu, "mpu", "k", &id, 2, None, body(b"x"))
            .await
            .unwrap_err(),
    );
    denied(
        f.list_parts(&cu, "mpu", "k", &id, None, None)
            .await
            .unwrap_err(),
    );
    denied(
        f.list_multipart_uploads(&cu, "mpu", ListUploadsRequest::default())
            .await
            .unwrap_err(),
    );
    denied(
        f.complete_multipart_upload(&cu, "mpu", "k", &id, parts.clone())
            .await
            .unwrap_err(),
    );
    denied(
        f.abort_multipart_upload(&cu, "mpu", "k", &id)
            .await
            .unwrap_err(),
    );
    f.complete_multipart_upload(&v, "mpu", "k", &id, parts)
        .await
        .unwrap();
}

#[tokio::test]
async fn copy_object_within_and_across_accounts() {
    let w = world().await;
    let f = &w.ferry;
    let v = ctx(f, &w.vendor);
    let cu = ctx(f, &w.customer);
    f.create_bucket(&v, "src", "us-east-1").await.unwrap();
    f.create_bucket(&cu, "dst", "us-east-1").await.unwrap();
    let headers = ObjectHeaders {
        content_type: Some("text/plain".into()),
        metadata: vec![("a".into(), "1".into())],
        ..Default::default()
    };
    let etag = f
        .put_object(&v, "src", "o.txt", headers, body(b"hello"))
        .await
        .unwrap();
    let copy = |directive| CopyRequest {
        source: CopySource {
            bucket: "src".into(),
            key: "o.txt".into(),
            conditions: GetRequest::default(),
        },
        directive,
        tagging: TaggingDirective::Copy,
        checksum_algorithm: None,
    };
    // Same account: COPY keeps the metadata.
    let (e, _) = f
        .copy_object(&v, "src", "copy.txt", copy(MetadataDirective::Copy))
        .await
        .unwrap();
    assert_eq!(e, etag);
    let info = f
        .head_object(&v, "src", "copy.txt", GetRequest::default())
        .await
        .unwrap();
    assert_eq!(info.headers.metadata, [("a".to_string(), "1".to_string())]);
    // Onto itself: only with REPLACE.
    let err = f
        .copy_object(&v, "src", "o.txt", copy(MetadataDirective::Copy))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "InvalidRequest");
    let replaced = ObjectHeaders {
        metadata: vec![("b".into(), "2".into())],
        ..Default::default()
    };
    f.copy_object(
        &v,
        "src",
        "o.txt",
        copy(MetadataDirective::Replace(replaced)),
    )
    .await
    .unwrap();
    let info = f
        .head_object(&v, "src", "o.txt", GetRequest::default())
        .await
        .unwrap();
    assert_eq!(info.headers.metadata, [("b".to_string(), "2".to_string())]);
    assert_eq!(read_all(&w, &w.vendor, "src", "o.txt").await, b"hello");
    // Across accounts: the customer needs s3:GetObject on the vendor's
    // object (bucket policy) and s3:PutObject on its own bucket.
    let err = f
        .copy_object(&cu, "dst", "o.txt", copy(MetadataDirective::Copy))
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::AccessDenied(_)), "{err:?}");
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{}:root"}},"Action":"s3:GetObject","Resource":"arn:aws:s3:::src/*"}}]}}"#,
        w.customer.account
    );
    f.put_bucket_policy(&v, "src", &policy).await.unwrap();
    f.copy_object(&cu, "dst", "o.txt", copy(MetadataDirective::Copy))
        .await
        .unwrap();
    assert_eq!(read_all(&w, &w.customer, "dst", "o.txt").await, b"hello");
    // The vendor may read its own source but not write the customer's bucket.
    let err = f
        .copy_object(&v, "dst", "again.txt", copy(MetadataDirective::Copy))
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::AccessDenied(_)), "{err:?}");
    // UploadPartCopy takes a range of the source.
    let id = f
        .create_multipart_upload(&cu, "dst", "ranged", ObjectHeaders::default())
        .await
        .unwrap();
    let part = f
        .upload_part_copy(
            &cu,
            "dst",
            "ranged",
            &id,
            1,
            "src",
            "o.txt",
            GetRequest {
                range: Some(ferry_core::s3::ByteRange::FromTo(1, 3)),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(part.size, 3);
    f.complete_multipart_upload(
        &cu,
        "dst",
        "ranged",
        &id,
        vec![CompletedPart {
            part_number: 1,
            etag: part.etag,
            ..Default::default()
        }],
    )
    .await
    .unwrap();
    assert_eq!(read_all(&w, &w.customer, "dst", "ranged").await, b"ell");
}

#[tokio::test]
async fn delete_objects_reports_each_key() {
    let w = world().await;
    let f = &w.ferry;
    let v = ctx(f, &w.vendor);
    let cu = ctx(f, &w.customer);
    f.create_bucket(&v, "many", "us-east-1").await.unwrap();
    for k in ["a", "b", "c"] {
        f.put_object(&v, "many", k, ObjectHeaders::default(), body(b"x"))
            .await
            .unwrap();
    }
    let out = f
        .delete_objects(&v, "many", vec!["a".into(), "b".into(), "missing".into()])
        .await
        .unwrap();
    assert!(out.iter().all(|r| r.error.is_none()), "{out:?}");
    let out = f
        .delete_objects(&cu, "many", vec!["c".into()])
        .await
        .unwrap();
    assert!(matches!(out[0].error, Some(CoreError::AccessDenied(_))));
    assert_eq!(read_all(&w, &w.vendor, "many", "c").await, b"x");
    let err = f
        .delete_objects(&v, "many", (0..1001).map(|i| i.to_string()).collect())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "MalformedXML");
    let err = f
        .delete_objects(&v, "nobucket-here", vec!["a".into()])
        .await
        .unwrap_err();
    assert_eq!(err.code(), "NoSuchBucket");
}

#[tokio::test]
async fn deleting_a_bucket_aborts_its_uploads() {
    let w = world().await;
    let f = &w.ferry;
    let c = ctx(f, &w.vendor);
    f.create_bucket(&c, "mpu", "us-east-1").await.unwrap();
    let (id, _) = upload(&w, "open", &[data(1000, 1)]).await;
    f.delete_bucket(&c, "mpu").await.unwrap();
    collect(&w).await;
    assert_eq!(blob_files(&w), 0, "the open upload's part is gone");
    // A bucket of the same name starts without the old upload.
    f.create_bucket(&c, "mpu", "us-east-1").await.unwrap();
    let err = f
        .list_parts(&c, "mpu", "open", &id, None, None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "NoSuchUpload");
}

#[tokio::test]
async fn multipart_through_an_access_point_needs_both_policies() {
    let w = world().await;
    let f = &w.ferry;
    let v = ctx(f, &w.vendor);
    let cu = ctx(f, &w.customer);
    let vendor = w.vendor.account;
    let customer = w.customer.account;
    f.create_bucket(&v, "ap-mpu", "us-east-1").await.unwrap();
    let ap = f
        .create_access_point(&v, vendor, "drop", "ap-mpu", None, None)
        .await
        .unwrap();
    // The bucket delegates to the vendor's access points.
    let delegating = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"*"}},"Action":["s3:PutObject","s3:AbortMultipartUpload","s3:ListMultipartUploadParts"],"Resource":"arn:aws:s3:::ap-mpu/*","Condition":{{"StringEquals":{{"s3:DataAccessPointAccount":"{vendor}"}}}}}}]}}"#
    );
    f.put_bucket_policy(&v, "ap-mpu", &delegating)
        .await
        .unwrap();
    let denied = |e: CoreError| assert!(matches!(e, CoreError::AccessDenied(_)), "{e:?}");
    // No access point policy yet: refused.
    denied(
        f.create_multipart_upload(&cu, &ap.alias, "in/x", ObjectHeaders::default())
            .await
            .unwrap_err(),
    );
    let ap_policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{customer}:root"}},"Action":["s3:PutObject","s3:ListMultipartUploadParts"],"Resource":"{}/object/in/*"}}]}}"#,
        ap.arn
    );
    f.put_access_point_policy(&v, vendor, "drop", &ap_policy)
        .await
        .unwrap();
    let id = f
        .create_multipart_upload(&cu, &ap.alias, "in/x", ObjectHeaders::default())
        .await
        .unwrap();
    let etag = f
        .upload_part(
            &cu,
            &ap.alias,
            "in/x",
            &id,
            1,
            None,
            body(b"through the door"),
        )
        .await
        .unwrap();
    assert_eq!(
        f.list_parts(&cu, &ap.alias, "in/x", &id, None, None)
            .await
            .unwrap()
            .parts
            .len(),
        1
    );
    // Outside the prefix the access point grants, and actions it does not
    // grant: refused.
    denied(
        f.create_multipart_upload(&cu, &ap.alias, "other/x", ObjectHeaders::default())
            .await
            .unwrap_err(),
    );
    denied(
        f.abort_multipart_upload(&cu, &ap.alias, "in/x", &id)
            .await
            .unwrap_err(),
    );
    denied(
        f.list_multipart_uploads(&cu, &ap.alias, ListUploadsRequest::default())
            .await
            .unwrap_err(),
    );
    f.complete_multipart_upload(
        &cu,
        &ap.alias,
        "in/x",
        &id,
        vec![CompletedPart {
            part_number: 1,
            etag,
            ..Default::default()
        }],
    )
    .await
    .unwrap();
    assert_eq!(
        read_all(&w, &w.vendor, "ap-mpu", "in/x").await,
        b"through the door"
    );
}

#[tokio::test]
async fn listing_uploads_rolls_up_prefixes_and_pages() {
    let w = world().await;
    let f = &w.ferry;
    let c = ctx(f, &w.vendor);
    f.create_bucket(&c, "mpu", "us-east-1").await.unwrap();
    for key in ["a/1", "a/2", "b/x/1", "c"] {
        f.create_multipart_upload(&c, "mpu", key, ObjectHeaders::default())
            .await
            .unwrap();
    }
    let list = |marker: Option<&str>, max: Option<usize>| ListUploadsRequest {
        delimiter: Some("/".into()),
        key_marker: marker.map(str::to_string),
        max_uploads: max,
        ..Default::default()
    };
    let all = f
        .list_multipart_uploads(&c, "mpu", list(None, None))
        .await
        .unwrap();
    assert_eq!(all.common_prefixes, ["a/", "b/"]);
    assert_eq!(
        all.uploads
            .iter()
            .map(|u| u.key.as_str())
            .collect::<Vec<_>>(),
        ["c"]
    );
    assert!(!all.is_truncated);
    // One entry a page: a prefix is one entry, and the next page starts
    // after all of it.
    let mut marker: Option<String> = None;
    let mut seen = Vec::new();
    loop {
        let page = f
            .list_multipart_uploads(&c, "mpu", list(marker.as_deref(), Some(1)))
            .await
            .unwrap();
        seen.extend(page.common_prefixes.clone());
        seen.extend(page.uploads.iter().map(|u| u.key.clone()));
        if !page.is_truncated {
            break;
        }
        marker = page.next_key_marker;
    }
    assert_eq!(seen, ["a/", "b/", "c"]);
    let under_b = f
        .list_multipart_uploads(
            &c,
            "mpu",
            ListUploadsRequest {
                prefix: "b/".into(),
                delimiter: Some("/".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(under_b.common_prefixes, ["b/x/"]);
    assert!(under_b.uploads.is_empty());
}
