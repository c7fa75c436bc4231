//! Client-side signing, for Ferry's CLI and tests.
//!
//! Uses the verifier's canonicalization, so whatever this signs, [`crate::verify`]
//! accepts (and the AWS test vectors pin both to what AWS computes).

use std::fmt;

use chrono::{DateTime, Utc};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri, header};

use crate::canonical::{
    ALGORITHM, CanonicalInput, UNSIGNED_PAYLOAD, canonical_headers, canonical_request,
    format_amz_date, hmac_sha256, is_s3_service, signing_key, string_to_sign, uri_encode,
};
use crate::error::SigV4Error;
use crate::parse::PayloadHash;
use crate::verify::MAX_PRESIGNED_EXPIRES_SECS;

/// An access key pair, with the session token of temporary credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The access key id (`AKIA...`/`ASIA...`).
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: String,
    /// The session token of temporary credentials, sent as
    /// `x-amz-security-token` (header) or `X-Amz-Security-Token` (query).
    pub session_token: Option<String>,
}

impl Credentials {
    /// Long-term credentials (no session token).
    pub fn new(access_key_id: impl Into<String>, secret_access_key: impl Into<String>) -> Self {
        Credentials {
            access_key_id: access_key_id.into(),
            secret_access_key: secret_access_key.into(),
            session_token: None,
        }
    }

    /// The same credentials with a session token.
    pub fn with_session_token(mut self, token: impl Into<String>) -> Self {
        self.session_token = Some(token.into());
        self
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// Headers never signed: they are rewritten or added by proxies and HTTP
/// stacks on the way (same exclusions as botocore and the SDKs).
const UNSIGNABLE: [&str; 6] = [
    "authorization",
    "user-agent",
    "expect",
    "x-amzn-trace-id",
    "connection",
    "transfer-encoding",
];

/// Query parameters of presigned auth; a URI to presign must not have them.
const AUTH_PARAMS: [&str; 7] = [
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
    "X-Amz-Security-Token",
];

fn invalid(message: impl Into<String>) -> SigV4Error {
    SigV4Error::InvalidArgument(message.into())
}

fn check_scope_part(what: &str, value: &str) -> Result<(), SigV4Error> {
    let ok = !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(invalid(format!("invalid {what} for signing")))
    }
}

fn header_value(value: &str, what: &str) -> Result<HeaderValue, SigV4Error> {
    HeaderValue::from_str(value).map_err(|_| invalid(format!("{what} is not a valid header value")))
}

/// Makes sure `host` is present, taking it from the URI authority if needed.
fn ensure_host(uri: &Uri, headers: &mut HeaderMap) -> Result<(), SigV4Error> {
    if headers.contains_key(header::HOST) {
        return Ok(());
    }
    let authority = uri
        .authority()
        .ok_or_else(|| invalid("a host header (or an absolute URI) is required for signing"))?;
    headers.insert(header::HOST, header_value(authority.as_str(), "host")?);
    Ok(())
}

/// Sorted lowercase names of the headers to sign.
fn names_to_sign(headers: &HeaderMap) -> Vec<String> {
    let mut names: Vec<String> = headers
        .keys()
        .map(HeaderName::as_str)
        .filter(|name| !UNSIGNABLE.contains(name))
        .map(str::to_string)
        .collect();
    names.sort();
    names.dedup();
    names
}

struct Signature {
    hex: String,
    signed_headers: String,
    scope: String,
}

#[allow(clippy::too_many_arguments)]
fn compute_signature(
    method: &Method,
    uri: &Uri,
    query: &str,
    headers: &HeaderMap,
    payload_hash: &str,
    creds: &Credentials,
    region: &str,
    service: &str,
    now: &DateTime<Utc>,
    presigned: bool,
) -> Result<Signature, SigV4Error> {
    let names = names_to_sign(headers);
    let headers_block = canonical_headers(headers, uri, &names)
        .map_err(|name| invalid(format!("header {name} vanished while signing")))?;
    let signed_headers = names.join(";");
    let creq = canonical_request(&CanonicalInput {
        method: method.as_str(),
        path: uri.path(),
        query,
        s3: is_s3_service(service),
        presigned,
        headers_block: &headers_block,
        signed_headers: &signed_headers,
        payload_hash,
    });
    let amz_date = format_amz_date(now);
    let date = amz_date.get(..8).unwrap_or_default();
    let scope = format!("{date}/{region}/{service}/aws4_request");
    let sts = string_to_sign(&amz_date, &scope, &creq);
    let key = signing_key(&creds.secret_access_key, date, region, service);
    Ok(Signature {
        hex: hex::encode(hmac_sha256(&key, sts.as_bytes())),
        signed_headers,
        scope,
    })
}

/// Signs a request in place: sets `x-amz-date`, `x-amz-content-sha256` (for
/// S3, as the SDKs do, and whenever `payload_sha256_hex` is one of the
/// `UNSIGNED-PAYLOAD`/`STREAMING-*` keywords), `x-amz-security-token` (when
/// the credentials have a session token) and `Authorization`.
///
/// Every header already in `headers` is signed except those proxies rewrite
/// (`user-agent`, `expect`, `connection`, ...). `headers` must contain `host`,
/// or `uri` must be absolute (then `host` is added from its authority). `uri`
/// is the request target as it will be sent (path already percent-encoded).
#[allow(clippy::too_many_arguments)]
pub fn sign_headers(
    method: &Method,
    uri: &Uri,
    headers: &mut HeaderMap,
    payload_sha256_hex: &str,
    creds: &Credentials,
    region: &str,
    service: &str,
    now: DateTime<Utc>,
) -> Result<(), SigV4Error> {
    check_scope_part("region", region)?;
    check_scope_part("service", service)?;
    let payload = PayloadHash::from_header_value(payload_sha256_hex)?;
    ensure_host(uri, headers)?;
    headers.remove(header::AUTHORIZATION);
    headers.insert(
        "x-amz-date",
        header_value(&format_amz_date(&now), "x-amz-date")?,
    );
    if is_s3_service(service) || !matches!(payload, PayloadHash::Sha256(_)) {
        headers.insert(
            "x-amz-content-sha256",
            header_value(payload_sha256_hex, "payload hash")?,
        );
    }
    if let Some(token) = &creds.session_token {
        headers.insert(
            "x-amz-security-token",
            header_value(token, "session token")?,
        );
    }
    let signature = compute_signature(
        method,
        uri,
        uri.query().unwrap_or(""),
        headers,
        payload_sha256_hex,
        creds,
        region,
        service,
        &now,
        false,
    )?;
    let authorization = format!(
        "{ALGORITHM} Credential={}/{}, SignedHeaders={}, Signature={}",
        creds.access_key_id, signature.scope, signature.signed_headers, signature.hex
    );
    headers.insert(
        header::AUTHORIZATION,
        header_value(&authorization, "access key id")?,
    );
    Ok(())
}

/// Presigns a request (query-string auth) valid for `expires_secs` seconds
/// (1..=604800) from `now`, and returns the full `path?query` to send.
///
/// `headers` are the headers the holder of the URL must send (all of them are
/// signed); `host` is taken from them or from the absolute `uri`. Unless
/// `headers` has `x-amz-content-sha256`, the payload is `UNSIGNED-PAYLOAD`
/// for S3 and the empty body's hash for other services (as botocore signs).
#[allow(clippy::too_many_arguments)]
pub fn presign(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    creds: &Credentials,
    region: &str,
    service: &str,
    now: DateTime<Utc>,
    expires_secs: u64,
) -> Result<String, SigV4Error> {
    check_scope_part("region", region)?;
    check_scope_part("service", service)?;
    if !(1..=MAX_PRESIGNED_EXPIRES_SECS).contains(&expires_secs) {
        return Err(SigV4Error::AuthorizationQueryParametersError(
            "X-Amz-Expires must be a number of seconds from 1 to 604800 (seven days)".to_string(),
        ));
    }
    let mut headers = headers.clone();
    headers.remove(header::AUTHORIZATION);
    ensure_host(uri, &mut headers)?;
    let payload_hash = match headers.get("x-amz-content-sha256") {
        Some(value) => {
            let value = value
                .to_str()
                .map_err(|_| invalid("x-amz-content-sha256 is not valid ASCII"))?
                .to_string();
            PayloadHash::from_header_value(&value)?;
            value
        }
        None if matches!(service, "s3" | "s3-object-lambda") => UNSIGNED_PAYLOAD.to_string(),
        // Other services sign the hash of the empty body the URL is for.
        None => crate::EMPTY_SHA256.to_string(),
    };

    let amz_date = format_amz_date(&now);
    let date = amz_date.get(..8).unwrap_or_default();
    let names = names_to_sign(&headers);
    let credential = format!(
        "{}/{date}/{region}/{service}/aws4_request",
        creds.access_key_id
    );
    let mut params = vec![
        ("X-Amz-Algorithm", ALGORITHM.to_string()),
        ("X-Amz-Credential", credential),
        ("X-Amz-Date", amz_date.clone()),
        ("X-Amz-Expires", expires_secs.to_string()),
    ];
    if let Some(token) = &creds.session_token {
        params.push(("X-Amz-Security-Token", token.clone()));
    }
    params.push(("X-Amz-SignedHeaders", names.join(";")));

    let existing = uri.query().unwrap_or("");
    let auth_param = |pair: &str| {
        let name = pair.split_once('=').map_or(pair, |(name, _)| name);
        AUTH_PARAMS.contains(&name)
    };
    if existing.split('&').any(auth_param) {
        return Err(invalid("the URI already carries X-Amz-* auth parameters"));
    }
    let mut query = existing.to_string();
    for (name, value) in &params {
        if !query.is_empty() {
            query.push('&');
        }
        query.push_str(name);
        query.push('=');
        query.push_str(&uri_encode(value.as_bytes(), false));
    }
    let signature = compute_signature(
        method,
        uri,
        &query,
        &headers,
        &payload_hash,
        creds,
        region,
        service,
        &now,
        true,
    )?;
    let path = if uri.path().is_empty() {
        "/"
    } else {
        uri.path()
    };
    Ok(format!("{path}?{query}&X-Amz-Signature={}", signature.hex))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vectors::{at, header_map};
    use crate::{EMPTY_SHA256, STREAMING_UNSIGNED_PAYLOAD_TRAILER};

    const NOW: &str = "20261128T101500Z";

    #[test]
    fn credentials_debug_redacts_secrets() {
        let creds = Credentials::new("AKIA1", "topsecret").with_session_token("tok");
        let shown = format!("{creds:?}");
        assert!(shown.contains("AKIA1"));
        assert!(!shown.contains("topsecret") && !shown.contains("tok\""));
    }

    #[test]
    fn sign_headers_sets_what_it_should() {
        let creds = Credentials::new("AKIA1", "s");
        let uri = Uri::from_static("https://sts.ferry.test/");
        let mut headers = header_map(&[("authorization", "stale"), ("user-agent", "ferry")]);
        sign_headers(
            &Method::POST,
            &uri,
            &mut headers,
            EMPTY_SHA256,
            &creds,
            "us-east-1",
            "sts",
            at(NOW),
        )
        .expect("sign");
        assert_eq!(headers["host"], "sts.ferry.test");
        assert_eq!(headers["x-amz-date"], NOW);
        assert!(!headers.contains_key("x-amz-content-sha256"));
        assert!(!headers.contains_key("x-amz-security-token"));
        let auth = headers["authorization"].to_str().expect("ascii");
        assert!(auth.starts_with(
            "AWS4-HMAC-SHA256 Credential=AKIA1/20261128/us-east-1/sts/aws4_request, SignedHeaders=host;x-amz-date, Signature="
        ), "{auth}");

        // Keyword payloads are always sent, whatever the service.
        let mut headers = HeaderMap::new();
        sign_headers(
            &Method::PUT,
            &uri,
            &mut headers,
            STREAMING_UNSIGNED_PAYLOAD_TRAILER,
            &creds,
            "us-east-1",
            "x",
            at(NOW),
        )
        .expect("sign");
        assert_eq!(
            headers["x-amz-content-sha256"],
            STREAMING_UNSIGNED_PAYLOAD_TRAILER
        );
    }

    #[test]
    fn sign_headers_rejects_bad_arguments() {
        let creds = Credentials::new("AKIA1", "s");
        let relative = Uri::from_static("/");
        let absolute = Uri::from_static("https://h/");
        let cases: [(&Uri, &str, &str, &Credentials); 5] = [
            (&relative, EMPTY_SHA256, "us-east-1", &creds),
            (&absolute, "not-a-hash", "us-east-1", &creds),
            (&absolute, EMPTY_SHA256, "", &creds),
            (&absolute, EMPTY_SHA256, "us/east", &creds),
            (
                &absolute,
                EMPTY_SHA256,
                "us-east-1",
                &Credentials::new("AKIA1", "s").with_session_token("bad\ntoken"),
            ),
        ];
        for (uri, payload, region, creds) in cases {
            let mut headers = HeaderMap::new();
            let err = sign_headers(
                &Method::GET,
                uri,
                &mut headers,
                payload,
                creds,
                region,
                "s3",
                at(NOW),
            )
            .expect_err("bad");
            assert_eq!(err.code(), "InvalidArgument", "{uri} {payload} {region}");
        }
    }
}
