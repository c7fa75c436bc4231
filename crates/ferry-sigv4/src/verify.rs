//! Verification of a parsed request against the secret the caller looked up.

use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};
use http::{HeaderMap, Method, Uri};
use subtle::ConstantTimeEq;

use crate::canonical::{
    CanonicalInput, canonical_headers, canonical_request, format_amz_date, hmac_sha256,
    is_s3_service, signing_key, string_to_sign,
};
use crate::chunked::{ChunkSigning, ChunkedDecoder, ChunkedEncoder};
use crate::error::SigV4Error;
use crate::parse::{AuthKind, PayloadHash, SignedRequest};

/// Largest allowed distance between a header-auth request's date and `now`
/// (15 minutes, as AWS).
pub const MAX_CLOCK_SKEW_SECS: i64 = 15 * 60;
/// Longest allowed `X-Amz-Expires` (seven days, as AWS).
pub const MAX_PRESIGNED_EXPIRES_SECS: u64 = 7 * 24 * 60 * 60;

/// A successfully verified request: the seed for `aws-chunked` bodies.
///
/// Holds the derived signing key (valid for one day, region and service), so
/// its `Debug` output redacts it.
#[derive(Clone)]
pub struct Verified {
    signing_key: [u8; 32],
    seed_signature: [u8; 32],
    scope: String,
    amz_date: DateTime<Utc>,
}

impl fmt::Debug for Verified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verified")
            .field("signing_key", &"<redacted>")
            .field("seed_signature", &self.seed_signature())
            .field("scope", &self.scope)
            .field("amz_date", &self.amz_date)
            .finish()
    }
}

impl Verified {
    /// The request's own signature (lowercase hex), which seeds the chain of
    /// chunk signatures.
    pub fn seed_signature(&self) -> String {
        hex::encode(self.seed_signature)
    }

    /// The credential scope, `date/region/service/aws4_request`.
    pub fn scope(&self) -> &str {
        &self.scope
    }

    /// The signing time of the request.
    pub fn amz_date(&self) -> DateTime<Utc> {
        self.amz_date
    }

    fn chunk_signing(&self) -> ChunkSigning {
        ChunkSigning {
            key: self.signing_key,
            scope: self.scope.clone(),
            amz_date: format_amz_date(&self.amz_date),
            previous: self.seed_signature,
        }
    }

    /// A decoder for a body sent with `STREAMING-AWS4-HMAC-SHA256-PAYLOAD`
    /// (`trailer == false`) or `STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER`
    /// (`trailer == true`). For `STREAMING-UNSIGNED-PAYLOAD-TRAILER` use
    /// [`ChunkedDecoder::unsigned_trailer`].
    pub fn chunk_decoder(&self, trailer: bool) -> ChunkedDecoder {
        ChunkedDecoder::signed(self.chunk_signing(), trailer)
    }

    /// The decoder matching the request's `x-amz-content-sha256`, or `None`
    /// when the body is not `aws-chunked` (digest, unsigned, absent).
    pub fn decoder_for(&self, payload: &PayloadHash) -> Option<ChunkedDecoder> {
        match payload {
            PayloadHash::Streaming {
                signed: true,
                trailer,
            } => Some(self.chunk_decoder(*trailer)),
            PayloadHash::Streaming {
                signed: false,
                trailer: true,
            } => Some(ChunkedDecoder::unsigned_trailer()),
            _ => None,
        }
    }

    /// The client side of [`Verified::chunk_decoder`]: an encoder whose chunk
    /// signatures chain from this request's signature. A client gets a
    /// `Verified` for its own request by running [`crate::parse`] and
    /// [`verify`] on what [`crate::sign_headers`] produced.
    pub fn chunk_encoder(&self, trailer: bool) -> ChunkedEncoder {
        ChunkedEncoder::signed(self.chunk_signing(), trailer)
    }
}

fn scope_error(kind: AuthKind, message: &str) -> SigV4Error {
    match kind {
        AuthKind::Header => SigV4Error::IncompleteSignature(message.to_string()),
        AuthKind::Presigned => SigV4Error::AuthorizationQueryParametersError(message.to_string()),
    }
}

/// Verifies `req` (from [`crate::parse`] on the same request) with the secret
/// of its access key.
///
/// Checks, in order: the credential date equals the `X-Amz-Date`'s date;
/// `host` is signed; the time (header auth: within 15 minutes of `now`,
/// else `RequestTimeTooSkewed`; presigned: not dated more than 15 minutes in
/// the future and `now <= amz_date + expires`, else `Expired`); the signature
/// (constant-time); and last, when the payload hash is a digest and the caller
/// passes the real body hash, that they agree (`XAmzContentSHA256Mismatch`).
///
/// `body_sha256` (hex) is required when `req.payload` is
/// [`PayloadHash::Absent`]: non-S3 services compute it over the buffered body.
///
/// On success returns the seed needed to verify `aws-chunked` bodies.
pub fn verify(
    req: &SignedRequest,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    secret_access_key: &str,
    now: DateTime<Utc>,
    body_sha256: Option<&str>,
) -> Result<Verified, SigV4Error> {
    let amz_date = format_amz_date(&req.amz_date);
    if amz_date.get(..8) != Some(req.credential.date.as_str()) {
        return Err(scope_error(
            req.kind,
            "Invalid credential date. Date is not the same as X-Amz-Date.",
        ));
    }
    if !req.signed_headers.iter().any(|h| h == "host") {
        return Err(scope_error(
            req.kind,
            "The host header must be among the signed headers.",
        ));
    }
    check_time(req, now)?;

    let payload_hash = match (&req.payload, body_sha256) {
        (PayloadHash::Absent, Some(body)) => body,
        (PayloadHash::Absent, None) => {
            return Err(SigV4Error::SignatureDoesNotMatch(
                "The request has no x-amz-content-sha256 header and no body hash was computed."
                    .to_string(),
            ));
        }
        (payload, _) => payload.canonical_value().ok_or_else(|| {
            SigV4Error::InvalidArgument("unsupported payload signing mode".to_string())
        })?,
    };

    let headers_block = canonical_headers(headers, uri, &req.signed_headers).map_err(|name| {
        SigV4Error::SignatureDoesNotMatch(format!(
            "The signed header '{name}' is not present in the request."
        ))
    })?;
    let signed_headers = req.signed_headers.join(";");
    let creq = canonical_request(&CanonicalInput {
        method: method.as_str(),
        path: uri.path(),
        query: uri.query().unwrap_or(""),
        s3: is_s3_service(&req.credential.service),
        presigned: req.kind == AuthKind::Presigned,
        headers_block: &headers_block,
        signed_headers: &signed_headers,
        payload_hash,
    });
    let scope = req.credential.scope();
    let sts = string_to_sign(&amz_date, &scope, &creq);
    let key = signing_key(
        secret_access_key,
        &req.credential.date,
        &req.credential.region,
        &req.credential.service,
    );
    let expected = hmac_sha256(&key, sts.as_bytes());
    let mut provided = [0u8; 32];
    if hex::decode_to_slice(&req.signature, &mut provided).is_err() {
        return Err(SigV4Error::mismatch());
    }
    if !bool::from(expected.ct_eq(&provided)) {
        return Err(SigV4Error::mismatch());
    }

    if let (PayloadHash::Sha256(claimed), Some(actual)) = (&req.payload, body_sha256)
        && !claimed.eq_ignore_ascii_case(actual)
    {
        return Err(SigV4Error::XAmzContentSHA256Mismatch(
            "The provided 'x-amz-content-sha256' header does not match what was computed."
                .to_string(),
        ));
    }

    Ok(Verified {
        signing_key: key,
        seed_signature: provided,
        scope,
        amz_date: req.amz_date,
    })
}

fn check_time(req: &SignedRequest, now: DateTime<Utc>) -> Result<(), SigV4Error> {
    let skew = TimeDelta::seconds(MAX_CLOCK_SKEW_SECS);
    let age = now.signed_duration_since(req.amz_date);
    match req.kind {
        AuthKind::Header => {
            if age.abs() > skew {
                return Err(SigV4Error::RequestTimeTooSkewed(
                    "The difference between the request time and the current time is too large."
                        .to_string(),
                ));
            }
        }
        AuthKind::Presigned => {
            if -age > skew {
                return Err(SigV4Error::Expired("Request is not valid yet".to_string()));
            }
            let expires = req
                .expires_secs
                .filter(|e| (1..=MAX_PRESIGNED_EXPIRES_SECS).contains(e))
                .and_then(|e| i64::try_from(e).ok())
                .and_then(TimeDelta::try_seconds)
                .ok_or_else(|| {
                    SigV4Error::AuthorizationQueryParametersError(
                        "X-Amz-Expires must be a number of seconds from 1 to 604800 (seven days)"
                            .to_string(),
                    )
                })?;
            if age > expires {
                return Err(SigV4Error::Expired("Request has expired".to_string()));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vectors::{at, header_map};
    use crate::{Credentials, EMPTY_SHA256, parse, presign, sha256_hex, sign_headers};
    use http::{HeaderName, HeaderValue};

    const NOW: &str = "20261128T101500Z";
    const SECRET: &str = "ferry/secret+key=";
    const HOST: &str = "ferry.test:4566";

    fn creds() -> Credentials {
        Credentials::new("AKIAFERRYTEST", SECRET)
    }

    struct Req {
        method: Method,
        uri: Uri,
        headers: HeaderMap,
        body_hash: String,
    }

    impl Req {
        fn check(
            &self,
            now: DateTime<Utc>,
            body_hash: Option<&str>,
        ) -> Result<Verified, SigV4Error> {
            let parsed = parse(&self.method, &self.uri, &self.headers)?
                .ok_or(SigV4Error::MissingAuthenticationToken)?;
            verify(
                &parsed,
                &self.method,
                &self.uri,
                &self.headers,
                SECRET,
                now,
                body_hash,
            )
        }

        fn ok(&self) -> Result<Verified, SigV4Error> {
            self.check(at(NOW), Some(&self.body_hash))
        }
    }

    fn signed(
        method: &str,
        target: &str,
        service: &str,
        extra: &[(&str, &str)],
        body: &[u8],
        creds: &Credentials,
    ) -> Req {
        let method: Method = method.parse().expect("method");
        let uri: Uri = target.parse().expect("uri");
        let mut headers = header_map(&[("host", HOST)]);
        for (name, value) in extra {
            headers.append(
                HeaderName::from_bytes(name.as_bytes()).expect("name"),
                HeaderValue::from_str(value).expect("value"),
            );
        }
        let body_hash = sha256_hex(body);
        sign_headers(
            &method,
            &uri,
            &mut headers,
            &body_hash,
            creds,
            "eu-west-1",
            service,
            at(NOW),
        )
        .expect("sign");
        Req {
            method,
            uri,
            headers,
            body_hash,
        }
    }

    fn cases() -> Vec<Req> {
        let token = creds().with_session_token("FQoGZXIvYXdz//token+/=");
        vec![
            signed("GET", "/", "iam", &[], b"", &creds()),
            signed(
                "POST",
                "/",
                "sts",
                &[(
                    "content-type",
                    "application/x-www-form-urlencoded; charset=utf-8",
                )],
                b"Action=GetCallerIdentity&Version=2011-06-15",
                &token,
            ),
            signed(
                "GET",
                "/bucket/a%20key/%E2%82%AC.txt?list-type=2&prefix=a%2Fb&delimiter=%2F&empty",
                "s3",
                &[("range", "bytes=0-9")],
                b"",
                &creds(),
            ),
            signed(
                "PUT",
                "/bucket/dir/..%2Fx/./y//z",
                "s3",
                &[
                    ("x-amz-meta-a", "  spaced   value "),
                    ("content-type", "text/plain"),
                    ("x-amz-meta-a", "two"),
                ],
                b"hello",
                &token,
            ),
            signed(
                "POST",
                "/2015-03-31/functions/my%3Afn/invocations?Qualifier=%24LATEST",
                "lambda",
                &[("x-amz-target", "x"), ("user-agent", "ferry-cli")],
                b"{}",
                &creds(),
            ),
        ]
    }

    #[test]
    fn signed_requests_verify() {
        for req in cases() {
            let verified = req
                .ok()
                .unwrap_or_else(|e| panic!("{} {}: {e}", req.method, req.uri));
            assert_eq!(verified.amz_date(), at(NOW));
            assert!(verified.scope().starts_with("20261128/eu-west-1/"));
            assert_eq!(verified.seed_signature().len(), 64);
            assert!(!format!("{verified:?}").contains(&hex::encode(verified.signing_key)));
            // Unsigned headers may be added on the way (proxies do).
            let mut more = Req {
                headers: req.headers.clone(),
                ..req
            };
            more.headers
                .insert("x-forwarded-for", HeaderValue::from_static("10.0.0.1"));
            more.headers
                .insert("user-agent", HeaderValue::from_static("changed"));
            assert!(more.ok().is_ok());
        }
    }

    #[test]
    fn session_token_is_parsed_and_signed() {
        let req = signed(
            "GET",
            "/",
            "sts",
            &[],
            b"",
            &creds().with_session_token("tok"),
        );
        let parsed = parse(&req.method, &req.uri, &req.headers)
            .expect("ok")
            .expect("some");
        assert_eq!(parsed.security_token.as_deref(), Some("tok"));
        assert!(
            parsed
                .signed_headers
                .contains(&"x-amz-security-token".to_string())
        );
    }

    #[test]
    fn tampering_with_any_signed_part_fails() {
        for req in cases() {
            let parsed = parse(&req.method, &req.uri, &req.headers)
                .expect("ok")
                .expect("some");
            for name in &parsed.signed_headers {
                let mut headers = req.headers.clone();
                let value = match name.as_str() {
                    "x-amz-date" => "20261128T101501Z".to_string(),
                    "x-amz-content-sha256" => sha256_hex(b"other body"),
                    _ => format!("{}x", headers[name.as_str()].to_str().expect("ascii")),
                };
                headers.insert(
                    HeaderName::from_bytes(name.as_bytes()).expect("name"),
                    HeaderValue::from_str(&value).expect("value"),
                );
                let tampered = Req {
                    headers,
                    method: req.method.clone(),
                    uri: req.uri.clone(),
                    body_hash: req.body_hash.clone(),
                };
                let err = tampered.ok().expect_err(name);
                assert_eq!(err.code(), "SignatureDoesNotMatch", "{}: {name}", req.uri);
                // Removing the signed header fails too (host falls back to the
                // authority, which a relative URI does not have).
                let mut headers = req.headers.clone();
                headers.remove(name.as_str());
                let removed = Req {
                    headers,
                    method: req.method.clone(),
                    uri: req.uri.clone(),
                    body_hash: req.body_hash.clone(),
                };
                assert!(removed.ok().is_err(), "{}: removed {name}", req.uri);
            }
            let path = req.uri.path();
            let query = req.uri.query().map(|q| format!("?{q}")).unwrap_or_default();
            let others = [
                format!("{path}x{query}"),
                // ("//" would not do: non-S3 paths are normalized, so "//" is "/").
                format!("/p{path}{query}"),
                format!(
                    "{path}?{}extra=1",
                    query.trim_start_matches('?').to_string()
                        + if query.is_empty() { "" } else { "&" }
                ),
                format!(
                    "{path}{}",
                    if query.is_empty() {
                        "?a=b".to_string()
                    } else {
                        String::new()
                    }
                ),
            ];
            for target in others {
                let tampered = Req {
                    uri: target.parse().expect("uri"),
                    method: req.method.clone(),
                    headers: req.headers.clone(),
                    body_hash: req.body_hash.clone(),
                };
                let err = tampered.ok().expect_err(&target);
                assert_eq!(err.code(), "SignatureDoesNotMatch", "{target}");
            }
            let tampered = Req {
                method: Method::DELETE,
                uri: req.uri.clone(),
                headers: req.headers.clone(),
                body_hash: req.body_hash.clone(),
            };
            assert_eq!(
                tampered.ok().expect_err("method").code(),
                "SignatureDoesNotMatch"
            );
            // Another body: S3 signs the hash header, so the body no longer
            // matches it; other services sign the body hash itself.
            let err = req
                .check(at(NOW), Some(&sha256_hex(b"evil")))
                .expect_err("body");
            let want = if parsed.credential.service == "s3" {
                "XAmzContentSHA256Mismatch"
            } else {
                "SignatureDoesNotMatch"
            };
            assert_eq!(err.code(), want, "{}", req.uri);
        }
    }

    #[test]
    fn clock_skew_is_fifteen_minutes() {
        let req = signed("GET", "/", "iam", &[], b"", &creds());
        for minutes in [-15, -14, 0, 14, 15] {
            assert!(
                req.check(at(NOW) + TimeDelta::minutes(minutes), Some(EMPTY_SHA256))
                    .is_ok(),
                "{minutes}"
            );
        }
        for delta in [
            TimeDelta::minutes(-16),
            TimeDelta::seconds(901),
            TimeDelta::days(400),
        ] {
            let err = req
                .check(at(NOW) + delta, Some(EMPTY_SHA256))
                .expect_err("skew");
            assert_eq!(err.code(), "RequestTimeTooSkewed", "{delta}");
            assert_eq!(err.http_status(), 403);
        }
    }

    #[test]
    fn structural_checks() {
        let req = signed("GET", "/", "iam", &[], b"", &creds());
        // Body hash is required when x-amz-content-sha256 is absent.
        assert_eq!(
            req.check(at(NOW), None).expect_err("no hash").code(),
            "SignatureDoesNotMatch"
        );
        let mut parsed = parse(&req.method, &req.uri, &req.headers)
            .expect("ok")
            .expect("some");
        let run = |p: &SignedRequest| {
            verify(
                p,
                &req.method,
                &req.uri,
                &req.headers,
                SECRET,
                at(NOW),
                Some(EMPTY_SHA256),
            )
        };
        // Credential date must be the X-Amz-Date's date.
        let mut other_day = parsed.clone();
        other_day.credential.date = "20261127".into();
        assert_eq!(
            run(&other_day).expect_err("date").code(),
            "IncompleteSignature"
        );
        other_day.kind = AuthKind::Presigned;
        other_day.expires_secs = Some(60);
        assert_eq!(
            run(&other_day).expect_err("date").code(),
            "AuthorizationQueryParametersError"
        );
        // host must be signed.
        let mut no_host = parsed.clone();
        no_host.signed_headers.retain(|h| h != "host");
        assert_eq!(
            run(&no_host).expect_err("host").code(),
            "IncompleteSignature"
        );
        // A payload mode that does not exist on the wire.
        let mut weird = parsed.clone();
        weird.payload = PayloadHash::Streaming {
            signed: false,
            trailer: false,
        };
        assert_eq!(run(&weird).expect_err("mode").code(), "InvalidArgument");
        // Out-of-range expiry set by hand, and a malformed signature.
        let mut presigned = parsed.clone();
        presigned.kind = AuthKind::Presigned;
        presigned.expires_secs = Some(u64::MAX);
        assert_eq!(
            run(&presigned).expect_err("expires").code(),
            "AuthorizationQueryParametersError"
        );
        presigned.expires_secs = None;
        assert!(run(&presigned).is_err());
        parsed.signature = "not hex".into();
        assert_eq!(
            run(&parsed).expect_err("sig").code(),
            "SignatureDoesNotMatch"
        );
        // A signed header missing from the request.
        let mut extra = parse(&req.method, &req.uri, &req.headers)
            .expect("ok")
            .expect("some");
        extra.signed_headers.push("x-amz-meta-gone".into());
        let err = run(&extra).expect_err("missing header");
        assert_eq!(err.code(), "SignatureDoesNotMatch");
    }

    #[test]
    fn presigned_round_trip() {
        let token_creds = creds().with_session_token("tok+/=");
        for (target, service, c) in [
            (
                "https://bucket.s3.amazonaws.com/key%20with%20space.txt",
                "s3",
                creds(),
            ),
            (
                "https://ferry.test:4566/bucket/k?response-content-type=text%2Fplain&versionId=3",
                "s3",
                token_creds,
            ),
            (
                "https://rds.ferry.test/?Action=connect&DBUser=me",
                "rds-db",
                creds(),
            ),
        ] {
            let base: Uri = target.parse().expect("uri");
            let authority = base.authority().expect("authority").as_str().to_string();
            let url = presign(
                &Method::GET,
                &base,
                &HeaderMap::new(),
                &c,
                "us-east-1",
                service,
                at(NOW),
                3600,
            )
            .expect("presign");
            let uri: Uri = url.parse().expect("presigned uri");
            let headers = header_map(&[("host", authority.as_str())]);
            let req = parse(&Method::GET, &uri, &headers)
                .expect("ok")
                .expect("some");
            assert_eq!(req.kind, AuthKind::Presigned);
            assert_eq!(req.security_token, c.session_token);
            let expected = if service == "s3" {
                PayloadHash::Unsigned
            } else {
                PayloadHash::Absent
            };
            assert_eq!(req.payload, expected, "{service}");
            let check = |now| {
                verify(
                    &req,
                    &Method::GET,
                    &uri,
                    &headers,
                    SECRET,
                    now,
                    Some(crate::EMPTY_SHA256),
                )
            };
            assert!(check(at(NOW)).is_ok(), "{url}");
            assert!(check(at(NOW) + TimeDelta::seconds(3600)).is_ok());
            let err = check(at(NOW) + TimeDelta::seconds(3601)).expect_err("expired");
            assert_eq!(
                (err.code(), err.to_string().as_str()),
                ("AccessDenied", "Request has expired")
            );
            assert_eq!(
                check(at(NOW) - TimeDelta::minutes(20))
                    .expect_err("future")
                    .code(),
                "AccessDenied"
            );
            // Tampering with the query or the path.
            for (from, to) in [
                ("X-Amz-Expires=3600", "X-Amz-Expires=7200"),
                ("?", "?a=1&"),
                ("/", "/x/"),
            ] {
                let bad: Uri = url.replacen(from, to, 1).parse().expect("uri");
                let req = parse(&Method::GET, &bad, &headers)
                    .expect("ok")
                    .expect("some");
                let err = verify(
                    &req,
                    &Method::GET,
                    &bad,
                    &headers,
                    SECRET,
                    at(NOW),
                    Some(crate::EMPTY_SHA256),
                )
                .expect_err(from);
                assert_eq!(err.code(), "SignatureDoesNotMatch", "{from}");
            }
            // The host header is signed; HTTP/2 requests may carry it in the URI only.
            let h2: Uri = format!("https://{authority}{url}")
                .parse()
                .expect("absolute");
            assert!(
                verify(
                    &req,
                    &Method::GET,
                    &h2,
                    &HeaderMap::new(),
                    SECRET,
                    at(NOW),
                    Some(crate::EMPTY_SHA256)
                )
                .is_ok()
            );
        }
    }

    #[test]
    fn presign_with_content_hash_and_arguments() {
        let base = Uri::from_static("https://b.s3.amazonaws.com/k");
        let headers = header_map(&[("x-amz-content-sha256", EMPTY_SHA256)]);
        let url = presign(
            &Method::PUT,
            &base,
            &headers,
            &creds(),
            "us-east-1",
            "s3",
            at(NOW),
            60,
        )
        .expect("presign");
        let uri: Uri = url.parse().expect("uri");
        let mut sent = header_map(&[
            ("host", "b.s3.amazonaws.com"),
            ("x-amz-content-sha256", EMPTY_SHA256),
        ]);
        let req = parse(&Method::PUT, &uri, &sent).expect("ok").expect("some");
        assert_eq!(req.payload, PayloadHash::Sha256(EMPTY_SHA256.into()));
        assert!(
            verify(
                &req,
                &Method::PUT,
                &uri,
                &sent,
                SECRET,
                at(NOW),
                Some(EMPTY_SHA256)
            )
            .is_ok()
        );
        let err = verify(
            &req,
            &Method::PUT,
            &uri,
            &sent,
            SECRET,
            at(NOW),
            Some(&sha256_hex(b"x")),
        )
        .expect_err("body");
        assert_eq!(err.code(), "XAmzContentSHA256Mismatch");
        sent.insert(
            "x-amz-content-sha256",
            HeaderValue::from_static("UNSIGNED-PAYLOAD"),
        );
        let req = parse(&Method::PUT, &uri, &sent).expect("ok").expect("some");
        assert!(verify(&req, &Method::PUT, &uri, &sent, SECRET, at(NOW), None).is_err());

        for expires in [0, MAX_PRESIGNED_EXPIRES_SECS + 1] {
            let err = presign(
                &Method::GET,
                &base,
                &HeaderMap::new(),
                &creds(),
                "us-east-1",
                "s3",
                at(NOW),
                expires,
            )
            .expect_err("expires");
            assert_eq!(err.code(), "AuthorizationQueryParametersError");
        }
        let relative = Uri::from_static("/k");
        assert_eq!(
            presign(
                &Method::GET,
                &relative,
                &HeaderMap::new(),
                &creds(),
                "us-east-1",
                "s3",
                at(NOW),
                60
            )
            .expect_err("no host")
            .code(),
            "InvalidArgument"
        );
        let custom = Uri::from_static("https://b.s3.amazonaws.com/k?X-Amz-Custom=1");
        let url = presign(
            &Method::GET,
            &custom,
            &HeaderMap::new(),
            &creds(),
            "us-east-1",
            "s3",
            at(NOW),
            60,
        )
        .expect("custom X-Amz- parameters are fine");
        assert!(url.starts_with("/k?X-Amz-Custom=1&X-Amz-Algorithm="));
        let already = Uri::from_static("https://b.s3.amazonaws.com/k?X-Amz-Date=1");
        assert!(
            presign(
                &Method::GET,
                &already,
                &HeaderMap::new(),
                &creds(),
                "us-east-1",
                "s3",
                at(NOW),
                60
            )
            .is_err()
        );
        assert!(
            presign(
                &Method::GET,
                &base,
                &HeaderMap::new(),
                &creds(),
                "us/east",
                "s3",
                at(NOW),
                60
            )
            .is_err()
        );
    }

    #[test]
    fn streaming_round_trip_through_sign_and_verify() {
        for (mode, trailer) in [
            (crate::STREAMING_SIGNED_PAYLOAD, false),
            (crate::STREAMING_SIGNED_PAYLOAD_TRAILER, true),
        ] {
            let method = Method::PUT;
            let uri = Uri::from_static("/bucket/object");
            let mut headers = header_map(&[("host", HOST), ("content-encoding", "aws-chunked")]);
            sign_headers(
                &method,
                &uri,
                &mut headers,
                mode,
                &creds(),
                "us-east-1",
                "s3",
                at(NOW),
            )
            .expect("sign");
            let req = parse(&method, &uri, &headers).expect("ok").expect("some");
            assert_eq!(
                req.payload,
                PayloadHash::Streaming {
                    signed: true,
                    trailer
                }
            );
            let seed = verify(&req, &method, &uri, &headers, SECRET, at(NOW), None).expect("seed");
            assert!(seed.decoder_for(&req.payload).is_some());
            assert!(seed.decoder_for(&PayloadHash::Unsigned).is_none());
            assert!(seed.decoder_for(&PayloadHash::Absent).is_none());
            let unsigned = PayloadHash::Streaming {
                signed: false,
                trailer: true,
            };
            let mut plain = seed.decoder_for(&unsigned).expect("unsigned trailer");
            plain
                .feed(b"1\r\nz\r\n0\r\n\r\n", &mut Vec::new())
                .expect("unsigned");
            assert!(plain.finish().is_ok());
            let mut encoder = seed.chunk_encoder(trailer);
            let mut body = Vec::new();
            encoder.chunk(&[1; 9000], &mut body);
            encoder.chunk(&[2; 10], &mut body);
            let trailers: &[(&str, &str)] = if trailer {
                &[("x-amz-checksum-crc32c", "AAAAAA==")]
            } else {
                &[]
            };
            encoder.finish(trailers, &mut body).expect("finish");
            let mut decoder = seed.chunk_decoder(trailer);
            let mut out = Vec::new();
            for byte in &body {
                decoder
                    .feed(std::slice::from_ref(byte), &mut out)
                    .expect("feed");
            }
            let got = decoder.finish().expect("finish");
            assert_eq!(out.len(), 9010);
            assert_eq!(
                got.get("x-amz-checksum-crc32c"),
                trailer.then_some("AAAAAA==")
            );
            // A decoder seeded by another request rejects the body.
            let other = signed("PUT", "/bucket/other", "s3", &[], b"", &creds())
                .ok()
                .expect("other");
            let mut decoder = other.chunk_decoder(trailer);
            assert!(decoder.feed(&body, &mut Vec::new()).is_err());
        }
    }

    /// Mutated and random auth never panics, in parse or in verify.
    #[test]
    fn hostile_input_never_panics() {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let tokens: &[&str] = &[
            "AWS4-HMAC-SHA256",
            " ",
            ",",
            "=",
            "Credential",
            "SignedHeaders",
            "Signature",
            "/",
            "aws4_request",
            "20261128",
            "us-east-1",
            "s3",
            "host",
            ";",
            "x-amz-date",
            "AKID",
            "\t",
            "%",
            "%2F",
            "&",
            "?",
            "X-Amz-Algorithm",
            "X-Amz-Credential",
            "X-Amz-Expires",
            "604800",
            "X-Amz-SignedHeaders",
            "X-Amz-Signature",
            "X-Amz-Date",
            "20261128T101500Z",
            "..",
            "%FF",
            "0",
            "99999999999999999999",
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        ];
        let valid = cases();
        let mut reached_verify = 0;
        for round in 0..4000 {
            let base = &valid[round % valid.len()];
            let mut headers = base.headers.clone();
            let mut target = base.uri.to_string();
            let auth = headers["authorization"]
                .to_str()
                .expect("ascii")
                .to_string();
            let mut bytes = auth.into_bytes();
            if round % 3 == 0 {
                bytes.clear();
                for _ in 0..(next() % 30) {
                    bytes.extend_from_slice(
                        tokens[(next() % tokens.len() as u64) as usize].as_bytes(),
                    );
                }
            }
            for _ in 0..(next() % 4) {
                let at = (next() % (bytes.len() as u64 + 1)) as usize;
                match next() % 3 {
                    0 if at < bytes.len() => bytes[at] = next() as u8,
                    1 if at < bytes.len() => {
                        bytes.remove(at);
                    }
                    _ => bytes
                        .splice(
                            at..at,
                            tokens[(next() % tokens.len() as u64) as usize].bytes(),
                        )
                        .for_each(drop),
                }
            }
            match HeaderValue::from_bytes(&bytes) {
                Ok(value) => {
                    headers.insert("authorization", value);
                }
                Err(_) => {
                    headers.remove("authorization");
                }
            }
            if round % 5 == 0 {
                headers.remove("authorization");
                target.push(if target.contains('?') { '&' } else { '?' });
                for _ in 0..(next() % 25) {
                    target.push_str(tokens[(next() % tokens.len() as u64) as usize]);
                }
            }
            if round % 7 == 0 {
                let date = tokens[(next() % tokens.len() as u64) as usize];
                if let Ok(value) = HeaderValue::from_str(date) {
                    headers.insert("x-amz-date", value);
                }
            }
            let Ok(uri) = target.parse::<Uri>() else {
                continue;
            };
            if let Ok(Some(req)) = parse(&base.method, &uri, &headers) {
                reached_verify += 1;
                let now = at(NOW) + TimeDelta::seconds((next() % 2_000_000) as i64 - 1_000_000);
                let _ = verify(
                    &req,
                    &base.method,
                    &uri,
                    &headers,
                    SECRET,
                    now,
                    Some(&base.body_hash),
                );
                let _ = verify(&req, &base.method, &uri, &headers, SECRET, now, None);
            }
        }
        assert!(
            reached_verify > 100,
            "the fuzzer should exercise verify ({reached_verify})"
        );
    }
}
