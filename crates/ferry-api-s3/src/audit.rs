//! What each operation tells the audit record. s3s drops an operation's
//! response extensions when it fails, so the operations write into a slot
//! the service put in the request's extensions (s3s hands those on), and
//! the service moves it into a [`RestAudit`] on whatever response comes
//! back, success or error.

use std::sync::{Arc, Mutex};

use ferry_http::RestAudit;
use serde_json::Value;

/// Shared between the service (which reads it) and the operation (which
/// fills it in).
#[derive(Debug, Clone, Default)]
pub(crate) struct AuditSlot(Arc<Mutex<Option<RestAudit>>>);

impl AuditSlot {
    /// Records that `event_name` ran, with its parameters.
    pub(crate) fn start(&self, event_name: &str, read_only: bool, params: Value) {
        self.update(|a| {
            a.event_name = event_name.to_string();
            a.read_only = read_only;
            a.request_parameters = Some(params);
        });
    }

    /// The failure, if the operation failed.
    pub(crate) fn failed(&self, code: &str, message: Option<&str>) {
        self.update(|a| {
            a.error_code = Some(code.to_string());
            a.error_message = message.map(str::to_string);
        });
    }

    fn update(&self, f: impl FnOnce(&mut RestAudit)) {
        if let Ok(mut slot) = self.0.lock() {
            f(slot.get_or_insert_with(RestAudit::default));
        }
    }

    /// What was recorded, if the request reached an operation.
    pub(crate) fn take(&self) -> Option<RestAudit> {
        self.0.lock().ok().and_then(|mut s| s.take())
    }
}
