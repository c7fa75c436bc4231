//! IAM, STS and Organizations on the wire: parse each operation's
//! parameters, call ferry-core, render the answer. No decisions here.
//!
//! - `sts`: the STS query protocol (XML).
//! - `orgs`: the Organizations JSON 1.1 protocol.

mod orgs;
mod sts;

pub use orgs::Organizations;
pub use sts::Sts;
