use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use ferry_store::*;
use ferry_types::{AccountId, Timestamp};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, AssertSqlSafe, Executor, Row};

use crate::cache::ReadCache;
use crate::queue::MESSAGE_COLS;
use crate::rows::*;
use crate::writer::{Done, Op, Writer};

/// Which SQL engine a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// Embedded SQLite file.
    Sqlite,
    /// A Postgres server; each store is one schema.
    Postgres,
}

/// One SQL store: the main store or a silo.
pub struct SqlStore {
    engine: Engine,
    /// Reads (and, on Postgres, writes).
    read: AnyPool,
    /// Writes. On SQLite a single connection, so writers queue in-process
    /// instead of failing with SQLITE_BUSY on lock upgrades.
    write: AnyPool,
    /// Group commit of every write.
    writer: Writer,
    /// Hot rows, on SQLite.
    cache: Arc<ReadCache>,
}

pub(crate) fn engine_err(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &e
        && db.is_unique_violation()
    {
        return StoreError::Conflict(db.message().to_string());
    }
    StoreError::Engine(e.to_string())
}

pub(crate) fn ms(t: Timestamp) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn from_ms(v: i64) -> Timestamp {
    DateTime::<Utc>::from_timestamp_millis(v).unwrap_or_default()
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}

/// A Postgres schema name is an identifier we build ourselves; keep it to
/// `[a-z0-9_]` so it needs no quoting and cannot inject.
fn valid_schema(schema: &str) -> Result<(), StoreError> {
    if !schema.is_empty()
        && schema.len() <= 63
        && schema
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        Ok(())
    } else {
        Err(StoreError::Engine(format!(
            "invalid schema name {schema:?}"
        )))
    }
}

impl SqlStore {
    /// Opens (creating and migrating) the SQLite store at `path`.
    pub async fn open_sqlite(path: &Path) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Engine(format!("{}: {e}", dir.display())))?;
        }
        let url = sqlite_url(path);
        let opts = || {
            AnyPoolOptions::new().after_connect(|conn, _| {
                Box::pin(async move {
                    // WAL lets readers run beside the writer; FULL makes a
                    // commit durable before it returns.
                    conn.execute("PRAGMA journal_mode = WAL").await?;
                    conn.execute("PRAGMA synchronous = FULL").await?;
                    conn.execute("PRAGMA busy_timeout = 10000").await?;
                    Ok(())
                })
            })
        };
        let write = opts()
            .max_connections(1)
            .connect(&url)
            .await
            .map_err(engine_err)?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&write)
            .await
            .map_err(|e| StoreError::Engine(format!("migrating {}: {e}", path.display())))?;
        let read = opts()
            .max_connections(4)
            .connect(&url)
            .await
            .map_err(engine_err)?;
        let cache = Arc::new(ReadCache::new(true));
        let lane = crate::lane::Lane::open(path)?;
        Ok(SqlStore {
            engine: Engine::Sqlite,
            read,
            writer: Writer::start(Engine::Sqlite, write.clone(), Some(lane), cache.clone()),
            write,
            cache,
        })
    }

    /// Opens (creating and migrating) the Postgres store in `schema` of the
    /// database at `url`.
    pub async fn open_postgres(
        url: &str,
        schema: &str,
        pool_size: u32,
    ) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        valid_schema(schema)?;
        let setup = AnyPoolOptions::new()
            .max_connections(1)
            .connect(url)
            .await
            .map_err(engine_err)?;
        sqlx::query(AssertSqlSafe(format!(
            "CREATE SCHEMA IF NOT EXISTS {schema}"
        )))
        .execute(&setup)
        .await
        .map_err(engine_err)?;
        setup.close().await;
        let search_path = format!("SET search_path TO {schema}");
        let pool = AnyPoolOptions::new()
            .max_connections(pool_size)
            .min_connections(0)
            .idle_timeout(Duration::from_secs(60))
            .after_connect(move |conn, _| {
                let sp = search_path.clone();
                Box::pin(async move {
                    sqlx::query(AssertSqlSafe(sp)).execute(&mut *conn).await?;
                    Ok(())
                })
            })
            .connect(url)
            .await
            .map_err(engine_err)?;
        sqlx::migrate!("./migrations/postgres")
            .run(&pool)
            .await
            .map_err(|e| StoreError::Engine(format!("migrating schema {schema}: {e}")))?;
        let cache = Arc::new(ReadCache::new(false));
        Ok(SqlStore {
            engine: Engine::Postgres,
            read: pool.clone(),
            writer: Writer::start(Engine::Postgres, pool.clone(), None, cache.clone()),
            write: pool,
            cache,
        })
    }

    /// The engine this store runs on.
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// Drops a Postgres schema and everything in it (tests clean up with it).
    pub async fn drop_postgres_schema(url: &str, schema: &str) -> Result<(), StoreError> {
        valid_schema(schema)?;
        let pool = AnyPoolOptions::new()
            .max_connections(1)
            .connect(url)
            .await
            .map_err(engine_err)?;
        sqlx::query(AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE"
        )))
        .execute(&pool)
        .await
        .map_err(engine_err)?;
        pool.close().await;
        Ok(())
    }

    async fn fetch_all(
        &self,
        q: sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments>,
    ) -> Result<Vec<AnyRow>, StoreError> {
        q.fetch_all(&self.read).await.map_err(engine_err)
    }

    async fn fetch_optional(
        &self,
        q: sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments>,
    ) -> Result<Option<AnyRow>, StoreError> {
        q.fetch_optional(&self.read).await.map_err(engine_err)
    }
}

pub(crate) async fn apply_one(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    w: Write,
) -> Result<(), sqlx::Error> {
    match w {
        Write::PutAccount(a) => {
            sqlx::query(
                "INSERT INTO accounts (id, name, email, email_lower, tier, status, is_management, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(a.id.to_string())
            .bind(a.name)
            .bind(a.email.to_lowercase())
            .bind(a.email.to_lowercase())
            .bind(a.tier.as_str())
            .bind(a.status)
            .bind(i64::from(a.is_management))
            .bind(ms(a.created_at))
            .execute(&mut **tx)
            .await?;
        }
        Write::PutCreateAccountRequest(r) => {
            sqlx::query(
                "INSERT INTO create_account_requests (id, account_name, state, account_id, failure_reason, requested_at, completed_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (id) DO UPDATE SET state = excluded.state, account_id = excluded.account_id, \
                 failure_reason = excluded.failure_reason, completed_at = excluded.completed_at",
            )
            .bind(r.id)
            .bind(r.account_name)
            .bind(r.state)
            .bind(r.account_id.map(|a| a.to_string()))
            .bind(r.failure_reason)
            .bind(ms(r.requested_at))
            .bind(r.completed_at.map(ms))
            .execute(&mut **tx)
            .await?;
        }
        Write::PutKeyIndex(k) => {
            sqlx::query("INSERT INTO key_index (access_key_id, account_id) VALUES ($1, $2)")
                .bind(k.access_key_id)
                .bind(k.account_id.to_string())
                .execute(&mut **tx)
                .await?;
        }
        Write::PutAccessKey(k) => {
            sqlx::query(
                "INSERT INTO access_keys (access_key_id, account_id, user_name, secret_access_key, status, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(k.access_key_id)
            .bind(k.account_id.to_string())
            .bind(k.user_name)
            .bind(k.secret_access_key)
            .bind(k.status)
            .bind(ms(k.created_at))
            .execute(&mut **tx)
            .await?;
        }
        Write::PutUser(u) => {
            sqlx::query(
                "INSERT INTO iam_users (account_id, name_lower, name, user_id, path, created_at, permissions_boundary, tags) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(u.account_id.to_string())
            .bind(u.name.to_lowercase())
            .bind(u.name)
            .bind(u.user_id)
            .bind(u.path)
            .bind(ms(u.created_at))
            .bind(u.permissions_boundary)
            .bind(tags_json(&u.tags))
            .execute(&mut **tx)
            .await?;
        }
        Write::SetUserTags {
            account,
            name,
            tags,
        } => {
            sqlx::query("UPDATE iam_users SET tags = $1 WHERE account_id = $2 AND name_lower = $3")
                .bind(tags_json(&tags))
                .bind(account.to_string())
                .bind(name.to_lowercase())
                .execute(&mut **tx)
                .await?;
        }
        Write::PutRole(r) => {
            sqlx::query(
                "INSERT INTO iam_roles (account_id, name_lower, name, role_id, path, assume_role_policy, \
                 max_session_duration, description, created_at, tags, permissions_boundary) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(r.account_id.to_string())
            .bind(r.name.to_lowercase())
            .bind(r.name)
            .bind(r.role_id)
            .bind(r.path)
            .bind(r.assume_role_policy)
            .bind(r.max_session_duration)
            .bind(r.description)
            .bind(ms(r.created_at))
            .bind(tags_json(&r.tags))
            .bind(r.permissions_boundary)
            .execute(&mut **tx)
            .await?;
        }
        Write::PutQueue(q) => {
            sqlx::query(
                "INSERT INTO sqs_queues (account_id, name, attributes, tags, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(q.account_id.to_string())
            .bind(q.name)
            .bind(tags_json(&q.attributes))
            .bind(tags_json(&q.tags))
            .bind(ms(q.created_at))
            .bind(ms(q.updated_at))
            .execute(&mut **tx)
            .await?;
        }
        Write::UpdateQueue(q) => {
            sqlx::query(
                "UPDATE sqs_queues SET attributes = $1, updated_at = $2 \
                 WHERE account_id = $3 AND name = $4",
            )
            .bind(tags_json(&q.attributes))
            .bind(ms(q.updated_at))
            .bind(q.account_id.to_string())
            .bind(q.name)
            .execute(&mut **tx)
            .await?;
        }
        Write::SetQueueTags {
            account,
            name,
            tags,
        } => {
            sqlx::query("UPDATE sqs_queues SET tags = $1 WHERE account_id = $2 AND name = $3")
                .bind(tags_json(&tags))
                .bind(account.to_string())
                .bind(name)
                .execute(&mut **tx)
                .await?;
        }
        Write::DeleteQueue { account, name } => {
            for sql in [
                "DELETE FROM sqs_queues WHERE account_id = $1 AND name = $2",
                "DELETE FROM sqs_messages WHERE account_id = $1 AND queue_name = $2",
                "DELETE FROM sqs_dedup WHERE account_id = $1 AND queue_name = $2",
            ] {
                sqlx::query(sql)
                    .bind(account.to_string())
                    .bind(name.clone())
                    .execute(&mut **tx)
                    .await?;
            }
        }
        Write::PutMessage(m) => {
            sqlx::query(crate::queue::INSERT_MESSAGE)
                .bind(m.account_id.to_string())
                .bind(m.queue_name)
                .bind(m.message_id)
                .bind(m.body)
                .bind(m.md5)
                .bind(m.meta)
                .bind(m.group_id)
                .bind(m.source_queue)
                .bind(ms(m.sent_at))
                .bind(ms(m.visible_at))
                .bind(ms(m.expires_at))
                .bind(m.receive_count)
                .bind(m.first_received_at.map(ms))
                .bind(m.receipt_handle)
                .execute(&mut **tx)
                .await?;
        }
        Write::DeleteMessage {
            account,
            queue,
            message_id,
            receipt_handle,
        } => {
            let q = match &receipt_handle {
                Some(_) => sqlx::query(crate::queue::DELETE_BY_HANDLE),
                None => sqlx::query(crate::queue::DELETE_BY_ID),
            };
            let q = q.bind(account.to_string()).bind(queue).bind(message_id);
            match receipt_handle {
                Some(h) => q.bind(h).execute(&mut **tx).await?,
                None => q.execute(&mut **tx).await?,
            };
        }
        Write::PurgeQueue { account, name } => {
            sqlx::query("DELETE FROM sqs_messages WHERE account_id = $1 AND queue_name = $2")
                .bind(account.to_string())
                .bind(name)
                .execute(&mut **tx)
                .await?;
        }
        Write::PutDedup { record, now } => {
            // An expired record of the same id gives way; a live one makes
            // the insert a unique violation, which the caller reads as
            // "duplicate".
            sqlx::query(crate::queue::EXPIRE_DEDUP)
                .bind(record.account_id.to_string())
                .bind(record.queue_name.clone())
                .bind(record.dedup_id.clone())
                .bind(ms(now))
                .execute(&mut **tx)
                .await?;
            sqlx::query(crate::queue::INSERT_DEDUP)
                .bind(record.account_id.to_string())
                .bind(record.queue_name)
                .bind(record.dedup_id)
                .bind(record.message_id)
                .bind(record.sequence_number)
                .bind(ms(record.expires_at))
                .execute(&mut **tx)
                .await?;
        }
        Write::ExpireMessages { now } => {
            for sql in [
                "DELETE FROM sqs_messages WHERE expires_at <= $1",
                "DELETE FROM sqs_dedup WHERE expires_at <= $1",
            ] {
                sqlx::query(sql).bind(ms(now)).execute(&mut **tx).await?;
            }
        }
        Write::PutBucketName(b) => {
            sqlx::query(
                "INSERT INTO s3_bucket_names (name, account_id, created_at) VALUES ($1, $2, $3)",
            )
            .bind(b.name)
            .bind(b.account_id.to_string())
            .bind(ms(b.created_at))
            .execute(&mut **tx)
            .await?;
        }
        Write::DeleteBucketName(name) => {
            sqlx::query("DELETE FROM s3_bucket_names WHERE name = $1")
                .bind(name)
                .execute(&mut **tx)
                .await?;
        }
        Write::PutBucket(b) => {
            sqlx::query(
                "INSERT INTO s3_buckets (account_id, name, region, policy, tags, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(b.account_id.to_string())
            .bind(b.name)
            .bind(b.region)
            .bind(b.policy)
            .bind(tags_json(&b.tags))
            .bind(ms(b.created_at))
            .execute(&mut **tx)
            .await?;
        }
        Write::UpdateBucket(b) => {
            sqlx::query(
                "UPDATE s3_buckets SET policy = $1, tags = $2 WHERE account_id = $3 AND name = $4",
            )
            .bind(b.policy)
            .bind(tags_json(&b.tags))
            .bind(b.account_id.to_string())
            .bind(b.name)
            .execute(&mut **tx)
            .await?;
        }
        Write::DeleteBucket { account, name } => {
            sqlx::query("DELETE FROM s3_buckets WHERE account_id = $1 AND name = $2")
                .bind(account.to_string())
                .bind(name)
                .execute(&mut **tx)
                .await?;
        }
        Write::PutObject(o) => {
            sqlx::query(
                "INSERT INTO s3_objects (account_id, bucket, key, blob_key, size, etag, meta, tags, \
                 last_modified) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                 ON CONFLICT (account_id, bucket, key) DO UPDATE SET blob_key = excluded.blob_key, \
                 size = excluded.size, etag = excluded.etag, meta = excluded.meta, \
                 tags = excluded.tags, last_modified = excluded.last_modified",
            )
            .bind(o.account_id.to_string())
            .bind(o.bucket)
            .bind(o.key)
            .bind(o.blob_key)
            .bind(o.size)
            .bind(o.etag)
            .bind(o.meta)
            .bind(tags_json(&o.tags))
            .bind(ms(o.last_modified))
            .execute(&mut **tx)
            .await?;
        }
        Write::DeleteObject {
            account,
            bucket,
            key,
        } => {
            sqlx::query(
                "DELETE FROM s3_objects WHERE account_id = $1 AND bucket = $2 AND key = $3",
            )
            .bind(account.to_string())
            .bind(bucket)
            .bind(key)
            .execute(&mut **tx)
            .await?;
        }
        Write::PutBlobSweep(b) => {
            sqlx::query(
                "INSERT INTO s3_blob_sweep (account_id, blob_key, not_before) VALUES ($1, $2, $3) \
                 ON CONFLICT (account_id, blob_key) DO UPDATE SET not_before = excluded.not_before",
            )
            .bind(b.account_id.to_string())
            .bind(b.blob_key)
            .bind(ms(b.not_before))
            .execute(&mut **tx)
            .await?;
        }
        Write::DeleteBlobSweep { account, blob_key } => {
            sqlx::query("DELETE FROM s3_blob_sweep WHERE account_id = $1 AND blob_key = $2")
                .bind(account.to_string())
                .bind(blob_key)
                .execute(&mut **tx)
                .await?;
        }
        Write::PutUpload(u) => {
            sqlx::query(
                "INSERT INTO s3_uploads (account_id, upload_id, bucket, key, meta, initiator, \
                 initiated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(u.account_id.to_string())
            .bind(u.upload_id)
            .bind(u.bucket)
            .bind(u.key)
            .bind(u.meta)
            .bind(u.initiator)
            .bind(ms(u.initiated_at))
            .execute(&mut **tx)
            .await?;
        }
        Write::PutPart(p) => {
            sqlx::query(
                "INSERT INTO s3_parts (account_id, upload_id, part_number, blob_key, size, etag, \
                 checksum, last_modified) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT (account_id, upload_id, part_number) DO UPDATE SET \
                 blob_key = excluded.blob_key, size = excluded.size, etag = excluded.etag, \
                 checksum = excluded.checksum, last_modified = excluded.last_modified",
            )
            .bind(p.account_id.to_string())
            .bind(p.upload_id)
            .bind(i64::from(p.part_number))
            .bind(p.blob_key)
            .bind(p.size)
            .bind(p.etag)
            .bind(p.checksum)
            .bind(ms(p.last_modified))
            .execute(&mut **tx)
            .await?;
        }
        Write::DeleteUpload { account, upload_id } => {
            sqlx::query("DELETE FROM s3_parts WHERE account_id = $1 AND upload_id = $2")
                .bind(account.to_string())
                .bind(upload_id.clone())
                .execute(&mut **tx)
                .await?;
            sqlx::query("DELETE FROM s3_uploads WHERE account_id = $1 AND upload_id = $2")
                .bind(account.to_string())
                .bind(upload_id)
                .execute(&mut **tx)
                .await?;
        }
        Write::PutAccessPointAlias(a) => {
            sqlx::query(
                "INSERT INTO s3_access_point_aliases (alias, account_id, name) VALUES ($1, $2, $3)",
            )
            .bind(a.alias)
            .bind(a.account_id.to_string())
            .bind(a.name)
            .execute(&mut **tx)
            .await?;
        }
        Write::DeleteAccessPointAlias(alias) => {
            sqlx::query("DELETE FROM s3_access_point_aliases WHERE alias = $1")
                .bind(alias)
                .execute(&mut **tx)
                .await?;
        }
        Write::PutAccessPoint(a) => {
            sqlx::query(
                "INSERT INTO s3_access_points (account_id, name, bucket, bucket_account_id, alias, \
                 network_origin, vpc_id, policy, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(a.account_id.to_string())
            .bind(a.name)
            .bind(a.bucket)
            .bind(a.bucket_account_id.to_string())
            .bind(a.alias)
            .bind(a.network_origin)
            .bind(a.vpc_id)
            .bind(a.policy)
            .bind(ms(a.created_at))
            .execute(&mut **tx)
            .await?;
        }
        Write::UpdateAccessPoint(a) => {
            sqlx::query(
                "UPDATE s3_access_points SET policy = $1 WHERE account_id = $2 AND name = $3",
            )
            .bind(a.policy)
            .bind(a.account_id.to_string())
            .bind(a.name)
            .execute(&mut **tx)
            .await?;
        }
        Write::DeleteAccessPoint { account, name } => {
            sqlx::query("DELETE FROM s3_access_points WHERE account_id = $1 AND name = $2")
                .bind(account.to_string())
                .bind(name)
                .execute(&mut **tx)
                .await?;
        }
        Write::PutGroup(g) => {
            sqlx::query(
                "INSERT INTO iam_groups (account_id, name_lower, name, group_id, path, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(g.account_id.to_string())
            .bind(g.name.to_lowercase())
            .bind(g.name)
            .bind(g.group_id)
            .bind(g.path)
            .bind(ms(g.created_at))
            .execute(&mut **tx)
            .await?;
        }
        Write::DeleteGroup { account, name } => {
            for sql in [
                "DELETE FROM iam_groups WHERE account_id = $1 AND name_lower = $2",
                "DELETE FROM iam_group_members WHERE account_id = $1 AND group_lower = $2",
            ] {
                sqlx::query(sql)
                    .bind(account.to_string())
                    .bind(name.to_lowercase())
                    .execute(&mut **tx)
                    .await?;
            }
        }
        Write::AddGroupMember {
            account,
            group,
            user,
        } => {
            sqlx::query(
                "INSERT INTO iam_group_members (account_id, group_lower, user_lower, user_name) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (account_id, group_lower, user_lower) DO NOTHING",
            )
            .bind(account.to_string())
            .bind(group.to_lowercase())
            .bind(user.to_lowercase())
            .bind(user)
            .execute(&mut **tx)
            .await?;
        }
        Write::RemoveGroupMember {
            account,
            group,
            user,
        } => {
            sqlx::query(
                "DELETE FROM iam_group_members WHERE account_id = $1 AND group_lower = $2 AND user_lower = $3",
            )
            .bind(account.to_string())
            .bind(group.to_lowercase())
            .bind(user.to_lowercase())
            .execute(&mut **tx)
            .await?;
        }
        Write::PutInlinePolicy(p) => {
            sqlx::query(
                "INSERT INTO iam_inline_policies (account_id, principal_kind, principal_lower, principal_name, policy_name, document) \
                 VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (account_id, principal_kind, principal_lower, policy_name) DO UPDATE SET document = excluded.document",
            )
            .bind(p.account_id.to_string())
            .bind(p.principal_kind.as_str())
            .bind(p.principal_name.to_lowercase())
            .bind(p.principal_name)
            .bind(p.policy_name)
            .bind(p.document)
            .execute(&mut **tx)
            .await?;
        }
        Write::UpdateRole(r) => {
            sqlx::query(
                "UPDATE iam_roles SET assume_role_policy = $1, max_session_duration = $2, description = $3, \
                 tags = $6 WHERE account_id = $4 AND name_lower = $5",
            )
            .bind(r.assume_role_policy)
            .bind(r.max_session_duration)
            .bind(r.description)
            .bind(r.account_id.to_string())
            .bind(r.name.to_lowercase())
            .bind(tags_json(&r.tags))
            .execute(&mut **tx)
            .await?;
        }
        Write::SetPermissionsBoundary {
            account,
            kind,
            name,
            policy_arn,
        } => {
            let table = match kind {
                PrincipalKind::User => "iam_users",
                PrincipalKind::Role => "iam_roles",
                // Groups have no boundary in IAM.
                PrincipalKind::Group => return Ok(()),
            };
            sqlx::query(AssertSqlSafe(format!(
                "UPDATE {table} SET permissions_boundary = $1 WHERE account_id = $2 AND name_lower = $3"
            )))
            .bind(policy_arn)
            .bind(account.to_string())
            .bind(name.to_lowercase())
            .execute(&mut **tx)
            .await?;
        }
        Write::DeleteRole { account, name } => {
            sqlx::query("DELETE FROM iam_roles WHERE account_id = $1 AND name_lower = $2")
                .bind(account.to_string())
                .bind(name.to_lowercase())
                .execute(&mut **tx)
                .await?;
        }
        Write::DeleteUser { account, name } => {
            sqlx::query("DELETE FROM iam_users WHERE account_id = $1 AND name_lower = $2")
                .bind(account.to_string())
                .bind(name.to_lowercase())
                .execute(&mut **tx)
                .await?;
        }
        Write::DeleteInlinePolicy {
            account,
            kind,
            principal_name,
            policy_name,
        } => {
            sqlx::query(
                "DELETE FROM iam_inline_policies WHERE account_id = $1 AND principal_kind = $2 \
                 AND principal_lower = $3 AND policy_name = $4",
            )
            .bind(account.to_string())
            .bind(kind.as_str())
            .bind(principal_name.to_lowercase())
            .bind(policy_name)
            .execute(&mut **tx)
            .await?;
        }
        Write::PutManagedPolicy(p) => {
            sqlx::query(
                "INSERT INTO iam_managed_policies (account_id, name_lower, name, policy_id, path, description, \
                 default_version, next_version, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(p.account_id.to_string())
            .bind(p.name.to_lowercase())
            .bind(p.name)
            .bind(p.policy_id)
            .bind(p.path)
            .bind(p.description)
            .bind(p.default_version)
            .bind(p.next_version)
            .bind(ms(p.created_at))
            .bind(ms(p.updated_at))
            .execute(&mut **tx)
            .await?;
        }
        Write::UpdateManagedPolicy(p) => {
            sqlx::query(
                "UPDATE iam_managed_policies SET default_version = $1, next_version = $2, updated_at = $3 \
                 WHERE account_id = $4 AND name_lower = $5",
            )
            .bind(p.default_version)
            .bind(p.next_version)
            .bind(ms(p.updated_at))
            .bind(p.account_id.to_string())
            .bind(p.name.to_lowercase())
            .execute(&mut **tx)
            .await?;
        }
        Write::DeleteManagedPolicy { account, name } => {
            for table in ["iam_managed_policies", "iam_policy_versions"] {
                let col = if table == "iam_managed_policies" {
                    "name_lower"
                } else {
                    "policy_lower"
                };
                sqlx::query(AssertSqlSafe(format!(
                    "DELETE FROM {table} WHERE account_id = $1 AND {col} = $2"
                )))
                .bind(account.to_string())
                .bind(name.to_lowercase())
                .execute(&mut **tx)
                .await?;
            }
        }
        Write::PutPolicyVersion(v) => {
            sqlx::query(
                "INSERT INTO iam_policy_versions (account_id, policy_lower, policy_name, version, document, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(v.account_id.to_string())
            .bind(v.policy_name.to_lowercase())
            .bind(v.policy_name)
            .bind(v.version)
            .bind(v.document)
            .bind(ms(v.created_at))
            .execute(&mut **tx)
            .await?;
        }
        Write::DeletePolicyVersion {
            account,
            policy_name,
            version,
        } => {
            sqlx::query(
                "DELETE FROM iam_policy_versions WHERE account_id = $1 AND policy_lower = $2 AND version = $3",
            )
            .bind(account.to_string())
            .bind(policy_name.to_lowercase())
            .bind(version)
            .execute(&mut **tx)
            .await?;
        }
        Write::AttachPolicy(a) => {
            sqlx::query(
                "INSERT INTO iam_policy_attachments (account_id, principal_kind, principal_lower, principal_name, policy_arn) \
                 VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (account_id, principal_kind, principal_lower, policy_arn) DO NOTHING",
            )
            .bind(a.account_id.to_string())
            .bind(a.principal_kind.as_str())
            .bind(a.principal_name.to_lowercase())
            .bind(a.principal_name)
            .bind(a.policy_arn)
            .execute(&mut **tx)
            .await?;
        }
        Write::DetachPolicy(a) => {
            sqlx::query(
                "DELETE FROM iam_policy_attachments WHERE account_id = $1 AND principal_kind = $2 \
                 AND principal_lower = $3 AND policy_arn = $4",
            )
            .bind(a.account_id.to_string())
            .bind(a.principal_kind.as_str())
            .bind(a.principal_name.to_lowercase())
            .bind(a.policy_arn)
            .execute(&mut **tx)
            .await?;
        }
        Write::DeleteAccessKey {
            account,
            access_key_id,
        } => {
            sqlx::query("DELETE FROM access_keys WHERE account_id = $1 AND access_key_id = $2")
                .bind(account.to_string())
                .bind(access_key_id)
                .execute(&mut **tx)
                .await?;
        }
        Write::SetAccessKeyStatus {
            account,
            access_key_id,
            status,
        } => {
            sqlx::query(
                "UPDATE access_keys SET status = $1 WHERE account_id = $2 AND access_key_id = $3",
            )
            .bind(status)
            .bind(account.to_string())
            .bind(access_key_id)
            .execute(&mut **tx)
            .await?;
        }
        Write::DeleteKeyIndex(id) => {
            sqlx::query("DELETE FROM key_index WHERE access_key_id = $1")
                .bind(id)
                .execute(&mut **tx)
                .await?;
        }
        Write::InitSetting { key, value } => {
            sqlx::query(
                "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
            )
            .bind(key)
            .bind(value)
            .execute(&mut **tx)
            .await?;
        }
        Write::AppendAudit(events) => {
            for e in events {
                sqlx::query(
                    "INSERT INTO audit_events (account_id, event_id, event_time, event_name, event_source, username, \
                     access_key_id, read_only, body) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                     ON CONFLICT (account_id, event_id) DO NOTHING",
                )
                .bind(e.account_id.to_string())
                .bind(e.event_id)
                .bind(ms(e.event_time))
                .bind(e.event_name)
                .bind(e.event_source)
                .bind(e.username)
                .bind(e.access_key_id)
                .bind(i64::from(e.read_only))
                .bind(e.body)
                .execute(&mut **tx)
                .await?;
            }
        }
        Write::Enqueue(n) => {
            sqlx::query(
                "INSERT INTO outbox (account_id, kind, payload, attempts, available_at, dead) VALUES ($1, $2, $3, 0, $4, 0)",
            )
            .bind(n.account_id.to_string())
            .bind(n.kind)
            .bind(n.payload)
            .bind(ms(n.available_at))
            .execute(&mut **tx)
            .await?;
        }
        Write::OutboxDone(id) => {
            sqlx::query("DELETE FROM outbox WHERE id = $1")
                .bind(id)
                .execute(&mut **tx)
                .await?;
        }
        Write::OutboxRetry { id, at, error } => {
            sqlx::query("UPDATE outbox SET available_at = $1, last_error = $2 WHERE id = $3")
                .bind(ms(at))
                .bind(error)
                .bind(id)
                .execute(&mut **tx)
                .await?;
        }
        Write::OutboxDead { id, error } => {
            sqlx::query("UPDATE outbox SET dead = 1, last_error = $1 WHERE id = $2")
                .bind(error)
                .bind(id)
                .execute(&mut **tx)
                .await?;
        }
    }
    Ok(())
}

fn tags_json(tags: &[(String, String)]) -> String {
    serde_json::to_string(tags).unwrap_or_else(|_| "[]".into())
}

const ACCOUNT_COLS: &str = "id, name, email, tier, status, is_management, created_at";
const KEY_COLS: &str =
    "access_key_id, account_id, user_name, secret_access_key, status, created_at";
const OUTBOX_COLS: &str = "id, account_id, kind, payload, attempts, available_at, last_error";
const MANAGED_COLS: &str = "account_id, name, policy_id, path, description, default_version, next_version, created_at, updated_at";
const ATTACH_COLS: &str = "account_id, principal_kind, principal_name, policy_arn";
const OBJECT_COLS: &str =
    "account_id, bucket, key, blob_key, size, etag, meta, tags, last_modified";
const UPLOAD_COLS: &str = "account_id, upload_id, bucket, key, meta, initiator, initiated_at";
const PART_COLS: &str =
    "account_id, upload_id, part_number, blob_key, size, etag, checksum, last_modified";
const AP_COLS: &str = "account_id, name, bucket, bucket_account_id, alias, network_origin, vpc_id, policy, created_at";
const AUDIT_COLS: &str = "account_id, event_id, event_time, event_name, event_source, username, access_key_id, read_only, body";

#[async_trait]
impl Store for SqlStore {
    async fn apply(&self, batch: WriteBatch) -> Result<(), StoreError> {
        if batch.0.is_empty() {
            return Ok(());
        }
        self.writer.submit(Op::Apply(batch)).await.map(|_| ())
    }

    async fn get_account(&self, id: AccountId) -> Result<Option<Account>, StoreError> {
        let sql = format!("SELECT {ACCOUNT_COLS} FROM accounts WHERE id = $1");
        self.fetch_optional(sqlx::query(AssertSqlSafe(sql)).bind(id.to_string()))
            .await?
            .map(|r| account(&r))
            .transpose()
    }

    async fn get_account_by_name(&self, name: &str) -> Result<Option<Account>, StoreError> {
        let sql = format!("SELECT {ACCOUNT_COLS} FROM accounts WHERE name = $1");
        self.fetch_optional(sqlx::query(AssertSqlSafe(sql)).bind(name.to_string()))
            .await?
            .map(|r| account(&r))
            .transpose()
    }

    async fn get_account_by_email(&self, email: &str) -> Result<Option<Account>, StoreError> {
        let sql = format!("SELECT {ACCOUNT_COLS} FROM accounts WHERE email_lower = $1");
        self.fetch_optional(sqlx::query(AssertSqlSafe(sql)).bind(email.to_lowercase()))
            .await?
            .map(|r| account(&r))
            .transpose()
    }

    async fn list_accounts(&self) -> Result<Vec<Account>, StoreError> {
        let sql = format!("SELECT {ACCOUNT_COLS} FROM accounts ORDER BY created_at, id");
        self.fetch_all(sqlx::query(AssertSqlSafe(sql)))
            .await?
            .iter()
            .map(account)
            .collect()
    }

    async fn get_create_account_request(
        &self,
        id: &str,
    ) -> Result<Option<CreateAccountRequest>, StoreError> {
        self.fetch_optional(
            sqlx::query(
                "SELECT id, account_name, state, account_id, failure_reason, requested_at, completed_at \
                 FROM create_account_requests WHERE id = $1",
            )
            .bind(id.to_string()),
        )
        .await?
        .map(|r| create_request(&r))
        .transpose()
    }

    async fn get_key_index(&self, access_key_id: &str) -> Result<Option<KeyIndex>, StoreError> {
        if let Some(hit) = self.cache.key_index(access_key_id) {
            return Ok(Some(hit));
        }
        let generation = self.cache.generation();
        let found = self
            .fetch_optional(
                sqlx::query(
                    "SELECT access_key_id, account_id FROM key_index WHERE access_key_id = $1",
                )
                .bind(access_key_id.to_string()),
            )
            .await?
            .map(|r| key_index(&r))
            .transpose()?;
        if let Some(k) = &found {
            self.cache.put_key_index(generation, k);
        }
        Ok(found)
    }

    async fn get_access_key(
        &self,
        account: AccountId,
        access_key_id: &str,
    ) -> Result<Option<AccessKey>, StoreError> {
        if let Some(hit) = self.cache.access_key(account, access_key_id) {
            return Ok(Some(hit));
        }
        let generation = self.cache.generation();
        let sql = format!(
            "SELECT {KEY_COLS} FROM access_keys WHERE account_id = $1 AND access_key_id = $2"
        );
        let found = self
            .fetch_optional(
                sqlx::query(AssertSqlSafe(sql))
                    .bind(account.to_string())
                    .bind(access_key_id.to_string()),
            )
            .await?
            .map(|r| access_key(&r))
            .transpose()?;
        if let Some(k) = &found {
            self.cache.put_access_key(generation, k);
        }
        Ok(found)
    }

    async fn list_access_keys(
        &self,
        account: AccountId,
        user_name: Option<&str>,
    ) -> Result<Vec<AccessKey>, StoreError> {
        let rows = match user_name {
            Some(u) => {
                let sql = format!(
                    "SELECT {KEY_COLS} FROM access_keys WHERE account_id = $1 AND user_name = $2 \
                     ORDER BY created_at, access_key_id"
                );
                self.fetch_all(
                    sqlx::query(AssertSqlSafe(sql))
                        .bind(account.to_string())
                        .bind(u.to_string()),
                )
                .await?
            }
            None => {
                let sql = format!(
                    "SELECT {KEY_COLS} FROM access_keys WHERE account_id = $1 AND user_name IS NULL \
                     ORDER BY created_at, access_key_id"
                );
                self.fetch_all(sqlx::query(AssertSqlSafe(sql)).bind(account.to_string()))
                    .await?
            }
        };
        rows.iter().map(access_key).collect()
    }

    async fn get_user(
        &self,
        account: AccountId,
        name: &str,
    ) -> Result<Option<IamUser>, StoreError> {
        self.fetch_optional(
            sqlx::query(
                "SELECT account_id, name, user_id, path, created_at, permissions_boundary, tags FROM iam_users \
                 WHERE account_id = $1 AND name_lower = $2",
            )
            .bind(account.to_string())
            .bind(name.to_lowercase()),
        )
        .await?
        .map(|r| user(&r))
        .transpose()
    }

    async fn get_role(
        &self,
        account: AccountId,
        name: &str,
    ) -> Result<Option<IamRole>, StoreError> {
        self.fetch_optional(
            sqlx::query(
                "SELECT account_id, name, role_id, path, assume_role_policy, max_session_duration, description, created_at, tags, \
                 permissions_boundary \
                 FROM iam_roles WHERE account_id = $1 AND name_lower = $2",
            )
            .bind(account.to_string())
            .bind(name.to_lowercase()),
        )
        .await?
        .map(|r| role(&r))
        .transpose()
    }

    async fn list_users(&self, account: AccountId) -> Result<Vec<IamUser>, StoreError> {
        self.fetch_all(
            sqlx::query(
                "SELECT account_id, name, user_id, path, created_at, permissions_boundary, tags FROM iam_users \
                 WHERE account_id = $1 ORDER BY name_lower",
            )
            .bind(account.to_string()),
        )
        .await?
        .iter()
        .map(user)
        .collect()
    }

    async fn list_roles(&self, account: AccountId) -> Result<Vec<IamRole>, StoreError> {
        self.fetch_all(
            sqlx::query(
                "SELECT account_id, name, role_id, path, assume_role_policy, max_session_duration, description, created_at, tags, \
                 permissions_boundary \
                 FROM iam_roles WHERE account_id = $1 ORDER BY name_lower",
            )
            .bind(account.to_string()),
        )
        .await?
        .iter()
        .map(role)
        .collect()
    }

    async fn get_group(
        &self,
        account: AccountId,
        name: &str,
    ) -> Result<Option<IamGroup>, StoreError> {
        self.fetch_optional(
            sqlx::query(
                "SELECT account_id, name, group_id, path, created_at FROM iam_groups \
                 WHERE account_id = $1 AND name_lower = $2",
            )
            .bind(account.to_string())
            .bind(name.to_lowercase()),
        )
        .await?
        .map(|r| group(&r))
        .transpose()
    }

    async fn list_groups(&self, account: AccountId) -> Result<Vec<IamGroup>, StoreError> {
        self.fetch_all(
            sqlx::query(
                "SELECT account_id, name, group_id, path, created_at FROM iam_groups \
                 WHERE account_id = $1 ORDER BY name_lower",
            )
            .bind(account.to_string()),
        )
        .await?
        .iter()
        .map(group)
        .collect()
    }

    async fn list_group_members(
        &self,
        account: AccountId,
        group: &str,
    ) -> Result<Vec<String>, StoreError> {
        use sqlx::Row;
        self.fetch_all(
            sqlx::query(
                "SELECT user_name FROM iam_group_members WHERE account_id = $1 AND group_lower = $2 \
                 ORDER BY user_lower",
            )
            .bind(account.to_string())
            .bind(group.to_lowercase()),
        )
        .await?
        .iter()
        .map(|r| r.try_get::<String, _>("user_name").map_err(engine_err))
        .collect()
    }

    async fn list_groups_for_user(
        &self,
        account: AccountId,
        user: &str,
    ) -> Result<Vec<IamGroup>, StoreError> {
        self.fetch_all(
            sqlx::query(
                "SELECT g.account_id, g.name, g.group_id, g.path, g.created_at FROM iam_groups g \
                 JOIN iam_group_members m ON m.account_id = g.account_id AND m.group_lower = g.name_lower \
                 WHERE g.account_id = $1 AND m.user_lower = $2 ORDER BY g.name_lower",
            )
            .bind(account.to_string())
            .bind(user.to_lowercase()),
        )
        .await?
        .iter()
        .map(group)
        .collect()
    }

    async fn get_setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        use sqlx::Row;
        self.fetch_optional(
            sqlx::query("SELECT value FROM settings WHERE key = $1").bind(key.to_string()),
        )
        .await?
        .map(|r| r.try_get::<String, _>("value").map_err(engine_err))
        .transpose()
    }

    async fn list_inline_policies(
        &self,
        account: AccountId,
        kind: PrincipalKind,
        principal_name: &str,
    ) -> Result<Vec<InlinePolicy>, StoreError> {
        self.fetch_all(
            sqlx::query(
                "SELECT account_id, principal_kind, principal_name, policy_name, document FROM iam_inline_policies \
                 WHERE account_id = $1 AND principal_kind = $2 AND principal_lower = $3 ORDER BY policy_name",
            )
            .bind(account.to_string())
            .bind(kind.as_str())
            .bind(principal_name.to_lowercase()),
        )
        .await?
        .iter()
        .map(inline_policy)
        .collect()
    }

    async fn get_managed_policy(
        &self,
        account: AccountId,
        name: &str,
    ) -> Result<Option<ManagedPolicy>, StoreError> {
        let sql = format!(
            "SELECT {MANAGED_COLS} FROM iam_managed_policies WHERE account_id = $1 AND name_lower = $2"
        );
        self.fetch_optional(
            sqlx::query(AssertSqlSafe(sql))
                .bind(account.to_string())
                .bind(name.to_lowercase()),
        )
        .await?
        .map(|r| managed_policy(&r))
        .transpose()
    }

    async fn list_managed_policies(
        &self,
        account: AccountId,
    ) -> Result<Vec<ManagedPolicy>, StoreError> {
        let sql = format!(
            "SELECT {MANAGED_COLS} FROM iam_managed_policies WHERE account_id = $1 ORDER BY name_lower"
        );
        self.fetch_all(sqlx::query(AssertSqlSafe(sql)).bind(account.to_string()))
            .await?
            .iter()
            .map(managed_policy)
            .collect()
    }

    async fn list_policy_versions(
        &self,
        account: AccountId,
        policy_name: &str,
    ) -> Result<Vec<ManagedPolicyVersion>, StoreError> {
        self.fetch_all(
            sqlx::query(
                "SELECT account_id, policy_name, version, document, created_at FROM iam_policy_versions \
                 WHERE account_id = $1 AND policy_lower = $2 ORDER BY version",
            )
            .bind(account.to_string())
            .bind(policy_name.to_lowercase()),
        )
        .await?
        .iter()
        .map(policy_version)
        .collect()
    }

    async fn list_attached_policies(
        &self,
        account: AccountId,
        kind: PrincipalKind,
        principal_name: &str,
    ) -> Result<Vec<PolicyAttachment>, StoreError> {
        let sql = format!(
            "SELECT {ATTACH_COLS} FROM iam_policy_attachments WHERE account_id = $1 AND principal_kind = $2 \
             AND principal_lower = $3 ORDER BY policy_arn"
        );
        self.fetch_all(
            sqlx::query(AssertSqlSafe(sql))
                .bind(account.to_string())
                .bind(kind.as_str())
                .bind(principal_name.to_lowercase()),
        )
        .await?
        .iter()
        .map(attachment)
        .collect::<Result<Vec<_>, _>>()
        .map(|mut v| {
            // Byte order, as the memory engine: a Postgres collation may
            // order punctuation differently.
            v.sort_by(|a, b| a.policy_arn.cmp(&b.policy_arn));
            v
        })
    }

    async fn list_policy_attachments(
        &self,
        account: AccountId,
        policy_arn: &str,
    ) -> Result<Vec<PolicyAttachment>, StoreError> {
        let sql = format!(
            "SELECT {ATTACH_COLS} FROM iam_policy_attachments WHERE account_id = $1 AND policy_arn = $2 \
             ORDER BY principal_kind, principal_lower"
        );
        self.fetch_all(
            sqlx::query(AssertSqlSafe(sql))
                .bind(account.to_string())
                .bind(policy_arn.to_string()),
        )
        .await?
        .iter()
        .map(attachment)
        .collect()
    }

    async fn query_audit(
        &self,
        account: AccountId,
        q: &AuditQuery,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        enum Arg {
            S(String),
            I(i64),
        }
        let mut clauses = vec!["account_id = $1".to_string()];
        let mut args = vec![Arg::S(account.to_string())];
        let mut add = |clause: &str, arg: Arg, args: &mut Vec<Arg>| {
            args.push(arg);
            clauses.push(clause.replace('?', &format!("${}", args.len())));
        };
        if let Some(s) = q.start {
            add("event_time >= ?", Arg::I(ms(s)), &mut args);
        }
        if let Some(e) = q.end {
            add("event_time <= ?", Arg::I(ms(e)), &mut args);
        }
        for (col, v) in [
            ("event_name", &q.event_name),
            ("event_source", &q.event_source),
            ("username", &q.username),
            ("access_key_id", &q.access_key_id),
            ("event_id", &q.event_id),
        ] {
            if let Some(v) = v {
                add(&format!("{col} = ?"), Arg::S(v.clone()), &mut args);
            }
        }
        if let Some(r) = q.read_only {
            add("read_only = ?", Arg::I(i64::from(r)), &mut args);
        }
        if let Some((t, id)) = &q.before {
            // Row-value comparison spelled out: works on both engines.
            args.push(Arg::I(ms(*t)));
            let n = args.len();
            args.push(Arg::S(id.clone()));
            clauses.push(format!(
                "(event_time < ${n} OR (event_time = ${n} AND event_id < ${}))",
                n + 1
            ));
        }
        let limit = i64::try_from(q.limit).unwrap_or(i64::MAX);
        args.push(Arg::I(limit));
        let sql = format!(
            "SELECT {AUDIT_COLS} FROM audit_events WHERE {} ORDER BY event_time DESC, event_id DESC LIMIT ${}",
            clauses.join(" AND "),
            args.len()
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for a in args {
            query = match a {
                Arg::S(s) => query.bind(s),
                Arg::I(i) => query.bind(i),
            };
        }
        self.fetch_all(query)
            .await?
            .iter()
            .map(audit_event)
            .collect()
    }

    async fn claim_outbox(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: usize,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        // Postgres: SKIP LOCKED lets several Ferry processes share one
        // outbox without handing an item to two of them.
        let lock = match self.engine {
            Engine::Postgres => " FOR UPDATE SKIP LOCKED",
            Engine::Sqlite => "",
        };
        let sql = format!(
            "UPDATE outbox SET attempts = attempts + 1, available_at = $1 WHERE id IN \
             (SELECT id FROM outbox WHERE dead = 0 AND available_at <= $2 ORDER BY id LIMIT $3{lock}) \
             RETURNING {OUTBOX_COLS}"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(ms(lease_until))
            .bind(ms(now))
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&self.write)
            .await
            .map_err(engine_err)?;
        let mut items = rows
            .iter()
            .map(outbox_item)
            .collect::<Result<Vec<_>, _>>()?;
        items.sort_by_key(|i| i.id);
        Ok(items)
    }

    async fn dead_outbox(&self) -> Result<Vec<OutboxItem>, StoreError> {
        let sql = format!("SELECT {OUTBOX_COLS} FROM outbox WHERE dead = 1 ORDER BY id");
        self.fetch_all(sqlx::query(AssertSqlSafe(sql)))
            .await?
            .iter()
            .map(outbox_item)
            .collect()
    }

    async fn get_queue(&self, account: AccountId, name: &str) -> Result<Option<Queue>, StoreError> {
        if let Some(hit) = self.cache.queue(account, name) {
            return Ok(Some(hit));
        }
        let generation = self.cache.generation();
        let found = self
            .fetch_optional(
                sqlx::query(
                    "SELECT account_id, name, attributes, tags, created_at, updated_at FROM sqs_queues \
                     WHERE account_id = $1 AND name = $2",
                )
                .bind(account.to_string())
                .bind(name.to_string()),
            )
            .await?
            .map(|r| queue(&r))
            .transpose()?;
        if let Some(q) = &found {
            self.cache.put_queue(generation, q);
        }
        Ok(found)
    }

    async fn list_queues(&self, account: AccountId) -> Result<Vec<Queue>, StoreError> {
        self.fetch_all(
            sqlx::query(
                "SELECT account_id, name, attributes, tags, created_at, updated_at FROM sqs_queues \
                 WHERE account_id = $1 ORDER BY name",
            )
            .bind(account.to_string()),
        )
        .await?
        .iter()
        .map(queue)
        .collect()
    }

    async fn list_messages(
        &self,
        account: AccountId,
        queue: &str,
    ) -> Result<Vec<QueueMessage>, StoreError> {
        self.fetch_all(
            sqlx::query(AssertSqlSafe(format!(
                "SELECT {MESSAGE_COLS} FROM sqs_messages \
                 WHERE account_id = $1 AND queue_name = $2 ORDER BY seq"
            )))
            .bind(account.to_string())
            .bind(queue.to_string()),
        )
        .await?
        .iter()
        .map(queue_message)
        .collect()
    }

    async fn get_bucket_name(&self, name: &str) -> Result<Option<BucketName>, StoreError> {
        self.fetch_optional(
            sqlx::query("SELECT name, account_id, created_at FROM s3_bucket_names WHERE name = $1")
                .bind(name.to_string()),
        )
        .await?
        .map(|r| bucket_name(&r))
        .transpose()
    }

    async fn get_bucket(
        &self,
        account: AccountId,
        name: &str,
    ) -> Result<Option<Bucket>, StoreError> {
        self.fetch_optional(
            sqlx::query(
                "SELECT account_id, name, region, policy, tags, created_at FROM s3_buckets \
                 WHERE account_id = $1 AND name = $2",
            )
            .bind(account.to_string())
            .bind(name.to_string()),
        )
        .await?
        .map(|r| bucket(&r))
        .transpose()
    }

    async fn list_buckets(&self, account: AccountId) -> Result<Vec<Bucket>, StoreError> {
        self.fetch_all(
            sqlx::query(
                "SELECT account_id, name, region, policy, tags, created_at FROM s3_buckets \
                 WHERE account_id = $1 ORDER BY name",
            )
            .bind(account.to_string()),
        )
        .await?
        .iter()
        .map(bucket)
        .collect()
    }

    async fn get_object(
        &self,
        account: AccountId,
        bucket: &str,
        key: &str,
    ) -> Result<Option<S3Object>, StoreError> {
        self.fetch_optional(
            sqlx::query(AssertSqlSafe(format!(
                "SELECT {OBJECT_COLS} FROM s3_objects WHERE account_id = $1 AND bucket = $2 AND key = $3"
            )))
            .bind(account.to_string())
            .bind(bucket.to_string())
            .bind(key.to_string()),
        )
        .await?
        .map(|r| s3_object(&r))
        .transpose()
    }

    async fn list_objects(
        &self,
        account: AccountId,
        bucket: &str,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<S3Object>, StoreError> {
        // Keys sort byte-wise (COLLATE "C" on Postgres); every key with the
        // prefix is >= the prefix, so the scan starts there and stops at the
        // first key without it.
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let q = match after {
            Some(a) => sqlx::query(AssertSqlSafe(format!(
                "SELECT {OBJECT_COLS} FROM s3_objects WHERE account_id = $1 AND bucket = $2 \
                 AND key >= $3 AND key > $4 ORDER BY key LIMIT $5"
            )))
            .bind(account.to_string())
            .bind(bucket.to_string())
            .bind(prefix.to_string())
            .bind(a.to_string())
            .bind(limit),
            None => sqlx::query(AssertSqlSafe(format!(
                "SELECT {OBJECT_COLS} FROM s3_objects WHERE account_id = $1 AND bucket = $2 \
                 AND key >= $3 ORDER BY key LIMIT $4"
            )))
            .bind(account.to_string())
            .bind(bucket.to_string())
            .bind(prefix.to_string())
            .bind(limit),
        };
        let mut out = Vec::new();
        for r in self.fetch_all(q).await? {
            let o = s3_object(&r)?;
            if !o.key.starts_with(prefix) {
                break;
            }
            out.push(o);
        }
        Ok(out)
    }

    async fn get_upload(
        &self,
        account: AccountId,
        upload_id: &str,
    ) -> Result<Option<S3Upload>, StoreError> {
        self.fetch_optional(
            sqlx::query(AssertSqlSafe(format!(
                "SELECT {UPLOAD_COLS} FROM s3_uploads WHERE account_id = $1 AND upload_id = $2"
            )))
            .bind(account.to_string())
            .bind(upload_id.to_string()),
        )
        .await?
        .map(|r| s3_upload(&r))
        .transpose()
    }

    async fn list_uploads(
        &self,
        account: AccountId,
        bucket: &str,
        prefix: &str,
        after: Option<(&str, &str)>,
        limit: usize,
    ) -> Result<Vec<S3Upload>, StoreError> {
        // As list_objects: keys sort byte-wise, the scan starts at the
        // prefix and stops at the first key without it.
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let q = match after {
            Some((k, id)) => sqlx::query(AssertSqlSafe(format!(
                "SELECT {UPLOAD_COLS} FROM s3_uploads WHERE account_id = $1 AND bucket = $2 \
                 AND key >= $3 AND (key > $4 OR (key = $4 AND upload_id > $5)) \
                 ORDER BY key, upload_id LIMIT $6"
            )))
            .bind(account.to_string())
            .bind(bucket.to_string())
            .bind(prefix.to_string())
            .bind(k.to_string())
            .bind(id.to_string())
            .bind(limit),
            None => sqlx::query(AssertSqlSafe(format!(
                "SELECT {UPLOAD_COLS} FROM s3_uploads WHERE account_id = $1 AND bucket = $2 \
                 AND key >= $3 ORDER BY key, upload_id LIMIT $4"
            )))
            .bind(account.to_string())
            .bind(bucket.to_string())
            .bind(prefix.to_string())
            .bind(limit),
        };
        let mut out = Vec::new();
        for r in self.fetch_all(q).await? {
            let u = s3_upload(&r)?;
            if !u.key.starts_with(prefix) {
                break;
            }
            out.push(u);
        }
        Ok(out)
    }

    async fn list_parts(
        &self,
        account: AccountId,
        upload_id: &str,
    ) -> Result<Vec<S3Part>, StoreError> {
        self.fetch_all(
            sqlx::query(AssertSqlSafe(format!(
                "SELECT {PART_COLS} FROM s3_parts WHERE account_id = $1 AND upload_id = $2 \
                 ORDER BY part_number"
            )))
            .bind(account.to_string())
            .bind(upload_id.to_string()),
        )
        .await?
        .iter()
        .map(s3_part)
        .collect()
    }

    async fn get_access_point_alias(
        &self,
        alias: &str,
    ) -> Result<Option<AccessPointAlias>, StoreError> {
        self.fetch_optional(
            sqlx::query(
                "SELECT alias, account_id, name FROM s3_access_point_aliases WHERE alias = $1",
            )
            .bind(alias.to_string()),
        )
        .await?
        .map(|r| access_point_alias(&r))
        .transpose()
    }

    async fn get_access_point(
        &self,
        account: AccountId,
        name: &str,
    ) -> Result<Option<AccessPoint>, StoreError> {
        self.fetch_optional(
            sqlx::query(AssertSqlSafe(format!(
                "SELECT {AP_COLS} FROM s3_access_points WHERE account_id = $1 AND name = $2"
            )))
            .bind(account.to_string())
            .bind(name.to_string()),
        )
        .await?
        .map(|r| access_point(&r))
        .transpose()
    }

    async fn list_access_points(&self, account: AccountId) -> Result<Vec<AccessPoint>, StoreError> {
        self.fetch_all(
            sqlx::query(AssertSqlSafe(format!(
                "SELECT {AP_COLS} FROM s3_access_points WHERE account_id = $1 ORDER BY name"
            )))
            .bind(account.to_string()),
        )
        .await?
        .iter()
        .map(access_point)
        .collect()
    }

    async fn due_blob_sweeps(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<BlobSweep>, StoreError> {
        self.fetch_all(
            sqlx::query(
                "SELECT account_id, blob_key, not_before FROM s3_blob_sweep \
                 WHERE not_before <= $1 ORDER BY not_before LIMIT $2",
            )
            .bind(ms(now))
            .bind(i64::try_from(limit).unwrap_or(i64::MAX)),
        )
        .await?
        .iter()
        .map(blob_sweep)
        .collect()
    }

    async fn blob_referenced(
        &self,
        account: AccountId,
        blob_key: &str,
    ) -> Result<bool, StoreError> {
        Ok(self
            .fetch_optional(
                // A part's blob counts while its upload is open (an upload
                // may stay open for days); a part written as its upload was
                // completed or aborted holds nothing.
                sqlx::query(
                    "SELECT 1 AS one FROM s3_objects WHERE account_id = $1 AND blob_key = $2 \
                     UNION ALL SELECT 1 AS one FROM s3_parts p JOIN s3_uploads u \
                     ON u.account_id = p.account_id AND u.upload_id = p.upload_id \
                     WHERE p.account_id = $1 AND p.blob_key = $2 \
                     LIMIT 1",
                )
                .bind(account.to_string())
                .bind(blob_key.to_string()),
            )
            .await?
            .is_some())
    }

    async fn receive_messages(
        &self,
        request: &ReceiveRequest,
    ) -> Result<Vec<QueueMessage>, StoreError> {
        match self.writer.submit(Op::Receive(request.clone())).await? {
            Done::Received(v) => Ok(v),
            _ => Err(StoreError::Engine("writer answered another job".into())),
        }
    }

    async fn change_visibility(
        &self,
        account: AccountId,
        queue: &str,
        handle: &str,
        now: Timestamp,
        visible_until: Timestamp,
    ) -> Result<VisibilityOutcome, StoreError> {
        let op = Op::ChangeVisibility {
            account,
            queue: queue.to_string(),
            handle: handle.to_string(),
            now,
            visible_until,
        };
        match self.writer.submit(op).await? {
            Done::Visibility(v) => Ok(v),
            _ => Err(StoreError::Engine("writer answered another job".into())),
        }
    }

    async fn queue_counts(
        &self,
        account: AccountId,
        queue: &str,
        now: Timestamp,
    ) -> Result<QueueCounts, StoreError> {
        let row = self
            .fetch_optional(
                sqlx::query(
                    "SELECT \
                     COALESCE(SUM(CASE WHEN visible_at <= $3 THEN 1 ELSE 0 END), 0) AS visible, \
                     COALESCE(SUM(CASE WHEN visible_at > $3 AND receive_count > 0 THEN 1 ELSE 0 END), 0) AS in_flight, \
                     COALESCE(SUM(CASE WHEN visible_at > $3 AND receive_count = 0 THEN 1 ELSE 0 END), 0) AS delayed \
                     FROM sqs_messages WHERE account_id = $1 AND queue_name = $2 AND expires_at > $3",
                )
                .bind(account.to_string())
                .bind(queue.to_string())
                .bind(ms(now)),
            )
            .await?;
        let get = |col: &str| -> Result<u64, StoreError> {
            match &row {
                Some(r) => {
                    Ok(u64::try_from(r.try_get::<i64, _>(col).map_err(engine_err)?).unwrap_or(0))
                }
                None => Ok(0),
            }
        };
        Ok(QueueCounts {
            visible: get("visible")?,
            in_flight: get("in_flight")?,
            delayed: get("delayed")?,
        })
    }

    async fn get_dedup(
        &self,
        account: AccountId,
        queue: &str,
        dedup_id: &str,
        now: Timestamp,
    ) -> Result<Option<DedupRecord>, StoreError> {
        self.fetch_optional(
            sqlx::query(
                "SELECT account_id, queue_name, dedup_id, message_id, sequence_number, expires_at \
                 FROM sqs_dedup WHERE account_id = $1 AND queue_name = $2 AND dedup_id = $3 \
                 AND expires_at > $4",
            )
            .bind(account.to_string())
            .bind(queue.to_string())
            .bind(dedup_id.to_string())
            .bind(ms(now)),
        )
        .await?
        .map(|r| dedup_record(&r))
        .transpose()
    }

    async fn close(&self) {
        self.writer.close().await;
        if self.engine == Engine::Sqlite {
            // Fold the WAL back into the database file so a clean shutdown
            // leaves one self-contained file.
            let _ = self.write.execute("PRAGMA wal_checkpoint(TRUNCATE)").await;
        }
        self.read.close().await;
        self.write.close().await;
    }
}

/// Opens silos next to the main store: a SQLite file per siloed account
/// under the data dir, or a Postgres schema per siloed account.
pub enum SqlFactory {
    /// `<data_dir>/accounts/<id>/ferry.db`.
    Sqlite {
        /// The data directory.
        data_dir: PathBuf,
    },
    /// Schema `<prefix><id>` in the database at `url`.
    Postgres {
        /// Connection URL.
        url: String,
        /// Schema name prefix (tests use a unique one).
        schema_prefix: String,
    },
}

impl SqlFactory {
    /// Where a siloed account's SQLite file lives.
    pub fn silo_path(data_dir: &Path, account: AccountId) -> PathBuf {
        data_dir
            .join("accounts")
            .join(account.to_string())
            .join("ferry.db")
    }
}

#[async_trait]
impl StoreFactory for SqlFactory {
    async fn open_silo(&self, account: AccountId) -> Result<Arc<dyn Store>, StoreError> {
        let store = match self {
            SqlFactory::Sqlite { data_dir } => {
                SqlStore::open_sqlite(&SqlFactory::silo_path(data_dir, account)).await?
            }
            SqlFactory::Postgres { url, schema_prefix } => {
                SqlStore::open_postgres(url, &format!("{schema_prefix}{account}"), 4).await?
            }
        };
        Ok(Arc::new(store))
    }
}
