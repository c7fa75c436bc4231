//! Dead-letter queue redrive: `StartMessageMoveTask` moves messages from a
//! dead-letter queue back to their source queues (or to one destination),
//! in the background, at a bounded rate. Tasks live in this process; the
//! messages they move are stored like any other, so a crash mid-task loses
//! nothing (an unmoved message stays in the dead-letter queue).

use std::sync::{Arc, Mutex};

use base64::Engine as _;
use chrono::Duration;
use ferry_store::{ReceiveRequest, Write, WriteBatch};
use ferry_types::Timestamp;

use super::{QueueAddr, attributes, invalid, queue_arn};
use crate::{CoreError, Ferry, RequestContext};

/// Default and largest rate of a move task, messages a second.
const DEFAULT_RATE: i64 = 500;
/// How long a message being moved stays hidden in the dead-letter queue.
const MOVE_LEASE_SECONDS: i64 = 60;

/// One move task as `ListMessageMoveTasks` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoveTask {
    /// The handle (only shown while running).
    pub handle: String,
    /// RUNNING, COMPLETED, CANCELLING, CANCELLED or FAILED.
    pub status: String,
    /// The dead-letter queue.
    pub source_arn: String,
    /// Where messages go (their source queues when None).
    pub destination_arn: Option<String>,
    /// The rate limit, if one was given.
    pub max_per_second: Option<i64>,
    /// Moved so far.
    pub moved: u64,
    /// Messages in the queue when the task started.
    pub to_move: u64,
    /// Why it failed.
    pub failure_reason: Option<String>,
    /// When it started.
    pub started_at: Timestamp,
}

/// The tasks of this process, newest last.
#[derive(Default)]
pub(crate) struct Tasks(Mutex<Vec<MoveTask>>);

impl Tasks {
    fn with<T>(&self, f: impl FnOnce(&mut Vec<MoveTask>) -> T) -> Result<T, CoreError> {
        let mut g = self
            .0
            .lock()
            .map_err(|_| CoreError::Internal("move tasks poisoned".into()))?;
        Ok(f(&mut g))
    }
}

fn not_found(what: &str) -> CoreError {
    CoreError::not_found(
        "ResourceNotFoundException",
        format!("{what} does not exist."),
    )
}

/// A queue named by ARN that does not exist is `ResourceNotFoundException`
/// in the move-task operations (the only not-found error they list).
fn missing_queue(e: CoreError) -> CoreError {
    match e {
        CoreError::NotFound { code, .. } if code == super::NON_EXISTENT_QUEUE => {
            not_found("The specified queue")
        }
        e => e,
    }
}

fn queue_of(arn: &str) -> Result<QueueAddr, CoreError> {
    attributes::parse_queue_arn(arn)
        .map(|(account, name)| QueueAddr { account, name })
        .ok_or_else(|| {
            invalid(
                "InvalidParameterValue",
                format!("Value {arn} for parameter SourceArn is invalid. Reason: not a queue ARN."),
            )
        })
}

impl Ferry {
    /// `StartMessageMoveTask`: the source must be a dead-letter queue of
    /// some queue in its account; one running task per source.
    pub async fn start_message_move_task(
        self: &Arc<Self>,
        ctx: &RequestContext,
        source_arn: &str,
        destination_arn: Option<&str>,
        max_per_second: Option<i64>,
    ) -> Result<String, CoreError> {
        let source = queue_of(source_arn)?;
        let (_, store) = self
            .queue_for(ctx, "sqs:StartMessageMoveTask", &source)
            .await
            .map_err(missing_queue)?;
        if let Some(r) = max_per_second
            && !(1..=DEFAULT_RATE).contains(&r)
        {
            return Err(invalid(
                "InvalidParameterValue",
                format!(
                    "Value {r} for parameter MaxNumberOfMessagesPerSecond is invalid. Reason: must be between 1 and {DEFAULT_RATE}."
                ),
            ));
        }
        let sources = self.list_dead_letter_source_queues(ctx, &source).await?;
        if sources.is_empty() {
            return Err(invalid(
                "InvalidParameterValue",
                "Source queue must be configured as a Dead Letter Queue.",
            ));
        }
        let destination = match destination_arn {
            Some(arn) => {
                let d = queue_of(arn)?;
                if d.account != source.account {
                    return Err(invalid(
                        "InvalidParameterValue",
                        "The destination queue must be in the same account as the source queue.",
                    ));
                }
                self.queue_for(ctx, "sqs:SendMessage", &d)
                    .await
                    .map_err(missing_queue)?;
                Some(d)
            }
            None => None,
        };
        let to_move = {
            let c = store
                .queue_counts(source.account, &source.name, self.now())
                .await?;
            c.visible + c.in_flight + c.delayed
        };
        let handle = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{source_arn}", uuid::Uuid::new_v4()));
        let task = MoveTask {
            handle: handle.clone(),
            status: "RUNNING".into(),
            source_arn: source_arn.to_string(),
            destination_arn: destination_arn.map(str::to_string),
            max_per_second,
            moved: 0,
            to_move,
            failure_reason: None,
            started_at: self.now(),
        };
        let started = self.queues.moves.with(|tasks| {
            if tasks
                .iter()
                .any(|t| t.source_arn == source_arn && t.status == "RUNNING")
            {
                false
            } else {
                tasks.push(task);
                true
            }
        })?;
        if !started {
            return Err(invalid(
                "InvalidParameterValue",
                "There is already a task running. Only one active task is allowed for a source queue arn at a given time.",
            ));
        }
        let ferry = self.clone();
        let region = ctx.region.clone();
        let h = handle.clone();
        tokio::spawn(async move {
            let rate = max_per_second.unwrap_or(DEFAULT_RATE);
            let outcome = ferry
                .run_move(&h, &source, destination.as_ref(), rate, &region)
                .await;
            let _ = ferry.queues.moves.with(|tasks| {
                if let Some(t) = tasks.iter_mut().find(|t| t.handle == h) {
                    match outcome {
                        Ok(()) if t.status == "CANCELLING" => t.status = "CANCELLED".into(),
                        Ok(()) => t.status = "COMPLETED".into(),
                        Err(e) => {
                            t.status = "FAILED".into();
                            t.failure_reason = Some(e.to_string());
                        }
                    }
                }
            });
        });
        Ok(handle)
    }

    fn move_status(&self, handle: &str) -> Option<String> {
        self.queues
            .moves
            .with(|tasks| {
                tasks
                    .iter()
                    .find(|t| t.handle == handle)
                    .map(|t| t.status.clone())
            })
            .ok()
            .flatten()
    }

    async fn run_move(
        &self,
        handle: &str,
        source: &QueueAddr,
        destination: Option<&QueueAddr>,
        rate: i64,
        _region: &str,
    ) -> Result<(), CoreError> {
        let store = self
            .placement()
            .existing(source.account)
            .await?
            .ok_or_else(|| not_found("The source queue"))?;
        let batch_size = rate.clamp(1, 10) as usize;
        loop {
            if self.move_status(handle).as_deref() != Some("RUNNING") {
                return Ok(());
            }
            let started = tokio::time::Instant::now();
            let now = self.now();
            let claimed = store
                .receive_messages(&ReceiveRequest {
                    account: source.account,
                    queue: source.name.clone(),
                    now,
                    max: batch_size,
                    visible_until: now + Duration::seconds(MOVE_LEASE_SECONDS),
                    token: format!("move-{}-", hex::encode(rand::random::<[u8; 8]>())),
                    fifo: false,
                    redrive: None,
                })
                .await?;
            if claimed.is_empty() {
                return Ok(());
            }
            let mut batch = WriteBatch::new();
            let mut moved = 0u64;
            for m in claimed {
                let target = match (destination, &m.source_queue) {
                    (Some(d), _) => d.name.clone(),
                    (None, Some(s)) => s.clone(),
                    // No source known: leave it in the dead-letter queue.
                    (None, None) => continue,
                };
                let Some(dest) = store.get_queue(source.account, &target).await? else {
                    continue;
                };
                let mut copy = m.clone();
                copy.queue_name = target;
                copy.seq = 0;
                copy.visible_at = now;
                copy.expires_at =
                    m.sent_at + Duration::seconds(attributes::int(&dest, "MessageRetentionPeriod"));
                copy.receive_count = 0;
                copy.first_received_at = None;
                copy.receipt_handle = None;
                copy.source_queue = None;
                batch.push(Write::DeleteMessage {
                    account: m.account_id,
                    queue: m.queue_name.clone(),
                    message_id: m.message_id.clone(),
                    receipt_handle: m.receipt_handle.clone(),
                });
                batch.push(Write::PutMessage(copy));
                moved += 1;
            }
            if moved == 0 {
                return Ok(());
            }
            store.apply(batch).await?;
            self.queues.moves.with(|tasks| {
                if let Some(t) = tasks.iter_mut().find(|t| t.handle == handle) {
                    t.moved += moved;
                }
            })?;
            // The rate limit: `moved` messages take at least moved/rate s.
            let budget = std::time::Duration::from_secs_f64(moved as f64 / rate as f64);
            let spent = started.elapsed();
            if budget > spent {
                tokio::time::sleep(budget - spent).await;
            }
        }
    }

    /// `ListMessageMoveTasks`: the newest `max` tasks of a source queue.
    pub async fn list_message_move_tasks(
        &self,
        ctx: &RequestContext,
        source_arn: &str,
        max: Option<i64>,
    ) -> Result<Vec<MoveTask>, CoreError> {
        let source = queue_of(source_arn)?;
        self.queue_for(ctx, "sqs:ListMessageMoveTasks", &source)
            .await
            .map_err(missing_queue)?;
        let max = max.unwrap_or(1);
        if !(1..=10).contains(&max) {
            return Err(invalid(
                "InvalidParameterValue",
                format!(
                    "Value {max} for parameter MaxResults is invalid. Reason: must be between 1 and 10."
                ),
            ));
        }
        let arn = queue_arn(ctx, source.account, &source.name);
        self.queues.moves.with(|tasks| {
            tasks
                .iter()
                .rev()
                .filter(|t| t.source_arn == arn || t.source_arn == source_arn)
                .take(max as usize)
                .cloned()
                .collect()
        })
    }

    /// `CancelMessageMoveTask`: stops a running task; returns how many
    /// messages it had moved.
    pub async fn cancel_message_move_task(
        &self,
        ctx: &RequestContext,
        handle: &str,
    ) -> Result<u64, CoreError> {
        let source_arn = base64::engine::general_purpose::STANDARD
            .decode(handle)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.split_once(':').map(|(_, arn)| arn.to_string()))
            .ok_or_else(|| not_found("The task"))?;
        let source = queue_of(&source_arn).map_err(|_| not_found("The task"))?;
        self.queue_for(ctx, "sqs:CancelMessageMoveTask", &source)
            .await
            .map_err(missing_queue)?;
        let found = self.queues.moves.with(|tasks| {
            tasks
                .iter_mut()
                .find(|t| t.handle == handle)
                .map(|t| match t.status.as_str() {
                    "RUNNING" => {
                        t.status = "CANCELLING".into();
                        Ok(t.moved)
                    }
                    _ => Err(invalid(
                        "InvalidParameterValue",
                        "Only a running task can be cancelled.",
                    )),
                })
        })?;
        found.unwrap_or_else(|| Err(not_found("The task")))
    }
}
