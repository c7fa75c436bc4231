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
use ferry_core::queue::message::{self, AttributeValue, Attributes};
use ferry_core::queue::{
    BatchResults, MoveTask, QueueAddr, ReceiveOptions, Received, SendRequest, SentMessage,
};
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
    "SendMessageBatch",
    "ReceiveMessage",
    "DeleteMessage",
    "DeleteMessageBatch",
    "ChangeMessageVisibility",
    "ChangeMessageVisibilityBatch",
    "PurgeQueue",
    "TagQueue",
    "UntagQueue",
    "ListQueueTags",
    "AddPermission",
    "RemovePermission",
    "ListDeadLetterSourceQueues",
    "StartMessageMoveTask",
    "ListMessageMoveTasks",
    "CancelMessageMoveTask",
];

/// The JSON `__type` for a query error code: SQS's own codes lose their
/// `AWS.SimpleQueueService.` prefix, two are renamed.
fn json_type(code: &str) -> String {
    match code {
        "AWS.SimpleQueueService.NonExistentQueue" => "com.amazonaws.sqs#QueueDoesNotExist".into(),
        "QueueAlreadyExists" => "com.amazonaws.sqs#QueueNameExists".into(),
        "AccessDenied" => "com.amazon.coral.service#AccessDeniedException".into(),
        "InternalFailure" => "com.amazon.coral.service#InternalFailure".into(),
        other => format!(
            "com.amazonaws.sqs#{}",
            other
                .strip_prefix("AWS.SimpleQueueService.")
                .unwrap_or(other)
        ),
    }
}

fn sqs_error(mut err: ApiError) -> ApiError {
    err.json_type = Some(json_type(&err.code));
    err
}

/// The HTTP status SQS gives a code, where it is not 400 (the API
/// reference's `httpStatusCode` of each error shape).
fn status_of(code: &str) -> Option<u16> {
    match code {
        "AWS.SimpleQueueService.PurgeQueueInProgress" | "OverLimit" => Some(403),
        "ResourceNotFoundException" => Some(404),
        _ => None,
    }
}

/// The one mapping of domain errors to SQS's.
fn error(e: CoreError) -> ApiError {
    let mut err = ApiError::from_core(&e);
    if err.status == 409 {
        err.status = 400;
    }
    if let Some(status) = status_of(&err.code) {
        err.status = status;
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

fn wrong_type(name: &str, what: &str) -> ApiError {
    bad("InvalidParameterValue", format!("{name} must be {what}"))
}

fn required<'a>(p: &'a Value, name: &str) -> Result<&'a str, ApiError> {
    optional_str(p, name)?.ok_or_else(|| missing(name))
}

fn optional_str<'a>(p: &'a Value, name: &str) -> Result<Option<&'a str>, ApiError> {
    match p.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(wrong_type(name, "a string")),
    }
}

fn optional_int(p: &Value, name: &str) -> Result<Option<i64>, ApiError> {
    match p.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| wrong_type(name, "an integer")),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| wrong_type(name, "an integer")),
        Some(_) => Err(wrong_type(name, "an integer")),
    }
}

fn string_list(p: &Value, name: &str) -> Result<Vec<String>, ApiError> {
    match p.get(name) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| wrong_type(name, "a list of strings"))
            })
            .collect(),
        Some(_) => Err(wrong_type(name, "a list of strings")),
    }
}

/// A map of strings (`Attributes`, `Tags`).
fn string_map(p: &Value, name: &str) -> Result<Vec<(String, String)>, ApiError> {
    match p.get(name) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                _ => Err(bad(
                    "InvalidAttributeValue",
                    format!("The value of {name} entry {k} must be a string"),
                )),
            })
            .collect(),
        Some(_) => Err(wrong_type(name, "a map of strings")),
    }
}

/// `MessageAttributes` / `MessageSystemAttributes`.
fn message_attributes(p: &Value, name: &str) -> Result<Attributes, ApiError> {
    match p.get(name) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| {
                serde_json::from_value::<AttributeValue>(v.clone())
                    .map(|a| (k.clone(), a))
                    .map_err(|e| {
                        bad(
                            "InvalidParameterValue",
                            format!("The message attribute '{k}' is invalid: {e}"),
                        )
                    })
            })
            .collect(),
        Some(_) => Err(wrong_type(name, "a map of message attribute values")),
    }
}

fn send_request(p: &Value) -> Result<SendRequest, ApiError> {
    Ok(SendRequest {
        body: required(p, "MessageBody")?.to_string(),
        delay_seconds: optional_int(p, "DelaySeconds")?,
        attributes: message_attributes(p, "MessageAttributes")?,
        system_attributes: message_attributes(p, "MessageSystemAttributes")?,
        group_id: optional_str(p, "MessageGroupId")?.map(str::to_string),
        dedup_id: optional_str(p, "MessageDeduplicationId")?.map(str::to_string),
    })
}

/// A batch's `Entries`, each with its `Id`.
fn entries(p: &Value) -> Result<Vec<(String, &Value)>, ApiError> {
    match p.get("Entries") {
        None | Some(Value::Null) => Err(missing("Entries")),
        Some(Value::Array(a)) => a
            .iter()
            .map(|e| Ok((required(e, "Id")?.to_string(), e)))
            .collect(),
        Some(_) => Err(wrong_type("Entries", "a list")),
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

fn queue_url(host: &str, account: AccountId, name: &str) -> String {
    format!("http://{host}/{account}/{name}")
}

fn object(pairs: Vec<(String, String)>) -> Value {
    Value::Object(
        pairs
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect(),
    )
}

/// One page of sorted `names` after `NextToken`, and the token for the
/// next page (only when `MaxResults` was given, as SQS does).
fn page(
    names: Vec<String>,
    max: Option<i64>,
    token: Option<&str>,
) -> Result<(Vec<String>, Option<String>), ApiError> {
    if let Some(m) = max
        && !(1..=1000).contains(&m)
    {
        return Err(bad(
            "InvalidParameterValue",
            "Value for parameter MaxResults is invalid. Reason: MaxResults must be an integer between 1 and 1000.",
        ));
    }
    let after = match token {
        None => None,
        Some(t) => Some(
            hex::decode(t)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| bad("InvalidParameterValue", "Invalid NextToken value."))?,
        ),
    };
    let mut rest: Vec<String> = names
        .into_iter()
        .filter(|n| after.as_ref().is_none_or(|a| n > a))
        .collect();
    let limit = usize::try_from(max.unwrap_or(1000)).unwrap_or(1000);
    let more = rest.len() > limit;
    rest.truncate(limit);
    let next = match (more, max, rest.last()) {
        (true, Some(_), Some(last)) => Some(hex::encode(last)),
        _ => None,
    };
    Ok((rest, next))
}

/// A batch's answer: `Successful` entries rendered by `ok`, `Failed` ones
/// with SQS's fields.
fn batch_result<T>(results: BatchResults<T>, ok: impl Fn(&str, T) -> Value) -> Value {
    let mut successful = Vec::new();
    let mut failed = Vec::new();
    for (id, r) in results {
        match r {
            Ok(v) => successful.push(ok(&id, v)),
            Err(e) => {
                let api = ApiError::from_core(&e);
                failed.push(json!({
                    "Id": id,
                    "SenderFault": api.status < 500,
                    "Code": api.code,
                    "Message": api.message,
                }));
            }
        }
    }
    json!({ "Successful": successful, "Failed": failed })
}

fn sent_json(id: Option<&str>, s: SentMessage) -> Value {
    let mut v = json!({
        "MessageId": s.message_id,
        "MD5OfMessageBody": s.md5_of_body,
    });
    if let Some(id) = id {
        v["Id"] = json!(id);
    }
    if let Some(m) = s.md5_of_attributes {
        v["MD5OfMessageAttributes"] = json!(m);
    }
    if let Some(m) = s.md5_of_system_attributes {
        v["MD5OfMessageSystemAttributes"] = json!(m);
    }
    if let Some(n) = s.sequence_number {
        v["SequenceNumber"] = json!(n);
    }
    v
}

fn received_json(r: &Received, region: &str, system: &[String], wanted_attrs: &[String]) -> Value {
    let mut v = json!({
        "MessageId": r.message.message_id,
        "ReceiptHandle": r.receipt_handle,
        "MD5OfBody": r.message.md5,
        "Body": r.message.body,
    });
    let all = system.iter().any(|n| n == "All");
    let attrs: Vec<(String, String)> = r
        .system_attributes(region)
        .into_iter()
        .filter(|(n, _)| all || system.contains(n))
        .collect();
    if !attrs.is_empty() {
        v["Attributes"] = object(attrs);
    }
    let selected = message::select_attributes(&r.meta.attributes, wanted_attrs);
    if !selected.is_empty() {
        v["MD5OfMessageAttributes"] = json!(message::attributes_md5(&selected));
        v["MessageAttributes"] = Value::Object(
            selected
                .into_iter()
                .map(|(k, a)| (k, serde_json::to_value(a).unwrap_or(Value::Null)))
                .collect(),
        );
    }
    v
}

fn move_task_json(t: MoveTask) -> Value {
    let mut v = json!({
        "Status": t.status,
        "SourceArn": t.source_arn,
        "ApproximateNumberOfMessagesMoved": t.moved,
        "ApproximateNumberOfMessagesToMove": t.to_move,
        "StartedTimestamp": t.started_at.timestamp_millis(),
    });
    if t.status == "RUNNING" {
        v["TaskHandle"] = json!(t.handle);
    }
    if let Some(d) = t.destination_arn {
        v["DestinationArn"] = json!(d);
    }
    if let Some(r) = t.max_per_second {
        v["MaxNumberOfMessagesPerSecond"] = json!(r);
    }
    if let Some(f) = t.failure_reason {
        v["FailureReason"] = json!(f);
    }
    v
}

/// The queue an ARN names, for the audit record's recipient.
fn arn_owner(arn: &str) -> Option<AccountId> {
    arn.split(':').nth(4).and_then(|a| a.parse().ok())
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
            "CreateQueue"
            | "GetQueueUrl"
            | "ListQueues"
            | "StartMessageMoveTask"
            | "ListMessageMoveTasks"
            | "CancelMessageMoveTask" => None,
            _ => {
                let a = parse_queue_url(required(p, "QueueUrl")?)?;
                *owner = Some(a.account);
                Some(a)
            }
        };
        let addr = || addr.as_ref().ok_or_else(no_queue);
        let empty = || Ok(json!({}));
        match op {
            "CreateQueue" => {
                let name = required(p, "QueueName")?;
                let attrs = string_map(p, "Attributes")?;
                let tags = string_map(p, "tags")?;
                let a = ferry
                    .create_queue(ctx, name, &attrs, &tags)
                    .await
                    .map_err(error)?;
                Ok(json!({ "QueueUrl": queue_url(host, a.account, &a.name) }))
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
                Ok(json!({ "QueueUrl": queue_url(host, a.account, &a.name) }))
            }
            "ListQueues" => {
                let names = ferry
                    .list_queues(ctx, optional_str(p, "QueueNamePrefix")?)
                    .await
                    .map_err(error)?;
                let (names, next) = page(
                    names,
                    optional_int(p, "MaxResults")?,
                    optional_str(p, "NextToken")?,
                )?;
                let account = ctx.principal.account;
                let mut out = Map::new();
                if !names.is_empty() {
                    let urls: Vec<String> =
                        names.iter().map(|n| queue_url(host, account, n)).collect();
                    out.insert("QueueUrls".into(), json!(urls));
                }
                if let Some(t) = next {
                    out.insert("NextToken".into(), json!(t));
                }
                Ok(Value::Object(out))
            }
            "DeleteQueue" => {
                ferry.delete_queue(ctx, addr()?).await.map_err(error)?;
                empty()
            }
            "GetQueueAttributes" => {
                let names = string_list(p, "AttributeNames")?;
                let attrs = ferry
                    .get_queue_attributes(ctx, addr()?, &names)
                    .await
                    .map_err(error)?;
                if attrs.is_empty() {
                    empty()
                } else {
                    Ok(json!({ "Attributes": object(attrs) }))
                }
            }
            "SetQueueAttributes" => {
                if p.get("Attributes").is_none() {
                    return Err(missing("Attributes"));
                }
                let attrs = string_map(p, "Attributes")?;
                ferry
                    .set_queue_attributes(ctx, addr()?, &attrs)
                    .await
                    .map_err(error)?;
                empty()
            }
            "SendMessage" => {
                let sent = ferry
                    .send_message(ctx, addr()?, send_request(p)?)
                    .await
                    .map_err(error)?;
                Ok(sent_json(None, sent))
            }
            "SendMessageBatch" => {
                let list = entries(p)?
                    .into_iter()
                    .map(|(id, e)| Ok((id, send_request(e)?)))
                    .collect::<Result<Vec<_>, ApiError>>()?;
                let results = ferry
                    .send_message_batch(ctx, addr()?, list)
                    .await
                    .map_err(error)?;
                Ok(batch_result(results, |id, s| sent_json(Some(id), s)))
            }
            "ReceiveMessage" => {
                let opts = ReceiveOptions {
                    max: optional_int(p, "MaxNumberOfMessages")?.unwrap_or(1),
                    visibility: optional_int(p, "VisibilityTimeout")?,
                    wait_seconds: optional_int(p, "WaitTimeSeconds")?,
                    attempt_id: optional_str(p, "ReceiveRequestAttemptId")?.map(str::to_string),
                };
                if let Some(id) = &opts.attempt_id
                    && (id.is_empty()
                        || id.len() > 128
                        || !id.chars().all(|c| c.is_ascii_graphic()))
                {
                    return Err(bad(
                        "InvalidParameterValue",
                        "Value for parameter ReceiveRequestAttemptId is invalid. Reason: 1 to 128 alphanumeric and punctuation characters.",
                    ));
                }
                let mut system = string_list(p, "AttributeNames")?;
                system.extend(string_list(p, "MessageSystemAttributeNames")?);
                let wanted = string_list(p, "MessageAttributeNames")?;
                let messages = ferry
                    .receive_message(ctx, addr()?, opts)
                    .await
                    .map_err(error)?;
                if messages.is_empty() {
                    return empty();
                }
                let list: Vec<Value> = messages
                    .iter()
                    .map(|m| received_json(m, &ctx.region, &system, &wanted))
                    .collect();
                Ok(json!({ "Messages": list }))
            }
            "DeleteMessage" => {
                let handle = required(p, "ReceiptHandle")?;
                ferry
                    .delete_message(ctx, addr()?, handle)
                    .await
                    .map_err(error)?;
                empty()
            }
            "DeleteMessageBatch" => {
                let list = entries(p)?
                    .into_iter()
                    .map(|(id, e)| Ok((id, required(e, "ReceiptHandle")?.to_string())))
                    .collect::<Result<Vec<_>, ApiError>>()?;
                let results = ferry
                    .delete_message_batch(ctx, addr()?, list)
                    .await
                    .map_err(error)?;
                Ok(batch_result(results, |id, ()| json!({ "Id": id })))
            }
            "ChangeMessageVisibility" => {
                let handle = required(p, "ReceiptHandle")?;
                let timeout = optional_int(p, "VisibilityTimeout")?
                    .ok_or_else(|| missing("VisibilityTimeout"))?;
                ferry
                    .change_message_visibility(ctx, addr()?, handle, timeout)
                    .await
                    .map_err(error)?;
                empty()
            }
            "ChangeMessageVisibilityBatch" => {
                let list = entries(p)?
                    .into_iter()
                    .map(|(id, e)| {
                        let handle = required(e, "ReceiptHandle")?.to_string();
                        let timeout = optional_int(e, "VisibilityTimeout")?
                            .ok_or_else(|| missing("VisibilityTimeout"))?;
                        Ok((id, handle, timeout))
                    })
                    .collect::<Result<Vec<_>, ApiError>>()?;
                let results = ferry
                    .change_message_visibility_batch(ctx, addr()?, list)
                    .await
                    .map_err(error)?;
                Ok(batch_result(results, |id, ()| json!({ "Id": id })))
            }
            "PurgeQueue" => {
                ferry.purge_queue(ctx, addr()?).await.map_err(error)?;
                empty()
            }
            "TagQueue" => {
                let tags = string_map(p, "Tags")?;
                ferry.tag_queue(ctx, addr()?, &tags).await.map_err(error)?;
                empty()
            }
            "UntagQueue" => {
                let keys = string_list(p, "TagKeys")?;
                ferry
                    .untag_queue(ctx, addr()?, &keys)
                    .await
                    .map_err(error)?;
                empty()
            }
            "ListQueueTags" => {
                let tags = ferry.list_queue_tags(ctx, addr()?).await.map_err(error)?;
                if tags.is_empty() {
                    empty()
                } else {
                    Ok(json!({ "Tags": object(tags) }))
                }
            }
            "AddPermission" => {
                let label = required(p, "Label")?;
                let accounts = string_list(p, "AWSAccountIds")?;
                let actions = string_list(p, "Actions")?;
                ferry
                    .add_permission(ctx, addr()?, label, &accounts, &actions)
                    .await
                    .map_err(error)?;
                empty()
            }
            "RemovePermission" => {
                let label = required(p, "Label")?;
                ferry
                    .remove_permission(ctx, addr()?, label)
                    .await
                    .map_err(error)?;
                empty()
            }
            "ListDeadLetterSourceQueues" => {
                let a = addr()?;
                let names = ferry
                    .list_dead_letter_source_queues(ctx, a)
                    .await
                    .map_err(error)?;
                let (names, next) = page(
                    names,
                    optional_int(p, "MaxResults")?,
                    optional_str(p, "NextToken")?,
                )?;
                let urls: Vec<String> = names
                    .iter()
                    .map(|n| queue_url(host, a.account, n))
                    .collect();
                let mut out = json!({ "queueUrls": urls });
                if let Some(t) = next {
                    out["NextToken"] = json!(t);
                }
                Ok(out)
            }
            "StartMessageMoveTask" => {
                let source = required(p, "SourceArn")?;
                *owner = arn_owner(source);
                let handle = ferry
                    .start_message_move_task(
                        ctx,
                        source,
                        optional_str(p, "DestinationArn")?,
                        optional_int(p, "MaxNumberOfMessagesPerSecond")?,
                    )
                    .await
                    .map_err(error)?;
                Ok(json!({ "TaskHandle": handle }))
            }
            "ListMessageMoveTasks" => {
                let source = required(p, "SourceArn")?;
                *owner = arn_owner(source);
                let tasks = ferry
                    .list_message_move_tasks(ctx, source, optional_int(p, "MaxResults")?)
                    .await
                    .map_err(error)?;
                let list: Vec<Value> = tasks.into_iter().map(move_task_json).collect();
                Ok(json!({ "Results": list }))
            }
            "CancelMessageMoveTask" => {
                let handle = required(p, "TaskHandle")?;
                let moved = ferry
                    .cancel_message_move_task(ctx, handle)
                    .await
                    .map_err(error)?;
                Ok(json!({ "ApproximateNumberOfMessagesMoved": moved }))
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
