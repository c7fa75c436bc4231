//! A small world for domain tests: a Ferry on the memory engine with a
//! manual clock, the operator, a pooled `vendor` and a siloed `customer`.
#![allow(clippy::expect_used, dead_code)]

use std::sync::Arc;

use chrono::Utc;
use ferry_core::clock::ManualClock;
use ferry_core::{Ferry, FerryOptions, Principal, RequestContext};
use ferry_store::{MemoryFactory, MemoryStore, Placement};
use ferry_types::Tier;

pub struct World {
    /// Holds the blob directory for the world's lifetime.
    pub dir: tempfile::TempDir,
    pub ferry: Arc<Ferry>,
    pub clock: Arc<ManualClock>,
    pub vendor: Principal,
    pub customer: Principal,
}

pub async fn principal(ferry: &Ferry, key: &str) -> Principal {
    ferry
        .resolve_access_key(key)
        .await
        .expect("resolve")
        .expect("known key")
        .principal
}

pub fn ctx(ferry: &Ferry, p: &Principal) -> RequestContext {
    RequestContext {
        request_id: "r".into(),
        principal: p.clone(),
        region: "us-east-1".into(),
        source_ip: "127.0.0.1".into(),
        user_agent: "test".into(),
        secure_transport: false,
        time: ferry.now(),
        decision: Default::default(),
        signing_keys: Vec::new(),
    }
}

pub async fn world() -> World {
    let placement = Arc::new(Placement::new(
        Arc::new(MemoryStore::new()),
        Arc::new(MemoryFactory),
    ));
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let dir = tempfile::tempdir().expect("temp dir");
    let (ferry, _audit) = Ferry::new(
        placement,
        FerryOptions {
            clock: clock.clone(),
            blobs: Some(ferry_blob::Blobs::local(dir.path()).expect("blobs")),
            ..Default::default()
        },
    );
    ferry.bootstrap_operator(true).await.expect("bootstrap");
    let v = ferry
        .create_account("vendor", None, Tier::Pooled)
        .await
        .expect("vendor");
    let c = ferry
        .create_account("customer", None, Tier::Siloed)
        .await
        .expect("customer");
    let vendor = principal(&ferry, &v.access_key_id).await;
    let customer = principal(&ferry, &c.access_key_id).await;
    World {
        dir,
        ferry,
        clock,
        vendor,
        customer,
    }
}
