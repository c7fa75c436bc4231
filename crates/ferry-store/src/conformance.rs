//! The conformance suite: one set of behaviours every engine must show.
//! Engines call [`run_all`] (and [`placement`]) from their own tests; the
//! memory engine is the reference.
#![allow(clippy::expect_used, missing_docs)]

use std::future::Future;
use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use ferry_types::{AccountId, Tier, Timestamp};

use crate::model::*;
use crate::{Placement, Store, StoreError, StoreFactory, Write, WriteBatch};

/// Whether an audit event passes a query's filters (shared by engines that
/// filter in memory).
pub fn audit_matches(e: &AuditEvent, q: &AuditQuery) -> bool {
    q.start.is_none_or(|s| e.event_time >= s)
        && q.end.is_none_or(|t| e.event_time <= t)
        && q.event_name.as_ref().is_none_or(|v| &e.event_name == v)
        && q.event_source.as_ref().is_none_or(|v| &e.event_source == v)
        && q.username.as_ref().is_none_or(|v| &e.username == v)
        && q.access_key_id
            .as_ref()
            .is_none_or(|v| &e.access_key_id == v)
        && q.event_id.as_ref().is_none_or(|v| &e.event_id == v)
        && q.read_only.is_none_or(|v| e.read_only == v)
        && q.before
            .as_ref()
            .is_none_or(|(t, id)| (e.event_time, e.event_id.as_str()) < (*t, id.as_str()))
}

fn t(secs: i64) -> Timestamp {
    Utc.timestamp_opt(1_800_000_000 + secs, 0)
        .single()
        .expect("valid time")
}

fn acct(n: u64) -> AccountId {
    format!("{:012}", 100_000_000_000 + n)
        .parse()
        .expect("valid id")
}

pub fn account(n: u64, name: &str, tier: Tier) -> Account {
    Account {
        id: acct(n),
        name: name.into(),
        email: format!("{name}@example.com"),
        tier,
        status: "ACTIVE".into(),
        is_management: n == 0,
        created_at: t(n as i64),
    }
}

fn key(account: AccountId, id: &str, user: Option<&str>, at: i64) -> AccessKey {
    AccessKey {
        access_key_id: id.into(),
        account_id: account,
        user_name: user.map(str::to_string),
        secret_access_key: format!("secret-{id}"),
        status: "Active".into(),
        created_at: t(at),
    }
}

fn audit(account: AccountId, id: &str, at: i64, name: &str, user: &str) -> AuditEvent {
    AuditEvent {
        account_id: account,
        event_id: id.into(),
        event_time: t(at),
        event_name: name.into(),
        event_source: "sts.amazonaws.com".into(),
        username: user.into(),
        access_key_id: format!("AKIA{user}"),
        read_only: name.starts_with("Get"),
        body: format!("{{\"eventID\":\"{id}\"}}"),
    }
}

async fn put(s: &Arc<dyn Store>, w: Write) {
    s.apply(WriteBatch::one(w)).await.expect("write");
}

/// Runs every check, each on a fresh store from `fresh`.
pub async fn run_all<F, Fut>(fresh: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn Store>>,
{
    accounts(fresh().await).await;
    credentials(fresh().await).await;
    iam(fresh().await).await;
    managed_policies(fresh().await).await;
    groups(fresh().await).await;
    queues(fresh().await).await;
    message_claims(fresh().await).await;
    fifo_and_redrive(fresh().await).await;
    concurrent_claims(fresh().await).await;
    mixed_writes(fresh().await).await;
    buckets_and_objects(fresh().await).await;
    multipart_uploads(fresh().await).await;
    batches_are_atomic(fresh().await).await;
    audit_trail(fresh().await).await;
    outbox(fresh().await).await;
}

pub async fn multipart_uploads(s: Arc<dyn Store>) {
    let a = acct(1);
    let upload = |id: &str, key: &str| S3Upload {
        account_id: a,
        upload_id: id.into(),
        bucket: "b".into(),
        key: key.into(),
        meta: "{}".into(),
        initiator: "arn:aws:iam::000000000001:root".into(),
        initiated_at: t(1),
    };
    // Byte order of keys, then upload id.
    for (id, key) in [
        ("u3", "k/2"),
        ("u1", "k/1"),
        ("u2", "k/1"),
        ("u4", "B"),
        ("u5", "z"),
    ] {
        put(&s, Write::PutUpload(upload(id, key))).await;
    }
    let mut other = upload("u9", "k/1");
    other.bucket = "other".into();
    put(&s, Write::PutUpload(other)).await;
    assert!(matches!(
        s.apply(WriteBatch::one(Write::PutUpload(upload("u1", "x"))))
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        s.get_upload(a, "u1").await.expect("get"),
        Some(upload("u1", "k/1"))
    );
    assert_eq!(s.get_upload(acct(2), "u1").await.expect("get"), None);
    let ids = |v: Vec<S3Upload>| v.into_iter().map(|u| u.upload_id).collect::<Vec<_>>();
    assert_eq!(
        ids(s.list_uploads(a, "b", "", None, 100).await.expect("list")),
        ["u4", "u1", "u2", "u3", "u5"]
    );
    assert_eq!(
        ids(s.list_uploads(a, "b", "k/", None, 100).await.expect("list")),
        ["u1", "u2", "u3"]
    );
    assert_eq!(
        ids(s
            .list_uploads(a, "b", "k/", Some(("k/1", "u1")), 1)
            .await
            .expect("list")),
        ["u2"]
    );
    let part = |id: &str, n: i32, blob: &str| S3Part {
        account_id: a,
        upload_id: id.into(),
        part_number: n,
        blob_key: blob.into(),
        size: 5,
        etag: "\"e\"".into(),
        // Odd parts carry a checksum, so both a value and NULL round-trip.
        checksum: (n % 2 == 1).then(|| format!("{{\"CRC32\":\"{blob}\"}}")),
        last_modified: t(2),
    };
    for (n, blob) in [(3, "p3"), (1, "p1"), (10000, "p10000"), (1, "p1b")] {
        put(&s, Write::PutPart(part("u1", n, blob))).await;
    }
    put(&s, Write::PutPart(part("u2", 1, "q1"))).await;
    // A part of no open upload (written as its upload went) holds nothing.
    put(&s, Write::PutPart(part("gone", 1, "orphan"))).await;
    assert!(!s.blob_referenced(a, "orphan").await.expect("ref"));
    let parts = s.list_parts(a, "u1").await.expect("parts");
    assert_eq!(
        parts.iter().map(|p| p.part_number).collect::<Vec<_>>(),
        [1, 3, 10000]
    );
    assert_eq!(parts[0], part("u1", 1, "p1b"), "a part upload replaces");
    assert!(
        s.blob_referenced(a, "p3").await.expect("ref"),
        "parts hold blobs"
    );
    assert!(!s.blob_referenced(a, "p1").await.expect("ref"));
    put(
        &s,
        Write::DeleteUpload {
            account: a,
            upload_id: "u1".into(),
        },
    )
    .await;
    assert_eq!(s.get_upload(a, "u1").await.expect("get"), None);
    assert!(s.list_parts(a, "u1").await.expect("parts").is_empty());
    assert!(!s.blob_referenced(a, "p3").await.expect("ref"));
    assert_eq!(s.list_parts(a, "u2").await.expect("parts").len(), 1);
}

pub async fn accounts(s: Arc<dyn Store>) {
    put(&s, Write::PutAccount(account(0, "ops", Tier::Pooled))).await;
    put(&s, Write::PutAccount(account(2, "beta", Tier::Siloed))).await;
    put(&s, Write::PutAccount(account(1, "alpha", Tier::Pooled))).await;
    let dup = s
        .apply(WriteBatch::one(Write::PutAccount(account(
            3,
            "alpha",
            Tier::Pooled,
        ))))
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");
    let same_id = s
        .apply(WriteBatch::one(Write::PutAccount(account(
            1,
            "other",
            Tier::Pooled,
        ))))
        .await;
    assert!(matches!(same_id, Err(StoreError::Conflict(_))));

    let all = s.list_accounts().await.expect("list");
    let names: Vec<_> = all.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["ops", "alpha", "beta"], "oldest first");
    assert_eq!(
        s.get_account(acct(2)).await.expect("get"),
        Some(account(2, "beta", Tier::Siloed))
    );
    assert!(s.get_account(acct(9)).await.expect("get").is_none());
    assert_eq!(
        s.get_account_by_name("alpha")
            .await
            .expect("get")
            .map(|a| a.id),
        Some(acct(1))
    );
    assert_eq!(
        s.get_account_by_email("BETA@example.com")
            .await
            .expect("get")
            .map(|a| a.id),
        Some(acct(2))
    );

    let req = CreateAccountRequest {
        id: "car-1".into(),
        account_name: "alpha".into(),
        state: "SUCCEEDED".into(),
        account_id: Some(acct(1)),
        failure_reason: None,
        requested_at: t(1),
        completed_at: Some(t(2)),
    };
    put(&s, Write::PutCreateAccountRequest(req.clone())).await;
    assert_eq!(
        s.get_create_account_request("car-1").await.expect("get"),
        Some(req)
    );
    assert!(
        s.get_create_account_request("car-2")
            .await
            .expect("get")
            .is_none()
    );
}

pub async fn credentials(s: Arc<dyn Store>) {
    let a = acct(1);
    let idx = KeyIndex {
        access_key_id: "AKIA1".into(),
        account_id: a,
    };
    put(&s, Write::PutKeyIndex(idx.clone())).await;
    assert!(matches!(
        s.apply(WriteBatch::one(Write::PutKeyIndex(idx.clone())))
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(s.get_key_index("AKIA1").await.expect("get"), Some(idx));
    assert!(
        s.get_key_index("akia1").await.expect("get").is_none(),
        "ids are exact"
    );

    put(&s, Write::PutAccessKey(key(a, "AKIA1", None, 1))).await;
    put(&s, Write::PutAccessKey(key(a, "AKIA3", Some("admin"), 3))).await;
    put(&s, Write::PutAccessKey(key(a, "AKIA2", Some("admin"), 2))).await;
    assert_eq!(
        s.get_access_key(a, "AKIA1").await.expect("get"),
        Some(key(a, "AKIA1", None, 1))
    );
    assert!(
        s.get_access_key(acct(2), "AKIA1")
            .await
            .expect("get")
            .is_none(),
        "other account"
    );
    let admin: Vec<_> = s
        .list_access_keys(a, Some("admin"))
        .await
        .expect("list")
        .into_iter()
        .map(|k| k.access_key_id)
        .collect();
    assert_eq!(admin, ["AKIA2", "AKIA3"]);
    assert_eq!(s.list_access_keys(a, None).await.expect("list").len(), 1);
    put(
        &s,
        Write::SetAccessKeyStatus {
            account: a,
            access_key_id: "AKIA2".into(),
            status: "Inactive".into(),
        },
    )
    .await;
    assert_eq!(
        s.get_access_key(a, "AKIA2")
            .await
            .expect("get")
            .map(|k| k.status)
            .as_deref(),
        Some("Inactive")
    );
    put(
        &s,
        Write::DeleteAccessKey {
            account: acct(2),
            access_key_id: "AKIA3".into(),
        },
    )
    .await;
    assert!(
        s.get_access_key(a, "AKIA3").await.expect("get").is_some(),
        "only the owner deletes"
    );
    put(
        &s,
        Write::DeleteAccessKey {
            account: a,
            access_key_id: "AKIA3".into(),
        },
    )
    .await;
    assert!(s.get_access_key(a, "AKIA3").await.expect("get").is_none());
    put(&s, Write::DeleteKeyIndex("AKIA1".into())).await;
    assert!(s.get_key_index("AKIA1").await.expect("get").is_none());
}

pub async fn iam(s: Arc<dyn Store>) {
    let a = acct(1);
    let user = IamUser {
        account_id: a,
        name: "Admin".into(),
        user_id: "AIDA1".into(),
        path: "/".into(),
        permissions_boundary: None,
        tags: vec![("team".into(), "a".into())],
        created_at: t(1),
    };
    put(&s, Write::PutUser(user.clone())).await;
    let mut clash = user.clone();
    clash.name = "admin".into();
    assert!(
        matches!(
            s.apply(WriteBatch::one(Write::PutUser(clash.clone())))
                .await,
            Err(StoreError::Conflict(_))
        ),
        "IAM names are unique case-insensitively"
    );
    clash.account_id = acct(2);
    put(&s, Write::PutUser(clash)).await;
    assert_eq!(
        s.get_user(a, "ADMIN").await.expect("get"),
        Some(user.clone())
    );
    let tags = vec![("env".to_string(), "prod".to_string())];
    put(
        &s,
        Write::SetUserTags {
            account: a,
            name: "admin".into(),
            tags: tags.clone(),
        },
    )
    .await;
    assert_eq!(
        s.get_user(a, "Admin").await.expect("get").map(|u| u.tags),
        Some(tags)
    );
    assert_eq!(
        s.get_user(acct(2), "admin")
            .await
            .expect("get")
            .map(|u| u.tags),
        Some(user.tags.clone()),
        "another account's user keeps its tags"
    );

    let role = IamRole {
        account_id: a,
        name: "OrganizationAccountAccessRole".into(),
        role_id: "AROA1".into(),
        path: "/".into(),
        assume_role_policy: "{}".into(),
        max_session_duration: 3600,
        description: String::new(),
        tags: vec![("team".into(), "a".into()), ("env".into(), "b".into())],
        permissions_boundary: Some("arn:aws:iam::aws:policy/ReadOnlyAccess".into()),
        created_at: t(1),
    };
    put(&s, Write::PutRole(role.clone())).await;
    assert_eq!(
        s.get_role(a, "organizationaccountaccessrole")
            .await
            .expect("get"),
        Some(role)
    );
    assert!(
        s.get_role(acct(2), "OrganizationAccountAccessRole")
            .await
            .expect("get")
            .is_none()
    );

    let pol = |name: &str, doc: &str| InlinePolicy {
        account_id: a,
        principal_kind: PrincipalKind::User,
        principal_name: "Admin".into(),
        policy_name: name.into(),
        document: doc.into(),
    };
    put(&s, Write::PutInlinePolicy(pol("b", "1"))).await;
    put(&s, Write::PutInlinePolicy(pol("a", "1"))).await;
    put(&s, Write::PutInlinePolicy(pol("b", "2"))).await;
    let got = s
        .list_inline_policies(a, PrincipalKind::User, "Admin")
        .await
        .expect("list");
    assert_eq!(
        got,
        vec![pol("a", "1"), pol("b", "2")],
        "replaced, sorted by name"
    );
    assert!(
        s.list_inline_policies(a, PrincipalKind::Role, "Admin")
            .await
            .expect("list")
            .is_empty()
    );
    put(
        &s,
        Write::DeleteInlinePolicy {
            account: a,
            kind: PrincipalKind::User,
            principal_name: "admin".into(),
            policy_name: "a".into(),
        },
    )
    .await;
    assert_eq!(
        s.list_inline_policies(a, PrincipalKind::User, "Admin")
            .await
            .expect("list"),
        vec![pol("b", "2")]
    );

    let mut changed = s
        .get_role(a, "OrganizationAccountAccessRole")
        .await
        .expect("get")
        .expect("role");
    changed.assume_role_policy = "{\"changed\":1}".into();
    changed.max_session_duration = 7200;
    changed.description = "d".into();
    changed.tags = vec![("env".into(), "c".into())];
    changed.permissions_boundary = None;
    put(&s, Write::UpdateRole(changed.clone())).await;
    changed.permissions_boundary = Some("arn:aws:iam::aws:policy/ReadOnlyAccess".into());
    assert_eq!(
        s.get_role(a, "OrganizationAccountAccessRole")
            .await
            .expect("get"),
        Some(changed.clone()),
        "UpdateRole leaves the boundary alone"
    );
    for (kind, name) in [
        (PrincipalKind::Role, "organizationaccountaccessrole"),
        (PrincipalKind::User, "ADMIN"),
    ] {
        put(
            &s,
            Write::SetPermissionsBoundary {
                account: a,
                kind,
                name: name.into(),
                policy_arn: Some("arn:aws:iam::100000000001:policy/b".into()),
            },
        )
        .await;
    }
    assert_eq!(
        s.get_user(a, "Admin")
            .await
            .expect("get")
            .and_then(|u| u.permissions_boundary)
            .as_deref(),
        Some("arn:aws:iam::100000000001:policy/b")
    );
    assert!(
        s.get_user(acct(2), "admin")
            .await
            .expect("get")
            .is_some_and(|u| u.permissions_boundary.is_none()),
        "other account untouched"
    );
    put(
        &s,
        Write::SetPermissionsBoundary {
            account: a,
            kind: PrincipalKind::Role,
            name: "OrganizationAccountAccessRole".into(),
            policy_arn: None,
        },
    )
    .await;
    changed.permissions_boundary = None;
    assert_eq!(
        s.get_role(a, "OrganizationAccountAccessRole")
            .await
            .expect("get"),
        Some(changed)
    );
    let mut other = IamRole {
        name: "Another".into(),
        role_id: "AROA2".into(),
        ..role_template(a)
    };
    put(&s, Write::PutRole(other.clone())).await;
    other.account_id = acct(2);
    put(&s, Write::PutRole(other)).await;
    let names: Vec<_> = s
        .list_roles(a)
        .await
        .expect("list")
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(names, ["Another", "OrganizationAccountAccessRole"]);
    put(
        &s,
        Write::DeleteRole {
            account: a,
            name: "another".into(),
        },
    )
    .await;
    assert_eq!(s.list_roles(a).await.expect("list").len(), 1);
    assert_eq!(
        s.list_roles(acct(2)).await.expect("list").len(),
        1,
        "other account untouched"
    );
    let users: Vec<_> = s
        .list_users(a)
        .await
        .expect("list")
        .into_iter()
        .map(|u| u.name)
        .collect();
    assert_eq!(users, ["Admin"]);
    put(
        &s,
        Write::DeleteUser {
            account: a,
            name: "ADMIN".into(),
        },
    )
    .await;
    assert!(s.get_user(a, "Admin").await.expect("get").is_none());
    assert!(s.get_user(acct(2), "admin").await.expect("get").is_some());

    put(
        &s,
        Write::InitSetting {
            key: "k".into(),
            value: "first".into(),
        },
    )
    .await;
    put(
        &s,
        Write::InitSetting {
            key: "k".into(),
            value: "second".into(),
        },
    )
    .await;
    assert_eq!(
        s.get_setting("k").await.expect("get").as_deref(),
        Some("first")
    );
    assert!(s.get_setting("missing").await.expect("get").is_none());
}

pub async fn managed_policies(s: Arc<dyn Store>) {
    let a = acct(1);
    let policy = ManagedPolicy {
        account_id: a,
        name: "ReadBuckets".into(),
        policy_id: "ANPA1".into(),
        path: "/team/".into(),
        description: "reads".into(),
        default_version: 1,
        next_version: 2,
        created_at: t(1),
        updated_at: t(1),
    };
    let version = |n: i64, doc: &str| ManagedPolicyVersion {
        account_id: a,
        policy_name: "ReadBuckets".into(),
        version: n,
        document: doc.into(),
        created_at: t(n),
    };
    let mut b = WriteBatch::new();
    b.push(Write::PutManagedPolicy(policy.clone()))
        .push(Write::PutPolicyVersion(version(1, "one")));
    s.apply(b).await.expect("create");
    let mut clash = policy.clone();
    clash.name = "readbuckets".into();
    assert!(
        matches!(
            s.apply(WriteBatch::one(Write::PutManagedPolicy(clash.clone())))
                .await,
            Err(StoreError::Conflict(_))
        ),
        "policy names are unique case-insensitively"
    );
    clash.account_id = acct(2);
    put(&s, Write::PutManagedPolicy(clash)).await;
    assert_eq!(
        s.get_managed_policy(a, "READBUCKETS").await.expect("get"),
        Some(policy.clone())
    );
    let other = ManagedPolicy {
        name: "Another".into(),
        policy_id: "ANPA2".into(),
        ..policy.clone()
    };
    put(&s, Write::PutManagedPolicy(other)).await;
    let names: Vec<_> = s
        .list_managed_policies(a)
        .await
        .expect("list")
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(names, ["Another", "ReadBuckets"]);

    put(&s, Write::PutPolicyVersion(version(2, "two"))).await;
    assert!(
        matches!(
            s.apply(WriteBatch::one(Write::PutPolicyVersion(version(
                2, "again"
            ))))
            .await,
            Err(StoreError::Conflict(_))
        ),
        "a version number is used once"
    );
    let mut updated = policy.clone();
    updated.default_version = 2;
    updated.next_version = 3;
    updated.updated_at = t(5);
    put(&s, Write::UpdateManagedPolicy(updated.clone())).await;
    assert_eq!(
        s.get_managed_policy(a, "ReadBuckets").await.expect("get"),
        Some(updated)
    );
    assert_eq!(
        s.list_policy_versions(a, "readbuckets")
            .await
            .expect("list"),
        vec![version(1, "one"), version(2, "two")]
    );
    put(
        &s,
        Write::DeletePolicyVersion {
            account: a,
            policy_name: "ReadBuckets".into(),
            version: 1,
        },
    )
    .await;
    assert_eq!(
        s.list_policy_versions(a, "ReadBuckets")
            .await
            .expect("list"),
        vec![version(2, "two")]
    );

    let arn = "arn:aws:iam::100000000001:policy/team/ReadBuckets";
    let aws = "arn:aws:iam::aws:policy/ReadOnlyAccess";
    let att = |kind: PrincipalKind, name: &str, arn: &str| PolicyAttachment {
        account_id: a,
        principal_kind: kind,
        principal_name: name.into(),
        policy_arn: arn.into(),
    };
    put(
        &s,
        Write::AttachPolicy(att(PrincipalKind::Role, "app", aws)),
    )
    .await;
    put(
        &s,
        Write::AttachPolicy(att(PrincipalKind::Role, "app", arn)),
    )
    .await;
    put(
        &s,
        Write::AttachPolicy(att(PrincipalKind::Role, "app", arn)),
    )
    .await;
    put(
        &s,
        Write::AttachPolicy(att(PrincipalKind::User, "alice", arn)),
    )
    .await;
    assert_eq!(
        s.list_attached_policies(a, PrincipalKind::Role, "APP")
            .await
            .expect("list"),
        vec![
            att(PrincipalKind::Role, "app", arn),
            att(PrincipalKind::Role, "app", aws)
        ],
        "attaching twice keeps one, sorted by ARN"
    );
    assert!(
        s.list_attached_policies(acct(2), PrincipalKind::Role, "app")
            .await
            .expect("list")
            .is_empty()
    );
    assert_eq!(
        s.list_policy_attachments(a, arn).await.expect("list"),
        vec![
            att(PrincipalKind::Role, "app", arn),
            att(PrincipalKind::User, "alice", arn)
        ]
    );
    put(
        &s,
        Write::DetachPolicy(att(PrincipalKind::Role, "App", arn)),
    )
    .await;
    assert_eq!(
        s.list_policy_attachments(a, arn).await.expect("list"),
        vec![att(PrincipalKind::User, "alice", arn)]
    );

    put(
        &s,
        Write::DeleteManagedPolicy {
            account: a,
            name: "readbuckets".into(),
        },
    )
    .await;
    assert!(
        s.get_managed_policy(a, "ReadBuckets")
            .await
            .expect("get")
            .is_none()
    );
    assert!(
        s.list_policy_versions(a, "ReadBuckets")
            .await
            .expect("list")
            .is_empty(),
        "versions go with their policy"
    );
    assert!(
        s.get_managed_policy(acct(2), "readbuckets")
            .await
            .expect("get")
            .is_some(),
        "other account untouched"
    );
}

pub async fn groups(s: Arc<dyn Store>) {
    let a = acct(1);
    let group = |name: &str, id: &str| IamGroup {
        account_id: a,
        name: name.into(),
        group_id: id.into(),
        path: "/".into(),
        created_at: t(1),
    };
    put(&s, Write::PutGroup(group("Readers", "AGPA1"))).await;
    put(&s, Write::PutGroup(group("Admins", "AGPA2"))).await;
    assert!(
        matches!(
            s.apply(WriteBatch::one(Write::PutGroup(group("readers", "AGPA3"))))
                .await,
            Err(StoreError::Conflict(_))
        ),
        "group names are unique case-insensitively"
    );
    let mut elsewhere = group("Readers", "AGPA4");
    elsewhere.account_id = acct(2);
    put(&s, Write::PutGroup(elsewhere)).await;
    assert_eq!(
        s.get_group(a, "READERS").await.expect("get"),
        Some(group("Readers", "AGPA1"))
    );
    let names: Vec<_> = s
        .list_groups(a)
        .await
        .expect("list")
        .into_iter()
        .map(|g| g.name)
        .collect();
    assert_eq!(names, ["Admins", "Readers"]);

    let member = |g: &str, u: &str| Write::AddGroupMember {
        account: a,
        group: g.into(),
        user: u.into(),
    };
    put(&s, member("Readers", "bob")).await;
    put(&s, member("readers", "Alice")).await;
    put(&s, member("Readers", "BOB")).await;
    put(&s, member("Admins", "alice")).await;
    assert_eq!(
        s.list_group_members(a, "Readers").await.expect("list"),
        ["Alice", "bob"],
        "a member once, by name"
    );
    let of_alice: Vec<_> = s
        .list_groups_for_user(a, "ALICE")
        .await
        .expect("list")
        .into_iter()
        .map(|g| g.name)
        .collect();
    assert_eq!(of_alice, ["Admins", "Readers"]);
    assert!(
        s.list_groups_for_user(acct(2), "alice")
            .await
            .expect("list")
            .is_empty()
    );
    put(
        &s,
        Write::RemoveGroupMember {
            account: a,
            group: "READERS".into(),
            user: "alice".into(),
        },
    )
    .await;
    assert_eq!(
        s.list_group_members(a, "Readers").await.expect("list"),
        ["bob"]
    );
    put(
        &s,
        Write::DeleteGroup {
            account: a,
            name: "admins".into(),
        },
    )
    .await;
    assert!(s.get_group(a, "Admins").await.expect("get").is_none());
    assert!(
        s.list_groups_for_user(a, "alice")
            .await
            .expect("list")
            .is_empty(),
        "memberships go with their group"
    );
    put(&s, Write::PutGroup(group("Admins", "AGPA5"))).await;
    assert!(
        s.list_group_members(a, "Admins")
            .await
            .expect("list")
            .is_empty(),
        "a new group by an old name starts empty"
    );
}

fn role_template(a: AccountId) -> IamRole {
    IamRole {
        account_id: a,
        name: String::new(),
        role_id: String::new(),
        path: "/".into(),
        assume_role_policy: "{}".into(),
        max_session_duration: 3600,
        description: String::new(),
        tags: Vec::new(),
        permissions_boundary: None,
        created_at: t(1),
    }
}

pub async fn queues(s: Arc<dyn Store>) {
    let a = acct(1);
    let queue = |name: &str, vt: &str| Queue {
        account_id: a,
        name: name.into(),
        attributes: vec![
            ("DelaySeconds".into(), "0".into()),
            ("VisibilityTimeout".into(), vt.into()),
        ],
        tags: Vec::new(),
        created_at: t(1),
        updated_at: t(1),
    };
    put(&s, Write::PutQueue(queue("jobs", "30"))).await;
    put(&s, Write::PutQueue(queue("alerts", "30"))).await;
    assert!(
        matches!(
            s.apply(WriteBatch::one(Write::PutQueue(queue("jobs", "60"))))
                .await,
            Err(StoreError::Conflict(_))
        ),
        "queue names are unique in an account"
    );
    put(&s, Write::PutQueue(queue("Jobs", "30"))).await;
    let mut elsewhere = queue("jobs", "5");
    elsewhere.account_id = acct(2);
    put(&s, Write::PutQueue(elsewhere)).await;
    assert_eq!(
        s.get_queue(a, "jobs").await.expect("get"),
        Some(queue("jobs", "30"))
    );
    let names: Vec<String> = s
        .list_queues(a)
        .await
        .expect("list")
        .into_iter()
        .map(|q| q.name)
        .collect();
    assert_eq!(names, ["Jobs", "alerts", "jobs"]);
    let mut changed = queue("jobs", "90");
    changed.updated_at = t(5);
    put(&s, Write::UpdateQueue(changed.clone())).await;
    assert_eq!(s.get_queue(a, "jobs").await.expect("get"), Some(changed));

    let message = |id: &str, at: i64| new_message(a, "jobs", id, at);
    put(&s, Write::PutMessage(message("m2", 20))).await;
    put(&s, Write::PutMessage(message("m1", 10))).await;
    let mut other = message("m3", 5);
    other.queue_name = "alerts".into();
    put(&s, Write::PutMessage(other)).await;
    let ids = |v: Vec<QueueMessage>| v.into_iter().map(|m| m.message_id).collect::<Vec<_>>();
    // Arrival order, not send time, orders a queue.
    assert_eq!(
        ids(s.list_messages(a, "jobs").await.expect("list")),
        ["m2", "m1"]
    );
    put(
        &s,
        Write::SetQueueTags {
            account: a,
            name: "jobs".into(),
            tags: vec![("team".into(), "a".into())],
        },
    )
    .await;
    assert_eq!(
        s.get_queue(a, "jobs")
            .await
            .expect("get")
            .expect("queue")
            .tags,
        [("team".to_string(), "a".to_string())]
    );
    put(
        &s,
        Write::DeleteMessage {
            account: a,
            queue: "jobs".into(),
            message_id: "m1".into(),
            receipt_handle: None,
        },
    )
    .await;
    assert_eq!(ids(s.list_messages(a, "jobs").await.expect("list")), ["m2"]);
    put(
        &s,
        Write::DeleteQueue {
            account: a,
            name: "jobs".into(),
        },
    )
    .await;
    assert_eq!(s.get_queue(a, "jobs").await.expect("get"), None);
    assert!(s.list_messages(a, "jobs").await.expect("list").is_empty());
    assert_eq!(
        ids(s.list_messages(a, "alerts").await.expect("list")),
        ["m3"]
    );
    assert!(s.get_queue(acct(2), "jobs").await.expect("get").is_some());
}

fn new_message(a: AccountId, queue: &str, id: &str, at: i64) -> QueueMessage {
    QueueMessage {
        account_id: a,
        queue_name: queue.into(),
        message_id: id.into(),
        seq: 0,
        body: format!("body {id}"),
        md5: "00".into(),
        meta: "{}".into(),
        group_id: None,
        source_queue: None,
        sent_at: t(at),
        visible_at: t(at),
        expires_at: t(at + 1000),
        receive_count: 0,
        first_received_at: None,
        receipt_handle: None,
    }
}

fn receive_at(a: AccountId, queue: &str, now: i64, max: usize, token: &str) -> ReceiveRequest {
    ReceiveRequest {
        account: a,
        queue: queue.into(),
        now: t(now),
        max,
        visible_until: t(now + 30),
        token: token.into(),
        fifo: false,
        redrive: None,
    }
}

/// Receives: order, visibility, receipt tokens, counts, stale deletes,
/// expiry, purge.
pub async fn message_claims(s: Arc<dyn Store>) {
    let a = acct(1);
    for i in 0..5 {
        put(
            &s,
            Write::PutMessage(new_message(a, "q", &format!("m{i}"), 10 + i)),
        )
        .await;
    }
    let mut delayed = new_message(a, "q", "later", 10);
    delayed.visible_at = t(100);
    put(&s, Write::PutMessage(delayed)).await;
    let ids = |v: &[QueueMessage]| v.iter().map(|m| m.message_id.clone()).collect::<Vec<_>>();
    let got = s
        .receive_messages(&receive_at(a, "q", 20, 3, "tok-"))
        .await
        .expect("receive");
    assert_eq!(ids(&got), ["m0", "m1", "m2"], "oldest first, at most max");
    for m in &got {
        assert_eq!(m.receive_count, 1);
        assert_eq!(m.first_received_at, Some(t(20)));
        assert_eq!(m.visible_at, t(50));
        assert_eq!(m.receipt_handle, Some(format!("tok-{}", m.seq)));
    }
    assert_eq!(
        s.queue_counts(a, "q", t(20)).await.expect("counts"),
        QueueCounts {
            visible: 2,
            in_flight: 3,
            delayed: 1
        }
    );
    let rest = s
        .receive_messages(&receive_at(a, "q", 21, 10, "tok2-"))
        .await
        .expect("receive");
    assert_eq!(
        ids(&rest),
        ["m3", "m4"],
        "in-flight and delayed messages are skipped"
    );
    // m0 comes back after its window, with a new token and count.
    let again = s
        .receive_messages(&receive_at(a, "q", 50, 1, "tok3-"))
        .await
        .expect("receive");
    assert_eq!(ids(&again), ["m0"]);
    assert_eq!(again[0].receive_count, 2);
    assert_eq!(
        again[0].first_received_at,
        Some(t(20)),
        "first receive is kept"
    );
    // The first receiver's token no longer deletes or extends it.
    let stale = got[0].receipt_handle.clone().expect("token");
    put(
        &s,
        Write::DeleteMessage {
            account: a,
            queue: "q".into(),
            message_id: "m0".into(),
            receipt_handle: Some(stale.clone()),
        },
    )
    .await;
    assert_eq!(s.list_messages(a, "q").await.expect("list").len(), 6);
    assert_eq!(
        s.change_visibility(a, "q", &stale, t(51), t(60))
            .await
            .expect("cv"),
        VisibilityOutcome::Gone
    );
    let current = again[0].receipt_handle.clone().expect("token");
    assert_eq!(
        s.change_visibility(a, "q", &current, t(51), t(200))
            .await
            .expect("cv"),
        VisibilityOutcome::Changed
    );
    assert_eq!(
        s.change_visibility(a, "q", &current, t(201), t(300))
            .await
            .expect("cv"),
        VisibilityOutcome::NotInFlight
    );
    put(
        &s,
        Write::DeleteMessage {
            account: a,
            queue: "q".into(),
            message_id: "m0".into(),
            receipt_handle: Some(current),
        },
    )
    .await;
    assert_eq!(s.list_messages(a, "q").await.expect("list").len(), 5);
    // Expired messages are never received, and the sweep removes them.
    assert!(
        s.receive_messages(&receive_at(a, "q", 1200, 10, "t4-"))
            .await
            .expect("r")
            .is_empty()
    );
    put(&s, Write::ExpireMessages { now: t(1200) }).await;
    assert!(s.list_messages(a, "q").await.expect("list").is_empty());
    put(&s, Write::PutMessage(new_message(a, "q", "p", 10))).await;
    put(
        &s,
        Write::PurgeQueue {
            account: a,
            name: "q".into(),
        },
    )
    .await;
    assert!(s.list_messages(a, "q").await.expect("list").is_empty());
    assert!(
        matches!(
            s.apply(WriteBatch::one(
                Write::PutMessage(new_message(a, "x", "dup", 1)).clone()
            ))
            .await
            .and(
                s.apply(WriteBatch::one(Write::PutMessage(new_message(
                    a, "x", "dup", 1
                ))))
                .await
            ),
            Err(StoreError::Conflict(_))
        ),
        "a message id is unique in its queue"
    );
}

/// FIFO group blocking, redrive to a dead-letter queue, deduplication.
pub async fn fifo_and_redrive(s: Arc<dyn Store>) {
    let a = acct(1);
    let grouped = |id: &str, group: &str| {
        let mut m = new_message(a, "f.fifo", id, 10);
        m.group_id = Some(group.into());
        m
    };
    for (id, g) in [("a1", "A"), ("a2", "A"), ("b1", "B"), ("a3", "A")] {
        put(&s, Write::PutMessage(grouped(id, g))).await;
    }
    let fifo = |now: i64, max: usize| ReceiveRequest {
        fifo: true,
        ..receive_at(a, "f.fifo", now, max, "f-")
    };
    let ids = |v: Vec<QueueMessage>| v.into_iter().map(|m| m.message_id).collect::<Vec<_>>();
    assert_eq!(
        ids(s.receive_messages(&fifo(20, 2)).await.expect("r")),
        ["a1", "a2"]
    );
    assert_eq!(
        ids(s.receive_messages(&fifo(21, 10)).await.expect("r")),
        ["b1"],
        "group A is blocked while a1 and a2 are in flight"
    );
    assert!(
        s.receive_messages(&fifo(22, 10))
            .await
            .expect("r")
            .is_empty()
    );
    assert_eq!(
        ids(s.receive_messages(&fifo(60, 10)).await.expect("r")),
        ["a1", "a2", "b1", "a3"],
        "after the window, in order again"
    );

    // Redrive: a message received twice moves on the third receive.
    put(&s, Write::PutMessage(new_message(a, "src", "r1", 10))).await;
    put(&s, Write::PutMessage(new_message(a, "src", "r2", 11))).await;
    let redriving = |now: i64| ReceiveRequest {
        redrive: Some(Redrive {
            max_receive_count: 2,
            dead_letter_queue: "dlq".into(),
            retention_seconds: 5000,
        }),
        ..receive_at(a, "src", now, 1, "r-")
    };
    assert_eq!(
        ids(s.receive_messages(&redriving(20)).await.expect("r")),
        ["r1"]
    );
    assert_eq!(
        ids(s.receive_messages(&redriving(60)).await.expect("r")),
        ["r1"]
    );
    assert_eq!(
        ids(s.receive_messages(&redriving(100)).await.expect("r")),
        ["r2"],
        "r1 was received twice: moved, not delivered"
    );
    let dlq = s.list_messages(a, "dlq").await.expect("list");
    assert_eq!(dlq.len(), 1);
    assert_eq!(dlq[0].message_id, "r1");
    assert_eq!(dlq[0].source_queue.as_deref(), Some("src"));
    assert_eq!(dlq[0].receive_count, 0);
    assert_eq!(dlq[0].sent_at, t(10));
    assert_eq!(dlq[0].expires_at, t(5010));
    assert_eq!(s.list_messages(a, "src").await.expect("list").len(), 1);

    // Deduplication: one live record per id; an expired one gives way.
    let record = |msg: &str, exp: i64| DedupRecord {
        account_id: a,
        queue_name: "f.fifo".into(),
        dedup_id: "d1".into(),
        message_id: msg.into(),
        sequence_number: "1".into(),
        expires_at: t(exp),
    };
    put(
        &s,
        Write::PutDedup {
            record: record("x", 300),
            now: t(10),
        },
    )
    .await;
    assert!(matches!(
        s.apply(WriteBatch::one(Write::PutDedup {
            record: record("y", 400),
            now: t(100)
        }))
        .await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        s.get_dedup(a, "f.fifo", "d1", t(100))
            .await
            .expect("get")
            .map(|r| r.message_id),
        Some("x".to_string())
    );
    assert_eq!(
        s.get_dedup(a, "f.fifo", "d1", t(300)).await.expect("get"),
        None
    );
    put(
        &s,
        Write::PutDedup {
            record: record("z", 700),
            now: t(300),
        },
    )
    .await;
    assert_eq!(
        s.get_dedup(a, "f.fifo", "d1", t(301))
            .await
            .expect("get")
            .map(|r| r.message_id),
        Some("z".to_string())
    );
}

/// Many concurrent receivers and writers: no message is handed out twice,
/// a failing write fails alone, every acknowledged write is there.
pub async fn concurrent_claims(s: Arc<dyn Store>) {
    let a = acct(1);
    let mut sends = Vec::new();
    for i in 0..200 {
        let s = s.clone();
        sends.push(tokio::spawn(async move {
            s.apply(WriteBatch::one(Write::PutMessage(new_message(
                a,
                "c",
                &format!("m{i}"),
                10,
            ))))
            .await
        }));
    }
    // A duplicate among them fails without failing its neighbours.
    let dup = {
        let s = s.clone();
        tokio::spawn(async move {
            s.apply(WriteBatch::one(Write::PutMessage(new_message(
                a, "c", "m7", 10,
            ))))
            .await
        })
    };
    let mut ok = 0;
    for h in sends {
        if h.await.expect("join").is_ok() {
            ok += 1;
        }
    }
    let dup_ok = dup.await.expect("join").is_ok();
    assert_eq!(
        ok + usize::from(dup_ok),
        200,
        "exactly one of the two m7 sends fails"
    );
    let mut receivers = Vec::new();
    for r in 0..20 {
        let s = s.clone();
        receivers.push(tokio::spawn(async move {
            let mut got = Vec::new();
            loop {
                let batch = s
                    .receive_messages(&receive_at(a, "c", 20, 10, &format!("r{r}-")))
                    .await
                    .expect("receive");
                if batch.is_empty() {
                    return got;
                }
                got.extend(batch.into_iter().map(|m| m.message_id));
            }
        }));
    }
    let mut all = Vec::new();
    for h in receivers {
        all.extend(h.await.expect("join"));
    }
    all.sort();
    let n = all.len();
    all.dedup();
    assert_eq!(n, all.len(), "a message went to two receivers");
    assert_eq!(n, 200);
}

/// Data-plane writes (sends, receives) and other writes (accounts)
/// submitted together all succeed and all land: engines that run the two
/// kinds on different paths must not trip over each other's locks.
pub async fn mixed_writes(s: Arc<dyn Store>) {
    let a = acct(1);
    let mut tasks = Vec::new();
    for i in 0..60u64 {
        let store = s.clone();
        tasks.push(tokio::spawn(async move {
            let w = match i % 3 {
                0 => Write::PutAccount(account(100 + i, &format!("mixed{i}"), Tier::Pooled)),
                _ => Write::PutMessage(new_message(a, "mixed", &format!("m{i}"), 10)),
            };
            store.apply(WriteBatch::one(w)).await
        }));
        if i % 10 == 0 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                s.receive_messages(&receive_at(a, "mixed", 20, 10, &format!("r{i}-")))
                    .await
                    .map(|_| ())
            }));
        }
    }
    for t in tasks {
        t.await.expect("join").expect("every write succeeds");
    }
    for i in (0..60u64).step_by(3) {
        assert!(
            s.get_account(acct(100 + i)).await.expect("get").is_some(),
            "account {i} landed"
        );
    }
    let listed = s.list_messages(a, "mixed").await.expect("list");
    assert_eq!(listed.len(), 40, "every message landed");
}

/// Bucket names, buckets, objects in byte order, blob sweeps.
pub async fn buckets_and_objects(s: Arc<dyn Store>) {
    let a = acct(1);
    let name = |n: &str, owner: AccountId| BucketName {
        name: n.into(),
        account_id: owner,
        created_at: t(1),
    };
    put(&s, Write::PutBucketName(name("shared", a))).await;
    assert!(matches!(
        s.apply(WriteBatch::one(Write::PutBucketName(name(
            "shared",
            acct(2)
        ))))
        .await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        s.get_bucket_name("shared")
            .await
            .expect("get")
            .map(|b| b.account_id),
        Some(a)
    );
    let bucket = Bucket {
        account_id: a,
        name: "shared".into(),
        region: "us-east-1".into(),
        policy: None,
        tags: Vec::new(),
        created_at: t(1),
    };
    put(&s, Write::PutBucket(bucket.clone())).await;
    let mut changed = bucket.clone();
    changed.policy = Some("{}".into());
    changed.tags = vec![("k".into(), "v".into())];
    put(&s, Write::UpdateBucket(changed.clone())).await;
    assert_eq!(s.get_bucket(a, "shared").await.expect("get"), Some(changed));
    assert_eq!(s.list_buckets(a).await.expect("list").len(), 1);
    assert!(s.list_buckets(acct(2)).await.expect("list").is_empty());
    let object = |key: &str, blob: &str| S3Object {
        account_id: a,
        bucket: "shared".into(),
        key: key.into(),
        blob_key: blob.into(),
        size: 3,
        etag: "\"e\"".into(),
        meta: "{}".into(),
        tags: Vec::new(),
        last_modified: t(2),
    };
    // Byte order: uppercase before lowercase, '/' before letters, UTF-8 last.
    for key in ["b/2", "a", "B", "b/1", "b0", "é", "c"] {
        put(&s, Write::PutObject(object(key, &format!("blob-{key}")))).await;
    }
    put(&s, Write::PutObject(object("a", "blob-a2"))).await;
    let keys = |v: Vec<S3Object>| v.into_iter().map(|o| o.key).collect::<Vec<_>>();
    assert_eq!(
        keys(
            s.list_objects(a, "shared", "", None, 100)
                .await
                .expect("list")
        ),
        ["B", "a", "b/1", "b/2", "b0", "c", "é"]
    );
    assert_eq!(
        keys(
            s.list_objects(a, "shared", "b", Some("b/1"), 100)
                .await
                .expect("list")
        ),
        ["b/2", "b0"]
    );
    assert_eq!(
        keys(
            s.list_objects(a, "shared", "", Some("b0"), 1)
                .await
                .expect("list")
        ),
        ["c"]
    );
    assert_eq!(
        s.get_object(a, "shared", "a")
            .await
            .expect("get")
            .map(|o| o.blob_key),
        Some("blob-a2".to_string()),
        "a put replaces"
    );
    assert!(s.blob_referenced(a, "blob-a2").await.expect("ref"));
    assert!(!s.blob_referenced(a, "blob-a").await.expect("ref"));
    put(
        &s,
        Write::DeleteObject {
            account: a,
            bucket: "shared".into(),
            key: "a".into(),
        },
    )
    .await;
    assert_eq!(s.get_object(a, "shared", "a").await.expect("get"), None);
    let sweep = |blob: &str, at: i64| BlobSweep {
        account_id: a,
        blob_key: blob.into(),
        not_before: t(at),
    };
    put(&s, Write::PutBlobSweep(sweep("x", 10))).await;
    put(&s, Write::PutBlobSweep(sweep("y", 5))).await;
    put(&s, Write::PutBlobSweep(sweep("x", 20))).await;
    let due: Vec<String> = s
        .due_blob_sweeps(t(15), 10)
        .await
        .expect("due")
        .into_iter()
        .map(|b| b.blob_key)
        .collect();
    assert_eq!(due, ["y"], "x was moved to 20");
    put(
        &s,
        Write::DeleteBlobSweep {
            account: a,
            blob_key: "y".into(),
        },
    )
    .await;
    assert!(s.due_blob_sweeps(t(15), 10).await.expect("due").is_empty());
    put(
        &s,
        Write::DeleteBucket {
            account: a,
            name: "shared".into(),
        },
    )
    .await;
    put(&s, Write::DeleteBucketName("shared".into())).await;
    assert_eq!(s.get_bucket(a, "shared").await.expect("get"), None);
    assert_eq!(s.get_bucket_name("shared").await.expect("get"), None);

    let alias = AccessPointAlias {
        alias: "ap-abc-s3alias".into(),
        account_id: a,
        name: "ap".into(),
    };
    put(&s, Write::PutAccessPointAlias(alias.clone())).await;
    assert!(matches!(
        s.apply(WriteBatch::one(Write::PutAccessPointAlias(alias.clone())))
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        s.get_access_point_alias("ap-abc-s3alias")
            .await
            .expect("get"),
        Some(alias)
    );
    let ap = AccessPoint {
        account_id: a,
        name: "ap".into(),
        bucket: "other-bucket".into(),
        bucket_account_id: acct(2),
        alias: "ap-abc-s3alias".into(),
        network_origin: "Internet".into(),
        vpc_id: None,
        policy: None,
        created_at: t(3),
    };
    put(&s, Write::PutAccessPoint(ap.clone())).await;
    assert!(matches!(
        s.apply(WriteBatch::one(Write::PutAccessPoint(ap.clone())))
            .await,
        Err(StoreError::Conflict(_))
    ));
    let mut with_policy = ap.clone();
    with_policy.policy = Some("{}".into());
    put(&s, Write::UpdateAccessPoint(with_policy.clone())).await;
    assert_eq!(
        s.get_access_point(a, "ap").await.expect("get"),
        Some(with_policy)
    );
    assert_eq!(s.list_access_points(a).await.expect("list").len(), 1);
    put(
        &s,
        Write::DeleteAccessPoint {
            account: a,
            name: "ap".into(),
        },
    )
    .await;
    put(&s, Write::DeleteAccessPointAlias("ap-abc-s3alias".into())).await;
    assert_eq!(s.get_access_point(a, "ap").await.expect("get"), None);
    assert_eq!(
        s.get_access_point_alias("ap-abc-s3alias")
            .await
            .expect("get"),
        None
    );
}

pub async fn batches_are_atomic(s: Arc<dyn Store>) {
    put(&s, Write::PutAccount(account(1, "alpha", Tier::Pooled))).await;
    let mut b = WriteBatch::new();
    b.push(Write::PutAccount(account(2, "beta", Tier::Pooled)))
        .push(Write::PutKeyIndex(KeyIndex {
            access_key_id: "AKIAB".into(),
            account_id: acct(2),
        }))
        .push(Write::Enqueue(NewOutboxItem {
            account_id: acct(2),
            kind: "k".into(),
            payload: "{}".into(),
            available_at: t(0),
        }))
        .push(Write::PutAccount(account(3, "alpha", Tier::Pooled)));
    assert!(matches!(s.apply(b).await, Err(StoreError::Conflict(_))));
    assert!(
        s.get_account(acct(2)).await.expect("get").is_none(),
        "nothing half-written"
    );
    assert!(s.get_key_index("AKIAB").await.expect("get").is_none());
    assert!(
        s.claim_outbox(t(10), t(20), 10)
            .await
            .expect("claim")
            .is_empty()
    );
}

pub async fn audit_trail(s: Arc<dyn Store>) {
    let (a, b) = (acct(1), acct(2));
    put(
        &s,
        Write::AppendAudit(vec![
            audit(a, "e1", 1, "GetCallerIdentity", "alice"),
            audit(a, "e2", 2, "CreateAccount", "root"),
            audit(b, "e3", 2, "GetCallerIdentity", "bob"),
            audit(a, "e4", 3, "GetCallerIdentity", "root"),
            audit(a, "e5", 3, "GetCallerIdentity", "alice"),
        ]),
    )
    .await;
    let ids = |v: Vec<AuditEvent>| v.into_iter().map(|e| e.event_id).collect::<Vec<_>>();
    let all = AuditQuery {
        limit: 100,
        ..Default::default()
    };
    assert_eq!(
        ids(s.query_audit(a, &all).await.expect("q")),
        ["e5", "e4", "e2", "e1"],
        "own events only, newest first"
    );
    let q = AuditQuery {
        event_name: Some("GetCallerIdentity".into()),
        username: Some("alice".into()),
        ..all.clone()
    };
    assert_eq!(ids(s.query_audit(a, &q).await.expect("q")), ["e5", "e1"]);
    let q = AuditQuery {
        start: Some(t(2)),
        end: Some(t(2)),
        ..all.clone()
    };
    assert_eq!(ids(s.query_audit(a, &q).await.expect("q")), ["e2"]);
    let q = AuditQuery {
        read_only: Some(false),
        ..all.clone()
    };
    assert_eq!(ids(s.query_audit(a, &q).await.expect("q")), ["e2"]);
    let q = AuditQuery {
        access_key_id: Some("AKIAbob".into()),
        ..all.clone()
    };
    assert_eq!(ids(s.query_audit(b, &q).await.expect("q")), ["e3"]);
    assert!(s.query_audit(a, &q).await.expect("q").is_empty());

    // Pagination: pages of two, continuing after the last one seen.
    let mut seen = Vec::new();
    let mut before = None;
    loop {
        let q = AuditQuery {
            limit: 2,
            before: before.clone(),
            ..Default::default()
        };
        let page = s.query_audit(a, &q).await.expect("q");
        if page.is_empty() {
            break;
        }
        let last = page.last().expect("non-empty");
        before = Some((last.event_time, last.event_id.clone()));
        seen.extend(ids(page));
    }
    assert_eq!(seen, ["e5", "e4", "e2", "e1"]);
}

pub async fn outbox(s: Arc<dyn Store>) {
    let a = acct(1);
    for (kind, at) in [("one", 0), ("two", 0), ("later", 100)] {
        put(
            &s,
            Write::Enqueue(NewOutboxItem {
                account_id: a,
                kind: kind.into(),
                payload: format!("{{\"k\":\"{kind}\"}}"),
                available_at: t(at),
            }),
        )
        .await;
    }
    let claimed = s.claim_outbox(t(1), t(31), 10).await.expect("claim");
    let kinds: Vec<_> = claimed.iter().map(|i| i.kind.as_str()).collect();
    assert_eq!(kinds, ["one", "two"], "due items, in order");
    assert!(claimed.iter().all(|i| i.attempts == 1));
    assert!(
        s.claim_outbox(t(2), t(32), 10)
            .await
            .expect("claim")
            .is_empty(),
        "leased items are hidden"
    );
    put(&s, Write::OutboxDone(claimed[0].id)).await;
    put(
        &s,
        Write::OutboxRetry {
            id: claimed[1].id,
            at: t(5),
            error: "503".into(),
        },
    )
    .await;
    let again = s.claim_outbox(t(5), t(35), 10).await.expect("claim");
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].kind, "two");
    assert_eq!(again[0].attempts, 2);
    assert_eq!(again[0].last_error.as_deref(), Some("503"));
    put(
        &s,
        Write::OutboxDead {
            id: again[0].id,
            error: "gave up".into(),
        },
    )
    .await;
    let after_lease = s.claim_outbox(t(200), t(230), 10).await.expect("claim");
    let kinds: Vec<_> = after_lease.iter().map(|i| i.kind.as_str()).collect();
    assert_eq!(kinds, ["later"], "dead and done items never come back");
    let dead = s.dead_outbox().await.expect("dead");
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].last_error.as_deref(), Some("gave up"));
    // An expired lease hands the item out again (a crashed relay).
    let retaken = s
        .claim_outbox(t(230) + Duration::seconds(1), t(260), 10)
        .await
        .expect("claim");
    assert_eq!(retaken.len(), 1);
    assert_eq!(retaken[0].attempts, 2);
}

/// Siloed accounts' rows live in their own store; pooled ones in the main.
pub async fn placement(main: Arc<dyn Store>, factory: Arc<dyn StoreFactory>) {
    let p = Placement::new(main.clone(), factory);
    let pooled = account(1, "pooled", Tier::Pooled);
    let siloed = account(2, "siloed", Tier::Siloed);
    for a in [&pooled, &siloed] {
        put(&main, Write::PutAccount(a.clone())).await;
    }
    for a in [&pooled, &siloed] {
        let s = p.for_account(a.id).await.expect("placement");
        put(
            &s,
            Write::AppendAudit(vec![audit(a.id, &a.name, 1, "X", "u")]),
        )
        .await;
    }
    let all = AuditQuery {
        limit: 10,
        ..Default::default()
    };
    assert_eq!(main.query_audit(pooled.id, &all).await.expect("q").len(), 1);
    assert!(
        main.query_audit(siloed.id, &all)
            .await
            .expect("q")
            .is_empty(),
        "a siloed account's rows are not in the main store"
    );
    let silo = p.for_account(siloed.id).await.expect("placement");
    assert_eq!(silo.query_audit(siloed.id, &all).await.expect("q").len(), 1);
    assert!(
        Arc::ptr_eq(&silo, &p.for_account(siloed.id).await.expect("again")),
        "one silo instance per account"
    );
    assert_eq!(p.open_stores().await.len(), 2);
    assert!(
        p.existing(acct(99)).await.expect("lookup").is_none(),
        "unknown account"
    );
    assert!(p.existing(pooled.id).await.expect("lookup").is_some());
    assert_eq!(
        p.blob_root(pooled.id).await.expect("root"),
        crate::BlobRoot::Shared
    );
    assert_eq!(
        p.blob_root(siloed.id).await.expect("root"),
        crate::BlobRoot::Silo(siloed.id)
    );
}
