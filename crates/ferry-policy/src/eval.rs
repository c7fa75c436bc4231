//! The evaluation logic: from a request and the policies that apply to it
//! to a [`Decision`] with reasons.
//!
//! Follows the IAM "policy evaluation logic" pages:
//! 1. An explicit `Deny` in any applicable policy (identity, resource,
//!    boundary, session) decides.
//! 2. Root user: everything in its own account. Elsewhere only what a
//!    resource-based policy grants it (and then nothing else is needed).
//! 3. Services, web identities and anonymous callers have no identity
//!    policies: a resource-based policy must allow.
//! 4. Same account: an identity-policy allow (intersected with the
//!    permissions boundary and session policy, when present) OR a
//!    resource-policy allow suffices. How far a resource-policy allow goes
//!    alone depends on how it names the caller ([`Grant`]): the caller
//!    itself (user ARN, session ARN, `*`) — nothing else needed; the role
//!    behind a session (or the IAM user behind a federated user) — still
//!    limited by boundary and session policy; the account — delegation, the
//!    identity side must allow.
//! 5. Cross account: the identity side (with boundary and session policy)
//!    AND a resource-policy allow are both needed.
//! 6. A federated-user session without a session policy has no permissions;
//!    a role session without one is limited by nothing extra.
//!
//! Role trust policies are the documented exception to "either side
//! suffices": the trust policy must allow even in the same account
//! ([`evaluate_assume_role`]).

use std::fmt;
use std::sync::Arc;

use serde::Serialize;

use crate::arn::SplitArn;
use crate::context::Context;
use crate::policy::{Effect, Policy, Statement};
use crate::principal::{Grant, Principal, PrincipalKind};

/// A policy with the name reasons refer to it by.
#[derive(Debug, Clone)]
pub struct NamedPolicy {
    /// Name shown in reasons (policy name, ARN, or e.g. "bucket policy").
    pub name: String,
    /// The parsed policy (shared: policies are parsed once and reused).
    pub policy: Arc<Policy>,
}

impl NamedPolicy {
    /// Wraps a parsed policy.
    pub fn new(name: impl Into<String>, policy: Policy) -> NamedPolicy {
        NamedPolicy {
            name: name.into(),
            policy: Arc::new(policy),
        }
    }

    /// Wraps an already-shared policy.
    pub fn shared(name: impl Into<String>, policy: Arc<Policy>) -> NamedPolicy {
        NamedPolicy {
            name: name.into(),
            policy,
        }
    }
}

/// All policies that apply to one request.
#[derive(Debug, Clone, Default)]
pub struct PolicySet {
    /// Identity-based policies of the caller (user, its groups, or the
    /// role of a session; inline and managed).
    pub identity: Vec<NamedPolicy>,
    /// Resource-based policies of the target resource.
    pub resource: Vec<NamedPolicy>,
    /// The caller's permissions boundary, if it has one.
    pub boundary: Option<Vec<NamedPolicy>>,
    /// Session policies, if the caller is a session created with some.
    pub session: Option<Vec<NamedPolicy>>,
}

/// One request to authorize.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// Who is calling.
    pub principal: &'a Principal,
    /// `service:Action`, any case.
    pub action: &'a str,
    /// Resource ARN, or `*` for actions without a resource.
    pub resource: &'a str,
    /// Account owning the resource; `None` means the caller's own account.
    pub resource_account: Option<&'a str>,
    /// Condition keys.
    pub context: &'a Context,
}

/// The type of policy a reason refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyType {
    /// Identity-based policy.
    Identity,
    /// Resource-based policy (a role trust policy included).
    Resource,
    /// Permissions boundary.
    PermissionsBoundary,
    /// Session policy.
    Session,
}

impl PolicyType {
    /// As in "with an explicit deny in …".
    fn with_article(self) -> &'static str {
        match self {
            PolicyType::Identity => "an identity-based policy",
            PolicyType::Resource => "a resource-based policy",
            PolicyType::PermissionsBoundary => "a permissions boundary",
            PolicyType::Session => "a session policy",
        }
    }

    /// As in "because no … allows".
    fn bare(self) -> &'static str {
        match self {
            PolicyType::Identity => "identity-based policy",
            PolicyType::Resource => "resource-based policy",
            PolicyType::PermissionsBoundary => "permissions boundary",
            PolicyType::Session => "session policy",
        }
    }
}

/// A statement that took part in a decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatementRef {
    /// Which kind of policy it is in.
    pub policy_type: PolicyType,
    /// The [`NamedPolicy::name`].
    pub policy_name: String,
    /// Position of the statement in the policy (0-based).
    pub index: usize,
    /// Its `Sid`, if any.
    pub sid: Option<String>,
    /// For a resource-based allow: how it named the caller.
    pub grant: Option<Grant>,
}

impl fmt::Display for StatementRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} '{}' statement ",
            self.policy_type.bare(),
            self.policy_name
        )?;
        match &self.sid {
            Some(s) => write!(f, "'{s}'"),
            None => write!(f, "#{}", self.index),
        }
    }
}

/// Why a decision came out as it did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Reason {
    /// This statement allowed the request.
    Allowed(StatementRef),
    /// This statement explicitly denied the request.
    Denied(StatementRef),
    /// The root user has full access to its own account.
    RootUser,
    /// Implicit deny: no policy of this type allows the request.
    NoAllow {
        /// The side that is missing.
        policy_type: PolicyType,
    },
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Allowed(s) => write!(f, "allowed by {s}"),
            Reason::Denied(s) => write!(f, "explicitly denied by {s}"),
            Reason::RootUser => write!(f, "the root user has full access to its own account"),
            Reason::NoAllow { policy_type } => write!(f, "no {} allows", policy_type.bare()),
        }
    }
}

/// The outcome of an evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum DecisionEffect {
    /// Allowed.
    Allow,
    /// Denied by a `Deny` statement.
    ExplicitDeny,
    /// Denied because nothing (or not every required side) allows.
    ImplicitDeny,
}

/// A decision and its reasons.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// Allow, explicit deny or implicit deny.
    pub effect: DecisionEffect,
    /// For allow: the statements that allowed (or [`Reason::RootUser`]);
    /// for explicit deny: every matching deny statement; for implicit
    /// deny: the missing sides, most relevant first.
    pub reasons: Vec<Reason>,
}

impl Decision {
    /// True when allowed.
    pub fn is_allowed(&self) -> bool {
        self.effect == DecisionEffect::Allow
    }

    /// The AWS-style message, e.g. `User: arn:aws:iam::111122223333:user/alice
    /// is not authorized to perform: s3:GetObject on resource:
    /// arn:aws:s3:::b/k because no identity-based policy allows the
    /// s3:GetObject action`. The `on resource:` part is left out for `*`,
    /// as AWS does for actions without a resource.
    pub fn message(&self, principal_arn: &str, action: &str, resource: &str) -> String {
        let on = if resource.is_empty() || resource == "*" {
            String::new()
        } else {
            format!(" on resource: {resource}")
        };
        match self.effect {
            DecisionEffect::Allow => {
                format!("User: {principal_arn} is authorized to perform: {action}{on}")
            }
            DecisionEffect::ExplicitDeny => {
                let t = self
                    .reasons
                    .iter()
                    .find_map(|r| match r {
                        Reason::Denied(s) => Some(s.policy_type),
                        _ => None,
                    })
                    .unwrap_or(PolicyType::Identity);
                format!(
                    "User: {principal_arn} is not authorized to perform: {action}{on} with an explicit deny in {}",
                    t.with_article()
                )
            }
            DecisionEffect::ImplicitDeny => {
                let t = self
                    .reasons
                    .iter()
                    .find_map(|r| match r {
                        Reason::NoAllow { policy_type } => Some(*policy_type),
                        _ => None,
                    })
                    .unwrap_or(PolicyType::Identity);
                format!(
                    "User: {principal_arn} is not authorized to perform: {action}{on} because no {} allows the {action} action",
                    t.bare()
                )
            }
        }
    }
}

/// Evaluates `request` against `policies`.
pub fn evaluate(request: &Request<'_>, policies: &PolicySet) -> Decision {
    evaluate_parts(
        request,
        &policies.identity,
        &policies.resource,
        policies.boundary.as_deref(),
        policies.session.as_deref(),
        false,
    )
}

/// Evaluates an `sts:AssumeRole*` request against a role's trust policy.
///
/// The trust policy acts as the resource-based policy of the role, but it
/// must allow in every case (a trust policy is one of the documented
/// exceptions where an identity-policy allow alone is not enough). If it
/// names the caller itself (user or session ARN) or a service/federated
/// provider, nothing else is needed in the same account; if it names the
/// account, or the caller is in another account, the caller's identity
/// policies (`caller.identity`, with its boundary and session policies)
/// must allow the action on the role too. `caller.resource` is ignored.
///
/// `request.action` is the STS action (`sts:AssumeRole`, `sts:TagSession`,
/// …), `request.resource` the role ARN, `request.resource_account` the
/// role's account.
pub fn evaluate_assume_role(
    request: &Request<'_>,
    trust_policy: &NamedPolicy,
    caller: &PolicySet,
) -> Decision {
    evaluate_parts(
        request,
        &caller.identity,
        std::slice::from_ref(trust_policy),
        caller.boundary.as_deref(),
        caller.session.as_deref(),
        true,
    )
}

struct Ev<'a> {
    principal: &'a Principal,
    action: &'a str,
    resource: SplitArn<'a>,
    context: &'a Context,
    has_boundary: bool,
}

#[derive(Default)]
struct Scan {
    denies: Vec<StatementRef>,
    allow: Option<StatementRef>,
}

impl Scan {
    fn grant(&self) -> Option<Grant> {
        self.allow.as_ref().and_then(|a| a.grant)
    }
}

/// Does `st` apply to the request? For resource policies, returns how it
/// names the caller; other types always return [`Grant::Direct`].
fn statement_applies(ev: &Ev<'_>, st: &Statement, ty: PolicyType) -> Option<Grant> {
    // Cheapest and most selective test first.
    let hit = st
        .action
        .patterns
        .iter()
        .any(|g| g.is_match(ev.action, true));
    if hit == st.action.not {
        return None;
    }
    if let Some(r) = &st.resource {
        let hit = r
            .patterns
            .iter()
            .any(|p| p.matches(&ev.resource, ev.context));
        if hit == r.not {
            return None;
        }
    }
    let grant = if ty == PolicyType::Resource {
        let pe = st.principal.as_ref()?;
        if pe.not {
            // AWS: NotPrincipal with Deny always denies a principal that has
            // a permissions boundary, whatever it lists.
            let boundary_quirk = st.effect == Effect::Deny && ev.has_boundary;
            if pe.spec.exempts(ev.principal) && !boundary_quirk {
                return None;
            }
            Grant::Direct
        } else {
            pe.spec.grant_for(ev.principal)?
        }
    } else {
        Grant::Direct
    };
    if st.conditions.iter().all(|c| c.holds(ev.context)) {
        Some(grant)
    } else {
        None
    }
}

fn scan(ev: &Ev<'_>, policies: &[NamedPolicy], ty: PolicyType) -> Scan {
    let mut out = Scan::default();
    for np in policies {
        for (index, st) in np.policy.statements().iter().enumerate() {
            let best = out.allow.as_ref().and_then(|a| a.grant);
            // Once an allow that cannot be bettered is found, only deny
            // statements still need evaluating.
            if st.effect == Effect::Allow
                && (out.allow.is_some()
                    && (ty != PolicyType::Resource || best == Some(Grant::Direct)))
            {
                continue;
            }
            let Some(grant) = statement_applies(ev, st, ty) else {
                continue;
            };
            let r = StatementRef {
                policy_type: ty,
                policy_name: np.name.clone(),
                index,
                sid: st.sid.clone(),
                grant: (ty == PolicyType::Resource).then_some(grant),
            };
            match st.effect {
                Effect::Deny => out.denies.push(r),
                Effect::Allow => {
                    if best.is_none_or(|b| grant > b) {
                        out.allow = Some(r);
                    }
                }
            }
        }
    }
    out
}

fn evaluate_parts(
    req: &Request<'_>,
    identity: &[NamedPolicy],
    resource: &[NamedPolicy],
    boundary: Option<&[NamedPolicy]>,
    session: Option<&[NamedPolicy]>,
    trust: bool,
) -> Decision {
    let p = req.principal;
    let member = p.is_account_member();
    let ev = Ev {
        principal: p,
        action: req.action,
        resource: SplitArn::new(req.resource),
        context: req.context,
        has_boundary: member && boundary.is_some(),
    };
    // Identity-side policies belong to account members only; a service or
    // anonymous caller has none, whatever the caller passed.
    let none = || Scan::default();
    let id = if member {
        scan(&ev, identity, PolicyType::Identity)
    } else {
        none()
    };
    let res = scan(&ev, resource, PolicyType::Resource);
    let bnd = match boundary {
        Some(b) if member => Some(scan(&ev, b, PolicyType::PermissionsBoundary)),
        _ => None,
    };
    let ses = match session {
        Some(s) if member => Some(scan(&ev, s, PolicyType::Session)),
        _ => None,
    };

    let denies: Vec<Reason> = [Some(&id), Some(&res), bnd.as_ref(), ses.as_ref()]
        .into_iter()
        .flatten()
        .flat_map(|s| s.denies.iter().cloned().map(Reason::Denied))
        .collect();
    if !denies.is_empty() {
        return Decision {
            effect: DecisionEffect::ExplicitDeny,
            reasons: denies,
        };
    }

    let allow = |reasons: Vec<Reason>| Decision {
        effect: DecisionEffect::Allow,
        reasons,
    };
    let implicit = |missing: Vec<PolicyType>| Decision {
        effect: DecisionEffect::ImplicitDeny,
        reasons: missing
            .into_iter()
            .map(|policy_type| Reason::NoAllow { policy_type })
            .collect(),
    };
    let same_account = match req.resource_account {
        None => true,
        Some(a) => p.account.as_deref() == Some(a),
    };
    let grant = res.grant();
    let res_reason = || res.allow.clone().map(Reason::Allowed);

    if !member {
        return match res_reason() {
            Some(r) => allow(vec![r]),
            None => implicit(vec![PolicyType::Resource]),
        };
    }
    if matches!(p.kind, PrincipalKind::Root) {
        if same_account && !trust {
            return allow(vec![Reason::RootUser]);
        }
        return match res_reason() {
            Some(r) => allow(vec![r]),
            None => implicit(vec![PolicyType::Resource]),
        };
    }

    let id_ok = id.allow.is_some();
    let b_ok = bnd.as_ref().is_none_or(|s| s.allow.is_some());
    // A federated user session gets nothing without a session policy; a
    // role session without one is not limited further.
    let s_ok = match &ses {
        Some(s) => s.allow.is_some(),
        None => !matches!(p.kind, PrincipalKind::FederatedUser { .. }),
    };
    let identity_path = id_ok && b_ok && s_ok;
    let limits = || -> Vec<Reason> {
        [bnd.as_ref(), ses.as_ref()]
            .into_iter()
            .flatten()
            .filter_map(|s| s.allow.clone().map(Reason::Allowed))
            .collect()
    };
    let identity_reasons = || -> Vec<Reason> {
        let mut r: Vec<Reason> = id.allow.clone().map(Reason::Allowed).into_iter().collect();
        r.extend(limits());
        r
    };

    if same_account {
        let resource_path = match grant {
            Some(Grant::Direct) => true,
            Some(Grant::Entity) => b_ok && s_ok,
            _ => false,
        };
        let allowed = if trust {
            grant.is_some() && (resource_path || identity_path)
        } else {
            resource_path || identity_path
        };
        if allowed {
            let mut reasons = Vec::new();
            if resource_path || trust {
                reasons.extend(res_reason());
            }
            if resource_path && grant == Some(Grant::Entity) {
                reasons.extend(limits());
            } else if !resource_path {
                reasons.extend(identity_reasons());
            }
            return allow(reasons);
        }
        let mut missing = Vec::new();
        if trust && grant.is_none() {
            missing.push(PolicyType::Resource);
        }
        if grant == Some(Grant::Entity) {
            // The resource policy named the role/user: what blocked it is
            // the boundary or session policy.
            if !b_ok {
                missing.push(PolicyType::PermissionsBoundary);
            }
            if !s_ok {
                missing.push(PolicyType::Session);
            }
            if !id_ok {
                missing.push(PolicyType::Identity);
            }
        } else {
            if !id_ok {
                missing.push(PolicyType::Identity);
            }
            if !b_ok {
                missing.push(PolicyType::PermissionsBoundary);
            }
            if !s_ok {
                missing.push(PolicyType::Session);
            }
        }
        return implicit(missing);
    }

    // Cross account: both sides must allow.
    if identity_path && grant.is_some() {
        let mut reasons = identity_reasons();
        reasons.extend(res_reason());
        return allow(reasons);
    }
    let mut missing = Vec::new();
    if !id_ok {
        missing.push(PolicyType::Identity);
    }
    if !b_ok {
        missing.push(PolicyType::PermissionsBoundary);
    }
    if !s_ok {
        missing.push(PolicyType::Session);
    }
    if grant.is_none() {
        missing.push(PolicyType::Resource);
    }
    implicit(missing)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::PolicyKind;

    fn pol(name: &str, kind: PolicyKind, json: &str) -> NamedPolicy {
        match Policy::parse(json, kind) {
            Ok(p) => NamedPolicy::new(name, p),
            Err(e) => panic!("{name}: {e}"),
        }
    }

    const ALICE: &str = "arn:aws:iam::111122223333:user/alice";

    fn allow_get() -> NamedPolicy {
        pol(
            "get",
            PolicyKind::Identity,
            r#"{"Version":"2012-10-17","Statement":{"Sid":"Get","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}}"#,
        )
    }

    #[test]
    fn identity_allow_and_messages() {
        let alice = Principal::user(ALICE);
        let ctx = Context::new();
        let req = Request {
            principal: &alice,
            action: "s3:GetObject",
            resource: "arn:aws:s3:::b/k",
            resource_account: None,
            context: &ctx,
        };
        let set = PolicySet {
            identity: vec![allow_get()],
            ..Default::default()
        };
        let d = evaluate(&req, &set);
        assert!(d.is_allowed());
        assert_eq!(d.reasons.len(), 1);
        assert_eq!(
            d.reasons[0].to_string(),
            "allowed by identity-based policy 'get' statement 'Get'"
        );
        let d = evaluate(
            &Request {
                action: "s3:PutObject",
                ..req
            },
            &set,
        );
        assert_eq!(d.effect, DecisionEffect::ImplicitDeny);
        assert_eq!(
            d.message(ALICE, "s3:PutObject", "arn:aws:s3:::b/k"),
            "User: arn:aws:iam::111122223333:user/alice is not authorized to perform: s3:PutObject on resource: arn:aws:s3:::b/k because no identity-based policy allows the s3:PutObject action"
        );
        let deny = pol(
            "bucket",
            PolicyKind::Resource,
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b/*"}}"#,
        );
        let set2 = PolicySet {
            identity: vec![allow_get()],
            resource: vec![deny],
            ..Default::default()
        };
        let d = evaluate(&req, &set2);
        assert_eq!(d.effect, DecisionEffect::ExplicitDeny);
        assert_eq!(
            d.message(ALICE, "s3:GetObject", "arn:aws:s3:::b/k"),
            "User: arn:aws:iam::111122223333:user/alice is not authorized to perform: s3:GetObject on resource: arn:aws:s3:::b/k with an explicit deny in a resource-based policy"
        );
        assert_eq!(
            d.reasons[0].to_string(),
            "explicitly denied by resource-based policy 'bucket' statement #0"
        );
        let d = Decision {
            effect: DecisionEffect::ImplicitDeny,
            reasons: vec![Reason::NoAllow {
                policy_type: PolicyType::Session,
            }],
        };
        assert_eq!(
            d.message(ALICE, "iam:ListUsers", "*"),
            "User: arn:aws:iam::111122223333:user/alice is not authorized to perform: iam:ListUsers because no session policy allows the iam:ListUsers action"
        );
    }

    #[test]
    fn action_case_insensitive() {
        let alice = Principal::user(ALICE);
        let ctx = Context::new();
        let set = PolicySet {
            identity: vec![allow_get()],
            ..Default::default()
        };
        let req = Request {
            principal: &alice,
            action: "S3:getobject",
            resource: "arn:aws:s3:::b/k",
            resource_account: None,
            context: &ctx,
        };
        assert!(evaluate(&req, &set).is_allowed());
        // Resources are case-sensitive.
        let req = Request {
            resource: "arn:aws:s3:::B/k",
            ..req
        };
        assert!(!evaluate(&req, &set).is_allowed());
    }

    #[test]
    fn empty_set_denies() {
        let ctx = Context::new();
        for p in [
            Principal::user(ALICE),
            Principal::anonymous(),
            Principal::service("s3.amazonaws.com"),
            Principal::assumed_role("arn:aws:iam::111122223333:role/R", "s"),
        ] {
            let req = Request {
                principal: &p,
                action: "s3:GetObject",
                resource: "arn:aws:s3:::b/k",
                resource_account: Some("111122223333"),
                context: &ctx,
            };
            assert_eq!(
                evaluate(&req, &PolicySet::default()).effect,
                DecisionEffect::ImplicitDeny
            );
        }
        let root = Principal::root("111122223333");
        let req = Request {
            principal: &root,
            action: "s3:GetObject",
            resource: "arn:aws:s3:::b/k",
            resource_account: Some("111122223333"),
            context: &ctx,
        };
        let d = evaluate(&req, &PolicySet::default());
        assert_eq!(d.reasons, vec![Reason::RootUser]);
    }
}
