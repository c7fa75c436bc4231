//! A minimal SigV4-signing HTTP/1.1 client for `ferry ... --endpoint`.

use anyhow::{Context, bail};
use bytes::Bytes;
use ferry_sigv4::Credentials;
use http::{HeaderMap, HeaderValue, Method, Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

pub struct Client {
    endpoint: Uri,
    creds: Credentials,
}

impl Client {
    pub fn new(endpoint: &str, creds: Credentials) -> anyhow::Result<Self> {
        let endpoint: Uri = endpoint
            .parse()
            .with_context(|| format!("endpoint {endpoint:?} is not a URL"))?;
        if endpoint.scheme_str() != Some("http") {
            bail!("endpoint must be an http:// URL");
        }
        Ok(Client { endpoint, creds })
    }

    /// Sends a signed request; returns the status and the body as JSON.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> anyhow::Result<(u16, serde_json::Value)> {
        let authority = self
            .endpoint
            .authority()
            .context("endpoint has no host")?
            .clone();
        let uri: Uri = format!("http://{authority}{path}").parse()?;
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::HOST,
            HeaderValue::from_str(authority.as_str())?,
        );
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        ferry_sigv4::sign_headers(
            &method,
            &uri,
            &mut headers,
            &ferry_sigv4::sha256_hex(body.as_bytes()),
            &self.creds,
            ferry_types::DEFAULT_REGION,
            "ferry",
            chrono::Utc::now(),
        )?;
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .body(Full::new(Bytes::from(body)))?;
        *req.headers_mut() = headers;

        let stream = TcpStream::connect(authority.as_str())
            .await
            .with_context(|| format!("connecting to {authority}"))?;
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(conn);
        let resp = sender.send_request(req).await?;
        let status = resp.status().as_u16();
        let bytes = resp.into_body().collect().await?.to_bytes();
        let json = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| serde_json::json!({"message": String::from_utf8_lossy(&bytes)}));
        Ok((status, json))
    }
}
