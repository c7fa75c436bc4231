//! S3 buckets and objects in the domain: names across accounts, streaming
//! puts and ranged gets, conditional reads, listing with delimiters, bucket
//! policies across accounts, and blobs swept once nothing points at them.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use bytes::Bytes;
use ferry_core::CoreError;
use ferry_core::s3::{ByteRange, GetRequest, ListRequest, ObjectHeaders};
use futures::StreamExt;

mod common;
use common::{World, ctx, world};

fn body(
    data: &[u8],
) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> + Send + Unpin + 'static {
    let chunks: Vec<Result<Bytes, std::io::Error>> = data
        .chunks(7)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    futures::stream::iter(chunks)
}

async fn read_all(
    w: &World,
    bucket: &str,
    key: &str,
    req: GetRequest,
) -> Result<(Vec<u8>, Option<(u64, u64)>), CoreError> {
    let got = w
        .ferry
        .get_object(&ctx(&w.ferry, &w.vendor), bucket, key, req)
        .await?;
    let range = got.range;
    let mut out = Vec::new();
    let mut s = got.body;
    while let Some(chunk) = s.next().await {
        out.extend_from_slice(&chunk?);
    }
    Ok((out, range))
}

#[tokio::test]
async fn objects_round_trip_with_ranges_and_conditions() {
    let w = world().await;
    let f = &w.ferry;
    let c = ctx(f, &w.vendor);
    f.create_bucket(&c, "vendor-data", "us-east-1")
        .await
        .unwrap();
    let data: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
    let headers = ObjectHeaders {
        content_type: Some("application/octet-stream".into()),
        metadata: vec![("owner".into(), "vendor".into())],
        ..Default::default()
    };
    let etag = f
        .put_object(&c, "vendor-data", "a/b.bin", headers, body(&data))
        .await
        .unwrap();
    assert_eq!(etag, format!("\"{}\"", ferry_core::queue::md5_hex(&data)));
    let (all, range) = read_all(&w, "vendor-data", "a/b.bin", GetRequest::default())
        .await
        .unwrap();
    assert_eq!(all, data);
    assert_eq!(range, None);
    let (part, range) = read_all(
        &w,
        "vendor-data",
        "a/b.bin",
        GetRequest {
            range: Some(ByteRange::FromTo(10, 19)),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(part, &data[10..20]);
    assert_eq!(range, Some((10, 19)));
    let (tail, _) = read_all(
        &w,
        "vendor-data",
        "a/b.bin",
        GetRequest {
            range: Some(ByteRange::Suffix(5)),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(tail, &data[995..]);
    let err = read_all(
        &w,
        "vendor-data",
        "a/b.bin",
        GetRequest {
            range: Some(ByteRange::From(1000)),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), "InvalidRange");
    let info = f
        .head_object(&c, "vendor-data", "a/b.bin", GetRequest::default())
        .await
        .unwrap();
    assert_eq!(info.size, 1000);
    assert_eq!(
        info.headers.metadata,
        [("owner".to_string(), "vendor".to_string())]
    );
    let err = f
        .head_object(
            &c,
            "vendor-data",
            "a/b.bin",
            GetRequest {
                if_none_match: Some(etag.clone()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "NotModified");
    let err = f
        .head_object(
            &c,
            "vendor-data",
            "a/b.bin",
            GetRequest {
                if_match: Some("\"other\"".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "PreconditionFailed");
    // A wrong Content-MD5 stores nothing.
    let bad = ObjectHeaders {
        content_md5: Some("AAAAAAAAAAAAAAAAAAAAAA==".into()),
        ..Default::default()
    };
    let err = f
        .put_object(&c, "vendor-data", "a/b.bin", bad, body(b"other"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "BadDigest");
    let (still, _) = read_all(&w, "vendor-data", "a/b.bin", GetRequest::default())
        .await
        .unwrap();
    assert_eq!(still, data);
    // A body that fails midway stores nothing either.
    let failing = futures::stream::iter(vec![
        Ok(Bytes::from_static(b"half")),
        Err(CoreError::invalid("IncompleteBody", "the client went away")),
    ]);
    let err = f
        .put_object(
            &c,
            "vendor-data",
            "a/b.bin",
            ObjectHeaders::default(),
            failing,
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "IncompleteBody");
    let (still, _) = read_all(&w, "vendor-data", "a/b.bin", GetRequest::default())
        .await
        .unwrap();
    assert_eq!(still, data);
    // Bucket deletion waits for the objects to go.
    let err = f.delete_bucket(&c, "vendor-data").await.unwrap_err();
    assert_eq!(err.code(), "BucketNotEmpty");
    f.delete_object(&c, "vendor-data", "a/b.bin").await.unwrap();
    let err = read_all(&w, "vendor-data", "a/b.bin", GetRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "NoSuchKey");
    f.delete_bucket(&c, "vendor-data").await.unwrap();
    let err = f.head_bucket(&c, "vendor-data").await.unwrap_err();
    assert_eq!(err.code(), "NoSuchBucket");
}

#[tokio::test]
async fn bucket_names_are_shared_by_all_accounts() {
    let w = world().await;
    let f = &w.ferry;
    f.create_bucket(&ctx(f, &w.vendor), "taken-name", "us-east-1")
        .await
        .unwrap();
    let err = f
        .create_bucket(&ctx(f, &w.customer), "taken-name", "us-east-1")
        .await
        .unwrap_err();
    assert_eq!(err.code(), "BucketAlreadyExists");
    let err = f
        .create_bucket(&ctx(f, &w.vendor), "taken-name", "us-east-1")
        .await
        .unwrap_err();
    assert_eq!(err.code(), "BucketAlreadyOwnedByYou");
    let err = f
        .create_bucket(&ctx(f, &w.vendor), "Bad_Name", "us-east-1")
        .await
        .unwrap_err();
    assert_eq!(err.code(), "InvalidBucketName");
    let mine: Vec<String> = f
        .list_buckets(&ctx(f, &w.customer))
        .await
        .unwrap()
        .into_iter()
        .map(|b| b.name)
        .collect();
    assert!(mine.is_empty(), "another account's bucket is not listed");
}

#[tokio::test]
async fn another_account_needs_the_bucket_policy_and_missing_keys_are_not_revealed() {
    let w = world().await;
    let f = &w.ferry;
    let v = ctx(f, &w.vendor);
    let cu = ctx(f, &w.customer);
    f.create_bucket(&v, "exchange", "us-east-1").await.unwrap();
    f.put_object(
        &v,
        "exchange",
        "out/report.csv",
        ObjectHeaders::default(),
        body(b"a,b\n"),
    )
    .await
    .unwrap();
    let err = f
        .get_object(&cu, "exchange", "out/report.csv", GetRequest::default())
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::AccessDenied(_)), "{err:?}");
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{}:root"}},"Action":"s3:GetObject","Resource":"arn:aws:s3:::exchange/out/*"}}]}}"#,
        w.customer.account
    );
    f.put_bucket_policy(&v, "exchange", &policy).await.unwrap();
    let got = f
        .get_object(&cu, "exchange", "out/report.csv", GetRequest::default())
        .await
        .unwrap();
    assert_eq!(got.info.size, 4);
    // Outside the granted prefix, and writes: refused.
    let err = f
        .put_object(
            &cu,
            "exchange",
            "out/x",
            ObjectHeaders::default(),
            body(b"x"),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::AccessDenied(_)));
    // A missing key under the grant: AccessDenied without s3:ListBucket.
    let err = f
        .get_object(&cu, "exchange", "out/missing", GetRequest::default())
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::AccessDenied(_)), "{err:?}");
    let err = f.get_bucket_policy(&cu, "exchange").await.unwrap_err();
    assert!(matches!(err, CoreError::AccessDenied(_)));
    let err = f
        .put_bucket_policy(&v, "exchange", "{not json")
        .await
        .unwrap_err();
    assert_eq!(err.code(), "MalformedPolicy");
    f.delete_bucket_policy(&v, "exchange").await.unwrap();
    assert_eq!(
        f.get_bucket_policy(&v, "exchange")
            .await
            .unwrap_err()
            .code(),
        "NoSuchBucketPolicy"
    );
}

#[tokio::test]
async fn listing_rolls_up_prefixes_and_pages() {
    let w = world().await;
    let f = &w.ferry;
    let c = ctx(f, &w.vendor);
    f.create_bucket(&c, "listing", "us-east-1").await.unwrap();
    for key in ["a.txt", "docs/1", "docs/2", "docs/sub/3", "img/x", "z"] {
        f.put_object(&c, "listing", key, ObjectHeaders::default(), body(b"x"))
            .await
            .unwrap();
    }
    let page = f
        .list_objects(
            &c,
            "listing",
            ListRequest {
                delimiter: Some("/".into()),
                max_keys: 1000,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let keys: Vec<&str> = page.objects.iter().map(|o| o.key.as_str()).collect();
    assert_eq!(keys, ["a.txt", "z"]);
    assert_eq!(page.common_prefixes, ["docs/", "img/"]);
    assert!(!page.is_truncated);
    let page = f
        .list_objects(
            &c,
            "listing",
            ListRequest {
                prefix: "docs/".into(),
                delimiter: Some("/".into()),
                max_keys: 1000,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let keys: Vec<&str> = page.objects.iter().map(|o| o.key.as_str()).collect();
    assert_eq!(keys, ["docs/1", "docs/2"]);
    assert_eq!(page.common_prefixes, ["docs/sub/"]);
    // Pages of two, with prefixes counted as entries.
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = f
            .list_objects(
                &c,
                "listing",
                ListRequest {
                    delimiter: Some("/".into()),
                    max_keys: 2,
                    after: after.clone(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        seen.extend(page.objects.iter().map(|o| o.key.clone()));
        seen.extend(page.common_prefixes.iter().cloned());
        if !page.is_truncated {
            break;
        }
        after = page.next_after;
    }
    seen.sort();
    assert_eq!(seen, ["a.txt", "docs/", "img/", "z"]);
    let err = f
        .list_objects(
            &ctx(f, &w.customer),
            "listing",
            ListRequest {
                max_keys: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::AccessDenied(_)));
}

/// AWS's rule for access points, cell by cell: through an access point the
/// access point policy AND the bucket policy must allow (a bucket may
/// delegate with `s3:DataAccessPointAccount`); by bucket name only the
/// bucket side counts. Callers have full identity permissions, so in the
/// same account only explicit denies refuse; across accounts the resource
/// policies must grant.
#[tokio::test]
async fn the_access_point_matrix() {
    let w = world().await;
    let f = &w.ferry;
    let v = ctx(f, &w.vendor);
    let vendor = w.vendor.account;
    let customer = w.customer.account;
    f.create_bucket(&v, "matrix-data", "us-east-1")
        .await
        .unwrap();
    f.put_object(
        &v,
        "matrix-data",
        "shared/x",
        ObjectHeaders::default(),
        body(b"x"),
    )
    .await
    .unwrap();
    let ap = f
        .create_access_point(&v, vendor, "matrix-ap", "matrix-data", None, None)
        .await
        .unwrap();
    assert_eq!(
        f.create_access_point(&v, vendor, "matrix-ap", "matrix-data", None, None)
            .await
            .unwrap_err()
            .code(),
        "AccessPointAlreadyOwnedByYou"
    );
    let ap_object = format!("{}/object/shared/*", ap.arn);
    let stmt = |effect: &str, resource: &str, cond: &str| {
        let principal = if effect == "Deny" {
            "\"*\"".to_string()
        } else {
            format!(r#"{{"AWS":["arn:aws:iam::{customer}:root","arn:aws:iam::{vendor}:root"]}}"#)
        };
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"{effect}","Principal":{principal},"Action":"s3:GetObject","Resource":"{resource}"{cond}}}]}}"#
        )
    };
    let delegate =
        format!(r#","Condition":{{"StringEquals":{{"s3:DataAccessPointAccount":"{vendor}"}}}}"#);
    let delegating = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"*"}},"Action":"s3:GetObject","Resource":"arn:aws:s3:::matrix-data/*"{delegate}}}]}}"#
    );
    let ap_policies: Vec<(&str, Option<String>)> = vec![
        ("allow", Some(stmt("Allow", &ap_object, ""))),
        ("deny", Some(stmt("Deny", &ap_object, ""))),
        ("absent", None),
    ];
    let bucket_policies: Vec<(&str, Option<String>)> = vec![
        (
            "allow",
            Some(stmt("Allow", "arn:aws:s3:::matrix-data/*", "")),
        ),
        ("deny", Some(stmt("Deny", "arn:aws:s3:::matrix-data/*", ""))),
        ("delegating", Some(delegating)),
        ("absent", None),
    ];
    let mut checked = 0;
    for (ap_name, ap_policy) in &ap_policies {
        match ap_policy {
            Some(p) => f
                .put_access_point_policy(&v, vendor, "matrix-ap", p)
                .await
                .unwrap(),
            None => {
                let _ = f.delete_access_point_policy(&v, vendor, "matrix-ap").await;
            }
        }
        for (b_name, b_policy) in &bucket_policies {
            match b_policy {
                Some(p) => f.put_bucket_policy(&v, "matrix-data", p).await.unwrap(),
                None => {
                    let _ = f.delete_bucket_policy(&v, "matrix-data").await;
                }
            }
            for (caller, same) in [(&w.vendor, true), (&w.customer, false)] {
                for via_alias in [true, false] {
                    let target = if via_alias {
                        ap.alias.as_str()
                    } else {
                        "matrix-data"
                    };
                    let got = f
                        .get_object(&ctx(f, caller), target, "shared/x", GetRequest::default())
                        .await
                        .map(|_| ());
                    let bucket_ok = match *b_name {
                        "deny" => false,
                        "allow" => true,
                        "delegating" => via_alias || same,
                        _ => same,
                    };
                    let ap_ok = match *ap_name {
                        "deny" => false,
                        "allow" => true,
                        _ => same,
                    };
                    let expected = bucket_ok && (!via_alias || ap_ok);
                    assert_eq!(
                        got.is_ok(),
                        expected,
                        "access point policy {ap_name}, bucket policy {b_name}, {} account, via {}: {got:?}",
                        if same { "same" } else { "another" },
                        if via_alias { "alias" } else { "bucket name" },
                    );
                    if let Err(e) = got {
                        assert!(matches!(e, CoreError::AccessDenied(_)), "{e:?}");
                    }
                    checked += 1;
                }
            }
        }
    }
    assert_eq!(checked, 3 * 4 * 2 * 2);
    // S3 Control: get, list, policy status, delete.
    let got = f.get_access_point(&v, vendor, "matrix-ap").await.unwrap();
    assert_eq!(got.bucket, "matrix-data");
    assert_eq!(got.network_origin, "Internet");
    let listed = f
        .list_access_points(&v, vendor, Some("matrix-data"))
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    f.put_access_point_policy(
        &v,
        vendor,
        "matrix-ap",
        &format!(r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"{ap_object}"}}]}}"#),
    )
    .await
    .unwrap();
    assert!(
        f.get_access_point_policy_status(&v, vendor, "matrix-ap")
            .await
            .unwrap()
    );
    let err = f
        .get_access_point(&ctx(f, &w.customer), vendor, "matrix-ap")
        .await
        .unwrap_err();
    assert!(
        matches!(err, CoreError::AccessDenied(_)),
        "another account: {err:?}"
    );
    f.delete_access_point(&v, vendor, "matrix-ap")
        .await
        .unwrap();
    assert_eq!(
        f.get_access_point(&v, vendor, "matrix-ap")
            .await
            .unwrap_err()
            .code(),
        "NoSuchAccessPoint"
    );
    assert_eq!(
        f.get_object(&v, &ap.alias, "shared/x", GetRequest::default())
            .await
            .unwrap_err()
            .code(),
        "NoSuchBucket",
        "a deleted access point's alias leads nowhere"
    );
}

#[tokio::test]
async fn a_bucket_policy_can_require_header_signed_requests() {
    let w = world().await;
    let f = &w.ferry;
    let v = ctx(f, &w.vendor);
    f.create_bucket(&v, "header-only", "us-east-1")
        .await
        .unwrap();
    f.put_object(&v, "header-only", "k", ObjectHeaders::default(), body(b"x"))
        .await
        .unwrap();
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::header-only/*","Condition":{"StringNotEquals":{"s3:authType":"REST-HEADER"}}}]}"#;
    f.put_bucket_policy(&v, "header-only", policy)
        .await
        .unwrap();
    let signed = |auth_type: &str| {
        let mut c = ctx(f, &w.vendor);
        c.signing_keys = vec![
            ("s3:authType", auth_type.to_string()),
            ("s3:signatureversion", "AWS4-HMAC-SHA256".to_string()),
        ];
        c
    };
    f.get_object(
        &signed("REST-HEADER"),
        "header-only",
        "k",
        GetRequest::default(),
    )
    .await
    .unwrap();
    let err = f
        .get_object(
            &signed("REST-QUERY-STRING"),
            "header-only",
            "k",
            GetRequest::default(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, CoreError::AccessDenied(_)),
        "a presigned URL is refused: {err:?}"
    );
}

/// Unsigned requests are the anonymous principal: only a resource policy
/// that grants `*` lets it in, under that grant's conditions, and nothing
/// without one.
#[tokio::test]
async fn anonymous_callers_get_only_what_a_policy_grants_everyone() {
    let w = world().await;
    let f = &w.ferry;
    let v = ctx(f, &w.vendor);
    let anon = ctx(f, &ferry_core::Principal::anonymous());
    for b in ["site", "closed"] {
        f.create_bucket(&v, b, "us-east-1").await.unwrap();
        for key in ["public/index.html", "private/secret"] {
            f.put_object(&v, b, key, ObjectHeaders::default(), body(b"x"))
                .await
                .unwrap();
        }
    }
    let denied = |r: Result<(), CoreError>, what: &str| {
        assert!(
            matches!(r, Err(CoreError::AccessDenied(_))),
            "{what}: {r:?}"
        );
    };
    let get = |bucket: &'static str, key: &'static str| {
        let anon = anon.clone();
        async move {
            f.get_object(&anon, bucket, key, GetRequest::default())
                .await
                .map(|_| ())
        }
    };
    denied(get("site", "public/index.html").await, "no policy yet");
    let public = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::site/public/*"}]}"#;
    f.put_bucket_policy(&v, "site", public).await.unwrap();
    assert!(f.get_bucket_policy_status(&v, "site").await.unwrap());
    get("site", "public/index.html").await.unwrap();
    f.head_object(&anon, "site", "public/index.html", GetRequest::default())
        .await
        .unwrap();
    denied(get("site", "private/secret").await, "outside the grant");
    denied(get("closed", "public/index.html").await, "another bucket");
    denied(
        f.put_object(
            &anon,
            "site",
            "public/planted",
            ObjectHeaders::default(),
            body(b"x"),
        )
        .await
        .map(|_| ()),
        "a write not granted",
    );
    denied(
        f.list_buckets(&anon).await.map(|_| ()),
        "no account to list",
    );
    denied(
        f.create_bucket(&anon, "anon-bucket", "us-east-1").await,
        "no account to create in",
    );
    // Conditions hold anonymous callers too: a grant to `*` from elsewhere,
    // or only through the owner's access points, is not a grant here.
    for cond in [
        r#"{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}"#.to_string(),
        format!(
            r#"{{"StringEquals":{{"s3:DataAccessPointAccount":"{}"}}}}"#,
            w.vendor.account
        ),
    ] {
        let policy = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::site/public/*","Condition":{cond}}}]}}"#
        );
        f.put_bucket_policy(&v, "site", &policy).await.unwrap();
        assert!(!f.get_bucket_policy_status(&v, "site").await.unwrap());
        denied(get("site", "public/index.html").await, &cond);
    }
    // A granted write goes through, and is the bucket owner's object.
    let writable = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::site/drop/*"}]}"#;
    f.put_bucket_policy(&v, "site", writable).await.unwrap();
    f.put_object(
        &anon,
        "site",
        "drop/in",
        ObjectHeaders::default(),
        body(b"y"),
    )
    .await
    .unwrap();
    let got = f
        .head_object(&v, "site", "drop/in", GetRequest::default())
        .await
        .unwrap();
    assert_eq!(got.size, 1);
}

/// `CopyObject`'s tags: the source's by default (read with
/// `s3:GetObjectTagging`), the request's with `REPLACE`; a copy that gets
/// tags needs `s3:PutObjectTagging` on the destination.
#[tokio::test]
async fn copies_take_the_source_tags_or_the_requested_ones() {
    use ferry_core::s3::{CopyRequest, CopySource, MetadataDirective, TaggingDirective};
    let w = world().await;
    let f = &w.ferry;
    let v = ctx(f, &w.vendor);
    f.create_bucket(&v, "tagged", "us-east-1").await.unwrap();
    let tags = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, val)| (k.to_string(), val.to_string()))
            .collect()
    };
    f.put_object(
        &v,
        "tagged",
        "src",
        ObjectHeaders {
            tags: tags(&[("team", "a")]),
            ..Default::default()
        },
        body(b"x"),
    )
    .await
    .unwrap();
    let copy = |tagging| CopyRequest {
        source: CopySource {
            bucket: "tagged".into(),
            key: "src".into(),
            conditions: GetRequest::default(),
        },
        directive: MetadataDirective::Copy,
        tagging,
        checksum_algorithm: None,
    };
    f.copy_object(&v, "tagged", "copied", copy(TaggingDirective::Copy))
        .await
        .unwrap();
    assert_eq!(
        f.get_object_tagging(&v, "tagged", "copied").await.unwrap(),
        tags(&[("team", "a")])
    );
    f.copy_object(
        &v,
        "tagged",
        "replaced",
        copy(TaggingDirective::Replace(tags(&[("env", "prod")]))),
    )
    .await
    .unwrap();
    assert_eq!(
        f.get_object_tagging(&v, "tagged", "replaced")
            .await
            .unwrap(),
        tags(&[("env", "prod")])
    );
    f.copy_object(
        &v,
        "tagged",
        "untagged",
        copy(TaggingDirective::Replace(Vec::new())),
    )
    .await
    .unwrap();
    assert!(
        f.get_object_tagging(&v, "tagged", "untagged")
            .await
            .unwrap()
            .is_empty()
    );
    let err = f
        .copy_object(
            &v,
            "tagged",
            "bad",
            copy(TaggingDirective::Replace(tags(&[("aws:x", "1")]))),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "InvalidTag");
    // Without s3:GetObjectTagging on the source, COPY of a tagged source is
    // refused; without s3:PutObjectTagging, so is any copy that gets tags.
    for (action, tagging, key) in [
        ("s3:GetObjectTagging", TaggingDirective::Copy, "no-get"),
        (
            "s3:PutObjectTagging",
            TaggingDirective::Replace(tags(&[("k", "v")])),
            "no-put",
        ),
    ] {
        let deny = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Deny","Principal":"*","Action":"{action}","Resource":"arn:aws:s3:::tagged/*"}}]}}"#
        );
        f.put_bucket_policy(&v, "tagged", &deny).await.unwrap();
        let err = f
            .copy_object(&v, "tagged", key, copy(tagging))
            .await
            .unwrap_err();
        assert!(
            matches!(err, CoreError::AccessDenied(_)),
            "{action}: {err:?}"
        );
        // Nothing was written.
        let missing = f
            .head_object(&v, "tagged", key, GetRequest::default())
            .await
            .unwrap_err();
        assert_eq!(missing.code(), "NoSuchKey");
    }
    // With tagging denied, a copy that gets no tags still goes through.
    f.copy_object(
        &v,
        "tagged",
        "plain",
        copy(TaggingDirective::Replace(Vec::new())),
    )
    .await
    .unwrap();
}
