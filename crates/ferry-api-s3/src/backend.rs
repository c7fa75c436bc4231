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
    AccessPointInfo, BucketInfo, ByteRange, GetOutcome, GetRequest, ListOutcome, ListRequest,
    ObjectHeaders, ObjectInfo,
};

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
        body: BodyStream,
    ) -> Result<String, CoreError>;
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
}

fn no_access_points() -> CoreError {
    CoreError::Internal("this backend has no access points".into())
}

/// Each call is the core's own, unchanged.
#[async_trait]
impl Backend for Ferry {
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
        body: BodyStream,
    ) -> Result<String, CoreError> {
        Ferry::put_object(self, ctx, bucket, key, headers, body).await
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
