//! Who makes a request ([`Principal`]) and how the `Principal` /
//! `NotPrincipal` element of a resource-based policy matches it.

use serde::Serialize;

/// The kind of caller, which decides how policies combine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PrincipalKind {
    /// The root user of `account`: every right in its own account.
    Root,
    /// An IAM user.
    User,
    /// A role session (`AssumeRole*`); `role_arn` is the role's ARN,
    /// the principal's `arn` the session ARN
    /// (`arn:aws:sts::ACCT:assumed-role/ROLE/SESSION`).
    AssumedRole {
        /// ARN of the assumed role (`arn:aws:iam::ACCT:role/path/ROLE`).
        role_arn: String,
    },
    /// An STS federated user session (`GetFederationToken`); `user_arn` is
    /// the IAM user who federated, if known.
    FederatedUser {
        /// ARN of the IAM user that called `GetFederationToken`.
        user_arn: Option<String>,
    },
    /// A web identity or SAML caller, before it has a role session (the
    /// caller of `AssumeRoleWithWebIdentity`/`AssumeRoleWithSAML`).
    Federated {
        /// Provider name or SAML provider ARN, as in `"Federated"`.
        provider: String,
    },
    /// An AWS service principal (`"Service": "ec2.amazonaws.com"`).
    Service {
        /// Service principal name.
        name: String,
    },
    /// An unauthenticated caller.
    Anonymous,
}

/// The caller of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Principal {
    /// The caller's ARN (for services and web identities, their name).
    pub arn: String,
    /// The account the caller belongs to; `None` for services, web
    /// identities and anonymous callers.
    pub account: Option<String>,
    /// What kind of caller this is.
    pub kind: PrincipalKind,
    /// S3 canonical user id of the caller's account, for
    /// `"CanonicalUser"` principals.
    pub canonical_user: Option<String>,
}

/// Part `i` of a colon-separated ARN.
fn arn_part(arn: &str, i: usize) -> Option<&str> {
    arn.splitn(6, ':').nth(i)
}

impl Principal {
    /// The root user of `account`.
    pub fn root(account: &str) -> Principal {
        Principal {
            arn: format!("arn:aws:iam::{account}:root"),
            account: Some(account.to_string()),
            kind: PrincipalKind::Root,
            canonical_user: None,
        }
    }

    /// An IAM user, from its ARN (`arn:aws:iam::ACCT:user/path/NAME`).
    pub fn user(arn: &str) -> Principal {
        Principal {
            arn: arn.to_string(),
            account: arn_part(arn, 4).map(str::to_string),
            kind: PrincipalKind::User,
            canonical_user: None,
        }
    }

    /// A session of `role_arn` named `session_name`; the session ARN drops
    /// the role's path, as STS does.
    pub fn assumed_role(role_arn: &str, session_name: &str) -> Principal {
        let partition = arn_part(role_arn, 1).unwrap_or("aws");
        let account = arn_part(role_arn, 4).unwrap_or_default();
        let role_name = arn_part(role_arn, 5)
            .and_then(|r| r.rsplit('/').next())
            .unwrap_or_default();
        Principal {
            arn: format!("arn:{partition}:sts::{account}:assumed-role/{role_name}/{session_name}"),
            account: Some(account.to_string()),
            kind: PrincipalKind::AssumedRole {
                role_arn: role_arn.to_string(),
            },
            canonical_user: None,
        }
    }

    /// A federated user session `name` in `account`, created by `user_arn`.
    pub fn federated_user(account: &str, name: &str, user_arn: Option<&str>) -> Principal {
        Principal {
            arn: format!("arn:aws:sts::{account}:federated-user/{name}"),
            account: Some(account.to_string()),
            kind: PrincipalKind::FederatedUser {
                user_arn: user_arn.map(str::to_string),
            },
            canonical_user: None,
        }
    }

    /// A web identity / SAML caller of `provider`.
    pub fn federated(provider: &str) -> Principal {
        Principal {
            arn: provider.to_string(),
            account: None,
            kind: PrincipalKind::Federated {
                provider: provider.to_string(),
            },
            canonical_user: None,
        }
    }

    /// An AWS service principal.
    pub fn service(name: &str) -> Principal {
        Principal {
            arn: name.to_string(),
            account: None,
            kind: PrincipalKind::Service {
                name: name.to_string(),
            },
            canonical_user: None,
        }
    }

    /// An anonymous caller.
    pub fn anonymous() -> Principal {
        Principal {
            arn: "anonymous".to_string(),
            account: None,
            kind: PrincipalKind::Anonymous,
            canonical_user: None,
        }
    }

    /// Sets the canonical user id of the caller's account.
    pub fn with_canonical_user(mut self, id: &str) -> Principal {
        self.canonical_user = Some(id.to_string());
        self
    }

    /// The value of `aws:PrincipalType` for this caller.
    pub fn principal_type(&self) -> &'static str {
        match self.kind {
            PrincipalKind::Root => "Account",
            PrincipalKind::User => "User",
            PrincipalKind::AssumedRole { .. } => "AssumedRole",
            PrincipalKind::FederatedUser { .. } => "FederatedUser",
            PrincipalKind::Federated { .. } => "WebIdentityUser",
            PrincipalKind::Service { .. } => "Service",
            PrincipalKind::Anonymous => "Anonymous",
        }
    }

    /// True for callers that act inside an account (have identity policies
    /// or, for root, implicit rights).
    pub(crate) fn is_account_member(&self) -> bool {
        self.account.is_some()
            && !matches!(
                self.kind,
                PrincipalKind::Service { .. }
                    | PrincipalKind::Federated { .. }
                    | PrincipalKind::Anonymous
            )
    }
}

/// How directly a resource-based policy names the caller. The order
/// matters: a stronger grant is needed for the resource policy alone to
/// allow (see [`crate::evaluate`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Grant {
    /// The caller's account (`"123456789012"` or `arn:aws:iam::…:root`):
    /// delegates to the account, whose identity policies must also allow.
    Account,
    /// The IAM user or role behind a session (role ARN for a role session,
    /// IAM user ARN for a federated user): same account, limited by
    /// permissions boundaries and session policies.
    Entity,
    /// The caller itself (user, session, service, root, or `*`): same
    /// account, nothing else needed.
    Direct,
}

/// One `"AWS"` principal value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum AwsPrincipal {
    /// `"*"`.
    Any,
    /// An account id (`"123456789012"` or `arn:PARTITION:iam::ID:root`).
    Account(String),
    /// A user, role, assumed-role session or federated user ARN.
    Arn(String),
    /// A unique principal id (`AIDA…`, `AROA…`): what IAM stores once the
    /// named entity is deleted. It never matches a live caller.
    UniqueId,
}

/// A parsed `Principal` / `NotPrincipal` element.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PrincipalSpec {
    /// `"*"`: everyone, including anonymous callers and services.
    Any,
    /// The map form.
    Set {
        aws: Vec<AwsPrincipal>,
        service: Vec<String>,
        federated: Vec<String>,
        canonical: Vec<String>,
    },
}

impl PrincipalSpec {
    /// How this element names `p`, if at all.
    pub(crate) fn grant_for(&self, p: &Principal) -> Option<Grant> {
        let (aws, service, federated, canonical) = match self {
            PrincipalSpec::Any => return Some(Grant::Direct),
            PrincipalSpec::Set {
                aws,
                service,
                federated,
                canonical,
            } => (aws, service, federated, canonical),
        };
        let mut best: Option<Grant> = None;
        let mut offer = |g: Grant| {
            if best.is_none_or(|b| g > b) {
                best = Some(g);
            }
        };
        let account_grant = if matches!(p.kind, PrincipalKind::Root) {
            Grant::Direct
        } else {
            Grant::Account
        };
        for a in aws {
            match a {
                // `"AWS": "*"` is every AWS principal, anonymous included
                // (the docs call it equivalent to `"*"` for anonymous
                // callers), but not services or web identities.
                AwsPrincipal::Any => {
                    if !matches!(
                        p.kind,
                        PrincipalKind::Service { .. } | PrincipalKind::Federated { .. }
                    ) {
                        offer(Grant::Direct);
                    }
                }
                AwsPrincipal::Account(acct) => {
                    if p.is_account_member() && p.account.as_deref() == Some(acct.as_str()) {
                        offer(account_grant);
                    }
                }
                AwsPrincipal::Arn(arn) => {
                    if p.is_account_member() && p.arn == *arn {
                        offer(Grant::Direct);
                    }
                    match &p.kind {
                        PrincipalKind::AssumedRole { role_arn } if role_arn == arn => {
                            offer(Grant::Entity)
                        }
                        PrincipalKind::FederatedUser {
                            user_arn: Some(user),
                        } if user == arn => offer(Grant::Entity),
                        _ => {}
                    }
                }
                AwsPrincipal::UniqueId => {}
            }
        }
        match &p.kind {
            PrincipalKind::Service { name }
                if service.iter().any(|s| s.eq_ignore_ascii_case(name)) =>
            {
                offer(Grant::Direct);
            }
            PrincipalKind::Federated { provider } if federated.iter().any(|f| f == provider) => {
                offer(Grant::Direct);
            }
            _ => {}
        }
        if let Some(c) = &p.canonical_user
            && p.is_account_member()
            && canonical.iter().any(|x| x == c)
        {
            offer(account_grant);
        }
        best
    }

    /// Whether `NotPrincipal` exempts `p`. AWS may check the account, then
    /// the role, then the session, so every identity in the caller's chain
    /// must be listed for the exemption to hold; listing only a user (and
    /// not its account) does not exempt the user, as the docs warn.
    pub(crate) fn exempts(&self, p: &Principal) -> bool {
        let (aws, service, federated) = match self {
            PrincipalSpec::Any => return true,
            PrincipalSpec::Set {
                aws,
                service,
                federated,
                ..
            } => (aws, service, federated),
        };
        if !matches!(
            p.kind,
            PrincipalKind::Service { .. } | PrincipalKind::Federated { .. }
        ) && aws.contains(&AwsPrincipal::Any)
        {
            return true;
        }
        let has_account = |acct: &Option<String>| {
            acct.as_ref().is_some_and(|a| {
                aws.iter()
                    .any(|x| matches!(x, AwsPrincipal::Account(y) if y == a))
            })
        };
        let has_arn = |arn: &str| {
            aws.iter()
                .any(|x| matches!(x, AwsPrincipal::Arn(y) if y == arn))
        };
        match &p.kind {
            PrincipalKind::Root => has_account(&p.account),
            PrincipalKind::User | PrincipalKind::FederatedUser { .. } => {
                has_account(&p.account) && has_arn(&p.arn)
            }
            PrincipalKind::AssumedRole { role_arn } => {
                has_account(&p.account) && has_arn(role_arn) && has_arn(&p.arn)
            }
            PrincipalKind::Service { name } => service.iter().any(|s| s.eq_ignore_ascii_case(name)),
            PrincipalKind::Federated { provider } => federated.iter().any(|f| f == provider),
            PrincipalKind::Anonymous => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(aws: &[AwsPrincipal]) -> PrincipalSpec {
        PrincipalSpec::Set {
            aws: aws.to_vec(),
            service: vec!["ec2.amazonaws.com".into()],
            federated: vec!["accounts.google.com".into()],
            canonical: vec!["abc".into()],
        }
    }

    #[test]
    fn constructors() {
        let r = Principal::assumed_role("arn:aws:iam::111122223333:role/path/R", "sess");
        assert_eq!(r.arn, "arn:aws:sts::111122223333:assumed-role/R/sess");
        assert_eq!(r.account.as_deref(), Some("111122223333"));
        let u = Principal::user("arn:aws:iam::111122223333:user/alice");
        assert_eq!(u.account.as_deref(), Some("111122223333"));
        assert_eq!(Principal::root("1").arn, "arn:aws:iam::1:root");
        // Garbage in, no panic.
        let bad = Principal::assumed_role("nonsense", "s");
        assert_eq!(bad.account.as_deref(), Some(""));
    }

    #[test]
    fn grants() {
        let acct = set(&[AwsPrincipal::Account("111122223333".into())]);
        let user = Principal::user("arn:aws:iam::111122223333:user/alice");
        assert_eq!(acct.grant_for(&user), Some(Grant::Account));
        assert_eq!(
            acct.grant_for(&Principal::root("111122223333")),
            Some(Grant::Direct)
        );
        assert_eq!(acct.grant_for(&Principal::root("999999999999")), None);
        let by_arn = set(&[AwsPrincipal::Arn(user.arn.clone())]);
        assert_eq!(by_arn.grant_for(&user), Some(Grant::Direct));
        let role = "arn:aws:iam::111122223333:role/R";
        let sess = Principal::assumed_role(role, "s");
        assert_eq!(
            set(&[AwsPrincipal::Arn(role.into())]).grant_for(&sess),
            Some(Grant::Entity)
        );
        assert_eq!(
            set(&[AwsPrincipal::Arn(sess.arn.clone())]).grant_for(&sess),
            Some(Grant::Direct)
        );
        assert_eq!(
            set(&[AwsPrincipal::Arn(
                "arn:aws:sts::111122223333:assumed-role/R/other".into()
            )])
            .grant_for(&sess),
            None
        );
        assert_eq!(
            set(&[]).grant_for(&Principal::service("ec2.amazonaws.com")),
            Some(Grant::Direct)
        );
        assert_eq!(
            set(&[]).grant_for(&Principal::service("s3.amazonaws.com")),
            None
        );
        assert_eq!(
            set(&[AwsPrincipal::Any]).grant_for(&Principal::anonymous()),
            Some(Grant::Direct)
        );
        assert_eq!(
            set(&[AwsPrincipal::Any]).grant_for(&Principal::service("x")),
            None
        );
        assert_eq!(
            PrincipalSpec::Any.grant_for(&Principal::service("x")),
            Some(Grant::Direct)
        );
        assert_eq!(
            set(&[]).grant_for(&Principal::federated("accounts.google.com")),
            Some(Grant::Direct)
        );
        let canon = user.clone().with_canonical_user("abc");
        assert_eq!(set(&[]).grant_for(&canon), Some(Grant::Account));
        // The strongest grant wins.
        let both = set(&[
            AwsPrincipal::Account("111122223333".into()),
            AwsPrincipal::Arn(user.arn.clone()),
        ]);
        assert_eq!(both.grant_for(&user), Some(Grant::Direct));
    }

    #[test]
    fn not_principal() {
        let user = Principal::user("arn:aws:iam::444455556666:user/Bob");
        let only_user = set(&[AwsPrincipal::Arn(user.arn.clone())]);
        assert!(!only_user.exempts(&user));
        let with_acct = set(&[
            AwsPrincipal::Arn(user.arn.clone()),
            AwsPrincipal::Account("444455556666".into()),
        ]);
        assert!(with_acct.exempts(&user));
        let role = "arn:aws:iam::444455556666:role/R";
        let sess = Principal::assumed_role(role, "app");
        let full = set(&[
            AwsPrincipal::Arn(sess.arn.clone()),
            AwsPrincipal::Arn(role.into()),
            AwsPrincipal::Account("444455556666".into()),
        ]);
        assert!(full.exempts(&sess));
        let no_role = set(&[
            AwsPrincipal::Arn(sess.arn.clone()),
            AwsPrincipal::Account("444455556666".into()),
        ]);
        assert!(!no_role.exempts(&sess));
        assert!(!with_acct.exempts(&Principal::anonymous()));
        assert!(PrincipalSpec::Any.exempts(&Principal::anonymous()));
    }
}
