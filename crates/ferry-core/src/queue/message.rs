//! What a message carries besides its body: message attributes, system
//! attributes, their checks and the MD5 digests SQS computes over them.

use base64::Engine as _;
use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};

use crate::CoreError;

/// Most message attributes a message may carry.
pub const MAX_ATTRIBUTES: usize = 10;

/// One message attribute value (`DataType` is `String`, `Number` or
/// `Binary`, optionally with a `.label`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttributeValue {
    /// `String`, `Number`, `Binary`, or one of them with a custom label.
    pub data_type: String,
    /// The value of String and Number attributes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub string_value: Option<String>,
    /// The value of Binary attributes.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "base64_bytes"
    )]
    pub binary_value: Option<Vec<u8>>,
}

mod base64_bytes {
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(b) => s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(b)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        let s: Option<String> = Option::deserialize(d)?;
        s.map(|s| {
            base64::engine::general_purpose::STANDARD
                .decode(s)
                .map_err(serde::de::Error::custom)
        })
        .transpose()
    }
}

/// Named attributes, sorted by name.
pub type Attributes = Vec<(String, AttributeValue)>;

/// What the store keeps in a message's `meta` column.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageMeta {
    /// Message attributes, by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attributes: Attributes,
    /// Their MD5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes_md5: Option<String>,
    /// System attributes (`AWSTraceHeader`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub system: Attributes,
    /// Their MD5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_md5: Option<String>,
    /// The sender's unique id (`SenderId`).
    #[serde(default)]
    pub sender: String,
    /// FIFO sequence number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<String>,
    /// FIFO deduplication id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dedup_id: Option<String>,
}

impl MessageMeta {
    /// Reads a stored meta column; a corrupt one reads as empty rather than
    /// failing the receive of every message after it.
    pub fn parse(text: &str) -> Self {
        serde_json::from_str(text).unwrap_or_default()
    }
}

fn invalid(message: impl Into<String>) -> CoreError {
    CoreError::invalid("InvalidParameterValue", message)
}

fn base_type(data_type: &str) -> &str {
    data_type.split('.').next().unwrap_or("")
}

/// Checks message attributes; returns them sorted by name and their size in
/// bytes (names, types and values), which counts toward the message size.
pub fn validate_attributes(
    mut attrs: Attributes,
    system: bool,
) -> Result<(Attributes, usize), CoreError> {
    if attrs.len() > MAX_ATTRIBUTES {
        return Err(invalid(format!(
            "Number of message attributes [{}] exceeds the allowed maximum [{MAX_ATTRIBUTES}].",
            attrs.len()
        )));
    }
    let mut size = 0;
    for (name, v) in &attrs {
        if system {
            if name != "AWSTraceHeader" {
                return Err(invalid(format!(
                    "Message system attribute name '{name}' is invalid."
                )));
            }
        } else {
            let lower = name.to_ascii_lowercase();
            if name.is_empty()
                || name.len() > 256
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
                || name.starts_with('.')
                || name.ends_with('.')
                || name.contains("..")
                || lower.starts_with("aws.")
                || lower.starts_with("amazon.")
            {
                return Err(invalid(format!(
                    "Message (user) attribute name '{name}' is invalid. Names may contain alphanumeric characters, hyphens, underscores and periods, must not start or end with a period or contain two in a row, and must not start with AWS. or Amazon."
                )));
            }
        }
        if v.data_type.is_empty() {
            return Err(invalid(format!(
                "The message attribute '{name}' must contain non-empty message attribute type."
            )));
        }
        if v.data_type.len() > 256 {
            return Err(invalid(format!(
                "The message attribute '{name}' has a type longer than 256 characters."
            )));
        }
        match base_type(&v.data_type) {
            "String" | "Number" => {
                let Some(s) = v.string_value.as_deref().filter(|s| !s.is_empty()) else {
                    return Err(invalid(format!(
                        "The message attribute '{name}' with type '{}' must use field 'String'.",
                        base_type(&v.data_type)
                    )));
                };
                if base_type(&v.data_type) == "Number" && !is_number(s) {
                    return Err(invalid(format!(
                        "Can't cast the value of message (user) attribute '{name}' to a number."
                    )));
                }
                if !valid_text(s) {
                    return Err(CoreError::invalid(
                        "InvalidMessageContents",
                        format!("Invalid characters in the value of message attribute '{name}'."),
                    ));
                }
                size += s.len();
            }
            "Binary" => {
                let Some(b) = v.binary_value.as_ref().filter(|b| !b.is_empty()) else {
                    return Err(invalid(format!(
                        "The message attribute '{name}' with type 'Binary' must use field 'Binary'."
                    )));
                };
                size += b.len();
            }
            _ => {
                return Err(invalid(format!(
                    "The type of message (user) attribute '{name}' is invalid. You must use only the following supported type prefixes: Binary, Number, String."
                )));
            }
        }
        if system && base_type(&v.data_type) != "String" {
            return Err(invalid(format!(
                "The message system attribute '{name}' must be of type String."
            )));
        }
        size += name.len() + v.data_type.len();
    }
    attrs.sort_by(|a, b| a.0.cmp(&b.0));
    if attrs.windows(2).any(|w| w[0].0 == w[1].0) {
        return Err(invalid("Message attribute names must be unique."));
    }
    Ok((attrs, size))
}

/// The bytes message attributes add to a message's size: each name, type
/// and value (system attributes do not count, as on SQS).
pub fn attributes_size(attrs: &Attributes) -> usize {
    attrs
        .iter()
        .map(|(name, v)| {
            let value = match base_type(&v.data_type) {
                "Binary" => v.binary_value.as_ref().map_or(0, Vec::len),
                _ => v.string_value.as_ref().map_or(0, String::len),
            };
            name.len() + v.data_type.len() + value
        })
        .sum()
}

fn is_number(s: &str) -> bool {
    let t = s.trim();
    !t.is_empty() && t.len() <= 40 && t.parse::<f64>().is_ok_and(f64::is_finite)
}

/// The characters SQS accepts in a body or string value (XML 1.0's).
pub fn valid_text(s: &str) -> bool {
    s.chars().all(|c| {
        matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
    })
}

/// Hex MD5 of `data`.
pub fn md5_hex(data: &[u8]) -> String {
    hex::encode(Md5::digest(data))
}

/// SQS's MD5 of message attributes: for each attribute by name, the name,
/// the type and the value, each as a 4-byte big-endian length and bytes,
/// with a transport byte (1 string, 2 binary) before the value.
pub fn attributes_md5(attrs: &Attributes) -> Option<String> {
    if attrs.is_empty() {
        return None;
    }
    let mut sorted: Vec<&(String, AttributeValue)> = attrs.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    fn field(h: &mut Md5, bytes: &[u8]) {
        h.update(u32::try_from(bytes.len()).unwrap_or(u32::MAX).to_be_bytes());
        h.update(bytes);
    }
    let mut h = Md5::new();
    for (name, v) in sorted {
        field(&mut h, name.as_bytes());
        field(&mut h, v.data_type.as_bytes());
        match (&v.binary_value, &v.string_value) {
            (Some(b), _) if base_type(&v.data_type) == "Binary" => {
                h.update([2u8]);
                field(&mut h, b);
            }
            (_, s) => {
                h.update([1u8]);
                field(&mut h, s.as_deref().unwrap_or("").as_bytes());
            }
        }
    }
    Some(hex::encode(h.finalize()))
}

/// Which attributes `ReceiveMessage` returns: `All`, `.*`, a name, or a
/// `prefix.*`.
pub fn select_attributes(attrs: &Attributes, wanted: &[String]) -> Attributes {
    attrs
        .iter()
        .filter(|(name, _)| {
            wanted.iter().any(|w| {
                w == "All"
                    || w == ".*"
                    || w == name
                    || w.strip_suffix(".*")
                        .is_some_and(|p| name.starts_with(p) && name[p.len()..].starts_with('.'))
            })
        })
        .cloned()
        .collect()
}

/// An opaque receipt handle: the queue, the message and the receive's
/// token, so a handle names exactly one receive of one message.
pub fn receipt_handle(
    account: ferry_types::AccountId,
    queue: &str,
    message_id: &str,
    token: &str,
) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(format!("{account}:{queue}:{message_id}:{token}"))
}

/// The (account, queue, message id, token) a handle names.
pub fn parse_receipt_handle(handle: &str) -> Option<(String, String, String, String)> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(handle)
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let mut parts = text.split(':');
    match (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) {
        (Some(a), Some(q), Some(m), Some(t), None) => {
            Some((a.to_string(), q.to_string(), m.to_string(), t.to_string()))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string(t: &str, v: &str) -> AttributeValue {
        AttributeValue {
            data_type: t.into(),
            string_value: Some(v.into()),
            binary_value: None,
        }
    }

    #[test]
    fn attribute_digest_matches_botocore() {
        // Digest of the same input computed independently in Python from
        // the algorithm in the SQS developer guide.
        let attrs = vec![
            ("count".to_string(), string("Number", "3")),
            ("colour".to_string(), string("String", "blue")),
            (
                "blob".to_string(),
                AttributeValue {
                    data_type: "Binary".into(),
                    string_value: None,
                    binary_value: Some(vec![0, 1, 2]),
                },
            ),
        ];
        assert_eq!(
            attributes_md5(&attrs).as_deref(),
            Some("1ac93cf62073d725e1e4019ebf4a4e7a")
        );
        assert_eq!(attributes_md5(&attrs), {
            let mut rev = attrs.clone();
            rev.reverse();
            attributes_md5(&rev)
        });
        assert_eq!(attributes_md5(&Vec::new()), None);
    }

    #[test]
    fn attribute_rules() {
        let ok = vec![("a.b-c_d".to_string(), string("String.custom", "x"))];
        assert!(validate_attributes(ok, false).is_ok());
        for bad in [
            vec![("AWS.x".to_string(), string("String", "x"))],
            vec![(".a".to_string(), string("String", "x"))],
            vec![("a..b".to_string(), string("String", "x"))],
            vec![("a".to_string(), string("Number", "ten"))],
            vec![("a".to_string(), string("String", ""))],
            vec![("a".to_string(), string("Blob", "x"))],
            vec![("a".to_string(), string("", "x"))],
        ] {
            assert!(validate_attributes(bad.clone(), false).is_err(), "{bad:?}");
        }
        let many: Attributes = (0..11)
            .map(|i| (format!("a{i}"), string("String", "x")))
            .collect();
        assert!(validate_attributes(many, false).is_err());
        let trace = vec![("AWSTraceHeader".to_string(), string("String", "Root=1-5"))];
        assert!(validate_attributes(trace, true).is_ok());
        let other = vec![("Other".to_string(), string("String", "x"))];
        assert!(validate_attributes(other, true).is_err());
    }

    #[test]
    fn selection_and_handles() {
        let attrs = vec![
            ("a.x".to_string(), string("String", "1")),
            ("ab".to_string(), string("String", "2")),
            ("b".to_string(), string("String", "3")),
        ];
        let names = |w: &[&str]| {
            select_attributes(&attrs, &w.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .into_iter()
                .map(|(n, _)| n)
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&["a.*"]), ["a.x"]);
        assert_eq!(names(&["All"]).len(), 3);
        assert_eq!(names(&["b"]), ["b"]);
        assert!(names(&[]).is_empty());
        let account: ferry_types::AccountId = "123456789012".parse().expect("id");
        let h = receipt_handle(account, "q", "m-1", "tok7");
        assert_eq!(
            parse_receipt_handle(&h),
            Some((
                "123456789012".into(),
                "q".into(),
                "m-1".into(),
                "tok7".into()
            ))
        );
        assert_eq!(parse_receipt_handle("nonsense!"), None);
    }
}
