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
//! through sqlx; before one runs, the writer waits until the lane has
//! written what it was given ([`Lane::barrier`]), so the two connections
//! never write at once.
//!
//! Pipelined durability: the lane commits with `synchronous=NORMAL` (the
//! WAL frames reach the OS, no fsync) and hands the answers to a second
//! thread that fsyncs the WAL file and only then answers. While one group
//! is being fsynced the lane already runs the next one, and one fsync
//! covers every group committed before it. An answer still means "on
//! disk": the same promise `synchronous=FULL` makes.
//!
//! A receive does not wait for its own commit's fsync: a claim lost in a
//! crash only makes its messages visible again, which is what a crash does
//! to an undeleted message anyway. It waits for the commits before its own
//! (the messages it hands out must be on disk), so a receive that returns a
//! message sent in its own commit waits for the fsync like a send.
//!
//! Checkpoints (copying the WAL back into the database file, with its own
//! fsync) run on a third thread, not inside a group's commit: a group
//! writes dozens of pages, so SQLite's automatic checkpoint would stall
//! every few commits. But a checkpoint beside a busy writer never catches
//! up: the WAL starts over only when a write begins with every frame
//! copied, and the lane has always committed more meanwhile, so the WAL
//! grew without end (600 MB in a 7-second benchmark). So once the WAL is
//! past [`WAL_RESTART_BYTES`] the lane runs a checkpoint itself between two
//! commits: the thread has copied almost everything by then, so this one
//! is short, and the lane's next commit starts the WAL over.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
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

/// The answers of a commit, and the highest message `seq` that existed
/// before it began.
type Answer = Result<(Vec<Result<Done, StoreError>>, i64), StoreError>;
type Reply = oneshot::Sender<Result<Done, StoreError>>;

enum Msg {
    Group {
        ops: Vec<Op>,
        replies: Vec<Reply>,
    },
    /// Answered once everything sent before it is written.
    Barrier(oneshot::Sender<()>),
    /// From the syncer: it took up this many commits.
    Taken(usize),
    /// Write what is queued, then end (the syncer holds a sender too, so
    /// the channel does not close by itself).
    Stop,
}

/// Committed, waiting for the fsync that makes it durable.
struct Written {
    /// The commit's number (the lane counts from 1).
    commit: u64,
    /// Answers that wait only for the commits before this one.
    early: Vec<(Reply, Result<Done, StoreError>)>,
    /// Answers that wait for this commit's fsync.
    durable: Vec<(Reply, Result<Done, StoreError>)>,
}

impl Written {
    /// Gives the early answers once every commit before this one is on
    /// disk (`synced`: the last commit fsynced).
    fn answer_early_if(&mut self, synced: u64) {
        if synced + 1 >= self.commit {
            answer(std::mem::take(&mut self.early), &Ok(()));
        }
    }
}

/// The handle to a store's lane threads.
pub(crate) struct Lane {
    msgs: std_mpsc::Sender<Msg>,
    threads: Vec<JoinHandle<()>>,
    stop_checkpoints: std_mpsc::Sender<()>,
}

/// How often the checkpoint thread looks for new commits.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);
/// The WAL size past which the lane checkpoints between commits.
const WAL_RESTART_BYTES: u64 = 32 << 20;
/// The most jobs merged into one commit.
const MAX_MERGE: usize = 1024;

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

/// The queue statements the lane runs, in SQLite's placeholders, made once.
struct Sql {
    insert_message: String,
    delete_by_handle: String,
    delete_by_id: String,
    expire_dedup: String,
    insert_dedup: String,
    redrive: String,
    redrive_delete: String,
    claim: String,
    claim_fifo: String,
    claim_one: String,
    change_visibility: String,
    held: String,
}

fn sql() -> &'static Sql {
    static SQL: std::sync::OnceLock<Sql> = std::sync::OnceLock::new();
    SQL.get_or_init(|| {
        let sqlite = crate::engine::Engine::Sqlite;
        Sql {
            insert_message: numbered(queue::INSERT_MESSAGE),
            delete_by_handle: numbered(queue::DELETE_BY_HANDLE),
            delete_by_id: numbered(queue::DELETE_BY_ID),
            expire_dedup: numbered(queue::EXPIRE_DEDUP),
            insert_dedup: numbered(queue::INSERT_DEDUP),
            redrive: numbered(&queue::redrive_sql(sqlite)),
            redrive_delete: numbered(queue::REDRIVE_DELETE_SQLITE),
            claim: numbered(&queue::claim_select_sqlite(false)),
            claim_fifo: numbered(&queue::claim_select_sqlite(true)),
            claim_one: numbered(queue::CLAIM_ONE_SQLITE),
            change_visibility: numbered(queue::CHANGE_VISIBILITY),
            held: numbered(queue::HELD),
        }
    })
}

const INSERT_AUDIT: &str = "INSERT INTO audit_events (account_id, event_id, event_time, \
     event_name, event_source, username, access_key_id, read_only, body) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (account_id, event_id) DO NOTHING";
const LAST_SEQ: &str = "SELECT seq FROM sqlite_sequence WHERE name = 'sqs_messages'";

impl Lane {
    /// Opens the lane's connections to the (already migrated) store at
    /// `path` and starts its threads.
    pub(crate) fn open(path: &Path) -> Result<Lane, StoreError> {
        let conn = connect(path)?;
        // Durable by the syncer's fsync, not inside the commit.
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(err)?;
        conn.pragma_update(None, "wal_autocheckpoint", 0)
            .map_err(err)?;
        // A WAL that grew under a burst is cut back when it starts over.
        conn.pragma_update(None, "journal_size_limit", WAL_RESTART_BYTES as i64)
            .map_err(err)?;
        conn.set_prepared_statement_cache_capacity(64);
        let mut wal_path = path.as_os_str().to_owned();
        wal_path.push("-wal");
        // The WAL exists while any connection is open (the migrations
        // opened it); fsync on this handle flushes the file's pages
        // whoever wrote them.
        let wal = File::open(&wal_path)
            .map_err(|e| StoreError::Engine(format!("opening the WAL {wal_path:?}: {e}")))?;
        let wal_size = wal
            .try_clone()
            .map_err(|e| StoreError::Engine(format!("opening the WAL {wal_path:?}: {e}")))?;
        let checkpointer = connect(path)?;
        let committed = Arc::new(AtomicBool::new(false));
        let synced = Arc::new(AtomicU64::new(0));
        let synced_by_lane = synced.clone();
        let (msgs, rx) = std_mpsc::channel::<Msg>();
        let taken = msgs.clone();
        let (written, to_sync) = std_mpsc::channel::<Written>();
        let (stop_checkpoints, stop) = std_mpsc::channel::<()>();
        let flag = committed.clone();
        let spawn = |name: &str, f: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new()
                .name(name.into())
                .spawn(f)
                .map_err(|e| StoreError::Engine(format!("starting {name}: {e}")))
        };
        let threads = vec![
            spawn(
                "ferry-sqlite-lane",
                Box::new(move || serve(conn, &wal_size, &rx, &written, &flag, &synced_by_lane)),
            )?,
            spawn(
                "ferry-sqlite-sync",
                Box::new(move || sync(&wal, &to_sync, &synced, &taken)),
            )?,
            spawn(
                "ferry-sqlite-checkpoint",
                Box::new(move || {
                    while let Err(std_mpsc::RecvTimeoutError::Timeout) =
                        stop.recv_timeout(CHECKPOINT_EVERY)
                    {
                        if committed.swap(false, Ordering::AcqRel) {
                            checkpoint(&checkpointer);
                        }
                    }
                }),
            )?,
        ];
        Ok(Lane {
            msgs,
            threads,
            stop_checkpoints,
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

    /// Queues `ops` (every one [`Lane::takes`]); each answer goes to its
    /// reply once its commit is on disk.
    pub(crate) fn submit(&self, ops: Vec<Op>, replies: Vec<Reply>) {
        if let Err(std_mpsc::SendError(Msg::Group { replies, .. })) =
            self.msgs.send(Msg::Group { ops, replies })
        {
            for reply in replies {
                let _ = reply.send(Err(StoreError::Engine("the SQLite lane stopped".into())));
            }
        }
    }

    /// Waits until everything submitted before is written (not yet
    /// necessarily fsynced): the lane holds no lock after it.
    pub(crate) async fn barrier(&self) {
        let (done, wait) = oneshot::channel();
        if self.msgs.send(Msg::Barrier(done)).is_ok() {
            let _ = wait.await;
        }
    }

    /// Answers what is queued, then stops the threads and closes the
    /// connections.
    pub(crate) async fn close(mut self) {
        let threads = std::mem::take(&mut self.threads);
        // Dropping the handle tells the threads to stop (see `Drop`).
        drop(self);
        let _ = tokio::task::spawn_blocking(move || {
            for t in threads {
                let _ = t.join();
            }
        })
        .await;
    }
}

impl Drop for Lane {
    /// A lane dropped without [`Lane::close`] still ends its threads.
    fn drop(&mut self) {
        let _ = self.msgs.send(Msg::Stop);
        let _ = self.stop_checkpoints.send(());
    }
}

/// The lane thread: merges what piled up into one commit, hands the
/// answers to the syncer (or gives a receive's answer at once when every
/// earlier commit is already on disk).
fn serve(
    mut conn: Connection,
    wal: &File,
    rx: &std_mpsc::Receiver<Msg>,
    written: &std_mpsc::Sender<Written>,
    committed: &AtomicBool,
    synced: &AtomicU64,
) {
    let mut commit_no = 0u64;
    // Commits handed to the syncer that it has not taken up yet.
    let mut untaken = 0usize;
    let mut ops = Vec::new();
    let mut replies = Vec::new();
    let mut barriers = Vec::new();
    let mut stopping = false;
    while let Ok(first) = rx.recv() {
        let mut next = Some(first);
        while let Some(msg) = next.take() {
            match msg {
                Msg::Group { ops: o, replies: r } => {
                    ops.extend(o);
                    replies.extend(r);
                }
                Msg::Barrier(b) => barriers.push(b),
                Msg::Taken(n) => untaken = untaken.saturating_sub(n),
                Msg::Stop => stopping = true,
            }
            if ops.len() < MAX_MERGE {
                next = rx.try_recv().ok();
            }
        }
        // While a commit waits for the syncer to take it up, what comes
        // in could not be fsynced any sooner: it gathers into the next
        // commit (fewer, larger commits rewrite fewer pages), which is
        // made as soon as the syncer takes the waiting one.
        if untaken > 0 && barriers.is_empty() && ops.len() < MAX_MERGE && !stopping {
            continue;
        }
        if !ops.is_empty() {
            commit_no += 1;
            let ops = std::mem::take(&mut ops);
            let replies = std::mem::take(&mut replies);
            let (results, before) = match commit(&mut conn, &ops) {
                Ok(answer) => answer,
                Err(e) => (replies.iter().map(|_| Err(e.clone())).collect(), 0),
            };
            committed.store(true, Ordering::Release);
            let mut w = Written {
                commit: commit_no,
                early: Vec::new(),
                durable: Vec::new(),
            };
            for ((reply, result), op) in replies.into_iter().zip(results).zip(&ops) {
                if needs_own_fsync(op, &result, before) {
                    w.durable.push((reply, result));
                } else {
                    w.early.push((reply, result));
                }
            }
            w.answer_early_if(synced.load(Ordering::Acquire));
            // The syncer is gone only if it panicked; then nobody answers.
            if written.send(w).is_ok() {
                untaken += 1;
            }
            if wal.metadata().is_ok_and(|m| m.len() > WAL_RESTART_BYTES) {
                checkpoint(&conn);
            }
        }
        for b in barriers.drain(..) {
            let _ = b.send(());
        }
        if stopping {
            break;
        }
    }
}

/// Whether `op`'s answer must wait for its own commit's fsync: all but a
/// receive that hands out only messages committed before (`seq` at most
/// `before`) or failed.
fn needs_own_fsync(op: &Op, result: &Result<Done, StoreError>, before: i64) -> bool {
    match (op, result) {
        (Op::Receive(_), Ok(Done::Received(messages))) => messages.iter().any(|m| m.seq > before),
        (Op::Receive(_), Err(_)) => false,
        _ => true,
    }
}

/// Sends answers whose commits are on disk as far as they need (`synced`
/// is the outcome of the fsync that put them there).
fn answer(answers: Vec<(Reply, Result<Done, StoreError>)>, synced: &std::io::Result<()>) {
    for (reply, result) in answers {
        let result = match (synced, result) {
            (Err(e), Ok(_)) => Err(StoreError::Engine(format!(
                "the commit may not be on disk: fsync of the WAL failed: {e}"
            ))),
            (_, result) => result,
        };
        // A submitter that went away needs no answer.
        let _ = reply.send(result);
    }
}

/// The syncer thread: one fsync of the WAL for everything written since
/// the last one, then the answers. A commit's early answers go out before
/// that fsync when the commits before it were covered by the last one.
fn sync(
    wal: &File,
    rx: &std_mpsc::Receiver<Written>,
    synced: &AtomicU64,
    taken: &std_mpsc::Sender<Msg>,
) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while let Ok(more) = rx.try_recv() {
            batch.push(more);
        }
        // The lane holds what came in meanwhile until now (see `serve`).
        let _ = taken.send(Msg::Taken(batch.len()));
        let mut done = synced.load(Ordering::Acquire);
        for w in &mut batch {
            w.answer_early_if(done);
        }
        let outcome = wal.sync_data();
        if outcome.is_ok()
            && let Some(last) = batch.last()
        {
            done = last.commit;
            synced.store(done, Ordering::Release);
        }
        for w in batch {
            answer(w.early, &outcome);
            answer(w.durable, &outcome);
        }
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
        let before = last_seq(&tx, ops)?;
        let mut results = Results::new(ops.len());
        for step in plan(ops) {
            match step {
                Step::Apply { jobs } => match jobs.iter().try_for_each(|&i| match &ops[i] {
                    Op::Apply(batch) => apply(&tx, batch),
                    _ => Ok(()),
                }) {
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
        match results.finish() {
            Ok(results) => {
                tx.commit().map_err(err)?;
                return Ok((results, before));
            }
            // Alone: its failure is the answer (dropping `tx` rolls back).
            Err(e) if ops.len() == 1 => return Ok((vec![Err(e)], before)),
            Err(_) => {}
        }
    }
    let mut tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(err)?;
    let before = last_seq(&tx, ops)?;
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
    Ok((results, before))
}

/// The highest message `seq` handed out so far (`sqs_messages` counts with
/// AUTOINCREMENT, so no later message gets a lower one); read only when a
/// receive needs it.
fn last_seq(conn: &Connection, ops: &[Op]) -> Result<i64, StoreError> {
    if !ops.iter().any(|op| matches!(op, Op::Receive(_))) {
        return Ok(0);
    }
    conn.prepare_cached(LAST_SEQ)
        .and_then(|mut s| s.query_row([], |r| r.get::<_, i64>(0)).optional())
        .map(Option::unwrap_or_default)
        .map_err(err)
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
                conn.prepare_cached(&sql().delete_by_handle)
                    .and_then(|mut s| s.execute(params![account.to_string(), queue, message_id, h]))
                    .map_err(err)?;
            }
            Write::DeleteMessage {
                account,
                queue,
                message_id,
                receipt_handle: None,
            } => {
                conn.prepare_cached(&sql().delete_by_id)
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
                conn.prepare_cached(&sql().expire_dedup)
                    .and_then(|mut s| {
                        s.execute(params![
                            account,
                            record.queue_name,
                            record.dedup_id,
                            ms(*now)
                        ])
                    })
                    .map_err(err)?;
                conn.prepare_cached(&sql().insert_dedup)
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
    conn.prepare_cached(&sql().insert_message)
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
        conn.prepare_cached(&sql().redrive)
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
        conn.prepare_cached(&sql().redrive_delete)
            .and_then(|mut s| s.execute(params![account, r.queue, now, d.max_receive_count]))
            .map_err(err)?;
    }
    let claim = if r.fifo {
        &sql().claim_fifo
    } else {
        &sql().claim
    };
    let mut stmt = conn.prepare_cached(claim).map_err(err)?;
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
            // By position (the order of MESSAGE_COLS): a lookup by name
            // compares every column's name.
            |row| {
                Ok(QueueMessage {
                    seq: row.get(0)?,
                    account_id: r.account,
                    queue_name: row.get(2)?,
                    message_id: row.get(3)?,
                    body: row.get(4)?,
                    md5: row.get(5)?,
                    meta: row.get(6)?,
                    group_id: row.get(7)?,
                    source_queue: row.get(8)?,
                    sent_at: from_ms(row.get(9)?),
                    visible_at: from_ms(row.get(10)?),
                    expires_at: from_ms(row.get(11)?),
                    receive_count: row.get(12)?,
                    first_received_at: row.get::<_, Option<i64>>(13)?.map(from_ms),
                    receipt_handle: row.get(14)?,
                })
            },
        )
        .map_err(err)?;
    let mut out = rows.collect::<Result<Vec<_>, _>>().map_err(err)?;
    drop(stmt);
    // The claim itself, row by row by primary key; the answer shows each
    // message as the update leaves it.
    let mut claim_one = conn.prepare_cached(&sql().claim_one).map_err(err)?;
    for m in &mut out {
        m.receive_count += 1;
        m.visible_at = r.visible_until;
        m.first_received_at = Some(m.first_received_at.unwrap_or(r.now));
        m.receipt_handle = Some(format!("{}{}", r.token, m.seq));
        claim_one
            .execute(params![ms(m.visible_at), now, m.receipt_handle, m.seq])
            .map_err(err)?;
    }
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
        .prepare_cached(&sql().change_visibility)
        .and_then(|mut s| {
            s.execute(params![
                ms(visible_until),
                account,
                queue,
                handle,
                ms(now),
                queue::token_seq(handle)
            ])
        })
        .map_err(err)?;
    if changed > 0 {
        return Ok(VisibilityOutcome::Changed);
    }
    let held = conn
        .prepare_cached(&sql().held)
        .and_then(|mut s| {
            s.query_row(
                params![account, queue, handle, queue::token_seq(handle)],
                |r| r.get::<_, i64>(0),
            )
            .optional()
        })
        .map_err(err)?;
    Ok(if held.is_some() {
        VisibilityOutcome::NotInFlight
    } else {
        VisibilityOutcome::Gone
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn receive() -> Op {
        let now = Utc::now();
        Op::Receive(ReceiveRequest {
            account: "123456789012".parse().expect("id"),
            queue: "q".into(),
            now,
            max: 10,
            visible_until: now,
            token: "t-".into(),
            fifo: false,
            redrive: None,
        })
    }

    fn received(seqs: &[i64]) -> Result<Done, StoreError> {
        let now = Utc::now();
        Ok(Done::Received(
            seqs.iter()
                .map(|&seq| QueueMessage {
                    account_id: "123456789012".parse().expect("id"),
                    queue_name: "q".into(),
                    message_id: format!("m{seq}"),
                    seq,
                    body: String::new(),
                    md5: String::new(),
                    meta: "{}".into(),
                    group_id: None,
                    source_queue: None,
                    sent_at: now,
                    visible_at: now,
                    expires_at: now,
                    receive_count: 1,
                    first_received_at: Some(now),
                    receipt_handle: Some(format!("t-{seq}")),
                })
                .collect(),
        ))
    }

    #[test]
    fn only_a_receive_of_earlier_messages_skips_its_own_fsync() {
        assert!(!needs_own_fsync(&receive(), &received(&[3, 7]), 7));
        assert!(!needs_own_fsync(&receive(), &received(&[]), 0));
        assert!(
            needs_own_fsync(&receive(), &received(&[7, 8]), 7),
            "seq 8 was sent in the receive's own commit"
        );
        assert!(!needs_own_fsync(
            &receive(),
            &Err(StoreError::Engine("x".into())),
            0
        ));
        let send = Op::Apply(WriteBatch(Vec::new()));
        assert!(needs_own_fsync(&send, &Ok(Done::Applied), 100));
    }
}
