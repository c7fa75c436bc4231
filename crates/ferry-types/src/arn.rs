use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// An Amazon Resource Name: `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Arn {
    /// Partition, `aws` in Ferry.
    pub partition: String,
    /// Service namespace, e.g. `iam`, `s3`, `sqs`.
    pub service: String,
    /// Region, empty for global services.
    pub region: String,
    /// Account id, empty for some resources (S3 buckets).
    pub account: String,
    /// Everything after the fifth colon.
    pub resource: String,
}

/// A string that is not an ARN.
#[derive(Debug, thiserror::Error)]
#[error("invalid ARN {0:?}")]
pub struct InvalidArn(pub String);

impl Arn {
    /// Builds an ARN in the `aws` partition.
    pub fn new(service: &str, region: &str, account: &str, resource: &str) -> Self {
        Arn {
            partition: "aws".into(),
            service: service.into(),
            region: region.into(),
            account: account.into(),
            resource: resource.into(),
        }
    }
}

impl FromStr for Arn {
    type Err = InvalidArn;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut parts = s.splitn(6, ':');
        let (Some("arn"), Some(p), Some(svc), Some(r), Some(a), Some(res)) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(InvalidArn(s.to_string()));
        };
        if p.is_empty() || svc.is_empty() || res.is_empty() {
            return Err(InvalidArn(s.to_string()));
        }
        Ok(Arn::new(svc, r, a, res)).map(|mut arn| {
            arn.partition = p.to_string();
            arn
        })
    }
}

impl TryFrom<String> for Arn {
    type Error = InvalidArn;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Arn> for String {
    fn from(a: Arn) -> String {
        a.to_string()
    }
}

impl fmt::Display for Arn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "arn:{}:{}:{}:{}:{}",
            self.partition, self.service, self.region, self.account, self.resource
        )
    }
}

impl fmt::Debug for Arn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Arn({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        let s = "arn:aws:sts::123456789012:assumed-role/Vendor/session:with:colons";
        let arn: Arn = s.parse().expect("valid");
        assert_eq!(arn.service, "sts");
        assert_eq!(arn.region, "");
        assert_eq!(arn.account, "123456789012");
        assert_eq!(arn.resource, "assumed-role/Vendor/session:with:colons");
        assert_eq!(arn.to_string(), s);
    }

    #[test]
    fn rejects_non_arns() {
        for bad in [
            "",
            "arn:aws",
            "urn:aws:s3:::b",
            "arn::s3:::b",
            "arn:aws:s3:::",
        ] {
            assert!(bad.parse::<Arn>().is_err(), "{bad}");
        }
    }
}
