//! ARN-aware matching for the `Resource` element and the `Arn*` operators.
//!
//! AWS matches an ARN pattern against an ARN component by component: the
//! six colon-separated parts (`arn`, partition, service, region, account,
//! resource) are compared separately, so `*` in the region part does not
//! swallow the account. The resource part is everything after the fifth
//! colon and may itself contain colons. One documented exception: when a
//! pattern has fewer than six parts and its last part ends with `*`, that
//! star expands across the remaining colons (`arn:aws:s3:*` matches every
//! S3 ARN).

use crate::context::Context;
use crate::pattern::{Glob, Tok, has_vars, resolve, tokenize};

/// A request resource or ARN-valued context value, split once per request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SplitArn<'a> {
    text: &'a str,
    /// Start offsets of the parts; `count` of them are valid.
    starts: [usize; 6],
    count: usize,
}

impl<'a> SplitArn<'a> {
    pub(crate) fn new(text: &'a str) -> SplitArn<'a> {
        let mut starts = [0usize; 6];
        let mut count = 1;
        for (i, b) in text.bytes().enumerate() {
            if count == 6 {
                break;
            }
            if b == b':' {
                starts[count] = i + 1;
                count += 1;
            }
        }
        SplitArn {
            text,
            starts,
            count,
        }
    }

    /// Part `i` (the sixth runs to the end of the text).
    fn part(&self, i: usize) -> Option<&'a str> {
        if i >= self.count {
            return None;
        }
        let start = *self.starts.get(i)?;
        let end = if i + 1 < self.count {
            self.starts.get(i + 1)?.checked_sub(1)?
        } else {
            self.text.len()
        };
        self.text.get(start..end)
    }

    /// Text from the start of part `i` to the end.
    fn rest(&self, i: usize) -> Option<&'a str> {
        if i >= self.count {
            return None;
        }
        self.text.get(*self.starts.get(i)?..)
    }

    pub(crate) fn text(&self) -> &'a str {
        self.text
    }
}

/// A compiled `Resource` entry or `Arn*` condition value.
#[derive(Debug, Clone)]
pub(crate) enum ArnPattern {
    /// `*`: everything.
    Any,
    /// An ARN pattern, one glob per part (1 to 6 parts).
    Parts(Vec<Glob>),
    /// Not an ARN (no `arn:` prefix): matched as a plain glob.
    Plain(Glob),
    /// Holds policy variables: resolved and compiled per request.
    Dynamic(Vec<Tok>),
}

impl ArnPattern {
    /// Compiles `s`; `vars` enables policy variables (Version 2012-10-17).
    pub(crate) fn new(s: &str, vars: bool) -> ArnPattern {
        let toks = tokenize(s, true, vars);
        if has_vars(&toks) {
            ArnPattern::Dynamic(toks)
        } else {
            compile(&toks)
        }
    }

    /// Matches a request value. A pattern whose variable has no value (and
    /// no default) matches nothing, as AWS documents.
    pub(crate) fn matches(&self, value: &SplitArn<'_>, ctx: &Context) -> bool {
        match self {
            ArnPattern::Any => true,
            ArnPattern::Parts(parts) => match_parts(parts, value),
            ArnPattern::Plain(g) => g.is_match(value.text(), false),
            ArnPattern::Dynamic(toks) => match resolve(toks, ctx) {
                Some(r) => compile(&r).matches(value, ctx),
                None => false,
            },
        }
    }
}

fn compile(toks: &[Tok]) -> ArnPattern {
    let parts = split_tokens(toks);
    let whole = Glob::new(toks);
    if whole.is_any() {
        return ArnPattern::Any;
    }
    let is_arn = matches!(parts.first().map(Vec::as_slice), Some([Tok::Lit(l)]) if l == "arn")
        && parts.len() > 1;
    if is_arn {
        ArnPattern::Parts(parts.iter().map(|p| Glob::new(p)).collect())
    } else {
        ArnPattern::Plain(whole)
    }
}

/// Splits tokens at the first five literal colons.
fn split_tokens(toks: &[Tok]) -> Vec<Vec<Tok>> {
    let mut parts: Vec<Vec<Tok>> = vec![Vec::new()];
    for t in toks {
        match t {
            Tok::Lit(s) if parts.len() < 6 => {
                let mut rest = s.as_str();
                while parts.len() < 6 {
                    let Some(idx) = rest.find(':') else {
                        break;
                    };
                    let (before, after) = (&rest[..idx], &rest[idx + 1..]);
                    if !before.is_empty()
                        && let Some(p) = parts.last_mut()
                    {
                        p.push(Tok::Lit(before.to_string()));
                    }
                    parts.push(Vec::new());
                    rest = after;
                }
                if !rest.is_empty()
                    && let Some(p) = parts.last_mut()
                {
                    p.push(Tok::Lit(rest.to_string()));
                }
            }
            other => {
                if let Some(p) = parts.last_mut() {
                    p.push(other.clone());
                }
            }
        }
    }
    parts
}

fn match_parts(parts: &[Glob], value: &SplitArn<'_>) -> bool {
    let k = parts.len();
    for (i, g) in parts.iter().enumerate() {
        if i + 1 == k && k < 6 && g.ends_with_star() {
            // Trailing star of a short pattern spans the remaining parts.
            return value.rest(i).is_some_and(|r| g.is_match(r, false));
        }
        match value.part(i) {
            Some(p) if g.is_match(p, false) => {}
            _ => return false,
        }
    }
    value.count == k
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, v: &str) -> bool {
        ArnPattern::new(p, true).matches(&SplitArn::new(v), &Context::new())
    }

    #[test]
    fn exact_and_any() {
        assert!(m("*", "arn:aws:s3:::b"));
        assert!(m("*", "anything"));
        assert!(m("arn:aws:s3:::b", "arn:aws:s3:::b"));
        assert!(!m("arn:aws:s3:::b", "arn:aws:s3:::B"));
        assert!(!m("arn:aws:s3:::b", "arn:aws:s3:::b/k"));
    }

    #[test]
    fn star_within_part() {
        assert!(m("arn:aws:s3:::b/*", "arn:aws:s3:::b/k"));
        assert!(m("arn:aws:s3:::b/*", "arn:aws:s3:::b/a/b:c"));
        assert!(m(
            "arn:aws:iam::*:user/alice",
            "arn:aws:iam::123456789012:user/alice"
        ));
        assert!(m(
            "arn:aws:ec2:*:*:instance/*",
            "arn:aws:ec2:us-east-1:1:instance/i-1"
        ));
        assert!(!m(
            "arn:aws:ec2:*:*:instance/*",
            "arn:aws:ec2:us-east-1:1:volume/v-1"
        ));
    }

    #[test]
    fn star_does_not_cross_parts() {
        // The documented ArnLike example.
        let p = "arn:aws:someservice:*:111122223333:finance/*";
        let v = "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt";
        assert!(!m(p, v));
        // A plain glob would have matched.
        assert!(Glob::parse(p).is_match(v, false));
        // A star ending a short pattern's last part spans the rest (docs).
        assert!(m("arn:aws:s3*", "arn:aws:s3:::b"));
        assert!(!m("arn:aws:s3*:x", "arn:aws:s3:::b"));
        assert!(!m("arn:aws:iam::1*:user/x", "arn:aws:iam::1:2:user/x"));
    }

    #[test]
    fn trailing_star_spans() {
        assert!(m("arn:aws:s3:*", "arn:aws:s3:::b/k"));
        assert!(m("arn:*", "arn:aws:s3:::b/k"));
        assert!(m("arn:aws:*", "arn:aws:iam::1:user/x"));
        assert!(!m("arn:aws:s3:*", "arn:aws:sqs:us-east-1:1:q"));
        assert!(!m("arn:aws:s3", "arn:aws:s3:::b"));
    }

    #[test]
    fn question() {
        assert!(m("arn:aws:s3:::b?", "arn:aws:s3:::b1"));
        assert!(!m("arn:aws:s3:::b?", "arn:aws:s3:::b12"));
        assert!(m("arn:aws:sqs:us-east-?:1:q", "arn:aws:sqs:us-east-2:1:q"));
    }

    #[test]
    fn resource_part_colons() {
        assert!(m(
            "arn:aws:logs:us-east-1:1:log-group:g:*",
            "arn:aws:logs:us-east-1:1:log-group:g:log-stream:s"
        ));
        assert!(!m(
            "arn:aws:logs:us-east-1:1:log-group:g",
            "arn:aws:logs:us-east-1:1:log-group:g:log-stream:s"
        ));
    }

    #[test]
    fn non_arn() {
        assert!(m("bucket/*", "bucket/x"));
        assert!(!m("arn:aws:s3:::b", "b"));
        assert!(!m("arn:aws:s3:::*", "*"));
    }

    #[test]
    fn variables() {
        let mut ctx = Context::new();
        ctx.insert("aws:username", "alice");
        let p = ArnPattern::new("arn:aws:s3:::b/home/${aws:username}/*", true);
        assert!(p.matches(&SplitArn::new("arn:aws:s3:::b/home/alice/x"), &ctx));
        assert!(!p.matches(&SplitArn::new("arn:aws:s3:::b/home/bob/x"), &ctx));
        assert!(!p.matches(
            &SplitArn::new("arn:aws:s3:::b/home/alice/x"),
            &Context::new()
        ));
        let p = ArnPattern::new("arn:aws:s3:::b/${aws:username, 'anon'}", true);
        assert!(p.matches(&SplitArn::new("arn:aws:s3:::b/anon"), &Context::new()));
        // Old policy language: literal.
        let p = ArnPattern::new("arn:aws:s3:::b/${aws:username}", false);
        assert!(p.matches(&SplitArn::new("arn:aws:s3:::b/${aws:username}"), &ctx));
        assert!(!p.matches(&SplitArn::new("arn:aws:s3:::b/alice"), &ctx));
    }

    #[test]
    fn split() {
        let s = SplitArn::new("arn:aws:s3:::b/k:x");
        assert_eq!(s.part(0), Some("arn"));
        assert_eq!(s.part(2), Some("s3"));
        assert_eq!(s.part(3), Some(""));
        assert_eq!(s.part(5), Some("b/k:x"));
        assert_eq!(s.rest(2), Some("s3:::b/k:x"));
        let s = SplitArn::new("nocolon");
        assert_eq!(s.part(0), Some("nocolon"));
        assert_eq!(s.part(1), None);
    }
}
