//! Who may do what. Every decision lives here; adapters only ask.
//!
//! Until the IAM policy engine is wired in (the IAM/STS issue), the rules
//! are the structural ones AWS applies before any policy: Organizations and
//! Ferry's account administration belong to the management account.

use crate::{CoreError, Ferry, RequestContext};

impl Ferry {
    /// Organizations (and Ferry's own account administration) may only be
    /// called from the management account, as in AWS.
    pub async fn require_management(
        &self,
        ctx: &RequestContext,
        action: &str,
    ) -> Result<(), CoreError> {
        let management = self.management_account().await?;
        if ctx.principal.account == management {
            Ok(())
        } else {
            Err(CoreError::AccessDenied(format!(
                "User: {} is not authorized to perform: {action} because the account {} is not the \
                 management account of the organization",
                ctx.principal.arn, ctx.principal.account
            )))
        }
    }
}
