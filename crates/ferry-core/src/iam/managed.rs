//! Managed policies: customer managed policies with their versions, the
//! AWS managed ones Ferry has built in, and attaching either kind to users
//! and roles.
//!
//! An attachment stores the policy's ARN, so an AWS managed policy needs no
//! row of its own in any account; a customer managed policy lives in its
//! account's store beside the principals it can be attached to.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::TimeZone;
use ferry_policy::{ContextValue, PolicyKind, SizeLimit};
use ferry_store::{
    ManagedPolicy, ManagedPolicyVersion, PolicyAttachment, PrincipalKind, Store, StoreError, Write,
    WriteBatch,
};
use ferry_types::{AccountId, Timestamp};
use sha2::{Digest, Sha256};

use super::{
    AWS_MANAGED, Page, conflict, page, parse_policy_with, unique_id, validate_name, validate_path,
    validation,
};
use crate::authz::Check;
use crate::{CoreError, Ferry, RequestContext};

/// The ARN prefix of AWS managed policies.
pub const AWS_POLICY_PREFIX: &str = "arn:aws:iam::aws:policy/";

/// At most this many versions per policy, as IAM.
const MAX_VERSIONS: usize = 5;
/// At most this many managed policies attached to one principal (IAM's
/// default quota).
const MAX_ATTACHED: usize = 10;

/// A managed policy as the API shows it (AWS or customer managed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyView {
    /// Its ARN.
    pub arn: String,
    /// Its name.
    pub name: String,
    /// `ANPA...`.
    pub policy_id: String,
    /// Its path.
    pub path: String,
    /// Its description.
    pub description: String,
    /// `v1`, `v2`, ...
    pub default_version_id: String,
    /// How many users, roles and groups of the caller's account have it.
    pub attachment_count: usize,
    /// How many users and roles of the caller's account have it as their
    /// permissions boundary.
    pub boundary_usage_count: usize,
    /// When it was made.
    pub created_at: Timestamp,
    /// When its default version last changed.
    pub updated_at: Timestamp,
}

/// One version of a managed policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyVersionView {
    /// `v1`, `v2`, ...
    pub version_id: String,
    /// The policy JSON.
    pub document: String,
    /// Whether it is the one in force.
    pub is_default: bool,
    /// When it was made.
    pub created_at: Timestamp,
}

/// `CreatePolicy`'s input.
#[derive(Debug, Clone, Default)]
pub struct CreatePolicyInput {
    /// Policy name.
    pub name: String,
    /// Path, `/` by default.
    pub path: Option<String>,
    /// The policy document.
    pub document: String,
    /// Description.
    pub description: Option<String>,
}

/// What a managed policy ARN names.
enum PolicyRef {
    /// A built-in AWS managed policy.
    Aws {
        name: &'static str,
        document: &'static str,
    },
    /// A customer managed policy (which may or may not exist).
    Customer {
        account: AccountId,
        path: String,
        name: String,
    },
}

fn invalid_arn(arn: &str) -> CoreError {
    CoreError::invalid("InvalidInput", format!("ARN {arn} is not valid."))
}

fn policy_not_found(arn: &str) -> CoreError {
    CoreError::not_found("NoSuchEntity", format!("Policy {arn} was not found."))
}

fn not_attachable(arn: &str) -> CoreError {
    CoreError::not_found(
        "NoSuchEntity",
        format!("Policy {arn} does not exist or is not attachable."),
    )
}

/// Parses a managed policy ARN. An AWS managed name Ferry does not know is
/// not found, not malformed.
fn parse_policy_arn(arn: &str) -> Result<Option<PolicyRef>, CoreError> {
    if let Some(rest) = arn.strip_prefix(AWS_POLICY_PREFIX) {
        let name = rest.rsplit('/').next().unwrap_or(rest);
        return Ok(AWS_MANAGED
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(name, document)| PolicyRef::Aws { name, document }));
    }
    let parsed: ferry_types::Arn = arn.parse().map_err(|_| invalid_arn(arn))?;
    let account: AccountId = parsed.account.parse().map_err(|_| invalid_arn(arn))?;
    let rest = parsed
        .resource
        .strip_prefix("policy")
        .filter(|r| r.starts_with('/'))
        .ok_or_else(|| invalid_arn(arn))?;
    let (path, name) = rest.rsplit_once('/').ok_or_else(|| invalid_arn(arn))?;
    if parsed.service != "iam" || name.is_empty() {
        return Err(invalid_arn(arn));
    }
    Ok(Some(PolicyRef::Customer {
        account,
        path: format!("{path}/"),
        name: name.to_string(),
    }))
}

/// The ARN of a customer managed policy.
pub fn policy_arn(p: &ManagedPolicy) -> String {
    format!("arn:aws:iam::{}:policy{}{}", p.account_id, p.path, p.name)
}

fn version_id(n: i64) -> String {
    format!("v{n}")
}

fn parse_version_id(id: &str) -> Result<i64, CoreError> {
    id.strip_prefix('v')
        .and_then(|n| n.parse::<i64>().ok())
        .filter(|n| *n > 0)
        .ok_or_else(|| {
            validation(format!(
                "1 validation error detected: Value '{id}' at 'versionId' failed to satisfy \
                 constraint: Member must satisfy regular expression pattern: v[1-9][0-9]*(\\.[A-Za-z0-9-]*)?"
            ))
        })
}

/// A stable id for a built-in policy, so it reads the same on every call.
fn aws_policy_id(name: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let digest = Sha256::digest(name.as_bytes());
    let tail: String = digest
        .iter()
        .take(17)
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect();
    format!("ANPA{tail}")
}

/// When the built-in policies were "made" (AdministratorAccess's date in AWS).
fn aws_policy_date() -> Timestamp {
    chrono::Utc
        .timestamp_opt(1_423_248_000, 0)
        .single()
        .unwrap_or_default()
}

/// How many users and roles use each policy ARN as their boundary.
async fn boundary_uses(
    store: &Arc<dyn Store>,
    account: AccountId,
) -> Result<HashMap<String, usize>, CoreError> {
    let mut uses: HashMap<String, usize> = HashMap::new();
    let users = store.list_users(account).await?;
    let roles = store.list_roles(account).await?;
    for arn in users
        .into_iter()
        .filter_map(|u| u.permissions_boundary)
        .chain(roles.into_iter().filter_map(|r| r.permissions_boundary))
    {
        *uses.entry(arn).or_default() += 1;
    }
    Ok(uses)
}

fn with_boundary_uses(mut v: PolicyView, uses: &HashMap<String, usize>) -> PolicyView {
    v.boundary_usage_count = uses.get(&v.arn).copied().unwrap_or(0);
    v
}

fn aws_view(name: &str, attachment_count: usize) -> PolicyView {
    PolicyView {
        arn: format!("{AWS_POLICY_PREFIX}{name}"),
        name: name.to_string(),
        policy_id: aws_policy_id(name),
        path: "/".into(),
        description: String::new(),
        default_version_id: "v1".into(),
        attachment_count,
        boundary_usage_count: 0,
        created_at: aws_policy_date(),
        updated_at: aws_policy_date(),
    }
}

fn customer_view(p: &ManagedPolicy, attachment_count: usize) -> PolicyView {
    PolicyView {
        arn: policy_arn(p),
        name: p.name.clone(),
        policy_id: p.policy_id.clone(),
        path: p.path.clone(),
        description: p.description.clone(),
        default_version_id: version_id(p.default_version),
        attachment_count,
        boundary_usage_count: 0,
        created_at: p.created_at,
        updated_at: p.updated_at,
    }
}

/// The customer managed policy an ARN names in `account`, if it exists
/// there (another account's ARN, a wrong path or a missing name: `None`).
async fn customer_policy(
    store: &Arc<dyn Store>,
    account: AccountId,
    arn: &str,
) -> Result<Option<ManagedPolicy>, CoreError> {
    let Some(PolicyRef::Customer {
        account: owner,
        path,
        name,
    }) = parse_policy_arn(arn)?
    else {
        return Ok(None);
    };
    if owner != account {
        return Ok(None);
    }
    Ok(store
        .get_managed_policy(account, &name)
        .await?
        .filter(|p| p.path == path && p.name == name))
}

/// The document in force of a managed policy that principals of `account`
/// may use: an AWS managed one, or a customer managed one of `account`
/// itself. `None` when there is no such policy.
pub async fn managed_policy_document(
    ferry: &Ferry,
    account: AccountId,
    arn: &str,
) -> Result<Option<String>, CoreError> {
    match parse_policy_arn(arn) {
        Ok(Some(PolicyRef::Aws { document, .. })) => Ok(Some(document.to_string())),
        Ok(Some(PolicyRef::Customer { .. })) => {
            let store = ferry.placement().for_account(account).await?;
            let Some(p) = customer_policy(&store, account, arn).await? else {
                return Ok(None);
            };
            Ok(store
                .list_policy_versions(account, &p.name)
                .await?
                .into_iter()
                .find(|v| v.version == p.default_version)
                .map(|v| v.document))
        }
        Ok(None) | Err(_) => Ok(None),
    }
}

impl Ferry {
    /// Authorizes an IAM action about a managed policy, with the
    /// `iam:PolicyARN` condition key set as IAM does.
    async fn iam_policy_check(
        &self,
        ctx: &RequestContext,
        action: &str,
        resource: String,
        policy_arn: &str,
    ) -> Result<(AccountId, Arc<dyn Store>), CoreError> {
        let account = ctx.principal.account;
        let mut check = Check::new(action, resource, account);
        check
            .context
            .push(("iam:PolicyARN".into(), ContextValue::from(policy_arn)));
        self.authorize(ctx, check).await?;
        Ok((account, self.placement().for_account(account).await?))
    }

    /// `CreatePolicy`: the document becomes version `v1`, the default.
    pub async fn create_policy(
        &self,
        ctx: &RequestContext,
        input: CreatePolicyInput,
    ) -> Result<PolicyView, CoreError> {
        validate_name("policyName", &input.name, 128)?;
        let path = input.path.unwrap_or_else(|| "/".into());
        validate_path(&path)?;
        let description = input.description.unwrap_or_default();
        if description.chars().count() > 1000 {
            return Err(validation("Description must be at most 1000 characters"));
        }
        let arn = format!(
            "arn:aws:iam::{}:policy{path}{}",
            ctx.principal.account, input.name
        );
        let (account, store) = self.iam(ctx, "iam:CreatePolicy", arn.clone()).await?;
        parse_policy_with(&input.document, PolicyKind::Identity, SizeLimit::managed())?;
        let now = self.now();
        let policy = ManagedPolicy {
            account_id: account,
            name: input.name.clone(),
            policy_id: unique_id("ANPA"),
            path,
            description,
            default_version: 1,
            next_version: 2,
            created_at: now,
            updated_at: now,
        };
        let mut batch = WriteBatch::new();
        batch
            .push(Write::PutManagedPolicy(policy.clone()))
            .push(Write::PutPolicyVersion(ManagedPolicyVersion {
                account_id: account,
                policy_name: policy.name.clone(),
                version: 1,
                document: input.document,
                created_at: now,
            }));
        store.apply(batch).await.map_err(|e| match e {
            StoreError::Conflict(_) => CoreError::Conflict {
                code: "EntityAlreadyExists",
                message: format!(
                    "A policy called {} already exists. Duplicate names are not allowed.",
                    input.name
                ),
            },
            e => e.into(),
        })?;
        Ok(customer_view(&policy, 0))
    }

    /// A customer managed policy of the caller's account that the caller
    /// wants to change; AWS managed policies cannot be changed.
    async fn own_policy(
        &self,
        store: &Arc<dyn Store>,
        account: AccountId,
        arn: &str,
    ) -> Result<ManagedPolicy, CoreError> {
        if let Some(PolicyRef::Aws { .. }) = parse_policy_arn(arn)? {
            return Err(CoreError::invalid(
                "InvalidInput",
                format!("Policy {arn} is an AWS managed policy and cannot be changed."),
            ));
        }
        customer_policy(store, account, arn)
            .await?
            .ok_or_else(|| policy_not_found(arn))
    }

    /// `GetPolicy`.
    pub async fn get_policy(
        &self,
        ctx: &RequestContext,
        arn: &str,
    ) -> Result<PolicyView, CoreError> {
        let (account, store) = self
            .iam_policy_check(ctx, "iam:GetPolicy", arn.to_string(), arn)
            .await?;
        let view = match parse_policy_arn(arn)? {
            Some(PolicyRef::Aws { name, .. }) => {
                let n = store.list_policy_attachments(account, arn).await?.len();
                aws_view(name, n)
            }
            Some(PolicyRef::Customer { .. }) => {
                let p = customer_policy(&store, account, arn)
                    .await?
                    .ok_or_else(|| policy_not_found(arn))?;
                let n = store
                    .list_policy_attachments(account, &policy_arn(&p))
                    .await?
                    .len();
                customer_view(&p, n)
            }
            None => return Err(policy_not_found(arn)),
        };
        let uses = boundary_uses(&store, account).await?;
        Ok(with_boundary_uses(view, &uses))
    }

    /// `DeletePolicy`: refused while it is attached or has versions other
    /// than the default, as IAM.
    pub async fn delete_policy(&self, ctx: &RequestContext, arn: &str) -> Result<(), CoreError> {
        let (account, store) = self
            .iam_policy_check(ctx, "iam:DeletePolicy", arn.to_string(), arn)
            .await?;
        let p = self.own_policy(&store, account, arn).await?;
        if !store
            .list_policy_attachments(account, &policy_arn(&p))
            .await?
            .is_empty()
        {
            return Err(conflict("Cannot delete a policy attached to entities."));
        }
        if boundary_uses(&store, account)
            .await?
            .contains_key(&policy_arn(&p))
        {
            return Err(conflict(
                "Cannot delete a policy used as a permissions boundary.",
            ));
        }
        if store.list_policy_versions(account, &p.name).await?.len() > 1 {
            return Err(conflict(
                "This policy has more than one version. Before you delete a policy, you must \
                 delete the policy's versions. The default version is deleted with the policy.",
            ));
        }
        store
            .apply(WriteBatch::one(Write::DeleteManagedPolicy {
                account,
                name: p.name,
            }))
            .await?;
        Ok(())
    }

    /// `ListPolicies`: `scope` is `All` (default), `AWS` or `Local`.
    pub async fn list_policies(
        &self,
        ctx: &RequestContext,
        scope: Option<&str>,
        only_attached: bool,
        path_prefix: Option<&str>,
        marker: Option<&str>,
        max_items: Option<i64>,
    ) -> Result<Page<PolicyView>, CoreError> {
        let scope = scope.unwrap_or("All");
        if !["All", "AWS", "Local"].contains(&scope) {
            return Err(validation(format!(
                "1 validation error detected: Value '{scope}' at 'scope' failed to satisfy \
                 constraint: Member must satisfy enum value set: [All, AWS, Local]"
            )));
        }
        let (account, store) = self.iam(ctx, "iam:ListPolicies", "*".into()).await?;
        let mut all = Vec::new();
        if scope != "Local" {
            for (name, _) in AWS_MANAGED {
                let arn = format!("{AWS_POLICY_PREFIX}{name}");
                let n = store.list_policy_attachments(account, &arn).await?.len();
                all.push(aws_view(name, n));
            }
        }
        if scope != "AWS" {
            for p in store.list_managed_policies(account).await? {
                let n = store
                    .list_policy_attachments(account, &policy_arn(&p))
                    .await?
                    .len();
                all.push(customer_view(&p, n));
            }
        }
        let uses = boundary_uses(&store, account).await?;
        let mut all: Vec<PolicyView> = all
            .into_iter()
            .map(|v| with_boundary_uses(v, &uses))
            .collect();
        let prefix = path_prefix.unwrap_or("/");
        all.retain(|p| p.path.starts_with(prefix) && (!only_attached || p.attachment_count > 0));
        // The marker is opaque to callers: name then ARN keeps a customer
        // policy named like a built-in one in a stable place.
        let key = |p: &PolicyView| format!("{}/{}", p.name, p.arn).to_lowercase();
        all.sort_by_key(key);
        page(all, key, marker, max_items)
    }

    /// `CreatePolicyVersion`: at most five versions per policy.
    pub async fn create_policy_version(
        &self,
        ctx: &RequestContext,
        arn: &str,
        document: &str,
        set_as_default: bool,
    ) -> Result<PolicyVersionView, CoreError> {
        let (account, store) = self
            .iam_policy_check(ctx, "iam:CreatePolicyVersion", arn.to_string(), arn)
            .await?;
        let mut p = self.own_policy(&store, account, arn).await?;
        parse_policy_with(document, PolicyKind::Identity, SizeLimit::managed())?;
        if store.list_policy_versions(account, &p.name).await?.len() >= MAX_VERSIONS {
            return Err(CoreError::Conflict {
                code: "LimitExceeded",
                message: format!(
                    "A managed policy can have up to {MAX_VERSIONS} versions. Before you create \
                     a new version, you must delete an existing version."
                ),
            });
        }
        let now = self.now();
        let version = ManagedPolicyVersion {
            account_id: account,
            policy_name: p.name.clone(),
            version: p.next_version,
            document: document.to_string(),
            created_at: now,
        };
        p.next_version += 1;
        if set_as_default {
            p.default_version = version.version;
            p.updated_at = now;
        }
        let mut batch = WriteBatch::new();
        batch
            .push(Write::PutPolicyVersion(version.clone()))
            .push(Write::UpdateManagedPolicy(p));
        store.apply(batch).await?;
        Ok(PolicyVersionView {
            version_id: version_id(version.version),
            document: version.document,
            is_default: set_as_default,
            created_at: now,
        })
    }

    /// The versions of a policy the caller may read, newest first.
    async fn versions_of(
        &self,
        store: &Arc<dyn Store>,
        account: AccountId,
        arn: &str,
    ) -> Result<Vec<PolicyVersionView>, CoreError> {
        match parse_policy_arn(arn)? {
            Some(PolicyRef::Aws { document, .. }) => Ok(vec![PolicyVersionView {
                version_id: "v1".into(),
                document: document.to_string(),
                is_default: true,
                created_at: aws_policy_date(),
            }]),
            Some(PolicyRef::Customer { .. }) => {
                let p = customer_policy(store, account, arn)
                    .await?
                    .ok_or_else(|| policy_not_found(arn))?;
                let mut v: Vec<PolicyVersionView> = store
                    .list_policy_versions(account, &p.name)
                    .await?
                    .into_iter()
                    .map(|v| PolicyVersionView {
                        version_id: version_id(v.version),
                        is_default: v.version == p.default_version,
                        document: v.document,
                        created_at: v.created_at,
                    })
                    .collect();
                v.reverse();
                Ok(v)
            }
            None => Err(policy_not_found(arn)),
        }
    }

    /// `GetPolicyVersion`.
    pub async fn get_policy_version(
        &self,
        ctx: &RequestContext,
        arn: &str,
        version: &str,
    ) -> Result<PolicyVersionView, CoreError> {
        parse_version_id(version)?;
        let (account, store) = self
            .iam_policy_check(ctx, "iam:GetPolicyVersion", arn.to_string(), arn)
            .await?;
        self.versions_of(&store, account, arn)
            .await?
            .into_iter()
            .find(|v| v.version_id == version)
            .ok_or_else(|| {
                CoreError::not_found(
                    "NoSuchEntity",
                    format!("Policy {arn} version {version} does not exist or is not attachable."),
                )
            })
    }

    /// `ListPolicyVersions`, newest first.
    pub async fn list_policy_versions(
        &self,
        ctx: &RequestContext,
        arn: &str,
    ) -> Result<Vec<PolicyVersionView>, CoreError> {
        let (account, store) = self
            .iam_policy_check(ctx, "iam:ListPolicyVersions", arn.to_string(), arn)
            .await?;
        self.versions_of(&store, account, arn).await
    }

    /// `SetDefaultPolicyVersion`: takes effect on the next call of every
    /// principal that has the policy.
    pub async fn set_default_policy_version(
        &self,
        ctx: &RequestContext,
        arn: &str,
        version: &str,
    ) -> Result<(), CoreError> {
        let n = parse_version_id(version)?;
        let (account, store) = self
            .iam_policy_check(ctx, "iam:SetDefaultPolicyVersion", arn.to_string(), arn)
            .await?;
        let mut p = self.own_policy(&store, account, arn).await?;
        if !store
            .list_policy_versions(account, &p.name)
            .await?
            .iter()
            .any(|v| v.version == n)
        {
            return Err(CoreError::not_found(
                "NoSuchEntity",
                format!("Policy {arn} version {version} does not exist."),
            ));
        }
        p.default_version = n;
        p.updated_at = self.now();
        store
            .apply(WriteBatch::one(Write::UpdateManagedPolicy(p)))
            .await?;
        Ok(())
    }

    /// `DeletePolicyVersion`: never the default one.
    pub async fn delete_policy_version(
        &self,
        ctx: &RequestContext,
        arn: &str,
        version: &str,
    ) -> Result<(), CoreError> {
        let n = parse_version_id(version)?;
        let (account, store) = self
            .iam_policy_check(ctx, "iam:DeletePolicyVersion", arn.to_string(), arn)
            .await?;
        let p = self.own_policy(&store, account, arn).await?;
        if !store
            .list_policy_versions(account, &p.name)
            .await?
            .iter()
            .any(|v| v.version == n)
        {
            return Err(CoreError::not_found(
                "NoSuchEntity",
                format!("Policy {arn} version {version} does not exist."),
            ));
        }
        if n == p.default_version {
            return Err(conflict("Cannot delete the default version of a policy."));
        }
        store
            .apply(WriteBatch::one(Write::DeletePolicyVersion {
                account,
                policy_name: p.name,
                version: n,
            }))
            .await?;
        Ok(())
    }

    /// The canonical ARN of a policy a principal of `account` may attach
    /// (another account's customer policy is as good as missing).
    async fn attachable(
        &self,
        store: &Arc<dyn Store>,
        account: AccountId,
        arn: &str,
    ) -> Result<String, CoreError> {
        match parse_policy_arn(arn)? {
            Some(PolicyRef::Aws { name, .. }) => Ok(format!("{AWS_POLICY_PREFIX}{name}")),
            Some(PolicyRef::Customer { .. }) => Ok(policy_arn(
                &customer_policy(store, account, arn)
                    .await?
                    .ok_or_else(|| not_attachable(arn))?,
            )),
            None => Err(not_attachable(arn)),
        }
    }

    /// `AttachUserPolicy` / `AttachRolePolicy`.
    pub async fn attach_policy(
        &self,
        ctx: &RequestContext,
        kind: PrincipalKind,
        principal_name: &str,
        arn: &str,
    ) -> Result<(), CoreError> {
        let (action, noun) = Self::policy_action("Attach", kind);
        let action = format!("{action}y");
        let (account, store) = self
            .iam_policy_check(ctx, &action, Self::arn_of(ctx, noun, principal_name), arn)
            .await?;
        let name = self
            .principal_exists(&store, account, kind, principal_name)
            .await?;
        let arn = self.attachable(&store, account, arn).await?;
        let attached = store.list_attached_policies(account, kind, &name).await?;
        if attached.iter().any(|a| a.policy_arn == arn) {
            return Ok(());
        }
        if attached.len() >= MAX_ATTACHED {
            let noun = match kind {
                PrincipalKind::User => "User",
                PrincipalKind::Role => "Role",
                PrincipalKind::Group => "Group",
            };
            return Err(CoreError::Conflict {
                code: "LimitExceeded",
                message: format!("Cannot exceed quota for PoliciesPer{noun}: {MAX_ATTACHED}"),
            });
        }
        store
            .apply(WriteBatch::one(Write::AttachPolicy(PolicyAttachment {
                account_id: account,
                principal_kind: kind,
                principal_name: name,
                policy_arn: arn,
            })))
            .await?;
        Ok(())
    }

    /// `DetachUserPolicy` / `DetachRolePolicy`.
    pub async fn detach_policy(
        &self,
        ctx: &RequestContext,
        kind: PrincipalKind,
        principal_name: &str,
        arn: &str,
    ) -> Result<(), CoreError> {
        let (action, noun) = Self::policy_action("Detach", kind);
        let action = format!("{action}y");
        let (account, store) = self
            .iam_policy_check(ctx, &action, Self::arn_of(ctx, noun, principal_name), arn)
            .await?;
        let name = self
            .principal_exists(&store, account, kind, principal_name)
            .await?;
        let Some(attachment) = store
            .list_attached_policies(account, kind, &name)
            .await?
            .into_iter()
            .find(|a| a.policy_arn == arn)
        else {
            return Err(policy_not_found(arn));
        };
        store
            .apply(WriteBatch::one(Write::DetachPolicy(attachment)))
            .await?;
        Ok(())
    }

    /// Authorizes an IAM action that may set a permissions boundary, with
    /// the `iam:PermissionsBoundary` condition key set as IAM does (so an
    /// administrator can require one).
    pub(super) async fn iam_boundary_check(
        &self,
        ctx: &RequestContext,
        action: &str,
        resource: String,
        boundary: Option<&str>,
        mut extra: Vec<(String, ContextValue)>,
    ) -> Result<(AccountId, Arc<dyn Store>), CoreError> {
        if let Some(arn) = boundary {
            extra.push(("iam:PermissionsBoundary".into(), ContextValue::from(arn)));
        }
        self.iam_with(ctx, action, resource, extra).await
    }

    /// The canonical ARN of a policy that may serve as a boundary in
    /// `account`: any policy that may be attached there.
    pub(super) async fn boundary_policy(
        &self,
        store: &Arc<dyn Store>,
        account: AccountId,
        arn: &str,
    ) -> Result<String, CoreError> {
        self.attachable(store, account, arn)
            .await
            .map_err(|e| match e {
                CoreError::NotFound { .. } => CoreError::not_found(
                    "NoSuchEntity",
                    format!("Scope ARN: {arn} does not exist or is not attachable."),
                ),
                e => e,
            })
    }

    /// `PutUserPermissionsBoundary` / `PutRolePermissionsBoundary`: takes
    /// effect on the next call of the user, or of every session of the role.
    pub async fn put_permissions_boundary(
        &self,
        ctx: &RequestContext,
        kind: PrincipalKind,
        principal_name: &str,
        arn: &str,
    ) -> Result<(), CoreError> {
        let (noun, lower) = boundary_noun(kind)?;
        let (account, store) = self
            .iam_boundary_check(
                ctx,
                &format!("iam:Put{noun}PermissionsBoundary"),
                Self::arn_of(ctx, lower, principal_name),
                Some(arn),
                Vec::new(),
            )
            .await?;
        let name = self
            .principal_exists(&store, account, kind, principal_name)
            .await?;
        let arn = self.boundary_policy(&store, account, arn).await?;
        store
            .apply(WriteBatch::one(Write::SetPermissionsBoundary {
                account,
                kind,
                name,
                policy_arn: Some(arn),
            }))
            .await?;
        Ok(())
    }

    /// `DeleteUserPermissionsBoundary` / `DeleteRolePermissionsBoundary`.
    pub async fn delete_permissions_boundary(
        &self,
        ctx: &RequestContext,
        kind: PrincipalKind,
        principal_name: &str,
    ) -> Result<(), CoreError> {
        let (noun, lower) = boundary_noun(kind)?;
        let (account, store) = self
            .iam(
                ctx,
                &format!("iam:Delete{noun}PermissionsBoundary"),
                Self::arn_of(ctx, lower, principal_name),
            )
            .await?;
        let name = self
            .principal_exists(&store, account, kind, principal_name)
            .await?;
        store
            .apply(WriteBatch::one(Write::SetPermissionsBoundary {
                account,
                kind,
                name,
                policy_arn: None,
            }))
            .await?;
        Ok(())
    }

    /// `ListAttachedUserPolicies` / `ListAttachedRolePolicies`: name and
    /// ARN of each, by name.
    pub async fn list_attached_policies(
        &self,
        ctx: &RequestContext,
        kind: PrincipalKind,
        principal_name: &str,
        path_prefix: Option<&str>,
        marker: Option<&str>,
        max_items: Option<i64>,
    ) -> Result<Page<(String, String)>, CoreError> {
        let (action, noun) = Self::policy_action("ListAttached", kind);
        let action = format!("{action}ies");
        let (account, store) = self
            .iam(ctx, &action, Self::arn_of(ctx, noun, principal_name))
            .await?;
        let name = self
            .principal_exists(&store, account, kind, principal_name)
            .await?;
        let prefix = path_prefix.unwrap_or("/");
        let mut all: Vec<(String, String)> = store
            .list_attached_policies(account, kind, &name)
            .await?
            .into_iter()
            .filter_map(|a| {
                let (path, name) = match parse_policy_arn(&a.policy_arn).ok().flatten()? {
                    PolicyRef::Aws { name, .. } => ("/".to_string(), name.to_string()),
                    PolicyRef::Customer { path, name, .. } => (path, name),
                };
                path.starts_with(prefix).then_some((name, a.policy_arn))
            })
            .collect();
        all.sort_by_key(|(n, arn)| format!("{n}/{arn}").to_lowercase());
        page(
            all,
            |(n, arn)| format!("{n}/{arn}").to_lowercase(),
            marker,
            max_items,
        )
    }
}

/// Users and roles have boundaries; groups do not.
fn boundary_noun(kind: PrincipalKind) -> Result<(&'static str, &'static str), CoreError> {
    match kind {
        PrincipalKind::User => Ok(("User", "user")),
        PrincipalKind::Role => Ok(("Role", "role")),
        PrincipalKind::Group => Err(validation("Groups have no permissions boundary")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_arns_parse() {
        match parse_policy_arn("arn:aws:iam::123456789012:policy/team/a/Read") {
            Ok(Some(PolicyRef::Customer {
                account,
                path,
                name,
            })) => {
                assert_eq!(account.to_string(), "123456789012");
                assert_eq!(path, "/team/a/");
                assert_eq!(name, "Read");
            }
            _ => panic!("customer ARN"),
        }
        assert!(matches!(
            parse_policy_arn("arn:aws:iam::aws:policy/ReadOnlyAccess"),
            Ok(Some(PolicyRef::Aws {
                name: "ReadOnlyAccess",
                ..
            }))
        ));
        assert!(matches!(
            parse_policy_arn("arn:aws:iam::aws:policy/NoSuchThing"),
            Ok(None)
        ));
        for bad in [
            "nope",
            "arn:aws:iam::123456789012:role/x",
            "arn:aws:iam::123456789012:policy/",
            "arn:aws:s3::123456789012:policy/x",
            "arn:aws:iam::12:policy/x",
        ] {
            assert!(parse_policy_arn(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn version_ids() {
        assert_eq!(parse_version_id("v3").ok(), Some(3));
        for bad in ["3", "v0", "v", "vx", "V1"] {
            assert!(parse_version_id(bad).is_err(), "{bad}");
        }
        assert_eq!(
            aws_policy_id("AdministratorAccess"),
            aws_policy_id("AdministratorAccess")
        );
        assert!(aws_policy_id("ReadOnlyAccess").starts_with("ANPA"));
    }
}
