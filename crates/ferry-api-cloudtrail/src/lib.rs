//! CloudTrail on the wire (JSON 1.1): `LookupEvents` over ferry-core's
//! audit trail. The domain decides which records the caller sees.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::DateTime;
use ferry_core::audit::LookupInput;
use ferry_core::orgs::epoch_seconds;
use ferry_core::{CoreError, Ferry, RequestContext};
use ferry_http::{ApiError, ApiRequest, ApiResult, Params, Protocol, Service, Success};
use ferry_types::Timestamp;
use serde_json::{Value, json};

/// The CloudTrail adapter.
pub struct CloudTrail {
    ferry: Arc<Ferry>,
}

impl CloudTrail {
    /// CloudTrail over `ferry`.
    pub fn new(ferry: Arc<Ferry>) -> Self {
        CloudTrail { ferry }
    }
}

fn error(e: CoreError) -> ApiError {
    let mut err = ApiError::from_core(&e);
    if let CoreError::AccessDenied(_) = e {
        err.code = "AccessDeniedException".into();
    }
    err
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("InvalidParameterException", message)
}

/// boto3 sends timestamps as epoch seconds (number); accept ISO strings too.
fn timestamp(v: &Value, name: &str) -> Result<Timestamp, ApiError> {
    match v {
        Value::Number(n) => n
            .as_f64()
            .and_then(|s| DateTime::from_timestamp_millis((s * 1000.0) as i64))
            .ok_or_else(|| bad(format!("{name} is out of range"))),
        Value::String(s) => DateTime::parse_from_rfc3339(s)
            .map(|t| t.to_utc())
            .map_err(|_| bad(format!("{name} is not a timestamp"))),
        _ => Err(bad(format!("{name} is not a timestamp"))),
    }
}

fn lookup_input(p: &Value) -> Result<LookupInput, ApiError> {
    let mut input = LookupInput::default();
    if let Some(attrs) = p.get("LookupAttributes") {
        let attrs = attrs
            .as_array()
            .ok_or_else(|| bad("LookupAttributes must be a list"))?;
        for a in attrs {
            let k = a.get("AttributeKey").and_then(Value::as_str);
            let v = a.get("AttributeValue").and_then(Value::as_str);
            match (k, v) {
                (Some(k), Some(v)) => input.attributes.push((k.to_string(), v.to_string())),
                _ => {
                    return Err(ApiError::bad_request(
                        "InvalidLookupAttributesException",
                        "Each lookup attribute needs AttributeKey and AttributeValue",
                    ));
                }
            }
        }
    }
    if let Some(v) = p.get("StartTime") {
        input.start = Some(timestamp(v, "StartTime")?);
    }
    if let Some(v) = p.get("EndTime") {
        input.end = Some(timestamp(v, "EndTime")?);
    }
    if let Some(v) = p.get("MaxResults") {
        input.max_results = Some(
            v.as_i64()
                .ok_or_else(|| bad("MaxResults must be a number"))?,
        );
    }
    if let Some(v) = p.get("NextToken") {
        input.next_token = Some(
            v.as_str()
                .ok_or_else(|| bad("NextToken must be a string"))?
                .to_string(),
        );
    }
    Ok(input)
}

#[async_trait]
impl Service for CloudTrail {
    fn signing_name(&self) -> &'static str {
        "cloudtrail"
    }

    fn protocol(&self) -> Protocol {
        Protocol::Json {
            target_prefix: "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101",
            version: "1.1",
        }
    }

    fn event_source(&self) -> &'static str {
        "cloudtrail.amazonaws.com"
    }

    fn has_operation(&self, operation: &str) -> bool {
        operation == "LookupEvents"
    }

    async fn call(&self, ctx: &RequestContext, req: &ApiRequest) -> ApiResult {
        let outcome = async {
            let Params::Json(p) = &req.params else {
                return Err(bad("expected a JSON body"));
            };
            let page = self
                .ferry
                .lookup_events(ctx, lookup_input(p)?)
                .await
                .map_err(error)?;
            let events: Vec<Value> = page
                .events
                .iter()
                .map(|e| {
                    json!({
                        "EventId": e.event_id,
                        "EventName": e.event_name,
                        "ReadOnly": e.read_only.to_string(),
                        "AccessKeyId": e.access_key_id,
                        "EventTime": epoch_seconds(e.event_time),
                        "EventSource": e.event_source,
                        "Username": e.username,
                        "Resources": [],
                        "CloudTrailEvent": e.body,
                    })
                })
                .collect();
            let mut out = json!({ "Events": events });
            if let Some(t) = page.next_token {
                out["NextToken"] = json!(t);
            }
            Ok(Success::Json(out))
        }
        .await;
        ApiResult::new(outcome, true)
    }
}
