//! SQS queues: standard and FIFO queues, messages, visibility, long polling,
//! dead-letter queues and redrive, queue policies.
//!
//! Every operation is authorized as `sqs:<Action>` on the queue's ARN, with
//! the queue's `Policy` attribute as its resource policy; a caller from
//! another account needs both its identity policy and the queue policy.
//! Ferry's own services send through [`Ferry::send_message_as_service`],
//! which the queue policy alone decides, as for AWS service principals.

mod attributes;
pub mod message;
mod moves;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use chrono::Duration;
use ferry_policy::{ContextValue, NamedPolicy, Policy, PolicyKind, SizeLimit};
use ferry_store::{
    DedupRecord, Queue, QueueMessage, ReceiveRequest, Redrive, Store, StoreError,
    VisibilityOutcome, Write, WriteBatch,
};
use ferry_types::{AccountId, Timestamp};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::Notify;

use crate::authz::Check;
use crate::{CoreError, Ferry, RequestContext};
use attributes::{RedriveAllowPolicy, RedrivePolicy};
pub use message::{AttributeValue, Attributes, MessageMeta, md5_hex};
pub use moves::MoveTask;

/// Query code for a queue that does not exist.
pub const NON_EXISTENT_QUEUE: &str = "AWS.SimpleQueueService.NonExistentQueue";
/// Query code for a message that is not in flight.
pub const MESSAGE_NOT_INFLIGHT: &str = "AWS.SimpleQueueService.MessageNotInflight";
/// Most entries in one batch request.
pub const MAX_BATCH: usize = 10;
/// Largest batch request: the sum of its message sizes.
pub const MAX_BATCH_BYTES: usize = 1_048_576;
/// Most tags on a queue.
const MAX_TAGS: usize = 50;
/// Most actions in one `AddPermission` statement.
const MAX_PERMISSION_ACTIONS: usize = 7;
/// Actions a queue policy cannot grant to another account.
const OWNER_ONLY: &[&str] = &[
    "sqs:AddPermission",
    "sqs:CreateQueue",
    "sqs:DeleteQueue",
    "sqs:ListQueueTags",
    "sqs:ListQueues",
    "sqs:RemovePermission",
    "sqs:SetQueueAttributes",
    "sqs:TagQueue",
    "sqs:UntagQueue",
];
/// FIFO deduplication window.
const DEDUP_WINDOW_SECONDS: i64 = 300;

/// A queue as a URL names it: its owner and its name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QueueAddr {
    /// The owner account.
    pub account: AccountId,
    /// The queue name.
    pub name: String,
}

/// One message to send.
#[derive(Debug, Clone, Default)]
pub struct SendRequest {
    /// The body.
    pub body: String,
    /// Per-message delay (standard queues).
    pub delay_seconds: Option<i64>,
    /// Message attributes.
    pub attributes: Attributes,
    /// System attributes (`AWSTraceHeader`).
    pub system_attributes: Attributes,
    /// `MessageGroupId`.
    pub group_id: Option<String>,
    /// `MessageDeduplicationId`.
    pub dedup_id: Option<String>,
}

impl SendRequest {
    /// A message with just a body.
    pub fn body(body: impl Into<String>) -> Self {
        SendRequest {
            body: body.into(),
            ..Default::default()
        }
    }
}

/// What a send returns.
#[derive(Debug, Clone)]
pub struct SentMessage {
    /// The message's id (the first one's, for a FIFO duplicate).
    pub message_id: String,
    /// Hex MD5 of the body.
    pub md5_of_body: String,
    /// MD5 of the message attributes, if any.
    pub md5_of_attributes: Option<String>,
    /// MD5 of the system attributes, if any.
    pub md5_of_system_attributes: Option<String>,
    /// FIFO sequence number.
    pub sequence_number: Option<String>,
}

/// `ReceiveMessage`'s options.
#[derive(Debug, Clone)]
pub struct ReceiveOptions {
    /// 1-10.
    pub max: i64,
    /// Visibility timeout override.
    pub visibility: Option<i64>,
    /// Long-poll wait (the queue's `ReceiveMessageWaitTimeSeconds` if None).
    pub wait_seconds: Option<i64>,
    /// FIFO: a retried receive with the same id within 5 minutes gets the
    /// same messages and handles back.
    pub attempt_id: Option<String>,
}

impl ReceiveOptions {
    /// Up to `max` messages, no waiting beyond the queue's default.
    pub fn up_to(max: i64) -> Self {
        ReceiveOptions {
            max,
            visibility: None,
            wait_seconds: Some(0),
            attempt_id: None,
        }
    }
}

/// A received message.
#[derive(Debug, Clone)]
pub struct Received {
    /// The stored message as claimed.
    pub message: QueueMessage,
    /// Its attributes and sender.
    pub meta: MessageMeta,
    /// The handle for delete and visibility changes.
    pub receipt_handle: String,
}

impl Received {
    /// The system attributes, as SQS names them (`DeadLetterQueueSourceArn`
    /// needs the request's region).
    pub fn system_attributes(&self, region: &str) -> Vec<(String, String)> {
        let m = &self.message;
        let mut v = vec![
            (
                "ApproximateReceiveCount".to_string(),
                m.receive_count.to_string(),
            ),
            ("SentTimestamp".to_string(), millis(m.sent_at)),
            ("SenderId".to_string(), self.meta.sender.clone()),
        ];
        if let Some(t) = m.first_received_at {
            v.push(("ApproximateFirstReceiveTimestamp".to_string(), millis(t)));
        }
        if let Some(g) = &m.group_id {
            v.push(("MessageGroupId".to_string(), g.clone()));
        }
        if let Some(d) = &self.meta.dedup_id {
            v.push(("MessageDeduplicationId".to_string(), d.clone()));
        }
        if let Some(s) = &self.meta.sequence_number {
            v.push(("SequenceNumber".to_string(), s.clone()));
        }
        if let Some(src) = &m.source_queue {
            v.push((
                "DeadLetterQueueSourceArn".to_string(),
                format!("arn:aws:sqs:{region}:{}:{src}", m.account_id),
            ));
        }
        for (name, value) in &self.meta.system {
            if let Some(s) = &value.string_value {
                v.push((name.clone(), s.clone()));
            }
        }
        v
    }
}

/// A batch entry's outcome, by the entry's id.
pub type BatchResults<T> = Vec<(String, Result<T, CoreError>)>;

/// A FIFO receive attempt: the queue and the `ReceiveRequestAttemptId`.
type AttemptKey = (QueueAddr, String);

/// Per-process queue state: long-poll waiters, purge times, move tasks and
/// the FIFO sequence counter.
#[derive(Default)]
pub(crate) struct QueueState {
    waiters: Mutex<HashMap<QueueAddr, Arc<Notify>>>,
    purges: Mutex<HashMap<QueueAddr, Timestamp>>,
    /// FIFO receive attempts: (queue, attempt id) -> (until, what it got).
    attempts: Mutex<HashMap<AttemptKey, (Timestamp, Vec<Received>)>>,
    moves: moves::Tasks,
    sequence: AtomicU64,
}

impl QueueState {
    fn waiter(&self, addr: &QueueAddr) -> Arc<Notify> {
        match self.waiters.lock() {
            Ok(mut w) => w.entry(addr.clone()).or_default().clone(),
            // A poisoned map only costs the wake-up; receivers still poll.
            Err(_) => Arc::new(Notify::new()),
        }
    }

    fn wake(&self, addr: &QueueAddr) {
        if let Ok(w) = self.waiters.lock()
            && let Some(n) = w.get(addr)
        {
            n.notify_waiters();
        }
    }

    /// A FIFO sequence number: 20 digits, increasing in this process.
    fn next_sequence(&self, now: Timestamp) -> String {
        let floor = u64::try_from(now.timestamp_micros()).unwrap_or(0) * 100;
        let mut cur = self.sequence.load(Ordering::Relaxed);
        loop {
            let next = cur.max(floor) + 1;
            match self
                .sequence
                .compare_exchange(cur, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return format!("{next:020}"),
                Err(actual) => cur = actual,
            }
        }
    }
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

fn millis(t: Timestamp) -> String {
    t.timestamp_millis().to_string()
}

fn policy_of(q: &Queue) -> Vec<NamedPolicy> {
    let Some(doc) = attributes::get(q, "Policy") else {
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

/// Checks a batch's shape: 1-10 entries with distinct, well-formed ids.
pub fn check_batch_ids<'a>(
    entry_name: &str,
    ids: impl ExactSizeIterator<Item = &'a str>,
) -> Result<(), CoreError> {
    let n = ids.len();
    if n == 0 {
        return Err(invalid(
            "AWS.SimpleQueueService.EmptyBatchRequest",
            format!("There should be at least one {entry_name} in the request."),
        ));
    }
    if n > MAX_BATCH {
        return Err(invalid(
            "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
            format!("Maximum number of entries per request are {MAX_BATCH}. You have sent {n}."),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for id in ids {
        if id.is_empty()
            || id.len() > 80
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(invalid(
                "AWS.SimpleQueueService.InvalidBatchEntryId",
                "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.",
            ));
        }
        if !seen.insert(id) {
            return Err(invalid(
                "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
                format!("Id {id} repeated."),
            ));
        }
    }
    Ok(())
}

fn check_visibility(v: i64) -> Result<(), CoreError> {
    if (0..=43_200).contains(&v) {
        Ok(())
    } else {
        Err(invalid(
            "InvalidParameterValue",
            format!(
                "Value {v} for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200, if provided."
            ),
        ))
    }
}

fn bad_handle(handle: &str) -> CoreError {
    invalid(
        "ReceiptHandleIsInvalid",
        format!("The input receipt handle \"{handle}\" is not a valid receipt handle."),
    )
}

/// The message id and receive token a handle names, if it is a handle of
/// this queue.
fn handle_parts(addr: &QueueAddr, handle: &str) -> Result<(String, String), CoreError> {
    match message::parse_receipt_handle(handle) {
        Some((account, queue, id, token))
            if account == addr.account.to_string() && queue == addr.name =>
        {
            Ok((id, token))
        }
        _ => Err(bad_handle(handle)),
    }
}

/// A message checked against its queue, ready to store.
struct Prepared {
    message: QueueMessage,
    sent: SentMessage,
    dedup: Option<DedupRecord>,
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
        // The queue policy grants other accounts only the shareable
        // actions; for the owner's own ones cross-account permissions do
        // not apply (the API reference of each says so).
        let cross_account = ctx.principal.account != addr.account;
        if let Some(q) = queue
            && !(cross_account && OWNER_ONLY.contains(&action))
        {
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

    /// Checks a `RedrivePolicy` being set on `source`: the target exists in
    /// the same account, is of the same type and allows the source.
    async fn check_redrive(
        &self,
        ctx: &RequestContext,
        store: &Arc<dyn Store>,
        source: &QueueAddr,
        fifo: bool,
        text: &str,
    ) -> Result<(), CoreError> {
        let policy = RedrivePolicy::parse(text)?;
        let bad = |why: &str| {
            invalid(
                "InvalidParameterValue",
                format!("Value {text} for parameter RedrivePolicy is invalid. Reason: {why}"),
            )
        };
        let target = match attributes::parse_queue_arn(&policy.target_arn) {
            Some((account, name)) if account == source.account => {
                store.get_queue(account, &name).await?
            }
            _ => None,
        };
        let Some(target) = target else {
            return Err(bad("Dead letter target does not exist."));
        };
        if attributes::is_fifo(&target) != fifo {
            return Err(bad(
                "Dead-letter queue must be of the same type (standard or FIFO) as the source queue.",
            ));
        }
        if let Some(allow) = attributes::get(&target, "RedriveAllowPolicy")
            && let Ok(allow) = RedriveAllowPolicy::parse(allow)
            && !allow.allows(&queue_arn(ctx, source.account, &source.name))
        {
            return Err(bad(
                "Dead letter queue's RedriveAllowPolicy does not allow this source queue.",
            ));
        }
        Ok(())
    }

    /// `CreateQueue` in the caller's account; idempotent with equal
    /// attributes.
    pub async fn create_queue(
        &self,
        ctx: &RequestContext,
        name: &str,
        attrs: &[(String, String)],
        tags: &[(String, String)],
    ) -> Result<QueueAddr, CoreError> {
        let addr = QueueAddr {
            account: ctx.principal.account,
            name: name.to_string(),
        };
        self.authorize_queue(ctx, "sqs:CreateQueue", &addr, None)
            .await?;
        if !tags.is_empty() {
            self.authorize_queue(ctx, "sqs:TagQueue", &addr, None)
                .await?;
        }
        validate_queue_name(name)?;
        let fifo = name.ends_with(".fifo");
        let set = attributes::validate(attrs, fifo, true)?;
        if fifo && !set.iter().any(|(n, v)| n == "FifoQueue" && v == "true") {
            return Err(invalid(
                "InvalidParameterValue",
                "The name of a FIFO queue can only end with .fifo when the attribute FifoQueue is true.",
            ));
        }
        let tags = check_tags(&[], tags)?;
        let wanted = attributes::effective(&set, fifo);
        let store = self.placement().for_account(addr.account).await?;
        if let Some((_, text)) = set
            .iter()
            .find(|(n, v)| n == "RedrivePolicy" && !v.is_empty())
        {
            self.check_redrive(ctx, &store, &addr, fifo, text).await?;
        }
        let exists = || CoreError::Conflict {
            code: "QueueAlreadyExists",
            message: format!(
                "A queue already exists with the same name and a different value for attribute(s) of {name}"
            ),
        };
        if let Some(q) = store.get_queue(addr.account, name).await? {
            return if q.attributes == wanted {
                Ok(addr)
            } else {
                Err(exists())
            };
        }
        let now = self.now();
        let q = Queue {
            account_id: addr.account,
            name: name.to_string(),
            attributes: wanted.clone(),
            tags,
            created_at: now,
            updated_at: now,
        };
        match store.apply(WriteBatch::one(Write::PutQueue(q))).await {
            Ok(()) => Ok(addr),
            Err(StoreError::Conflict(_)) => {
                // Created meanwhile: the same answer as if it had been first.
                match store.get_queue(addr.account, name).await? {
                    Some(q) if q.attributes == wanted => Ok(addr),
                    _ => Err(exists()),
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
        self.queues.wake(addr);
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
        if let Some(n) = names.iter().find(|n| !attributes::is_known(n)) {
            return Err(invalid(
                "InvalidAttributeName",
                format!("Unknown Attribute {n}."),
            ));
        }
        let (q, store) = self.queue_for(ctx, "sqs:GetQueueAttributes", addr).await?;
        let counts = store
            .queue_counts(addr.account, &addr.name, self.now())
            .await?;
        let mut all: Vec<(String, String)> = q.attributes.clone();
        all.push((
            "ApproximateNumberOfMessages".into(),
            counts.visible.to_string(),
        ));
        all.push((
            "ApproximateNumberOfMessagesNotVisible".into(),
            counts.in_flight.to_string(),
        ));
        all.push((
            "ApproximateNumberOfMessagesDelayed".into(),
            counts.delayed.to_string(),
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
        attrs: &[(String, String)],
    ) -> Result<(), CoreError> {
        let (mut q, store) = self.queue_for(ctx, "sqs:SetQueueAttributes", addr).await?;
        let fifo = attributes::is_fifo(&q);
        let set = attributes::validate(attrs, fifo, false)?;
        if let Some((_, text)) = set
            .iter()
            .find(|(n, v)| n == "RedrivePolicy" && !v.is_empty())
        {
            self.check_redrive(ctx, &store, addr, fifo, text).await?;
        }
        let mut merged = q.attributes.clone();
        merged.extend(set);
        q.attributes = attributes::effective(&merged, fifo);
        q.updated_at = self.now();
        store.apply(WriteBatch::one(Write::UpdateQueue(q))).await?;
        Ok(())
    }

    /// Checks one message against its queue and builds what to store.
    fn prepare(
        &self,
        sender: &str,
        q: &Queue,
        req: SendRequest,
        now: Timestamp,
    ) -> Result<Prepared, CoreError> {
        let fifo = attributes::is_fifo(q);
        if req.body.is_empty() {
            return Err(invalid(
                "MissingParameter",
                "The request must contain the parameter MessageBody.",
            ));
        }
        if !message::valid_text(&req.body) {
            return Err(invalid(
                "InvalidMessageContents",
                "Invalid binary character in the message body",
            ));
        }
        let (attrs, attrs_size) = message::validate_attributes(req.attributes, false)?;
        let (system, _) = message::validate_attributes(req.system_attributes, true)?;
        let max = attributes::int(q, "MaximumMessageSize");
        let size = req.body.len() + attrs_size;
        if size as i64 > max {
            return Err(invalid(
                "InvalidParameterValue",
                format!(
                    "One or more parameters are invalid. Reason: Message must be shorter than {max} bytes."
                ),
            ));
        }
        let delay = match req.delay_seconds {
            Some(d) if fifo => {
                return Err(invalid(
                    "InvalidParameterValue",
                    format!(
                        "Value {d} for parameter DelaySeconds is invalid. Reason: The request include parameter that is not valid for this queue type."
                    ),
                ));
            }
            Some(d) if !(0..=900).contains(&d) => {
                return Err(invalid(
                    "InvalidParameterValue",
                    format!(
                        "Value {d} for parameter DelaySeconds is invalid. Reason: must be between 0 and 900, if provided."
                    ),
                ));
            }
            Some(d) => d,
            None => attributes::int(q, "DelaySeconds"),
        };
        if let Some(g) = &req.group_id
            && (g.is_empty() || g.len() > 128 || !g.chars().all(|c| c.is_ascii_graphic()))
        {
            return Err(invalid(
                "InvalidParameterValue",
                format!(
                    "Value {g} for parameter MessageGroupId is invalid. Reason: MessageGroupId can only include alphanumeric and punctuation characters. 1 to 128 in length."
                ),
            ));
        }
        if let Some(d) = &req.dedup_id {
            if !fifo {
                return Err(invalid(
                    "InvalidParameterValue",
                    format!(
                        "Value {d} for parameter MessageDeduplicationId is invalid. Reason: The request includes a parameter that is not valid for this queue type."
                    ),
                ));
            }
            if d.is_empty() || d.len() > 128 || !d.chars().all(|c| c.is_ascii_graphic()) {
                return Err(invalid(
                    "InvalidParameterValue",
                    format!(
                        "Value {d} for parameter MessageDeduplicationId is invalid. Reason: MessageDeduplicationId can only include alphanumeric and punctuation characters. 1 to 128 in length."
                    ),
                ));
            }
        }
        let md5 = md5_hex(req.body.as_bytes());
        let message_id = ferry_types::message_id();
        let mut meta = MessageMeta {
            attributes_md5: message::attributes_md5(&attrs),
            attributes: attrs,
            system_md5: message::attributes_md5(&system),
            system,
            sender: sender.to_string(),
            ..Default::default()
        };
        let mut dedup = None;
        if fifo {
            let Some(group) = &req.group_id else {
                return Err(invalid(
                    "MissingParameter",
                    "The request must contain the parameter MessageGroupId.",
                ));
            };
            let dedup_id = match (
                &req.dedup_id,
                attributes::get(q, "ContentBasedDeduplication"),
            ) {
                (Some(d), _) => d.clone(),
                (None, Some("true")) => hex::encode(Sha256::digest(req.body.as_bytes())),
                (None, _) => {
                    return Err(invalid(
                        "InvalidParameterValue",
                        "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly",
                    ));
                }
            };
            let scoped = match attributes::get(q, "DeduplicationScope") {
                Some("messageGroup") => format!("{group}\u{0}{dedup_id}"),
                _ => dedup_id.clone(),
            };
            let sequence = self.queues.next_sequence(now);
            dedup = Some(DedupRecord {
                account_id: q.account_id,
                queue_name: q.name.clone(),
                dedup_id: scoped,
                message_id: message_id.clone(),
                sequence_number: sequence.clone(),
                expires_at: now + Duration::seconds(DEDUP_WINDOW_SECONDS),
            });
            meta.sequence_number = Some(sequence);
            meta.dedup_id = Some(dedup_id);
        }
        let sent = SentMessage {
            message_id: message_id.clone(),
            md5_of_body: md5.clone(),
            md5_of_attributes: meta.attributes_md5.clone(),
            md5_of_system_attributes: meta.system_md5.clone(),
            sequence_number: meta.sequence_number.clone(),
        };
        let message = QueueMessage {
            account_id: q.account_id,
            queue_name: q.name.clone(),
            message_id,
            seq: 0,
            body: req.body,
            md5,
            meta: serde_json::to_string(&meta).map_err(|e| CoreError::Internal(e.to_string()))?,
            group_id: req.group_id,
            source_queue: None,
            sent_at: now,
            visible_at: now + Duration::seconds(delay),
            expires_at: now + Duration::seconds(attributes::int(q, "MessageRetentionPeriod")),
            receive_count: 0,
            first_received_at: None,
            receipt_handle: None,
        };
        Ok(Prepared {
            message,
            sent,
            dedup,
        })
    }

    /// Stores one FIFO message, or answers a duplicate inside the window
    /// with the first message's id and sequence number.
    async fn store_fifo(
        &self,
        store: &Arc<dyn Store>,
        p: Prepared,
        now: Timestamp,
    ) -> Result<SentMessage, CoreError> {
        let Some(record) = p.dedup else {
            store
                .apply(WriteBatch::one(Write::PutMessage(p.message)))
                .await?;
            return Ok(p.sent);
        };
        let (account, queue, key) = (
            record.account_id,
            record.queue_name.clone(),
            record.dedup_id.clone(),
        );
        let mut batch = WriteBatch::one(Write::PutDedup { record, now });
        batch.push(Write::PutMessage(p.message));
        match store.apply(batch).await {
            Ok(()) => Ok(p.sent),
            Err(StoreError::Conflict(_)) => {
                let first = store.get_dedup(account, &queue, &key, now).await?;
                let mut sent = p.sent;
                if let Some(first) = first {
                    sent.message_id = first.message_id;
                    sent.sequence_number = Some(first.sequence_number);
                }
                Ok(sent)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// `SendMessage`: durable before it returns.
    pub async fn send_message(
        &self,
        ctx: &RequestContext,
        addr: &QueueAddr,
        req: SendRequest,
    ) -> Result<SentMessage, CoreError> {
        let (q, store) = self.queue_for(ctx, "sqs:SendMessage", addr).await?;
        let now = self.now();
        let p = self.prepare(&ctx.principal.user_id, &q, req, now)?;
        let sent = self.store_fifo(&store, p, now).await?;
        self.queues.wake(addr);
        Ok(sent)
    }

    /// `SendMessageBatch`: entries that pass their checks are stored
    /// together (one transaction for a standard queue); each entry fails
    /// alone.
    pub async fn send_message_batch(
        &self,
        ctx: &RequestContext,
        addr: &QueueAddr,
        entries: Vec<(String, SendRequest)>,
    ) -> Result<BatchResults<SentMessage>, CoreError> {
        check_batch_ids(
            "SendMessageBatchRequestEntry",
            entries.iter().map(|(id, _)| id.as_str()),
        )?;
        let (q, store) = self.queue_for(ctx, "sqs:SendMessage", addr).await?;
        let total: usize = entries
            .iter()
            .map(|(_, e)| e.body.len() + message::attributes_size(&e.attributes))
            .sum();
        if total > MAX_BATCH_BYTES {
            return Err(invalid(
                "AWS.SimpleQueueService.BatchRequestTooLong",
                format!(
                    "Batch requests cannot be longer than {MAX_BATCH_BYTES} bytes. You have sent {total} bytes."
                ),
            ));
        }
        let now = self.now();
        let fifo = attributes::is_fifo(&q);
        let mut results = Vec::with_capacity(entries.len());
        let mut batch = WriteBatch::new();
        let mut pending = Vec::new();
        for (id, req) in entries {
            match self.prepare(&ctx.principal.user_id, &q, req, now) {
                Err(e) => results.push((id, Err(e))),
                // FIFO entries go one by one, in order: each may be a
                // duplicate of the one before.
                Ok(p) if fifo => {
                    let r = self.store_fifo(&store, p, now).await;
                    results.push((id, r));
                }
                Ok(p) => {
                    batch.push(Write::PutMessage(p.message));
                    pending.push(results.len());
                    results.push((id, Ok(p.sent)));
                }
            }
        }
        if !batch.0.is_empty()
            && let Err(e) = store.apply(batch).await
        {
            let e = CoreError::from(e);
            for i in pending {
                results[i].1 = Err(CoreError::Internal(e.to_string()));
            }
        }
        self.queues.wake(addr);
        Ok(results)
    }

    /// `ReceiveMessage`: up to `max` messages, each hidden for the
    /// visibility timeout with a new receipt handle. With a wait, an empty
    /// queue holds the request until a message arrives (woken by the send,
    /// in this process; checked every second for other processes and for
    /// messages whose delay or visibility ends) or the wait ends.
    pub async fn receive_message(
        &self,
        ctx: &RequestContext,
        addr: &QueueAddr,
        opts: ReceiveOptions,
    ) -> Result<Vec<Received>, CoreError> {
        if !(1..=10).contains(&opts.max) {
            return Err(invalid(
                "InvalidParameterValue",
                format!(
                    "Value {} for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.",
                    opts.max
                ),
            ));
        }
        if let Some(v) = opts.visibility {
            check_visibility(v)?;
        }
        if let Some(w) = opts.wait_seconds
            && !(0..=20).contains(&w)
        {
            return Err(invalid(
                "InvalidParameterValue",
                format!(
                    "Value {w} for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided."
                ),
            ));
        }
        let (q, store) = self.queue_for(ctx, "sqs:ReceiveMessage", addr).await?;
        let timeout = opts
            .visibility
            .unwrap_or_else(|| attributes::int(&q, "VisibilityTimeout"));
        let wait = opts
            .wait_seconds
            .unwrap_or_else(|| attributes::int(&q, "ReceiveMessageWaitTimeSeconds"));
        let fifo = attributes::is_fifo(&q);
        let attempt = opts
            .attempt_id
            .filter(|_| fifo)
            .map(|id| (addr.clone(), id));
        if let Some(key) = &attempt
            && let Some(earlier) = self.earlier_attempt(key)?
        {
            return Ok(earlier);
        }
        let redrive = self.redrive_of(&store, &q).await?;
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(wait as u64);
        let waiter = self.queues.waiter(addr);
        loop {
            let notified = waiter.notified();
            tokio::pin!(notified);
            // Registered before the claim, so a send between the claim and
            // the wait still wakes us.
            notified.as_mut().enable();
            let now = self.now();
            let token = format!("{}-", hex::encode(rand::random::<[u8; 12]>()));
            let request = ReceiveRequest {
                account: addr.account,
                queue: addr.name.clone(),
                now,
                max: opts.max as usize,
                visible_until: now + Duration::seconds(timeout),
                token,
                fifo,
                redrive: redrive.clone(),
            };
            let got = store.receive_messages(&request).await?;
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if !got.is_empty() || left.is_zero() {
                let received: Vec<Received> = got
                    .into_iter()
                    .map(|m| Received {
                        meta: MessageMeta::parse(&m.meta),
                        receipt_handle: message::receipt_handle(
                            addr.account,
                            &addr.name,
                            &m.message_id,
                            m.receipt_handle.as_deref().unwrap_or(""),
                        ),
                        message: m,
                    })
                    .collect();
                if let Some(key) = attempt {
                    self.remember_attempt(key, now, &received)?;
                }
                return Ok(received);
            }
            tokio::select! {
                _ = notified => {}
                _ = tokio::time::sleep(left.min(std::time::Duration::from_secs(1))) => {}
            }
        }
    }

    fn earlier_attempt(&self, key: &AttemptKey) -> Result<Option<Vec<Received>>, CoreError> {
        let now = self.now();
        let mut attempts = self
            .queues
            .attempts
            .lock()
            .map_err(|_| CoreError::Internal("receive attempts poisoned".into()))?;
        attempts.retain(|_, (until, _)| *until > now);
        Ok(attempts.get(key).map(|(_, got)| got.clone()))
    }

    fn remember_attempt(
        &self,
        key: AttemptKey,
        now: Timestamp,
        got: &[Received],
    ) -> Result<(), CoreError> {
        self.queues
            .attempts
            .lock()
            .map_err(|_| CoreError::Internal("receive attempts poisoned".into()))?
            .insert(
                key,
                (now + Duration::seconds(DEDUP_WINDOW_SECONDS), got.to_vec()),
            );
        Ok(())
    }

    /// The store's view of a queue's redrive policy (None when the target
    /// is gone).
    async fn redrive_of(
        &self,
        store: &Arc<dyn Store>,
        q: &Queue,
    ) -> Result<Option<Redrive>, CoreError> {
        let Some(policy) = RedrivePolicy::of(q) else {
            return Ok(None);
        };
        let Some((account, name)) = attributes::parse_queue_arn(&policy.target_arn) else {
            return Ok(None);
        };
        if account != q.account_id {
            return Ok(None);
        }
        Ok(store.get_queue(account, &name).await?.map(|dlq| Redrive {
            max_receive_count: policy.max_receive_count,
            dead_letter_queue: dlq.name.clone(),
            retention_seconds: attributes::int(&dlq, "MessageRetentionPeriod"),
        }))
    }

    /// `DeleteMessage`: by the latest receipt handle; deleting a message
    /// that is gone already succeeds, as on SQS.
    pub async fn delete_message(
        &self,
        ctx: &RequestContext,
        addr: &QueueAddr,
        handle: &str,
    ) -> Result<(), CoreError> {
        let (_, store) = self.queue_for(ctx, "sqs:DeleteMessage", addr).await?;
        let (message_id, token) = handle_parts(addr, handle)?;
        store
            .apply(WriteBatch::one(Write::DeleteMessage {
                account: addr.account,
                queue: addr.name.clone(),
                message_id,
                receipt_handle: Some(token),
            }))
            .await?;
        Ok(())
    }

    /// `DeleteMessageBatch`: valid handles are deleted in one transaction.
    pub async fn delete_message_batch(
        &self,
        ctx: &RequestContext,
        addr: &QueueAddr,
        entries: Vec<(String, String)>,
    ) -> Result<BatchResults<()>, CoreError> {
        check_batch_ids(
            "DeleteMessageBatchRequestEntry",
            entries.iter().map(|(id, _)| id.as_str()),
        )?;
        let (_, store) = self.queue_for(ctx, "sqs:DeleteMessage", addr).await?;
        let mut batch = WriteBatch::new();
        let mut results = Vec::with_capacity(entries.len());
        for (id, handle) in entries {
            match handle_parts(addr, &handle) {
                Ok((message_id, token)) => {
                    batch.push(Write::DeleteMessage {
                        account: addr.account,
                        queue: addr.name.clone(),
                        message_id,
                        receipt_handle: Some(token),
                    });
                    results.push((id, Ok(())));
                }
                Err(e) => results.push((id, Err(e))),
            }
        }
        if !batch.0.is_empty() {
            store.apply(batch).await?;
        }
        Ok(results)
    }

    async fn change_visibility_in(
        &self,
        store: &Arc<dyn Store>,
        addr: &QueueAddr,
        handle: &str,
        timeout: i64,
    ) -> Result<(), CoreError> {
        let (_, token) = handle_parts(addr, handle)?;
        check_visibility(timeout)?;
        let now = self.now();
        match store
            .change_visibility(
                addr.account,
                &addr.name,
                &token,
                now,
                now + Duration::seconds(timeout),
            )
            .await?
        {
            VisibilityOutcome::Changed => Ok(()),
            VisibilityOutcome::NotInFlight => Err(invalid(
                MESSAGE_NOT_INFLIGHT,
                "The message referred to is not in flight.",
            )),
            VisibilityOutcome::Gone => Err(invalid(
                "InvalidParameterValue",
                format!(
                    "Value {handle} for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change."
                ),
            )),
        }
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
        self.change_visibility_in(&store, addr, handle, timeout)
            .await
    }

    /// `ChangeMessageVisibilityBatch`.
    pub async fn change_message_visibility_batch(
        &self,
        ctx: &RequestContext,
        addr: &QueueAddr,
        entries: Vec<(String, String, i64)>,
    ) -> Result<BatchResults<()>, CoreError> {
        check_batch_ids(
            "ChangeMessageVisibilityBatchRequestEntry",
            entries.iter().map(|(id, ..)| id.as_str()),
        )?;
        let (_, store) = self
            .queue_for(ctx, "sqs:ChangeMessageVisibility", addr)
            .await?;
        let mut results = Vec::with_capacity(entries.len());
        for (id, handle, timeout) in entries {
            let r = self
                .change_visibility_in(&store, addr, &handle, timeout)
                .await;
            results.push((id, r));
        }
        Ok(results)
    }

    /// `PurgeQueue`: once a minute per queue, as on SQS.
    pub async fn purge_queue(
        &self,
        ctx: &RequestContext,
        addr: &QueueAddr,
    ) -> Result<(), CoreError> {
        let (_, store) = self.queue_for(ctx, "sqs:PurgeQueue", addr).await?;
        let now = self.now();
        {
            let mut purges = self
                .queues
                .purges
                .lock()
                .map_err(|_| CoreError::Internal("purge map poisoned".into()))?;
            if let Some(last) = purges.get(addr)
                && now - *last < Duration::seconds(60)
            {
                return Err(invalid(
                    "AWS.SimpleQueueService.PurgeQueueInProgress",
                    format!(
                        "Only one PurgeQueue operation on {} is allowed every 60 seconds.",
                        addr.name
                    ),
                ));
            }
            purges.insert(addr.clone(), now);
        }
        store
            .apply(WriteBatch::one(Write::PurgeQueue {
                account: addr.account,
                name: addr.name.clone(),
            }))
            .await?;
        Ok(())
    }

    /// `TagQueue`: adds or replaces tags.
    pub async fn tag_queue(
        &self,
        ctx: &RequestContext,
        addr: &QueueAddr,
        tags: &[(String, String)],
    ) -> Result<(), CoreError> {
        let (q, store) = self.queue_for(ctx, "sqs:TagQueue", addr).await?;
        if tags.is_empty() {
            return Err(invalid(
                "MissingParameter",
                "The request must contain the parameter Tags.",
            ));
        }
        let merged = check_tags(&q.tags, tags)?;
        store
            .apply(WriteBatch::one(Write::SetQueueTags {
                account: addr.account,
                name: addr.name.clone(),
                tags: merged,
            }))
            .await?;
        Ok(())
    }

    /// `UntagQueue`.
    pub async fn untag_queue(
        &self,
        ctx: &RequestContext,
        addr: &QueueAddr,
        keys: &[String],
    ) -> Result<(), CoreError> {
        let (q, store) = self.queue_for(ctx, "sqs:UntagQueue", addr).await?;
        if keys.is_empty() {
            return Err(invalid(
                "MissingParameter",
                "The request must contain the parameter TagKeys.",
            ));
        }
        let tags: Vec<(String, String)> = q
            .tags
            .into_iter()
            .filter(|(k, _)| !keys.contains(k))
            .collect();
        store
            .apply(WriteBatch::one(Write::SetQueueTags {
                account: addr.account,
                name: addr.name.clone(),
                tags,
            }))
            .await?;
        Ok(())
    }

    /// `ListQueueTags`.
    pub async fn list_queue_tags(
        &self,
        ctx: &RequestContext,
        addr: &QueueAddr,
    ) -> Result<Vec<(String, String)>, CoreError> {
        let (q, _) = self.queue_for(ctx, "sqs:ListQueueTags", addr).await?;
        Ok(q.tags)
    }

    /// `AddPermission`: a statement `label` allowing `accounts` the
    /// `actions`, added to the queue policy.
    pub async fn add_permission(
        &self,
        ctx: &RequestContext,
        addr: &QueueAddr,
        label: &str,
        accounts: &[String],
        actions: &[String],
    ) -> Result<(), CoreError> {
        let (q, store) = self.queue_for(ctx, "sqs:AddPermission", addr).await?;
        let bad = |why: &str| {
            invalid(
                "InvalidParameterValue",
                format!("Value {label} for parameter Label is invalid. Reason: {why}"),
            )
        };
        if label.is_empty()
            || label.len() > 80
            || !label
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(bad(
                "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length.",
            ));
        }
        if accounts.is_empty() {
            return Err(invalid(
                "MissingParameter",
                "The request must contain the parameter AWSAccountIds.",
            ));
        }
        if actions.is_empty() {
            return Err(invalid(
                "MissingParameter",
                "The request must contain the parameter Actions.",
            ));
        }
        if actions.len() > MAX_PERMISSION_ACTIONS {
            return Err(invalid(
                "OverLimit",
                format!(
                    "{} Actions were found, maximum allowed is {MAX_PERMISSION_ACTIONS}.",
                    actions.len()
                ),
            ));
        }
        let mut principals = Vec::new();
        for a in accounts {
            let id: AccountId = a.parse().map_err(|_| {
                invalid(
                    "InvalidParameterValue",
                    format!("Value {a} for parameter AWSAccountIds is invalid. Reason: must be a 12-digit account id."),
                )
            })?;
            principals.push(format!("arn:aws:iam::{id}:root"));
        }
        const SHAREABLE: &[&str] = &[
            "*",
            "SendMessage",
            "ReceiveMessage",
            "DeleteMessage",
            "ChangeMessageVisibility",
            "GetQueueAttributes",
            "GetQueueUrl",
            "ListDeadLetterSourceQueues",
            "PurgeQueue",
        ];
        let mut sqs_actions = Vec::new();
        for a in actions {
            if !SHAREABLE.contains(&a.as_str()) {
                return Err(invalid(
                    "InvalidParameterValue",
                    format!(
                        "Value SQS:{a} for parameter ActionName is invalid. Reason: Only the queue owner is allowed to invoke this action."
                    ),
                ));
            }
            sqs_actions.push(format!("SQS:{a}"));
        }
        let arn = queue_arn(ctx, addr.account, &addr.name);
        let mut doc = match attributes::get(&q, "Policy") {
            Some(text) => serde_json::from_str::<Value>(text)
                .map_err(|e| CoreError::Internal(format!("stored queue policy: {e}")))?,
            None => {
                json!({"Version": "2012-10-17", "Id": format!("{arn}/SQSDefaultPolicy"), "Statement": []})
            }
        };
        let mut statements = statements_of(&doc);
        if statements
            .iter()
            .any(|s| s.get("Sid").and_then(Value::as_str) == Some(label))
        {
            return Err(bad("Already exists."));
        }
        statements.push(json!({
            "Sid": label,
            "Effect": "Allow",
            "Principal": {"AWS": principals},
            "Action": sqs_actions,
            "Resource": arn,
        }));
        doc["Statement"] = Value::Array(statements);
        self.store_policy(store, q, Some(doc.to_string())).await
    }

    /// `RemovePermission`: drops the statement `label`.
    pub async fn remove_permission(
        &self,
        ctx: &RequestContext,
        addr: &QueueAddr,
        label: &str,
    ) -> Result<(), CoreError> {
        let (q, store) = self.queue_for(ctx, "sqs:RemovePermission", addr).await?;
        let missing = || {
            invalid(
                "InvalidParameterValue",
                format!(
                    "Value {label} for parameter Label is invalid. Reason: can't find label on existing policy."
                ),
            )
        };
        let Some(text) = attributes::get(&q, "Policy") else {
            return Err(missing());
        };
        let mut doc: Value = serde_json::from_str(text)
            .map_err(|e| CoreError::Internal(format!("stored queue policy: {e}")))?;
        let mut statements = statements_of(&doc);
        let before = statements.len();
        statements.retain(|s| s.get("Sid").and_then(Value::as_str) != Some(label));
        if statements.len() == before {
            return Err(missing());
        }
        let policy = if statements.is_empty() {
            None
        } else {
            doc["Statement"] = Value::Array(statements);
            Some(doc.to_string())
        };
        self.store_policy(store, q, policy).await
    }

    async fn store_policy(
        &self,
        store: Arc<dyn Store>,
        mut q: Queue,
        policy: Option<String>,
    ) -> Result<(), CoreError> {
        let fifo = attributes::is_fifo(&q);
        let mut merged = q.attributes.clone();
        merged.push(("Policy".into(), policy.unwrap_or_default()));
        q.attributes = attributes::effective(&merged, fifo);
        q.updated_at = self.now();
        store.apply(WriteBatch::one(Write::UpdateQueue(q))).await?;
        Ok(())
    }

    /// `ListDeadLetterSourceQueues`: the queues of the account whose redrive
    /// policy names this queue, by name.
    pub async fn list_dead_letter_source_queues(
        &self,
        ctx: &RequestContext,
        addr: &QueueAddr,
    ) -> Result<Vec<String>, CoreError> {
        let (_, store) = self
            .queue_for(ctx, "sqs:ListDeadLetterSourceQueues", addr)
            .await?;
        Ok(store
            .list_queues(addr.account)
            .await?
            .into_iter()
            .filter(|q| {
                RedrivePolicy::of(q).is_some_and(|p| {
                    attributes::parse_queue_arn(&p.target_arn)
                        == Some((addr.account, addr.name.clone()))
                })
            })
            .map(|q| q.name)
            .collect())
    }

    /// Sends as an AWS service (`events.amazonaws.com`, ...) on behalf of
    /// `source_arn`: the queue policy alone decides, with
    /// `aws:SourceArn`/`aws:SourceAccount` for confused-deputy conditions.
    pub async fn send_message_as_service(
        &self,
        service: &str,
        source_account: AccountId,
        source_arn: &str,
        addr: &QueueAddr,
        req: SendRequest,
        region: &str,
    ) -> Result<SentMessage, CoreError> {
        let arn = format!("arn:aws:sqs:{region}:{}:{}", addr.account, addr.name);
        let denied = || {
            CoreError::AccessDenied(format!(
                "Service {service} is not authorized to perform: sqs:SendMessage on resource: {arn}"
            ))
        };
        let Some(store) = self.placement().existing(addr.account).await? else {
            return Err(denied());
        };
        let Some(q) = store.get_queue(addr.account, &addr.name).await? else {
            return Err(denied());
        };
        let principal = ferry_policy::Principal::service(service);
        let mut context = ferry_policy::Context::new();
        context.insert_principal_keys(&principal);
        context.insert("aws:CurrentTime", ContextValue::Date(self.now()));
        context.insert("aws:SourceAccount", source_account.to_string());
        context.insert("aws:SourceArn", source_arn.to_string());
        let account = addr.account.to_string();
        let request = ferry_policy::Request {
            principal: &principal,
            action: "sqs:SendMessage",
            resource: &arn,
            resource_account: Some(&account),
            context: &context,
        };
        let allowed = policy_of(&q).iter().any(|p| {
            ferry_policy::evaluate_assume_role(&request, p, &Default::default()).is_allowed()
        });
        if !allowed {
            return Err(denied());
        }
        let now = self.now();
        let p = self.prepare(service, &q, req, now)?;
        let sent = self.store_fifo(&store, p, now).await?;
        self.queues.wake(addr);
        Ok(sent)
    }
}

fn statements_of(doc: &Value) -> Vec<Value> {
    match doc.get("Statement") {
        Some(Value::Array(a)) => a.clone(),
        Some(v @ Value::Object(_)) => vec![v.clone()],
        _ => Vec::new(),
    }
}

/// Merges `new` tags over `old`, checking keys, values and the count.
fn check_tags(
    old: &[(String, String)],
    new: &[(String, String)],
) -> Result<Vec<(String, String)>, CoreError> {
    let mut out = old.to_vec();
    for (k, v) in new {
        if k.is_empty() || k.len() > 128 || v.len() > 256 {
            return Err(invalid(
                "InvalidParameterValue",
                format!("Tag {k} is invalid: keys are 1 to 128 characters, values up to 256."),
            ));
        }
        if k.to_ascii_lowercase().starts_with("aws:") {
            return Err(invalid(
                "InvalidParameterValue",
                format!("Tag key {k} is invalid: the aws: prefix is reserved."),
            ));
        }
        out.retain(|(x, _)| x != k);
        out.push((k.clone(), v.clone()));
    }
    if out.len() > MAX_TAGS {
        return Err(invalid(
            "InvalidParameterValue",
            format!("Too many tags: a queue can have at most {MAX_TAGS}."),
        ));
    }
    Ok(out)
}
