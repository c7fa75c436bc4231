use async_trait::async_trait;
use ferry_core::{Ferry, RequestContext};
use ferry_http::{ApiRequest, ApiResult, Protocol, Service, Success};
use std::sync::Arc;

/// The STS adapter.
pub struct Sts {
    ferry: Arc<Ferry>,
}

impl Sts {
    /// STS over `ferry`.
    pub fn new(ferry: Arc<Ferry>) -> Self {
        Sts { ferry }
    }
}

const OPERATIONS: &[&str] = &["GetCallerIdentity"];

#[async_trait]
impl Service for Sts {
    fn signing_name(&self) -> &'static str {
        "sts"
    }

    fn protocol(&self) -> Protocol {
        Protocol::Query {
            xmlns: "https://sts.amazonaws.com/doc/2011-06-15/",
        }
    }

    fn event_source(&self) -> &'static str {
        "sts.amazonaws.com"
    }

    fn has_operation(&self, operation: &str) -> bool {
        OPERATIONS.contains(&operation)
    }

    async fn call(&self, ctx: &RequestContext, req: &ApiRequest) -> ApiResult {
        match req.operation.as_str() {
            "GetCallerIdentity" => {
                let id = self.ferry.get_caller_identity(ctx);
                ApiResult::new(
                    Ok(Success::Xml(format!(
                        "<UserId>{}</UserId><Account>{}</Account><Arn>{}</Arn>",
                        ferry_http::xml_escape(&id.user_id),
                        id.account,
                        ferry_http::xml_escape(&id.arn)
                    ))),
                    true,
                )
            }
            other => ApiResult::new(
                Err(ferry_http::ApiError::bad_request(
                    "InvalidAction",
                    format!("Could not find operation {other}"),
                )),
                true,
            ),
        }
    }
}
