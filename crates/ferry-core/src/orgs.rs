//! The Organizations API, for the operator: create, describe and list
//! accounts. Each account's tier comes from the `ferry:tier` tag.

use ferry_store::{Account, CreateAccountRequest, Write, WriteBatch};
use ferry_types::{AccountId, Tier, Timestamp};
use sha2::{Digest, Sha256};

use crate::{CoreError, Ferry, RequestContext};

/// The tag that picks a new account's tier.
pub const TIER_TAG: &str = "ferry:tier";

/// `CreateAccount`'s input.
#[derive(Debug, Clone, Default)]
pub struct CreateAccountInput {
    /// Email, required.
    pub email: String,
    /// Name, required.
    pub account_name: String,
    /// Tags; `ferry:tier` picks the tier.
    pub tags: Vec<(String, String)>,
}

/// The organization (one per Ferry).
#[derive(Debug, Clone)]
pub struct Organization {
    /// `o-` and ten characters.
    pub id: String,
    /// Its ARN.
    pub arn: String,
    /// The management account.
    pub management: Account,
}

/// A page of accounts.
#[derive(Debug, Clone)]
pub struct AccountPage {
    /// The accounts.
    pub accounts: Vec<Account>,
    /// Where the next page starts, if any.
    pub next_token: Option<String>,
}

fn organization_id(management: AccountId) -> String {
    let h = Sha256::digest(management.to_string().as_bytes());
    let tail: String = h.iter().take(10).map(|b| (b'a' + b % 26) as char).collect();
    format!("o-{tail}")
}

impl Ferry {
    /// The organization and its ARN.
    pub async fn describe_organization(
        &self,
        ctx: &RequestContext,
    ) -> Result<Organization, CoreError> {
        self.require_management(ctx, "organizations:DescribeOrganization")
            .await?;
        self.organization().await
    }

    async fn organization(&self) -> Result<Organization, CoreError> {
        let m = self.management_account().await?;
        let management = self.describe_account_row(m).await?;
        let id = organization_id(m);
        Ok(Organization {
            arn: format!("arn:aws:organizations::{m}:organization/{id}"),
            id,
            management,
        })
    }

    /// The ARN Organizations gives an account.
    pub async fn account_arn(&self, account: AccountId) -> Result<String, CoreError> {
        let org = self.organization().await?;
        Ok(format!(
            "arn:aws:organizations::{}:account/{}/{account}",
            org.management.id, org.id
        ))
    }

    /// `CreateAccount`. Creation is synchronous here, so the status comes
    /// back `SUCCEEDED` (or `FAILED` with a reason, as AWS reports a taken
    /// email) at once.
    pub async fn org_create_account(
        &self,
        ctx: &RequestContext,
        input: CreateAccountInput,
    ) -> Result<CreateAccountRequest, CoreError> {
        self.require_management(ctx, "organizations:CreateAccount")
            .await?;
        crate::accounts::validate_email(&input.email)?;
        crate::accounts::validate_account_name(&input.account_name)?;
        let tier = match input.tags.iter().find(|(k, _)| k == TIER_TAG) {
            Some((_, v)) => v.parse::<Tier>().map_err(|e| {
                CoreError::invalid("InvalidInputException", format!("tag {TIER_TAG}: {e}"))
            })?,
            None => Tier::Pooled,
        };
        let requested_at = self.now();
        let mut req = CreateAccountRequest {
            id: format!("car-{}", hex::encode(rand::random::<[u8; 16]>())),
            account_name: input.account_name.clone(),
            state: "SUCCEEDED".into(),
            account_id: None,
            failure_reason: None,
            requested_at,
            completed_at: None,
        };
        match self
            .create_account(&input.account_name, Some(&input.email), tier)
            .await
        {
            Ok(a) => req.account_id = Some(a.account_id),
            Err(CoreError::Conflict { code, .. }) => {
                req.state = "FAILED".into();
                req.failure_reason = Some(
                    match code {
                        "EmailAlreadyExists" => "EMAIL_ALREADY_EXISTS",
                        _ => "INVALID_INPUT",
                    }
                    .into(),
                );
            }
            Err(e) => return Err(e),
        }
        req.completed_at = Some(self.now());
        self.placement()
            .catalog()
            .apply(WriteBatch::one(Write::PutCreateAccountRequest(req.clone())))
            .await?;
        Ok(req)
    }

    /// `DescribeCreateAccountStatus`.
    pub async fn describe_create_account_status(
        &self,
        ctx: &RequestContext,
        id: &str,
    ) -> Result<CreateAccountRequest, CoreError> {
        self.require_management(ctx, "organizations:DescribeCreateAccountStatus")
            .await?;
        self.placement()
            .catalog()
            .get_create_account_request(id)
            .await?
            .ok_or_else(|| {
                CoreError::not_found(
                    "CreateAccountStatusNotFoundException",
                    format!("We can't find a create account request with the ID {id:?}"),
                )
            })
    }

    /// `DescribeAccount`.
    pub async fn describe_account(
        &self,
        ctx: &RequestContext,
        id: &str,
    ) -> Result<Account, CoreError> {
        self.require_management(ctx, "organizations:DescribeAccount")
            .await?;
        let id: AccountId = id.parse().map_err(|_| {
            CoreError::invalid(
                "InvalidInputException",
                format!("AccountId {id:?} must be 12 digits"),
            )
        })?;
        self.describe_account_row(id).await
    }

    /// `ListAccounts`: oldest first; the token is the id of the last
    /// account of the previous page.
    pub async fn list_accounts_page(
        &self,
        ctx: &RequestContext,
        max_results: Option<i64>,
        next_token: Option<&str>,
    ) -> Result<AccountPage, CoreError> {
        self.require_management(ctx, "organizations:ListAccounts")
            .await?;
        let limit = match max_results {
            None => 20,
            Some(n @ 1..=20) => n as usize,
            Some(n) => {
                return Err(CoreError::invalid(
                    "InvalidInputException",
                    format!("MaxResults {n} must be between 1 and 20"),
                ));
            }
        };
        let all = self.list_all_accounts().await?;
        let start = match next_token {
            None => 0,
            Some(t) => {
                let after: Option<AccountId> = t.parse().ok();
                let pos = after.and_then(|a| all.iter().position(|x| x.id == a));
                match pos {
                    Some(p) => p + 1,
                    None => {
                        return Err(CoreError::invalid(
                            "InvalidInputException",
                            "The NextToken is not valid",
                        ));
                    }
                }
            }
        };
        let accounts: Vec<Account> = all.iter().skip(start).take(limit).cloned().collect();
        let next_token = if start + accounts.len() < all.len() {
            accounts.last().map(|a| a.id.to_string())
        } else {
            None
        };
        Ok(AccountPage {
            accounts,
            next_token,
        })
    }
}

/// Seconds since the epoch, as Organizations' JSON timestamps.
pub fn epoch_seconds(t: Timestamp) -> f64 {
    t.timestamp_millis() as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn organization_ids_have_aws_shape() {
        let id = organization_id("123456789012".parse().expect("id"));
        assert_eq!(id.len(), 12);
        assert!(id.starts_with("o-"));
        assert!(id[2..].bytes().all(|b| b.is_ascii_lowercase()));
    }
}
