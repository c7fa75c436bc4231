//! S3 access points (the S3 Control API): named entry points to a bucket,
//! possibly another account's, each with its own policy and an alias usable
//! wherever a bucket name is. A request through one must be allowed by the
//! access point's policy and by the bucket's (see `authorize_s3`).

use ferry_policy::{NamedPolicy, Policy, PolicyKind, SizeLimit};
use ferry_store::{AccessPoint, AccessPointAlias, StoreError, Write, WriteBatch};
use ferry_types::{AccountId, Timestamp};
use serde_json::Value;

use super::{Found, check_resource_policy, invalid, no_bucket};
use crate::authz::Check;
use crate::{CoreError, Ferry, RequestContext};

/// An access point as S3 Control describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessPointInfo {
    /// Name.
    pub name: String,
    /// Its account.
    pub account_id: AccountId,
    /// The bucket.
    pub bucket: String,
    /// The bucket's owner.
    pub bucket_account_id: AccountId,
    /// The alias.
    pub alias: String,
    /// `Internet` or `VPC`.
    pub network_origin: String,
    /// The VPC of a VPC access point.
    pub vpc_id: Option<String>,
    /// `arn:aws:s3:REGION:ACCOUNT:accesspoint/NAME`.
    pub arn: String,
    /// Creation time.
    pub created_at: Timestamp,
}

/// The ARN of an access point in `region`.
pub(super) fn arn(region: &str, ap: &AccessPoint) -> String {
    format!(
        "arn:aws:s3:{region}:{}:accesspoint/{}",
        ap.account_id, ap.name
    )
}

pub(super) fn policy_of(ap: &AccessPoint) -> Vec<NamedPolicy> {
    let Some(doc) = &ap.policy else {
        return Vec::new();
    };
    match Policy::parse_with_limit(doc, PolicyKind::Resource, SizeLimit::unlimited()) {
        Ok(p) => vec![NamedPolicy::new("access point policy", p)],
        Err(e) => {
            tracing::error!(access_point = %ap.name, error = %e.message(), "stored access point policy does not parse");
            Vec::new()
        }
    }
}

fn info(region: &str, ap: AccessPoint) -> AccessPointInfo {
    AccessPointInfo {
        arn: arn(region, &ap),
        name: ap.name,
        account_id: ap.account_id,
        bucket: ap.bucket,
        bucket_account_id: ap.bucket_account_id,
        alias: ap.alias,
        network_origin: ap.network_origin,
        vpc_id: ap.vpc_id,
        created_at: ap.created_at,
    }
}

/// S3 Control acts in the caller's own account only: another account's
/// access points are not named there, not even to say whether they exist.
/// An anonymous caller has no account, so it has none to act in.
fn own_account(ctx: &RequestContext, account: AccountId) -> Result<(), CoreError> {
    if account == ctx.principal.account && !ctx.principal.is_anonymous() {
        return Ok(());
    }
    let reason = format!(
        "S3 Control requests act in the caller's own account ({}), not {account}",
        ctx.principal.account
    );
    ctx.decision.record(reason.clone());
    Err(CoreError::AccessDenied(reason))
}

fn no_access_point(name: &str) -> CoreError {
    CoreError::not_found(
        "NoSuchAccessPoint",
        format!("The specified accesspoint does not exist: {name}"),
    )
}

/// Access point names: 3-50 of lowercase letters, digits and hyphens,
/// starting and ending with a letter or digit.
pub fn validate_access_point_name(name: &str) -> Result<(), CoreError> {
    let ok = (3..=50).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(invalid(
            "InvalidRequest",
            format!(
                "Invalid access point name {name}: 3 to 50 lowercase letters, digits and hyphens, beginning and ending with a letter or digit"
            ),
        ))
    }
}

/// A new alias: the name (cut to fit), random letters, `-s3alias`; at most
/// 63 characters like a bucket name.
fn new_alias(name: &str) -> String {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let random: String = (0..16)
        .map(|_| CHARS[rand::random_range(0..CHARS.len())] as char)
        .collect();
    let room = 63 - "-s3alias".len() - random.len() - 1;
    let head: String = name.chars().take(room).collect();
    format!("{}-{random}-s3alias", head.trim_end_matches('-'))
}

/// Whether a policy lets anyone in: an Allow to `*` with no condition.
pub(super) fn is_public(policy: &str) -> bool {
    let Ok(doc) = serde_json::from_str::<Value>(policy) else {
        return false;
    };
    let statements = match doc.get("Statement") {
        Some(Value::Array(a)) => a.clone(),
        Some(v) => vec![v.clone()],
        None => Vec::new(),
    };
    statements.iter().any(|s| {
        let everyone = match s.get("Principal") {
            Some(Value::String(p)) => p == "*",
            Some(Value::Object(m)) => match m.get("AWS") {
                Some(Value::String(p)) => p == "*",
                Some(Value::Array(a)) => a.iter().any(|p| p == "*"),
                _ => false,
            },
            _ => false,
        };
        s.get("Effect").and_then(Value::as_str) == Some("Allow")
            && everyone
            && s.get("Condition").is_none()
    })
}

impl Ferry {
    /// The bucket behind an access point alias, remembering the access
    /// point so its policy is checked too.
    pub(super) async fn find_via_alias(&self, alias: &str) -> Result<Found, CoreError> {
        let Some(a) = self
            .placement()
            .catalog()
            .get_access_point_alias(alias)
            .await?
        else {
            return Err(no_bucket(alias));
        };
        let ap = match self.placement().existing(a.account_id).await? {
            Some(s) => s.get_access_point(a.account_id, &a.name).await?,
            None => None,
        };
        let Some(ap) = ap else {
            return Err(no_bucket(alias));
        };
        let mut found = self.find_bucket_by_name(&ap.bucket).await?;
        if found.bucket.account_id != ap.bucket_account_id {
            // The bucket was deleted and its name taken by someone else.
            return Err(no_bucket(alias));
        }
        found.via = Some(ap);
        Ok(found)
    }

    /// The alias of access point `name` of `account`, if it exists, with no
    /// authorization: this only resolves an access point's host name
    /// (`NAME-ACCOUNT.<domain>`) to the alias the request then goes through,
    /// where every check applies as for the alias itself.
    pub async fn access_point_alias(
        &self,
        account: AccountId,
        name: &str,
    ) -> Result<Option<String>, CoreError> {
        let Some(store) = self.placement().existing(account).await? else {
            return Ok(None);
        };
        Ok(store
            .get_access_point(account, name)
            .await?
            .map(|ap| ap.alias))
    }

    /// The access point `name` of `account`, after authorizing `action` on
    /// it for the caller (who must be of that account, as in S3 Control).
    async fn access_point_for(
        &self,
        ctx: &RequestContext,
        action: &str,
        account: AccountId,
        name: &str,
    ) -> Result<AccessPoint, CoreError> {
        own_account(ctx, account)?;
        let resource = format!("arn:aws:s3:{}:{account}:accesspoint/{name}", ctx.region);
        let store = self.placement().existing(account).await?;
        let ap = match &store {
            Some(s) => s.get_access_point(account, name).await?,
            None => None,
        };
        let mut check = Check::new(action, resource, account);
        if let Some(ap) = &ap {
            check.resource_policies = policy_of(ap);
        }
        self.authorize(ctx, check).await?;
        ap.ok_or_else(|| no_access_point(name))
    }

    /// Writes an access point's changed policy.
    async fn store_access_point(&self, ap: AccessPoint) -> Result<(), CoreError> {
        self.placement()
            .for_account(ap.account_id)
            .await?
            .apply(WriteBatch::one(Write::UpdateAccessPoint(ap)))
            .await?;
        Ok(())
    }

    /// `CreateAccessPoint` in `account` for `bucket` (of `bucket_account`,
    /// by default the same account).
    pub async fn create_access_point(
        &self,
        ctx: &RequestContext,
        account: AccountId,
        name: &str,
        bucket: &str,
        bucket_account: Option<AccountId>,
        vpc_id: Option<String>,
    ) -> Result<AccessPointInfo, CoreError> {
        own_account(ctx, account)?;
        let resource = format!("arn:aws:s3:{}:{account}:accesspoint/{name}", ctx.region);
        self.authorize(ctx, Check::new("s3:CreateAccessPoint", resource, account))
            .await?;
        validate_access_point_name(name)?;
        let bucket_owner = bucket_account.unwrap_or(account);
        let owner = self
            .placement()
            .catalog()
            .get_bucket_name(bucket)
            .await?
            .map(|b| b.account_id);
        if owner != Some(bucket_owner) {
            return Err(no_bucket(bucket));
        }
        let store = self.placement().for_account(account).await?;
        if store.get_access_point(account, name).await?.is_some() {
            return Err(CoreError::Conflict {
                code: "AccessPointAlreadyOwnedByYou",
                message: format!("The access point {name} already exists in this account"),
            });
        }
        let alias = new_alias(name);
        let ap = AccessPoint {
            account_id: account,
            name: name.to_string(),
            bucket: bucket.to_string(),
            bucket_account_id: bucket_owner,
            alias: alias.clone(),
            network_origin: if vpc_id.is_some() { "VPC" } else { "Internet" }.to_string(),
            vpc_id,
            policy: None,
            created_at: self.now(),
        };
        let catalog = self.placement().catalog().clone();
        catalog
            .apply(WriteBatch::one(Write::PutAccessPointAlias(
                AccessPointAlias {
                    alias: alias.clone(),
                    account_id: account,
                    name: name.to_string(),
                },
            )))
            .await?;
        match store
            .apply(WriteBatch::one(Write::PutAccessPoint(ap.clone())))
            .await
        {
            Ok(()) => Ok(info(&ctx.region, ap)),
            Err(e) => {
                let _ = catalog
                    .apply(WriteBatch::one(Write::DeleteAccessPointAlias(alias)))
                    .await;
                match e {
                    StoreError::Conflict(_) => Err(CoreError::Conflict {
                        code: "AccessPointAlreadyOwnedByYou",
                        message: format!("The access point {name} already exists in this account"),
                    }),
                    other => Err(other.into()),
                }
            }
        }
    }

    /// `GetAccessPoint`.
    pub async fn get_access_point(
        &self,
        ctx: &RequestContext,
        account: AccountId,
        name: &str,
    ) -> Result<AccessPointInfo, CoreError> {
        let ap = self
            .access_point_for(ctx, "s3:GetAccessPoint", account, name)
            .await?;
        Ok(info(&ctx.region, ap))
    }

    /// `ListAccessPoints` of `account`, optionally of one bucket.
    pub async fn list_access_points(
        &self,
        ctx: &RequestContext,
        account: AccountId,
        bucket: Option<&str>,
    ) -> Result<Vec<AccessPointInfo>, CoreError> {
        own_account(ctx, account)?;
        self.authorize(ctx, Check::new("s3:ListAccessPoints", "*", account))
            .await?;
        let Some(store) = self.placement().existing(account).await? else {
            return Ok(Vec::new());
        };
        Ok(store
            .list_access_points(account)
            .await?
            .into_iter()
            .filter(|ap| bucket.is_none_or(|b| ap.bucket == b))
            .map(|ap| info(&ctx.region, ap))
            .collect())
    }

    /// `DeleteAccessPoint`.
    pub async fn delete_access_point(
        &self,
        ctx: &RequestContext,
        account: AccountId,
        name: &str,
    ) -> Result<(), CoreError> {
        let ap = self
            .access_point_for(ctx, "s3:DeleteAccessPoint", account, name)
            .await?;
        let store = self.placement().for_account(account).await?;
        store
            .apply(WriteBatch::one(Write::DeleteAccessPoint {
                account,
                name: name.to_string(),
            }))
            .await?;
        self.placement()
            .catalog()
            .apply(WriteBatch::one(Write::DeleteAccessPointAlias(ap.alias)))
            .await?;
        Ok(())
    }

    /// `PutAccessPointPolicy`.
    pub async fn put_access_point_policy(
        &self,
        ctx: &RequestContext,
        account: AccountId,
        name: &str,
        policy: &str,
    ) -> Result<(), CoreError> {
        let mut ap = self
            .access_point_for(ctx, "s3:PutAccessPointPolicy", account, name)
            .await?;
        check_resource_policy(policy)?;
        ap.policy = Some(policy.to_string());
        self.store_access_point(ap).await
    }

    /// `GetAccessPointPolicy`.
    pub async fn get_access_point_policy(
        &self,
        ctx: &RequestContext,
        account: AccountId,
        name: &str,
    ) -> Result<String, CoreError> {
        let ap = self
            .access_point_for(ctx, "s3:GetAccessPointPolicy", account, name)
            .await?;
        ap.policy.ok_or_else(|| {
            CoreError::not_found(
                "NoSuchAccessPointPolicy",
                "The specified accesspoint policy does not exist",
            )
        })
    }

    /// `DeleteAccessPointPolicy`.
    pub async fn delete_access_point_policy(
        &self,
        ctx: &RequestContext,
        account: AccountId,
        name: &str,
    ) -> Result<(), CoreError> {
        let mut ap = self
            .access_point_for(ctx, "s3:DeleteAccessPointPolicy", account, name)
            .await?;
        ap.policy = None;
        self.store_access_point(ap).await
    }

    /// `GetAccessPointPolicyStatus`: whether the policy lets anyone in.
    pub async fn get_access_point_policy_status(
        &self,
        ctx: &RequestContext,
        account: AccountId,
        name: &str,
    ) -> Result<bool, CoreError> {
        let ap = self
            .access_point_for(ctx, "s3:GetAccessPointPolicyStatus", account, name)
            .await?;
        Ok(ap.policy.as_deref().is_some_and(is_public))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_aliases_and_public_policies() {
        assert!(validate_access_point_name("vendor-intake").is_ok());
        for bad in [
            "ab",
            "Upper",
            "-x-y",
            "x-y-",
            "under_score",
            &"a".repeat(51),
        ] {
            assert!(validate_access_point_name(bad).is_err(), "{bad}");
        }
        let alias = new_alias(&"a".repeat(50));
        assert!(alias.len() <= 63 && alias.ends_with("-s3alias"), "{alias}");
        assert!(is_public(
            r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"}]}"#
        ));
        assert!(!is_public(
            r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalAccount":"123456789012"}}}]}"#
        ));
        assert!(!is_public(
            r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"s3:*","Resource":"*"}}"#
        ));
    }
}
