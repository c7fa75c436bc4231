use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use ferry_core::clock::Clock;
use ferry_store::{OutboxItem, Placement, Store, Write, WriteBatch};
use rand::Rng;

use crate::{Worker, WorkerState};

/// The outcome of one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Delivered: the item is removed.
    Done,
    /// Failed for now: try again, after `after` if the target said so
    /// (`Retry-After`), else by the retry schedule.
    Retry {
        /// The target's own wait, if it gave one.
        after: Option<Duration>,
        /// Why it failed.
        error: String,
    },
    /// Failed for good (the target refused the item): dead-letter it now.
    Fail(String),
}

/// Delivers outbox items of one kind.
#[async_trait]
pub trait Deliver: Send + Sync + 'static {
    /// The outbox kind it handles.
    fn kind(&self) -> &'static str;
    /// One attempt.
    async fn deliver(&self, item: &OutboxItem) -> Delivery;
}

/// When to try again: attempt `n` (1-based) waits `schedule[n-1]`, plus up
/// to `jitter` of that wait at random; after the schedule, the item dies.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Waits between attempts.
    pub schedule: Vec<Duration>,
    /// Fraction (0..=1) of each wait added at random, so retries of many
    /// items do not arrive together.
    pub jitter: f64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        // As webhook senders commonly do: quick first retries, then backing
        // off to an hour; about 12 hours in all.
        let secs = [
            5, 30, 120, 600, 1800, 3600, 3600, 3600, 3600, 3600, 3600, 3600, 3600, 3600,
        ];
        RetryPolicy {
            schedule: secs.iter().map(|s| Duration::from_secs(*s)).collect(),
            jitter: 0.2,
        }
    }
}

impl RetryPolicy {
    /// The wait before the next attempt after `attempts` attempts, or
    /// `None` when the schedule is used up.
    pub fn next_delay(&self, attempts: i64) -> Option<Duration> {
        let idx = usize::try_from(attempts).ok()?.checked_sub(1)?;
        let base = *self.schedule.get(idx)?;
        let extra = if self.jitter > 0.0 {
            base.mul_f64(rand::rng().random_range(0.0..=self.jitter.min(1.0)))
        } else {
            Duration::ZERO
        };
        Some(base + extra)
    }
}

/// Claims due outbox items from every open store, hands each to the
/// handler of its kind, and records the outcome.
pub struct OutboxRelay {
    placement: Arc<Placement>,
    handlers: HashMap<&'static str, Arc<dyn Deliver>>,
    clock: Arc<dyn Clock>,
    retry: RetryPolicy,
    /// How long a claimed item stays hidden; a relay that crashes mid-way
    /// gets its items back after this.
    lease: Duration,
    batch: usize,
}

impl OutboxRelay {
    /// A relay with no handlers yet.
    pub fn new(placement: Arc<Placement>, clock: Arc<dyn Clock>, retry: RetryPolicy) -> Self {
        OutboxRelay {
            placement,
            handlers: HashMap::new(),
            clock,
            retry,
            lease: Duration::from_secs(60),
            batch: 64,
        }
    }

    /// Adds the handler of one kind.
    pub fn handle(mut self, handler: Arc<dyn Deliver>) -> Self {
        self.handlers.insert(handler.kind(), handler);
        self
    }

    /// The result of one attempt as a store write.
    fn outcome(&self, item: &OutboxItem, delivery: Delivery) -> Write {
        match delivery {
            Delivery::Done => Write::OutboxDone(item.id),
            Delivery::Fail(error) => Write::OutboxDead { id: item.id, error },
            Delivery::Retry { after, error } => match self.retry.next_delay(item.attempts) {
                Some(wait) => {
                    let wait = after.map_or(wait, |a| a.max(wait));
                    let at = self.clock.now()
                        + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX);
                    Write::OutboxRetry {
                        id: item.id,
                        at,
                        error,
                    }
                }
                None => Write::OutboxDead {
                    id: item.id,
                    error: format!("gave up after {} attempts: {error}", item.attempts),
                },
            },
        }
    }

    async fn drain(&self, store: &Arc<dyn Store>) -> Result<usize, ferry_store::StoreError> {
        let now = self.clock.now();
        let lease_until =
            now + chrono::Duration::from_std(self.lease).unwrap_or(chrono::Duration::MAX);
        let items = store.claim_outbox(now, lease_until, self.batch).await?;
        let n = items.len();
        let attempts = items.iter().map(|item| async move {
            let delivery = match self.handlers.get(item.kind.as_str()) {
                Some(h) => h.deliver(item).await,
                None => Delivery::Fail(format!("no handler for outbox kind {:?}", item.kind)),
            };
            metrics::counter!("ferry_outbox_deliveries_total", "kind" => item.kind.clone(),
                "outcome" => match &delivery { Delivery::Done => "done", Delivery::Retry { .. } => "retry", Delivery::Fail(_) => "fail" })
            .increment(1);
            self.outcome(item, delivery)
        });
        // Deliveries to slow targets overlap.
        let writes = futures::future::join_all(attempts).await;
        if !writes.is_empty() {
            store.apply(WriteBatch(writes)).await?;
        }
        Ok(n)
    }
}

#[async_trait]
impl Worker for OutboxRelay {
    fn name(&self) -> &'static str {
        "outbox-relay"
    }

    async fn step(&mut self) -> WorkerState {
        let mut busy = false;
        for store in self.placement.open_stores().await {
            match self.drain(&store).await {
                Ok(n) => busy |= n == self.batch,
                Err(e) => tracing::warn!(error = %e, "outbox relay: store error"),
            }
        }
        if busy {
            WorkerState::Busy
        } else {
            WorkerState::Idle
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_core::clock::ManualClock;
    use ferry_store::{MemoryFactory, MemoryStore, NewOutboxItem};
    use std::sync::Mutex;

    /// Answers from a script, one outcome per call, and records calls.
    struct Scripted {
        script: Mutex<Vec<Delivery>>,
        calls: Mutex<Vec<i64>>,
    }

    #[async_trait]
    impl Deliver for Scripted {
        fn kind(&self) -> &'static str {
            "test"
        }
        async fn deliver(&self, item: &OutboxItem) -> Delivery {
            self.calls.lock().expect("lock").push(item.attempts);
            let mut s = self.script.lock().expect("lock");
            if s.is_empty() {
                Delivery::Done
            } else {
                s.remove(0)
            }
        }
    }

    fn setup(
        script: Vec<Delivery>,
    ) -> (Arc<dyn Store>, Arc<ManualClock>, Arc<Scripted>, OutboxRelay) {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let placement = Arc::new(Placement::new(store.clone(), Arc::new(MemoryFactory)));
        let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
        let handler = Arc::new(Scripted {
            script: Mutex::new(script),
            calls: Mutex::new(vec![]),
        });
        let relay = OutboxRelay::new(
            placement,
            clock.clone(),
            RetryPolicy {
                schedule: vec![Duration::from_secs(10), Duration::from_secs(20)],
                jitter: 0.0,
            },
        )
        .handle(handler.clone());
        (store, clock, handler, relay)
    }

    async fn enqueue(store: &Arc<dyn Store>, clock: &ManualClock, kind: &str) {
        store
            .apply(WriteBatch::one(Write::Enqueue(NewOutboxItem {
                account_id: "123456789012".parse().expect("id"),
                kind: kind.into(),
                payload: "{}".into(),
                available_at: clock.now(),
            })))
            .await
            .expect("enqueue");
    }

    fn retry() -> Delivery {
        Delivery::Retry {
            after: None,
            error: "503".into(),
        }
    }

    #[tokio::test]
    async fn retries_on_schedule_then_delivers() {
        let (store, clock, handler, mut relay) = setup(vec![retry(), retry()]);
        enqueue(&store, &clock, "test").await;
        relay.step().await;
        relay.step().await; // not due yet: no second call
        assert_eq!(*handler.calls.lock().expect("lock"), [1]);
        clock.advance(chrono::Duration::seconds(10));
        relay.step().await;
        clock.advance(chrono::Duration::seconds(19));
        relay.step().await; // second wait is 20 s
        assert_eq!(*handler.calls.lock().expect("lock"), [1, 2]);
        clock.advance(chrono::Duration::seconds(1));
        relay.step().await;
        assert_eq!(*handler.calls.lock().expect("lock"), [1, 2, 3]);
        clock.advance(chrono::Duration::hours(1));
        relay.step().await;
        assert_eq!(
            handler.calls.lock().expect("lock").len(),
            3,
            "delivered: gone"
        );
        assert!(store.dead_outbox().await.expect("dead").is_empty());
    }

    #[tokio::test]
    async fn schedule_exhausted_dead_letters() {
        let (store, clock, _, mut relay) = setup(vec![retry(), retry(), retry()]);
        enqueue(&store, &clock, "test").await;
        for _ in 0..4 {
            relay.step().await;
            clock.advance(chrono::Duration::seconds(30));
        }
        let dead = store.dead_outbox().await.expect("dead");
        assert_eq!(dead.len(), 1);
        assert!(
            dead[0]
                .last_error
                .as_deref()
                .is_some_and(|e| e.contains("gave up after 3 attempts"))
        );
    }

    #[tokio::test]
    async fn refusals_and_unknown_kinds_dead_letter_at_once() {
        let (store, clock, _, mut relay) = setup(vec![Delivery::Fail("410 Gone".into())]);
        enqueue(&store, &clock, "test").await;
        enqueue(&store, &clock, "nobody-handles-this").await;
        relay.step().await;
        let dead = store.dead_outbox().await.expect("dead");
        assert_eq!(dead.len(), 2);
    }

    #[tokio::test]
    async fn retry_after_is_respected_when_longer() {
        let (store, clock, handler, mut relay) = setup(vec![Delivery::Retry {
            after: Some(Duration::from_secs(100)),
            error: "429".into(),
        }]);
        enqueue(&store, &clock, "test").await;
        relay.step().await;
        clock.advance(chrono::Duration::seconds(99));
        relay.step().await;
        assert_eq!(handler.calls.lock().expect("lock").len(), 1);
        clock.advance(chrono::Duration::seconds(1));
        relay.step().await;
        assert_eq!(handler.calls.lock().expect("lock").len(), 2);
    }

    #[test]
    fn jitter_stays_within_bounds() {
        let p = RetryPolicy {
            schedule: vec![Duration::from_secs(10)],
            jitter: 0.5,
        };
        for _ in 0..100 {
            let d = p.next_delay(1).expect("delay");
            assert!(d >= Duration::from_secs(10) && d <= Duration::from_secs(15));
        }
        assert_eq!(p.next_delay(2), None);
        assert_eq!(p.next_delay(0), None);
    }
}
