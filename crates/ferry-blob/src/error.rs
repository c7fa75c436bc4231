use std::ops::Range;

/// Why a blob operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BlobError {
    /// No blob at this key (in this root).
    #[error("blob not found: {0}")]
    NotFound(String),
    /// The key (or list prefix) is not acceptable; nothing was touched.
    #[error("invalid blob key {key:?}: {reason}")]
    InvalidKey {
        /// The key as given (truncated to 1100 bytes).
        key: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A range read outside the blob (`start >= size`, or an empty range).
    #[error("range {}..{} not satisfiable for a blob of {size} bytes", range.start, range.end)]
    InvalidRange {
        /// The range asked for.
        range: Range<u64>,
        /// The blob's size.
        size: u64,
    },
    /// The caller's body stream failed; nothing was published.
    #[error("body stream failed: {0}")]
    Body(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
    /// The body did not have the length the caller announced; nothing was
    /// published.
    #[error("body size mismatch: expected {expected} bytes, got {actual}")]
    SizeMismatch {
        /// The announced length.
        expected: u64,
        /// The bytes received (when too long: the count at which it stopped).
        actual: u64,
    },
    /// The body's digest differs from the one the caller announced (e.g. a
    /// `Content-MD5` header); nothing was published.
    #[error("body {algorithm} digest mismatch")]
    DigestMismatch {
        /// `"md5"` or `"sha256"`.
        algorithm: &'static str,
    },
    /// A bad `Blobs::local` / `Blobs::s3` configuration (URL, options).
    #[error("invalid blob store configuration: {0}")]
    Config(String),
    /// The storage failed (filesystem or remote store).
    #[error("blob storage error: {0}")]
    Io(String),
}

impl BlobError {
    pub(crate) fn invalid_key(key: &str, reason: &'static str) -> Self {
        let mut end = key.len().min(1100);
        while !key.is_char_boundary(end) {
            end -= 1;
        }
        BlobError::InvalidKey {
            key: key[..end].to_string(),
            reason,
        }
    }

    pub(crate) fn io(context: impl std::fmt::Display, e: impl std::fmt::Display) -> Self {
        BlobError::Io(format!("{context}: {e}"))
    }

    /// Maps an object_store error on `key`.
    pub(crate) fn store(key: &str, e: object_store::Error) -> Self {
        match e {
            object_store::Error::NotFound { .. } => BlobError::NotFound(key.to_string()),
            other => BlobError::Io(format!("{key}: {other}")),
        }
    }
}

pub(crate) fn is_not_found(e: &object_store::Error) -> bool {
    matches!(e, object_store::Error::NotFound { .. })
}
