//! AWS Signature Version 4 for Ferry: parsing, verification and signing.
//!
//! This crate answers one question for the HTTP front end: *is this request
//! signed by the holder of this secret?* It is pure and synchronous: no I/O,
//! no async, no clock (the caller passes `now`), and no knowledge of accounts,
//! users or policies. The caller parses the request's auth with [`parse`],
//! looks the access key id up in its own store, and hands the secret to
//! [`verify`]. Keeping the crate this small is deliberate: it is the one place
//! where hostile bytes meet secrets, so it must stay easy to audit and must
//! never depend on Ferry's storage, policy or HTTP-server crates.
//!
//! What is covered:
//! - header auth (`Authorization: AWS4-HMAC-SHA256 ...`) and presigned query
//!   auth (`X-Amz-Algorithm=...`), see [`parse`] and [`SignedRequest`];
//! - verification of the signature, the clock skew, presigned expiry, the
//!   credential date and the payload hash, see [`verify`];
//! - `aws-chunked` streaming bodies (signed chunks, signed trailers, unsigned
//!   trailers) as a sans-IO decoder, see [`ChunkedDecoder`], plus the matching
//!   [`ChunkedEncoder`] for Ferry's own clients and tests;
//! - client-side signing ([`sign_headers`], [`presign`]) for Ferry's CLI and
//!   tests, built on the same canonicalization code as verification so that the
//!   two can never drift apart.
//!
//! Canonicalization follows what botocore, the AWS CLI and the AWS SDKs send:
//! for every service but S3 the path is normalized and encoded a second time;
//! for S3 it is taken as sent, encoded once (see `canonical` module docs).
//!
//! Layout:
//! - `error`: [`SigV4Error`] and its AWS error codes;
//! - `canonical`: URI encoding, canonical request, string to sign, key
//!   derivation;
//! - `parse`: [`parse`] and the parsed types;
//! - `verify`: [`verify`] and [`Verified`];
//! - `sign`: [`sign_headers`], [`presign`], [`Credentials`];
//! - `chunked`: [`ChunkedDecoder`], [`ChunkedEncoder`], [`Trailers`];
//! - `vectors` (tests only): AWS's published test-suite and S3 examples, and
//!   the tests that pin both verification and signing to them.
//!
//! All input is treated as hostile: nothing here panics on request data, and
//! signatures are compared in constant time.
//!
//! # Example
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use ferry_sigv4::{Credentials, EMPTY_SHA256, parse, sign_headers, verify};
//! use http::{HeaderMap, Method, Uri};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let now = Utc.with_ymd_and_hms(2026, 11, 28, 10, 15, 0).single().ok_or("date")?;
//! let method = Method::GET;
//! let uri = Uri::from_static("https://iam.ferry.test/?Action=ListUsers&Version=2010-05-08");
//!
//! // Client side (Ferry's CLI): sign the request.
//! let creds = Credentials::new("AKIAFERRYEXAMPLE", "secret");
//! let mut headers = HeaderMap::new();
//! sign_headers(&method, &uri, &mut headers, EMPTY_SHA256, &creds, "us-east-1", "iam", now)?;
//!
//! // Server side: parse, look the secret up by access key id, verify.
//! let request = parse(&method, &uri, &headers)?.ok_or("anonymous request")?;
//! assert_eq!(request.access_key_id(), "AKIAFERRYEXAMPLE");
//! let body_sha256 = EMPTY_SHA256; // hash of the buffered body (non-S3 services)
//! verify(&request, &method, &uri, &headers, "secret", now, Some(body_sha256))?;
//!
//! // A wrong secret is a SignatureDoesNotMatch (HTTP 403).
//! let err = verify(&request, &method, &uri, &headers, "guess", now, Some(body_sha256))
//!     .expect_err("wrong secret");
//! assert_eq!((err.code(), err.http_status()), ("SignatureDoesNotMatch", 403));
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

mod canonical;
mod chunked;
mod error;
mod parse;
mod sign;
mod verify;

#[cfg(test)]
mod vectors;

pub use canonical::{
    ALGORITHM, EMPTY_SHA256, STREAMING_SIGNED_PAYLOAD, STREAMING_SIGNED_PAYLOAD_TRAILER,
    STREAMING_UNSIGNED_PAYLOAD_TRAILER, UNSIGNED_PAYLOAD, sha256_hex, signing_key,
};
pub use chunked::{ChunkedDecoder, ChunkedEncoder, Trailers};
pub use error::SigV4Error;
pub use parse::{AuthKind, CredentialScope, PayloadHash, SignedRequest, parse};
pub use sign::{Credentials, presign, sign_headers};
pub use verify::{MAX_CLOCK_SKEW_SECS, MAX_PRESIGNED_EXPIRES_SECS, Verified, verify};
