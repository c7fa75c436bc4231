//! The adapter on the wire, against a small in-memory fake of the core:
//! routing (path style and virtual hosts), headers both ways, ranges,
//! listings and their tokens, error mapping and the audit labels.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use chrono::Utc;
use ferry_core::{CoreError, IdentityKind, Principal, RequestContext};
use ferry_http::{AnonymousRequest, RestAudit, RestBody, RestCaller, RestResponse, RestService};
use ferry_types::AccountId;
use futures::StreamExt;
use http_body_util::BodyExt;

use crate::backend::*;
use crate::service::S3Service;
use ferry_core::s3::ChecksumType;

#[derive(Default)]
struct Fake {
    buckets: Mutex<BTreeSet<String>>,
    objects: Mutex<BTreeMap<(String, String), (Bytes, ObjectHeaders)>>,
    /// The checksum each put sent in a header or trailer, kept as sent.
    checksums: Mutex<BTreeMap<(String, String), Checksum>>,
    /// Access points by (account, name), with their policies; the alias is
    /// `NAME-alias` and only names a bucket if one of that name exists.
    access_points: Mutex<BTreeMap<(AccountId, String), FakeAccessPoint>>,
}

/// An access point and its policy.
type FakeAccessPoint = (AccessPointInfo, Option<String>);

impl Fake {
    fn info(key: &str, bytes: &Bytes, headers: &ObjectHeaders) -> ObjectInfo {
        ObjectInfo {
            key: key.to_string(),
            size: bytes.len() as u64,
            etag: "\"abc123\"".into(),
            last_modified: Utc::now(),
            headers: headers.clone(),
            checksum: None,
        }
    }

    /// The core's decision, as far as the fake has one: the anonymous
    /// principal gets only into a bucket named `public` (as if its policy
    /// granted `*`).
    fn decide(ctx: &RequestContext, bucket: &str) -> Result<(), CoreError> {
        if ctx.principal.is_anonymous() && bucket != "public" {
            return Err(CoreError::AccessDenied(
                "User: anonymous is not authorized".into(),
            ));
        }
        Ok(())
    }

    /// The checksum a read shows, as the core decides it.
    fn shown(&self, bucket: &str, key: &str, req: &GetRequest) -> Option<Checksum> {
        if !req.checksum_mode || req.range.is_some() {
            return None;
        }
        self.checksums
            .lock()
            .unwrap()
            .get(&(bucket.to_string(), key.to_string()))
            .cloned()
    }

    fn bucket(&self, name: &str) -> Result<(), CoreError> {
        if self.buckets.lock().unwrap().contains(name) {
            Ok(())
        } else {
            Err(CoreError::not_found(
                "NoSuchBucket",
                "The specified bucket does not exist",
            ))
        }
    }

    fn object(&self, bucket: &str, key: &str) -> Result<(Bytes, ObjectHeaders), CoreError> {
        self.bucket(bucket)?;
        self.objects
            .lock()
            .unwrap()
            .get(&(bucket.to_string(), key.to_string()))
            .cloned()
            .ok_or_else(|| CoreError::not_found("NoSuchKey", "The specified key does not exist."))
    }
}

#[async_trait]
impl Backend for Fake {
    async fn list_buckets(&self, _: &RequestContext) -> Result<Vec<BucketInfo>, CoreError> {
        Ok(self
            .buckets
            .lock()
            .unwrap()
            .iter()
            .map(|n| BucketInfo {
                name: n.clone(),
                region: "us-east-1".into(),
                created_at: Utc::now(),
            })
            .collect())
    }
    async fn create_bucket(
        &self,
        _: &RequestContext,
        name: &str,
        _: &str,
    ) -> Result<(), CoreError> {
        self.buckets.lock().unwrap().insert(name.to_string());
        Ok(())
    }
    async fn head_bucket(&self, _: &RequestContext, name: &str) -> Result<BucketInfo, CoreError> {
        self.bucket(name)?;
        Ok(BucketInfo {
            name: name.into(),
            region: "eu-west-1".into(),
            created_at: Utc::now(),
        })
    }
    async fn delete_bucket(&self, _: &RequestContext, name: &str) -> Result<(), CoreError> {
        self.bucket(name)
    }
    async fn get_bucket_location(
        &self,
        _: &RequestContext,
        name: &str,
    ) -> Result<String, CoreError> {
        self.bucket(name)?;
        Ok("us-east-1".into())
    }
    async fn put_bucket_policy(
        &self,
        _: &RequestContext,
        _: &str,
        _: &str,
    ) -> Result<(), CoreError> {
        Ok(())
    }
    async fn get_bucket_policy(&self, _: &RequestContext, _: &str) -> Result<String, CoreError> {
        Err(CoreError::not_found(
            "NoSuchBucketPolicy",
            "The bucket policy does not exist",
        ))
    }
    async fn delete_bucket_policy(&self, _: &RequestContext, _: &str) -> Result<(), CoreError> {
        Ok(())
    }
    async fn put_object(
        &self,
        _: &RequestContext,
        bucket: &str,
        key: &str,
        headers: ObjectHeaders,
        checksum: ChecksumRequest,
        mut body: BodyStream,
    ) -> Result<PutOutcome, CoreError> {
        self.bucket(bucket)?;
        let mut all = Vec::new();
        while let Some(piece) = body.next().await {
            let piece = piece.map_err(|e| CoreError::invalid("IncompleteBody", e.to_string()))?;
            all.extend_from_slice(&piece);
        }
        // The header's value, or the trailer's once the body has ended.
        let sent = checksum.values.first().cloned().or_else(|| {
            let name = checksum.trailer.clone()?;
            let value = checksum.trailers.as_ref().and_then(|t| t(&name))?;
            Some((name, value))
        });
        let stored = match sent {
            Some((h, v)) => Checksum {
                algorithm: ChecksumAlgorithm::from_header(&h).unwrap(),
                kind: ChecksumType::FullObject,
                value: v,
            },
            None => Checksum {
                algorithm: ChecksumAlgorithm::Crc64nvme,
                kind: ChecksumType::FullObject,
                value: "AAAAAAAAAAA=".into(),
            },
        };
        self.checksums
            .lock()
            .unwrap()
            .insert((bucket.into(), key.into()), stored.clone());
        self.objects
            .lock()
            .unwrap()
            .insert((bucket.into(), key.into()), (Bytes::from(all), headers));
        Ok(PutOutcome {
            etag: "\"abc123\"".into(),
            checksum: stored,
        })
    }
    async fn get_object(
        &self,
        ctx: &RequestContext,
        bucket: &str,
        key: &str,
        req: GetRequest,
    ) -> Result<GetOutcome, CoreError> {
        Self::decide(ctx, bucket)?;
        let (bytes, headers) = self.object(bucket, key)?;
        if req.if_none_match.as_deref() == Some("\"abc123\"") {
            return Err(CoreError::invalid("NotModified", "Not Modified"));
        }
        let size = bytes.len() as u64;
        let range = match req.range {
            None => None,
            Some(ByteRange::FromTo(a, b)) if a < size => Some((a, b.min(size - 1))),
            Some(ByteRange::From(a)) if a < size => Some((a, size - 1)),
            Some(ByteRange::Suffix(n)) if n > 0 => Some((size.saturating_sub(n), size - 1)),
            Some(_) => {
                return Err(CoreError::invalid(
                    "InvalidRange",
                    "The requested range is not satisfiable",
                ));
            }
        };
        let part = match range {
            Some((a, b)) => bytes.slice(a as usize..=b as usize),
            None => bytes.clone(),
        };
        let mut info = Self::info(key, &bytes, &headers);
        info.checksum = self.shown(bucket, key, &req);
        Ok(GetOutcome {
            info,
            range,
            body: futures::stream::iter([Ok(part)]).boxed(),
        })
    }
    async fn head_object(
        &self,
        _: &RequestContext,
        bucket: &str,
        key: &str,
        req: GetRequest,
    ) -> Result<ObjectInfo, CoreError> {
        let (bytes, headers) = self.object(bucket, key)?;
        let mut info = Self::info(key, &bytes, &headers);
        info.checksum = self.shown(bucket, key, &req);
        Ok(info)
    }
    async fn delete_object(
        &self,
        _: &RequestContext,
        bucket: &str,
        key: &str,
    ) -> Result<(), CoreError> {
        self.bucket(bucket)?;
        self.objects
            .lock()
            .unwrap()
            .remove(&(bucket.into(), key.into()));
        Ok(())
    }
    async fn list_objects(
        &self,
        ctx: &RequestContext,
        bucket: &str,
        req: ListRequest,
    ) -> Result<ListOutcome, CoreError> {
        Self::decide(ctx, bucket)?;
        self.bucket(bucket)?;
        let objects = self.objects.lock().unwrap();
        let mut out = ListOutcome::default();
        for ((b, k), (bytes, h)) in objects.iter() {
            if b != bucket
                || !k.starts_with(&req.prefix)
                || req.after.as_ref().is_some_and(|a| k <= a)
            {
                continue;
            }
            if out.objects.len() == req.max_keys {
                out.is_truncated = true;
                break;
            }
            out.next_after = Some(k.clone());
            out.objects.push(Self::info(k, bytes, h));
        }
        if !out.is_truncated {
            out.next_after = None;
        }
        Ok(out)
    }
    async fn create_access_point(
        &self,
        _: &RequestContext,
        account: AccountId,
        name: &str,
        bucket: &str,
        bucket_account: Option<AccountId>,
        vpc_id: Option<String>,
    ) -> Result<AccessPointInfo, CoreError> {
        self.bucket(bucket)?;
        let mut aps = self.access_points.lock().unwrap();
        if aps.contains_key(&(account, name.to_string())) {
            return Err(CoreError::Conflict {
                code: "AccessPointAlreadyOwnedByYou",
                message: "exists".into(),
            });
        }
        let info = AccessPointInfo {
            name: name.to_string(),
            account_id: account,
            bucket: bucket.to_string(),
            bucket_account_id: bucket_account.unwrap_or(account),
            alias: format!("{name}-alias"),
            network_origin: if vpc_id.is_some() { "VPC" } else { "Internet" }.into(),
            vpc_id,
            arn: format!("arn:aws:s3:us-east-1:{account}:accesspoint/{name}"),
            created_at: Utc::now(),
        };
        aps.insert((account, name.to_string()), (info.clone(), None));
        Ok(info)
    }
    async fn get_access_point(
        &self,
        _: &RequestContext,
        account: AccountId,
        name: &str,
    ) -> Result<AccessPointInfo, CoreError> {
        self.access_points
            .lock()
            .unwrap()
            .get(&(account, name.to_string()))
            .map(|(i, _)| i.clone())
            .ok_or_else(|| CoreError::not_found("NoSuchAccessPoint", "no such access point"))
    }
    async fn list_access_points(
        &self,
        _: &RequestContext,
        account: AccountId,
        bucket: Option<&str>,
    ) -> Result<Vec<AccessPointInfo>, CoreError> {
        Ok(self
            .access_points
            .lock()
            .unwrap()
            .values()
            .filter(|(i, _)| i.account_id == account && bucket.is_none_or(|b| i.bucket == b))
            .map(|(i, _)| i.clone())
            .collect())
    }
    async fn put_access_point_policy(
        &self,
        _: &RequestContext,
        account: AccountId,
        name: &str,
        policy: &str,
    ) -> Result<(), CoreError> {
        let mut aps = self.access_points.lock().unwrap();
        let Some(entry) = aps.get_mut(&(account, name.to_string())) else {
            return Err(CoreError::not_found(
                "NoSuchAccessPoint",
                "no such access point",
            ));
        };
        entry.1 = Some(policy.to_string());
        Ok(())
    }
    async fn get_access_point_policy(
        &self,
        _: &RequestContext,
        account: AccountId,
        name: &str,
    ) -> Result<String, CoreError> {
        self.access_points
            .lock()
            .unwrap()
            .get(&(account, name.to_string()))
            .and_then(|(_, p)| p.clone())
            .ok_or_else(|| CoreError::not_found("NoSuchAccessPointPolicy", "no policy"))
    }
    async fn access_point_alias(
        &self,
        account: AccountId,
        name: &str,
    ) -> Result<Option<String>, CoreError> {
        Ok(self
            .access_points
            .lock()
            .unwrap()
            .get(&(account, name.to_string()))
            .map(|(i, _)| i.alias.clone()))
    }
}

fn ctx() -> RequestContext {
    let account: AccountId = "123456789012".parse().unwrap();
    RequestContext {
        request_id: "req-1".into(),
        principal: Principal {
            account,
            kind: IdentityKind::Root,
            arn: "arn:aws:iam::123456789012:root".into(),
            user_id: "123456789012".into(),
            access_key_id: "AKIDEXAMPLE".into(),
        },
        region: "us-east-1".into(),
        source_ip: "127.0.0.1".into(),
        user_agent: "test".into(),
        secure_transport: false,
        time: Utc::now(),
        decision: Default::default(),
        signing_keys: Vec::new(),
    }
}

fn service() -> S3Service {
    S3Service::with_backend(Arc::new(Fake::default()), vec!["localhost".into()])
}

struct Answer {
    status: u16,
    headers: http::HeaderMap,
    body: String,
    audit: RestAudit,
}

async fn send(
    s3: &S3Service,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: &'static [u8],
) -> Answer {
    send_as(s3, Some(ctx()), method, uri, headers, body).await
}

async fn send_as(
    s3: &S3Service,
    caller: Option<RequestContext>,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: &'static [u8],
) -> Answer {
    let mut req = http::Request::builder().method(method).uri(uri);
    let mut has_host = false;
    for (k, v) in headers {
        has_host |= k.eq_ignore_ascii_case("host");
        req = req.header(*k, *v);
    }
    if !has_host {
        req = req.header("host", "127.0.0.1:4566");
    }
    req = req.header("content-length", body.len().to_string());
    let mut req = req
        .body(RestBody::from_bytes(Bytes::from_static(body)))
        .unwrap();
    let caller = match caller {
        Some(c) => {
            req.extensions_mut().insert(c.clone());
            RestCaller::Authenticated(c)
        }
        None => {
            let ctx = RequestContext {
                principal: Principal::anonymous(),
                request_id: "anon-1".into(),
                ..ctx()
            };
            req.extensions_mut().insert(ctx.clone());
            RestCaller::Anonymous(AnonymousRequest {
                request_id: "anon-1".into(),
                region: "us-east-1".into(),
                source_ip: "127.0.0.1".into(),
                user_agent: "test".into(),
                time: Utc::now(),
                context: ctx,
            })
        }
    };
    let resp: RestResponse = s3.call(caller, req).await;
    let (mut parts, body) = resp.into_parts();
    let audit = parts
        .extensions
        .remove::<RestAudit>()
        .expect("every answer carries a RestAudit");
    let bytes = body.collect().await.unwrap().to_bytes();
    Answer {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
        audit,
    }
}

fn header<'a>(a: &'a Answer, name: &str) -> &'a str {
    a.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

#[tokio::test]
async fn objects_round_trip_with_headers_metadata_and_ranges() {
    let s3 = service();
    let a = send(&s3, "PUT", "/photos", &[], b"").await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.audit.event_name, "CreateBucket");
    assert_eq!(a.audit.error_code, None);

    let a = send(
        &s3,
        "PUT",
        "/photos/cats/tom.txt",
        &[
            ("content-type", "text/plain"),
            ("x-amz-meta-Color", "grey"),
            ("cache-control", "no-cache"),
            ("expires", "Wed, 21 Oct 2015 07:28:00 GMT"),
        ],
        b"hello, world",
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(header(&a, "etag"), "\"abc123\"");
    assert_eq!(a.audit.event_name, "PutObject");
    assert!(!a.audit.read_only);

    let a = send(&s3, "GET", "/photos/cats/tom.txt", &[], b"").await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body, "hello, world");
    assert_eq!(header(&a, "content-type"), "text/plain");
    assert_eq!(header(&a, "x-amz-meta-color"), "grey");
    assert_eq!(header(&a, "cache-control"), "no-cache");
    assert_eq!(header(&a, "expires"), "Wed, 21 Oct 2015 07:28:00 GMT");
    assert_eq!(header(&a, "content-length"), "12");
    assert_eq!(a.audit.event_name, "GetObject");
    assert!(a.audit.read_only);

    let a = send(
        &s3,
        "GET",
        "/photos/cats/tom.txt",
        &[("range", "bytes=0-4")],
        b"",
    )
    .await;
    assert_eq!(a.status, 206);
    assert_eq!(a.body, "hello");
    assert_eq!(header(&a, "content-range"), "bytes 0-4/12");

    let a = send(
        &s3,
        "GET",
        "/photos/cats/tom.txt",
        &[("range", "bytes=-5")],
        b"",
    )
    .await;
    assert_eq!((a.status, a.body.as_str()), (206, "world"));

    let a = send(
        &s3,
        "GET",
        "/photos/cats/tom.txt",
        &[("range", "bytes=50-")],
        b"",
    )
    .await;
    assert_eq!(a.status, 416);
    assert!(a.body.contains("<Code>InvalidRange</Code>"), "{}", a.body);
    assert_eq!(a.audit.error_code.as_deref(), Some("InvalidRange"));

    // response-* overrides (s3s lays them over the stored headers).
    let a = send(
        &s3,
        "GET",
        "/photos/cats/tom.txt?response-content-type=application%2Fjson&response-cache-control=max-age%3D5",
        &[],
        b"",
    )
    .await;
    assert_eq!(header(&a, "content-type"), "application/json");
    assert_eq!(header(&a, "cache-control"), "max-age=5");

    let a = send(
        &s3,
        "HEAD",
        "/photos/cats/tom.txt",
        &[("range", "bytes=1-2")],
        b"",
    )
    .await;
    assert_eq!(a.status, 206);
    assert_eq!(header(&a, "content-range"), "bytes 1-2/12");
    assert_eq!(header(&a, "content-length"), "2");
    assert_eq!(a.audit.event_name, "HeadObject");

    let a = send(
        &s3,
        "GET",
        "/photos/cats/tom.txt",
        &[("if-none-match", "\"abc123\"")],
        b"",
    )
    .await;
    assert_eq!(a.status, 304);
    assert_eq!(a.body, "");
    assert_eq!(a.audit.error_code.as_deref(), Some("NotModified"));

    let a = send(&s3, "DELETE", "/photos/cats/tom.txt", &[], b"").await;
    assert_eq!(a.status, 204);
    let a = send(&s3, "GET", "/photos/cats/tom.txt", &[], b"").await;
    assert_eq!(a.status, 404);
    assert!(a.body.contains("<Code>NoSuchKey</Code>"));
    assert_eq!(a.audit.error_code.as_deref(), Some("NoSuchKey"));
    assert_eq!(a.audit.event_name, "GetObject");
}

#[tokio::test]
async fn virtual_hosts_name_the_bucket() {
    let s3 = service();
    send(&s3, "PUT", "/site", &[], b"").await;
    let a = send(
        &s3,
        "PUT",
        "/index.html",
        &[("host", "site.localhost:4566")],
        b"<h1>hi</h1>",
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let a = send(&s3, "GET", "/site/index.html", &[], b"").await;
    assert_eq!(a.body, "<h1>hi</h1>");
    let a = send(&s3, "HEAD", "/", &[("host", "site.localhost")], b"").await;
    assert_eq!(a.status, 200);
    assert_eq!(header(&a, "x-amz-bucket-region"), "eu-west-1");
    assert_eq!(a.audit.event_name, "HeadBucket");
    let a = send(&s3, "GET", "/", &[("host", "localhost:4566")], b"").await;
    assert_eq!(a.status, 200);
    assert!(a.body.contains("<Name>site</Name>"), "{}", a.body);
    assert_eq!(a.audit.event_name, "ListBuckets");
}

#[tokio::test]
async fn list_v2_pages_with_opaque_tokens_and_url_encoding() {
    let s3 = service();
    send(&s3, "PUT", "/bkt", &[], b"").await;
    for k in ["a%20one", "b", "c", "d"] {
        send(&s3, "PUT", &format!("/bkt/{k}"), &[], b"x").await;
    }
    let a = send(
        &s3,
        "GET",
        "/bkt?list-type=2&max-keys=2&encoding-type=url",
        &[],
        b"",
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.audit.event_name, "ListObjectsV2");
    assert!(a.body.contains("<Key>a%20one</Key>"), "{}", a.body);
    assert!(a.body.contains("<KeyCount>2</KeyCount>"));
    assert!(a.body.contains("<IsTruncated>true</IsTruncated>"));
    let token = a
        .body
        .split("<NextContinuationToken>")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .expect("a next token")
        .to_string();
    assert!(!token.contains('b'), "the token is opaque: {token}");
    let a = send(
        &s3,
        "GET",
        &format!("/bkt?list-type=2&max-keys=2&continuation-token={token}"),
        &[],
        b"",
    )
    .await;
    assert!(
        a.body.contains("<Key>c</Key>") && a.body.contains("<Key>d</Key>"),
        "{}",
        a.body
    );
    assert!(a.body.contains("<IsTruncated>false</IsTruncated>"));
    assert!(!a.body.contains("NextContinuationToken"));

    let a = send(
        &s3,
        "GET",
        "/bkt?list-type=2&continuation-token=bogus!",
        &[],
        b"",
    )
    .await;
    assert_eq!(a.status, 400);
    assert!(a.body.contains("<Code>InvalidArgument</Code>"));

    let a = send(&s3, "GET", "/bkt?list-type=2&start-after=c", &[], b"").await;
    assert!(
        a.body.contains("<Key>d</Key>") && !a.body.contains("<Key>c</Key>"),
        "{}",
        a.body
    );

    // v1 with a marker.
    let a = send(&s3, "GET", "/bkt?marker=b&max-keys=1", &[], b"").await;
    assert_eq!(a.audit.event_name, "ListObjects");
    assert!(a.body.contains("<Key>c</Key>"), "{}", a.body);
    assert!(a.body.contains("<NextMarker>c</NextMarker>"), "{}", a.body);
}

#[tokio::test]
async fn anonymous_callers_get_what_the_core_decides() {
    let s3 = service();
    send(&s3, "PUT", "/bkt", &[], b"").await;
    send(&s3, "PUT", "/public", &[], b"").await;
    send(&s3, "PUT", "/public/k", &[], b"for everyone").await;
    let a = send_as(&s3, None, "GET", "/bkt", &[], b"").await;
    assert_eq!(a.status, 403);
    assert!(a.body.contains("<Code>AccessDenied</Code>"));
    assert_eq!(a.audit.event_name, "ListObjects");
    assert_eq!(a.audit.error_code.as_deref(), Some("AccessDenied"));
    // The adapter refuses nothing itself: the fake's decision lets the
    // anonymous principal into `public`.
    let a = send_as(&s3, None, "GET", "/public/k", &[], b"").await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body, "for everyone");
    assert_eq!(a.audit.event_name, "GetObject");
}

#[tokio::test]
async fn unimplemented_operations_say_so() {
    let s3 = service();
    // (GetBucketAcl is answered now; lifecycle rules are not.)
    let a = send(&s3, "GET", "/bkt?lifecycle", &[], b"").await;
    assert_eq!(a.status, 501, "{}", a.body);
    assert_eq!(a.audit.error_code.as_deref(), Some("NotImplemented"));
    assert_eq!(a.audit.event_name, "ListObjects");
    let a = send(&s3, "GET", "/bkt?policy", &[], b"").await;
    assert_eq!(a.status, 404);
    assert_eq!(a.audit.event_name, "GetBucketPolicy");
    assert_eq!(a.audit.error_code.as_deref(), Some("NoSuchBucketPolicy"));
}

#[tokio::test]
async fn signature_v2_urls_are_refused_with_a_reason() {
    let s3 = service();
    let a = send_as(
        &s3,
        None,
        "GET",
        "/bkt/k?AWSAccessKeyId=AKID&Signature=abc&Expires=1",
        &[],
        b"",
    )
    .await;
    assert_eq!(a.status, 400);
    assert!(a.body.contains("<Code>InvalidRequest</Code>"), "{}", a.body);
    assert!(a.body.contains("AWS4-HMAC-SHA256"));
}

#[tokio::test]
async fn requests_no_operation_has_are_not_allowed() {
    let s3 = service();
    for (method, uri) in [
        ("FOO", "/"),
        ("DELETE", "/"),
        ("PATCH", "/bkt/key"),
        ("OPTIONS", "/bkt"),
    ] {
        let a = send(&s3, method, uri, &[], b"").await;
        assert_eq!(a.status, 405, "{method} {uri}: {}", a.body);
        assert!(
            a.body.contains("<Code>MethodNotAllowed</Code>"),
            "{}",
            a.body
        );
        assert_eq!(a.audit.error_code.as_deref(), Some("MethodNotAllowed"));
    }
}

#[tokio::test]
async fn answers_without_100_continue_close_the_connection() {
    let s3 = service();
    send(&s3, "PUT", "/bkt", &[], b"").await;
    let a = send(&s3, "PUT", "/bkt/empty", &[("expect", "100-continue")], b"").await;
    assert_eq!(a.status, 200);
    assert_eq!(header(&a, "connection"), "close");
    let a = send(
        &s3,
        "PUT",
        "/nobucket/k",
        &[("expect", "100-continue")],
        b"data",
    )
    .await;
    assert_eq!(a.status, 404);
    assert_eq!(header(&a, "connection"), "close");
    // A body that was read: the connection stays.
    let a = send(
        &s3,
        "PUT",
        "/bkt/full",
        &[("expect", "100-continue")],
        b"data",
    )
    .await;
    assert_eq!(a.status, 200);
    assert_eq!(header(&a, "connection"), "");
}

#[tokio::test]
async fn puts_asking_for_what_is_not_done_are_refused_not_ignored() {
    let s3 = service();
    send(&s3, "PUT", "/bkt", &[], b"").await;
    for (name, value, status, code) in [
        ("if-none-match", "*", 501, "NotImplemented"),
        (
            "x-amz-object-lock-mode",
            "GOVERNANCE",
            501,
            "NotImplemented",
        ),
        (
            "x-amz-server-side-encryption",
            "aws:kms",
            501,
            "NotImplemented",
        ),
        (
            "x-amz-acl",
            "public-read",
            400,
            "AccessControlListNotSupported",
        ),
    ] {
        let a = send(&s3, "PUT", "/bkt/k", &[(name, value)], b"data").await;
        assert_eq!(a.status, status, "{name}: {}", a.body);
        assert!(
            a.body.contains(&format!("<Code>{code}</Code>")),
            "{}",
            a.body
        );
    }
    let a = send(&s3, "GET", "/bkt/k", &[], b"").await;
    assert_eq!(a.status, 404, "nothing was stored");
    let a = send(
        &s3,
        "PUT",
        "/bkt/k",
        &[
            ("x-amz-acl", "bucket-owner-full-control"),
            ("x-amz-server-side-encryption", "AES256"),
        ],
        b"data",
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
}

const ACCOUNT_HEADER: (&str, &str) = ("x-amz-account-id", "123456789012");

#[tokio::test]
async fn s3_control_access_points_in_their_own_xml() {
    let s3 = service();
    send(&s3, "PUT", "/data", &[], b"").await;
    let create = b"<CreateAccessPointRequest xmlns=\"http://awss3control.amazonaws.com/doc/2018-08-20/\"><Bucket>data</Bucket><VpcConfiguration><VpcId>vpc-1</VpcId></VpcConfiguration></CreateAccessPointRequest>";
    let a = send(
        &s3,
        "PUT",
        "/v20180820/accesspoint/ap1",
        &[ACCOUNT_HEADER],
        create,
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(
        a.body.contains(
            "<CreateAccessPointResult xmlns=\"http://awss3control.amazonaws.com/doc/2018-08-20/\">"
        ),
        "{}",
        a.body
    );
    assert!(a.body.contains("<Alias>ap1-alias</Alias>"), "{}", a.body);
    assert_eq!(a.audit.event_name, "CreateAccessPoint");

    let a = send(
        &s3,
        "PUT",
        "/v20180820/accesspoint/ap1",
        &[ACCOUNT_HEADER],
        create,
    )
    .await;
    assert_eq!(a.status, 409, "{}", a.body);
    assert!(
        a.body
            .contains("<ErrorResponse><Error><Code>AccessPointAlreadyOwnedByYou</Code>"),
        "{}",
        a.body
    );
    assert_eq!(
        a.audit.error_code.as_deref(),
        Some("AccessPointAlreadyOwnedByYou")
    );

    let a = send(
        &s3,
        "GET",
        "/v20180820/accesspoint/ap1",
        &[ACCOUNT_HEADER],
        b"",
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    for part in [
        "<Name>ap1</Name>",
        "<Bucket>data</Bucket>",
        "<NetworkOrigin>VPC</NetworkOrigin>",
        "<VpcConfiguration><VpcId>vpc-1</VpcId></VpcConfiguration>",
        "<Endpoints><entry><key>ipv4</key><value>s3-accesspoint.us-east-1.amazonaws.com</value></entry>",
        "<BucketAccountId>123456789012</BucketAccountId>",
    ] {
        assert!(a.body.contains(part), "{part} in {}", a.body);
    }
    assert!(a.audit.read_only);

    // The account from the host when the header is missing.
    let a = send(
        &s3,
        "GET",
        "/v20180820/accesspoint?bucket=data&maxResults=10",
        &[("host", "123456789012.localhost:4566")],
        b"",
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(
        a.body
            .contains("<AccessPointList><AccessPoint><Name>ap1</Name>"),
        "{}",
        a.body
    );

    let policy = b"<PutAccessPointPolicyRequest><Policy>{&quot;Version&quot;:&quot;2012-10-17&quot;}</Policy></PutAccessPointPolicyRequest>";
    let a = send(
        &s3,
        "PUT",
        "/v20180820/accesspoint/ap1/policy",
        &[ACCOUNT_HEADER],
        policy,
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let a = send(
        &s3,
        "GET",
        "/v20180820/accesspoint/ap1/policy",
        &[ACCOUNT_HEADER],
        b"",
    )
    .await;
    assert!(
        a.body
            .contains("<Policy>{&quot;Version&quot;:&quot;2012-10-17&quot;}</Policy>"),
        "{}",
        a.body
    );

    let a = send(
        &s3,
        "GET",
        "/v20180820/accesspoint/nope",
        &[ACCOUNT_HEADER],
        b"",
    )
    .await;
    assert_eq!(a.status, 404);
    assert!(
        a.body.contains("<Code>NoSuchAccessPoint</Code>"),
        "{}",
        a.body
    );
}

#[tokio::test]
async fn s3_control_refuses_other_accounts_and_anonymous_callers() {
    let s3 = service();
    let other = ("x-amz-account-id", "210987654321");
    let a = send(&s3, "GET", "/v20180820/accesspoint", &[other], b"").await;
    assert_eq!(a.status, 403, "{}", a.body);
    assert!(a.body.contains("<Code>AccessDenied</Code>"));
    assert_eq!(a.audit.event_name, "ListAccessPoints");
    let a = send_as(
        &s3,
        None,
        "GET",
        "/v20180820/accesspoint",
        &[ACCOUNT_HEADER],
        b"",
    )
    .await;
    assert_eq!(a.status, 403, "{}", a.body);
    // No account at all: S3's request for a bucket `v20180820`.
    let a = send(&s3, "GET", "/v20180820/accesspoint", &[], b"").await;
    assert_eq!(a.status, 404, "{}", a.body);
    assert!(a.body.contains("<Code>NoSuchBucket</Code>"), "{}", a.body);
    let a = send(
        &s3,
        "GET",
        "/v20180820/configuration/publicAccessBlock",
        &[ACCOUNT_HEADER],
        b"",
    )
    .await;
    assert_eq!(a.status, 501, "{}", a.body);
    let a = send(
        &s3,
        "PUT",
        "/v20180820/accesspoint/ap1",
        &[ACCOUNT_HEADER],
        b"<oops",
    )
    .await;
    assert_eq!(a.status, 400, "{}", a.body);
    assert!(a.body.contains("<Code>MalformedXML</Code>"), "{}", a.body);
}

#[tokio::test]
async fn access_point_hosts_go_through_the_alias() {
    let s3 = service();
    send(&s3, "PUT", "/data", &[], b"").await;
    // The fake's alias names a bucket only if one of that name exists.
    send(&s3, "PUT", "/ap1-alias", &[], b"").await;
    send(&s3, "PUT", "/ap1-alias/k", &[], b"through the alias").await;
    let create = b"<CreateAccessPointRequest><Bucket>data</Bucket></CreateAccessPointRequest>";
    let a = send(
        &s3,
        "PUT",
        "/v20180820/accesspoint/ap1",
        &[ACCOUNT_HEADER],
        create,
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let a = send(
        &s3,
        "GET",
        "/k",
        &[("host", "ap1-123456789012.localhost:4566")],
        b"",
    )
    .await;
    assert_eq!((a.status, a.body.as_str()), (200, "through the alias"));
    assert_eq!(a.audit.event_name, "GetObject");
    // No such access point: the host names a bucket, as any other.
    let a = send(
        &s3,
        "GET",
        "/k",
        &[("host", "ap2-123456789012.localhost:4566")],
        b"",
    )
    .await;
    assert_eq!(a.status, 404, "{}", a.body);
    assert!(a.body.contains("<Code>NoSuchBucket</Code>"), "{}", a.body);
}

#[tokio::test]
async fn control_refusals_before_the_body_close_a_continue_connection() {
    let s3 = service();
    let other = ("x-amz-account-id", "210987654321");
    let a = send(
        &s3,
        "PUT",
        "/v20180820/accesspoint/ap1/policy",
        &[other, ("expect", "100-continue")],
        b"<PutAccessPointPolicyRequest><Policy>{}</Policy></PutAccessPointPolicyRequest>",
    )
    .await;
    assert_eq!(a.status, 403, "{}", a.body);
    assert_eq!(header(&a, "connection"), "close");
}

#[tokio::test]
async fn checksums_go_in_as_headers_and_come_out_only_when_asked() {
    let s3 = service();
    let a = send(&s3, "PUT", "/sums", &[], b"").await;
    assert_eq!(a.status, 200, "{}", a.body);
    let a = send(
        &s3,
        "PUT",
        "/sums/k",
        &[
            ("x-amz-sdk-checksum-algorithm", "CRC32"),
            ("x-amz-checksum-crc32", "DUoRhQ=="),
        ],
        b"hello world",
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    // PutObject answers with the checksum it stored, and its type.
    assert_eq!(header(&a, "x-amz-checksum-crc32"), "DUoRhQ==");
    assert_eq!(header(&a, "x-amz-checksum-type"), "FULL_OBJECT");

    for method in ["GET", "HEAD"] {
        let a = send(&s3, method, "/sums/k", &[], b"").await;
        assert_eq!(a.status, 200, "{}", a.body);
        assert_eq!(
            header(&a, "x-amz-checksum-crc32"),
            "",
            "{method} without the mode"
        );
        let a = send(
            &s3,
            method,
            "/sums/k",
            &[("x-amz-checksum-mode", "ENABLED")],
            b"",
        )
        .await;
        assert_eq!(a.status, 200, "{}", a.body);
        assert_eq!(header(&a, "x-amz-checksum-crc32"), "DUoRhQ==", "{method}");
        assert_eq!(header(&a, "x-amz-checksum-type"), "FULL_OBJECT", "{method}");
    }
    // A range is not what the checksum covers.
    let a = send(
        &s3,
        "GET",
        "/sums/k",
        &[("x-amz-checksum-mode", "ENABLED"), ("range", "bytes=0-3")],
        b"",
    )
    .await;
    assert_eq!(a.status, 206, "{}", a.body);
    assert_eq!(header(&a, "x-amz-checksum-crc32"), "");
}
