//! The `Condition` element: operators, their values, and evaluation.
//!
//! Semantics (from the IAM condition-operator and multivalued-key docs):
//! - every operator/key pair of a block must hold (AND); the values listed
//!   for one key are alternatives (OR), and for a negated operator the key
//!   must match none of them (NOR);
//! - a key missing from the context makes a positive operator false and a
//!   negated one true; `...IfExists` makes a missing key true; `Null` tests
//!   presence itself;
//! - `ForAllValues:` holds when every context value matches (so also for a
//!   missing or empty key); `ForAnyValue:` when at least one does (so not
//!   for a missing key);
//! - policy variables are substituted in string, ARN and Bool values only;
//!   a variable with no value makes that one value not match.

use std::net::IpAddr;

use base64::Engine as _;
use chrono::{DateTime, NaiveDate, NaiveDateTime};

use crate::arn::{ArnPattern, SplitArn};
use crate::context::{Context, ContextValue};
use crate::pattern::{Glob, Template, has_vars, resolve, tokenize};

/// Base condition operators (without `IfExists` or a set qualifier).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    NumericEquals,
    NumericNotEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateNotEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    BinaryEquals,
    IpAddress,
    NotIpAddress,
    ArnEquals,
    ArnLike,
    ArnNotEquals,
    ArnNotLike,
    Null,
}

const OPS: &[(&str, Op)] = &[
    ("StringEquals", Op::StringEquals),
    ("StringNotEquals", Op::StringNotEquals),
    ("StringEqualsIgnoreCase", Op::StringEqualsIgnoreCase),
    ("StringNotEqualsIgnoreCase", Op::StringNotEqualsIgnoreCase),
    ("StringLike", Op::StringLike),
    ("StringNotLike", Op::StringNotLike),
    ("NumericEquals", Op::NumericEquals),
    ("NumericNotEquals", Op::NumericNotEquals),
    ("NumericLessThan", Op::NumericLessThan),
    ("NumericLessThanEquals", Op::NumericLessThanEquals),
    ("NumericGreaterThan", Op::NumericGreaterThan),
    ("NumericGreaterThanEquals", Op::NumericGreaterThanEquals),
    ("DateEquals", Op::DateEquals),
    ("DateNotEquals", Op::DateNotEquals),
    ("DateLessThan", Op::DateLessThan),
    ("DateLessThanEquals", Op::DateLessThanEquals),
    ("DateGreaterThan", Op::DateGreaterThan),
    ("DateGreaterThanEquals", Op::DateGreaterThanEquals),
    ("Bool", Op::Bool),
    ("BinaryEquals", Op::BinaryEquals),
    ("IpAddress", Op::IpAddress),
    ("NotIpAddress", Op::NotIpAddress),
    ("ArnEquals", Op::ArnEquals),
    ("ArnLike", Op::ArnLike),
    ("ArnNotEquals", Op::ArnNotEquals),
    ("ArnNotLike", Op::ArnNotLike),
    ("Null", Op::Null),
];

impl Op {
    fn negated(self) -> bool {
        matches!(
            self,
            Op::StringNotEquals
                | Op::StringNotEqualsIgnoreCase
                | Op::StringNotLike
                | Op::NumericNotEquals
                | Op::DateNotEquals
                | Op::NotIpAddress
                | Op::ArnNotEquals
                | Op::ArnNotLike
        )
    }
}

/// `ForAllValues:` / `ForAnyValue:` qualifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SetOp {
    None,
    ForAll,
    ForAny,
}

/// Parses an operator name such as `ForAnyValue:StringLikeIfExists`.
/// Operator names are matched case-insensitively.
pub(crate) fn parse_operator(name: &str) -> Option<(SetOp, Op, bool)> {
    let (set, rest) = if let Some(r) = strip_prefix_ci(name, "ForAllValues:") {
        (SetOp::ForAll, r)
    } else if let Some(r) = strip_prefix_ci(name, "ForAnyValue:") {
        (SetOp::ForAny, r)
    } else {
        (SetOp::None, name)
    };
    let (base, if_exists) = match strip_suffix_ci(rest, "IfExists") {
        Some(b) => (b, true),
        None => (rest, false),
    };
    let op = OPS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(base))
        .map(|(_, op)| *op)?;
    // Null tests existence itself, so neither qualifier makes sense on it.
    if op == Op::Null && (if_exists || set != SetOp::None) {
        return None;
    }
    Some((set, op, if_exists))
}

fn strip_prefix_ci<'a>(s: &'a str, p: &str) -> Option<&'a str> {
    let head = s.get(..p.len())?;
    head.eq_ignore_ascii_case(p).then(|| &s[p.len()..])
}

fn strip_suffix_ci<'a>(s: &'a str, p: &str) -> Option<&'a str> {
    let cut = s.len().checked_sub(p.len())?;
    let tail = s.get(cut..)?;
    tail.eq_ignore_ascii_case(p).then(|| &s[..cut])
}

/// An IP range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Cidr {
    net: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `a.b.c.d/n`, an IPv6 CIDR, or a bare address (a /32 or /128).
    pub(crate) fn parse(s: &str) -> Option<Cidr> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p.parse::<u8>().ok()?)),
            None => (s, None),
        };
        let net: IpAddr = addr.parse().ok()?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        if prefix > max {
            return None;
        }
        Some(Cidr { net, prefix })
    }

    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        match (self.net, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            // An IPv4 client seen through an IPv4-mapped IPv6 address.
            (IpAddr::V4(_), IpAddr::V6(a)) => a
                .to_ipv4_mapped()
                .is_some_and(|v4| self.contains(IpAddr::V4(v4))),
            (IpAddr::V6(_), IpAddr::V4(_)) => false,
        }
    }
}

/// Parses a date as AWS accepts it: epoch seconds or one of the W3C ISO
/// 8601 forms (`YYYY-MM-DD`, `YYYY-MM-DDThh:mmTZD`, with seconds and
/// fractions). Returns epoch milliseconds. A date-time without zone is
/// read as UTC.
pub(crate) fn parse_date(s: &str) -> Option<i64> {
    let s = s.trim();
    let digits = s.strip_prefix('-').unwrap_or(s);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse::<i64>().ok()?.checked_mul(1000);
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d.timestamp_millis());
    }
    let zoned = if let Some(x) = s.strip_suffix('Z').or_else(|| s.strip_suffix('z')) {
        format!("{x}+00:00")
    } else {
        s.to_string()
    };
    if let Ok(d) = DateTime::parse_from_str(&zoned, "%Y-%m-%dT%H:%M%:z") {
        return Some(d.timestamp_millis());
    }
    for f in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(d) = NaiveDateTime::parse_from_str(s, f) {
            return Some(d.and_utc().timestamp_millis());
        }
    }
    let date = if s.len() == 7 {
        format!("{s}-01")
    } else {
        s.to_string()
    };
    let d = NaiveDate::parse_from_str(&date, "%Y-%m-%d").ok()?;
    Some(d.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis())
}

fn parse_number(s: &str) -> Option<f64> {
    let n: f64 = s.trim().parse().ok()?;
    n.is_finite().then_some(n)
}

/// The compiled values of one operator/key pair.
#[derive(Debug, Clone)]
pub(crate) enum Values {
    Text(Vec<Template>),
    Like(Vec<LikePattern>),
    Number(Vec<f64>),
    Date(Vec<i64>),
    Bool(Vec<Template>),
    Binary(Vec<Vec<u8>>),
    Ip(Vec<Cidr>),
    Arn(Vec<ArnPattern>),
    Null(Vec<bool>),
}

/// A `StringLike` value: static or with variables.
#[derive(Debug, Clone)]
pub(crate) enum LikePattern {
    Static(Glob),
    Dynamic(Vec<crate::pattern::Tok>),
}

/// One operator/key pair of a `Condition` block.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) set: SetOp,
    pub(crate) op: Op,
    pub(crate) if_exists: bool,
    /// Lowercased: context keys are case-insensitive.
    pub(crate) key: String,
    pub(crate) values: Values,
}

/// Compiles the values of `op` (already stringified from JSON). Errors are
/// messages for `MalformedPolicyDocument`.
pub(crate) fn compile_values(
    op: Op,
    operator_name: &str,
    key: &str,
    raw: &[String],
    vars: bool,
) -> Result<Values, String> {
    let bad = |v: &str, what: &str| {
        format!("Invalid value \"{v}\" for condition {operator_name} on key {key}: expected {what}")
    };
    Ok(match op {
        Op::StringEquals
        | Op::StringNotEquals
        | Op::StringEqualsIgnoreCase
        | Op::StringNotEqualsIgnoreCase => {
            Values::Text(raw.iter().map(|v| Template::new(v, vars)).collect())
        }
        Op::StringLike | Op::StringNotLike => Values::Like(
            raw.iter()
                .map(|v| {
                    let toks = tokenize(v, true, vars);
                    if has_vars(&toks) {
                        LikePattern::Dynamic(toks)
                    } else {
                        LikePattern::Static(Glob::new(&toks))
                    }
                })
                .collect(),
        ),
        Op::NumericEquals
        | Op::NumericNotEquals
        | Op::NumericLessThan
        | Op::NumericLessThanEquals
        | Op::NumericGreaterThan
        | Op::NumericGreaterThanEquals => Values::Number(
            raw.iter()
                .map(|v| parse_number(v).ok_or_else(|| bad(v, "a number")))
                .collect::<Result<_, _>>()?,
        ),
        Op::DateEquals
        | Op::DateNotEquals
        | Op::DateLessThan
        | Op::DateLessThanEquals
        | Op::DateGreaterThan
        | Op::DateGreaterThanEquals => Values::Date(
            raw.iter()
                .map(|v| parse_date(v).ok_or_else(|| bad(v, "an ISO 8601 date or epoch seconds")))
                .collect::<Result<_, _>>()?,
        ),
        Op::Bool => Values::Bool(raw.iter().map(|v| Template::new(v, vars)).collect()),
        Op::BinaryEquals => Values::Binary(
            raw.iter()
                .map(|v| {
                    base64::engine::general_purpose::STANDARD
                        .decode(v.trim())
                        .map_err(|_| bad(v, "base64"))
                })
                .collect::<Result<_, _>>()?,
        ),
        Op::IpAddress | Op::NotIpAddress => Values::Ip(
            raw.iter()
                .map(|v| Cidr::parse(v).ok_or_else(|| bad(v, "an IPv4 or IPv6 address or CIDR")))
                .collect::<Result<_, _>>()?,
        ),
        Op::ArnEquals | Op::ArnLike | Op::ArnNotEquals | Op::ArnNotLike => {
            Values::Arn(raw.iter().map(|v| ArnPattern::new(v, vars)).collect())
        }
        Op::Null => Values::Null(
            raw.iter()
                .map(|v| match v.to_ascii_lowercase().as_str() {
                    "true" => Ok(true),
                    "false" => Ok(false),
                    _ => Err(bad(v, "true or false")),
                })
                .collect::<Result<_, _>>()?,
        ),
    })
}

fn ctx_number(v: &ContextValue) -> Option<f64> {
    match v {
        ContextValue::Number(n) => Some(*n),
        ContextValue::String(s) => parse_number(s),
        _ => None,
    }
}

fn ctx_date(v: &ContextValue) -> Option<i64> {
    match v {
        ContextValue::Date(d) => Some(d.timestamp_millis()),
        ContextValue::Number(n) if n.is_finite() => Some((n * 1000.0) as i64),
        ContextValue::String(s) => parse_date(s),
        _ => None,
    }
}

fn ctx_ip(v: &ContextValue) -> Option<IpAddr> {
    match v {
        ContextValue::Ip(ip) => Some(*ip),
        ContextValue::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn ctx_bool(v: &ContextValue) -> Option<bool> {
    match v {
        ContextValue::Bool(b) => Some(*b),
        ContextValue::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        ContextValue::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

impl Entry {
    /// Whether this pair holds for the request.
    pub(crate) fn holds(&self, ctx: &Context) -> bool {
        let value = ctx.get_lower(&self.key);
        if let Values::Null(expect) = &self.values {
            // Null: "true" means the key is absent; an empty list counts as
            // absent (it carries no value).
            let absent = value.is_none_or(|v| v.items().is_empty());
            return expect.contains(&absent);
        }
        let Some(value) = value else {
            return match self.set {
                SetOp::ForAll => true,
                SetOp::ForAny => self.if_exists,
                SetOp::None => self.if_exists || self.op.negated(),
            };
        };
        let items = value.items();
        let negated = self.op.negated();
        // For one context value: does it satisfy the operator (NOR over the
        // policy values for negated operators)?
        let test = |item: &ContextValue| self.any_value_matches(item, ctx) != negated;
        match self.set {
            SetOp::ForAll => items.iter().all(test),
            SetOp::ForAny => items.iter().any(test),
            // Without a qualifier a multivalued key behaves as "any value
            // matches" for positive operators and "no value matches" for
            // negated ones.
            SetOp::None => items.iter().any(|i| self.any_value_matches(i, ctx)) != negated,
        }
    }

    /// Positive comparison: does any policy value match `item`?
    fn any_value_matches(&self, item: &ContextValue, ctx: &Context) -> bool {
        match &self.values {
            Values::Text(ts) => {
                let Some(text) = item.as_text() else {
                    return false;
                };
                let ci = matches!(
                    self.op,
                    Op::StringEqualsIgnoreCase | Op::StringNotEqualsIgnoreCase
                );
                ts.iter().any(|t| match t.get(ctx) {
                    Some(v) if ci => eq_ignore_case(&v, &text),
                    Some(v) => *v == *text,
                    None => false,
                })
            }
            Values::Like(ps) => {
                let Some(text) = item.as_text() else {
                    return false;
                };
                ps.iter().any(|p| match p {
                    LikePattern::Static(g) => g.is_match(&text, false),
                    LikePattern::Dynamic(toks) => {
                        resolve(toks, ctx).is_some_and(|r| Glob::new(&r).is_match(&text, false))
                    }
                })
            }
            Values::Number(ns) => {
                let Some(x) = ctx_number(item) else {
                    return false;
                };
                ns.iter().any(|n| match self.op {
                    Op::NumericEquals | Op::NumericNotEquals => x == *n,
                    Op::NumericLessThan => x < *n,
                    Op::NumericLessThanEquals => x <= *n,
                    Op::NumericGreaterThan => x > *n,
                    Op::NumericGreaterThanEquals => x >= *n,
                    _ => false,
                })
            }
            Values::Date(ds) => {
                let Some(x) = ctx_date(item) else {
                    return false;
                };
                ds.iter().any(|d| match self.op {
                    Op::DateEquals | Op::DateNotEquals => x == *d,
                    Op::DateLessThan => x < *d,
                    Op::DateLessThanEquals => x <= *d,
                    Op::DateGreaterThan => x > *d,
                    Op::DateGreaterThanEquals => x >= *d,
                    _ => false,
                })
            }
            Values::Bool(ts) => {
                let Some(x) = ctx_bool(item) else {
                    return false;
                };
                ts.iter().any(|t| {
                    t.get(ctx).is_some_and(|v| {
                        (x && v.eq_ignore_ascii_case("true"))
                            || (!x && v.eq_ignore_ascii_case("false"))
                    })
                })
            }
            Values::Binary(bs) => {
                let bytes: Vec<u8> = match item {
                    ContextValue::Binary(b) => b.clone(),
                    ContextValue::String(s) => {
                        match base64::engine::general_purpose::STANDARD.decode(s.trim()) {
                            Ok(b) => b,
                            Err(_) => s.as_bytes().to_vec(),
                        }
                    }
                    _ => return false,
                };
                bs.contains(&bytes)
            }
            Values::Ip(cs) => {
                let Some(ip) = ctx_ip(item) else {
                    return false;
                };
                cs.iter().any(|c| c.contains(ip))
            }
            Values::Arn(ps) => {
                let Some(text) = item.as_text() else {
                    return false;
                };
                let split = SplitArn::new(&text);
                ps.iter().any(|p| p.matches(&split, ctx))
            }
            Values::Null(_) => false,
        }
    }
}

fn eq_ignore_case(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        a.eq_ignore_ascii_case(b)
    } else {
        a.to_lowercase() == b.to_lowercase()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(op_name: &str, key: &str, vals: &[&str]) -> Entry {
        let (set, op, if_exists) =
            parse_operator(op_name).unwrap_or((SetOp::None, Op::Null, false));
        let raw: Vec<String> = vals.iter().map(|s| s.to_string()).collect();
        let values = compile_values(op, op_name, key, &raw, true).unwrap_or(Values::Null(vec![]));
        Entry {
            set,
            op,
            if_exists,
            key: key.to_ascii_lowercase(),
            values,
        }
    }

    #[test]
    fn operator_names() {
        assert_eq!(
            parse_operator("StringEquals"),
            Some((SetOp::None, Op::StringEquals, false))
        );
        assert_eq!(
            parse_operator("stringequals"),
            Some((SetOp::None, Op::StringEquals, false))
        );
        assert_eq!(
            parse_operator("ForAnyValue:StringLikeIfExists"),
            Some((SetOp::ForAny, Op::StringLike, true))
        );
        assert_eq!(
            parse_operator("ForAllValues:NumericLessThan"),
            Some((SetOp::ForAll, Op::NumericLessThan, false))
        );
        assert_eq!(parse_operator("Null"), Some((SetOp::None, Op::Null, false)));
        assert_eq!(parse_operator("NullIfExists"), None);
        assert_eq!(parse_operator("ForAllValues:Null"), None);
        assert_eq!(parse_operator("StringEqualz"), None);
        assert_eq!(parse_operator("ForSomeValues:StringEquals"), None);
        assert_eq!(parse_operator("IfExists"), None);
        assert_eq!(parse_operator(""), None);
        assert_eq!(parse_operator("é"), None);
    }

    #[test]
    fn cidr() {
        let c = Cidr::parse("203.0.113.0/24");
        assert!(
            c.is_some_and(|c| c.contains("203.0.113.77".parse().unwrap_or(IpAddr::from([0; 4]))))
        );
        let c = Cidr::parse("203.0.113.0/24").unwrap_or(Cidr {
            net: IpAddr::from([0; 4]),
            prefix: 32,
        });
        assert!(!c.contains("203.0.114.1".parse().unwrap_or(IpAddr::from([0; 4]))));
        assert!(Cidr::parse("10.0.0.1").is_some_and(|c| c.prefix == 32));
        assert!(
            Cidr::parse("0.0.0.0/0")
                .is_some_and(|c| c.contains("8.8.8.8".parse().unwrap_or(IpAddr::from([0; 4]))))
        );
        assert!(Cidr::parse("10.0.0.0/33").is_none());
        assert!(Cidr::parse("2001:DB8:1234:5678::/64").is_some_and(|c| {
            c.contains(
                "2001:db8:1234:5678::1"
                    .parse()
                    .unwrap_or(IpAddr::from([0; 4])),
            )
        }));
        assert!(Cidr::parse("2001:DB8::/129").is_none());
        assert!(Cidr::parse("nonsense").is_none());
        assert!(Cidr::parse("10.0.0.0/x").is_none());
        assert!(Cidr::parse("10.0.0.0/8").is_some_and(|c| {
            c.contains("::ffff:10.1.2.3".parse().unwrap_or(IpAddr::from([0; 4])))
        }));
    }

    #[test]
    fn dates() {
        assert_eq!(parse_date("0"), Some(0));
        assert_eq!(parse_date("1700000000"), Some(1_700_000_000_000));
        assert_eq!(parse_date("2020-01-01T00:00:00Z"), Some(1_577_836_800_000));
        assert_eq!(parse_date("2020-01-01T00:00Z"), Some(1_577_836_800_000));
        assert_eq!(
            parse_date("2020-01-01T01:00:00+01:00"),
            Some(1_577_836_800_000)
        );
        assert_eq!(parse_date("2020-01-01"), Some(1_577_836_800_000));
        assert_eq!(parse_date("2020-01"), Some(1_577_836_800_000));
        assert_eq!(
            parse_date("2020-01-01T00:00:00.500Z"),
            Some(1_577_836_800_500)
        );
        assert_eq!(parse_date("2020-01-01T00:00:00"), Some(1_577_836_800_000));
        assert_eq!(parse_date("yesterday"), None);
        assert_eq!(parse_date(""), None);
        assert_eq!(parse_date("99999999999999999999"), None);
    }

    #[test]
    fn string_ops() {
        let ctx = Context::new().with("k", "Value");
        assert!(entry("StringEquals", "k", &["Value"]).holds(&ctx));
        assert!(!entry("StringEquals", "k", &["value"]).holds(&ctx));
        assert!(entry("StringEqualsIgnoreCase", "K", &["value"]).holds(&ctx));
        assert!(entry("StringNotEquals", "k", &["a", "b"]).holds(&ctx));
        assert!(!entry("StringNotEquals", "k", &["a", "Value"]).holds(&ctx));
        assert!(entry("StringLike", "k", &["V*"]).holds(&ctx));
        assert!(!entry("StringNotLike", "k", &["V*"]).holds(&ctx));
        assert!(entry("StringNotEqualsIgnoreCase", "k", &["other"]).holds(&ctx));
        assert!(!entry("StringNotEqualsIgnoreCase", "k", &["VALUE"]).holds(&ctx));
    }

    #[test]
    fn missing_keys() {
        let ctx = Context::new();
        assert!(!entry("StringEquals", "k", &["v"]).holds(&ctx));
        assert!(entry("StringNotEquals", "k", &["v"]).holds(&ctx));
        assert!(entry("StringEqualsIfExists", "k", &["v"]).holds(&ctx));
        assert!(entry("ForAllValues:StringEquals", "k", &["v"]).holds(&ctx));
        assert!(!entry("ForAnyValue:StringEquals", "k", &["v"]).holds(&ctx));
        assert!(entry("ForAnyValue:StringEqualsIfExists", "k", &["v"]).holds(&ctx));
        assert!(entry("Null", "k", &["true"]).holds(&ctx));
        assert!(!entry("Null", "k", &["false"]).holds(&ctx));
        assert!(!entry("NumericLessThan", "k", &["1"]).holds(&ctx));
        assert!(entry("NotIpAddress", "k", &["10.0.0.0/8"]).holds(&ctx));
    }

    #[test]
    fn set_ops() {
        let ctx = Context::new().with("tags", vec!["a", "b"]);
        assert!(entry("ForAllValues:StringEquals", "tags", &["a", "b", "c"]).holds(&ctx));
        assert!(!entry("ForAllValues:StringEquals", "tags", &["a"]).holds(&ctx));
        assert!(entry("ForAnyValue:StringEquals", "tags", &["a"]).holds(&ctx));
        assert!(!entry("ForAnyValue:StringEquals", "tags", &["z"]).holds(&ctx));
        assert!(entry("ForAnyValue:StringNotEquals", "tags", &["a"]).holds(&ctx));
        assert!(!entry("ForAllValues:StringNotEquals", "tags", &["a"]).holds(&ctx));
        let empty = Context::new().with("tags", ContextValue::List(vec![]));
        assert!(entry("ForAllValues:StringEquals", "tags", &["a"]).holds(&empty));
        assert!(!entry("ForAnyValue:StringEquals", "tags", &["a"]).holds(&empty));
        assert!(entry("Null", "tags", &["true"]).holds(&empty));
    }

    #[test]
    fn variables_in_values() {
        let ctx = Context::new()
            .with("aws:username", "alice")
            .with("s3:prefix", "home/alice/x");
        assert!(entry("StringLike", "s3:prefix", &["home/${aws:username}/*"]).holds(&ctx));
        let no_user = Context::new().with("s3:prefix", "home/alice/x");
        assert!(!entry("StringLike", "s3:prefix", &["home/${aws:username}/*"]).holds(&no_user));
        assert!(
            entry(
                "StringLike",
                "s3:prefix",
                &["home/${aws:username, 'alice'}/*"]
            )
            .holds(&no_user)
        );
    }

    #[test]
    fn other_types() {
        let ctx = Context::new()
            .with("n", 10i64)
            .with("s", "10")
            .with("b", true)
            .with("ip", "10.1.2.3")
            .with("t", "2020-06-01T00:00:00Z")
            .with("bin", ContextValue::Binary(b"hello".to_vec()))
            .with("arn", "arn:aws:sns:us-east-1:1:topic");
        assert!(entry("NumericEquals", "n", &["10"]).holds(&ctx));
        assert!(entry("NumericEquals", "s", &["10.0"]).holds(&ctx));
        assert!(entry("NumericLessThanEquals", "n", &["10"]).holds(&ctx));
        assert!(!entry("NumericLessThan", "n", &["10"]).holds(&ctx));
        assert!(entry("NumericGreaterThan", "n", &["9.5"]).holds(&ctx));
        assert!(entry("NumericNotEquals", "n", &["9", "11"]).holds(&ctx));
        assert!(entry("Bool", "b", &["true"]).holds(&ctx));
        assert!(!entry("Bool", "b", &["false"]).holds(&ctx));
        assert!(entry("IpAddress", "ip", &["10.0.0.0/8"]).holds(&ctx));
        assert!(!entry("NotIpAddress", "ip", &["10.0.0.0/8"]).holds(&ctx));
        assert!(entry("DateGreaterThan", "t", &["2020-01-01"]).holds(&ctx));
        assert!(entry("DateLessThan", "t", &["1600000000"]).holds(&ctx));
        assert!(entry("BinaryEquals", "bin", &["aGVsbG8="]).holds(&ctx));
        assert!(entry("ArnLike", "arn", &["arn:aws:sns:*:1:*"]).holds(&ctx));
        assert!(entry("ArnNotEquals", "arn", &["arn:aws:sns:*:2:*"]).holds(&ctx));
    }

    #[test]
    fn bad_values() {
        assert!(
            compile_values(Op::NumericEquals, "NumericEquals", "k", &["x".into()], true).is_err()
        );
        assert!(compile_values(Op::DateEquals, "DateEquals", "k", &["x".into()], true).is_err());
        assert!(compile_values(Op::IpAddress, "IpAddress", "k", &["x".into()], true).is_err());
        assert!(
            compile_values(Op::BinaryEquals, "BinaryEquals", "k", &["!!".into()], true).is_err()
        );
        assert!(compile_values(Op::Null, "Null", "k", &["maybe".into()], true).is_err());
    }
}
