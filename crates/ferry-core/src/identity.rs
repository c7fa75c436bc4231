//! Access key -> principal. The front door verifies a signature with the
//! secret found here; what it gets back is a principal, not just a secret.

use ferry_types::AccountId;
use serde::Serialize;

use crate::{CoreError, Ferry};

/// What kind of identity a principal is (CloudTrail's `userIdentity.type`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum IdentityKind {
    /// The account's root user.
    Root,
    /// An IAM user.
    IamUser {
        /// User name.
        name: String,
    },
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The caller's account.
    pub account: AccountId,
    /// Root, user, or (with the STS issue) an assumed-role session.
    pub kind: IdentityKind,
    /// `arn:aws:iam::ACCOUNT:root`, `arn:aws:iam::ACCOUNT:user/NAME`, ...
    pub arn: String,
    /// The unique id (`AIDA...`, or the account id for root).
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
        }
    }

    /// The name CloudTrail shows as `Username` (`root` for the root user).
    pub fn user_name(&self) -> &str {
        match &self.kind {
            IdentityKind::Root => "root",
            IdentityKind::IamUser { name } => name,
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
    /// Finds the secret and principal of an access key. `Ok(None)` for an
    /// unknown or inactive key (the caller answers `InvalidClientTokenId`).
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
                    kind: IdentityKind::IamUser { name: user.name },
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
