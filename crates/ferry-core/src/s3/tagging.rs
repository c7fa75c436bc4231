//! Bucket and object tags, ACL answers for a bucket whose Object Ownership
//! is `BucketOwnerEnforced`, and the bucket policy status.
//!
//! Object tags are also condition keys: a policy may test the tags an
//! object already has (`s3:ExistingObjectTag/<key>`) or the tags a request
//! sets (`s3:RequestObjectTag/<key>`, `s3:RequestObjectTagKeys`), so the
//! object row is read before the decision, not after.

use std::collections::HashSet;

use ferry_policy::ContextValue;
use ferry_store::{S3Object, Write, WriteBatch};
use ferry_types::AccountId;
use sha2::{Digest, Sha256};

use super::{Found, MAX_KEY_BYTES, On, access_points, invalid};
use crate::{CoreError, Ferry, RequestContext};

/// Most tags on a bucket.
pub const MAX_BUCKET_TAGS: usize = 50;
/// Most tags on an object.
pub const MAX_OBJECT_TAGS: usize = 10;
/// Longest tag key, in characters.
const MAX_TAG_KEY: usize = 128;
/// Longest tag value, in characters.
const MAX_TAG_VALUE: usize = 256;

/// The only Object Ownership setting Ferry has: ACLs are off and the
/// bucket owner owns every object, as new AWS buckets are by default.
pub const OWNERSHIP: &str = "BucketOwnerEnforced";

fn invalid_tag(message: impl Into<String>) -> CoreError {
    invalid("InvalidTag", message)
}

/// Checks a tag set against S3's rules: at most `max` tags, keys of 1 to
/// 128 characters not starting with `aws:` (reserved for AWS), values of
/// up to 256 characters, no key twice.
pub fn validate_tags(tags: &[(String, String)], max: usize) -> Result<(), CoreError> {
    if tags.len() > max {
        return Err(invalid_tag(format!("Tags cannot be more than {max}")));
    }
    let mut seen = HashSet::new();
    for (k, v) in tags {
        if !(1..=MAX_TAG_KEY).contains(&k.chars().count()) {
            return Err(invalid_tag("The TagKey you have provided is invalid"));
        }
        if v.chars().count() > MAX_TAG_VALUE {
            return Err(invalid_tag("The TagValue you have provided is invalid"));
        }
        if k.starts_with("aws:") {
            return Err(invalid_tag("Your TagKey cannot be prefixed with aws:"));
        }
        if !seen.insert(k.as_str()) {
            return Err(invalid_tag(
                "Cannot provide multiple Tags with the same key",
            ));
        }
    }
    Ok(())
}

/// The condition keys of an existing object's tags.
pub(super) fn existing_tag_context(tags: &[(String, String)]) -> Vec<(String, ContextValue)> {
    tags.iter()
        .map(|(k, v)| {
            (
                format!("s3:ExistingObjectTag/{k}"),
                ContextValue::from(v.clone()),
            )
        })
        .collect()
}

/// The condition keys of the tags a request sets.
pub(super) fn request_tag_context(tags: &[(String, String)]) -> Vec<(String, ContextValue)> {
    let mut context: Vec<(String, ContextValue)> = tags
        .iter()
        .map(|(k, v)| {
            (
                format!("s3:RequestObjectTag/{k}"),
                ContextValue::from(v.clone()),
            )
        })
        .collect();
    context.push((
        "s3:RequestObjectTagKeys".into(),
        ContextValue::strings(tags.iter().map(|(k, _)| k.clone())),
    ));
    context
}

/// The canonical user id S3 shows for an account: stable, opaque, 64 hex
/// digits like AWS's.
pub fn canonical_id(account: AccountId) -> String {
    hex::encode(Sha256::digest(account.to_string().as_bytes()))
}

fn no_tag_set() -> CoreError {
    CoreError::not_found("NoSuchTagSet", "The TagSet does not exist")
}

fn acls_not_supported() -> CoreError {
    invalid(
        "AccessControlListNotSupported",
        "The bucket does not allow ACLs",
    )
}

impl Ferry {
    /// Finds a bucket, reads the object `key` (if there), and authorizes
    /// `action` on it with its tags as `s3:ExistingObjectTag/<key>` and
    /// `extra` as further context.
    pub(super) async fn existing_object_for(
        &self,
        ctx: &RequestContext,
        action: &str,
        bucket: &str,
        key: &str,
        extra: Vec<(String, ContextValue)>,
    ) -> Result<(Found, Option<S3Object>), CoreError> {
        if key.is_empty() || key.len() > MAX_KEY_BYTES {
            return Err(invalid(
                "KeyTooLongError",
                format!("Your key is too long: keys are 1 to {MAX_KEY_BYTES} bytes"),
            ));
        }
        let found = self.find_bucket(bucket).await?;
        let object = found
            .store
            .get_object(found.bucket.account_id, &found.bucket.name, key)
            .await?;
        let mut context = object
            .as_ref()
            .map(|o| existing_tag_context(&o.tags))
            .unwrap_or_default();
        context.extend(extra);
        self.authorize_s3(ctx, action, On::Object(key), &found, context)
            .await?;
        Ok((found, object))
    }

    /// Like [`Self::existing_object_for`], but a missing key is an error:
    /// `NoSuchKey` to a caller who may list the bucket, else `AccessDenied`.
    async fn tagged_object_for(
        &self,
        ctx: &RequestContext,
        action: &str,
        bucket: &str,
        key: &str,
        extra: Vec<(String, ContextValue)>,
    ) -> Result<(Found, S3Object), CoreError> {
        let (f, o) = self
            .existing_object_for(ctx, action, bucket, key, extra)
            .await?;
        match o {
            Some(o) => Ok((f, o)),
            None => Err(self.missing_key(ctx, &f, key).await),
        }
    }

    /// Finds the bucket of a `PutObject` and authorizes it, with the tags
    /// it sets as `s3:RequestObjectTag/<key>` and `s3:RequestObjectTagKeys`;
    /// a put with tags also needs `s3:PutObjectTagging`, as on S3.
    pub(super) async fn put_target_for(
        &self,
        ctx: &RequestContext,
        bucket: &str,
        key: &str,
        tags: &[(String, String)],
    ) -> Result<Found, CoreError> {
        if key.is_empty() || key.len() > MAX_KEY_BYTES {
            return Err(invalid(
                "KeyTooLongError",
                format!("Your key is too long: keys are 1 to {MAX_KEY_BYTES} bytes"),
            ));
        }
        let found = self.find_bucket(bucket).await?;
        let context = if tags.is_empty() {
            Vec::new()
        } else {
            request_tag_context(tags)
        };
        self.authorize_s3(
            ctx,
            "s3:PutObject",
            On::Object(key),
            &found,
            context.clone(),
        )
        .await?;
        if !tags.is_empty() {
            self.authorize_s3(ctx, "s3:PutObjectTagging", On::Object(key), &found, context)
                .await?;
            validate_tags(tags, MAX_OBJECT_TAGS)?;
        }
        Ok(found)
    }

    /// `PutBucketTagging`: replaces the bucket's tag set.
    pub async fn put_bucket_tagging(
        &self,
        ctx: &RequestContext,
        name: &str,
        tags: Vec<(String, String)>,
    ) -> Result<(), CoreError> {
        let mut f = self.bucket_for(ctx, "s3:PutBucketTagging", name).await?;
        validate_tags(&tags, MAX_BUCKET_TAGS)?;
        f.bucket.tags = tags;
        f.store
            .apply(WriteBatch::one(Write::UpdateBucket(f.bucket)))
            .await?;
        Ok(())
    }

    /// `GetBucketTagging`: `NoSuchTagSet` when the bucket has none.
    pub async fn get_bucket_tagging(
        &self,
        ctx: &RequestContext,
        name: &str,
    ) -> Result<Vec<(String, String)>, CoreError> {
        let f = self.bucket_for(ctx, "s3:GetBucketTagging", name).await?;
        if f.bucket.tags.is_empty() {
            return Err(no_tag_set());
        }
        Ok(f.bucket.tags)
    }

    /// `DeleteBucketTagging`: AWS authorizes it as `s3:PutBucketTagging`.
    pub async fn delete_bucket_tagging(
        &self,
        ctx: &RequestContext,
        name: &str,
    ) -> Result<(), CoreError> {
        let mut f = self.bucket_for(ctx, "s3:PutBucketTagging", name).await?;
        f.bucket.tags = Vec::new();
        f.store
            .apply(WriteBatch::one(Write::UpdateBucket(f.bucket)))
            .await?;
        Ok(())
    }

    /// `PutObjectTagging`: replaces an object's tag set. The row is read
    /// and written back whole; a put of the same key in between may be
    /// overwritten by the older row (a narrow race, accepted for now).
    pub async fn put_object_tagging(
        &self,
        ctx: &RequestContext,
        bucket: &str,
        key: &str,
        tags: Vec<(String, String)>,
    ) -> Result<(), CoreError> {
        let (f, mut o) = self
            .tagged_object_for(
                ctx,
                "s3:PutObjectTagging",
                bucket,
                key,
                request_tag_context(&tags),
            )
            .await?;
        validate_tags(&tags, MAX_OBJECT_TAGS)?;
        o.tags = tags;
        f.store.apply(WriteBatch::one(Write::PutObject(o))).await?;
        Ok(())
    }

    /// `GetObjectTagging`: an object without tags answers an empty set.
    pub async fn get_object_tagging(
        &self,
        ctx: &RequestContext,
        bucket: &str,
        key: &str,
    ) -> Result<Vec<(String, String)>, CoreError> {
        let (_, o) = self
            .tagged_object_for(ctx, "s3:GetObjectTagging", bucket, key, Vec::new())
            .await?;
        Ok(o.tags)
    }

    /// `DeleteObjectTagging`.
    pub async fn delete_object_tagging(
        &self,
        ctx: &RequestContext,
        bucket: &str,
        key: &str,
    ) -> Result<(), CoreError> {
        let (f, mut o) = self
            .tagged_object_for(ctx, "s3:DeleteObjectTagging", bucket, key, Vec::new())
            .await?;
        o.tags = Vec::new();
        f.store.apply(WriteBatch::one(Write::PutObject(o))).await?;
        Ok(())
    }

    /// `GetBucketPolicyStatus`: whether the bucket policy lets anyone in.
    pub async fn get_bucket_policy_status(
        &self,
        ctx: &RequestContext,
        name: &str,
    ) -> Result<bool, CoreError> {
        let f = self
            .bucket_for(ctx, "s3:GetBucketPolicyStatus", name)
            .await?;
        let policy = f.bucket.policy.ok_or_else(|| {
            CoreError::not_found("NoSuchBucketPolicy", "The bucket policy does not exist")
        })?;
        Ok(access_points::is_public(&policy))
    }

    /// `GetBucketAcl`: with ACLs off, the owner's canonical id, which has
    /// `FULL_CONTROL` and is the only grantee.
    pub async fn get_bucket_acl(
        &self,
        ctx: &RequestContext,
        name: &str,
    ) -> Result<String, CoreError> {
        let f = self.bucket_for(ctx, "s3:GetBucketAcl", name).await?;
        Ok(canonical_id(f.bucket.account_id))
    }

    /// `GetObjectAcl`: the bucket owner owns every object.
    pub async fn get_object_acl(
        &self,
        ctx: &RequestContext,
        bucket: &str,
        key: &str,
    ) -> Result<String, CoreError> {
        let (f, _) = self
            .tagged_object_for(ctx, "s3:GetObjectAcl", bucket, key, Vec::new())
            .await?;
        Ok(canonical_id(f.bucket.account_id))
    }

    /// `PutBucketAcl`: only the default (owner full control) is accepted;
    /// `owner_only` says whether the request asks just that.
    pub async fn put_bucket_acl(
        &self,
        ctx: &RequestContext,
        name: &str,
        owner_only: bool,
    ) -> Result<(), CoreError> {
        self.bucket_for(ctx, "s3:PutBucketAcl", name).await?;
        if owner_only {
            Ok(())
        } else {
            Err(acls_not_supported())
        }
    }

    /// `PutObjectAcl`: as [`Self::put_bucket_acl`], for an object.
    pub async fn put_object_acl(
        &self,
        ctx: &RequestContext,
        bucket: &str,
        key: &str,
        owner_only: bool,
    ) -> Result<(), CoreError> {
        self.tagged_object_for(ctx, "s3:PutObjectAcl", bucket, key, Vec::new())
            .await?;
        if owner_only {
            Ok(())
        } else {
            Err(acls_not_supported())
        }
    }

    /// `GetBucketOwnershipControls`: always `BucketOwnerEnforced`.
    pub async fn get_bucket_ownership_controls(
        &self,
        ctx: &RequestContext,
        name: &str,
    ) -> Result<&'static str, CoreError> {
        self.bucket_for(ctx, "s3:GetBucketOwnershipControls", name)
            .await?;
        Ok(OWNERSHIP)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn tag_rules() {
        assert!(validate_tags(&tags(&[("a", ""), ("b", "x")]), 10).is_ok());
        let long_key = "k".repeat(129);
        let long_value = "v".repeat(257);
        for bad in [
            tags(&[("", "v")]),
            tags(&[(long_key.as_str(), "v")]),
            tags(&[("k", long_value.as_str())]),
            tags(&[("aws:x", "v")]),
            tags(&[("k", "1"), ("k", "2")]),
        ] {
            assert_eq!(
                validate_tags(&bad, 10).map_err(|e| e.code()),
                Err("InvalidTag")
            );
        }
        let eleven: Vec<(String, String)> =
            (0..11).map(|i| (format!("k{i}"), String::new())).collect();
        assert!(validate_tags(&eleven, MAX_OBJECT_TAGS).is_err());
        assert!(validate_tags(&eleven, MAX_BUCKET_TAGS).is_ok());
    }

    #[test]
    fn canonical_ids_are_stable_hex() {
        let Ok(a) = "111111111111".parse::<AccountId>() else {
            panic!("account id");
        };
        assert_eq!(canonical_id(a), canonical_id(a));
        assert_eq!(canonical_id(a).len(), 64);
    }
}
