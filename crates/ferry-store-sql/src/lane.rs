//! The SQLite fast lane of the SQS data plane. A group commit whose jobs are
//! all sends, deletes, receive claims, visibility changes, deduplication
//! records and audit records runs here: on one OS thread that owns its own
//! connection to the store's file and runs the whole group in one
//! synchronous pass with cached prepared statements.
//!
//! Why: through sqlx every statement is a hand-off to sqlx's connection
//! thread and back (150-300 µs each on a loaded 2-core machine, measured),
//! so a group of ten jobs spent most of its time in hand-offs, not in
//! SQLite. Here a group is one hand-off. Every other write still goes
//! through sqlx; the writer task runs one group at a time, here or there,
//! so the two connections never wait for each other's lock.
//!
//! Checkpoints (copying the WAL back into the database file, with its own
//! fsync) run on a second thread, not inside a group's commit: a group
//! writes dozens of pages, so SQLite's automatic checkpoint would stall
//! every few commits.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc as std_mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use ferry_store::{
    AuditEvent, QueueMessage, ReceiveRequest, StoreError, VisibilityOutcome, Write, WriteBatch,
};
use ferry_types::{AccountId, Timestamp};
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};
use tokio::sync::oneshot;

use crate::engine::{from_ms, ms};
use crate::queue;
use crate::writer::{Done, Op, Results, Step, plan};

type Answer = Result<Vec<Result<Done, StoreError>>, StoreError>;

struct Group {
    ops: Vec<Op>,
    reply: oneshot::Sender<Answer>,
}

/// The handle to a store's lane thread.
pub(crate) struct Lane {
    groups: std_mpsc::Sender<Group>,
    thread: JoinHandle<()>,
    stop_checkpoints: std_mpsc::Sender<()>,
    checkpoints: JoinHandle<()>,
}

/// How often the checkpoint thread looks for new commits.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

fn err(e: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(f, msg) = &e
        && matches!(
            f.extended_code,
            rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
        )
    {
        return StoreError::Conflict(msg.clone().unwrap_or_else(|| e.to_string()));
    }
    StoreError::Engine(e.to_string())
}

/// sqlx's `$N` placeholders as SQLite's `?N`, which bind by number (a
/// `$N` would be a named parameter, numbered by first appearance).
fn numbered(sql: &str) -> String {
    sql.replace('$', "?")
}

const INSERT_AUDIT: &str = "INSERT INTO audit_events (account_id, event_id, event_time, \
     event_name, event_source, username, access_key_id, read_only, body) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (account_id, event_id) DO NOTHING";
impl Lane {
    /// Opens the lane's connection to the (already migrated) store at
    /// `path` and starts its thread.
    pub(crate) fn open(path: &Path) -> Result<Lane, StoreError> {
        let conn = connect(path)?;
        conn.pragma_update(None, "wal_autocheckpoint", 0)
            .map_err(err)?;
        conn.set_prepared_statement_cache_capacity(64);
        let checkpointer = connect(path)?;
        let committed = Arc::new(AtomicBool::new(false));
        let (groups, rx) = std_mpsc::channel::<Group>();
        let flag = committed.clone();
        let thread = std::thread::Builder::new()
            .name("ferry-sqlite-lane".into())
            .spawn(move || {
                let mut conn = conn;
                while let Ok(group) = rx.recv() {
                    let answer = commit(&mut conn, &group.ops);
                    flag.store(true, Ordering::Release);
                    // A writer that went away needs no answer.
                    let _ = group.reply.send(answer);
                }
            })
            .map_err(|e| StoreError::Engine(format!("starting the SQLite lane: {e}")))?;
        let (stop_checkpoints, stop) = std_mpsc::channel::<()>();
        let checkpoints = std::thread::Builder::new()
            .name("ferry-sqlite-checkpoint".into())
            .spawn(move || {
                while let Err(std_mpsc::RecvTimeoutError::Timeout) =
                    stop.recv_timeout(CHECKPOINT_EVERY)
                {
                    if committed.swap(false, Ordering::AcqRel) {
                        checkpoint(&checkpointer);
                    }
                }
            })
            .map_err(|e| StoreError::Engine(format!("starting the SQLite checkpoints: {e}")))?;
        Ok(Lane {
            groups,
            thread,
            stop_checkpoints,
            checkpoints,
        })
    }

    /// Whether `op` can run here.
    pub(crate) fn takes(op: &Op) -> bool {
        match op {
            Op::Receive(_) | Op::ChangeVisibility { .. } => true,
            Op::Apply(batch) => batch.0.iter().all(|w| {
                matches!(
                    w,
                    Write::PutMessage(_)
                        | Write::DeleteMessage { .. }
                        | Write::AppendAudit(_)
                        | Write::PutDedup { .. }
                )
            }),
        }
    }

    /// Commits `ops` (every one [`Lane::takes`]) as one group.
    pub(crate) async fn commit(&self, ops: Vec<Op>) -> Answer {
        let (reply, answer) = oneshot::channel();
        self.groups
            .send(Group { ops, reply })
            .map_err(|_| StoreError::Engine("the SQLite lane stopped".into()))?;
        answer
            .await
            .unwrap_or_else(|_| Err(StoreError::Engine("the SQLite lane stopped".into())))
    }

    /// Stops the thread and closes its connection.
    pub(crate) async fn close(self) {
        let Lane {
            groups,
            thread,
            stop_checkpoints,
            checkpoints,
        } = self;
        drop(groups);
        let _ = stop_checkpoints.send(());
        let _ = tokio::task::spawn_blocking(move || {
            let _ = thread.join();
            let _ = checkpoints.join();
        })
        .await;
    }
}

/// A connection set up as the sqlx ones: WAL, and a commit durable before
/// it returns.
fn connect(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(err)?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(err)?;
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(err)?;
    conn.busy_timeout(Duration::from_secs(10)).map_err(err)?;
    Ok(conn)
}

/// Copies what the WAL holds into the database file without waiting for
/// readers or the writer (a checkpoint that cannot finish now finishes on
/// a later round); the next write then starts the WAL over.
fn checkpoint(conn: &Connection) {
    if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
        tracing::warn!(error = %e, "SQLite checkpoint failed");
    }
}

/// One transaction for all `ops`, as the writer's sqlx path: first one
/// pass without savepoints, and if a job fails, again with a savepoint per
/// job so it fails alone.
fn commit(conn: &mut Connection, ops: &[Op]) -> Answer {
    {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        let mut results = Results::new(ops.len());
        for step in plan(ops) {
            match step {
                Step::Apply { batch, jobs } => match apply(&tx, &batch) {
                    Ok(()) => results.applied(&jobs),
                    Err(e) => results.fail(e),
                },
                Step::SharedReceive { jobs, request } => match receive(&tx, &request) {
                    Ok(claimed) => results.split_claim(ops, &jobs, claimed),
                    Err(e) => results.fail(e),
                },
                Step::One(i) => match run(&tx, &ops[i]) {
                    Ok(done) => results.set(i, done),
                    Err(e) => results.fail(e),
                },
            }
            if results.failed() {
                break;
            }
        }
        match results.finish(ops.len()) {
            Ok(results) => {
                tx.commit().map_err(err)?;
                return Ok(results);
            }
            // Alone: its failure is the answer (dropping `tx` rolls back).
            Err(e) if ops.len() == 1 => return Ok(vec![Err(e)]),
            Err(_) => {}
        }
    }
    let mut tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(err)?;
    let mut results = Vec::with_capacity(ops.len());
    for op in ops {
        let mut savepoint = tx.savepoint().map_err(err)?;
        match run(&savepoint, op) {
            Ok(done) => {
                savepoint.commit().map_err(err)?;
                results.push(Ok(done));
            }
            Err(e) => {
                savepoint.rollback().map_err(err)?;
                results.push(Err(e));
            }
        }
    }
    tx.commit().map_err(err)?;
    Ok(results)
}

fn run(conn: &Connection, op: &Op) -> Result<Done, StoreError> {
    match op {
        Op::Apply(batch) => apply(conn, batch).map(|()| Done::Applied),
        Op::Receive(r) => receive(conn, r).map(Done::Received),
        Op::ChangeVisibility {
            account,
            queue,
            handle,
            now,
            visible_until,
        } => change_visibility(conn, *account, queue, handle, *now, *visible_until)
            .map(Done::Visibility),
    }
}

fn apply(conn: &Connection, batch: &WriteBatch) -> Result<(), StoreError> {
    for w in &batch.0 {
        match w {
            Write::PutMessage(m) => put_message(conn, m)?,
            Write::DeleteMessage {
                account,
                queue,
                message_id,
                receipt_handle: Some(h),
            } => {
                conn.prepare_cached(&numbered(queue::DELETE_BY_HANDLE))
                    .and_then(|mut s| s.execute(params![account.to_string(), queue, message_id, h]))
                    .map_err(err)?;
            }
            Write::DeleteMessage {
                account,
                queue,
                message_id,
                receipt_handle: None,
            } => {
                conn.prepare_cached(&numbered(queue::DELETE_BY_ID))
                    .and_then(|mut s| s.execute(params![account.to_string(), queue, message_id]))
                    .map_err(err)?;
            }
            Write::AppendAudit(events) => {
                for e in events {
                    put_audit(conn, e)?;
                }
            }
            Write::PutDedup { record, now } => {
                // An expired record of the same id gives way; a live one
                // makes the insert a unique violation: "duplicate".
                let account = record.account_id.to_string();
                conn.prepare_cached(&numbered(queue::EXPIRE_DEDUP))
                    .and_then(|mut s| {
                        s.execute(params![
                            account,
                            record.queue_name,
                            record.dedup_id,
                            ms(*now)
                        ])
                    })
                    .map_err(err)?;
                conn.prepare_cached(&numbered(queue::INSERT_DEDUP))
                    .and_then(|mut s| {
                        s.execute(params![
                            account,
                            record.queue_name,
                            record.dedup_id,
                            record.message_id,
                            record.sequence_number,
                            ms(record.expires_at)
                        ])
                    })
                    .map_err(err)?;
            }
            other => {
                return Err(StoreError::Engine(format!(
                    "the SQLite lane cannot apply {other:?}"
                )));
            }
        }
    }
    Ok(())
}

fn put_message(conn: &Connection, m: &QueueMessage) -> Result<(), StoreError> {
    conn.prepare_cached(&numbered(queue::INSERT_MESSAGE))
        .and_then(|mut s| {
            s.execute(params![
                m.account_id.to_string(),
                m.queue_name,
                m.message_id,
                m.body,
                m.md5,
                m.meta,
                m.group_id,
                m.source_queue,
                ms(m.sent_at),
                ms(m.visible_at),
                ms(m.expires_at),
                m.receive_count,
                m.first_received_at.map(ms),
                m.receipt_handle
            ])
        })
        .map_err(err)?;
    Ok(())
}

fn put_audit(conn: &Connection, e: &AuditEvent) -> Result<(), StoreError> {
    conn.prepare_cached(INSERT_AUDIT)
        .and_then(|mut s| {
            s.execute(params![
                e.account_id.to_string(),
                e.event_id,
                ms(e.event_time),
                e.event_name,
                e.event_source,
                e.username,
                e.access_key_id,
                i64::from(e.read_only),
                e.body
            ])
        })
        .map_err(err)?;
    Ok(())
}

fn receive(conn: &Connection, r: &ReceiveRequest) -> Result<Vec<QueueMessage>, StoreError> {
    let account = r.account.to_string();
    let now = ms(r.now);
    if let Some(d) = &r.redrive {
        conn.prepare_cached(&numbered(&queue::redrive_sql(
            crate::engine::Engine::Sqlite,
        )))
        .and_then(|mut s| {
            s.execute(params![
                account,
                r.queue,
                d.dead_letter_queue,
                now,
                d.retention_seconds.saturating_mul(1000),
                d.max_receive_count
            ])
        })
        .map_err(err)?;
        conn.prepare_cached(&numbered(queue::REDRIVE_DELETE_SQLITE))
            .and_then(|mut s| s.execute(params![account, r.queue, now, d.max_receive_count]))
            .map_err(err)?;
    }
    let sql = numbered(&queue::claim_sql(crate::engine::Engine::Sqlite, r.fifo));
    let mut stmt = conn.prepare_cached(&sql).map_err(err)?;
    let rows = stmt
        .query_map(
            params![
                account,
                r.queue,
                ms(r.visible_until),
                now,
                r.token,
                i64::try_from(r.max).unwrap_or(i64::MAX)
            ],
            |row| {
                Ok(QueueMessage {
                    seq: row.get("seq")?,
                    account_id: r.account,
                    queue_name: row.get("queue_name")?,
                    message_id: row.get("message_id")?,
                    body: row.get("body")?,
                    md5: row.get("md5")?,
                    meta: row.get("meta")?,
                    group_id: row.get("group_id")?,
                    source_queue: row.get("source_queue")?,
                    sent_at: from_ms(row.get("sent_at")?),
                    visible_at: from_ms(row.get("visible_at")?),
                    expires_at: from_ms(row.get("expires_at")?),
                    receive_count: row.get("receive_count")?,
                    first_received_at: row.get::<_, Option<i64>>("first_received_at")?.map(from_ms),
                    receipt_handle: row.get("receipt_handle")?,
                })
            },
        )
        .map_err(err)?;
    let mut out = rows.collect::<Result<Vec<_>, _>>().map_err(err)?;
    out.sort_by_key(|m| m.seq);
    Ok(out)
}

fn change_visibility(
    conn: &Connection,
    account: AccountId,
    queue: &str,
    handle: &str,
    now: Timestamp,
    visible_until: Timestamp,
) -> Result<VisibilityOutcome, StoreError> {
    let account = account.to_string();
    let changed = conn
        .prepare_cached(&numbered(queue::CHANGE_VISIBILITY))
        .and_then(|mut s| s.execute(params![ms(visible_until), account, queue, handle, ms(now)]))
        .map_err(err)?;
    if changed > 0 {
        return Ok(VisibilityOutcome::Changed);
    }
    let held = conn
        .prepare_cached(&numbered(queue::HELD))
        .and_then(|mut s| {
            s.query_row(params![account, queue, handle], |r| r.get::<_, i64>(0))
                .optional()
        })
        .map_err(err)?;
    Ok(if held.is_some() {
        VisibilityOutcome::NotInFlight
    } else {
        VisibilityOutcome::Gone
    })
}
