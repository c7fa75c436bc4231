-- Catalog: only in the main store.
CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    email TEXT NOT NULL,
    email_lower TEXT NOT NULL,
    tier TEXT NOT NULL,
    status TEXT NOT NULL,
    is_management BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX accounts_email ON accounts (email_lower);

CREATE TABLE create_account_requests (
    id TEXT PRIMARY KEY,
    account_name TEXT NOT NULL,
    state TEXT NOT NULL,
    account_id TEXT,
    failure_reason TEXT,
    requested_at BIGINT NOT NULL,
    completed_at BIGINT
);

CREATE TABLE key_index (
    access_key_id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL
);

-- Per account: in the main store for pooled accounts, in the silo otherwise.
CREATE TABLE access_keys (
    access_key_id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    user_name TEXT,
    secret_access_key TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX access_keys_user ON access_keys (account_id, user_name);

CREATE TABLE iam_users (
    account_id TEXT NOT NULL,
    name_lower TEXT NOT NULL,
    name TEXT NOT NULL,
    user_id TEXT NOT NULL,
    path TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, name_lower)
);

CREATE TABLE iam_roles (
    account_id TEXT NOT NULL,
    name_lower TEXT NOT NULL,
    name TEXT NOT NULL,
    role_id TEXT NOT NULL,
    path TEXT NOT NULL,
    assume_role_policy TEXT NOT NULL,
    max_session_duration BIGINT NOT NULL,
    description TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, name_lower)
);

CREATE TABLE iam_inline_policies (
    account_id TEXT NOT NULL,
    principal_kind TEXT NOT NULL,
    principal_lower TEXT NOT NULL,
    principal_name TEXT NOT NULL,
    policy_name TEXT NOT NULL,
    document TEXT NOT NULL,
    PRIMARY KEY (account_id, principal_kind, principal_lower, policy_name)
);

CREATE TABLE audit_events (
    account_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    event_time BIGINT NOT NULL,
    event_name TEXT NOT NULL,
    event_source TEXT NOT NULL,
    username TEXT NOT NULL,
    access_key_id TEXT NOT NULL,
    read_only BIGINT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (account_id, event_id)
);
CREATE INDEX audit_events_time ON audit_events (account_id, event_time DESC, event_id DESC);

CREATE TABLE outbox (
    id BIGSERIAL PRIMARY KEY,
    account_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    available_at BIGINT NOT NULL,
    last_error TEXT,
    dead BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX outbox_due ON outbox (dead, available_at, id);
