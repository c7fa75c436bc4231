use std::sync::Arc;

use async_trait::async_trait;
use ferry_core::sts::{AssumeRoleInput, SessionCredentials};
use ferry_core::{Ferry, RequestContext};
use ferry_http::{ApiError, ApiRequest, ApiResult, Protocol, Service, Success};
use ferry_types::AccountId;

use crate::wire::{Query, el, error, time};

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

const OPERATIONS: &[&str] = &[
    "GetCallerIdentity",
    "AssumeRole",
    "GetSessionToken",
    "GetAccessKeyInfo",
];

fn credentials(c: &SessionCredentials) -> String {
    format!(
        "<Credentials>{}{}{}{}</Credentials>",
        el("AccessKeyId", &c.access_key_id),
        el("SecretAccessKey", &c.secret_access_key),
        el("SessionToken", &c.session_token),
        time("Expiration", c.expiration)
    )
}

impl Sts {
    async fn run(
        &self,
        ctx: &RequestContext,
        req: &ApiRequest,
    ) -> Result<(String, Option<AccountId>), ApiError> {
        let q = Query(&req.params);
        let ferry = &self.ferry;
        match req.operation.as_str() {
            "GetCallerIdentity" => {
                let id = ferry.get_caller_identity(ctx);
                Ok((
                    format!(
                        "{}{}{}",
                        el("UserId", &id.user_id),
                        el("Account", id.account.to_string()),
                        el("Arn", &id.arn)
                    ),
                    None,
                ))
            }
            "AssumeRole" => {
                let tags = q.tags()?;
                let input = AssumeRoleInput {
                    role_arn: q.req("RoleArn")?.to_string(),
                    role_session_name: q.req("RoleSessionName")?.to_string(),
                    external_id: q.opt("ExternalId").map(str::to_string),
                    duration_seconds: q.int("DurationSeconds")?,
                    policy: q.opt("Policy").map(str::to_string),
                    policy_arns: q.list_of("PolicyArns", "arn"),
                    tags,
                    transitive_tag_keys: q.list("TransitiveTagKeys"),
                    source_identity: q.opt("SourceIdentity").map(str::to_string),
                };
                // The role's account receives the call too (CloudTrail
                // shows an AssumeRole in both accounts).
                let recipient = input
                    .role_arn
                    .split(':')
                    .nth(4)
                    .and_then(|a| a.parse::<AccountId>().ok());
                let r = ferry.assume_role(ctx, input).await.map_err(error)?;
                let mut xml = credentials(&r.credentials);
                xml.push_str(&format!(
                    "<AssumedRoleUser>{}{}</AssumedRoleUser>",
                    el("AssumedRoleId", &r.assumed_role_id),
                    el("Arn", &r.arn)
                ));
                if let Some(p) = r.packed_policy_size {
                    xml.push_str(&el("PackedPolicySize", p.to_string()));
                }
                if let Some(s) = &r.source_identity {
                    xml.push_str(&el("SourceIdentity", s));
                }
                Ok((xml, recipient))
            }
            "GetSessionToken" => {
                let c = ferry
                    .get_session_token(ctx, q.int("DurationSeconds")?)
                    .await
                    .map_err(error)?;
                Ok((credentials(&c), None))
            }
            "GetAccessKeyInfo" => {
                let a = ferry
                    .get_access_key_info(ctx, q.req("AccessKeyId")?)
                    .await
                    .map_err(error)?;
                Ok((el("Account", a.to_string()), None))
            }
            other => Err(ApiError::bad_request(
                "InvalidAction",
                format!("Could not find operation {other}"),
            )),
        }
    }
}

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
        let read_only = matches!(
            req.operation.as_str(),
            "GetCallerIdentity" | "GetAccessKeyInfo"
        );
        match self.run(ctx, req).await {
            Ok((xml, recipient)) => ApiResult {
                outcome: Ok(Success::Xml(xml)),
                recipient,
                read_only,
            },
            Err(e) => {
                let recipient = (req.operation == "AssumeRole")
                    .then(|| {
                        req.params
                            .get("RoleArn")
                            .and_then(|a| a.split(':').nth(4))
                            .and_then(|a| a.parse().ok())
                    })
                    .flatten();
                ApiResult {
                    outcome: Err(e),
                    recipient,
                    read_only,
                }
            }
        }
    }
}
