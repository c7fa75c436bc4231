-- IAM groups and their members (users, by name).
CREATE TABLE iam_groups (
    account_id TEXT NOT NULL,
    name_lower TEXT NOT NULL,
    name TEXT NOT NULL,
    group_id TEXT NOT NULL,
    path TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, name_lower)
);

CREATE TABLE iam_group_members (
    account_id TEXT NOT NULL,
    group_lower TEXT NOT NULL,
    user_lower TEXT NOT NULL,
    user_name TEXT NOT NULL,
    PRIMARY KEY (account_id, group_lower, user_lower)
);
CREATE INDEX iam_group_members_user ON iam_group_members (account_id, user_lower);
