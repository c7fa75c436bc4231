use axum::body::Body;
use axum::response::Response;
use http::{HeaderValue, StatusCode};

use crate::service::{ApiError, Success};

/// The wire protocols AWS services speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// `Action=...&Version=...` in, XML out (IAM, STS).
    Query {
        /// The XML namespace of responses.
        xmlns: &'static str,
    },
    /// `X-Amz-Target: Prefix.Operation`, JSON in and out.
    Json {
        /// The target prefix (`AWSOrganizationsV20161128`).
        target_prefix: &'static str,
        /// `1.0` or `1.1` (the content type's version).
        version: &'static str,
    },
}

/// Escapes text for XML content and attributes.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

pub(crate) fn with_request_id(mut resp: Response, request_id: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(request_id) {
        resp.headers_mut().insert("x-amzn-requestid", v.clone());
        resp.headers_mut().insert("x-amz-request-id", v);
    }
    resp
}

fn build(status: u16, content_type: &str, body: impl Into<Body>, request_id: &str) -> Response {
    let mut resp = Response::new(body.into());
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(v) = HeaderValue::from_str(content_type) {
        resp.headers_mut().insert(http::header::CONTENT_TYPE, v);
    }
    with_request_id(resp, request_id)
}

impl Protocol {
    /// Renders a success.
    pub fn success(&self, operation: &str, body: Success, request_id: &str) -> Response {
        match (self, body) {
            (Protocol::Query { xmlns }, Success::Xml(inner)) => build(
                200,
                "text/xml",
                format!(
                    "<{operation}Response xmlns=\"{xmlns}\"><{operation}Result>{inner}</{operation}Result>\
                     <ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></{operation}Response>"
                ),
                request_id,
            ),
            (Protocol::Json { version, .. }, Success::Json(v)) => build(
                200,
                &format!("application/x-amz-json-{version}"),
                // Straight to bytes: `Display` goes through a formatter
                // adapter (a third of this call's time, measured).
                serde_json::to_vec(&v).unwrap_or_default(),
                request_id,
            ),
            (p, _) => self.error(
                &ApiError::new(
                    500,
                    "InternalFailure",
                    format!("adapter returned the wrong body for {p:?}"),
                ),
                request_id,
            ),
        }
    }

    /// Renders an error the way the protocol's SDKs parse it.
    pub fn error(&self, e: &ApiError, request_id: &str) -> Response {
        match self {
            Protocol::Query { xmlns } => {
                let kind = if e.status >= 500 {
                    "Receiver"
                } else {
                    "Sender"
                };
                build(
                    e.status,
                    "text/xml",
                    format!(
                        "<ErrorResponse xmlns=\"{xmlns}\"><Error><Type>{kind}</Type><Code>{}</Code>\
                         <Message>{}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>",
                        xml_escape(&e.code),
                        xml_escape(&e.message)
                    ),
                    request_id,
                )
            }
            Protocol::Json { version, .. } => {
                let kind = e.json_type.as_deref().unwrap_or(&e.code);
                let mut resp = build(
                    e.status,
                    &format!("application/x-amz-json-{version}"),
                    serde_json::json!({"__type": kind, "message": e.message}).to_string(),
                    request_id,
                );
                if let Ok(v) = HeaderValue::from_str(kind) {
                    resp.headers_mut().insert("x-amzn-errortype", v);
                }
                if e.json_type.is_some() {
                    let side = if e.status >= 500 {
                        "Receiver"
                    } else {
                        "Sender"
                    };
                    if let Ok(v) = HeaderValue::from_str(&format!("{};{side}", e.code)) {
                        resp.headers_mut().insert("x-amzn-query-error", v);
                    }
                }
                resp
            }
        }
    }

    /// The code JSON services use for an authentication failure that query
    /// services spell differently.
    pub fn auth_code(&self, query_code: &str) -> String {
        match (self, query_code) {
            (Protocol::Json { .. }, "SignatureDoesNotMatch") => "InvalidSignatureException".into(),
            (Protocol::Json { .. }, "IncompleteSignature") => "IncompleteSignatureException".into(),
            (Protocol::Json { .. }, "MissingAuthenticationToken") => {
                "MissingAuthenticationTokenException".into()
            }
            (Protocol::Json { .. }, "InvalidClientTokenId") => "UnrecognizedClientException".into(),
            (Protocol::Json { .. }, "ExpiredToken") => "ExpiredTokenException".into(),
            _ => query_code.into(),
        }
    }
}

/// A plain JSON response for Ferry's own endpoints.
pub fn ferry_json(status: u16, v: &serde_json::Value, request_id: &str) -> Response {
    build(status, "application/json", v.to_string(), request_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_is_escaped() {
        assert_eq!(xml_escape("<a&'\">"), "&lt;a&amp;&apos;&quot;&gt;");
    }

    #[test]
    fn errors_carry_request_ids() {
        let p = Protocol::Query { xmlns: "x" };
        let r = p.error(&ApiError::bad_request("InvalidAction", "nope"), "rid-1");
        assert_eq!(r.status(), 400);
        assert_eq!(r.headers()["x-amzn-requestid"], "rid-1");
        assert_eq!(r.headers()["x-amz-request-id"], "rid-1");
    }
}
