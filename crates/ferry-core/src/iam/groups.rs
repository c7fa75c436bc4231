//! IAM groups: membership, and through it the policies a user gets from
//! its groups (inline and attached; `authz` gathers them).

use std::sync::Arc;

use ferry_store::{IamGroup, IamUser, PrincipalKind, Store, StoreError, Write, WriteBatch};
use ferry_types::AccountId;

use super::{
    Page, conflict, no_such, page, refuse_if_policies, unique_id, validate_name, validate_path,
};
use crate::{CoreError, Ferry, RequestContext};

/// The ARN of a group.
pub fn group_arn(g: &IamGroup) -> String {
    format!("arn:aws:iam::{}:group{}{}", g.account_id, g.path, g.name)
}

impl Ferry {
    pub(super) async fn group_row(
        &self,
        store: &Arc<dyn Store>,
        account: AccountId,
        name: &str,
    ) -> Result<IamGroup, CoreError> {
        store
            .get_group(account, name)
            .await?
            .ok_or_else(|| no_such("group", name))
    }

    pub(super) async fn user_row(
        &self,
        store: &Arc<dyn Store>,
        account: AccountId,
        name: &str,
    ) -> Result<IamUser, CoreError> {
        store
            .get_user(account, name)
            .await?
            .ok_or_else(|| no_such("user", name))
    }

    /// `CreateGroup`.
    pub async fn create_group(
        &self,
        ctx: &RequestContext,
        name: &str,
        path: Option<&str>,
    ) -> Result<IamGroup, CoreError> {
        validate_name("groupName", name, 128)?;
        let path = path.unwrap_or("/").to_string();
        validate_path(&path)?;
        let (account, store) = self
            .iam(
                ctx,
                "iam:CreateGroup",
                format!("arn:aws:iam::{}:group{path}{name}", ctx.principal.account),
            )
            .await?;
        let group = IamGroup {
            account_id: account,
            name: name.to_string(),
            group_id: unique_id("AGPA"),
            path,
            created_at: self.now(),
        };
        store
            .apply(WriteBatch::one(Write::PutGroup(group.clone())))
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => CoreError::Conflict {
                    code: "EntityAlreadyExists",
                    message: format!("Group with name {name} already exists."),
                },
                e => e.into(),
            })?;
        Ok(group)
    }

    /// `GetGroup`: the group and a page of its users.
    pub async fn get_group(
        &self,
        ctx: &RequestContext,
        name: &str,
        marker: Option<&str>,
        max_items: Option<i64>,
    ) -> Result<(IamGroup, Page<IamUser>), CoreError> {
        validate_name("groupName", name, 128)?;
        let (account, store) = self
            .iam(ctx, "iam:GetGroup", Self::arn_of(ctx, "group", name))
            .await?;
        let group = self.group_row(&store, account, name).await?;
        let mut users = Vec::new();
        for u in store.list_group_members(account, &group.name).await? {
            users.extend(store.get_user(account, &u).await?);
        }
        let users = page(users, |u| u.name.clone(), marker, max_items)?;
        Ok((group, users))
    }

    /// `ListGroups`.
    pub async fn list_groups(
        &self,
        ctx: &RequestContext,
        path_prefix: Option<&str>,
        marker: Option<&str>,
        max_items: Option<i64>,
    ) -> Result<Page<IamGroup>, CoreError> {
        let (account, store) = self.iam(ctx, "iam:ListGroups", "*".into()).await?;
        let prefix = path_prefix.unwrap_or("/");
        let groups = store
            .list_groups(account)
            .await?
            .into_iter()
            .filter(|g| g.path.starts_with(prefix))
            .collect();
        page(groups, |g| g.name.clone(), marker, max_items)
    }

    /// `DeleteGroup`: refused while it has members or policies, as IAM.
    pub async fn delete_group(&self, ctx: &RequestContext, name: &str) -> Result<(), CoreError> {
        validate_name("groupName", name, 128)?;
        let (account, store) = self
            .iam(ctx, "iam:DeleteGroup", Self::arn_of(ctx, "group", name))
            .await?;
        let group = self.group_row(&store, account, name).await?;
        if !store
            .list_group_members(account, &group.name)
            .await?
            .is_empty()
        {
            return Err(conflict(
                "Cannot delete entity, must remove users from group first.",
            ));
        }
        refuse_if_policies(&store, account, PrincipalKind::Group, &group.name).await?;
        store
            .apply(WriteBatch::one(Write::DeleteGroup {
                account,
                name: group.name,
            }))
            .await?;
        Ok(())
    }

    /// `AddUserToGroup`: a member already is one again without change.
    pub async fn add_user_to_group(
        &self,
        ctx: &RequestContext,
        group: &str,
        user: &str,
    ) -> Result<(), CoreError> {
        validate_name("groupName", group, 128)?;
        validate_name("userName", user, 64)?;
        let (account, store) = self
            .iam(ctx, "iam:AddUserToGroup", Self::arn_of(ctx, "group", group))
            .await?;
        let group = self.group_row(&store, account, group).await?;
        let user = self.user_row(&store, account, user).await?;
        store
            .apply(WriteBatch::one(Write::AddGroupMember {
                account,
                group: group.name,
                user: user.name,
            }))
            .await?;
        Ok(())
    }

    /// `RemoveUserFromGroup`.
    pub async fn remove_user_from_group(
        &self,
        ctx: &RequestContext,
        group: &str,
        user: &str,
    ) -> Result<(), CoreError> {
        validate_name("groupName", group, 128)?;
        validate_name("userName", user, 64)?;
        let (account, store) = self
            .iam(
                ctx,
                "iam:RemoveUserFromGroup",
                Self::arn_of(ctx, "group", group),
            )
            .await?;
        let group = self.group_row(&store, account, group).await?;
        let user = self.user_row(&store, account, user).await?;
        if !store
            .list_group_members(account, &group.name)
            .await?
            .iter()
            .any(|u| u.eq_ignore_ascii_case(&user.name))
        {
            return Err(CoreError::not_found(
                "NoSuchEntity",
                format!(
                    "The user with name {} is not in group {}.",
                    user.name, group.name
                ),
            ));
        }
        store
            .apply(WriteBatch::one(Write::RemoveGroupMember {
                account,
                group: group.name,
                user: user.name,
            }))
            .await?;
        Ok(())
    }

    /// `ListGroupsForUser`.
    pub async fn list_groups_for_user(
        &self,
        ctx: &RequestContext,
        user: &str,
        marker: Option<&str>,
        max_items: Option<i64>,
    ) -> Result<Page<IamGroup>, CoreError> {
        validate_name("userName", user, 64)?;
        let (account, store) = self
            .iam(
                ctx,
                "iam:ListGroupsForUser",
                Self::arn_of(ctx, "user", user),
            )
            .await?;
        let user = self.user_row(&store, account, user).await?;
        let groups = store.list_groups_for_user(account, &user.name).await?;
        page(groups, |g| g.name.clone(), marker, max_items)
    }
}
