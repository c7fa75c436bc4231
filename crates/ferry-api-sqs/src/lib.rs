//! The SQS adapter: AWS JSON 1.0 (`AmazonSQS.<Operation>`) onto
//! `ferry_core::queue`. Errors carry SQS's JSON `__type` and the
//! `x-amzn-query-error` header, so SDKs show the codes SQS users know
//! (`AWS.SimpleQueueService.NonExistentQueue`, `QueueAlreadyExists`, ...).
//!
//! Older SDKs speak the query protocol instead; `query` translates its
//! requests onto the JSON input and the JSON output back to its XML, so the
//! operations here are written once, against JSON.

use std::sync::Arc;

use async_trait::async_trait;
use ferry_core::queue::{QueueAddr, message_system_attributes};
use ferry_core::{CoreError, Ferry, RequestContext};
use ferry_http::{ApiError, ApiRequest, ApiResult, Params, Protocol, Service, Success};
use ferry_types::AccountId;
use serde_json::{Map, Value, json};

mod query;

/// The SQS adapter.
pub struct Sqs {
    ferry: Arc<Ferry>,
}

impl Sqs {
    /// SQS over `ferry`.
    pub fn new(ferry: Arc<Ferry>) -> Self {
        Sqs { ferry }
    }
}

const OPERATIONS: &[&str] = &[
    "CreateQueue",
    "GetQueueUrl",
    "ListQueues",
    "DeleteQueue",
    "GetQueueAttributes",
    "SetQueueAttributes",
    "SendMessage",
    "ReceiveMessage",
    "DeleteMessage",
    "ChangeMessageVisibility",
];

/// The JSON `__type` for a query error code.
fn json_type(code: &str) -> String {
    match code {
        "AWS.SimpleQueueService.NonExistentQueue" => "com.amazonaws.sqs#QueueDoesNotExist".into(),
        "QueueAlreadyExists" => "com.amazonaws.sqs#QueueNameExists".into(),
        "AWS.SimpleQueueService.MessageNotInflight" => {
            "com.amazonaws.sqs#MessageNotInflight".into()
        }
        "AccessDenied" => "com.amazon.coral.service#AccessDeniedException".into(),
        "InternalFailure" => "com.amazon.coral.service#InternalFailure".into(),
        other => format!("com.amazonaws.sqs#{other}"),
    }
}

fn sqs_error(mut err: ApiError) -> ApiError {
    err.json_type = Some(json_type(&err.code));
    err
}

/// The one mapping of domain errors to SQS's.
fn error(e: CoreError) -> ApiError {
    let mut err = ApiError::from_core(&e);
    if err.status == 409 {
        err.status = 400;
    }
    sqs_error(err)
}

fn bad(code: &str, message: impl Into<String>) -> ApiError {
    sqs_error(ApiError::bad_request(code, message))
}

fn missing(name: &str) -> ApiError {
    bad(
        "MissingParameter",
        format!("The request must contain the parameter {name}."),
    )
}

fn required<'a>(p: &'a Value, name: &str) -> Result<&'a str, ApiError> {
    match p.get(name) {
        Some(Value::String(s)) => Ok(s),
        None | Some(Value::Null) => Err(missing(name)),
        Some(_) => Err(bad(
            "InvalidParameterValue",
            format!("{name} must be a string"),
        )),
    }
}

fn optional_str<'a>(p: &'a Value, name: &str) -> Result<Option<&'a str>, ApiError> {
    match p.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(bad(
            "InvalidParameterValue",
            format!("{name} must be a string"),
        )),
    }
}

fn optional_int(p: &Value, name: &str) -> Result<Option<i64>, ApiError> {
    match p.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(|| {
            bad(
                "InvalidParameterValue",
                format!("{name} must be an integer"),
            )
        }),
        Some(Value::String(s)) => s.trim().parse().map(Some).map_err(|_| {
            bad(
                "InvalidParameterValue",
                format!("{name} must be an integer"),
            )
        }),
        Some(_) => Err(bad(
            "InvalidParameterValue",
            format!("{name} must be an integer"),
        )),
    }
}

fn string_list(p: &Value, name: &str) -> Result<Vec<String>, ApiError> {
    match p.get(name) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| {
                v.as_str().map(str::to_string).ok_or_else(|| {
                    bad(
                        "InvalidParameterValue",
                        format!("{name} must be a list of strings"),
                    )
                })
            })
            .collect(),
        Some(_) => Err(bad(
            "InvalidParameterValue",
            format!("{name} must be a list of strings"),
        )),
    }
}

fn attribute_map(p: &Value) -> Result<Vec<(String, String)>, ApiError> {
    match p.get("Attributes") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                _ => Err(bad(
                    "InvalidAttributeValue",
                    format!("The value of attribute {k} must be a string"),
                )),
            })
            .collect(),
        Some(_) => Err(bad(
            "InvalidParameterValue",
            "Attributes must be a map of strings",
        )),
    }
}

fn no_queue() -> ApiError {
    bad(
        "AWS.SimpleQueueService.NonExistentQueue",
        "The specified queue does not exist for this wsdl version.",
    )
}

/// The owner and name of `http://HOST/ACCOUNT/NAME` (or `ACCOUNT/NAME`).
fn parse_queue_url(url: &str) -> Result<QueueAddr, ApiError> {
    let path = match url.split_once("://") {
        Some((_, rest)) => rest.split_once('/').map(|(_, p)| p).unwrap_or(""),
        None => url,
    };
    let path = path.split(['?', '#']).next().unwrap_or("");
    let mut parts = path.trim_matches('/').split('/');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(account), Some(name), None) if !name.is_empty() => Ok(QueueAddr {
            account: account.parse().map_err(|_| no_queue())?,
            name: name.to_string(),
        }),
        _ => Err(no_queue()),
    }
}

fn queue_url(host: &str, addr: &QueueAddr) -> String {
    format!("http://{host}/{}/{}", addr.account, addr.name)
}

fn object(pairs: Vec<(String, String)>) -> Value {
    Value::Object(
        pairs
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect(),
    )
}

impl Sqs {
    /// Runs one operation; also reports the queue owner for the audit record.
    async fn run(
        &self,
        ctx: &RequestContext,
        op: &str,
        p: &Value,
        host: &str,
        owner: &mut Option<AccountId>,
    ) -> Result<Value, ApiError> {
        let ferry = &self.ferry;
        let addr = match op {
            "CreateQueue" | "GetQueueUrl" | "ListQueues" => None,
            _ => {
                let a = parse_queue_url(required(p, "QueueUrl")?)?;
                *owner = Some(a.account);
                Some(a)
            }
        };
        let addr_ref = || addr.as_ref().ok_or_else(no_queue);
        match op {
            "CreateQueue" => {
                let name = required(p, "QueueName")?;
                let attrs = attribute_map(p)?;
                let a = ferry.create_queue(ctx, name, &attrs).await.map_err(error)?;
                Ok(json!({ "QueueUrl": queue_url(host, &a) }))
            }
            "GetQueueUrl" => {
                let name = required(p, "QueueName")?;
                let queue_owner = match optional_str(p, "QueueOwnerAWSAccountId")? {
                    None => None,
                    Some(s) => Some(s.parse::<AccountId>().map_err(|_| no_queue())?),
                };
                *owner = Some(queue_owner.unwrap_or(ctx.principal.account));
                let a = ferry
                    .get_queue_url(ctx, name, queue_owner)
                    .await
                    .map_err(error)?;
                Ok(json!({ "QueueUrl": queue_url(host, &a) }))
            }
            "ListQueues" => {
                let max = optional_int(p, "MaxResults")?;
                if let Some(m) = max
                    && !(1..=1000).contains(&m)
                {
                    return Err(bad(
                        "InvalidParameterValue",
                        "Value for parameter MaxResults is invalid. Reason: MaxResults must be an integer between 1 and 1000.",
                    ));
                }
                let after = match optional_str(p, "NextToken")? {
                    None => None,
                    Some(t) => Some(
                        hex::decode(t)
                            .ok()
                            .and_then(|b| String::from_utf8(b).ok())
                            .ok_or_else(|| {
                                bad("InvalidParameterValue", "Invalid NextToken value.")
                            })?,
                    ),
                };
                let names = ferry
                    .list_queues(ctx, optional_str(p, "QueueNamePrefix")?)
                    .await
                    .map_err(error)?;
                let mut rest: Vec<String> = names
                    .into_iter()
                    .filter(|n| after.as_ref().is_none_or(|a| n > a))
                    .collect();
                let limit = max.unwrap_or(1000) as usize;
                let more = rest.len() > limit;
                rest.truncate(limit);
                let account = ctx.principal.account;
                let urls: Vec<String> = rest
                    .iter()
                    .map(|n| {
                        queue_url(
                            host,
                            &QueueAddr {
                                account,
                                name: n.clone(),
                            },
                        )
                    })
                    .collect();
                let mut out = Map::new();
                if !urls.is_empty() {
                    out.insert("QueueUrls".into(), json!(urls));
                }
                if more
                    && max.is_some()
                    && let Some(last) = rest.last()
                {
                    out.insert("NextToken".into(), json!(hex::encode(last)));
                }
                Ok(Value::Object(out))
            }
            "DeleteQueue" => {
                ferry.delete_queue(ctx, addr_ref()?).await.map_err(error)?;
                Ok(json!({}))
            }
            "GetQueueAttributes" => {
                let names = string_list(p, "AttributeNames")?;
                let attrs = ferry
                    .get_queue_attributes(ctx, addr_ref()?, &names)
                    .await
                    .map_err(error)?;
                if attrs.is_empty() {
                    Ok(json!({}))
                } else {
                    Ok(json!({ "Attributes": object(attrs) }))
                }
            }
            "SetQueueAttributes" => {
                if p.get("Attributes").is_none() {
                    return Err(missing("Attributes"));
                }
                let attrs = attribute_map(p)?;
                ferry
                    .set_queue_attributes(ctx, addr_ref()?, &attrs)
                    .await
                    .map_err(error)?;
                Ok(json!({}))
            }
            "SendMessage" => {
                let body = required(p, "MessageBody")?;
                let delay = optional_int(p, "DelaySeconds")?;
                let sent = ferry
                    .send_message(ctx, addr_ref()?, body, delay)
                    .await
                    .map_err(error)?;
                Ok(json!({
                    "MessageId": sent.message_id,
                    "MD5OfMessageBody": sent.md5_of_body,
                }))
            }
            "ReceiveMessage" => {
                let max = optional_int(p, "MaxNumberOfMessages")?.unwrap_or(1);
                let visibility = optional_int(p, "VisibilityTimeout")?;
                if let Some(w) = optional_int(p, "WaitTimeSeconds")?
                    && !(0..=20).contains(&w)
                {
                    return Err(bad(
                        "InvalidParameterValue",
                        format!(
                            "Value {w} for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided."
                        ),
                    ));
                }
                let mut wanted = string_list(p, "AttributeNames")?;
                wanted.extend(string_list(p, "MessageSystemAttributeNames")?);
                let all = wanted.iter().any(|n| n == "All");
                let messages = ferry
                    .receive_message(ctx, addr_ref()?, max, visibility)
                    .await
                    .map_err(error)?;
                let list: Vec<Value> = messages
                    .iter()
                    .map(|m| {
                        let mut v = json!({
                            "MessageId": m.message_id,
                            "ReceiptHandle": m.receipt_handle,
                            "MD5OfBody": m.md5,
                            "Body": m.body,
                        });
                        let attrs: Vec<(String, String)> = message_system_attributes(m)
                            .into_iter()
                            .filter(|(n, _)| all || wanted.contains(n))
                            .collect();
                        if !attrs.is_empty() {
                            v["Attributes"] = object(attrs);
                        }
                        v
                    })
                    .collect();
                if list.is_empty() {
                    Ok(json!({}))
                } else {
                    Ok(json!({ "Messages": list }))
                }
            }
            "DeleteMessage" => {
                let handle = required(p, "ReceiptHandle")?;
                ferry
                    .delete_message(ctx, addr_ref()?, handle)
                    .await
                    .map_err(error)?;
                Ok(json!({}))
            }
            "ChangeMessageVisibility" => {
                let handle = required(p, "ReceiptHandle")?;
                let timeout = optional_int(p, "VisibilityTimeout")?
                    .ok_or_else(|| missing("VisibilityTimeout"))?;
                ferry
                    .change_message_visibility(ctx, addr_ref()?, handle, timeout)
                    .await
                    .map_err(error)?;
                Ok(json!({}))
            }
            other => Err(bad(
                "UnsupportedOperation",
                format!("Unknown operation {other}"),
            )),
        }
    }
}

#[async_trait]
impl Service for Sqs {
    fn signing_name(&self) -> &'static str {
        "sqs"
    }

    fn protocol(&self) -> Protocol {
        Protocol::Json {
            target_prefix: "AmazonSQS",
            version: "1.0",
        }
    }

    fn query_protocol(&self) -> Option<Protocol> {
        Some(Protocol::Query {
            xmlns: "http://queue.amazonaws.com/doc/2012-11-05/",
        })
    }

    fn event_source(&self) -> &'static str {
        "sqs.amazonaws.com"
    }

    fn has_operation(&self, operation: &str) -> bool {
        OPERATIONS.contains(&operation)
    }

    async fn call(&self, ctx: &RequestContext, req: &ApiRequest) -> ApiResult {
        let host = req.host.as_deref().unwrap_or("localhost:4566");
        let read_only = req.operation.starts_with("Get") || req.operation.starts_with("List");
        let translated;
        let p = match &req.params {
            Params::Json(v) => v,
            Params::Query(fields) => match query::request_to_json(&req.operation, fields) {
                Ok(mut v) => {
                    query::queue_url_from_path(&req.operation, &mut v, host, &req.path);
                    translated = v;
                    &translated
                }
                Err(e) => return ApiResult::new(Err(e), read_only),
            },
        };
        let mut owner = None;
        let outcome = self
            .run(ctx, &req.operation, p, host, &mut owner)
            .await
            .map(|out| match req.params {
                Params::Json(_) => Success::Json(out),
                Params::Query(_) => Success::Xml(query::response_to_xml(&req.operation, &out)),
            });
        let mut result = ApiResult::new(outcome, read_only);
        result.recipient = Some(owner.unwrap_or(ctx.principal.account));
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_urls_parse() {
        let a = parse_queue_url("http://127.0.0.1:4566/123456789012/jobs").expect("a queue url");
        assert_eq!(a.account.to_string(), "123456789012");
        assert_eq!(a.name, "jobs");
        assert!(parse_queue_url("http://h/jobs").is_err());
        assert!(parse_queue_url("http://h/x/jobs").is_err());
        assert!(parse_queue_url("http://h/123456789012/a/b").is_err());
    }

    #[test]
    fn query_codes_map_to_json_types() {
        assert_eq!(
            json_type("AWS.SimpleQueueService.NonExistentQueue"),
            "com.amazonaws.sqs#QueueDoesNotExist"
        );
        assert_eq!(
            json_type("QueueAlreadyExists"),
            "com.amazonaws.sqs#QueueNameExists"
        );
    }
}
