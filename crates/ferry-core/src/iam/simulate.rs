//! The policy simulator: `SimulatePrincipalPolicy` and
//! `SimulateCustomPolicy`, answered by the same engine, with the same
//! policies gathered the same way, as every real call.

use std::net::IpAddr;

use base64::Engine as _;
use ferry_policy::{
    Context, ContextValue, Decision, DecisionEffect, NamedPolicy, Policy, PolicyKind, PolicySet,
    PolicyType, Principal as PolicyPrincipal, Reason, Request, evaluate,
};
use ferry_store::PrincipalKind;
use ferry_types::AccountId;

use super::{AWS_POLICY_PREFIX, validation};
use crate::{CoreError, Ferry, RequestContext};

/// One `ContextEntries` member: a condition key, its values and their type.
#[derive(Debug, Clone, Default)]
pub struct ContextEntry {
    /// e.g. `aws:SourceIp`.
    pub key: String,
    /// The values, as text.
    pub values: Vec<String>,
    /// `string`, `stringList`, `numeric`, `boolean`, `ip`, `date`,
    /// `binary`, or one of those with `List`.
    pub kind: String,
}

/// What both simulations take.
#[derive(Debug, Clone, Default)]
pub struct SimulationInput {
    /// The user, role or group whose policies are simulated
    /// (`SimulatePrincipalPolicy` only).
    pub policy_source_arn: Option<String>,
    /// Further identity policies (`PolicyInputList`).
    pub policy_inputs: Vec<String>,
    /// Boundary policies to use instead of the principal's own.
    pub boundary_inputs: Vec<String>,
    /// The actions to try.
    pub actions: Vec<String>,
    /// The resources to try each action on; `*` when none.
    pub resources: Vec<String>,
    /// A resource-based policy to include.
    pub resource_policy: Option<String>,
    /// Condition keys of the simulated request.
    pub context: Vec<ContextEntry>,
}

/// A statement that decided a result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchedStatement {
    /// The policy's name, ARN, or `PolicyInputList.N`.
    pub source_policy_id: String,
    /// `user`, `group`, `role`, `aws-managed`, `user-managed`, `resource`
    /// or `none`, as IAM.
    pub source_policy_type: &'static str,
}

/// One action on one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvaluationResult {
    /// The action.
    pub action: String,
    /// The resource.
    pub resource: String,
    /// `allowed`, `explicitDeny` or `implicitDeny`.
    pub decision: &'static str,
    /// The statements that allowed, or the ones that denied.
    pub matched: Vec<MatchedStatement>,
}

fn malformed(what: &str, e: &ferry_policy::PolicyError) -> CoreError {
    CoreError::invalid(
        "MalformedPolicyDocument",
        format!("{what}: {}", e.message()),
    )
}

fn parse_inputs(
    prefix: &str,
    docs: &[String],
    kind: PolicyKind,
) -> Result<Vec<NamedPolicy>, CoreError> {
    docs.iter()
        .enumerate()
        .map(|(i, d)| {
            let name = format!("{prefix}.{}", i + 1);
            Policy::parse(d, kind)
                .map(|p| NamedPolicy::new(name.clone(), p))
                .map_err(|e| malformed(&name, &e))
        })
        .collect()
}

fn bad_context(key: &str, why: &str) -> CoreError {
    CoreError::invalid("InvalidInput", format!("Context key {key}: {why}"))
}

/// Converts one typed context entry into an engine value.
fn context_value(e: &ContextEntry) -> Result<ContextValue, CoreError> {
    let (base, list) = match e.kind.strip_suffix("List") {
        Some(b) => (b, true),
        None => (e.kind.as_str(), false),
    };
    let one = |v: &str| -> Result<ContextValue, CoreError> {
        match base {
            "string" => Ok(ContextValue::String(v.to_string())),
            "numeric" => v
                .parse::<f64>()
                .map(ContextValue::Number)
                .map_err(|_| bad_context(&e.key, "not a number")),
            "boolean" => match v.to_ascii_lowercase().as_str() {
                "true" => Ok(ContextValue::Bool(true)),
                "false" => Ok(ContextValue::Bool(false)),
                _ => Err(bad_context(&e.key, "not true or false")),
            },
            "ip" => v
                .parse::<IpAddr>()
                .map(ContextValue::Ip)
                .map_err(|_| bad_context(&e.key, "not an IP address")),
            "date" => chrono::DateTime::parse_from_rfc3339(v)
                .map(|d| ContextValue::Date(d.with_timezone(&chrono::Utc)))
                .map_err(|_| bad_context(&e.key, "not an ISO 8601 date")),
            "binary" => base64::engine::general_purpose::STANDARD
                .decode(v)
                .map(ContextValue::Binary)
                .map_err(|_| bad_context(&e.key, "not base64")),
            _ => Err(bad_context(&e.key, &format!("unknown type {:?}", e.kind))),
        }
    };
    let values = e
        .values
        .iter()
        .map(|v| one(v))
        .collect::<Result<Vec<_>, _>>()?;
    match (list, values.len()) {
        (false, 1) => Ok(values
            .into_iter()
            .next()
            .unwrap_or(ContextValue::List(Vec::new()))),
        (false, _) => Err(bad_context(&e.key, "a single-valued type takes one value")),
        (true, _) => Ok(ContextValue::List(values)),
    }
}

/// IAM's `SourcePolicyType` for a statement of the engine's reasons.
fn source_type(t: PolicyType, name: &str, owner: Option<PrincipalKind>) -> &'static str {
    match t {
        PolicyType::Resource => "resource",
        PolicyType::Identity if name.starts_with(AWS_POLICY_PREFIX) => "aws-managed",
        PolicyType::Identity if name.starts_with("arn:") => "user-managed",
        PolicyType::Identity if name.starts_with("PolicyInputList.") => "none",
        PolicyType::Identity if name.contains(" (group ") => "group",
        PolicyType::Identity => match owner {
            Some(PrincipalKind::User) => "user",
            Some(PrincipalKind::Role) => "role",
            Some(PrincipalKind::Group) => "group",
            None => "none",
        },
        PolicyType::PermissionsBoundary | PolicyType::Session => "none",
    }
}

fn result_of(
    action: &str,
    resource: &str,
    decision: &Decision,
    owner: Option<PrincipalKind>,
) -> EvaluationResult {
    let matched = decision
        .reasons
        .iter()
        .filter_map(|r| match r {
            Reason::Allowed(s) | Reason::Denied(s) => Some(MatchedStatement {
                source_policy_id: s.policy_name.clone(),
                source_policy_type: source_type(s.policy_type, &s.policy_name, owner),
            }),
            _ => None,
        })
        .collect();
    EvaluationResult {
        action: action.to_string(),
        resource: resource.to_string(),
        decision: match decision.effect {
            DecisionEffect::Allow => "allowed",
            DecisionEffect::ExplicitDeny => "explicitDeny",
            DecisionEffect::ImplicitDeny => "implicitDeny",
        },
        matched,
    }
}

/// Parses `arn:aws:iam::ACCOUNT:{user,role,group}/PATH/NAME`.
fn parse_source_arn(arn: &str) -> Result<(AccountId, PrincipalKind, String), CoreError> {
    let invalid = || CoreError::invalid("InvalidInput", format!("ARN {arn} is not valid."));
    let parsed: ferry_types::Arn = arn.parse().map_err(|_| invalid())?;
    let account: AccountId = parsed.account.parse().map_err(|_| invalid())?;
    let (kind, rest) = if let Some(r) = parsed.resource.strip_prefix("user/") {
        (PrincipalKind::User, r)
    } else if let Some(r) = parsed.resource.strip_prefix("role/") {
        (PrincipalKind::Role, r)
    } else if let Some(r) = parsed.resource.strip_prefix("group/") {
        (PrincipalKind::Group, r)
    } else {
        return Err(invalid());
    };
    let name = rest.rsplit('/').next().unwrap_or(rest);
    if parsed.service != "iam" || name.is_empty() {
        return Err(invalid());
    }
    Ok((account, kind, name.to_string()))
}

impl Ferry {
    /// `SimulatePrincipalPolicy`: the policies of a user (with its groups),
    /// role or group of the caller's account, plus any given ones.
    pub async fn simulate_principal_policy(
        &self,
        ctx: &RequestContext,
        input: SimulationInput,
    ) -> Result<Vec<EvaluationResult>, CoreError> {
        let source = input
            .policy_source_arn
            .clone()
            .ok_or_else(|| validation("PolicySourceArn must be given"))?;
        let (account, store) = self
            .iam(ctx, "iam:SimulatePrincipalPolicy", source.clone())
            .await?;
        let (owner, kind, name) = parse_source_arn(&source)?;
        if owner != account {
            return Err(CoreError::not_found(
                "NoSuchEntity",
                format!("The entity {source} cannot be found."),
            ));
        }
        let name = self.principal_exists(&store, account, kind, &name).await?;
        let mut set = self.principal_policies(account, kind, &name).await?;
        set.identity.extend(parse_inputs(
            "PolicyInputList",
            &input.policy_inputs,
            PolicyKind::Identity,
        )?);
        let principal = match kind {
            PrincipalKind::Role => PolicyPrincipal::assumed_role(&source, "SimulatedSession"),
            // A group is simulated as a user that has only its policies.
            PrincipalKind::User | PrincipalKind::Group => PolicyPrincipal::user(&source),
        };
        self.simulate(account, &principal, set, &input, Some(kind))
    }

    /// `SimulateCustomPolicy`: only the given policies.
    pub async fn simulate_custom_policy(
        &self,
        ctx: &RequestContext,
        input: SimulationInput,
    ) -> Result<Vec<EvaluationResult>, CoreError> {
        let (account, _) = self
            .iam(ctx, "iam:SimulateCustomPolicy", "*".into())
            .await?;
        if input.policy_inputs.is_empty() {
            return Err(validation("PolicyInputList must name at least one policy"));
        }
        let set = PolicySet {
            identity: parse_inputs(
                "PolicyInputList",
                &input.policy_inputs,
                PolicyKind::Identity,
            )?,
            ..PolicySet::default()
        };
        let principal =
            PolicyPrincipal::user(&format!("arn:aws:iam::{account}:user/SimulatedUser"));
        self.simulate(account, &principal, set, &input, None)
    }

    fn simulate(
        &self,
        account: AccountId,
        principal: &PolicyPrincipal,
        mut set: PolicySet,
        input: &SimulationInput,
        owner: Option<PrincipalKind>,
    ) -> Result<Vec<EvaluationResult>, CoreError> {
        if input.actions.is_empty() {
            return Err(validation("ActionNames must name at least one action"));
        }
        if !input.boundary_inputs.is_empty() {
            set.boundary = Some(parse_inputs(
                "PermissionsBoundaryPolicyInputList",
                &input.boundary_inputs,
                PolicyKind::Boundary,
            )?);
        }
        if let Some(doc) = &input.resource_policy {
            let p = Policy::parse(doc, PolicyKind::Resource)
                .map_err(|e| malformed("ResourcePolicy", &e))?;
            set.resource.push(NamedPolicy::new("ResourcePolicy", p));
        }
        let mut context = Context::new();
        context.insert_principal_keys(principal);
        context.insert("aws:PrincipalAccount", account.to_string());
        context.insert("aws:CurrentTime", ContextValue::Date(self.now()));
        context.insert(
            "aws:EpochTime",
            ContextValue::Number(self.now().timestamp() as f64),
        );
        for e in &input.context {
            context.insert(&e.key, context_value(e)?);
        }
        let account_s = account.to_string();
        let star = ["*".to_string()];
        let resources: &[String] = if input.resources.is_empty() {
            &star
        } else {
            &input.resources
        };
        let mut results = Vec::new();
        for action in &input.actions {
            for resource in resources {
                let request = Request {
                    principal,
                    action,
                    resource,
                    resource_account: Some(&account_s),
                    context: &context,
                };
                let decision = evaluate(&request, &set);
                results.push(result_of(action, resource, &decision, owner));
            }
        }
        Ok(results)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(kind: &str, values: &[&str]) -> ContextEntry {
        ContextEntry {
            key: "k".into(),
            values: values.iter().map(|v| v.to_string()).collect(),
            kind: kind.into(),
        }
    }

    #[test]
    fn context_entries_convert_by_type() {
        assert_eq!(
            context_value(&entry("string", &["a"])).ok(),
            Some(ContextValue::String("a".into()))
        );
        assert_eq!(
            context_value(&entry("numeric", &["2.5"])).ok(),
            Some(ContextValue::Number(2.5))
        );
        assert_eq!(
            context_value(&entry("stringList", &["a", "b"])).ok(),
            Some(ContextValue::strings(["a", "b"]))
        );
        assert!(context_value(&entry("ip", &["10.0.0.1"])).is_ok());
        assert!(context_value(&entry("date", &["2026-01-01T00:00:00Z"])).is_ok());
        for bad in [
            entry("numeric", &["x"]),
            entry("string", &["a", "b"]),
            entry("weird", &["a"]),
            entry("ip", &["nope"]),
        ] {
            assert!(context_value(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn source_arns_parse() {
        let (_, kind, name) =
            parse_source_arn("arn:aws:iam::123456789012:user/a/b/alice").expect("user");
        assert_eq!((kind, name.as_str()), (PrincipalKind::User, "alice"));
        assert!(parse_source_arn("arn:aws:iam::123456789012:policy/x").is_err());
        assert!(parse_source_arn("nope").is_err());
    }
}
