//! Wildcard patterns (`*`, `?`) and policy-variable templates (`${key}`).
//!
//! Patterns are tokenized once, when the policy is parsed, so that a variable
//! value or a `${*}` escape can never be mistaken for a wildcard: substitution
//! produces literal tokens, not text that is scanned again.
//!
//! The matcher splits a pattern at its `*`s into fixed-length segments and
//! places them greedily left to right (the first anchored at the start, the
//! last at the end). Greedy leftmost placement is correct for `*`-only
//! globs, needs no backtracking, and costs O(text) per literal segment via
//! `str::find` (two-way search); a segment holding `?` is tried at each
//! position, so the worst case is O(text × segment length), never
//! exponential. No regex engine is involved.

use crate::context::Context;

/// One token of a pattern or template.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// Literal text.
    Lit(String),
    /// `*`: any run of characters (only produced in glob context).
    Star,
    /// `?`: exactly one character (only produced in glob context).
    One,
    /// `${key}` or `${key, 'default'}`; the key is stored lowercased because
    /// context keys are case-insensitive.
    Var {
        key: String,
        default: Option<String>,
    },
}

/// Splits `s` into tokens. `glob` makes `*`/`?` wildcards; `vars` enables
/// `${...}` substitution (only policies of Version 2012-10-17 have it; in
/// older ones the text is literal, as AWS documents).
pub(crate) fn tokenize(s: &str, glob: bool, vars: bool) -> Vec<Tok> {
    let mut out: Vec<Tok> = Vec::new();
    let mut lit = String::new();
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        if vars
            && rest.starts_with("${")
            && let Some((tok, consumed)) = parse_var(rest)
        {
            match tok {
                Tok::Lit(l) => lit.push_str(&l),
                other => {
                    flush(&mut out, &mut lit);
                    out.push(other);
                }
            }
            rest = &rest[consumed..];
            continue;
        }
        if glob && c == '*' {
            flush(&mut out, &mut lit);
            // Consecutive stars mean the same as one; collapsing keeps the
            // matcher's segments non-empty.
            if out.last() != Some(&Tok::Star) {
                out.push(Tok::Star);
            }
        } else if glob && c == '?' {
            flush(&mut out, &mut lit);
            out.push(Tok::One);
        } else {
            lit.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    flush(&mut out, &mut lit);
    out
}

fn flush(out: &mut Vec<Tok>, lit: &mut String) {
    if lit.is_empty() {
        return;
    }
    if let Some(Tok::Lit(prev)) = out.last_mut() {
        prev.push_str(lit);
    } else {
        out.push(Tok::Lit(std::mem::take(lit)));
    }
    lit.clear();
}

/// Parses a `${...}` at the start of `s`. Returns the token and the number of
/// bytes consumed, or `None` when the text is not a well-formed variable (it
/// is then kept as literal text, which is what a policy author would see).
fn parse_var(s: &str) -> Option<(Tok, usize)> {
    let body_start = 2;
    let close = s[body_start..].find('}')? + body_start;
    let inner = &s[body_start..close];
    let consumed = close + 1;
    match inner {
        "*" => return Some((Tok::Lit("*".into()), consumed)),
        "?" => return Some((Tok::Lit("?".into()), consumed)),
        "$" => return Some((Tok::Lit("$".into()), consumed)),
        _ => {}
    }
    let (key, default) = match inner.split_once(',') {
        Some((k, d)) => {
            let d = d.trim();
            let d = d.strip_prefix('\'')?.strip_suffix('\'')?;
            (k.trim(), Some(d.to_string()))
        }
        None => (inner.trim(), None),
    };
    let valid_key = !key.is_empty()
        && key
            .chars()
            .all(|c| !c.is_whitespace() && c != '{' && c != '$' && c != '\'');
    if !valid_key {
        return None;
    }
    Some((
        Tok::Var {
            key: key.to_ascii_lowercase(),
            default,
        },
        consumed,
    ))
}

/// True when the tokens contain a variable, i.e. need the request context.
pub(crate) fn has_vars(toks: &[Tok]) -> bool {
    toks.iter().any(|t| matches!(t, Tok::Var { .. }))
}

/// Replaces variables by their values from the context. `None` when a
/// variable has no value and no default: AWS then treats the pattern or
/// value as not matching.
pub(crate) fn resolve(toks: &[Tok], ctx: &Context) -> Option<Vec<Tok>> {
    let mut out: Vec<Tok> = Vec::with_capacity(toks.len());
    let mut lit = String::new();
    for t in toks {
        match t {
            Tok::Lit(s) => lit.push_str(s),
            Tok::Var { key, default } => match ctx.variable_value(key) {
                Some(v) => lit.push_str(&v),
                None => lit.push_str(default.as_deref()?),
            },
            other => {
                flush(&mut out, &mut lit);
                out.push(other.clone());
            }
        }
    }
    flush(&mut out, &mut lit);
    Some(out)
}

/// Concatenates literal tokens (after [`resolve`]); wildcards are kept as
/// their characters. Used for templates of non-glob operators.
pub(crate) fn to_text(toks: &[Tok]) -> String {
    let mut s = String::new();
    for t in toks {
        match t {
            Tok::Lit(l) => s.push_str(l),
            Tok::Star => s.push('*'),
            Tok::One => s.push('?'),
            Tok::Var { .. } => {}
        }
    }
    s
}

/// A string that may contain variables: resolved per request.
#[derive(Debug, Clone)]
pub(crate) enum Template {
    Static(String),
    Dynamic(Vec<Tok>),
}

impl Template {
    pub(crate) fn new(s: &str, vars: bool) -> Template {
        let toks = tokenize(s, false, vars);
        if has_vars(&toks) {
            Template::Dynamic(toks)
        } else {
            Template::Static(to_text(&toks))
        }
    }

    /// The value for this request, or `None` if a variable is unresolved.
    pub(crate) fn get<'a>(&'a self, ctx: &Context) -> Option<std::borrow::Cow<'a, str>> {
        match self {
            Template::Static(s) => Some(std::borrow::Cow::Borrowed(s)),
            Template::Dynamic(toks) => {
                resolve(toks, ctx).map(|t| std::borrow::Cow::Owned(to_text(&t)))
            }
        }
    }
}

#[derive(Debug, Clone)]
enum SegTok {
    Lit(String),
    /// A run of `n` `?` wildcards.
    Any(usize),
}

#[derive(Debug, Clone)]
struct Seg {
    toks: Vec<SegTok>,
    /// Length in characters (fixed: a segment has no `*`).
    char_len: usize,
}

impl Seg {
    fn lit_only(&self) -> Option<&str> {
        match self.toks.as_slice() {
            [SegTok::Lit(s)] => Some(s),
            _ => None,
        }
    }
}

/// A compiled wildcard pattern.
#[derive(Debug, Clone)]
pub(crate) struct Glob {
    /// Segments between stars; `segs.len() - 1` stars separate them. The
    /// first and last may be empty (leading/trailing star).
    segs: Vec<Seg>,
}

impl Glob {
    /// Compiles resolved tokens (variables must have been resolved; any left
    /// are ignored).
    pub(crate) fn new(toks: &[Tok]) -> Glob {
        let mut segs = vec![Seg {
            toks: Vec::new(),
            char_len: 0,
        }];
        for t in toks {
            let Some(cur) = segs.last_mut() else {
                continue;
            };
            match t {
                Tok::Lit(s) => {
                    cur.char_len += s.chars().count();
                    if let Some(SegTok::Lit(prev)) = cur.toks.last_mut() {
                        prev.push_str(s);
                    } else {
                        cur.toks.push(SegTok::Lit(s.clone()));
                    }
                }
                Tok::One => {
                    cur.char_len += 1;
                    if let Some(SegTok::Any(n)) = cur.toks.last_mut() {
                        *n += 1;
                    } else {
                        cur.toks.push(SegTok::Any(1));
                    }
                }
                Tok::Star => segs.push(Seg {
                    toks: Vec::new(),
                    char_len: 0,
                }),
                Tok::Var { .. } => {}
            }
        }
        Glob { segs }
    }

    /// Compiles a pattern string (`*`, `?` wildcards, no variables).
    pub(crate) fn parse(s: &str) -> Glob {
        Glob::new(&tokenize(s, true, false))
    }

    /// True for the pattern `*` alone, which matches everything.
    pub(crate) fn is_any(&self) -> bool {
        self.segs.len() == 2 && self.segs.iter().all(|s| s.toks.is_empty())
    }

    /// True when the pattern ends with `*`.
    pub(crate) fn ends_with_star(&self) -> bool {
        self.segs.len() > 1 && self.segs.last().is_some_and(|s| s.toks.is_empty())
    }

    /// Matches `text`. With `ci`, ASCII letters compare case-insensitively
    /// (used for actions, whose names are ASCII).
    pub(crate) fn is_match(&self, text: &str, ci: bool) -> bool {
        let n = self.segs.len();
        let (Some(first), Some(last)) = (self.segs.first(), self.segs.last()) else {
            return text.is_empty();
        };
        if n == 1 {
            return seg_match_at(first, text, 0, ci) == Some(text.len());
        }
        let Some(mut pos) = seg_match_at(first, text, 0, ci) else {
            return false;
        };
        let Some(last_start) = back_chars(text, last.char_len) else {
            return false;
        };
        if last_start < pos || seg_match_at(last, text, last_start, ci) != Some(text.len()) {
            return false;
        }
        for seg in &self.segs[1..n - 1] {
            match seg_find(seg, text, pos, last_start, ci) {
                Some(end) => pos = end,
                None => return false,
            }
        }
        true
    }
}

/// Byte offset of the start of the last `k` characters of `text`.
fn back_chars(text: &str, k: usize) -> Option<usize> {
    if k == 0 {
        return Some(text.len());
    }
    text.char_indices().rev().nth(k - 1).map(|(i, _)| i)
}

/// Matches `seg` at byte offset `start`; returns the end offset.
fn seg_match_at(seg: &Seg, text: &str, start: usize, ci: bool) -> Option<usize> {
    let mut i = start;
    for t in &seg.toks {
        match t {
            SegTok::Lit(l) => {
                let cand = text.get(i..i.checked_add(l.len())?)?;
                let ok = if ci {
                    cand.eq_ignore_ascii_case(l)
                } else {
                    cand == l
                };
                if !ok {
                    return None;
                }
                i += l.len();
            }
            SegTok::Any(n) => {
                let rest = text.get(i..)?;
                let mut chars = rest.char_indices();
                // Advance over n characters; the byte offset after them is
                // the next char's index or the end of the text.
                let mut adv = 0usize;
                for _ in 0..*n {
                    let (_, c) = chars.next()?;
                    adv += c.len_utf8();
                }
                i += adv;
            }
        }
    }
    Some(i)
}

/// Leftmost placement of `seg` starting at or after `from` and ending at or
/// before `limit`; returns its end offset.
fn seg_find(seg: &Seg, text: &str, from: usize, limit: usize, ci: bool) -> Option<usize> {
    let window = text.get(from..limit)?;
    if !ci && let Some(lit) = seg.lit_only() {
        return window.find(lit).map(|p| from + p + lit.len());
    }
    for (off, _) in window.char_indices() {
        let s = from + off;
        match seg_match_at(seg, text, s, ci) {
            Some(end) if end <= limit => return Some(end),
            Some(_) => return None, // later starts only end later
            None => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, t: &str) -> bool {
        Glob::parse(p).is_match(t, false)
    }

    #[test]
    fn literal() {
        assert!(m("abc", "abc"));
        assert!(!m("abc", "abcd"));
        assert!(!m("abc", "ab"));
        assert!(m("", ""));
        assert!(!m("", "a"));
    }

    #[test]
    fn star() {
        assert!(m("*", ""));
        assert!(m("*", "anything"));
        assert!(m("a*", "a"));
        assert!(m("a*", "abc"));
        assert!(!m("a*", "ba"));
        assert!(m("*c", "abc"));
        assert!(!m("*c", "abd"));
        assert!(m("a*c", "ac"));
        assert!(m("a*c", "abbbc"));
        assert!(!m("a*c", "abbbd"));
        assert!(m("a*b*c", "aXbYc"));
        assert!(m("a*b*c", "abc"));
        assert!(!m("a*b*c", "acb"));
        assert!(m("**", "x"));
        assert!(m("*a*", "bab"));
        assert!(!m("*a*", "bbb"));
    }

    #[test]
    fn overlapping_ends() {
        // The last segment must not overlap the first.
        assert!(!m("ab*ba", "aba"));
        assert!(m("ab*ba", "abba"));
        assert!(m("a*a", "aa"));
        assert!(!m("a*a", "a"));
    }

    #[test]
    fn question() {
        assert!(m("?", "a"));
        assert!(!m("?", ""));
        assert!(!m("?", "ab"));
        assert!(m("a?c", "abc"));
        assert!(m("a?c", "a€c"));
        assert!(!m("a?c", "ac"));
        assert!(m("*?", "a"));
        assert!(!m("*?", ""));
        assert!(m("*a?c*", "xxabcxx"));
        assert!(m("??*??", "abcd"));
        assert!(!m("??*??", "abc"));
    }

    #[test]
    fn unicode() {
        assert!(m("é*", "été"));
        assert!(m("*é", "été"));
        assert!(m("?t?", "été"));
    }

    #[test]
    fn case_insensitive() {
        let g = Glob::parse("s3:get*");
        assert!(g.is_match("S3:GetObject", true));
        assert!(!g.is_match("S3:GetObject", false));
        assert!(Glob::parse("iam:*accesskey*").is_match("iam:CreateAccessKey", true));
    }

    #[test]
    fn no_blowup() {
        // A pattern that makes backtracking matchers exponential.
        let p = "a*".repeat(50) + "b";
        let t = "a".repeat(5000);
        let start = std::time::Instant::now();
        assert!(!m(&p, &t));
        assert!(start.elapsed() < std::time::Duration::from_secs(1));
        let p2 = "*?".repeat(40) + "b";
        assert!(!m(&p2, &t));
        assert!(start.elapsed() < std::time::Duration::from_secs(2));
    }

    /// Plain dynamic-programming matcher, the obviously-correct reference.
    fn reference(p: &[char], t: &[char]) -> bool {
        let mut dp = vec![vec![false; t.len() + 1]; p.len() + 1];
        dp[0][0] = true;
        for i in 1..=p.len() {
            if p[i - 1] == '*' {
                dp[i][0] = dp[i - 1][0];
            }
            for j in 1..=t.len() {
                dp[i][j] = match p[i - 1] {
                    '*' => dp[i - 1][j] || dp[i][j - 1],
                    '?' => dp[i - 1][j - 1],
                    c => dp[i - 1][j - 1] && c == t[j - 1],
                };
            }
        }
        dp[p.len()][t.len()]
    }

    #[test]
    fn agrees_with_reference() {
        // Deterministic xorshift so failures reproduce.
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let alphabet = ['a', 'b', ':', '/', 'é'];
        for _ in 0..20_000 {
            let plen = (next() % 7) as usize;
            let tlen = (next() % 9) as usize;
            let p: Vec<char> = (0..plen)
                .map(|_| match next() % 8 {
                    0 | 1 => '*',
                    2 => '?',
                    k => alphabet[(k as usize) % alphabet.len()],
                })
                .collect();
            let t: Vec<char> = (0..tlen)
                .map(|_| alphabet[(next() as usize) % alphabet.len()])
                .collect();
            let ps: String = p.iter().collect();
            let ts: String = t.iter().collect();
            assert_eq!(
                Glob::parse(&ps).is_match(&ts, false),
                reference(&p, &t),
                "pattern {ps:?} text {ts:?}"
            );
        }
    }

    #[test]
    fn flags() {
        assert!(Glob::parse("*").is_any());
        assert!(Glob::parse("**").is_any());
        assert!(!Glob::parse("a*").is_any());
        assert!(Glob::parse("a*").ends_with_star());
        assert!(!Glob::parse("a*b").ends_with_star());
        assert!(!Glob::parse("a").ends_with_star());
    }

    #[test]
    fn tokenize_vars() {
        let t = tokenize("a/${aws:username}/*", true, true);
        assert_eq!(
            t,
            vec![
                Tok::Lit("a/".into()),
                Tok::Var {
                    key: "aws:username".into(),
                    default: None
                },
                Tok::Lit("/".into()),
                Tok::Star
            ]
        );
        let t = tokenize("${*}${?}${$}", true, true);
        assert_eq!(t, vec![Tok::Lit("*?$".into())]);
        let t = tokenize("${aws:userid, 'anonymous'}", false, true);
        assert_eq!(
            t,
            vec![Tok::Var {
                key: "aws:userid".into(),
                default: Some("anonymous".into())
            }]
        );
        // Not variables in old policies.
        let t = tokenize("${aws:username}", true, false);
        assert_eq!(t, vec![Tok::Lit("${aws:username}".into())]);
        // Malformed: literal.
        assert_eq!(
            tokenize("${abc", false, true),
            vec![Tok::Lit("${abc".into())]
        );
        assert_eq!(tokenize("${}", false, true), vec![Tok::Lit("${}".into())]);
        assert_eq!(
            tokenize("${a, nodefault}", false, true),
            vec![Tok::Lit("${a, nodefault}".into())]
        );
    }

    #[test]
    fn escapes_are_literal_after_resolution() {
        let ctx = Context::new();
        let toks = tokenize("a${*}b", true, true);
        let r = resolve(&toks, &ctx).unwrap_or_default();
        let g = Glob::new(&r);
        assert!(g.is_match("a*b", false));
        assert!(!g.is_match("axb", false));
    }

    #[test]
    fn variable_value_is_literal() {
        let mut ctx = Context::new();
        ctx.insert("aws:username", "a*");
        let toks = tokenize("home/${aws:username}", true, true);
        let r = resolve(&toks, &ctx).unwrap_or_default();
        let g = Glob::new(&r);
        assert!(g.is_match("home/a*", false));
        assert!(!g.is_match("home/abc", false));
    }

    #[test]
    fn unresolved() {
        let ctx = Context::new();
        assert!(resolve(&tokenize("${aws:username}", true, true), &ctx).is_none());
        let r = resolve(&tokenize("${aws:username, 'x'}", true, true), &ctx);
        assert_eq!(r, Some(vec![Tok::Lit("x".into())]));
    }
}
