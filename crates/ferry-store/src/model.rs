use ferry_types::{AccountId, Tier, Timestamp};
use serde::{Deserialize, Serialize};

/// An account in the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// 12-digit id.
    pub id: AccountId,
    /// Unique, human-chosen name.
    pub name: String,
    /// Contact email (Organizations `Email`).
    pub email: String,
    /// Where its data lives.
    pub tier: Tier,
    /// `ACTIVE` or `SUSPENDED`.
    pub status: String,
    /// True for the management (operator) account.
    pub is_management: bool,
    /// When it joined.
    pub created_at: Timestamp,
}

/// An Organizations `CreateAccount` request and its outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateAccountRequest {
    /// `car-` followed by hex.
    pub id: String,
    /// The account name asked for.
    pub account_name: String,
    /// `SUCCEEDED` or `FAILED`.
    pub state: String,
    /// Set when it succeeded.
    pub account_id: Option<AccountId>,
    /// Set when it failed (`EMAIL_ALREADY_EXISTS`, ...).
    pub failure_reason: Option<String>,
    /// When it was asked.
    pub requested_at: Timestamp,
    /// When it finished.
    pub completed_at: Option<Timestamp>,
}

/// Where an access key id points: the only credential row in the catalog,
/// so a siloed account's secrets stay in its own store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyIndex {
    /// `AKIA...` / `ASIA...`.
    pub access_key_id: String,
    /// The account whose store holds the key.
    pub account_id: AccountId,
}

/// A long-term access key of an IAM user or the root user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessKey {
    /// `AKIA...`.
    pub access_key_id: String,
    /// Owning account.
    pub account_id: AccountId,
    /// IAM user name; `None` for the root user.
    pub user_name: Option<String>,
    /// The secret. Never logged or audited.
    pub secret_access_key: String,
    /// `Active` or `Inactive`.
    pub status: String,
    /// When it was made.
    pub created_at: Timestamp,
}

/// An IAM user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IamUser {
    /// Owning account.
    pub account_id: AccountId,
    /// Name, unique in the account (case-insensitively, as IAM).
    pub name: String,
    /// `AIDA...`.
    pub user_id: String,
    /// Path, `/` by default.
    pub path: String,
    /// The ARN of its permissions boundary (a managed policy), if any.
    pub permissions_boundary: Option<String>,
    /// Tags, in the order given.
    pub tags: Vec<(String, String)>,
    /// When it was made.
    pub created_at: Timestamp,
}

/// An IAM role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IamRole {
    /// Owning account.
    pub account_id: AccountId,
    /// Name, unique in the account.
    pub name: String,
    /// `AROA...`.
    pub role_id: String,
    /// Path, `/` by default.
    pub path: String,
    /// The trust policy (JSON).
    pub assume_role_policy: String,
    /// Seconds, 3600..=43200.
    pub max_session_duration: i64,
    /// Free text.
    pub description: String,
    /// Tags, in the order given.
    pub tags: Vec<(String, String)>,
    /// The ARN of its permissions boundary (a managed policy), if any.
    pub permissions_boundary: Option<String>,
    /// When it was made.
    pub created_at: Timestamp,
}

/// An IAM group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IamGroup {
    /// Owning account.
    pub account_id: AccountId,
    /// Name, unique in the account (case-insensitively, as IAM).
    pub name: String,
    /// `AGPA...`.
    pub group_id: String,
    /// Path, `/` by default.
    pub path: String,
    /// When it was made.
    pub created_at: Timestamp,
}

/// What an inline or attached policy hangs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PrincipalKind {
    /// An IAM user.
    User,
    /// An IAM role.
    Role,
    /// An IAM group.
    Group,
}

impl PrincipalKind {
    /// The name stored in rows.
    pub fn as_str(&self) -> &'static str {
        match self {
            PrincipalKind::User => "user",
            PrincipalKind::Role => "role",
            PrincipalKind::Group => "group",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "user" => Some(PrincipalKind::User),
            "role" => Some(PrincipalKind::Role),
            "group" => Some(PrincipalKind::Group),
            _ => None,
        }
    }
}

/// An inline policy of a user, role or group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlinePolicy {
    /// Owning account.
    pub account_id: AccountId,
    /// What it is attached to.
    pub principal_kind: PrincipalKind,
    /// The user, role or group name.
    pub principal_name: String,
    /// Policy name, unique per principal.
    pub policy_name: String,
    /// The policy JSON.
    pub document: String,
}

/// A customer managed policy. Its documents are [`ManagedPolicyVersion`]s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedPolicy {
    /// Owning account.
    pub account_id: AccountId,
    /// Name, unique in the account (case-insensitively, as IAM).
    pub name: String,
    /// `ANPA...`.
    pub policy_id: String,
    /// Path, `/` by default.
    pub path: String,
    /// Free text, fixed at creation.
    pub description: String,
    /// The number of the default version (`v3` is 3).
    pub default_version: i64,
    /// The number the next version gets: numbers are never reused.
    pub next_version: i64,
    /// When it was made.
    pub created_at: Timestamp,
    /// When its default version last changed.
    pub updated_at: Timestamp,
}

/// One version of a customer managed policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedPolicyVersion {
    /// Owning account.
    pub account_id: AccountId,
    /// The policy's name.
    pub policy_name: String,
    /// The version number (`v1` is 1).
    pub version: i64,
    /// The policy JSON.
    pub document: String,
    /// When it was made.
    pub created_at: Timestamp,
}

/// A managed policy (AWS or customer) attached to a user, role or group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyAttachment {
    /// The account of the principal.
    pub account_id: AccountId,
    /// What it is attached to.
    pub principal_kind: PrincipalKind,
    /// The user, role or group name.
    pub principal_name: String,
    /// The policy's ARN (`arn:aws:iam::aws:policy/...` for AWS managed).
    pub policy_arn: String,
}

/// One audit record. `body` is the whole CloudTrail-shaped JSON; the other
/// fields are copies of the parts `LookupEvents` filters on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// The account this copy belongs to (caller or recipient).
    pub account_id: AccountId,
    /// CloudTrail `eventID`.
    pub event_id: String,
    /// When the request was made.
    pub event_time: Timestamp,
    /// e.g. `GetCallerIdentity`.
    pub event_name: String,
    /// e.g. `sts.amazonaws.com`.
    pub event_source: String,
    /// The caller's user or role name (`root` for the root user).
    pub username: String,
    /// The access key used, if any.
    pub access_key_id: String,
    /// Whether the action only reads.
    pub read_only: bool,
    /// The CloudTrail event JSON.
    pub body: String,
}

/// Filters for reading the audit trail. All set fields must match.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// Only events at or after.
    pub start: Option<Timestamp>,
    /// Only events at or before.
    pub end: Option<Timestamp>,
    /// Exact event name.
    pub event_name: Option<String>,
    /// Exact event source.
    pub event_source: Option<String>,
    /// Exact user name.
    pub username: Option<String>,
    /// Exact access key id.
    pub access_key_id: Option<String>,
    /// Exact event id.
    pub event_id: Option<String>,
    /// Read-only flag.
    pub read_only: Option<bool>,
    /// Continue strictly after this `(event_time, event_id)`, newest first.
    pub before: Option<(Timestamp, String)>,
    /// At most this many.
    pub limit: usize,
}

/// A background delivery waiting to happen, written in the same transaction
/// as the change that caused it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxItem {
    /// Engine-assigned, increasing.
    pub id: i64,
    /// The account whose change caused it.
    pub account_id: AccountId,
    /// What to deliver; the relay picks a handler by kind.
    pub kind: String,
    /// Handler-specific payload (JSON).
    pub payload: String,
    /// Delivery attempts so far.
    pub attempts: i64,
    /// Not before this time.
    pub available_at: Timestamp,
    /// Last failure, if any.
    pub last_error: Option<String>,
}

/// An outbox item to enqueue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOutboxItem {
    /// The account whose change caused it.
    pub account_id: AccountId,
    /// Handler kind.
    pub kind: String,
    /// Payload (JSON).
    pub payload: String,
    /// Not before this time.
    pub available_at: Timestamp,
}

/// An SQS queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queue {
    /// Owning account.
    pub account_id: AccountId,
    /// Name, unique in the account (case-sensitive, as SQS).
    pub name: String,
    /// The set attributes, sorted by name.
    pub attributes: Vec<(String, String)>,
    /// Tags, in the order given.
    pub tags: Vec<(String, String)>,
    /// When it was made.
    pub created_at: Timestamp,
    /// When its attributes last changed.
    pub updated_at: Timestamp,
}

/// A message in an SQS queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueMessage {
    /// Owning account.
    pub account_id: AccountId,
    /// The queue's name.
    pub queue_name: String,
    /// A UUID.
    pub message_id: String,
    /// Arrival order in its store, assigned on insert (writers pass 0).
    pub seq: i64,
    /// The body.
    pub body: String,
    /// Hex MD5 of the body.
    pub md5: String,
    /// What else SQS keeps with a message (message and system attributes,
    /// their digests, sender, sequence number), as JSON the store does not
    /// read.
    pub meta: String,
    /// The message group (FIFO order and blocking; fair queues on standard
    /// queues).
    pub group_id: Option<String>,
    /// The queue a dead-lettered message was moved from.
    pub source_queue: Option<String>,
    /// When it was sent.
    pub sent_at: Timestamp,
    /// Not receivable before this time.
    pub visible_at: Timestamp,
    /// Gone at this time (the retention period after sending).
    pub expires_at: Timestamp,
    /// How many times it was received.
    pub receive_count: i64,
    /// When it was first received.
    pub first_received_at: Option<Timestamp>,
    /// The token of the latest receive.
    pub receipt_handle: Option<String>,
}

/// One `ReceiveMessage`: claim up to `max` receivable messages of a queue,
/// oldest first, each hidden until `visible_until` with the receipt token
/// `token` followed by its `seq`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiveRequest {
    /// Owning account.
    pub account: AccountId,
    /// Queue name.
    pub queue: String,
    /// The time of the receive.
    pub now: Timestamp,
    /// At most this many messages.
    pub max: usize,
    /// Claimed messages are hidden until then.
    pub visible_until: Timestamp,
    /// The receipt token prefix of this receive.
    pub token: String,
    /// FIFO: a group with a message in flight yields nothing.
    pub fifo: bool,
    /// Move messages received too often to a dead-letter queue first.
    pub redrive: Option<Redrive>,
}

/// A queue's redrive policy, as the store applies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redrive {
    /// A message received this often is moved instead of delivered again.
    pub max_receive_count: i64,
    /// The dead-letter queue, in the same account.
    pub dead_letter_queue: String,
    /// The dead-letter queue's retention, counted from the original send.
    pub retention_seconds: i64,
}

/// The outcome of changing a message's visibility by receipt token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VisibilityOutcome {
    /// Done.
    Changed,
    /// The message is visible: nobody holds it.
    NotInFlight,
    /// No message of the queue holds this token (deleted, or received again).
    Gone,
}

/// How many messages a queue holds, by state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueCounts {
    /// Receivable now.
    pub visible: u64,
    /// Received and not yet visible again.
    pub in_flight: u64,
    /// Sent with a delay that has not passed.
    pub delayed: u64,
}

/// A FIFO deduplication record: within its window, a send with the same id
/// is answered with the first message's id and stores nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DedupRecord {
    /// Owning account.
    pub account_id: AccountId,
    /// Queue name.
    pub queue_name: String,
    /// The deduplication id (scoped by group when the queue says so).
    pub dedup_id: String,
    /// The first message's id.
    pub message_id: String,
    /// The first message's sequence number.
    pub sequence_number: String,
    /// End of the window.
    pub expires_at: Timestamp,
}

/// A bucket name in the catalog: names are unique across all accounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketName {
    /// The bucket name.
    pub name: String,
    /// Its owner.
    pub account_id: AccountId,
    /// When it was taken.
    pub created_at: Timestamp,
}

/// An S3 bucket, in its owner's store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket {
    /// Owner.
    pub account_id: AccountId,
    /// Name.
    pub name: String,
    /// The region it was created in.
    pub region: String,
    /// The bucket policy.
    pub policy: Option<String>,
    /// Tags, in the order given.
    pub tags: Vec<(String, String)>,
    /// When it was made.
    pub created_at: Timestamp,
}

/// An S3 object's metadata; its bytes are the blob `blob_key` in the
/// owner's blob root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Object {
    /// Owner of the bucket.
    pub account_id: AccountId,
    /// Bucket name.
    pub bucket: String,
    /// Object key.
    pub key: String,
    /// Where the bytes are.
    pub blob_key: String,
    /// Size in bytes.
    pub size: i64,
    /// The ETag, quoted.
    pub etag: String,
    /// Content headers, user metadata and checksums, as JSON the store
    /// does not read.
    pub meta: String,
    /// Object tags.
    pub tags: Vec<(String, String)>,
    /// Last write.
    pub last_modified: Timestamp,
}

/// A blob to look at after `not_before`: deleted then unless an object
/// refers to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobSweep {
    /// The account whose blob root holds it.
    pub account_id: AccountId,
    /// The blob.
    pub blob_key: String,
    /// Not before then.
    pub not_before: Timestamp,
}

/// An access point alias in the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessPointAlias {
    /// The alias (`NAME-RANDOM-s3alias`).
    pub alias: String,
    /// The access point's account.
    pub account_id: AccountId,
    /// The access point's name.
    pub name: String,
}

/// An S3 access point, in its owner's store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessPoint {
    /// Owner.
    pub account_id: AccountId,
    /// Name, unique in the account (and region).
    pub name: String,
    /// The bucket it leads to.
    pub bucket: String,
    /// The bucket's owner (another account for a cross-account access point).
    pub bucket_account_id: AccountId,
    /// Its alias.
    pub alias: String,
    /// `Internet` or `VPC`.
    pub network_origin: String,
    /// The VPC, for a VPC access point.
    pub vpc_id: Option<String>,
    /// The access point policy.
    pub policy: Option<String>,
    /// When it was made.
    pub created_at: Timestamp,
}

/// A multipart upload in progress, in the bucket owner's store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Upload {
    /// Owner of the bucket.
    pub account_id: AccountId,
    /// The upload id (random, unique in the account).
    pub upload_id: String,
    /// Bucket name.
    pub bucket: String,
    /// The key the object will have.
    pub key: String,
    /// Content headers and user metadata for the object, as JSON the store
    /// does not read.
    pub meta: String,
    /// Who started it (an ARN), for `ListMultipartUploads`.
    pub initiator: String,
    /// When it was started.
    pub initiated_at: Timestamp,
}

/// One uploaded part of a multipart upload; its bytes are the blob
/// `blob_key` in the owner's blob root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Part {
    /// Owner of the bucket.
    pub account_id: AccountId,
    /// The upload.
    pub upload_id: String,
    /// 1 to 10000.
    pub part_number: i32,
    /// Where the bytes are.
    pub blob_key: String,
    /// Size in bytes.
    pub size: i64,
    /// The part's ETag, quoted.
    pub etag: String,
    /// The part's checksum (algorithm and value), as text the store does
    /// not read; `None` for a part stored without one.
    pub checksum: Option<String>,
    /// When it was uploaded.
    pub last_modified: Timestamp,
}
