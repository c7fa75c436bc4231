//! Row -> model conversions. A row that does not parse is an engine error
//! (a corrupt store), never a panic.

use ferry_store::*;
use ferry_types::AccountId;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::engine::{engine_err, from_ms};

fn s(r: &AnyRow, col: &str) -> Result<String, StoreError> {
    r.try_get::<String, _>(col).map_err(engine_err)
}

fn os(r: &AnyRow, col: &str) -> Result<Option<String>, StoreError> {
    r.try_get::<Option<String>, _>(col).map_err(engine_err)
}

fn i(r: &AnyRow, col: &str) -> Result<i64, StoreError> {
    r.try_get::<i64, _>(col).map_err(engine_err)
}

fn acct(r: &AnyRow, col: &str) -> Result<AccountId, StoreError> {
    s(r, col)?
        .parse()
        .map_err(|e| StoreError::Engine(format!("corrupt row: {e}")))
}

pub(crate) fn account(r: &AnyRow) -> Result<Account, StoreError> {
    Ok(Account {
        id: acct(r, "id")?,
        name: s(r, "name")?,
        email: s(r, "email")?,
        tier: s(r, "tier")?
            .parse()
            .map_err(|e| StoreError::Engine(format!("corrupt row: {e}")))?,
        status: s(r, "status")?,
        is_management: i(r, "is_management")? != 0,
        created_at: from_ms(i(r, "created_at")?),
    })
}

pub(crate) fn create_request(r: &AnyRow) -> Result<CreateAccountRequest, StoreError> {
    Ok(CreateAccountRequest {
        id: s(r, "id")?,
        account_name: s(r, "account_name")?,
        state: s(r, "state")?,
        account_id: os(r, "account_id")?
            .map(|a| a.parse())
            .transpose()
            .map_err(|e| StoreError::Engine(format!("corrupt row: {e}")))?,
        failure_reason: os(r, "failure_reason")?,
        requested_at: from_ms(i(r, "requested_at")?),
        completed_at: r
            .try_get::<Option<i64>, _>("completed_at")
            .map_err(engine_err)?
            .map(from_ms),
    })
}

pub(crate) fn key_index(r: &AnyRow) -> Result<KeyIndex, StoreError> {
    Ok(KeyIndex {
        access_key_id: s(r, "access_key_id")?,
        account_id: acct(r, "account_id")?,
    })
}

pub(crate) fn access_key(r: &AnyRow) -> Result<AccessKey, StoreError> {
    Ok(AccessKey {
        access_key_id: s(r, "access_key_id")?,
        account_id: acct(r, "account_id")?,
        user_name: os(r, "user_name")?,
        secret_access_key: s(r, "secret_access_key")?,
        status: s(r, "status")?,
        created_at: from_ms(i(r, "created_at")?),
    })
}

pub(crate) fn user(r: &AnyRow) -> Result<IamUser, StoreError> {
    Ok(IamUser {
        account_id: acct(r, "account_id")?,
        name: s(r, "name")?,
        user_id: s(r, "user_id")?,
        path: s(r, "path")?,
        permissions_boundary: os(r, "permissions_boundary")?,
        tags: serde_json::from_str(&s(r, "tags")?)
            .map_err(|e| StoreError::Engine(format!("corrupt user tags: {e}")))?,
        created_at: from_ms(i(r, "created_at")?),
    })
}

pub(crate) fn role(r: &AnyRow) -> Result<IamRole, StoreError> {
    Ok(IamRole {
        account_id: acct(r, "account_id")?,
        name: s(r, "name")?,
        role_id: s(r, "role_id")?,
        path: s(r, "path")?,
        assume_role_policy: s(r, "assume_role_policy")?,
        max_session_duration: i(r, "max_session_duration")?,
        description: s(r, "description")?,
        tags: serde_json::from_str(&s(r, "tags")?)
            .map_err(|e| StoreError::Engine(format!("corrupt role tags: {e}")))?,
        permissions_boundary: os(r, "permissions_boundary")?,
        created_at: from_ms(i(r, "created_at")?),
    })
}

pub(crate) fn group(r: &AnyRow) -> Result<IamGroup, StoreError> {
    Ok(IamGroup {
        account_id: acct(r, "account_id")?,
        name: s(r, "name")?,
        group_id: s(r, "group_id")?,
        path: s(r, "path")?,
        created_at: from_ms(i(r, "created_at")?),
    })
}

pub(crate) fn inline_policy(r: &AnyRow) -> Result<InlinePolicy, StoreError> {
    Ok(InlinePolicy {
        account_id: acct(r, "account_id")?,
        principal_kind: PrincipalKind::parse(&s(r, "principal_kind")?)
            .ok_or_else(|| StoreError::Engine("corrupt row: principal kind".into()))?,
        principal_name: s(r, "principal_name")?,
        policy_name: s(r, "policy_name")?,
        document: s(r, "document")?,
    })
}

pub(crate) fn managed_policy(r: &AnyRow) -> Result<ManagedPolicy, StoreError> {
    Ok(ManagedPolicy {
        account_id: acct(r, "account_id")?,
        name: s(r, "name")?,
        policy_id: s(r, "policy_id")?,
        path: s(r, "path")?,
        description: s(r, "description")?,
        default_version: i(r, "default_version")?,
        next_version: i(r, "next_version")?,
        created_at: from_ms(i(r, "created_at")?),
        updated_at: from_ms(i(r, "updated_at")?),
    })
}

pub(crate) fn policy_version(r: &AnyRow) -> Result<ManagedPolicyVersion, StoreError> {
    Ok(ManagedPolicyVersion {
        account_id: acct(r, "account_id")?,
        policy_name: s(r, "policy_name")?,
        version: i(r, "version")?,
        document: s(r, "document")?,
        created_at: from_ms(i(r, "created_at")?),
    })
}

pub(crate) fn attachment(r: &AnyRow) -> Result<PolicyAttachment, StoreError> {
    Ok(PolicyAttachment {
        account_id: acct(r, "account_id")?,
        principal_kind: PrincipalKind::parse(&s(r, "principal_kind")?)
            .ok_or_else(|| StoreError::Engine("corrupt row: principal kind".into()))?,
        principal_name: s(r, "principal_name")?,
        policy_arn: s(r, "policy_arn")?,
    })
}

pub(crate) fn audit_event(r: &AnyRow) -> Result<AuditEvent, StoreError> {
    Ok(AuditEvent {
        account_id: acct(r, "account_id")?,
        event_id: s(r, "event_id")?,
        event_time: from_ms(i(r, "event_time")?),
        event_name: s(r, "event_name")?,
        event_source: s(r, "event_source")?,
        username: s(r, "username")?,
        access_key_id: s(r, "access_key_id")?,
        read_only: i(r, "read_only")? != 0,
        body: s(r, "body")?,
    })
}

pub(crate) fn outbox_item(r: &AnyRow) -> Result<OutboxItem, StoreError> {
    Ok(OutboxItem {
        id: i(r, "id")?,
        account_id: acct(r, "account_id")?,
        kind: s(r, "kind")?,
        payload: s(r, "payload")?,
        attempts: i(r, "attempts")?,
        available_at: from_ms(i(r, "available_at")?),
        last_error: os(r, "last_error")?,
    })
}

pub(crate) fn queue(r: &AnyRow) -> Result<Queue, StoreError> {
    let attributes: Vec<(String, String)> = serde_json::from_str(&s(r, "attributes")?)
        .map_err(|e| StoreError::Engine(format!("corrupt row: queue attributes: {e}")))?;
    Ok(Queue {
        account_id: acct(r, "account_id")?,
        name: s(r, "name")?,
        attributes,
        tags: serde_json::from_str(&s(r, "tags")?)
            .map_err(|e| StoreError::Engine(format!("corrupt row: queue tags: {e}")))?,
        created_at: from_ms(i(r, "created_at")?),
        updated_at: from_ms(i(r, "updated_at")?),
    })
}

pub(crate) fn dedup_record(r: &AnyRow) -> Result<DedupRecord, StoreError> {
    Ok(DedupRecord {
        account_id: acct(r, "account_id")?,
        queue_name: s(r, "queue_name")?,
        dedup_id: s(r, "dedup_id")?,
        message_id: s(r, "message_id")?,
        sequence_number: s(r, "sequence_number")?,
        expires_at: from_ms(i(r, "expires_at")?),
    })
}

pub(crate) fn queue_message(r: &AnyRow) -> Result<QueueMessage, StoreError> {
    Ok(QueueMessage {
        account_id: acct(r, "account_id")?,
        queue_name: s(r, "queue_name")?,
        message_id: s(r, "message_id")?,
        seq: i(r, "seq")?,
        body: s(r, "body")?,
        md5: s(r, "md5")?,
        meta: s(r, "meta")?,
        group_id: os(r, "group_id")?,
        source_queue: os(r, "source_queue")?,
        sent_at: from_ms(i(r, "sent_at")?),
        visible_at: from_ms(i(r, "visible_at")?),
        expires_at: from_ms(i(r, "expires_at")?),
        receive_count: i(r, "receive_count")?,
        first_received_at: r
            .try_get::<Option<i64>, _>("first_received_at")
            .map_err(engine_err)?
            .map(from_ms),
        receipt_handle: os(r, "receipt_handle")?,
    })
}

pub(crate) fn bucket_name(r: &AnyRow) -> Result<BucketName, StoreError> {
    Ok(BucketName {
        name: s(r, "name")?,
        account_id: acct(r, "account_id")?,
        created_at: from_ms(i(r, "created_at")?),
    })
}

fn tag_list(r: &AnyRow, col: &str) -> Result<Vec<(String, String)>, StoreError> {
    serde_json::from_str(&s(r, col)?)
        .map_err(|e| StoreError::Engine(format!("corrupt row: {col}: {e}")))
}

pub(crate) fn bucket(r: &AnyRow) -> Result<Bucket, StoreError> {
    Ok(Bucket {
        account_id: acct(r, "account_id")?,
        name: s(r, "name")?,
        region: s(r, "region")?,
        policy: os(r, "policy")?,
        tags: tag_list(r, "tags")?,
        created_at: from_ms(i(r, "created_at")?),
    })
}

pub(crate) fn s3_object(r: &AnyRow) -> Result<S3Object, StoreError> {
    Ok(S3Object {
        account_id: acct(r, "account_id")?,
        bucket: s(r, "bucket")?,
        key: s(r, "key")?,
        blob_key: s(r, "blob_key")?,
        size: i(r, "size")?,
        etag: s(r, "etag")?,
        meta: s(r, "meta")?,
        tags: tag_list(r, "tags")?,
        last_modified: from_ms(i(r, "last_modified")?),
    })
}

pub(crate) fn s3_upload(r: &AnyRow) -> Result<S3Upload, StoreError> {
    Ok(S3Upload {
        account_id: acct(r, "account_id")?,
        upload_id: s(r, "upload_id")?,
        bucket: s(r, "bucket")?,
        key: s(r, "key")?,
        meta: s(r, "meta")?,
        initiator: s(r, "initiator")?,
        initiated_at: from_ms(i(r, "initiated_at")?),
    })
}

pub(crate) fn s3_part(r: &AnyRow) -> Result<S3Part, StoreError> {
    Ok(S3Part {
        account_id: acct(r, "account_id")?,
        upload_id: s(r, "upload_id")?,
        part_number: i32::try_from(i(r, "part_number")?)
            .map_err(|e| StoreError::Engine(format!("corrupt row: part_number: {e}")))?,
        blob_key: s(r, "blob_key")?,
        size: i(r, "size")?,
        etag: s(r, "etag")?,
        checksum: os(r, "checksum")?,
        last_modified: from_ms(i(r, "last_modified")?),
    })
}

pub(crate) fn blob_sweep(r: &AnyRow) -> Result<BlobSweep, StoreError> {
    Ok(BlobSweep {
        account_id: acct(r, "account_id")?,
        blob_key: s(r, "blob_key")?,
        not_before: from_ms(i(r, "not_before")?),
    })
}

pub(crate) fn access_point_alias(r: &AnyRow) -> Result<AccessPointAlias, StoreError> {
    Ok(AccessPointAlias {
        alias: s(r, "alias")?,
        account_id: acct(r, "account_id")?,
        name: s(r, "name")?,
    })
}

pub(crate) fn access_point(r: &AnyRow) -> Result<AccessPoint, StoreError> {
    Ok(AccessPoint {
        account_id: acct(r, "account_id")?,
        name: s(r, "name")?,
        bucket: s(r, "bucket")?,
        bucket_account_id: acct(r, "bucket_account_id")?,
        alias: s(r, "alias")?,
        network_origin: s(r, "network_origin")?,
        vpc_id: os(r, "vpc_id")?,
        policy: os(r, "policy")?,
        created_at: from_ms(i(r, "created_at")?),
    })
}
