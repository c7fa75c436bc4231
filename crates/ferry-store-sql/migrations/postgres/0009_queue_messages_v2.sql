-- SQS, second cut: messages get an arrival sequence (receive order and the
-- claim index), an expiry, a FIFO group, the dead-letter source and a JSON
-- column for what only the service reads; FIFO deduplication records; queue
-- tags. Messages are carried over (receipt tokens of the old form expire with
-- their visibility window).
CREATE TABLE sqs_messages_v2 (
    seq BIGSERIAL PRIMARY KEY,
    account_id TEXT NOT NULL,
    queue_name TEXT NOT NULL,
    message_id TEXT NOT NULL,
    body TEXT NOT NULL,
    md5 TEXT NOT NULL,
    meta TEXT NOT NULL,
    group_id TEXT,
    source_queue TEXT,
    sent_at BIGINT NOT NULL,
    visible_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    receive_count BIGINT NOT NULL,
    first_received_at BIGINT,
    receipt_handle TEXT
);
INSERT INTO sqs_messages_v2 (account_id, queue_name, message_id, body, md5, meta, sent_at,
    visible_at, expires_at, receive_count, first_received_at, receipt_handle)
SELECT account_id, queue_name, message_id, body, md5, '{}', sent_at, visible_at,
    sent_at + 1209600000, receive_count, first_received_at, receipt_handle
FROM sqs_messages ORDER BY sent_at, message_id;
DROP TABLE sqs_messages;
ALTER TABLE sqs_messages_v2 RENAME TO sqs_messages;
CREATE UNIQUE INDEX sqs_messages_id ON sqs_messages (account_id, queue_name, message_id);
CREATE INDEX sqs_messages_queue_seq ON sqs_messages (account_id, queue_name, seq);
CREATE INDEX sqs_messages_expiry ON sqs_messages (expires_at);
CREATE INDEX sqs_messages_handle ON sqs_messages (receipt_handle);

CREATE TABLE sqs_dedup (
    account_id TEXT NOT NULL,
    queue_name TEXT NOT NULL,
    dedup_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    sequence_number TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, queue_name, dedup_id)
);
CREATE INDEX sqs_dedup_expiry ON sqs_dedup (expires_at);

ALTER TABLE sqs_queues ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
