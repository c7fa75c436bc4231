//! Ferry's background work. Every background task is a [`Worker`] run by
//! [`run`]; the first is the [`OutboxRelay`], which delivers the outbox items
//! that the store committed in the same transaction as the change that
//! caused them (webhooks, cross-account buses and queue sends in later
//! channels), with typed outcomes, a retry schedule with jitter, and a
//! dead-letter end; the [`BlobSweeper`] clears what interrupted uploads
//! left in blob roots. Nothing committed is lost: a claimed item is only
//! leased, so a crash hands it out again.
//!
//! Depends on ferry-core (clock, domain) and the ferry-store traits.

mod blob_gc;
mod expiry;
mod relay;
mod sweep;
mod worker;

pub use blob_gc::BlobCollector;
pub use expiry::MessageExpiry;
pub use relay::{Deliver, Delivery, OutboxRelay, RetryPolicy};
pub use sweep::BlobSweeper;
pub use worker::{Worker, WorkerState, run};
