-- SQS queues (attributes as a JSON list of [name, value] pairs) and their messages.
CREATE TABLE sqs_queues (
    account_id TEXT NOT NULL,
    name TEXT NOT NULL,
    attributes TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, name)
);

CREATE TABLE sqs_messages (
    account_id TEXT NOT NULL,
    queue_name TEXT NOT NULL,
    message_id TEXT NOT NULL,
    body TEXT NOT NULL,
    md5 TEXT NOT NULL,
    sent_at BIGINT NOT NULL,
    visible_at BIGINT NOT NULL,
    receive_count BIGINT NOT NULL,
    first_received_at BIGINT,
    receipt_handle TEXT,
    PRIMARY KEY (account_id, queue_name, message_id)
);
CREATE INDEX sqs_messages_order ON sqs_messages (account_id, queue_name, sent_at);
