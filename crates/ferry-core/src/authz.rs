//! Who may do what. Every authorization decision is taken here: it gathers
//! every policy that applies (the caller's identity policies, its
//! permissions boundary and session policies, the resource's policies),
//! fills the request context, and asks `ferry-policy`. Adapters only ask.

use ferry_policy::{
    Context, ContextValue, Decision, NamedPolicy, Policy, PolicyKind, PolicySet,
    Principal as PolicyPrincipal, evaluate,
};
use ferry_store::PrincipalKind;
use ferry_types::AccountId;

use crate::identity::IdentityKind;
use crate::{CoreError, Ferry, Principal, RequestContext};

/// One question to the engine.
#[derive(Debug, Clone)]
pub struct Check<'a> {
    /// `service:Action`.
    pub action: &'a str,
    /// The resource ARN, or `*`.
    pub resource: String,
    /// The account owning the resource.
    pub resource_account: AccountId,
    /// The resource's own policies (bucket, queue, trust policy, ...).
    pub resource_policies: Vec<NamedPolicy>,
    /// Service-specific condition keys.
    pub context: Vec<(String, ContextValue)>,
}

impl<'a> Check<'a> {
    /// A check of an action on a resource of the caller's own kind, with no
    /// resource policy.
    pub fn new(action: &'a str, resource: impl Into<String>, resource_account: AccountId) -> Self {
        Check {
            action,
            resource: resource.into(),
            resource_account,
            resource_policies: Vec::new(),
            context: Vec::new(),
        }
    }
}

/// The engine's view of a Ferry principal.
pub fn policy_principal(p: &Principal) -> PolicyPrincipal {
    match &p.kind {
        IdentityKind::Root => PolicyPrincipal::root(&p.account.to_string()),
        IdentityKind::IamUser { .. } => PolicyPrincipal::user(&p.arn),
        IdentityKind::AssumedRole(s) => {
            PolicyPrincipal::assumed_role(&p.role_arn().unwrap_or_default(), &s.session_name)
        }
        IdentityKind::Anonymous => PolicyPrincipal::anonymous(),
    }
}

/// Parses a stored policy. Stored documents were validated when written;
/// one that no longer parses is skipped (and logged) rather than failing
/// every call of its principal.
fn stored(name: &str, doc: &str, kind: PolicyKind) -> Option<NamedPolicy> {
    match Policy::parse_with_limit(doc, kind, ferry_policy::SizeLimit::unlimited()) {
        Ok(p) => Some(NamedPolicy::new(name, p)),
        Err(e) => {
            tracing::error!(policy = name, error = %e.message(), "stored policy does not parse");
            None
        }
    }
}

impl Ferry {
    /// The condition keys every request has.
    pub fn request_context(&self, ctx: &RequestContext) -> Context {
        let p = &ctx.principal;
        let mut c = Context::new();
        c.insert_principal_keys(&policy_principal(p));
        // An anonymous caller has no account (AWS leaves the key out), and
        // its `aws:userid` is `anonymous`.
        if !p.is_anonymous() {
            c.insert("aws:PrincipalAccount", p.account.to_string());
        }
        c.insert("aws:userid", p.user_id.clone());
        c.insert("aws:CurrentTime", ContextValue::Date(ctx.time));
        c.insert(
            "aws:EpochTime",
            ContextValue::Number(ctx.time.timestamp() as f64),
        );
        c.insert(
            "aws:SecureTransport",
            ContextValue::Bool(ctx.secure_transport),
        );
        c.insert("aws:RequestedRegion", ctx.region.clone());
        for (k, v) in &ctx.signing_keys {
            c.insert(k, v.clone());
        }
        if let Ok(ip) = ctx.source_ip.parse() {
            c.insert("aws:SourceIp", ContextValue::Ip(ip));
        }
        if let IdentityKind::IamUser { tags, .. } = &p.kind {
            for (k, v) in tags {
                c.insert(&format!("aws:PrincipalTag/{k}"), v.clone());
            }
        }
        if let IdentityKind::AssumedRole(s) = &p.kind {
            for (k, v) in s.role_tags.iter().chain(&s.tags) {
                c.insert(&format!("aws:PrincipalTag/{k}"), v.clone());
            }
            if let Some(si) = &s.source_identity {
                c.insert("aws:SourceIdentity", si.clone());
            }
        }
        c
    }

    /// The caller's identity policies, permissions boundary and session
    /// policies, read fresh on every call so changes take effect at once.
    pub async fn identity_policies(&self, p: &Principal) -> Result<PolicySet, CoreError> {
        let mut set = PolicySet::default();
        let (kind, name) = match &p.kind {
            IdentityKind::Root | IdentityKind::Anonymous => return Ok(set),
            IdentityKind::IamUser { name, .. } => (PrincipalKind::User, name.clone()),
            IdentityKind::AssumedRole(s) => {
                let mut session = Vec::new();
                if let Some(doc) = &s.session_policy {
                    session.extend(stored("session policy", doc, PolicyKind::Session));
                }
                for arn in &s.session_policy_arns {
                    if let Some(doc) =
                        crate::iam::managed_policy_document(self, p.account, arn).await?
                    {
                        session.extend(stored(arn, &doc, PolicyKind::Session));
                    }
                }
                if s.session_policy.is_some() || !s.session_policy_arns.is_empty() {
                    set.session = Some(session);
                }
                (PrincipalKind::Role, s.role_name.clone())
            }
        };
        let own = self.principal_policies(p.account, kind, &name).await?;
        set.identity = own.identity;
        set.boundary = own.boundary;
        Ok(set)
    }

    /// The identity policies and permissions boundary of a user (its
    /// groups' policies included), role or group, as they are now.
    pub async fn principal_policies(
        &self,
        account: AccountId,
        kind: PrincipalKind,
        name: &str,
    ) -> Result<PolicySet, CoreError> {
        let store = self.placement().for_account(account).await?;
        let mut set = PolicySet::default();
        for pol in store.list_inline_policies(account, kind, name).await? {
            set.identity.extend(stored(
                &pol.policy_name,
                &pol.document,
                PolicyKind::Identity,
            ));
        }
        // The boundary of the user, or of the role behind the session, read
        // fresh so that putting or removing one takes effect at once.
        let boundary = match kind {
            PrincipalKind::User => store
                .get_user(account, name)
                .await?
                .and_then(|u| u.permissions_boundary),
            PrincipalKind::Role => store
                .get_role(account, name)
                .await?
                .and_then(|r| r.permissions_boundary),
            // Groups have no boundary.
            PrincipalKind::Group => None,
        };
        if let Some(arn) = boundary {
            // A boundary whose policy is gone allows nothing, rather than
            // silently lifting the limit.
            let doc = crate::iam::managed_policy_document(self, account, &arn).await?;
            set.boundary = Some(
                doc.and_then(|d| stored(&arn, &d, PolicyKind::Boundary))
                    .into_iter()
                    .collect(),
            );
        }
        // Attached managed policies, in their default version as of now.
        let mut attached = store.list_attached_policies(account, kind, name).await?;
        // A user also has its groups' policies, inline and attached.
        if kind == PrincipalKind::User {
            for g in store.list_groups_for_user(account, name).await? {
                for pol in store
                    .list_inline_policies(account, PrincipalKind::Group, &g.name)
                    .await?
                {
                    set.identity.extend(stored(
                        &format!("{} (group {})", pol.policy_name, g.name),
                        &pol.document,
                        PolicyKind::Identity,
                    ));
                }
                attached.extend(
                    store
                        .list_attached_policies(account, PrincipalKind::Group, &g.name)
                        .await?,
                );
            }
        }
        for a in attached {
            if let Some(doc) =
                crate::iam::managed_policy_document(self, account, &a.policy_arn).await?
            {
                set.identity
                    .extend(stored(&a.policy_arn, &doc, PolicyKind::Identity));
            }
        }
        Ok(set)
    }

    /// Decides one check for the caller; `AccessDenied` with the AWS-style
    /// message when denied. The reason goes to the audit trail either way.
    pub async fn authorize(&self, ctx: &RequestContext, check: Check<'_>) -> Result<(), CoreError> {
        if let IdentityKind::IamUser { session: true, .. } = ctx.principal.kind {
            let action = check.action.to_ascii_lowercase();
            if action.starts_with("iam:") || action.starts_with("sts:") {
                let message = format!(
                    "User: {} is not authorized to perform: {} with session credentials from \
                     GetSessionToken (IAM and STS need MFA-authenticated sessions)",
                    ctx.principal.arn, check.action
                );
                ctx.decision.record(message.clone());
                return Err(CoreError::AccessDenied(message));
            }
        }
        let decision = self.decide(ctx, &check).await?;
        self.conclude(ctx, &check, decision)
    }

    /// The decision without acting on it (for simulators and callers that
    /// combine several).
    pub async fn decide(
        &self,
        ctx: &RequestContext,
        check: &Check<'_>,
    ) -> Result<Decision, CoreError> {
        let mut set = self.identity_policies(&ctx.principal).await?;
        set.resource = check.resource_policies.clone();
        let mut context = self.request_context(ctx);
        context.insert("aws:ResourceAccount", check.resource_account.to_string());
        for (k, v) in &check.context {
            context.insert(k, v.clone());
        }
        let principal = policy_principal(&ctx.principal);
        let account = check.resource_account.to_string();
        let request = ferry_policy::Request {
            principal: &principal,
            action: check.action,
            resource: &check.resource,
            resource_account: Some(&account),
            context: &context,
        };
        Ok(evaluate(&request, &set))
    }

    /// Records a decision's reason and turns a denial into `AccessDenied`.
    pub fn conclude(
        &self,
        ctx: &RequestContext,
        check: &Check<'_>,
        decision: Decision,
    ) -> Result<(), CoreError> {
        let reasons: Vec<String> = decision.reasons.iter().map(ToString::to_string).collect();
        ctx.decision.record(reasons.join("; "));
        if decision.is_allowed() {
            Ok(())
        } else {
            Err(CoreError::AccessDenied(decision.message(
                &ctx.principal.arn,
                check.action,
                &check.resource,
            )))
        }
    }

    /// Organizations (and Ferry's own account administration) belong to
    /// the management account, as in AWS; inside it, the caller's policies
    /// must allow the action.
    pub async fn require_management(
        &self,
        ctx: &RequestContext,
        action: &str,
    ) -> Result<(), CoreError> {
        let management = self.management_account().await?;
        if ctx.principal.account != management {
            let message = format!(
                "User: {} is not authorized to perform: {action} because account {} is not the \
                 management account of the organization",
                ctx.principal.arn, ctx.principal.account
            );
            ctx.decision.record(message.clone());
            return Err(CoreError::AccessDenied(message));
        }
        self.authorize(ctx, Check::new(action, "*", management))
            .await
    }
}
