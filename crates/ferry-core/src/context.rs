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
}
