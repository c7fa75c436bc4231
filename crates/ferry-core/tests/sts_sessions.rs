//! Session credentials over time, with an injected clock: expiry, tampering,
//! revocation by deleting the role, and the role-chaining cap.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use chrono::Duration;
use ferry_core::iam::CreateRoleInput;
use ferry_core::sts::{AssumeRoleInput, SessionCredentials};
use ferry_core::{CoreError, Principal};
use ferry_store::PrincipalKind;
use ferry_types::{AccountId, Tier};

mod common;
use common::{World, ctx, principal, world};

fn trust(account: AccountId) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{account}:root"}},"Action":"sts:AssumeRole"}}]}}"#
    )
}

impl World {
    async fn role(&self, name: &str, trusted: AccountId) -> String {
        let c = ctx(&self.ferry, &self.customer);
        let r = self
            .ferry
            .create_role(
                &c,
                CreateRoleInput {
                    name: name.into(),
                    assume_role_policy: trust(trusted),
                    max_session_duration: Some(43200),
                    ..Default::default()
                },
            )
            .await
            .expect("create role");
        self.ferry
            .put_inline_policy(
                &c,
                PrincipalKind::Role,
                name,
                "all",
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
            )
            .await
            .expect("policy");
        ferry_core::iam::role_arn(&r)
    }

    async fn assume(
        &self,
        who: &Principal,
        arn: &str,
        secs: Option<i64>,
    ) -> Result<SessionCredentials, CoreError> {
        self.ferry
            .assume_role(
                &ctx(&self.ferry, who),
                AssumeRoleInput {
                    role_arn: arn.into(),
                    role_session_name: "sess".into(),
                    duration_seconds: secs,
                    ..Default::default()
                },
            )
            .await
            .map(|r| r.credentials)
    }

    async fn resolve(&self, c: &SessionCredentials) -> Result<Principal, &'static str> {
        self.ferry
            .resolve_session(&c.access_key_id, &c.session_token)
            .await
            .expect("no store error")
            .map(|r| {
                assert_eq!(
                    r.secret_access_key, c.secret_access_key,
                    "the secret is derivable"
                );
                r.principal
            })
    }
}

#[tokio::test]
async fn sessions_expire_on_time() {
    let w = world().await;
    let arn = w.role("VendorAccess", w.vendor.account).await;
    let creds = w.assume(&w.vendor, &arn, Some(900)).await.expect("assume");
    let p = w.resolve(&creds).await.expect("valid now");
    assert_eq!(
        p.arn,
        format!(
            "arn:aws:sts::{}:assumed-role/VendorAccess/sess",
            w.customer.account
        )
    );
    w.clock.advance(Duration::seconds(899));
    assert!(
        w.resolve(&creds).await.is_ok(),
        "valid until the last second"
    );
    w.clock.advance(Duration::seconds(1));
    assert_eq!(w.resolve(&creds).await.err(), Some("ExpiredToken"));
}

#[tokio::test]
async fn tampered_or_borrowed_tokens_are_refused() {
    let w = world().await;
    let arn = w.role("VendorAccess", w.vendor.account).await;
    let creds = w.assume(&w.vendor, &arn, None).await.expect("assume");
    let mut token: Vec<char> = creds.session_token.chars().collect();
    let mid = token.len() / 2;
    token[mid] = if token[mid] == 'A' { 'B' } else { 'A' };
    let tampered: String = token.into_iter().collect();
    let r = w
        .ferry
        .resolve_session(&creds.access_key_id, &tampered)
        .await
        .expect("ok");
    assert_eq!(r.err(), Some("InvalidClientTokenId"));
    let other = w.assume(&w.vendor, &arn, None).await.expect("assume");
    let r = w
        .ferry
        .resolve_session(&other.access_key_id, &creds.session_token)
        .await
        .expect("ok");
    assert_eq!(
        r.err(),
        Some("InvalidClientTokenId"),
        "a token belongs to one key"
    );
}

#[tokio::test]
async fn deleting_the_role_revokes_its_sessions_even_if_recreated() {
    let w = world().await;
    let arn = w.role("VendorAccess", w.vendor.account).await;
    let creds = w.assume(&w.vendor, &arn, None).await.expect("assume");
    let c = ctx(&w.ferry, &w.customer);
    w.ferry
        .delete_inline_policy(&c, PrincipalKind::Role, "VendorAccess", "all")
        .await
        .expect("delete policy");
    w.ferry
        .delete_role(&c, "VendorAccess")
        .await
        .expect("delete role");
    assert_eq!(w.resolve(&creds).await.err(), Some("InvalidClientTokenId"));
    w.role("VendorAccess", w.vendor.account).await;
    assert_eq!(
        w.resolve(&creds).await.err(),
        Some("InvalidClientTokenId"),
        "a new role by the same name is another role"
    );
}

#[tokio::test]
async fn role_chaining_is_capped_at_an_hour() {
    let w = world().await;
    let first = w.role("First", w.vendor.account).await;
    let second = w.role("Second", w.customer.account).await;
    let creds = w
        .assume(&w.vendor, &first, Some(7200))
        .await
        .expect("a long first session");
    let session = w.resolve(&creds).await.expect("valid");
    let err = w
        .assume(&session, &second, Some(7200))
        .await
        .expect_err("capped");
    assert_eq!(err.code(), "ValidationError");
    let ok = w
        .assume(&session, &second, Some(3600))
        .await
        .expect("an hour is fine");
    assert!(ok.access_key_id.starts_with("ASIA"));
}

#[tokio::test]
async fn strangers_and_missing_roles_get_the_same_answer() {
    let w = world().await;
    let arn = w.role("VendorAccess", w.vendor.account).await;
    let third = w
        .ferry
        .create_account("third", None, Tier::Pooled)
        .await
        .expect("third");
    let third = principal(&w.ferry, &third.access_key_id).await;
    let stranger = w.assume(&third, &arn, None).await.expect_err("not trusted");
    let missing_arn = arn.replace("VendorAccess", "NoSuchRole");
    let missing = w
        .assume(&w.vendor, &missing_arn, None)
        .await
        .expect_err("missing");
    assert_eq!(stranger.code(), "AccessDenied");
    assert_eq!(missing.code(), "AccessDenied");
}

#[tokio::test]
async fn ferry_services_act_on_a_role_only_when_its_trust_policy_names_them() {
    let w = world().await;
    let c = ctx(&w.ferry, &w.customer);
    let trust = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Service":"transfer.amazonaws.com"}},"Action":"sts:AssumeRole","Condition":{{"StringEquals":{{"aws:SourceAccount":"{}"}}}}}}]}}"#,
        w.vendor.account
    );
    let role = w
        .ferry
        .create_role(
            &c,
            CreateRoleInput {
                name: "SftpAccess".into(),
                assume_role_policy: trust,
                ..Default::default()
            },
        )
        .await
        .expect("role");
    let arn = ferry_core::iam::role_arn(&role);
    let p = w
        .ferry
        .assume_role_as_service(
            "transfer.amazonaws.com",
            &arn,
            "sftp-user",
            Some(w.vendor.account),
            None,
        )
        .await
        .expect("the named service, from the named account");
    assert_eq!(p.account, w.customer.account);
    assert_eq!(
        p.arn,
        format!(
            "arn:aws:sts::{}:assumed-role/SftpAccess/sftp-user",
            w.customer.account
        )
    );
    for (service, source) in [
        ("transfer.amazonaws.com", Some(w.customer.account)),
        ("transfer.amazonaws.com", None),
        ("events.amazonaws.com", Some(w.vendor.account)),
    ] {
        let err = w
            .ferry
            .assume_role_as_service(service, &arn, "x", source, None)
            .await
            .expect_err("refused");
        assert_eq!(err.code(), "AccessDenied", "{service} {source:?}");
    }
    let vendor_role = w.role("VendorOnly", w.vendor.account).await;
    let err = w
        .ferry
        .assume_role_as_service(
            "transfer.amazonaws.com",
            &vendor_role,
            "x",
            Some(w.vendor.account),
            None,
        )
        .await
        .expect_err("a role that trusts an account does not trust a service");
    assert_eq!(err.code(), "AccessDenied");
}
