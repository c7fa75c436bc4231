//! STS: `GetCallerIdentity`, `AssumeRole`, `GetSessionToken`,
//! `GetAccessKeyInfo`, and the session credentials they issue.
//!
//! A session token is self-contained and authenticated by the server: the
//! session's facts (account, role and its id at issue time, session name,
//! expiry, session policies, tags) signed with HMAC-SHA256 under a key kept
//! in the catalog (so every Ferry process on one store accepts it). The
//! session's secret is derived from the same key and its access key id, so
//! issuing credentials writes nothing. Revocation still takes effect at
//! once: each call re-reads the role (a role deleted, or deleted and made
//! again under a new id, kills its sessions) and its policies.

use std::sync::Arc;

use base64::Engine as _;
use chrono::Duration;
use ferry_policy::{ContextValue, NamedPolicy, Policy, PolicyKind, evaluate_assume_role};
use ferry_store::{Write, WriteBatch};
use ferry_types::{AccountId, Timestamp};
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::authz::{Check, policy_principal};
use crate::identity::{IdentityKind, ResolvedKey, RoleSession};
use crate::{CoreError, Ferry, Principal, RequestContext};

/// The answer to `GetCallerIdentity`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerIdentity {
    /// The caller's account.
    pub account: AccountId,
    /// The caller's ARN.
    pub arn: String,
    /// The caller's unique id.
    pub user_id: String,
}

/// Temporary credentials.
#[derive(Debug, Clone)]
pub struct SessionCredentials {
    /// `ASIA...`.
    pub access_key_id: String,
    /// The secret.
    pub secret_access_key: String,
    /// The session token to send as `x-amz-security-token`.
    pub session_token: String,
    /// When they stop working.
    pub expiration: Timestamp,
}

/// `AssumeRole`'s input.
#[derive(Debug, Clone, Default)]
pub struct AssumeRoleInput {
    /// The role to assume.
    pub role_arn: String,
    /// 2-64 characters of `[\w+=,.@-]`.
    pub role_session_name: String,
    /// The external id, if the caller sends one.
    pub external_id: Option<String>,
    /// 900 to the role's maximum (3600 when chaining).
    pub duration_seconds: Option<i64>,
    /// An inline session policy.
    pub policy: Option<String>,
    /// Managed session policies.
    pub policy_arns: Vec<String>,
    /// Session tags.
    pub tags: Vec<(String, String)>,
    /// Tag keys that pass on to chained sessions.
    pub transitive_tag_keys: Vec<String>,
    /// `SourceIdentity`.
    pub source_identity: Option<String>,
}

/// `AssumeRole`'s answer.
#[derive(Debug, Clone)]
pub struct AssumedRole {
    /// The credentials.
    pub credentials: SessionCredentials,
    /// `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`.
    pub arn: String,
    /// `AROA...:SESSION`.
    pub assumed_role_id: String,
    /// Percentage of the packed policy size limit used, when policies or
    /// tags were passed.
    pub packed_policy_size: Option<i64>,
    /// The source identity, if set.
    pub source_identity: Option<String>,
}

/// What a session token says. Short field names keep tokens small.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Claims {
    /// The access key id the token belongs to.
    k: String,
    /// Account.
    a: String,
    /// Expiry, ms since the epoch.
    e: i64,
    /// Role session facts, or `None` for a `GetSessionToken` session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    r: Option<RoleClaims>,
    /// The IAM user of a `GetSessionToken` session (`None`: root).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    u: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct RoleClaims {
    n: String,
    p: String,
    id: String,
    s: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pol: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pa: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    si: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    t: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    tt: Vec<String>,
    #[serde(default)]
    ch: bool,
}

const TOKEN_PREFIX: &str = "FQoFRVJSWQ";
const KEY_SETTING: &str = "sts.session_token_key";
const BASE32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// `ASIA` + 16 base32 characters: 40 bits of account id, 40 random bits,
/// so `GetAccessKeyInfo` can name the account of any session key.
fn session_key_id(account: AccountId) -> String {
    let id: u64 = account.to_string().parse().unwrap_or(0);
    let bits: u128 = (u128::from(id) << 40) | u128::from(rand::random::<u64>() & 0xff_ffff_ffff);
    let tail: String = (0..16)
        .rev()
        .map(|i| BASE32[((bits >> (i * 5)) & 31) as usize] as char)
        .collect();
    format!("ASIA{tail}")
}

/// The account encoded in a session key id.
pub fn session_key_account(key: &str) -> Option<AccountId> {
    let tail = key.strip_prefix("ASIA")?;
    if tail.len() != 16 {
        return None;
    }
    let mut bits: u128 = 0;
    for c in tail.bytes() {
        let v = BASE32.iter().position(|b| *b == c)? as u128;
        bits = (bits << 5) | v;
    }
    format!("{:012}", bits >> 40).parse().ok()
}

fn valid_chars(s: &str, extra: &str) -> bool {
    s.chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || extra.contains(c))
}

fn validation(message: impl Into<String>) -> CoreError {
    CoreError::invalid("ValidationError", message)
}

fn check_len(name: &str, v: &str, min: usize, max: usize) -> Result<(), CoreError> {
    let n = v.chars().count();
    if n < min || n > max {
        return Err(validation(format!(
            "1 validation error detected: Value '{v}' at '{name}' failed to satisfy constraint: \
             Member must have length between {min} and {max}"
        )));
    }
    Ok(())
}

/// Parses `arn:aws:iam::ACCOUNT:role/PATH/NAME` into the account and name.
fn parse_role_arn(arn: &str) -> Result<(AccountId, String), CoreError> {
    let parsed: ferry_types::Arn = arn
        .parse()
        .map_err(|_| validation(format!("{arn} is invalid: RoleArn must be a role ARN")))?;
    let name = parsed
        .resource
        .strip_prefix("role/")
        .and_then(|r| r.rsplit('/').next())
        .filter(|n| !n.is_empty());
    match (
        parsed.service.as_str(),
        parsed.account.parse::<AccountId>(),
        name,
    ) {
        ("iam", Ok(account), Some(name)) => Ok((account, name.to_string())),
        _ => Err(validation(format!(
            "{arn} is invalid: RoleArn must be a role ARN"
        ))),
    }
}

impl Ferry {
    /// Who is calling. Needs no permission, as in AWS: it works for every
    /// authenticated principal, even one denied everything else.
    pub fn get_caller_identity(&self, ctx: &RequestContext) -> CallerIdentity {
        ctx.decision
            .record("allowed: GetCallerIdentity needs no permission".into());
        CallerIdentity {
            account: ctx.principal.account,
            arn: ctx.principal.arn.clone(),
            user_id: ctx.principal.user_id.clone(),
        }
    }

    async fn token_key(&self) -> Result<Vec<u8>, CoreError> {
        if let Some(k) = self.cached_token_key() {
            return Ok(k);
        }
        let catalog = self.placement().catalog().clone();
        catalog
            .apply(WriteBatch::one(Write::InitSetting {
                key: KEY_SETTING.into(),
                value: hex::encode(rand::random::<[u8; 32]>()),
            }))
            .await?;
        let stored = catalog
            .get_setting(KEY_SETTING)
            .await?
            .ok_or_else(|| CoreError::Internal("session token key missing".into()))?;
        let key = hex::decode(stored)
            .map_err(|_| CoreError::Internal("session token key is corrupt".into()))?;
        Ok(self.cache_token_key(key))
    }

    fn mac(key: &[u8], data: &[u8]) -> Result<Vec<u8>, CoreError> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
            .map_err(|_| CoreError::Internal("bad HMAC key".into()))?;
        mac.update(data);
        Ok(mac.finalize().into_bytes().to_vec())
    }

    async fn issue(&self, claims: Claims) -> Result<SessionCredentials, CoreError> {
        let key = self.token_key().await?;
        let body = B64
            .encode(serde_json::to_vec(&claims).map_err(|e| CoreError::Internal(e.to_string()))?);
        let signed = format!("{TOKEN_PREFIX}.{body}");
        let tag = B64.encode(Self::mac(&key, signed.as_bytes())?);
        let secret = base64::engine::general_purpose::STANDARD
            .encode(Self::mac(&key, format!("secret/{}", claims.k).as_bytes())?);
        Ok(SessionCredentials {
            access_key_id: claims.k.clone(),
            secret_access_key: secret.chars().take(40).collect(),
            session_token: format!("{signed}.{tag}"),
            expiration: chrono::DateTime::from_timestamp_millis(claims.e).unwrap_or_default(),
        })
    }

    /// Resolves session credentials: checks the token's signature, that it
    /// belongs to this key, expiry, and that its role still exists as it
    /// was. `Ok(Err(code))` gives the AWS code to answer with
    /// (`InvalidClientTokenId` or `ExpiredToken`).
    pub async fn resolve_session(
        &self,
        access_key_id: &str,
        token: &str,
    ) -> Result<Result<ResolvedKey, &'static str>, CoreError> {
        let key = self.token_key().await?;
        let Some((signed, tag)) = token.rsplit_once('.') else {
            return Ok(Err("InvalidClientTokenId"));
        };
        let Some(body) = signed
            .strip_prefix(TOKEN_PREFIX)
            .and_then(|b| b.strip_prefix('.'))
        else {
            return Ok(Err("InvalidClientTokenId"));
        };
        let Ok(tag) = B64.decode(tag) else {
            return Ok(Err("InvalidClientTokenId"));
        };
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&key)
            .map_err(|_| CoreError::Internal("bad HMAC key".into()))?;
        mac.update(signed.as_bytes());
        if mac.verify_slice(&tag).is_err() {
            return Ok(Err("InvalidClientTokenId"));
        }
        let claims: Claims = match B64
            .decode(body)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
        {
            Some(c) => c,
            None => return Ok(Err("InvalidClientTokenId")),
        };
        if claims.k != access_key_id {
            return Ok(Err("InvalidClientTokenId"));
        }
        if self.now().timestamp_millis() >= claims.e {
            return Ok(Err("ExpiredToken"));
        }
        let Ok(account) = claims.a.parse::<AccountId>() else {
            return Ok(Err("InvalidClientTokenId"));
        };
        let creds = self.issue(claims.clone()).await?;
        let store = self.placement().for_account(account).await?;
        let principal = match (&claims.r, &claims.u) {
            (Some(r), _) => {
                let role_tags = match store.get_role(account, &r.n).await? {
                    Some(role) if role.role_id == r.id => role.tags,
                    // The role is gone (or is another role by the same name).
                    _ => return Ok(Err("InvalidClientTokenId")),
                };
                Principal {
                    account,
                    arn: format!("arn:aws:sts::{account}:assumed-role/{}/{}", r.n, r.s),
                    user_id: format!("{}:{}", r.id, r.s),
                    access_key_id: access_key_id.to_string(),
                    kind: IdentityKind::AssumedRole(Arc::new(RoleSession {
                        role_name: r.n.clone(),
                        role_path: r.p.clone(),
                        role_id: r.id.clone(),
                        session_name: r.s.clone(),
                        expires: creds.expiration,
                        session_policy: r.pol.clone(),
                        session_policy_arns: r.pa.clone(),
                        source_identity: r.si.clone(),
                        tags: r.t.clone(),
                        role_tags,
                        transitive_tag_keys: r.tt.clone(),
                        chained: r.ch,
                    })),
                }
            }
            (None, Some(user)) => {
                let Some(u) = store.get_user(account, user).await? else {
                    return Ok(Err("InvalidClientTokenId"));
                };
                Principal {
                    account,
                    arn: format!("arn:aws:iam::{account}:user{}{}", u.path, u.name),
                    user_id: u.user_id,
                    access_key_id: access_key_id.to_string(),
                    kind: IdentityKind::IamUser {
                        name: u.name,
                        tags: u.tags,
                        session: true,
                    },
                }
            }
            (None, None) => Principal {
                account,
                arn: format!("arn:aws:iam::{account}:root"),
                user_id: account.to_string(),
                access_key_id: access_key_id.to_string(),
                kind: IdentityKind::Root,
            },
        };
        Ok(Ok(ResolvedKey {
            secret_access_key: creds.secret_access_key,
            principal,
        }))
    }

    /// `AssumeRole`.
    pub async fn assume_role(
        &self,
        ctx: &RequestContext,
        input: AssumeRoleInput,
    ) -> Result<AssumedRole, CoreError> {
        let caller = &ctx.principal;
        check_len("roleSessionName", &input.role_session_name, 2, 64)?;
        if !valid_chars(&input.role_session_name, "+=,.@-") {
            return Err(validation(format!(
                "1 validation error detected: Value '{}' at 'roleSessionName' failed to satisfy \
                 constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*",
                input.role_session_name
            )));
        }
        check_len("roleArn", &input.role_arn, 20, 2048)?;
        if let Some(x) = &input.external_id {
            check_len("externalId", x, 2, 1224)?;
            if !valid_chars(x, "+=,.@:/-") {
                return Err(validation(
                    "Value at 'externalId' failed to satisfy constraint: Member must satisfy \
                     regular expression pattern: [\\w+=,.@:/-]*",
                ));
            }
        }
        if let Some(si) = &input.source_identity {
            check_len("sourceIdentity", si, 2, 64)?;
        }
        if input.tags.len() > 50 {
            return Err(validation("A session may have at most 50 tags"));
        }
        for (k, v) in &input.tags {
            check_len("tags.member.key", k, 1, 128)?;
            check_len("tags.member.value", v, 0, 256)?;
        }
        if input.policy_arns.len() > 10 {
            return Err(validation("At most 10 PolicyArns may be passed"));
        }
        let session_policy = match &input.policy {
            Some(doc) => {
                check_len("policy", doc, 1, 2048)?;
                Some(Policy::parse(doc, PolicyKind::Session).map_err(|e| {
                    CoreError::invalid("MalformedPolicyDocument", e.message().to_string())
                })?)
            }
            None => None,
        };
        // Managed session policies come from AWS or from the role's own
        // account.
        let (account, role_name) = parse_role_arn(&input.role_arn)?;
        for arn in &input.policy_arns {
            if crate::iam::managed_policy_document(self, account, arn)
                .await?
                .is_none()
            {
                return Err(CoreError::invalid(
                    "MalformedPolicyDocument",
                    format!("Policy {arn} does not exist or is not attachable."),
                ));
            }
        }
        let chained = matches!(caller.kind, IdentityKind::AssumedRole(_));
        let denied = || {
            CoreError::AccessDenied(format!(
                "User: {} is not authorized to perform: sts:AssumeRole on resource: {}",
                caller.arn, input.role_arn
            ))
        };
        let store = self.placement().for_account(account).await?;
        // A role that does not exist is refused like one that does: the
        // answer must not tell a stranger what exists.
        let Some(role) = store.get_role(account, &role_name).await? else {
            ctx.decision
                .record(format!("role {} does not exist", input.role_arn));
            return Err(denied());
        };
        let role_arn = format!("arn:aws:iam::{account}:role{}{}", role.path, role.name);
        let trust = Policy::parse_with_limit(
            &role.assume_role_policy,
            PolicyKind::Trust,
            ferry_policy::SizeLimit::unlimited(),
        )
        .map_err(|e| CoreError::Internal(format!("stored trust policy: {}", e.message())))?;
        let trust = NamedPolicy::new(format!("trust policy of {}", role.name), trust);
        let caller_set = self.identity_policies(caller).await?;
        let mut context = self.request_context(ctx);
        context.insert("aws:ResourceAccount", account.to_string());
        context.insert("sts:RoleSessionName", input.role_session_name.clone());
        if let Some(x) = &input.external_id {
            context.insert("sts:ExternalId", x.clone());
        }
        if let Some(si) = &input.source_identity {
            context.insert("sts:SourceIdentity", si.clone());
        }
        for (k, v) in &input.tags {
            context.insert(&format!("aws:RequestTag/{k}"), v.clone());
        }
        if !input.tags.is_empty() {
            context.insert(
                "aws:TagKeys",
                ContextValue::strings(input.tags.iter().map(|(k, _)| k.clone())),
            );
        }
        let principal = policy_principal(caller);
        let account_s = account.to_string();
        let mut actions = vec!["sts:AssumeRole"];
        if !input.tags.is_empty() {
            actions.push("sts:TagSession");
        }
        if input.source_identity.is_some() {
            actions.push("sts:SetSourceIdentity");
        }
        for action in actions {
            let request = ferry_policy::Request {
                principal: &principal,
                action,
                resource: &role_arn,
                resource_account: Some(&account_s),
                context: &context,
            };
            let decision = evaluate_assume_role(&request, &trust, &caller_set);
            self.conclude(
                ctx,
                &Check::new(action, role_arn.clone(), account),
                decision,
            )
            .map_err(|e| match e {
                CoreError::AccessDenied(_) if action == "sts:AssumeRole" => denied(),
                e => e,
            })?;
        }

        let max = if chained {
            3600
        } else {
            role.max_session_duration
        };
        let duration = input.duration_seconds.unwrap_or(3600.min(max));
        if duration < 900 {
            return Err(validation(format!(
                "1 validation error detected: Value '{duration}' at 'durationSeconds' failed to \
                 satisfy constraint: Member must have value greater than or equal to 900"
            )));
        }
        if duration > max {
            return Err(validation(if chained {
                "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.".to_string()
            } else {
                "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
                    .to_string()
            }));
        }
        // Transitive tags of a chained session carry over.
        let mut tags = input.tags.clone();
        let mut transitive = input.transitive_tag_keys.clone();
        if let IdentityKind::AssumedRole(prev) = &caller.kind {
            for (k, v) in &prev.tags {
                if prev
                    .transitive_tag_keys
                    .iter()
                    .any(|t| t.eq_ignore_ascii_case(k))
                    && !tags.iter().any(|(x, _)| x.eq_ignore_ascii_case(k))
                {
                    tags.push((k.clone(), v.clone()));
                    transitive.push(k.clone());
                }
            }
        }
        let source_identity = input
            .source_identity
            .clone()
            .or_else(|| match &caller.kind {
                IdentityKind::AssumedRole(prev) => prev.source_identity.clone(),
                _ => None,
            });
        let packed = (session_policy.is_some()
            || !input.policy_arns.is_empty()
            || !tags.is_empty())
        .then(|| {
            let size = input.policy.as_ref().map_or(0, String::len)
                + input.policy_arns.iter().map(String::len).sum::<usize>()
                + tags.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>();
            (size * 100 / 2048).min(100) as i64
        });
        let claims = Claims {
            k: session_key_id(account),
            a: account.to_string(),
            e: (self.now() + Duration::seconds(duration)).timestamp_millis(),
            r: Some(RoleClaims {
                n: role.name.clone(),
                p: role.path.clone(),
                id: role.role_id.clone(),
                s: input.role_session_name.clone(),
                pol: input.policy.clone(),
                pa: input.policy_arns.clone(),
                si: source_identity.clone(),
                t: tags,
                tt: transitive,
                ch: chained,
            }),
            u: None,
        };
        let credentials = self.issue(claims).await?;
        Ok(AssumedRole {
            credentials,
            arn: format!(
                "arn:aws:sts::{account}:assumed-role/{}/{}",
                role.name, input.role_session_name
            ),
            assumed_role_id: format!("{}:{}", role.role_id, input.role_session_name),
            packed_policy_size: packed,
            source_identity,
        })
    }

    /// How Ferry's own services (Transfer Family, API Gateway, EventBridge)
    /// act on a customer's role: as their service principal
    /// (`transfer.amazonaws.com`, ...), allowed only by the role's trust
    /// policy, with `aws:SourceAccount` and `aws:SourceArn` in context so a
    /// customer can guard against the confused deputy as on AWS. Returns the
    /// session principal to run the service's calls as; no credentials are
    /// issued, and every call it makes is authorized like any other.
    pub async fn assume_role_as_service(
        &self,
        service: &str,
        role_arn: &str,
        session_name: &str,
        source_account: Option<AccountId>,
        source_arn: Option<&str>,
    ) -> Result<Principal, CoreError> {
        let (account, role_name) = parse_role_arn(role_arn)?;
        let denied = || {
            CoreError::AccessDenied(format!(
                "Service {service} is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
            ))
        };
        let Some(store) = self.placement().existing(account).await? else {
            return Err(denied());
        };
        let Some(role) = store.get_role(account, &role_name).await? else {
            return Err(denied());
        };
        let trust = Policy::parse_with_limit(
            &role.assume_role_policy,
            PolicyKind::Trust,
            ferry_policy::SizeLimit::unlimited(),
        )
        .map_err(|e| CoreError::Internal(format!("stored trust policy: {}", e.message())))?;
        let trust = NamedPolicy::new(format!("trust policy of {}", role.name), trust);
        let principal = ferry_policy::Principal::service(service);
        let mut context = ferry_policy::Context::new();
        context.insert_principal_keys(&principal);
        context.insert("aws:CurrentTime", ContextValue::Date(self.now()));
        context.insert("sts:RoleSessionName", session_name.to_string());
        if let Some(a) = source_account {
            context.insert("aws:SourceAccount", a.to_string());
        }
        if let Some(arn) = source_arn {
            context.insert("aws:SourceArn", arn.to_string());
        }
        let role_arn = crate::iam::role_arn(&role);
        let account_s = account.to_string();
        let request = ferry_policy::Request {
            principal: &principal,
            action: "sts:AssumeRole",
            resource: &role_arn,
            resource_account: Some(&account_s),
            context: &context,
        };
        if !evaluate_assume_role(&request, &trust, &Default::default()).is_allowed() {
            return Err(denied());
        }
        Ok(Principal {
            account,
            arn: format!(
                "arn:aws:sts::{account}:assumed-role/{}/{session_name}",
                role.name
            ),
            user_id: format!("{}:{session_name}", role.role_id),
            access_key_id: String::new(),
            kind: IdentityKind::AssumedRole(Arc::new(RoleSession {
                role_name: role.name.clone(),
                role_path: role.path.clone(),
                role_id: role.role_id.clone(),
                session_name: session_name.to_string(),
                expires: self.now() + Duration::hours(1),
                session_policy: None,
                session_policy_arns: Vec::new(),
                source_identity: None,
                tags: Vec::new(),
                role_tags: role.tags.clone(),
                transitive_tag_keys: Vec::new(),
                chained: false,
            })),
        })
    }

    /// `GetSessionToken`: temporary credentials acting as the calling user
    /// (or root). 900 s to 36 h for users, at most 1 h for root.
    pub async fn get_session_token(
        &self,
        ctx: &RequestContext,
        duration_seconds: Option<i64>,
    ) -> Result<SessionCredentials, CoreError> {
        let p = &ctx.principal;
        let (user, max) = match &p.kind {
            IdentityKind::IamUser { session: true, .. } => {
                return Err(CoreError::AccessDenied(
                    "Cannot call GetSessionToken with session credentials".into(),
                ));
            }
            IdentityKind::IamUser { name, .. } => (Some(name.clone()), 129_600),
            IdentityKind::Root => (None, 3600),
            IdentityKind::AssumedRole(_) => {
                return Err(CoreError::AccessDenied(
                    "Cannot call GetSessionToken with session credentials".into(),
                ));
            }
            // Only S3 lets unsigned requests in; STS never sees one.
            IdentityKind::Anonymous => {
                return Err(CoreError::AccessDenied(
                    "GetSessionToken needs signed credentials".into(),
                ));
            }
        };
        let duration = duration_seconds.unwrap_or(if user.is_some() { 43_200 } else { 3600 });
        if !(900..=max).contains(&duration) {
            return Err(validation(format!(
                "DurationSeconds must be between 900 and {max} for this caller"
            )));
        }
        ctx.decision
            .record("allowed: GetSessionToken needs no permission".into());
        self.issue(Claims {
            k: session_key_id(p.account),
            a: p.account.to_string(),
            e: (self.now() + Duration::seconds(duration)).timestamp_millis(),
            r: None,
            u: user,
        })
        .await
    }

    /// `GetAccessKeyInfo`: the account a key belongs to.
    pub async fn get_access_key_info(
        &self,
        ctx: &RequestContext,
        access_key_id: &str,
    ) -> Result<AccountId, CoreError> {
        check_len("accessKeyId", access_key_id, 16, 128)?;
        ctx.decision
            .record("allowed: GetAccessKeyInfo needs no permission".into());
        if let Some(a) = session_key_account(access_key_id) {
            return Ok(a);
        }
        match self
            .placement()
            .catalog()
            .get_key_index(access_key_id)
            .await?
        {
            Some(idx) => Ok(idx.account_id),
            None => Err(validation(format!(
                "The access key {access_key_id} is not a valid access key"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_keys_carry_their_account() {
        for _ in 0..50 {
            let a = AccountId::random();
            let k = session_key_id(a);
            assert!(k.starts_with("ASIA") && k.len() == 20, "{k}");
            assert_eq!(session_key_account(&k), Some(a));
        }
        assert_eq!(session_key_account("AKIAAAAAAAAAAAAAAAAA"), None);
        assert_eq!(session_key_account("ASIA!!"), None);
    }

    #[test]
    fn role_arns_parse() {
        let (a, n) = parse_role_arn("arn:aws:iam::123456789012:role/path/to/Vendor").expect("ok");
        assert_eq!(a.to_string(), "123456789012");
        assert_eq!(n, "Vendor");
        for bad in [
            "arn:aws:iam::123456789012:user/x",
            "arn:aws:s3:::bucket",
            "arn:aws:iam::12:role/x",
            "role/x",
            "arn:aws:iam::123456789012:role/",
        ] {
            assert!(parse_role_arn(bad).is_err(), "{bad}");
        }
    }
}
