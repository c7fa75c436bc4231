//! Extraction of the SigV4 auth carried by a request (header or query form).
//!
//! Parsing is separate from verification so the caller can look the access key
//! up (and reject unknown keys, or pick the right secret) between the two.

use std::borrow::Cow;

use chrono::{DateTime, NaiveDate, Utc};
use http::{HeaderMap, Method, Uri, header};
use percent_encoding::percent_decode_str;

use crate::canonical::{
    ALGORITHM, STREAMING_SIGNED_PAYLOAD, STREAMING_SIGNED_PAYLOAD_TRAILER,
    STREAMING_UNSIGNED_PAYLOAD_TRAILER, UNSIGNED_PAYLOAD, parse_amz_date,
};
use crate::error::SigV4Error;
use crate::verify::MAX_PRESIGNED_EXPIRES_SECS;

/// Where a request carries its signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthKind {
    /// `Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`.
    Header,
    /// Presigned URL: `X-Amz-Algorithm`, `X-Amz-Credential`, ... query parameters.
    Presigned,
}

/// The credential scope: `AKID/20150830/us-east-1/service/aws4_request`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialScope {
    /// The access key id the caller looks the secret up by.
    pub access_key_id: String,
    /// The scope date, `YYYYMMDD`.
    pub date: String,
    /// The region the request was signed for (not checked by this crate).
    pub region: String,
    /// The service the request was signed for (decides S3 canonicalization).
    pub service: String,
}

impl CredentialScope {
    /// `date/region/service/aws4_request`, the scope in the string to sign.
    pub fn scope(&self) -> String {
        format!(
            "{}/{}/{}/aws4_request",
            self.date, self.region, self.service
        )
    }

    /// Parses `AKID/date/region/service/aws4_request`; `None` if malformed.
    fn parse(value: &str) -> Option<Self> {
        // From the right, so an access key id could never shift the fields.
        let mut parts = value.rsplitn(5, '/');
        let terminator = parts.next()?;
        let service = parts.next()?;
        let region = parts.next()?;
        let date = parts.next()?;
        let access_key_id = parts.next()?;
        let token_ok = |s: &str| {
            !s.is_empty()
                && s.len() <= 128
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        };
        let date_ok = date.len() == 8
            && date.bytes().all(|b| b.is_ascii_digit())
            && NaiveDate::parse_from_str(date, "%Y%m%d").is_ok();
        let key_ok = !access_key_id.is_empty()
            && access_key_id.len() <= 256
            && access_key_id.bytes().all(|b| b.is_ascii_graphic());
        if terminator != "aws4_request" || !date_ok || !key_ok || !token_ok(region) {
            return None;
        }
        if !token_ok(service) {
            return None;
        }
        Some(CredentialScope {
            access_key_id: access_key_id.to_string(),
            date: date.to_string(),
            region: region.to_string(),
            service: service.to_string(),
        })
    }
}

/// What `x-amz-content-sha256` (or its absence) says about the payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayloadHash {
    /// `UNSIGNED-PAYLOAD`: the body is not covered by the signature.
    Unsigned,
    /// A hex SHA-256 of the body, as sent (the signature covers this string).
    Sha256(String),
    /// `aws-chunked` body: `STREAMING-AWS4-HMAC-SHA256-PAYLOAD` (signed, no
    /// trailer), `...-PAYLOAD-TRAILER` (signed, trailer) or
    /// `STREAMING-UNSIGNED-PAYLOAD-TRAILER` (unsigned, trailer).
    Streaming {
        /// Chunks carry `chunk-signature`s.
        signed: bool,
        /// Trailing headers follow the final chunk.
        trailer: bool,
    },
    /// No `x-amz-content-sha256` header: the caller must hash the body itself
    /// and pass the digest to [`crate::verify`].
    Absent,
}

impl PayloadHash {
    /// Classifies an `x-amz-content-sha256` value.
    pub fn from_header_value(value: &str) -> Result<Self, SigV4Error> {
        Ok(match value {
            UNSIGNED_PAYLOAD => PayloadHash::Unsigned,
            STREAMING_SIGNED_PAYLOAD => PayloadHash::Streaming {
                signed: true,
                trailer: false,
            },
            STREAMING_SIGNED_PAYLOAD_TRAILER => PayloadHash::Streaming {
                signed: true,
                trailer: true,
            },
            STREAMING_UNSIGNED_PAYLOAD_TRAILER => PayloadHash::Streaming {
                signed: false,
                trailer: true,
            },
            hash if hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => {
                PayloadHash::Sha256(hash.to_string())
            }
            _ => {
                return Err(SigV4Error::InvalidArgument(
                    "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, \
                     STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, \
                     STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid sha256 value."
                        .to_string(),
                ));
            }
        })
    }

    /// The string that goes on the payload line of the canonical request;
    /// `None` for [`PayloadHash::Absent`] (the caller supplies the body hash)
    /// and for the non-existent unsigned, trailer-less streaming form.
    pub fn canonical_value(&self) -> Option<&str> {
        match self {
            PayloadHash::Unsigned => Some(UNSIGNED_PAYLOAD),
            PayloadHash::Sha256(hash) => Some(hash),
            PayloadHash::Streaming {
                signed: true,
                trailer: false,
            } => Some(STREAMING_SIGNED_PAYLOAD),
            PayloadHash::Streaming {
                signed: true,
                trailer: true,
            } => Some(STREAMING_SIGNED_PAYLOAD_TRAILER),
            PayloadHash::Streaming {
                signed: false,
                trailer: true,
            } => Some(STREAMING_UNSIGNED_PAYLOAD_TRAILER),
            PayloadHash::Streaming {
                signed: false,
                trailer: false,
            }
            | PayloadHash::Absent => None,
        }
    }
}

/// The parsed SigV4 auth of a request (header form or presigned query form).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedRequest {
    /// Header or presigned query auth.
    pub kind: AuthKind,
    /// Who signed, for which day, region and service.
    pub credential: CredentialScope,
    /// The signed header names, lowercase, in the order listed.
    pub signed_headers: Vec<String>,
    /// The claimed signature, lowercase hex (64 characters).
    pub signature: String,
    /// `X-Amz-Date` (header or query), or the `Date` header for header auth.
    pub amz_date: DateTime<Utc>,
    /// `x-amz-security-token` header or `X-Amz-Security-Token` query parameter.
    pub security_token: Option<String>,
    /// What the payload line of the canonical request is.
    pub payload: PayloadHash,
    /// `X-Amz-Expires` for presigned requests (1..=604800).
    pub expires_secs: Option<u64>,
}

impl SignedRequest {
    /// The access key id the request claims to be signed with.
    pub fn access_key_id(&self) -> &str {
        &self.credential.access_key_id
    }
}

/// Returns `Ok(None)` when the request carries no SigV4 auth at all
/// (anonymous): no `Authorization` header and no `X-Amz-Algorithm` query
/// parameter. Other auth schemes in the `Authorization` header are errors.
pub fn parse(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<Option<SignedRequest>, SigV4Error> {
    // The method does not influence parsing; it is part of the signature
    // so the parameter keeps `parse` and `verify` symmetric for callers.
    let _ = method;
    let query = uri.query().unwrap_or("");
    let mut authorizations = headers.get_all(header::AUTHORIZATION).iter();
    let authorization = authorizations.next();
    let presigned = query_has_param(query, "X-Amz-Algorithm");
    match (authorization, presigned) {
        (None, false) => Ok(None),
        (Some(_), true) => Err(SigV4Error::InvalidArgument(
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, \
             Signature query string parameter or the Authorization header should be specified"
                .to_string(),
        )),
        (Some(value), false) => {
            if authorizations.next().is_some() {
                return Err(incomplete("Only one Authorization header is allowed"));
            }
            let value = value
                .to_str()
                .map_err(|_| incomplete("Authorization header is not valid ASCII"))?;
            parse_header_auth(value, headers).map(Some)
        }
        (None, true) => parse_query_auth(query, headers).map(Some),
    }
}

fn incomplete(message: &str) -> SigV4Error {
    SigV4Error::IncompleteSignature(message.to_string())
}

fn query_error(message: &str) -> SigV4Error {
    SigV4Error::AuthorizationQueryParametersError(message.to_string())
}

fn query_has_param(query: &str, name: &str) -> bool {
    query
        .split('&')
        .map(|pair| pair.split_once('=').map_or(pair, |(k, _)| k))
        .any(|key| percent_decode_str(key).collect::<Vec<u8>>() == name.as_bytes())
}

/// `Ok(None)` if the header is absent; an error if it is repeated or not text.
fn single_header<'a>(
    headers: &'a HeaderMap,
    name: &str,
    err: fn(&str) -> SigV4Error,
) -> Result<Option<&'a str>, SigV4Error> {
    let mut values = headers.get_all(name).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(err(&format!("{name} header must not be repeated")));
    }
    first
        .to_str()
        .map(|s| Some(s.trim()))
        .map_err(|_| err(&format!("{name} header is not valid ASCII")))
}

fn parse_signed_headers(value: &str) -> Option<Vec<String>> {
    let valid_name = |name: &str| {
        !name.is_empty()
            && name.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || b"!#$%&'*+-.^_`|~".contains(&b)
            })
    };
    let names: Vec<String> = value.split(';').map(str::to_string).collect();
    (names.len() <= 256 && names.iter().all(|n| valid_name(n))).then_some(names)
}

fn parse_signature(value: &str) -> Option<String> {
    (value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| value.to_ascii_lowercase())
}

fn parse_header_auth(value: &str, headers: &HeaderMap) -> Result<SignedRequest, SigV4Error> {
    let value = value.trim();
    let (algorithm, rest) = value.split_once([' ', '\t']).unwrap_or((value, ""));
    if algorithm != ALGORITHM {
        return Err(incomplete(
            "Unsupported Authorization Type; the only supported algorithm is AWS4-HMAC-SHA256",
        ));
    }
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for component in rest.split(',') {
        let component = component.trim();
        if component.is_empty() {
            continue;
        }
        let Some((key, value)) = component.split_once('=') else {
            return Err(incomplete(
                "Authorization header components must have the form Key=Value",
            ));
        };
        let slot = match key.trim() {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed_headers,
            "Signature" => &mut signature,
            _ => {
                return Err(incomplete("Unknown component in the Authorization header"));
            }
        };
        if slot.is_some() {
            return Err(incomplete(
                "Authorization header components must not be repeated",
            ));
        }
        *slot = Some(value.trim());
    }
    let mut missing = Vec::new();
    if credential.is_none() {
        missing.push("Authorization header requires 'Credential' parameter.");
    }
    if signature.is_none() {
        missing.push("Authorization header requires 'Signature' parameter.");
    }
    if signed_headers.is_none() {
        missing.push("Authorization header requires 'SignedHeaders' parameter.");
    }
    let (Some(credential), Some(signed_headers), Some(signature)) =
        (credential, signed_headers, signature)
    else {
        return Err(incomplete(&missing.join(" ")));
    };
    let credential = CredentialScope::parse(credential).ok_or_else(|| {
        incomplete(
            "Credential must have the form <access key id>/<YYYYMMDD>/<region>/<service>/aws4_request",
        )
    })?;
    let signed_headers = parse_signed_headers(signed_headers).ok_or_else(|| {
        incomplete("SignedHeaders must be a ;-separated list of lowercase header names")
    })?;
    let signature = parse_signature(signature)
        .ok_or_else(|| incomplete("Signature must be 64 hexadecimal characters"))?;

    let amz_date = match single_header(headers, "x-amz-date", incomplete)? {
        Some(value) => Some(parse_amz_date(value)),
        None => single_header(headers, "date", incomplete)?.map(|value| {
            DateTime::parse_from_rfc2822(value)
                .ok()
                .map(|t| t.with_timezone(&Utc))
        }),
    };
    let amz_date = amz_date.flatten().ok_or_else(|| {
        incomplete("AWS authentication requires a valid Date or x-amz-date header")
    })?;
    let security_token =
        single_header(headers, "x-amz-security-token", incomplete)?.map(str::to_string);
    let payload = match single_header(headers, "x-amz-content-sha256", incomplete)? {
        Some(value) => PayloadHash::from_header_value(value)?,
        None => PayloadHash::Absent,
    };
    Ok(SignedRequest {
        kind: AuthKind::Header,
        credential,
        signed_headers,
        signature,
        amz_date,
        security_token,
        payload,
        expires_secs: None,
    })
}

/// The `X-Amz-*` parameters of a presigned URL, decoded.
#[derive(Default)]
struct QueryAuth {
    algorithm: Option<String>,
    credential: Option<String>,
    date: Option<String>,
    expires: Option<String>,
    signed_headers: Option<String>,
    signature: Option<String>,
    security_token: Option<String>,
    content_sha256: Option<String>,
}

fn parse_query_auth(query: &str, headers: &HeaderMap) -> Result<SignedRequest, SigV4Error> {
    let mut auth = QueryAuth::default();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (raw_key, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
        let key: Cow<'_, str> = percent_decode_str(raw_key).decode_utf8_lossy();
        let slot = match key.as_ref() {
            "X-Amz-Algorithm" => &mut auth.algorithm,
            "X-Amz-Credential" => &mut auth.credential,
            "X-Amz-Date" => &mut auth.date,
            "X-Amz-Expires" => &mut auth.expires,
            "X-Amz-SignedHeaders" => &mut auth.signed_headers,
            "X-Amz-Signature" => &mut auth.signature,
            "X-Amz-Security-Token" => &mut auth.security_token,
            "X-Amz-Content-Sha256" => &mut auth.content_sha256,
            _ => continue,
        };
        if slot.is_some() {
            return Err(query_error(&format!("{key} must not be repeated")));
        }
        let value = percent_decode_str(raw_value)
            .decode_utf8()
            .map_err(|_| query_error(&format!("{key} is not valid UTF-8")))?;
        *slot = Some(value.into_owned());
    }

    let require = |value: Option<String>, name: &str| {
        value.ok_or_else(|| {
            query_error(&format!(
                "Query-string authentication version 4 requires the X-Amz-Algorithm, \
                 X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and \
                 X-Amz-Expires parameters ({name} is missing)."
            ))
        })
    };
    let algorithm = require(auth.algorithm, "X-Amz-Algorithm")?;
    let credential = require(auth.credential, "X-Amz-Credential")?;
    let date = require(auth.date, "X-Amz-Date")?;
    let expires = require(auth.expires, "X-Amz-Expires")?;
    let signed_headers = require(auth.signed_headers, "X-Amz-SignedHeaders")?;
    let signature = require(auth.signature, "X-Amz-Signature")?;

    if algorithm != ALGORITHM {
        return Err(query_error(
            "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"",
        ));
    }
    let credential = CredentialScope::parse(&credential).ok_or_else(|| {
        query_error(
            "X-Amz-Credential must have the form \
             <access key id>/<YYYYMMDD>/<region>/<service>/aws4_request",
        )
    })?;
    let amz_date = parse_amz_date(&date).ok_or_else(|| {
        query_error("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
    })?;
    let expires_secs = expires
        .parse::<u64>()
        .ok()
        .filter(|e| (1..=MAX_PRESIGNED_EXPIRES_SECS).contains(e))
        .ok_or_else(|| {
            query_error("X-Amz-Expires must be a number of seconds from 1 to 604800 (seven days)")
        })?;
    let signed_headers = parse_signed_headers(&signed_headers).ok_or_else(|| {
        query_error("X-Amz-SignedHeaders must be a ;-separated list of lowercase header names")
    })?;
    let signature = parse_signature(&signature)
        .ok_or_else(|| query_error("X-Amz-Signature must be 64 hexadecimal characters"))?;
    let payload = match auth.content_sha256 {
        Some(value) => PayloadHash::from_header_value(&value)?,
        None => match single_header(headers, "x-amz-content-sha256", query_error)? {
            Some(value) => PayloadHash::from_header_value(value)?,
            // S3 presigned URLs are made before the body exists and sign
            // UNSIGNED-PAYLOAD; every other service's SDK signs the hash
            // of the (usually empty) body, as botocore's SigV4QueryAuth.
            None if matches!(credential.service.as_str(), "s3" | "s3-object-lambda") => {
                PayloadHash::Unsigned
            }
            None => PayloadHash::Absent,
        },
    };
    Ok(SignedRequest {
        kind: AuthKind::Presigned,
        credential,
        signed_headers,
        signature,
        amz_date,
        security_token: auth.security_token,
        payload,
        expires_secs: Some(expires_secs),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    const SIG: &str = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";

    fn headers_with(auth: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("example.amazonaws.com"));
        headers.insert("x-amz-date", HeaderValue::from_static("20150830T123600Z"));
        if let Ok(value) = HeaderValue::from_str(auth) {
            headers.insert("authorization", value);
        }
        headers
    }

    fn parse_auth(auth: &str) -> Result<Option<SignedRequest>, SigV4Error> {
        parse(&Method::GET, &Uri::from_static("/"), &headers_with(auth))
    }

    #[test]
    fn anonymous_requests_parse_to_none() {
        let headers = HeaderMap::new();
        for uri in [
            "/",
            "/?a=b",
            "/?X-Amz-Date=20150830T123600Z&Signature=x",
            "/?X-Amz-Algorithmx=1",
        ] {
            let uri: Uri = uri.parse().expect("uri");
            assert_eq!(parse(&Method::GET, &uri, &headers), Ok(None));
        }
    }

    #[test]
    fn header_auth_is_parsed() {
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=host;x-amz-date, Signature={}",
            SIG.to_ascii_uppercase()
        );
        let mut headers = headers_with(&auth);
        headers.insert("x-amz-security-token", HeaderValue::from_static("tok/+="));
        let req = parse(&Method::GET, &Uri::from_static("/"), &headers)
            .expect("ok")
            .expect("some");
        assert_eq!(req.kind, AuthKind::Header);
        assert_eq!(req.access_key_id(), "AKIDEXAMPLE");
        assert_eq!(
            req.credential.scope(),
            "20150830/us-east-1/service/aws4_request"
        );
        assert_eq!(req.signed_headers, ["host", "x-amz-date"]);
        assert_eq!(req.signature, SIG);
        assert_eq!(
            req.amz_date,
            parse_amz_date("20150830T123600Z").expect("date")
        );
        assert_eq!(req.security_token.as_deref(), Some("tok/+="));
        assert_eq!(req.payload, PayloadHash::Absent);
        assert_eq!(req.expires_secs, None);

        // Component order and spacing do not matter.
        let shuffled = format!(
            "AWS4-HMAC-SHA256 Signature={SIG},SignedHeaders=host;x-amz-date,\
             Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request"
        );
        let again = parse_auth(&shuffled).expect("ok").expect("some");
        assert_eq!(again.signature, SIG);
    }

    #[test]
    fn date_header_is_a_fallback_for_header_auth() {
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3/aws4_request, \
             SignedHeaders=date;host, Signature={SIG}"
        );
        let mut headers = HeaderMap::new();
        headers.insert(
            "authorization",
            HeaderValue::from_str(&auth).expect("ascii"),
        );
        headers.insert(
            "date",
            HeaderValue::from_static("Fri, 24 May 2013 00:00:00 GMT"),
        );
        let req = parse(&Method::GET, &Uri::from_static("/"), &headers)
            .expect("ok")
            .expect("some");
        assert_eq!(
            req.amz_date,
            parse_amz_date("20130524T000000Z").expect("date")
        );
        // x-amz-date wins over Date.
        headers.insert("x-amz-date", HeaderValue::from_static("20130525T000000Z"));
        let req = parse(&Method::GET, &Uri::from_static("/"), &headers)
            .expect("ok")
            .expect("some");
        assert_eq!(
            req.amz_date,
            parse_amz_date("20130525T000000Z").expect("date")
        );
    }

    #[test]
    fn payload_hash_values() {
        let cases = [
            ("UNSIGNED-PAYLOAD", PayloadHash::Unsigned),
            (
                "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
                PayloadHash::Streaming {
                    signed: true,
                    trailer: false,
                },
            ),
            (
                "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
                PayloadHash::Streaming {
                    signed: true,
                    trailer: true,
                },
            ),
            (
                "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
                PayloadHash::Streaming {
                    signed: false,
                    trailer: true,
                },
            ),
            (
                crate::EMPTY_SHA256,
                PayloadHash::Sha256(crate::EMPTY_SHA256.to_string()),
            ),
        ];
        for (value, want) in cases {
            let got = PayloadHash::from_header_value(value).expect(value);
            assert_eq!(got.canonical_value(), Some(value));
            assert_eq!(got, want);
        }
        for bad in [
            "",
            "unsigned-payload",
            "abc",
            "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD",
            &"g".repeat(64),
        ] {
            let err = PayloadHash::from_header_value(bad).expect_err(bad);
            assert_eq!(err.code(), "InvalidArgument");
        }
        assert_eq!(PayloadHash::Absent.canonical_value(), None);
        assert_eq!(
            PayloadHash::Streaming {
                signed: false,
                trailer: false
            }
            .canonical_value(),
            None
        );
    }

    #[test]
    fn garbage_authorization_headers_are_incomplete_signatures() {
        let cred = "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request";
        let cases = [
            String::new(),
            "AWS4-HMAC-SHA256".to_string(),
            "AWS4-HMAC-SHA256 ".to_string(),
            "Bearer abc".to_string(),
            "AWS AKIDEXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=".to_string(),
            "AWS4-ECDSA-P256-SHA256 Credential=a/b".to_string(),
            format!("AWS4-HMAC-SHA256 {cred}"),
            format!("AWS4-HMAC-SHA256 {cred}, SignedHeaders=host"),
            format!("AWS4-HMAC-SHA256 {cred}, Signature={SIG}"),
            format!("AWS4-HMAC-SHA256 SignedHeaders=host, Signature={SIG}"),
            format!("AWS4-HMAC-SHA256 {cred}, {cred}, SignedHeaders=host, Signature={SIG}"),
            format!("AWS4-HMAC-SHA256 {cred}, SignedHeaders=host, Signature={SIG}, Extra=1"),
            format!("AWS4-HMAC-SHA256 {cred}, SignedHeaders=host, Signature={SIG}, junk"),
            format!("AWS4-HMAC-SHA256 {cred}, SignedHeaders=host, Signature=abc"),
            format!(
                "AWS4-HMAC-SHA256 {cred}, SignedHeaders=host, Signature={}",
                "z".repeat(64)
            ),
            format!("AWS4-HMAC-SHA256 {cred}, SignedHeaders=, Signature={SIG}"),
            format!("AWS4-HMAC-SHA256 {cred}, SignedHeaders=Host, Signature={SIG}"),
            format!("AWS4-HMAC-SHA256 {cred}, SignedHeaders=host;;x, Signature={SIG}"),
            format!("AWS4-HMAC-SHA256 {cred}, SignedHeaders=host x, Signature={SIG}"),
            format!("AWS4-HMAC-SHA256 Credential=, SignedHeaders=host, Signature={SIG}"),
            format!(
                "AWS4-HMAC-SHA256 Credential=AK/20150830/us-east-1/service, SignedHeaders=host, Signature={SIG}"
            ),
            format!(
                "AWS4-HMAC-SHA256 Credential=AK/20150830/us-east-1/service/aws5_request, SignedHeaders=host, Signature={SIG}"
            ),
            format!(
                "AWS4-HMAC-SHA256 Credential=AK/2015083/us-east-1/service/aws4_request, SignedHeaders=host, Signature={SIG}"
            ),
            format!(
                "AWS4-HMAC-SHA256 Credential=AK/20151332/us-east-1/service/aws4_request, SignedHeaders=host, Signature={SIG}"
            ),
            format!(
                "AWS4-HMAC-SHA256 Credential=AK/20150830//service/aws4_request, SignedHeaders=host, Signature={SIG}"
            ),
            format!(
                "AWS4-HMAC-SHA256 Credential=AK/20150830/us-east-1//aws4_request, SignedHeaders=host, Signature={SIG}"
            ),
            format!(
                "AWS4-HMAC-SHA256 Credential=/20150830/us-east-1/s3/aws4_request, SignedHeaders=host, Signature={SIG}"
            ),
            format!(
                "AWS4-HMAC-SHA256 Credential=A K/20150830/us-east-1/s3/aws4_request, SignedHeaders=host, Signature={SIG}"
            ),
            "AWS4-HMAC-SHA256 ,,,,".to_string(),
            "AWS4-HMAC-SHA256 ====".to_string(),
        ];
        for auth in cases {
            let err = parse_auth(&auth).expect_err(&auth);
            assert_eq!(err.code(), "IncompleteSignature", "{auth}: {err}");
        }
    }

    #[test]
    fn header_auth_needs_a_valid_date() {
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential=AK/20150830/us-east-1/s3/aws4_request, \
             SignedHeaders=host, Signature={SIG}"
        );
        let mut headers = HeaderMap::new();
        headers.insert(
            "authorization",
            HeaderValue::from_str(&auth).expect("ascii"),
        );
        let uri = Uri::from_static("/");
        let err = parse(&Method::GET, &uri, &headers).expect_err("no date");
        assert_eq!(err.code(), "IncompleteSignature");
        headers.insert("x-amz-date", HeaderValue::from_static("yesterday"));
        assert!(parse(&Method::GET, &uri, &headers).is_err());
        headers.remove("x-amz-date");
        headers.insert("date", HeaderValue::from_static("not a date"));
        assert!(parse(&Method::GET, &uri, &headers).is_err());
        headers.insert(
            "date",
            HeaderValue::from_static("Fri, 24 May 2013 00:00:00 GMT"),
        );
        headers.append(
            "date",
            HeaderValue::from_static("Fri, 24 May 2013 00:00:00 GMT"),
        );
        assert!(parse(&Method::GET, &uri, &headers).is_err());
    }

    #[test]
    fn repeated_or_binary_auth_headers_are_rejected() {
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential=AK/20150830/us-east-1/s3/aws4_request, \
             SignedHeaders=host, Signature={SIG}"
        );
        let mut headers = headers_with(&auth);
        headers.append(
            "authorization",
            HeaderValue::from_str(&auth).expect("ascii"),
        );
        let uri = Uri::from_static("/");
        assert_eq!(
            parse(&Method::GET, &uri, &headers)
                .expect_err("twice")
                .code(),
            "IncompleteSignature"
        );
        let mut headers = headers_with("");
        headers.insert(
            "authorization",
            HeaderValue::from_bytes(b"AWS4-HMAC-SHA256 \xff").expect("opaque"),
        );
        assert_eq!(
            parse(&Method::GET, &uri, &headers)
                .expect_err("binary")
                .code(),
            "IncompleteSignature"
        );
        let mut headers = headers_with(&auth);
        headers.insert("x-amz-content-sha256", HeaderValue::from_static("bogus"));
        assert_eq!(
            parse(&Method::GET, &uri, &headers)
                .expect_err("bad payload")
                .code(),
            "InvalidArgument"
        );
    }

    const PRESIGNED: &str = "/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256\
        &X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request\
        &X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host\
        &X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";

    #[test]
    fn presigned_auth_is_parsed() {
        let uri: Uri = PRESIGNED.parse().expect("uri");
        let req = parse(&Method::GET, &uri, &HeaderMap::new())
            .expect("ok")
            .expect("some");
        assert_eq!(req.kind, AuthKind::Presigned);
        assert_eq!(req.credential.access_key_id, "AKIAIOSFODNN7EXAMPLE");
        assert_eq!(req.credential.scope(), "20130524/us-east-1/s3/aws4_request");
        assert_eq!(req.expires_secs, Some(86400));
        assert_eq!(req.payload, PayloadHash::Unsigned);
        assert_eq!(req.signed_headers, ["host"]);
        assert_eq!(req.security_token, None);

        let with_token: Uri = format!(
            "{PRESIGNED}&X-Amz-Security-Token=a%2Bb%2Fc%3D&X-Amz-Content-Sha256={}",
            crate::EMPTY_SHA256
        )
        .parse()
        .expect("uri");
        let req = parse(&Method::GET, &with_token, &HeaderMap::new())
            .expect("ok")
            .expect("some");
        assert_eq!(req.security_token.as_deref(), Some("a+b/c="));
        assert_eq!(
            req.payload,
            PayloadHash::Sha256(crate::EMPTY_SHA256.to_string())
        );
    }

    #[test]
    fn bad_presigned_parameters() {
        let replace = |from: &str, to: &str| PRESIGNED.replace(from, to);
        let cases = [
            replace("X-Amz-Expires=86400", "X-Amz-Expires=0"),
            replace("X-Amz-Expires=86400", "X-Amz-Expires=604801"),
            replace("X-Amz-Expires=86400", "X-Amz-Expires=-1"),
            replace("X-Amz-Expires=86400", "X-Amz-Expires=1e3"),
            replace(
                "X-Amz-Expires=86400",
                "X-Amz-Expires=99999999999999999999999",
            ),
            replace("&X-Amz-Expires=86400", ""),
            replace("&X-Amz-SignedHeaders=host", ""),
            replace("X-Amz-SignedHeaders=host", "X-Amz-SignedHeaders=HOST"),
            replace("&X-Amz-Date=20130524T000000Z", ""),
            replace("X-Amz-Date=20130524T000000Z", "X-Amz-Date=2013-05-24"),
            replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA1"),
            replace("%2Faws4_request", "%2Fbad"),
            replace("X-Amz-Signature=aeee", "X-Amz-Signature=zeee"),
            format!("{PRESIGNED}&X-Amz-Date=20130524T000000Z"),
            format!("{PRESIGNED}&X-Amz-Security-Token=%FF"),
            PRESIGNED
                .split('&')
                .filter(|p| !p.starts_with("X-Amz-Signature"))
                .collect::<Vec<_>>()
                .join("&"),
        ];
        for case in cases {
            let uri: Uri = case.parse().expect("uri");
            let err = parse(&Method::GET, &uri, &HeaderMap::new()).expect_err(&case);
            assert_eq!(
                err.code(),
                "AuthorizationQueryParametersError",
                "{case}: {err}"
            );
        }
    }

    #[test]
    fn header_and_query_auth_together_are_rejected() {
        let uri: Uri = PRESIGNED.parse().expect("uri");
        let headers = headers_with("AWS4-HMAC-SHA256 whatever");
        let err = parse(&Method::GET, &uri, &headers).expect_err("both");
        assert_eq!(err.code(), "InvalidArgument");
    }
}
