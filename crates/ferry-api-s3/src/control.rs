//! S3 Control's access point operations (`/v20180820/accesspoint...`), on
//! the same front-door route as S3 (S3 Control signs as `s3`).
//!
//! s3s knows only S3's operations, so these requests are answered here
//! before s3s sees them: read the account (the `x-amz-account-id` header, or
//! the `ACCOUNT.<domain>` host botocore prefixes), parse the REST-XML
//! request, call ferry-core (which authorizes), and write S3 Control's XML
//! (its own namespace, its own error document).

use axum::body::Body;
use bytes::Bytes;
use chrono::SecondsFormat;
use ferry_core::RequestContext;
use ferry_http::{RestAudit, RestBody, RestCaller, RestResponse, xml_escape};
use ferry_types::AccountId;
use http::{HeaderValue, Method, StatusCode};
use http_body_util::{BodyExt, Limited};
use percent_encoding::percent_decode_str;
use quick_xml::events::Event;
use serde_json::json;

use crate::backend::{AccessPointInfo, Backend};
use crate::error::{body_error, from_core};

/// The path prefix of every S3 Control operation (its API version).
const PREFIX: &str = "/v20180820";

/// S3 Control's XML namespace.
const NAMESPACE: &str = "http://awss3control.amazonaws.com/doc/2018-08-20/";

/// The largest request body read: an access point policy is at most 20 KB,
/// so this leaves room for XML escaping and whitespace and no more.
const MAX_BODY_BYTES: usize = 256 * 1024;

/// S3 Control's default and largest page of access points.
const MAX_RESULTS: usize = 1000;

/// Whether a request is S3 Control's rather than S3's: its path is under
/// `/v20180820` and it names an account (`x-amz-account-id`, or a host
/// `ACCOUNT.<domain>`), as every S3 Control request does. The account is
/// what tells it from S3: `v20180820` is a valid bucket name (path style)
/// and `v20180820/...` a valid key (virtual-hosted), and those requests
/// carry no account.
pub(crate) fn is_control(path: &str, headers: &http::HeaderMap, domains: &[String]) -> bool {
    (path == PREFIX || path.starts_with("/v20180820/"))
        && (headers.contains_key("x-amz-account-id") || host_account(headers, domains).is_some())
}

/// The account a host `ACCOUNT.<domain>` names.
fn host_account(headers: &http::HeaderMap, domains: &[String]) -> Option<AccountId> {
    let host = headers
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(crate::host::strip_port)
        .map(|h| h.trim_end_matches('.').to_ascii_lowercase())?;
    crate::host::subdomain(&host, domains)?.parse().ok()
}

/// The operations served here.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Op {
    Create(String),
    Get(String),
    Delete(String),
    List,
    PutPolicy(String),
    GetPolicy(String),
    DeletePolicy(String),
    GetPolicyStatus(String),
}

impl Op {
    fn name(&self) -> &'static str {
        match self {
            Op::Create(_) => "CreateAccessPoint",
            Op::Get(_) => "GetAccessPoint",
            Op::Delete(_) => "DeleteAccessPoint",
            Op::List => "ListAccessPoints",
            Op::PutPolicy(_) => "PutAccessPointPolicy",
            Op::GetPolicy(_) => "GetAccessPointPolicy",
            Op::DeletePolicy(_) => "DeleteAccessPointPolicy",
            Op::GetPolicyStatus(_) => "GetAccessPointPolicyStatus",
        }
    }

    fn access_point(&self) -> Option<&str> {
        match self {
            Op::List => None,
            Op::Create(n)
            | Op::Get(n)
            | Op::Delete(n)
            | Op::PutPolicy(n)
            | Op::GetPolicy(n)
            | Op::DeletePolicy(n)
            | Op::GetPolicyStatus(n) => Some(n),
        }
    }
}

/// An S3 Control error: status, code, message.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ControlError {
    status: StatusCode,
    code: String,
    message: String,
}

impl ControlError {
    fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        ControlError {
            status,
            code: code.to_string(),
            message: message.into(),
        }
    }

    fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "InvalidRequest", message)
    }

    fn access_denied() -> Self {
        Self::new(StatusCode::FORBIDDEN, "AccessDenied", "Access Denied")
    }

    fn from_core(e: &ferry_core::CoreError) -> Self {
        // The same mapping as S3's (codes, statuses, hidden internals).
        let s3 = from_core(e);
        ControlError {
            status: s3
                .status_code()
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            code: s3.code().as_str().to_string(),
            message: s3.message().unwrap_or_default().to_string(),
        }
    }
}

/// Which operation a method and path name. `Err` for a path S3 Control has
/// but this slice does not serve (501), or a method the path does not take
/// (405).
fn route(method: &Method, path: &str) -> Result<Op, ControlError> {
    let rest = path.strip_prefix(PREFIX).unwrap_or(path);
    let segments: Vec<String> = rest
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| percent_decode_str(s).decode_utf8_lossy().into_owned())
        .collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let not_allowed = || {
        ControlError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "The specified method is not allowed against this resource.",
        )
    };
    let op = match segments.as_slice() {
        ["accesspoint"] => match *method {
            Method::GET => Op::List,
            _ => return Err(not_allowed()),
        },
        ["accesspoint", name] => {
            let name = name.to_string();
            match *method {
                Method::PUT => Op::Create(name),
                Method::GET => Op::Get(name),
                Method::DELETE => Op::Delete(name),
                _ => return Err(not_allowed()),
            }
        }
        ["accesspoint", name, "policy"] => {
            let name = name.to_string();
            match *method {
                Method::PUT => Op::PutPolicy(name),
                Method::GET => Op::GetPolicy(name),
                Method::DELETE => Op::DeletePolicy(name),
                _ => return Err(not_allowed()),
            }
        }
        ["accesspoint", name, "policyStatus"] => match *method {
            Method::GET => Op::GetPolicyStatus(name.to_string()),
            _ => return Err(not_allowed()),
        },
        _ => {
            return Err(ControlError::new(
                StatusCode::NOT_IMPLEMENTED,
                "NotImplemented",
                "This S3 Control operation is not implemented by Ferry; access points are.",
            ));
        }
    };
    Ok(op)
}

/// The account a request acts in: `x-amz-account-id`, else a host
/// `ACCOUNT.<domain>` (botocore puts the account in front of the endpoint's
/// host as well as in the header).
fn account_of(headers: &http::HeaderMap, domains: &[String]) -> Result<AccountId, ControlError> {
    if let Some(v) = headers.get("x-amz-account-id") {
        let text = v.to_str().unwrap_or("").trim();
        return text.parse::<AccountId>().map_err(|_| {
            ControlError::invalid(format!(
                "The account id {text} is not a 12-digit account id"
            ))
        });
    }
    host_account(headers, domains).ok_or_else(|| {
        ControlError::invalid("Missing required header for this request: x-amz-account-id")
    })
}

/// One query parameter, decoded.
fn query_param(uri: &http::Uri, name: &str) -> Option<String> {
    uri.query().unwrap_or("").split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == name).then(|| {
            percent_decode_str(&v.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        })
    })
}

/// The text of each element of a small XML document, by its path below the
/// root (`Bucket`, `VpcConfiguration/VpcId`), with the root's name.
/// Namespaces are ignored (local names), entities resolved.
fn xml_fields(body: &[u8]) -> Result<(String, Vec<(String, String)>), ControlError> {
    let malformed = |detail: String| {
        ControlError::new(
            StatusCode::BAD_REQUEST,
            "MalformedXML",
            format!("The XML you provided was not well-formed: {detail}"),
        )
    };
    let mut reader = quick_xml::Reader::from_reader(body);
    let mut root = None;
    let mut stack: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut fields = Vec::new();
    // Whether the root element has ended (an unclosed document is malformed).
    let mut closed = false;
    loop {
        match reader.read_event() {
            Err(e) => return Err(malformed(e.to_string())),
            Ok(Event::Eof) => {
                if root.is_some() && !closed {
                    return Err(malformed("the document ends inside an element".into()));
                }
                break;
            }
            Ok(Event::Start(e)) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if root.is_none() {
                    root = Some(name);
                } else {
                    stack.push(name);
                }
                text.clear();
            }
            Ok(Event::Empty(e)) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if root.is_none() {
                    root = Some(name);
                    closed = true;
                } else {
                    let mut path = stack.clone();
                    path.push(name);
                    fields.push((path.join("/"), String::new()));
                }
            }
            Ok(Event::Text(t)) => {
                text.push_str(&t.decode().map_err(|e| malformed(e.to_string()))?);
            }
            Ok(Event::CData(t)) => {
                text.push_str(&t.decode().map_err(|e| malformed(e.to_string()))?);
            }
            Ok(Event::GeneralRef(r)) => {
                if let Some(c) = r.resolve_char_ref().map_err(|e| malformed(e.to_string()))? {
                    text.push(c);
                } else {
                    let name = r.decode().map_err(|e| malformed(e.to_string()))?;
                    text.push(match name.as_ref() {
                        "amp" => '&',
                        "lt" => '<',
                        "gt" => '>',
                        "quot" => '"',
                        "apos" => '\'',
                        other => return Err(malformed(format!("unknown entity &{other};"))),
                    });
                }
            }
            Ok(Event::End(_)) => {
                if stack.is_empty() {
                    closed = true;
                } else {
                    fields.push((stack.join("/"), std::mem::take(&mut text)));
                    stack.pop();
                }
                text.clear();
            }
            Ok(_) => {}
        }
    }
    let root = root.ok_or_else(|| malformed("no root element".into()))?;
    Ok((root, fields))
}

fn field<'a>(fields: &'a [(String, String)], path: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(p, _)| p == path)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// `CreateAccessPointRequest`'s fields: bucket, bucket account, VPC.
fn parse_create(body: &[u8]) -> Result<(String, Option<AccountId>, Option<String>), ControlError> {
    let (root, fields) = xml_fields(body)?;
    if root != "CreateAccessPointRequest" {
        return Err(ControlError::new(
            StatusCode::BAD_REQUEST,
            "MalformedXML",
            format!("Expected CreateAccessPointRequest, not {root}"),
        ));
    }
    let bucket = field(&fields, "Bucket")
        .ok_or_else(|| ControlError::invalid("Missing required field Bucket"))?
        .to_string();
    let bucket_account = match field(&fields, "BucketAccountId") {
        None => None,
        Some(a) => Some(a.parse::<AccountId>().map_err(|_| {
            ControlError::invalid(format!("BucketAccountId {a} is not a 12-digit account id"))
        })?),
    };
    let vpc = field(&fields, "VpcConfiguration/VpcId").map(str::to_string);
    // What Ferry cannot do is refused rather than silently dropped: scopes
    // and tags are not kept, and public access is blocked on every access
    // point (there is no anonymous access to open it to).
    let not_done = |what: &str| {
        ControlError::new(
            StatusCode::NOT_IMPLEMENTED,
            "NotImplemented",
            format!("Ferry does not implement {what} on access points"),
        )
    };
    for (path, value) in &fields {
        let top = path.split('/').next().unwrap_or("");
        if top == "Scope" {
            return Err(not_done("Scope"));
        }
        if top == "Tags" {
            return Err(not_done("Tags"));
        }
        if top == "PublicAccessBlockConfiguration" && value.trim().eq_ignore_ascii_case("false") {
            return Err(not_done("turning off the public access block"));
        }
    }
    Ok((bucket, bucket_account, vpc))
}

/// `PutAccessPointPolicyRequest`'s policy text.
fn parse_policy(body: &[u8]) -> Result<String, ControlError> {
    let (root, fields) = xml_fields(body)?;
    if root != "PutAccessPointPolicyRequest" {
        return Err(ControlError::new(
            StatusCode::BAD_REQUEST,
            "MalformedXML",
            format!("Expected PutAccessPointPolicyRequest, not {root}"),
        ));
    }
    fields
        .iter()
        .find(|(p, _)| p == "Policy")
        .map(|(_, v)| v.clone())
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| ControlError::invalid("Missing required field Policy"))
}

/// The public endpoints AWS lists for an access point in `region`.
fn endpoints_xml(region: &str) -> String {
    let entries = [
        ("ipv4", format!("s3-accesspoint.{region}.amazonaws.com")),
        (
            "fips",
            format!("s3-accesspoint-fips.{region}.amazonaws.com"),
        ),
        (
            "fips_dualstack",
            format!("s3-accesspoint-fips.dualstack.{region}.amazonaws.com"),
        ),
        (
            "dualstack",
            format!("s3-accesspoint.dualstack.{region}.amazonaws.com"),
        ),
    ];
    let mut out = String::from("<Endpoints>");
    for (k, v) in entries {
        out.push_str(&format!(
            "<entry><key>{k}</key><value>{}</value></entry>",
            xml_escape(&v)
        ));
    }
    out.push_str("</Endpoints>");
    out
}

fn vpc_xml(ap: &AccessPointInfo) -> String {
    match &ap.vpc_id {
        Some(v) => format!(
            "<VpcConfiguration><VpcId>{}</VpcId></VpcConfiguration>",
            xml_escape(v)
        ),
        None => String::new(),
    }
}

/// `GetAccessPointResult`. Public access is always blocked: Ferry has no
/// per-access-point setting, and AWS's default is all four on.
fn get_xml(ap: &AccessPointInfo, region: &str) -> String {
    format!(
        "<GetAccessPointResult xmlns=\"{NAMESPACE}\"><Name>{}</Name><Bucket>{}</Bucket>\
         <NetworkOrigin>{}</NetworkOrigin>{}<PublicAccessBlockConfiguration>\
         <BlockPublicAcls>true</BlockPublicAcls><IgnorePublicAcls>true</IgnorePublicAcls>\
         <BlockPublicPolicy>true</BlockPublicPolicy><RestrictPublicBuckets>true</RestrictPublicBuckets>\
         </PublicAccessBlockConfiguration><CreationDate>{}</CreationDate><Alias>{}</Alias>\
         <AccessPointArn>{}</AccessPointArn>{}<BucketAccountId>{}</BucketAccountId></GetAccessPointResult>",
        xml_escape(&ap.name),
        xml_escape(&ap.bucket),
        xml_escape(&ap.network_origin),
        vpc_xml(ap),
        ap.created_at.to_rfc3339_opts(SecondsFormat::Millis, true),
        xml_escape(&ap.alias),
        xml_escape(&ap.arn),
        endpoints_xml(region),
        ap.bucket_account_id,
    )
}

fn list_entry_xml(ap: &AccessPointInfo) -> String {
    format!(
        "<AccessPoint><Name>{}</Name><NetworkOrigin>{}</NetworkOrigin>{}<Bucket>{}</Bucket>\
         <AccessPointArn>{}</AccessPointArn><Alias>{}</Alias><BucketAccountId>{}</BucketAccountId></AccessPoint>",
        xml_escape(&ap.name),
        xml_escape(&ap.network_origin),
        vpc_xml(ap),
        xml_escape(&ap.bucket),
        xml_escape(&ap.arn),
        xml_escape(&ap.alias),
        ap.bucket_account_id,
    )
}

/// One page of `ListAccessPointsResult`: access points sorted by name, the
/// token the name of the last one given.
fn list_xml(mut aps: Vec<AccessPointInfo>, max: usize, after: Option<&str>) -> String {
    aps.sort_by(|a, b| a.name.cmp(&b.name));
    let mut page: Vec<&AccessPointInfo> = aps
        .iter()
        .filter(|ap| after.is_none_or(|t| ap.name.as_str() > t))
        .take(max + 1)
        .collect();
    let more = page.len() > max;
    page.truncate(max);
    let mut out = format!("<ListAccessPointsResult xmlns=\"{NAMESPACE}\"><AccessPointList>");
    for ap in &page {
        out.push_str(&list_entry_xml(ap));
    }
    out.push_str("</AccessPointList>");
    if more && let Some(last) = page.last() {
        out.push_str(&format!(
            "<NextToken>{}</NextToken>",
            xml_escape(&last.name)
        ));
    }
    out.push_str("</ListAccessPointsResult>");
    out
}

fn xml_response(status: StatusCode, xml: Option<String>, request_id: &str) -> RestResponse {
    let has_body = xml.is_some();
    let body = match xml {
        Some(x) => Body::from(format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{x}")),
        None => Body::empty(),
    };
    let mut resp = http::Response::new(body);
    *resp.status_mut() = status;
    if has_body {
        resp.headers_mut().insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/xml"),
        );
    }
    if let Ok(v) = HeaderValue::from_str(request_id) {
        resp.headers_mut().insert("x-amz-request-id", v);
    }
    resp
}

/// S3 Control's error document.
fn error_response(e: &ControlError, request_id: &str) -> RestResponse {
    let xml = format!(
        "<ErrorResponse><Error><Code>{}</Code><Message>{}</Message></Error><RequestId>{}</RequestId><HostId>{}</HostId></ErrorResponse>",
        xml_escape(&e.code),
        xml_escape(&e.message),
        xml_escape(request_id),
        xml_escape(request_id),
    );
    xml_response(e.status, Some(xml), request_id)
}

/// Reads the whole (small) request body.
async fn read_body(body: RestBody) -> Result<Bytes, ControlError> {
    match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) => {
            if e.is::<http_body_util::LengthLimitError>() {
                return Err(ControlError::invalid(format!(
                    "The request body is larger than {MAX_BODY_BYTES} bytes"
                )));
            }
            // The front door's checks (payload hash, chunk signatures,
            // timeout) keep their codes.
            let b = body_error(e.as_ref());
            Err(ControlError::new(
                StatusCode::from_u16(b.status).unwrap_or(StatusCode::BAD_REQUEST),
                &b.code,
                b.message,
            ))
        }
    }
}

/// Serves one S3 Control request.
pub(crate) async fn handle(
    backend: &dyn Backend,
    domains: &[String],
    caller: RestCaller,
    req: http::Request<RestBody>,
) -> RestResponse {
    let request_id = caller.request_id().to_string();
    let (parts, body) = req.into_parts();
    let op = route(&parts.method, parts.uri.path());
    let mut audit = RestAudit {
        event_name: op.as_ref().map_or("unknown", Op::name).to_string(),
        read_only: parts.method == Method::GET,
        ..Default::default()
    };
    let result = match op {
        Err(e) => Err(e),
        Ok(op) => {
            let account = account_of(&parts.headers, domains);
            let mut params = json!({});
            if let Ok(a) = &account {
                params["accountId"] = json!(a.to_string());
            }
            if let Some(n) = op.access_point() {
                params["name"] = json!(n);
            }
            if let Some(b) = query_param(&parts.uri, "bucket") {
                params["bucket"] = json!(b);
            }
            audit.request_parameters = Some(params);
            let ctx = caller.context();
            match account {
                Err(e) => Err(e),
                // The core refuses this too (it decides; an anonymous
                // caller's account is never one); refusing here as well
                // spares reading the body, so a client waiting on
                // 100-continue gets its answer at once.
                Ok(account) if account != ctx.principal.account => {
                    Err(ControlError::access_denied())
                }
                Ok(account) => run(backend, ctx, account, &op, &parts.uri, body).await,
            }
        }
    };
    let mut resp = match result {
        Ok((status, xml)) => xml_response(status, xml, &request_id),
        Err(e) => {
            audit.error_code = Some(e.code.clone());
            audit.error_message = Some(e.message.clone());
            error_response(&e, &request_id)
        }
    };
    resp.extensions_mut().insert(audit);
    resp
}

/// Runs one operation for an authorized-to-try caller; the core decides.
async fn run(
    backend: &dyn Backend,
    ctx: &RequestContext,
    account: AccountId,
    op: &Op,
    uri: &http::Uri,
    body: RestBody,
) -> Result<(StatusCode, Option<String>), ControlError> {
    let core = |e: ferry_core::CoreError| ControlError::from_core(&e);
    match op {
        Op::Create(name) => {
            let raw = read_body(body).await?;
            let (bucket, bucket_account, vpc) = parse_create(&raw)?;
            let ap = backend
                .create_access_point(ctx, account, name, &bucket, bucket_account, vpc)
                .await
                .map_err(core)?;
            Ok((
                StatusCode::OK,
                Some(format!(
                    "<CreateAccessPointResult xmlns=\"{NAMESPACE}\"><AccessPointArn>{}</AccessPointArn><Alias>{}</Alias></CreateAccessPointResult>",
                    xml_escape(&ap.arn),
                    xml_escape(&ap.alias)
                )),
            ))
        }
        Op::Get(name) => {
            let ap = backend
                .get_access_point(ctx, account, name)
                .await
                .map_err(core)?;
            Ok((StatusCode::OK, Some(get_xml(&ap, &ctx.region))))
        }
        Op::Delete(name) => {
            backend
                .delete_access_point(ctx, account, name)
                .await
                .map_err(core)?;
            Ok((StatusCode::NO_CONTENT, None))
        }
        Op::List => {
            let max = match query_param(uri, "maxResults") {
                None => MAX_RESULTS,
                Some(m) => match m.parse::<usize>() {
                    Ok(n) if (1..=MAX_RESULTS).contains(&n) => n,
                    _ => {
                        return Err(ControlError::invalid(format!(
                            "maxResults must be between 1 and {MAX_RESULTS}"
                        )));
                    }
                },
            };
            let bucket = query_param(uri, "bucket");
            let token = query_param(uri, "nextToken");
            let aps = backend
                .list_access_points(ctx, account, bucket.as_deref())
                .await
                .map_err(core)?;
            Ok((StatusCode::OK, Some(list_xml(aps, max, token.as_deref()))))
        }
        Op::PutPolicy(name) => {
            let raw = read_body(body).await?;
            let policy = parse_policy(&raw)?;
            backend
                .put_access_point_policy(ctx, account, name, &policy)
                .await
                .map_err(core)?;
            Ok((StatusCode::OK, None))
        }
        Op::GetPolicy(name) => {
            let policy = backend
                .get_access_point_policy(ctx, account, name)
                .await
                .map_err(core)?;
            Ok((
                StatusCode::OK,
                Some(format!(
                    "<GetAccessPointPolicyResult xmlns=\"{NAMESPACE}\"><Policy>{}</Policy></GetAccessPointPolicyResult>",
                    xml_escape(&policy)
                )),
            ))
        }
        Op::DeletePolicy(name) => {
            backend
                .delete_access_point_policy(ctx, account, name)
                .await
                .map_err(core)?;
            Ok((StatusCode::NO_CONTENT, None))
        }
        Op::GetPolicyStatus(name) => {
            let public = backend
                .get_access_point_policy_status(ctx, account, name)
                .await
                .map_err(core)?;
            Ok((
                StatusCode::OK,
                Some(format!(
                    "<GetAccessPointPolicyStatusResult xmlns=\"{NAMESPACE}\"><PolicyStatus><IsPublic>{public}</IsPublic></PolicyStatus></GetAccessPointPolicyStatusResult>"
                )),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_access_point_paths() {
        let ap = |s: &str| s.to_string();
        assert_eq!(
            route(&Method::PUT, "/v20180820/accesspoint/ap1"),
            Ok(Op::Create(ap("ap1")))
        );
        assert_eq!(route(&Method::GET, "/v20180820/accesspoint"), Ok(Op::List));
        assert_eq!(
            route(&Method::GET, "/v20180820/accesspoint/ap1/policyStatus"),
            Ok(Op::GetPolicyStatus(ap("ap1")))
        );
        assert_eq!(
            route(&Method::DELETE, "/v20180820/accesspoint/ap1/policy"),
            Ok(Op::DeletePolicy(ap("ap1")))
        );
        assert_eq!(
            route(&Method::POST, "/v20180820/accesspoint/ap1").map_err(|e| e.status.as_u16()),
            Err(405)
        );
        assert_eq!(
            route(&Method::GET, "/v20180820/configuration/publicAccessBlock")
                .map_err(|e| e.status.as_u16()),
            Err(501)
        );
    }

    #[test]
    fn control_requests_name_an_account() {
        let domains = vec!["localhost".to_string()];
        let is = |path: &str, headers: &[(&'static str, &'static str)]| {
            let mut map = http::HeaderMap::new();
            for (k, v) in headers {
                map.insert(
                    http::HeaderName::from_static(k),
                    HeaderValue::from_static(v),
                );
            }
            is_control(path, &map, &domains)
        };
        let account = ("x-amz-account-id", "111122223333");
        assert!(is("/v20180820/accesspoint", &[account]));
        assert!(is(
            "/v20180820/accesspoint",
            &[("host", "111122223333.localhost:4566")]
        ));
        // A bucket `v20180820` (path style), a key `v20180820/...` in a
        // virtual-hosted bucket, a key in a bucket `v20180820x`: S3's.
        assert!(!is("/v20180820/accesspoint", &[("host", "127.0.0.1:4566")]));
        assert!(!is(
            "/v20180820/accesspoint",
            &[("host", "photos.localhost:4566")]
        ));
        assert!(!is("/v20180820x/key", &[account]));
    }

    #[test]
    fn parses_request_bodies_with_entities() {
        let body = br#"<?xml version="1.0" encoding="UTF-8"?>
<CreateAccessPointRequest xmlns="http://awss3control.amazonaws.com/doc/2018-08-20/"><Bucket>data</Bucket><BucketAccountId>111122223333</BucketAccountId><VpcConfiguration><VpcId>vpc-1</VpcId></VpcConfiguration></CreateAccessPointRequest>"#;
        let (bucket, account, vpc) = parse_create(body).expect("parses");
        assert_eq!(bucket, "data");
        assert_eq!(
            account.map(|a| a.to_string()).as_deref(),
            Some("111122223333")
        );
        assert_eq!(vpc.as_deref(), Some("vpc-1"));

        let body = br#"<PutAccessPointPolicyRequest xmlns="http://awss3control.amazonaws.com/doc/2018-08-20/"><Policy>{"a":"&lt;&amp;&gt;&#34;"}</Policy></PutAccessPointPolicyRequest>"#;
        assert_eq!(parse_policy(body).expect("parses"), r#"{"a":"<&>""}"#);

        assert_eq!(
            parse_create(b"<CreateAccessPointRequest><Bucket>x</Bucket>").map_err(|e| e.code),
            Err("MalformedXML".to_string())
        );
        let blocked = b"<CreateAccessPointRequest><Bucket>b</Bucket><PublicAccessBlockConfiguration><BlockPublicAcls>true</BlockPublicAcls></PublicAccessBlockConfiguration></CreateAccessPointRequest>";
        assert!(parse_create(blocked).is_ok());
        for refused in [
            &b"<CreateAccessPointRequest><Bucket>b</Bucket><PublicAccessBlockConfiguration><BlockPublicPolicy>false</BlockPublicPolicy></PublicAccessBlockConfiguration></CreateAccessPointRequest>"[..],
            b"<CreateAccessPointRequest><Bucket>b</Bucket><Tags><Tag><Key>k</Key><Value>v</Value></Tag></Tags></CreateAccessPointRequest>",
            b"<CreateAccessPointRequest><Bucket>b</Bucket><Scope><Prefixes><Prefix>p</Prefix></Prefixes></Scope></CreateAccessPointRequest>",
        ] {
            assert_eq!(
                parse_create(refused).map_err(|e| (e.status.as_u16(), e.code)),
                Err((501, "NotImplemented".to_string()))
            );
        }
        assert_eq!(
            parse_create(b"<CreateAccessPointRequest/>").map_err(|e| e.code),
            Err("InvalidRequest".to_string())
        );
        assert!(parse_policy(b"not xml at all <").is_err());
        assert!(parse_policy(b"<Other><Policy>{}</Policy></Other>").is_err());
    }

    #[test]
    fn account_from_header_or_host() {
        let domains = vec!["localhost".to_string()];
        let mut h = http::HeaderMap::new();
        h.insert(
            http::header::HOST,
            HeaderValue::from_static("111122223333.localhost:4566"),
        );
        assert_eq!(
            account_of(&h, &domains).map(|a| a.to_string()),
            Ok("111122223333".to_string())
        );
        h.insert("x-amz-account-id", HeaderValue::from_static("222233334444"));
        assert_eq!(
            account_of(&h, &domains).map(|a| a.to_string()),
            Ok("222233334444".to_string())
        );
        h.insert("x-amz-account-id", HeaderValue::from_static("nope"));
        assert!(account_of(&h, &domains).is_err());
        let mut h = http::HeaderMap::new();
        h.insert(
            http::header::HOST,
            HeaderValue::from_static("127.0.0.1:4566"),
        );
        assert!(account_of(&h, &domains).is_err());
    }
}
