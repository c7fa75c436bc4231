//! Multipart uploads, CopyObject and DeleteObjects: each a translation of
//! s3s's typed input into one ferry-core call and back, as in `ops`. Kept
//! apart from the single-object operations so the two grow independently.

use s3s::dto;
use s3s::{S3Request, S3Response, S3Result};
use serde_json::json;

use super::{
    FerryS3, acl_supported, begin, bucket_params, caller, checksum_request, checksum_type, etag,
    finish, from_s3_time, given_checksums, object_params, raw_header, set_checksum, to_s3_time,
    watch_body,
};
use crate::backend::{
    ByteRange, ChecksumAlgorithm, ChecksumRequest, CompletedPart, CopyRequest, CopySource,
    GetRequest, ListUploadsRequest, MetadataDirective, ObjectHeaders, TaggingDirective,
    UploadChecksum,
};
use crate::error::{coded, from_core};

/// S3's largest page of parts and of uploads.
const MAX_LISTED: i32 = 1000;

/// User metadata as the core keeps it: names lowercased, sorted.
fn user_metadata(m: Option<&dto::Metadata>) -> Vec<(String, String)> {
    let mut meta: Vec<(String, String)> = m
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
        .collect();
    meta.sort();
    meta
}

/// Refuses what this slice does not do rather than writing without it.
fn refuse(asked: &[(bool, &str)]) -> S3Result<()> {
    match asked.iter().find(|(a, _)| *a) {
        Some((_, what)) => Err(coded(
            "NotImplemented",
            format!("{what} is not implemented by Ferry yet"),
        )),
        None => Ok(()),
    }
}

/// A page size: `None` for the default, an error for a negative one.
fn page_size(requested: Option<i32>, what: &str) -> S3Result<Option<usize>> {
    match requested {
        None => Ok(None),
        Some(n) if n < 0 => Err(coded(
            "InvalidArgument",
            format!("Provided {what} not an integer or within integer range"),
        )),
        Some(n) => Ok(Some(usize::try_from(n.min(MAX_LISTED)).unwrap_or(0))),
    }
}

/// The bucket and key of `x-amz-copy-source` (an access point alias is a
/// bucket name here; ARNs and versions are not there yet).
fn copy_source(src: &dto::CopySource) -> S3Result<(String, String)> {
    match src {
        dto::CopySource::Bucket {
            bucket,
            key,
            version_id,
        } => {
            if version_id.as_deref().is_some_and(|v| v != "null") {
                return Err(coded(
                    "NotImplemented",
                    "Copying a version of an object is not implemented by Ferry yet",
                ));
            }
            Ok((bucket.to_string(), key.to_string()))
        }
        _ => Err(coded(
            "NotImplemented",
            "A copy source given as an access point or Outposts ARN is not implemented by Ferry yet; use the access point alias",
        )),
    }
}

/// The conditions on a copy's source.
fn copy_conditions<T>(
    req: &S3Request<T>,
    modified_since: Option<dto::Timestamp>,
    unmodified_since: Option<dto::Timestamp>,
) -> GetRequest {
    GetRequest {
        range: None,
        if_match: raw_header(req, "x-amz-copy-source-if-match"),
        if_none_match: raw_header(req, "x-amz-copy-source-if-none-match"),
        if_modified_since: modified_since.and_then(from_s3_time),
        if_unmodified_since: unmodified_since.and_then(from_s3_time),
        checksum_mode: false,
    }
}

/// An upload's checksum algorithm and type as s3s's.
fn upload_checksum_dto(
    c: Option<UploadChecksum>,
) -> (Option<dto::ChecksumAlgorithm>, Option<dto::ChecksumType>) {
    match c {
        Some(c) => (
            Some(dto::ChecksumAlgorithm::from(c.algorithm.name().to_string())),
            Some(dto::ChecksumType::from(c.kind.name().to_string())),
        ),
        None => (None, None),
    }
}

/// `x-amz-copy-source-range: bytes=first-last`.
fn copy_range(r: &str) -> S3Result<ByteRange> {
    let bad = || {
        coded(
            "InvalidArgument",
            "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy",
        )
    };
    let (a, b) = r
        .trim()
        .strip_prefix("bytes=")
        .and_then(|s| s.split_once('-'))
        .ok_or_else(bad)?;
    let first = a.trim().parse::<u64>().map_err(|_| bad())?;
    let last = b.trim().parse::<u64>().map_err(|_| bad())?;
    Ok(ByteRange::FromTo(first, last))
}

fn initiator(arn: &str) -> dto::Initiator {
    dto::Initiator {
        display_name: Some(arn.to_string()),
        id: Some(arn.to_string()),
    }
}

impl FerryS3 {
    pub(super) async fn op_create_multipart_upload(
        &self,
        req: S3Request<dto::CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<dto::CreateMultipartUploadOutput>> {
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        let slot = begin(
            &req,
            "CreateMultipartUpload",
            false,
            object_params(&bucket, &key),
        );
        let result = async {
            let ctx = caller(&req)?;
            let i = &req.input;
            refuse(&[
                (
                    i.sse_customer_algorithm.is_some() || i.sse_customer_key.is_some(),
                    "Server-side encryption with customer-provided keys",
                ),
                (
                    i.server_side_encryption
                        .as_ref()
                        .is_some_and(|s| s.as_str() != "AES256"),
                    "Server-side encryption with KMS keys",
                ),
                (
                    i.object_lock_mode.is_some()
                        || i.object_lock_retain_until_date.is_some()
                        || i.object_lock_legal_hold_status.is_some(),
                    "Object Lock",
                ),
                (i.tagging.is_some(), "Object tagging"),
            ])?;
            acl_supported(i.acl.as_ref().map(|a| a.as_str()))?;
            let headers = ObjectHeaders {
                content_type: i.content_type.clone(),
                content_encoding: i.content_encoding.clone(),
                content_disposition: i.content_disposition.clone(),
                content_language: i.content_language.clone(),
                cache_control: i.cache_control.clone(),
                expires: raw_header(&req, "expires"),
                metadata: user_metadata(i.metadata.as_ref()),
                content_md5: None,
                tags: Vec::new(),
            };
            let (upload_id, checksum) = self
                .backend
                .create_multipart_upload(
                    ctx,
                    &bucket,
                    &key,
                    headers,
                    i.checksum_algorithm
                        .as_ref()
                        .map(|a| a.as_str().to_string()),
                    i.checksum_type.as_ref().map(|t| t.as_str().to_string()),
                )
                .await
                .map_err(|e| from_core(&e))?;
            let (checksum_algorithm, checksum_type) = upload_checksum_dto(checksum);
            Ok(S3Response::new(dto::CreateMultipartUploadOutput {
                bucket: Some(bucket.clone()),
                key: Some(key.clone()),
                upload_id: Some(upload_id),
                checksum_algorithm,
                checksum_type,
                ..Default::default()
            }))
        }
        .await;
        finish(&slot, result)
    }

    pub(super) async fn op_upload_part(
        &self,
        mut req: S3Request<dto::UploadPartInput>,
    ) -> S3Result<S3Response<dto::UploadPartOutput>> {
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        let mut params = object_params(&bucket, &key);
        params["partNumber"] = json!(req.input.part_number);
        params["uploadId"] = json!(req.input.upload_id);
        let slot = begin(&req, "UploadPart", false, params);
        let body = req.input.body.take();
        let result = async {
            let ctx = caller(&req)?;
            let i = &req.input;
            refuse(&[(
                i.sse_customer_algorithm.is_some() || i.sse_customer_key.is_some(),
                "Server-side encryption with customer-provided keys",
            )])?;
            let checksum = checksum_request(&req, given_checksums!(i));
            let (stream, watch) = watch_body(body);
            let stored = self
                .backend
                .upload_part(
                    ctx,
                    &bucket,
                    &key,
                    &i.upload_id,
                    i.part_number,
                    i.content_md5.clone(),
                    checksum,
                    stream,
                )
                .await;
            let part = watch.settle(stored)?;
            let mut out = dto::UploadPartOutput {
                e_tag: etag(&part.etag),
                ..Default::default()
            };
            set_checksum!(out, part.checksum.as_ref());
            Ok(S3Response::new(out))
        }
        .await;
        finish(&slot, result)
    }

    pub(super) async fn op_upload_part_copy(
        &self,
        req: S3Request<dto::UploadPartCopyInput>,
    ) -> S3Result<S3Response<dto::UploadPartCopyOutput>> {
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        let mut params = object_params(&bucket, &key);
        params["partNumber"] = json!(req.input.part_number);
        params["uploadId"] = json!(req.input.upload_id);
        let slot = begin(&req, "UploadPartCopy", false, params);
        let result = async {
            let ctx = caller(&req)?;
            let i = &req.input;
            refuse(&[(
                i.sse_customer_algorithm.is_some()
                    || i.copy_source_sse_customer_algorithm.is_some(),
                "Server-side encryption with customer-provided keys",
            )])?;
            let (src_bucket, src_key) = copy_source(&i.copy_source)?;
            let mut source = copy_conditions(
                &req,
                i.copy_source_if_modified_since.clone(),
                i.copy_source_if_unmodified_since.clone(),
            );
            source.range = i.copy_source_range.as_deref().map(copy_range).transpose()?;
            let part = self
                .backend
                .upload_part_copy(
                    ctx,
                    &bucket,
                    &key,
                    &i.upload_id,
                    i.part_number,
                    &src_bucket,
                    &src_key,
                    source,
                )
                .await
                .map_err(|e| from_core(&e))?;
            let mut result = dto::CopyPartResult {
                e_tag: etag(&part.etag),
                last_modified: Some(to_s3_time(part.last_modified)),
                ..Default::default()
            };
            set_checksum!(result, part.checksum.as_ref());
            Ok(S3Response::new(dto::UploadPartCopyOutput {
                copy_part_result: Some(result),
                ..Default::default()
            }))
        }
        .await;
        finish(&slot, result)
    }

    pub(super) async fn op_complete_multipart_upload(
        &self,
        req: S3Request<dto::CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<dto::CompleteMultipartUploadOutput>> {
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        let mut params = object_params(&bucket, &key);
        params["uploadId"] = json!(req.input.upload_id);
        let slot = begin(&req, "CompleteMultipartUpload", false, params);
        let result = async {
            let ctx = caller(&req)?;
            let i = &req.input;
            refuse(&[(
                i.if_match.is_some() || i.if_none_match.is_some(),
                "Conditional writes",
            )])?;
            let malformed = || {
                coded(
                    "MalformedXML",
                    "The XML you provided was not well-formed or did not validate against our published schema",
                )
            };
            let mut parts = Vec::new();
            for p in i
                .multipart_upload
                .as_ref()
                .and_then(|m| m.parts.as_ref())
                .into_iter()
                .flatten()
            {
                let (Some(n), Some(e)) = (p.part_number, p.e_tag.as_ref()) else {
                    return Err(malformed());
                };
                let listed = given_checksums!(p);
                if listed.len() > 1 {
                    return Err(malformed());
                }
                parts.push(CompletedPart {
                    part_number: n,
                    etag: e.value().to_string(),
                    checksum: listed.into_iter().find_map(|(h, v)| {
                        ChecksumAlgorithm::from_header(&h).map(|a| (a, v))
                    }),
                });
            }
            let whole = ChecksumRequest {
                values: given_checksums!(i),
                ..Default::default()
            };
            let done = self
                .backend
                .complete_multipart_upload(
                    ctx,
                    &bucket,
                    &key,
                    &i.upload_id,
                    parts,
                    whole,
                    i.checksum_type.as_ref().map(|t| t.as_str().to_string()),
                )
                .await
                .map_err(|e| from_core(&e))?;
            let mut out = dto::CompleteMultipartUploadOutput {
                bucket: Some(bucket.clone()),
                key: Some(key.clone()),
                e_tag: etag(&done.etag),
                location: Some(format!("/{bucket}/{key}")),
                checksum_type: checksum_type(Some(&done.checksum)),
                ..Default::default()
            };
            set_checksum!(out, Some(&done.checksum));
            Ok(S3Response::new(out))
        }
        .await;
        finish(&slot, result)
    }

    pub(super) async fn op_abort_multipart_upload(
        &self,
        req: S3Request<dto::AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<dto::AbortMultipartUploadOutput>> {
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        let mut params = object_params(&bucket, &key);
        params["uploadId"] = json!(req.input.upload_id);
        let slot = begin(&req, "AbortMultipartUpload", false, params);
        let result = async {
            let ctx = caller(&req)?;
            self.backend
                .abort_multipart_upload(ctx, &bucket, &key, &req.input.upload_id)
                .await
                .map_err(|e| from_core(&e))?;
            Ok(S3Response::new(dto::AbortMultipartUploadOutput::default()))
        }
        .await;
        finish(&slot, result)
    }

    pub(super) async fn op_list_parts(
        &self,
        req: S3Request<dto::ListPartsInput>,
    ) -> S3Result<S3Response<dto::ListPartsOutput>> {
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        let mut params = object_params(&bucket, &key);
        params["uploadId"] = json!(req.input.upload_id);
        let slot = begin(&req, "ListParts", true, params);
        let result = async {
            let ctx = caller(&req)?;
            let i = &req.input;
            let max = page_size(i.max_parts, "max-parts")?;
            let page = self
                .backend
                .list_parts(
                    ctx,
                    &bucket,
                    &key,
                    &i.upload_id,
                    i.part_number_marker.filter(|m| *m > 0),
                    max,
                )
                .await
                .map_err(|e| from_core(&e))?;
            let parts = page
                .parts
                .iter()
                .map(|p| {
                    let mut part = dto::Part {
                        e_tag: etag(&p.etag),
                        last_modified: Some(to_s3_time(p.last_modified)),
                        part_number: Some(p.part_number),
                        size: Some(i64::try_from(p.size).unwrap_or(i64::MAX)),
                        ..Default::default()
                    };
                    set_checksum!(part, p.checksum.as_ref());
                    part
                })
                .collect();
            let (checksum_algorithm, checksum_type) = upload_checksum_dto(page.checksum);
            Ok(S3Response::new(dto::ListPartsOutput {
                bucket: Some(bucket.clone()),
                key: Some(key.clone()),
                upload_id: Some(i.upload_id.clone()),
                initiator: Some(initiator(&page.initiator)),
                is_truncated: Some(page.is_truncated),
                max_parts: Some(
                    max.and_then(|m| i32::try_from(m).ok())
                        .unwrap_or(MAX_LISTED),
                ),
                part_number_marker: i.part_number_marker,
                next_part_number_marker: page.next_part_number_marker,
                storage_class: Some(dto::StorageClass::from_static(dto::StorageClass::STANDARD)),
                parts: Some(parts),
                checksum_algorithm,
                checksum_type,
                ..Default::default()
            }))
        }
        .await;
        finish(&slot, result)
    }

    pub(super) async fn op_list_multipart_uploads(
        &self,
        req: S3Request<dto::ListMultipartUploadsInput>,
    ) -> S3Result<S3Response<dto::ListMultipartUploadsOutput>> {
        let bucket = req.input.bucket.clone();
        let slot = begin(&req, "ListMultipartUploads", true, bucket_params(&bucket));
        let result = async {
            let ctx = caller(&req)?;
            let i = &req.input;
            let max = page_size(i.max_uploads, "max-uploads")?;
            let list = ListUploadsRequest {
                prefix: i.prefix.clone().unwrap_or_default(),
                key_marker: i.key_marker.clone().filter(|k| !k.is_empty()),
                upload_id_marker: i.upload_id_marker.clone(),
                max_uploads: max,
                delimiter: i.delimiter.clone(),
            };
            let page = self
                .backend
                .list_multipart_uploads(ctx, &bucket, list)
                .await
                .map_err(|e| from_core(&e))?;
            let uploads = page
                .uploads
                .iter()
                .map(|u| dto::MultipartUpload {
                    checksum_algorithm: upload_checksum_dto(u.checksum).0,
                    checksum_type: upload_checksum_dto(u.checksum).1,
                    initiated: Some(to_s3_time(u.initiated_at)),
                    initiator: Some(initiator(&u.initiator)),
                    key: Some(u.key.clone()),
                    storage_class: Some(dto::StorageClass::from_static(
                        dto::StorageClass::STANDARD,
                    )),
                    upload_id: Some(u.upload_id.clone()),
                    ..Default::default()
                })
                .collect();
            Ok(S3Response::new(dto::ListMultipartUploadsOutput {
                bucket: Some(bucket.clone()),
                prefix: i.prefix.clone(),
                key_marker: i.key_marker.clone(),
                upload_id_marker: i.upload_id_marker.clone(),
                max_uploads: Some(
                    max.and_then(|m| i32::try_from(m).ok())
                        .unwrap_or(MAX_LISTED),
                ),
                is_truncated: Some(page.is_truncated),
                next_key_marker: page.next_key_marker,
                next_upload_id_marker: page.next_upload_id_marker,
                uploads: Some(uploads),
                common_prefixes: Some(
                    page.common_prefixes
                        .into_iter()
                        .map(|p| dto::CommonPrefix { prefix: Some(p) })
                        .collect(),
                ),
                delimiter: i.delimiter.clone(),
                ..Default::default()
            }))
        }
        .await;
        finish(&slot, result)
    }

    pub(super) async fn op_copy_object(
        &self,
        req: S3Request<dto::CopyObjectInput>,
    ) -> S3Result<S3Response<dto::CopyObjectOutput>> {
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        let slot = begin(&req, "CopyObject", false, object_params(&bucket, &key));
        let result = async {
            let ctx = caller(&req)?;
            let i = &req.input;
            refuse(&[
                (
                    i.sse_customer_algorithm.is_some()
                        || i.copy_source_sse_customer_algorithm.is_some(),
                    "Server-side encryption with customer-provided keys",
                ),
                (
                    i.server_side_encryption
                        .as_ref()
                        .is_some_and(|s| s.as_str() != "AES256"),
                    "Server-side encryption with KMS keys",
                ),
                (
                    i.object_lock_mode.is_some()
                        || i.object_lock_retain_until_date.is_some()
                        || i.object_lock_legal_hold_status.is_some(),
                    "Object Lock",
                ),
            ])?;
            acl_supported(i.acl.as_ref().map(|a| a.as_str()))?;
            let (src_bucket, src_key) = copy_source(&i.copy_source)?;
            let directive = match i.metadata_directive.as_ref().map(|d| d.as_str()) {
                None | Some(dto::MetadataDirective::COPY) => MetadataDirective::Copy,
                Some(dto::MetadataDirective::REPLACE) => {
                    MetadataDirective::Replace(ObjectHeaders {
                        content_type: i.content_type.clone(),
                        content_encoding: i.content_encoding.clone(),
                        content_disposition: i.content_disposition.clone(),
                        content_language: i.content_language.clone(),
                        cache_control: i.cache_control.clone(),
                        expires: raw_header(&req, "expires"),
                        metadata: user_metadata(i.metadata.as_ref()),
                        content_md5: None,
                        tags: Vec::new(),
                    })
                }
                Some(other) => {
                    return Err(coded(
                        "InvalidArgument",
                        format!("Unknown metadata directive: {other}"),
                    ));
                }
            };
            let tagging = match i.tagging_directive.as_ref().map(|d| d.as_str()) {
                None | Some(dto::TaggingDirective::COPY) => TaggingDirective::Copy,
                Some(dto::TaggingDirective::REPLACE) => TaggingDirective::Replace(
                    super::tagging::parse_tagging_header(i.tagging.as_deref())?,
                ),
                Some(other) => {
                    return Err(coded(
                        "InvalidArgument",
                        format!("Unknown tagging directive: {other}"),
                    ));
                }
            };
            let copy = CopyRequest {
                source: CopySource {
                    bucket: src_bucket,
                    key: src_key,
                    conditions: copy_conditions(
                        &req,
                        i.copy_source_if_modified_since.clone(),
                        i.copy_source_if_unmodified_since.clone(),
                    ),
                },
                directive,
                tagging,
                checksum_algorithm: i
                    .checksum_algorithm
                    .as_ref()
                    .map(|a| a.as_str().to_string()),
            };
            let copied = self
                .backend
                .copy_object(ctx, &bucket, &key, copy)
                .await
                .map_err(|e| from_core(&e))?;
            let mut result = dto::CopyObjectResult {
                e_tag: etag(&copied.etag),
                last_modified: Some(to_s3_time(copied.last_modified)),
                checksum_type: checksum_type(Some(&copied.checksum)),
                ..Default::default()
            };
            set_checksum!(result, Some(&copied.checksum));
            Ok(S3Response::new(dto::CopyObjectOutput {
                copy_object_result: Some(result),
                ..Default::default()
            }))
        }
        .await;
        finish(&slot, result)
    }

    pub(super) async fn op_delete_objects(
        &self,
        req: S3Request<dto::DeleteObjectsInput>,
    ) -> S3Result<S3Response<dto::DeleteObjectsOutput>> {
        let bucket = req.input.bucket.clone();
        let slot = begin(&req, "DeleteObjects", false, bucket_params(&bucket));
        let result = async {
            let ctx = caller(&req)?;
            let d = &req.input.delete;
            let quiet = d.quiet.unwrap_or(false);
            let mut deleted = Vec::new();
            let mut errors = Vec::new();
            let mut keys = Vec::new();
            for o in &d.objects {
                if o.version_id.is_some() {
                    errors.push(dto::Error {
                        code: Some("NotImplemented".into()),
                        key: Some(o.key.clone()),
                        message: Some("Deleting a version is not implemented by Ferry yet".into()),
                        version_id: o.version_id.clone(),
                    });
                } else {
                    keys.push(o.key.clone());
                }
            }
            let results = if keys.is_empty() && !errors.is_empty() {
                Vec::new()
            } else {
                self.backend
                    .delete_objects(ctx, &bucket, keys)
                    .await
                    .map_err(|e| from_core(&e))?
            };
            for r in results {
                match r.error {
                    None if quiet => {}
                    None => deleted.push(dto::DeletedObject {
                        key: Some(r.key),
                        ..Default::default()
                    }),
                    Some(e) => {
                        let s3 = from_core(&e);
                        errors.push(dto::Error {
                            code: Some(s3.code().as_str().to_string()),
                            key: Some(r.key),
                            message: s3.message().map(str::to_string),
                            version_id: None,
                        });
                    }
                }
            }
            Ok(S3Response::new(dto::DeleteObjectsOutput {
                deleted: Some(deleted),
                errors: Some(errors),
                ..Default::default()
            }))
        }
        .await;
        finish(&slot, result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_ranges() {
        assert_eq!(copy_range("bytes=0-9").ok(), Some(ByteRange::FromTo(0, 9)));
        for bad in ["0-9", "bytes=-5", "bytes=5-", "bytes=a-b", "bytes=1"] {
            assert!(copy_range(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn metadata_is_lowercased_and_sorted() {
        let m: dto::Metadata = [("B".to_string(), "2".to_string()), ("a".into(), "1".into())]
            .into_iter()
            .collect();
        assert_eq!(
            user_metadata(Some(&m)),
            [("a".to_string(), "1".to_string()), ("b".into(), "2".into())]
        );
    }
}
