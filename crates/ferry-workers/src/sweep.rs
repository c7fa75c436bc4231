use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use ferry_blob::Blobs;
use ferry_store::{BlobRoot, Placement};

use crate::{Worker, WorkerState};

/// Removes the temporary files that interrupted uploads (a crash, a
/// dropped connection) left in every blob root, once they are old enough
/// that no upload can still be writing them.
pub struct BlobSweeper {
    placement: Arc<Placement>,
    blobs: Blobs,
    every: Duration,
    older_than: Duration,
    last: Option<Instant>,
}

impl BlobSweeper {
    /// Sweeps every `every`, removing temp files older than `older_than`.
    pub fn new(
        placement: Arc<Placement>,
        blobs: Blobs,
        every: Duration,
        older_than: Duration,
    ) -> Self {
        BlobSweeper {
            placement,
            blobs,
            every,
            older_than,
            last: None,
        }
    }

    async fn roots(&self) -> Vec<BlobRoot> {
        let mut roots = vec![BlobRoot::Shared];
        match self.placement.catalog().list_accounts().await {
            Ok(accounts) => {
                for a in accounts {
                    if let Ok(root @ BlobRoot::Silo(_)) = self.placement.blob_root(a.id).await {
                        roots.push(root);
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "blob sweep: cannot list accounts"),
        }
        roots
    }
}

#[async_trait]
impl Worker for BlobSweeper {
    fn name(&self) -> &'static str {
        "blob-sweeper"
    }

    async fn step(&mut self) -> WorkerState {
        if self.last.is_some_and(|t| t.elapsed() < self.every) {
            return WorkerState::Idle;
        }
        self.last = Some(Instant::now());
        for root in self.roots().await {
            match self.blobs.sweep_temp(root, self.older_than).await {
                Ok(0) => {}
                Ok(n) => {
                    tracing::info!(?root, removed = n, "blob sweep removed leftover temp files")
                }
                Err(e) => tracing::warn!(?root, error = %e, "blob sweep failed"),
            }
        }
        WorkerState::Idle
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_store::{MemoryFactory, MemoryStore};

    #[tokio::test]
    async fn sweeps_every_root_and_only_old_temp_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let blobs = Blobs::local(dir.path()).expect("blobs");
        let placement = Arc::new(Placement::new(
            Arc::new(MemoryStore::new()),
            Arc::new(MemoryFactory),
        ));
        // A leftover temp file in the shared root, as a crash mid-upload leaves.
        let tmp = dir.path().join("blobs").join(".tmp");
        std::fs::create_dir_all(&tmp).expect("mkdir");
        std::fs::write(tmp.join("1-2-3"), b"partial").expect("write");
        blobs
            .put(
                BlobRoot::Shared,
                "a/kept",
                futures::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from_static(b"x"))]),
            )
            .await
            .expect("put");
        let mut sweeper = BlobSweeper::new(
            placement,
            blobs.clone(),
            Duration::from_secs(3600),
            Duration::ZERO,
        );
        assert_eq!(sweeper.step().await, WorkerState::Idle);
        assert!(!tmp.join("1-2-3").exists(), "the leftover is gone");
        assert!(
            blobs
                .head(BlobRoot::Shared, "a/kept")
                .await
                .expect("head")
                .is_some(),
            "real blobs stay"
        );
    }
}
