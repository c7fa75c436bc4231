//! IAM, STS and Organizations on the wire: parse each operation's
//! parameters, call ferry-core, render the answer. No decisions here.
//!
//! - `iam`: the IAM query protocol (XML).
//! - `sts`: the STS query protocol (XML).
//! - `wire`: query parameters in, XML out, and the one error mapping.
//! - `orgs`: the Organizations JSON 1.1 protocol.

mod iam;
mod orgs;
mod sts;
mod wire;

pub use iam::Iam;
pub use orgs::Organizations;
pub use sts::Sts;
