use std::sync::{Arc, OnceLock};

use ferry_store::Placement;
use ferry_types::{AccountId, Timestamp};

use crate::audit::{AuditSink, AuditWriter};
use crate::clock::{Clock, SystemClock};

/// Options for the domain.
pub struct FerryOptions {
    /// The time source (a manual clock in tests).
    pub clock: Arc<dyn Clock>,
    /// How many audit records may wait for the writer before requests wait.
    pub audit_queue: usize,
    /// Where object bytes live (S3); without it, object operations fail.
    pub blobs: Option<ferry_blob::Blobs>,
}

impl Default for FerryOptions {
    fn default() -> Self {
        FerryOptions {
            clock: Arc::new(SystemClock),
            audit_queue: 65_536,
            blobs: None,
        }
    }
}

/// The domain root: every service's operations are methods on it, in the
/// module named for the service.
pub struct Ferry {
    placement: Arc<Placement>,
    clock: Arc<dyn Clock>,
    audit: AuditSink,
    management: OnceLock<AccountId>,
    token_key: OnceLock<Vec<u8>>,
    pub(crate) queues: crate::queue::QueueState,
    pub(crate) blobs: Option<ferry_blob::Blobs>,
}

impl Ferry {
    /// The domain over `placement`, and the audit writer to run beside it.
    pub fn new(placement: Arc<Placement>, opts: FerryOptions) -> (Arc<Ferry>, AuditWriter) {
        let (audit, writer) = crate::audit::channel(placement.clone(), opts.audit_queue);
        let ferry = Arc::new(Ferry {
            placement,
            clock: opts.clock,
            audit,
            management: OnceLock::new(),
            token_key: OnceLock::new(),
            queues: Default::default(),
            blobs: opts.blobs,
        });
        (ferry, writer)
    }

    /// Where each account's rows live.
    pub fn placement(&self) -> &Arc<Placement> {
        &self.placement
    }

    /// Now, by the injected clock.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// The audit trail's intake.
    pub fn audit(&self) -> &AuditSink {
        &self.audit
    }

    pub(crate) fn cached_management(&self) -> Option<AccountId> {
        self.management.get().copied()
    }

    pub(crate) fn cached_token_key(&self) -> Option<Vec<u8>> {
        self.token_key.get().cloned()
    }

    pub(crate) fn cache_token_key(&self, key: Vec<u8>) -> Vec<u8> {
        self.token_key.get_or_init(|| key).clone()
    }

    pub(crate) fn set_management(&self, id: AccountId) {
        let _ = self.management.set(id);
    }
}
