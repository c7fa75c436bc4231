//! Ferry's own endpoints under `/_ferry/`: health and metrics (open), and
//! account administration for the operator (SigV4-signed, any service
//! name; what `ferry account ... --endpoint` calls).

use std::net::SocketAddr;

use axum::body::Body;
use axum::response::Response;
use ferry_core::accounts::AccountSummary;
use ferry_core::audit::{AuditRecord, Caller};
use ferry_core::{CoreError, RequestContext};
use http::request::Parts;
use http::{HeaderValue, Method};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::{self, Dialect};
use crate::dispatch::{Exchange, read_body};
use crate::protocol::ferry_json;
use crate::server::FrontDoor;
use crate::{ApiError, Protocol};

fn error(e: &ApiError, request_id: &str) -> Response {
    ferry_json(
        e.status,
        &json!({"code": e.code, "message": e.message}),
        request_id,
    )
}

#[derive(Deserialize)]
struct CreateAccountBody {
    name: String,
    #[serde(default)]
    tier: Option<String>,
    #[serde(default)]
    email: Option<String>,
}

pub(crate) async fn handle(
    door: &FrontDoor,
    remote: SocketAddr,
    parts: Parts,
    body: Body,
) -> Response {
    let ex = Exchange::new(door, remote, &parts);
    let path = parts.uri.path().to_string();
    match (&parts.method, path.as_str()) {
        (&Method::GET, "/_ferry/health") => {
            let management = door.ferry.management_account().await.ok();
            ex.count("ferry", "Health", 200);
            return ferry_json(
                200,
                &json!({
                    "status": "ok",
                    "version": env!("CARGO_PKG_VERSION"),
                    "management_account": management.map(|m| m.to_string()),
                    "audit_queue_depth": door.ferry.audit().depth(),
                }),
                &ex.request_id,
            );
        }
        (&Method::GET, "/_ferry/metrics") => {
            let mut resp = Response::new(Body::from(door.metrics.render()));
            resp.headers_mut().insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4"),
            );
            return crate::protocol::with_request_id(resp, &ex.request_id);
        }
        _ => {}
    }

    let segments: Vec<&str> = path.split('/').collect();
    let (operation, read_only) = match (&parts.method, segments.as_slice()) {
        (&Method::GET, ["", "_ferry", "accounts"]) => ("ListAccounts", true),
        (&Method::POST, ["", "_ferry", "accounts"]) => ("CreateAccount", false),
        (&Method::POST, ["", "_ferry", "accounts", _, "keys"]) => ("CreateAdminKey", false),
        _ => {
            ex.count("ferry", "unknown", 404);
            return error(
                &ApiError::new(
                    404,
                    "NotFound",
                    format!("No Ferry endpoint {} {path}", parts.method),
                ),
                &ex.request_id,
            );
        }
    };
    let body = match read_body(door, body).await {
        Ok(b) => b,
        Err(e) => return error(&e, &ex.request_id),
    };
    // Error codes as the query protocol spells them.
    let codes = Dialect::Aws(Protocol::Query { xmlns: "" });
    let authenticated = match auth::parse(&parts, codes) {
        Ok(signed) => {
            let body_hash = ferry_sigv4::sha256_hex(&body);
            auth::authenticate(&door.ferry, &parts, &signed, Some(&body_hash), codes)
                .await
                .map(|(p, _)| p)
        }
        Err(f) => Err(f),
    };
    let params: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let record = |caller: Caller, err: Option<&ApiError>, allowed: Option<String>| AuditRecord {
        event_time: ex.time,
        event_source: "ferry.amazonaws.com".into(),
        event_name: operation.into(),
        region: ferry_types::DEFAULT_REGION.into(),
        source_ip: ex.remote.ip().to_string(),
        user_agent: ex.user_agent.clone(),
        caller,
        request_parameters: params.clone(),
        error_code: err.map(|e| e.code.clone()),
        error_message: err.map(|e| e.message.clone()),
        request_id: ex.request_id.clone(),
        recipient: None,
        read_only,
        decision_reason: err.and_then(|e| e.reason.clone()).or(allowed),
    };
    let principal = match authenticated {
        Ok(p) => p,
        Err(f) => {
            door.ferry
                .audit()
                .record(record(f.caller, Some(&f.error), None))
                .await;
            ex.count("ferry", operation, f.error.status);
            return error(&f.error, &ex.request_id);
        }
    };
    let ctx = RequestContext {
        request_id: ex.request_id.clone(),
        principal: principal.clone(),
        region: ferry_types::DEFAULT_REGION.into(),
        source_ip: ex.remote.ip().to_string(),
        user_agent: ex.user_agent.clone(),
        secure_transport: false,
        time: ex.time,
        decision: Default::default(),
        signing_keys: Vec::new(),
    };
    let result = run(door, &ctx, operation, &path, &body).await;
    let (status, resp) = match &result {
        Ok(v) => (200, ferry_json(200, v, &ex.request_id)),
        Err(e) => (e.status, error(e, &ex.request_id)),
    };
    door.ferry
        .audit()
        .record(record(
            Caller::Principal(principal),
            result.as_ref().err(),
            ctx.decision.get(),
        ))
        .await;
    ex.count("ferry", operation, status);
    resp
}

fn core(e: CoreError) -> ApiError {
    ApiError::from_core(&e)
}

async fn run(
    door: &FrontDoor,
    ctx: &RequestContext,
    operation: &str,
    path: &str,
    body: &[u8],
) -> Result<Value, ApiError> {
    let ferry = &door.ferry;
    ferry
        .require_management(ctx, &format!("ferry:{operation}"))
        .await
        .map_err(core)?;
    match operation {
        "ListAccounts" => {
            let accounts: Vec<AccountSummary> = ferry
                .list_all_accounts()
                .await
                .map_err(core)?
                .into_iter()
                .map(Into::into)
                .collect();
            serde_json::to_value(accounts)
                .map_err(|e| ApiError::new(500, "InternalFailure", e.to_string()))
        }
        "CreateAccount" => {
            let input: CreateAccountBody = serde_json::from_slice(body).map_err(|e| {
                ApiError::bad_request("SerializationException", format!("bad request body: {e}"))
            })?;
            let tier = input.tier.as_deref().unwrap_or("pooled").parse().map_err(
                |e: ferry_types::InvalidTier| ApiError::bad_request("InvalidInput", e.to_string()),
            )?;
            let created = ferry
                .create_account(&input.name, input.email.as_deref(), tier)
                .await
                .map_err(core)?;
            serde_json::to_value(created)
                .map_err(|e| ApiError::new(500, "InternalFailure", e.to_string()))
        }
        "CreateAdminKey" => {
            let id = path.split('/').nth(3).unwrap_or_default();
            let account = id.parse().map_err(|e: ferry_types::InvalidAccountId| {
                ApiError::bad_request("InvalidInput", e.to_string())
            })?;
            let key = ferry.create_admin_key(account).await.map_err(core)?;
            serde_json::to_value(key)
                .map_err(|e| ApiError::new(500, "InternalFailure", e.to_string()))
        }
        _ => Err(ApiError::new(404, "NotFound", operation.to_string())),
    }
}
