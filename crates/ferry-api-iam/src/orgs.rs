use std::sync::Arc;

use async_trait::async_trait;
use ferry_core::accounts::{Account, CreateAccountRequest};
use ferry_core::orgs::{CreateAccountInput, epoch_seconds};
use ferry_core::{CoreError, Ferry, RequestContext};
use ferry_http::{ApiError, ApiRequest, ApiResult, Params, Protocol, Service, Success};
use ferry_types::AccountId;
use serde_json::{Value, json};

/// The Organizations adapter.
pub struct Organizations {
    ferry: Arc<Ferry>,
}

impl Organizations {
    /// Organizations over `ferry`.
    pub fn new(ferry: Arc<Ferry>) -> Self {
        Organizations { ferry }
    }
}

const OPERATIONS: &[&str] = &[
    "CreateAccount",
    "DescribeCreateAccountStatus",
    "DescribeAccount",
    "ListAccounts",
    "DescribeOrganization",
];

/// The one mapping of domain errors to Organizations' codes.
fn error(e: CoreError) -> ApiError {
    let mut err = ApiError::from_core(&e);
    match e {
        CoreError::AccessDenied(_) => err.code = "AccessDeniedException".into(),
        CoreError::NotFound { .. } | CoreError::InvalidInput { .. } => err.status = 400,
        CoreError::Conflict { .. } => {
            err.code = "ConstraintViolationException".into();
            err.status = 400;
        }
        CoreError::Store(_) | CoreError::Internal(_) => err.code = "ServiceException".into(),
    }
    err
}

fn required<'a>(params: &'a Value, name: &str) -> Result<&'a str, ApiError> {
    match params.get(name) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(ApiError::bad_request(
            "InvalidInputException",
            format!("{name} must be a string"),
        )),
        None => Err(ApiError::bad_request(
            "InvalidInputException",
            format!("You must specify {name}"),
        )),
    }
}

impl Organizations {
    async fn account_json(&self, a: &Account) -> Result<Value, CoreError> {
        Ok(json!({
            "Id": a.id.to_string(),
            "Arn": self.ferry.account_arn(a.id).await?,
            "Email": a.email,
            "Name": a.name,
            "Status": a.status,
            "State": a.status,
            "JoinedMethod": if a.is_management { "INVITED" } else { "CREATED" },
            "JoinedTimestamp": epoch_seconds(a.created_at),
        }))
    }

    async fn run(&self, ctx: &RequestContext, op: &str, p: &Value) -> Result<Value, ApiError> {
        let ferry = &self.ferry;
        match op {
            "CreateAccount" => {
                let mut tags = Vec::new();
                if let Some(list) = p.get("Tags") {
                    let list = list.as_array().ok_or_else(|| {
                        ApiError::bad_request("InvalidInputException", "Tags must be a list")
                    })?;
                    for t in list {
                        tags.push((
                            required(t, "Key")?.to_string(),
                            required(t, "Value")?.to_string(),
                        ));
                    }
                }
                let input = CreateAccountInput {
                    email: required(p, "Email")?.to_string(),
                    account_name: required(p, "AccountName")?.to_string(),
                    tags,
                };
                let r = ferry.org_create_account(ctx, input).await.map_err(error)?;
                Ok(json!({ "CreateAccountStatus": status_json(&r) }))
            }
            "DescribeCreateAccountStatus" => {
                let r = ferry
                    .describe_create_account_status(ctx, required(p, "CreateAccountRequestId")?)
                    .await
                    .map_err(error)?;
                Ok(json!({ "CreateAccountStatus": status_json(&r) }))
            }
            "DescribeAccount" => {
                let a = ferry
                    .describe_account(ctx, required(p, "AccountId")?)
                    .await
                    .map_err(error)?;
                Ok(json!({ "Account": self.account_json(&a).await.map_err(error)? }))
            }
            "ListAccounts" => {
                let max = match p.get("MaxResults") {
                    None => None,
                    Some(v) => Some(v.as_i64().ok_or_else(|| {
                        ApiError::bad_request(
                            "InvalidInputException",
                            "MaxResults must be a number",
                        )
                    })?),
                };
                let page = ferry
                    .list_accounts_page(ctx, max, p.get("NextToken").and_then(Value::as_str))
                    .await
                    .map_err(error)?;
                let mut accounts = Vec::with_capacity(page.accounts.len());
                for a in &page.accounts {
                    accounts.push(self.account_json(a).await.map_err(error)?);
                }
                let mut out = json!({ "Accounts": accounts });
                if let Some(t) = page.next_token {
                    out["NextToken"] = json!(t);
                }
                Ok(out)
            }
            "DescribeOrganization" => {
                let org = ferry.describe_organization(ctx).await.map_err(error)?;
                let m = &org.management;
                let m_arn = ferry.account_arn(m.id).await.map_err(error)?;
                Ok(json!({ "Organization": {
                    "Id": org.id,
                    "Arn": org.arn,
                    "FeatureSet": "ALL",
                    "MasterAccountArn": m_arn,
                    "MasterAccountId": m.id.to_string(),
                    "MasterAccountEmail": m.email,
                    "AvailablePolicyTypes": [],
                }}))
            }
            other => Err(ApiError::bad_request(
                "UnknownOperationException",
                format!("Unknown operation {other}"),
            )),
        }
    }
}

fn status_json(r: &CreateAccountRequest) -> Value {
    let mut v = json!({
        "Id": r.id,
        "AccountName": r.account_name,
        "State": r.state,
        "RequestedTimestamp": epoch_seconds(r.requested_at),
    });
    if let Some(t) = r.completed_at {
        v["CompletedTimestamp"] = json!(epoch_seconds(t));
    }
    if let Some(a) = r.account_id {
        v["AccountId"] = json!(AccountId::to_string(&a));
    }
    if let Some(f) = &r.failure_reason {
        v["FailureReason"] = json!(f);
    }
    v
}

#[async_trait]
impl Service for Organizations {
    fn signing_name(&self) -> &'static str {
        "organizations"
    }

    fn protocol(&self) -> Protocol {
        Protocol::Json {
            target_prefix: "AWSOrganizationsV20161128",
            version: "1.1",
        }
    }

    fn event_source(&self) -> &'static str {
        "organizations.amazonaws.com"
    }

    fn has_operation(&self, operation: &str) -> bool {
        OPERATIONS.contains(&operation)
    }

    async fn call(&self, ctx: &RequestContext, req: &ApiRequest) -> ApiResult {
        let empty = Value::Null;
        let p = match &req.params {
            Params::Json(v) => v,
            Params::Query(_) => &empty,
        };
        let read_only = req.operation.starts_with("Describe") || req.operation.starts_with("List");
        let mut result = ApiResult::new(
            self.run(ctx, &req.operation, p).await.map(Success::Json),
            read_only,
        );
        // Organizations acts on the management account's organization.
        result.recipient = self.ferry.management_account().await.ok();
        result
    }
}
