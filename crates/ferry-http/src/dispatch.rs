//! One request's way: pick the service, read the body within limits,
//! parse the operation, authenticate, call the adapter, render, audit,
//! count.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use bytes::Bytes;
use ferry_core::RequestContext;
use ferry_core::audit::{AuditRecord, Caller, redact};
use http::request::Parts;
use http_body_util::{BodyExt, Limited};
use serde_json::Value;

use crate::auth::{self, AuthFailure, Dialect};
use crate::server::FrontDoor;
use crate::{ApiError, ApiRequest, Params, Protocol, Service};

/// Everything known about a request for its audit record and metrics.
pub(crate) struct Exchange {
    pub request_id: String,
    pub started: Instant,
    pub remote: SocketAddr,
    pub user_agent: String,
    pub time: ferry_types::Timestamp,
}

impl Exchange {
    pub(crate) fn new(door: &FrontDoor, remote: SocketAddr, parts: &Parts) -> Self {
        Exchange {
            request_id: ferry_types::request_id(),
            started: Instant::now(),
            remote,
            user_agent: parts
                .headers
                .get(http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string(),
            time: door.ferry.now(),
        }
    }

    pub(crate) fn count(&self, service: &str, action: &str, status: u16) {
        let labels = [
            ("service", service.to_string()),
            ("action", action.to_string()),
            ("status", status.to_string()),
        ];
        metrics::counter!("ferry_requests_total", &labels).increment(1);
        metrics::histogram!(
            "ferry_request_duration_seconds",
            &[
                ("service", service.to_string()),
                ("action", action.to_string())
            ]
        )
        .record(self.started.elapsed().as_secs_f64());
    }
}

pub(crate) async fn handle(door: Arc<FrontDoor>, remote: SocketAddr, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    if parts.uri.path().starts_with("/_ferry/") {
        return crate::admin::handle(&door, remote, parts, body).await;
    }
    // S3 takes the streaming route: by its signing name, its virtual hosts,
    // or as the anonymous fallback. JSON calls (X-Amz-Target) never do.
    if let Some(rest) = &door.rest
        && !parts.headers.contains_key("x-amz-target")
        && crate::rest::route::goes_to_rest(&door, &parts, rest.signing_name())
    {
        return crate::rest::handle(&door, rest.clone(), remote, parts, body).await;
    }
    let ex = Exchange::new(&door, remote, &parts);
    let header_bytes: usize = parts
        .headers
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum();

    // Pick the service: JSON services by X-Amz-Target, the rest by the
    // SigV4 credential scope.
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let (service, operation_from_target) = match &target {
        Some(t) => {
            let (prefix, op) = t.rsplit_once('.').unwrap_or((t.as_str(), ""));
            match door.by_target_prefix(prefix) {
                Some(s) => (s.clone(), Some(op.to_string())),
                None => {
                    let p = Protocol::Json {
                        target_prefix: "",
                        version: "1.1",
                    };
                    ex.count("unknown", "unknown", 400);
                    return p.error(
                        &ApiError::bad_request(
                            "UnknownOperationException",
                            format!("Ferry does not serve the target {t:?}"),
                        ),
                        &ex.request_id,
                    );
                }
            }
        }
        None => {
            let scope_service = ferry_sigv4::parse(&parts.method, &parts.uri, &parts.headers)
                .ok()
                .flatten()
                .map(|s| s.credential.service.clone());
            let query = Protocol::Query {
                xmlns: "https://sts.amazonaws.com/doc/2011-06-15/",
            };
            match scope_service
                .as_deref()
                .and_then(|s| door.by_signing_name(s))
            {
                Some(s) => (s.clone(), None),
                None => {
                    let (status, code, msg) = match scope_service {
                        None => match ferry_sigv4::parse(&parts.method, &parts.uri, &parts.headers)
                        {
                            Err(e) => (e.http_status(), e.code().to_string(), e.to_string()),
                            Ok(_) => (
                                403,
                                "MissingAuthenticationToken".to_string(),
                                "Request is missing Authentication Token".to_string(),
                            ),
                        },
                        Some(s) => (
                            400,
                            "InvalidAction".to_string(),
                            format!("Ferry does not serve the service {s:?}"),
                        ),
                    };
                    ex.count("unknown", "unknown", status);
                    return query.error(&ApiError::new(status, code, msg), &ex.request_id);
                }
            }
        }
    };
    // A JSON request names its operation in X-Amz-Target; without one, a
    // service that also speaks query (SQS for older SDKs) reads the form.
    let protocol = match (&target, service.query_protocol()) {
        (None, Some(query)) => query,
        _ => service.protocol(),
    };
    let fail = |status: u16, code: &str, msg: String| {
        ex.count(service.signing_name(), "unknown", status);
        protocol.error(&ApiError::new(status, code, msg), &ex.request_id)
    };
    if header_bytes > door.limits.max_header_bytes {
        return fail(
            431,
            "RequestHeaderSectionTooLarge",
            format!(
                "Your request's headers are {header_bytes} bytes; the limit is {}",
                door.limits.max_header_bytes
            ),
        );
    }

    let body = match read_body(&door, body).await {
        Ok(b) => b,
        Err(e) => return fail(e.status, &e.code, e.message),
    };

    let request = match parse_request(protocol, &parts, &body, operation_from_target) {
        Ok(r) => r,
        Err(e) => return fail(e.status, &e.code, e.message),
    };
    if !service.has_operation(&request.operation) {
        let e = match protocol {
            Protocol::Json { .. } => ApiError::bad_request(
                "UnknownOperationException",
                format!("Unknown operation {:?}", request.operation),
            ),
            Protocol::Query { .. } => ApiError::bad_request(
                "InvalidAction",
                format!(
                    "Could not find operation {} for version {}",
                    request.operation,
                    request.params.get("Version").unwrap_or("")
                ),
            ),
        };
        ex.count(service.signing_name(), "unknown", e.status);
        return protocol.error(&e, &ex.request_id);
    }

    let dialect = Dialect::Aws(protocol);
    let principal = match auth::parse(&parts, dialect) {
        Ok(signed) => {
            let region = signed.credential.region.clone();
            let body_hash = ferry_sigv4::sha256_hex(&body);
            auth::authenticate(&door.ferry, &parts, &signed, Some(&body_hash), dialect)
                .await
                .map(|(p, _)| (p, region))
        }
        Err(f) => Err(f),
    };
    let (principal, region) = match principal {
        Ok(p) => p,
        Err(failure) => {
            let AuthFailure { error, caller } = *failure;
            ex.count(service.signing_name(), &request.operation, error.status);
            audit(
                &door,
                &ex,
                &*service,
                request,
                caller,
                None,
                Err(&error),
                false,
                ferry_types::DEFAULT_REGION,
            )
            .await;
            return protocol.error(&error, &ex.request_id);
        }
    };

    let ctx = RequestContext {
        request_id: ex.request_id.clone(),
        principal: principal.clone(),
        region: region.clone(),
        source_ip: ex.remote.ip().to_string(),
        user_agent: ex.user_agent.clone(),
        secure_transport: false,
        time: ex.time,
        decision: Default::default(),
        signing_keys: Vec::new(),
    };
    let result = service.call(&ctx, &request).await;
    let outcome = result.outcome.as_ref().map(|_| ()).map_err(Clone::clone);
    let (response, status) = match result.outcome {
        Ok(success) => (
            protocol.success(&request.operation, success, &ex.request_id),
            200,
        ),
        Err(ref e) => (protocol.error(e, &ex.request_id), e.status),
    };
    let outcome = outcome.map_err(|mut e| {
        e.reason = e.reason.or_else(|| ctx.decision.get());
        e
    });
    ex.count(service.signing_name(), &request.operation, status);
    audit(
        &door,
        &ex,
        &*service,
        request,
        Caller::Principal(principal),
        result.recipient,
        outcome.as_ref().map(|_| ctx.decision.get()),
        result.read_only,
        &region,
    )
    .await;
    response
}

pub(crate) async fn read_body(door: &FrontDoor, body: Body) -> Result<Bytes, ApiError> {
    let limited = Limited::new(body, door.limits.max_body_bytes);
    match tokio::time::timeout(door.limits.body_timeout, limited.collect()).await {
        Err(_) => Err(ApiError::new(
            408,
            "RequestTimeout",
            "Your socket connection to the server was not read from or written to within the timeout period.",
        )),
        Ok(Err(e)) => {
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                Err(ApiError::new(
                    413,
                    "RequestEntityTooLarge",
                    format!(
                        "Request body is larger than the limit of {} bytes",
                        door.limits.max_body_bytes
                    ),
                ))
            } else {
                Err(ApiError::bad_request(
                    "IncompleteBody",
                    format!("The request body could not be read: {e}"),
                ))
            }
        }
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
    }
}

fn parse_request(
    protocol: Protocol,
    parts: &Parts,
    body: &[u8],
    operation_from_target: Option<String>,
) -> Result<ApiRequest, ApiError> {
    match protocol {
        Protocol::Json { .. } => {
            let params = if body.iter().all(u8::is_ascii_whitespace) {
                Value::Object(Default::default())
            } else {
                serde_json::from_slice::<Value>(body).map_err(|e| {
                    ApiError::bad_request(
                        "SerializationException",
                        format!("The request body is not valid JSON: {e}"),
                    )
                })?
            };
            if !params.is_object() {
                return Err(ApiError::bad_request(
                    "SerializationException",
                    "The request body must be a JSON object",
                ));
            }
            Ok(ApiRequest {
                operation: operation_from_target.unwrap_or_default(),
                params: Params::Json(params),
                host: host_of(parts),
                path: parts.uri.path().to_string(),
            })
        }
        Protocol::Query { .. } => {
            let mut fields: Vec<(String, String)> = Vec::new();
            if let Some(q) = parts.uri.query() {
                fields.extend(
                    form_urlencoded::parse(q.as_bytes())
                        .filter(|(k, _)| !k.starts_with("X-Amz-"))
                        .map(|(k, v)| (k.into_owned(), v.into_owned())),
                );
            }
            if parts.method == http::Method::POST {
                fields.extend(
                    form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())),
                );
            }
            let mut seen = std::collections::HashSet::new();
            for (k, _) in &fields {
                if !seen.insert(k.as_str()) {
                    return Err(ApiError::bad_request(
                        "InvalidParameterCombination",
                        format!("The parameter {k} is given more than once"),
                    ));
                }
            }
            let operation = fields
                .iter()
                .find(|(k, _)| k == "Action")
                .map(|(_, v)| v.clone())
                .ok_or_else(|| {
                    ApiError::bad_request("MissingAction", "Could not find operation to perform")
                })?;
            Ok(ApiRequest {
                operation,
                params: Params::Query(fields),
                host: host_of(parts),
                path: parts.uri.path().to_string(),
            })
        }
    }
}

fn host_of(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| parts.uri.authority().map(|a| a.to_string()))
}

#[allow(clippy::too_many_arguments)]
async fn audit(
    door: &FrontDoor,
    ex: &Exchange,
    service: &dyn Service,
    request: ApiRequest,
    caller: Caller,
    recipient: Option<ferry_types::AccountId>,
    outcome: Result<Option<String>, &ApiError>,
    read_only: bool,
    region: &str,
) {
    let mut params = request.params.into_json();
    redact(&mut params);
    let (error_code, error_message, reason) = match outcome {
        Ok(reason) => (
            None,
            None,
            Some(reason.unwrap_or_else(|| "allowed: no permission is needed".to_string())),
        ),
        Err(e) => (
            Some(e.code.clone()),
            Some(e.message.clone()),
            e.reason.clone(),
        ),
    };
    door.ferry
        .audit()
        .record(AuditRecord {
            event_time: ex.time,
            event_source: service.event_source().to_string(),
            event_name: request.operation,
            region: region.to_string(),
            source_ip: ex.remote.ip().to_string(),
            user_agent: ex.user_agent.clone(),
            caller,
            request_parameters: params,
            error_code,
            error_message,
            request_id: ex.request_id.clone(),
            recipient,
            read_only,
            decision_reason: reason,
        })
        .await;
}
