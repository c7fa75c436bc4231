//! The SQS wire, sans I/O: AWS JSON 1.0 request bodies, SigV4-signed
//! requests, and the checks that an answer really succeeded.
//!
//! Every answer is checked, not trusted: a non-200 status is a failure with
//! the service's error code; a 200 whose body does not parse, or a batch
//! answer with `Failed` entries (or missing entries), is a failure too.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use ferry_sigv4::Credentials;
use http::{HeaderMap, HeaderValue, Method, Request, StatusCode, Uri, header};
use http_body_util::Full;
use serde::{Deserialize, Serialize};

/// The SQS operations the generator calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Op {
    /// `CreateQueue` (setup).
    CreateQueue,
    /// `DeleteQueue` (teardown).
    DeleteQueue,
    /// `SendMessage` (one message; `--no-batch`).
    SendMessage,
    /// `SendMessageBatch`.
    SendMessageBatch,
    /// `ReceiveMessage`.
    ReceiveMessage,
    /// `DeleteMessage` (one message; `--no-batch`).
    DeleteMessage,
    /// `DeleteMessageBatch`.
    DeleteMessageBatch,
}

impl Op {
    /// The operation's name, as in `X-Amz-Target: AmazonSQS.<name>`.
    pub fn name(self) -> &'static str {
        match self {
            Op::CreateQueue => "CreateQueue",
            Op::DeleteQueue => "DeleteQueue",
            Op::SendMessage => "SendMessage",
            Op::SendMessageBatch => "SendMessageBatch",
            Op::ReceiveMessage => "ReceiveMessage",
            Op::DeleteMessage => "DeleteMessage",
            Op::DeleteMessageBatch => "DeleteMessageBatch",
        }
    }

    fn target(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Op::CreateQueue => "AmazonSQS.CreateQueue",
            Op::DeleteQueue => "AmazonSQS.DeleteQueue",
            Op::SendMessage => "AmazonSQS.SendMessage",
            Op::SendMessageBatch => "AmazonSQS.SendMessageBatch",
            Op::ReceiveMessage => "AmazonSQS.ReceiveMessage",
            Op::DeleteMessage => "AmazonSQS.DeleteMessage",
            Op::DeleteMessageBatch => "AmazonSQS.DeleteMessageBatch",
        })
    }
}

pub use crate::common::Failure;

fn bad_response(op: Op, what: impl std::fmt::Display) -> Failure {
    Failure::new("BadResponse", format!("{}: {what}", op.name()))
}

/// Builds signed SQS requests for one endpoint and key.
#[derive(Debug, Clone)]
pub struct Signer {
    authority: HeaderValue,
    uri: Uri,
    region: String,
    creds: Credentials,
}

const CONTENT_TYPE: &str = "application/x-amz-json-1.0";

impl Signer {
    /// A signer for `endpoint` (`http://HOST:PORT`, no path), `region` and
    /// `creds`. Only plain HTTP is spoken.
    pub fn new(endpoint: &str, region: &str, creds: Credentials) -> Result<Self, String> {
        let authority = crate::common::endpoint_authority(endpoint)?;
        let uri: Uri = format!("http://{authority}/")
            .parse()
            .map_err(|e| format!("endpoint {endpoint:?}: {e}"))?;
        let authority =
            HeaderValue::from_str(&authority).map_err(|e| format!("endpoint {endpoint:?}: {e}"))?;
        Ok(Signer {
            authority,
            uri,
            region: region.to_string(),
            creds,
        })
    }

    /// `HOST:PORT` to connect to.
    pub fn authority(&self) -> &str {
        self.authority.to_str().unwrap_or_default()
    }

    /// A `POST /` of `body` for `op`, signed at `now` for the `sqs` service.
    pub fn request(
        &self,
        op: Op,
        body: Vec<u8>,
        now: DateTime<Utc>,
    ) -> Result<Request<Full<Bytes>>, Failure> {
        let mut headers = HeaderMap::with_capacity(8);
        headers.insert(header::HOST, self.authority.clone());
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
        headers.insert("x-amz-target", op.target());
        ferry_sigv4::sign_headers(
            &Method::POST,
            &self.uri,
            &mut headers,
            &ferry_sigv4::sha256_hex(&body),
            &self.creds,
            &self.region,
            "sqs",
            now,
        )
        .map_err(|e| Failure::new("Signing", e.to_string()))?;
        let mut request = Request::new(Full::new(Bytes::from(body)));
        *request.method_mut() = Method::POST;
        *request.uri_mut() = Uri::from_static("/");
        *request.headers_mut() = headers;
        Ok(request)
    }
}

// ---- request bodies ----

fn to_vec<T: Serialize>(value: &T) -> Vec<u8> {
    // Serializing these plain structs of strings and numbers cannot fail.
    serde_json::to_vec(value).unwrap_or_default()
}

/// `CreateQueue` of `name` (a standard queue with default attributes).
pub fn create_queue(name: &str) -> Vec<u8> {
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Body<'a> {
        queue_name: &'a str,
    }
    to_vec(&Body { queue_name: name })
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct QueueOnly<'a> {
    queue_url: &'a str,
}

/// `DeleteQueue` of `queue_url`.
pub fn delete_queue(queue_url: &str) -> Vec<u8> {
    to_vec(&QueueOnly { queue_url })
}

/// `SendMessage` of `message` to `queue_url`.
pub fn send_message(queue_url: &str, message: &str) -> Vec<u8> {
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Body<'a> {
        queue_url: &'a str,
        message_body: &'a str,
    }
    to_vec(&Body {
        queue_url,
        message_body: message,
    })
}

/// `SendMessageBatch` of `count` copies of `message` (entry ids `0`, `1`, ...).
pub fn send_message_batch(queue_url: &str, message: &str, count: usize) -> Vec<u8> {
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Entry<'a> {
        id: String,
        message_body: &'a str,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Body<'a> {
        queue_url: &'a str,
        entries: Vec<Entry<'a>>,
    }
    let entries = (0..count)
        .map(|i| Entry {
            id: i.to_string(),
            message_body: message,
        })
        .collect();
    to_vec(&Body { queue_url, entries })
}

/// `ReceiveMessage` of up to `max` messages, without waiting.
pub fn receive_message(queue_url: &str, max: usize) -> Vec<u8> {
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Body<'a> {
        queue_url: &'a str,
        max_number_of_messages: usize,
        wait_time_seconds: u32,
    }
    to_vec(&Body {
        queue_url,
        max_number_of_messages: max,
        wait_time_seconds: 0,
    })
}

/// `DeleteMessage` of one receipt handle.
pub fn delete_message(queue_url: &str, receipt_handle: &str) -> Vec<u8> {
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Body<'a> {
        queue_url: &'a str,
        receipt_handle: &'a str,
    }
    to_vec(&Body {
        queue_url,
        receipt_handle,
    })
}

/// `DeleteMessageBatch` of receipt handles (entry ids `0`, `1`, ...).
pub fn delete_message_batch(queue_url: &str, receipt_handles: &[String]) -> Vec<u8> {
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Entry<'a> {
        id: String,
        receipt_handle: &'a str,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Body<'a> {
        queue_url: &'a str,
        entries: Vec<Entry<'a>>,
    }
    let entries = receipt_handles
        .iter()
        .enumerate()
        .map(|(i, h)| Entry {
            id: i.to_string(),
            receipt_handle: h,
        })
        .collect();
    to_vec(&Body { queue_url, entries })
}

// ---- answers ----

/// Checks the status: 200 is success; anything else is a [`Failure`] with
/// the error code from the JSON `__type` (namespace stripped), else from the
/// `x-amzn-query-error` header, else `HTTP <status>`.
pub fn check_status(
    op: Op,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), Failure> {
    if status == StatusCode::OK {
        return Ok(());
    }
    #[derive(Deserialize)]
    struct ErrorBody {
        #[serde(rename = "__type")]
        kind: Option<String>,
        message: Option<String>,
        #[serde(rename = "Message")]
        message_upper: Option<String>,
    }
    let parsed: Option<ErrorBody> = serde_json::from_slice(body).ok();
    let from_type = parsed.as_ref().and_then(|b| b.kind.as_deref()).map(|t| {
        let t = t.rsplit('#').next().unwrap_or(t);
        t.split(':').next().unwrap_or(t).to_string()
    });
    let from_header = headers
        .get("x-amzn-query-error")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or(v).to_string());
    let code = from_type
        .filter(|c| !c.is_empty())
        .or(from_header)
        .unwrap_or_else(|| format!("HTTP {}", status.as_u16()));
    let message = parsed
        .and_then(|b| b.message.or(b.message_upper))
        .unwrap_or_else(|| {
            let text = String::from_utf8_lossy(body);
            text.chars().take(200).collect()
        });
    Err(Failure::new(
        code,
        format!("{} -> HTTP {}: {message}", op.name(), status.as_u16()),
    ))
}

/// The `QueueUrl` of a `CreateQueue` answer.
pub fn parse_queue_url(body: &[u8]) -> Result<String, Failure> {
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Answer {
        queue_url: String,
    }
    serde_json::from_slice::<Answer>(body)
        .map(|a| a.queue_url)
        .map_err(|e| bad_response(Op::CreateQueue, e))
}

/// Checks a `SendMessage` answer (it must carry a `MessageId`).
pub fn parse_send_message(body: &[u8]) -> Result<(), Failure> {
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Answer {
        message_id: String,
    }
    match serde_json::from_slice::<Answer>(body) {
        Ok(a) if !a.message_id.is_empty() => Ok(()),
        Ok(_) => Err(bad_response(Op::SendMessage, "empty MessageId")),
        Err(e) => Err(bad_response(Op::SendMessage, e)),
    }
}

/// The receipt handles of a `ReceiveMessage` answer (none when the queue
/// looked empty).
pub fn parse_receive_message(body: &[u8]) -> Result<Vec<String>, Failure> {
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Message {
        receipt_handle: String,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Answer {
        #[serde(default)]
        messages: Option<Vec<Message>>,
    }
    serde_json::from_slice::<Answer>(body)
        .map(|a| {
            a.messages
                .unwrap_or_default()
                .into_iter()
                .map(|m| m.receipt_handle)
                .collect()
        })
        .map_err(|e| bad_response(Op::ReceiveMessage, e))
}

/// What a batch call (`SendMessageBatch`, `DeleteMessageBatch`) did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BatchOutcome {
    /// Entries in `Successful`.
    pub succeeded: usize,
    /// One failure per entry in `Failed` (its `Code`), plus one
    /// `MissingEntries` failure if entries were neither.
    pub failures: Vec<Failure>,
}

/// Reads a batch answer for `sent` entries.
pub fn parse_batch(op: Op, body: &[u8], sent: usize) -> Result<BatchOutcome, Failure> {
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Failed {
        #[serde(default)]
        id: String,
        #[serde(default)]
        code: String,
        #[serde(default)]
        message: Option<String>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Answer {
        #[serde(default)]
        successful: Option<Vec<serde::de::IgnoredAny>>,
        #[serde(default)]
        failed: Option<Vec<Failed>>,
    }
    let answer: Answer = serde_json::from_slice(body).map_err(|e| bad_response(op, e))?;
    let succeeded = answer.successful.map_or(0, |s| s.len());
    let mut failures: Vec<Failure> = answer
        .failed
        .unwrap_or_default()
        .into_iter()
        .map(|f| {
            let code = if f.code.is_empty() {
                "FailedEntry".to_string()
            } else {
                f.code
            };
            Failure::new(
                code,
                format!(
                    "{} entry {}: {}",
                    op.name(),
                    f.id,
                    f.message.unwrap_or_default()
                ),
            )
        })
        .collect();
    let answered = succeeded + failures.len();
    if answered != sent {
        failures.push(Failure::new(
            "MissingEntries",
            format!("{}: {sent} entries sent, {answered} answered", op.name()),
        ));
    }
    Ok(BatchOutcome {
        succeeded,
        failures,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 28, 10, 15, 0)
            .single()
            .expect("a date")
    }

    fn signer() -> Signer {
        Signer::new(
            "http://127.0.0.1:4566",
            "eu-west-3",
            Credentials::new("AKIAFERRYBENCH", "bench-secret"),
        )
        .expect("a signer")
    }

    /// What a server sees: the request target as received, with the host.
    fn as_received(req: &Request<Full<Bytes>>) -> (Method, Uri, HeaderMap) {
        let host = req.headers()[header::HOST].to_str().expect("ascii host");
        let uri: Uri = format!("http://{host}{}", req.uri())
            .parse()
            .expect("a uri");
        (req.method().clone(), uri, req.headers().clone())
    }

    #[test]
    fn requests_are_signed_so_that_ferrys_verifier_accepts_them() {
        let body = send_message_batch("http://127.0.0.1:4566/123456789012/q", "hello", 3);
        let hash = ferry_sigv4::sha256_hex(&body);
        let req = signer()
            .request(Op::SendMessageBatch, body, now())
            .expect("signed");
        assert_eq!(req.method(), Method::POST);
        assert_eq!(req.uri(), "/");
        assert_eq!(req.headers()["x-amz-target"], "AmazonSQS.SendMessageBatch");
        assert_eq!(req.headers()["content-type"], CONTENT_TYPE);

        let (method, uri, headers) = as_received(&req);
        let parsed = ferry_sigv4::parse(&method, &uri, &headers)
            .expect("parses")
            .expect("signed");
        assert_eq!(parsed.access_key_id(), "AKIAFERRYBENCH");
        let scope = &parsed.credential;
        assert_eq!(
            (scope.region.as_str(), scope.service.as_str()),
            ("eu-west-3", "sqs")
        );
        ferry_sigv4::verify(
            &parsed,
            &method,
            &uri,
            &headers,
            "bench-secret",
            now(),
            Some(&hash),
        )
        .expect("the signature verifies");

        // The wrong secret, a changed body, or a changed target do not.
        let wrong = ferry_sigv4::verify(
            &parsed,
            &method,
            &uri,
            &headers,
            "other",
            now(),
            Some(&hash),
        )
        .expect_err("wrong secret");
        assert_eq!(wrong.code(), "SignatureDoesNotMatch");
        let other_body = ferry_sigv4::sha256_hex(b"{}");
        assert!(
            ferry_sigv4::verify(
                &parsed,
                &method,
                &uri,
                &headers,
                "bench-secret",
                now(),
                Some(&other_body)
            )
            .is_err()
        );
        let mut retargeted = headers.clone();
        retargeted.insert("x-amz-target", Op::DeleteQueue.target());
        assert!(
            ferry_sigv4::verify(
                &parsed,
                &method,
                &uri,
                &retargeted,
                "bench-secret",
                now(),
                Some(&hash)
            )
            .is_err()
        );
    }

    #[test]
    fn endpoints_must_be_plain_http_without_a_path() {
        let creds = || Credentials::new("a", "b");
        assert_eq!(
            signer().authority(),
            "127.0.0.1:4566",
            "authority to connect to"
        );
        for bad in [
            "https://h:1",
            "h:1",
            "http://h:1/queue",
            "http://h:1/?x=1",
            "not a url",
        ] {
            assert!(Signer::new(bad, "us-east-1", creds()).is_err(), "{bad}");
        }
        assert!(Signer::new("http://h:1/", "us-east-1", creds()).is_ok());
    }

    #[test]
    fn bodies_are_the_json_sqs_expects() {
        let q = "http://h/123456789012/q";
        let v: serde_json::Value =
            serde_json::from_slice(&send_message_batch(q, "m", 2)).expect("json");
        assert_eq!(
            v,
            serde_json::json!({"QueueUrl": q, "Entries": [
                {"Id": "0", "MessageBody": "m"}, {"Id": "1", "MessageBody": "m"}]})
        );
        let v: serde_json::Value = serde_json::from_slice(&receive_message(q, 10)).expect("json");
        assert_eq!(
            v,
            serde_json::json!({"QueueUrl": q, "MaxNumberOfMessages": 10, "WaitTimeSeconds": 0})
        );
        let v: serde_json::Value = serde_json::from_slice(&delete_message_batch(
            q,
            &["h0".to_string(), "h1".to_string()],
        ))
        .expect("json");
        assert_eq!(
            v,
            serde_json::json!({"QueueUrl": q, "Entries": [
                {"Id": "0", "ReceiptHandle": "h0"}, {"Id": "1", "ReceiptHandle": "h1"}]})
        );
        let v: serde_json::Value =
            serde_json::from_slice(&delete_message(q, "h\"x")).expect("json");
        assert_eq!(
            v,
            serde_json::json!({"QueueUrl": q, "ReceiptHandle": "h\"x"})
        );
        let v: serde_json::Value = serde_json::from_slice(&create_queue("b-1")).expect("json");
        assert_eq!(v, serde_json::json!({"QueueName": "b-1"}));
    }

    #[test]
    fn error_answers_give_the_service_code() {
        let ok = check_status(Op::SendMessage, StatusCode::OK, &HeaderMap::new(), b"{}");
        assert_eq!(ok, Ok(()));

        let mut headers = HeaderMap::new();
        headers.insert(
            "x-amzn-query-error",
            HeaderValue::from_static("AWS.SimpleQueueService.NonExistentQueue;Sender"),
        );
        let body = br#"{"__type": "com.amazonaws.sqs#QueueDoesNotExist", "message": "gone"}"#;
        let err = check_status(Op::ReceiveMessage, StatusCode::BAD_REQUEST, &headers, body)
            .expect_err("400");
        assert_eq!(err.code, "QueueDoesNotExist");
        assert!(err.message.contains("ReceiveMessage") && err.message.contains("gone"));

        // No __type: the query error header; neither: the status.
        let err = check_status(Op::ReceiveMessage, StatusCode::BAD_REQUEST, &headers, b"")
            .expect_err("400");
        assert_eq!(err.code, "AWS.SimpleQueueService.NonExistentQueue");
        let err = check_status(
            Op::SendMessage,
            StatusCode::SERVICE_UNAVAILABLE,
            &HeaderMap::new(),
            b"<html>busy</html>",
        )
        .expect_err("503");
        assert_eq!(err.code, "HTTP 503");
        assert!(err.message.contains("busy"));

        let body = br#"{"__type":"SignatureDoesNotMatch","Message":"The request signature we calculated does not match"}"#;
        let err = check_status(
            Op::SendMessage,
            StatusCode::FORBIDDEN,
            &HeaderMap::new(),
            body,
        )
        .expect_err("403");
        assert_eq!(err.code, "SignatureDoesNotMatch");
        assert!(err.message.contains("does not match"));
    }

    #[test]
    fn answers_parse() {
        assert_eq!(
            parse_queue_url(br#"{"QueueUrl": "http://h/1/q"}"#),
            Ok("http://h/1/q".to_string())
        );
        assert_eq!(
            parse_queue_url(b"{}").map_err(|f| f.code),
            Err("BadResponse".into())
        );

        assert_eq!(
            parse_send_message(br#"{"MessageId":"m1","MD5OfMessageBody":"x"}"#),
            Ok(())
        );
        assert!(parse_send_message(br#"{"MessageId":""}"#).is_err());
        assert!(parse_send_message(b"not json").is_err());

        let handles = parse_receive_message(
            br#"{"Messages":[{"MessageId":"1","ReceiptHandle":"a","Body":"x"},
                              {"MessageId":"2","ReceiptHandle":"b","Body":"y"}]}"#,
        );
        assert_eq!(handles, Ok(vec!["a".to_string(), "b".to_string()]));
        assert_eq!(parse_receive_message(b"{}"), Ok(vec![]));
        assert_eq!(parse_receive_message(br#"{"Messages":[]}"#), Ok(vec![]));
        assert!(parse_receive_message(br#"{"Messages":[{"MessageId":"1"}]}"#).is_err());
    }

    #[test]
    fn batch_answers_count_failed_and_missing_entries() {
        let all = parse_batch(
            Op::SendMessageBatch,
            br#"{"Successful":[{"Id":"0"},{"Id":"1"}],"Failed":[]}"#,
            2,
        )
        .expect("parses");
        assert_eq!(
            all,
            BatchOutcome {
                succeeded: 2,
                failures: vec![]
            }
        );

        let some = parse_batch(
            Op::DeleteMessageBatch,
            br#"{"Successful":[{"Id":"0"}],
                 "Failed":[{"Id":"1","Code":"ReceiptHandleIsInvalid","SenderFault":true,"Message":"bad handle"}]}"#,
            2,
        )
        .expect("parses");
        assert_eq!(some.succeeded, 1);
        assert_eq!(some.failures.len(), 1);
        assert_eq!(some.failures[0].code, "ReceiptHandleIsInvalid");
        assert!(some.failures[0].message.contains("bad handle"));

        // Entries neither successful nor failed are counted too.
        let short = parse_batch(Op::SendMessageBatch, br#"{"Successful":[{"Id":"0"}]}"#, 3)
            .expect("parses");
        assert_eq!(short.succeeded, 1);
        let codes: Vec<&str> = short.failures.iter().map(|f| f.code.as_str()).collect();
        assert_eq!(codes, ["MissingEntries"]);

        assert!(parse_batch(Op::SendMessageBatch, br#"{"Successful": 3}"#, 1).is_err());
        assert!(parse_batch(Op::SendMessageBatch, b"<html>", 1).is_err());
    }
}
