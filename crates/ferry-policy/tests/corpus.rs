//! Runs every case of `tests/corpus/*.json` and names the ones that fail.
//!
//! Each file holds a JSON array of cases. An evaluation case:
//!
//! ```json
//! {
//!   "name": "unique-name",
//!   "doc": "where the expected behaviour comes from",
//!   "identity": [POLICY, ...], "resource": [...],
//!   "boundary": [...], "session": [...],       // optional (absent = none)
//!   "trust": POLICY,                           // optional: evaluate_assume_role
//!   "principal": {"user": ARN} | {"root": ACCT} | {"role": ARN, "session": NAME}
//!              | {"federated_user": NAME, "account": ACCT, "user_arn": ARN}
//!              | {"federated": PROVIDER} | {"service": NAME} | {"anonymous": true},
//!   "action": "s3:GetObject", "resource_arn": "arn:...", "resource_account": "ACCT",
//!   "context": {"key": VALUE}, "principal_keys": true,
//!   "expect": "Allow" | "ExplicitDeny" | "ImplicitDeny",
//!   "reason": "allow:identity:NAME:SID" | "deny:resource:NAME:#0" | "root" | "missing:boundary",
//!   "reasons": [...],                          // optional: the exact list
//!   "message": "User: ..."                     // optional
//! }
//! ```
//!
//! POLICY is a policy document, or `{"name": N, "document": DOC}`; unnamed
//! policies are called `id0`, `res0`, `pb0`, `sp0` (by position) and
//! `trust`. The default principal is the IAM user
//! `arn:aws:iam::111122223333:user/alice`. Context values: strings, bools,
//! numbers, arrays (multivalued), `{"date": ...}`, `{"ip": ...}`,
//! `{"binary": BASE64}`.
//!
//! A validation case: `{"name", "kind": "identity"|..., "document": DOC or
//! "text": STRING, "limit": N?, "error": "substring" | null}` (`null`:
//! must parse).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::sync::Arc;

use base64::Engine as _;
use ferry_policy::*;
use serde_json::Value;

fn kind_of(s: &str) -> PolicyKind {
    match s {
        "identity" => PolicyKind::Identity,
        "resource" => PolicyKind::Resource,
        "trust" => PolicyKind::Trust,
        "boundary" => PolicyKind::Boundary,
        "session" => PolicyKind::Session,
        other => panic!("unknown kind {other}"),
    }
}

fn policy_text(doc: &Value) -> String {
    match doc {
        Value::String(s) => s.clone(),
        other => serde_json::to_string_pretty(other).unwrap(),
    }
}

fn named(v: &Value, default_name: String, kind: PolicyKind) -> Result<NamedPolicy, String> {
    let (name, doc) = match v.get("document") {
        Some(d) => (
            v.get("name")
                .and_then(Value::as_str)
                .unwrap_or(&default_name)
                .to_string(),
            d,
        ),
        None => (default_name, v),
    };
    let p = Policy::parse(&policy_text(doc), kind).map_err(|e| format!("policy {name}: {e}"))?;
    Ok(NamedPolicy::shared(name, Arc::new(p)))
}

fn list(
    case: &Value,
    field: &str,
    prefix: &str,
    kind: PolicyKind,
) -> Result<Vec<NamedPolicy>, String> {
    match case.get(field) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| named(v, format!("{prefix}{i}"), kind))
            .collect(),
        Some(other) => Err(format!("{field} must be a list, got {other}")),
    }
}

fn principal_of(v: Option<&Value>) -> Result<Principal, String> {
    let Some(v) = v else {
        return Ok(Principal::user("arn:aws:iam::111122223333:user/alice"));
    };
    let s = |k: &str| v.get(k).and_then(Value::as_str);
    let mut p = if let Some(arn) = s("user") {
        Principal::user(arn)
    } else if let Some(acct) = s("root") {
        Principal::root(acct)
    } else if let Some(role) = s("role") {
        Principal::assumed_role(role, s("session").unwrap_or("session"))
    } else if let Some(name) = s("federated_user") {
        Principal::federated_user(
            s("account").ok_or("federated_user needs account")?,
            name,
            s("user_arn"),
        )
    } else if let Some(provider) = s("federated") {
        Principal::federated(provider)
    } else if let Some(name) = s("service") {
        Principal::service(name)
    } else if v.get("anonymous").is_some() {
        Principal::anonymous()
    } else {
        return Err(format!("bad principal {v}"));
    };
    if let Some(c) = s("canonical_user") {
        p = p.with_canonical_user(c);
    }
    Ok(p)
}

fn context_value(v: &Value) -> Result<ContextValue, String> {
    Ok(match v {
        Value::String(s) => ContextValue::String(s.clone()),
        Value::Bool(b) => ContextValue::Bool(*b),
        Value::Number(n) => ContextValue::Number(n.as_f64().ok_or("bad number")?),
        Value::Array(items) => {
            ContextValue::List(items.iter().map(context_value).collect::<Result<_, _>>()?)
        }
        Value::Object(o) => {
            if let Some(d) = o.get("date").and_then(Value::as_str) {
                let dt = chrono::DateTime::parse_from_rfc3339(d)
                    .map_err(|e| format!("date {d}: {e}"))?;
                ContextValue::Date(dt.with_timezone(&chrono::Utc))
            } else if let Some(ip) = o.get("ip").and_then(Value::as_str) {
                ContextValue::Ip(ip.parse().map_err(|e| format!("ip {ip}: {e}"))?)
            } else if let Some(b) = o.get("binary").and_then(Value::as_str) {
                ContextValue::Binary(
                    base64::engine::general_purpose::STANDARD
                        .decode(b)
                        .map_err(|e| format!("binary: {e}"))?,
                )
            } else {
                return Err(format!("bad context value {v}"));
            }
        }
        Value::Null => return Err("null context value".into()),
    })
}

fn short(r: &Reason) -> String {
    let ty = |t: PolicyType| match t {
        PolicyType::Identity => "identity",
        PolicyType::Resource => "resource",
        PolicyType::PermissionsBoundary => "boundary",
        PolicyType::Session => "session",
    };
    let stmt = |s: &StatementRef| {
        format!(
            "{}:{}:{}",
            ty(s.policy_type),
            s.policy_name,
            s.sid.clone().unwrap_or_else(|| format!("#{}", s.index))
        )
    };
    match r {
        Reason::Allowed(s) => format!("allow:{}", stmt(s)),
        Reason::Denied(s) => format!("deny:{}", stmt(s)),
        Reason::RootUser => "root".into(),
        Reason::NoAllow { policy_type } => format!("missing:{}", ty(*policy_type)),
    }
}

fn run_validation(case: &Value) -> Result<(), String> {
    let kind = kind_of(case["kind"].as_str().ok_or("kind")?);
    let text = match (case.get("text"), case.get("document")) {
        (Some(Value::String(t)), _) => t.clone(),
        (_, Some(d)) => serde_json::to_string(d).unwrap(),
        _ => return Err("validation case needs text or document".into()),
    };
    let limit = match case.get("limit").and_then(Value::as_u64) {
        Some(n) => SizeLimit::chars(n as usize),
        None => kind.default_limit(),
    };
    let result = Policy::parse_with_limit(&text, kind, limit);
    match (case.get("error"), result) {
        (Some(Value::String(want)), Err(e)) => {
            if e.message().contains(want.as_str()) || e.code().as_str() == want {
                Ok(())
            } else {
                Err(format!("error {e:?} does not contain {want:?}"))
            }
        }
        (Some(Value::String(want)), Ok(_)) => Err(format!("parsed, expected error {want:?}")),
        (_, Ok(_)) => Ok(()),
        (_, Err(e)) => Err(format!("expected to parse, got {e}")),
    }
}

fn run_case(case: &Value) -> Result<(), String> {
    if case.get("kind").is_some() {
        return run_validation(case);
    }
    let identity = list(case, "identity", "id", PolicyKind::Identity)?;
    let resource = list(case, "resource", "res", PolicyKind::Resource)?;
    let boundary = case
        .get("boundary")
        .map(|_| list(case, "boundary", "pb", PolicyKind::Boundary))
        .transpose()?;
    let session = case
        .get("session")
        .map(|_| list(case, "session", "sp", PolicyKind::Session))
        .transpose()?;
    let principal = principal_of(case.get("principal"))?;
    let mut context = Context::new();
    if let Some(Value::Object(o)) = case.get("context") {
        for (k, v) in o {
            context.insert(k, context_value(v)?);
        }
    }
    if case.get("principal_keys").and_then(Value::as_bool) == Some(true) {
        context.insert_principal_keys(&principal);
    }
    let action = case["action"].as_str().ok_or("action")?;
    let resource_arn = case["resource_arn"].as_str().ok_or("resource_arn")?;
    let request = Request {
        principal: &principal,
        action,
        resource: resource_arn,
        resource_account: case.get("resource_account").and_then(Value::as_str),
        context: &context,
    };
    let set = PolicySet {
        identity,
        resource,
        boundary,
        session,
    };
    let decision = match case.get("trust") {
        Some(t) => {
            let trust = named(t, "trust".into(), PolicyKind::Trust)?;
            evaluate_assume_role(&request, &trust, &set)
        }
        None => evaluate(&request, &set),
    };
    let got: Vec<String> = decision.reasons.iter().map(short).collect();
    let want_effect = case["expect"].as_str().ok_or("expect")?;
    let effect = format!("{:?}", decision.effect);
    if effect != want_effect {
        return Err(format!("expected {want_effect}, got {effect} {got:?}"));
    }
    if let Some(want) = case.get("reason").and_then(Value::as_str)
        && !got.iter().any(|g| g == want)
    {
        return Err(format!("reason {want:?} not among {got:?}"));
    }
    if let Some(Value::Array(want)) = case.get("reasons") {
        let want: Vec<String> = want
            .iter()
            .filter_map(|w| w.as_str().map(str::to_string))
            .collect();
        if want != got {
            return Err(format!("reasons {want:?} != {got:?}"));
        }
    }
    if let Some(want) = case.get("message").and_then(Value::as_str) {
        let msg = decision.message(&principal.arn, action, resource_arn);
        if msg != want {
            return Err(format!("message\n  want {want}\n  got  {msg}"));
        }
    }
    Ok(())
}

#[test]
fn corpus() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("corpus dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut total = 0;
    let mut failures = Vec::new();
    let mut names = std::collections::HashSet::new();
    for f in &files {
        let text = std::fs::read_to_string(f).expect("read");
        let cases: Vec<Value> =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let file = f
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("?")
            .to_string();
        for case in &cases {
            total += 1;
            let name = case["name"].as_str().unwrap_or("<unnamed>").to_string();
            if !names.insert(name.clone()) {
                failures.push(format!("{file}: {name}: duplicate case name"));
            }
            if let Err(e) = run_case(case) {
                failures.push(format!("{file}: {name}: {e}"));
            }
        }
    }
    println!("{total} corpus cases in {} files", files.len());
    assert!(
        failures.is_empty(),
        "{} of {total} corpus cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(total >= 200, "corpus has only {total} cases");
}
