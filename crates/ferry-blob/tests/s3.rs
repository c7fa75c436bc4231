//! The S3 backend against a real S3-compatible server: `moto_server`
//! (pip package moto), started on a free port. If it cannot be started the
//! test fails; it is never skipped.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use ferry_blob::{BlobError, BlobRoot, Blobs, S3Options};

const BUCKET: &str = "ferry-blob-test";

/// A moto_server child, killed (by its own pid) when dropped.
struct Moto {
    child: Child,
    port: u16,
    _log: tempfile::NamedTempFile,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free port")
}

fn start_moto() -> Moto {
    let port = free_port();
    let p = port.to_string();
    let attempts: [(&str, Vec<&str>); 2] = [
        ("moto_server", vec!["-H", "127.0.0.1", "-p", &p]),
        (
            "python3",
            vec!["-m", "moto.server", "-H", "127.0.0.1", "-p", &p],
        ),
    ];
    let mut errors = Vec::new();
    for (prog, args) in attempts {
        // The server logs every request: to a file, not a pipe nobody reads.
        let log = tempfile::NamedTempFile::new().expect("log file");
        let out = log.reopen().expect("log file");
        let spawned = Command::new(prog)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(out))
            .spawn();
        let child = match spawned {
            Ok(c) => c,
            Err(e) => {
                errors.push(format!("{prog}: {e}"));
                continue;
            }
        };
        let mut moto = Moto {
            child,
            port,
            _log: log,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return moto;
            }
            if let Ok(Some(status)) = moto.child.try_wait() {
                let err = std::fs::read_to_string(moto._log.path()).unwrap_or_default();
                errors.push(format!("{prog} exited with {status}: {err}"));
                break;
            }
            if Instant::now() > deadline {
                errors.push(format!("{prog} did not listen on port {port} within 60 s"));
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    panic!(
        "could not start moto_server (pip install 'moto[server]'): {}",
        errors.join("; ")
    );
}

/// One raw HTTP request to moto (which does not check signatures); returns
/// the status line and body.
fn http(port: u16, method: &str, path: &str) -> (String, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to moto");
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes()).expect("send");
    let mut resp = String::new();
    s.read_to_string(&mut resp).expect("read response");
    let status = resp.lines().next().unwrap_or_default().to_string();
    let body = resp
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// Every key in the bucket, as moto lists it.
fn bucket_keys(port: u16) -> Vec<String> {
    let (status, body) = http(port, "GET", &format!("/{BUCKET}?list-type=2"));
    assert!(status.contains("200"), "list bucket: {status} {body}");
    body.split("<Key>")
        .skip(1)
        .filter_map(|s| s.split_once("</Key>").map(|(k, _)| k.to_string()))
        .collect()
}

/// Multipart uploads not completed nor aborted.
fn open_uploads(port: u16) -> usize {
    let (status, body) = http(port, "GET", &format!("/{BUCKET}?uploads"));
    assert!(status.contains("200"), "list uploads: {status} {body}");
    body.matches("<UploadId>").count()
}

fn options(port: u16) -> S3Options {
    S3Options {
        endpoint: Some(format!("http://127.0.0.1:{port}")),
        region: "us-east-1".into(),
        access_key_id: "testing".into(),
        secret_access_key: "testing".into(),
        session_token: None,
        allow_http: true,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_backend_against_moto() {
    let moto = start_moto();
    let port = moto.port;
    let (status, body) = http(port, "PUT", &format!("/{BUCKET}"));
    assert!(status.contains("200"), "create bucket: {status} {body}");

    let blobs = Blobs::s3(&format!("s3://{BUCKET}/ferry/data"), options(port)).expect("s3 blobs");
    assert_eq!(blobs.local_dir(BlobRoot::Shared), None);
    let silo = BlobRoot::Silo(account("210987654321"));

    round_trip(&blobs, BlobRoot::Shared).await;
    round_trip(&blobs, silo).await;
    ranges(&blobs, BlobRoot::Shared).await;
    invalid_keys(&blobs, BlobRoot::Shared).await;
    list_prefixes(&blobs, silo).await;
    roots_apart(&blobs, BlobRoot::Shared, silo).await;
    assert!(bucket_keys(port).is_empty(), "{:?}", bucket_keys(port));

    // Where the bytes are: prefix/shared/ and prefix/accounts/<id>/.
    let key = "123456789012/obj-1";
    blobs
        .put(BlobRoot::Shared, key, chunked(b"pooled", 3))
        .await
        .expect("put");
    blobs
        .put(silo, key, chunked(b"siloed", 3))
        .await
        .expect("put");
    assert_eq!(
        bucket_keys(port),
        vec![
            "ferry/data/accounts/210987654321/123456789012/obj-1".to_string(),
            "ferry/data/shared/123456789012/obj-1".to_string(),
        ]
    );
    blobs.delete(BlobRoot::Shared, key).await.expect("delete");
    blobs.delete(silo, key).await.expect("delete");

    // Bigger than one part: a multipart upload (8 MiB parts).
    streaming(&blobs, BlobRoot::Shared, 20).await;
    // Failing before and after the multipart upload started: nothing
    // visible, no upload left open.
    failed_put(&blobs, BlobRoot::Shared, 10).await;
    failed_put(&blobs, silo, 200).await;
    assert_eq!(open_uploads(port), 0, "multipart uploads left open");
    assert!(bucket_keys(port).is_empty(), "{:?}", bucket_keys(port));

    // A put cancelled midway (after its upload started) is aborted too.
    {
        use futures_util::StreamExt;
        let body = generated(200, 64 * 1024).chain(futures_util::stream::pending());
        let r = tokio::time::timeout(
            Duration::from_secs(5),
            blobs.put(BlobRoot::Shared, "cancelled", body),
        )
        .await;
        assert!(r.is_err(), "the put cannot have finished");
        let deadline = Instant::now() + Duration::from_secs(10);
        while open_uploads(port) > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(open_uploads(port), 0, "cancelled upload not aborted");
        assert_eq!(
            blobs
                .head(BlobRoot::Shared, "cancelled")
                .await
                .expect("head"),
            None
        );
    }

    atomic_overwrite(&blobs, BlobRoot::Shared, 6).await;
    assert_eq!(
        blobs
            .sweep_temp(BlobRoot::Shared, Duration::ZERO)
            .await
            .expect("sweep"),
        0
    );

    // No prefix: roots straight under the bucket.
    let bare = Blobs::s3(&format!("s3://{BUCKET}"), options(port)).expect("s3 blobs");
    bare.put(silo, "k", chunked(b"v", 1)).await.expect("put");
    assert_eq!(
        bucket_keys(port),
        vec!["accounts/210987654321/k".to_string()]
    );
    bare.delete(silo, "k").await.expect("delete");

    // A missing bucket is an error, not a panic.
    let nowhere = Blobs::s3("s3://no-such-bucket/x", options(port)).expect("s3 blobs");
    let r = nowhere.head(BlobRoot::Shared, "k").await;
    assert!(matches!(r, Err(BlobError::Io(_)) | Ok(None)), "{r:?}");
}

#[test]
fn s3_configuration_is_checked() {
    for url in [
        "http://bucket/x",
        "s3://",
        "s3://Bad_Bucket",
        "s3://bucket/../x",
    ] {
        assert!(
            matches!(Blobs::s3(url, options(9)), Err(BlobError::Config(_))),
            "{url} accepted"
        );
    }
    let no_keys = S3Options {
        access_key_id: String::new(),
        ..options(9)
    };
    assert!(matches!(
        Blobs::s3("s3://bucket/x", no_keys),
        Err(BlobError::Config(_))
    ));
}
