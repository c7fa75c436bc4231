-- Customer managed policies, their versions, and managed policy
-- attachments (AWS managed ones included, by ARN).
CREATE TABLE iam_managed_policies (
    account_id TEXT NOT NULL,
    name_lower TEXT NOT NULL,
    name TEXT NOT NULL,
    policy_id TEXT NOT NULL,
    path TEXT NOT NULL,
    description TEXT NOT NULL,
    default_version BIGINT NOT NULL,
    next_version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, name_lower)
);

CREATE TABLE iam_policy_versions (
    account_id TEXT NOT NULL,
    policy_lower TEXT NOT NULL,
    policy_name TEXT NOT NULL,
    version BIGINT NOT NULL,
    document TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, policy_lower, version)
);

CREATE TABLE iam_policy_attachments (
    account_id TEXT NOT NULL,
    principal_kind TEXT NOT NULL,
    principal_lower TEXT NOT NULL,
    principal_name TEXT NOT NULL,
    policy_arn TEXT NOT NULL,
    PRIMARY KEY (account_id, principal_kind, principal_lower, policy_arn)
);
CREATE INDEX iam_policy_attachments_arn ON iam_policy_attachments (account_id, policy_arn);
