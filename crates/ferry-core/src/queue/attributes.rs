//! Queue attributes: which exist, their ranges and defaults, and the JSON
//! ones (`RedrivePolicy`, `RedriveAllowPolicy`, `Policy`), as SQS documents
//! them.

use ferry_policy::{Policy, PolicyKind};
use ferry_store::Queue;
use serde_json::Value;

use crate::CoreError;

/// Integer attributes every queue has: (name, default, min, max).
pub(crate) const INTEGERS: &[(&str, i64, i64, i64)] = &[
    ("DelaySeconds", 0, 0, 900),
    ("MaximumMessageSize", 1_048_576, 1024, 1_048_576),
    ("MessageRetentionPeriod", 345_600, 60, 1_209_600),
    ("ReceiveMessageWaitTimeSeconds", 0, 0, 20),
    ("VisibilityTimeout", 30, 0, 43_200),
];

/// Attributes shown only once set.
const OPTIONAL: &[&str] = &[
    "Policy",
    "RedrivePolicy",
    "RedriveAllowPolicy",
    "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds",
];

/// Attributes only FIFO queues have, with their defaults.
const FIFO_ONLY: &[(&str, &str)] = &[
    ("ContentBasedDeduplication", "false"),
    ("DeduplicationScope", "queue"),
    ("FifoThroughputLimit", "perQueue"),
];

/// Attributes computed by SQS, readable but not settable.
pub(crate) const COMPUTED: &[&str] = &[
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
    "CreatedTimestamp",
    "LastModifiedTimestamp",
    "QueueArn",
];

fn invalid(code: &'static str, message: impl Into<String>) -> CoreError {
    CoreError::invalid(code, message)
}

/// The `InvalidAttributeValue` of an attribute, with SQS's sentence.
pub(crate) fn bad_value(name: &str, reason: impl std::fmt::Display) -> CoreError {
    invalid(
        "InvalidAttributeValue",
        format!("Invalid value for the parameter {name}. Reason: {reason}"),
    )
}

/// Whether `name` is an attribute `GetQueueAttributes` may ask for.
pub(crate) fn is_known(name: &str) -> bool {
    name == "All"
        || name == "FifoQueue"
        || name == "SqsManagedSseEnabled"
        || INTEGERS.iter().any(|(n, ..)| *n == name)
        || OPTIONAL.contains(&name)
        || FIFO_ONLY.iter().any(|(n, _)| *n == name)
        || COMPUTED.contains(&name)
}

fn boolean(name: &str, value: &str) -> Result<String, CoreError> {
    match value.to_ascii_lowercase().as_str() {
        v @ ("true" | "false") => Ok(v.to_string()),
        _ => Err(bad_value(name, "must be true or false")),
    }
}

/// Checks attributes to set on a queue (`fifo` for FIFO queues; `creating`
/// allows `FifoQueue`) and normalizes their values. An empty `Policy`,
/// `RedrivePolicy` or `RedriveAllowPolicy` means "remove". Checks that need
/// other queues (the dead-letter target) are the caller's.
pub(crate) fn validate(
    attrs: &[(String, String)],
    fifo: bool,
    creating: bool,
) -> Result<Vec<(String, String)>, CoreError> {
    let mut out = Vec::with_capacity(attrs.len());
    for (name, value) in attrs {
        let n = name.as_str();
        let v = if let Some((_, _, lo, hi)) = INTEGERS.iter().find(|(x, ..)| *x == n) {
            match value.trim().parse::<i64>() {
                Ok(v) if (*lo..=*hi).contains(&v) => v.to_string(),
                _ => {
                    return Err(invalid(
                        "InvalidAttributeValue",
                        format!(
                            "Invalid value for the parameter {n}. Reason: must be an integer from {lo} to {hi}."
                        ),
                    ));
                }
            }
        } else {
            match n {
                "Policy" => {
                    if !value.is_empty() {
                        Policy::parse(value, PolicyKind::Resource)
                            .map_err(|e| bad_value(n, e.message()))?;
                    }
                    value.clone()
                }
                "RedrivePolicy" => {
                    if !value.is_empty() {
                        RedrivePolicy::parse(value)?;
                    }
                    value.clone()
                }
                "RedriveAllowPolicy" => {
                    if !value.is_empty() {
                        RedriveAllowPolicy::parse(value)?;
                    }
                    value.clone()
                }
                "KmsMasterKeyId" => value.clone(),
                "KmsDataKeyReusePeriodSeconds" => match value.trim().parse::<i64>() {
                    Ok(v) if (60..=86_400).contains(&v) => v.to_string(),
                    _ => return Err(bad_value(n, "must be an integer from 60 to 86400.")),
                },
                "SqsManagedSseEnabled" => boolean(n, value)?,
                "FifoQueue" if creating => match boolean(n, value)?.as_str() {
                    "true" if fifo => "true".to_string(),
                    _ if fifo => {
                        return Err(invalid(
                            "InvalidParameterValue",
                            "Invalid value for the parameter FifoQueue: a queue named .fifo must be a FIFO queue.",
                        ));
                    }
                    "false" => continue,
                    _ => {
                        return Err(invalid(
                            "InvalidParameterValue",
                            "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length.",
                        ));
                    }
                },
                "ContentBasedDeduplication" if fifo => boolean(n, value)?,
                "DeduplicationScope" if fifo => match value.as_str() {
                    "messageGroup" | "queue" => value.clone(),
                    _ => return Err(bad_value(n, "must be messageGroup or queue.")),
                },
                "FifoThroughputLimit" if fifo => match value.as_str() {
                    "perQueue" | "perMessageGroupId" => value.clone(),
                    _ => return Err(bad_value(n, "must be perQueue or perMessageGroupId.")),
                },
                _ if COMPUTED.contains(&n) || n == "FifoQueue" => {
                    return Err(invalid(
                        "InvalidAttributeName",
                        format!("Unknown or read-only Attribute {n}."),
                    ));
                }
                _ => {
                    return Err(invalid(
                        "InvalidAttributeName",
                        format!("Unknown Attribute {n}."),
                    ));
                }
            }
        };
        out.push((name.clone(), v));
    }
    if fifo
        && out
            .iter()
            .any(|(n, v)| n == "FifoThroughputLimit" && v == "perMessageGroupId")
        && out
            .iter()
            .any(|(n, v)| n == "DeduplicationScope" && v == "queue")
    {
        return Err(bad_value(
            "FifoThroughputLimit",
            "perMessageGroupId is only valid when DeduplicationScope is messageGroup.",
        ));
    }
    Ok(out)
}

/// Every attribute a queue shows: the defaults, overridden by `set`; empty
/// optional values dropped. Sorted by name.
pub(crate) fn effective(set: &[(String, String)], fifo: bool) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = INTEGERS
        .iter()
        .map(|(n, d, ..)| (n.to_string(), d.to_string()))
        .collect();
    out.push(("SqsManagedSseEnabled".into(), "true".into()));
    if fifo {
        out.push(("FifoQueue".into(), "true".into()));
        out.extend(
            FIFO_ONLY
                .iter()
                .map(|(n, d)| (n.to_string(), d.to_string())),
        );
    }
    for (k, v) in set {
        out.retain(|(n, _)| n != k);
        if !(OPTIONAL.contains(&k.as_str()) && v.is_empty()) {
            out.push((k.clone(), v.clone()));
        }
    }
    if out.iter().any(|(n, _)| n == "KmsMasterKeyId") {
        out.retain(|(n, _)| n != "SqsManagedSseEnabled");
        if !out.iter().any(|(n, _)| n == "KmsDataKeyReusePeriodSeconds") {
            out.push(("KmsDataKeyReusePeriodSeconds".into(), "300".into()));
        }
    }
    out.sort();
    out
}

/// A queue's attribute.
pub(crate) fn get<'a>(q: &'a Queue, name: &str) -> Option<&'a str> {
    q.attributes
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// A queue's integer attribute (its default when unset).
pub(crate) fn int(q: &Queue, name: &str) -> i64 {
    get(q, name)
        .and_then(|v| v.parse().ok())
        .or_else(|| INTEGERS.iter().find(|(n, ..)| *n == name).map(|t| t.1))
        .unwrap_or(0)
}

/// Whether a queue is FIFO.
pub(crate) fn is_fifo(q: &Queue) -> bool {
    get(q, "FifoQueue") == Some("true")
}

/// `RedrivePolicy`: where messages go after too many receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RedrivePolicy {
    /// The dead-letter queue's ARN.
    pub target_arn: String,
    /// Receives before the move (1-1000).
    pub max_receive_count: i64,
}

impl RedrivePolicy {
    pub(crate) fn parse(text: &str) -> Result<Self, CoreError> {
        let bad = |why: &str| bad_value("RedrivePolicy", why);
        let v: Value = serde_json::from_str(text).map_err(|_| bad("invalid JSON."))?;
        let target = v
            .get("deadLetterTargetArn")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                bad("Redrive policy does not contain mandatory attribute: deadLetterTargetArn.")
            })?;
        let count = match v.get("maxReceiveCount") {
            Some(Value::Number(n)) => n.as_i64(),
            Some(Value::String(s)) => s.trim().parse().ok(),
            None => {
                return Err(bad(
                    "Redrive policy does not contain mandatory attribute: maxReceiveCount.",
                ));
            }
            _ => None,
        };
        match count {
            Some(c) if (1..=1000).contains(&c) => Ok(RedrivePolicy {
                target_arn: target.to_string(),
                max_receive_count: c,
            }),
            _ => Err(bad(
                "Value for maxReceiveCount must be an integer from 1 to 1000.",
            )),
        }
    }

    /// The policy of a queue, if it has a valid one.
    pub(crate) fn of(q: &Queue) -> Option<Self> {
        get(q, "RedrivePolicy").and_then(|t| Self::parse(t).ok())
    }
}

/// `RedriveAllowPolicy`: which source queues may use a queue as their
/// dead-letter queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RedriveAllowPolicy {
    AllowAll,
    DenyAll,
    ByQueue(Vec<String>),
}

impl RedriveAllowPolicy {
    pub(crate) fn parse(text: &str) -> Result<Self, CoreError> {
        let bad = |why: &str| bad_value("RedriveAllowPolicy", why);
        let v: Value = serde_json::from_str(text).map_err(|_| bad("invalid JSON."))?;
        let arns: Option<Vec<String>> = match v.get("sourceQueueArns") {
            None => None,
            Some(Value::Array(a)) => Some(
                a.iter()
                    .map(|x| x.as_str().map(str::to_string))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| bad("sourceQueueArns must be a list of ARNs."))?,
            ),
            Some(_) => return Err(bad("sourceQueueArns must be a list of ARNs.")),
        };
        match (v.get("redrivePermission").and_then(Value::as_str), arns) {
            (Some("allowAll"), None) => Ok(Self::AllowAll),
            (Some("denyAll"), None) => Ok(Self::DenyAll),
            (Some("byQueue"), Some(a)) if (1..=10).contains(&a.len()) => Ok(Self::ByQueue(a)),
            (Some("byQueue"), _) => Err(bad(
                "sourceQueueArns must list 1 to 10 queues when redrivePermission is byQueue.",
            )),
            (Some("allowAll" | "denyAll"), Some(_)) => Err(bad(
                "sourceQueueArns is only valid when redrivePermission is byQueue.",
            )),
            _ => Err(bad(
                "redrivePermission must be allowAll, denyAll or byQueue.",
            )),
        }
    }

    /// Whether the queue `source_arn` may send its dead letters here.
    pub(crate) fn allows(&self, source_arn: &str) -> bool {
        match self {
            Self::AllowAll => true,
            Self::DenyAll => false,
            Self::ByQueue(arns) => arns.iter().any(|a| a == source_arn),
        }
    }
}

/// The account and queue name of a queue ARN `arn:aws:sqs:REGION:ACCOUNT:NAME`.
pub(crate) fn parse_queue_arn(arn: &str) -> Option<(ferry_types::AccountId, String)> {
    let mut parts = arn.splitn(6, ':');
    match (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) {
        (Some("arn"), Some(_), Some("sqs"), Some(_), Some(account), Some(name))
            if !name.is_empty() && !name.contains(':') =>
        {
            Some((account.parse().ok()?, name.to_string()))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn ranges_and_names_are_checked() {
        assert!(validate(&pairs(&[("VisibilityTimeout", "43200")]), false, true).is_ok());
        let e = validate(&pairs(&[("VisibilityTimeout", "43201")]), false, true)
            .expect_err("out of range");
        assert_eq!(e.code(), "InvalidAttributeValue");
        let e = validate(&pairs(&[("MaximumMessageSize", "1048577")]), false, true)
            .expect_err("over 1 MiB");
        assert_eq!(e.code(), "InvalidAttributeValue");
        let e = validate(&pairs(&[("Colour", "red")]), false, true).expect_err("unknown");
        assert_eq!(e.code(), "InvalidAttributeName");
        let e = validate(&pairs(&[("QueueArn", "x")]), false, true).expect_err("computed");
        assert_eq!(e.code(), "InvalidAttributeName");
        let e = validate(
            &pairs(&[("ContentBasedDeduplication", "true")]),
            false,
            true,
        )
        .expect_err("FIFO only");
        assert_eq!(e.code(), "InvalidAttributeName");
        assert!(validate(&pairs(&[("ContentBasedDeduplication", "TRUE")]), true, true).is_ok());
        let e = validate(&pairs(&[("FifoQueue", "true")]), false, true).expect_err("name");
        assert_eq!(e.code(), "InvalidParameterValue");
        let e = validate(&pairs(&[("FifoQueue", "true")]), true, false).expect_err("immutable");
        assert_eq!(e.code(), "InvalidAttributeName");
    }

    #[test]
    fn redrive_policies_parse() {
        let p = RedrivePolicy::parse(
            r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:123456789012:dlq","maxReceiveCount":"3"}"#,
        )
        .expect("valid");
        assert_eq!(p.max_receive_count, 3);
        for bad in [
            r#"{"maxReceiveCount":3}"#,
            r#"{"deadLetterTargetArn":"arn","maxReceiveCount":0}"#,
            r#"{"deadLetterTargetArn":"arn","maxReceiveCount":1001}"#,
            "not json",
        ] {
            assert!(RedrivePolicy::parse(bad).is_err(), "{bad}");
        }
        let a = RedriveAllowPolicy::parse(
            r#"{"redrivePermission":"byQueue","sourceQueueArns":["arn:a"]}"#,
        )
        .expect("valid");
        assert!(a.allows("arn:a") && !a.allows("arn:b"));
        assert!(RedriveAllowPolicy::parse(r#"{"redrivePermission":"byQueue"}"#).is_err());
        assert!(
            !RedriveAllowPolicy::parse(r#"{"redrivePermission":"denyAll"}"#)
                .expect("valid")
                .allows("x")
        );
    }

    #[test]
    fn defaults_show_and_kms_replaces_sse() {
        let std = effective(&[], false);
        assert!(std.contains(&("MaximumMessageSize".into(), "1048576".into())));
        assert!(!std.iter().any(|(n, _)| n == "FifoQueue"));
        let fifo = effective(&[], true);
        assert!(fifo.contains(&("DeduplicationScope".into(), "queue".into())));
        let kms = effective(&pairs(&[("KmsMasterKeyId", "alias/aws/sqs")]), false);
        assert!(kms.contains(&("KmsDataKeyReusePeriodSeconds".into(), "300".into())));
        assert!(!kms.iter().any(|(n, _)| n == "SqsManagedSseEnabled"));
        assert_eq!(
            parse_queue_arn("arn:aws:sqs:us-east-1:123456789012:jobs")
                .map(|(a, n)| (a.to_string(), n)),
            Some(("123456789012".into(), "jobs".into()))
        );
    }
}
