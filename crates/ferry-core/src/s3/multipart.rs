//! S3 multipart uploads, kept in Ferry's own layer: the blob store has no
//! multipart API, so each part is its own blob (with a sweep record first,
//! as every blob), and an upload and its parts are rows in the bucket
//! owner's store.
//!
//! Completing streams the parts, in order, into one new blob and then
//! points the key at it in one write that also forgets the upload and
//! sweeps the parts' blobs. A manifest (an object made of the parts'
//! blobs) would save the copy, but every reader, ranged reads, copies and
//! the collector would have to learn about it; one blob per object keeps the
//! read path and its durability story exactly as for `PutObject`, at the
//! cost of writing the bytes twice.

use bytes::Bytes;
use ferry_blob::PutOptions;
use ferry_store::{BlobSweep, S3Object, S3Part, S3Upload, Write, WriteBatch};
use ferry_types::Timestamp;
use futures::stream::{self, Stream, StreamExt, TryStreamExt};
use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};

use super::checksum::{self, Expected, Plan};
use super::{
    ByteRange, Checksum, ChecksumAlgorithm, ChecksumRequest, ChecksumType, Found, GetRequest,
    ObjectHeaders, StoredMeta, check_metadata, internal, invalid, parse_content_md5, resolve_range,
};
use crate::{CoreError, Ferry, RequestContext};

/// Smallest part but the last, as on S3.
pub const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;
/// Largest part, as on S3.
pub const MAX_PART_SIZE: u64 = 5 * 1024 * 1024 * 1024;
/// Highest part number.
pub const MAX_PART_NUMBER: i32 = 10_000;
/// Most uploads or parts in one listing page.
const MAX_LISTED: usize = 1000;

/// An upload in progress, as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadInfo {
    /// The upload id.
    pub upload_id: String,
    /// The key the object will have.
    pub key: String,
    /// Who started it (an ARN).
    pub initiator: String,
    /// When.
    pub initiated_at: Timestamp,
    /// Its checksum algorithm and type, if it was created with one.
    pub checksum: Option<UploadChecksum>,
}

/// An uploaded part, as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartInfo {
    /// 1 to 10000.
    pub part_number: i32,
    /// Size in bytes.
    pub size: u64,
    /// The ETag, quoted.
    pub etag: String,
    /// When it was uploaded.
    pub last_modified: Timestamp,
    /// Its checksum, if it has one.
    pub checksum: Option<Checksum>,
}

/// A part named in `CompleteMultipartUpload`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompletedPart {
    /// Its number.
    pub part_number: i32,
    /// Its ETag, quoted or not.
    pub etag: String,
    /// The checksum the client lists for it (`ChecksumCRC32`, ...), base64.
    pub checksum: Option<(ChecksumAlgorithm, String)>,
}

/// The checksum algorithm and type an upload was created with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadChecksum {
    /// The algorithm of every part's checksum.
    pub algorithm: ChecksumAlgorithm,
    /// How the object's checksum is made of them.
    #[serde(rename = "type")]
    pub kind: ChecksumType,
}

/// What `CompleteMultipartUpload` made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompleteOutcome {
    /// The object's ETag (`"...-N"`).
    pub etag: String,
    /// The object's checksum: composite (`...-N`) or of the whole object.
    pub checksum: Checksum,
}

/// What `ListMultipartUploads` may ask.
#[derive(Debug, Clone, Default)]
pub struct ListUploadsRequest {
    /// Only keys with this prefix.
    pub prefix: String,
    /// Start after this key (and `upload_id_marker` within it).
    pub key_marker: Option<String>,
    /// With `key_marker`: start after this upload of that key.
    pub upload_id_marker: Option<String>,
    /// Page size (at most 1000).
    pub max_uploads: Option<usize>,
    /// Roll keys up to the first delimiter after the prefix.
    pub delimiter: Option<String>,
}

/// A page of uploads.
#[derive(Debug, Clone)]
pub struct ListUploadsOutcome {
    /// The uploads, by key then upload id.
    pub uploads: Vec<UploadInfo>,
    /// The common prefixes, with a delimiter.
    pub common_prefixes: Vec<String>,
    /// Whether more follow.
    pub is_truncated: bool,
    /// Where the next page starts, when truncated.
    pub next_key_marker: Option<String>,
    /// Where the next page starts, when truncated.
    pub next_upload_id_marker: Option<String>,
}

/// A page of parts.
#[derive(Debug, Clone)]
pub struct ListPartsOutcome {
    /// The parts, by number.
    pub parts: Vec<PartInfo>,
    /// Whether more follow.
    pub is_truncated: bool,
    /// The last part number of this page, when truncated.
    pub next_part_number_marker: Option<i32>,
    /// Who started the upload (an ARN).
    pub initiator: String,
    /// The upload's checksum algorithm and type, if it was created with one.
    pub checksum: Option<UploadChecksum>,
}

fn no_upload(upload_id: &str) -> CoreError {
    CoreError::not_found(
        "NoSuchUpload",
        format!(
            "The specified multipart upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed: {upload_id}"
        ),
    )
}

fn check_part_number(n: i32) -> Result<(), CoreError> {
    if (1..=MAX_PART_NUMBER).contains(&n) {
        Ok(())
    } else {
        Err(invalid(
            "InvalidArgument",
            format!("Part number must be an integer between 1 and {MAX_PART_NUMBER}, inclusive"),
        ))
    }
}

/// `body`, failing with `EntityTooLarge` as soon as it passes `limit`
/// bytes (before the excess is stored).
fn capped<S, E>(
    body: S,
    limit: u64,
) -> impl Stream<Item = Result<Bytes, Box<dyn std::error::Error + Send + Sync>>> + Send + Unpin + 'static
where
    S: Stream<Item = Result<Bytes, E>> + Send + Unpin + 'static,
    E: Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
{
    let mut seen: u64 = 0;
    body.map(move |item| {
        let chunk = item.map_err(Into::into)?;
        seen = seen.saturating_add(chunk.len() as u64);
        if seen > limit {
            return Err(Box::new(invalid(
                "EntityTooLarge",
                format!("Your proposed upload exceeds the maximum allowed size of {limit} bytes"),
            )) as Box<dyn std::error::Error + Send + Sync>);
        }
        Ok(chunk)
    })
}

/// A part's stored checksum (`None` if it has none, or the stored text
/// does not parse).
fn part_checksum(p: &S3Part) -> Option<Checksum> {
    p.checksum
        .as_deref()
        .and_then(|c| serde_json::from_str(c).ok())
}

fn part_info(p: &S3Part) -> PartInfo {
    PartInfo {
        part_number: p.part_number,
        size: u64::try_from(p.size).unwrap_or(0),
        etag: p.etag.clone(),
        last_modified: p.last_modified,
        checksum: part_checksum(p),
    }
}

/// The checksum asked of an upload: an algorithm, and a type that suits it
/// (S3's default for the algorithm when not given).
fn upload_checksum(
    algorithm: Option<&str>,
    kind: Option<&str>,
) -> Result<Option<UploadChecksum>, CoreError> {
    let kind = kind
        .filter(|k| !k.trim().is_empty())
        .map(|k| {
            ChecksumType::parse(k).ok_or_else(|| {
                invalid(
                    "InvalidRequest",
                    "Value for x-amz-checksum-type header is invalid.",
                )
            })
        })
        .transpose()?;
    let Some(name) = algorithm.filter(|a| !a.trim().is_empty()) else {
        return match kind {
            None => Ok(None),
            Some(_) => Err(invalid(
                "InvalidRequest",
                "The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.",
            )),
        };
    };
    let algorithm = checksum::parse_algorithm(name)?;
    let kind = kind.unwrap_or_else(|| algorithm.default_multipart_type());
    if !algorithm.supports(kind) {
        return Err(invalid(
            "InvalidRequest",
            format!(
                "The {} checksum type cannot be used with the {} checksum algorithm.",
                kind.name(),
                algorithm.name().to_ascii_lowercase()
            ),
        ));
    }
    Ok(Some(UploadChecksum { algorithm, kind }))
}

/// A checksum of another algorithm than the upload's, in S3's words.
fn type_mismatch(expected: Option<ChecksumAlgorithm>, actual: ChecksumAlgorithm) -> CoreError {
    invalid(
        "InvalidRequest",
        format!(
            "Checksum Type mismatch occurred, expected checksum Type: {}, actual checksum Type: {}",
            expected.map_or("null".to_string(), |a| a.name().to_ascii_lowercase()),
            actual.name().to_ascii_lowercase()
        ),
    )
}

fn invalid_part(n: i32, why: &str) -> CoreError {
    invalid(
        "InvalidPart",
        format!(
            "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified {why} may not match the part's {why}: part {n}"
        ),
    )
}

/// The multipart ETag: the MD5 of the parts' binary MD5s, hex, then `-N`.
/// `None` if a part's ETag is not an MD5 (it always is when Ferry wrote it).
pub fn multipart_etag<'a>(part_etags: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let mut h = Md5::new();
    let mut n = 0usize;
    for e in part_etags {
        let raw = hex::decode(e.trim_matches('"')).ok()?;
        if raw.len() != 16 {
            return None;
        }
        h.update(&raw);
        n += 1;
    }
    Some(format!("\"{}-{n}\"", hex::encode(h.finalize())))
}

/// Checks the checksum a `CompleteMultipartUpload` lists for a part
/// against the stored one. An upload with a composite checksum needs one
/// for every part; an upload without an algorithm checks what it can.
fn check_listed_checksum(
    want: &CompletedPart,
    part: &S3Part,
    wanted: Option<UploadChecksum>,
) -> Result<(), CoreError> {
    let stored = part_checksum(part);
    let Some((algorithm, value)) = &want.checksum else {
        return match wanted {
            Some(w) if w.kind == ChecksumType::Composite => Err(invalid(
                "InvalidRequest",
                format!(
                    "The upload was created using a {} checksum. The complete request must include the checksum for each part. It was missing for part {} in the request.",
                    w.algorithm.name().to_ascii_lowercase(),
                    want.part_number
                ),
            )),
            _ => Ok(()),
        };
    };
    if let Some(w) = wanted
        && w.algorithm != *algorithm
    {
        return Err(type_mismatch(Some(w.algorithm), *algorithm));
    }
    let listed = checksum::decode(*algorithm, value);
    let matches = match stored.filter(|s| s.algorithm == *algorithm) {
        Some(s) => listed.is_some() && listed == s.digest(),
        // Nothing stored to compare with: only an upload without an
        // algorithm gets here, and S3 does not check those.
        None => wanted.is_none(),
    };
    if matches {
        Ok(())
    } else {
        Err(invalid_part(want.part_number, "checksum"))
    }
}

impl Ferry {
    /// Finds an upload of `key` in `bucket`, authorizing `action` on the
    /// object first: an upload of another bucket or key is `NoSuchUpload`.
    async fn upload_for(
        &self,
        ctx: &RequestContext,
        action: &str,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<(Found, S3Upload), CoreError> {
        let f = self.object_for(ctx, action, bucket, key).await?;
        match f.store.get_upload(f.bucket.account_id, upload_id).await? {
            Some(u) if u.bucket == f.bucket.name && u.key == key => Ok((f, u)),
            _ => Err(no_upload(upload_id)),
        }
    }

    /// Sweep records for the blobs of an upload's parts, due at once: the
    /// batch that carries them also forgets the parts.
    fn sweep_parts(&self, parts: &[S3Part]) -> Vec<Write> {
        let now = self.now();
        parts
            .iter()
            .map(|p| {
                Write::PutBlobSweep(BlobSweep {
                    account_id: p.account_id,
                    blob_key: p.blob_key.clone(),
                    not_before: now,
                })
            })
            .collect()
    }

    /// The writes that abort every upload of a bucket being deleted: its
    /// parts' bytes would otherwise stay referenced for good.
    pub(super) async fn abort_all_uploads(&self, f: &Found) -> Result<Vec<Write>, CoreError> {
        let owner = f.bucket.account_id;
        let mut writes = Vec::new();
        let mut after: Option<(String, String)> = None;
        loop {
            let page = f
                .store
                .list_uploads(
                    owner,
                    &f.bucket.name,
                    "",
                    after.as_ref().map(|(k, id)| (k.as_str(), id.as_str())),
                    MAX_LISTED,
                )
                .await?;
            let full = page.len() == MAX_LISTED;
            for u in &page {
                let parts = f.store.list_parts(owner, &u.upload_id).await?;
                writes.extend(self.sweep_parts(&parts));
                writes.push(Write::DeleteUpload {
                    account: owner,
                    upload_id: u.upload_id.clone(),
                });
            }
            match page.last() {
                Some(u) if full => after = Some((u.key.clone(), u.upload_id.clone())),
                _ => return Ok(writes),
            }
        }
    }

    /// `CreateMultipartUpload` without a checksum algorithm.
    pub async fn create_multipart_upload(
        &self,
        ctx: &RequestContext,
        bucket: &str,
        key: &str,
        headers: ObjectHeaders,
    ) -> Result<String, CoreError> {
        self.create_multipart_upload_with(ctx, bucket, key, headers, None, None)
            .await
            .map(|(id, _)| id)
    }

    /// `CreateMultipartUpload`: the headers and metadata are kept with the
    /// upload and given to the object on completion, with the checksum
    /// algorithm and type (`x-amz-checksum-algorithm`,
    /// `x-amz-checksum-type`) every part is then checked and stored with.
    pub async fn create_multipart_upload_with(
        &self,
        ctx: &RequestContext,
        bucket: &str,
        key: &str,
        headers: ObjectHeaders,
        checksum_algorithm: Option<&str>,
        checksum_type: Option<&str>,
    ) -> Result<(String, Option<UploadChecksum>), CoreError> {
        let f = self.object_for(ctx, "s3:PutObject", bucket, key).await?;
        check_metadata(&headers)?;
        let wanted = upload_checksum(checksum_algorithm, checksum_type)?;
        let upload_id = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        f.store
            .apply(WriteBatch::one(Write::PutUpload(S3Upload {
                account_id: f.bucket.account_id,
                upload_id: upload_id.clone(),
                bucket: f.bucket.name.clone(),
                key: key.to_string(),
                meta: StoredMeta {
                    headers,
                    checksum: None,
                    upload_checksum: wanted,
                }
                .to_json()?,
                initiator: ctx.principal.arn.clone(),
                initiated_at: self.now(),
            })))
            .await?;
        Ok((upload_id, wanted))
    }

    /// Records a part whose bytes are in `blob_key`, sweeping the blob of
    /// the part it replaces.
    async fn commit_part(
        &self,
        f: &Found,
        upload_id: &str,
        part_number: i32,
        blob_key: String,
        info: &ferry_blob::BlobInfo,
        checksum: Option<Checksum>,
    ) -> Result<PartInfo, CoreError> {
        let owner = f.bucket.account_id;
        // The upload may have been completed or aborted while the bytes
        // streamed: a part row for it would hold its blob forever.
        if f.store.get_upload(owner, upload_id).await?.is_none() {
            return Err(no_upload(upload_id));
        }
        let previous = f
            .store
            .list_parts(owner, upload_id)
            .await?
            .into_iter()
            .find(|p| p.part_number == part_number);
        let part = S3Part {
            account_id: owner,
            upload_id: upload_id.to_string(),
            part_number,
            blob_key,
            size: i64::try_from(info.size).unwrap_or(i64::MAX),
            etag: format!("\"{}\"", info.md5_hex()),
            checksum: checksum
                .as_ref()
                .map(serde_json::to_string)
                .transpose()
                .map_err(internal)?,
            last_modified: self.now(),
        };
        let out = part_info(&part);
        let mut batch = WriteBatch::one(Write::PutPart(part));
        if let Some(old) = previous {
            batch.push(Write::PutBlobSweep(BlobSweep {
                account_id: owner,
                blob_key: old.blob_key,
                not_before: self.now(),
            }));
        }
        f.store.apply(batch).await?;
        Ok(out)
    }

    /// `UploadPart` without a flexible checksum: see
    /// [`Ferry::upload_part_with`]. Returns the part's ETag.
    #[allow(clippy::too_many_arguments)]
    pub async fn upload_part<S, E>(
        &self,
        ctx: &RequestContext,
        bucket: &str,
        key: &str,
        upload_id: &str,
        part_number: i32,
        content_md5: Option<&str>,
        body: S,
    ) -> Result<String, CoreError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send + Unpin + 'static,
        E: Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    {
        self.upload_part_with(
            ctx,
            bucket,
            key,
            upload_id,
            part_number,
            content_md5,
            ChecksumRequest::default(),
            body,
        )
        .await
        .map(|p| p.etag)
    }

    /// `UploadPart`: streams the body into the part's own blob, checking
    /// `Content-MD5` and the flexible checksum when given; uploading a
    /// number again replaces it. A part of an upload created with a
    /// checksum algorithm gets a checksum of that algorithm (computed if
    /// the client sent none) and may not carry one of another.
    #[allow(clippy::too_many_arguments)]
    pub async fn upload_part_with<S, E>(
        &self,
        ctx: &RequestContext,
        bucket: &str,
        key: &str,
        upload_id: &str,
        part_number: i32,
        content_md5: Option<&str>,
        checksum: ChecksumRequest,
        body: S,
    ) -> Result<PartInfo, CoreError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send + Unpin + 'static,
        E: Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    {
        check_part_number(part_number)?;
        let opts = PutOptions {
            expected_md5: parse_content_md5(content_md5)?,
            ..Default::default()
        };
        let asked = checksum::plan(&checksum)?;
        let (f, upload) = self
            .upload_for(ctx, "s3:PutObject", bucket, key, upload_id)
            .await?;
        let wanted = StoredMeta::parse(&upload.meta).upload_checksum;
        let plan = match (asked, wanted) {
            (Some(p), Some(w)) if p.algorithm != w.algorithm => {
                return Err(type_mismatch(Some(w.algorithm), p.algorithm));
            }
            (Some(p), _) => Some(p),
            (None, Some(w)) => Some(Plan::compute(w.algorithm)),
            (None, None) => None,
        };
        let body = capped(body, MAX_PART_SIZE);
        let (blob_key, info, checksum) = self.write_blob_summed(&f, body, &opts, plan).await?;
        self.commit_part(&f, upload_id, part_number, blob_key, &info, checksum)
            .await
    }

    /// `UploadPartCopy`: a part made of (a range of) an existing object,
    /// which needs `s3:GetObject` on the source as well.
    #[allow(clippy::too_many_arguments)]
    pub async fn upload_part_copy(
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
        check_part_number(part_number)?;
        let (f, upload) = self
            .upload_for(ctx, "s3:PutObject", bucket, key, upload_id)
            .await?;
        let wanted = StoredMeta::parse(&upload.meta).upload_checksum;
        let (src, o) = self
            .read_object(ctx, "s3:GetObject", source_bucket, source_key, &source)
            .await?;
        let size = u64::try_from(o.size).unwrap_or(0);
        let range = match source.range {
            None => None,
            // S3 takes only `bytes=a-b` here and refuses one past the end.
            Some(ByteRange::FromTo(a, b)) if a <= b && b < size => Some((a, b)),
            Some(r) => {
                return Err(match resolve_range(r, size) {
                    Err(e) => e,
                    Ok(_) => invalid(
                        "InvalidArgument",
                        "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy",
                    ),
                });
            }
        };
        let bytes = if size == 0 {
            stream::empty().boxed()
        } else {
            self.object_bytes(src.bucket.account_id, &o.blob_key, range)
                .await?
        };
        // A copied part gets its checksum as an uploaded one would.
        let plan = wanted.map(|w| Plan::compute(w.algorithm));
        let (blob_key, info, checksum) = self
            .write_blob_summed(&f, bytes, &PutOptions::default(), plan)
            .await?;
        self.commit_part(&f, upload_id, part_number, blob_key, &info, checksum)
            .await
    }

    /// `CompleteMultipartUpload` without an object checksum to check.
    /// Returns the object's ETag.
    pub async fn complete_multipart_upload(
        &self,
        ctx: &RequestContext,
        bucket: &str,
        key: &str,
        upload_id: &str,
        listed: Vec<CompletedPart>,
    ) -> Result<String, CoreError> {
        self.complete_multipart_upload_with(
            ctx,
            bucket,
            key,
            upload_id,
            listed,
            ChecksumRequest::default(),
            None,
        )
        .await
        .map(|o| o.etag)
    }

    /// `CompleteMultipartUpload`: the listed parts, in ascending order and
    /// with matching ETags (and checksums, when listed), become the object;
    /// every part but the last must be at least 5 MiB. The object's
    /// checksum is the composite of the parts' for a `COMPOSITE` upload,
    /// else computed over the whole object as its bytes are joined (S3's
    /// CRC64NVME for an upload created without an algorithm); `checksum`
    /// and `checksum_type` (the request's `x-amz-checksum-*` headers) are
    /// checked against it.
    #[allow(clippy::too_many_arguments)]
    pub async fn complete_multipart_upload_with(
        &self,
        ctx: &RequestContext,
        bucket: &str,
        key: &str,
        upload_id: &str,
        listed: Vec<CompletedPart>,
        checksum: ChecksumRequest,
        checksum_type: Option<&str>,
    ) -> Result<CompleteOutcome, CoreError> {
        let (f, upload) = self
            .upload_for(ctx, "s3:PutObject", bucket, key, upload_id)
            .await?;
        let stored = StoredMeta::parse(&upload.meta);
        let wanted = stored.upload_checksum;
        if let Some(t) = checksum_type.filter(|t| !t.trim().is_empty()) {
            let t = ChecksumType::parse(t).ok_or_else(|| {
                invalid(
                    "InvalidRequest",
                    "Value for x-amz-checksum-type header is invalid.",
                )
            })?;
            if wanted.map(|w| w.kind) != Some(t) {
                return Err(invalid(
                    "BadDigest",
                    format!(
                        "The upload was created using the {} checksum mode. The complete request must use the same checksum mode.",
                        wanted.map_or("null", |w| w.kind.name())
                    ),
                ));
            }
        }
        // The whole object's checksum the client expects, if it sent one.
        let given: Option<(ChecksumAlgorithm, String)> = checksum
            .values
            .iter()
            .find_map(|(h, v)| ChecksumAlgorithm::from_header(h).map(|a| (a, v.clone())));
        let object_algorithm = wanted.map_or(ChecksumAlgorithm::Crc64nvme, |w| w.algorithm);
        if let Some((a, _)) = &given
            && *a != object_algorithm
        {
            return Err(type_mismatch(wanted.map(|w| w.algorithm), *a));
        }
        if listed.is_empty() {
            return Err(invalid(
                "MalformedXML",
                "The XML you provided was not well-formed or did not validate against our published schema",
            ));
        }
        if listed
            .windows(2)
            .any(|w| w[0].part_number >= w[1].part_number)
        {
            return Err(invalid(
                "InvalidPartOrder",
                "The list of parts was not in ascending order. Parts must be ordered by part number.",
            ));
        }
        let owner = f.bucket.account_id;
        let all = f.store.list_parts(owner, upload_id).await?;
        let mut chosen: Vec<&S3Part> = Vec::with_capacity(listed.len());
        for want in &listed {
            match all.iter().find(|p| p.part_number == want.part_number) {
                Some(p) if p.etag.trim_matches('"') == want.etag.trim().trim_matches('"') => {
                    check_listed_checksum(want, p, wanted)?;
                    chosen.push(p)
                }
                _ => {
                    return Err(invalid(
                        "InvalidPart",
                        format!(
                            "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag: part {}",
                            want.part_number
                        ),
                    ));
                }
            }
        }
        let last = chosen.len() - 1;
        for (i, p) in chosen.iter().enumerate() {
            if i < last && u64::try_from(p.size).unwrap_or(0) < MIN_PART_SIZE {
                return Err(invalid(
                    "EntityTooSmall",
                    format!(
                        "Your proposed upload is smaller than the minimum allowed size: part {} is {} bytes, the minimum is {MIN_PART_SIZE}",
                        p.part_number, p.size
                    ),
                ));
            }
        }
        let etag = multipart_etag(chosen.iter().map(|p| p.etag.as_str()))
            .ok_or_else(|| internal("a stored part's ETag is not an MD5"))?;
        let composite = match wanted {
            Some(w) if w.kind == ChecksumType::Composite => {
                let digests = chosen
                    .iter()
                    .map(|p| {
                        part_checksum(p)
                            .filter(|c| c.algorithm == w.algorithm)
                            .and_then(|c| c.digest())
                            .ok_or_else(|| invalid_part(p.part_number, "checksum"))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let sum = checksum::composite(w.algorithm, digests.iter().map(Vec::as_slice))
                    .ok_or_else(|| internal("a stored part's checksum is not a digest"))?;
                // The client may send it with or without the `-N`.
                if let Some((_, v)) = &given {
                    let bare = |s: &str| s.split('-').next().unwrap_or_default().trim().to_string();
                    if bare(v) != bare(&sum.value) {
                        return Err(checksum::bad_digest(w.algorithm));
                    }
                }
                Some(sum)
            }
            _ => None,
        };
        let total: u64 = chosen
            .iter()
            .map(|p| u64::try_from(p.size).unwrap_or(0))
            .sum();
        // The parts' bytes, one after another, read lazily so only one
        // part is open at a time.
        let root = self.placement().blob_root(owner).await?;
        let blobs = self.blobs()?.clone();
        let keys: Vec<String> = chosen
            .iter()
            .filter(|p| p.size > 0)
            .map(|p| p.blob_key.clone())
            .collect();
        let body = stream::iter(keys)
            .then(move |k| {
                let blobs = blobs.clone();
                async move {
                    blobs
                        .get(root, &k, None)
                        .await
                        .map(|r| r.into_stream().map_err(super::blob_error))
                        .map_err(super::blob_error)
                }
            })
            .try_flatten()
            .boxed();
        let opts = PutOptions {
            // A part blob that lost bytes is caught before the object
            // points at the result.
            expected_size: Some(total),
            ..Default::default()
        };
        let (blob_key, info, checksum) = match composite {
            Some(sum) => {
                let (blob_key, info) = self.write_blob(&f, body, &opts).await?;
                (blob_key, info, sum)
            }
            None => {
                // A whole-object checksum is computed as the parts' bytes
                // are joined: no extra read.
                let expected = match &given {
                    Some((a, v)) => Expected::Value(
                        checksum::decode(*a, v).ok_or_else(|| checksum::invalid_value(*a))?,
                    ),
                    None => Expected::Nothing,
                };
                let plan = Plan {
                    algorithm: object_algorithm,
                    expected,
                };
                let (blob_key, info, sum) =
                    self.write_blob_summed(&f, body, &opts, Some(plan)).await?;
                let sum = sum.ok_or_else(|| internal("no checksum computed"))?;
                (blob_key, info, sum)
            }
        };
        let object = S3Object {
            account_id: owner,
            bucket: f.bucket.name.clone(),
            key: key.to_string(),
            blob_key,
            size: i64::try_from(info.size).unwrap_or(i64::MAX),
            etag: etag.clone(),
            meta: StoredMeta {
                headers: stored.headers,
                checksum: Some(checksum.clone()),
                upload_checksum: None,
            }
            .to_json()?,
            tags: Vec::new(),
            last_modified: self.now(),
        };
        let mut extra = vec![Write::DeleteUpload {
            account: owner,
            upload_id: upload_id.to_string(),
        }];
        // Every part's blob goes, listed or not.
        extra.extend(self.sweep_parts(&all));
        self.commit_object(&f, object, extra).await?;
        Ok(CompleteOutcome { etag, checksum })
    }

    /// `AbortMultipartUpload`: forgets the upload; the collector deletes
    /// its parts' bytes.
    pub async fn abort_multipart_upload(
        &self,
        ctx: &RequestContext,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<(), CoreError> {
        let (f, _) = self
            .upload_for(ctx, "s3:AbortMultipartUpload", bucket, key, upload_id)
            .await?;
        let owner = f.bucket.account_id;
        let parts = f.store.list_parts(owner, upload_id).await?;
        let mut batch = WriteBatch::one(Write::DeleteUpload {
            account: owner,
            upload_id: upload_id.to_string(),
        });
        for w in self.sweep_parts(&parts) {
            batch.push(w);
        }
        f.store.apply(batch).await?;
        Ok(())
    }

    /// `ListParts`: a page of an upload's parts after `marker`.
    pub async fn list_parts(
        &self,
        ctx: &RequestContext,
        bucket: &str,
        key: &str,
        upload_id: &str,
        marker: Option<i32>,
        max_parts: Option<usize>,
    ) -> Result<ListPartsOutcome, CoreError> {
        let (f, upload) = self
            .upload_for(ctx, "s3:ListMultipartUploadParts", bucket, key, upload_id)
            .await?;
        let max = max_parts.unwrap_or(MAX_LISTED).min(MAX_LISTED);
        let mut parts: Vec<PartInfo> = f
            .store
            .list_parts(f.bucket.account_id, upload_id)
            .await?
            .iter()
            .filter(|p| marker.is_none_or(|m| p.part_number > m))
            .map(part_info)
            .collect();
        let is_truncated = parts.len() > max;
        parts.truncate(max);
        Ok(ListPartsOutcome {
            next_part_number_marker: if is_truncated {
                parts.last().map(|p| p.part_number)
            } else {
                None
            },
            parts,
            is_truncated,
            checksum: StoredMeta::parse(&upload.meta).upload_checksum,
            initiator: upload.initiator,
        })
    }

    /// `ListMultipartUploads`: a page of a bucket's uploads in progress.
    pub async fn list_multipart_uploads(
        &self,
        ctx: &RequestContext,
        bucket: &str,
        req: ListUploadsRequest,
    ) -> Result<ListUploadsOutcome, CoreError> {
        let f = self
            .bucket_for(ctx, "s3:ListBucketMultipartUploads", bucket)
            .await?;
        let max = req.max_uploads.unwrap_or(MAX_LISTED).min(MAX_LISTED);
        let owner = f.bucket.account_id;
        let delimiter = req.delimiter.as_deref().filter(|d| !d.is_empty());
        // Without an upload id marker, every upload of the marker key is
        // skipped, as on S3; "~" sorts after any id Ferry makes (hex).
        let mut after: Option<(String, String)> = req.key_marker.as_ref().map(|k| {
            (
                k.clone(),
                req.upload_id_marker
                    .clone()
                    .filter(|id| !id.is_empty())
                    .unwrap_or_else(|| "~".into()),
            )
        });
        let mut uploads: Vec<UploadInfo> = Vec::new();
        let mut common_prefixes: Vec<String> = Vec::new();
        // The last entry of the page: an upload, or a common prefix.
        let mut last: Option<(String, Option<String>)> = None;
        let mut is_truncated = false;
        'pages: loop {
            let rows = f
                .store
                .list_uploads(
                    owner,
                    &f.bucket.name,
                    &req.prefix,
                    after.as_ref().map(|(k, id)| (k.as_str(), id.as_str())),
                    MAX_LISTED,
                )
                .await?;
            let more = rows.len() == MAX_LISTED;
            for u in rows {
                after = Some((u.key.clone(), u.upload_id.clone()));
                // Keys with the delimiter after the prefix roll up into
                // one common prefix, counted once (and not again on the
                // page after one that ended with it).
                let rolled = delimiter.and_then(|d| {
                    let rest = u.key.get(req.prefix.len()..)?;
                    let i = rest.find(d)?;
                    Some(format!("{}{}", req.prefix, &rest[..i + d.len()]))
                });
                if let Some(cp) = &rolled
                    && (req.key_marker.as_ref() == Some(cp) || common_prefixes.last() == Some(cp))
                {
                    continue;
                }
                if uploads.len() + common_prefixes.len() >= max {
                    is_truncated = true;
                    break 'pages;
                }
                match rolled {
                    Some(cp) => {
                        last = Some((cp.clone(), None));
                        common_prefixes.push(cp);
                    }
                    None => {
                        last = Some((u.key.clone(), Some(u.upload_id.clone())));
                        uploads.push(UploadInfo {
                            checksum: StoredMeta::parse(&u.meta).upload_checksum,
                            upload_id: u.upload_id,
                            key: u.key,
                            initiator: u.initiator,
                            initiated_at: u.initiated_at,
                        });
                    }
                }
            }
            if !more {
                break;
            }
        }
        let (next_key_marker, next_upload_id_marker) = match (is_truncated, last) {
            (true, Some((k, id))) => (Some(k), id),
            _ => (None, None),
        };
        Ok(ListUploadsOutcome {
            uploads,
            common_prefixes,
            is_truncated,
            next_key_marker,
            next_upload_id_marker,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_part_over_the_limit_fails_as_entity_too_large() {
        let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
            Ok(Bytes::from_static(b"12345")),
            Ok(Bytes::from_static(b"678")),
        ];
        let got: Vec<_> = capped(stream::iter(chunks), 6).collect().await;
        assert!(matches!(&got[0], Ok(b) if b.len() == 5));
        let err = got[1]
            .as_ref()
            .err()
            .and_then(|e| e.downcast_ref::<CoreError>());
        assert_eq!(err.map(|e| e.code()), Some("EntityTooLarge"));
    }

    #[test]
    fn the_multipart_etag_is_the_md5_of_the_binary_md5s() {
        // Computed independently with Python:
        // hashlib.md5(hashlib.md5(b"a").digest() + hashlib.md5(b"b").digest()).hexdigest()
        let a = "\"0cc175b9c0f1b6a831c399e269772661\"";
        let b = "92eb5ffee6ae2fec3ad71c777531578f";
        assert_eq!(
            multipart_etag([a, b]).as_deref(),
            Some("\"96e024ba2074fe77e8e965ba43a704be-2\"")
        );
        assert_eq!(multipart_etag(["zz"]), None);
    }
}
