//! SQS message claims, run inside the writer's transaction. On Postgres the
//! claim takes rows `FOR UPDATE SKIP LOCKED`, so several Ferry processes on
//! one database never hand one message to two receivers; on SQLite the one
//! write connection already serializes claims.

use ferry_store::{QueueMessage, ReceiveRequest, VisibilityOutcome};
use ferry_types::{AccountId, Timestamp};
use sqlx::AssertSqlSafe;

use crate::engine::{Engine, ms};
use crate::rows::queue_message;

/// The columns `queue_message` reads (the lane reads them by position).
pub(crate) const MESSAGE_COLS: &str = "seq, account_id, queue_name, message_id, body, md5, meta, \
     group_id, source_queue, sent_at, visible_at, expires_at, receive_count, first_received_at, \
     receipt_handle";

/// The columns a moved message is inserted with (all but `seq`).
const MOVE_COLS: &str = "account_id, queue_name, message_id, body, md5, meta, group_id, \
     source_queue, sent_at, visible_at, expires_at, receive_count, first_received_at, \
     receipt_handle";

fn row_err(e: ferry_store::StoreError) -> sqlx::Error {
    sqlx::Error::Protocol(e.to_string())
}

/// Inserts one message.
pub(crate) const INSERT_MESSAGE: &str = "INSERT INTO sqs_messages (account_id, queue_name, \
     message_id, body, md5, meta, group_id, source_queue, sent_at, visible_at, expires_at, \
     receive_count, first_received_at, receipt_handle) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)";

/// Deletes a message while $4 is its latest receipt token.
pub(crate) const DELETE_BY_HANDLE: &str = "DELETE FROM sqs_messages WHERE account_id = $1 \
     AND queue_name = $2 AND message_id = $3 AND receipt_handle = $4";

/// Deletes a message whatever its receipt token.
pub(crate) const DELETE_BY_ID: &str =
    "DELETE FROM sqs_messages WHERE account_id = $1 AND queue_name = $2 AND message_id = $3";

/// Drops a deduplication record whose window closed before $4.
pub(crate) const EXPIRE_DEDUP: &str = "DELETE FROM sqs_dedup WHERE account_id = $1 \
     AND queue_name = $2 AND dedup_id = $3 AND expires_at <= $4";

/// Records a deduplication id (a unique violation while one is live).
pub(crate) const INSERT_DEDUP: &str = "INSERT INTO sqs_dedup (account_id, queue_name, \
     dedup_id, message_id, sequence_number, expires_at) VALUES ($1, $2, $3, $4, $5, $6)";

fn lock(engine: Engine) -> &'static str {
    match engine {
        Engine::Postgres => " FOR UPDATE SKIP LOCKED",
        Engine::Sqlite => "",
    }
}

/// Moves the messages received `max_receive_count` times to the
/// dead-letter queue ($1 account, $2 queue, $3 dead-letter queue, $4 now,
/// $5 its retention in ms, $6 max receive count).
pub(crate) fn redrive_sql(engine: Engine) -> String {
    let lock = lock(engine);
    let moved_values = "account_id, $3, message_id, body, md5, meta, group_id, \
         COALESCE(source_queue, queue_name), sent_at, $4, sent_at + $5, 0, NULL, NULL";
    let over = "account_id = $1 AND queue_name = $2 AND visible_at <= $4 AND receive_count >= $6";
    match engine {
        Engine::Postgres => format!(
            "WITH moved AS (DELETE FROM sqs_messages WHERE seq IN \
             (SELECT seq FROM sqs_messages WHERE {over} ORDER BY seq{lock}) RETURNING *) \
             INSERT INTO sqs_messages ({MOVE_COLS}) SELECT {moved_values} FROM moved \
             ORDER BY seq ON CONFLICT DO NOTHING"
        ),
        Engine::Sqlite => format!(
            "INSERT INTO sqs_messages ({MOVE_COLS}) SELECT {moved_values} FROM sqs_messages \
             WHERE {over} ORDER BY seq ON CONFLICT DO NOTHING"
        ),
    }
}

/// SQLite's second half of the move: the moved messages leave the source
/// ($1 account, $2 queue, $3 now, $4 max receive count).
pub(crate) const REDRIVE_DELETE_SQLITE: &str = "DELETE FROM sqs_messages WHERE account_id = $1 \
     AND queue_name = $2 AND visible_at <= $3 AND receive_count >= $4";

/// A FIFO message is receivable only while no message of its group is in
/// flight.
const FIFO_GROUP_FREE: &str = " AND (group_id IS NULL OR group_id NOT IN (SELECT group_id \
     FROM sqs_messages WHERE account_id = $1 AND queue_name = $2 AND visible_at > $4 \
     AND receive_count > 0 AND group_id IS NOT NULL))";

/// Claims up to $6 receivable messages ($1 account, $2 queue, $3 visible
/// until, $4 now, $5 the receipt token prefix).
pub(crate) fn claim_sql(engine: Engine, fifo: bool) -> String {
    let lock = lock(engine);
    let fifo = if fifo { FIFO_GROUP_FREE } else { "" };
    format!(
        "UPDATE sqs_messages SET receive_count = receive_count + 1, visible_at = $3, \
         first_received_at = COALESCE(first_received_at, $4), \
         receipt_handle = $5 || CAST(seq AS TEXT) \
         WHERE seq IN (SELECT seq FROM sqs_messages WHERE account_id = $1 AND queue_name = $2 \
         AND visible_at <= $4 AND expires_at > $4{fifo} ORDER BY seq LIMIT $6{lock}) \
         RETURNING {MESSAGE_COLS}"
    )
}

/// SQLite's claim, first half: the receivable messages ($1 account, $2
/// queue, $4 now, $6 how many; $3 and $5 are bound as for [`claim_sql`]
/// and not used), oldest first. The lane
/// then updates each by primary key ([`CLAIM_ONE_SQLITE`]): an `UPDATE ...
/// RETURNING` was re-prepared by SQLite on every run (a third of the
/// claim's time, measured), and the lane is the only writer, so reading
/// first and updating after in one transaction claims the same rows.
pub(crate) fn claim_select_sqlite(fifo: bool) -> String {
    let fifo = if fifo { FIFO_GROUP_FREE } else { "" };
    format!(
        "SELECT {MESSAGE_COLS} FROM sqs_messages WHERE account_id = $1 AND queue_name = $2 \
         AND visible_at <= $4 AND expires_at > $4{fifo} \
         ORDER BY seq LIMIT $6"
    )
}

/// SQLite's claim, second half: one message received ($1 visible until,
/// $2 now, $3 its receipt token, $4 seq).
pub(crate) const CLAIM_ONE_SQLITE: &str = "UPDATE sqs_messages SET receive_count = \
     receive_count + 1, visible_at = $1, first_received_at = COALESCE(first_received_at, $2), \
     receipt_handle = $3 WHERE seq = $4";

/// Hides an in-flight message until $1 ($2 account, $3 queue, $4 receipt
/// token, $5 now, $6 the token's [`token_seq`]).
pub(crate) const CHANGE_VISIBILITY: &str = "UPDATE sqs_messages SET visible_at = $1 \
     WHERE seq = $6 AND account_id = $2 AND queue_name = $3 AND receipt_handle = $4 \
     AND visible_at > $5";

/// Whether a receipt token still names a message ($1 account, $2 queue,
/// $3 token, $4 the token's [`token_seq`]).
pub(crate) const HELD: &str = "SELECT seq FROM sqs_messages WHERE seq = $4 AND account_id = $1 \
     AND queue_name = $2 AND receipt_handle = $3";

/// The message a receipt token was made for: a claim makes tokens
/// `prefix || seq`, so a token finds its row by primary key, with no
/// index on the tokens to keep up on every claim and delete. A token of
/// another shape names no message (-1).
pub(crate) fn token_seq(token: &str) -> i64 {
    token
        .rsplit_once('-')
        .and_then(|(_, seq)| seq.parse().ok())
        .unwrap_or(-1)
}

pub(crate) async fn receive(
    engine: Engine,
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    r: &ReceiveRequest,
) -> Result<Vec<QueueMessage>, sqlx::Error> {
    let account = r.account.to_string();
    let now = ms(r.now);
    if engine == Engine::Postgres && r.fifo {
        // Group blocking reads other rows' state: one FIFO claim at a time
        // per queue across processes.
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
            .bind(format!("sqs/{account}/{}", r.queue))
            .execute(&mut **tx)
            .await?;
    }
    if let Some(d) = &r.redrive {
        sqlx::query(AssertSqlSafe(redrive_sql(engine)))
            .bind(account.clone())
            .bind(r.queue.clone())
            .bind(d.dead_letter_queue.clone())
            .bind(now)
            .bind(d.retention_seconds.saturating_mul(1000))
            .bind(d.max_receive_count)
            .execute(&mut **tx)
            .await?;
        if engine == Engine::Sqlite {
            sqlx::query(REDRIVE_DELETE_SQLITE)
                .bind(account.clone())
                .bind(r.queue.clone())
                .bind(now)
                .bind(d.max_receive_count)
                .execute(&mut **tx)
                .await?;
        }
    }
    let sql = claim_sql(engine, r.fifo);
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(account)
        .bind(r.queue.clone())
        .bind(ms(r.visible_until))
        .bind(now)
        .bind(r.token.clone())
        .bind(i64::try_from(r.max).unwrap_or(i64::MAX))
        .fetch_all(&mut **tx)
        .await?;
    let mut out = rows
        .iter()
        .map(queue_message)
        .collect::<Result<Vec<_>, _>>()
        .map_err(row_err)?;
    out.sort_by_key(|m| m.seq);
    Ok(out)
}

pub(crate) async fn change_visibility(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    account: AccountId,
    queue: &str,
    handle: &str,
    now: Timestamp,
    visible_until: Timestamp,
) -> Result<VisibilityOutcome, sqlx::Error> {
    let changed = sqlx::query(CHANGE_VISIBILITY)
        .bind(ms(visible_until))
        .bind(account.to_string())
        .bind(queue.to_string())
        .bind(handle.to_string())
        .bind(ms(now))
        .bind(token_seq(handle))
        .execute(&mut **tx)
        .await?
        .rows_affected();
    if changed > 0 {
        return Ok(VisibilityOutcome::Changed);
    }
    let held = sqlx::query(HELD)
        .bind(account.to_string())
        .bind(queue.to_string())
        .bind(handle.to_string())
        .bind(token_seq(handle))
        .fetch_optional(&mut **tx)
        .await?;
    Ok(if held.is_some() {
        VisibilityOutcome::NotInFlight
    } else {
        VisibilityOutcome::Gone
    })
}

#[cfg(test)]
mod tests {
    use super::token_seq;

    #[test]
    fn tokens_name_their_seq() {
        assert_eq!(token_seq("7a05e8d52610cddc6a6f6392-21"), 21);
        assert_eq!(token_seq("7a05e8d52610cddc6a6f6392-"), -1);
        assert_eq!(token_seq("no-seq-here"), -1);
        assert_eq!(token_seq(""), -1);
    }
}
