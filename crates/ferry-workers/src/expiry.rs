use std::sync::Arc;

use async_trait::async_trait;
use ferry_core::clock::Clock;
use ferry_store::{Placement, Write, WriteBatch};

use crate::{Worker, WorkerState};

/// Deletes SQS messages past their retention period and FIFO deduplication
/// records past their window, in every open store. Receives never return
/// an expired message anyway; this gives the space back.
pub struct MessageExpiry {
    placement: Arc<Placement>,
    clock: Arc<dyn Clock>,
}

impl MessageExpiry {
    /// A sweeper over every store of `placement`.
    pub fn new(placement: Arc<Placement>, clock: Arc<dyn Clock>) -> Self {
        MessageExpiry { placement, clock }
    }
}

#[async_trait]
impl Worker for MessageExpiry {
    fn name(&self) -> &'static str {
        "message-expiry"
    }

    async fn step(&mut self) -> WorkerState {
        let now = self.clock.now();
        for store in self.placement.open_stores().await {
            if let Err(e) = store
                .apply(WriteBatch::one(Write::ExpireMessages { now }))
                .await
            {
                tracing::warn!(error = %e, "message expiry failed");
            }
        }
        WorkerState::Idle
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone, Utc};
    use ferry_store::{MemoryFactory, MemoryStore, QueueMessage, Store};

    #[tokio::test]
    async fn expired_messages_are_removed() {
        let main = Arc::new(MemoryStore::new());
        let placement = Arc::new(Placement::new(main.clone(), Arc::new(MemoryFactory)));
        let t0 = Utc.timestamp_opt(1_700_000_000, 0).single().expect("time");
        let account = "123456789012".parse().expect("account");
        let message = |id: &str, expires: i64| QueueMessage {
            account_id: account,
            queue_name: "q".into(),
            message_id: id.into(),
            seq: 0,
            body: "b".into(),
            md5: "m".into(),
            meta: "{}".into(),
            group_id: None,
            source_queue: None,
            sent_at: t0,
            visible_at: t0,
            expires_at: t0 + Duration::seconds(expires),
            receive_count: 0,
            first_received_at: None,
            receipt_handle: None,
        };
        let mut batch = WriteBatch::one(Write::PutMessage(message("old", 10)));
        batch.push(Write::PutMessage(message("new", 100)));
        main.apply(batch).await.expect("put");
        let clock = Arc::new(ferry_core::clock::ManualClock::new(
            t0 + Duration::seconds(50),
        ));
        let mut w = MessageExpiry::new(placement, clock);
        w.step().await;
        let left: Vec<String> = main
            .list_messages(account, "q")
            .await
            .expect("list")
            .into_iter()
            .map(|m| m.message_id)
            .collect();
        assert_eq!(left, ["new"]);
    }
}
