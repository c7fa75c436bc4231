//! S3's flexible checksums (`x-amz-checksum-crc32`, `-crc32c`,
//! `-crc64nvme`, `-sha1`, `-sha256`): which one a write asks for, the
//! digest computed while the body streams, and the check against the value
//! the client gave in a header or in an `aws-chunked` trailer.
//!
//! A mismatch surfaces as an error item at the very end of the body stream,
//! before the blob layer publishes the bytes: the blob is never written and
//! no metadata points at anything, exactly as for a bad `Content-MD5`.
//!
//! A checksum is kept as S3 shows it: the base64 digest, and for a
//! multipart object with a composite checksum, the digest of the parts'
//! binary digests followed by `-N` (the number of parts).

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use base64::Engine as _;
use bytes::Bytes;
use futures::stream::Stream;
use serde::{Deserialize, Serialize};
use sha2::Digest as _;

use crate::CoreError;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A checksum algorithm S3 accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ChecksumAlgorithm {
    /// CRC-32 (ISO-HDLC, as zlib's).
    Crc32,
    /// CRC-32C (Castagnoli).
    Crc32c,
    /// CRC-64/NVME: S3's default for objects written without a checksum.
    Crc64nvme,
    /// SHA-1.
    Sha1,
    /// SHA-256.
    Sha256,
}

impl ChecksumAlgorithm {
    /// Every algorithm, in the order S3 lists them.
    pub const ALL: [ChecksumAlgorithm; 5] = [
        ChecksumAlgorithm::Crc32,
        ChecksumAlgorithm::Crc32c,
        ChecksumAlgorithm::Crc64nvme,
        ChecksumAlgorithm::Sha1,
        ChecksumAlgorithm::Sha256,
    ];

    /// The name on the wire (`CRC32`).
    pub fn name(self) -> &'static str {
        match self {
            ChecksumAlgorithm::Crc32 => "CRC32",
            ChecksumAlgorithm::Crc32c => "CRC32C",
            ChecksumAlgorithm::Crc64nvme => "CRC64NVME",
            ChecksumAlgorithm::Sha1 => "SHA1",
            ChecksumAlgorithm::Sha256 => "SHA256",
        }
    }

    /// The header (and trailer) that carries a value (`x-amz-checksum-crc32`).
    pub fn header(self) -> &'static str {
        match self {
            ChecksumAlgorithm::Crc32 => "x-amz-checksum-crc32",
            ChecksumAlgorithm::Crc32c => "x-amz-checksum-crc32c",
            ChecksumAlgorithm::Crc64nvme => "x-amz-checksum-crc64nvme",
            ChecksumAlgorithm::Sha1 => "x-amz-checksum-sha1",
            ChecksumAlgorithm::Sha256 => "x-amz-checksum-sha256",
        }
    }

    /// An algorithm by its wire name, in any case.
    pub fn parse(name: &str) -> Option<Self> {
        let name = name.trim();
        Self::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(name))
    }

    /// An algorithm by the header that carries its value.
    pub fn from_header(header: &str) -> Option<Self> {
        let header = header.trim();
        Self::ALL
            .into_iter()
            .find(|a| a.header().eq_ignore_ascii_case(header))
    }

    /// Length of the binary digest.
    pub fn digest_len(self) -> usize {
        match self {
            ChecksumAlgorithm::Crc32 | ChecksumAlgorithm::Crc32c => 4,
            ChecksumAlgorithm::Crc64nvme => 8,
            ChecksumAlgorithm::Sha1 => 20,
            ChecksumAlgorithm::Sha256 => 32,
        }
    }

    /// Whether a multipart object may have a checksum of this type in this
    /// algorithm: a CRC-64 only covers the whole object, a SHA only the
    /// parts (S3's table).
    pub fn supports(self, kind: ChecksumType) -> bool {
        match kind {
            ChecksumType::FullObject => {
                !matches!(self, ChecksumAlgorithm::Sha1 | ChecksumAlgorithm::Sha256)
            }
            ChecksumType::Composite => self != ChecksumAlgorithm::Crc64nvme,
        }
    }

    /// The checksum type a multipart upload gets when it does not say.
    pub fn default_multipart_type(self) -> ChecksumType {
        match self {
            ChecksumAlgorithm::Crc64nvme => ChecksumType::FullObject,
            _ => ChecksumType::Composite,
        }
    }
}

impl std::fmt::Display for ChecksumAlgorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How a checksum covers an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ChecksumType {
    /// A checksum of every byte of the object.
    FullObject,
    /// A checksum of the parts' checksums (multipart objects), shown `-N`.
    Composite,
}

impl ChecksumType {
    /// The name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            ChecksumType::FullObject => "FULL_OBJECT",
            ChecksumType::Composite => "COMPOSITE",
        }
    }

    /// A type by its wire name, in any case.
    pub fn parse(name: &str) -> Option<Self> {
        [ChecksumType::FullObject, ChecksumType::Composite]
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(name.trim()))
    }
}

/// A checksum kept with an object or a part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checksum {
    /// The algorithm.
    pub algorithm: ChecksumAlgorithm,
    /// Whole object, or composite of the parts.
    #[serde(rename = "type")]
    pub kind: ChecksumType,
    /// As S3 shows it: base64, with `-N` for a composite checksum.
    pub value: String,
}

impl Checksum {
    /// A full-object checksum from its binary digest.
    pub fn full(algorithm: ChecksumAlgorithm, digest: &[u8]) -> Self {
        Checksum {
            algorithm,
            kind: ChecksumType::FullObject,
            value: encode(digest),
        }
    }

    /// The binary digest of a full-object checksum (`None` for a
    /// composite one, or a value that does not decode).
    pub fn digest(&self) -> Option<Vec<u8>> {
        if self.kind != ChecksumType::FullObject {
            return None;
        }
        decode(self.algorithm, &self.value)
    }
}

/// Reads an `aws-chunked` trailer by name once the body has ended: `None`
/// if the body carried no such trailer (or was not `aws-chunked`).
pub type TrailerSource = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// What a write (`PutObject`, `UploadPart`) says about its checksum, as
/// sent; the core decides what it means.
#[derive(Clone, Default)]
pub struct ChecksumRequest {
    /// `x-amz-sdk-checksum-algorithm`.
    pub algorithm: Option<String>,
    /// The `x-amz-checksum-<alg>` headers sent, as (header name, value).
    pub values: Vec<(String, String)>,
    /// `x-amz-trailer`: the trailer the checksum comes in.
    pub trailer: Option<String>,
    /// Reads the trailers after the body.
    pub trailers: Option<TrailerSource>,
}

impl std::fmt::Debug for ChecksumRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChecksumRequest")
            .field("algorithm", &self.algorithm)
            .field("values", &self.values)
            .field("trailer", &self.trailer)
            .field("trailers", &self.trailers.is_some())
            .finish()
    }
}

impl ChecksumRequest {
    /// A request with one checksum value in its header.
    pub fn header(algorithm: ChecksumAlgorithm, value: impl Into<String>) -> Self {
        ChecksumRequest {
            algorithm: Some(algorithm.name().to_string()),
            values: vec![(algorithm.header().to_string(), value.into())],
            ..Default::default()
        }
    }
}

fn invalid_request(message: impl Into<String>) -> CoreError {
    CoreError::invalid("InvalidRequest", message)
}

/// `BadDigest`, in S3's words.
pub(crate) fn bad_digest(algorithm: ChecksumAlgorithm) -> CoreError {
    CoreError::invalid(
        "BadDigest",
        format!("The {algorithm} you specified did not match the calculated checksum."),
    )
}

pub(crate) fn invalid_value(algorithm: ChecksumAlgorithm) -> CoreError {
    invalid_request(format!(
        "Value for {} header is invalid.",
        algorithm.header()
    ))
}

/// An unknown algorithm name, in S3's words.
pub(crate) fn unsupported_algorithm() -> CoreError {
    invalid_request(
        "Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]",
    )
}

/// Parses an algorithm name sent by a client.
pub(crate) fn parse_algorithm(name: &str) -> Result<ChecksumAlgorithm, CoreError> {
    ChecksumAlgorithm::parse(name).ok_or_else(unsupported_algorithm)
}

/// Base64, as S3 shows digests.
pub fn encode(digest: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(digest)
}

/// The binary digest of a base64 value of `algorithm` (`None` if it is not
/// base64 or not a digest's length).
pub fn decode(algorithm: ChecksumAlgorithm, value: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .ok()
        .filter(|d| d.len() == algorithm.digest_len())
}

/// A running digest of one algorithm.
pub(crate) enum Hasher {
    Crc(ChecksumAlgorithm, crc_fast::Digest),
    Sha1(sha1::Sha1),
    Sha256(sha2::Sha256),
}

impl Hasher {
    pub(crate) fn new(algorithm: ChecksumAlgorithm) -> Self {
        use crc_fast::CrcAlgorithm as C;
        match algorithm {
            ChecksumAlgorithm::Crc32 => {
                Hasher::Crc(algorithm, crc_fast::Digest::new(C::Crc32IsoHdlc))
            }
            ChecksumAlgorithm::Crc32c => {
                Hasher::Crc(algorithm, crc_fast::Digest::new(C::Crc32Iscsi))
            }
            ChecksumAlgorithm::Crc64nvme => {
                Hasher::Crc(algorithm, crc_fast::Digest::new(C::Crc64Nvme))
            }
            ChecksumAlgorithm::Sha1 => Hasher::Sha1(sha1::Sha1::new()),
            ChecksumAlgorithm::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
        }
    }

    pub(crate) fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Crc(_, d) => d.update(data),
            Hasher::Sha1(h) => h.update(data),
            Hasher::Sha256(h) => h.update(data),
        }
    }

    /// The binary digest (big-endian for the CRCs, as S3 encodes them).
    pub(crate) fn finish(self) -> Vec<u8> {
        match self {
            Hasher::Crc(ChecksumAlgorithm::Crc64nvme, d) => d.finalize().to_be_bytes().to_vec(),
            // The 32-bit CRCs come back in the low half of a u64.
            Hasher::Crc(_, d) => ((d.finalize() & 0xffff_ffff) as u32).to_be_bytes().to_vec(),
            Hasher::Sha1(h) => h.finalize().to_vec(),
            Hasher::Sha256(h) => h.finalize().to_vec(),
        }
    }
}

/// The binary digest of `data`.
pub fn compute(algorithm: ChecksumAlgorithm, data: &[u8]) -> Vec<u8> {
    let mut h = Hasher::new(algorithm);
    h.update(data);
    h.finish()
}

/// A composite checksum: the digest of the parts' binary digests, then
/// `-N`. `None` if a part's digest is not one of `algorithm`.
pub fn composite<'a>(
    algorithm: ChecksumAlgorithm,
    part_digests: impl IntoIterator<Item = &'a [u8]>,
) -> Option<Checksum> {
    let mut h = Hasher::new(algorithm);
    let mut n = 0usize;
    for d in part_digests {
        if d.len() != algorithm.digest_len() {
            return None;
        }
        h.update(d);
        n += 1;
    }
    Some(Checksum {
        algorithm,
        kind: ChecksumType::Composite,
        value: format!("{}-{n}", encode(&h.finish())),
    })
}

/// Where the value to check comes from.
pub(crate) enum Expected {
    /// Nothing to check: the digest is only computed (and stored).
    Nothing,
    /// A header gave it.
    Value(Vec<u8>),
    /// A trailer will give it once the body has ended.
    Trailer(Option<TrailerSource>),
}

/// What a write computes and checks.
pub(crate) struct Plan {
    pub(crate) algorithm: ChecksumAlgorithm,
    pub(crate) expected: Expected,
}

impl Plan {
    /// Computes `algorithm` with nothing to check.
    pub(crate) fn compute(algorithm: ChecksumAlgorithm) -> Self {
        Plan {
            algorithm,
            expected: Expected::Nothing,
        }
    }
}

/// Reads a write's checksum request: at most one algorithm, named
/// consistently by `x-amz-sdk-checksum-algorithm`, a value header or the
/// trailer, and a value that is a digest of that algorithm. `None` when
/// the request names no checksum at all.
pub(crate) fn plan(req: &ChecksumRequest) -> Result<Option<Plan>, CoreError> {
    let mut given: Vec<(ChecksumAlgorithm, &str)> = Vec::new();
    for (header, value) in &req.values {
        let Some(a) = ChecksumAlgorithm::from_header(header) else {
            continue;
        };
        given.push((a, value.as_str()));
    }
    let trailer = match req.trailer.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(t) => {
            let names: Vec<&str> = t.split(',').map(str::trim).collect();
            let checksums: Vec<ChecksumAlgorithm> = names
                .iter()
                .filter(|n| n.to_ascii_lowercase().starts_with("x-amz-checksum-"))
                .map(|n| {
                    ChecksumAlgorithm::from_header(n).ok_or_else(|| {
                        invalid_request(
                            "The value specified in the x-amz-trailer header is not supported",
                        )
                    })
                })
                .collect::<Result<_, _>>()?;
            match checksums.as_slice() {
                [] => None,
                [one] => Some(*one),
                _ => {
                    return Err(invalid_request(
                        "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.",
                    ));
                }
            }
        }
    };
    if given.len() + usize::from(trailer.is_some()) > 1 {
        return Err(invalid_request(
            "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.",
        ));
    }
    let sdk = req
        .algorithm
        .as_deref()
        .filter(|a| !a.trim().is_empty())
        .map(parse_algorithm)
        .transpose()?;
    let named = given.first().map(|(a, _)| *a).or(trailer);
    match (sdk, named) {
        (Some(_), None) => Err(invalid_request(
            "x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* or x-amz-trailer headers were found.",
        )),
        (Some(s), Some(n)) if s != n => Err(invalid_request(
            "Value for x-amz-sdk-checksum-algorithm header is invalid.",
        )),
        (_, None) => Ok(None),
        (_, Some(algorithm)) => {
            let expected = match given.first() {
                Some((a, v)) => Expected::Value(decode(*a, v).ok_or_else(|| invalid_value(*a))?),
                None => Expected::Trailer(req.trailers.clone()),
            };
            Ok(Some(Plan {
                algorithm,
                expected,
            }))
        }
    }
}

/// Where a checked stream leaves its digest once the body ended and
/// checked out.
pub(crate) type DigestSlot = Arc<Mutex<Option<Vec<u8>>>>;

/// `body`, digested on the way; at its end the digest is compared with the
/// expected one and a mismatch (or a missing or malformed trailer) becomes
/// the stream's last item, an error, so nothing is stored.
pub(crate) fn checked<S, E>(
    body: S,
    plan: Plan,
) -> (
    impl Stream<Item = Result<Bytes, BoxError>> + Send + Unpin + 'static,
    DigestSlot,
)
where
    S: Stream<Item = Result<Bytes, E>> + Send + Unpin + 'static,
    E: Into<BoxError>,
{
    let slot = DigestSlot::default();
    let stream = Checked {
        inner: body,
        hasher: Some(Hasher::new(plan.algorithm)),
        algorithm: plan.algorithm,
        expected: plan.expected,
        slot: slot.clone(),
        done: false,
    };
    (stream, slot)
}

struct Checked<S> {
    inner: S,
    hasher: Option<Hasher>,
    algorithm: ChecksumAlgorithm,
    expected: Expected,
    slot: DigestSlot,
    done: bool,
}

impl<S> Checked<S> {
    /// The check at the end of the body.
    fn verify(&mut self) -> Result<(), CoreError> {
        let digest = self
            .hasher
            .take()
            .map(Hasher::finish)
            .ok_or_else(|| CoreError::Internal("checksum finished twice".into()))?;
        let a = self.algorithm;
        let want = match &self.expected {
            Expected::Nothing => None,
            Expected::Value(v) => Some(v.clone()),
            Expected::Trailer(source) => {
                let text = source.as_ref().and_then(|s| s(a.header())).ok_or_else(|| {
                    invalid_request(format!(
                        "The x-amz-trailer header names {} but the body carried no such trailer.",
                        a.header()
                    ))
                })?;
                Some(decode(a, &text).ok_or_else(|| invalid_value(a))?)
            }
        };
        if want.as_ref().is_some_and(|w| *w != digest) {
            return Err(bad_digest(a));
        }
        if let Ok(mut s) = self.slot.lock() {
            *s = Some(digest);
        }
        Ok(())
    }
}

impl<S, E> Stream for Checked<S>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: Into<BoxError>,
{
    type Item = Result<Bytes, BoxError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_next(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Ok(chunk))) => {
                if let Some(h) = &mut this.hasher {
                    h.update(&chunk);
                }
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Err(e))) => {
                this.done = true;
                Poll::Ready(Some(Err(e.into())))
            }
            Poll::Ready(None) => {
                this.done = true;
                match this.verify() {
                    Ok(()) => Poll::Ready(None),
                    Err(e) => Poll::Ready(Some(Err(Box::new(e)))),
                }
            }
        }
    }
}

/// The digest a checked stream left, once it ended cleanly.
pub(crate) fn take_digest(slot: &DigestSlot) -> Result<Vec<u8>, CoreError> {
    slot.lock()
        .ok()
        .and_then(|mut s| s.take())
        .ok_or_else(|| CoreError::Internal("the body's checksum was not computed".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;
    use futures::stream;

    fn b64(a: ChecksumAlgorithm, data: &[u8]) -> String {
        encode(&compute(a, data))
    }

    #[test]
    fn known_vectors() {
        // zlib.crc32(b"hello world") == 0x0d4a1185
        assert_eq!(
            compute(ChecksumAlgorithm::Crc32, b"hello world"),
            [0x0d, 0x4a, 0x11, 0x85]
        );
        assert_eq!(b64(ChecksumAlgorithm::Crc32, b"hello world"), "DUoRhQ==");
        // The catalogue check values (the CRC of "123456789").
        assert_eq!(
            compute(ChecksumAlgorithm::Crc32, b"123456789"),
            0xcbf4_3926u32.to_be_bytes()
        );
        assert_eq!(
            compute(ChecksumAlgorithm::Crc32c, b"123456789"),
            0xe306_9283u32.to_be_bytes()
        );
        assert_eq!(
            compute(ChecksumAlgorithm::Crc64nvme, b"123456789"),
            0xae8b_1486_0a79_9888u64.to_be_bytes()
        );
        // crc32c(b"hello world") == 0xc99465aa
        assert_eq!(b64(ChecksumAlgorithm::Crc32c, b"hello world"), "yZRlqg==");
        // hashlib.sha1(b"hello world")
        assert_eq!(
            hex::encode(compute(ChecksumAlgorithm::Sha1, b"hello world")),
            "2aae6c35c94fcfb415dbe95f408b9ce91ee846ed"
        );
        assert_eq!(
            hex::encode(compute(ChecksumAlgorithm::Sha256, b"hello world")),
            "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"
        );
        assert_eq!(b64(ChecksumAlgorithm::Crc32, b""), "AAAAAA==");
        for a in ChecksumAlgorithm::ALL {
            assert_eq!(compute(a, b"x").len(), a.digest_len(), "{a}");
        }
    }

    #[test]
    fn names_round_trip() {
        for a in ChecksumAlgorithm::ALL {
            assert_eq!(ChecksumAlgorithm::parse(a.name()), Some(a));
            assert_eq!(ChecksumAlgorithm::parse(&a.name().to_lowercase()), Some(a));
            assert_eq!(ChecksumAlgorithm::from_header(a.header()), Some(a));
            let json = serde_json::to_string(&a).expect("json");
            assert_eq!(json, format!("\"{}\"", a.name()));
        }
        assert_eq!(ChecksumAlgorithm::parse("MD5"), None);
        assert_eq!(
            ChecksumType::parse("full_object"),
            Some(ChecksumType::FullObject)
        );
        let c = Checksum::full(ChecksumAlgorithm::Crc32, &[0, 0, 0, 1]);
        let json = serde_json::to_string(&c).expect("json");
        assert_eq!(
            json,
            r#"{"algorithm":"CRC32","type":"FULL_OBJECT","value":"AAAAAQ=="}"#
        );
        assert_eq!(serde_json::from_str::<Checksum>(&json).ok(), Some(c));
    }

    #[test]
    fn composite_is_the_digest_of_the_part_digests() {
        // Python: base64(sha256(sha256(b"a").digest() + sha256(b"b").digest())) + "-2"
        let a = compute(ChecksumAlgorithm::Sha256, b"a");
        let b = compute(ChecksumAlgorithm::Sha256, b"b");
        let mut joined = a.clone();
        joined.extend_from_slice(&b);
        let want = format!("{}-2", b64(ChecksumAlgorithm::Sha256, &joined));
        let got =
            composite(ChecksumAlgorithm::Sha256, [a.as_slice(), b.as_slice()]).expect("composite");
        assert_eq!(got.value, want);
        assert_eq!(got.kind, ChecksumType::Composite);
        assert_eq!(got.digest(), None);
        assert!(composite(ChecksumAlgorithm::Sha256, [&[1u8, 2][..]]).is_none());
    }

    fn codes(r: Result<Option<Plan>, CoreError>) -> String {
        match r {
            Ok(Some(p)) => format!("ok {}", p.algorithm),
            Ok(None) => "none".into(),
            Err(e) => format!("{} {e}", e.code()),
        }
    }

    #[test]
    fn requests_are_read_as_s3_reads_them() {
        let crc = b64(ChecksumAlgorithm::Crc32, b"x");
        assert_eq!(codes(plan(&ChecksumRequest::default())), "none");
        assert_eq!(
            codes(plan(&ChecksumRequest::header(
                ChecksumAlgorithm::Crc32,
                &crc
            ))),
            "ok CRC32"
        );
        // Not base64, or not a digest's length.
        for bad in ["!!!", "AAAA", "AAAAAAAA"] {
            let got = codes(plan(&ChecksumRequest::header(
                ChecksumAlgorithm::Crc32,
                bad,
            )));
            assert!(
                got.starts_with("InvalidRequest Value for x-amz-checksum-crc32"),
                "{got}"
            );
        }
        let two = ChecksumRequest {
            values: vec![
                ("x-amz-checksum-crc32".into(), crc.clone()),
                (
                    "x-amz-checksum-sha1".into(),
                    b64(ChecksumAlgorithm::Sha1, b"x"),
                ),
            ],
            ..Default::default()
        };
        assert!(codes(plan(&two)).starts_with("InvalidRequest Expecting a single"));
        let alone = ChecksumRequest {
            algorithm: Some("CRC32".into()),
            ..Default::default()
        };
        assert!(codes(plan(&alone)).starts_with("InvalidRequest x-amz-sdk-checksum-algorithm"));
        let other = ChecksumRequest {
            algorithm: Some("SHA256".into()),
            ..ChecksumRequest::header(ChecksumAlgorithm::Crc32, &crc)
        };
        assert!(codes(plan(&other)).starts_with("InvalidRequest Value for x-amz-sdk"));
        let unknown = ChecksumRequest {
            algorithm: Some("MD4".into()),
            ..ChecksumRequest::header(ChecksumAlgorithm::Crc32, &crc)
        };
        assert!(codes(plan(&unknown)).starts_with("InvalidRequest Checksum algorithm"));
        let trailer = ChecksumRequest {
            algorithm: Some("CRC32C".into()),
            trailer: Some("x-amz-checksum-crc32c".into()),
            ..Default::default()
        };
        assert_eq!(codes(plan(&trailer)), "ok CRC32C");
        let both = ChecksumRequest {
            trailer: Some("x-amz-checksum-crc32c".into()),
            ..ChecksumRequest::header(ChecksumAlgorithm::Crc32, &crc)
        };
        assert!(codes(plan(&both)).starts_with("InvalidRequest"));
        let odd = ChecksumRequest {
            trailer: Some("x-amz-checksum-md5".into()),
            ..Default::default()
        };
        assert!(codes(plan(&odd)).starts_with("InvalidRequest"));
    }

    async fn run(data: &'static [u8], plan: Plan) -> (Result<Vec<u8>, String>, Option<Vec<u8>>) {
        let chunks: Vec<Result<Bytes, std::io::Error>> =
            data.chunks(3).map(|c| Ok(Bytes::from_static(c))).collect();
        let (s, slot) = checked(stream::iter(chunks), plan);
        let items: Vec<_> = s.collect().await;
        let mut out = Vec::new();
        for i in items {
            match i {
                Ok(b) => out.extend_from_slice(&b),
                Err(e) => {
                    let code = e
                        .downcast_ref::<CoreError>()
                        .map(|c| c.code().to_string())
                        .unwrap_or_default();
                    return (Err(code), slot.lock().ok().and_then(|s| s.clone()));
                }
            }
        }
        (Ok(out), slot.lock().ok().and_then(|s| s.clone()))
    }

    #[tokio::test]
    async fn the_stream_checks_at_its_end() {
        let a = ChecksumAlgorithm::Crc32;
        let good = compute(a, b"hello world");
        let (out, digest) = run(
            b"hello world",
            Plan {
                algorithm: a,
                expected: Expected::Value(good.clone()),
            },
        )
        .await;
        assert_eq!(out.as_deref().ok(), Some(&b"hello world"[..]));
        assert_eq!(digest, Some(good.clone()));

        let (out, digest) = run(
            b"hello world",
            Plan {
                algorithm: a,
                expected: Expected::Value(compute(a, b"other")),
            },
        )
        .await;
        assert_eq!(out, Err("BadDigest".into()));
        assert_eq!(digest, None);

        // A trailer, read only at the end.
        let value = encode(&good);
        let source: TrailerSource =
            Arc::new(move |name: &str| (name == "x-amz-checksum-crc32").then(|| value.clone()));
        let (out, _) = run(
            b"hello world",
            Plan {
                algorithm: a,
                expected: Expected::Trailer(Some(source)),
            },
        )
        .await;
        assert!(out.is_ok());
        let wrong: TrailerSource = Arc::new(|_: &str| Some("AAAAAA==".to_string()));
        let (out, _) = run(
            b"hello world",
            Plan {
                algorithm: a,
                expected: Expected::Trailer(Some(wrong)),
            },
        )
        .await;
        assert_eq!(out, Err("BadDigest".into()));
        let (out, _) = run(
            b"hello world",
            Plan {
                algorithm: a,
                expected: Expected::Trailer(None),
            },
        )
        .await;
        assert_eq!(out, Err("InvalidRequest".into()));
    }
}
