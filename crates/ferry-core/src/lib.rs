//! Ferry's domain: every business rule and every authorization decision.
//! Adapters (`ferry-api-*`, `ferry-sftp`) translate their wire format into
//! calls on [`Ferry`] and render what comes back; they decide nothing.
//!
//! Depends on `ferry-types` and the `ferry-store` traits, never on an engine,
//! HTTP, or a wire format.
//!
//! Layout, one module per service or concern:
//! - `accounts`: accounts, tiers, the operator bootstrap, admin keys.
//! - `identity`: access key -> principal resolution.
//! - `orgs`: the Organizations API.
//! - `sts`: the STS API.
//! - `audit`: CloudTrail-shaped records, the batching writer, LookupEvents.
//! - `authz`: who may do what.
//! - `clock`: injectable time.

pub mod accounts;
pub mod audit;
pub mod authz;
pub mod clock;
mod context;
mod error;
mod ferry;
pub mod iam;
pub mod identity;
pub mod orgs;
pub mod queue;
pub mod s3;
pub mod sts;

pub use context::{DecisionSlot, RequestContext};
pub use error::CoreError;
pub use ferry::{Ferry, FerryOptions};
pub use identity::{IdentityKind, Principal};
