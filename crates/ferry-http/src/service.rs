use async_trait::async_trait;
use ferry_core::{CoreError, RequestContext};
use ferry_types::AccountId;
use serde_json::Value;

use crate::Protocol;

/// A request's parameters as its protocol carries them.
#[derive(Debug, Clone)]
pub enum Params {
    /// Query protocol: the form fields, in order, `Action` and `Version`
    /// included.
    Query(Vec<(String, String)>),
    /// JSON protocol: the body (an object).
    Json(Value),
}

impl Params {
    /// The first value of a query parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        match self {
            Params::Query(p) => p.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()),
            Params::Json(v) => v.get(name).and_then(Value::as_str),
        }
    }

    /// The parameters as JSON, for the audit record (the request is done
    /// with them by then: moved, not copied).
    pub fn into_json(self) -> Value {
        match self {
            Params::Query(p) => Value::Object(
                p.into_iter()
                    .filter(|(k, _)| k != "Action" && k != "Version")
                    .map(|(k, v)| (k, Value::String(v)))
                    .collect(),
            ),
            Params::Json(v) => v,
        }
    }
}

/// One parsed request for an adapter.
#[derive(Debug, Clone)]
pub struct ApiRequest {
    /// The operation name (`GetCallerIdentity`, `CreateAccount`, ...).
    pub operation: String,
    /// Its parameters.
    pub params: Params,
    /// The request's `Host` header (queue URLs are built from it).
    pub host: Option<String>,
    /// The request's path (an SQS query request may name its queue by
    /// posting to the queue URL).
    pub path: String,
}

/// An error in AWS terms: the code, the message, the HTTP status.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    /// AWS error code.
    pub code: String,
    /// Human message.
    pub message: String,
    /// HTTP status.
    pub status: u16,
    /// The authorization reason, for the audit record.
    pub reason: Option<String>,
    /// For JSON services that were query services (SQS): the `__type` to
    /// send; `code` then goes in the `x-amzn-query-error` header, which
    /// SDKs read as the error code.
    pub json_type: Option<String>,
}

impl ApiError {
    /// A new error.
    pub fn new(status: u16, code: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError {
            code: code.into(),
            message: message.into(),
            status,
            reason: None,
            json_type: None,
        }
    }

    /// A 400 with a code.
    pub fn bad_request(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(400, code, message)
    }

    /// The default mapping of a domain error: adapters call this from their
    /// one mapping function and override the codes their service spells
    /// differently.
    pub fn from_core(e: &CoreError) -> Self {
        let status = match e {
            CoreError::AccessDenied(_) => 403,
            CoreError::NotFound { .. } | CoreError::InvalidInput { .. } => 400,
            CoreError::Conflict { .. } => 409,
            CoreError::Store(_) | CoreError::Internal(_) => 500,
        };
        let mut err = ApiError::new(status, e.code(), e.to_string());
        if let CoreError::AccessDenied(m) = e {
            err.reason = Some(m.clone());
        }
        if status == 500 {
            tracing::error!(error = %e, "internal error");
            err.message = "We encountered an internal error. Please try again.".into();
        }
        err
    }
}

/// What a successful operation returns, before the protocol wraps it.
#[derive(Debug, Clone)]
pub enum Success {
    /// Query protocol: the XML inside `<OpResult>`.
    Xml(String),
    /// JSON protocol: the output object.
    Json(Value),
}

/// An operation's result plus what the audit record needs.
#[derive(Debug, Clone)]
pub struct ApiResult {
    /// The outcome.
    pub outcome: Result<Success, ApiError>,
    /// The account owning the resource acted on (the caller's by default).
    pub recipient: Option<AccountId>,
    /// Whether the operation only reads.
    pub read_only: bool,
}

impl ApiResult {
    /// A result with no particular recipient.
    pub fn new(outcome: Result<Success, ApiError>, read_only: bool) -> Self {
        ApiResult {
            outcome,
            recipient: None,
            read_only,
        }
    }
}

/// One AWS service's adapter.
#[async_trait]
pub trait Service: Send + Sync + 'static {
    /// The SigV4 signing name (`sts`, `organizations`, `cloudtrail`).
    fn signing_name(&self) -> &'static str;
    /// The protocol the service speaks.
    fn protocol(&self) -> Protocol;
    /// A second protocol for requests without `X-Amz-Target`, routed by
    /// the signing name alone: SQS serves older SDKs over the query
    /// protocol beside JSON 1.0. `None` for services with one protocol.
    fn query_protocol(&self) -> Option<Protocol> {
        None
    }
    /// CloudTrail's `eventSource` (`sts.amazonaws.com`).
    fn event_source(&self) -> &'static str;
    /// Whether the service knows the operation (unknown ones get the
    /// protocol's error without reaching [`Service::call`]).
    fn has_operation(&self, operation: &str) -> bool;
    /// Runs one operation.
    async fn call(&self, ctx: &RequestContext, req: &ApiRequest) -> ApiResult;
}
