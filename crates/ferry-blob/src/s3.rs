//! The S3-compatible backend: configuration and the multipart write path.

use std::fmt;
use std::pin::pin;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};

use crate::hash::{BodyHasher, Digests};
use crate::{BlobError, PutOptions};

/// Bodies up to this size are sent with one `PutObject`; larger ones as a
/// multipart upload of parts this size (S3 wants at least 5 MiB per part).
pub(crate) const PART_SIZE: usize = 8 * 1024 * 1024;
/// Parts uploading at once; memory per put stays under
/// `(MAX_PARTS_IN_FLIGHT + 1) * PART_SIZE` plus one body chunk.
const MAX_PARTS_IN_FLIGHT: usize = 2;

/// Where and how to reach an S3-compatible store. Everything comes from the
/// caller: this crate never reads the environment, instance metadata or
/// credential files.
#[derive(Clone, Default)]
pub struct S3Options {
    /// Endpoint URL (e.g. `http://127.0.0.1:9000`); `None` for AWS itself.
    /// With an endpoint, requests are path-style (`endpoint/bucket/key`).
    pub endpoint: Option<String>,
    /// Signing region; empty means `us-east-1`.
    pub region: String,
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: String,
    /// Session token, for temporary credentials.
    pub session_token: Option<String>,
    /// Allow a plain `http://` endpoint (tests, a local MinIO).
    pub allow_http: bool,
}

impl fmt::Debug for S3Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Options")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<redacted>"),
            )
            .field("allow_http", &self.allow_http)
            .finish()
    }
}

/// `s3://bucket[/prefix]`, split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct S3Url {
    pub(crate) bucket: String,
    /// Without leading or trailing `/`; may be empty.
    pub(crate) prefix: String,
}

pub(crate) fn parse_url(url: &str) -> Result<S3Url, BlobError> {
    let bad = |why: &str| BlobError::Config(format!("{url:?}: {why}"));
    let rest = url
        .strip_prefix("s3://")
        .ok_or_else(|| bad("expected s3://bucket/prefix"))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let bucket_ok = (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
    if !bucket_ok {
        return Err(bad("not a valid bucket name"));
    }
    let prefix = prefix.trim_matches('/');
    if !prefix.is_empty() {
        if prefix.contains('?') || prefix.contains('#') {
            return Err(bad("query or fragment not allowed"));
        }
        let ok = prefix
            .split('/')
            .all(|s| !s.is_empty() && s != "." && s != ".." && !s.chars().any(|c| c.is_control()));
        if !ok {
            return Err(bad("not a valid key prefix"));
        }
    }
    Ok(S3Url {
        bucket: bucket.to_string(),
        prefix: prefix.to_string(),
    })
}

pub(crate) fn build(url: &S3Url, opts: &S3Options) -> Result<Arc<dyn ObjectStore>, BlobError> {
    let region = if opts.region.is_empty() {
        "us-east-1"
    } else {
        opts.region.as_str()
    };
    if opts.access_key_id.is_empty() || opts.secret_access_key.is_empty() {
        return Err(BlobError::Config(
            "S3 access key id and secret access key are required".into(),
        ));
    }
    let mut b = AmazonS3Builder::new()
        .with_bucket_name(&url.bucket)
        .with_region(region)
        .with_access_key_id(&opts.access_key_id)
        .with_secret_access_key(&opts.secret_access_key)
        .with_allow_http(opts.allow_http);
    if let Some(t) = &opts.session_token {
        b = b.with_token(t);
    }
    if let Some(e) = &opts.endpoint {
        b = b.with_endpoint(e).with_virtual_hosted_style_request(false);
    }
    let store = b
        .build()
        .map_err(|e| BlobError::Config(format!("S3 store: {e}")))?;
    Ok(Arc::new(store))
}

/// Streams `body` to `key`: one `PutObject` for small bodies, a multipart
/// upload otherwise. The object appears only when complete; a failed or
/// dropped put aborts its multipart upload.
pub(crate) async fn put<S, E>(
    store: &Arc<dyn ObjectStore>,
    key: &ObjPath,
    body: S,
    opts: &PutOptions,
) -> Result<Digests, BlobError>
where
    S: Stream<Item = Result<Bytes, E>>,
    E: Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
{
    let err = |e| BlobError::store(key.as_ref(), e);
    let mut hasher = BodyHasher::new();
    let mut head: Vec<Bytes> = Vec::new();
    let mut head_len = 0usize;
    let mut upload = AbortOnDrop(None);
    let mut body = pin!(body);
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| BlobError::Body(e.into()));
        let chunk = match chunk.and_then(|c| hasher.update(&c, opts).map(|()| c)) {
            Ok(c) => c,
            Err(e) => return Err(upload.abort(e).await),
        };
        match upload.0.as_mut() {
            None => {
                head_len += chunk.len();
                head.push(chunk);
                if head_len >= PART_SIZE {
                    let parts = store.put_multipart(key).await.map_err(err)?;
                    let mut w = WriteMultipart::new_with_chunk_size(parts, PART_SIZE);
                    for c in head.drain(..) {
                        w.put(c);
                    }
                    upload.0 = Some(w);
                }
            }
            Some(w) => {
                if let Err(e) = w.wait_for_capacity(MAX_PARTS_IN_FLIGHT).await {
                    return Err(upload.abort(err(e)).await);
                }
                w.put(chunk);
            }
        }
    }
    let digests = match hasher.finish(opts) {
        Ok(d) => d,
        Err(e) => return Err(upload.abort(e).await),
    };
    match upload.0.take() {
        // `finish` aborts the upload itself when it fails.
        Some(w) => w.finish().await.map_err(err)?,
        None => store
            .put(key, PutPayload::from_iter(head))
            .await
            .map_err(err)?,
    };
    Ok(digests)
}

/// Aborts the multipart upload it holds when dropped (the put future was
/// cancelled), in a background task.
struct AbortOnDrop(Option<WriteMultipart>);

impl AbortOnDrop {
    async fn abort(&mut self, e: BlobError) -> BlobError {
        if let Some(w) = self.0.take()
            && let Err(ae) = w.abort().await
        {
            tracing::warn!(error = %ae, "could not abort S3 multipart upload");
        }
        e
    }
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(w) = self.0.take() {
            match tokio::runtime::Handle::try_current() {
                Ok(h) => {
                    h.spawn(async move {
                        if let Err(e) = w.abort().await {
                            tracing::warn!(error = %e, "could not abort S3 multipart upload");
                        }
                    });
                }
                Err(_) => tracing::warn!("S3 multipart upload left incomplete (no runtime)"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            parse_url("s3://my-bucket/a/b/").ok(),
            Some(S3Url {
                bucket: "my-bucket".into(),
                prefix: "a/b".into()
            })
        );
        assert_eq!(
            parse_url("s3://my-bucket").ok(),
            Some(S3Url {
                bucket: "my-bucket".into(),
                prefix: String::new()
            })
        );
        for bad in [
            "http://b/x",
            "s3://",
            "s3://B/x",
            "s3://ab",
            "s3://bucket/a/../b",
            "s3://bucket/a//b",
            "s3://bucket/a?x=1",
        ] {
            assert!(parse_url(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn options_debug_hides_secrets() {
        let o = S3Options {
            secret_access_key: "hunter2".into(),
            session_token: Some("tok".into()),
            ..S3Options::default()
        };
        let s = format!("{o:?}");
        assert!(!s.contains("hunter2") && !s.contains("tok\""), "{s}");
    }
}
