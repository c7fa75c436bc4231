//! The S3 operations of this slice, each a translation: s3s's typed input
//! -> one ferry-core call -> s3s's typed output. Operations not written here
//! answer `NotImplemented` (s3s's default).

use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use chrono::{DateTime, Utc};
use ferry_core::RequestContext;
use futures::{StreamExt, TryStreamExt};
use http::HeaderValue;
use http_body::Frame;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use s3s::dto::{self, ETag, Range, Timestamp};
use s3s::{S3, S3Request, S3Response, S3Result};
use serde_json::{Value, json};

use crate::audit::AuditSlot;
use crate::backend::{
    Backend, BodyError, BodyStream, ByteRange, Checksum, ChecksumAlgorithm, ChecksumRequest,
    GetRequest, ListOutcome, ListRequest, ObjectHeaders, ObjectInfo, TrailerSource,
};
use crate::error::{access_denied, body_error, coded, from_body, from_core};
use crate::token;

mod tagging;
mod transfer;

/// S3's default and largest page of keys.
const MAX_KEYS: i32 = 1000;

/// The region of a bucket created without a `LocationConstraint`.
const DEFAULT_BUCKET_REGION: &str = "us-east-1";

/// What `encoding-type=url` leaves as it is: RFC 3986's unreserved
/// characters and `/` (keys read as paths; clients decode either way).
const KEY_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');

/// The S3 trait implementation over a [`Backend`].
pub(crate) struct FerryS3 {
    backend: Arc<dyn Backend>,
}

impl FerryS3 {
    pub(crate) fn new(backend: Arc<dyn Backend>) -> Self {
        FerryS3 { backend }
    }
}

/// Starts the audit entry of an operation.
fn begin<T>(req: &S3Request<T>, op: &str, read_only: bool, params: Value) -> AuditSlot {
    let slot = req
        .extensions
        .get::<AuditSlot>()
        .cloned()
        .unwrap_or_default();
    slot.start(op, read_only, params);
    slot
}

/// Records a failure in the audit entry and hands the result on.
fn finish<T>(slot: &AuditSlot, result: S3Result<T>) -> S3Result<T> {
    if let Err(e) = &result {
        slot.failed(e.code().as_str(), e.message());
    }
    result
}

/// The caller: the front door puts a context on every request, the
/// anonymous principal's for unsigned ones (the core decides what a grant
/// to `*` lets it do). A request without one never came through the front
/// door and is refused.
fn caller<T>(req: &S3Request<T>) -> S3Result<&RequestContext> {
    req.extensions
        .get::<RequestContext>()
        .ok_or_else(access_denied)
}

fn bucket_params(bucket: &str) -> Value {
    json!({ "bucketName": bucket })
}

fn object_params(bucket: &str, key: &str) -> Value {
    json!({ "bucketName": bucket, "key": key })
}

fn to_s3_time(t: DateTime<Utc>) -> Timestamp {
    Timestamp::from(SystemTime::from(t))
}

fn from_s3_time(t: Timestamp) -> Option<DateTime<Utc>> {
    let t: time::OffsetDateTime = t.into();
    DateTime::from_timestamp(t.unix_timestamp(), t.nanosecond())
}

/// The core's quoted ETag as s3s's type (`None` if it is not one).
fn etag(quoted: &str) -> Option<ETag> {
    ETag::parse_http_header(quoted.as_bytes()).ok()
}

/// A request header as sent (conditions are compared by the core on the
/// client's own text).
fn raw_header<T>(req: &S3Request<T>, name: &str) -> Option<String> {
    req.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn byte_range(r: Range) -> ByteRange {
    match r {
        Range::Int {
            first,
            last: Some(last),
        } => ByteRange::FromTo(first, last),
        Range::Int { first, last: None } => ByteRange::From(first),
        Range::Suffix { length } => ByteRange::Suffix(length),
    }
}

fn content_range(first: u64, last: u64, size: u64) -> String {
    format!("bytes {first}-{last}/{size}")
}

fn metadata(headers: &ObjectHeaders) -> Option<dto::Metadata> {
    (!headers.metadata.is_empty()).then(|| headers.metadata.iter().cloned().collect())
}

/// `Expires` goes out as stored (S3 keeps the client's text, valid date or
/// not), so it rides in the response's extra headers rather than s3s's
/// typed timestamp.
fn expires_header(headers: &ObjectHeaders) -> http::HeaderMap {
    let mut map = http::HeaderMap::new();
    if let Some(v) = headers
        .expires
        .as_deref()
        .and_then(|e| HeaderValue::from_str(e).ok())
    {
        map.insert(http::header::EXPIRES, v);
    }
    map
}

/// The conditions and range of a GET or HEAD.
fn get_request<T>(
    req: &S3Request<T>,
    range: Option<Range>,
    if_modified_since: Option<Timestamp>,
    if_unmodified_since: Option<Timestamp>,
    checksum_mode: Option<&dto::ChecksumMode>,
) -> GetRequest {
    GetRequest {
        range: range.map(byte_range),
        if_match: raw_header(req, "if-match"),
        if_none_match: raw_header(req, "if-none-match"),
        if_modified_since: if_modified_since.and_then(from_s3_time),
        if_unmodified_since: if_unmodified_since.and_then(from_s3_time),
        checksum_mode: checksum_mode.is_some_and(|m| m.as_str().eq_ignore_ascii_case("ENABLED")),
    }
}

/// The `x-amz-checksum-<alg>` values a request carries, as (header, value),
/// from s3s's per-algorithm fields.
macro_rules! given_checksums {
    ($i:expr) => {
        [
            (ChecksumAlgorithm::Crc32, $i.checksum_crc32.as_deref()),
            (ChecksumAlgorithm::Crc32c, $i.checksum_crc32c.as_deref()),
            (
                ChecksumAlgorithm::Crc64nvme,
                $i.checksum_crc64nvme.as_deref(),
            ),
            (ChecksumAlgorithm::Sha1, $i.checksum_sha1.as_deref()),
            (ChecksumAlgorithm::Sha256, $i.checksum_sha256.as_deref()),
        ]
        .into_iter()
        .filter_map(|(a, v)| v.map(|v| (a.header().to_string(), v.to_string())))
        .collect::<Vec<(String, String)>>()
    };
}
pub(crate) use given_checksums;

/// Sets s3s's per-algorithm field of an output to a checksum's value.
macro_rules! set_checksum {
    ($out:expr, $c:expr) => {
        if let Some(c) = $c {
            let v = Some(c.value.clone());
            match c.algorithm {
                ChecksumAlgorithm::Crc32 => $out.checksum_crc32 = v,
                ChecksumAlgorithm::Crc32c => $out.checksum_crc32c = v,
                ChecksumAlgorithm::Crc64nvme => $out.checksum_crc64nvme = v,
                ChecksumAlgorithm::Sha1 => $out.checksum_sha1 = v,
                ChecksumAlgorithm::Sha256 => $out.checksum_sha256 = v,
            }
        }
    };
}
pub(crate) use set_checksum;

/// A checksum's type as s3s's.
fn checksum_type(c: Option<&Checksum>) -> Option<dto::ChecksumType> {
    c.map(|c| dto::ChecksumType::from(c.kind.name().to_string()))
}

/// Reads the request's `aws-chunked` trailers once its body has ended.
fn trailer_source<T>(req: &S3Request<T>) -> Option<TrailerSource> {
    let handle = req.extensions.get::<ferry_http::TrailerHandle>()?.clone();
    Some(Arc::new(move |name: &str| {
        handle.get().and_then(|t| t.get(name)).map(str::to_string)
    }))
}

/// What a write says about its flexible checksum, as sent.
/// Watches a request body on its way to the core for its first failure.
struct BodyWatch {
    failure: Arc<Mutex<Option<BodyError>>>,
}

/// The body as the backend takes it, and the watch that keeps its first
/// failure aside: whatever error the core makes of a failed body, the
/// client hears the front door's code and status.
fn watch_body(body: Option<dto::StreamingBlob>) -> (BodyStream, BodyWatch) {
    let failure: Arc<Mutex<Option<BodyError>>> = Arc::default();
    let seen = failure.clone();
    let stream = match body {
        Some(blob) => blob
            .map_err(move |e| {
                let b = body_error(e.as_ref());
                if let Ok(mut f) = seen.lock() {
                    f.get_or_insert_with(|| b.clone());
                }
                b
            })
            .boxed(),
        None => futures::stream::empty().boxed(),
    };
    (stream, BodyWatch { failure })
}

impl BodyWatch {
    /// The answer to a write that read the body: a body failure wins. (A
    /// core that stored despite one would be a bug; refuse rather than
    /// acknowledge bytes that did not check out.)
    fn settle<T>(self, stored: Result<T, ferry_core::CoreError>) -> S3Result<T> {
        let failure = self.failure.lock().ok().and_then(|mut f| f.take());
        match (stored, failure) {
            (_, Some(b)) => Err(from_body(&b)),
            (Err(e), None) => Err(from_core(&e)),
            (Ok(t), None) => Ok(t),
        }
    }
}

fn checksum_request<T>(req: &S3Request<T>, values: Vec<(String, String)>) -> ChecksumRequest {
    ChecksumRequest {
        algorithm: raw_header(req, "x-amz-sdk-checksum-algorithm"),
        values,
        trailer: raw_header(req, "x-amz-trailer"),
        trailers: trailer_source(req),
    }
}

/// `encoding-type`: only `url` exists.
fn url_encoding(e: Option<&dto::EncodingType>) -> S3Result<bool> {
    match e.map(|e| e.as_str()) {
        None => Ok(false),
        Some(dto::EncodingType::URL) => Ok(true),
        Some(other) => Err(coded(
            "InvalidArgument",
            format!("Invalid Encoding Method specified in Request: {other}"),
        )),
    }
}

/// `max-keys`, checked and capped.
fn max_keys(requested: Option<i32>) -> S3Result<usize> {
    let n = requested.unwrap_or(MAX_KEYS);
    if n < 0 {
        return Err(coded(
            "InvalidArgument",
            "Provided max-keys not an integer or within integer range",
        ));
    }
    Ok(usize::try_from(n.min(MAX_KEYS)).unwrap_or(0))
}

/// Encodes a listing's names for `encoding-type=url`.
struct Names(bool);

impl Names {
    fn out(&self, s: &str) -> String {
        if self.0 {
            utf8_percent_encode(s, KEY_ENCODE).to_string()
        } else {
            s.to_string()
        }
    }

    fn opt(&self, s: Option<&str>) -> Option<String> {
        s.map(|s| self.out(s))
    }

    fn contents(&self, page: &ListOutcome) -> (Vec<dto::Object>, Vec<dto::CommonPrefix>) {
        let objects =
            page.objects
                .iter()
                .map(|o| dto::Object {
                    key: Some(self.out(&o.key)),
                    size: Some(i64::try_from(o.size).unwrap_or(i64::MAX)),
                    e_tag: etag(&o.etag),
                    last_modified: Some(to_s3_time(o.last_modified)),
                    storage_class: Some(dto::ObjectStorageClass::from_static(
                        dto::ObjectStorageClass::STANDARD,
                    )),
                    // Listings name the algorithm, never the value, as S3.
                    checksum_algorithm: o.checksum.as_ref().map(|c| {
                        vec![dto::ChecksumAlgorithm::from(c.algorithm.name().to_string())]
                    }),
                    checksum_type: checksum_type(o.checksum.as_ref()),
                    ..Default::default()
                })
                .collect();
        let prefixes = page
            .common_prefixes
            .iter()
            .map(|p| dto::CommonPrefix {
                prefix: Some(self.out(p)),
            })
            .collect();
        (objects, prefixes)
    }
}

/// Refuses what a PutObject asks for that this slice does not do, rather
/// than storing the object without it: a conditional write that would
/// overwrite, an encryption or retention the client would count on.
fn refuse_unsupported_put(input: &dto::PutObjectInput) -> S3Result<()> {
    let unsupported = [
        (input.if_match.is_some(), "If-Match on PutObject"),
        (input.if_none_match.is_some(), "If-None-Match on PutObject"),
        (
            input.sse_customer_algorithm.is_some() || input.sse_customer_key.is_some(),
            "Server-side encryption with customer-provided keys",
        ),
        (
            input
                .server_side_encryption
                .as_ref()
                .is_some_and(|s| s.as_str() != "AES256"),
            "Server-side encryption with KMS keys",
        ),
        (
            input.object_lock_mode.is_some()
                || input.object_lock_retain_until_date.is_some()
                || input.object_lock_legal_hold_status.is_some(),
            "Object Lock",
        ),
        (
            input.write_offset_bytes.is_some(),
            "Appending with x-amz-write-offset-bytes",
        ),
    ];
    if let Some((_, what)) = unsupported.iter().find(|(asked, _)| *asked) {
        return Err(coded(
            "NotImplemented",
            format!("{what} is not implemented by Ferry yet"),
        ));
    }
    acl_supported(input.acl.as_ref().map(|a| a.as_str()))
}

/// Buckets own their objects (S3's default since 2023): ACLs other than the
/// ones that say so are refused.
fn acl_supported(acl: Option<&str>) -> S3Result<()> {
    match acl {
        None | Some("private") | Some("bucket-owner-full-control") => Ok(()),
        Some(_) => Err(coded(
            "AccessControlListNotSupported",
            "The bucket does not allow ACLs",
        )),
    }
}

fn object_size(info: &ObjectInfo) -> i64 {
    i64::try_from(info.size).unwrap_or(i64::MAX)
}

#[async_trait::async_trait]
impl S3 for FerryS3 {
    async fn list_buckets(
        &self,
        req: S3Request<dto::ListBucketsInput>,
    ) -> S3Result<S3Response<dto::ListBucketsOutput>> {
        let slot = begin(&req, "ListBuckets", true, json!({}));
        let result = async {
            let ctx = caller(&req)?;
            let buckets = self
                .backend
                .list_buckets(ctx)
                .await
                .map_err(|e| from_core(&e))?;
            let buckets = buckets
                .into_iter()
                .map(|b| dto::Bucket {
                    name: Some(b.name),
                    creation_date: Some(to_s3_time(b.created_at)),
                    bucket_region: Some(b.region),
                })
                .collect();
            let account = ctx.principal.account.to_string();
            Ok(S3Response::new(dto::ListBucketsOutput {
                buckets: Some(buckets),
                owner: Some(dto::Owner {
                    display_name: Some(account.clone()),
                    id: Some(account),
                }),
                ..Default::default()
            }))
        }
        .await;
        finish(&slot, result)
    }

    async fn create_bucket(
        &self,
        req: S3Request<dto::CreateBucketInput>,
    ) -> S3Result<S3Response<dto::CreateBucketOutput>> {
        let bucket = req.input.bucket.clone();
        let slot = begin(&req, "CreateBucket", false, bucket_params(&bucket));
        let result = async {
            let ctx = caller(&req)?;
            if req.input.object_lock_enabled_for_bucket == Some(true) {
                return Err(coded(
                    "NotImplemented",
                    "Object Lock is not implemented by Ferry yet",
                ));
            }
            acl_supported(req.input.acl.as_ref().map(|a| a.as_str()))?;
            let region = req
                .input
                .create_bucket_configuration
                .as_ref()
                .and_then(|c| c.location_constraint.as_ref())
                .map(|l| l.as_str())
                .filter(|l| !l.is_empty())
                .unwrap_or(DEFAULT_BUCKET_REGION);
            self.backend
                .create_bucket(ctx, &bucket, region)
                .await
                .map_err(|e| from_core(&e))?;
            Ok(S3Response::new(dto::CreateBucketOutput {
                location: Some(format!("/{bucket}")),
            }))
        }
        .await;
        finish(&slot, result)
    }

    async fn head_bucket(
        &self,
        req: S3Request<dto::HeadBucketInput>,
    ) -> S3Result<S3Response<dto::HeadBucketOutput>> {
        let bucket = req.input.bucket.clone();
        let slot = begin(&req, "HeadBucket", true, bucket_params(&bucket));
        let result = async {
            let ctx = caller(&req)?;
            let info = self
                .backend
                .head_bucket(ctx, &bucket)
                .await
                .map_err(|e| from_core(&e))?;
            Ok(S3Response::new(dto::HeadBucketOutput {
                bucket_region: Some(info.region),
                ..Default::default()
            }))
        }
        .await;
        finish(&slot, result)
    }

    async fn delete_bucket(
        &self,
        req: S3Request<dto::DeleteBucketInput>,
    ) -> S3Result<S3Response<dto::DeleteBucketOutput>> {
        let bucket = req.input.bucket.clone();
        let slot = begin(&req, "DeleteBucket", false, bucket_params(&bucket));
        let result = async {
            let ctx = caller(&req)?;
            self.backend
                .delete_bucket(ctx, &bucket)
                .await
                .map_err(|e| from_core(&e))?;
            Ok(S3Response::new(dto::DeleteBucketOutput::default()))
        }
        .await;
        finish(&slot, result)
    }

    async fn get_bucket_location(
        &self,
        req: S3Request<dto::GetBucketLocationInput>,
    ) -> S3Result<S3Response<dto::GetBucketLocationOutput>> {
        let bucket = req.input.bucket.clone();
        let slot = begin(&req, "GetBucketLocation", true, bucket_params(&bucket));
        let result = async {
            let ctx = caller(&req)?;
            let region = self
                .backend
                .get_bucket_location(ctx, &bucket)
                .await
                .map_err(|e| from_core(&e))?;
            // S3 answers an empty constraint for us-east-1.
            let location_constraint = (region != DEFAULT_BUCKET_REGION && !region.is_empty())
                .then(|| dto::BucketLocationConstraint::from(region));
            Ok(S3Response::new(dto::GetBucketLocationOutput {
                location_constraint,
            }))
        }
        .await;
        finish(&slot, result)
    }

    async fn put_bucket_policy(
        &self,
        req: S3Request<dto::PutBucketPolicyInput>,
    ) -> S3Result<S3Response<dto::PutBucketPolicyOutput>> {
        let bucket = req.input.bucket.clone();
        let slot = begin(&req, "PutBucketPolicy", false, bucket_params(&bucket));
        let result = async {
            let ctx = caller(&req)?;
            self.backend
                .put_bucket_policy(ctx, &bucket, &req.input.policy)
                .await
                .map_err(|e| from_core(&e))?;
            Ok(S3Response::new(dto::PutBucketPolicyOutput::default()))
        }
        .await;
        finish(&slot, result)
    }

    async fn get_bucket_policy(
        &self,
        req: S3Request<dto::GetBucketPolicyInput>,
    ) -> S3Result<S3Response<dto::GetBucketPolicyOutput>> {
        let bucket = req.input.bucket.clone();
        let slot = begin(&req, "GetBucketPolicy", true, bucket_params(&bucket));
        let result = async {
            let ctx = caller(&req)?;
            let policy = self
                .backend
                .get_bucket_policy(ctx, &bucket)
                .await
                .map_err(|e| from_core(&e))?;
            Ok(S3Response::new(dto::GetBucketPolicyOutput {
                policy: Some(policy),
            }))
        }
        .await;
        finish(&slot, result)
    }

    async fn delete_bucket_policy(
        &self,
        req: S3Request<dto::DeleteBucketPolicyInput>,
    ) -> S3Result<S3Response<dto::DeleteBucketPolicyOutput>> {
        let bucket = req.input.bucket.clone();
        let slot = begin(&req, "DeleteBucketPolicy", false, bucket_params(&bucket));
        let result = async {
            let ctx = caller(&req)?;
            self.backend
                .delete_bucket_policy(ctx, &bucket)
                .await
                .map_err(|e| from_core(&e))?;
            Ok(S3Response::new(dto::DeleteBucketPolicyOutput::default()))
        }
        .await;
        finish(&slot, result)
    }

    async fn put_object(
        &self,
        mut req: S3Request<dto::PutObjectInput>,
    ) -> S3Result<S3Response<dto::PutObjectOutput>> {
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        let slot = begin(&req, "PutObject", false, object_params(&bucket, &key));
        let expires = raw_header(&req, "expires");
        let body = req.input.body.take();
        let result = async {
            let ctx = caller(&req)?;
            let input = &req.input;
            refuse_unsupported_put(input)?;
            let mut meta: Vec<(String, String)> = input
                .metadata
                .iter()
                .flatten()
                .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
                .collect();
            meta.sort();
            let headers = ObjectHeaders {
                content_type: input.content_type.clone(),
                content_encoding: input.content_encoding.clone(),
                content_disposition: input.content_disposition.clone(),
                content_language: input.content_language.clone(),
                cache_control: input.cache_control.clone(),
                expires,
                metadata: meta,
                content_md5: input.content_md5.clone(),
                tags: tagging::parse_tagging_header(input.tagging.as_deref())?,
            };
            let checksum = checksum_request(&req, given_checksums!(input));
            let (stream, watch) = watch_body(body);
            let stored = self
                .backend
                .put_object(ctx, &bucket, &key, headers, checksum, stream)
                .await;
            let put = watch.settle(stored)?;
            let mut out = dto::PutObjectOutput {
                e_tag: etag(&put.etag),
                checksum_type: checksum_type(Some(&put.checksum)),
                ..Default::default()
            };
            set_checksum!(out, Some(&put.checksum));
            Ok(S3Response::new(out))
        }
        .await;
        finish(&slot, result)
    }

    async fn get_object(
        &self,
        req: S3Request<dto::GetObjectInput>,
    ) -> S3Result<S3Response<dto::GetObjectOutput>> {
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        let slot = begin(&req, "GetObject", true, object_params(&bucket, &key));
        let result = async {
            let ctx = caller(&req)?;
            let input = &req.input;
            let get = get_request(
                &req,
                input.range,
                input.if_modified_since.clone(),
                input.if_unmodified_since.clone(),
                input.checksum_mode.as_ref(),
            );
            let outcome = self
                .backend
                .get_object(ctx, &bucket, &key, get)
                .await
                .map_err(|e| from_core(&e))?;
            let info = outcome.info;
            let (length, range) = match outcome.range {
                Some((first, last)) => (
                    last.saturating_sub(first).saturating_add(1),
                    Some(content_range(first, last, info.size)),
                ),
                None => (info.size, None),
            };
            let body = s3s::Body::http_body_unsync(http_body_util::StreamBody::new(
                outcome.body.map_ok(Frame::data),
            ));
            let h = &info.headers;
            let mut resp = S3Response::new(dto::GetObjectOutput {
                body: Some(dto::StreamingBlob::from(body)),
                accept_ranges: Some("bytes".to_string()),
                content_length: Some(i64::try_from(length).unwrap_or(i64::MAX)),
                content_range: range,
                e_tag: etag(&info.etag),
                last_modified: Some(to_s3_time(info.last_modified)),
                metadata: metadata(h),
                content_type: h.content_type.clone(),
                content_encoding: h.content_encoding.clone(),
                content_disposition: h.content_disposition.clone(),
                content_language: h.content_language.clone(),
                cache_control: h.cache_control.clone(),
                tag_count: tagging::tag_count(h),
                checksum_type: checksum_type(info.checksum.as_ref()),
                ..Default::default()
            });
            set_checksum!(resp.output, info.checksum.as_ref());
            // s3s lays the response-* overrides over these afterwards.
            resp.headers = expires_header(h);
            Ok(resp)
        }
        .await;
        finish(&slot, result)
    }

    async fn head_object(
        &self,
        req: S3Request<dto::HeadObjectInput>,
    ) -> S3Result<S3Response<dto::HeadObjectOutput>> {
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        let slot = begin(&req, "HeadObject", true, object_params(&bucket, &key));
        let result = async {
            let ctx = caller(&req)?;
            let input = &req.input;
            let get = get_request(
                &req,
                input.range,
                input.if_modified_since.clone(),
                input.if_unmodified_since.clone(),
                input.checksum_mode.as_ref(),
            );
            let info = self
                .backend
                .head_object(ctx, &bucket, &key, get)
                .await
                .map_err(|e| from_core(&e))?;
            // A ranged HEAD describes the part a GET would send.
            let (length, range) = match input.range {
                None => (object_size(&info), None),
                Some(r) => {
                    let span = r.check(info.size).map_err(|_| {
                        coded("InvalidRange", "The requested range is not satisfiable")
                    })?;
                    let len = span.end.saturating_sub(span.start);
                    let last = span.end.saturating_sub(1);
                    (
                        i64::try_from(len).unwrap_or(i64::MAX),
                        Some(content_range(span.start, last, info.size)),
                    )
                }
            };
            let h = &info.headers;
            let mut resp = S3Response::new(dto::HeadObjectOutput {
                accept_ranges: Some("bytes".to_string()),
                content_length: Some(length),
                content_range: range,
                e_tag: etag(&info.etag),
                last_modified: Some(to_s3_time(info.last_modified)),
                metadata: metadata(h),
                content_type: input
                    .response_content_type
                    .clone()
                    .or_else(|| h.content_type.clone()),
                content_encoding: h.content_encoding.clone(),
                content_disposition: h.content_disposition.clone(),
                content_language: h.content_language.clone(),
                cache_control: h.cache_control.clone(),
                checksum_type: checksum_type(info.checksum.as_ref()),
                ..Default::default()
            });
            set_checksum!(resp.output, info.checksum.as_ref());
            resp.headers = expires_header(h);
            Ok(resp)
        }
        .await;
        finish(&slot, result)
    }

    async fn delete_object(
        &self,
        req: S3Request<dto::DeleteObjectInput>,
    ) -> S3Result<S3Response<dto::DeleteObjectOutput>> {
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        let slot = begin(&req, "DeleteObject", false, object_params(&bucket, &key));
        let result = async {
            let ctx = caller(&req)?;
            self.backend
                .delete_object(ctx, &bucket, &key)
                .await
                .map_err(|e| from_core(&e))?;
            Ok(S3Response::new(dto::DeleteObjectOutput::default()))
        }
        .await;
        finish(&slot, result)
    }

    async fn list_objects(
        &self,
        req: S3Request<dto::ListObjectsInput>,
    ) -> S3Result<S3Response<dto::ListObjectsOutput>> {
        let bucket = req.input.bucket.clone();
        let slot = begin(&req, "ListObjects", true, bucket_params(&bucket));
        let result = async {
            let ctx = caller(&req)?;
            let input = &req.input;
            let names = Names(url_encoding(input.encoding_type.as_ref())?);
            let max = max_keys(input.max_keys)?;
            let list = ListRequest {
                prefix: input.prefix.clone().unwrap_or_default(),
                delimiter: input.delimiter.clone().filter(|d| !d.is_empty()),
                max_keys: max,
                after: input.marker.clone().filter(|m| !m.is_empty()),
            };
            let page = self
                .backend
                .list_objects(ctx, &bucket, list)
                .await
                .map_err(|e| from_core(&e))?;
            let (contents, prefixes) = names.contents(&page);
            let next_marker = if page.is_truncated {
                names.opt(page.next_after.as_deref())
            } else {
                None
            };
            Ok(S3Response::new(dto::ListObjectsOutput {
                name: Some(bucket.clone()),
                prefix: Some(names.out(input.prefix.as_deref().unwrap_or(""))),
                marker: Some(names.out(input.marker.as_deref().unwrap_or(""))),
                max_keys: Some(i32::try_from(max).unwrap_or(MAX_KEYS)),
                is_truncated: Some(page.is_truncated),
                contents: Some(contents),
                common_prefixes: Some(prefixes),
                delimiter: names.opt(input.delimiter.as_deref()),
                next_marker,
                encoding_type: input.encoding_type.clone(),
                ..Default::default()
            }))
        }
        .await;
        finish(&slot, result)
    }

    async fn list_objects_v2(
        &self,
        req: S3Request<dto::ListObjectsV2Input>,
    ) -> S3Result<S3Response<dto::ListObjectsV2Output>> {
        let bucket = req.input.bucket.clone();
        let slot = begin(&req, "ListObjectsV2", true, bucket_params(&bucket));
        let result = async {
            let ctx = caller(&req)?;
            let input = &req.input;
            let names = Names(url_encoding(input.encoding_type.as_ref())?);
            let max = max_keys(input.max_keys)?;
            // A continuation token wins over start-after, as in S3.
            let after = match input.continuation_token.as_deref() {
                Some(t) => Some(token::decode(t).ok_or_else(|| {
                    coded(
                        "InvalidArgument",
                        "The continuation token provided is incorrect",
                    )
                })?),
                None => input.start_after.clone().filter(|s| !s.is_empty()),
            };
            let list = ListRequest {
                prefix: input.prefix.clone().unwrap_or_default(),
                delimiter: input.delimiter.clone().filter(|d| !d.is_empty()),
                max_keys: max,
                after,
            };
            let page = self
                .backend
                .list_objects(ctx, &bucket, list)
                .await
                .map_err(|e| from_core(&e))?;
            let (contents, prefixes) = names.contents(&page);
            let key_count = i32::try_from(contents.len() + prefixes.len()).unwrap_or(MAX_KEYS);
            let next_continuation_token = if page.is_truncated {
                page.next_after.as_deref().map(token::encode)
            } else {
                None
            };
            Ok(S3Response::new(dto::ListObjectsV2Output {
                name: Some(bucket.clone()),
                prefix: Some(names.out(input.prefix.as_deref().unwrap_or(""))),
                max_keys: Some(i32::try_from(max).unwrap_or(MAX_KEYS)),
                key_count: Some(key_count),
                continuation_token: input.continuation_token.clone(),
                is_truncated: Some(page.is_truncated),
                next_continuation_token,
                contents: Some(contents),
                common_prefixes: Some(prefixes),
                delimiter: names.opt(input.delimiter.as_deref()),
                encoding_type: input.encoding_type.clone(),
                start_after: names.opt(input.start_after.as_deref()),
                ..Default::default()
            }))
        }
        .await;
        finish(&slot, result)
    }

    // Multipart uploads, CopyObject and DeleteObjects: in ops/transfer.rs.

    async fn create_multipart_upload(
        &self,
        req: S3Request<dto::CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<dto::CreateMultipartUploadOutput>> {
        self.op_create_multipart_upload(req).await
    }

    async fn upload_part(
        &self,
        req: S3Request<dto::UploadPartInput>,
    ) -> S3Result<S3Response<dto::UploadPartOutput>> {
        self.op_upload_part(req).await
    }

    async fn upload_part_copy(
        &self,
        req: S3Request<dto::UploadPartCopyInput>,
    ) -> S3Result<S3Response<dto::UploadPartCopyOutput>> {
        self.op_upload_part_copy(req).await
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<dto::CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<dto::CompleteMultipartUploadOutput>> {
        self.op_complete_multipart_upload(req).await
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<dto::AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<dto::AbortMultipartUploadOutput>> {
        self.op_abort_multipart_upload(req).await
    }

    async fn list_parts(
        &self,
        req: S3Request<dto::ListPartsInput>,
    ) -> S3Result<S3Response<dto::ListPartsOutput>> {
        self.op_list_parts(req).await
    }

    async fn list_multipart_uploads(
        &self,
        req: S3Request<dto::ListMultipartUploadsInput>,
    ) -> S3Result<S3Response<dto::ListMultipartUploadsOutput>> {
        self.op_list_multipart_uploads(req).await
    }

    async fn copy_object(
        &self,
        req: S3Request<dto::CopyObjectInput>,
    ) -> S3Result<S3Response<dto::CopyObjectOutput>> {
        self.op_copy_object(req).await
    }

    async fn delete_objects(
        &self,
        req: S3Request<dto::DeleteObjectsInput>,
    ) -> S3Result<S3Response<dto::DeleteObjectsOutput>> {
        self.op_delete_objects(req).await
    }

    // Tagging, ACL answers, ownership controls, policy status: in ops/tagging.rs.

    async fn put_bucket_tagging(
        &self,
        req: S3Request<dto::PutBucketTaggingInput>,
    ) -> S3Result<S3Response<dto::PutBucketTaggingOutput>> {
        self.op_put_bucket_tagging(req).await
    }

    async fn get_bucket_tagging(
        &self,
        req: S3Request<dto::GetBucketTaggingInput>,
    ) -> S3Result<S3Response<dto::GetBucketTaggingOutput>> {
        self.op_get_bucket_tagging(req).await
    }

    async fn delete_bucket_tagging(
        &self,
        req: S3Request<dto::DeleteBucketTaggingInput>,
    ) -> S3Result<S3Response<dto::DeleteBucketTaggingOutput>> {
        self.op_delete_bucket_tagging(req).await
    }

    async fn put_object_tagging(
        &self,
        req: S3Request<dto::PutObjectTaggingInput>,
    ) -> S3Result<S3Response<dto::PutObjectTaggingOutput>> {
        self.op_put_object_tagging(req).await
    }

    async fn get_object_tagging(
        &self,
        req: S3Request<dto::GetObjectTaggingInput>,
    ) -> S3Result<S3Response<dto::GetObjectTaggingOutput>> {
        self.op_get_object_tagging(req).await
    }

    async fn delete_object_tagging(
        &self,
        req: S3Request<dto::DeleteObjectTaggingInput>,
    ) -> S3Result<S3Response<dto::DeleteObjectTaggingOutput>> {
        self.op_delete_object_tagging(req).await
    }

    async fn get_bucket_policy_status(
        &self,
        req: S3Request<dto::GetBucketPolicyStatusInput>,
    ) -> S3Result<S3Response<dto::GetBucketPolicyStatusOutput>> {
        self.op_get_bucket_policy_status(req).await
    }

    async fn get_bucket_acl(
        &self,
        req: S3Request<dto::GetBucketAclInput>,
    ) -> S3Result<S3Response<dto::GetBucketAclOutput>> {
        self.op_get_bucket_acl(req).await
    }

    async fn get_bucket_ownership_controls(
        &self,
        req: S3Request<dto::GetBucketOwnershipControlsInput>,
    ) -> S3Result<S3Response<dto::GetBucketOwnershipControlsOutput>> {
        self.op_get_bucket_ownership_controls(req).await
    }

    async fn get_object_acl(
        &self,
        req: S3Request<dto::GetObjectAclInput>,
    ) -> S3Result<S3Response<dto::GetObjectAclOutput>> {
        self.op_get_object_acl(req).await
    }

    async fn put_bucket_acl(
        &self,
        req: S3Request<dto::PutBucketAclInput>,
    ) -> S3Result<S3Response<dto::PutBucketAclOutput>> {
        self.op_put_bucket_acl(req).await
    }

    async fn put_object_acl(
        &self,
        req: S3Request<dto::PutObjectAclInput>,
    ) -> S3Result<S3Response<dto::PutObjectAclOutput>> {
        self.op_put_object_acl(req).await
    }
}
