//! The shared conformance suite against SQLite (always) and Postgres (the
//! server on this machine; `FERRY_TEST_POSTGRES` overrides the URL, and the
//! Postgres tests fail rather than skip when it is unreachable).
#![allow(clippy::expect_used)]

use std::sync::Arc;

use ferry_store::{Store, conformance};
use ferry_store_sql::{SqlFactory, SqlStore};

fn pg_url() -> String {
    std::env::var("FERRY_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

#[tokio::test]
async fn sqlite_passes_the_conformance_suite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let n = std::sync::atomic::AtomicUsize::new(0);
    conformance::run_all(|| {
        let path = dir.path().join(format!(
            "s{}.db",
            n.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        ));
        async move {
            let s: Arc<dyn Store> = Arc::new(SqlStore::open_sqlite(&path).await.expect("open"));
            s
        }
    })
    .await;
}

#[tokio::test]
async fn sqlite_placement_keeps_silos_in_their_own_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let main = Arc::new(
        SqlStore::open_sqlite(&dir.path().join("ferry.db"))
            .await
            .expect("open"),
    );
    conformance::placement(
        main,
        Arc::new(SqlFactory::Sqlite {
            data_dir: dir.path().to_path_buf(),
        }),
    )
    .await;
    let silo = SqlFactory::silo_path(dir.path(), "100000000002".parse().expect("id"));
    assert!(silo.exists(), "the siloed account has its own file");
}

#[tokio::test]
async fn sqlite_survives_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("ferry.db");
    let s = SqlStore::open_sqlite(&path).await.expect("open");
    let a = conformance::account(1, "alpha", ferry_types::Tier::Pooled);
    s.apply(ferry_store::WriteBatch::one(
        ferry_store::Write::PutAccount(a.clone()),
    ))
    .await
    .expect("write");
    // No close: as after a crash, the WAL must be replayed on open.
    drop(s);
    let s = SqlStore::open_sqlite(&path).await.expect("reopen");
    assert_eq!(s.get_account(a.id).await.expect("get"), Some(a));
}

fn schema_prefix() -> String {
    format!("ferry_t{}_", rand::random::<u32>())
}

#[tokio::test]
async fn postgres_passes_the_conformance_suite() {
    let url = pg_url();
    let prefix = schema_prefix();
    let n = std::sync::atomic::AtomicUsize::new(0);
    let schemas = std::sync::Mutex::new(Vec::new());
    conformance::run_all(|| {
        let schema = format!(
            "{prefix}{}",
            n.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        );
        schemas.lock().expect("lock").push(schema.clone());
        let url = url.clone();
        async move {
            let s: Arc<dyn Store> = Arc::new(
                SqlStore::open_postgres(&url, &schema, 2)
                    .await
                    .expect("open postgres (is it running on 127.0.0.1:5432?)"),
            );
            s
        }
    })
    .await;
    let schemas = schemas.lock().expect("lock").clone();
    for s in &schemas {
        SqlStore::drop_postgres_schema(&url, s).await.expect("drop");
    }
}

#[tokio::test]
async fn postgres_placement_keeps_silos_in_their_own_schemas() {
    let url = pg_url();
    let prefix = schema_prefix();
    let main_schema = format!("{prefix}main");
    let main = Arc::new(
        SqlStore::open_postgres(&url, &main_schema, 2)
            .await
            .expect("open postgres"),
    );
    conformance::placement(
        main,
        Arc::new(SqlFactory::Postgres {
            url: url.clone(),
            schema_prefix: prefix.clone(),
        }),
    )
    .await;
    SqlStore::drop_postgres_schema(&url, &main_schema)
        .await
        .expect("drop");
    SqlStore::drop_postgres_schema(&url, &format!("{prefix}100000000002"))
        .await
        .expect("drop");
}
