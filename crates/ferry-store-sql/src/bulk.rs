//! Runs of similar writes as one statement: the messages of a
//! SendMessageBatch in one multi-row INSERT, the deletes of a
//! DeleteMessageBatch in one DELETE, a batch of audit records in one INSERT.
//! Each statement is a round trip to the database thread; a batch of ten
//! would otherwise cost ten.

use ferry_store::{AuditEvent, QueueMessage, Write, WriteBatch};
use ferry_types::AccountId;
use sqlx::AssertSqlSafe;

use crate::engine::{apply_one, ms};

/// Rows per statement; well under every engine's parameter limit.
const ROWS: usize = 50;

/// `($1, .., $cols), ($cols+1, ..), ...` for `rows` rows after `offset`
/// parameters.
fn values(cols: usize, rows: usize, offset: usize) -> String {
    (0..rows)
        .map(|r| {
            let cells: Vec<String> = (1..=cols)
                .map(|c| format!("${}", offset + r * cols + c))
                .collect();
            format!("({})", cells.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

enum Run {
    Messages(Vec<QueueMessage>),
    Deletes {
        account: AccountId,
        queue: String,
        pairs: Vec<(String, String)>,
    },
    Audit(Vec<AuditEvent>),
    One(Box<Write>),
}

/// Groups consecutive writes of one kind (deletes: of one queue, each with
/// a receipt token) into runs, in order.
fn runs(batch: WriteBatch) -> Vec<Run> {
    let mut out: Vec<Run> = Vec::new();
    for w in batch.0 {
        match (w, out.last_mut()) {
            (Write::PutMessage(m), Some(Run::Messages(v))) => v.push(m),
            (Write::PutMessage(m), _) => out.push(Run::Messages(vec![m])),
            (Write::AppendAudit(e), Some(Run::Audit(v))) => v.extend(e),
            (Write::AppendAudit(e), _) => out.push(Run::Audit(e)),
            (
                Write::DeleteMessage {
                    account,
                    queue,
                    message_id,
                    receipt_handle: Some(h),
                },
                last,
            ) => match last {
                Some(Run::Deletes {
                    account: a,
                    queue: q,
                    pairs,
                }) if *a == account && *q == queue => pairs.push((message_id, h)),
                _ => out.push(Run::Deletes {
                    account,
                    queue,
                    pairs: vec![(message_id, h)],
                }),
            },
            (w, _) => out.push(Run::One(Box::new(w))),
        }
    }
    out
}

/// Applies a batch, runs of similar writes as single statements.
pub(crate) async fn apply_batch(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    batch: WriteBatch,
) -> Result<(), sqlx::Error> {
    for run in runs(batch) {
        match run {
            Run::One(w) => apply_one(tx, *w).await?,
            Run::Messages(v) => {
                for chunk in v.chunks(ROWS) {
                    insert_messages(tx, chunk).await?;
                }
            }
            Run::Audit(v) => {
                for chunk in v.chunks(ROWS) {
                    insert_audit(tx, chunk).await?;
                }
            }
            Run::Deletes {
                account,
                queue,
                pairs,
            } => {
                for chunk in pairs.chunks(ROWS) {
                    delete_messages(tx, account, &queue, chunk).await?;
                }
            }
        }
    }
    Ok(())
}

async fn insert_messages(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    v: &[QueueMessage],
) -> Result<(), sqlx::Error> {
    let sql = format!(
        "INSERT INTO sqs_messages (account_id, queue_name, message_id, body, md5, meta, \
         group_id, source_queue, sent_at, visible_at, expires_at, receive_count, \
         first_received_at, receipt_handle) VALUES {}",
        values(14, v.len(), 0)
    );
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for m in v {
        q = q
            .bind(m.account_id.to_string())
            .bind(m.queue_name.clone())
            .bind(m.message_id.clone())
            .bind(m.body.clone())
            .bind(m.md5.clone())
            .bind(m.meta.clone())
            .bind(m.group_id.clone())
            .bind(m.source_queue.clone())
            .bind(ms(m.sent_at))
            .bind(ms(m.visible_at))
            .bind(ms(m.expires_at))
            .bind(m.receive_count)
            .bind(m.first_received_at.map(ms))
            .bind(m.receipt_handle.clone());
    }
    q.execute(&mut **tx).await?;
    Ok(())
}

async fn insert_audit(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    v: &[AuditEvent],
) -> Result<(), sqlx::Error> {
    let sql = format!(
        "INSERT INTO audit_events (account_id, event_id, event_time, event_name, event_source, \
         username, access_key_id, read_only, body) VALUES {} \
         ON CONFLICT (account_id, event_id) DO NOTHING",
        values(9, v.len(), 0)
    );
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for e in v {
        q = q
            .bind(e.account_id.to_string())
            .bind(e.event_id.clone())
            .bind(ms(e.event_time))
            .bind(e.event_name.clone())
            .bind(e.event_source.clone())
            .bind(e.username.clone())
            .bind(e.access_key_id.clone())
            .bind(i64::from(e.read_only))
            .bind(e.body.clone());
    }
    q.execute(&mut **tx).await?;
    Ok(())
}

/// Deletes by (message id, receipt token). A token names one receive of one
/// message (it ends with the message's sequence number), so matching both
/// lists is matching the pairs.
async fn delete_messages(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    account: AccountId,
    queue: &str,
    pairs: &[(String, String)],
) -> Result<(), sqlx::Error> {
    let n = pairs.len();
    let ids: Vec<String> = (0..n).map(|i| format!("${}", 3 + i)).collect();
    let handles: Vec<String> = (0..n).map(|i| format!("${}", 3 + n + i)).collect();
    let sql = format!(
        "DELETE FROM sqs_messages WHERE account_id = $1 AND queue_name = $2 \
         AND message_id IN ({}) AND receipt_handle IN ({})",
        ids.join(", "),
        handles.join(", ")
    );
    let mut q = sqlx::query(AssertSqlSafe(sql))
        .bind(account.to_string())
        .bind(queue.to_string());
    for (id, _) in pairs {
        q = q.bind(id.clone());
    }
    for (_, h) in pairs {
        q = q.bind(h.clone());
    }
    q.execute(&mut **tx).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_number_across_rows() {
        assert_eq!(values(2, 2, 0), "($1, $2), ($3, $4)");
        assert_eq!(values(1, 1, 3), "($4)");
    }
}
