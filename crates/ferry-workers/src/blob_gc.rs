use std::sync::Arc;

use async_trait::async_trait;
use ferry_blob::Blobs;
use ferry_core::clock::Clock;
use ferry_store::{Placement, Write, WriteBatch};

use crate::{Worker, WorkerState};

/// Sweeps per store per step.
const BATCH: usize = 200;

/// Deletes object bytes nothing points at any more: blobs of interrupted
/// uploads, of overwritten and of deleted objects. Each blob written gets a
/// sweep record first; when it is due, a blob an object still points at is
/// kept (the record goes), any other is deleted.
pub struct BlobCollector {
    placement: Arc<Placement>,
    blobs: Blobs,
    clock: Arc<dyn Clock>,
}

impl BlobCollector {
    /// A collector over every store of `placement`.
    pub fn new(placement: Arc<Placement>, blobs: Blobs, clock: Arc<dyn Clock>) -> Self {
        BlobCollector {
            placement,
            blobs,
            clock,
        }
    }
}

#[async_trait]
impl Worker for BlobCollector {
    fn name(&self) -> &'static str {
        "blob-collector"
    }

    async fn step(&mut self) -> WorkerState {
        let now = self.clock.now();
        let mut busy = false;
        for store in self.placement.open_stores().await {
            let due = match store.due_blob_sweeps(now, BATCH).await {
                Ok(d) => d,
                Err(e) => {
                    tracing::warn!(error = %e, "blob collector: cannot read sweeps");
                    continue;
                }
            };
            busy |= due.len() == BATCH;
            for s in due {
                let referenced = match store.blob_referenced(s.account_id, &s.blob_key).await {
                    Ok(r) => r,
                    Err(e) => {
                        tracing::warn!(error = %e, "blob collector: cannot check a blob");
                        continue;
                    }
                };
                if !referenced {
                    let root = match self.placement.blob_root(s.account_id).await {
                        Ok(r) => r,
                        Err(e) => {
                            tracing::warn!(error = %e, "blob collector: no blob root");
                            continue;
                        }
                    };
                    if let Err(e) = self.blobs.delete(root, &s.blob_key).await {
                        tracing::warn!(blob = %s.blob_key, error = %e, "blob collector: delete failed");
                        continue;
                    }
                }
                if let Err(e) = store
                    .apply(WriteBatch::one(Write::DeleteBlobSweep {
                        account: s.account_id,
                        blob_key: s.blob_key,
                    }))
                    .await
                {
                    tracing::warn!(error = %e, "blob collector: cannot drop a sweep");
                }
            }
        }
        if busy {
            WorkerState::Busy
        } else {
            WorkerState::Idle
        }
    }
}
