//! STS. `GetCallerIdentity` here; AssumeRole and sessions come with the
//! IAM/STS issue.

use ferry_types::AccountId;

use crate::{Ferry, RequestContext};

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

impl Ferry {
    /// Who is calling. Needs no permission, as in AWS: it works for every
    /// authenticated principal, even one denied everything else.
    pub fn get_caller_identity(&self, ctx: &RequestContext) -> CallerIdentity {
        CallerIdentity {
            account: ctx.principal.account,
            arn: ctx.principal.arn.clone(),
            user_id: ctx.principal.user_id.clone(),
        }
    }
}
