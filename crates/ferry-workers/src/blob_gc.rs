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

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use chrono::{Duration, Utc};
    use ferry_core::clock::ManualClock;
    use ferry_core::s3::ObjectHeaders;
    use ferry_core::{Ferry, FerryOptions, RequestContext};
    use ferry_store::{BlobRoot, MemoryFactory, MemoryStore};
    use ferry_types::Tier;

    fn body(
        s: &'static str,
    ) -> futures::stream::Iter<std::vec::IntoIter<Result<Bytes, std::io::Error>>> {
        futures::stream::iter(vec![Ok(Bytes::from_static(s.as_bytes()))])
    }

    #[tokio::test]
    async fn replaced_and_deleted_bytes_are_collected_live_ones_kept() {
        let dir = tempfile::tempdir().expect("dir");
        let blobs = Blobs::local(dir.path()).expect("blobs");
        let placement = Arc::new(Placement::new(
            Arc::new(MemoryStore::new()),
            Arc::new(MemoryFactory),
        ));
        let clock = Arc::new(ManualClock::new(Utc::now()));
        let (ferry, _audit) = Ferry::new(
            placement.clone(),
            FerryOptions {
                clock: clock.clone(),
                blobs: Some(blobs.clone()),
                ..Default::default()
            },
        );
        ferry.bootstrap_operator(true).await.expect("bootstrap");
        let acct = ferry
            .create_account("v", None, Tier::Pooled)
            .await
            .expect("account");
        let principal = ferry
            .resolve_access_key(&acct.access_key_id)
            .await
            .expect("resolve")
            .expect("key")
            .principal;
        let ctx = RequestContext {
            request_id: "r".into(),
            principal,
            region: "us-east-1".into(),
            source_ip: "127.0.0.1".into(),
            user_agent: "t".into(),
            secure_transport: false,
            time: clock.now(),
            decision: Default::default(),
            signing_keys: Vec::new(),
        };
        ferry
            .create_bucket(&ctx, "gc-test", "us-east-1")
            .await
            .expect("bucket");
        let h = ObjectHeaders::default;
        ferry
            .put_object(&ctx, "gc-test", "k", h(), body("one"))
            .await
            .expect("put");
        ferry
            .put_object(&ctx, "gc-test", "k", h(), body("two"))
            .await
            .expect("put");
        ferry
            .put_object(&ctx, "gc-test", "gone", h(), body("three"))
            .await
            .expect("put");
        ferry
            .delete_object(&ctx, "gc-test", "gone")
            .await
            .expect("delete");
        let count = || async {
            blobs
                .list(BlobRoot::Shared, "s3/")
                .await
                .expect("list")
                .len()
        };
        assert_eq!(count().await, 3);
        let mut gc = BlobCollector::new(placement.clone(), blobs.clone(), clock.clone());
        gc.step().await;
        assert_eq!(
            count().await,
            3,
            "readers may still stream replaced bytes for a while"
        );
        clock.advance(Duration::minutes(16));
        gc.step().await;
        assert_eq!(
            count().await,
            1,
            "the replaced and the deleted object's bytes are gone"
        );
        clock.advance(Duration::hours(7));
        gc.step().await;
        assert_eq!(count().await, 1, "the live object's bytes stay");
        let got = ferry
            .get_object(&ctx, "gc-test", "k", Default::default())
            .await
            .expect("get");
        assert_eq!(got.info.size, 3);
    }
}
