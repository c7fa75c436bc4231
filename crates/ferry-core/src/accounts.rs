//! Accounts and tiers: the operator bootstrap, account creation (with the
//! `admin` user and `OrganizationAccountAccessRole` every account gets), and
//! admin keys.

use ferry_store::*;
use ferry_types::{AccountId, KeyKind, Tier, access_key_id, secret_access_key};
use rand::Rng;
use serde::Serialize;

use crate::{CoreError, Ferry};

pub use ferry_store::{Account, CreateAccountRequest};

/// The policy that grants everything (IAM's `AdministratorAccess`).
pub const ADMINISTRATOR_ACCESS: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

/// The ARN under which `admin` and the organization role have
/// [`ADMINISTRATOR_ACCESS`] attached (as AWS does, not an inline copy, so
/// a customer can detach it like any managed policy).
pub const ADMINISTRATOR_ACCESS_ARN: &str = "arn:aws:iam::aws:policy/AdministratorAccess";

/// The role every created account gets, trusted by the management account.
pub const ORGANIZATION_ROLE: &str = "OrganizationAccountAccessRole";

/// A new access key and its secret, shown once.
#[derive(Debug, Clone, Serialize)]
pub struct KeyPair {
    /// The account the key belongs to.
    pub account_id: AccountId,
    /// `AKIA...`.
    pub access_key_id: String,
    /// The secret.
    pub secret_access_key: String,
}

/// A created account and the keys of its `admin` user.
#[derive(Debug, Clone, Serialize)]
pub struct NewAccount {
    /// 12 digits.
    pub account_id: AccountId,
    /// Its name.
    pub name: String,
    /// Its tier.
    pub tier: Tier,
    /// The admin user's access key id.
    pub access_key_id: String,
    /// The admin user's secret.
    pub secret_access_key: String,
}

/// An account as `ferry account list` and `/_ferry/accounts` show it.
#[derive(Debug, Clone, Serialize)]
pub struct AccountSummary {
    /// 12 digits.
    pub account_id: AccountId,
    /// Its name.
    pub name: String,
    /// Its tier.
    pub tier: Tier,
    /// Its email.
    pub email: String,
    /// `ACTIVE`.
    pub status: String,
}

impl From<Account> for AccountSummary {
    fn from(a: Account) -> Self {
        AccountSummary {
            account_id: a.id,
            name: a.name,
            tier: a.tier,
            email: a.email,
            status: a.status,
        }
    }
}

fn unique_id(prefix: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut rng = rand::rng();
    let tail: String = (0..17)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    format!("{prefix}{tail}")
}

/// Validates an account name: 1 to 50 printable characters (Organizations'
/// rule for `AccountName`).
pub fn validate_account_name(name: &str) -> Result<(), CoreError> {
    let n = name.chars().count();
    if n == 0 || n > 50 || name.chars().any(|c| c.is_control()) {
        return Err(CoreError::invalid(
            "InvalidInputException",
            "AccountName must be 1 to 50 printable characters",
        ));
    }
    Ok(())
}

/// Validates an email: 6 to 64 characters with one `@` and a dotted domain.
pub fn validate_email(email: &str) -> Result<(), CoreError> {
    let ok = (6..=64).contains(&email.len())
        && email.split('@').count() == 2
        && email.split_once('@').is_some_and(|(l, d)| {
            !l.is_empty() && d.contains('.') && !d.starts_with('.') && !d.ends_with('.')
        })
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(())
    } else {
        Err(CoreError::invalid(
            "InvalidInputException",
            format!("Email {email:?} is not a valid email address"),
        ))
    }
}

impl Ferry {
    /// The management (operator) account.
    pub async fn management_account(&self) -> Result<AccountId, CoreError> {
        if let Some(id) = self.cached_management() {
            return Ok(id);
        }
        let accounts = self.placement().catalog().list_accounts().await?;
        let m = accounts
            .iter()
            .find(|a| a.is_management)
            .ok_or_else(|| CoreError::Internal("no management account yet".into()))?;
        self.set_management(m.id);
        Ok(m.id)
    }

    /// On an empty store, creates the management account and a root access
    /// key for the operator. Returns the key when one was made (first start,
    /// or when the operator asked for a new one because the file was lost).
    pub async fn bootstrap_operator(&self, need_key: bool) -> Result<Option<KeyPair>, CoreError> {
        let catalog = self.placement().catalog().clone();
        if let Some(m) = catalog
            .list_accounts()
            .await?
            .into_iter()
            .find(|a| a.is_management)
        {
            self.set_management(m.id);
            if !need_key {
                return Ok(None);
            }
            return self.create_key(m.id, None).await.map(Some);
        }
        let now = self.now();
        for _ in 0..8 {
            let id = AccountId::random();
            let account = Account {
                id,
                name: "management".into(),
                email: "management@ferry.local".into(),
                tier: Tier::Pooled,
                status: "ACTIVE".into(),
                is_management: true,
                created_at: now,
            };
            let key = self.new_key(id, None);
            let mut batch = WriteBatch::new();
            batch
                .push(Write::PutAccount(account.clone()))
                .push(Write::PutKeyIndex(KeyIndex {
                    access_key_id: key.access_key_id.clone(),
                    account_id: id,
                }))
                .push(Write::PutAccessKey(key.clone()));
            match catalog.apply(batch).await {
                Ok(()) => {
                    self.placement().register(&account).await?;
                    self.set_management(id);
                    return Ok(Some(KeyPair {
                        account_id: id,
                        access_key_id: key.access_key_id,
                        secret_access_key: key.secret_access_key,
                    }));
                }
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(CoreError::Internal(
            "could not pick a free account id".into(),
        ))
    }

    fn new_key(&self, account: AccountId, user: Option<&str>) -> AccessKey {
        AccessKey {
            access_key_id: access_key_id(KeyKind::LongTerm),
            account_id: account,
            user_name: user.map(str::to_string),
            secret_access_key: secret_access_key(),
            status: "Active".into(),
            created_at: self.now(),
        }
    }

    /// Makes a new access key for a user (`None`: the root user) of an
    /// account: the key row in the account's store, its index in the catalog.
    pub async fn create_key(
        &self,
        account: AccountId,
        user: Option<&str>,
    ) -> Result<KeyPair, CoreError> {
        let store = self.placement().for_account(account).await?;
        let key = self.new_key(account, user);
        store
            .apply(WriteBatch::one(Write::PutAccessKey(key.clone())))
            .await?;
        // The index last: a key is usable only once both rows exist.
        self.placement()
            .catalog()
            .apply(WriteBatch::one(Write::PutKeyIndex(KeyIndex {
                access_key_id: key.access_key_id.clone(),
                account_id: account,
            })))
            .await?;
        Ok(KeyPair {
            account_id: account,
            access_key_id: key.access_key_id,
            secret_access_key: key.secret_access_key,
        })
    }

    /// A new key for an account's `admin` user (how the operator gets into
    /// an account made through Organizations).
    pub async fn create_admin_key(&self, account: AccountId) -> Result<KeyPair, CoreError> {
        let a = self.describe_account_row(account).await?;
        self.create_key(a.id, Some("admin")).await
    }

    pub(crate) async fn describe_account_row(&self, id: AccountId) -> Result<Account, CoreError> {
        self.placement()
            .catalog()
            .get_account(id)
            .await?
            .ok_or_else(|| {
                CoreError::not_found(
                    "AccountNotFoundException",
                    format!("You specified an account that doesn't exist: {id}"),
                )
            })
    }

    /// Every account, oldest first.
    pub async fn list_all_accounts(&self) -> Result<Vec<Account>, CoreError> {
        Ok(self.placement().catalog().list_accounts().await?)
    }

    /// Creates an account on a tier, with an `admin` user that has
    /// AdministratorAccess attached and one access key, and the
    /// `OrganizationAccountAccessRole` trusted by the management account.
    ///
    /// The account's own rows are written first and the catalog rows last,
    /// so a crash in between leaves an invisible silo, never a listed
    /// account without its admin.
    pub async fn create_account(
        &self,
        name: &str,
        email: Option<&str>,
        tier: Tier,
    ) -> Result<NewAccount, CoreError> {
        validate_account_name(name)?;
        let email = match email {
            Some(e) => {
                validate_email(e)?;
                e.to_string()
            }
            None => String::new(),
        };
        let catalog = self.placement().catalog().clone();
        if catalog.get_account_by_name(name).await?.is_some() {
            return Err(CoreError::Conflict {
                code: "DuplicateAccountException",
                message: format!("An account named {name:?} already exists"),
            });
        }
        if !email.is_empty() && catalog.get_account_by_email(&email).await?.is_some() {
            return Err(CoreError::Conflict {
                code: "EmailAlreadyExists",
                message: format!("An account with email {email:?} already exists"),
            });
        }
        let management = self.management_account().await?;
        let now = self.now();
        let id = loop {
            let id = AccountId::random();
            if catalog.get_account(id).await?.is_none() {
                break id;
            }
        };
        let account = Account {
            id,
            name: name.to_string(),
            email: if email.is_empty() {
                format!("{id}@accounts.ferry.local")
            } else {
                email
            },
            tier,
            status: "ACTIVE".into(),
            is_management: false,
            created_at: now,
        };
        let key = self.new_key(id, Some("admin"));
        let mut own = WriteBatch::new();
        own.push(Write::PutUser(IamUser {
            account_id: id,
            name: "admin".into(),
            user_id: unique_id("AIDA"),
            path: "/".into(),
            permissions_boundary: None,
            tags: Vec::new(),
            created_at: now,
        }))
        .push(Write::AttachPolicy(PolicyAttachment {
            account_id: id,
            principal_kind: PrincipalKind::User,
            principal_name: "admin".into(),
            policy_arn: ADMINISTRATOR_ACCESS_ARN.into(),
        }))
        .push(Write::PutAccessKey(key.clone()))
        .push(Write::PutRole(IamRole {
            account_id: id,
            name: ORGANIZATION_ROLE.into(),
            role_id: unique_id("AROA"),
            path: "/".into(),
            assume_role_policy: format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{management}:root"}},"Action":"sts:AssumeRole"}}]}}"#
            ),
            max_session_duration: 3600,
            description: "Grants the management account full access".into(),
            tags: Vec::new(),
            permissions_boundary: None,
            created_at: now,
        }))
        .push(Write::AttachPolicy(PolicyAttachment {
            account_id: id,
            principal_kind: PrincipalKind::Role,
            principal_name: ORGANIZATION_ROLE.into(),
            policy_arn: ADMINISTRATOR_ACCESS_ARN.into(),
        }));
        let mut cat = WriteBatch::new();
        cat.push(Write::PutAccount(account.clone()))
            .push(Write::PutKeyIndex(KeyIndex {
                access_key_id: key.access_key_id.clone(),
                account_id: id,
            }));
        let store = self.placement().register(&account).await?;
        if std::sync::Arc::ptr_eq(&store, &catalog) {
            own.0.extend(cat.0);
            store.apply(own).await.map_err(conflict_as_duplicate)?;
        } else {
            store.apply(own).await?;
            catalog.apply(cat).await.map_err(conflict_as_duplicate)?;
        }
        tracing::info!(account = %id, %tier, name, "account created");
        Ok(NewAccount {
            account_id: id,
            name: account.name,
            tier,
            access_key_id: key.access_key_id,
            secret_access_key: key.secret_access_key,
        })
    }
}

/// Two creators raced for one name: the loser gets the same answer as if it
/// had come second.
fn conflict_as_duplicate(e: StoreError) -> CoreError {
    match e {
        StoreError::Conflict(m) => CoreError::Conflict {
            code: "DuplicateAccountException",
            message: m,
        },
        e => e.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_and_names() {
        assert!(validate_email("a@b.co").is_ok());
        for bad in [
            "",
            "a@b",
            "ab.com",
            "a@@b.com",
            "a b@c.com",
            "@b.com",
            "a@b.com.",
        ] {
            assert!(validate_email(bad).is_err(), "{bad}");
        }
        assert!(validate_account_name("Customer One").is_ok());
        assert!(validate_account_name("").is_err());
        assert!(validate_account_name(&"x".repeat(51)).is_err());
        assert!(validate_account_name("a\nb").is_err());
    }
}
