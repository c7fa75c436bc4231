-- Receipt tokens end with the message's seq, so a token finds its row by
-- primary key; the index on the tokens was rewritten on every claim and
-- delete and no longer answers any query.
DROP INDEX IF EXISTS sqs_messages_handle;
