use std::sync::{Arc, Mutex};

use ferry_types::Timestamp;

use crate::Principal;

/// Who is asking, from where, and about what: built by the front door after
/// authentication and passed to every domain call.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// The request id returned to the caller.
    pub request_id: String,
    /// The authenticated caller.
    pub principal: Principal,
    /// The region the request was signed for.
    pub region: String,
    /// The client's IP address.
    pub source_ip: String,
    /// The client's User-Agent.
    pub user_agent: String,
    /// Whether the request came over TLS.
    pub secure_transport: bool,
    /// When the request arrived.
    pub time: Timestamp,
    /// Why the last authorization decision came out as it did; the front
    /// door copies it into the audit record.
    pub decision: DecisionSlot,
    /// Condition keys that come from how the request was signed
    /// (`s3:authType`, `s3:signatureversion`, ...), set by the front door
    /// for S3; empty elsewhere.
    pub signing_keys: Vec<(&'static str, String)>,
}

/// Where `authz` leaves the reason of its decision for the audit trail.
#[derive(Debug, Clone, Default)]
pub struct DecisionSlot(Arc<Mutex<Option<String>>>);

impl DecisionSlot {
    /// Records a reason (the last one wins).
    pub fn record(&self, reason: String) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(reason);
        }
    }

    /// The recorded reason, if any.
    pub fn get(&self) -> Option<String> {
        self.0.lock().ok().and_then(|s| s.clone())
    }
}
