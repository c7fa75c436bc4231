//! SQS queues: standard queues, messages, visibility, queue policies.
//!
//! Every operation is authorized as `sqs:<Action>` on the queue's ARN, with
//! the queue's `Policy` attribute as its resource policy; a caller from
//! another account needs both its identity policy and the queue policy.

use std::sync::Arc;

use base64::Engine as _;
use chrono::Duration;
use ferry_policy::{NamedPolicy, Policy, PolicyKind, SizeLimit};
use ferry_store::{Queue, QueueMessage, Store, Write, WriteBatch};
use ferry_types::{AccountId, Timestamp};
use md5::{Digest, Md5};

use crate::authz::Check;
use crate::{CoreError, Ferry, RequestContext};

/// Query code for a queue that does not exist.
pub const NON_EXISTENT_QUEUE: &str = "AWS.SimpleQueueService.NonExistentQueue";
/// Query code for a message that is not in flight.
pub const MESSAGE_NOT_INFLIGHT: &str = "AWS.SimpleQueueService.MessageNotInflight";

/// The attributes a queue may be given, with their defaults and ranges.
const SETTABLE: &[(&str, i64, i64, i64)] = &[
    ("DelaySeconds", 0, 0, 900),
    ("MaximumMessageSize", 262_144, 1024, 262_144),
    ("MessageRetentionPeriod", 345_600, 60, 1_209_600),
    ("ReceiveMessageWaitTimeSeconds", 0, 0, 20),
    ("VisibilityTimeout", 30, 0, 43_200),
];

/// Attributes computed by SQS, readable but not settable.
const COMPUTED: &[&str] = &[
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
    "CreatedTimestamp",
    "LastModifiedTimestamp",
    "QueueArn",
];

/// A queue as a URL names it: its owner and its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueAddr {
    /// The owner account.
    pub account: AccountId,
    /// The queue name.
    pub name: String,
}

/// What `SendMessage` returns.
#[derive(Debug, Clone)]
pub struct SentMessage {
    /// The new message's id.
    pub message_id: String,
    /// Hex MD5 of the body.
    pub md5_of_body: String,
}

fn invalid(code: &'static str, message: impl Into<String>) -> CoreError {
    CoreError::invalid(code, message)
}

fn no_queue() -> CoreError {
    CoreError::not_found(
        NON_EXISTENT_QUEUE,
        "The specified queue does not exist for this wsdl version.",
    )
}

/// Hex MD5 of `data`.
pub fn md5_hex(data: &[u8]) -> String {
    hex::encode(Md5::digest(data))
}

/// The queue's ARN in the request's region.
pub fn queue_arn(ctx: &RequestContext, account: AccountId, name: &str) -> String {
    format!("arn:aws:sqs:{}:{account}:{name}", ctx.region)
}

/// Checks a queue name: 1-80 of `[A-Za-z0-9_-]`, `.fifo` allowed at the end.
pub fn validate_queue_name(name: &str) -> Result<(), CoreError> {
    let base = name.strip_suffix(".fifo").unwrap_or(name);
    if name.is_empty()
        || name.len() > 80
        || base.is_empty()
        || !base
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(invalid(
            "InvalidParameterValue",
            "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length",
        ));
    }
    Ok(())
}

fn int_value(name: &str, value: &str, lo: i64, hi: i64) -> Result<i64, CoreError> {
    match value.trim().parse::<i64>() {
        Ok(v) if (lo..=hi).contains(&v) => Ok(v),
        _ => Err(invalid(
            "InvalidAttributeValue",
            format!(
                "Invalid value for the parameter {name}. It must be an integer from {lo} to {hi}."
            ),
        )),
    }
}

/// Validates attributes to set and normalizes their values. An empty
/// `Policy` means no policy.
fn validate_attributes(attrs: &[(String, String)]) -> Result<Vec<(String, String)>, CoreError> {
    let mut out = Vec::with_capacity(attrs.len());
    for (name, value) in attrs {
        if let Some((_, _, lo, hi)) = SETTABLE.iter().find(|(n, ..)| n == name) {
            let v = int_value(name, value, *lo, *hi)?;
            out.push((name.clone(), v.to_string()));
        } else if name == "Policy" {
            if !value.is_empty() {
                Policy::parse(value, PolicyKind::Resource).map_err(|e| {
                    invalid(
                        "InvalidAttributeValue",
                        format!("Invalid value for the parameter Policy: {}", e.message()),
                    )
                })?;
            }
            out.push((name.clone(), value.clone()));
        } else if name == "FifoQueue" {
            return Err(invalid(
                "InvalidAttributeValue",
                "Invalid value for the parameter FifoQueue: FIFO queues are not supported by Ferry yet",
            ));
        } else if COMPUTED.contains(&name.as_str()) {
            return Err(invalid(
                "InvalidAttributeName",
                format!("Unknown or read-only Attribute {name}"),
            ));
        } else {
            return Err(invalid(
                "InvalidAttributeName",
                format!("Unknown Attribute {name}."),
            ));
        }
    }
    Ok(out)
}

/// Every settable attribute: the defaults, overridden by `set`; a `Policy`
/// only when set and not empty. Sorted by name.
fn effective(set: &[(String, String)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = SETTABLE
        .iter()
        .map(|(n, d, ..)| (n.to_string(), d.to_string()))
        .collect();
    for (k, v) in set {
        out.retain(|(n, _)| n != k);
        if !(k == "Policy" && v.is_empty()) {
            out.push((k.clone(), v.clone()));
        }
    }
    out.sort();
    out
}

fn attr_i64(q: &Queue, name: &str) -> i64 {
    q.attributes
        .iter()
        .find(|(n, _)| n == name)
        .and_then(|(_, v)| v.parse().ok())
        .or_else(|| SETTABLE.iter().find(|(n, ..)| *n == name).map(|t| t.1))
        .unwrap_or(0)
}

fn policy_of(q: &Queue) -> Vec<NamedPolicy> {
    let Some((_, doc)) = q.attributes.iter().find(|(n, _)| n == "Policy") else {
        return Vec::new();
    };
    match Policy::parse_with_limit(doc, PolicyKind::Resource, SizeLimit::unlimited()) {
        Ok(p) => vec![NamedPolicy::new("queue policy", p)],
        Err(e) => {
            tracing::error!(queue = %q.name, error = %e.message(), "stored queue policy does not parse");
            Vec::new()
        }
    }
}

fn millis(t: Timestamp) -> String {
    t.timestamp_millis().to_string()
}

fn receipt_handle(addr: &QueueAddr, message_id: &str) -> String {
    let nonce: [u8; 16] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!(
        "{}:{}:{}:{}",
        addr.account,
        addr.name,
        message_id,
        hex::encode(nonce)
    ))
}

/// The message id a handle names, if it is a handle of this queue.
fn handle_message_id(addr: &QueueAddr, handle: &str) -> Result<String, CoreError> {
    let bad = || {
        invalid(
            "ReceiptHandleIsInvalid",
            format!("The input receipt handle \"{handle}\" is not a valid receipt handle."),
        )
    };
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(handle)
        .map_err(|_| bad())?;
    let text = String::from_utf8(raw).map_err(|_| bad())?;
    let parts: Vec<&str> = text.split(':').collect();
    match parts.as_slice() {
        [account, name, id, _nonce]
            if *account == addr.account.to_string() && *name == addr.name =>
        {
            Ok(id.to_string())
        }
        _ => Err(bad()),
    }
}

impl Ferry {
    /// Authorizes `action` on a queue; with `queue` its policy counts.
    async fn authorize_queue(
        &self,
        ctx: &RequestContext,
        action: &str,
        addr: &QueueAddr,
        queue: Option<&Queue>,
    ) -> Result<(), CoreError> {
        let mut check = Check::new(
            action,
            queue_arn(ctx, addr.account, &addr.name),
            addr.account,
        );
        if let Some(q) = queue {
            check.resource_policies = policy_of(q);
        }
        self.authorize(ctx, check).await
    }

    /// Authorizes `action` on an existing queue and returns it with its
    /// store. A missing queue is `QueueDoesNotExist` only for a caller who
    /// could act on it if it existed (without a queue policy), so other
    /// accounts learn nothing.
    async fn queue_for(
        &self,
        ctx: &RequestContext,
        action: &str,
        addr: &QueueAddr,
    ) -> Result<(Queue, Arc<dyn Store>), CoreError> {
        let store = self.placement().existing(addr.account).await?;
        let queue = match &store {
            Some(s) => s.get_queue(addr.account, &addr.name).await?,
            None => None,
        };
        self.authorize_queue(ctx, action, addr, queue.as_ref())
            .await?;
        match (queue, store) {
            (Some(q), Some(s)) => Ok((q, s)),
            _ => Err(no_queue()),
        }
    }

    /// `CreateQueue` in the caller's account; idempotent with equal
    /// attributes.
    pub async fn create_queue(
        &self,
        ctx: &RequestContext,
        name: &str,
        attributes: &[(String, String)],
    ) -> Result<QueueAddr, CoreError> {
        let addr = QueueAddr {
            account: ctx.principal.account,
            name: name.to_string(),
        };
        self.authorize_queue(ctx, "sqs:CreateQueue", &addr, None)
            .await?;
        validate_queue_name(name)?;
        let set = validate_attributes(attributes)?;
        if name.ends_with(".fifo") {
            return Err(invalid(
                "InvalidParameterValue",
                "The name of a FIFO queue can only end with .fifo when FifoQueue is true; FIFO queues are not supported by Ferry yet",
            ));
        }
        let wanted = effective(&set);
        let store = self.placement().for_account(addr.account).await?;
        if let Some(q) = store.get_queue(addr.account, name).await? {
            return if q.attributes == wanted {
                Ok(addr)
            } else {
                Err(CoreError::Conflict {
                    code: "QueueAlreadyExists",
                    message: format!(
                        "A queue already exists with the same name and a different value for attribute(s) of {name}"
                    ),
                })
            };
        }
        let now = self.now();
        let q = Queue {
            account_id: addr.account,
            name: name.to_string(),
            attributes: wanted.clone(),
            created_at: now,
            updated_at: now,
        };
        match store.apply(WriteBatch::one(Write::PutQueue(q))).await {
            Ok(()) => Ok(addr),
            Err(ferry_store::StoreError::Conflict(_)) => {
                // Created meanwhile: the same answer as if it had been first.
                match store.get_queue(addr.account, name).await? {
                    Some(q) if q.attributes == wanted => Ok(addr),
                    _ => Err(CoreError::Conflict {
                        code: "QueueAlreadyExists",
                        message: format!("A queue already exists with the name {name}"),
                    }),
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    /// `GetQueueUrl`: the queue of `owner` (the caller's account by default).
    pub async fn get_queue_url(
        &self,
        ctx: &RequestContext,
        name: &str,
        owner: Option<AccountId>,
    ) -> Result<QueueAddr, CoreError> {
        let addr = QueueAddr {
            account: owner.unwrap_or(ctx.principal.account),
            name: name.to_string(),
        };
        self.queue_for(ctx, "sqs:GetQueueUrl", &addr).await?;
        Ok(addr)
    }

    /// `ListQueues`: the caller's queue names with `prefix`, by name.
    pub async fn list_queues(
        &self,
        ctx: &RequestContext,
        prefix: Option<&str>,
    ) -> Result<Vec<String>, CoreError> {
        let account = ctx.principal.account;
        self.authorize(ctx, Check::new("sqs:ListQueues", "*", account))
            .await?;
        let store = self.placement().for_account(account).await?;
        Ok(store
            .list_queues(account)
            .await?
            .into_iter()
            .map(|q| q.name)
            .filter(|n| prefix.is_none_or(|p| n.starts_with(p)))
            .collect())
    }

    /// `DeleteQueue`, with its messages.
    pub async fn delete_queue(
        &self,
        ctx: &RequestContext,
        addr: &QueueAddr,
    ) -> Result<(), CoreError> {
        let (_, store) = self.queue_for(ctx, "sqs:DeleteQueue", addr).await?;
        store
            .apply(WriteBatch::one(Write::DeleteQueue {
                account: addr.account,
                name: addr.name.clone(),
            }))
            .await?;
        Ok(())
    }

    /// `GetQueueAttributes`: `names` may hold `All`; unknown names are
    /// `InvalidAttributeName`.
    pub async fn get_queue_attributes(
        &self,
        ctx: &RequestContext,
        addr: &QueueAddr,
        names: &[String],
    ) -> Result<Vec<(String, String)>, CoreError> {
        for n in names {
            if n != "All"
                && n != "Policy"
                && !COMPUTED.contains(&n.as_str())
                && !SETTABLE.iter().any(|(s, ..)| s == n)
            {
                return Err(invalid(
                    "InvalidAttributeName",
                    format!("Unknown Attribute {n}."),
                ));
            }
        }
        let (q, store) = self.queue_for(ctx, "sqs:GetQueueAttributes", addr).await?;
        let now = self.now();
        let messages = store.list_messages(addr.account, &addr.name).await?;
        let (mut visible, mut in_flight, mut delayed) = (0u64, 0u64, 0u64);
        for m in &messages {
            if m.visible_at <= now {
                visible += 1;
            } else if m.receive_count > 0 {
                in_flight += 1;
            } else {
                delayed += 1;
            }
        }
        let mut all: Vec<(String, String)> = q.attributes.clone();
        all.push(("ApproximateNumberOfMessages".into(), visible.to_string()));
        all.push((
            "ApproximateNumberOfMessagesNotVisible".into(),
            in_flight.to_string(),
        ));
        all.push((
            "ApproximateNumberOfMessagesDelayed".into(),
            delayed.to_string(),
        ));
        all.push((
            "CreatedTimestamp".into(),
            q.created_at.timestamp().to_string(),
        ));
        all.push((
            "LastModifiedTimestamp".into(),
            q.updated_at.timestamp().to_string(),
        ));
        all.push(("QueueArn".into(), queue_arn(ctx, addr.account, &addr.name)));
        let want_all = names.iter().any(|n| n == "All");
        Ok(all
            .into_iter()
            .filter(|(n, _)| want_all || names.contains(n))
            .collect())
    }

    /// `SetQueueAttributes`.
    pub async fn set_queue_attributes(
        &self,
        ctx: &RequestContext,
        addr: &QueueAddr,
        attributes: &[(String, String)],
    ) -> Result<(), CoreError> {
        let (mut q, store) = self.queue_for(ctx, "sqs:SetQueueAttributes", addr).await?;
        let set = validate_attributes(attributes)?;
        let mut merged = q.attributes.clone();
        merged.extend(set);
        q.attributes = effective(&merged);
        q.updated_at = self.now();
        store.apply(WriteBatch::one(Write::UpdateQueue(q))).await?;
        Ok(())
    }

    /// `SendMessage`: durable before it returns.
    pub async fn send_message(
        &self,
        ctx: &RequestContext,
        addr: &QueueAddr,
        body: &str,
        delay_seconds: Option<i64>,
    ) -> Result<SentMessage, CoreError> {
        let (q, store) = self.queue_for(ctx, "sqs:SendMessage", addr).await?;
        let max = attr_i64(&q, "MaximumMessageSize");
        if body.is_empty() {
            return Err(invalid(
                "MissingParameter",
                "The request must contain the parameter MessageBody.",
            ));
        }
        if body.len() as i64 > max {
            return Err(invalid(
                "InvalidParameterValue",
                format!(
                    "One or more parameters are invalid. Reason: Message must be shorter than {max} bytes."
                ),
            ));
        }
        if body.chars().any(|c| {
            !matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
        }) {
            return Err(invalid(
                "InvalidMessageContents",
                "Invalid binary character in the message body",
            ));
        }
        let delay = match delay_seconds {
            Some(d) if !(0..=900).contains(&d) => {
                return Err(invalid(
                    "InvalidParameterValue",
                    format!(
                        "Value {d} for parameter DelaySeconds is invalid. Reason: must be between 0 and 900, if provided."
                    ),
                ));
            }
            Some(d) => d,
            None => attr_i64(&q, "DelaySeconds"),
        };
        let now = self.now();
        let md5 = md5_hex(body.as_bytes());
        let message_id = uuid::Uuid::new_v4().to_string();
        store
            .apply(WriteBatch::one(Write::PutMessage(QueueMessage {
                account_id: addr.account,
                queue_name: addr.name.clone(),
                message_id: message_id.clone(),
                body: body.to_string(),
                md5: md5.clone(),
                sent_at: now,
                visible_at: now + Duration::seconds(delay),
                receive_count: 0,
                first_received_at: None,
                receipt_handle: None,
            })))
            .await?;
        Ok(SentMessage {
            message_id,
            md5_of_body: md5,
        })
    }

    /// `ReceiveMessage`: up to `max` visible messages, each hidden for the
    /// visibility timeout (the queue's, or `visibility`) with a new
    /// receipt handle.
    pub async fn receive_message(
        &self,
        ctx: &RequestContext,
        addr: &QueueAddr,
        max: i64,
        visibility: Option<i64>,
    ) -> Result<Vec<QueueMessage>, CoreError> {
        if !(1..=10).contains(&max) {
            return Err(invalid(
                "InvalidParameterValue",
                format!(
                    "Value {max} for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided."
                ),
            ));
        }
        if let Some(v) = visibility
            && !(0..=43_200).contains(&v)
        {
            return Err(invalid(
                "InvalidParameterValue",
                format!(
                    "Value {v} for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200, if provided."
                ),
            ));
        }
        let (q, store) = self.queue_for(ctx, "sqs:ReceiveMessage", addr).await?;
        let timeout = visibility.unwrap_or_else(|| attr_i64(&q, "VisibilityTimeout"));
        let retention = Duration::seconds(attr_i64(&q, "MessageRetentionPeriod"));
        // One receive at a time in this process, so no message goes to two
        // receivers inside its visibility window.
        let _guard = self.queue_receive_lock().lock().await;
        let now = self.now();
        let mut batch = WriteBatch::new();
        let mut out = Vec::new();
        for mut m in store.list_messages(addr.account, &addr.name).await? {
            if m.sent_at + retention <= now {
                batch.push(Write::DeleteMessage {
                    account: m.account_id,
                    queue: m.queue_name.clone(),
                    message_id: m.message_id.clone(),
                });
                continue;
            }
            if out.len() as i64 >= max || m.visible_at > now {
                continue;
            }
            m.receive_count += 1;
            m.first_received_at.get_or_insert(now);
            m.visible_at = now + Duration::seconds(timeout);
            m.receipt_handle = Some(receipt_handle(addr, &m.message_id));
            batch.push(Write::UpdateMessage(m.clone()));
            out.push(m);
        }
        if !batch.0.is_empty() {
            store.apply(batch).await?;
        }
        Ok(out)
    }

    /// `DeleteMessage`: deleting a message that is gone already succeeds,
    /// as on SQS.
    pub async fn delete_message(
        &self,
        ctx: &RequestContext,
        addr: &QueueAddr,
        handle: &str,
    ) -> Result<(), CoreError> {
        let (_, store) = self.queue_for(ctx, "sqs:DeleteMessage", addr).await?;
        let message_id = handle_message_id(addr, handle)?;
        store
            .apply(WriteBatch::one(Write::DeleteMessage {
                account: addr.account,
                queue: addr.name.clone(),
                message_id,
            }))
            .await?;
        Ok(())
    }

    /// `ChangeMessageVisibility` of a message in flight, by its latest
    /// receipt handle.
    pub async fn change_message_visibility(
        &self,
        ctx: &RequestContext,
        addr: &QueueAddr,
        handle: &str,
        timeout: i64,
    ) -> Result<(), CoreError> {
        let (_, store) = self
            .queue_for(ctx, "sqs:ChangeMessageVisibility", addr)
            .await?;
        let message_id = handle_message_id(addr, handle)?;
        if !(0..=43_200).contains(&timeout) {
            return Err(invalid(
                "InvalidParameterValue",
                format!(
                    "Value {timeout} for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200."
                ),
            ));
        }
        let _guard = self.queue_receive_lock().lock().await;
        let now = self.now();
        let found = store
            .list_messages(addr.account, &addr.name)
            .await?
            .into_iter()
            .find(|m| m.message_id == message_id);
        let mut m = match found {
            Some(m) if m.receipt_handle.as_deref() == Some(handle) => m,
            _ => {
                return Err(invalid(
                    "ReceiptHandleIsInvalid",
                    format!("The input receipt handle \"{handle}\" is not a valid receipt handle."),
                ));
            }
        };
        if m.visible_at <= now {
            return Err(invalid(
                MESSAGE_NOT_INFLIGHT,
                "The message referred to is not in flight.",
            ));
        }
        m.visible_at = now + Duration::seconds(timeout);
        store
            .apply(WriteBatch::one(Write::UpdateMessage(m)))
            .await?;
        Ok(())
    }
}

/// A message's system attributes, as SQS names them.
pub fn message_system_attributes(m: &QueueMessage) -> Vec<(String, String)> {
    let mut v = vec![
        (
            "ApproximateReceiveCount".to_string(),
            m.receive_count.to_string(),
        ),
        ("SentTimestamp".to_string(), millis(m.sent_at)),
    ];
    if let Some(t) = m.first_received_at {
        v.push(("ApproximateFirstReceiveTimestamp".to_string(), millis(t)));
    }
    v
}
