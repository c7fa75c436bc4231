//! Query-protocol helpers shared by IAM and STS: reading parameters
//! (including `X.member.N` lists) and writing XML.

use ferry_core::CoreError;
use ferry_http::{ApiError, Params, xml_escape};
use ferry_types::{Timestamp, iso8601};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// What IAM percent-encodes in policy documents it returns.
const DOC: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// A policy document as IAM returns it: URL-encoded.
pub fn doc(s: &str) -> String {
    utf8_percent_encode(s, DOC).to_string()
}

/// `<name>text</name>`, escaped.
pub fn el(name: &str, text: impl AsRef<str>) -> String {
    format!("<{name}>{}</{name}>", xml_escape(text.as_ref()))
}

/// A timestamp element.
pub fn time(name: &str, t: Timestamp) -> String {
    el(name, iso8601(t))
}

/// The one mapping of domain errors to the query services' codes and
/// statuses (IAM's `NoSuchEntity` is a 404, conflicts 409).
pub fn error(e: CoreError) -> ApiError {
    let mut err = ApiError::from_core(&e);
    match &e {
        CoreError::NotFound { .. } => err.status = 404,
        CoreError::Conflict { .. } => err.status = 409,
        _ => {}
    }
    err
}

/// Reads parameters of one query request.
pub struct Query<'a>(pub &'a Params);

impl Query<'_> {
    /// An optional parameter.
    pub fn opt(&self, name: &str) -> Option<&str> {
        self.0.get(name)
    }

    /// A required parameter.
    pub fn req(&self, name: &str) -> Result<&str, ApiError> {
        self.opt(name).ok_or_else(|| {
            ApiError::bad_request(
                "ValidationError",
                format!(
                    "1 validation error detected: Value null at '{}' failed to satisfy constraint: \
                     Member must not be null",
                    lower_first(name)
                ),
            )
        })
    }

    /// An optional integer.
    pub fn int(&self, name: &str) -> Result<Option<i64>, ApiError> {
        self.opt(name)
            .map(|v| {
                v.parse::<i64>().map_err(|_| {
                    ApiError::bad_request("ValidationError", format!("{name} must be an integer"))
                })
            })
            .transpose()
    }

    /// An optional boolean (`true` / `false`).
    pub fn bool(&self, name: &str) -> Result<Option<bool>, ApiError> {
        self.opt(name)
            .map(|v| match v.to_ascii_lowercase().as_str() {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(ApiError::bad_request(
                    "ValidationError",
                    format!("{name} must be true or false"),
                )),
            })
            .transpose()
    }

    /// `Name.member.1`, `Name.member.2`, ...
    pub fn list(&self, name: &str) -> Vec<String> {
        (1..)
            .map_while(|i| self.opt(&format!("{name}.member.{i}")).map(str::to_string))
            .collect()
    }

    /// `Name.member.N.Field` for each N.
    pub fn list_of(&self, name: &str, field: &str) -> Vec<String> {
        (1..)
            .map_while(|i| {
                self.opt(&format!("{name}.member.{i}.{field}"))
                    .map(str::to_string)
            })
            .collect()
    }

    /// `Tags.member.N.Key` / `.Value` pairs.
    pub fn tags(&self) -> Result<Vec<(String, String)>, ApiError> {
        let mut tags = Vec::new();
        for i in 1.. {
            let k = self.opt(&format!("Tags.member.{i}.Key"));
            let v = self.opt(&format!("Tags.member.{i}.Value"));
            match (k, v) {
                (Some(k), v) => tags.push((k.to_string(), v.unwrap_or_default().to_string())),
                (None, None) => break,
                (None, Some(_)) => {
                    return Err(ApiError::bad_request(
                        "ValidationError",
                        format!("Tags.member.{i}.Key must be given"),
                    ));
                }
            }
        }
        Ok(tags)
    }
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}
