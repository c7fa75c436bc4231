-- S3: bucket names are unique across all accounts (the catalog's
-- s3_bucket_names, in the main store); buckets and their objects live in the
-- owner's store. Object keys sort byte-wise, as S3 lists them.
CREATE TABLE s3_bucket_names (
    name TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE s3_buckets (
    account_id TEXT NOT NULL,
    name TEXT NOT NULL,
    region TEXT NOT NULL,
    policy TEXT,
    tags TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, name)
);

CREATE TABLE s3_objects (
    account_id TEXT NOT NULL,
    bucket TEXT NOT NULL,
    key TEXT NOT NULL,
    blob_key TEXT NOT NULL,
    size BIGINT NOT NULL,
    etag TEXT NOT NULL,
    meta TEXT NOT NULL,
    tags TEXT NOT NULL,
    last_modified BIGINT NOT NULL,
    PRIMARY KEY (account_id, bucket, key)
);

-- Blobs to look at later: written but not yet referenced (an upload in
-- progress), or no longer referenced (overwritten, deleted). The sweeper
-- deletes each unreferenced one after not_before.
CREATE TABLE s3_blob_sweep (
    account_id TEXT NOT NULL,
    blob_key TEXT NOT NULL,
    not_before BIGINT NOT NULL,
    PRIMARY KEY (account_id, blob_key)
);
CREATE INDEX s3_blob_sweep_due ON s3_blob_sweep (not_before);
