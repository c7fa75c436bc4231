//! S3 tags in the domain: bucket and object tag sets with S3's rules, tags
//! as condition keys of a bucket policy across accounts, and the answers of
//! a bucket with ACLs off (BucketOwnerEnforced) and its policy status.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use bytes::Bytes;
use ferry_core::CoreError;
use ferry_core::s3::{GetRequest, ObjectHeaders, canonical_id};

mod common;
use common::{ctx, world};

fn body(data: &[u8]) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> + Send + Unpin {
    futures::stream::iter(vec![Ok(Bytes::copy_from_slice(data))])
}

fn tags(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test]
async fn bucket_and_object_tag_sets() {
    let w = world().await;
    let f = &w.ferry;
    let v = ctx(f, &w.vendor);
    f.create_bucket(&v, "tagged", "us-east-1").await.unwrap();
    assert_eq!(
        f.get_bucket_tagging(&v, "tagged").await.unwrap_err().code(),
        "NoSuchTagSet"
    );
    f.put_bucket_tagging(&v, "tagged", tags(&[("team", "a"), ("env", "")]))
        .await
        .unwrap();
    assert_eq!(
        f.get_bucket_tagging(&v, "tagged").await.unwrap(),
        tags(&[("team", "a"), ("env", "")])
    );
    for bad in [tags(&[("aws:x", "1")]), tags(&[("k", "1"), ("k", "2")])] {
        assert_eq!(
            f.put_bucket_tagging(&v, "tagged", bad)
                .await
                .unwrap_err()
                .code(),
            "InvalidTag"
        );
    }
    f.delete_bucket_tagging(&v, "tagged").await.unwrap();
    assert_eq!(
        f.get_bucket_tagging(&v, "tagged").await.unwrap_err().code(),
        "NoSuchTagSet"
    );

    f.put_object(&v, "tagged", "o", ObjectHeaders::default(), body(b"x"))
        .await
        .unwrap();
    assert!(
        f.get_object_tagging(&v, "tagged", "o")
            .await
            .unwrap()
            .is_empty()
    );
    f.put_object_tagging(&v, "tagged", "o", tags(&[("share", "yes")]))
        .await
        .unwrap();
    assert_eq!(
        f.get_object_tagging(&v, "tagged", "o").await.unwrap(),
        tags(&[("share", "yes")])
    );
    let eleven: Vec<(String, String)> = (0..11).map(|i| (format!("k{i}"), "v".into())).collect();
    assert_eq!(
        f.put_object_tagging(&v, "tagged", "o", eleven)
            .await
            .unwrap_err()
            .code(),
        "InvalidTag"
    );
    f.delete_object_tagging(&v, "tagged", "o").await.unwrap();
    assert!(
        f.get_object_tagging(&v, "tagged", "o")
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        f.get_object_tagging(&v, "tagged", "missing")
            .await
            .unwrap_err()
            .code(),
        "NoSuchKey"
    );

    // Another account without a grant is refused each operation.
    let c = ctx(f, &w.customer);
    let denied = |r: Result<(), CoreError>| assert!(matches!(r, Err(CoreError::AccessDenied(_))));
    denied(
        f.put_bucket_tagging(&c, "tagged", tags(&[("a", "b")]))
            .await,
    );
    denied(f.get_bucket_tagging(&c, "tagged").await.map(|_| ()));
    denied(f.delete_bucket_tagging(&c, "tagged").await);
    denied(
        f.put_object_tagging(&c, "tagged", "o", tags(&[("a", "b")]))
            .await,
    );
    denied(f.get_object_tagging(&c, "tagged", "o").await.map(|_| ()));
    denied(f.delete_object_tagging(&c, "tagged", "o").await);
    denied(f.get_bucket_acl(&c, "tagged").await.map(|_| ()));
    denied(f.get_object_acl(&c, "tagged", "o").await.map(|_| ()));
    denied(f.put_bucket_acl(&c, "tagged", true).await);
    denied(
        f.get_bucket_ownership_controls(&c, "tagged")
            .await
            .map(|_| ()),
    );
    denied(f.get_bucket_policy_status(&c, "tagged").await.map(|_| ()));
}

/// The owner shares only objects tagged `share=yes` with another account:
/// `s3:ExistingObjectTag/share` is the object's tag at the time of the read.
#[tokio::test]
async fn a_bucket_policy_shares_objects_by_tag() {
    let w = world().await;
    let f = &w.ferry;
    let v = ctx(f, &w.vendor);
    let c = ctx(f, &w.customer);
    let customer = w.customer.account;
    f.create_bucket(&v, "by-tag", "us-east-1").await.unwrap();
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{customer}:root"}},"Action":"s3:GetObject","Resource":"arn:aws:s3:::by-tag/*","Condition":{{"StringEquals":{{"s3:ExistingObjectTag/share":"yes"}}}}}}]}}"#
    );
    f.put_bucket_policy(&v, "by-tag", &policy).await.unwrap();
    for key in ["open", "closed"] {
        f.put_object(&v, "by-tag", key, ObjectHeaders::default(), body(b"x"))
            .await
            .unwrap();
    }
    f.put_object_tagging(&v, "by-tag", "open", tags(&[("share", "yes")]))
        .await
        .unwrap();
    f.put_object_tagging(&v, "by-tag", "closed", tags(&[("share", "no")]))
        .await
        .unwrap();
    f.get_object(&c, "by-tag", "open", GetRequest::default())
        .await
        .unwrap();
    f.head_object(&c, "by-tag", "open", GetRequest::default())
        .await
        .unwrap();
    let err = f
        .get_object(&c, "by-tag", "closed", GetRequest::default())
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::AccessDenied(_)), "{err:?}");
    // Untagging takes the share back.
    f.delete_object_tagging(&v, "by-tag", "open").await.unwrap();
    let err = f
        .get_object(&c, "by-tag", "open", GetRequest::default())
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::AccessDenied(_)), "{err:?}");
    // Not public: the one Allow names an account and has a condition.
    assert!(!f.get_bucket_policy_status(&v, "by-tag").await.unwrap());
}

#[tokio::test]
async fn acls_are_off_and_policy_status_reads_the_policy() {
    let w = world().await;
    let f = &w.ferry;
    let v = ctx(f, &w.vendor);
    f.create_bucket(&v, "no-acls", "us-east-1").await.unwrap();
    f.put_object(&v, "no-acls", "o", ObjectHeaders::default(), body(b"x"))
        .await
        .unwrap();
    let owner = canonical_id(w.vendor.account);
    assert_eq!(f.get_bucket_acl(&v, "no-acls").await.unwrap(), owner);
    assert_eq!(f.get_object_acl(&v, "no-acls", "o").await.unwrap(), owner);
    f.put_bucket_acl(&v, "no-acls", true).await.unwrap();
    f.put_object_acl(&v, "no-acls", "o", true).await.unwrap();
    assert_eq!(
        f.put_bucket_acl(&v, "no-acls", false)
            .await
            .unwrap_err()
            .code(),
        "AccessControlListNotSupported"
    );
    assert_eq!(
        f.put_object_acl(&v, "no-acls", "o", false)
            .await
            .unwrap_err()
            .code(),
        "AccessControlListNotSupported"
    );
    assert_eq!(
        f.get_bucket_ownership_controls(&v, "no-acls")
            .await
            .unwrap(),
        "BucketOwnerEnforced"
    );
    assert_eq!(
        f.get_bucket_policy_status(&v, "no-acls")
            .await
            .unwrap_err()
            .code(),
        "NoSuchBucketPolicy"
    );
    let public = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::no-acls/*"}]}"#;
    f.put_bucket_policy(&v, "no-acls", public).await.unwrap();
    assert!(f.get_bucket_policy_status(&v, "no-acls").await.unwrap());
}

/// A bucket policy lets another account put only objects tagged
/// `class=public`: `s3:RequestObjectTag/class` is the tag the put sets.
#[tokio::test]
async fn a_bucket_policy_requires_a_tag_on_put() {
    let w = world().await;
    let f = &w.ferry;
    let v = ctx(f, &w.vendor);
    let c = ctx(f, &w.customer);
    let customer = w.customer.account;
    f.create_bucket(&v, "must-tag", "us-east-1").await.unwrap();
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{customer}:root"}},"Action":["s3:PutObject","s3:PutObjectTagging"],"Resource":"arn:aws:s3:::must-tag/*","Condition":{{"StringEquals":{{"s3:RequestObjectTag/class":"public"}}}}}}]}}"#
    );
    f.put_bucket_policy(&v, "must-tag", &policy).await.unwrap();
    let with = |t: &[(&str, &str)]| ObjectHeaders {
        tags: tags(t),
        ..Default::default()
    };
    f.put_object(
        &c,
        "must-tag",
        "ok",
        with(&[("class", "public")]),
        body(b"x"),
    )
    .await
    .unwrap();
    for bad in [&[][..], &[("class", "secret")][..]] {
        let err = f
            .put_object(&c, "must-tag", "bad", with(bad), body(b"x"))
            .await
            .unwrap_err();
        assert!(matches!(err, CoreError::AccessDenied(_)), "{err:?}");
    }
    // The tags are on the object and count on a read.
    assert_eq!(
        f.get_object_tagging(&v, "must-tag", "ok").await.unwrap(),
        tags(&[("class", "public")])
    );
    let info = f
        .head_object(&v, "must-tag", "ok", GetRequest::default())
        .await
        .unwrap();
    assert_eq!(info.headers.tags.len(), 1);
    // Bad tags on a put are refused as on PutObjectTagging.
    let err = f
        .put_object(&v, "must-tag", "x", with(&[("aws:x", "1")]), body(b"x"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "InvalidTag");
}
