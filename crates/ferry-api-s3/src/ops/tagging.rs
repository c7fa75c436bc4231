//! Bucket and object tagging, the ACL answers of a bucket with ACLs off
//! (`BucketOwnerEnforced`), ownership controls and the bucket policy
//! status: each a translation to one ferry-core call.

use s3s::dto;
use s3s::{S3Request, S3Response, S3Result};

use super::{FerryS3, begin, bucket_params, caller, finish, object_params};
use crate::backend::ObjectHeaders;
use crate::error::{coded, from_core};
use percent_encoding::percent_decode_str;

/// s3s's tag list as pairs; a tag without a key or value is malformed.
fn tag_pairs(set: &[dto::Tag]) -> S3Result<Vec<(String, String)>> {
    set.iter()
        .map(|t| match (&t.key, &t.value) {
            (Some(k), Some(v)) => Ok((k.clone(), v.clone())),
            _ => Err(coded("MalformedXML", "A tag needs a Key and a Value")),
        })
        .collect()
}

fn tag_set(pairs: Vec<(String, String)>) -> dto::TagSet {
    pairs
        .into_iter()
        .map(|(k, v)| dto::Tag {
            key: Some(k),
            value: Some(v),
        })
        .collect()
}

/// With ACLs off the owner is the one grantee, with full control.
fn owner_acl(id: String) -> (dto::Grants, dto::Owner) {
    let grants = vec![dto::Grant {
        grantee: Some(dto::Grantee {
            display_name: None,
            email_address: None,
            id: Some(id.clone()),
            type_: dto::Type::from_static(dto::Type::CANONICAL_USER),
            uri: None,
        }),
        permission: Some(dto::Permission::from_static(dto::Permission::FULL_CONTROL)),
    }];
    let owner = dto::Owner {
        display_name: None,
        id: Some(id),
    };
    (grants, owner)
}

/// Whether an ACL request asks only what BucketOwnerEnforced already is:
/// no canned ACL or an owner-full-control one, no grant headers, no ACL
/// document (an explicit document is refused, even one naming just the
/// owner: a simplification of S3, which accepts that one).
fn owner_only(canned: Option<&str>, grant_headers: &[bool], document: bool) -> bool {
    matches!(
        canned,
        None | Some("private") | Some("bucket-owner-full-control")
    ) && !grant_headers.iter().any(|g| *g)
        && !document
}

/// The `x-amz-tagging` header of a put: URL-encoded `k=v&k2=v2`.
pub(super) fn parse_tagging_header(header: Option<&str>) -> S3Result<Vec<(String, String)>> {
    let Some(header) = header else {
        return Ok(Vec::new());
    };
    let decode = |s: &str| {
        percent_decode_str(&s.replace('+', " "))
            .decode_utf8()
            .map(|c| c.into_owned())
            .map_err(|_| coded("InvalidArgument", "The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters without tag name duplicates."))
    };
    header
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            Ok((decode(k)?, decode(v)?))
        })
        .collect()
}

/// `x-amz-tagging-count`: sent only when the object has tags, as S3 does.
pub(super) fn tag_count(h: &ObjectHeaders) -> Option<i32> {
    (!h.tags.is_empty()).then(|| i32::try_from(h.tags.len()).unwrap_or(i32::MAX))
}

impl FerryS3 {
    pub(super) async fn op_put_bucket_tagging(
        &self,
        req: S3Request<dto::PutBucketTaggingInput>,
    ) -> S3Result<S3Response<dto::PutBucketTaggingOutput>> {
        let bucket = req.input.bucket.clone();
        let slot = begin(&req, "PutBucketTagging", false, bucket_params(&bucket));
        let result = async {
            let ctx = caller(&req)?;
            let tags = tag_pairs(&req.input.tagging.tag_set)?;
            self.backend
                .put_bucket_tagging(ctx, &bucket, tags)
                .await
                .map_err(|e| from_core(&e))?;
            Ok(S3Response::new(dto::PutBucketTaggingOutput::default()))
        }
        .await;
        finish(&slot, result)
    }

    pub(super) async fn op_get_bucket_tagging(
        &self,
        req: S3Request<dto::GetBucketTaggingInput>,
    ) -> S3Result<S3Response<dto::GetBucketTaggingOutput>> {
        let bucket = req.input.bucket.clone();
        let slot = begin(&req, "GetBucketTagging", true, bucket_params(&bucket));
        let result = async {
            let ctx = caller(&req)?;
            let tags = self
                .backend
                .get_bucket_tagging(ctx, &bucket)
                .await
                .map_err(|e| from_core(&e))?;
            Ok(S3Response::new(dto::GetBucketTaggingOutput {
                tag_set: tag_set(tags),
            }))
        }
        .await;
        finish(&slot, result)
    }

    pub(super) async fn op_delete_bucket_tagging(
        &self,
        req: S3Request<dto::DeleteBucketTaggingInput>,
    ) -> S3Result<S3Response<dto::DeleteBucketTaggingOutput>> {
        let bucket = req.input.bucket.clone();
        let slot = begin(&req, "DeleteBucketTagging", false, bucket_params(&bucket));
        let result = async {
            let ctx = caller(&req)?;
            self.backend
                .delete_bucket_tagging(ctx, &bucket)
                .await
                .map_err(|e| from_core(&e))?;
            Ok(S3Response::new(dto::DeleteBucketTaggingOutput::default()))
        }
        .await;
        finish(&slot, result)
    }

    pub(super) async fn op_put_object_tagging(
        &self,
        req: S3Request<dto::PutObjectTaggingInput>,
    ) -> S3Result<S3Response<dto::PutObjectTaggingOutput>> {
        let bucket = req.input.bucket.clone();
        let key = req.input.key.clone();
        let slot = begin(
            &req,
            "PutObjectTagging",
            false,
            object_params(&bucket, &key),
        );
        let result = async {
            let ctx = caller(&req)?;
            let tags = tag_pairs(&req.input.tagging.tag_set)?;
            self.backend
                .put_object_tagging(ctx, &bucket, &key, tags)
                .await
                .map_err(|e| from_core(&e))?;
            Ok(S3Response::new(dto::PutObjectTaggingOutput::default()))
        }
        .await;
        finish(&slot, result)
    }

    pub(super) async fn op_get_object_tagging(
        &self,
        req: S3Request<dto::GetObjectTaggingInput>,
    ) -> S3Result<S3Response<dto::GetObjectTaggingOutput>> {
        let bucket = req.input.bucket.clone();
        let key = req.input.key.clone();
        let slot = begin(&req, "GetObjectTagging", true, object_params(&bucket, &key));
        let result = async {
            let ctx = caller(&req)?;
            let tags = self
                .backend
                .get_object_tagging(ctx, &bucket, &key)
                .await
                .map_err(|e| from_core(&e))?;
            Ok(S3Response::new(dto::GetObjectTaggingOutput {
                tag_set: tag_set(tags),
                version_id: None,
            }))
        }
        .await;
        finish(&slot, result)
    }

    pub(super) async fn op_delete_object_tagging(
        &self,
        req: S3Request<dto::DeleteObjectTaggingInput>,
    ) -> S3Result<S3Response<dto::DeleteObjectTaggingOutput>> {
        let bucket = req.input.bucket.clone();
        let key = req.input.key.clone();
        let slot = begin(
            &req,
            "DeleteObjectTagging",
            false,
            object_params(&bucket, &key),
        );
        let result = async {
            let ctx = caller(&req)?;
            self.backend
                .delete_object_tagging(ctx, &bucket, &key)
                .await
                .map_err(|e| from_core(&e))?;
            Ok(S3Response::new(dto::DeleteObjectTaggingOutput::default()))
        }
        .await;
        finish(&slot, result)
    }

    pub(super) async fn op_get_bucket_policy_status(
        &self,
        req: S3Request<dto::GetBucketPolicyStatusInput>,
    ) -> S3Result<S3Response<dto::GetBucketPolicyStatusOutput>> {
        let bucket = req.input.bucket.clone();
        let slot = begin(&req, "GetBucketPolicyStatus", true, bucket_params(&bucket));
        let result = async {
            let ctx = caller(&req)?;
            let public = self
                .backend
                .get_bucket_policy_status(ctx, &bucket)
                .await
                .map_err(|e| from_core(&e))?;
            Ok(S3Response::new(dto::GetBucketPolicyStatusOutput {
                policy_status: Some(dto::PolicyStatus {
                    is_public: Some(public),
                }),
            }))
        }
        .await;
        finish(&slot, result)
    }

    pub(super) async fn op_get_bucket_acl(
        &self,
        req: S3Request<dto::GetBucketAclInput>,
    ) -> S3Result<S3Response<dto::GetBucketAclOutput>> {
        let bucket = req.input.bucket.clone();
        let slot = begin(&req, "GetBucketAcl", true, bucket_params(&bucket));
        let result = async {
            let ctx = caller(&req)?;
            let id = self
                .backend
                .get_bucket_acl(ctx, &bucket)
                .await
                .map_err(|e| from_core(&e))?;
            // With ACLs off the owner is the one grantee, with full control.
            Ok(S3Response::new(dto::GetBucketAclOutput {
                grants: Some(vec![dto::Grant {
                    grantee: Some(dto::Grantee {
                        display_name: None,
                        email_address: None,
                        id: Some(id.clone()),
                        type_: dto::Type::from_static(dto::Type::CANONICAL_USER),
                        uri: None,
                    }),
                    permission: Some(dto::Permission::from_static(dto::Permission::FULL_CONTROL)),
                }]),
                owner: Some(dto::Owner {
                    display_name: None,
                    id: Some(id),
                }),
            }))
        }
        .await;
        finish(&slot, result)
    }

    pub(super) async fn op_get_bucket_ownership_controls(
        &self,
        req: S3Request<dto::GetBucketOwnershipControlsInput>,
    ) -> S3Result<S3Response<dto::GetBucketOwnershipControlsOutput>> {
        let bucket = req.input.bucket.clone();
        let slot = begin(
            &req,
            "GetBucketOwnershipControls",
            true,
            bucket_params(&bucket),
        );
        let result = async {
            let ctx = caller(&req)?;
            let ownership = self
                .backend
                .get_bucket_ownership_controls(ctx, &bucket)
                .await
                .map_err(|e| from_core(&e))?;
            Ok(S3Response::new(dto::GetBucketOwnershipControlsOutput {
                ownership_controls: Some(dto::OwnershipControls {
                    rules: vec![dto::OwnershipControlsRule {
                        object_ownership: dto::ObjectOwnership::from(ownership.to_string()),
                    }],
                }),
            }))
        }
        .await;
        finish(&slot, result)
    }

    pub(super) async fn op_get_object_acl(
        &self,
        req: S3Request<dto::GetObjectAclInput>,
    ) -> S3Result<S3Response<dto::GetObjectAclOutput>> {
        let bucket = req.input.bucket.clone();
        let key = req.input.key.clone();
        let slot = begin(&req, "GetObjectAcl", true, object_params(&bucket, &key));
        let result = async {
            let ctx = caller(&req)?;
            let id = self
                .backend
                .get_object_acl(ctx, &bucket, &key)
                .await
                .map_err(|e| from_core(&e))?;
            let (grants, owner) = owner_acl(id);
            Ok(S3Response::new(dto::GetObjectAclOutput {
                grants: Some(grants),
                owner: Some(owner),
                request_charged: None,
            }))
        }
        .await;
        finish(&slot, result)
    }

    pub(super) async fn op_put_bucket_acl(
        &self,
        req: S3Request<dto::PutBucketAclInput>,
    ) -> S3Result<S3Response<dto::PutBucketAclOutput>> {
        let bucket = req.input.bucket.clone();
        let slot = begin(&req, "PutBucketAcl", false, bucket_params(&bucket));
        let result = async {
            let ctx = caller(&req)?;
            let i = &req.input;
            let only = owner_only(
                i.acl.as_ref().map(|a| a.as_str()),
                &[
                    i.grant_full_control.is_some(),
                    i.grant_read.is_some(),
                    i.grant_read_acp.is_some(),
                    i.grant_write.is_some(),
                    i.grant_write_acp.is_some(),
                ],
                i.access_control_policy.is_some(),
            );
            self.backend
                .put_bucket_acl(ctx, &bucket, only)
                .await
                .map_err(|e| from_core(&e))?;
            Ok(S3Response::new(dto::PutBucketAclOutput::default()))
        }
        .await;
        finish(&slot, result)
    }

    pub(super) async fn op_put_object_acl(
        &self,
        req: S3Request<dto::PutObjectAclInput>,
    ) -> S3Result<S3Response<dto::PutObjectAclOutput>> {
        let bucket = req.input.bucket.clone();
        let key = req.input.key.clone();
        let slot = begin(&req, "PutObjectAcl", false, object_params(&bucket, &key));
        let result = async {
            let ctx = caller(&req)?;
            let i = &req.input;
            let only = owner_only(
                i.acl.as_ref().map(|a| a.as_str()),
                &[
                    i.grant_full_control.is_some(),
                    i.grant_read.is_some(),
                    i.grant_read_acp.is_some(),
                    i.grant_write_acp.is_some(),
                ],
                i.access_control_policy.is_some(),
            );
            self.backend
                .put_object_acl(ctx, &bucket, &key, only)
                .await
                .map_err(|e| from_core(&e))?;
            Ok(S3Response::new(dto::PutObjectAclOutput::default()))
        }
        .await;
        finish(&slot, result)
    }
}
