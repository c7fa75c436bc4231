//! The S3 generator against a small fake S3 server in the test process: the
//! server verifies every signature with ferry-sigv4 and keeps objects by
//! length (the big one is counted as it streams in, never held), so the
//! phases, the streaming and the counting are checked end to end. No timing
//! is asserted, only that work was done and counted.

use std::collections::HashMap;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, Uri};
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use ferry_bench::s3::{Args, Target, run};

const KEY: &str = "AKIAFAKES3";
const SECRET: &str = "fake-s3-secret";

#[derive(Default)]
struct Store {
    buckets: HashMap<String, HashMap<String, u64>>,
    /// Every 7th GET answers 503 SlowDown.
    slow_down: bool,
    gets: u64,
}

/// A body of `len` zero bytes, in 64 KiB frames.
struct Zeros(u64);

impl Body for Zeros {
    type Data = Bytes;
    type Error = Infallible;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.0 == 0 {
            return Poll::Ready(None);
        }
        let n = self.0.min(64 << 10);
        self.0 -= n;
        Poll::Ready(Some(Ok(Frame::data(Bytes::from(vec![0; n as usize])))))
    }
    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.0)
    }
}

fn error(status: StatusCode, code: &str) -> (StatusCode, u64, String) {
    (
        status,
        0,
        format!(
            "<?xml version=\"1.0\"?><Error><Code>{code}</Code><Message>fake {code}</Message></Error>"
        ),
    )
}

async fn handle(
    req: Request<Incoming>,
    store: Arc<Mutex<Store>>,
) -> Result<Response<http_body_util::Either<Zeros, String>>, Infallible> {
    let (parts, mut body) = req.into_parts();
    // Count the body as it streams in.
    let mut len = 0u64;
    while let Some(Ok(frame)) = body.frame().await {
        if let Ok(data) = frame.into_data() {
            len += data.len() as u64;
        }
    }
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
            && s.credential.service == "s3"
            && s.payload == ferry_sigv4::PayloadHash::Unsigned
            && ferry_sigv4::verify(
                s,
                &parts.method,
                &uri,
                &parts.headers,
                SECRET,
                chrono::Utc::now(),
                None,
            )
            .is_ok()
    });
    let declared = parts
        .headers
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let path = parts.uri.path().trim_start_matches('/').to_string();
    let (bucket, key) = match path.split_once('/') {
        Some((b, k)) => (b.to_string(), Some(k.to_string())),
        None => (path.clone(), None),
    };
    let (status, object, text) = if !verified {
        error(StatusCode::FORBIDDEN, "SignatureDoesNotMatch")
    } else {
        let mut s = store.lock().expect("store");
        match (&parts.method, key) {
            (&Method::PUT, None) => {
                s.buckets.entry(bucket).or_default();
                (StatusCode::OK, 0, String::new())
            }
            (&Method::PUT, Some(key)) if declared == Some(len) => {
                match s.buckets.get_mut(&bucket) {
                    Some(b) => {
                        b.insert(key, len);
                        (StatusCode::OK, 0, String::new())
                    }
                    None => error(StatusCode::NOT_FOUND, "NoSuchBucket"),
                }
            }
            (&Method::PUT, Some(_)) => error(StatusCode::BAD_REQUEST, "IncompleteBody"),
            (&Method::GET, Some(key)) => {
                s.gets += 1;
                let found = s.buckets.get(&bucket).and_then(|b| b.get(&key)).copied();
                match found {
                    _ if s.slow_down && s.gets.is_multiple_of(7) => {
                        error(StatusCode::SERVICE_UNAVAILABLE, "SlowDown")
                    }
                    Some(n) => (StatusCode::OK, n, String::new()),
                    None => error(StatusCode::NOT_FOUND, "NoSuchKey"),
                }
            }
            _ => error(StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed"),
        }
    };
    let body = if status == StatusCode::OK && parts.method == Method::GET {
        http_body_util::Either::Left(Zeros(object))
    } else {
        http_body_util::Either::Right(text)
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    Ok(response)
}

/// Starts the fake on a free port; returns its endpoint and its store.
async fn fake(slow_down: bool) -> (String, Arc<Mutex<Store>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let store = Arc::new(Mutex::new(Store {
        slow_down,
        ..Default::default()
    }));
    let shared = store.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let store = shared.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req| handle(req, store.clone()));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (format!("http://{addr}"), store)
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
        size: 4096,
        duration: Duration::from_millis(300),
        warmup: Duration::from_millis(50),
        big: 3 * (1 << 20) + 5,
        bucket: None,
        threads: 1,
        json: false,
    }
}

#[tokio::test]
async fn puts_gets_and_the_big_object_are_counted_without_errors() {
    let (endpoint, store) = fake(false).await;
    let report = run(&args(&endpoint)).await.expect("a report");
    assert_eq!(report.errors_total, 0, "{report}");
    assert!(
        report.put.ok > 0 && report.put.ops_per_sec > 0.0,
        "{report}"
    );
    assert!(
        report.get.ok > 0 && report.get.ops_per_sec > 0.0,
        "{report}"
    );
    assert!(report.put.p50_ms <= report.put.p99_ms);
    let big = report.big.as_ref().expect("a big object");
    assert!(big.put_ok && big.get_ok, "{report}");
    assert!(big.put_mb_per_sec > 0.0 && big.get_mb_per_sec > 0.0);

    let s = store.lock().expect("store");
    let objects = s.buckets.get(&report.bucket).expect("the bucket");
    assert_eq!(objects.get("big"), Some(&(3 * (1 << 20) + 5)));
    // Every small object arrived whole, warmup ones included.
    assert!(objects.len() as u64 > report.put.ok, "{report}");
    assert!(
        objects
            .iter()
            .filter(|(k, _)| *k != "big")
            .all(|(_, &n)| n == 4096)
    );
    let shown = report.to_string();
    assert!(
        shown.contains("PutObject") && shown.contains("MB/s"),
        "{shown}"
    );
}

#[tokio::test]
async fn error_answers_are_counted_by_code_and_status() {
    let (endpoint, _) = fake(true).await;
    let mut a = args(&endpoint);
    a.big = 0;
    let report = run(&a).await.expect("a report");
    assert!(report.big.is_none());
    assert!(report.get.ok > 0, "{report}");
    let codes: Vec<&String> = report.errors.keys().collect();
    assert_eq!(codes, ["SlowDown (503)"], "{report}");
    assert_eq!(report.errors_total, report.get.errors);
    assert!(report.error_samples[0].contains("GetObject -> HTTP 503"));
}

#[tokio::test]
async fn a_wrong_secret_fails_the_setup_with_the_servers_code() {
    let (endpoint, _) = fake(false).await;
    let mut a = args(&endpoint);
    a.target.secret_key = "wrong".into();
    let err = run(&a).await.expect_err("403");
    let shown = err.to_string();
    assert!(shown.contains("SignatureDoesNotMatch (403)"), "{shown}");
}
