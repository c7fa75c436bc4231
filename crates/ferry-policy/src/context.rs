//! The request context: condition keys and their values, filled by the
//! caller (the engine never invents global keys such as `aws:SourceIp`;
//! [`Context::insert_principal_keys`] is an optional helper).

use std::borrow::Cow;
use std::collections::HashMap;
use std::net::IpAddr;

use base64::Engine as _;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use crate::principal::{Principal, PrincipalKind};

/// One value of a condition key.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum ContextValue {
    /// A string (also what an ARN, an account id or a tag value is).
    String(String),
    /// A boolean, e.g. `aws:SecureTransport`.
    Bool(bool),
    /// A number, e.g. `s3:max-keys`; for date operators, epoch seconds.
    Number(f64),
    /// A point in time, e.g. `aws:CurrentTime`.
    Date(DateTime<Utc>),
    /// An IP address, e.g. `aws:SourceIp`.
    Ip(IpAddr),
    /// Raw bytes, compared by `BinaryEquals`.
    Binary(Vec<u8>),
    /// A multivalued key, e.g. `aws:TagKeys` or `aws:CalledVia`.
    List(Vec<ContextValue>),
}

impl ContextValue {
    /// A multivalued key from strings.
    pub fn strings<I, S>(items: I) -> ContextValue
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        ContextValue::List(
            items
                .into_iter()
                .map(|s| ContextValue::String(s.into()))
                .collect(),
        )
    }

    /// The scalar values: a list's items, or the value itself.
    pub(crate) fn items(&self) -> &[ContextValue] {
        match self {
            ContextValue::List(v) => v,
            other => std::slice::from_ref(other),
        }
    }

    /// The value as text, for string and ARN operators and variables.
    pub(crate) fn as_text(&self) -> Option<Cow<'_, str>> {
        Some(match self {
            ContextValue::String(s) => Cow::Borrowed(s.as_str()),
            ContextValue::Bool(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
            ContextValue::Number(n) => Cow::Owned(format_number(*n)),
            ContextValue::Date(d) => Cow::Owned(d.to_rfc3339_opts(SecondsFormat::Secs, true)),
            ContextValue::Ip(ip) => Cow::Owned(ip.to_string()),
            ContextValue::Binary(b) => {
                Cow::Owned(base64::engine::general_purpose::STANDARD.encode(b))
            }
            ContextValue::List(_) => return None,
        })
    }
}

fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

impl From<&str> for ContextValue {
    fn from(s: &str) -> Self {
        ContextValue::String(s.to_string())
    }
}
impl From<String> for ContextValue {
    fn from(s: String) -> Self {
        ContextValue::String(s)
    }
}
impl From<bool> for ContextValue {
    fn from(b: bool) -> Self {
        ContextValue::Bool(b)
    }
}
impl From<f64> for ContextValue {
    fn from(n: f64) -> Self {
        ContextValue::Number(n)
    }
}
impl From<i64> for ContextValue {
    fn from(n: i64) -> Self {
        ContextValue::Number(n as f64)
    }
}
impl From<IpAddr> for ContextValue {
    fn from(ip: IpAddr) -> Self {
        ContextValue::Ip(ip)
    }
}
impl From<DateTime<Utc>> for ContextValue {
    fn from(d: DateTime<Utc>) -> Self {
        ContextValue::Date(d)
    }
}
impl From<Vec<String>> for ContextValue {
    fn from(v: Vec<String>) -> Self {
        ContextValue::strings(v)
    }
}
impl From<Vec<&str>> for ContextValue {
    fn from(v: Vec<&str>) -> Self {
        ContextValue::strings(v)
    }
}

/// Condition keys of one request. Keys are case-insensitive (stored
/// lowercased), as AWS documents for condition keys.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Context {
    values: HashMap<String, ContextValue>,
}

impl Context {
    /// An empty context.
    pub fn new() -> Context {
        Context::default()
    }

    /// Sets `key` (any case) to `value`, replacing an earlier value.
    pub fn insert(&mut self, key: &str, value: impl Into<ContextValue>) -> &mut Context {
        self.values.insert(key.to_ascii_lowercase(), value.into());
        self
    }

    /// Builder form of [`Context::insert`].
    pub fn with(mut self, key: &str, value: impl Into<ContextValue>) -> Context {
        self.insert(key, value);
        self
    }

    /// The value of `key` (any case).
    pub fn get(&self, key: &str) -> Option<&ContextValue> {
        if key.bytes().any(|b| b.is_ascii_uppercase()) {
            self.values.get(&key.to_ascii_lowercase())
        } else {
            self.values.get(key)
        }
    }

    /// Removes `key` (any case) and returns its value.
    pub fn remove(&mut self, key: &str) -> Option<ContextValue> {
        self.values.remove(&key.to_ascii_lowercase())
    }

    /// Whether `key` (any case) is present.
    pub fn contains(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True when no key is set.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The keys (lowercased) and values.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &ContextValue)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Lookup with an already-lowercased key (policy keys are lowercased
    /// when parsed, so evaluation does not allocate).
    pub(crate) fn get_lower(&self, key: &str) -> Option<&ContextValue> {
        self.values.get(key)
    }

    /// The text a policy variable `${key}` stands for. Only single values
    /// substitute: AWS does not allow multivalued keys as variables.
    pub(crate) fn variable_value(&self, key_lower: &str) -> Option<Cow<'_, str>> {
        match self.get_lower(key_lower)? {
            ContextValue::List(items) if items.len() == 1 => items.first()?.as_text(),
            ContextValue::List(_) => None,
            v => v.as_text(),
        }
    }

    /// Fills the principal keys AWS derives from the caller, without
    /// overwriting keys already set: `aws:PrincipalArn`,
    /// `aws:PrincipalAccount`, `aws:PrincipalType`, and `aws:username` for
    /// IAM users. (`aws:userid` needs the unique id, which only the caller
    /// knows.)
    pub fn insert_principal_keys(&mut self, principal: &Principal) -> &mut Context {
        let principal_arn = match &principal.kind {
            PrincipalKind::AssumedRole { role_arn } => Some(role_arn.clone()),
            PrincipalKind::Service { .. }
            | PrincipalKind::Federated { .. }
            | PrincipalKind::Anonymous => None,
            _ => Some(principal.arn.clone()),
        };
        if let Some(arn) = principal_arn {
            self.values
                .entry("aws:principalarn".into())
                .or_insert(ContextValue::String(arn));
        }
        if let Some(acct) = &principal.account {
            self.values
                .entry("aws:principalaccount".into())
                .or_insert(ContextValue::String(acct.clone()));
        }
        self.values
            .entry("aws:principaltype".into())
            .or_insert(ContextValue::String(principal.principal_type().into()));
        if matches!(principal.kind, PrincipalKind::User)
            && let Some(name) = principal.arn.rsplit('/').next()
        {
            self.values
                .entry("aws:username".into())
                .or_insert(ContextValue::String(name.to_string()));
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_case_insensitive() {
        let mut c = Context::new();
        c.insert("AWS:SourceIp", "10.0.0.1");
        assert!(c.contains("aws:sourceip"));
        assert!(c.get("Aws:SOURCEIP").is_some());
        assert_eq!(c.len(), 1);
        assert!(c.remove("aws:SourceIP").is_some());
        assert!(c.is_empty());
    }

    #[test]
    fn text_forms() {
        assert_eq!(ContextValue::Number(10.0).as_text().as_deref(), Some("10"));
        assert_eq!(ContextValue::Number(1.5).as_text().as_deref(), Some("1.5"));
        assert_eq!(ContextValue::Bool(true).as_text().as_deref(), Some("true"));
        assert!(ContextValue::strings(["a"]).as_text().is_none());
    }

    #[test]
    fn variables() {
        let c = Context::new()
            .with("aws:username", "alice")
            .with("one", vec!["x"])
            .with("many", vec!["x", "y"]);
        assert_eq!(c.variable_value("aws:username").as_deref(), Some("alice"));
        assert_eq!(c.variable_value("one").as_deref(), Some("x"));
        assert_eq!(c.variable_value("many"), None);
        assert_eq!(c.variable_value("missing"), None);
    }

    #[test]
    fn principal_keys() {
        let p = Principal::user("arn:aws:iam::111122223333:user/dev/alice");
        let mut c = Context::new();
        c.insert_principal_keys(&p);
        assert_eq!(c.variable_value("aws:username").as_deref(), Some("alice"));
        assert_eq!(
            c.variable_value("aws:principalaccount").as_deref(),
            Some("111122223333")
        );
        assert_eq!(
            c.variable_value("aws:principaltype").as_deref(),
            Some("User")
        );
        let r = Principal::assumed_role("arn:aws:iam::111122223333:role/R", "s");
        let mut c = Context::new();
        c.insert_principal_keys(&r);
        assert_eq!(
            c.variable_value("aws:principalarn").as_deref(),
            Some("arn:aws:iam::111122223333:role/R")
        );
    }
}
