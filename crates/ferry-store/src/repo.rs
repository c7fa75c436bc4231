use async_trait::async_trait;
use ferry_types::{AccountId, Timestamp};

use crate::StoreError;
use crate::model::*;

/// One change. Every write goes through [`Store::apply`] as part of a
/// [`WriteBatch`], so that a change and the outbox items it causes commit
/// together or not at all.
#[derive(Debug, Clone)]
pub enum Write {
    /// Insert an account; `Conflict` if the id or name exists.
    PutAccount(Account),
    /// Insert or replace an Organizations create request.
    PutCreateAccountRequest(CreateAccountRequest),
    /// Insert an access key index row; `Conflict` if the key id exists.
    PutKeyIndex(KeyIndex),
    /// Insert an access key; `Conflict` if the key id exists.
    PutAccessKey(AccessKey),
    /// Insert an IAM user; `Conflict` if the name exists in the account.
    PutUser(IamUser),
    /// Insert an IAM role; `Conflict` if the name exists in the account.
    PutRole(IamRole),
    /// Replace a user's tags; no-op if it does not exist.
    SetUserTags {
        /// Account.
        account: AccountId,
        /// User name.
        name: String,
        /// The new tags.
        tags: Vec<(String, String)>,
    },
    /// Insert an IAM group; `Conflict` if the name exists in the account.
    PutGroup(IamGroup),
    /// Delete a group by name (with its memberships).
    DeleteGroup {
        /// Account.
        account: AccountId,
        /// Group name.
        name: String,
    },
    /// Make a user a member of a group; again changes nothing.
    AddGroupMember {
        /// Account.
        account: AccountId,
        /// Group name.
        group: String,
        /// User name.
        user: String,
    },
    /// Remove a user from a group.
    RemoveGroupMember {
        /// Account.
        account: AccountId,
        /// Group name.
        group: String,
        /// User name.
        user: String,
    },
    /// Insert or replace an inline policy.
    PutInlinePolicy(InlinePolicy),
    /// Replace a role's mutable fields (trust policy, description, max
    /// session duration, tags; not the boundary); no-op if it does not
    /// exist.
    UpdateRole(IamRole),
    /// Set or remove (`None`) the permissions boundary of a user or role;
    /// no-op if it does not exist.
    SetPermissionsBoundary {
        /// Account.
        account: AccountId,
        /// A user or a role.
        kind: PrincipalKind,
        /// Its name.
        name: String,
        /// The boundary policy's ARN.
        policy_arn: Option<String>,
    },
    /// Delete a role by name.
    DeleteRole {
        /// Account.
        account: AccountId,
        /// Role name.
        name: String,
    },
    /// Delete a user by name.
    DeleteUser {
        /// Account.
        account: AccountId,
        /// User name.
        name: String,
    },
    /// Delete an inline policy.
    DeleteInlinePolicy {
        /// Account.
        account: AccountId,
        /// What it hangs on.
        kind: PrincipalKind,
        /// The user/role/group name.
        principal_name: String,
        /// The policy name.
        policy_name: String,
    },
    /// Insert a customer managed policy; `Conflict` if the name exists in
    /// the account.
    PutManagedPolicy(ManagedPolicy),
    /// Replace a managed policy's default and next version numbers and its
    /// update time; no-op if it does not exist.
    UpdateManagedPolicy(ManagedPolicy),
    /// Delete a managed policy and all its versions.
    DeleteManagedPolicy {
        /// Account.
        account: AccountId,
        /// Policy name.
        name: String,
    },
    /// Insert a policy version; `Conflict` if the number exists.
    PutPolicyVersion(ManagedPolicyVersion),
    /// Delete one policy version.
    DeletePolicyVersion {
        /// Account.
        account: AccountId,
        /// Policy name.
        policy_name: String,
        /// Version number.
        version: i64,
    },
    /// Attach a managed policy; attaching it again changes nothing.
    AttachPolicy(PolicyAttachment),
    /// Detach a managed policy.
    DetachPolicy(PolicyAttachment),
    /// Delete an access key row.
    DeleteAccessKey {
        /// Account.
        account: AccountId,
        /// Key id.
        access_key_id: String,
    },
    /// Change a key's status (`Active`/`Inactive`).
    SetAccessKeyStatus {
        /// Account.
        account: AccountId,
        /// Key id.
        access_key_id: String,
        /// New status.
        status: String,
    },
    /// Delete an access key's catalog index row.
    DeleteKeyIndex(String),
    /// Set a server setting if it is not set yet (first writer wins).
    InitSetting {
        /// Setting name.
        key: String,
        /// Its value.
        value: String,
    },
    /// Insert a queue; `Conflict` if the name exists in the account.
    PutQueue(Queue),
    /// Replace a queue's attributes and update time; no-op if it does not
    /// exist.
    UpdateQueue(Queue),
    /// Delete a queue and its messages.
    DeleteQueue {
        /// Account.
        account: AccountId,
        /// Queue name.
        name: String,
    },
    /// Replace a queue's tags; no-op if it does not exist.
    SetQueueTags {
        /// Account.
        account: AccountId,
        /// Queue name.
        name: String,
        /// The new tags.
        tags: Vec<(String, String)>,
    },
    /// Insert a message (its `seq` is assigned by the store).
    PutMessage(QueueMessage),
    /// Delete a message; with a receipt token only while that token is the
    /// message's latest (an older receiver's delete does nothing).
    DeleteMessage {
        /// Account.
        account: AccountId,
        /// Queue name.
        queue: String,
        /// Message id.
        message_id: String,
        /// The receipt token the deleter holds.
        receipt_handle: Option<String>,
    },
    /// Delete every message of a queue.
    PurgeQueue {
        /// Account.
        account: AccountId,
        /// Queue name.
        name: String,
    },
    /// Record a FIFO deduplication id; `Conflict` while a record with the
    /// same id is inside its window at `now`.
    PutDedup {
        /// The record.
        record: DedupRecord,
        /// The time of the send.
        now: Timestamp,
    },
    /// Delete expired messages and deduplication records of every queue.
    ExpireMessages {
        /// The time of the sweep.
        now: Timestamp,
    },
    /// Take a bucket name in the catalog; `Conflict` if taken.
    PutBucketName(BucketName),
    /// Release a bucket name.
    DeleteBucketName(String),
    /// Insert a bucket; `Conflict` if it exists.
    PutBucket(Bucket),
    /// Replace a bucket's policy and tags.
    UpdateBucket(Bucket),
    /// Delete a bucket (its objects must be gone).
    DeleteBucket {
        /// Owner.
        account: AccountId,
        /// Name.
        name: String,
    },
    /// Insert or replace an object.
    PutObject(S3Object),
    /// Delete an object; nothing if absent.
    DeleteObject {
        /// Owner.
        account: AccountId,
        /// Bucket.
        bucket: String,
        /// Key.
        key: String,
    },
    /// Note a blob to sweep later (insert or move its time).
    PutBlobSweep(BlobSweep),
    /// Forget a blob sweep.
    DeleteBlobSweep {
        /// Owner.
        account: AccountId,
        /// The blob.
        blob_key: String,
    },
    /// Start a multipart upload; `Conflict` if the id exists.
    PutUpload(S3Upload),
    /// Insert or replace a part of an upload.
    PutPart(S3Part),
    /// Forget an upload and all its parts (their blobs are the caller's to
    /// sweep); nothing if absent.
    DeleteUpload {
        /// Owner.
        account: AccountId,
        /// The upload.
        upload_id: String,
    },
    /// Take an access point alias in the catalog; `Conflict` if taken.
    PutAccessPointAlias(AccessPointAlias),
    /// Release an alias.
    DeleteAccessPointAlias(String),
    /// Insert an access point; `Conflict` if the name exists.
    PutAccessPoint(AccessPoint),
    /// Replace an access point's policy.
    UpdateAccessPoint(AccessPoint),
    /// Delete an access point.
    DeleteAccessPoint {
        /// Owner.
        account: AccountId,
        /// Name.
        name: String,
    },
    /// Append audit records.
    AppendAudit(Vec<AuditEvent>),
    /// Enqueue a background delivery.
    Enqueue(NewOutboxItem),
    /// A delivery finished: remove it.
    OutboxDone(i64),
    /// A delivery failed: try again at `at`.
    OutboxRetry {
        /// Item id.
        id: i64,
        /// Next attempt.
        at: Timestamp,
        /// Why it failed.
        error: String,
    },
    /// A delivery failed for good: keep it as dead, never claim it again.
    OutboxDead {
        /// Item id.
        id: i64,
        /// Why it failed.
        error: String,
    },
}

/// Writes applied atomically, in order.
#[derive(Debug, Clone, Default)]
pub struct WriteBatch(pub Vec<Write>);

impl WriteBatch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a write.
    pub fn push(&mut self, w: Write) -> &mut Self {
        self.0.push(w);
        self
    }

    /// A batch of one write.
    pub fn one(w: Write) -> Self {
        WriteBatch(vec![w])
    }
}

/// One engine instance: the main store, or one siloed account's store. Both
/// have the same schema; catalog tables stay empty in a silo.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Applies every write of the batch in one transaction, durably, before
    /// returning.
    async fn apply(&self, batch: WriteBatch) -> Result<(), StoreError>;

    /// An account by id.
    async fn get_account(&self, id: AccountId) -> Result<Option<Account>, StoreError>;
    /// An account by its unique name.
    async fn get_account_by_name(&self, name: &str) -> Result<Option<Account>, StoreError>;
    /// An account by its email.
    async fn get_account_by_email(&self, email: &str) -> Result<Option<Account>, StoreError>;
    /// All accounts, oldest first.
    async fn list_accounts(&self) -> Result<Vec<Account>, StoreError>;
    /// An Organizations create request.
    async fn get_create_account_request(
        &self,
        id: &str,
    ) -> Result<Option<CreateAccountRequest>, StoreError>;

    /// Which account holds a key.
    async fn get_key_index(&self, access_key_id: &str) -> Result<Option<KeyIndex>, StoreError>;
    /// A key in an account.
    async fn get_access_key(
        &self,
        account: AccountId,
        access_key_id: &str,
    ) -> Result<Option<AccessKey>, StoreError>;
    /// A user's keys (`None`: the root user's).
    async fn list_access_keys(
        &self,
        account: AccountId,
        user_name: Option<&str>,
    ) -> Result<Vec<AccessKey>, StoreError>;

    /// A user by name (case-insensitive, as IAM).
    async fn get_user(&self, account: AccountId, name: &str)
    -> Result<Option<IamUser>, StoreError>;
    /// A role by name (case-insensitive, as IAM).
    async fn get_role(&self, account: AccountId, name: &str)
    -> Result<Option<IamRole>, StoreError>;
    /// Every user of an account, by name.
    async fn list_users(&self, account: AccountId) -> Result<Vec<IamUser>, StoreError>;
    /// Every role of an account, by name.
    async fn list_roles(&self, account: AccountId) -> Result<Vec<IamRole>, StoreError>;
    /// A group by name (case-insensitive, as IAM).
    async fn get_group(
        &self,
        account: AccountId,
        name: &str,
    ) -> Result<Option<IamGroup>, StoreError>;
    /// Every group of an account, by name.
    async fn list_groups(&self, account: AccountId) -> Result<Vec<IamGroup>, StoreError>;
    /// The user names in a group, by name.
    async fn list_group_members(
        &self,
        account: AccountId,
        group: &str,
    ) -> Result<Vec<String>, StoreError>;
    /// The groups a user is in, by name.
    async fn list_groups_for_user(
        &self,
        account: AccountId,
        user: &str,
    ) -> Result<Vec<IamGroup>, StoreError>;
    /// A server setting.
    async fn get_setting(&self, key: &str) -> Result<Option<String>, StoreError>;
    /// The inline policies of a user, role or group.
    async fn list_inline_policies(
        &self,
        account: AccountId,
        kind: PrincipalKind,
        principal_name: &str,
    ) -> Result<Vec<InlinePolicy>, StoreError>;

    /// A customer managed policy by name (case-insensitive).
    async fn get_managed_policy(
        &self,
        account: AccountId,
        name: &str,
    ) -> Result<Option<ManagedPolicy>, StoreError>;
    /// Every customer managed policy of an account, by name.
    async fn list_managed_policies(
        &self,
        account: AccountId,
    ) -> Result<Vec<ManagedPolicy>, StoreError>;
    /// A policy's versions, oldest first.
    async fn list_policy_versions(
        &self,
        account: AccountId,
        policy_name: &str,
    ) -> Result<Vec<ManagedPolicyVersion>, StoreError>;
    /// The managed policies attached to a user, role or group, by ARN.
    async fn list_attached_policies(
        &self,
        account: AccountId,
        kind: PrincipalKind,
        principal_name: &str,
    ) -> Result<Vec<PolicyAttachment>, StoreError>;
    /// Every attachment of one policy ARN in an account (by kind, then name).
    async fn list_policy_attachments(
        &self,
        account: AccountId,
        policy_arn: &str,
    ) -> Result<Vec<PolicyAttachment>, StoreError>;

    /// A queue by name.
    async fn get_queue(&self, account: AccountId, name: &str) -> Result<Option<Queue>, StoreError>;
    /// Every queue of an account, by name.
    async fn list_queues(&self, account: AccountId) -> Result<Vec<Queue>, StoreError>;
    /// Every message of a queue, oldest first.
    async fn list_messages(
        &self,
        account: AccountId,
        queue: &str,
    ) -> Result<Vec<QueueMessage>, StoreError>;
    /// Claims messages for one receive, atomically: first moves visible
    /// messages received `max_receive_count` times to the dead-letter queue
    /// (if any), then hides up to `max` receivable, unexpired messages
    /// (skipping FIFO groups with a message in flight) and returns them,
    /// oldest first. Concurrent receives never claim the same message.
    async fn receive_messages(
        &self,
        request: &ReceiveRequest,
    ) -> Result<Vec<QueueMessage>, StoreError>;
    /// Sets the visibility of the message holding receipt token `handle`.
    async fn change_visibility(
        &self,
        account: AccountId,
        queue: &str,
        handle: &str,
        now: Timestamp,
        visible_until: Timestamp,
    ) -> Result<VisibilityOutcome, StoreError>;
    /// A queue's message counts at `now`.
    async fn queue_counts(
        &self,
        account: AccountId,
        queue: &str,
        now: Timestamp,
    ) -> Result<QueueCounts, StoreError>;
    /// The live deduplication record of `dedup_id` at `now`.
    async fn get_dedup(
        &self,
        account: AccountId,
        queue: &str,
        dedup_id: &str,
        now: Timestamp,
    ) -> Result<Option<DedupRecord>, StoreError>;

    /// A bucket name's owner, from the catalog.
    async fn get_bucket_name(&self, name: &str) -> Result<Option<BucketName>, StoreError>;
    /// A bucket.
    async fn get_bucket(
        &self,
        account: AccountId,
        name: &str,
    ) -> Result<Option<Bucket>, StoreError>;
    /// An account's buckets, by name.
    async fn list_buckets(&self, account: AccountId) -> Result<Vec<Bucket>, StoreError>;
    /// An object.
    async fn get_object(
        &self,
        account: AccountId,
        bucket: &str,
        key: &str,
    ) -> Result<Option<S3Object>, StoreError>;
    /// Up to `limit` objects whose keys start with `prefix` and sort after
    /// `after` (byte-wise), in key order.
    async fn list_objects(
        &self,
        account: AccountId,
        bucket: &str,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<S3Object>, StoreError>;
    /// A multipart upload.
    async fn get_upload(
        &self,
        account: AccountId,
        upload_id: &str,
    ) -> Result<Option<S3Upload>, StoreError>;
    /// Up to `limit` uploads of a bucket whose keys start with `prefix`, in
    /// (key, upload id) order, after `after` when given.
    async fn list_uploads(
        &self,
        account: AccountId,
        bucket: &str,
        prefix: &str,
        after: Option<(&str, &str)>,
        limit: usize,
    ) -> Result<Vec<S3Upload>, StoreError>;
    /// The parts of an upload, by part number.
    async fn list_parts(
        &self,
        account: AccountId,
        upload_id: &str,
    ) -> Result<Vec<S3Part>, StoreError>;
    /// An access point alias's owner and name, from the catalog.
    async fn get_access_point_alias(
        &self,
        alias: &str,
    ) -> Result<Option<AccessPointAlias>, StoreError>;
    /// An access point.
    async fn get_access_point(
        &self,
        account: AccountId,
        name: &str,
    ) -> Result<Option<AccessPoint>, StoreError>;
    /// An account's access points, by name.
    async fn list_access_points(&self, account: AccountId) -> Result<Vec<AccessPoint>, StoreError>;
    /// Blob sweeps due at `now`, oldest first.
    async fn due_blob_sweeps(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<BlobSweep>, StoreError>;
    /// Whether any object, or any part of an upload still open, refers to
    /// the blob.
    async fn blob_referenced(&self, account: AccountId, blob_key: &str)
    -> Result<bool, StoreError>;

    /// Audit records of one account, newest first.
    async fn query_audit(
        &self,
        account: AccountId,
        query: &AuditQuery,
    ) -> Result<Vec<AuditEvent>, StoreError>;

    /// Claims up to `limit` due outbox items: each is hidden until
    /// `lease_until` and its attempt count is raised, so a crashed relay's
    /// items come back by themselves.
    async fn claim_outbox(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: usize,
    ) -> Result<Vec<OutboxItem>, StoreError>;
    /// Items that died, for inspection.
    async fn dead_outbox(&self) -> Result<Vec<OutboxItem>, StoreError>;

    /// Closes connections cleanly (checkpoint, release files).
    async fn close(&self);
}
