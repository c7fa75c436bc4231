use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use ferry_types::{AccountId, Timestamp};

use crate::StoreError;
use crate::model::*;
use crate::placement::StoreFactory;
use crate::repo::{Store, Write, WriteBatch};

/// The in-memory engine: the reference semantics for the conformance suite
/// and a fast store for unit tests. Nothing survives the process.
#[derive(Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

#[derive(Default, Clone)]
struct Inner {
    accounts: Vec<Account>,
    create_requests: HashMap<String, CreateAccountRequest>,
    key_index: HashMap<String, KeyIndex>,
    keys: HashMap<String, AccessKey>,
    users: Vec<IamUser>,
    roles: Vec<IamRole>,
    groups: Vec<IamGroup>,
    /// (account, group name, user name) as first given.
    members: Vec<(AccountId, String, String)>,
    policies: Vec<InlinePolicy>,
    managed: Vec<ManagedPolicy>,
    versions: Vec<ManagedPolicyVersion>,
    attachments: Vec<PolicyAttachment>,
    audit: Vec<AuditEvent>,
    outbox: BTreeMap<i64, (OutboxItem, bool)>,
    settings: HashMap<String, String>,
    queues: Vec<Queue>,
    messages: Vec<QueueMessage>,
    dedup: Vec<DedupRecord>,
    bucket_names: HashMap<String, BucketName>,
    buckets: Vec<Bucket>,
    /// (account, bucket, key) -> object; ordered so listing is a range.
    objects: BTreeMap<(AccountId, String, String), S3Object>,
    blob_sweeps: HashMap<(AccountId, String), BlobSweep>,
    /// (account, upload id) -> upload.
    uploads: HashMap<(AccountId, String), S3Upload>,
    /// (account, upload id, part number) -> part; ordered so an upload's
    /// parts are a range.
    parts: BTreeMap<(AccountId, String, i32), S3Part>,
    ap_aliases: HashMap<String, AccessPointAlias>,
    access_points: Vec<AccessPoint>,
    next_outbox_id: i64,
    next_message_seq: i64,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Inner>, StoreError> {
        self.inner
            .lock()
            .map_err(|_| StoreError::Engine("memory store lock poisoned".into()))
    }
}

fn same_attachment(x: &PolicyAttachment, y: &PolicyAttachment) -> bool {
    x.account_id == y.account_id
        && x.principal_kind == y.principal_kind
        && x.principal_name.eq_ignore_ascii_case(&y.principal_name)
        && x.policy_arn == y.policy_arn
}

fn conflict(what: impl Into<String>) -> StoreError {
    StoreError::Conflict(what.into())
}

impl Inner {
    /// The reference semantics of `Store::receive_messages`.
    fn receive(&mut self, r: &ReceiveRequest) -> Vec<QueueMessage> {
        let of_queue = |m: &QueueMessage, q: &str| m.account_id == r.account && m.queue_name == q;
        if let Some(d) = &r.redrive {
            let mut moved = Vec::new();
            self.messages.retain(|m| {
                let over = of_queue(m, &r.queue)
                    && m.visible_at <= r.now
                    && m.receive_count >= d.max_receive_count;
                if over {
                    moved.push(m.clone());
                }
                !over
            });
            moved.sort_by_key(|m| m.seq);
            for mut m in moved {
                self.next_message_seq += 1;
                m.seq = self.next_message_seq;
                m.source_queue.get_or_insert_with(|| m.queue_name.clone());
                m.queue_name = d.dead_letter_queue.clone();
                m.visible_at = r.now;
                m.expires_at = m.sent_at + chrono::Duration::seconds(d.retention_seconds);
                m.receive_count = 0;
                m.first_received_at = None;
                m.receipt_handle = None;
                self.messages.push(m);
            }
        }
        let blocked: std::collections::HashSet<String> = if r.fifo {
            self.messages
                .iter()
                .filter(|m| of_queue(m, &r.queue) && m.visible_at > r.now && m.receive_count > 0)
                .filter_map(|m| m.group_id.clone())
                .collect()
        } else {
            Default::default()
        };
        let mut picked: Vec<usize> = self
            .messages
            .iter()
            .enumerate()
            .filter(|(_, m)| {
                of_queue(m, &r.queue)
                    && m.visible_at <= r.now
                    && m.expires_at > r.now
                    && m.group_id.as_ref().is_none_or(|g| !blocked.contains(g))
            })
            .map(|(i, _)| i)
            .collect();
        picked.sort_by_key(|&i| self.messages[i].seq);
        picked.truncate(r.max);
        let mut out = Vec::with_capacity(picked.len());
        for i in picked {
            let m = &mut self.messages[i];
            m.receive_count += 1;
            m.first_received_at.get_or_insert(r.now);
            m.visible_at = r.visible_until;
            m.receipt_handle = Some(format!("{}{}", r.token, m.seq));
            out.push(m.clone());
        }
        out
    }

    fn apply_one(&mut self, w: Write) -> Result<(), StoreError> {
        match w {
            Write::PutAccount(a) => {
                if self
                    .accounts
                    .iter()
                    .any(|x| x.id == a.id || x.name == a.name)
                {
                    return Err(conflict(format!("account {}", a.name)));
                }
                self.accounts.push(a);
            }
            Write::PutCreateAccountRequest(r) => {
                self.create_requests.insert(r.id.clone(), r);
            }
            Write::PutKeyIndex(k) => {
                if self.key_index.contains_key(&k.access_key_id) {
                    return Err(conflict(format!("key {}", k.access_key_id)));
                }
                self.key_index.insert(k.access_key_id.clone(), k);
            }
            Write::PutAccessKey(k) => {
                if self.keys.contains_key(&k.access_key_id) {
                    return Err(conflict(format!("key {}", k.access_key_id)));
                }
                self.keys.insert(k.access_key_id.clone(), k);
            }
            Write::PutUser(u) => {
                if self
                    .users
                    .iter()
                    .any(|x| x.account_id == u.account_id && x.name.eq_ignore_ascii_case(&u.name))
                {
                    return Err(conflict(format!("user {}", u.name)));
                }
                self.users.push(u);
            }
            Write::SetUserTags {
                account,
                name,
                tags,
            } => {
                if let Some(u) = self
                    .users
                    .iter_mut()
                    .find(|x| x.account_id == account && x.name.eq_ignore_ascii_case(&name))
                {
                    u.tags = tags;
                }
            }
            Write::PutRole(r) => {
                if self
                    .roles
                    .iter()
                    .any(|x| x.account_id == r.account_id && x.name.eq_ignore_ascii_case(&r.name))
                {
                    return Err(conflict(format!("role {}", r.name)));
                }
                self.roles.push(r);
            }
            Write::PutQueue(q) => {
                if self
                    .queues
                    .iter()
                    .any(|x| x.account_id == q.account_id && x.name == q.name)
                {
                    return Err(conflict(format!("queue {}", q.name)));
                }
                self.queues.push(q);
            }
            Write::UpdateQueue(q) => {
                if let Some(x) = self
                    .queues
                    .iter_mut()
                    .find(|x| x.account_id == q.account_id && x.name == q.name)
                {
                    x.attributes = q.attributes;
                    x.updated_at = q.updated_at;
                }
            }
            Write::SetQueueTags {
                account,
                name,
                tags,
            } => {
                if let Some(x) = self
                    .queues
                    .iter_mut()
                    .find(|x| x.account_id == account && x.name == name)
                {
                    x.tags = tags;
                }
            }
            Write::DeleteQueue { account, name } => {
                self.queues
                    .retain(|x| !(x.account_id == account && x.name == name));
                self.messages
                    .retain(|x| !(x.account_id == account && x.queue_name == name));
                self.dedup
                    .retain(|x| !(x.account_id == account && x.queue_name == name));
            }
            Write::PutMessage(mut m) => {
                if self.messages.iter().any(|x| {
                    x.account_id == m.account_id
                        && x.queue_name == m.queue_name
                        && x.message_id == m.message_id
                }) {
                    return Err(conflict(format!("message {}", m.message_id)));
                }
                self.next_message_seq += 1;
                m.seq = self.next_message_seq;
                self.messages.push(m);
            }
            Write::DeleteMessage {
                account,
                queue,
                message_id,
                receipt_handle,
            } => {
                self.messages.retain(|x| {
                    !(x.account_id == account
                        && x.queue_name == queue
                        && x.message_id == message_id
                        && receipt_handle
                            .as_ref()
                            .is_none_or(|h| x.receipt_handle.as_ref() == Some(h)))
                });
            }
            Write::PurgeQueue { account, name } => {
                self.messages
                    .retain(|x| !(x.account_id == account && x.queue_name == name));
            }
            Write::PutDedup { record, now } => {
                self.dedup.retain(|x| {
                    !(x.account_id == record.account_id
                        && x.queue_name == record.queue_name
                        && x.dedup_id == record.dedup_id
                        && x.expires_at <= now)
                });
                if self.dedup.iter().any(|x| {
                    x.account_id == record.account_id
                        && x.queue_name == record.queue_name
                        && x.dedup_id == record.dedup_id
                }) {
                    return Err(conflict(format!("deduplication id {}", record.dedup_id)));
                }
                self.dedup.push(record);
            }
            Write::ExpireMessages { now } => {
                self.messages.retain(|x| x.expires_at > now);
                self.dedup.retain(|x| x.expires_at > now);
            }
            Write::PutGroup(g) => {
                if self
                    .groups
                    .iter()
                    .any(|x| x.account_id == g.account_id && x.name.eq_ignore_ascii_case(&g.name))
                {
                    return Err(conflict(format!("group {}", g.name)));
                }
                self.groups.push(g);
            }
            Write::DeleteGroup { account, name } => {
                self.groups
                    .retain(|x| !(x.account_id == account && x.name.eq_ignore_ascii_case(&name)));
                self.members
                    .retain(|(a, g, _)| !(*a == account && g.eq_ignore_ascii_case(&name)));
            }
            Write::AddGroupMember {
                account,
                group,
                user,
            } => {
                if !self.members.iter().any(|(a, g, u)| {
                    *a == account && g.eq_ignore_ascii_case(&group) && u.eq_ignore_ascii_case(&user)
                }) {
                    self.members.push((account, group, user));
                }
            }
            Write::RemoveGroupMember {
                account,
                group,
                user,
            } => self.members.retain(|(a, g, u)| {
                !(*a == account && g.eq_ignore_ascii_case(&group) && u.eq_ignore_ascii_case(&user))
            }),
            Write::PutInlinePolicy(p) => {
                self.policies.retain(|x| {
                    !(x.account_id == p.account_id
                        && x.principal_kind == p.principal_kind
                        && x.principal_name == p.principal_name
                        && x.policy_name == p.policy_name)
                });
                self.policies.push(p);
            }
            Write::UpdateRole(r) => {
                if let Some(x) = self
                    .roles
                    .iter_mut()
                    .find(|x| x.account_id == r.account_id && x.name.eq_ignore_ascii_case(&r.name))
                {
                    let boundary = x.permissions_boundary.take();
                    *x = IamRole {
                        permissions_boundary: boundary,
                        ..r
                    };
                }
            }
            Write::SetPermissionsBoundary {
                account,
                kind,
                name,
                policy_arn,
            } => match kind {
                PrincipalKind::User => {
                    if let Some(u) = self
                        .users
                        .iter_mut()
                        .find(|x| x.account_id == account && x.name.eq_ignore_ascii_case(&name))
                    {
                        u.permissions_boundary = policy_arn;
                    }
                }
                PrincipalKind::Role => {
                    if let Some(r) = self
                        .roles
                        .iter_mut()
                        .find(|x| x.account_id == account && x.name.eq_ignore_ascii_case(&name))
                    {
                        r.permissions_boundary = policy_arn;
                    }
                }
                // Groups have no boundary in IAM.
                PrincipalKind::Group => {}
            },
            Write::DeleteRole { account, name } => self
                .roles
                .retain(|x| !(x.account_id == account && x.name.eq_ignore_ascii_case(&name))),
            Write::DeleteUser { account, name } => self
                .users
                .retain(|x| !(x.account_id == account && x.name.eq_ignore_ascii_case(&name))),
            Write::DeleteInlinePolicy {
                account,
                kind,
                principal_name,
                policy_name,
            } => self.policies.retain(|x| {
                !(x.account_id == account
                    && x.principal_kind == kind
                    && x.principal_name.eq_ignore_ascii_case(&principal_name)
                    && x.policy_name == policy_name)
            }),
            Write::PutManagedPolicy(p) => {
                if self
                    .managed
                    .iter()
                    .any(|x| x.account_id == p.account_id && x.name.eq_ignore_ascii_case(&p.name))
                {
                    return Err(conflict(format!("policy {}", p.name)));
                }
                self.managed.push(p);
            }
            Write::UpdateManagedPolicy(p) => {
                if let Some(x) = self
                    .managed
                    .iter_mut()
                    .find(|x| x.account_id == p.account_id && x.name.eq_ignore_ascii_case(&p.name))
                {
                    x.default_version = p.default_version;
                    x.next_version = p.next_version;
                    x.updated_at = p.updated_at;
                }
            }
            Write::DeleteManagedPolicy { account, name } => {
                self.managed
                    .retain(|x| !(x.account_id == account && x.name.eq_ignore_ascii_case(&name)));
                self.versions.retain(|x| {
                    !(x.account_id == account && x.policy_name.eq_ignore_ascii_case(&name))
                });
            }
            Write::PutPolicyVersion(v) => {
                if self.versions.iter().any(|x| {
                    x.account_id == v.account_id
                        && x.policy_name.eq_ignore_ascii_case(&v.policy_name)
                        && x.version == v.version
                }) {
                    return Err(conflict(format!("policy version {}", v.version)));
                }
                self.versions.push(v);
            }
            Write::DeletePolicyVersion {
                account,
                policy_name,
                version,
            } => self.versions.retain(|x| {
                !(x.account_id == account
                    && x.policy_name.eq_ignore_ascii_case(&policy_name)
                    && x.version == version)
            }),
            Write::AttachPolicy(a) => {
                if !self.attachments.iter().any(|x| same_attachment(x, &a)) {
                    self.attachments.push(a);
                }
            }
            Write::DetachPolicy(a) => self.attachments.retain(|x| !same_attachment(x, &a)),
            Write::DeleteAccessKey {
                account,
                access_key_id,
            } => {
                if self
                    .keys
                    .get(&access_key_id)
                    .is_some_and(|k| k.account_id == account)
                {
                    self.keys.remove(&access_key_id);
                }
            }
            Write::SetAccessKeyStatus {
                account,
                access_key_id,
                status,
            } => {
                if let Some(k) = self.keys.get_mut(&access_key_id)
                    && k.account_id == account
                {
                    k.status = status;
                }
            }
            Write::DeleteKeyIndex(id) => {
                self.key_index.remove(&id);
            }
            Write::InitSetting { key, value } => {
                self.settings.entry(key).or_insert(value);
            }
            Write::PutBucketName(b) => {
                if self.bucket_names.contains_key(&b.name) {
                    return Err(conflict(format!("bucket name {}", b.name)));
                }
                self.bucket_names.insert(b.name.clone(), b);
            }
            Write::DeleteBucketName(name) => {
                self.bucket_names.remove(&name);
            }
            Write::PutBucket(b) => {
                if self
                    .buckets
                    .iter()
                    .any(|x| x.account_id == b.account_id && x.name == b.name)
                {
                    return Err(conflict(format!("bucket {}", b.name)));
                }
                self.buckets.push(b);
            }
            Write::UpdateBucket(b) => {
                if let Some(x) = self
                    .buckets
                    .iter_mut()
                    .find(|x| x.account_id == b.account_id && x.name == b.name)
                {
                    x.policy = b.policy;
                    x.tags = b.tags;
                }
            }
            Write::DeleteBucket { account, name } => {
                self.buckets
                    .retain(|x| !(x.account_id == account && x.name == name));
            }
            Write::PutObject(o) => {
                self.objects
                    .insert((o.account_id, o.bucket.clone(), o.key.clone()), o);
            }
            Write::DeleteObject {
                account,
                bucket,
                key,
            } => {
                self.objects.remove(&(account, bucket, key));
            }
            Write::PutBlobSweep(s) => {
                self.blob_sweeps
                    .insert((s.account_id, s.blob_key.clone()), s);
            }
            Write::DeleteBlobSweep { account, blob_key } => {
                self.blob_sweeps.remove(&(account, blob_key));
            }
            Write::PutUpload(u) => {
                let id = (u.account_id, u.upload_id.clone());
                if self.uploads.contains_key(&id) {
                    return Err(conflict(format!("upload {}", u.upload_id)));
                }
                self.uploads.insert(id, u);
            }
            Write::PutPart(p) => {
                self.parts
                    .insert((p.account_id, p.upload_id.clone(), p.part_number), p);
            }
            Write::DeleteUpload { account, upload_id } => {
                self.parts
                    .retain(|(a, u, _), _| !(*a == account && *u == upload_id));
                self.uploads.remove(&(account, upload_id));
            }
            Write::PutAccessPointAlias(a) => {
                if self.ap_aliases.contains_key(&a.alias) {
                    return Err(conflict(format!("access point alias {}", a.alias)));
                }
                self.ap_aliases.insert(a.alias.clone(), a);
            }
            Write::DeleteAccessPointAlias(alias) => {
                self.ap_aliases.remove(&alias);
            }
            Write::PutAccessPoint(a) => {
                if self
                    .access_points
                    .iter()
                    .any(|x| x.account_id == a.account_id && x.name == a.name)
                {
                    return Err(conflict(format!("access point {}", a.name)));
                }
                self.access_points.push(a);
            }
            Write::UpdateAccessPoint(a) => {
                if let Some(x) = self
                    .access_points
                    .iter_mut()
                    .find(|x| x.account_id == a.account_id && x.name == a.name)
                {
                    x.policy = a.policy;
                }
            }
            Write::DeleteAccessPoint { account, name } => {
                self.access_points
                    .retain(|x| !(x.account_id == account && x.name == name));
            }
            Write::AppendAudit(events) => self.audit.extend(events),
            Write::Enqueue(n) => {
                self.next_outbox_id += 1;
                let id = self.next_outbox_id;
                let item = OutboxItem {
                    id,
                    account_id: n.account_id,
                    kind: n.kind,
                    payload: n.payload,
                    attempts: 0,
                    available_at: n.available_at,
                    last_error: None,
                };
                self.outbox.insert(id, (item, false));
            }
            Write::OutboxDone(id) => {
                self.outbox.remove(&id);
            }
            Write::OutboxRetry { id, at, error } => {
                if let Some((item, _)) = self.outbox.get_mut(&id) {
                    item.available_at = at;
                    item.last_error = Some(error);
                }
            }
            Write::OutboxDead { id, error } => {
                if let Some((item, dead)) = self.outbox.get_mut(&id) {
                    item.last_error = Some(error);
                    *dead = true;
                }
            }
        }
        Ok(())
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn apply(&self, batch: WriteBatch) -> Result<(), StoreError> {
        let mut inner = self.lock()?;
        // Apply to a copy so a failing write leaves nothing half-done.
        let mut next = inner.clone();
        for w in batch.0 {
            next.apply_one(w)?;
        }
        *inner = next;
        Ok(())
    }

    async fn get_account(&self, id: AccountId) -> Result<Option<Account>, StoreError> {
        Ok(self.lock()?.accounts.iter().find(|a| a.id == id).cloned())
    }

    async fn get_account_by_name(&self, name: &str) -> Result<Option<Account>, StoreError> {
        Ok(self
            .lock()?
            .accounts
            .iter()
            .find(|a| a.name == name)
            .cloned())
    }

    async fn get_account_by_email(&self, email: &str) -> Result<Option<Account>, StoreError> {
        Ok(self
            .lock()?
            .accounts
            .iter()
            .find(|a| a.email.eq_ignore_ascii_case(email))
            .cloned())
    }

    async fn list_accounts(&self) -> Result<Vec<Account>, StoreError> {
        let mut v = self.lock()?.accounts.clone();
        v.sort_by_key(|a| (a.created_at, a.id));
        Ok(v)
    }

    async fn get_create_account_request(
        &self,
        id: &str,
    ) -> Result<Option<CreateAccountRequest>, StoreError> {
        Ok(self.lock()?.create_requests.get(id).cloned())
    }

    async fn get_key_index(&self, access_key_id: &str) -> Result<Option<KeyIndex>, StoreError> {
        Ok(self.lock()?.key_index.get(access_key_id).cloned())
    }

    async fn get_access_key(
        &self,
        account: AccountId,
        access_key_id: &str,
    ) -> Result<Option<AccessKey>, StoreError> {
        Ok(self
            .lock()?
            .keys
            .get(access_key_id)
            .filter(|k| k.account_id == account)
            .cloned())
    }

    async fn list_access_keys(
        &self,
        account: AccountId,
        user_name: Option<&str>,
    ) -> Result<Vec<AccessKey>, StoreError> {
        let mut keys: Vec<AccessKey> = self
            .lock()?
            .keys
            .values()
            .filter(|k| k.account_id == account && k.user_name.as_deref() == user_name)
            .cloned()
            .collect();
        keys.sort_by(|a, b| {
            (a.created_at, &a.access_key_id).cmp(&(b.created_at, &b.access_key_id))
        });
        Ok(keys)
    }

    async fn get_user(
        &self,
        account: AccountId,
        name: &str,
    ) -> Result<Option<IamUser>, StoreError> {
        Ok(self
            .lock()?
            .users
            .iter()
            .find(|u| u.account_id == account && u.name.eq_ignore_ascii_case(name))
            .cloned())
    }

    async fn get_role(
        &self,
        account: AccountId,
        name: &str,
    ) -> Result<Option<IamRole>, StoreError> {
        Ok(self
            .lock()?
            .roles
            .iter()
            .find(|r| r.account_id == account && r.name.eq_ignore_ascii_case(name))
            .cloned())
    }

    async fn list_users(&self, account: AccountId) -> Result<Vec<IamUser>, StoreError> {
        let mut v: Vec<IamUser> = self
            .lock()?
            .users
            .iter()
            .filter(|u| u.account_id == account)
            .cloned()
            .collect();
        v.sort_by_key(|u| u.name.to_lowercase());
        Ok(v)
    }

    async fn list_roles(&self, account: AccountId) -> Result<Vec<IamRole>, StoreError> {
        let mut v: Vec<IamRole> = self
            .lock()?
            .roles
            .iter()
            .filter(|r| r.account_id == account)
            .cloned()
            .collect();
        v.sort_by_key(|r| r.name.to_lowercase());
        Ok(v)
    }

    async fn get_group(
        &self,
        account: AccountId,
        name: &str,
    ) -> Result<Option<IamGroup>, StoreError> {
        Ok(self
            .lock()?
            .groups
            .iter()
            .find(|g| g.account_id == account && g.name.eq_ignore_ascii_case(name))
            .cloned())
    }

    async fn list_groups(&self, account: AccountId) -> Result<Vec<IamGroup>, StoreError> {
        let mut v: Vec<IamGroup> = self
            .lock()?
            .groups
            .iter()
            .filter(|g| g.account_id == account)
            .cloned()
            .collect();
        v.sort_by_key(|g| g.name.to_lowercase());
        Ok(v)
    }

    async fn list_group_members(
        &self,
        account: AccountId,
        group: &str,
    ) -> Result<Vec<String>, StoreError> {
        let mut v: Vec<String> = self
            .lock()?
            .members
            .iter()
            .filter(|(a, g, _)| *a == account && g.eq_ignore_ascii_case(group))
            .map(|(_, _, u)| u.clone())
            .collect();
        v.sort_by_key(|u| u.to_lowercase());
        Ok(v)
    }

    async fn list_groups_for_user(
        &self,
        account: AccountId,
        user: &str,
    ) -> Result<Vec<IamGroup>, StoreError> {
        let inner = self.lock()?;
        let mut v: Vec<IamGroup> = inner
            .groups
            .iter()
            .filter(|g| {
                g.account_id == account
                    && inner.members.iter().any(|(a, gn, u)| {
                        *a == account
                            && gn.eq_ignore_ascii_case(&g.name)
                            && u.eq_ignore_ascii_case(user)
                    })
            })
            .cloned()
            .collect();
        v.sort_by_key(|g| g.name.to_lowercase());
        Ok(v)
    }

    async fn get_setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self.lock()?.settings.get(key).cloned())
    }

    async fn list_inline_policies(
        &self,
        account: AccountId,
        kind: PrincipalKind,
        principal_name: &str,
    ) -> Result<Vec<InlinePolicy>, StoreError> {
        let mut v: Vec<InlinePolicy> = self
            .lock()?
            .policies
            .iter()
            .filter(|p| {
                p.account_id == account
                    && p.principal_kind == kind
                    && p.principal_name.eq_ignore_ascii_case(principal_name)
            })
            .cloned()
            .collect();
        v.sort_by(|a, b| a.policy_name.cmp(&b.policy_name));
        Ok(v)
    }

    async fn get_managed_policy(
        &self,
        account: AccountId,
        name: &str,
    ) -> Result<Option<ManagedPolicy>, StoreError> {
        Ok(self
            .lock()?
            .managed
            .iter()
            .find(|p| p.account_id == account && p.name.eq_ignore_ascii_case(name))
            .cloned())
    }

    async fn list_managed_policies(
        &self,
        account: AccountId,
    ) -> Result<Vec<ManagedPolicy>, StoreError> {
        let mut v: Vec<ManagedPolicy> = self
            .lock()?
            .managed
            .iter()
            .filter(|p| p.account_id == account)
            .cloned()
            .collect();
        v.sort_by_key(|p| p.name.to_lowercase());
        Ok(v)
    }

    async fn list_policy_versions(
        &self,
        account: AccountId,
        policy_name: &str,
    ) -> Result<Vec<ManagedPolicyVersion>, StoreError> {
        let mut v: Vec<ManagedPolicyVersion> = self
            .lock()?
            .versions
            .iter()
            .filter(|x| x.account_id == account && x.policy_name.eq_ignore_ascii_case(policy_name))
            .cloned()
            .collect();
        v.sort_by_key(|x| x.version);
        Ok(v)
    }

    async fn list_attached_policies(
        &self,
        account: AccountId,
        kind: PrincipalKind,
        principal_name: &str,
    ) -> Result<Vec<PolicyAttachment>, StoreError> {
        let mut v: Vec<PolicyAttachment> = self
            .lock()?
            .attachments
            .iter()
            .filter(|x| {
                x.account_id == account
                    && x.principal_kind == kind
                    && x.principal_name.eq_ignore_ascii_case(principal_name)
            })
            .cloned()
            .collect();
        v.sort_by(|a, b| a.policy_arn.cmp(&b.policy_arn));
        Ok(v)
    }

    async fn list_policy_attachments(
        &self,
        account: AccountId,
        policy_arn: &str,
    ) -> Result<Vec<PolicyAttachment>, StoreError> {
        let mut v: Vec<PolicyAttachment> = self
            .lock()?
            .attachments
            .iter()
            .filter(|x| x.account_id == account && x.policy_arn == policy_arn)
            .cloned()
            .collect();
        v.sort_by(|a, b| {
            (a.principal_kind.as_str(), a.principal_name.to_lowercase())
                .cmp(&(b.principal_kind.as_str(), b.principal_name.to_lowercase()))
        });
        Ok(v)
    }

    async fn query_audit(
        &self,
        account: AccountId,
        q: &AuditQuery,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        let inner = self.lock()?;
        let mut v: Vec<AuditEvent> = inner
            .audit
            .iter()
            .filter(|e| e.account_id == account && crate::conformance::audit_matches(e, q))
            .cloned()
            .collect();
        v.sort_by(|a, b| (b.event_time, &b.event_id).cmp(&(a.event_time, &a.event_id)));
        v.truncate(q.limit);
        Ok(v)
    }

    async fn claim_outbox(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: usize,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        let mut inner = self.lock()?;
        let mut claimed = Vec::new();
        for (item, dead) in inner.outbox.values_mut() {
            if claimed.len() >= limit {
                break;
            }
            if !*dead && item.available_at <= now {
                item.attempts += 1;
                item.available_at = lease_until;
                claimed.push(item.clone());
            }
        }
        Ok(claimed)
    }

    async fn dead_outbox(&self) -> Result<Vec<OutboxItem>, StoreError> {
        Ok(self
            .lock()?
            .outbox
            .values()
            .filter(|(_, dead)| *dead)
            .map(|(i, _)| i.clone())
            .collect())
    }

    async fn get_queue(&self, account: AccountId, name: &str) -> Result<Option<Queue>, StoreError> {
        Ok(self
            .lock()?
            .queues
            .iter()
            .find(|x| x.account_id == account && x.name == name)
            .cloned())
    }

    async fn list_queues(&self, account: AccountId) -> Result<Vec<Queue>, StoreError> {
        let mut v: Vec<Queue> = self
            .lock()?
            .queues
            .iter()
            .filter(|x| x.account_id == account)
            .cloned()
            .collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(v)
    }

    async fn list_messages(
        &self,
        account: AccountId,
        queue: &str,
    ) -> Result<Vec<QueueMessage>, StoreError> {
        let mut v: Vec<QueueMessage> = self
            .lock()?
            .messages
            .iter()
            .filter(|x| x.account_id == account && x.queue_name == queue)
            .cloned()
            .collect();
        v.sort_by_key(|m| m.seq);
        Ok(v)
    }

    async fn get_bucket_name(&self, name: &str) -> Result<Option<BucketName>, StoreError> {
        Ok(self.lock()?.bucket_names.get(name).cloned())
    }

    async fn get_bucket(
        &self,
        account: AccountId,
        name: &str,
    ) -> Result<Option<Bucket>, StoreError> {
        Ok(self
            .lock()?
            .buckets
            .iter()
            .find(|b| b.account_id == account && b.name == name)
            .cloned())
    }

    async fn list_buckets(&self, account: AccountId) -> Result<Vec<Bucket>, StoreError> {
        let mut v: Vec<Bucket> = self
            .lock()?
            .buckets
            .iter()
            .filter(|b| b.account_id == account)
            .cloned()
            .collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(v)
    }

    async fn get_object(
        &self,
        account: AccountId,
        bucket: &str,
        key: &str,
    ) -> Result<Option<S3Object>, StoreError> {
        Ok(self
            .lock()?
            .objects
            .get(&(account, bucket.to_string(), key.to_string()))
            .cloned())
    }

    async fn list_objects(
        &self,
        account: AccountId,
        bucket: &str,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<S3Object>, StoreError> {
        let inner = self.lock()?;
        let from = (account, bucket.to_string(), prefix.to_string());
        Ok(inner
            .objects
            .range(from..)
            .map(|(_, o)| o)
            .take_while(|o| o.account_id == account && o.bucket == bucket)
            .skip_while(|o| after.is_some_and(|a| o.key.as_str() <= a))
            .take_while(|o| o.key.starts_with(prefix))
            .take(limit)
            .cloned()
            .collect())
    }

    async fn get_upload(
        &self,
        account: AccountId,
        upload_id: &str,
    ) -> Result<Option<S3Upload>, StoreError> {
        Ok(self
            .lock()?
            .uploads
            .get(&(account, upload_id.to_string()))
            .cloned())
    }

    async fn list_uploads(
        &self,
        account: AccountId,
        bucket: &str,
        prefix: &str,
        after: Option<(&str, &str)>,
        limit: usize,
    ) -> Result<Vec<S3Upload>, StoreError> {
        let mut v: Vec<S3Upload> = self
            .lock()?
            .uploads
            .values()
            .filter(|u| u.account_id == account && u.bucket == bucket && u.key.starts_with(prefix))
            .filter(|u| {
                after.is_none_or(|(k, id)| (u.key.as_str(), u.upload_id.as_str()) > (k, id))
            })
            .cloned()
            .collect();
        v.sort_by(|a, b| (&a.key, &a.upload_id).cmp(&(&b.key, &b.upload_id)));
        v.truncate(limit);
        Ok(v)
    }

    async fn list_parts(
        &self,
        account: AccountId,
        upload_id: &str,
    ) -> Result<Vec<S3Part>, StoreError> {
        let inner = self.lock()?;
        let from = (account, upload_id.to_string(), i32::MIN);
        Ok(inner
            .parts
            .range(from..)
            .map(|(_, p)| p)
            .take_while(|p| p.account_id == account && p.upload_id == upload_id)
            .cloned()
            .collect())
    }

    async fn get_access_point_alias(
        &self,
        alias: &str,
    ) -> Result<Option<AccessPointAlias>, StoreError> {
        Ok(self.lock()?.ap_aliases.get(alias).cloned())
    }

    async fn get_access_point(
        &self,
        account: AccountId,
        name: &str,
    ) -> Result<Option<AccessPoint>, StoreError> {
        Ok(self
            .lock()?
            .access_points
            .iter()
            .find(|a| a.account_id == account && a.name == name)
            .cloned())
    }

    async fn list_access_points(&self, account: AccountId) -> Result<Vec<AccessPoint>, StoreError> {
        let mut v: Vec<AccessPoint> = self
            .lock()?
            .access_points
            .iter()
            .filter(|a| a.account_id == account)
            .cloned()
            .collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(v)
    }

    async fn due_blob_sweeps(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<BlobSweep>, StoreError> {
        let mut v: Vec<BlobSweep> = self
            .lock()?
            .blob_sweeps
            .values()
            .filter(|s| s.not_before <= now)
            .cloned()
            .collect();
        v.sort_by_key(|s| s.not_before);
        v.truncate(limit);
        Ok(v)
    }

    async fn blob_referenced(
        &self,
        account: AccountId,
        blob_key: &str,
    ) -> Result<bool, StoreError> {
        let inner = self.lock()?;
        Ok(inner
            .objects
            .values()
            .any(|o| o.account_id == account && o.blob_key == blob_key)
            // A part counts only while its upload is open: a part written
            // as its upload was completed or aborted holds nothing.
            || inner.parts.values().any(|p| {
                p.account_id == account
                    && p.blob_key == blob_key
                    && inner
                        .uploads
                        .contains_key(&(account, p.upload_id.clone()))
            }))
    }

    async fn receive_messages(&self, r: &ReceiveRequest) -> Result<Vec<QueueMessage>, StoreError> {
        Ok(self.lock()?.receive(r))
    }

    async fn change_visibility(
        &self,
        account: AccountId,
        queue: &str,
        handle: &str,
        now: Timestamp,
        visible_until: Timestamp,
    ) -> Result<VisibilityOutcome, StoreError> {
        let mut inner = self.lock()?;
        let Some(m) = inner.messages.iter_mut().find(|m| {
            m.account_id == account
                && m.queue_name == queue
                && m.receipt_handle.as_deref() == Some(handle)
        }) else {
            return Ok(VisibilityOutcome::Gone);
        };
        if m.visible_at <= now {
            return Ok(VisibilityOutcome::NotInFlight);
        }
        m.visible_at = visible_until;
        Ok(VisibilityOutcome::Changed)
    }

    async fn queue_counts(
        &self,
        account: AccountId,
        queue: &str,
        now: Timestamp,
    ) -> Result<QueueCounts, StoreError> {
        let mut c = QueueCounts::default();
        for m in self
            .lock()?
            .messages
            .iter()
            .filter(|m| m.account_id == account && m.queue_name == queue && m.expires_at > now)
        {
            if m.visible_at <= now {
                c.visible += 1;
            } else if m.receive_count > 0 {
                c.in_flight += 1;
            } else {
                c.delayed += 1;
            }
        }
        Ok(c)
    }

    async fn get_dedup(
        &self,
        account: AccountId,
        queue: &str,
        dedup_id: &str,
        now: Timestamp,
    ) -> Result<Option<DedupRecord>, StoreError> {
        Ok(self
            .lock()?
            .dedup
            .iter()
            .find(|x| {
                x.account_id == account
                    && x.queue_name == queue
                    && x.dedup_id == dedup_id
                    && x.expires_at > now
            })
            .cloned())
    }

    async fn close(&self) {}
}

/// Opens a fresh in-memory store per silo.
#[derive(Default)]
pub struct MemoryFactory;

#[async_trait]
impl StoreFactory for MemoryFactory {
    async fn open_silo(&self, _account: AccountId) -> Result<Arc<dyn Store>, StoreError> {
        Ok(Arc::new(MemoryStore::new()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_engine_passes_the_conformance_suite() {
        crate::conformance::run_all(|| async {
            let s: Arc<dyn Store> = Arc::new(MemoryStore::new());
            s
        })
        .await;
    }

    #[tokio::test]
    async fn placement_passes_on_memory() {
        crate::conformance::placement(Arc::new(MemoryStore::new()), Arc::new(MemoryFactory)).await;
    }
}
