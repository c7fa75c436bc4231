//! The S3 wire, sans I/O: path-style requests (`/BUCKET/KEY`) signed with
//! SigV4 for `s3` over an `UNSIGNED-PAYLOAD`, the streamed pattern bodies
//! they carry, and the checks that an answer really succeeded.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use ferry_sigv4::Credentials;
use http::{HeaderMap, HeaderValue, Method, Request, StatusCode, Uri, header};
use hyper::body::{Body, Frame, SizeHint};

pub use crate::common::Failure;

/// The S3 calls the generator makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Op {
    /// `CreateBucket` (setup).
    CreateBucket,
    /// `PutObject` of a small object.
    PutObject,
    /// `GetObject` of a small object.
    GetObject,
    /// `PutObject` of the big object.
    PutBig,
    /// `GetObject` of the big object.
    GetBig,
}

impl Op {
    /// The operation's name (`PutObject (big)` for the big object's).
    pub fn name(self) -> &'static str {
        match self {
            Op::CreateBucket => "CreateBucket",
            Op::PutObject => "PutObject",
            Op::GetObject => "GetObject",
            Op::PutBig => "PutObject (big)",
            Op::GetBig => "GetObject (big)",
        }
    }

    fn method(self) -> Method {
        match self {
            Op::CreateBucket | Op::PutObject | Op::PutBig => Method::PUT,
            Op::GetObject | Op::GetBig => Method::GET,
        }
    }
}

/// The size of the pattern a body is cut from, and of the frames sent.
pub const PATTERN_BYTES: usize = 1 << 20;

/// `PATTERN_BYTES` of a fixed, not trivially compressible pattern.
pub fn pattern() -> Bytes {
    (0..PATTERN_BYTES)
        .map(|i| (i % 251) as u8 ^ (i >> 8) as u8)
        .collect::<Vec<u8>>()
        .into()
}

/// A request body of a known length, streamed as frames cut from one shared
/// chunk (so a body of any length costs one chunk of memory, shared by all
/// bodies cut from it).
#[derive(Debug, Clone)]
pub struct PatternBody {
    chunk: Bytes,
    remaining: u64,
}

impl PatternBody {
    /// No body.
    pub fn empty() -> Self {
        PatternBody {
            chunk: Bytes::new(),
            remaining: 0,
        }
    }

    /// `len` bytes: `chunk` repeated (and cut at the end), sent a chunk a
    /// frame. An empty `chunk` gives an empty body.
    pub fn repeat(chunk: Bytes, len: u64) -> Self {
        let remaining = if chunk.is_empty() { 0 } else { len };
        PatternBody { chunk, remaining }
    }

    /// Exactly `bytes`, in one frame.
    pub fn once(bytes: Bytes) -> Self {
        let len = bytes.len() as u64;
        PatternBody::repeat(bytes, len)
    }

    /// The bytes left to send.
    pub fn len(&self) -> u64 {
        self.remaining
    }

    /// Whether no byte is left to send.
    pub fn is_empty(&self) -> bool {
        self.remaining == 0
    }
}

impl Body for PatternBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.remaining == 0 {
            return Poll::Ready(None);
        }
        let n = usize::try_from(self.remaining)
            .unwrap_or(usize::MAX)
            .min(self.chunk.len());
        self.remaining -= n as u64;
        Poll::Ready(Some(Ok(Frame::data(self.chunk.slice(..n)))))
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

/// Percent-encodes an object key for the path, keeping `/` (as the SDKs do
/// for S3: the canonical URI is the path as sent, not encoded again).
pub fn encode_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for &b in key.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Builds signed S3 requests for one endpoint and key.
#[derive(Debug, Clone)]
pub struct Signer {
    authority: HeaderValue,
    region: String,
    creds: Credentials,
}

impl Signer {
    /// A signer for `endpoint` (`http://HOST:PORT`, no path), `region` and
    /// `creds`. Only plain HTTP is spoken.
    pub fn new(endpoint: &str, region: &str, creds: Credentials) -> Result<Self, String> {
        let authority = crate::common::endpoint_authority(endpoint)?;
        let authority =
            HeaderValue::from_str(&authority).map_err(|e| format!("endpoint {endpoint:?}: {e}"))?;
        Ok(Signer {
            authority,
            region: region.to_string(),
            creds,
        })
    }

    /// `HOST:PORT` to connect to.
    pub fn authority(&self) -> &str {
        self.authority.to_str().unwrap_or_default()
    }

    /// The region signed for.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// `op` on `/bucket` (no key) or `/bucket/key`, carrying `body` with its
    /// `Content-Length` (on PUTs), signed at `now` for `s3` with
    /// `x-amz-content-sha256: UNSIGNED-PAYLOAD`.
    pub fn request(
        &self,
        op: Op,
        bucket: &str,
        key: Option<&str>,
        body: PatternBody,
        now: DateTime<Utc>,
    ) -> Result<Request<PatternBody>, Failure> {
        let signing = |e: &dyn std::fmt::Display| Failure::new("Signing", e.to_string());
        let path = match key {
            Some(key) => format!("/{}/{}", encode_key(bucket), encode_key(key)),
            None => format!("/{}", encode_key(bucket)),
        };
        let uri: Uri = path.parse().map_err(|e| signing(&e))?;
        let method = op.method();
        let mut headers = HeaderMap::with_capacity(8);
        headers.insert(header::HOST, self.authority.clone());
        if method == Method::PUT {
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
        }
        ferry_sigv4::sign_headers(
            &method,
            &uri,
            &mut headers,
            ferry_sigv4::UNSIGNED_PAYLOAD,
            &self.creds,
            &self.region,
            "s3",
            now,
        )
        .map_err(|e| signing(&e))?;
        let mut request = Request::new(body);
        *request.method_mut() = method;
        *request.uri_mut() = uri;
        *request.headers_mut() = headers;
        Ok(request)
    }

    /// The body of a `CreateBucket`: none in `us-east-1`, else the
    /// `LocationConstraint` of the signer's region.
    pub fn create_bucket_body(&self) -> Bytes {
        if self.region == "us-east-1" {
            return Bytes::new();
        }
        format!(
            "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
             <LocationConstraint>{}</LocationConstraint></CreateBucketConfiguration>",
            self.region
        )
        .into()
    }
}

/// Whether `status` is the success of `op` (then the body is not kept).
pub fn succeeded(status: StatusCode) -> bool {
    status == StatusCode::OK
}

/// Checks the status: 200 is success; anything else is a [`Failure`] counted
/// as `<Code> (<status>)` from the XML error body, or `HTTP <status>`
/// without one (a HEAD-like empty body, an HTML page).
pub fn check_status(op: Op, status: StatusCode, body: &[u8]) -> Result<(), Failure> {
    if succeeded(status) {
        return Ok(());
    }
    let text = String::from_utf8_lossy(body);
    let code = xml_text(&text, "Code").filter(|c| !c.is_empty());
    let message = xml_text(&text, "Message")
        .unwrap_or_else(|| text.chars().take(200).collect::<String>().into());
    let status = status.as_u16();
    let counted = match code {
        Some(code) => format!("{code} ({status})"),
        None => format!("HTTP {status}"),
    };
    Err(Failure::new(
        counted,
        format!("{} -> HTTP {status}: {message}", op.name()),
    ))
}

/// The text of the first `<tag>...</tag>` in `xml`.
fn xml_text<'a>(xml: &'a str, tag: &str) -> Option<std::borrow::Cow<'a, str>> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = xml.get(start..)?.find(&format!("</{tag}>"))? + start;
    xml.get(start..end).map(std::borrow::Cow::Borrowed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use http_body_util::BodyExt;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 28, 10, 15, 0)
            .single()
            .expect("a date")
    }

    fn signer(region: &str) -> Signer {
        Signer::new(
            "http://127.0.0.1:4566",
            region,
            Credentials::new("AKIAFERRYBENCH", "bench-secret"),
        )
        .expect("a signer")
    }

    /// What a server sees: the request target as received, with the host.
    fn as_received<B>(req: &Request<B>) -> (Method, Uri, HeaderMap) {
        let host = req.headers()[header::HOST].to_str().expect("ascii host");
        let uri: Uri = format!("http://{host}{}", req.uri())
            .parse()
            .expect("a uri");
        (req.method().clone(), uri, req.headers().clone())
    }

    fn verifies<B>(req: &Request<B>, secret: &str) -> Result<(), String> {
        let (method, uri, headers) = as_received(req);
        let parsed = ferry_sigv4::parse(&method, &uri, &headers)
            .map_err(|e| e.to_string())?
            .ok_or("unsigned")?;
        assert_eq!(parsed.access_key_id(), "AKIAFERRYBENCH");
        assert_eq!(parsed.credential.service, "s3");
        assert_eq!(parsed.payload, ferry_sigv4::PayloadHash::Unsigned);
        ferry_sigv4::verify(&parsed, &method, &uri, &headers, secret, now(), None)
            .map(|_| ())
            .map_err(|e| e.code().to_string())
    }

    #[test]
    fn puts_are_path_style_unsigned_payload_and_verify() {
        let s = signer("eu-west-3");
        let body = PatternBody::repeat(pattern(), 4096);
        let req = s
            .request(Op::PutObject, "bench-b", Some("3/17"), body, now())
            .expect("signed");
        assert_eq!(req.method(), Method::PUT);
        assert_eq!(req.uri(), "/bench-b/3/17");
        assert_eq!(req.headers()["content-length"], "4096");
        assert_eq!(req.headers()["x-amz-content-sha256"], "UNSIGNED-PAYLOAD");
        assert_eq!(req.headers()["host"], "127.0.0.1:4566");
        assert_eq!(verifies(&req, "bench-secret"), Ok(()));
        assert_eq!(
            verifies(&req, "other"),
            Err("SignatureDoesNotMatch".to_string())
        );

        // The path and the length are signed: changing either breaks it.
        let (method, uri, headers) = as_received(&req);
        let parsed = ferry_sigv4::parse(&method, &uri, &headers)
            .expect("parses")
            .expect("signed");
        let moved: Uri = "http://127.0.0.1:4566/bench-b/3/18".parse().expect("uri");
        assert!(
            ferry_sigv4::verify(
                &parsed,
                &method,
                &moved,
                &headers,
                "bench-secret",
                now(),
                None
            )
            .is_err()
        );
        let mut longer = headers.clone();
        longer.insert(header::CONTENT_LENGTH, HeaderValue::from(4097u64));
        assert!(
            ferry_sigv4::verify(&parsed, &method, &uri, &longer, "bench-secret", now(), None)
                .is_err()
        );
    }

    #[test]
    fn gets_and_bucket_creation_verify_too() {
        let s = signer("us-east-1");
        let get = s
            .request(
                Op::GetObject,
                "bench-b",
                Some("a key+é"),
                PatternBody::empty(),
                now(),
            )
            .expect("signed");
        assert_eq!(get.method(), Method::GET);
        assert_eq!(get.uri(), "/bench-b/a%20key%2B%C3%A9");
        assert!(!get.headers().contains_key("content-length"));
        assert_eq!(verifies(&get, "bench-secret"), Ok(()));

        assert!(s.create_bucket_body().is_empty(), "us-east-1: no body");
        let create = s
            .request(
                Op::CreateBucket,
                "bench-b",
                None,
                PatternBody::once(s.create_bucket_body()),
                now(),
            )
            .expect("signed");
        assert_eq!(create.method(), Method::PUT);
        assert_eq!(create.uri(), "/bench-b");
        assert_eq!(create.headers()["content-length"], "0");
        assert_eq!(verifies(&create, "bench-secret"), Ok(()));

        let paris = signer("eu-west-3").create_bucket_body();
        let text = std::str::from_utf8(&paris).expect("utf-8");
        assert!(text.contains("<LocationConstraint>eu-west-3</LocationConstraint>"));
    }

    #[test]
    fn pattern_bodies_stream_exactly_their_length() {
        let p = pattern();
        assert_eq!(p.len(), PATTERN_BYTES);
        for len in [
            0,
            1,
            4096,
            PATTERN_BYTES as u64,
            3 * PATTERN_BYTES as u64 + 7,
        ] {
            let mut body = PatternBody::repeat(p.clone(), len);
            assert_eq!(body.size_hint().exact(), Some(len));
            assert_eq!(body.is_end_stream(), len == 0);
            let mut sent = 0u64;
            let mut frames = 0;
            while let Some(frame) = futures_lite_block_on(body.frame()) {
                let data = frame.expect("infallible").into_data().expect("data");
                assert!(data.len() <= PATTERN_BYTES);
                assert_eq!(data[..], p[..data.len()], "cut from the pattern");
                sent += data.len() as u64;
                frames += 1;
            }
            assert_eq!(sent, len);
            assert_eq!(frames, len.div_ceil(PATTERN_BYTES as u64));
            assert!(body.is_end_stream());
            assert_eq!(body.size_hint().exact(), Some(0));
        }
        // Far more than memory holds, without touching it: only the hint.
        let huge = PatternBody::repeat(p, 1 << 40);
        assert_eq!(huge.size_hint().exact(), Some(1 << 40));
        assert_eq!(PatternBody::repeat(Bytes::new(), 10).len(), 0);
        assert_eq!(PatternBody::once(Bytes::from_static(b"abc")).len(), 3);
    }

    /// Polls a future that is always ready (pattern bodies never wait).
    fn futures_lite_block_on<F: std::future::Future>(f: F) -> F::Output {
        let mut f = std::pin::pin!(f);
        let mut cx = Context::from_waker(std::task::Waker::noop());
        match f.as_mut().poll(&mut cx) {
            Poll::Ready(out) => out,
            Poll::Pending => panic!("a pattern body never waits"),
        }
    }

    #[test]
    fn keys_are_percent_encoded_but_slashes_kept() {
        assert_eq!(encode_key("a/b-c_d.e~f"), "a/b-c_d.e~f");
        assert_eq!(encode_key("a b"), "a%20b");
        assert_eq!(encode_key("é"), "%C3%A9");
    }

    #[test]
    fn error_answers_are_counted_by_code_and_status() {
        assert_eq!(check_status(Op::GetObject, StatusCode::OK, b""), Ok(()));
        let body = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code>\
            <Message>The specified key does not exist.</Message><Key>k</Key></Error>";
        let err = check_status(Op::GetObject, StatusCode::NOT_FOUND, body).expect_err("404");
        assert_eq!(err.code, "NoSuchKey (404)");
        assert!(err.message.contains("GetObject") && err.message.contains("does not exist"));
        let err = check_status(
            Op::PutBig,
            StatusCode::SERVICE_UNAVAILABLE,
            b"<html>busy</html>",
        )
        .expect_err("503");
        assert_eq!(err.code, "HTTP 503");
        assert!(err.message.contains("PutObject (big)") && err.message.contains("busy"));
        let err = check_status(Op::CreateBucket, StatusCode::FORBIDDEN, b"").expect_err("403");
        assert_eq!(err.code, "HTTP 403");
    }
}
