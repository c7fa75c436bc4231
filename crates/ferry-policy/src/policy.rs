//! The policy document: grammar, validation and the compiled form.
//!
//! Parsing validates everything that can be checked without a request
//! (element names, Effect, Action format, Resource format, Principal form,
//! condition operators and value types, Sid rules, size and character set)
//! and compiles patterns once, so evaluation does no parsing.

use std::collections::HashSet;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::arn::ArnPattern;
use crate::condition::{Entry, compile_values, parse_operator};
use crate::error::PolicyError;
use crate::pattern::Glob;
use crate::principal::{AwsPrincipal, PrincipalSpec};

/// Where a policy is used; selects the validation rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum PolicyKind {
    /// Attached to a user, group or role (inline or managed). No
    /// `Principal` allowed.
    Identity,
    /// Attached to a resource (bucket, queue, key, ...). `Principal` (or
    /// `NotPrincipal`) required; `Resource` optional (it defaults to the
    /// resource the policy is attached to, as SNS/SQS policies allow).
    Resource,
    /// A role trust policy. `Principal` required, no `Resource`, actions
    /// limited to `sts:AssumeRole*`, `sts:TagSession`,
    /// `sts:SetSourceIdentity` and `sts:SetContext`.
    Trust,
    /// A permissions boundary (a managed policy). Same grammar as identity.
    Boundary,
    /// A session policy passed to `AssumeRole*`/`GetFederationToken`. Same
    /// grammar as identity.
    Session,
}

impl PolicyKind {
    /// Whether AWS IAM/STS validates this kind (Sid format, character set).
    fn is_iam(self) -> bool {
        !matches!(self, PolicyKind::Resource)
    }

    /// The size limit applied by [`Policy::parse`].
    pub fn default_limit(self) -> SizeLimit {
        match self {
            PolicyKind::Identity => SizeLimit::inline(),
            PolicyKind::Resource => SizeLimit::resource(),
            PolicyKind::Trust => SizeLimit::trust(),
            PolicyKind::Boundary => SizeLimit::managed(),
            PolicyKind::Session => SizeLimit::session(),
        }
    }
}

/// A size quota for a policy document.
///
/// Size is counted in characters, excluding whitespace outside JSON
/// strings: AWS documents that IAM "doesn't count white space" against the
/// quota, and insignificant whitespace is the part of a document that can
/// change without changing the policy. The same rule is used for every kind
/// so that pretty-printing never changes whether a policy fits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SizeLimit {
    max_chars: Option<usize>,
    quota: &'static str,
}

impl SizeLimit {
    /// Managed policy (also a permissions boundary): 6,144 characters.
    pub const MANAGED_CHARS: usize = 6144;
    /// Inline user/role/group policy: 10,240 characters (the role quota,
    /// the largest of the three; callers may pass a smaller one).
    pub const INLINE_CHARS: usize = 10240;
    /// Role trust policy: 2,048 characters by default.
    pub const TRUST_CHARS: usize = 2048;
    /// Session policy passed to STS: 2,048 characters.
    pub const SESSION_CHARS: usize = 2048;
    /// Resource-based policy (the S3 bucket policy quota, 20 KB).
    pub const RESOURCE_CHARS: usize = 20480;

    /// Managed policy quota.
    pub fn managed() -> SizeLimit {
        SizeLimit {
            max_chars: Some(Self::MANAGED_CHARS),
            quota: "PolicySize",
        }
    }
    /// Inline policy quota.
    pub fn inline() -> SizeLimit {
        SizeLimit {
            max_chars: Some(Self::INLINE_CHARS),
            quota: "InlinePolicySize",
        }
    }
    /// Role trust policy quota (`ACLSizePerRole`).
    pub fn trust() -> SizeLimit {
        SizeLimit {
            max_chars: Some(Self::TRUST_CHARS),
            quota: "ACLSizePerRole",
        }
    }
    /// Session policy quota.
    pub fn session() -> SizeLimit {
        SizeLimit {
            max_chars: Some(Self::SESSION_CHARS),
            quota: "SessionPolicySize",
        }
    }
    /// Resource-based policy quota.
    pub fn resource() -> SizeLimit {
        SizeLimit {
            max_chars: Some(Self::RESOURCE_CHARS),
            quota: "ResourcePolicySize",
        }
    }
    /// A custom quota (e.g. a raised trust policy quota of 4,096).
    pub fn chars(max: usize) -> SizeLimit {
        SizeLimit {
            max_chars: Some(max),
            quota: "PolicySize",
        }
    }
    /// No size check.
    pub fn unlimited() -> SizeLimit {
        SizeLimit {
            max_chars: None,
            quota: "PolicySize",
        }
    }
    /// The maximum size in characters, if any.
    pub fn max_chars(&self) -> Option<usize> {
        self.max_chars
    }
}

/// The policy language version (`Version` element).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum PolicyVersion {
    /// `2012-10-17`: policy variables are substituted.
    V2012_10_17,
    /// `2008-10-17`, or no `Version`: `${...}` is literal text.
    V2008_10_17,
}

impl PolicyVersion {
    /// The version string.
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyVersion::V2012_10_17 => "2012-10-17",
            PolicyVersion::V2008_10_17 => "2008-10-17",
        }
    }
}

/// `Effect` of a statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Effect {
    /// `"Allow"`.
    Allow,
    /// `"Deny"`.
    Deny,
}

/// A parsed, validated policy document.
#[derive(Debug, Clone)]
pub struct Policy {
    kind: PolicyKind,
    version: PolicyVersion,
    version_given: bool,
    id: Option<String>,
    statements: Vec<Statement>,
    size: usize,
}

/// `Principal` or `NotPrincipal`.
#[derive(Debug, Clone)]
pub(crate) struct PrincipalElem {
    pub(crate) not: bool,
    pub(crate) spec: PrincipalSpec,
}

/// `Action` or `NotAction`: patterns matched case-insensitively.
#[derive(Debug, Clone)]
pub(crate) struct ActionElem {
    pub(crate) not: bool,
    pub(crate) patterns: Vec<Glob>,
}

/// `Resource` or `NotResource`.
#[derive(Debug, Clone)]
pub(crate) struct ResourceElem {
    pub(crate) not: bool,
    pub(crate) patterns: Vec<ArnPattern>,
}

/// One statement of a policy.
#[derive(Debug, Clone)]
pub struct Statement {
    pub(crate) sid: Option<String>,
    pub(crate) effect: Effect,
    pub(crate) principal: Option<PrincipalElem>,
    pub(crate) action: ActionElem,
    pub(crate) resource: Option<ResourceElem>,
    pub(crate) conditions: Vec<Entry>,
}

impl Statement {
    /// The `Sid`, if any.
    pub fn sid(&self) -> Option<&str> {
        self.sid.as_deref()
    }
    /// `Allow` or `Deny`.
    pub fn effect(&self) -> Effect {
        self.effect
    }
    /// Whether the statement has a `Condition` block.
    pub fn has_conditions(&self) -> bool {
        !self.conditions.is_empty()
    }
}

impl Policy {
    /// Parses and validates `json` as a policy of `kind`, with the kind's
    /// default size limit ([`PolicyKind::default_limit`]).
    pub fn parse(json: &str, kind: PolicyKind) -> Result<Policy, PolicyError> {
        Policy::parse_with_limit(json, kind, kind.default_limit())
    }

    /// Parses and validates `json` with an explicit size limit (e.g.
    /// [`SizeLimit::managed`] for `CreatePolicy`).
    pub fn parse_with_limit(
        json: &str,
        kind: PolicyKind,
        limit: SizeLimit,
    ) -> Result<Policy, PolicyError> {
        if kind.is_iam() {
            // IAM and STS accept only tab, LF, CR and U+0020..U+00FF.
            if let Some(c) = json
                .chars()
                .find(|c| !matches!(*c, '\t' | '\n' | '\r' | '\u{20}'..='\u{ff}'))
            {
                return Err(PolicyError::malformed(format!(
                    "Policy document contains an invalid character U+{:04X}; only tab, line feed, carriage return and U+0020 to U+00FF are allowed.",
                    u32::from(c)
                )));
            }
        }
        let size = policy_size(json);
        if let Some(max) = limit.max_chars
            && size > max
        {
            return Err(PolicyError::limit(format!(
                "Cannot exceed quota for {}: {max}",
                limit.quota
            )));
        }
        if json.trim().is_empty() {
            return Err(PolicyError::malformed("Policy document must not be empty."));
        }
        let value: Value = serde_json::from_str(json)
            .map_err(|e| PolicyError::malformed(format!("Syntax errors in policy: {e}.")))?;
        let mut policy = Policy::from_value(&value, kind)?;
        policy.size = size;
        Ok(policy)
    }

    /// Validates an already-decoded JSON document (no size or character
    /// checks: those need the original text).
    pub fn from_value(value: &Value, kind: PolicyKind) -> Result<Policy, PolicyError> {
        let obj = value
            .as_object()
            .ok_or_else(|| PolicyError::malformed("Policy document must be a JSON object."))?;
        for k in obj.keys() {
            if !matches!(k.as_str(), "Version" | "Id" | "Statement") {
                return Err(PolicyError::malformed(format!(
                    "Policy document contains an unknown element: {k}. Allowed elements are Version, Id and Statement."
                )));
            }
        }
        let (version, version_given) = match obj.get("Version") {
            None => (PolicyVersion::V2008_10_17, false),
            Some(Value::String(s)) if s == "2012-10-17" => (PolicyVersion::V2012_10_17, true),
            Some(Value::String(s)) if s == "2008-10-17" => (PolicyVersion::V2008_10_17, true),
            Some(other) => {
                return Err(PolicyError::malformed(format!(
                    "Invalid Version {other}: must be \"2012-10-17\" or \"2008-10-17\"."
                )));
            }
        };
        let id = match obj.get("Id") {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(PolicyError::malformed("Id must be a string.")),
        };
        let raw_statements: Vec<&Value> = match obj.get("Statement") {
            None => return Err(PolicyError::malformed("Missing required field Statement.")),
            Some(Value::Array(items)) if items.is_empty() => {
                return Err(PolicyError::malformed(
                    "Statement must contain at least one statement.",
                ));
            }
            Some(Value::Array(items)) => items.iter().collect(),
            Some(v @ Value::Object(_)) => vec![v],
            Some(_) => {
                return Err(PolicyError::malformed(
                    "Statement must be an object or a list of objects.",
                ));
            }
        };
        let vars = version == PolicyVersion::V2012_10_17;
        let mut statements = Vec::with_capacity(raw_statements.len());
        let mut sids = HashSet::new();
        for (i, raw) in raw_statements.into_iter().enumerate() {
            let st = parse_statement(raw, kind, vars).map_err(|m| {
                PolicyError::malformed(if raw_statements_len_is_one(value) {
                    m
                } else {
                    format!("{m} (statement {i})")
                })
            })?;
            if let Some(sid) = &st.sid
                && !sids.insert(sid.clone())
            {
                return Err(PolicyError::malformed(
                    "Statement IDs (SID) in a single policy must be unique.",
                ));
            }
            statements.push(st);
        }
        Ok(Policy {
            kind,
            version,
            version_given,
            id,
            statements,
            size: 0,
        })
    }

    /// The kind the policy was validated as.
    pub fn kind(&self) -> PolicyKind {
        self.kind
    }
    /// The policy language version (2008-10-17 when absent).
    pub fn version(&self) -> PolicyVersion {
        self.version
    }
    /// Whether the document had a `Version` element.
    pub fn has_version(&self) -> bool {
        self.version_given
    }
    /// The `Id` element.
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }
    /// The statements, in document order.
    pub fn statements(&self) -> &[Statement] {
        &self.statements
    }
    /// Size as counted against the quota (see [`SizeLimit`]).
    pub fn size(&self) -> usize {
        self.size
    }
}

fn raw_statements_len_is_one(value: &Value) -> bool {
    !matches!(value.get("Statement"), Some(Value::Array(a)) if a.len() > 1)
}

/// Characters excluding whitespace outside JSON strings.
pub(crate) fn policy_size(json: &str) -> usize {
    let mut n = 0;
    let mut in_str = false;
    let mut escaped = false;
    for c in json.chars() {
        if in_str {
            n += 1;
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_str = false;
            }
        } else if c == '"' {
            in_str = true;
            n += 1;
        } else if !c.is_whitespace() {
            n += 1;
        }
    }
    n
}

/// A string or a non-empty list of strings.
fn string_list(v: &Value, element: &str) -> Result<Vec<String>, String> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) if items.is_empty() => {
            Err(format!("{element} must not be an empty list."))
        }
        Value::Array(items) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => Ok(s.clone()),
                _ => Err(format!("{element} must be a string or a list of strings.")),
            })
            .collect(),
        _ => Err(format!("{element} must be a string or a list of strings.")),
    }
}

const STATEMENT_ELEMENTS: &[&str] = &[
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
];

fn parse_statement(v: &Value, kind: PolicyKind, vars: bool) -> Result<Statement, String> {
    let obj = v
        .as_object()
        .ok_or_else(|| "Each statement must be a JSON object.".to_string())?;
    for k in obj.keys() {
        if !STATEMENT_ELEMENTS.contains(&k.as_str()) {
            return Err(format!(
                "Statement contains an unknown element: {k}. Allowed elements are {}.",
                STATEMENT_ELEMENTS.join(", ")
            ));
        }
    }
    let sid = match obj.get("Sid") {
        None => None,
        Some(Value::String(s)) => {
            if kind.is_iam() && !s.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err(format!(
                    "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*: \"{s}\"."
                ));
            }
            Some(s.clone())
        }
        Some(_) => return Err("Sid must be a string.".into()),
    };
    let effect = match obj.get("Effect") {
        None => return Err("Missing required field Effect.".into()),
        Some(Value::String(s)) if s == "Allow" => Effect::Allow,
        Some(Value::String(s)) if s == "Deny" => Effect::Deny,
        Some(other) => {
            return Err(format!(
                "Invalid effect: {other}. Effect must be \"Allow\" or \"Deny\"."
            ));
        }
    };
    let principal = parse_principal_elem(obj, kind)?;
    let action = parse_action_elem(obj, kind)?;
    let resource = parse_resource_elem(obj, kind, vars)?;
    let conditions = match obj.get("Condition") {
        None => Vec::new(),
        Some(c) => parse_condition(c, vars)?,
    };
    Ok(Statement {
        sid,
        effect,
        principal,
        action,
        resource,
        conditions,
    })
}

fn parse_principal_elem(
    obj: &Map<String, Value>,
    kind: PolicyKind,
) -> Result<Option<PrincipalElem>, String> {
    let (value, not) = match (obj.get("Principal"), obj.get("NotPrincipal")) {
        (Some(_), Some(_)) => {
            return Err("A statement cannot contain both Principal and NotPrincipal.".into());
        }
        (Some(p), None) => (p, false),
        (None, Some(p)) => (p, true),
        (None, None) => {
            return match kind {
                PolicyKind::Resource | PolicyKind::Trust => {
                    Err("Missing required field Principal.".into())
                }
                _ => Ok(None),
            };
        }
    };
    if !matches!(kind, PolicyKind::Resource | PolicyKind::Trust) {
        return Err("Policy document should not specify a principal.".into());
    }
    let element = if not { "NotPrincipal" } else { "Principal" };
    let spec = parse_principal(value, element)?;
    Ok(Some(PrincipalElem { not, spec }))
}

fn parse_principal(v: &Value, element: &str) -> Result<PrincipalSpec, String> {
    let obj = match v {
        Value::String(s) if s == "*" => return Ok(PrincipalSpec::Any),
        Value::Object(o) if !o.is_empty() => o,
        _ => {
            return Err(format!(
                "Invalid principal in policy: {element} must be \"*\" or an object with AWS, Service, Federated or CanonicalUser."
            ));
        }
    };
    let mut aws = Vec::new();
    let mut service = Vec::new();
    let mut federated = Vec::new();
    let mut canonical = Vec::new();
    for (k, val) in obj {
        let list = string_list(val, &format!("{element}.{k}"))
            .map_err(|m| format!("Invalid principal in policy: {m}"))?;
        for item in list {
            let bad = || format!("Invalid principal in policy: \"{k}\":\"{item}\"");
            if item.is_empty() {
                return Err(bad());
            }
            match k.as_str() {
                "AWS" => aws.push(parse_aws_principal(&item).ok_or_else(bad)?),
                "Service" => {
                    if item.contains('*') || item.contains(char::is_whitespace) {
                        return Err(bad());
                    }
                    service.push(item)
                }
                "Federated" => {
                    if item.contains('*') {
                        return Err(bad());
                    }
                    federated.push(item)
                }
                "CanonicalUser" => canonical.push(item),
                other => {
                    return Err(format!(
                        "Invalid principal in policy: unknown principal type \"{other}\"; expected AWS, Service, Federated or CanonicalUser."
                    ));
                }
            }
        }
    }
    Ok(PrincipalSpec::Set {
        aws,
        service,
        federated,
        canonical,
    })
}

fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// `*`, a 12-digit account, `arn:…:iam::ACCT:root`, an IAM/STS principal
/// ARN, or a unique id. Wildcards inside names are not allowed (AWS: "You
/// cannot use a wildcard to match part of a principal name or ARN").
fn parse_aws_principal(s: &str) -> Option<AwsPrincipal> {
    if s == "*" {
        return Some(AwsPrincipal::Any);
    }
    if s.contains('*') || s.contains('?') {
        return None;
    }
    if is_account_id(s) {
        return Some(AwsPrincipal::Account(s.to_string()));
    }
    if let Some(rest) = s.strip_prefix("arn:") {
        let parts: Vec<&str> = rest.splitn(5, ':').collect();
        let [partition, service, _region, account, resource] = parts.as_slice() else {
            return None;
        };
        if partition.is_empty() || !is_account_id(account) {
            return None;
        }
        return match (*service, *resource) {
            ("iam", "root") => Some(AwsPrincipal::Account(account.to_string())),
            ("iam", r) if r.starts_with("user/") || r.starts_with("role/") => {
                Some(AwsPrincipal::Arn(s.to_string()))
            }
            ("sts", r) if r.starts_with("assumed-role/") || r.starts_with("federated-user/") => {
                Some(AwsPrincipal::Arn(s.to_string()))
            }
            _ => None,
        };
    }
    // A unique id such as AIDA…/AROA… (what IAM shows for a deleted
    // entity).
    if s.len() >= 16 && s.starts_with('A') && s.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Some(AwsPrincipal::UniqueId);
    }
    None
}

fn valid_action(a: &str) -> bool {
    if a == "*" {
        return true;
    }
    let Some((vendor, name)) = a.split_once(':') else {
        return false;
    };
    !vendor.is_empty()
        && vendor
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'*' | b'?' | b'-' | b'_' | b'.'))
}

const TRUST_ACTIONS: &[&str] = &[
    "sts:AssumeRole",
    "sts:AssumeRoleWithSAML",
    "sts:AssumeRoleWithWebIdentity",
    "sts:TagSession",
    "sts:SetSourceIdentity",
    "sts:SetContext",
];

fn parse_action_elem(obj: &Map<String, Value>, kind: PolicyKind) -> Result<ActionElem, String> {
    let (value, not) = match (obj.get("Action"), obj.get("NotAction")) {
        (Some(_), Some(_)) => {
            return Err("A statement cannot contain both Action and NotAction.".into());
        }
        (Some(a), None) => (a, false),
        (None, Some(a)) => (a, true),
        (None, None) => return Err("Policy statement must contain actions.".into()),
    };
    let element = if not { "NotAction" } else { "Action" };
    let list = string_list(value, element)?;
    let mut patterns = Vec::with_capacity(list.len());
    for a in &list {
        if !valid_action(a) {
            return Err(format!(
                "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc. Invalid {element} \"{a}\": expected \"service:action\" or \"*\"."
            ));
        }
        let g = Glob::parse(a);
        if kind == PolicyKind::Trust && !not && !TRUST_ACTIONS.iter().any(|t| g.is_match(t, true)) {
            return Err(format!(
                "AssumeRole policy may only specify STS AssumeRole actions (sts:AssumeRole*, sts:TagSession, sts:SetSourceIdentity, sts:SetContext), not \"{a}\"."
            ));
        }
        patterns.push(g);
    }
    Ok(ActionElem { not, patterns })
}

fn parse_resource_elem(
    obj: &Map<String, Value>,
    kind: PolicyKind,
    vars: bool,
) -> Result<Option<ResourceElem>, String> {
    let (value, not) = match (obj.get("Resource"), obj.get("NotResource")) {
        (Some(_), Some(_)) => {
            return Err("A statement cannot contain both Resource and NotResource.".into());
        }
        (Some(r), None) => (r, false),
        (None, Some(r)) => (r, true),
        (None, None) => {
            return match kind {
                PolicyKind::Trust | PolicyKind::Resource => Ok(None),
                _ => Err("Policy statement must contain resources.".into()),
            };
        }
    };
    let element = if not { "NotResource" } else { "Resource" };
    if kind == PolicyKind::Trust {
        return Err(format!(
            "Has prohibited field {element}: a role trust policy applies to the role it is attached to."
        ));
    }
    let list = string_list(value, element)?;
    let mut patterns = Vec::with_capacity(list.len());
    for r in &list {
        if r != "*" && !r.starts_with("arn:") {
            return Err(format!("{element} {r} must be in ARN format or \"*\"."));
        }
        patterns.push(ArnPattern::new(r, vars));
    }
    Ok(Some(ResourceElem { not, patterns }))
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn parse_condition(c: &Value, vars: bool) -> Result<Vec<Entry>, String> {
    let ops = c
        .as_object()
        .ok_or_else(|| "Condition must be a JSON object of operators.".to_string())?;
    let mut entries = Vec::new();
    for (op_name, block) in ops {
        let (set, op, if_exists) = parse_operator(op_name).ok_or_else(|| {
            format!("Invalid Condition type: unknown condition operator \"{op_name}\".")
        })?;
        let keys = block.as_object().ok_or_else(|| {
            format!("Condition operator {op_name} must map condition keys to values.")
        })?;
        if keys.is_empty() {
            return Err(format!(
                "Condition operator {op_name} must name at least one key."
            ));
        }
        for (key, val) in keys {
            if key
                .split_once(':')
                .is_none_or(|(p, n)| p.is_empty() || n.is_empty())
            {
                return Err(format!(
                    "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc. Invalid condition key \"{key}\"."
                ));
            }
            let raw: Vec<String> = match val {
                Value::Array(items) if items.is_empty() => {
                    return Err(format!(
                        "Condition {op_name} on key {key} must have at least one value."
                    ));
                }
                Value::Array(items) => items
                    .iter()
                    .map(scalar_text)
                    .collect::<Option<_>>()
                    .ok_or_else(|| {
                        format!("Condition {op_name} on key {key}: values must be strings, numbers or booleans.")
                    })?,
                other => vec![scalar_text(other).ok_or_else(|| {
                    format!("Condition {op_name} on key {key}: values must be strings, numbers or booleans.")
                })?],
            };
            let values = compile_values(op, op_name, key, &raw, vars)?;
            entries.push(Entry {
                set,
                op,
                if_exists,
                key: key.to_ascii_lowercase(),
                values,
            });
        }
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(json: &str, kind: PolicyKind) -> String {
        match Policy::parse(json, kind) {
            Ok(_) => "parsed".into(),
            Err(e) => e.message().to_string(),
        }
    }

    fn ok(json: &str, kind: PolicyKind) -> Policy {
        match Policy::parse(json, kind) {
            Ok(p) => p,
            Err(e) => panic!("expected {json} to parse: {e}"),
        }
    }

    const ID: PolicyKind = PolicyKind::Identity;
    const RES: PolicyKind = PolicyKind::Resource;
    const TRUST: PolicyKind = PolicyKind::Trust;

    #[test]
    fn minimal() {
        let p = ok(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}"#,
            ID,
        );
        assert_eq!(p.statements().len(), 1);
        assert_eq!(p.version(), PolicyVersion::V2012_10_17);
        assert!(p.has_version());
        assert_eq!(p.statements()[0].effect(), Effect::Allow);
        assert!(p.statements()[0].sid().is_none());
        let p = ok(
            r#"{"Id":"x","Statement":[{"Sid":"A1","Effect":"Deny","NotAction":["s3:*","ec2:Describe*"],"NotResource":["arn:aws:s3:::b","arn:aws:s3:::b/*"]}]}"#,
            ID,
        );
        assert_eq!(p.version(), PolicyVersion::V2008_10_17);
        assert!(!p.has_version());
        assert_eq!(p.id(), Some("x"));
        assert_eq!(p.statements()[0].sid(), Some("A1"));
        assert_eq!(p.kind(), ID);
    }

    #[test]
    fn top_level_errors() {
        assert!(err("", ID).contains("empty"));
        assert!(err("   ", ID).contains("empty"));
        assert!(err("{", ID).contains("Syntax errors"));
        assert!(err("[]", ID).contains("JSON object"));
        assert!(err("\"x\"", ID).contains("JSON object"));
        assert!(
            err(r#"{"Version":"2012-10-17"}"#, ID).contains("Missing required field Statement")
        );
        assert!(err(r#"{"Statement":[]}"#, ID).contains("at least one statement"));
        assert!(err(r#"{"Statement":"x"}"#, ID).contains("object or a list"));
        assert!(err(r#"{"Statement":["x"]}"#, ID).contains("JSON object"));
        assert!(err(r#"{"Version":"2012-10-18","Statement":{}}"#, ID).contains("Invalid Version"));
        assert!(err(r#"{"Version":2012,"Statement":{}}"#, ID).contains("Invalid Version"));
        assert!(err(r#"{"Id":1,"Statement":{}}"#, ID).contains("Id must be a string"));
        assert!(err(r#"{"Statements":[]}"#, ID).contains("unknown element: Statements"));
        assert!(err(r#"{"version":"2012-10-17","Statement":[]}"#, ID).contains("unknown element"));
    }

    #[test]
    fn statement_errors() {
        let s = |body: &str| format!(r#"{{"Version":"2012-10-17","Statement":{body}}}"#);
        assert!(
            err(&s(r#"{"Action":"s3:*","Resource":"*"}"#), ID)
                .contains("Missing required field Effect")
        );
        assert!(
            err(
                &s(r#"{"Effect":"allow","Action":"s3:*","Resource":"*"}"#),
                ID
            )
            .contains("Invalid effect")
        );
        assert!(
            err(
                &s(r#"{"Effect":"Permit","Action":"s3:*","Resource":"*"}"#),
                ID
            )
            .contains("Invalid effect")
        );
        assert!(
            err(&s(r#"{"Effect":"Allow","Resource":"*"}"#), ID).contains("must contain actions")
        );
        assert!(
            err(
                &s(r#"{"Effect":"Allow","Action":"s3:*","NotAction":"s3:Get*","Resource":"*"}"#),
                ID
            )
            .contains("both Action and NotAction")
        );
        assert!(
            err(&s(r#"{"Effect":"Allow","Action":"s3:*"}"#), ID).contains("must contain resources")
        );
        assert!(
            err(
                &s(r#"{"Effect":"Allow","Action":"s3:*","Resource":"*","NotResource":"*"}"#),
                ID
            )
            .contains("both Resource and NotResource")
        );
        assert!(
            err(
                &s(r#"{"Effect":"Allow","Action":"s3:*","Resource":"*","Principal":"*"}"#),
                ID
            )
            .contains("should not specify a principal")
        );
        assert!(
            err(&s(r#"{"Effect":"Allow","Action":"s3:*","Resource":"*","NotPrincipal":{"AWS":"*"}}"#), PolicyKind::Boundary)
                .contains("should not specify a principal")
        );
        assert!(
            err(
                &s(r#"{"Effect":"Allow","Action":"s3:*","Resource":"*","Principal":"*"}"#),
                PolicyKind::Session
            )
            .contains("should not specify a principal")
        );
        assert!(
            err(
                &s(r#"{"Effect":"Allow","Action":"s3:*","Resource":"*","Foo":1}"#),
                ID
            )
            .contains("unknown element: Foo")
        );
        assert!(
            err(
                &s(r#"{"Effect":"Allow","Action":"s3:*","resource":"*"}"#),
                ID
            )
            .contains("unknown element: resource")
        );
        assert!(
            err(
                &s(r#"{"Sid":"has space","Effect":"Allow","Action":"s3:*","Resource":"*"}"#),
                ID
            )
            .contains("alpha-numeric")
        );
        assert!(
            err(
                &s(r#"{"Sid":1,"Effect":"Allow","Action":"s3:*","Resource":"*"}"#),
                ID
            )
            .contains("Sid must be a string")
        );
        assert!(
            err(&s(r#"[{"Sid":"A","Effect":"Allow","Action":"s3:*","Resource":"*"},{"Sid":"A","Effect":"Deny","Action":"s3:*","Resource":"*"}]"#), ID)
                .contains("must be unique")
        );
        // Resource policies allow any Sid text.
        ok(
            &s(
                r#"{"Sid":"Allow public read","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}"#,
            ),
            RES,
        );
        // Statement index in messages for multi-statement policies.
        assert!(
            err(&s(r#"[{"Effect":"Allow","Action":"s3:*","Resource":"*"},{"Effect":"Allow","Action":"s3","Resource":"*"}]"#), ID)
                .contains("(statement 1)")
        );
    }

    #[test]
    fn action_format() {
        let p = |a: &str| {
            format!(
                r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Action":{a},"Resource":"*"}}}}"#
            )
        };
        for good in [
            r#""*""#,
            r#""s3:*""#,
            r#""s3:Get*""#,
            r#""iam:*AccessKey*""#,
            r#""ec2:Describe?nstances""#,
            r#"["a:b","c-d:e_f"]"#,
        ] {
            ok(&p(good), ID);
        }
        for bad in [
            r#""s3""#,
            r#""s3:""#,
            r#"":GetObject""#,
            r#""s 3:Get""#,
            r#""s3:Get Object""#,
            r#"[]"#,
            r#"[1]"#,
            r#"1"#,
            r#"{}"#,
            r#""""#,
        ] {
            let e = err(&p(bad), ID);
            assert!(
                e.contains("prefaced by a vendor")
                    || e.contains("must be a string")
                    || e.contains("empty list"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn resource_format() {
        let p = |r: &str| {
            format!(
                r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Action":"s3:*","Resource":{r}}}}}"#
            )
        };
        ok(&p(r#""*""#), ID);
        ok(&p(r#""arn:aws:s3:::b/*""#), ID);
        ok(
            &p(r#"["arn:aws:s3:::b","arn:aws:s3:::b/${aws:username}/*"]"#),
            ID,
        );
        assert!(err(&p(r#""bucket""#), ID).contains("must be in ARN format"));
        assert!(err(&p(r#""s3:::b""#), ID).contains("must be in ARN format"));
        assert!(err(&p(r#"[]"#), ID).contains("empty list"));
        assert!(err(&p(r#"null"#), ID).contains("must be a string"));
    }

    #[test]
    fn principal_forms() {
        let p = |pr: &str| {
            format!(
                r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Principal":{pr},"Action":"s3:*","Resource":"*"}}}}"#
            )
        };
        for good in [
            r#""*""#,
            r#"{"AWS":"*"}"#,
            r#"{"AWS":"123456789012"}"#,
            r#"{"AWS":["arn:aws:iam::123456789012:root","999999999999"]}"#,
            r#"{"AWS":"arn:aws:iam::123456789012:user/alice"}"#,
            r#"{"AWS":"arn:aws:iam::123456789012:role/path/R"}"#,
            r#"{"AWS":"arn:aws:sts::123456789012:assumed-role/R/s"}"#,
            r#"{"AWS":"arn:aws:sts::123456789012:federated-user/bob"}"#,
            r#"{"AWS":"AIDACKCEVSQ6C2EXAMPLE"}"#,
            r#"{"Service":["ec2.amazonaws.com","lambda.amazonaws.com"]}"#,
            r#"{"Federated":"accounts.google.com"}"#,
            r#"{"Federated":"arn:aws:iam::123456789012:saml-provider/corp"}"#,
            r#"{"CanonicalUser":"79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"}"#,
            r#"{"AWS":"123456789012","Service":"s3.amazonaws.com"}"#,
        ] {
            ok(&p(good), RES);
        }
        for bad in [
            r#""alice""#,
            r#"{}"#,
            r#"[]"#,
            r#"{"AWS":"arn:aws:iam::*:user/alice"}"#,
            r#"{"AWS":"arn:aws:iam::123456789012:user/*"}"#,
            r#"{"AWS":"12345"}"#,
            r#"{"AWS":"arn:aws:s3:::bucket"}"#,
            r#"{"AWS":"arn:aws:iam::123456789012:group/devs"}"#,
            r#"{"AWS":[]}"#,
            r#"{"AWS":""}"#,
            r#"{"Service":"*"}"#,
            r#"{"Group":"x"}"#,
            r#"{"AWS":1}"#,
        ] {
            assert!(err(&p(bad), RES).contains("Invalid principal"), "{bad}");
        }
        let missing = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#;
        assert!(err(missing, RES).contains("Missing required field Principal"));
        let both = r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Principal":"*","NotPrincipal":"*","Action":"s3:*","Resource":"*"}}"#;
        assert!(err(both, RES).contains("both Principal and NotPrincipal"));
        // Resource may be omitted in resource policies (SNS/SQS style).
        ok(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"sns:*"}}"#,
            RES,
        );
    }

    #[test]
    fn trust_rules() {
        let t = |body: &str| format!(r#"{{"Version":"2012-10-17","Statement":{body}}}"#);
        ok(
            &t(
                r#"{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"sts:AssumeRole"}"#,
            ),
            TRUST,
        );
        ok(
            &t(
                r#"{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession","sts:SetSourceIdentity"]}"#,
            ),
            TRUST,
        );
        ok(
            &t(
                r#"{"Effect":"Allow","Principal":{"Federated":"accounts.google.com"},"Action":"sts:AssumeRoleWithWebIdentity"}"#,
            ),
            TRUST,
        );
        ok(
            &t(
                r#"{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"sts:AssumeRole*"}"#,
            ),
            TRUST,
        );
        ok(
            &t(
                r#"{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"STS:assumerole"}"#,
            ),
            TRUST,
        );
        assert!(err(&t(r#"{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"s3:GetObject"}"#), TRUST).contains("STS AssumeRole actions"));
        assert!(err(&t(r#"{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"sts:GetCallerIdentity"}"#), TRUST).contains("STS AssumeRole actions"));
        assert!(
            err(&t(r#"{"Effect":"Allow","Action":"sts:AssumeRole"}"#), TRUST)
                .contains("Missing required field Principal")
        );
        assert!(
            err(
                &t(
                    r#"{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Resource":"*"}"#
                ),
                TRUST
            )
            .contains("prohibited field Resource")
        );
        assert!(
            err(
                &t(r#"{"Sid":"a b","Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"}"#),
                TRUST
            )
            .contains("alpha-numeric")
        );
    }

    #[test]
    fn condition_errors() {
        let c = |cond: &str| {
            format!(
                r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{cond}}}}}"#
            )
        };
        ok(
            &c(
                r#"{"StringEquals":{"aws:username":"a","s3:prefix":["x","y"]},"Bool":{"aws:SecureTransport":true},"NumericLessThan":{"s3:max-keys":10}}"#,
            ),
            ID,
        );
        ok(
            &c(
                r#"{"ForAllValues:StringLike":{"aws:TagKeys":["a*"]},"ForAnyValue:StringEqualsIfExists":{"aws:CalledVia":"x"}}"#,
            ),
            ID,
        );
        ok(&c(r#"{"Null":{"aws:TokenIssueTime":"true"}}"#), ID);
        assert!(
            err(&c(r#"{"StringEqualz":{"aws:username":"a"}}"#), ID)
                .contains("unknown condition operator \"StringEqualz\"")
        );
        assert!(
            err(&c(r#"{"NullIfExists":{"aws:username":"true"}}"#), ID)
                .contains("unknown condition operator")
        );
        assert!(err(&c(r#"{"StringEquals":"a"}"#), ID).contains("must map condition keys"));
        assert!(err(&c(r#"{"StringEquals":{}}"#), ID).contains("at least one key"));
        assert!(
            err(&c(r#"{"StringEquals":{"username":"a"}}"#), ID).contains("prefaced by a vendor")
        );
        assert!(
            err(&c(r#"{"StringEquals":{"aws:username":[]}}"#), ID).contains("at least one value")
        );
        assert!(
            err(&c(r#"{"StringEquals":{"aws:username":null}}"#), ID)
                .contains("strings, numbers or booleans")
        );
        assert!(
            err(&c(r#"{"StringEquals":{"aws:username":[{"a":1}]}}"#), ID)
                .contains("strings, numbers or booleans")
        );
        assert!(
            err(&c(r#"{"NumericEquals":{"s3:max-keys":"ten"}}"#), ID).contains("expected a number")
        );
        assert!(
            err(&c(r#"{"DateLessThan":{"aws:CurrentTime":"tomorrow"}}"#), ID).contains("ISO 8601")
        );
        assert!(err(&c(r#"{"IpAddress":{"aws:SourceIp":"10.0.0.0/40"}}"#), ID).contains("CIDR"));
        assert!(err(&c(r#"{"BinaryEquals":{"aws:x":"%%%"}}"#), ID).contains("base64"));
        assert!(err(&c(r#"{"Null":{"aws:x":"yes"}}"#), ID).contains("true or false"));
        assert!(err(&c(r#"[]"#), ID).contains("Condition must be a JSON object"));
    }

    #[test]
    fn size_limits() {
        let stmt =
            r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/key"}"#;
        let big = format!(
            r#"{{"Version":"2012-10-17","Statement":[{}]}}"#,
            vec![stmt; 80].join(",")
        );
        assert!(policy_size(&big) > SizeLimit::MANAGED_CHARS);
        match Policy::parse_with_limit(&big, ID, SizeLimit::managed()) {
            Err(e) => {
                assert_eq!(e.code(), crate::PolicyErrorCode::LimitExceeded);
                assert_eq!(e.message(), "Cannot exceed quota for PolicySize: 6144");
            }
            Ok(_) => panic!("too big"),
        }
        assert!(Policy::parse_with_limit(&big, ID, SizeLimit::unlimited()).is_ok());
        // Whitespace outside strings is not counted.
        let compact = r#"{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#;
        let pretty = "{\n  \"Statement\" : {\n    \"Effect\": \"Allow\",\n    \"Action\": \"s3:*\",\n    \"Resource\": \"*\"\n  }\n}\n";
        assert_eq!(policy_size(compact), policy_size(pretty));
        assert_eq!(policy_size(r#""a b""#), 5);
        assert_eq!(policy_size(r#""a\" b""#), 7);
        assert!(
            Policy::parse_with_limit(compact, ID, SizeLimit::chars(policy_size(compact))).is_ok()
        );
        assert!(
            Policy::parse_with_limit(compact, ID, SizeLimit::chars(policy_size(compact) - 1))
                .is_err()
        );
        assert_eq!(PolicyKind::Trust.default_limit().max_chars(), Some(2048));
        assert_eq!(
            PolicyKind::Identity.default_limit().max_chars(),
            Some(10240)
        );
        assert_eq!(PolicyKind::Boundary.default_limit().max_chars(), Some(6144));
    }

    #[test]
    fn charset() {
        let doc =
            r#"{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/日本"}}"#;
        assert!(err(doc, ID).contains("invalid character U+65E5"));
        assert!(Policy::parse(doc, RES).is_err()); // no Principal, but charset is fine
        assert!(!err(doc, RES).contains("invalid character"));
        ok(
            r#"{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/café"}}"#,
            ID,
        );
    }

    #[test]
    fn never_panics_on_random_documents() {
        let mut state: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let pieces = [
            "{",
            "}",
            "[",
            "]",
            ",",
            ":",
            "\"",
            "\"Statement\"",
            "\"Effect\"",
            "\"Allow\"",
            "\"Deny\"",
            "\"Action\"",
            "\"Resource\"",
            "\"Principal\"",
            "\"Condition\"",
            "\"StringLike\"",
            "\"IpAddress\"",
            "\"a:b\"",
            "\"*\"",
            "\"arn:aws:s3:::${x}*?\"",
            "\"${aws:username, 'd'}\"",
            "1",
            "true",
            "null",
            "\"Version\"",
            "\"2012-10-17\"",
            "\"AWS\"",
            "\"123456789012\"",
            "\"10.0.0.0/8\"",
            "\"ForAllValues:StringEquals\"",
        ];
        for _ in 0..5_000 {
            let n = (next() % 40) as usize;
            let doc: String = (0..n)
                .map(|_| pieces[(next() as usize) % pieces.len()])
                .collect();
            for kind in [ID, RES, TRUST] {
                let _ = Policy::parse(&doc, kind);
            }
        }
    }

    #[test]
    fn never_panics_on_garbage() {
        for doc in [
            "null",
            "1",
            "true",
            "{\"Statement\":null}",
            "{\"Statement\":{\"Effect\":null}}",
            "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"a:b\",\"Resource\":\"arn:\",\"Condition\":{\"StringLike\":{\"a:b\":\"${\"}}}}",
            "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"a:b\",\"Resource\":\"arn:${${}}:*?*?\"}}",
            &"[".repeat(10000),
        ] {
            let _ = Policy::parse(doc, ID);
            let _ = Policy::parse(doc, RES);
        }
    }
}
