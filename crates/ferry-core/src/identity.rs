//! Access key -> principal. The front door verifies a signature with the
//! secret found here; what it gets back is a principal, not just a secret.

use std::sync::Arc;

use ferry_types::{AccountId, Timestamp};

use crate::{CoreError, Ferry};

/// A role session's facts, carried (authenticated) in its session token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleSession {
    /// The role's name.
    pub role_name: String,
    /// The role's path (`/` by default).
    pub role_path: String,
    /// The role's unique id when the session was made; a role deleted and
    /// made again has a new id, and old sessions die with the old role.
    pub role_id: String,
    /// `RoleSessionName`.
    pub session_name: String,
    /// When the credentials stop working.
    pub expires: Timestamp,
    /// The inline session policy, if given.
    pub session_policy: Option<String>,
    /// Managed session policies (`PolicyArns`), if given.
    pub session_policy_arns: Vec<String>,
    /// `SourceIdentity`, if set.
    pub source_identity: Option<String>,
    /// Session tags (`aws:PrincipalTag/*`).
    pub tags: Vec<(String, String)>,
    /// The role's own tags, read when the session is resolved; session
    /// tags with the same key win.
    pub role_tags: Vec<(String, String)>,
    /// Tag keys passed on to chained sessions.
    pub transitive_tag_keys: Vec<String>,
    /// Whether a role session made this session (role chaining).
    pub chained: bool,
}

/// What kind of identity a principal is (CloudTrail's `userIdentity.type`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentityKind {
    /// The account's root user.
    Root,
    /// An IAM user (signing with its own key, or with credentials from
    /// `GetSessionToken`).
    IamUser {
        /// User name.
        name: String,
        /// The user's tags (`aws:PrincipalTag/*`), read when the key is
        /// resolved.
        tags: Vec<(String, String)>,
        /// Whether the credentials came from `GetSessionToken` (without
        /// MFA, which Ferry does not have): such sessions may not call IAM,
        /// and of STS only `AssumeRole` and `GetCallerIdentity`, as on AWS.
        session: bool,
    },
    /// A role session from `AssumeRole`.
    AssumedRole(Arc<RoleSession>),
    /// An unsigned request (S3 only): no identity policies, so only a
    /// resource policy that grants `Principal: "*"` lets it in.
    Anonymous,
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The caller's account.
    pub account: AccountId,
    /// Root, user, or an assumed-role session.
    pub kind: IdentityKind,
    /// `arn:aws:iam::ACCOUNT:root`, `arn:aws:iam::ACCOUNT:user/NAME`,
    /// `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`.
    pub arn: String,
    /// The unique id (`AIDA...`, `AROA...:session`, or the account id for
    /// root).
    pub user_id: String,
    /// The access key the request was signed with.
    pub access_key_id: String,
}

impl Principal {
    /// CloudTrail's `userIdentity.type`.
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            IdentityKind::Root => "Root",
            IdentityKind::IamUser { .. } => "IAMUser",
            IdentityKind::AssumedRole(_) => "AssumedRole",
            // CloudTrail records anonymous S3 calls as an `AWSAccount` whose
            // account is `anonymous`.
            IdentityKind::Anonymous => "AWSAccount",
        }
    }

    /// The name CloudTrail shows as `Username` (`root` for the root user,
    /// the session name for a role session).
    pub fn user_name(&self) -> &str {
        match &self.kind {
            IdentityKind::Root => "root",
            IdentityKind::IamUser { name, .. } => name,
            IdentityKind::AssumedRole(s) => &s.session_name,
            IdentityKind::Anonymous => "",
        }
    }

    /// The caller of an unsigned request.
    pub fn anonymous() -> Principal {
        Principal {
            // INVARIANT: no real account is `AccountId::ANONYMOUS`, and the
            // policy engine sees an anonymous principal with no account at
            // all (`authz::policy_principal`), so this placeholder grants
            // nothing.
            account: AccountId::ANONYMOUS,
            kind: IdentityKind::Anonymous,
            arn: "anonymous".to_string(),
            user_id: "anonymous".to_string(),
            access_key_id: String::new(),
        }
    }

    /// Whether this is the caller of an unsigned request.
    pub fn is_anonymous(&self) -> bool {
        matches!(self.kind, IdentityKind::Anonymous)
    }

    /// The ARN of the role behind a session.
    pub fn role_arn(&self) -> Option<String> {
        match &self.kind {
            IdentityKind::AssumedRole(s) => Some(format!(
                "arn:aws:iam::{}:role{}{}",
                self.account, s.role_path, s.role_name
            )),
            _ => None,
        }
    }
}

/// A key that resolved: the secret to verify the signature with, and who
/// signed if it verifies.
#[derive(Debug, Clone)]
pub struct ResolvedKey {
    /// The secret access key.
    pub secret_access_key: String,
    /// The principal behind the key.
    pub principal: Principal,
}

impl Ferry {
    /// Finds the secret and principal of a long-term access key. `Ok(None)`
    /// for an unknown or inactive key (the caller answers
    /// `InvalidClientTokenId`).
    pub async fn resolve_access_key(
        &self,
        access_key_id: &str,
    ) -> Result<Option<ResolvedKey>, CoreError> {
        let Some(idx) = self
            .placement()
            .catalog()
            .get_key_index(access_key_id)
            .await?
        else {
            return Ok(None);
        };
        let store = self.placement().for_account(idx.account_id).await?;
        let Some(key) = store.get_access_key(idx.account_id, access_key_id).await? else {
            return Ok(None);
        };
        if key.status != "Active" {
            return Ok(None);
        }
        let account = idx.account_id;
        let principal = match key.user_name {
            None => Principal {
                account,
                kind: IdentityKind::Root,
                arn: format!("arn:aws:iam::{account}:root"),
                user_id: account.to_string(),
                access_key_id: key.access_key_id.clone(),
            },
            Some(name) => {
                let Some(user) = store.get_user(account, &name).await? else {
                    // The user was deleted: its keys die with it.
                    return Ok(None);
                };
                Principal {
                    account,
                    arn: format!("arn:aws:iam::{account}:user{}{}", user.path, user.name),
                    kind: IdentityKind::IamUser {
                        name: user.name,
                        tags: user.tags,
                        session: false,
                    },
                    user_id: user.user_id,
                    access_key_id: key.access_key_id.clone(),
                }
            }
        };
        Ok(Some(ResolvedKey {
            secret_access_key: key.secret_access_key,
            principal,
        }))
    }
}
