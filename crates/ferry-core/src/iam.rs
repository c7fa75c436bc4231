//! IAM: users, roles, access keys, policies. The AWS managed policies Ferry
//! has built in live here too.

use crate::{CoreError, Ferry};

/// The AWS managed policies Ferry knows, by name, with their documents.
pub const AWS_MANAGED: &[(&str, &str)] = &[
    (
        "AdministratorAccess",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
    ),
    (
        "ReadOnlyAccess",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["*:Get*","*:List*","*:Describe*","*:Head*","*:Lookup*","s3:GetObject","sqs:ReceiveMessage"],"Resource":"*"}]}"#,
    ),
    (
        "AmazonS3FullAccess",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*","s3-object-lambda:*"],"Resource":"*"}]}"#,
    ),
    (
        "AmazonS3ReadOnlyAccess",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:Get*","s3:List*","s3:Describe*","s3-object-lambda:Get*","s3-object-lambda:List*"],"Resource":"*"}]}"#,
    ),
    (
        "AmazonSQSFullAccess",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sqs:*"],"Resource":"*"}]}"#,
    ),
    (
        "AmazonEventBridgeFullAccess",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["events:*","schemas:*","scheduler:*","pipes:*"],"Resource":"*"}]}"#,
    ),
];

/// The document of a managed policy by ARN (`arn:aws:iam::aws:policy/NAME`
/// for AWS managed ones), if it exists.
pub async fn managed_policy_document(
    _ferry: &Ferry,
    arn: &str,
) -> Result<Option<String>, CoreError> {
    if let Some(name) = arn.strip_prefix("arn:aws:iam::aws:policy/") {
        let name = name.rsplit('/').next().unwrap_or(name);
        return Ok(AWS_MANAGED
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, d)| d.to_string()));
    }
    // Customer managed policies arrive with the managed policy API.
    Ok(None)
}
