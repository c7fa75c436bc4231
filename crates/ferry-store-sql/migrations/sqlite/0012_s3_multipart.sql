-- S3 multipart uploads, in the bucket owner's store. Each part's bytes are
-- their own blob; a blob a part refers to is not swept (blob_referenced
-- looks here too), so an upload may stay open past the upload grace time.
CREATE TABLE s3_uploads (
    account_id TEXT NOT NULL,
    upload_id TEXT NOT NULL,
    bucket TEXT NOT NULL,
    key TEXT NOT NULL,
    meta TEXT NOT NULL,
    initiator TEXT NOT NULL,
    initiated_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, upload_id)
);
CREATE INDEX s3_uploads_by_key ON s3_uploads (account_id, bucket, key, upload_id);

CREATE TABLE s3_parts (
    account_id TEXT NOT NULL,
    upload_id TEXT NOT NULL,
    part_number BIGINT NOT NULL,
    blob_key TEXT NOT NULL,
    size BIGINT NOT NULL,
    etag TEXT NOT NULL,
    last_modified BIGINT NOT NULL,
    PRIMARY KEY (account_id, upload_id, part_number)
);
CREATE INDEX s3_parts_by_blob ON s3_parts (account_id, blob_key);
