//! The IAM policy language for Ferry: parsing and validating policy
//! documents, and deciding whether a request is allowed, following the AWS
//! policy evaluation logic.
//!
//! Pure and synchronous: no I/O, no async, no clock, no dependency on any
//! other Ferry crate (account ids and ARNs are plain strings). Everything a
//! decision depends on is passed in — the policies that apply and the
//! request context, whose global keys (`aws:SourceIp`, `aws:CurrentTime`,
//! `aws:PrincipalTag/…`, `sts:ExternalId`, …) the caller fills. No input
//! makes it panic.
//!
//! # Use
//!
//! ```
//! use ferry_policy::*;
//!
//! let doc = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Read",
//!   "Effect":"Allow","Action":"s3:GetObject",
//!   "Resource":"arn:aws:s3:::b/${aws:username}/*"}]}"#;
//! let policy = Policy::parse(doc, PolicyKind::Identity).expect("valid");
//! let alice = Principal::user("arn:aws:iam::111122223333:user/alice");
//! let mut context = Context::new();
//! context.insert_principal_keys(&alice); // aws:username, aws:PrincipalArn, ...
//! let policies = PolicySet {
//!     identity: vec![NamedPolicy::new("read-own", policy)],
//!     ..PolicySet::default()
//! };
//! let request = Request {
//!     principal: &alice,
//!     action: "s3:GetObject",
//!     resource: "arn:aws:s3:::b/alice/notes.txt",
//!     resource_account: Some("111122223333"),
//!     context: &context,
//! };
//! assert!(evaluate(&request, &policies).is_allowed());
//!
//! let denied = evaluate(&Request { resource: "arn:aws:s3:::b/bob/x", ..request }, &policies);
//! assert_eq!(
//!     denied.message(&alice.arn, "s3:GetObject", "arn:aws:s3:::b/bob/x"),
//!     "User: arn:aws:iam::111122223333:user/alice is not authorized to perform: \
//!      s3:GetObject on resource: arn:aws:s3:::b/bob/x because no identity-based \
//!      policy allows the s3:GetObject action"
//! );
//! ```
//!
//! # Layout
//!
//! - [`policy`](Policy): the document grammar, validation
//!   (`MalformedPolicyDocument`/`LimitExceeded` errors with a message
//!   saying what is wrong), size limits, and the compiled form.
//! - `pattern`: `*`/`?` wildcard matching without backtracking, and policy
//!   variable templates (`${aws:username}`, `${key, 'default'}`, `${*}`).
//! - `arn`: ARN-aware matching, part by part.
//! - `condition`: every condition operator, `...IfExists`,
//!   `ForAllValues:`/`ForAnyValue:`.
//! - [`Principal`]: the caller, and how `Principal`/`NotPrincipal` match it.
//! - [`Context`]: condition keys of a request.
//! - [`evaluate`] / [`evaluate_assume_role`]: the evaluation logic, giving
//!   a [`Decision`] with [`Reason`]s.
//!
//! # Choices where AWS leaves room
//!
//! - Size is counted in characters without whitespace outside JSON strings
//!   for every kind (see [`SizeLimit`]).
//! - Tab/LF/CR/U+0020–U+00FF only, and alphanumeric Sids, for IAM and STS
//!   kinds; resource policies accept any text.
//! - Invalid numbers, dates, CIDRs, base64 and `Null` values are rejected at
//!   parse time rather than never matching.
//! - A policy variable with no value (and no default) makes that resource
//!   pattern or condition value not match; for a negated operator this
//!   means the value is not excluded.
//! - A condition operator without a set qualifier applied to a multivalued
//!   key matches if any value matches (negated: if none does).

#![warn(missing_docs)]

mod arn;
mod condition;
mod context;
mod error;
mod eval;
mod pattern;
mod policy;
mod principal;

pub use context::{Context, ContextValue};
pub use error::{PolicyError, PolicyErrorCode};
pub use eval::{
    Decision, DecisionEffect, NamedPolicy, PolicySet, PolicyType, Reason, Request, StatementRef,
    evaluate, evaluate_assume_role,
};
pub use policy::{Effect, Policy, PolicyKind, PolicyVersion, SizeLimit, Statement};
pub use principal::{Grant, Principal, PrincipalKind};

/// Whether `pattern` (with `*` and `?` wildcards) matches `text`; with
/// `ignore_ascii_case`, ASCII letters compare case-insensitively (as for
/// actions). Exposed for callers that filter by the same rules, e.g. a
/// policy simulator.
pub fn wildcard_match(pattern: &str, text: &str, ignore_ascii_case: bool) -> bool {
    pattern::Glob::parse(pattern).is_match(text, ignore_ascii_case)
}

/// Whether the ARN pattern `pattern` matches `arn`, part by part, as the
/// `Resource` element and `ArnLike` do.
pub fn arn_match(pattern: &str, arn: &str) -> bool {
    arn::ArnPattern::new(pattern, false).matches(&arn::SplitArn::new(arn), &Context::new())
}
