//! Ferry's metadata store: the repository traits every engine implements, the
//! in-memory engine (for fast unit tests), tenant placement (which engine
//! instance holds an account's rows), and the conformance suite that every
//! engine must pass.
//!
//! Depends only on `ferry-types`. Engines live in their own crates
//! (`ferry-store-sql` for SQLite and Postgres) and run [`conformance`] in their
//! tests.
//!
//! Layout:
//! - `model`: the rows (accounts, access keys, IAM principals, audit, outbox).
//! - `repo`: the [`Store`] trait: typed reads, and one [`Store::apply`] that
//!   writes a [`WriteBatch`] atomically, so a change and the outbox items it
//!   causes always commit together.
//! - `memory`: the in-memory engine.
//! - `placement`: pooled vs siloed, decided here and nowhere else.
//! - `conformance`: the shared engine test suite.
#![warn(missing_docs)]

pub mod conformance;
mod error;
mod memory;
mod model;
mod placement;
mod repo;

pub use error::StoreError;
pub use memory::{MemoryFactory, MemoryStore};
pub use model::*;
pub use placement::{BlobRoot, Placement, StoreFactory};
pub use repo::{Store, Write, WriteBatch};
