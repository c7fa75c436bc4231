//! The front door's view of S3: a [`RestService`] that runs each request
//! through s3s and labels the answer for the audit trail.

use std::sync::Arc;

use async_trait::async_trait;
use axum::body::Body;
use ferry_core::Ferry;
use ferry_http::{
    ApiError, RestAudit, RestBody, RestCaller, RestResponse, RestService, s3_error_response,
};
use http::{Method, StatusCode};
use s3s::service::S3ServiceBuilder;

use crate::audit::AuditSlot;
use crate::backend::Backend;
use crate::control;
use crate::host::FerryHost;
use crate::ops::FerryS3;

/// S3 on Ferry: register with `FrontDoor::with_rest`.
pub struct S3Service {
    s3s: s3s::service::S3Service,
    /// For S3 Control and access point hosts, answered before s3s.
    backend: Arc<dyn Backend>,
    host: FerryHost,
}

impl S3Service {
    /// S3 over ferry-core, with virtual hosts under `domains`
    /// (`BUCKET.<domain>`); other hosts are path style.
    pub fn new(ferry: Arc<Ferry>, domains: Vec<String>) -> Self {
        Self::with_backend(ferry, domains)
    }

    /// S3 over any [`Backend`] (ferry-core's `Ferry`; tests use a fake),
    /// with virtual hosts under `domains` (`BUCKET.<domain>`); other hosts
    /// are path style.
    pub fn with_backend(backend: Arc<dyn Backend>, domains: Vec<String>) -> Self {
        // No `S3Auth` and no `S3Access`: the front door authenticated the
        // request and ferry-core authorizes each operation.
        let host = FerryHost::new(domains);
        let mut builder = S3ServiceBuilder::new(FerryS3::new(backend.clone()));
        builder.set_host(host.clone());
        S3Service {
            s3s: builder.build(),
            backend,
            host,
        }
    }

    /// For a host `NAME-ACCOUNT.<domain>` naming an existing access point,
    /// the host `ALIAS.<domain>[:port]` that addresses it through its alias:
    /// s3s then reads the alias as the bucket and the core applies both the
    /// access point's and the bucket's policy. A bucket that happens to be
    /// named like `NAME-ACCOUNT` is still reachable whenever no such access
    /// point exists.
    async fn access_point_host(&self, headers: &http::HeaderMap) -> Option<http::HeaderValue> {
        let raw = headers.get(http::header::HOST)?.to_str().ok()?;
        let bare = crate::host::strip_port(raw);
        let port = raw.get(bare.len()..).unwrap_or("");
        let bare = bare.trim_end_matches('.').to_ascii_lowercase();
        let prefix = crate::host::subdomain(&bare, self.host.domains())?;
        let (name, account) = crate::host::access_point_of(prefix)?;
        let domain = bare.get(prefix.len() + 1..)?;
        let alias = match self.backend.access_point_alias(account, name).await {
            Ok(a) => a?,
            Err(e) => {
                // The request then goes on as a bucket named by the host
                // and fails there; the lookup's failure is for the log.
                tracing::error!(error = %e, "access point host lookup failed");
                return None;
            }
        };
        http::HeaderValue::from_str(&format!("{alias}.{domain}{port}")).ok()
    }
}

#[async_trait]
impl RestService for S3Service {
    fn signing_name(&self) -> &'static str {
        "s3"
    }

    fn event_source(&self) -> &'static str {
        "s3.amazonaws.com"
    }

    async fn call(&self, caller: RestCaller, req: http::Request<RestBody>) -> RestResponse {
        let method = req.method().clone();
        let hint = operation_hint(&req);
        let expects_continue = expects_continue(req.headers());
        let req_headers_len = req.headers().get(http::header::CONTENT_LENGTH).cloned();
        if is_sigv2_presigned(req.uri()) {
            // Signature V2 is not verified by the front door, so such a
            // request arrives as anonymous; say why it fails instead.
            let error = ApiError::bad_request(
                "InvalidRequest",
                "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.",
            );
            let mut resp = s3_error_response(&method, &error, caller.request_id());
            resp.extensions_mut().insert(RestAudit {
                event_name: hint,
                error_code: Some(error.code),
                error_message: Some(error.message),
                ..Default::default()
            });
            return resp;
        }
        if control::is_control(req.uri().path(), req.headers(), self.host.domains()) {
            let mut resp = control::handle(&*self.backend, self.host.domains(), caller, req).await;
            let status = resp.status();
            close_if_continue_unanswered(
                resp.headers_mut(),
                status,
                expects_continue,
                req_headers_len.as_ref(),
            );
            return resp;
        }
        let slot = AuditSlot::default();
        let (mut parts, body) = req.into_parts();
        if let Some(host) = self.access_point_host(&parts.headers).await {
            parts.headers.insert(http::header::HOST, host);
        }
        // The RequestContext (authenticated callers) is already among the
        // extensions; the slot joins it, and s3s hands both to the operation.
        parts.extensions.insert(slot.clone());
        let req = http::Request::from_parts(parts, s3s::Body::http_body_unsync(body));
        let resp = match self.s3s.call(req).await {
            Ok(resp) => resp,
            Err(e) => {
                // s3s renders its own errors as responses; an Err here is a
                // failure to render one.
                tracing::error!(error = ?e, "s3s failed to answer");
                let error = ApiError::new(
                    500,
                    "InternalError",
                    "We encountered an internal error. Please try again.",
                );
                let mut resp = s3_error_response(&method, &error, caller.request_id());
                resp.extensions_mut().insert(RestAudit {
                    event_name: hint,
                    error_code: Some(error.code),
                    ..Default::default()
                });
                return resp;
            }
        };
        let (mut parts, body) = resp.into_parts();
        let audit = slot.take();
        if audit.is_none()
            && parts.status == StatusCode::NOT_IMPLEMENTED
            && body
                .bytes()
                .is_some_and(|b| error_message(&b).as_deref() == Some("Unknown operation"))
        {
            // No S3 operation has this method and path (`FOO /`, `DELETE /`):
            // S3 says 405, and an unknown request is the client's error.
            let error = ApiError::new(
                405,
                "MethodNotAllowed",
                "The specified method is not allowed against this resource.",
            );
            let mut resp = s3_error_response(&method, &error, caller.request_id());
            resp.extensions_mut().insert(RestAudit {
                event_name: hint,
                error_code: Some(error.code),
                error_message: Some(error.message),
                ..Default::default()
            });
            return resp;
        }
        let mut audit = match audit {
            Some(a) => a,
            // s3s answered before any operation here ran (an unknown or
            // unimplemented operation, a malformed request).
            None => RestAudit {
                event_name: hint,
                read_only: method == Method::GET || method == Method::HEAD,
                error_code: (parts.status.as_u16() >= 400)
                    .then(|| body.bytes().and_then(|b| error_code(&b)))
                    .flatten(),
                ..Default::default()
            },
        };
        // The bucket's owner gets the record too (cross-account calls show
        // in the owner's trail, as on CloudTrail).
        if audit.recipient.is_none()
            && let Some(bucket) = audit
                .request_parameters
                .as_ref()
                .and_then(|p| p.get("bucketName"))
                .and_then(|b| b.as_str())
        {
            audit.recipient = self.backend.bucket_owner(bucket).await;
        }
        // A ranged HEAD answers 206 like the GET it describes (s3s always
        // says 200 for HEAD).
        if method == Method::HEAD
            && parts.status == StatusCode::OK
            && parts.headers.contains_key(http::header::CONTENT_RANGE)
        {
            parts.status = StatusCode::PARTIAL_CONTENT;
        }
        let body = if parts.status == StatusCode::NOT_MODIFIED {
            // 304 carries no body (s3s renders its error document).
            parts.headers.remove(http::header::CONTENT_LENGTH);
            parts.headers.remove(http::header::CONTENT_TYPE);
            Body::empty()
        } else {
            Body::new(body)
        };
        close_if_continue_unanswered(
            &mut parts.headers,
            parts.status,
            expects_continue,
            req_headers_len.as_ref(),
        );
        let mut resp = http::Response::from_parts(parts, body);
        resp.extensions_mut().insert(audit);
        resp
    }
}

/// botocore (boto3, the aws CLI) sends `Expect: 100-continue` even for
/// empty bodies; a final answer that came without a `100 Continue` (an
/// empty body, or a refusal before the body was read) leaves its
/// connection unable to read the next answer (boto/botocore#3755). A fresh
/// connection avoids that.
fn close_if_continue_unanswered(
    headers: &mut http::HeaderMap,
    status: StatusCode,
    expects_continue: bool,
    request_length: Option<&http::HeaderValue>,
) {
    if expects_continue
        && (status.as_u16() >= 300 || request_length.is_some_and(|v| v.as_bytes() == b"0"))
    {
        headers.insert(
            http::header::CONNECTION,
            http::HeaderValue::from_static("close"),
        );
    }
}

/// Whether the client asked for `100 Continue` before sending its body.
fn expects_continue(headers: &http::HeaderMap) -> bool {
    headers
        .get(http::header::EXPECT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("100-continue"))
}

/// A presigned URL of Signature Version 2 (`AWSAccessKeyId`, `Signature`).
fn is_sigv2_presigned(uri: &http::Uri) -> bool {
    uri.query().unwrap_or("").split('&').any(|pair| {
        let name = pair.split_once('=').map_or(pair, |(k, _)| k);
        name == "Signature" || name == "AWSAccessKeyId"
    })
}

/// The text of one element of an S3 error document (s3s's, which holds no
/// nested elements or escapes in these two).
fn error_field(body: &[u8], name: &str) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let open = format!("<{name}>");
    let start = text.find(&open)? + open.len();
    let end = text.get(start..)?.find(&format!("</{name}>"))? + start;
    text.get(start..end).map(str::to_string)
}

/// The `<Code>` of an S3 error document.
fn error_code(body: &[u8]) -> Option<String> {
    error_field(body, "Code")
}

/// The `<Message>` of an S3 error document.
fn error_message(body: &[u8]) -> Option<String> {
    error_field(body, "Message")
}

/// A guess at the operation from the method and whether a bucket and key
/// are named, for requests s3s answered before any operation ran.
fn operation_hint<B>(req: &http::Request<B>) -> String {
    let path = req.uri().path().trim_start_matches('/');
    let (bucket, key) = match path.split_once('/') {
        Some((_, k)) => (true, !k.is_empty()),
        None => (!path.is_empty(), false),
    };
    let op = match (req.method().as_str(), bucket, key) {
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
