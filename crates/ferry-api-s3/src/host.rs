//! Virtual-hosted-style addressing: `BUCKET.<domain>` names the bucket,
//! for the same domains the front door routes to S3 by.

use std::borrow::Cow;

use s3s::S3Result;
use s3s::host::{S3Host, VirtualHost};

/// Reads the bucket from the `Host` header when it is a subdomain of one of
/// Ferry's domains; any other host (`127.0.0.1:4566`, `localhost:4566`)
/// means path style (`/BUCKET/KEY`).
#[derive(Debug, Clone)]
pub struct FerryHost {
    domains: Vec<String>,
}

impl FerryHost {
    /// The base domains (`localhost`, `s3.example.com`).
    pub fn new(domains: Vec<String>) -> Self {
        let domains = domains
            .into_iter()
            .map(|d| d.trim_end_matches('.').to_ascii_lowercase())
            .filter(|d| !d.is_empty())
            .collect();
        FerryHost { domains }
    }

    /// The base domains.
    pub(crate) fn domains(&self) -> &[String] {
        &self.domains
    }

    /// The bucket a host names, if any.
    fn bucket_of(&self, host: &str) -> Option<String> {
        let host = strip_port(host).trim_end_matches('.').to_ascii_lowercase();
        subdomain(&host, &self.domains).map(str::to_string)
    }
}

/// The part of a (lowercase, portless) `host` before one of `domains`, if
/// it is a proper subdomain of one.
pub(crate) fn subdomain<'a>(host: &'a str, domains: &[String]) -> Option<&'a str> {
    domains.iter().find_map(|d| {
        let prefix = host.strip_suffix(d.as_str())?.strip_suffix('.')?;
        (!prefix.is_empty()).then_some(prefix)
    })
}

/// The access point an access point host names: `NAME-ACCOUNT` (what
/// botocore makes of an access point ARN, `NAME-ACCOUNT.<endpoint host>`),
/// as the name and the account.
pub(crate) fn access_point_of(prefix: &str) -> Option<(&str, ferry_types::AccountId)> {
    let (name, account) = prefix.rsplit_once('-')?;
    if name.is_empty() || name.contains('.') || account.len() != 12 {
        return None;
    }
    Some((name, account.parse().ok()?))
}

/// `name:4566` -> `name`; `[::1]:4566` keeps its brackets.
pub(crate) fn strip_port(host: &str) -> &str {
    match host.rsplit_once(':') {
        Some((h, port)) if !h.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    }
}

impl S3Host for FerryHost {
    fn parse_host_header<'a>(&'a self, host: &'a str) -> S3Result<VirtualHost<'a>> {
        Ok(match self.bucket_of(host) {
            Some(bucket) => VirtualHost::new(Cow::Borrowed(host)).with_bucket(bucket),
            // No bucket in the host: s3s reads it from the path.
            None => VirtualHost::new(Cow::Borrowed(host)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subdomains_of_a_domain_name_buckets() {
        let h = FerryHost::new(vec!["localhost".into(), "s3.example.com.".into()]);
        assert_eq!(
            h.bucket_of("photos.localhost:4566").as_deref(),
            Some("photos")
        );
        assert_eq!(h.bucket_of("Photos.LOCALHOST").as_deref(), Some("photos"));
        assert_eq!(
            h.bucket_of("my.dotted.bucket.s3.example.com").as_deref(),
            Some("my.dotted.bucket")
        );
        assert_eq!(h.bucket_of("localhost:4566"), None);
        assert_eq!(h.bucket_of("127.0.0.1:4566"), None);
        assert_eq!(h.bucket_of("notlocalhost"), None);
        assert_eq!(h.bucket_of("example.com"), None);
    }

    #[test]
    fn access_point_hosts_name_the_access_point_and_account() {
        let (name, account) = access_point_of("vendor-ap-111122223333").expect("an access point");
        assert_eq!(
            (name, account.to_string().as_str()),
            ("vendor-ap", "111122223333")
        );
        assert!(access_point_of("photos").is_none());
        assert!(access_point_of("ap-12345").is_none());
        assert!(access_point_of("-111122223333").is_none());
        assert!(access_point_of("a.b-111122223333").is_none());
    }
}
