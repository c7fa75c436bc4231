//! The SQS query protocol, the one SDKs spoke before AWS JSON 1.0 (boto3
//! until its late-2023 switch in the 1.28.x series, the AWS SDK for Java
//! 1.x, ...): form fields in, XML out. Both directions are translations onto the JSON
//! shapes, so the operations are written once, against JSON.
//!
//! The translations are driven by `model`, SQS's shapes with their query
//! names as the last query-protocol botocore model gives them: a member's
//! wire name is its `locationName` (`Attributes` is `Attribute`, a list's
//! elements are named for the element: `AttributeNames` is
//! `AttributeName.N`), and every list and map is flattened: lists are
//! `Name.N`, maps `Name.N.Key` / `Name.N.Value` in requests and repeated
//! `<Name>` elements in responses.

mod model;

use std::collections::BTreeMap;

use ferry_http::{ApiError, xml_escape};
use serde_json::{Map, Value};

/// A shape of the model.
#[derive(Debug)]
pub(crate) enum Shape {
    String,
    /// Base64 text in every one of SQS's encodings.
    Blob,
    Integer,
    Long,
    Boolean,
    /// A flattened list: its elements carry the member's wire name.
    List(&'static Shape),
    /// A flattened map with string keys.
    Map {
        /// The key's element name (`Name`, `Key`).
        key: &'static str,
        /// The value's element name (`Value`).
        value: &'static str,
        value_shape: &'static Shape,
    },
    Structure(&'static [Member]),
}

/// A structure's member.
#[derive(Debug)]
pub(crate) struct Member {
    /// The JSON name.
    pub name: &'static str,
    /// The query parameter prefix and XML element name.
    pub wire: &'static str,
    pub shape: &'static Shape,
}

/// An operation's input and output.
#[derive(Debug)]
pub(crate) struct Operation {
    pub name: &'static str,
    pub input: &'static Shape,
    pub output: &'static Shape,
}

fn operation(name: &str) -> Option<&'static Operation> {
    model::OPERATIONS.iter().find(|o| o.name == name)
}

fn members(shape: &'static Shape) -> &'static [Member] {
    match shape {
        Shape::Structure(m) => m,
        _ => &[],
    }
}

/// Keys that belong to the protocol, not to the operation's input.
const ENVELOPE: &[&str] = &["Action", "Version"];

/// One form field on its way down the input shape.
#[derive(Debug, Clone, Copy)]
struct Field<'a> {
    key: &'a str,
    /// The part of `key` below the shape being read; `None` once the key
    /// is used up (the field is the shape's own value).
    rest: Option<&'a str>,
    value: &'a str,
}

impl<'a> Field<'a> {
    /// The next name segment, and the field one level down.
    fn step(self) -> Option<(&'a str, Field<'a>)> {
        let rest = self.rest?;
        let (head, tail) = match rest.split_once('.') {
            Some((h, t)) => (h, Some(t)),
            None => (rest, None),
        };
        Some((head, Field { rest: tail, ..self }))
    }

    /// The key's part above `rest`: the name of the shape being read.
    fn prefix(&self) -> &'a str {
        match self.rest {
            Some(r) => self
                .key
                .get(..self.key.len().saturating_sub(r.len() + 1))
                .unwrap_or(self.key),
            None => self.key,
        }
    }
}

fn unknown(key: &str) -> ApiError {
    ApiError::bad_request(
        "InvalidQueryParameter",
        format!("The parameter {key} is not recognized"),
    )
}

fn invalid(key: &str, value: &str, reason: &str) -> ApiError {
    ApiError::bad_request(
        "InvalidParameterValue",
        format!("Value {value} for parameter {key} is invalid. Reason: {reason}"),
    )
}

/// The query parameters of `operation` as its JSON input.
pub fn request_to_json(
    operation_name: &str,
    params: &[(String, String)],
) -> Result<Value, ApiError> {
    let op = operation(operation_name).ok_or_else(|| {
        ApiError::bad_request(
            "InvalidAction",
            format!("The action {operation_name} is not valid for this endpoint."),
        )
    })?;
    let fields: Vec<Field<'_>> = params
        .iter()
        .filter(|(k, _)| !ENVELOPE.contains(&k.as_str()))
        .map(|(k, v)| Field {
            key: k,
            rest: Some(k),
            value: v,
        })
        .collect();
    structure(members(op.input), &fields).map(Value::Object)
}

fn structure(
    members: &'static [Member],
    fields: &[Field<'_>],
) -> Result<Map<String, Value>, ApiError> {
    let mut groups: Vec<Vec<Field<'_>>> = vec![Vec::new(); members.len()];
    for f in fields {
        let (head, below) = f.step().ok_or_else(|| unknown(f.key))?;
        // botocore sends an empty list as the member's own name with an
        // empty value (`AttributeNames=`).
        let found = members.iter().zip(groups.iter_mut()).find(|(m, _)| {
            m.wire == head
                || (m.name == head && below.rest.is_none() && matches!(m.shape, Shape::List(_)))
        });
        match found {
            Some((_, group)) => group.push(below),
            None => return Err(unknown(f.key)),
        }
    }
    let mut out = Map::new();
    for (m, group) in members.iter().zip(groups) {
        if !group.is_empty() {
            out.insert(m.name.to_string(), read(m.shape, &group)?);
        }
    }
    Ok(out)
}

/// The one field that is a scalar's value.
fn scalar<'a>(fields: &[Field<'a>]) -> Result<Field<'a>, ApiError> {
    match fields {
        [f] if f.rest.is_none() => Ok(*f),
        _ => Err(fields
            .iter()
            .find(|f| f.rest.is_some())
            .map(|f| unknown(f.key))
            .unwrap_or_else(|| unknown("(none)"))),
    }
}

/// `1`, `2`, ...: no sign, no leading zero, small enough to be a count.
fn index(s: &str) -> Option<u32> {
    if s.is_empty() || s.len() > 9 || s.starts_with('0') || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// The fields of `Name.N...` grouped by `N`, which must run 1, 2, ... n.
fn indexed<'a>(fields: &[Field<'a>]) -> Result<Vec<Vec<Field<'a>>>, ApiError> {
    let mut by_index: BTreeMap<u32, Vec<Field<'a>>> = BTreeMap::new();
    for f in fields {
        if f.rest.is_none() && f.value.is_empty() {
            continue; // an empty list
        }
        let (head, below) = f.step().ok_or_else(|| unknown(f.key))?;
        let i = index(head).ok_or_else(|| unknown(f.key))?;
        by_index.entry(i).or_default().push(below);
    }
    let mut out = Vec::with_capacity(by_index.len());
    for (expected, (i, group)) in (1u32..).zip(by_index) {
        if i != expected {
            let name = fields.first().map(Field::prefix).unwrap_or_default();
            return Err(ApiError::bad_request(
                "InvalidQueryParameter",
                format!(
                    "The parameter {name}.{expected} is missing: {name}.N must be numbered 1, 2, 3, ..."
                ),
            ));
        }
        out.push(group);
    }
    Ok(out)
}

fn read(shape: &'static Shape, fields: &[Field<'_>]) -> Result<Value, ApiError> {
    match shape {
        Shape::String | Shape::Blob => Ok(Value::String(scalar(fields)?.value.to_string())),
        Shape::Integer => {
            let f = scalar(fields)?;
            f.value
                .trim()
                .parse::<i32>()
                .map(Value::from)
                .map_err(|_| invalid(f.key, f.value, "Must be an integer."))
        }
        Shape::Long => {
            let f = scalar(fields)?;
            f.value
                .trim()
                .parse::<i64>()
                .map(Value::from)
                .map_err(|_| invalid(f.key, f.value, "Must be an integer."))
        }
        Shape::Boolean => {
            let f = scalar(fields)?;
            match f.value.to_ascii_lowercase().as_str() {
                "true" => Ok(Value::Bool(true)),
                "false" => Ok(Value::Bool(false)),
                _ => Err(invalid(f.key, f.value, "Must be true or false.")),
            }
        }
        Shape::List(element) => indexed(fields)?
            .iter()
            .map(|group| read(element, group))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        Shape::Map {
            key,
            value,
            value_shape,
        } => {
            let mut out = Map::new();
            for group in indexed(fields)? {
                let mut k: Option<Field<'_>> = None;
                let mut v: Vec<Field<'_>> = Vec::new();
                for f in &group {
                    match f.step() {
                        Some((head, below)) if head == *key && below.rest.is_none() => {
                            k = Some(below)
                        }
                        Some((head, below)) if head == *value => v.push(below),
                        _ => return Err(unknown(f.key)),
                    }
                }
                let name = group.first().map(Field::prefix).unwrap_or_default();
                let k = k.ok_or_else(|| {
                    ApiError::bad_request(
                        "MissingParameter",
                        format!("The request must contain the parameter {name}.{key}."),
                    )
                })?;
                if v.is_empty() {
                    return Err(ApiError::bad_request(
                        "MissingParameter",
                        format!("The request must contain the parameter {name}.{value}."),
                    ));
                }
                if out
                    .insert(k.value.to_string(), read(value_shape, &v)?)
                    .is_some()
                {
                    return Err(invalid(k.key, k.value, "The name is given more than once."));
                }
            }
            Ok(Value::Object(out))
        }
        Shape::Structure(m) => {
            if let Some(f) = fields.iter().find(|f| f.rest.is_none()) {
                return Err(unknown(f.key));
            }
            structure(m, fields).map(Value::Object)
        }
    }
}

/// Fills in `QueueUrl` from the request's path: a query request may be
/// posted to the queue URL and leave the parameter out.
pub(crate) fn queue_url_from_path(operation_name: &str, input: &mut Value, host: &str, path: &str) {
    let takes_url = operation(operation_name)
        .is_some_and(|op| members(op.input).iter().any(|m| m.name == "QueueUrl"));
    let names_queue = {
        let mut parts = path.trim_matches('/').split('/');
        matches!((parts.next(), parts.next(), parts.next()), (Some(a), Some(n), None) if !a.is_empty() && !n.is_empty())
    };
    if let Value::Object(map) = input
        && takes_url
        && names_queue
        && !map.contains_key("QueueUrl")
    {
        map.insert(
            "QueueUrl".into(),
            Value::String(format!("http://{host}{path}")),
        );
    }
}

/// XML text; a carriage return is written as a reference, which XML
/// parsers would otherwise turn into a line feed.
fn text(s: &str) -> String {
    xml_escape(s).replace('\r', "&#xD;")
}

/// The JSON output of `operation` as the XML inside `<OperationResult>`.
pub fn response_to_xml(operation_name: &str, output: &Value) -> String {
    let mut out = String::new();
    if let Some(op) = operation(operation_name) {
        write_members(members(op.output), output, &mut out);
    }
    out
}

fn write_members(members: &'static [Member], v: &Value, out: &mut String) {
    for m in members {
        if let Some(value) = v.get(m.name) {
            element(m.wire, m.shape, value, out);
        }
    }
}

fn element(name: &str, shape: &'static Shape, v: &Value, out: &mut String) {
    match (shape, v) {
        (_, Value::Null) => {}
        (Shape::List(item), Value::Array(items)) => {
            for i in items {
                element(name, item, i, out);
            }
        }
        (
            Shape::Map {
                key,
                value,
                value_shape,
            },
            Value::Object(entries),
        ) => {
            for (k, val) in entries {
                out.push_str(&format!("<{name}><{key}>{}</{key}>", text(k)));
                element(value, value_shape, val, out);
                out.push_str(&format!("</{name}>"));
            }
        }
        (Shape::Structure(m), Value::Object(_)) => {
            out.push_str(&format!("<{name}>"));
            write_members(m, v, out);
            out.push_str(&format!("</{name}>"));
        }
        (Shape::List(_) | Shape::Map { .. } | Shape::Structure(_), _) => {
            // The operations return their model's shapes; a mismatch is a
            // bug in one of them, better logged than failing the call.
            tracing::warn!(element = name, "an SQS output does not match its shape");
        }
        (_, Value::String(s)) => out.push_str(&format!("<{name}>{}</{name}>", text(s))),
        (_, other) => out.push_str(&format!("<{name}>{}</{name}>", text(&other.to_string()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn to_json(op: &str, pairs: &[(&str, &str)]) -> Value {
        match request_to_json(op, &params(pairs)) {
            Ok(v) => v,
            Err(e) => panic!("{op} {pairs:?}: {e}"),
        }
    }

    fn refused(op: &str, pairs: &[(&str, &str)]) -> ApiError {
        match request_to_json(op, &params(pairs)) {
            Ok(v) => panic!("{op} {pairs:?} was accepted as {v}"),
            Err(e) => {
                assert_eq!(e.status, 400, "{e}");
                e
            }
        }
    }

    #[test]
    fn every_sqs_operation_is_in_the_model() {
        let names: Vec<&str> = model::OPERATIONS.iter().map(|o| o.name).collect();
        // The service's own list: every operation it serves can be spoken
        // over query.
        for op in crate::OPERATIONS {
            assert!(names.contains(op), "{op} missing");
        }
        assert_eq!(names.len(), 23);
    }

    #[test]
    fn scalars_and_the_envelope() {
        assert_eq!(
            to_json(
                "GetQueueUrl",
                &[
                    ("Action", "GetQueueUrl"),
                    ("Version", "2012-11-05"),
                    ("QueueName", "jobs"),
                    ("QueueOwnerAWSAccountId", "123456789012"),
                ]
            ),
            json!({"QueueName": "jobs", "QueueOwnerAWSAccountId": "123456789012"})
        );
    }

    #[test]
    fn maps_of_attributes_and_tags() {
        assert_eq!(
            to_json(
                "CreateQueue",
                &[
                    ("QueueName", "q"),
                    ("Attribute.1.Name", "DelaySeconds"),
                    ("Attribute.1.Value", "5"),
                    ("Attribute.2.Value", "60"),
                    ("Attribute.2.Name", "VisibilityTimeout"),
                    ("Tag.1.Key", "team"),
                    ("Tag.1.Value", "a&b"),
                ]
            ),
            json!({
                "QueueName": "q",
                "Attributes": {"DelaySeconds": "5", "VisibilityTimeout": "60"},
                "tags": {"team": "a&b"},
            })
        );
        assert_eq!(
            to_json(
                "TagQueue",
                &[("QueueUrl", "u"), ("Tag.1.Key", "k"), ("Tag.1.Value", "")]
            ),
            json!({"QueueUrl": "u", "Tags": {"k": ""}})
        );
    }

    #[test]
    fn lists_of_names() {
        assert_eq!(
            to_json(
                "ReceiveMessage",
                &[
                    ("QueueUrl", "u"),
                    ("AttributeName.2", "SentTimestamp"),
                    ("AttributeName.1", "SenderId"),
                    ("MessageSystemAttributeName.1", "All"),
                    ("MessageAttributeName.1", "color"),
                    ("MaxNumberOfMessages", "10"),
                    ("WaitTimeSeconds", "0"),
                    ("VisibilityTimeout", "-1"),
                ]
            ),
            json!({
                "QueueUrl": "u",
                "AttributeNames": ["SenderId", "SentTimestamp"],
                "MessageSystemAttributeNames": ["All"],
                "MessageAttributeNames": ["color"],
                "MaxNumberOfMessages": 10,
                "WaitTimeSeconds": 0,
                "VisibilityTimeout": -1,
            })
        );
        assert_eq!(
            to_json("UntagQueue", &[("QueueUrl", "u"), ("TagKey.1", "a")]),
            json!({"QueueUrl": "u", "TagKeys": ["a"]})
        );
        assert_eq!(
            to_json(
                "AddPermission",
                &[
                    ("QueueUrl", "u"),
                    ("Label", "l"),
                    ("AWSAccountId.1", "111111111111"),
                    ("ActionName.1", "SendMessage"),
                    ("ActionName.2", "ReceiveMessage"),
                ]
            ),
            json!({
                "QueueUrl": "u",
                "Label": "l",
                "AWSAccountIds": ["111111111111"],
                "Actions": ["SendMessage", "ReceiveMessage"],
            })
        );
    }

    #[test]
    fn botocore_empty_lists() {
        assert_eq!(
            to_json(
                "GetQueueAttributes",
                &[("QueueUrl", "u"), ("AttributeNames", "")]
            ),
            json!({"QueueUrl": "u", "AttributeNames": []})
        );
    }

    #[test]
    fn message_attributes() {
        assert_eq!(
            to_json(
                "SendMessage",
                &[
                    ("QueueUrl", "u"),
                    ("MessageBody", "hi"),
                    ("DelaySeconds", "3"),
                    ("MessageAttribute.1.Name", "color"),
                    ("MessageAttribute.1.Value.StringValue", "blue"),
                    ("MessageAttribute.1.Value.DataType", "String"),
                    ("MessageAttribute.2.Name", "blob"),
                    ("MessageAttribute.2.Value.BinaryValue", "AAEC"),
                    ("MessageAttribute.2.Value.DataType", "Binary"),
                    ("MessageAttribute.3.Name", "many"),
                    ("MessageAttribute.3.Value.StringListValue.1", "x"),
                    ("MessageAttribute.3.Value.DataType", "String"),
                    ("MessageSystemAttribute.1.Name", "AWSTraceHeader"),
                    ("MessageSystemAttribute.1.Value.StringValue", "Root=1"),
                    ("MessageSystemAttribute.1.Value.DataType", "String"),
                ]
            ),
            json!({
                "QueueUrl": "u",
                "MessageBody": "hi",
                "DelaySeconds": 3,
                "MessageAttributes": {
                    "color": {"StringValue": "blue", "DataType": "String"},
                    "blob": {"BinaryValue": "AAEC", "DataType": "Binary"},
                    "many": {"StringListValues": ["x"], "DataType": "String"},
                },
                "MessageSystemAttributes": {
                    "AWSTraceHeader": {"StringValue": "Root=1", "DataType": "String"},
                },
            })
        );
    }

    #[test]
    fn batch_entries() {
        assert_eq!(
            to_json(
                "SendMessageBatch",
                &[
                    ("QueueUrl", "u"),
                    ("SendMessageBatchRequestEntry.1.Id", "a"),
                    ("SendMessageBatchRequestEntry.1.MessageBody", "one"),
                    ("SendMessageBatchRequestEntry.1.DelaySeconds", "2"),
                    ("SendMessageBatchRequestEntry.2.Id", "b"),
                    ("SendMessageBatchRequestEntry.2.MessageBody", "two"),
                    (
                        "SendMessageBatchRequestEntry.2.MessageAttribute.1.Name",
                        "n"
                    ),
                    (
                        "SendMessageBatchRequestEntry.2.MessageAttribute.1.Value.StringValue",
                        "1"
                    ),
                    (
                        "SendMessageBatchRequestEntry.2.MessageAttribute.1.Value.DataType",
                        "Number"
                    ),
                ]
            ),
            json!({
                "QueueUrl": "u",
                "Entries": [
                    {"Id": "a", "MessageBody": "one", "DelaySeconds": 2},
                    {"Id": "b", "MessageBody": "two",
                     "MessageAttributes": {"n": {"StringValue": "1", "DataType": "Number"}}},
                ],
            })
        );
        assert_eq!(
            to_json(
                "DeleteMessageBatch",
                &[
                    ("QueueUrl", "u"),
                    ("DeleteMessageBatchRequestEntry.1.Id", "a"),
                    ("DeleteMessageBatchRequestEntry.1.ReceiptHandle", "r"),
                ]
            ),
            json!({"QueueUrl": "u", "Entries": [{"Id": "a", "ReceiptHandle": "r"}]})
        );
        assert_eq!(
            to_json(
                "ChangeMessageVisibilityBatch",
                &[
                    ("QueueUrl", "u"),
                    ("ChangeMessageVisibilityBatchRequestEntry.1.Id", "a"),
                    (
                        "ChangeMessageVisibilityBatchRequestEntry.1.ReceiptHandle",
                        "r"
                    ),
                    (
                        "ChangeMessageVisibilityBatchRequestEntry.1.VisibilityTimeout",
                        "9"
                    ),
                ]
            ),
            json!({"QueueUrl": "u", "Entries": [{"Id": "a", "ReceiptHandle": "r", "VisibilityTimeout": 9}]})
        );
    }

    #[test]
    fn move_tasks_and_dead_letter_sources() {
        assert_eq!(
            to_json(
                "StartMessageMoveTask",
                &[
                    ("SourceArn", "arn:aws:sqs:us-east-1:123456789012:dlq"),
                    ("MaxNumberOfMessagesPerSecond", "50"),
                ]
            ),
            json!({"SourceArn": "arn:aws:sqs:us-east-1:123456789012:dlq", "MaxNumberOfMessagesPerSecond": 50})
        );
        assert_eq!(
            to_json(
                "ListDeadLetterSourceQueues",
                &[("QueueUrl", "u"), ("MaxResults", "5"), ("NextToken", "t")]
            ),
            json!({"QueueUrl": "u", "MaxResults": 5, "NextToken": "t"})
        );
    }

    #[test]
    fn bad_input_is_a_400() {
        let e = refused(
            "ReceiveMessage",
            &[("QueueUrl", "u"), ("MaxNumberOfMessages", "ten")],
        );
        assert_eq!(e.code, "InvalidParameterValue");
        assert!(e.message.contains("MaxNumberOfMessages"), "{}", e.message);
        refused(
            "ReceiveMessage",
            &[("QueueUrl", "u"), ("WaitTimeSeconds", "1.5")],
        );
        refused("ListQueues", &[("MaxResults", "99999999999")]);
        refused(
            "CreateQueue",
            &[("QueueName", "q"), ("Attribute.1.Name", "DelaySeconds")],
        );
        refused(
            "CreateQueue",
            &[("QueueName", "q"), ("Attribute.1.Value", "1")],
        );
        // a gap, a zero, a leading zero, a huge index, a non-number
        let e = refused(
            "ReceiveMessage",
            &[
                ("QueueUrl", "u"),
                ("AttributeName.1", "All"),
                ("AttributeName.3", "x"),
            ],
        );
        assert!(e.message.contains("AttributeName.2"), "{}", e.message);
        refused(
            "ReceiveMessage",
            &[("QueueUrl", "u"), ("AttributeName.2", "All")],
        );
        refused(
            "ReceiveMessage",
            &[("QueueUrl", "u"), ("AttributeName.0", "All")],
        );
        refused(
            "ReceiveMessage",
            &[("QueueUrl", "u"), ("AttributeName.01", "All")],
        );
        refused(
            "ReceiveMessage",
            &[
                ("QueueUrl", "u"),
                ("AttributeName.18446744073709551617", "All"),
            ],
        );
        refused(
            "ReceiveMessage",
            &[("QueueUrl", "u"), ("AttributeName.4000000000", "All")],
        );
        refused(
            "ReceiveMessage",
            &[("QueueUrl", "u"), ("AttributeName.x", "All")],
        );
        refused(
            "ReceiveMessage",
            &[("QueueUrl", "u"), ("AttributeName", "All")],
        );
        refused(
            "ReceiveMessage",
            &[("QueueUrl", "u"), ("AttributeName.1.Foo", "All")],
        );
        // unknown or misplaced names
        let e = refused("SendMessage", &[("QueueUrl", "u"), ("Bogus", "1")]);
        assert_eq!(e.code, "InvalidQueryParameter");
        refused("SendMessage", &[("QueueUrl.1", "u")]);
        refused(
            "SendMessage",
            &[
                ("MessageAttribute.1.Name", "a"),
                ("MessageAttribute.1.Value", "x"),
            ],
        );
        refused(
            "SendMessage",
            &[
                ("MessageAttribute.1.Name", "a"),
                ("MessageAttribute.1.Value.Nope", "x"),
            ],
        );
        refused("SendMessage", &[("Attributes.1.Name", "a")]);
        refused("CreateQueue", &[("Attribute..Name", "a")]);
        refused("CreateQueue", &[("Attribute.1.", "a")]);
        refused("CreateQueue", &[("", "a")]);
        // the same map key twice
        refused(
            "CreateQueue",
            &[
                ("Attribute.1.Name", "DelaySeconds"),
                ("Attribute.1.Value", "1"),
                ("Attribute.2.Name", "DelaySeconds"),
                ("Attribute.2.Value", "2"),
            ],
        );
        let e = refused("Frobnicate", &[]);
        assert_eq!(e.code, "InvalidAction");
    }

    #[test]
    fn queue_url_from_the_path() {
        let mut v = json!({"MessageBody": "x"});
        queue_url_from_path("SendMessage", &mut v, "h:1", "/123456789012/jobs");
        assert_eq!(v["QueueUrl"], "http://h:1/123456789012/jobs");
        // an explicit QueueUrl wins; operations without one are left alone
        let mut v = json!({"QueueUrl": "given"});
        queue_url_from_path("SendMessage", &mut v, "h", "/123456789012/jobs");
        assert_eq!(v["QueueUrl"], "given");
        let mut v = json!({});
        queue_url_from_path("ListQueues", &mut v, "h", "/123456789012/jobs");
        assert_eq!(v, json!({}));
        for path in ["/", "", "/123456789012", "/a/b/c"] {
            let mut v = json!({});
            queue_url_from_path("SendMessage", &mut v, "h", path);
            assert_eq!(v, json!({}), "{path}");
        }
    }

    #[test]
    fn scalar_results_are_escaped() {
        assert_eq!(
            response_to_xml(
                "SendMessage",
                &json!({"MessageId": "m", "MD5OfMessageBody": "d", "Extra": 1})
            ),
            "<MD5OfMessageBody>d</MD5OfMessageBody><MessageId>m</MessageId>"
        );
        assert_eq!(
            response_to_xml("GetQueueUrl", &json!({"QueueUrl": "http://h/1/a<&>\r"})),
            "<QueueUrl>http://h/1/a&lt;&amp;&gt;&#xD;</QueueUrl>"
        );
        assert_eq!(
            response_to_xml(
                "CancelMessageMoveTask",
                &json!({"ApproximateNumberOfMessagesMoved": 7})
            ),
            "<ApproximateNumberOfMessagesMoved>7</ApproximateNumberOfMessagesMoved>"
        );
        assert_eq!(response_to_xml("DeleteQueue", &json!({})), "");
        assert_eq!(response_to_xml("Frobnicate", &json!({"a": 1})), "");
    }

    #[test]
    fn flattened_lists_in_results() {
        assert_eq!(
            response_to_xml(
                "ListQueues",
                &json!({"QueueUrls": ["http://h/1/a", "http://h/1/b"], "NextToken": "n"})
            ),
            "<QueueUrl>http://h/1/a</QueueUrl><QueueUrl>http://h/1/b</QueueUrl><NextToken>n</NextToken>"
        );
        assert_eq!(
            response_to_xml("ListDeadLetterSourceQueues", &json!({"queueUrls": ["u"]})),
            "<QueueUrl>u</QueueUrl>"
        );
        assert_eq!(response_to_xml("ListQueues", &json!({"QueueUrls": []})), "");
    }

    #[test]
    fn maps_in_results() {
        assert_eq!(
            response_to_xml(
                "GetQueueAttributes",
                &json!({"Attributes": {"DelaySeconds": "0", "Policy": "{\"a\":1}"}})
            ),
            "<Attribute><Name>DelaySeconds</Name><Value>0</Value></Attribute>\
             <Attribute><Name>Policy</Name><Value>{&quot;a&quot;:1}</Value></Attribute>"
        );
        assert_eq!(
            response_to_xml("ListQueueTags", &json!({"Tags": {"team": "x"}})),
            "<Tag><Key>team</Key><Value>x</Value></Tag>"
        );
    }

    #[test]
    fn messages_in_results() {
        let out = json!({"Messages": [{
            "MessageId": "m1",
            "ReceiptHandle": "r1",
            "MD5OfBody": "d",
            "Body": "<hi>",
            "Attributes": {"SenderId": "s"},
            "MD5OfMessageAttributes": "d2",
            "MessageAttributes": {
                "color": {"StringValue": "blue", "DataType": "String"},
                "blob": {"BinaryValue": "AAEC", "DataType": "Binary"},
            },
        }, {"MessageId": "m2", "Body": "b"}]});
        assert_eq!(
            response_to_xml("ReceiveMessage", &out),
            "<Message><MessageId>m1</MessageId><ReceiptHandle>r1</ReceiptHandle><MD5OfBody>d</MD5OfBody>\
             <Body>&lt;hi&gt;</Body><Attribute><Name>SenderId</Name><Value>s</Value></Attribute>\
             <MD5OfMessageAttributes>d2</MD5OfMessageAttributes>\
             <MessageAttribute><Name>blob</Name><Value><BinaryValue>AAEC</BinaryValue><DataType>Binary</DataType></Value></MessageAttribute>\
             <MessageAttribute><Name>color</Name><Value><StringValue>blue</StringValue><DataType>String</DataType></Value></MessageAttribute>\
             </Message><Message><MessageId>m2</MessageId><Body>b</Body></Message>"
        );
    }

    #[test]
    fn batch_results() {
        let out = json!({
            "Successful": [{"Id": "a", "MessageId": "m", "MD5OfMessageBody": "d"}],
            "Failed": [{"Id": "b", "SenderFault": true, "Code": "InvalidParameterValue", "Message": "no"}],
        });
        assert_eq!(
            response_to_xml("SendMessageBatch", &out),
            "<SendMessageBatchResultEntry><Id>a</Id><MessageId>m</MessageId><MD5OfMessageBody>d</MD5OfMessageBody></SendMessageBatchResultEntry>\
             <BatchResultErrorEntry><Id>b</Id><SenderFault>true</SenderFault><Code>InvalidParameterValue</Code><Message>no</Message></BatchResultErrorEntry>"
        );
        assert_eq!(
            response_to_xml(
                "DeleteMessageBatch",
                &json!({"Successful": [{"Id": "a"}], "Failed": []})
            ),
            "<DeleteMessageBatchResultEntry><Id>a</Id></DeleteMessageBatchResultEntry>"
        );
        assert_eq!(
            response_to_xml(
                "ChangeMessageVisibilityBatch",
                &json!({"Successful": [{"Id": "a"}]})
            ),
            "<ChangeMessageVisibilityBatchResultEntry><Id>a</Id></ChangeMessageVisibilityBatchResultEntry>"
        );
    }

    #[test]
    fn move_task_results() {
        assert_eq!(
            response_to_xml("StartMessageMoveTask", &json!({"TaskHandle": "t"})),
            "<TaskHandle>t</TaskHandle>"
        );
        assert_eq!(
            response_to_xml(
                "ListMessageMoveTasks",
                &json!({"Results": [{"TaskHandle": "t", "Status": "RUNNING", "ApproximateNumberOfMessagesMoved": 3, "StartedTimestamp": 1700000000000_i64}]})
            ),
            "<ListMessageMoveTasksResultEntry><TaskHandle>t</TaskHandle><Status>RUNNING</Status>\
             <ApproximateNumberOfMessagesMoved>3</ApproximateNumberOfMessagesMoved>\
             <StartedTimestamp>1700000000000</StartedTimestamp></ListMessageMoveTasksResultEntry>"
        );
    }

    #[test]
    fn a_translated_request_round_trips_through_the_result_shape() {
        // Tags go in as `Tag.N` and come out as `<Tag>`: one name for both.
        let input = to_json(
            "TagQueue",
            &[("QueueUrl", "u"), ("Tag.1.Key", "k"), ("Tag.1.Value", "v")],
        );
        assert_eq!(
            response_to_xml("ListQueueTags", &input),
            "<Tag><Key>k</Key><Value>v</Value></Tag>"
        );
    }
}
