//! IAM: users, roles, access keys, policies. The AWS managed policies Ferry
//! has built in live here too.

use std::sync::Arc;

use ferry_policy::{ContextValue, Policy, PolicyKind};
use ferry_store::{
    AccessKey, IamRole, IamUser, InlinePolicy, PrincipalKind, Store, Write, WriteBatch,
};
use ferry_types::AccountId;

use crate::authz::Check;
use crate::identity::IdentityKind;
use crate::{CoreError, Ferry, RequestContext};

mod groups;
mod managed;
mod simulate;

pub use groups::group_arn;
pub use simulate::{ContextEntry, EvaluationResult, MatchedStatement, SimulationInput};

pub use managed::{
    AWS_POLICY_PREFIX, CreatePolicyInput, PolicyVersionView, PolicyView, managed_policy_document,
    policy_arn,
};

/// The AWS managed policies Ferry knows, by name, with their documents.
pub const AWS_MANAGED: &[(&str, &str)] = &[
    ("AdministratorAccess", crate::accounts::ADMINISTRATOR_ACCESS),
    (
        "ReadOnlyAccess",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:Get*","iam:List*","iam:Simulate*","sts:GetCallerIdentity","organizations:Describe*","organizations:List*","cloudtrail:LookupEvents","cloudtrail:Get*","cloudtrail:Describe*","cloudtrail:List*","s3:Get*","s3:List*","s3:Head*","sqs:Get*","sqs:List*","sqs:ReceiveMessage","events:Describe*","events:List*","events:Test*","apigateway:GET","transfer:Describe*","transfer:List*","ec2:Describe*","rds:Describe*","rds:List*"],"Resource":"*"}]}"#,
    ),
    (
        "AmazonS3FullAccess",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*","s3-object-lambda:*"],"Resource":"*"}]}"#,
    ),
    (
        "AmazonS3ReadOnlyAccess",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:Get*","s3:List*","s3:Describe*","s3-object-lambda:Get*","s3-object-lambda:List*"],"Resource":"*"}]}"#,
    ),
    (
        "AmazonSQSFullAccess",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sqs:*"],"Resource":"*"}]}"#,
    ),
    (
        "AmazonEventBridgeFullAccess",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["events:*","schemas:*","scheduler:*","pipes:*"],"Resource":"*"}]}"#,
    ),
];

fn validation(message: impl Into<String>) -> CoreError {
    CoreError::invalid("ValidationError", message)
}

fn no_such(kind: &str, name: &str) -> CoreError {
    CoreError::not_found(
        "NoSuchEntity",
        format!("The {kind} with name {name} cannot be found."),
    )
}

fn conflict(message: impl Into<String>) -> CoreError {
    CoreError::Conflict {
        code: "DeleteConflict",
        message: message.into(),
    }
}

/// IAM names: 1 to `max` characters of `[\w+=,.@-]`.
pub fn validate_name(what: &str, name: &str, max: usize) -> Result<(), CoreError> {
    let ok = (1..=max).contains(&name.chars().count())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(validation(format!(
            "1 validation error detected: Value '{name}' at '{what}' failed to satisfy constraint: \
             Member must have length less than or equal to {max} and match [\\w+=,.@-]+"
        )))
    }
}

/// IAM paths: `/` or `/a/b/`, at most 512 characters.
pub fn validate_path(path: &str) -> Result<(), CoreError> {
    let ok = path.starts_with('/')
        && path.ends_with('/')
        && path.len() <= 512
        && path.chars().all(|c| ('\u{21}'..='\u{7e}').contains(&c));
    if ok {
        Ok(())
    } else {
        Err(validation(format!(
            "The specified value for path is invalid: {path:?}. It must begin and end with / and \
             contain only printable ASCII characters."
        )))
    }
}

fn parse_policy(doc: &str, kind: PolicyKind) -> Result<(), CoreError> {
    parse_policy_with(doc, kind, kind.default_limit())
}

fn parse_policy_with(
    doc: &str,
    kind: PolicyKind,
    limit: ferry_policy::SizeLimit,
) -> Result<(), CoreError> {
    Policy::parse_with_limit(doc, kind, limit)
        .map(|_| ())
        .map_err(|e| match e.code() {
            ferry_policy::PolicyErrorCode::LimitExceeded => CoreError::Conflict {
                code: "LimitExceeded",
                message: e.message().to_string(),
            },
            _ => CoreError::invalid("MalformedPolicyDocument", e.message().to_string()),
        })
}

fn unique_id(prefix: &str) -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut rng = rand::rng();
    let tail: String = (0..17)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    format!("{prefix}{tail}")
}

/// A page of a name-ordered listing: IAM's `Marker` is the last name of the
/// previous page.
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// The marker for the next page, when truncated.
    pub marker: Option<String>,
}

/// Cuts a name-ordered list into a page.
pub fn page<T>(
    all: Vec<T>,
    name: impl Fn(&T) -> String,
    marker: Option<&str>,
    max_items: Option<i64>,
) -> Result<Page<T>, CoreError> {
    let max = match max_items {
        None => 100,
        Some(n @ 1..=1000) => n as usize,
        Some(n) => {
            return Err(validation(format!(
                "1 validation error detected: Value '{n}' at 'maxItems' failed to satisfy \
                 constraint: Member must have value between 1 and 1000"
            )));
        }
    };
    let start = match marker {
        None => 0,
        Some(m) => all
            .iter()
            .position(|x| name(x).to_lowercase() > m.to_lowercase())
            .unwrap_or(all.len()),
    };
    let mut items: Vec<T> = all.into_iter().skip(start).collect();
    let truncated = items.len() > max;
    items.truncate(max);
    let marker = if truncated {
        items.last().map(&name)
    } else {
        None
    };
    Ok(Page { items, marker })
}

/// `CreateRole`'s input.
#[derive(Debug, Clone, Default)]
pub struct CreateRoleInput {
    /// Role name.
    pub name: String,
    /// Path, `/` by default.
    pub path: Option<String>,
    /// The trust policy.
    pub assume_role_policy: String,
    /// Description.
    pub description: Option<String>,
    /// 3600..=43200, default 3600.
    pub max_session_duration: Option<i64>,
    /// Tags.
    pub tags: Vec<(String, String)>,
    /// The ARN of a managed policy to use as its permissions boundary.
    pub permissions_boundary: Option<String>,
}

/// DeleteRole/User/Group refuse while inline or attached policies remain.
pub(crate) async fn refuse_if_policies(
    store: &Arc<dyn Store>,
    account: AccountId,
    kind: PrincipalKind,
    name: &str,
) -> Result<(), CoreError> {
    if store
        .list_inline_policies(account, kind, name)
        .await?
        .is_empty()
        && store
            .list_attached_policies(account, kind, name)
            .await?
            .is_empty()
    {
        Ok(())
    } else {
        Err(conflict(
            "Cannot delete entity, must delete policies first.",
        ))
    }
}

/// Adds or replaces (case-insensitively by key) tags, keeping IAM's limits.
fn merge_tags(
    existing: &mut Vec<(String, String)>,
    new: Vec<(String, String)>,
) -> Result<(), CoreError> {
    for (k, v) in new {
        match existing
            .iter_mut()
            .find(|(x, _)| x.eq_ignore_ascii_case(&k))
        {
            Some(t) => t.1 = v,
            None => existing.push((k, v)),
        }
    }
    validate_tags(existing)
}

/// `aws:RequestTag/*` and `aws:TagKeys` of a request that sets tags.
pub(crate) fn request_tags(tags: &[(String, String)]) -> Vec<(String, ContextValue)> {
    let mut v: Vec<(String, ContextValue)> = tags
        .iter()
        .map(|(k, val)| (format!("aws:RequestTag/{k}"), val.clone().into()))
        .collect();
    v.extend(tag_keys(
        &tags.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>(),
    ));
    v
}

/// `aws:TagKeys` of a request that names tag keys.
pub(crate) fn tag_keys(keys: &[String]) -> Vec<(String, ContextValue)> {
    if keys.is_empty() {
        return Vec::new();
    }
    vec![(
        "aws:TagKeys".into(),
        ContextValue::strings(keys.iter().cloned()),
    )]
}

/// IAM's tag rules: at most 50, keys 1-128 characters, values up to 256,
/// no key twice (case-insensitively), no `aws:` prefix.
pub fn validate_tags(tags: &[(String, String)]) -> Result<(), CoreError> {
    if tags.len() > 50 {
        return Err(CoreError::Conflict {
            code: "LimitExceeded",
            message: "Cannot exceed quota for TagsPerRole: 50".into(),
        });
    }
    for (i, (k, v)) in tags.iter().enumerate() {
        if k.is_empty() || k.chars().count() > 128 || v.chars().count() > 256 {
            return Err(validation(format!(
                "Tag {k:?}: keys must be 1-128 characters and values at most 256"
            )));
        }
        if k.to_ascii_lowercase().starts_with("aws:") {
            return Err(validation(format!(
                "Tag key {k:?}: the aws: prefix is reserved"
            )));
        }
        if tags[..i].iter().any(|(x, _)| x.eq_ignore_ascii_case(k)) {
            return Err(CoreError::invalid(
                "InvalidInput",
                format!("Duplicate tag keys found: {k}"),
            ));
        }
    }
    Ok(())
}

fn check_duration(d: i64) -> Result<(), CoreError> {
    if (3600..=43200).contains(&d) {
        Ok(())
    } else {
        Err(validation(format!(
            "1 validation error detected: Value '{d}' at 'maxSessionDuration' failed to satisfy \
             constraint: Member must have value between 3600 and 43200"
        )))
    }
}

/// The ARN of a role.
pub fn role_arn(r: &IamRole) -> String {
    format!("arn:aws:iam::{}:role{}{}", r.account_id, r.path, r.name)
}

/// The ARN of a user.
pub fn user_arn(u: &IamUser) -> String {
    format!("arn:aws:iam::{}:user{}{}", u.account_id, u.path, u.name)
}

impl Ferry {
    /// Authorizes an IAM action on a resource of the caller's own account
    /// (IAM always acts there) and hands back that account's store.
    async fn iam(
        &self,
        ctx: &RequestContext,
        action: &str,
        resource: String,
    ) -> Result<(AccountId, Arc<dyn Store>), CoreError> {
        self.iam_with(ctx, action, resource, Vec::new()).await
    }

    /// [`Ferry::iam`] with request-specific condition keys. The target
    /// role's or user's tags are added as `aws:ResourceTag/*` (and
    /// `iam:ResourceTag/*`), so tag-based policies work on IAM itself.
    pub(super) async fn iam_with(
        &self,
        ctx: &RequestContext,
        action: &str,
        resource: String,
        extra: Vec<(String, ContextValue)>,
    ) -> Result<(AccountId, Arc<dyn Store>), CoreError> {
        let account = ctx.principal.account;
        let store = self.placement().for_account(account).await?;
        let mut check = Check::new(action, resource, account);
        let target = check
            .resource
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string();
        // An existing target is named by its full ARN, path included, so
        // path-scoped policies (`role/integrations/*`) match as on AWS.
        let found = if check.resource.contains(":role/") {
            store
                .get_role(account, &target)
                .await?
                .map(|r| (role_arn(&r), r.tags))
        } else if check.resource.contains(":user/") {
            store
                .get_user(account, &target)
                .await?
                .map(|u| (user_arn(&u), u.tags))
        } else {
            None
        };
        let tags = found.map(|(arn, tags)| {
            check.resource = arn;
            tags
        });
        for (k, v) in tags.unwrap_or_default() {
            check
                .context
                .push((format!("aws:ResourceTag/{k}"), v.clone().into()));
            check
                .context
                .push((format!("iam:ResourceTag/{k}"), v.into()));
        }
        check.context.extend(extra);
        self.authorize(ctx, check).await?;
        Ok((account, store))
    }

    fn arn_of(ctx: &RequestContext, kind: &str, name: &str) -> String {
        format!("arn:aws:iam::{}:{kind}/{name}", ctx.principal.account)
    }

    /// `CreateRole`.
    pub async fn create_role(
        &self,
        ctx: &RequestContext,
        input: CreateRoleInput,
    ) -> Result<IamRole, CoreError> {
        validate_name("roleName", &input.name, 64)?;
        let path = input.path.unwrap_or_else(|| "/".into());
        validate_path(&path)?;
        let max = input.max_session_duration.unwrap_or(3600);
        check_duration(max)?;
        let description = input.description.unwrap_or_default();
        validate_tags(&input.tags)?;
        if description.chars().count() > 1000 {
            return Err(validation("Description must be at most 1000 characters"));
        }
        let (account, store) = self
            .iam_boundary_check(
                ctx,
                "iam:CreateRole",
                format!(
                    "arn:aws:iam::{}:role{path}{}",
                    ctx.principal.account, input.name
                ),
                input.permissions_boundary.as_deref(),
                request_tags(&input.tags),
            )
            .await?;
        parse_policy(&input.assume_role_policy, PolicyKind::Trust)?;
        let permissions_boundary = match &input.permissions_boundary {
            Some(arn) => Some(self.boundary_policy(&store, account, arn).await?),
            None => None,
        };
        let role = IamRole {
            account_id: account,
            name: input.name.clone(),
            role_id: unique_id("AROA"),
            path,
            assume_role_policy: input.assume_role_policy,
            max_session_duration: max,
            description,
            tags: input.tags,
            permissions_boundary,
            created_at: self.now(),
        };
        store
            .apply(WriteBatch::one(Write::PutRole(role.clone())))
            .await
            .map_err(|e| match e {
                ferry_store::StoreError::Conflict(_) => CoreError::Conflict {
                    code: "EntityAlreadyExists",
                    message: format!("Role with name {} already exists.", input.name),
                },
                e => e.into(),
            })?;
        Ok(role)
    }

    async fn role_row(
        &self,
        store: &Arc<dyn Store>,
        account: AccountId,
        name: &str,
    ) -> Result<IamRole, CoreError> {
        store
            .get_role(account, name)
            .await?
            .ok_or_else(|| no_such("role", name))
    }

    /// `GetRole`.
    pub async fn get_role(&self, ctx: &RequestContext, name: &str) -> Result<IamRole, CoreError> {
        validate_name("roleName", name, 64)?;
        let (account, store) = self
            .iam(ctx, "iam:GetRole", Self::arn_of(ctx, "role", name))
            .await?;
        self.role_row(&store, account, name).await
    }

    /// `ListRoles`.
    pub async fn list_roles(
        &self,
        ctx: &RequestContext,
        path_prefix: Option<&str>,
        marker: Option<&str>,
        max_items: Option<i64>,
    ) -> Result<Page<IamRole>, CoreError> {
        let (account, store) = self.iam(ctx, "iam:ListRoles", "*".into()).await?;
        let prefix = path_prefix.unwrap_or("/");
        let roles: Vec<IamRole> = store
            .list_roles(account)
            .await?
            .into_iter()
            .filter(|r| r.path.starts_with(prefix))
            .collect();
        page(roles, |r| r.name.clone(), marker, max_items)
    }

    /// `DeleteRole`: refused while the role still has policies.
    pub async fn delete_role(&self, ctx: &RequestContext, name: &str) -> Result<(), CoreError> {
        validate_name("roleName", name, 64)?;
        let (account, store) = self
            .iam(ctx, "iam:DeleteRole", Self::arn_of(ctx, "role", name))
            .await?;
        let role = self.role_row(&store, account, name).await?;
        refuse_if_policies(&store, account, PrincipalKind::Role, &role.name).await?;
        store
            .apply(WriteBatch::one(Write::DeleteRole {
                account,
                name: role.name,
            }))
            .await?;
        Ok(())
    }

    /// `UpdateAssumeRolePolicy`.
    pub async fn update_assume_role_policy(
        &self,
        ctx: &RequestContext,
        name: &str,
        document: &str,
    ) -> Result<(), CoreError> {
        validate_name("roleName", name, 64)?;
        let (account, store) = self
            .iam(
                ctx,
                "iam:UpdateAssumeRolePolicy",
                Self::arn_of(ctx, "role", name),
            )
            .await?;
        let mut role = self.role_row(&store, account, name).await?;
        parse_policy(document, PolicyKind::Trust)?;
        role.assume_role_policy = document.to_string();
        store
            .apply(WriteBatch::one(Write::UpdateRole(role)))
            .await?;
        Ok(())
    }

    /// `UpdateRole`.
    pub async fn update_role(
        &self,
        ctx: &RequestContext,
        name: &str,
        description: Option<String>,
        max_session_duration: Option<i64>,
    ) -> Result<(), CoreError> {
        validate_name("roleName", name, 64)?;
        if let Some(d) = max_session_duration {
            check_duration(d)?;
        }
        let (account, store) = self
            .iam(ctx, "iam:UpdateRole", Self::arn_of(ctx, "role", name))
            .await?;
        let mut role = self.role_row(&store, account, name).await?;
        if let Some(d) = description {
            role.description = d;
        }
        if let Some(m) = max_session_duration {
            role.max_session_duration = m;
        }
        store
            .apply(WriteBatch::one(Write::UpdateRole(role)))
            .await?;
        Ok(())
    }

    /// `TagRole`: adds or replaces tags.
    pub async fn tag_role(
        &self,
        ctx: &RequestContext,
        name: &str,
        tags: Vec<(String, String)>,
    ) -> Result<(), CoreError> {
        validate_name("roleName", name, 64)?;
        validate_tags(&tags)?;
        let (account, store) = self
            .iam_with(
                ctx,
                "iam:TagRole",
                Self::arn_of(ctx, "role", name),
                request_tags(&tags),
            )
            .await?;
        let mut role = self.role_row(&store, account, name).await?;
        merge_tags(&mut role.tags, tags)?;
        store
            .apply(WriteBatch::one(Write::UpdateRole(role)))
            .await?;
        Ok(())
    }

    /// `UntagRole`.
    pub async fn untag_role(
        &self,
        ctx: &RequestContext,
        name: &str,
        keys: &[String],
    ) -> Result<(), CoreError> {
        validate_name("roleName", name, 64)?;
        let (account, store) = self
            .iam_with(
                ctx,
                "iam:UntagRole",
                Self::arn_of(ctx, "role", name),
                tag_keys(keys),
            )
            .await?;
        let mut role = self.role_row(&store, account, name).await?;
        role.tags
            .retain(|(k, _)| !keys.iter().any(|x| x.eq_ignore_ascii_case(k)));
        store
            .apply(WriteBatch::one(Write::UpdateRole(role)))
            .await?;
        Ok(())
    }

    /// `ListRoleTags`.
    pub async fn list_role_tags(
        &self,
        ctx: &RequestContext,
        name: &str,
    ) -> Result<Vec<(String, String)>, CoreError> {
        validate_name("roleName", name, 64)?;
        let (account, store) = self
            .iam(ctx, "iam:ListRoleTags", Self::arn_of(ctx, "role", name))
            .await?;
        Ok(self.role_row(&store, account, name).await?.tags)
    }

    async fn principal_exists(
        &self,
        store: &Arc<dyn Store>,
        account: AccountId,
        kind: PrincipalKind,
        name: &str,
    ) -> Result<String, CoreError> {
        match kind {
            PrincipalKind::Role => Ok(self.role_row(store, account, name).await?.name),
            PrincipalKind::User => Ok(store
                .get_user(account, name)
                .await?
                .ok_or_else(|| no_such("user", name))?
                .name),
            PrincipalKind::Group => Ok(self.group_row(store, account, name).await?.name),
        }
    }

    fn policy_action(verb: &str, kind: PrincipalKind) -> (String, &'static str) {
        let noun = match kind {
            PrincipalKind::User => ("User", "user"),
            PrincipalKind::Role => ("Role", "role"),
            PrincipalKind::Group => ("Group", "group"),
        };
        (format!("iam:{verb}{}Polic", noun.0), noun.1)
    }

    /// `PutUserPolicy` / `PutRolePolicy`.
    pub async fn put_inline_policy(
        &self,
        ctx: &RequestContext,
        kind: PrincipalKind,
        principal_name: &str,
        policy_name: &str,
        document: &str,
    ) -> Result<(), CoreError> {
        validate_name("policyName", policy_name, 128)?;
        let (action, noun) = Self::policy_action("Put", kind);
        let action = format!("{action}y");
        let (account, store) = self
            .iam(ctx, &action, Self::arn_of(ctx, noun, principal_name))
            .await?;
        let name = self
            .principal_exists(&store, account, kind, principal_name)
            .await?;
        parse_policy(document, PolicyKind::Identity)?;
        store
            .apply(WriteBatch::one(Write::PutInlinePolicy(InlinePolicy {
                account_id: account,
                principal_kind: kind,
                principal_name: name,
                policy_name: policy_name.to_string(),
                document: document.to_string(),
            })))
            .await?;
        Ok(())
    }

    /// `GetUserPolicy` / `GetRolePolicy`.
    pub async fn get_inline_policy(
        &self,
        ctx: &RequestContext,
        kind: PrincipalKind,
        principal_name: &str,
        policy_name: &str,
    ) -> Result<InlinePolicy, CoreError> {
        let (action, noun) = Self::policy_action("Get", kind);
        let action = format!("{action}y");
        let (account, store) = self
            .iam(ctx, &action, Self::arn_of(ctx, noun, principal_name))
            .await?;
        self.principal_exists(&store, account, kind, principal_name)
            .await?;
        store
            .list_inline_policies(account, kind, principal_name)
            .await?
            .into_iter()
            .find(|p| p.policy_name == policy_name)
            .ok_or_else(|| {
                CoreError::not_found(
                    "NoSuchEntity",
                    format!("The {noun} policy with name {policy_name} cannot be found."),
                )
            })
    }

    /// `DeleteUserPolicy` / `DeleteRolePolicy`.
    pub async fn delete_inline_policy(
        &self,
        ctx: &RequestContext,
        kind: PrincipalKind,
        principal_name: &str,
        policy_name: &str,
    ) -> Result<(), CoreError> {
        let (action, noun) = Self::policy_action("Delete", kind);
        let action = format!("{action}y");
        let (account, store) = self
            .iam(ctx, &action, Self::arn_of(ctx, noun, principal_name))
            .await?;
        let name = self
            .principal_exists(&store, account, kind, principal_name)
            .await?;
        if !store
            .list_inline_policies(account, kind, &name)
            .await?
            .iter()
            .any(|p| p.policy_name == policy_name)
        {
            return Err(CoreError::not_found(
                "NoSuchEntity",
                format!("The {noun} policy with name {policy_name} cannot be found."),
            ));
        }
        store
            .apply(WriteBatch::one(Write::DeleteInlinePolicy {
                account,
                kind,
                principal_name: name,
                policy_name: policy_name.to_string(),
            }))
            .await?;
        Ok(())
    }

    /// `ListUserPolicies` / `ListRolePolicies`: the policy names.
    pub async fn list_inline_policies(
        &self,
        ctx: &RequestContext,
        kind: PrincipalKind,
        principal_name: &str,
        marker: Option<&str>,
        max_items: Option<i64>,
    ) -> Result<Page<String>, CoreError> {
        let (action, noun) = Self::policy_action("List", kind);
        let action = format!("{action}ies");
        let (account, store) = self
            .iam(ctx, &action, Self::arn_of(ctx, noun, principal_name))
            .await?;
        self.principal_exists(&store, account, kind, principal_name)
            .await?;
        let names = store
            .list_inline_policies(account, kind, principal_name)
            .await?
            .into_iter()
            .map(|p| p.policy_name)
            .collect();
        page(names, Clone::clone, marker, max_items)
    }

    /// `CreateUser`.
    pub async fn create_user(
        &self,
        ctx: &RequestContext,
        name: &str,
        path: Option<&str>,
        permissions_boundary: Option<&str>,
        tags: Vec<(String, String)>,
    ) -> Result<IamUser, CoreError> {
        validate_name("userName", name, 64)?;
        validate_tags(&tags)?;
        let path = path.unwrap_or("/").to_string();
        validate_path(&path)?;
        let (account, store) = self
            .iam_boundary_check(
                ctx,
                "iam:CreateUser",
                format!("arn:aws:iam::{}:user{path}{name}", ctx.principal.account),
                permissions_boundary,
                request_tags(&tags),
            )
            .await?;
        let permissions_boundary = match permissions_boundary {
            Some(arn) => Some(self.boundary_policy(&store, account, arn).await?),
            None => None,
        };
        let user = IamUser {
            account_id: account,
            name: name.to_string(),
            user_id: unique_id("AIDA"),
            path,
            permissions_boundary,
            tags,
            created_at: self.now(),
        };
        store
            .apply(WriteBatch::one(Write::PutUser(user.clone())))
            .await
            .map_err(|e| match e {
                ferry_store::StoreError::Conflict(_) => CoreError::Conflict {
                    code: "EntityAlreadyExists",
                    message: format!("User with name {name} already exists."),
                },
                e => e.into(),
            })?;
        Ok(user)
    }

    /// `TagUser`: adds or replaces tags.
    pub async fn tag_user(
        &self,
        ctx: &RequestContext,
        name: &str,
        tags: Vec<(String, String)>,
    ) -> Result<(), CoreError> {
        validate_name("userName", name, 64)?;
        validate_tags(&tags)?;
        let (account, store) = self
            .iam_with(
                ctx,
                "iam:TagUser",
                Self::arn_of(ctx, "user", name),
                request_tags(&tags),
            )
            .await?;
        let mut user = self.user_row(&store, account, name).await?;
        merge_tags(&mut user.tags, tags)?;
        store
            .apply(WriteBatch::one(Write::SetUserTags {
                account,
                name: user.name,
                tags: user.tags,
            }))
            .await?;
        Ok(())
    }

    /// `UntagUser`.
    pub async fn untag_user(
        &self,
        ctx: &RequestContext,
        name: &str,
        keys: &[String],
    ) -> Result<(), CoreError> {
        validate_name("userName", name, 64)?;
        let (account, store) = self
            .iam_with(
                ctx,
                "iam:UntagUser",
                Self::arn_of(ctx, "user", name),
                tag_keys(keys),
            )
            .await?;
        let mut user = self.user_row(&store, account, name).await?;
        user.tags
            .retain(|(k, _)| !keys.iter().any(|x| x.eq_ignore_ascii_case(k)));
        store
            .apply(WriteBatch::one(Write::SetUserTags {
                account,
                name: user.name,
                tags: user.tags,
            }))
            .await?;
        Ok(())
    }

    /// `ListUserTags`.
    pub async fn list_user_tags(
        &self,
        ctx: &RequestContext,
        name: &str,
    ) -> Result<Vec<(String, String)>, CoreError> {
        validate_name("userName", name, 64)?;
        let (account, store) = self
            .iam(ctx, "iam:ListUserTags", Self::arn_of(ctx, "user", name))
            .await?;
        Ok(self.user_row(&store, account, name).await?.tags)
    }

    /// The user a key or user call is about: the named one, or the caller
    /// itself when no name is given (as IAM does).
    fn target_user(ctx: &RequestContext, name: Option<&str>) -> Result<String, CoreError> {
        match (name, &ctx.principal.kind) {
            (Some(n), _) => {
                validate_name("userName", n, 64)?;
                Ok(n.to_string())
            }
            (None, IdentityKind::IamUser { name, .. }) => Ok(name.clone()),
            (None, _) => Err(validation(
                "Must specify userName when calling with non-User credentials",
            )),
        }
    }

    /// `GetUser`.
    pub async fn get_user(
        &self,
        ctx: &RequestContext,
        name: Option<&str>,
    ) -> Result<IamUser, CoreError> {
        let name = Self::target_user(ctx, name)?;
        let (account, store) = self
            .iam(ctx, "iam:GetUser", Self::arn_of(ctx, "user", &name))
            .await?;
        store
            .get_user(account, &name)
            .await?
            .ok_or_else(|| no_such("user", &name))
    }

    /// `ListUsers`.
    pub async fn list_users(
        &self,
        ctx: &RequestContext,
        path_prefix: Option<&str>,
        marker: Option<&str>,
        max_items: Option<i64>,
    ) -> Result<Page<IamUser>, CoreError> {
        let (account, store) = self.iam(ctx, "iam:ListUsers", "*".into()).await?;
        let prefix = path_prefix.unwrap_or("/");
        let users = store
            .list_users(account)
            .await?
            .into_iter()
            .filter(|u| u.path.starts_with(prefix))
            .collect();
        page(users, |u| u.name.clone(), marker, max_items)
    }

    /// `DeleteUser`: refused while it has keys or policies.
    pub async fn delete_user(&self, ctx: &RequestContext, name: &str) -> Result<(), CoreError> {
        validate_name("userName", name, 64)?;
        let (account, store) = self
            .iam(ctx, "iam:DeleteUser", Self::arn_of(ctx, "user", name))
            .await?;
        let user = store
            .get_user(account, name)
            .await?
            .ok_or_else(|| no_such("user", name))?;
        if !store
            .list_access_keys(account, Some(&user.name))
            .await?
            .is_empty()
        {
            return Err(conflict(
                "Cannot delete entity, must delete access keys first.",
            ));
        }
        if !store
            .list_groups_for_user(account, &user.name)
            .await?
            .is_empty()
        {
            return Err(conflict(
                "Cannot delete entity, must remove user from all groups first.",
            ));
        }
        refuse_if_policies(&store, account, PrincipalKind::User, &user.name).await?;
        store
            .apply(WriteBatch::one(Write::DeleteUser {
                account,
                name: user.name,
            }))
            .await?;
        Ok(())
    }

    /// `CreateAccessKey` (at most two per user, as IAM).
    pub async fn create_access_key(
        &self,
        ctx: &RequestContext,
        user: Option<&str>,
    ) -> Result<AccessKey, CoreError> {
        let name = Self::target_user(ctx, user)?;
        let (account, store) = self
            .iam(ctx, "iam:CreateAccessKey", Self::arn_of(ctx, "user", &name))
            .await?;
        let user = store
            .get_user(account, &name)
            .await?
            .ok_or_else(|| no_such("user", &name))?;
        if store
            .list_access_keys(account, Some(&user.name))
            .await?
            .len()
            >= 2
        {
            return Err(CoreError::Conflict {
                code: "LimitExceeded",
                message: "Cannot exceed quota for AccessKeysPerUser: 2".into(),
            });
        }
        let pair = self.create_key(account, Some(&user.name)).await?;
        store
            .get_access_key(account, &pair.access_key_id)
            .await?
            .ok_or_else(|| CoreError::Internal("the new key vanished".into()))
    }

    async fn own_key(
        &self,
        ctx: &RequestContext,
        action: &str,
        user: Option<&str>,
        key_id: &str,
    ) -> Result<(AccountId, Arc<dyn Store>, AccessKey), CoreError> {
        let name = Self::target_user(ctx, user)?;
        let (account, store) = self
            .iam(ctx, action, Self::arn_of(ctx, "user", &name))
            .await?;
        let key = store
            .get_access_key(account, key_id)
            .await?
            .filter(|k| {
                k.user_name
                    .as_deref()
                    .is_some_and(|u| u.eq_ignore_ascii_case(&name))
            })
            .ok_or_else(|| {
                CoreError::not_found(
                    "NoSuchEntity",
                    format!("The Access Key with id {key_id} cannot be found."),
                )
            })?;
        Ok((account, store, key))
    }

    /// `ListAccessKeys`.
    pub async fn list_access_keys(
        &self,
        ctx: &RequestContext,
        user: Option<&str>,
    ) -> Result<Vec<AccessKey>, CoreError> {
        let name = Self::target_user(ctx, user)?;
        let (account, store) = self
            .iam(ctx, "iam:ListAccessKeys", Self::arn_of(ctx, "user", &name))
            .await?;
        let user = store
            .get_user(account, &name)
            .await?
            .ok_or_else(|| no_such("user", &name))?;
        Ok(store.list_access_keys(account, Some(&user.name)).await?)
    }

    /// `UpdateAccessKey`: `Active` or `Inactive`.
    pub async fn update_access_key(
        &self,
        ctx: &RequestContext,
        user: Option<&str>,
        key_id: &str,
        status: &str,
    ) -> Result<(), CoreError> {
        if status != "Active" && status != "Inactive" {
            return Err(validation("Status must be Active or Inactive"));
        }
        let (account, store, key) = self
            .own_key(ctx, "iam:UpdateAccessKey", user, key_id)
            .await?;
        store
            .apply(WriteBatch::one(Write::SetAccessKeyStatus {
                account,
                access_key_id: key.access_key_id,
                status: status.to_string(),
            }))
            .await?;
        Ok(())
    }

    /// `DeleteAccessKey`: the index goes first, so the key stops working
    /// before its row disappears.
    pub async fn delete_access_key(
        &self,
        ctx: &RequestContext,
        user: Option<&str>,
        key_id: &str,
    ) -> Result<(), CoreError> {
        let (account, store, key) = self
            .own_key(ctx, "iam:DeleteAccessKey", user, key_id)
            .await?;
        self.placement()
            .catalog()
            .apply(WriteBatch::one(Write::DeleteKeyIndex(
                key.access_key_id.clone(),
            )))
            .await?;
        store
            .apply(WriteBatch::one(Write::DeleteAccessKey {
                account,
                access_key_id: key.access_key_id,
            }))
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_managed_policy_parses() {
        for (name, doc) in AWS_MANAGED {
            assert!(
                Policy::parse(doc, PolicyKind::Identity).is_ok(),
                "{name} does not parse"
            );
        }
    }

    #[test]
    fn names_and_paths() {
        assert!(validate_name("roleName", "Vendor-Access_1+=,.@", 64).is_ok());
        assert!(validate_name("roleName", "", 64).is_err());
        assert!(validate_name("roleName", "has space", 64).is_err());
        assert!(validate_name("roleName", &"x".repeat(65), 64).is_err());
        assert!(validate_path("/").is_ok());
        assert!(validate_path("/a/b/").is_ok());
        assert!(validate_path("a/").is_err());
        assert!(validate_path("/a").is_err());
    }

    #[test]
    fn pages_follow_markers() {
        let names: Vec<String> = ["a", "b", "c", "d", "e"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let p1 = page(names.clone(), Clone::clone, None, Some(2)).expect("page");
        assert_eq!(p1.items, ["a", "b"]);
        let p2 = page(names.clone(), Clone::clone, p1.marker.as_deref(), Some(2)).expect("page");
        assert_eq!(p2.items, ["c", "d"]);
        let p3 = page(names.clone(), Clone::clone, p2.marker.as_deref(), Some(2)).expect("page");
        assert_eq!(p3.items, ["e"]);
        assert!(p3.marker.is_none());
        assert!(page(names, Clone::clone, None, Some(0)).is_err());
    }
}
