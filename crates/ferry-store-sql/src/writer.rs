//! Group commit: every write of a store goes through one writer task, which
//! takes whatever is waiting (up to [`MAX_GROUP`] jobs) and commits it in one
//! transaction, each job inside its own savepoint. Under load many requests
//! share one commit (one fsync on SQLite) instead of queueing for one each;
//! a job that fails rolls back to its savepoint and fails alone.

use ferry_store::{QueueMessage, ReceiveRequest, StoreError, VisibilityOutcome, WriteBatch};
use ferry_types::{AccountId, Timestamp};
use sqlx::{AnyPool, Connection};
use tokio::sync::{mpsc, oneshot};

use crate::cache::ReadCache;
use crate::engine::{Engine, engine_err};
use crate::lane::Lane;
use crate::queue;
use std::sync::Arc;

/// The most jobs one commit takes.
const MAX_GROUP: usize = 256;
/// Jobs waiting beyond this make submitters wait (backpressure).
const QUEUE_BOUND: usize = 4096;

/// One unit of work; it commits or fails as a whole.
#[derive(Clone)]
pub(crate) enum Op {
    Apply(WriteBatch),
    Receive(ReceiveRequest),
    ChangeVisibility {
        account: AccountId,
        queue: String,
        handle: String,
        now: Timestamp,
        visible_until: Timestamp,
    },
}

/// What a job produced.
pub(crate) enum Done {
    Applied,
    Received(Vec<QueueMessage>),
    Visibility(VisibilityOutcome),
}

struct Job {
    op: Op,
    reply: oneshot::Sender<Result<Done, StoreError>>,
}

/// The handle to a store's writer task.
pub(crate) struct Writer {
    jobs: std::sync::Mutex<Option<mpsc::Sender<Job>>>,
    task: tokio::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Writer {
    /// Starts the writer task on `pool`; groups that `lane` takes whole
    /// run there instead.
    pub(crate) fn start(
        engine: Engine,
        pool: AnyPool,
        lane: Option<Lane>,
        cache: Arc<ReadCache>,
    ) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE_BOUND);
        let task = tokio::spawn(run(engine, pool, lane, rx, cache));
        Writer {
            jobs: std::sync::Mutex::new(Some(tx)),
            task: tokio::sync::Mutex::new(Some(task)),
        }
    }

    /// Runs `op` in the next group commit and waits for its outcome.
    pub(crate) async fn submit(&self, op: Op) -> Result<Done, StoreError> {
        let sender = self
            .jobs
            .lock()
            .map_err(|_| StoreError::Engine("writer lock poisoned".into()))?
            .clone()
            .ok_or_else(|| StoreError::Engine("the store is closed".into()))?;
        let depth = metrics::gauge!("ferry_store_write_queue_depth");
        depth.increment(1.0);
        let (reply, outcome) = oneshot::channel();
        let result = match sender.send(Job { op, reply }).await {
            Ok(()) => outcome
                .await
                .unwrap_or_else(|_| Err(StoreError::Engine("the writer stopped".into()))),
            Err(_) => Err(StoreError::Engine("the store is closed".into())),
        };
        depth.decrement(1.0);
        result
    }

    /// Lets queued jobs finish, then stops the task.
    pub(crate) async fn close(&self) {
        if let Ok(mut jobs) = self.jobs.lock() {
            jobs.take();
        }
        if let Some(task) = self.task.lock().await.take() {
            let _ = task.await;
        }
    }
}

async fn run(
    engine: Engine,
    pool: AnyPool,
    lane: Option<Lane>,
    mut rx: mpsc::Receiver<Job>,
    cache: Arc<ReadCache>,
) {
    let mut group = Vec::with_capacity(MAX_GROUP);
    while rx.recv_many(&mut group, MAX_GROUP).await > 0 {
        let jobs = std::mem::take(&mut group);
        if let Some(lane) = &lane {
            if jobs.iter().all(|j| Lane::takes(&j.op)) {
                // Handed over, not waited for: the lane merges what piles
                // up and answers after the fsync that covers it.
                let (ops, replies) = jobs.into_iter().map(|j| (j.op, j.reply)).unzip();
                lane.submit(ops, replies);
                continue;
            }
            // The sqlx connection writes next: the lane must have written
            // what it was given (a deferred transaction that read before
            // the lane's commit could not write after it).
            lane.barrier().await;
        }
        commit(engine, &pool, jobs, &cache).await;
    }
    if let Some(lane) = lane {
        lane.close().await;
    }
}

async fn commit(engine: Engine, pool: &AnyPool, jobs: Vec<Job>, cache: &ReadCache) {
    let (ops, replies): (Vec<Op>, Vec<_>) = jobs.into_iter().map(|j| (j.op, j.reply)).unzip();
    // Before anyone hears of the commit, so their next read sees it. (Also
    // when the commit fails: the cache is only ever emptied too often.)
    let invalidates = ops
        .iter()
        .any(|op| matches!(op, Op::Apply(b) if ReadCache::changes(&b.0)));
    let outcome = commit_ops(engine, pool, ops).await;
    if invalidates {
        cache.invalidate();
    }
    let results = match outcome {
        Ok(results) => results,
        Err(e) => replies.iter().map(|_| Err(e.clone())).collect(),
    };
    for (reply, result) in replies.into_iter().zip(results) {
        // A submitter that went away (request cancelled) needs no answer.
        let _ = reply.send(result);
    }
}

/// One transaction for all `ops`; `Err` if the transaction itself failed
/// (then nothing of it is kept).
async fn commit_ops(
    engine: Engine,
    pool: &AnyPool,
    ops: Vec<Op>,
) -> Result<Vec<Result<Done, StoreError>>, StoreError> {
    // First without savepoints (two statements less per job): nearly every
    // group has no failing job. If one fails, the whole transaction is
    // rolled back and the group runs again with a savepoint per job.
    {
        let mut tx = pool.begin().await.map_err(engine_err)?;
        let mut results = Results::new(ops.len());
        for step in plan(&ops) {
            match step {
                Step::Apply { jobs } => {
                    let mut merged = WriteBatch::new();
                    for &i in &jobs {
                        if let Op::Apply(batch) = &ops[i] {
                            merged.0.extend(batch.0.iter().cloned());
                        }
                    }
                    match run_op(engine, &mut tx, Op::Apply(merged)).await {
                        Ok(_) => results.applied(&jobs),
                        Err(e) => results.fail(e),
                    }
                }
                Step::SharedReceive { jobs, request } => {
                    match queue::receive(engine, &mut tx, &request).await {
                        Ok(claimed) => results.split_claim(&ops, &jobs, claimed),
                        Err(e) => results.fail(engine_err(e)),
                    }
                }
                Step::One(i) => match run_op(engine, &mut tx, ops[i].clone()).await {
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
                tx.commit().await.map_err(engine_err)?;
                return Ok(results);
            }
            // Alone: its failure is the answer (dropping `tx` rolls back).
            Err(e) if ops.len() == 1 => return Ok(vec![Err(e)]),
            Err(_) => {}
        }
    }
    let mut tx = pool.begin().await.map_err(engine_err)?;
    let mut results = Vec::with_capacity(ops.len());
    {
        for op in ops {
            let mut savepoint = tx.begin().await.map_err(engine_err)?;
            match run_op(engine, &mut savepoint, op).await {
                Ok(done) => {
                    savepoint.commit().await.map_err(engine_err)?;
                    results.push(Ok(done));
                }
                Err(e) => {
                    savepoint.rollback().await.map_err(engine_err)?;
                    results.push(Err(e));
                }
            }
        }
    }
    tx.commit().await.map_err(engine_err)?;
    Ok(results)
}

/// One step of a group's optimistic pass.
pub(crate) enum Step {
    /// The writes of every `Apply` job (`jobs`) as one batch.
    Apply { jobs: Vec<usize> },
    /// One claim shared by several receives.
    SharedReceive {
        jobs: Vec<usize>,
        request: ReceiveRequest,
    },
    /// One job on its own.
    One(usize),
}

/// The steps of a group's optimistic pass. The jobs of a group were
/// submitted concurrently (none waits for another's answer), so any order
/// is a valid serial order: all plain writes go first as one batch, so runs
/// of sends, deletes and audit records from different requests share
/// statements; receives of one standard queue with the same visibility
/// timeout share one claim, split between them afterwards.
pub(crate) fn plan(ops: &[Op]) -> Vec<Step> {
    let mut steps = Vec::new();
    let applies: Vec<usize> = (0..ops.len())
        .filter(|&i| matches!(ops[i], Op::Apply(_)))
        .collect();
    if !applies.is_empty() {
        steps.push(Step::Apply { jobs: applies });
    }
    let shared = shared_receives(ops);
    for (jobs, request) in &shared {
        steps.push(Step::SharedReceive {
            jobs: jobs.clone(),
            request: request.clone(),
        });
    }
    for (i, op) in ops.iter().enumerate() {
        let in_shared = shared.iter().any(|(jobs, _)| jobs.contains(&i));
        if !matches!(op, Op::Apply(_)) && !in_shared {
            steps.push(Step::One(i));
        }
    }
    steps
}

/// The answers of an optimistic pass as its steps produce them.
pub(crate) struct Results {
    done: Vec<Option<Done>>,
    failed: Option<StoreError>,
}

impl Results {
    pub(crate) fn new(n: usize) -> Self {
        Results {
            done: (0..n).map(|_| None).collect(),
            failed: None,
        }
    }

    pub(crate) fn set(&mut self, i: usize, done: Done) {
        self.done[i] = Some(done);
    }

    pub(crate) fn applied(&mut self, jobs: &[usize]) {
        for &i in jobs {
            self.done[i] = Some(Done::Applied);
        }
    }

    /// Hands a shared claim out in job order, each receive its maximum.
    pub(crate) fn split_claim(
        &mut self,
        ops: &[Op],
        jobs: &[usize],
        mut claimed: Vec<QueueMessage>,
    ) {
        for &i in jobs {
            let Op::Receive(r) = &ops[i] else { continue };
            let take = r.max.min(claimed.len());
            let rest = claimed.split_off(take);
            self.done[i] = Some(Done::Received(claimed));
            claimed = rest;
        }
    }

    pub(crate) fn fail(&mut self, e: StoreError) {
        self.failed.get_or_insert(e);
    }

    pub(crate) fn failed(&self) -> bool {
        self.failed.is_some()
    }

    /// Every job's answer, or the first failure (then the pass must be
    /// rolled back).
    pub(crate) fn finish(self) -> Result<Vec<Result<Done, StoreError>>, StoreError> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        Ok(self
            .done
            .into_iter()
            .map(|d| d.ok_or_else(|| StoreError::Engine("job not run".into())))
            .collect())
    }
}

/// Groups of two or more receives that can share one claim: the same
/// standard queue, redrive policy and visibility timeout. Each comes with
/// the merged request (the latest `now`, the sum of the maxima).
fn shared_receives(ops: &[Op]) -> Vec<(Vec<usize>, ReceiveRequest)> {
    let mut groups: Vec<(Vec<usize>, ReceiveRequest)> = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        let Op::Receive(r) = op else { continue };
        if r.fifo {
            continue;
        }
        let timeout = r.visible_until - r.now;
        match groups.iter_mut().find(|(_, g)| {
            g.account == r.account
                && g.queue == r.queue
                && g.redrive == r.redrive
                && g.visible_until - g.now == timeout
        }) {
            Some((indices, g)) => {
                indices.push(i);
                g.max += r.max;
                if r.now > g.now {
                    g.now = r.now;
                    g.visible_until = r.visible_until;
                }
            }
            None => groups.push((vec![i], r.clone())),
        }
    }
    groups.retain(|(indices, _)| indices.len() > 1);
    groups
}

async fn run_op(
    engine: Engine,
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    op: Op,
) -> Result<Done, StoreError> {
    match op {
        Op::Apply(batch) => {
            crate::bulk::apply_batch(tx, batch)
                .await
                .map_err(engine_err)?;
            Ok(Done::Applied)
        }
        Op::Receive(r) => queue::receive(engine, tx, &r)
            .await
            .map(Done::Received)
            .map_err(engine_err),
        Op::ChangeVisibility {
            account,
            queue,
            handle,
            now,
            visible_until,
        } => queue::change_visibility(tx, account, &queue, &handle, now, visible_until)
            .await
            .map(Done::Visibility)
            .map_err(engine_err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, Utc};

    fn receive(queue: &str, at: i64, timeout: i64, fifo: bool) -> Op {
        let now = Utc::now() + Duration::milliseconds(at);
        Op::Receive(ReceiveRequest {
            account: "123456789012".parse().expect("id"),
            queue: queue.into(),
            now,
            max: 10,
            visible_until: now + Duration::seconds(timeout),
            token: format!("t{at}-"),
            fifo,
            redrive: None,
        })
    }

    #[test]
    fn receives_share_a_claim_only_when_alike() {
        let ops = vec![
            receive("a", 0, 30, false),
            receive("b", 1, 30, false),
            receive("a", 2, 30, false),
            receive("a", 3, 60, false),
            receive("f.fifo", 4, 30, true),
            receive("f.fifo", 5, 30, true),
        ];
        let groups = shared_receives(&ops);
        assert_eq!(groups.len(), 1);
        let (indices, merged) = &groups[0];
        assert_eq!(indices, &[0, 2]);
        assert_eq!(merged.max, 20);
        let Op::Receive(latest) = &ops[2] else {
            panic!("a receive")
        };
        assert_eq!(merged.now, latest.now, "the later receive's time");
        assert_eq!(merged.visible_until, latest.visible_until);
    }
}
