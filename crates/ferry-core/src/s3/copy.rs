//! `CopyObject` and `DeleteObjects`.
//!
//! A copy streams the source's bytes into a new blob of the destination
//! owner's root (the two may be different accounts, with different blob
//! roots and data keys), so a copy is an object like any other: its own
//! blob, swept like any other.

use ferry_blob::PutOptions;
use ferry_store::S3Object;
use ferry_types::Timestamp;
use futures::stream::{self, StreamExt};

use super::checksum::{self, Plan};
use super::tagging::existing_tag_context;
use super::{
    Checksum, ChecksumAlgorithm, GetRequest, ObjectHeaders, On, StoredMeta, check_metadata,
    internal, invalid, object_info,
};
use crate::{CoreError, Ferry, RequestContext};

/// Most keys in one `DeleteObjects`.
pub const MAX_DELETE_KEYS: usize = 1000;

/// What metadata the copy gets.
#[derive(Debug, Clone, Default)]
// One per CopyObject request, never stored in bulk: boxing buys nothing.
#[allow(clippy::large_enum_variant)]
pub enum MetadataDirective {
    /// The source's (`COPY`, the default).
    #[default]
    Copy,
    /// These (`REPLACE`).
    Replace(ObjectHeaders),
}

/// The object copied from.
#[derive(Debug, Clone)]
pub struct CopySource {
    /// Its bucket (or an access point alias).
    pub bucket: String,
    /// Its key.
    pub key: String,
    /// `x-amz-copy-source-if-*`; `range` is not used by `CopyObject`.
    pub conditions: GetRequest,
}

/// What tags the copy gets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum TaggingDirective {
    /// The source's (`COPY`, the default).
    #[default]
    Copy,
    /// These, from `x-amz-tagging` (`REPLACE`; none if it was not sent).
    Replace(Vec<(String, String)>),
}

/// A `CopyObject` request besides the destination.
#[derive(Debug, Clone)]
pub struct CopyRequest {
    /// The source.
    pub source: CopySource,
    /// `x-amz-metadata-directive`.
    pub directive: MetadataDirective,
    /// `x-amz-tagging-directive` (with `x-amz-tagging`).
    pub tagging: TaggingDirective,
    /// `x-amz-checksum-algorithm`: the copy's checksum is computed in this
    /// algorithm instead of the source's.
    pub checksum_algorithm: Option<String>,
}

/// What a `CopyObject` made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyOutcome {
    /// The copy's ETag, quoted.
    pub etag: String,
    /// When it was made.
    pub last_modified: Timestamp,
    /// The copy's checksum (of the whole object).
    pub checksum: Checksum,
}

/// One key's result in `DeleteObjects`.
#[derive(Debug)]
pub struct DeleteResult {
    /// The key.
    pub key: String,
    /// Why it was not deleted, if it was not.
    pub error: Option<CoreError>,
}

impl Ferry {
    /// `CopyObject`, returning the ETag and the time of the copy: see
    /// [`Ferry::copy_object_with`].
    pub async fn copy_object(
        &self,
        ctx: &RequestContext,
        bucket: &str,
        key: &str,
        req: CopyRequest,
    ) -> Result<(String, Timestamp), CoreError> {
        self.copy_object_with(ctx, bucket, key, req)
            .await
            .map(|o| (o.etag, o.last_modified))
    }

    /// `CopyObject`: needs `s3:GetObject` on the source and `s3:PutObject`
    /// on the destination (each side's bucket policy applies, so across
    /// accounts both must allow). The tags go with the copy as S3 does it:
    /// the source's, read with `s3:GetObjectTagging` on the source when it
    /// has any, or those of `x-amz-tagging` with `REPLACE`; a copy that
    /// gets tags also needs `s3:PutObjectTagging` on the destination. The
    /// copy's checksum is computed as its
    /// bytes stream, in the algorithm asked for, else the source's (so a
    /// whole-object source checksum carries over, and a composite one
    /// becomes a whole-object one of the same algorithm), else CRC64NVME.
    pub async fn copy_object_with(
        &self,
        ctx: &RequestContext,
        bucket: &str,
        key: &str,
        req: CopyRequest,
    ) -> Result<CopyOutcome, CoreError> {
        let asked = req
            .checksum_algorithm
            .as_deref()
            .filter(|a| !a.trim().is_empty())
            .map(checksum::parse_algorithm)
            .transpose()?;
        let (src, o) = self
            .read_object(
                ctx,
                "s3:GetObject",
                &req.source.bucket,
                &req.source.key,
                &req.source.conditions,
            )
            .await?;
        let tags = match req.tagging {
            TaggingDirective::Copy => {
                if !o.tags.is_empty() {
                    self.authorize_s3(
                        ctx,
                        "s3:GetObjectTagging",
                        On::Object(&o.key),
                        &src,
                        existing_tag_context(&o.tags),
                    )
                    .await?;
                }
                o.tags.clone()
            }
            TaggingDirective::Replace(tags) => tags,
        };
        let f = self.put_target_for(ctx, bucket, key, &tags).await?;
        let same = src.bucket.account_id == f.bucket.account_id
            && src.bucket.name == f.bucket.name
            && o.key == key;
        let headers = match req.directive {
            // A new checksum algorithm is a change: S3's way to re-checksum
            // an object in place.
            MetadataDirective::Copy if same && asked.is_none() => {
                return Err(invalid(
                    "InvalidRequest",
                    "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
                ));
            }
            MetadataDirective::Copy => object_info(&o).headers,
            MetadataDirective::Replace(h) => {
                check_metadata(&h)?;
                h
            }
        };
        let bytes = if o.size == 0 {
            stream::empty().boxed()
        } else {
            self.object_bytes(src.bucket.account_id, &o.blob_key, None)
                .await?
        };
        let opts = PutOptions {
            // A source blob that lost bytes is not copied as if whole.
            expected_size: Some(u64::try_from(o.size).unwrap_or(0)),
            ..Default::default()
        };
        let algorithm = asked
            .or_else(|| object_info(&o).checksum.map(|c| c.algorithm))
            .unwrap_or(ChecksumAlgorithm::Crc64nvme);
        let (blob_key, info, checksum) = self
            .write_blob_summed(&f, bytes, &opts, Some(Plan::compute(algorithm)))
            .await?;
        let checksum = checksum.ok_or_else(|| internal("no checksum computed"))?;
        let etag = format!("\"{}\"", info.md5_hex());
        let now = self.now();
        let object = S3Object {
            account_id: f.bucket.account_id,
            bucket: f.bucket.name.clone(),
            key: key.to_string(),
            blob_key,
            size: o.size,
            etag: etag.clone(),
            meta: StoredMeta {
                headers,
                checksum: Some(checksum.clone()),
                upload_checksum: None,
            }
            .to_json()?,
            tags,
            last_modified: now,
        };
        self.commit_object(&f, object, Vec::new()).await?;
        Ok(CopyOutcome {
            etag,
            last_modified: now,
            checksum,
        })
    }

    /// `DeleteObjects`: each key is deleted as by `DeleteObject` (with its
    /// own authorization); a key that fails does not stop the others. A
    /// missing bucket fails the whole request.
    pub async fn delete_objects(
        &self,
        ctx: &RequestContext,
        bucket: &str,
        keys: Vec<String>,
    ) -> Result<Vec<DeleteResult>, CoreError> {
        if keys.is_empty() || keys.len() > MAX_DELETE_KEYS {
            return Err(invalid(
                "MalformedXML",
                format!(
                    "The XML you provided was not well-formed or did not validate against our published schema: 1 to {MAX_DELETE_KEYS} keys"
                ),
            ));
        }
        // NoSuchBucket for the request, not for every key.
        self.find_bucket(bucket).await?;
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            let error = self.delete_object(ctx, bucket, &key).await.err();
            out.push(DeleteResult { key, error });
        }
        Ok(out)
    }
}
