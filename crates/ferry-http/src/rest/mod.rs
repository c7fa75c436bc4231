//! The streaming REST route: S3 (and S3 Control) served by a
//! [`RestService`] that gets an `http::Request` whose body streams
//! ([`RestBody`]) instead of a parsed, buffered operation.
//!
//! The front door still does what it does for every service: pick the
//! service, authenticate with `ferry-sigv4` and ferry-core's key and session
//! resolution, audit, count. What differs: the body is not read before the
//! call (the payload hash and `aws-chunked` signatures are checked while it
//! streams), the request reaching the service is plain (auth header and
//! presign parameters removed, `aws-chunked` decoded), anonymous requests
//! are let through as [`RestCaller::Anonymous`] for the service to refuse or
//! allow (public access is a bucket-policy question), and the service tells
//! the front door what the audit record needs through a response extension
//! ([`RestAudit`]).

mod body;
pub(crate) mod route;

use std::net::SocketAddr;
use std::sync::Arc;

use async_trait::async_trait;
use axum::body::Body;
use axum::response::Response;
use ferry_core::RequestContext;
use ferry_core::audit::{AuditRecord, Caller, redact};
use ferry_sigv4::{AuthKind, PayloadHash, SignedRequest, Verified};
use ferry_types::{AccountId, Timestamp};
use http::request::Parts;
use http::{HeaderValue, Method, StatusCode};
use serde_json::Value;

pub use body::{RestBody, RestBodyError, TrailerHandle};

use crate::ApiError;
use crate::auth::{self, AuthFailure, Dialect};
use crate::dispatch::Exchange;
use crate::protocol::xml_escape;
use crate::server::FrontDoor;

/// What a [`RestService`] returns.
pub type RestResponse = http::Response<Body>;

/// Who is calling a [`RestService`].
#[derive(Debug, Clone)]
pub enum RestCaller {
    /// A request with a valid signature: the resolved principal (sessions
    /// included) and everything ferry-core's `authz` needs.
    Authenticated(RequestContext),
    /// A request with no authentication at all (no `Authorization` header,
    /// no `X-Amz-Signature`). Its principal is the anonymous one, with no
    /// identity policies: ferry-core answers `AccessDenied` unless a
    /// resource policy grants the operation to everyone.
    Anonymous(AnonymousRequest),
}

/// What is known about an anonymous request.
#[derive(Debug, Clone)]
pub struct AnonymousRequest {
    /// The request id returned to the caller.
    pub request_id: String,
    /// The region (Ferry's default: nothing signed names one).
    pub region: String,
    /// The client's IP address.
    pub source_ip: String,
    /// The client's User-Agent.
    pub user_agent: String,
    /// When the request arrived.
    pub time: Timestamp,
    /// The same request as ferry-core sees it: the anonymous principal,
    /// whose every call the policies decide (a grant to `*` lets it in).
    /// Also in the request's extensions.
    pub context: RequestContext,
}

impl RestCaller {
    /// The request as ferry-core sees it: the caller's principal, or the
    /// anonymous one.
    pub fn context(&self) -> &RequestContext {
        match self {
            RestCaller::Authenticated(ctx) => ctx,
            RestCaller::Anonymous(a) => &a.context,
        }
    }

    /// The request id, for error bodies and the `x-amz-request-id` header.
    pub fn request_id(&self) -> &str {
        match self {
            RestCaller::Authenticated(ctx) => &ctx.request_id,
            RestCaller::Anonymous(a) => &a.request_id,
        }
    }

    /// Whether the caller is anonymous.
    pub fn is_anonymous(&self) -> bool {
        matches!(self, RestCaller::Anonymous(_))
    }
}

/// How the request was authenticated (request extension, authenticated
/// requests only). Feeds S3's condition keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthInfo {
    /// Header or query-string (presigned URL) auth.
    pub auth_type: AuthType,
    /// `AWS4-HMAC-SHA256`.
    pub signature_version: &'static str,
    /// The access key the request was signed with.
    pub access_key_id: String,
    /// The region of the credential scope.
    pub region: String,
    /// When the request was signed (`X-Amz-Date`).
    pub signed_at: Timestamp,
    /// How the payload was covered by the signature.
    pub payload: PayloadHash,
}

/// `s3:authType`'s values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthType {
    /// `Authorization` header.
    RestHeader,
    /// Presigned URL.
    RestQueryString,
}

impl AuthType {
    /// `REST-HEADER` or `REST-QUERY-STRING`.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthType::RestHeader => "REST-HEADER",
            AuthType::RestQueryString => "REST-QUERY-STRING",
        }
    }
}

impl AuthInfo {
    /// The S3 condition keys this auth answers: `s3:authType`,
    /// `s3:signatureversion`, `s3:x-amz-content-sha256`.
    pub fn condition_keys(&self) -> Vec<(&'static str, String)> {
        let mut keys = vec![
            ("s3:authType", self.auth_type.as_str().to_string()),
            ("s3:signatureversion", self.signature_version.to_string()),
        ];
        if let Some(v) = self.payload.canonical_value() {
            keys.push(("s3:x-amz-content-sha256", v.to_string()));
        }
        keys
    }

    /// Milliseconds between signing and `now` (`s3:signatureAge`).
    pub fn signature_age_ms(&self, now: Timestamp) -> i64 {
        (now - self.signed_at).num_milliseconds().max(0)
    }
}

/// What the audit record needs about a call, set by the [`RestService`] as
/// a response extension. Without one the front door records the HTTP
/// status and an `unknown` event name.
#[derive(Debug, Clone, Default)]
pub struct RestAudit {
    /// The operation (`PutObject`, `GetBucketPolicy`): CloudTrail's
    /// `eventName`.
    pub event_name: String,
    /// The account owning the resource acted on (bucket owner), when it is
    /// not the caller's.
    pub recipient: Option<AccountId>,
    /// The error code, when the call failed (`NoSuchKey`, `AccessDenied`).
    pub error_code: Option<String>,
    /// The error message, when the call failed.
    pub error_message: Option<String>,
    /// Whether the operation only reads.
    pub read_only: bool,
    /// `requestParameters` (`bucketName`, `key`, ...); secrets are redacted
    /// by the front door.
    pub request_parameters: Option<Value>,
}

/// A service reached through the streaming REST route (S3, S3 Control).
#[async_trait]
pub trait RestService: Send + Sync + 'static {
    /// The SigV4 signing name that routes requests here (`s3`).
    fn signing_name(&self) -> &'static str;
    /// CloudTrail's `eventSource` (`s3.amazonaws.com`).
    fn event_source(&self) -> &'static str;
    /// Serves one request. The request is plain: no `Authorization` header,
    /// no presign parameters, `aws-chunked` decoded (`Content-Encoding`
    /// without it, `Content-Length` the decoded length). Its extensions
    /// hold the [`RequestContext`] (authenticated callers), the
    /// [`AuthInfo`] (authenticated callers) and a [`TrailerHandle`]
    /// (always). Put a [`RestAudit`] in the response's extensions.
    async fn call(&self, caller: RestCaller, req: http::Request<RestBody>) -> RestResponse;
}

/// Renders an error in S3's REST-XML form, with `x-amz-request-id`. A
/// `HEAD` response carries no body, as S3's.
pub fn s3_error_response(method: &Method, e: &ApiError, request_id: &str) -> RestResponse {
    let body = if method == Method::HEAD {
        Body::empty()
    } else {
        Body::from(format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code><Message>{}</Message><RequestId>{}</RequestId></Error>",
            xml_escape(&e.code),
            xml_escape(&e.message),
            xml_escape(request_id),
        ))
    };
    let mut resp = Response::new(body);
    *resp.status_mut() =
        StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml"),
    );
    set_request_id(&mut resp, request_id);
    resp
}

fn set_request_id(resp: &mut RestResponse, request_id: &str) {
    if let Ok(v) = HeaderValue::from_str(request_id) {
        resp.headers_mut().insert("x-amz-request-id", v);
    }
}

/// One REST request's way, from routing to the audit record.
pub(crate) async fn handle(
    door: &FrontDoor,
    rest: Arc<dyn RestService>,
    remote: SocketAddr,
    mut parts: Parts,
    body: Body,
) -> Response {
    let ex = Exchange::new(door, remote, &parts);
    let method = parts.method.clone();
    let params = route::audit_parameters(&parts);
    let failed = |error: ApiError, caller: Caller, region: &str| {
        let record = record(
            &ex,
            &*rest,
            route::operation_hint(&parts, &door.domains),
            caller,
            params.clone(),
            region,
        );
        (error, record)
    };

    let header_bytes: usize = parts
        .headers
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum();
    let prepared = if header_bytes > door.limits.max_header_bytes {
        Err(failed(
            ApiError::bad_request(
                "RequestHeaderSectionTooLarge",
                format!(
                    "Your request's headers are {header_bytes} bytes; the limit is {}",
                    door.limits.max_header_bytes
                ),
            ),
            Caller::Unknown {
                access_key_id: None,
            },
            ferry_types::DEFAULT_REGION,
        ))
    } else {
        match ferry_sigv4::parse(&parts.method, &parts.uri, &parts.headers) {
            Err(e) => Err(failed(
                Dialect::S3.sig_error(&e),
                Caller::Unknown {
                    access_key_id: None,
                },
                ferry_types::DEFAULT_REGION,
            )),
            Ok(None) if route::has_partial_presign(&parts) => Err(failed(
                ApiError::bad_request(
                    "AuthorizationQueryParametersError",
                    "Query-string authentication version 4 requires the X-Amz-Algorithm, \
                     X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, \
                     and X-Amz-Expires parameters.",
                ),
                Caller::Unknown {
                    access_key_id: None,
                },
                ferry_types::DEFAULT_REGION,
            )),
            Ok(None) => Ok(None),
            Ok(Some(signed)) => match authenticate(door, &ex, &parts, &signed).await {
                Ok((ctx, info, verified)) => Ok(Some((ctx, info, verified, signed))),
                Err(f) => {
                    let AuthFailure { error, caller } = *f;
                    Err(failed(error, caller, &signed.credential.region))
                }
            },
        }
    };
    let authenticated = match prepared {
        Ok(a) => a,
        Err((error, mut record)) => {
            record.error_code = Some(error.code.clone());
            record.error_message = Some(error.message.clone());
            record.decision_reason = error.reason.clone();
            let event = record.event_name.clone();
            door.ferry.audit().record(record).await;
            ex.count(rest.signing_name(), &event, error.status);
            return s3_error_response(&method, &error, &ex.request_id);
        }
    };

    let trailers = TrailerHandle::default();
    let (check, caller) = match authenticated {
        Some((ctx, info, verified, signed)) => {
            let check = match payload_check(&mut parts, &signed, &verified, &trailers) {
                Ok(c) => c,
                Err(error) => {
                    let mut r = record(
                        &ex,
                        &*rest,
                        route::operation_hint(&parts, &door.domains),
                        Caller::Principal(ctx.principal.clone()),
                        params.clone(),
                        &ctx.region,
                    );
                    r.error_code = Some(error.code.clone());
                    r.error_message = Some(error.message.clone());
                    let event = r.event_name.clone();
                    door.ferry.audit().record(r).await;
                    ex.count(rest.signing_name(), &event, error.status);
                    return s3_error_response(&method, &error, &ex.request_id);
                }
            };
            parts.extensions.insert(ctx.clone());
            parts.extensions.insert(info);
            (check, RestCaller::Authenticated(ctx))
        }
        None => {
            // An unsigned request goes on as the anonymous principal: the
            // policies decide, and only a grant to `*` lets it in.
            let ctx = RequestContext {
                request_id: ex.request_id.clone(),
                principal: ferry_core::Principal::anonymous(),
                region: ferry_types::DEFAULT_REGION.to_string(),
                source_ip: ex.remote.ip().to_string(),
                user_agent: ex.user_agent.clone(),
                secure_transport: false,
                time: ex.time,
                decision: Default::default(),
                signing_keys: Vec::new(),
            };
            parts.extensions.insert(ctx.clone());
            (
                body::Check::None,
                RestCaller::Anonymous(AnonymousRequest {
                    request_id: ex.request_id.clone(),
                    region: ferry_types::DEFAULT_REGION.to_string(),
                    source_ip: ex.remote.ip().to_string(),
                    user_agent: ex.user_agent.clone(),
                    time: ex.time,
                    context: ctx,
                }),
            )
        }
    };
    parts.extensions.insert(trailers);
    route::strip_auth(&mut parts);

    let (audit_caller, region, decision) = match &caller {
        RestCaller::Authenticated(ctx) => (
            Caller::Principal(ctx.principal.clone()),
            ctx.region.clone(),
            Some(ctx.decision.clone()),
        ),
        RestCaller::Anonymous(a) => (
            Caller::Principal(a.context.principal.clone()),
            a.region.clone(),
            Some(a.context.decision.clone()),
        ),
    };
    let request =
        http::Request::from_parts(parts, RestBody::new(body, check, door.limits.body_timeout));
    let mut resp = rest.call(caller, request).await;
    set_request_id(&mut resp, &ex.request_id);
    let status = resp.status().as_u16();
    let reported = resp.extensions_mut().remove::<RestAudit>();
    let mut r = record(&ex, &*rest, String::new(), audit_caller, params, &region);
    let reason = decision.and_then(|d| d.get());
    match reported {
        Some(a) => {
            r.event_name = if a.event_name.is_empty() {
                "unknown".into()
            } else {
                a.event_name
            };
            r.recipient = a.recipient;
            r.read_only = a.read_only;
            if let Some(mut p) = a.request_parameters {
                redact(&mut p);
                r.request_parameters = p;
            }
            r.error_code = a.error_code;
            r.error_message = a.error_message;
        }
        None => {
            r.event_name = "unknown".into();
            r.read_only = method == Method::GET || method == Method::HEAD;
            if status >= 400 {
                r.error_code = Some(
                    StatusCode::from_u16(status)
                        .ok()
                        .and_then(|s| s.canonical_reason())
                        .unwrap_or("Error")
                        .to_string(),
                );
            }
        }
    }
    r.decision_reason = match (&r.error_code, reason) {
        (_, Some(reason)) => Some(reason),
        (None, None) => Some("allowed: no permission is needed".to_string()),
        (Some(_), None) => None,
    };
    let event = r.event_name.clone();
    door.ferry.audit().record(r).await;
    ex.count(rest.signing_name(), &event, status);
    resp
}

fn record(
    ex: &Exchange,
    rest: &dyn RestService,
    event_name: String,
    caller: Caller,
    request_parameters: Value,
    region: &str,
) -> AuditRecord {
    AuditRecord {
        event_time: ex.time,
        event_source: rest.event_source().to_string(),
        event_name,
        region: region.to_string(),
        source_ip: ex.remote.ip().to_string(),
        user_agent: ex.user_agent.clone(),
        caller,
        request_parameters,
        error_code: None,
        error_message: None,
        request_id: ex.request_id.clone(),
        recipient: None,
        read_only: false,
        decision_reason: None,
    }
}

/// Verifies the signature and resolves the principal (the body is not read:
/// its hash is named by `x-amz-content-sha256` and checked as it streams).
async fn authenticate(
    door: &FrontDoor,
    ex: &Exchange,
    parts: &Parts,
    signed: &SignedRequest,
) -> Result<(RequestContext, AuthInfo, Verified), Box<AuthFailure>> {
    if signed.payload == PayloadHash::Absent {
        // S3 signs the payload line from this header; without it there is
        // nothing to sign the body with short of buffering it.
        return Err(Box::new(AuthFailure {
            error: ApiError::bad_request(
                "InvalidRequest",
                "Missing required header for this request: x-amz-content-sha256",
            ),
            caller: Caller::Unknown {
                access_key_id: Some(signed.access_key_id().to_string()),
            },
        }));
    }
    let (principal, verified) =
        auth::authenticate(&door.ferry, parts, signed, None, Dialect::S3).await?;
    let mut ctx = RequestContext {
        request_id: ex.request_id.clone(),
        principal,
        region: signed.credential.region.clone(),
        source_ip: ex.remote.ip().to_string(),
        user_agent: ex.user_agent.clone(),
        secure_transport: false,
        time: ex.time,
        decision: Default::default(),
        signing_keys: Vec::new(),
    };
    let info = AuthInfo {
        auth_type: match signed.kind {
            AuthKind::Header => AuthType::RestHeader,
            AuthKind::Presigned => AuthType::RestQueryString,
        },
        signature_version: ferry_sigv4::ALGORITHM,
        access_key_id: signed.access_key_id().to_string(),
        region: signed.credential.region.clone(),
        signed_at: verified.amz_date(),
        payload: signed.payload.clone(),
    };
    // Every S3 decision sees how the request was signed (a bucket policy
    // may allow only header-signed requests, for one).
    ctx.signing_keys = info.condition_keys();
    Ok((ctx, info, verified))
}

/// Sets up the check of the body named by `x-amz-content-sha256`, and for
/// `aws-chunked` bodies rewrites the headers to describe the decoded body.
fn payload_check(
    parts: &mut Parts,
    signed: &SignedRequest,
    verified: &Verified,
    trailers: &TrailerHandle,
) -> Result<body::Check, ApiError> {
    match &signed.payload {
        PayloadHash::Unsigned | PayloadHash::Absent => Ok(body::Check::None),
        PayloadHash::Sha256(hex) => Ok(body::Check::sha256(hex)),
        PayloadHash::Streaming { .. } => {
            // Chunk signatures chain from this request's own signature.
            let decoder = verified.decoder_for(&signed.payload).ok_or_else(|| {
                ApiError::bad_request(
                    "InvalidArgument",
                    "Unsupported x-amz-content-sha256 streaming mode",
                )
            })?;
            let decoded_len = route::decoded_content_length(&parts.headers)?;
            route::describe_decoded_body(&mut parts.headers, decoded_len);
            Ok(body::Check::chunked(decoder, decoded_len, trailers.clone()))
        }
    }
}

#[cfg(test)]
mod tests;
