use std::time::Duration;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

/// What a worker did in one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkerState {
    /// It did work and likely has more: call again at once.
    Busy,
    /// Nothing to do now: call again after the idle wait.
    Idle,
    /// Finished for good.
    Done,
}

/// A unit of background work, stepped by [`run`].
#[async_trait]
pub trait Worker: Send + 'static {
    /// A name for logs and metrics.
    fn name(&self) -> &'static str;
    /// Does one bounded step of work.
    async fn step(&mut self) -> WorkerState;
}

/// Steps `worker` until it is done or `shutdown` fires; sleeps `idle` when
/// it has nothing to do. A step in progress finishes before shutdown.
pub async fn run<W: Worker>(mut worker: W, idle: Duration, shutdown: CancellationToken) {
    loop {
        if shutdown.is_cancelled() {
            break;
        }
        match worker.step().await {
            WorkerState::Busy => tokio::task::yield_now().await,
            WorkerState::Idle => {
                tokio::select! {
                    _ = tokio::time::sleep(idle) => {}
                    _ = shutdown.cancelled() => break,
                }
            }
            WorkerState::Done => break,
        }
    }
    tracing::debug!(worker = worker.name(), "worker stopped");
}
