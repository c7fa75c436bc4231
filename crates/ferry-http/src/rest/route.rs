//! Which requests take the REST route, and the header and URI surgery that
//! turns an authenticated S3 request into a plain one.

use http::request::Parts;
use http::{HeaderMap, HeaderValue, Uri};
use percent_encoding::percent_decode_str;
use serde_json::{Value, json};

use crate::ApiError;
use crate::server::FrontDoor;

/// The presigned-URL parameters, removed before the REST service sees the
/// request (s3s without its own auth would otherwise try to check them).
const PRESIGN_PARAMS: [&str; 7] = [
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
    "X-Amz-Security-Token",
];

fn query_pairs(parts: &Parts) -> impl Iterator<Item = (String, &str)> {
    parts
        .uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode_str(k).decode_utf8_lossy().into_owned(), v)
        })
}

fn query_has(parts: &Parts, name: &str) -> bool {
    query_pairs(parts).any(|(k, _)| k.eq_ignore_ascii_case(name))
}

/// The host the client addressed, lowercased, without the port.
pub(crate) fn host(parts: &Parts) -> Option<String> {
    let raw = parts
        .headers
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| parts.uri.authority().map(|a| a.to_string()))?;
    // `[::1]:4566` keeps its brackets; `name:4566` loses the port.
    let host = match raw.rsplit_once(':') {
        Some((h, port)) if !h.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => raw.as_str(),
    };
    Some(host.trim_end_matches('.').to_ascii_lowercase())
}

/// The part of `host` before one of `domains` (`bucket` for
/// `bucket.localhost`), if it is a proper subdomain of one.
pub(crate) fn subdomain<'a>(host: &'a str, domains: &[String]) -> Option<&'a str> {
    domains.iter().find_map(|d| {
        let d = d.trim_end_matches('.');
        let prefix = host.strip_suffix(d)?.strip_suffix('.')?;
        (!prefix.is_empty() && !d.is_empty()).then_some(prefix)
    })
}

/// The service name of the SigV4 credential scope, read leniently so that a
/// malformed S3 signature still gets an S3 error: `Credential=AKID/date/
/// region/SERVICE/aws4_request` in the `Authorization` header, or the
/// `X-Amz-Credential` query parameter.
pub(crate) fn scope_service_hint(parts: &Parts) -> Option<String> {
    let from_header = parts
        .headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|a| {
            let rest = a.split_once("Credential=")?.1;
            let end = rest.find([',', ' ']).unwrap_or(rest.len());
            rest.get(..end).map(str::to_string)
        });
    let credential = from_header.or_else(|| {
        query_pairs(parts)
            .find(|(k, _)| k == "X-Amz-Credential")
            .map(|(_, v)| percent_decode_str(v).decode_utf8_lossy().into_owned())
    })?;
    let mut fields = credential.rsplit('/');
    let _terminator = fields.next()?;
    fields.next().map(str::to_string)
}

/// Whether the request carries any authentication (even broken).
fn has_auth(parts: &Parts) -> bool {
    parts.headers.contains_key(http::header::AUTHORIZATION)
        || query_has(parts, "X-Amz-Signature")
        || query_has(parts, "X-Amz-Algorithm")
        || query_has(parts, "X-Amz-Credential")
}

/// Whether the request has the shape of a query or JSON service call
/// (`Action=` in the query or a form or AWS-JSON body): those keep their
/// own answers to missing auth.
fn looks_like_rpc(parts: &Parts) -> bool {
    let content_type = parts
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    query_has(parts, "Action")
        || content_type.starts_with("application/x-www-form-urlencoded")
        || content_type.starts_with("application/x-amz-json")
}

/// Whether a request without `X-Amz-Target` goes to the REST service named
/// `rest_name`: signed for it; else not signed for a JSON/query service and
/// either addressed to a subdomain of a configured domain (virtual-hosted
/// buckets, access points, S3 Control) or carrying no auth at all and not
/// shaped like a query/JSON call (anonymous S3).
pub(crate) fn goes_to_rest(door: &FrontDoor, parts: &Parts, rest_name: &str) -> bool {
    match scope_service_hint(parts) {
        Some(s) if s == rest_name => return true,
        Some(s) if door.by_signing_name(&s).is_some() => return false,
        _ => {}
    }
    if host(parts).is_some_and(|h| subdomain(&h, &door.domains).is_some()) {
        return true;
    }
    !has_auth(parts) && !looks_like_rpc(parts)
}

/// A presigned URL missing `X-Amz-Algorithm` but carrying other parts: an
/// error, not an anonymous request.
pub(crate) fn has_partial_presign(parts: &Parts) -> bool {
    query_has(parts, "X-Amz-Signature") || query_has(parts, "X-Amz-Credential")
}

/// Removes `Authorization` and the presign parameters, so the service sees
/// a plain request.
pub(crate) fn strip_auth(parts: &mut Parts) {
    parts.headers.remove(http::header::AUTHORIZATION);
    let Some(query) = parts.uri.query() else {
        return;
    };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| {
            let key = pair.split_once('=').map_or(*pair, |(k, _)| k);
            let key = percent_decode_str(key).decode_utf8_lossy();
            !pair.is_empty() && !PRESIGN_PARAMS.iter().any(|p| p.eq_ignore_ascii_case(&key))
        })
        .collect();
    let path_and_query = if kept.is_empty() {
        parts.uri.path().to_string()
    } else {
        format!("{}?{}", parts.uri.path(), kept.join("&"))
    };
    let mut uri = http::uri::Parts::from(parts.uri.clone());
    match path_and_query.parse() {
        Ok(pq) => uri.path_and_query = Some(pq),
        // A subset of a query that parsed cannot fail to parse; if it ever
        // did, keep the URI as it came (the service then refuses it).
        Err(_) => return,
    }
    if let Ok(u) = Uri::from_parts(uri) {
        parts.uri = u;
    }
}

/// `x-amz-decoded-content-length`, the payload size of an `aws-chunked`
/// body.
pub(crate) fn decoded_content_length(headers: &HeaderMap) -> Result<Option<u64>, ApiError> {
    match headers.get("x-amz-decoded-content-length") {
        None => Ok(None),
        Some(v) => v
            .to_str()
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .map(Some)
            .ok_or_else(|| {
                ApiError::bad_request(
                    "InvalidArgument",
                    "x-amz-decoded-content-length must be a number of bytes",
                )
            }),
    }
}

/// Rewrites the headers of an `aws-chunked` request to describe the decoded
/// body the service will read: `aws-chunked` leaves `Content-Encoding`, and
/// `Content-Length` becomes the decoded length (or goes, if unknown).
pub(crate) fn describe_decoded_body(headers: &mut HeaderMap, decoded_len: Option<u64>) {
    let codings: Vec<String> = headers
        .get_all(http::header::CONTENT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|c| !c.is_empty() && !c.eq_ignore_ascii_case("aws-chunked"))
        .map(str::to_string)
        .collect();
    headers.remove(http::header::CONTENT_ENCODING);
    if !codings.is_empty()
        && let Ok(v) = HeaderValue::from_str(&codings.join(", "))
    {
        headers.insert(http::header::CONTENT_ENCODING, v);
    }
    match decoded_len {
        Some(n) => {
            headers.insert(http::header::CONTENT_LENGTH, HeaderValue::from(n));
        }
        None => {
            headers.remove(http::header::CONTENT_LENGTH);
        }
    }
}

/// `requestParameters` for a record written before the service parsed the
/// request (failed authentication).
pub(crate) fn audit_parameters(parts: &Parts) -> Value {
    json!({
        "Host": host(parts).unwrap_or_default(),
        "path": parts.uri.path(),
    })
}

/// A best guess at the S3 operation, for the audit record and metrics of a
/// request refused before the service parsed it: the method and whether a
/// bucket and key are named (path style, or virtual-hosted under one of
/// `domains`).
pub(crate) fn operation_hint(parts: &Parts, domains: &[String]) -> String {
    let virtual_bucket = host(parts).is_some_and(|h| subdomain(&h, domains).is_some());
    let path = parts.uri.path().trim_start_matches('/');
    let (bucket, key) = if virtual_bucket {
        (true, !path.is_empty())
    } else {
        match path.split_once('/') {
            Some((_, key)) => (true, !key.is_empty()),
            None => (!path.is_empty(), false),
        }
    };
    let op = match (parts.method.as_str(), bucket, key) {
        ("GET", false, _) => "ListBuckets",
        ("GET", true, false) => "ListObjects",
        ("GET", true, true) => "GetObject",
        ("HEAD", _, false) => "HeadBucket",
        ("HEAD", _, true) => "HeadObject",
        ("PUT", _, false) => "CreateBucket",
        ("PUT", _, true) => "PutObject",
        ("DELETE", _, false) => "DeleteBucket",
        ("DELETE", _, true) => "DeleteObject",
        ("POST", _, _) => "PostObject",
        _ => "unknown",
    };
    op.to_string()
}
