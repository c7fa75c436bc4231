//! S3 buckets and objects: names unique across accounts, metadata in the
//! owner's store, bytes in the owner's blob root, and every call decided by
//! the policy engine with the bucket policy as the resource policy (across
//! accounts both sides must allow).
//!
//! Bytes are durable before the metadata points at them, and metadata is
//! one atomic write, so a reader sees the old object or the new one, never a
//! mix. Every blob written gets a sweep record first; the blob sweeper later
//! deletes the ones no object points at (an interrupted upload, an
//! overwritten or deleted object).
//!
//! Every write also digests its bytes as they stream (`checksum`): the
//! flexible checksum the client sent is checked before the blob is
//! published, and the object keeps one (S3's CRC64NVME when none was sent).

mod access_points;
pub mod checksum;
mod copy;
mod list;
mod multipart;
mod tagging;

use std::sync::Arc;

use base64::Engine as _;
use bytes::Bytes;
use chrono::Duration;
use ferry_blob::{BlobError, Blobs, PutOptions};
use ferry_policy::{ContextValue, NamedPolicy, Policy, PolicyKind, SizeLimit};
use ferry_store::{
    AccessPoint, BlobRoot, BlobSweep, Bucket, BucketName, S3Object, Store, StoreError, Write,
    WriteBatch,
};
use ferry_types::Timestamp;
use futures::stream::{BoxStream, Stream, StreamExt};
use serde::{Deserialize, Serialize};

use crate::authz::Check;
use crate::{CoreError, Ferry, RequestContext};
pub use access_points::AccessPointInfo;
pub use checksum::{Checksum, ChecksumAlgorithm, ChecksumRequest, ChecksumType, TrailerSource};
pub use copy::{
    CopyOutcome, CopyRequest, CopySource, DeleteResult, MetadataDirective, TaggingDirective,
};
pub use list::{ListOutcome, ListRequest};
pub use multipart::{
    CompleteOutcome, CompletedPart, ListPartsOutcome, ListUploadsOutcome, ListUploadsRequest,
    PartInfo, UploadChecksum, UploadInfo,
};
pub use tagging::{MAX_BUCKET_TAGS, MAX_OBJECT_TAGS, OWNERSHIP, canonical_id, validate_tags};

/// Longest object key, in bytes.
pub const MAX_KEY_BYTES: usize = 1024;
/// Most user-metadata bytes (names and values) on an object.
pub const MAX_METADATA_BYTES: usize = 2048;
/// Largest bucket policy.
const MAX_POLICY_BYTES: usize = 20 * 1024;
/// How long an upload may take before its unreferenced blob is swept.
const UPLOAD_GRACE_HOURS: i64 = 6;
/// How long a replaced blob stays for readers already streaming it.
const REPLACED_GRACE_MINUTES: i64 = 15;

/// Content headers and user metadata kept with an object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectHeaders {
    /// `Content-Type`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// `Content-Encoding`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_encoding: Option<String>,
    /// `Content-Disposition`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_disposition: Option<String>,
    /// `Content-Language`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_language: Option<String>,
    /// `Cache-Control`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<String>,
    /// `Expires`, as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    /// `x-amz-meta-*`, names lowercased.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metadata: Vec<(String, String)>,
    /// `Content-MD5` as sent (base64); checked, not stored.
    #[serde(skip)]
    pub content_md5: Option<String>,
    /// The object's tags: set by `x-amz-tagging` on a put, read back for
    /// `x-amz-tagging-count`. Kept in the object row, not in this JSON.
    #[serde(skip)]
    pub tags: Vec<(String, String)>,
}

/// What an object's (or an upload's) metadata JSON holds: the headers,
/// and the checksum beside them. Rows written before checksums parse with
/// none.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct StoredMeta {
    #[serde(flatten)]
    headers: ObjectHeaders,
    /// The object's checksum.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    checksum: Option<Checksum>,
    /// An upload's checksum algorithm and type, as created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    upload_checksum: Option<UploadChecksum>,
}

impl StoredMeta {
    fn parse(json: &str) -> Self {
        serde_json::from_str(json).unwrap_or_default()
    }

    fn to_json(&self) -> Result<String, CoreError> {
        serde_json::to_string(self).map_err(internal)
    }
}

/// A bucket as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketInfo {
    /// Name.
    pub name: String,
    /// Region it was created in.
    pub region: String,
    /// Creation time.
    pub created_at: Timestamp,
}

/// An object's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    /// Key.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// The ETag, quoted.
    pub etag: String,
    /// Last write.
    pub last_modified: Timestamp,
    /// Content headers and user metadata.
    pub headers: ObjectHeaders,
    /// The object's checksum: on a read, only when asked for
    /// (`x-amz-checksum-mode: ENABLED`) and the whole object is read.
    pub checksum: Option<Checksum>,
}

/// A `Range` request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRange {
    /// `bytes=a-b`.
    FromTo(u64, u64),
    /// `bytes=a-`.
    From(u64),
    /// `bytes=-n`: the last n bytes.
    Suffix(u64),
}

/// What `GetObject`/`HeadObject` may ask besides the key.
#[derive(Debug, Clone, Default)]
pub struct GetRequest {
    /// The byte range.
    pub range: Option<ByteRange>,
    /// `If-Match`.
    pub if_match: Option<String>,
    /// `If-None-Match`.
    pub if_none_match: Option<String>,
    /// `If-Modified-Since`.
    pub if_modified_since: Option<Timestamp>,
    /// `If-Unmodified-Since`.
    pub if_unmodified_since: Option<Timestamp>,
    /// `x-amz-checksum-mode: ENABLED`: the answer carries the checksum
    /// (for a whole-object read).
    pub checksum_mode: bool,
}

impl GetRequest {
    /// The stored checksum, if this read shows it: asked for, and the
    /// whole object (a range's bytes are not what it covers).
    fn shown(&self, checksum: Option<Checksum>) -> Option<Checksum> {
        checksum.filter(|_| self.checksum_mode && self.range.is_none())
    }
}

/// What a `PutObject` stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutOutcome {
    /// The ETag, quoted.
    pub etag: String,
    /// The object's checksum: the one asked for, or CRC64NVME, S3's
    /// default.
    pub checksum: Checksum,
}

/// An object being read.
pub struct GetOutcome {
    /// Its metadata.
    pub info: ObjectInfo,
    /// The bytes sent, inclusive, when a range was asked for.
    pub range: Option<(u64, u64)>,
    /// The bytes.
    pub body: BoxStream<'static, Result<Bytes, CoreError>>,
}

impl std::fmt::Debug for GetOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GetOutcome")
            .field("info", &self.info)
            .field("range", &self.range)
            .finish_non_exhaustive()
    }
}

fn invalid(code: &'static str, message: impl Into<String>) -> CoreError {
    CoreError::invalid(code, message)
}

fn no_bucket(name: &str) -> CoreError {
    CoreError::not_found(
        "NoSuchBucket",
        format!("The specified bucket does not exist: {name}"),
    )
}

fn internal(e: impl std::fmt::Display) -> CoreError {
    CoreError::Internal(e.to_string())
}

/// The ARN of a bucket.
pub fn bucket_arn(bucket: &str) -> String {
    format!("arn:aws:s3:::{bucket}")
}

/// The ARN of an object.
pub fn object_arn(bucket: &str, key: &str) -> String {
    format!("arn:aws:s3:::{bucket}/{key}")
}

/// Checks a bucket name against S3's rules for new buckets.
pub fn validate_bucket_name(name: &str) -> Result<(), CoreError> {
    let bad = |why: &str| {
        invalid(
            "InvalidBucketName",
            format!("The specified bucket is not valid: {name}: {why}"),
        )
    };
    if !(3..=63).contains(&name.len()) {
        return Err(bad("bucket names are 3 to 63 characters long"));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
    {
        return Err(bad(
            "only lowercase letters, digits, dots and hyphens are allowed",
        ));
    }
    let first = name.as_bytes()[0];
    let last = name.as_bytes()[name.len() - 1];
    if !first.is_ascii_alphanumeric() || !last.is_ascii_alphanumeric() {
        return Err(bad("a bucket name begins and ends with a letter or digit"));
    }
    if name.contains("..") || name.contains(".-") || name.contains("-.") {
        return Err(bad("adjacent periods, or a period next to a hyphen"));
    }
    if name.parse::<std::net::Ipv4Addr>().is_ok() {
        return Err(bad("a bucket name must not look like an IP address"));
    }
    if name.starts_with("xn--")
        || name.starts_with("sthree-")
        || name.ends_with("-s3alias")
        || name.ends_with("--ol-s3")
    {
        return Err(bad("the prefix or suffix is reserved"));
    }
    Ok(())
}

fn object_info(o: &S3Object) -> ObjectInfo {
    let meta = StoredMeta::parse(&o.meta);
    ObjectInfo {
        key: o.key.clone(),
        size: u64::try_from(o.size).unwrap_or(0),
        etag: o.etag.clone(),
        last_modified: o.last_modified,
        headers: ObjectHeaders {
            tags: o.tags.clone(),
            ..meta.headers
        },
        checksum: meta.checksum,
    }
}

fn bucket_policy(b: &Bucket) -> Vec<NamedPolicy> {
    let Some(doc) = &b.policy else {
        return Vec::new();
    };
    match Policy::parse_with_limit(doc, PolicyKind::Resource, SizeLimit::unlimited()) {
        Ok(p) => vec![NamedPolicy::new("bucket policy", p)],
        Err(e) => {
            tracing::error!(bucket = %b.name, error = %e.message(), "stored bucket policy does not parse");
            Vec::new()
        }
    }
}

/// A bucket found for a request: its row and its owner's store.
struct Found {
    bucket: Bucket,
    store: Arc<dyn Store>,
    /// The access point the request came through, if any.
    via: Option<AccessPoint>,
}

/// What an action is on: the bucket itself or one of its objects.
#[derive(Clone, Copy)]
enum On<'a> {
    Bucket,
    Object(&'a str),
}

/// S3 compares ETags with or without quotes.
fn etag_matches(header: &str, etag: &str) -> bool {
    let bare = etag.trim_matches('"');
    header
        .split(',')
        .map(|t| t.trim().trim_start_matches("W/").trim_matches('"'))
        .any(|t| t == "*" || t == bare)
}

impl Ferry {
    fn blobs(&self) -> Result<&Blobs, CoreError> {
        self.blobs
            .as_ref()
            .ok_or_else(|| CoreError::Internal("no blob store configured".into()))
    }

    /// The bucket `name`, wherever its owner lives. A missing bucket is
    /// `NoSuchBucket` for everyone: bucket names are public on S3.
    async fn find_bucket(&self, name: &str) -> Result<Found, CoreError> {
        if name.ends_with("-s3alias") {
            return self.find_via_alias(name).await;
        }
        self.find_bucket_by_name(name).await
    }

    /// The bucket of this very name (not an alias).
    async fn find_bucket_by_name(&self, name: &str) -> Result<Found, CoreError> {
        let Some(entry) = self.placement().catalog().get_bucket_name(name).await? else {
            return Err(no_bucket(name));
        };
        let Some(store) = self.placement().existing(entry.account_id).await? else {
            return Err(no_bucket(name));
        };
        let Some(bucket) = store.get_bucket(entry.account_id, name).await? else {
            return Err(no_bucket(name));
        };
        Ok(Found {
            bucket,
            store,
            via: None,
        })
    }

    /// Authorizes `action` on `resource` of a bucket, with its policy.
    async fn authorize_s3(
        &self,
        ctx: &RequestContext,
        action: &str,
        on: On<'_>,
        found: &Found,
        mut context: Vec<(String, ContextValue)>,
    ) -> Result<(), CoreError> {
        let name = &found.bucket.name;
        let bucket_resource = match on {
            On::Bucket => bucket_arn(name),
            On::Object(key) => object_arn(name, key),
        };
        if let Some(ap) = &found.via {
            let arn = access_points::arn(&ctx.region, ap);
            context.push((
                "s3:DataAccessPointArn".into(),
                ContextValue::from(arn.clone()),
            ));
            context.push((
                "s3:DataAccessPointAccount".into(),
                ContextValue::from(ap.account_id.to_string()),
            ));
            context.push((
                "s3:AccessPointNetworkOrigin".into(),
                ContextValue::from(ap.network_origin.clone()),
            ));
            let ap_resource = match on {
                On::Bucket => arn,
                On::Object(key) => format!("{arn}/object/{key}"),
            };
            let mut check = Check::new(action, ap_resource, ap.account_id);
            check.resource_policies = access_points::policy_of(ap);
            check.context = context.clone();
            self.authorize(ctx, check).await?;
        }
        let mut check = Check::new(action, bucket_resource, found.bucket.account_id);
        check.resource_policies = bucket_policy(&found.bucket);
        check.context = context;
        self.authorize(ctx, check).await
    }

    /// The owner of a bucket (or of the bucket behind an access point
    /// alias), without authorization: for audit records only.
    pub async fn s3_owner(&self, name: &str) -> Option<ferry_types::AccountId> {
        self.find_bucket(name)
            .await
            .ok()
            .map(|f| f.bucket.account_id)
    }

    /// Finds a bucket and authorizes a bucket-level action on it.
    async fn bucket_for(
        &self,
        ctx: &RequestContext,
        action: &str,
        name: &str,
    ) -> Result<Found, CoreError> {
        let found = self.find_bucket(name).await?;
        self.authorize_s3(ctx, action, On::Bucket, &found, Vec::new())
            .await?;
        Ok(found)
    }

    /// `ListBuckets`: the caller's own buckets.
    pub async fn list_buckets(&self, ctx: &RequestContext) -> Result<Vec<BucketInfo>, CoreError> {
        let account = ctx.principal.account;
        self.authorize(ctx, Check::new("s3:ListAllMyBuckets", "*", account))
            .await?;
        let store = self.placement().for_account(account).await?;
        Ok(store
            .list_buckets(account)
            .await?
            .into_iter()
            .map(|b| BucketInfo {
                name: b.name,
                region: b.region,
                created_at: b.created_at,
            })
            .collect())
    }

    /// `CreateBucket` in the caller's account.
    pub async fn create_bucket(
        &self,
        ctx: &RequestContext,
        name: &str,
        region: &str,
    ) -> Result<(), CoreError> {
        let account = ctx.principal.account;
        self.authorize(
            ctx,
            Check::new("s3:CreateBucket", bucket_arn(name), account),
        )
        .await?;
        validate_bucket_name(name)?;
        let now = self.now();
        let catalog = self.placement().catalog().clone();
        let store = self.placement().for_account(account).await?;
        let taken = match catalog
            .apply(WriteBatch::one(Write::PutBucketName(BucketName {
                name: name.to_string(),
                account_id: account,
                created_at: now,
            })))
            .await
        {
            Ok(()) => false,
            Err(StoreError::Conflict(_)) => true,
            Err(e) => return Err(e.into()),
        };
        if taken {
            let owner = catalog.get_bucket_name(name).await?.map(|b| b.account_id);
            if owner != Some(account) {
                return Err(CoreError::Conflict {
                    code: "BucketAlreadyExists",
                    message: "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.".into(),
                });
            }
            if store.get_bucket(account, name).await?.is_some() {
                return Err(CoreError::Conflict {
                    code: "BucketAlreadyOwnedByYou",
                    message: "Your previous request to create the named bucket succeeded and you already own it.".into(),
                });
            }
            // The name is ours but the bucket row is missing (a crash
            // between the two writes): finish the creation.
        }
        let bucket = Bucket {
            account_id: account,
            name: name.to_string(),
            region: region.to_string(),
            policy: None,
            tags: Vec::new(),
            created_at: now,
        };
        if let Err(e) = store.apply(WriteBatch::one(Write::PutBucket(bucket))).await {
            if !taken {
                let _ = catalog
                    .apply(WriteBatch::one(Write::DeleteBucketName(name.to_string())))
                    .await;
            }
            return Err(e.into());
        }
        Ok(())
    }

    /// `HeadBucket`.
    pub async fn head_bucket(
        &self,
        ctx: &RequestContext,
        name: &str,
    ) -> Result<BucketInfo, CoreError> {
        let f = self.bucket_for(ctx, "s3:ListBucket", name).await?;
        Ok(BucketInfo {
            name: f.bucket.name,
            region: f.bucket.region,
            created_at: f.bucket.created_at,
        })
    }

    /// `GetBucketLocation`.
    pub async fn get_bucket_location(
        &self,
        ctx: &RequestContext,
        name: &str,
    ) -> Result<String, CoreError> {
        let f = self.bucket_for(ctx, "s3:GetBucketLocation", name).await?;
        Ok(f.bucket.region)
    }

    /// `DeleteBucket`: only an empty one.
    pub async fn delete_bucket(&self, ctx: &RequestContext, name: &str) -> Result<(), CoreError> {
        let f = self.bucket_for(ctx, "s3:DeleteBucket", name).await?;
        let owner = f.bucket.account_id;
        let name = f.bucket.name.as_str();
        if !f
            .store
            .list_objects(owner, name, "", None, 1)
            .await?
            .is_empty()
        {
            return Err(CoreError::Conflict {
                code: "BucketNotEmpty",
                message: "The bucket you tried to delete is not empty".into(),
            });
        }
        // Uploads in progress go with the bucket (their parts are swept),
        // in the same write.
        let mut batch = WriteBatch::one(Write::DeleteBucket {
            account: owner,
            name: name.to_string(),
        });
        for w in self.abort_all_uploads(&f).await? {
            batch.push(w);
        }
        f.store.apply(batch).await?;
        self.placement()
            .catalog()
            .apply(WriteBatch::one(Write::DeleteBucketName(name.to_string())))
            .await?;
        Ok(())
    }

    /// `PutBucketPolicy`.
    pub async fn put_bucket_policy(
        &self,
        ctx: &RequestContext,
        name: &str,
        policy: &str,
    ) -> Result<(), CoreError> {
        let mut f = self.bucket_for(ctx, "s3:PutBucketPolicy", name).await?;
        check_resource_policy(policy)?;
        f.bucket.policy = Some(policy.to_string());
        f.store
            .apply(WriteBatch::one(Write::UpdateBucket(f.bucket)))
            .await?;
        Ok(())
    }

    /// `GetBucketPolicy`.
    pub async fn get_bucket_policy(
        &self,
        ctx: &RequestContext,
        name: &str,
    ) -> Result<String, CoreError> {
        let f = self.bucket_for(ctx, "s3:GetBucketPolicy", name).await?;
        f.bucket.policy.ok_or_else(|| {
            CoreError::not_found("NoSuchBucketPolicy", "The bucket policy does not exist")
        })
    }

    /// `DeleteBucketPolicy`.
    pub async fn delete_bucket_policy(
        &self,
        ctx: &RequestContext,
        name: &str,
    ) -> Result<(), CoreError> {
        let mut f = self.bucket_for(ctx, "s3:DeleteBucketPolicy", name).await?;
        f.bucket.policy = None;
        f.store
            .apply(WriteBatch::one(Write::UpdateBucket(f.bucket)))
            .await?;
        Ok(())
    }

    /// Finds a bucket and authorizes an object action on `key`.
    async fn object_for(
        &self,
        ctx: &RequestContext,
        action: &str,
        bucket: &str,
        key: &str,
    ) -> Result<Found, CoreError> {
        if key.is_empty() || key.len() > MAX_KEY_BYTES {
            return Err(invalid(
                "KeyTooLongError",
                format!("Your key is too long: keys are 1 to {MAX_KEY_BYTES} bytes"),
            ));
        }
        let found = self.find_bucket(bucket).await?;
        self.authorize_s3(ctx, action, On::Object(key), &found, Vec::new())
            .await?;
        Ok(found)
    }

    /// The answer for a missing key: `NoSuchKey` to a caller who may list
    /// the bucket, `AccessDenied` to anyone else, as S3 does.
    async fn missing_key(&self, ctx: &RequestContext, f: &Found, key: &str) -> CoreError {
        match self
            .authorize_s3(ctx, "s3:ListBucket", On::Bucket, f, Vec::new())
            .await
        {
            Ok(()) => CoreError::not_found(
                "NoSuchKey",
                format!("The specified key does not exist: {key}"),
            ),
            Err(e) => e,
        }
    }

    /// `PutObject` without a flexible checksum: see [`Ferry::put_object_with`].
    pub async fn put_object<S, E>(
        &self,
        ctx: &RequestContext,
        bucket: &str,
        key: &str,
        headers: ObjectHeaders,
        body: S,
    ) -> Result<String, CoreError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send + Unpin + 'static,
        E: Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    {
        self.put_object_with(ctx, bucket, key, headers, ChecksumRequest::default(), body)
            .await
            .map(|o| o.etag)
    }

    /// `PutObject`: streams the body into a new blob, checking its MD5 and
    /// its flexible checksum when given (in a header or a trailer), then
    /// points the key at it in one write. Without a checksum asked for,
    /// the object gets S3's default, CRC64NVME.
    pub async fn put_object_with<S, E>(
        &self,
        ctx: &RequestContext,
        bucket: &str,
        key: &str,
        headers: ObjectHeaders,
        checksum: ChecksumRequest,
        body: S,
    ) -> Result<PutOutcome, CoreError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send + Unpin + 'static,
        E: Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    {
        let f = self.put_target_for(ctx, bucket, key, &headers.tags).await?;
        check_metadata(&headers)?;
        let opts = PutOptions {
            expected_md5: parse_content_md5(headers.content_md5.as_deref())?,
            ..Default::default()
        };
        let plan = checksum::plan(&checksum)?
            .unwrap_or_else(|| checksum::Plan::compute(ChecksumAlgorithm::Crc64nvme));
        let owner = f.bucket.account_id;
        let bucket = f.bucket.name.as_str();
        let (blob_key, info, checksum) =
            self.write_blob_summed(&f, body, &opts, Some(plan)).await?;
        let checksum = checksum.ok_or_else(|| internal("no checksum computed"))?;
        let etag = format!("\"{}\"", info.md5_hex());
        let object = S3Object {
            account_id: owner,
            bucket: bucket.to_string(),
            key: key.to_string(),
            blob_key,
            size: i64::try_from(info.size).unwrap_or(i64::MAX),
            etag: etag.clone(),
            meta: StoredMeta {
                headers: headers.clone(),
                checksum: Some(checksum.clone()),
                upload_checksum: None,
            }
            .to_json()?,
            tags: headers.tags.clone(),
            last_modified: self.now(),
        };
        self.commit_object(&f, object, Vec::new()).await?;
        Ok(PutOutcome { etag, checksum })
    }

    /// Points a key at its new blob in one write (with `extra` writes in
    /// the same batch), sweeping the blob it pointed at before after a
    /// grace time for readers already streaming it.
    async fn commit_object(
        &self,
        f: &Found,
        object: S3Object,
        extra: Vec<Write>,
    ) -> Result<(), CoreError> {
        let owner = object.account_id;
        let previous = f
            .store
            .get_object(owner, &object.bucket, &object.key)
            .await?;
        let mut batch = WriteBatch::one(Write::PutObject(object));
        for w in extra {
            batch.push(w);
        }
        if let Some(old) = previous {
            batch.push(Write::PutBlobSweep(BlobSweep {
                account_id: owner,
                blob_key: old.blob_key,
                not_before: self.now() + Duration::minutes(REPLACED_GRACE_MINUTES),
            }));
        }
        f.store.apply(batch).await?;
        Ok(())
    }

    /// Streams `body` into a new blob of the bucket owner's root, with a
    /// sweep record written first: an interrupted write leaves nothing
    /// behind once the grace time is over, and a blob nothing points at by
    /// then is deleted.
    async fn write_blob<S, E>(
        &self,
        f: &Found,
        body: S,
        opts: &PutOptions,
    ) -> Result<(String, ferry_blob::BlobInfo), CoreError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send + Unpin + 'static,
        E: Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    {
        let owner = f.bucket.account_id;
        let root = self.placement().blob_root(owner).await?;
        let blob_key = format!("s3/{owner}/{}", uuid::Uuid::new_v4());
        f.store
            .apply(WriteBatch::one(Write::PutBlobSweep(BlobSweep {
                account_id: owner,
                blob_key: blob_key.clone(),
                not_before: self.now() + Duration::hours(UPLOAD_GRACE_HOURS),
            })))
            .await?;
        let info = self
            .blobs()?
            .put_with(root, &blob_key, body, opts)
            .await
            .map_err(blob_error)?;
        Ok((blob_key, info))
    }

    /// [`Ferry::write_blob`], digesting the bytes as they stream when a
    /// checksum plan is given and checking them against it: a mismatch
    /// fails the write before the blob is published.
    async fn write_blob_summed<S, E>(
        &self,
        f: &Found,
        body: S,
        opts: &PutOptions,
        plan: Option<checksum::Plan>,
    ) -> Result<(String, ferry_blob::BlobInfo, Option<Checksum>), CoreError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send + Unpin + 'static,
        E: Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    {
        let Some(plan) = plan else {
            let (blob_key, info) = self.write_blob(f, body, opts).await?;
            return Ok((blob_key, info, None));
        };
        let algorithm = plan.algorithm;
        let (body, digest) = checksum::checked(body, plan);
        let (blob_key, info) = self.write_blob(f, body, opts).await?;
        let sum = Checksum::full(algorithm, &checksum::take_digest(&digest)?);
        Ok((blob_key, info, Some(sum)))
    }

    /// The bytes of a stored object (or a range of them) as a stream, for
    /// copying into another blob.
    async fn object_bytes(
        &self,
        owner: ferry_types::AccountId,
        blob_key: &str,
        range: Option<(u64, u64)>,
    ) -> Result<BoxStream<'static, Result<Bytes, CoreError>>, CoreError> {
        let root: BlobRoot = self.placement().blob_root(owner).await?;
        let reader = self
            .blobs()?
            .get(root, blob_key, range.map(|(a, b)| a..b + 1))
            .await
            .map_err(blob_error)?;
        Ok(reader.into_stream().map(|r| r.map_err(blob_error)).boxed())
    }

    /// Reads an object's row and checks the conditional headers.
    async fn read_object(
        &self,
        ctx: &RequestContext,
        action: &str,
        bucket: &str,
        key: &str,
        req: &GetRequest,
    ) -> Result<(Found, S3Object), CoreError> {
        // The row is read before the decision: its tags are condition keys.
        let (f, o) = self
            .existing_object_for(ctx, action, bucket, key, Vec::new())
            .await?;
        let Some(o) = o else {
            return Err(self.missing_key(ctx, &f, key).await);
        };
        // RFC 7232 order, as S3 applies it.
        let failed = || {
            invalid(
                "PreconditionFailed",
                "At least one of the pre-conditions you specified did not hold",
            )
        };
        let not_modified = || invalid("NotModified", "Not Modified");
        let modified = o.last_modified.timestamp();
        if let Some(m) = &req.if_match {
            if !etag_matches(m, &o.etag) {
                return Err(failed());
            }
        } else if let Some(t) = req.if_unmodified_since
            && modified > t.timestamp()
        {
            return Err(failed());
        }
        if let Some(m) = &req.if_none_match {
            if etag_matches(m, &o.etag) {
                return Err(not_modified());
            }
        } else if let Some(t) = req.if_modified_since
            && modified <= t.timestamp()
        {
            return Err(not_modified());
        }
        Ok((f, o))
    }

    /// `HeadObject`.
    pub async fn head_object(
        &self,
        ctx: &RequestContext,
        bucket: &str,
        key: &str,
        req: GetRequest,
    ) -> Result<ObjectInfo, CoreError> {
        let (_, o) = self
            .read_object(ctx, "s3:GetObject", bucket, key, &req)
            .await?;
        let mut info = object_info(&o);
        info.checksum = req.shown(info.checksum.take());
        Ok(info)
    }

    /// `GetObject`: the bytes stream from the blob.
    pub async fn get_object(
        &self,
        ctx: &RequestContext,
        bucket: &str,
        key: &str,
        req: GetRequest,
    ) -> Result<GetOutcome, CoreError> {
        let (f, o) = self
            .read_object(ctx, "s3:GetObject", bucket, key, &req)
            .await?;
        let size = u64::try_from(o.size).unwrap_or(0);
        let range = match req.range {
            None => None,
            Some(r) => Some(resolve_range(r, size)?),
        };
        let root: BlobRoot = self.placement().blob_root(f.bucket.account_id).await?;
        let reader = self
            .blobs()?
            .get(root, &o.blob_key, range.map(|(a, b)| a..b + 1))
            .await
            .map_err(blob_error)?;
        let mut info = object_info(&o);
        info.checksum = req.shown(info.checksum.take());
        Ok(GetOutcome {
            info,
            range,
            body: reader.into_stream().map(|r| r.map_err(blob_error)).boxed(),
        })
    }

    /// `DeleteObject`: deleting a missing key succeeds, as on S3.
    pub async fn delete_object(
        &self,
        ctx: &RequestContext,
        bucket: &str,
        key: &str,
    ) -> Result<(), CoreError> {
        let f = self.object_for(ctx, "s3:DeleteObject", bucket, key).await?;
        let owner = f.bucket.account_id;
        let bucket = f.bucket.name.as_str();
        let Some(old) = f.store.get_object(owner, bucket, key).await? else {
            return Ok(());
        };
        let mut batch = WriteBatch::one(Write::DeleteObject {
            account: owner,
            bucket: bucket.to_string(),
            key: key.to_string(),
        });
        batch.push(Write::PutBlobSweep(BlobSweep {
            account_id: owner,
            blob_key: old.blob_key,
            not_before: self.now() + Duration::minutes(REPLACED_GRACE_MINUTES),
        }));
        f.store.apply(batch).await?;
        Ok(())
    }
}

/// Checks a bucket or access point policy: its size and its grammar.
pub(crate) fn check_resource_policy(policy: &str) -> Result<(), CoreError> {
    if policy.len() > MAX_POLICY_BYTES {
        return Err(invalid(
            "PolicyTooLarge",
            format!("Policies must be no more than {MAX_POLICY_BYTES} bytes"),
        ));
    }
    Policy::parse_with_limit(policy, PolicyKind::Resource, SizeLimit::unlimited())
        .map_err(|e| invalid("MalformedPolicy", e.message()))?;
    Ok(())
}

/// Refuses user metadata over S3's limit.
fn check_metadata(headers: &ObjectHeaders) -> Result<(), CoreError> {
    let meta_bytes: usize = headers
        .metadata
        .iter()
        .map(|(k, v)| k.len() + v.len())
        .sum();
    if meta_bytes > MAX_METADATA_BYTES {
        return Err(invalid(
            "MetadataTooLarge",
            format!(
                "Your metadata headers exceed the maximum allowed metadata size of {MAX_METADATA_BYTES} bytes"
            ),
        ));
    }
    Ok(())
}

/// A `Content-MD5` header (base64 of 16 bytes) as raw bytes.
fn parse_content_md5(b64: Option<&str>) -> Result<Option<[u8; 16]>, CoreError> {
    let Some(b64) = b64 else {
        return Ok(None);
    };
    base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()
        .and_then(|v| <[u8; 16]>::try_from(v).ok())
        .map(Some)
        .ok_or_else(|| {
            invalid(
                "InvalidDigest",
                "The Content-MD5 you specified was invalid.",
            )
        })
}

/// The inclusive byte range `r` selects in an object of `size` bytes.
pub fn resolve_range(r: ByteRange, size: u64) -> Result<(u64, u64), CoreError> {
    let unsatisfiable = || {
        invalid(
            "InvalidRange",
            format!("The requested range is not satisfiable (object size {size})"),
        )
    };
    if size == 0 {
        return Err(unsatisfiable());
    }
    match r {
        ByteRange::FromTo(a, b) if a <= b && a < size => Ok((a, b.min(size - 1))),
        ByteRange::From(a) if a < size => Ok((a, size - 1)),
        ByteRange::Suffix(n) if n > 0 => Ok((size.saturating_sub(n), size - 1)),
        _ => Err(unsatisfiable()),
    }
}

/// Blob failures as S3 errors: a digest mismatch is `BadDigest`; a failed
/// body keeps the error the body reported (a `CoreError` from the adapter).
fn blob_error(e: BlobError) -> CoreError {
    match e {
        BlobError::DigestMismatch { .. } => invalid(
            "BadDigest",
            "The Content-MD5 you specified did not match what we received.",
        ),
        BlobError::SizeMismatch { expected, actual } => invalid(
            "IncompleteBody",
            format!(
                "You did not provide the number of bytes specified by the Content-Length HTTP header ({expected}, got {actual})"
            ),
        ),
        BlobError::Body(inner) => match inner.downcast::<CoreError>() {
            Ok(core) => *core,
            Err(other) => invalid("IncompleteBody", other.to_string()),
        },
        other => internal(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names() {
        for ok in ["abc", "my-bucket.data", "a1b2c3", &"a".repeat(63)] {
            assert!(validate_bucket_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "ab",
            &"a".repeat(64),
            "Upper",
            "under_score",
            "-start",
            "end-",
            "a..b",
            "a.-b",
            "192.168.1.1",
            "xn--abc",
            "name-s3alias",
        ] {
            let e = validate_bucket_name(bad).expect_err(bad);
            assert_eq!(e.code(), "InvalidBucketName");
        }
    }

    #[test]
    fn ranges() {
        assert_eq!(
            resolve_range(ByteRange::FromTo(0, 9), 100).ok(),
            Some((0, 9))
        );
        assert_eq!(
            resolve_range(ByteRange::FromTo(90, 200), 100).ok(),
            Some((90, 99))
        );
        assert_eq!(resolve_range(ByteRange::From(50), 100).ok(), Some((50, 99)));
        assert_eq!(
            resolve_range(ByteRange::Suffix(10), 100).ok(),
            Some((90, 99))
        );
        assert_eq!(
            resolve_range(ByteRange::Suffix(500), 100).ok(),
            Some((0, 99))
        );
        for bad in [
            ByteRange::From(100),
            ByteRange::FromTo(100, 200),
            ByteRange::Suffix(0),
        ] {
            assert_eq!(
                resolve_range(bad, 100).expect_err("416").code(),
                "InvalidRange"
            );
        }
        assert!(resolve_range(ByteRange::From(0), 0).is_err());
    }

    #[test]
    fn stored_metadata_from_before_checksums_still_parses() {
        let old = r#"{"content_type":"text/plain","metadata":[["owner","vendor"]]}"#;
        let m = StoredMeta::parse(old);
        assert_eq!(m.headers.content_type.as_deref(), Some("text/plain"));
        assert_eq!(m.headers.metadata, [("owner".into(), "vendor".into())]);
        assert_eq!(m.checksum, None);
        let new = StoredMeta {
            checksum: Some(Checksum::full(ChecksumAlgorithm::Crc32, &[1, 2, 3, 4])),
            ..m
        };
        let json = new.to_json().expect("json");
        let back = StoredMeta::parse(&json);
        assert_eq!(back.checksum, new.checksum);
        assert_eq!(back.headers, new.headers);
        // The headers stay at the top level, as before.
        assert!(
            json.starts_with(r#"{"content_type":"text/plain""#),
            "{json}"
        );
    }

    #[test]
    fn etags_match_with_or_without_quotes() {
        assert!(etag_matches("\"abc\"", "\"abc\""));
        assert!(etag_matches("abc", "\"abc\""));
        assert!(etag_matches("x, \"abc\"", "\"abc\""));
        assert!(etag_matches("*", "\"abc\""));
        assert!(!etag_matches("\"abd\"", "\"abc\""));
    }
}
