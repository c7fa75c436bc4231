//! Ferry's shared vocabulary: the small value types every other crate passes
//! around (account ids, tiers, ARNs, regions, generated ids, timestamps).
//!
//! Pure: no I/O, no async, no dependency on any other Ferry crate. Parsing
//! functions validate, so a value of these types is always well formed.
#![warn(missing_docs)]

mod account;
mod arn;
mod ids;
mod time;

pub use account::{AccountId, InvalidAccountId, InvalidTier, Tier};
pub use arn::{Arn, InvalidArn};
pub use ids::{KeyKind, access_key_id, event_id, message_id, request_id, secret_access_key};
pub use time::{Timestamp, iso8601, iso8601_millis};

/// The region used when a request names none.
pub const DEFAULT_REGION: &str = "us-east-1";
