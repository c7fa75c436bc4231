//! The whole generator against a small fake SQS server in the test process:
//! the server verifies every signature with ferry-sigv4 and keeps a real
//! queue, so the loop, the connection handling and the counting are checked
//! end to end. No timing is asserted, only that work was done and counted.

use std::collections::{HashSet, VecDeque};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use ferry_bench::sqs::{Args, Target, run};

const KEY: &str = "AKIAFAKESQS";
const SECRET: &str = "fake-secret";

#[derive(Default, Clone, Copy)]
struct Behaviour {
    /// Answer every request with `Connection: close` (as moto_server does).
    close_each: bool,
    /// Fail the first entry of every DeleteMessageBatch.
    fail_first_delete: bool,
}

#[derive(Default)]
struct Queue {
    ready: VecDeque<u64>,
    inflight: HashSet<u64>,
    next: u64,
    requests: u64,
}

async fn handle(
    req: Request<Incoming>,
    queue: Arc<Mutex<Queue>>,
    behaviour: Behaviour,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let host = parts
        .headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
        .to_string();
    let uri: Uri = format!("http://{host}{}", parts.uri)
        .parse()
        .expect("a request uri");
    let signed = ferry_sigv4::parse(&parts.method, &uri, &parts.headers)
        .ok()
        .flatten();
    let verified = signed.as_ref().is_some_and(|s| {
        s.access_key_id() == KEY
            && s.credential.service == "sqs"
            && ferry_sigv4::verify(
                s,
                &parts.method,
                &uri,
                &parts.headers,
                SECRET,
                chrono::Utc::now(),
                Some(&ferry_sigv4::sha256_hex(&body)),
            )
            .is_ok()
    });
    let (status, answer) = if !verified {
        (
            StatusCode::FORBIDDEN,
            json!({"__type": "com.amazon.coral.service#SignatureDoesNotMatch",
                   "message": "signature mismatch"}),
        )
    } else {
        let target = parts
            .headers
            .get("x-amz-target")
            .and_then(|t| t.to_str().ok())
            .unwrap_or("");
        let p: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        answer(
            target,
            &p,
            &host,
            &mut queue.lock().expect("queue"),
            behaviour,
        )
    };
    let mut response = Response::new(Full::new(Bytes::from(answer.to_string())));
    *response.status_mut() = status;
    if behaviour.close_each {
        response
            .headers_mut()
            .insert("connection", http::HeaderValue::from_static("close"));
    }
    Ok(response)
}

fn answer(
    target: &str,
    p: &Value,
    host: &str,
    q: &mut Queue,
    behaviour: Behaviour,
) -> (StatusCode, Value) {
    q.requests += 1;
    let entries = || p["Entries"].as_array().cloned().unwrap_or_default();
    match target {
        "AmazonSQS.CreateQueue" => (
            StatusCode::OK,
            json!({"QueueUrl": format!("http://{host}/000000000000/{}", p["QueueName"].as_str().unwrap_or(""))}),
        ),
        "AmazonSQS.DeleteQueue" => (StatusCode::OK, json!({})),
        "AmazonSQS.SendMessage" => {
            q.next += 1;
            let id = q.next;
            q.ready.push_back(id);
            (StatusCode::OK, json!({"MessageId": id.to_string()}))
        }
        "AmazonSQS.SendMessageBatch" => {
            let ok: Vec<Value> = entries()
                .iter()
                .map(|e| {
                    q.next += 1;
                    let id = q.next;
                    q.ready.push_back(id);
                    json!({"Id": e["Id"], "MessageId": id.to_string()})
                })
                .collect();
            (StatusCode::OK, json!({"Successful": ok, "Failed": []}))
        }
        "AmazonSQS.ReceiveMessage" => {
            let max = p["MaxNumberOfMessages"].as_u64().unwrap_or(1);
            let mut messages = Vec::new();
            while (messages.len() as u64) < max {
                let Some(id) = q.ready.pop_front() else { break };
                q.inflight.insert(id);
                messages.push(json!({"MessageId": id.to_string(), "ReceiptHandle": format!("h{id}"), "Body": "x"}));
            }
            if messages.is_empty() {
                (StatusCode::OK, json!({}))
            } else {
                (StatusCode::OK, json!({"Messages": messages}))
            }
        }
        "AmazonSQS.DeleteMessage" => {
            let handle = p["ReceiptHandle"].as_str().unwrap_or("");
            let id = handle.trim_start_matches('h').parse().unwrap_or(0);
            if q.inflight.remove(&id) {
                (StatusCode::OK, json!({}))
            } else {
                (
                    StatusCode::BAD_REQUEST,
                    json!({"__type": "com.amazonaws.sqs#ReceiptHandleIsInvalid", "message": handle}),
                )
            }
        }
        "AmazonSQS.DeleteMessageBatch" => {
            let (mut ok, mut failed) = (Vec::new(), Vec::new());
            for (i, e) in entries().iter().enumerate() {
                let handle = e["ReceiptHandle"].as_str().unwrap_or("");
                let id = handle.trim_start_matches('h').parse().unwrap_or(0);
                if (behaviour.fail_first_delete && i == 0) || !q.inflight.remove(&id) {
                    failed.push(json!({"Id": e["Id"], "Code": "ReceiptHandleIsInvalid",
                                       "SenderFault": true, "Message": handle}));
                } else {
                    ok.push(json!({"Id": e["Id"]}));
                }
            }
            (StatusCode::OK, json!({"Successful": ok, "Failed": failed}))
        }
        other => (
            StatusCode::BAD_REQUEST,
            json!({"__type": "com.amazonaws.sqs#UnsupportedOperation", "message": other}),
        ),
    }
}

/// Starts the fake on a free port; returns its endpoint and its queue.
async fn fake(behaviour: Behaviour) -> (String, Arc<Mutex<Queue>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let queue = Arc::new(Mutex::new(Queue::default()));
    let shared = queue.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let queue = shared.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req| handle(req, queue.clone(), behaviour));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (format!("http://{addr}"), queue)
}

fn args(endpoint: &str) -> Args {
    Args {
        target: Target {
            endpoint: endpoint.to_string(),
            region: "us-east-1".into(),
            access_key: KEY.into(),
            secret_key: SECRET.into(),
            session_token: None,
        },
        clients: 3,
        batch: 10,
        duration: Duration::from_millis(300),
        warmup: Duration::from_millis(50),
        queue: None,
        body_size: 100,
        no_batch: false,
        threads: 1,
        json: false,
    }
}

#[tokio::test]
async fn batch_cycles_are_counted_without_errors() {
    let (endpoint, _) = fake(Behaviour::default()).await;
    let report = run(&args(&endpoint)).await.expect("a report");
    assert_eq!(report.errors_total, 0, "{report}");
    assert!(report.deleted > 0 && report.sent > 0, "{report}");
    // (received and deleted need not match: a cycle can straddle the
    // window's start or end.)
    assert!(report.received > 0, "{report}");
    let ops: Vec<&str> = report.operations.iter().map(|o| o.operation).collect();
    assert_eq!(
        ops,
        ["SendMessageBatch", "ReceiveMessage", "DeleteMessageBatch"]
    );
    assert_eq!(
        report.connections_opened, 3,
        "one keep-alive connection a client"
    );
    assert_eq!(report.full_cycles_per_sec, report.deleted_per_sec);
}

#[tokio::test]
async fn single_calls_and_servers_that_close_each_connection() {
    let (endpoint, queue) = fake(Behaviour {
        close_each: true,
        ..Default::default()
    })
    .await;
    let mut a = args(&endpoint);
    a.no_batch = true;
    let report = run(&a).await.expect("a report");
    assert_eq!(report.errors_total, 0, "{report}");
    assert!(report.deleted > 0, "{report}");
    let ops: Vec<&str> = report.operations.iter().map(|o| o.operation).collect();
    assert_eq!(ops, ["SendMessage", "ReceiveMessage", "DeleteMessage"]);
    // Each request needed a connection of its own (setup's two aside).
    let served = queue.lock().expect("queue").requests;
    assert_eq!(report.connections_opened, served - 2, "{report}");
}

#[tokio::test]
async fn failed_batch_entries_are_counted_and_do_not_stop_the_run() {
    let (endpoint, _) = fake(Behaviour {
        fail_first_delete: true,
        ..Default::default()
    })
    .await;
    let report = run(&args(&endpoint)).await.expect("a report");
    assert!(report.deleted > 0, "{report}");
    assert!(report.errors_total > 0, "{report}");
    let codes: Vec<&String> = report.errors.keys().collect();
    assert_eq!(codes, ["ReceiptHandleIsInvalid"], "{report}");
    assert!(report.error_samples[0].contains("DeleteMessageBatch entry 0"));
}

#[tokio::test]
async fn a_wrong_secret_fails_the_setup_with_the_servers_code() {
    let (endpoint, _) = fake(Behaviour::default()).await;
    let mut a = args(&endpoint);
    a.target.secret_key = "wrong".into();
    let err = run(&a).await.expect_err("403");
    let shown = err.to_string();
    assert!(shown.contains("SignatureDoesNotMatch"), "{shown}");
}
