//! The errors of SigV4 processing, each mapped to the code AWS answers with.

/// Why a request's SigV4 auth was rejected.
///
/// The `String` payloads are human-readable messages meant for the error body
/// sent back to the client; they never contain the secret, the expected
/// signature or other derived key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigV4Error {
    /// The operation needs auth but the request carried none. Never returned by
    /// this crate ([`crate::parse`] answers `Ok(None)` for anonymous requests);
    /// it exists so callers can report the AWS code uniformly.
    #[error("Missing Authentication Token")]
    MissingAuthenticationToken,
    /// Malformed `Authorization` header: unsupported scheme, missing
    /// `Credential`/`SignedHeaders`/`Signature`, bad credential scope or date.
    #[error("{0}")]
    IncompleteSignature(String),
    /// The signature (of the request, a chunk or the trailer) is wrong.
    #[error("{0}")]
    SignatureDoesNotMatch(String),
    /// Header auth whose date is more than 15 minutes away from `now`.
    #[error("{0}")]
    RequestTimeTooSkewed(String),
    /// A presigned URL outside its validity window (expired, or dated in the
    /// future). AWS answers `AccessDenied` for this.
    #[error("{0}")]
    Expired(String),
    /// Bad presigned query parameters (missing, duplicated, out of range).
    #[error("{0}")]
    AuthorizationQueryParametersError(String),
    /// The body does not hash to the signed `x-amz-content-sha256`.
    #[error("{0}")]
    XAmzContentSHA256Mismatch(String),
    /// Bad `aws-chunked` framing: malformed or oversized chunk header, missing
    /// CRLF, truncated stream, data after the end, malformed trailers. A wrong
    /// chunk or trailer *signature* is [`SigV4Error::SignatureDoesNotMatch`].
    #[error("{0}")]
    InvalidChunk(String),
    /// A value that is not allowed at all: an `x-amz-content-sha256` that is
    /// neither a digest nor a known keyword, both header and query auth on one
    /// request, or bad arguments to the client-side signing functions.
    #[error("{0}")]
    InvalidArgument(String),
}

impl SigV4Error {
    /// The AWS error code string to put in the error response.
    pub fn code(&self) -> &'static str {
        match self {
            SigV4Error::MissingAuthenticationToken => "MissingAuthenticationToken",
            SigV4Error::IncompleteSignature(_) => "IncompleteSignature",
            SigV4Error::SignatureDoesNotMatch(_) => "SignatureDoesNotMatch",
            SigV4Error::RequestTimeTooSkewed(_) => "RequestTimeTooSkewed",
            SigV4Error::Expired(_) => "AccessDenied",
            SigV4Error::AuthorizationQueryParametersError(_) => "AuthorizationQueryParametersError",
            SigV4Error::XAmzContentSHA256Mismatch(_) => "XAmzContentSHA256Mismatch",
            // S3 reports broken aws-chunked bodies as an incomplete body.
            SigV4Error::InvalidChunk(_) => "IncompleteBody",
            SigV4Error::InvalidArgument(_) => "InvalidArgument",
        }
    }

    /// The HTTP status AWS uses with [`SigV4Error::code`]: 403 for
    /// authentication failures, 400 for malformed requests.
    pub fn http_status(&self) -> u16 {
        match self {
            SigV4Error::MissingAuthenticationToken
            | SigV4Error::SignatureDoesNotMatch(_)
            | SigV4Error::RequestTimeTooSkewed(_)
            | SigV4Error::Expired(_) => 403,
            SigV4Error::IncompleteSignature(_)
            | SigV4Error::AuthorizationQueryParametersError(_)
            | SigV4Error::XAmzContentSHA256Mismatch(_)
            | SigV4Error::InvalidChunk(_)
            | SigV4Error::InvalidArgument(_) => 400,
        }
    }

    /// The standard AWS message for a signature mismatch.
    pub(crate) fn mismatch() -> Self {
        SigV4Error::SignatureDoesNotMatch(
            "The request signature we calculated does not match the signature you provided. \
             Check your key and signing method."
                .to_string(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_statuses() {
        let cases = [
            (
                SigV4Error::MissingAuthenticationToken,
                "MissingAuthenticationToken",
                403,
            ),
            (
                SigV4Error::IncompleteSignature(String::new()),
                "IncompleteSignature",
                400,
            ),
            (SigV4Error::mismatch(), "SignatureDoesNotMatch", 403),
            (
                SigV4Error::RequestTimeTooSkewed(String::new()),
                "RequestTimeTooSkewed",
                403,
            ),
            (SigV4Error::Expired(String::new()), "AccessDenied", 403),
            (
                SigV4Error::AuthorizationQueryParametersError(String::new()),
                "AuthorizationQueryParametersError",
                400,
            ),
            (
                SigV4Error::XAmzContentSHA256Mismatch(String::new()),
                "XAmzContentSHA256Mismatch",
                400,
            ),
            (
                SigV4Error::InvalidChunk(String::new()),
                "IncompleteBody",
                400,
            ),
            (
                SigV4Error::InvalidArgument(String::new()),
                "InvalidArgument",
                400,
            ),
        ];
        for (err, code, status) in cases {
            assert_eq!(err.code(), code);
            assert_eq!(err.http_status(), status, "{code}");
        }
        assert_eq!(
            SigV4Error::Expired("Request has expired".into()).to_string(),
            "Request has expired"
        );
    }
}
