//! The calls the adapter makes into ferry-core, as one object-safe trait.
//!
//! [`Ferry`] implements it by forwarding to `ferry_core::s3`. The trait is
//! the seam that lets the wire tests of this crate run against a small fake
//! without a store, and keeps the generic `put_object` of the core behind one
//! boxed stream type.

use async_trait::async_trait;
use bytes::Bytes;
use ferry_core::{CoreError, Ferry, RequestContext};
use ferry_types::AccountId;
use futures::stream::BoxStream;

pub use ferry_core::s3::{
    AccessPointInfo, BucketInfo, ByteRange, Checksum, ChecksumAlgorithm, ChecksumRequest,
    CompleteOutcome, CompletedPart, CopyOutcome, CopyRequest, CopySource, DeleteResult, GetOutcome,
    GetRequest, ListOutcome, ListPartsOutcome, ListRequest, ListUploadsOutcome, ListUploadsRequest,
    MetadataDirective, ObjectHeaders, ObjectInfo, PartInfo, PutOutcome, TaggingDirective,
    TrailerSource, UploadChecksum,
};

/// What a backend without the multipart and copy operations answers (the
/// wire tests' fake): S3's own code for an operation not there.
fn not_here() -> CoreError {
    CoreError::invalid("NotImplemented", "This operation is not implemented")
}

/// The body of a `PutObject`, as the core reads it. An error item means the
/// client's bytes failed (bad payload hash, broken chunk signature, early
/// end): the core must store nothing.
pub type BodyStream = BoxStream<'static, Result<Bytes, BodyError>>;

/// Why a request body failed while streaming: S3's code and status, so
/// the adapter can answer with them whatever the core makes of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyError {
    /// S3's error code (`XAmzContentSHA256Mismatch`, `IncompleteBody`).
    pub code: String,
    /// The HTTP status S3 answers with.
    pub status: u16,
    /// The message for the client.
    pub message: String,
}

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for BodyError {}

/// ferry-core's S3 operations, one method each.
#[async_trait]
pub trait Backend: Send + Sync + 'static {
    /// The caller's buckets.
    async fn list_buckets(&self, ctx: &RequestContext) -> Result<Vec<BucketInfo>, CoreError>;
    /// Creates a bucket in `region`.
    async fn create_bucket(
        &self,
        ctx: &RequestContext,
        name: &str,
        region: &str,
    ) -> Result<(), CoreError>;
    /// The bucket, if it exists and the caller may see it.
    async fn head_bucket(&self, ctx: &RequestContext, name: &str) -> Result<BucketInfo, CoreError>;
    /// Deletes an empty bucket.
    async fn delete_bucket(&self, ctx: &RequestContext, name: &str) -> Result<(), CoreError>;
    /// The bucket's region.
    async fn get_bucket_location(
        &self,
        ctx: &RequestContext,
        name: &str,
    ) -> Result<String, CoreError>;
    /// Sets the bucket policy (JSON text).
    async fn put_bucket_policy(
        &self,
        ctx: &RequestContext,
        name: &str,
        policy: &str,
    ) -> Result<(), CoreError>;
    /// The bucket policy (JSON text).
    async fn get_bucket_policy(
        &self,
        ctx: &RequestContext,
        name: &str,
    ) -> Result<String, CoreError>;
    /// Removes the bucket policy.
    async fn delete_bucket_policy(&self, ctx: &RequestContext, name: &str)
    -> Result<(), CoreError>;
    /// Stores an object; returns its (quoted) ETag.
    async fn put_object(
        &self,
        ctx: &RequestContext,
        bucket: &str,
        key: &str,
        headers: ObjectHeaders,
        checksum: ChecksumRequest,
        body: BodyStream,
    ) -> Result<PutOutcome, CoreError>;
    /// Reads an object (or a range of it).
    async fn get_object(
        &self,
        ctx: &RequestContext,
        bucket: &str,
        key: &str,
        req: GetRequest,
    ) -> Result<GetOutcome, CoreError>;
    /// An object's metadata.
    async fn head_object(
        &self,
        ctx: &RequestContext,
        bucket: &str,
        key: &str,
        req: GetRequest,
    ) -> Result<ObjectInfo, CoreError>;
    /// Deletes an object (absent objects are not an error).
    async fn delete_object(
        &self,
        ctx: &RequestContext,
        bucket: &str,
        key: &str,
    ) -> Result<(), CoreError>;
    /// One page of a bucket's keys.
    async fn list_objects(
        &self,
        ctx: &RequestContext,
        bucket: &str,
        req: ListRequest,
    ) -> Result<ListOutcome, CoreError>;

    /// The account owning a bucket (or the bucket behind an access point
    /// alias), for the audit record; None when unknown.
    async fn bucket_owner(&self, _bucket: &str) -> Option<AccountId> {
        None
    }

    // S3 Control's access points. The wire tests' fake has none, so these
    // default to an internal error; `Ferry` forwards each to the core.

    /// `CreateAccessPoint` in `account` for `bucket` (of `bucket_account`).
    async fn create_access_point(
        &self,
        _ctx: &RequestContext,
        _account: AccountId,
        _name: &str,
        _bucket: &str,
        _bucket_account: Option<AccountId>,
        _vpc_id: Option<String>,
    ) -> Result<AccessPointInfo, CoreError> {
        Err(no_access_points())
    }
    /// `GetAccessPoint`.
    async fn get_access_point(
        &self,
        _ctx: &RequestContext,
        _account: AccountId,
        _name: &str,
    ) -> Result<AccessPointInfo, CoreError> {
        Err(no_access_points())
    }
    /// `ListAccessPoints`, optionally of one bucket.
    async fn list_access_points(
        &self,
        _ctx: &RequestContext,
        _account: AccountId,
        _bucket: Option<&str>,
    ) -> Result<Vec<AccessPointInfo>, CoreError> {
        Err(no_access_points())
    }
    /// `DeleteAccessPoint`.
    async fn delete_access_point(
        &self,
        _ctx: &RequestContext,
        _account: AccountId,
        _name: &str,
    ) -> Result<(), CoreError> {
        Err(no_access_points())
    }
    /// `PutAccessPointPolicy` (JSON text).
    async fn put_access_point_policy(
        &self,
        _ctx: &RequestContext,
        _account: AccountId,
        _name: &str,
        _policy: &str,
    ) -> Result<(), CoreError> {
        Err(no_access_points())
    }
    /// `GetAccessPointPolicy` (JSON text).
    async fn get_access_point_policy(
        &self,
        _ctx: &RequestContext,
        _account: AccountId,
        _name: &str,
    ) -> Result<String, CoreError> {
        Err(no_access_points())
    }
    /// `DeleteAccessPointPolicy`.
    async fn delete_access_point_policy(
        &self,
        _ctx: &RequestContext,
        _account: AccountId,
        _name: &str,
    ) -> Result<(), CoreError> {
        Err(no_access_points())
    }
    /// `GetAccessPointPolicyStatus`: whether the policy is public.
    async fn get_access_point_policy_status(
        &self,
        _ctx: &RequestContext,
        _account: AccountId,
        _name: &str,
    ) -> Result<bool, CoreError> {
        Err(no_access_points())
    }
    /// The alias of an access point, to resolve its host name (no
    /// authorization: the request then goes through the alias).
    async fn access_point_alias(
        &self,
        _account: AccountId,
        _name: &str,
    ) -> Result<Option<String>, CoreError> {
        Ok(None)
    }

    // Multipart uploads, CopyObject and DeleteObjects. Defaults answer
    // NotImplemented so a fake backend need not have them.

    /// Starts a multipart upload; returns its id.
    async fn create_multipart_upload(
        &self,
        _ctx: &RequestContext,
        _bucket: &str,
        _key: &str,
        _headers: ObjectHeaders,
        _checksum_algorithm: Option<String>,
        _checksum_type: Option<String>,
    ) -> Result<(String, Option<UploadChecksum>), CoreError> {
        Err(not_here())
    }
    /// Stores a part.
    #[allow(clippy::too_many_arguments)]
    async fn upload_part(
        &self,
        _ctx: &RequestContext,
        _bucket: &str,
        _key: &str,
        _upload_id: &str,
        _part_number: i32,
        _content_md5: Option<String>,
        _checksum: ChecksumRequest,
        _body: BodyStream,
    ) -> Result<PartInfo, CoreError> {
        Err(not_here())
    }
    /// Stores a part copied from (a range of) another object.
    #[allow(clippy::too_many_arguments)]
    async fn upload_part_copy(
        &self,
        _ctx: &RequestContext,
        _bucket: &str,
        _key: &str,
        _upload_id: &str,
        _part_number: i32,
        _source_bucket: &str,
        _source_key: &str,
        _source: GetRequest,
    ) -> Result<PartInfo, CoreError> {
        Err(not_here())
    }
    /// Makes the object of the listed parts; returns its (quoted) ETag.
    #[allow(clippy::too_many_arguments)]
    async fn complete_multipart_upload(
        &self,
        _ctx: &RequestContext,
        _bucket: &str,
        _key: &str,
        _upload_id: &str,
        _parts: Vec<CompletedPart>,
        _checksum: ChecksumRequest,
        _checksum_type: Option<String>,
    ) -> Result<CompleteOutcome, CoreError> {
        Err(not_here())
    }
    /// Abandons an upload.
    async fn abort_multipart_upload(
        &self,
        _ctx: &RequestContext,
        _bucket: &str,
        _key: &str,
        _upload_id: &str,
    ) -> Result<(), CoreError> {
        Err(not_here())
    }
    /// A page of an upload's parts.
    async fn list_parts(
        &self,
        _ctx: &RequestContext,
        _bucket: &str,
        _key: &str,
        _upload_id: &str,
        _marker: Option<i32>,
        _max_parts: Option<usize>,
    ) -> Result<ListPartsOutcome, CoreError> {
        Err(not_here())
    }
    /// A page of a bucket's uploads in progress.
    async fn list_multipart_uploads(
        &self,
        _ctx: &RequestContext,
        _bucket: &str,
        _req: ListUploadsRequest,
    ) -> Result<ListUploadsOutcome, CoreError> {
        Err(not_here())
    }
    /// Copies an object; returns its (quoted) ETag and time.
    async fn copy_object(
        &self,
        _ctx: &RequestContext,
        _bucket: &str,
        _key: &str,
        _req: CopyRequest,
    ) -> Result<CopyOutcome, CoreError> {
        Err(not_here())
    }
    /// Deletes keys, each with its own result.
    async fn delete_objects(
        &self,
        _ctx: &RequestContext,
        _bucket: &str,
        _keys: Vec<String>,
    ) -> Result<Vec<DeleteResult>, CoreError> {
        Err(not_here())
    }
    /// Replaces a bucket's tag set.
    async fn put_bucket_tagging(
        &self,
        _ctx: &RequestContext,
        _name: &str,
        _tags: Vec<(String, String)>,
    ) -> Result<(), CoreError> {
        Err(not_here())
    }
    /// A bucket's tag set (`NoSuchTagSet` when none).
    async fn get_bucket_tagging(
        &self,
        _ctx: &RequestContext,
        _name: &str,
    ) -> Result<Vec<(String, String)>, CoreError> {
        Err(not_here())
    }
    /// Removes a bucket's tag set.
    async fn delete_bucket_tagging(
        &self,
        _ctx: &RequestContext,
        _name: &str,
    ) -> Result<(), CoreError> {
        Err(not_here())
    }
    /// Replaces an object's tag set.
    async fn put_object_tagging(
        &self,
        _ctx: &RequestContext,
        _bucket: &str,
        _key: &str,
        _tags: Vec<(String, String)>,
    ) -> Result<(), CoreError> {
        Err(not_here())
    }
    /// An object's tag set.
    async fn get_object_tagging(
        &self,
        _ctx: &RequestContext,
        _bucket: &str,
        _key: &str,
    ) -> Result<Vec<(String, String)>, CoreError> {
        Err(not_here())
    }
    /// Removes an object's tag set.
    async fn delete_object_tagging(
        &self,
        _ctx: &RequestContext,
        _bucket: &str,
        _key: &str,
    ) -> Result<(), CoreError> {
        Err(not_here())
    }
    /// Whether the bucket policy makes the bucket public.
    async fn get_bucket_policy_status(
        &self,
        _ctx: &RequestContext,
        _name: &str,
    ) -> Result<bool, CoreError> {
        Err(not_here())
    }
    /// The canonical id of the bucket's owner, the only grantee.
    async fn get_bucket_acl(
        &self,
        _ctx: &RequestContext,
        _name: &str,
    ) -> Result<String, CoreError> {
        Err(not_here())
    }
    /// The bucket's Object Ownership setting.
    async fn get_bucket_ownership_controls(
        &self,
        _ctx: &RequestContext,
        _name: &str,
    ) -> Result<&'static str, CoreError> {
        Err(not_here())
    }
    /// The canonical id of the owner of an object (the bucket owner).
    async fn get_object_acl(
        &self,
        _ctx: &RequestContext,
        _bucket: &str,
        _key: &str,
    ) -> Result<String, CoreError> {
        Err(not_here())
    }
    /// A bucket ACL change: only the owner-full-control default passes.
    async fn put_bucket_acl(
        &self,
        _ctx: &RequestContext,
        _name: &str,
        _owner_only: bool,
    ) -> Result<(), CoreError> {
        Err(not_here())
    }
    /// An object ACL change: only the owner-full-control default passes.
    async fn put_object_acl(
        &self,
        _ctx: &RequestContext,
        _bucket: &str,
        _key: &str,
        _owner_only: bool,
    ) -> Result<(), CoreError> {
        Err(not_here())
    }
}

fn no_access_points() -> CoreError {
    CoreError::Internal("this backend has no access points".into())
}

/// Each call is the core's own, unchanged.
#[async_trait]
impl Backend for Ferry {
    async fn put_bucket_tagging(
        &self,
        ctx: &RequestContext,
        name: &str,
        tags: Vec<(String, String)>,
    ) -> Result<(), CoreError> {
        Ferry::put_bucket_tagging(self, ctx, name, tags).await
    }
    async fn get_bucket_tagging(
        &self,
        ctx: &RequestContext,
        name: &str,
    ) -> Result<Vec<(String, String)>, CoreError> {
        Ferry::get_bucket_tagging(self, ctx, name).await
    }
    async fn delete_bucket_tagging(
        &self,
        ctx: &RequestContext,
        name: &str,
    ) -> Result<(), CoreError> {
        Ferry::delete_bucket_tagging(self, ctx, name).await
    }
    async fn put_object_tagging(
        &self,
        ctx: &RequestContext,
        bucket: &str,
        key: &str,
        tags: Vec<(String, String)>,
    ) -> Result<(), CoreError> {
        Ferry::put_object_tagging(self, ctx, bucket, key, tags).await
    }
    async fn get_object_tagging(
        &self,
        ctx: &RequestContext,
        bucket: &str,
        key: &str,
    ) -> Result<Vec<(String, String)>, CoreError> {
        Ferry::get_object_tagging(self, ctx, bucket, key).await
    }
    async fn delete_object_tagging(
        &self,
        ctx: &RequestContext,
        bucket: &str,
        key: &str,
    ) -> Result<(), CoreError> {
        Ferry::delete_object_tagging(self, ctx, bucket, key).await
    }
    async fn get_bucket_policy_status(
        &self,
        ctx: &RequestContext,
        name: &str,
    ) -> Result<bool, CoreError> {
        Ferry::get_bucket_policy_status(self, ctx, name).await
    }
    async fn get_bucket_acl(&self, ctx: &RequestContext, name: &str) -> Result<String, CoreError> {
        Ferry::get_bucket_acl(self, ctx, name).await
    }
    async fn get_bucket_ownership_controls(
        &self,
        ctx: &RequestContext,
        name: &str,
    ) -> Result<&'static str, CoreError> {
        Ferry::get_bucket_ownership_controls(self, ctx, name).await
    }
    async fn get_object_acl(
        &self,
        ctx: &RequestContext,
        bucket: &str,
        key: &str,
    ) -> Result<String, CoreError> {
        Ferry::get_object_acl(self, ctx, bucket, key).await
    }
    async fn put_bucket_acl(
        &self,
        ctx: &RequestContext,
        name: &str,
        owner_only: bool,
    ) -> Result<(), CoreError> {
        Ferry::put_bucket_acl(self, ctx, name, owner_only).await
    }
    async fn put_object_acl(
        &self,
        ctx: &RequestContext,
        bucket: &str,
        key: &str,
        owner_only: bool,
    ) -> Result<(), CoreError> {
        Ferry::put_object_acl(self, ctx, bucket, key, owner_only).await
    }
    async fn bucket_owner(&self, bucket: &str) -> Option<AccountId> {
        Ferry::s3_owner(self, bucket).await
    }
    async fn list_buckets(&self, ctx: &RequestContext) -> Result<Vec<BucketInfo>, CoreError> {
        Ferry::list_buckets(self, ctx).await
    }
    async fn create_bucket(
        &self,
        ctx: &RequestContext,
        name: &str,
        region: &str,
    ) -> Result<(), CoreError> {
        Ferry::create_bucket(self, ctx, name, region).await
    }
    async fn head_bucket(&self, ctx: &RequestContext, name: &str) -> Result<BucketInfo, CoreError> {
        Ferry::head_bucket(self, ctx, name).await
    }
    async fn delete_bucket(&self, ctx: &RequestContext, name: &str) -> Result<(), CoreError> {
        Ferry::delete_bucket(self, ctx, name).await
    }
    async fn get_bucket_location(
        &self,
        ctx: &RequestContext,
        name: &str,
    ) -> Result<String, CoreError> {
        Ferry::get_bucket_location(self, ctx, name).await
    }
    async fn put_bucket_policy(
        &self,
        ctx: &RequestContext,
        name: &str,
        policy: &str,
    ) -> Result<(), CoreError> {
        Ferry::put_bucket_policy(self, ctx, name, policy).await
    }
    async fn get_bucket_policy(
        &self,
        ctx: &RequestContext,
        name: &str,
    ) -> Result<String, CoreError> {
        Ferry::get_bucket_policy(self, ctx, name).await
    }
    async fn delete_bucket_policy(
        &self,
        ctx: &RequestContext,
        name: &str,
    ) -> Result<(), CoreError> {
        Ferry::delete_bucket_policy(self, ctx, name).await
    }
    async fn put_object(
        &self,
        ctx: &RequestContext,
        bucket: &str,
        key: &str,
        headers: ObjectHeaders,
        checksum: ChecksumRequest,
        body: BodyStream,
    ) -> Result<PutOutcome, CoreError> {
        Ferry::put_object_with(self, ctx, bucket, key, headers, checksum, body).await
    }
    async fn get_object(
        &self,
        ctx: &RequestContext,
        bucket: &str,
        key: &str,
        req: GetRequest,
    ) -> Result<GetOutcome, CoreError> {
        Ferry::get_object(self, ctx, bucket, key, req).await
    }
    async fn head_object(
        &self,
        ctx: &RequestContext,
        bucket: &str,
        key: &str,
        req: GetRequest,
    ) -> Result<ObjectInfo, CoreError> {
        Ferry::head_object(self, ctx, bucket, key, req).await
    }
    async fn delete_object(
        &self,
        ctx: &RequestContext,
        bucket: &str,
        key: &str,
    ) -> Result<(), CoreError> {
        Ferry::delete_object(self, ctx, bucket, key).await
    }
    async fn list_objects(
        &self,
        ctx: &RequestContext,
        bucket: &str,
        req: ListRequest,
    ) -> Result<ListOutcome, CoreError> {
        Ferry::list_objects(self, ctx, bucket, req).await
    }
    async fn create_multipart_upload(
        &self,
        ctx: &RequestContext,
        bucket: &str,
        key: &str,
        headers: ObjectHeaders,
        checksum_algorithm: Option<String>,
        checksum_type: Option<String>,
    ) -> Result<(String, Option<UploadChecksum>), CoreError> {
        Ferry::create_multipart_upload_with(
            self,
            ctx,
            bucket,
            key,
            headers,
            checksum_algorithm.as_deref(),
            checksum_type.as_deref(),
        )
        .await
    }
    async fn upload_part(
        &self,
        ctx: &RequestContext,
        bucket: &str,
        key: &str,
        upload_id: &str,
        part_number: i32,
        content_md5: Option<String>,
        checksum: ChecksumRequest,
        body: BodyStream,
    ) -> Result<PartInfo, CoreError> {
        Ferry::upload_part_with(
            self,
            ctx,
            bucket,
            key,
            upload_id,
            part_number,
            content_md5.as_deref(),
            checksum,
            body,
        )
        .await
    }
    async fn upload_part_copy(
        &self,
        ctx: &RequestContext,
        bucket: &str,
        key: &str,
        upload_id: &str,
        part_number: i32,
        source_bucket: &str,
        source_key: &str,
        source: GetRequest,
    ) -> Result<PartInfo, CoreError> {
        Ferry::upload_part_copy(
            self,
            ctx,
            bucket,
            key,
            upload_id,
            part_number,
            source_bucket,
            source_key,
            source,
        )
        .await
    }
    async fn complete_multipart_upload(
        &self,
        ctx: &RequestContext,
        bucket: &str,
        key: &str,
        upload_id: &str,
        parts: Vec<CompletedPart>,
        checksum: ChecksumRequest,
        checksum_type: Option<String>,
    ) -> Result<CompleteOutcome, CoreError> {
        Ferry::complete_multipart_upload_with(
            self,
            ctx,
            bucket,
            key,
            upload_id,
            parts,
            checksum,
            checksum_type.as_deref(),
        )
        .await
    }
    async fn abort_multipart_upload(
        &self,
        ctx: &RequestContext,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<(), CoreError> {
        Ferry::abort_multipart_upload(self, ctx, bucket, key, upload_id).await
    }
    async fn list_parts(
        &self,
        ctx: &RequestContext,
        bucket: &str,
        key: &str,
        upload_id: &str,
        marker: Option<i32>,
        max_parts: Option<usize>,
    ) -> Result<ListPartsOutcome, CoreError> {
        Ferry::list_parts(self, ctx, bucket, key, upload_id, marker, max_parts).await
    }
    async fn list_multipart_uploads(
        &self,
        ctx: &RequestContext,
        bucket: &str,
        req: ListUploadsRequest,
    ) -> Result<ListUploadsOutcome, CoreError> {
        Ferry::list_multipart_uploads(self, ctx, bucket, req).await
    }
    async fn copy_object(
        &self,
        ctx: &RequestContext,
        bucket: &str,
        key: &str,
        req: CopyRequest,
    ) -> Result<CopyOutcome, CoreError> {
        Ferry::copy_object_with(self, ctx, bucket, key, req).await
    }
    async fn delete_objects(
        &self,
        ctx: &RequestContext,
        bucket: &str,
        keys: Vec<String>,
    ) -> Result<Vec<DeleteResult>, CoreError> {
        Ferry::delete_objects(self, ctx, bucket, keys).await
    }
    async fn create_access_point(
        &self,
        ctx: &RequestContext,
        account: AccountId,
        name: &str,
        bucket: &str,
        bucket_account: Option<AccountId>,
        vpc_id: Option<String>,
    ) -> Result<AccessPointInfo, CoreError> {
        Ferry::create_access_point(self, ctx, account, name, bucket, bucket_account, vpc_id).await
    }
    async fn get_access_point(
        &self,
        ctx: &RequestContext,
        account: AccountId,
        name: &str,
    ) -> Result<AccessPointInfo, CoreError> {
        Ferry::get_access_point(self, ctx, account, name).await
    }
    async fn list_access_points(
        &self,
        ctx: &RequestContext,
        account: AccountId,
        bucket: Option<&str>,
    ) -> Result<Vec<AccessPointInfo>, CoreError> {
        Ferry::list_access_points(self, ctx, account, bucket).await
    }
    async fn delete_access_point(
        &self,
        ctx: &RequestContext,
        account: AccountId,
        name: &str,
    ) -> Result<(), CoreError> {
        Ferry::delete_access_point(self, ctx, account, name).await
    }
    async fn put_access_point_policy(
        &self,
        ctx: &RequestContext,
        account: AccountId,
        name: &str,
        policy: &str,
    ) -> Result<(), CoreError> {
        Ferry::put_access_point_policy(self, ctx, account, name, policy).await
    }
    async fn get_access_point_policy(
        &self,
        ctx: &RequestContext,
        account: AccountId,
        name: &str,
    ) -> Result<String, CoreError> {
        Ferry::get_access_point_policy(self, ctx, account, name).await
    }
    async fn delete_access_point_policy(
        &self,
        ctx: &RequestContext,
        account: AccountId,
        name: &str,
    ) -> Result<(), CoreError> {
        Ferry::delete_access_point_policy(self, ctx, account, name).await
    }
    async fn get_access_point_policy_status(
        &self,
        ctx: &RequestContext,
        account: AccountId,
        name: &str,
    ) -> Result<bool, CoreError> {
        Ferry::get_access_point_policy_status(self, ctx, account, name).await
    }
    async fn access_point_alias(
        &self,
        account: AccountId,
        name: &str,
    ) -> Result<Option<String>, CoreError> {
        Ferry::access_point_alias(self, account, name).await
    }
}
