//! The REST route end to end inside the front door: a small echo service
//! reports what it got (principal, decoded body, trailers, auth info), and
//! fake JSON/query services show those still route as before.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use axum::body::Body;
use bytes::Bytes;
use chrono::Utc;
use ferry_core::audit::LookupInput;
use ferry_core::clock::ManualClock;
use ferry_core::{Ferry, FerryOptions, RequestContext};
use ferry_sigv4::{
    ChunkedEncoder, Credentials, STREAMING_SIGNED_PAYLOAD, STREAMING_UNSIGNED_PAYLOAD_TRAILER,
    UNSIGNED_PAYLOAD, presign, sha256_hex, sign_headers,
};
use ferry_store::{MemoryFactory, MemoryStore, Placement};
use ferry_types::Tier;
use http::{HeaderMap, HeaderValue, Method, Request, Uri};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::*;
use crate::{ApiRequest, ApiResult, Limits, Protocol, Service, Success};

const HOST: &str = "localhost:4566";

/// Echoes what reached it, as JSON; a body error becomes an S3 error.
struct Echo;

#[async_trait]
impl RestService for Echo {
    fn signing_name(&self) -> &'static str {
        "s3"
    }
    fn event_source(&self) -> &'static str {
        "s3.amazonaws.com"
    }
    async fn call(&self, caller: RestCaller, req: http::Request<RestBody>) -> RestResponse {
        let (parts, body) = req.into_parts();
        let request_id = caller.request_id().to_string();
        if caller.is_anonymous() && parts.uri.path() != "/public" {
            let mut resp = s3_error_response(
                &parts.method,
                &ApiError::new(403, "AccessDenied", "Access Denied"),
                &request_id,
            );
            resp.extensions_mut().insert(RestAudit {
                event_name: "GetObject".into(),
                error_code: Some("AccessDenied".into()),
                read_only: true,
                ..Default::default()
            });
            return resp;
        }
        let bytes = match body.collect().await {
            Ok(c) => c.to_bytes(),
            Err(e) => {
                let mut resp = s3_error_response(
                    &parts.method,
                    &ApiError::new(e.http_status(), e.code(), e.to_string()),
                    &request_id,
                );
                resp.extensions_mut().insert(RestAudit {
                    event_name: "PutObject".into(),
                    error_code: Some(e.code().into()),
                    ..Default::default()
                });
                return resp;
            }
        };
        let trailers: Vec<(String, String)> = parts
            .extensions
            .get::<TrailerHandle>()
            .and_then(|t| t.get())
            .map(|t| {
                t.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect()
            })
            .unwrap_or_default();
        let info = parts.extensions.get::<AuthInfo>();
        let header = |n: &str| {
            parts
                .headers
                .get(n)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let echo = json!({
            "arn": parts.extensions.get::<RequestContext>().map(|c| c.principal.arn.clone()),
            "anonymous": caller.is_anonymous(),
            "body": String::from_utf8_lossy(&bytes),
            "trailers": trailers,
            "auth_type": info.map(|i| i.auth_type.as_str()),
            "condition_keys": info.map(|i| i.condition_keys()),
            "uri": parts.uri.to_string(),
            "authorization": header("authorization"),
            "content_encoding": header("content-encoding"),
            "content_length": header("content-length"),
        });
        let mut resp = http::Response::new(Body::from(echo.to_string()));
        resp.extensions_mut().insert(RestAudit {
            event_name: "Echo".into(),
            read_only: parts.method == Method::GET,
            request_parameters: Some(json!({"bucketName": "b"})),
            ..Default::default()
        });
        resp
    }
}

/// A query or JSON service that says who it is and who called.
struct Fake {
    name: &'static str,
    protocol: Protocol,
}

#[async_trait]
impl Service for Fake {
    fn signing_name(&self) -> &'static str {
        self.name
    }
    fn protocol(&self) -> Protocol {
        self.protocol
    }
    fn event_source(&self) -> &'static str {
        "fake.amazonaws.com"
    }
    fn has_operation(&self, _operation: &str) -> bool {
        true
    }
    async fn call(&self, ctx: &RequestContext, req: &ApiRequest) -> ApiResult {
        let said = format!("{}:{}:{}", self.name, req.operation, ctx.principal.arn);
        let success = match self.protocol {
            Protocol::Query { .. } => Success::Xml(format!("<Said>{said}</Said>")),
            Protocol::Json { .. } => Success::Json(json!({ "said": said })),
        };
        ApiResult::new(Ok(success), true)
    }
}

struct World {
    door: Arc<FrontDoor>,
    ferry: Arc<Ferry>,
    creds: Credentials,
    account: ferry_types::AccountId,
    writer: Option<ferry_core::audit::AuditWriter>,
}

async fn world() -> World {
    let placement = Arc::new(Placement::new(
        Arc::new(MemoryStore::new()),
        Arc::new(MemoryFactory),
    ));
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let (ferry, writer) = Ferry::new(
        placement,
        FerryOptions {
            clock,
            ..Default::default()
        },
    );
    ferry.bootstrap_operator(true).await.expect("bootstrap");
    let vendor = ferry
        .create_account("vendor", None, Tier::Pooled)
        .await
        .expect("vendor");
    let services: Vec<Arc<dyn Service>> = vec![
        Arc::new(Fake {
            name: "sts",
            protocol: Protocol::Query { xmlns: "sts" },
        }),
        Arc::new(Fake {
            name: "iam",
            protocol: Protocol::Query { xmlns: "iam" },
        }),
        Arc::new(Fake {
            name: "sqs",
            protocol: Protocol::Json {
                target_prefix: "AmazonSQS",
                version: "1.0",
            },
        }),
    ];
    // A small buffered-body limit: REST bodies must not be held to it.
    let limits = Limits {
        body_timeout: Duration::from_secs(5),
        max_body_bytes: 1024,
        ..Limits::default()
    };
    let door = FrontDoor::new(ferry.clone(), services, limits)
        .with_rest(Arc::new(Echo))
        .with_domains(vec!["ferry.test".into(), "localhost".into()]);
    World {
        door: Arc::new(door),
        ferry,
        creds: Credentials::new(vendor.access_key_id, vendor.secret_access_key),
        account: vendor.account_id,
        writer: Some(writer),
    }
}

impl World {
    async fn send(&self, req: Request<Body>) -> (u16, HeaderMap, String) {
        let remote: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let resp = crate::dispatch::handle(self.door.clone(), remote, req).await;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        (status, headers, String::from_utf8_lossy(&body).into_owned())
    }

    /// A header-signed request for `service`, host `host`.
    #[allow(clippy::too_many_arguments)]
    fn signed(
        &self,
        creds: &Credentials,
        method: Method,
        host: &str,
        path: &str,
        extra: &[(&str, &str)],
        payload_hash: &str,
        service: &str,
        body: impl Into<Body>,
    ) -> Request<Body> {
        let uri: Uri = path.parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_str(host).unwrap());
        for (k, v) in extra {
            headers.insert(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        sign_headers(
            &method,
            &uri,
            &mut headers,
            payload_hash,
            creds,
            "us-east-1",
            service,
            self.ferry.now(),
        )
        .unwrap();
        let mut req = Request::builder().method(method).uri(uri);
        *req.headers_mut().unwrap() = headers;
        req.body(body.into()).unwrap()
    }

    fn s3_put(&self, path: &str, extra: &[(&str, &str)], hash: &str, body: &str) -> Request<Body> {
        self.signed(
            &self.creds,
            Method::PUT,
            HOST,
            path,
            extra,
            hash,
            "s3",
            body.to_string(),
        )
    }

    /// A client-side `Verified` for a request it signed, to chain chunks.
    fn client_verified(&self, req: &Request<Body>) -> ferry_sigv4::Verified {
        let signed = ferry_sigv4::parse(req.method(), req.uri(), req.headers())
            .unwrap()
            .unwrap();
        ferry_sigv4::verify(
            &signed,
            req.method(),
            req.uri(),
            req.headers(),
            &self.creds.secret_access_key,
            self.ferry.now(),
            None,
        )
        .unwrap()
    }

    fn presigned_get(&self, path: &str, signed_at: chrono::DateTime<Utc>, expires: u64) -> String {
        let uri: Uri = path.parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static(HOST));
        presign(
            &Method::GET,
            &uri,
            &headers,
            &self.creds,
            "us-east-1",
            "s3",
            signed_at,
            expires,
        )
        .unwrap()
    }

    fn get(&self, uri: &str, host: &str) -> Request<Body> {
        Request::builder()
            .method(Method::GET)
            .uri(uri)
            .header("host", host)
            .body(Body::empty())
            .unwrap()
    }
}

fn json_of(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

fn s3_code(body: &str) -> String {
    body.split("<Code>")
        .nth(1)
        .and_then(|s| s.split("</Code>").next())
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn header_signed_put_with_its_sha256_reaches_the_service_plain() {
    let w = world().await;
    let body = "hello, ferry";
    let req = w.s3_put("/bucket/key", &[], &sha256_hex(body.as_bytes()), body);
    let (status, headers, text) = w.send(req).await;
    assert_eq!(status, 200, "{text}");
    assert!(headers.contains_key("x-amz-request-id"));
    let echo = json_of(&text);
    assert_eq!(echo["body"], body);
    assert_eq!(
        echo["arn"],
        format!("arn:aws:iam::{}:user/admin", w.account)
    );
    assert_eq!(echo["authorization"], Value::Null);
    assert_eq!(echo["auth_type"], "REST-HEADER");
    assert_eq!(
        echo["condition_keys"][1],
        json!(["s3:signatureversion", "AWS4-HMAC-SHA256"])
    );
}

#[tokio::test]
async fn a_body_that_does_not_hash_to_the_signed_sha256_fails_in_the_stream() {
    let w = world().await;
    let req = w.s3_put(
        "/bucket/key",
        &[],
        &sha256_hex(b"what was signed"),
        "what was sent",
    );
    let (status, _, text) = w.send(req).await;
    assert_eq!(status, 400, "{text}");
    assert_eq!(s3_code(&text), "XAmzContentSHA256Mismatch");
}

#[tokio::test]
async fn unsigned_payload_passes_the_body_through() {
    let w = world().await;
    let req = w.s3_put("/bucket/key", &[], UNSIGNED_PAYLOAD, "anything");
    let (status, _, text) = w.send(req).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(json_of(&text)["body"], "anything");
}

fn chunked_body(mut enc: ChunkedEncoder, pieces: &[&str], trailers: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in pieces {
        enc.chunk(p.as_bytes(), &mut out);
    }
    enc.finish(trailers, &mut out).unwrap();
    out
}

#[tokio::test]
async fn a_signed_aws_chunked_body_is_decoded_and_its_headers_rewritten() {
    let w = world().await;
    let pieces = ["first chunk, ", "second chunk"];
    let decoded: String = pieces.concat();
    let head = w.s3_put(
        "/bucket/key",
        &[
            ("content-encoding", "aws-chunked"),
            ("x-amz-decoded-content-length", &decoded.len().to_string()),
        ],
        STREAMING_SIGNED_PAYLOAD,
        "",
    );
    let wire = chunked_body(w.client_verified(&head).chunk_encoder(false), &pieces, &[]);
    let (parts, _) = head.into_parts();
    let (status, _, text) = w.send(Request::from_parts(parts, Body::from(wire))).await;
    assert_eq!(status, 200, "{text}");
    let echo = json_of(&text);
    assert_eq!(echo["body"], decoded);
    assert_eq!(echo["content_encoding"], Value::Null);
    assert_eq!(echo["content_length"], decoded.len().to_string());
}

#[tokio::test]
async fn a_tampered_chunk_fails_in_the_stream() {
    let w = world().await;
    let head = w.s3_put(
        "/bucket/key",
        &[
            ("content-encoding", "aws-chunked"),
            ("x-amz-decoded-content-length", "5"),
        ],
        STREAMING_SIGNED_PAYLOAD,
        "",
    );
    let mut wire = chunked_body(
        w.client_verified(&head).chunk_encoder(false),
        &["hello"],
        &[],
    );
    let at = wire.windows(5).position(|s| s == b"hello").unwrap();
    wire[at] = b'j';
    let (parts, _) = head.into_parts();
    let (status, _, text) = w.send(Request::from_parts(parts, Body::from(wire))).await;
    assert_eq!(status, 403, "{text}");
    assert_eq!(s3_code(&text), "SignatureDoesNotMatch");
}

#[tokio::test]
async fn an_unsigned_trailer_body_hands_the_checksum_to_the_service() {
    let w = world().await;
    let head = w.s3_put(
        "/bucket/key",
        &[
            ("content-encoding", "aws-chunked"),
            ("x-amz-decoded-content-length", "11"),
            ("x-amz-trailer", "x-amz-checksum-crc32"),
        ],
        STREAMING_UNSIGNED_PAYLOAD_TRAILER,
        "",
    );
    let wire = chunked_body(
        ChunkedEncoder::unsigned_trailer(),
        &["hello", " world"],
        &[("x-amz-checksum-crc32", "DUoRhQ==")],
    );
    let (parts, _) = head.into_parts();
    let (status, _, text) = w.send(Request::from_parts(parts, Body::from(wire))).await;
    assert_eq!(status, 200, "{text}");
    let echo = json_of(&text);
    assert_eq!(echo["body"], "hello world");
    assert_eq!(
        echo["trailers"],
        json!([["x-amz-checksum-crc32", "DUoRhQ=="]])
    );
}

#[tokio::test]
async fn a_chunked_body_shorter_than_announced_fails() {
    let w = world().await;
    let head = w.s3_put(
        "/bucket/key",
        &[
            ("content-encoding", "aws-chunked"),
            ("x-amz-decoded-content-length", "99"),
        ],
        STREAMING_UNSIGNED_PAYLOAD_TRAILER,
        "",
    );
    let wire = chunked_body(ChunkedEncoder::unsigned_trailer(), &["short"], &[]);
    let (parts, _) = head.into_parts();
    let (status, _, text) = w.send(Request::from_parts(parts, Body::from(wire))).await;
    assert_eq!(status, 400, "{text}");
    assert_eq!(s3_code(&text), "IncompleteBody");
}

#[tokio::test]
async fn a_presigned_get_works_and_loses_its_auth_parameters() {
    let w = world().await;
    let url = w.presigned_get("/bucket/key?versionId=3", w.ferry.now(), 300);
    let (status, _, text) = w.send(w.get(&url, HOST)).await;
    assert_eq!(status, 200, "{text}");
    let echo = json_of(&text);
    assert_eq!(echo["auth_type"], "REST-QUERY-STRING");
    assert_eq!(echo["uri"], "/bucket/key?versionId=3");
    assert_eq!(
        echo["condition_keys"][0],
        json!(["s3:authType", "REST-QUERY-STRING"])
    );
}

#[tokio::test]
async fn an_expired_presigned_get_is_access_denied() {
    let w = world().await;
    let url = w.presigned_get(
        "/bucket/key",
        w.ferry.now() - chrono::Duration::hours(2),
        60,
    );
    let (status, headers, text) = w.send(w.get(&url, HOST)).await;
    assert_eq!(status, 403, "{text}");
    assert_eq!(s3_code(&text), "AccessDenied");
    assert!(
        text.contains("<Message>Request has expired</Message>"),
        "{text}"
    );
    assert!(text.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
    let rid = headers["x-amz-request-id"].to_str().unwrap();
    assert!(text.contains(&format!("<RequestId>{rid}</RequestId>")));
}

#[tokio::test]
async fn a_tampered_presigned_get_does_not_match() {
    let w = world().await;
    let url = w.presigned_get("/bucket/key", w.ferry.now(), 300);
    let tampered = url.replace("/bucket/key", "/bucket/other");
    let (status, _, text) = w.send(w.get(&tampered, HOST)).await;
    assert_eq!(status, 403, "{text}");
    assert_eq!(s3_code(&text), "SignatureDoesNotMatch");
}

#[tokio::test]
async fn unknown_keys_and_bad_tokens_get_s3_codes() {
    let w = world().await;
    let stranger = Credentials::new("AKIAUNKNOWNKEY000000", "nope");
    let req = w.signed(
        &stranger,
        Method::GET,
        HOST,
        "/bucket",
        &[],
        UNSIGNED_PAYLOAD,
        "s3",
        Body::empty(),
    );
    let (status, _, text) = w.send(req).await;
    assert_eq!(
        (status, s3_code(&text).as_str()),
        (403, "InvalidAccessKeyId")
    );

    let forged = Credentials::new("ASIAFORGED0000000000", "nope").with_session_token("junk");
    let req = w.signed(
        &forged,
        Method::GET,
        HOST,
        "/bucket",
        &[],
        UNSIGNED_PAYLOAD,
        "s3",
        Body::empty(),
    );
    let (status, _, text) = w.send(req).await;
    assert_eq!((status, s3_code(&text).as_str()), (400, "InvalidToken"));
}

#[tokio::test]
async fn a_skewed_request_is_refused() {
    let w = world().await;
    let uri: Uri = "/bucket".parse().unwrap();
    let mut headers = HeaderMap::new();
    headers.insert("host", HeaderValue::from_static(HOST));
    sign_headers(
        &Method::GET,
        &uri,
        &mut headers,
        UNSIGNED_PAYLOAD,
        &w.creds,
        "us-east-1",
        "s3",
        w.ferry.now() - chrono::Duration::hours(1),
    )
    .unwrap();
    let mut req = w.get("/bucket", HOST);
    *req.headers_mut() = headers;
    let (status, _, text) = w.send(req).await;
    assert_eq!(
        (status, s3_code(&text).as_str()),
        (403, "RequestTimeTooSkewed")
    );
}

#[tokio::test]
async fn a_session_token_request_acts_as_the_session() {
    let w = world().await;
    let principal = w
        .ferry
        .resolve_access_key(&w.creds.access_key_id)
        .await
        .unwrap()
        .unwrap()
        .principal;
    let ctx = RequestContext {
        request_id: "r".into(),
        principal,
        region: "us-east-1".into(),
        source_ip: "127.0.0.1".into(),
        user_agent: "test".into(),
        secure_transport: false,
        time: w.ferry.now(),
        decision: Default::default(),
        signing_keys: Vec::new(),
    };
    let session = w.ferry.get_session_token(&ctx, None).await.unwrap();
    let creds = Credentials::new(session.access_key_id, session.secret_access_key)
        .with_session_token(session.session_token);
    let req = w.signed(
        &creds,
        Method::GET,
        HOST,
        "/bucket/key",
        &[],
        UNSIGNED_PAYLOAD,
        "s3",
        Body::empty(),
    );
    let (status, _, text) = w.send(req).await;
    assert_eq!(status, 200, "{text}");
    let echo = json_of(&text);
    assert_eq!(
        echo["arn"],
        format!("arn:aws:iam::{}:user/admin", w.account)
    );
    assert_eq!(echo["anonymous"], false);
}

#[tokio::test]
async fn anonymous_requests_reach_the_service_as_anonymous() {
    let w = world().await;
    let (status, _, text) = w.send(w.get("/bucket/key", HOST)).await;
    assert_eq!((status, s3_code(&text).as_str()), (403, "AccessDenied"));
    let (status, _, text) = w.send(w.get("/public", HOST)).await;
    assert_eq!(status, 200, "{text}");
    let echo = json_of(&text);
    assert_eq!(echo["anonymous"], true);
    // The core gets the anonymous principal to decide for.
    assert_eq!(echo["arn"], "anonymous");
    assert_eq!(echo["auth_type"], Value::Null);
}

#[tokio::test]
async fn virtual_hosts_route_to_the_rest_service() {
    let w = world().await;
    // No auth, but shaped like a query call: to a virtual host it is S3's.
    let req = Request::builder()
        .method(Method::GET)
        .uri("/?Action=ListUsers")
        .header("host", "my-bucket.ferry.test:4566")
        .body(Body::empty())
        .unwrap();
    let (status, _, text) = w.send(req).await;
    assert_eq!((status, s3_code(&text).as_str()), (403, "AccessDenied"));
    // The same to the bare host is a query call missing its auth.
    let req = Request::builder()
        .method(Method::GET)
        .uri("/?Action=ListUsers")
        .header("host", "ferry.test:4566")
        .body(Body::empty())
        .unwrap();
    let (status, _, text) = w.send(req).await;
    assert_eq!(status, 403);
    assert!(text.contains("MissingAuthenticationToken"), "{text}");
}

#[tokio::test]
async fn query_and_json_services_route_as_before() {
    let w = world().await;
    let form = "Action=GetCallerIdentity&Version=2011-06-15";
    let sts = w.signed(
        &w.creds,
        Method::POST,
        HOST,
        "/",
        &[("content-type", "application/x-www-form-urlencoded")],
        &sha256_hex(form.as_bytes()),
        "sts",
        form,
    );
    let (status, _, text) = w.send(sts).await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("<Said>sts:GetCallerIdentity:"), "{text}");

    // Signed for IAM: the scope wins over a virtual-host-looking name.
    let form = "Action=ListUsers&Version=2010-05-08";
    let iam = w.signed(
        &w.creds,
        Method::POST,
        "iam.ferry.test",
        "/",
        &[("content-type", "application/x-www-form-urlencoded")],
        &sha256_hex(form.as_bytes()),
        "iam",
        form,
    );
    let (status, _, text) = w.send(iam).await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("<Said>iam:ListUsers:"), "{text}");

    let sqs = w.signed(
        &w.creds,
        Method::POST,
        "sqs.us-east-1.localhost:4566",
        "/",
        &[
            ("content-type", "application/x-amz-json-1.0"),
            ("x-amz-target", "AmazonSQS.ListQueues"),
        ],
        &sha256_hex(b"{}"),
        "sqs",
        "{}",
    );
    let (status, _, text) = w.send(sqs).await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("sqs:ListQueues:"), "{text}");

    // Unsigned query calls keep their own error.
    let req = Request::builder()
        .method(Method::POST)
        .uri("/")
        .header("host", HOST)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from("Action=ListUsers&Version=2010-05-08"))
        .unwrap();
    let (status, _, text) = w.send(req).await;
    assert_eq!(status, 403);
    assert!(text.contains("<ErrorResponse"), "{text}");
}

#[tokio::test]
async fn a_client_that_stops_sending_times_out() {
    let w = world().await;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(1);
    let body = Body::from_stream(tokio_stream_from(rx));
    let head = w.s3_put("/bucket/key", &[], UNSIGNED_PAYLOAD, "");
    let (parts, _) = head.into_parts();
    tx.send(Ok(Bytes::from_static(b"some"))).await.unwrap();
    tokio::time::pause();
    let (status, _, text) = w.send(Request::from_parts(parts, body)).await;
    drop(tx);
    assert_eq!((status, s3_code(&text).as_str()), (400, "RequestTimeout"));
}

/// A stream over a channel, without pulling in tokio-stream.
fn tokio_stream_from(
    mut rx: tokio::sync::mpsc::Receiver<Result<Bytes, std::io::Error>>,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

#[tokio::test]
async fn calls_and_refusals_are_audited() {
    let mut w = world().await;
    let management = w.ferry.management_account().await.unwrap();
    let stop = CancellationToken::new();
    let writer = w.writer.take().unwrap();
    let task = tokio::spawn(writer.run(management, stop.clone()));

    let body = "audited";
    let (status, _, _) = w
        .send(w.s3_put("/bucket/key", &[], &sha256_hex(body.as_bytes()), body))
        .await;
    assert_eq!(status, 200);
    let url = w.presigned_get(
        "/bucket/key",
        w.ferry.now() - chrono::Duration::hours(2),
        60,
    );
    let (status, _, _) = w.send(w.get(&url, HOST)).await;
    assert_eq!(status, 403);
    stop.cancel();
    task.await.unwrap();

    let principal = w
        .ferry
        .resolve_access_key(&w.creds.access_key_id)
        .await
        .unwrap()
        .unwrap()
        .principal;
    let ctx = RequestContext {
        request_id: "r".into(),
        principal,
        region: "us-east-1".into(),
        source_ip: "127.0.0.1".into(),
        user_agent: "test".into(),
        secure_transport: false,
        time: w.ferry.now(),
        decision: Default::default(),
        signing_keys: Vec::new(),
    };
    let page = w
        .ferry
        .lookup_events(&ctx, LookupInput::default())
        .await
        .unwrap();
    let events: Vec<Value> = page
        .events
        .iter()
        .map(|e| serde_json::from_str(&e.body).unwrap())
        .collect();
    let echo = events
        .iter()
        .find(|e| e["eventName"] == "Echo")
        .unwrap_or_else(|| panic!("no Echo event in {events:?}"));
    assert_eq!(echo["eventSource"], "s3.amazonaws.com");
    assert_eq!(echo["requestParameters"]["bucketName"], "b");
    let refused = events
        .iter()
        .find(|e| e["eventName"] == "GetObject")
        .unwrap_or_else(|| panic!("no GetObject event in {events:?}"));
    assert_eq!(refused["errorCode"], "AccessDenied");
}

#[tokio::test]
async fn rest_bodies_are_not_held_to_the_buffered_limit() {
    let w = world().await;
    let body = "x".repeat(64 * 1024);
    let req = w.s3_put("/bucket/big", &[], &sha256_hex(body.as_bytes()), &body);
    let (status, _, text) = w.send(req).await;
    assert_eq!(status, 200);
    assert_eq!(
        json_of(&text)["body"].as_str().map(str::len),
        Some(body.len())
    );
}

#[tokio::test]
async fn malformed_s3_auth_is_an_s3_error() {
    let w = world().await;
    let req = Request::builder()
        .method(Method::GET)
        .uri("/bucket")
        .header("host", HOST)
        .header("x-amz-date", "20260101T000000Z")
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKIAX/20260101/us-east-1/s3/aws4_request, SignedHeaders=host",
        )
        .body(Body::empty())
        .unwrap();
    let (status, _, text) = w.send(req).await;
    assert_eq!(status, 400, "{text}");
    assert_eq!(s3_code(&text), "AuthorizationHeaderMalformed");
    assert!(text.contains("<Error><Code>"), "{text}");
}

#[tokio::test]
async fn a_bad_body_never_hands_on_its_last_piece() {
    // A reader that stops after the announced length must still see the
    // failure: the only piece is held until the hash is compared.
    let mut body = RestBody::new(
        Body::from("what was sent"),
        body::Check::sha256(&sha256_hex(b"what was signed")),
        Duration::from_secs(5),
    );
    let first = body.frame().await.expect("a frame");
    assert_eq!(
        first.err().map(|e| e.code()),
        Some("XAmzContentSHA256Mismatch")
    );
    assert!(body.frame().await.is_none());

    let mut good = RestBody::new(
        Body::from("fine"),
        body::Check::sha256(&sha256_hex(b"fine")),
        Duration::from_secs(5),
    );
    assert_eq!(http_body::Body::size_hint(&good).exact(), Some(4));
    let data = good.frame().await.expect("a frame").expect("data");
    assert_eq!(data.into_data().ok(), Some(Bytes::from_static(b"fine")));
    assert!(good.frame().await.is_none());
}
