//! Canonical request, string to sign and signing-key derivation.
//!
//! Both the verifier and the signer go through these functions, so a request
//! Ferry signs is canonicalized exactly as Ferry verifies it.
//!
//! The rules that matter for interoperability:
//! - The canonical URI of S3 requests is the path as sent, encoded once: each
//!   `/`-separated segment is percent-decoded and re-encoded with the SigV4
//!   unreserved set. Re-encoding (instead of copying) absorbs harmless client
//!   differences (`%e1` vs `%E1`, a raw `$`), and working per segment keeps an
//!   encoded `%2F` inside a key distinct from a real `/`. No dot-segment
//!   normalization: `a/../b` is a legal S3 key.
//! - For every other service botocore and the SDKs normalize the path (drop
//!   `.`/`..` segments and empty segments) and then encode the *already
//!   encoded* wire path again, so `%20` becomes `%2520`. Ferry receives the wire
//!   path, so it does the same.
//! - The canonical query string decodes every name and value, re-encodes them
//!   with the unreserved set and sorts by name then value (byte order).
//! - Header values are trimmed, inner runs of whitespace collapse to one space,
//!   and repeated headers are joined with `,` in the order received.

use chrono::{DateTime, NaiveDateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use http::{HeaderMap, Uri};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode, percent_encode};
use sha2::{Digest, Sha256};

/// The only signing algorithm supported: `AWS4-HMAC-SHA256`.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// Hex SHA-256 of the empty string (the payload hash of a request without body).
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
/// `x-amz-content-sha256` value for a payload that is not signed.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// `x-amz-content-sha256` value for `aws-chunked` bodies with signed chunks.
pub const STREAMING_SIGNED_PAYLOAD: &str = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
/// `x-amz-content-sha256` value for signed chunks followed by signed trailers.
pub const STREAMING_SIGNED_PAYLOAD_TRAILER: &str = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER";
/// `x-amz-content-sha256` value for unsigned chunks followed by trailers.
pub const STREAMING_UNSIGNED_PAYLOAD_TRAILER: &str = "STREAMING-UNSIGNED-PAYLOAD-TRAILER";

/// The SigV4 unreserved set: everything but `A-Za-z0-9-_.~` is encoded.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');
/// The unreserved set plus `/`, for encoding whole non-S3 paths.
const UNRESERVED_AND_SLASH: &AsciiSet = &UNRESERVED.remove(b'/');

/// `strftime` format of `X-Amz-Date`, e.g. `20150830T123600Z`.
pub(crate) const AMZ_DATE_FORMAT: &str = "%Y%m%dT%H%M%SZ";

pub(crate) fn format_amz_date(t: &DateTime<Utc>) -> String {
    t.format(AMZ_DATE_FORMAT).to_string()
}

/// Parses `YYYYMMDDTHHMMSSZ` strictly (chrono alone would accept signs and
/// extra digits in the year).
pub(crate) fn parse_amz_date(s: &str) -> Option<DateTime<Utc>> {
    let b = s.as_bytes();
    let shape_ok = b.len() == 16
        && b[8] == b'T'
        && b[15] == b'Z'
        && b[..8].iter().chain(&b[9..15]).all(u8::is_ascii_digit);
    if !shape_ok {
        return None;
    }
    NaiveDateTime::parse_from_str(s, AMZ_DATE_FORMAT)
        .ok()
        .map(|n| n.and_utc())
}

/// Hex SHA-256 of `data`, the form used for payload hashes.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(sha256(data))
}

pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

pub(crate) fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC is defined for keys of every length; the error case cannot happen.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
        .expect("HMAC-SHA256 accepts keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// Derives the SigV4 signing key for one day, region and service:
/// `HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")`.
pub fn signing_key(secret_access_key: &str, date: &str, region: &str, service: &str) -> [u8; 32] {
    let k_secret = format!("AWS4{secret_access_key}");
    let k_date = hmac_sha256(k_secret.as_bytes(), date.as_bytes());
    let k_region = hmac_sha256(&k_date, region.as_bytes());
    let k_service = hmac_sha256(&k_region, service.as_bytes());
    hmac_sha256(&k_service, b"aws4_request")
}

/// Services whose requests are canonicalized the S3 way (no normalization, no
/// double encoding), as botocore's S3 signers do.
pub(crate) fn is_s3_service(service: &str) -> bool {
    matches!(service, "s3" | "s3-object-lambda")
}

pub(crate) fn uri_encode(bytes: &[u8], keep_slash: bool) -> String {
    let set = if keep_slash {
        UNRESERVED_AND_SLASH
    } else {
        UNRESERVED
    };
    percent_encode(bytes, set).to_string()
}

fn percent_decoded(s: &str) -> Vec<u8> {
    percent_decode(s.as_bytes()).collect()
}

/// The canonical URI of a wire path (see module docs for the S3 difference).
pub(crate) fn canonical_uri(path: &str, s3: bool) -> String {
    if path.is_empty() {
        return "/".to_string();
    }
    if s3 {
        path.split('/')
            .map(|segment| uri_encode(&percent_decoded(segment), false))
            .collect::<Vec<_>>()
            .join("/")
    } else {
        uri_encode(remove_dot_segments(path).as_bytes(), true)
    }
}

/// RFC 3986 dot-segment removal plus removal of empty segments, exactly as
/// botocore's `remove_dot_segments`: a trailing slash survives only when
/// something is left of the path.
fn remove_dot_segments(path: &str) -> String {
    let mut kept: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                kept.pop();
            }
            other => kept.push(other),
        }
    }
    let mut out = String::with_capacity(path.len());
    if path.starts_with('/') {
        out.push('/');
    }
    out.push_str(&kept.join("/"));
    if path.ends_with('/') && !kept.is_empty() {
        out.push('/');
    }
    out
}

/// The canonical query string of a raw (still encoded) query.
/// `exclude_signature` drops `X-Amz-Signature` (presigned requests).
pub(crate) fn canonical_query(query: &str, exclude_signature: bool) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .filter_map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let name = percent_decoded(name);
            if exclude_signature && name == b"X-Amz-Signature" {
                return None;
            }
            Some((
                uri_encode(&name, false),
                uri_encode(&percent_decoded(value), false),
            ))
        })
        .collect();
    pairs.sort();
    let mut out = String::with_capacity(query.len() + 8);
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(name);
        out.push('=');
        out.push_str(value);
    }
    out
}

/// Appends `value` trimmed, with every inner run of spaces/tabs collapsed to a
/// single space.
fn push_normalized_value(out: &mut Vec<u8>, value: &[u8]) {
    let words = value
        .split(|b| *b == b' ' || *b == b'\t')
        .filter(|word| !word.is_empty());
    for (i, word) in words.enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        out.extend_from_slice(word);
    }
}

/// The canonical headers block (`name:value\n` per signed header, in the order
/// given). A signed `host` missing from the map (HTTP/2) is taken from the URI
/// authority. Returns the name of a signed header that is absent.
pub(crate) fn canonical_headers(
    headers: &HeaderMap,
    uri: &Uri,
    signed_headers: &[String],
) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(signed_headers.len() * 32);
    for name in signed_headers {
        out.extend_from_slice(name.as_bytes());
        out.push(b':');
        let mut present = false;
        for value in headers.get_all(name.as_str()) {
            if present {
                out.push(b',');
            }
            push_normalized_value(&mut out, value.as_bytes());
            present = true;
        }
        if !present {
            match uri.authority() {
                Some(authority) if name == "host" => {
                    out.extend_from_slice(authority.host().as_bytes());
                    if let Some(port) = authority.port() {
                        out.push(b':');
                        out.extend_from_slice(port.as_str().as_bytes());
                    }
                }
                _ => return Err(name.clone()),
            }
        }
        out.push(b'\n');
    }
    Ok(out)
}

/// Everything that goes into a canonical request.
pub(crate) struct CanonicalInput<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    pub s3: bool,
    pub presigned: bool,
    pub headers_block: &'a [u8],
    pub signed_headers: &'a str,
    pub payload_hash: &'a str,
}

pub(crate) fn canonical_request(input: &CanonicalInput<'_>) -> Vec<u8> {
    let uri = canonical_uri(input.path, input.s3);
    let query = canonical_query(input.query, input.presigned);
    let mut out = Vec::with_capacity(
        input.method.len()
            + uri.len()
            + query.len()
            + input.headers_block.len()
            + input.signed_headers.len()
            + input.payload_hash.len()
            + 5,
    );
    out.extend_from_slice(input.method.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(uri.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(query.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(input.headers_block);
    out.push(b'\n');
    out.extend_from_slice(input.signed_headers.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(input.payload_hash.as_bytes());
    out
}

pub(crate) fn string_to_sign(amz_date: &str, scope: &str, canonical_request: &[u8]) -> String {
    format!(
        "{ALGORITHM}\n{amz_date}\n{scope}\n{}",
        sha256_hex(canonical_request)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signing_key_matches_the_documented_iam_example() {
        // From the AWS SigV4 documentation ("derive a signing key"), IAM example.
        let key = signing_key(
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "20150830",
            "us-east-1",
            "iam",
        );
        assert_eq!(
            hex::encode(key),
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"
        );
    }

    #[test]
    fn empty_hash_constant() {
        assert_eq!(sha256_hex(b""), EMPTY_SHA256);
    }

    #[test]
    fn amz_date_parsing_is_strict() {
        assert!(parse_amz_date("20150830T123600Z").is_some());
        for bad in [
            "",
            "20150830T123600",
            "20150830 123600Z",
            "2015083OT123600Z",
            "+2015083T123600Z",
            "20151330T123600Z",
            "20150830T253600Z",
            "20150830T123600Zx",
            "２０１５0830T123600Z",
        ] {
            assert!(parse_amz_date(bad).is_none(), "{bad}");
        }
        let t = parse_amz_date("20130524T000000Z").expect("valid");
        assert_eq!(format_amz_date(&t), "20130524T000000Z");
    }

    #[test]
    fn non_s3_paths_are_normalized_and_double_encoded() {
        let cases = [
            ("", "/"),
            ("/", "/"),
            ("//", "/"),
            ("/./", "/"),
            ("/./example", "/example"),
            ("//example//", "/example/"),
            ("/example/..", "/"),
            ("/example1/example2/../..", "/"),
            ("/a/b/../c/", "/a/c/"),
            ("/../..", "/"),
            ("/example space/", "/example%20space/"),
            ("/ሴ", "/%E1%88%B4"),
            ("/%E1%88%B4", "/%25E1%2588%25B4"),
            ("/a%20b", "/a%2520b"),
            ("/-._~AZaz09", "/-._~AZaz09"),
            ("/a:b", "/a%3Ab"),
        ];
        for (path, want) in cases {
            assert_eq!(canonical_uri(path, false), want, "{path:?}");
        }
    }

    #[test]
    fn s3_paths_are_encoded_once_and_not_normalized() {
        let cases = [
            ("/", "/"),
            ("/test.txt", "/test.txt"),
            ("/test%24file.text", "/test%24file.text"),
            ("/test$file.text", "/test%24file.text"),
            ("/bucket/a%20b", "/bucket/a%20b"),
            ("/bucket/a+b", "/bucket/a%2Bb"),
            ("/bucket/%e1%88%b4", "/bucket/%E1%88%B4"),
            ("/bucket/a%2Fb", "/bucket/a%2Fb"),
            ("/bucket//x/../y/./", "/bucket//x/../y/./"),
            ("/bucket/%", "/bucket/%25"),
        ];
        for (path, want) in cases {
            assert_eq!(canonical_uri(path, true), want, "{path:?}");
        }
    }

    #[test]
    fn query_is_decoded_reencoded_and_sorted() {
        let cases = [
            ("", ""),
            ("lifecycle", "lifecycle="),
            ("max-keys=2&prefix=J", "max-keys=2&prefix=J"),
            ("prefix=J&max-keys=2", "max-keys=2&prefix=J"),
            ("Param2=value2&Param1=value1", "Param1=value1&Param2=value2"),
            ("Param1=value2&Param1=Value1", "Param1=Value1&Param1=value2"),
            ("%E1%88%B4=bar", "%E1%88%B4=bar"),
            ("a=%2b&b=+&c=%7E&d=x%20y", "a=%2B&b=%2B&c=~&d=x%20y"),
            ("a=1&&b=2&", "a=1&b=2"),
            ("a=b=c", "a=b%3Dc"),
            ("Z=1&a=1", "Z=1&a=1"),
        ];
        for (query, want) in cases {
            assert_eq!(canonical_query(query, false), want, "{query:?}");
        }
        assert_eq!(
            canonical_query("a=1&X-Amz-Signature=abc&X-Amz-Date=x", true),
            "X-Amz-Date=x&a=1"
        );
        assert_eq!(
            canonical_query("X-Amz-Signature=abc", false),
            "X-Amz-Signature=abc"
        );
    }

    #[test]
    fn header_values_are_trimmed_collapsed_and_joined() {
        let mut headers = HeaderMap::new();
        headers.insert("host", http::HeaderValue::from_static("example.com"));
        headers.append(
            "my-header1",
            http::HeaderValue::from_static("  a   b \t c  "),
        );
        headers.append("my-header1", http::HeaderValue::from_static("d"));
        headers.append("my-header2", http::HeaderValue::from_static(""));
        let uri = Uri::from_static("/");
        let signed = ["host", "my-header1", "my-header2"].map(String::from);
        let block = canonical_headers(&headers, &uri, &signed).expect("present");
        assert_eq!(
            String::from_utf8(block).expect("ascii"),
            "host:example.com\nmy-header1:a b c,d\nmy-header2:\n"
        );
        let missing = ["host", "x-amz-meta-gone"].map(String::from);
        assert_eq!(
            canonical_headers(&headers, &uri, &missing),
            Err("x-amz-meta-gone".to_string())
        );
    }

    #[test]
    fn host_falls_back_to_the_uri_authority() {
        let headers = HeaderMap::new();
        let signed = ["host".to_string()];
        let uri = Uri::from_static("https://example.com:8443/x");
        let block = canonical_headers(&headers, &uri, &signed).expect("authority");
        assert_eq!(block, b"host:example.com:8443\n");
        let relative = Uri::from_static("/x");
        assert!(canonical_headers(&headers, &relative, &signed).is_err());
    }
}
