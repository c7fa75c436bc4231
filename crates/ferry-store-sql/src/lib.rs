//! Ferry's SQL store engines: the embedded SQLite engine (the default) and
//! the Postgres engine, as one implementation of `ferry_store::Store` over
//! sqlx's `Any` driver.
//!
//! Why one crate for both: the SQL is the same (hand-written `$1..$N`
//! statements, `ON CONFLICT`, `RETURNING` run on both); only the connection
//! setup, the migrations' column types and a few engine-only clauses
//! (`FOR UPDATE SKIP LOCKED`) differ, and those branch on [`Engine`] inside
//! this crate. Two crates would repeat every query.
//!
//! Placement: a siloed account gets its own SQLite file
//! (`<data-dir>/accounts/<id>/ferry.db`) or its own Postgres schema
//! (`ferry_<id>`), opened by [`SqlFactory`].
//!
//! Durability: SQLite runs in WAL mode with `synchronous=FULL`, so a commit
//! is on disk before `apply` returns (the SQS data plane's lane, `lane.rs`,
//! fsyncs the WAL itself before it answers); Postgres commits are durable by
//! default.

mod bulk;
mod cache;
mod engine;
mod lane;
mod queue;
mod rows;
mod writer;

pub use engine::{Engine, SqlFactory, SqlStore};
