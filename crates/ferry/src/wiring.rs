//! Opens the stores named by the settings and builds the domain on them.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use ferry_config::Settings;
use ferry_core::audit::AuditWriter;
use ferry_core::{Ferry, FerryOptions};
use ferry_store::{Placement, Store, StoreFactory};
use ferry_store_sql::{SqlFactory, SqlStore};

/// The schema of the main store on Postgres; silos are `ferry_<account>`.
const PG_MAIN_SCHEMA: &str = "ferry_main";
const PG_SILO_PREFIX: &str = "ferry_";

pub async fn open_placement(settings: &Settings) -> anyhow::Result<Arc<Placement>> {
    std::fs::create_dir_all(&settings.data_dir)
        .with_context(|| format!("creating data dir {}", settings.data_dir.display()))?;
    let (main, factory): (Arc<dyn Store>, Arc<dyn StoreFactory>) = if settings.store.is_empty() {
        let path = settings.data_dir.join("ferry.db");
        (
            Arc::new(
                SqlStore::open_sqlite(&path)
                    .await
                    .with_context(|| format!("opening {}", path.display()))?,
            ),
            Arc::new(SqlFactory::Sqlite {
                data_dir: settings.data_dir.clone(),
            }),
        )
    } else {
        (
            Arc::new(
                SqlStore::open_postgres(&settings.store, PG_MAIN_SCHEMA, 16)
                    .await
                    .context("opening the Postgres store")?,
            ),
            Arc::new(SqlFactory::Postgres {
                url: settings.store.clone(),
                schema_prefix: PG_SILO_PREFIX.into(),
            }),
        )
    };
    let placement = Arc::new(Placement::new(main, factory));
    placement
        .open_all()
        .await
        .context("opening account silos")?;
    Ok(placement)
}

pub async fn open_ferry(settings: &Settings) -> anyhow::Result<(Arc<Ferry>, AuditWriter)> {
    let placement = open_placement(settings).await?;
    let blobs = open_blobs(settings).context("opening the blob store")?;
    Ok(Ferry::new(
        placement,
        FerryOptions {
            blobs: Some(blobs),
            ..FerryOptions::default()
        },
    ))
}

/// Operator credentials as written to `<data-dir>/operator.json`.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct OperatorFile {
    pub account_id: String,
    pub access_key_id: String,
    pub secret_access_key: String,
}

pub fn operator_path(data_dir: &Path) -> std::path::PathBuf {
    data_dir.join("operator.json")
}

/// Makes sure the management account exists and operator.json holds a key
/// of its root user; written atomically with mode 0600.
pub async fn ensure_operator(ferry: &Ferry, data_dir: &Path) -> anyhow::Result<()> {
    let path = operator_path(data_dir);
    let need_key = !path.exists();
    if let Some(key) = ferry.bootstrap_operator(need_key).await? {
        let file = OperatorFile {
            account_id: key.account_id.to_string(),
            access_key_id: key.access_key_id,
            secret_access_key: key.secret_access_key,
        };
        write_private(&path, &serde_json::to_vec_pretty(&file)?)?;
    }
    Ok(())
}

fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("json.tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("writing {}", tmp.display()))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// Opens the blob store the settings name: local files under the data dir,
/// or an S3-compatible store (`s3://bucket/prefix`) whose endpoint comes
/// from `FERRY_BLOBS_ENDPOINT` and credentials from the usual `AWS_*`
/// variables.
pub fn open_blobs(settings: &Settings) -> anyhow::Result<ferry_blob::Blobs> {
    if settings.blobs.is_empty() {
        return Ok(ferry_blob::Blobs::local(&settings.data_dir)?);
    }
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let endpoint = var("FERRY_BLOBS_ENDPOINT");
    let opts = ferry_blob::S3Options {
        allow_http: endpoint
            .as_deref()
            .is_some_and(|e| e.starts_with("http://")),
        endpoint,
        region: var("AWS_REGION")
            .or_else(|| var("AWS_DEFAULT_REGION"))
            .unwrap_or_else(|| "us-east-1".into()),
        access_key_id: var("AWS_ACCESS_KEY_ID")
            .context("--blobs s3://... needs AWS_ACCESS_KEY_ID")?,
        secret_access_key: var("AWS_SECRET_ACCESS_KEY")
            .context("--blobs s3://... needs AWS_SECRET_ACCESS_KEY")?,
        session_token: var("AWS_SESSION_TOKEN"),
    };
    Ok(ferry_blob::Blobs::s3(&settings.blobs, opts)?)
}
