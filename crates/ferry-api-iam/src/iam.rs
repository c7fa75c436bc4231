use std::sync::Arc;

use async_trait::async_trait;
use ferry_core::iam::{
    ContextEntry, CreatePolicyInput, CreateRoleInput, EvaluationResult, Page, PolicyVersionView,
    PolicyView, SimulationInput, group_arn, role_arn, user_arn,
};
use ferry_core::{Ferry, RequestContext};
use ferry_http::{ApiError, ApiRequest, ApiResult, Protocol, Service, Success};
use ferry_store::{AccessKey, IamGroup, IamRole, IamUser, PrincipalKind};

use crate::wire::{Query, doc, el, error, time};

/// The IAM adapter.
pub struct Iam {
    ferry: Arc<Ferry>,
}

impl Iam {
    /// IAM over `ferry`.
    pub fn new(ferry: Arc<Ferry>) -> Self {
        Iam { ferry }
    }
}

const OPERATIONS: &[&str] = &[
    "CreateRole",
    "GetRole",
    "DeleteRole",
    "ListRoles",
    "UpdateAssumeRolePolicy",
    "UpdateRole",
    "TagRole",
    "UntagRole",
    "ListRoleTags",
    "TagUser",
    "UntagUser",
    "ListUserTags",
    "PutRolePolicy",
    "GetRolePolicy",
    "DeleteRolePolicy",
    "ListRolePolicies",
    "CreateUser",
    "GetUser",
    "DeleteUser",
    "ListUsers",
    "PutUserPolicy",
    "GetUserPolicy",
    "DeleteUserPolicy",
    "ListUserPolicies",
    "CreateAccessKey",
    "ListAccessKeys",
    "UpdateAccessKey",
    "DeleteAccessKey",
    "CreatePolicy",
    "GetPolicy",
    "DeletePolicy",
    "ListPolicies",
    "CreatePolicyVersion",
    "GetPolicyVersion",
    "ListPolicyVersions",
    "SetDefaultPolicyVersion",
    "DeletePolicyVersion",
    "AttachRolePolicy",
    "DetachRolePolicy",
    "ListAttachedRolePolicies",
    "AttachUserPolicy",
    "DetachUserPolicy",
    "ListAttachedUserPolicies",
    "PutRolePermissionsBoundary",
    "DeleteRolePermissionsBoundary",
    "PutUserPermissionsBoundary",
    "DeleteUserPermissionsBoundary",
    "CreateGroup",
    "GetGroup",
    "DeleteGroup",
    "ListGroups",
    "AddUserToGroup",
    "RemoveUserFromGroup",
    "ListGroupsForUser",
    "PutGroupPolicy",
    "GetGroupPolicy",
    "DeleteGroupPolicy",
    "ListGroupPolicies",
    "AttachGroupPolicy",
    "DetachGroupPolicy",
    "ListAttachedGroupPolicies",
    "SimulatePrincipalPolicy",
    "SimulateCustomPolicy",
];

fn role_xml(r: &IamRole) -> String {
    let mut x = String::from("<Role>");
    x.push_str(&el("Path", &r.path));
    x.push_str(&el("RoleName", &r.name));
    x.push_str(&el("RoleId", &r.role_id));
    x.push_str(&el("Arn", role_arn(r)));
    x.push_str(&time("CreateDate", r.created_at));
    x.push_str(&el("AssumeRolePolicyDocument", doc(&r.assume_role_policy)));
    if !r.description.is_empty() {
        x.push_str(&el("Description", &r.description));
    }
    x.push_str(&el(
        "MaxSessionDuration",
        r.max_session_duration.to_string(),
    ));
    x.push_str(&boundary_xml(r.permissions_boundary.as_deref()));
    if !r.tags.is_empty() {
        x.push_str(&tags_xml(&r.tags));
    }
    x.push_str("</Role>");
    x
}

fn tags_xml(tags: &[(String, String)]) -> String {
    let mut x = String::from("<Tags>");
    for (k, v) in tags {
        x.push_str(&format!(
            "<member>{}{}</member>",
            el("Key", k),
            el("Value", v)
        ));
    }
    x.push_str("</Tags>");
    x
}

fn user_xml(tag: &str, u: &IamUser) -> String {
    format!(
        "<{tag}>{}{}{}{}{}{}{}</{tag}>",
        el("Path", &u.path),
        el("UserName", &u.name),
        el("UserId", &u.user_id),
        el("Arn", user_arn(u)),
        time("CreateDate", u.created_at),
        boundary_xml(u.permissions_boundary.as_deref()),
        if u.tags.is_empty() {
            String::new()
        } else {
            tags_xml(&u.tags)
        }
    )
}

fn group_xml(tag: &str, g: &IamGroup) -> String {
    format!(
        "<{tag}>{}{}{}{}{}</{tag}>",
        el("Path", &g.path),
        el("GroupName", &g.name),
        el("GroupId", &g.group_id),
        el("Arn", group_arn(g)),
        time("CreateDate", g.created_at)
    )
}

fn evaluation_xml(r: &EvaluationResult) -> String {
    let mut x = String::from("<member>");
    x.push_str(&el("EvalActionName", &r.action));
    x.push_str(&el("EvalResourceName", &r.resource));
    x.push_str(&el("EvalDecision", r.decision));
    x.push_str("<MatchedStatements>");
    for m in &r.matched {
        x.push_str(&format!(
            "<member>{}{}</member>",
            el("SourcePolicyId", &m.source_policy_id),
            el("SourcePolicyType", m.source_policy_type)
        ));
    }
    x.push_str("</MatchedStatements><MissingContextValues/>");
    x.push_str("</member>");
    x
}

/// `ContextEntries.member.N.{ContextKeyName, ContextKeyValues.member.M,
/// ContextKeyType}`.
fn context_entries(q: &Query<'_>) -> Vec<ContextEntry> {
    (1..)
        .map_while(|i| {
            let p = format!("ContextEntries.member.{i}");
            let key = q.opt(&format!("{p}.ContextKeyName"))?;
            Some(ContextEntry {
                key: key.to_string(),
                values: q.list(&format!("{p}.ContextKeyValues")),
                kind: q
                    .opt(&format!("{p}.ContextKeyType"))
                    .unwrap_or("string")
                    .to_string(),
            })
        })
        .collect()
}

fn simulation_input(q: &Query<'_>) -> SimulationInput {
    SimulationInput {
        policy_source_arn: q.opt("PolicySourceArn").map(Into::into),
        policy_inputs: q.list("PolicyInputList"),
        boundary_inputs: q.list("PermissionsBoundaryPolicyInputList"),
        actions: q.list("ActionNames"),
        resources: q.list("ResourceArns"),
        resource_policy: q.opt("ResourcePolicy").map(Into::into),
        context: context_entries(q),
    }
}

fn boundary_xml(arn: Option<&str>) -> String {
    match arn {
        Some(arn) => format!(
            "<PermissionsBoundary>{}{}</PermissionsBoundary>",
            el("PermissionsBoundaryType", "Policy"),
            el("PermissionsBoundaryArn", arn)
        ),
        None => String::new(),
    }
}

fn key_xml(tag: &str, k: &AccessKey, with_secret: bool) -> String {
    format!(
        "<{tag}>{}{}{}{}{}</{tag}>",
        el("UserName", k.user_name.as_deref().unwrap_or_default()),
        el("AccessKeyId", &k.access_key_id),
        el("Status", &k.status),
        if with_secret {
            el("SecretAccessKey", &k.secret_access_key)
        } else {
            String::new()
        },
        time("CreateDate", k.created_at)
    )
}

fn policy_xml(tag: &str, p: &PolicyView) -> String {
    let mut x = format!("<{tag}>");
    x.push_str(&el("PolicyName", &p.name));
    x.push_str(&el("DefaultVersionId", &p.default_version_id));
    x.push_str(&el("PolicyId", &p.policy_id));
    x.push_str(&el("Path", &p.path));
    x.push_str(&el("Arn", &p.arn));
    x.push_str(&el("AttachmentCount", p.attachment_count.to_string()));
    x.push_str(&el(
        "PermissionsBoundaryUsageCount",
        p.boundary_usage_count.to_string(),
    ));
    x.push_str(&el("IsAttachable", "true"));
    if !p.description.is_empty() {
        x.push_str(&el("Description", &p.description));
    }
    x.push_str(&time("CreateDate", p.created_at));
    x.push_str(&time("UpdateDate", p.updated_at));
    x.push_str(&format!("</{tag}>"));
    x
}

fn version_xml(tag: &str, v: &PolicyVersionView, with_document: bool) -> String {
    format!(
        "<{tag}>{}{}{}{}</{tag}>",
        if with_document {
            el("Document", doc(&v.document))
        } else {
            String::new()
        },
        el("VersionId", &v.version_id),
        el("IsDefaultVersion", v.is_default.to_string()),
        time("CreateDate", v.created_at)
    )
}

fn list_xml<T>(wrapper: &str, page: &Page<T>, item: impl Fn(&T) -> String) -> String {
    let mut x = format!("<{wrapper}>");
    for i in &page.items {
        x.push_str(&item(i));
    }
    x.push_str(&format!("</{wrapper}>"));
    x.push_str(&el("IsTruncated", page.marker.is_some().to_string()));
    if let Some(m) = &page.marker {
        x.push_str(&el("Marker", m));
    }
    x
}

impl Iam {
    async fn run(&self, ctx: &RequestContext, req: &ApiRequest) -> Result<String, ApiError> {
        let q = Query(&req.params);
        let f = &self.ferry;
        let op = req.operation.as_str();
        // User-, role- and group-policy operations are the same with
        // another noun.
        let kind = if op.contains("GroupPolic") {
            PrincipalKind::Group
        } else if op.contains("User") {
            PrincipalKind::User
        } else {
            PrincipalKind::Role
        };
        let owner = || -> Result<&str, ApiError> {
            match kind {
                PrincipalKind::User => q.req("UserName"),
                PrincipalKind::Group => q.req("GroupName"),
                PrincipalKind::Role => q.req("RoleName"),
            }
        };
        Ok(match op {
            "CreateRole" => {
                let r = f
                    .create_role(
                        ctx,
                        CreateRoleInput {
                            name: q.req("RoleName")?.into(),
                            path: q.opt("Path").map(Into::into),
                            assume_role_policy: q.req("AssumeRolePolicyDocument")?.into(),
                            description: q.opt("Description").map(Into::into),
                            max_session_duration: q.int("MaxSessionDuration")?,
                            tags: q.tags()?,
                            permissions_boundary: q.opt("PermissionsBoundary").map(Into::into),
                        },
                    )
                    .await
                    .map_err(error)?;
                role_xml(&r)
            }
            "GetRole" => role_xml(&f.get_role(ctx, q.req("RoleName")?).await.map_err(error)?),
            "DeleteRole" => {
                f.delete_role(ctx, q.req("RoleName")?)
                    .await
                    .map_err(error)?;
                String::new()
            }
            "ListRoles" => {
                let page = f
                    .list_roles(
                        ctx,
                        q.opt("PathPrefix"),
                        q.opt("Marker"),
                        q.int("MaxItems")?,
                    )
                    .await
                    .map_err(error)?;
                list_xml("Roles", &page, |r| {
                    role_xml(r)
                        .replacen("<Role>", "<member>", 1)
                        .replace("</Role>", "</member>")
                })
            }
            "TagUser" => {
                f.tag_user(ctx, q.req("UserName")?, q.tags()?)
                    .await
                    .map_err(error)?;
                String::new()
            }
            "UntagUser" => {
                f.untag_user(ctx, q.req("UserName")?, &q.list("TagKeys"))
                    .await
                    .map_err(error)?;
                String::new()
            }
            "ListUserTags" => {
                let tags = f
                    .list_user_tags(ctx, q.req("UserName")?)
                    .await
                    .map_err(error)?;
                format!("{}{}", tags_xml(&tags), el("IsTruncated", "false"))
            }
            "TagRole" => {
                f.tag_role(ctx, q.req("RoleName")?, q.tags()?)
                    .await
                    .map_err(error)?;
                String::new()
            }
            "UntagRole" => {
                f.untag_role(ctx, q.req("RoleName")?, &q.list("TagKeys"))
                    .await
                    .map_err(error)?;
                String::new()
            }
            "ListRoleTags" => {
                let tags = f
                    .list_role_tags(ctx, q.req("RoleName")?)
                    .await
                    .map_err(error)?;
                format!("{}{}", tags_xml(&tags), el("IsTruncated", "false"))
            }
            "UpdateAssumeRolePolicy" => {
                f.update_assume_role_policy(ctx, q.req("RoleName")?, q.req("PolicyDocument")?)
                    .await
                    .map_err(error)?;
                String::new()
            }
            "UpdateRole" => {
                f.update_role(
                    ctx,
                    q.req("RoleName")?,
                    q.opt("Description").map(Into::into),
                    q.int("MaxSessionDuration")?,
                )
                .await
                .map_err(error)?;
                String::new()
            }
            "PutRolePolicy" | "PutUserPolicy" | "PutGroupPolicy" => {
                f.put_inline_policy(
                    ctx,
                    kind,
                    owner()?,
                    q.req("PolicyName")?,
                    q.req("PolicyDocument")?,
                )
                .await
                .map_err(error)?;
                String::new()
            }
            "GetRolePolicy" | "GetUserPolicy" | "GetGroupPolicy" => {
                let p = f
                    .get_inline_policy(ctx, kind, owner()?, q.req("PolicyName")?)
                    .await
                    .map_err(error)?;
                let owner_tag = match kind {
                    PrincipalKind::User => "UserName",
                    PrincipalKind::Group => "GroupName",
                    PrincipalKind::Role => "RoleName",
                };
                format!(
                    "{}{}{}",
                    el(owner_tag, &p.principal_name),
                    el("PolicyName", &p.policy_name),
                    el("PolicyDocument", doc(&p.document))
                )
            }
            "DeleteRolePolicy" | "DeleteUserPolicy" | "DeleteGroupPolicy" => {
                f.delete_inline_policy(ctx, kind, owner()?, q.req("PolicyName")?)
                    .await
                    .map_err(error)?;
                String::new()
            }
            "ListRolePolicies" | "ListUserPolicies" | "ListGroupPolicies" => {
                let page = f
                    .list_inline_policies(ctx, kind, owner()?, q.opt("Marker"), q.int("MaxItems")?)
                    .await
                    .map_err(error)?;
                list_xml("PolicyNames", &page, |n| el("member", n))
            }
            "CreateUser" => user_xml(
                "User",
                &f.create_user(
                    ctx,
                    q.req("UserName")?,
                    q.opt("Path"),
                    q.opt("PermissionsBoundary"),
                    q.tags()?,
                )
                .await
                .map_err(error)?,
            ),
            "GetUser" => user_xml(
                "User",
                &f.get_user(ctx, q.opt("UserName")).await.map_err(error)?,
            ),
            "DeleteUser" => {
                f.delete_user(ctx, q.req("UserName")?)
                    .await
                    .map_err(error)?;
                String::new()
            }
            "ListUsers" => {
                let page = f
                    .list_users(
                        ctx,
                        q.opt("PathPrefix"),
                        q.opt("Marker"),
                        q.int("MaxItems")?,
                    )
                    .await
                    .map_err(error)?;
                list_xml("Users", &page, |u| user_xml("member", u))
            }
            "CreateAccessKey" => key_xml(
                "AccessKey",
                &f.create_access_key(ctx, q.opt("UserName"))
                    .await
                    .map_err(error)?,
                true,
            ),
            "ListAccessKeys" => {
                let keys = f
                    .list_access_keys(ctx, q.opt("UserName"))
                    .await
                    .map_err(error)?;
                let page = Page {
                    items: keys,
                    marker: None,
                };
                list_xml("AccessKeyMetadata", &page, |k| key_xml("member", k, false))
            }
            "UpdateAccessKey" => {
                f.update_access_key(
                    ctx,
                    q.opt("UserName"),
                    q.req("AccessKeyId")?,
                    q.req("Status")?,
                )
                .await
                .map_err(error)?;
                String::new()
            }
            "DeleteAccessKey" => {
                f.delete_access_key(ctx, q.opt("UserName"), q.req("AccessKeyId")?)
                    .await
                    .map_err(error)?;
                String::new()
            }
            "CreatePolicy" => policy_xml(
                "Policy",
                &f.create_policy(
                    ctx,
                    CreatePolicyInput {
                        name: q.req("PolicyName")?.into(),
                        path: q.opt("Path").map(Into::into),
                        document: q.req("PolicyDocument")?.into(),
                        description: q.opt("Description").map(Into::into),
                    },
                )
                .await
                .map_err(error)?,
            ),
            "GetPolicy" => policy_xml(
                "Policy",
                &f.get_policy(ctx, q.req("PolicyArn")?)
                    .await
                    .map_err(error)?,
            ),
            "DeletePolicy" => {
                f.delete_policy(ctx, q.req("PolicyArn")?)
                    .await
                    .map_err(error)?;
                String::new()
            }
            "ListPolicies" => {
                let page = f
                    .list_policies(
                        ctx,
                        q.opt("Scope"),
                        q.bool("OnlyAttached")?.unwrap_or(false),
                        q.opt("PathPrefix"),
                        q.opt("Marker"),
                        q.int("MaxItems")?,
                    )
                    .await
                    .map_err(error)?;
                list_xml("Policies", &page, |p| policy_xml("member", p))
            }
            "CreatePolicyVersion" => version_xml(
                "PolicyVersion",
                &f.create_policy_version(
                    ctx,
                    q.req("PolicyArn")?,
                    q.req("PolicyDocument")?,
                    q.bool("SetAsDefault")?.unwrap_or(false),
                )
                .await
                .map_err(error)?,
                false,
            ),
            "GetPolicyVersion" => version_xml(
                "PolicyVersion",
                &f.get_policy_version(ctx, q.req("PolicyArn")?, q.req("VersionId")?)
                    .await
                    .map_err(error)?,
                true,
            ),
            "ListPolicyVersions" => {
                let versions = f
                    .list_policy_versions(ctx, q.req("PolicyArn")?)
                    .await
                    .map_err(error)?;
                // At most five versions: one page always holds them all.
                let page = Page {
                    items: versions,
                    marker: None,
                };
                list_xml("Versions", &page, |v| version_xml("member", v, false))
            }
            "SetDefaultPolicyVersion" => {
                f.set_default_policy_version(ctx, q.req("PolicyArn")?, q.req("VersionId")?)
                    .await
                    .map_err(error)?;
                String::new()
            }
            "DeletePolicyVersion" => {
                f.delete_policy_version(ctx, q.req("PolicyArn")?, q.req("VersionId")?)
                    .await
                    .map_err(error)?;
                String::new()
            }
            "SimulatePrincipalPolicy" | "SimulateCustomPolicy" => {
                let input = simulation_input(&q);
                let results = if op == "SimulatePrincipalPolicy" {
                    q.req("PolicySourceArn")?;
                    f.simulate_principal_policy(ctx, input).await
                } else {
                    f.simulate_custom_policy(ctx, input).await
                }
                .map_err(error)?;
                let page = Page {
                    items: results,
                    marker: None,
                };
                list_xml("EvaluationResults", &page, evaluation_xml)
            }
            "CreateGroup" => group_xml(
                "Group",
                &f.create_group(ctx, q.req("GroupName")?, q.opt("Path"))
                    .await
                    .map_err(error)?,
            ),
            "GetGroup" => {
                let (group, users) = f
                    .get_group(
                        ctx,
                        q.req("GroupName")?,
                        q.opt("Marker"),
                        q.int("MaxItems")?,
                    )
                    .await
                    .map_err(error)?;
                format!(
                    "{}{}",
                    group_xml("Group", &group),
                    list_xml("Users", &users, |u| user_xml("member", u))
                )
            }
            "DeleteGroup" => {
                f.delete_group(ctx, q.req("GroupName")?)
                    .await
                    .map_err(error)?;
                String::new()
            }
            "ListGroups" => {
                let page = f
                    .list_groups(
                        ctx,
                        q.opt("PathPrefix"),
                        q.opt("Marker"),
                        q.int("MaxItems")?,
                    )
                    .await
                    .map_err(error)?;
                list_xml("Groups", &page, |g| group_xml("member", g))
            }
            "AddUserToGroup" => {
                f.add_user_to_group(ctx, q.req("GroupName")?, q.req("UserName")?)
                    .await
                    .map_err(error)?;
                String::new()
            }
            "RemoveUserFromGroup" => {
                f.remove_user_from_group(ctx, q.req("GroupName")?, q.req("UserName")?)
                    .await
                    .map_err(error)?;
                String::new()
            }
            "ListGroupsForUser" => {
                let page = f
                    .list_groups_for_user(
                        ctx,
                        q.req("UserName")?,
                        q.opt("Marker"),
                        q.int("MaxItems")?,
                    )
                    .await
                    .map_err(error)?;
                list_xml("Groups", &page, |g| group_xml("member", g))
            }
            "PutRolePermissionsBoundary" | "PutUserPermissionsBoundary" => {
                f.put_permissions_boundary(ctx, kind, owner()?, q.req("PermissionsBoundary")?)
                    .await
                    .map_err(error)?;
                String::new()
            }
            "DeleteRolePermissionsBoundary" | "DeleteUserPermissionsBoundary" => {
                f.delete_permissions_boundary(ctx, kind, owner()?)
                    .await
                    .map_err(error)?;
                String::new()
            }
            "AttachRolePolicy" | "AttachUserPolicy" | "AttachGroupPolicy" => {
                f.attach_policy(ctx, kind, owner()?, q.req("PolicyArn")?)
                    .await
                    .map_err(error)?;
                String::new()
            }
            "DetachRolePolicy" | "DetachUserPolicy" | "DetachGroupPolicy" => {
                f.detach_policy(ctx, kind, owner()?, q.req("PolicyArn")?)
                    .await
                    .map_err(error)?;
                String::new()
            }
            "ListAttachedRolePolicies"
            | "ListAttachedUserPolicies"
            | "ListAttachedGroupPolicies" => {
                let page = f
                    .list_attached_policies(
                        ctx,
                        kind,
                        owner()?,
                        q.opt("PathPrefix"),
                        q.opt("Marker"),
                        q.int("MaxItems")?,
                    )
                    .await
                    .map_err(error)?;
                list_xml("AttachedPolicies", &page, |(name, arn)| {
                    format!(
                        "<member>{}{}</member>",
                        el("PolicyName", name),
                        el("PolicyArn", arn)
                    )
                })
            }
            other => {
                return Err(ApiError::bad_request(
                    "InvalidAction",
                    format!("Could not find operation {other}"),
                ));
            }
        })
    }
}

#[async_trait]
impl Service for Iam {
    fn signing_name(&self) -> &'static str {
        "iam"
    }

    fn protocol(&self) -> Protocol {
        Protocol::Query {
            xmlns: "https://iam.amazonaws.com/doc/2010-05-08/",
        }
    }

    fn event_source(&self) -> &'static str {
        "iam.amazonaws.com"
    }

    fn has_operation(&self, operation: &str) -> bool {
        OPERATIONS.contains(&operation)
    }

    async fn call(&self, ctx: &RequestContext, req: &ApiRequest) -> ApiResult {
        let read_only = req.operation.starts_with("Get") || req.operation.starts_with("List");
        ApiResult::new(self.run(ctx, req).await.map(Success::Xml), read_only)
    }
}
