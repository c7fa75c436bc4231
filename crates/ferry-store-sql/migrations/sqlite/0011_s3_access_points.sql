-- S3 access points: named entry points to a bucket (possibly another
-- account's), each with its own policy. Aliases are usable wherever a bucket
-- name is, so they are unique across accounts (the catalog's table).
CREATE TABLE s3_access_point_aliases (
    alias TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    name TEXT NOT NULL
);

CREATE TABLE s3_access_points (
    account_id TEXT NOT NULL,
    name TEXT NOT NULL,
    bucket TEXT NOT NULL,
    bucket_account_id TEXT NOT NULL,
    alias TEXT NOT NULL,
    network_origin TEXT NOT NULL,
    vpc_id TEXT,
    policy TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, name)
);
