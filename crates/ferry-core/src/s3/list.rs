//! Listing a bucket: keys in byte order under a prefix, rolled up into
//! common prefixes at a delimiter, a page at a time.

use ferry_policy::ContextValue;

use super::{Found, ObjectInfo, On, object_info};
use crate::{CoreError, Ferry, RequestContext};

/// Past every key that starts with a given string: U+10FFFF sorts after
/// every character a key can hold, in UTF-8 byte order too.
const PAST: char = '\u{10FFFF}';
/// Rows read from the store per round.
const SCAN: usize = 1000;

/// One page request.
#[derive(Debug, Clone, Default)]
pub struct ListRequest {
    /// Only keys starting with this.
    pub prefix: String,
    /// Roll keys up to the first delimiter after the prefix.
    pub delimiter: Option<String>,
    /// At most this many keys and common prefixes (0-1000).
    pub max_keys: usize,
    /// Start after this key (start-after, marker, or a continuation).
    pub after: Option<String>,
}

/// One page.
#[derive(Debug, Clone, Default)]
pub struct ListOutcome {
    /// The objects.
    pub objects: Vec<ObjectInfo>,
    /// The common prefixes.
    pub common_prefixes: Vec<String>,
    /// More after this page.
    pub is_truncated: bool,
    /// Where the next page starts (opaque to the caller).
    pub next_after: Option<String>,
}

impl Ferry {
    /// `ListObjects` / `ListObjectsV2`: `s3:ListBucket`, with `s3:prefix`,
    /// `s3:delimiter` and `s3:max-keys` for conditions.
    pub async fn list_objects(
        &self,
        ctx: &RequestContext,
        bucket: &str,
        req: ListRequest,
    ) -> Result<ListOutcome, CoreError> {
        let found: Found = self.find_bucket(bucket).await?;
        let mut context = vec![
            (
                "s3:prefix".to_string(),
                ContextValue::from(req.prefix.clone()),
            ),
            (
                "s3:max-keys".to_string(),
                ContextValue::from(req.max_keys.to_string()),
            ),
        ];
        if let Some(d) = &req.delimiter {
            context.push(("s3:delimiter".to_string(), ContextValue::from(d.clone())));
        }
        self.authorize_s3(ctx, "s3:ListBucket", On::Bucket, &found, context)
            .await?;
        let owner = found.bucket.account_id;
        let bucket = found.bucket.name.as_str();
        let max = req.max_keys.min(1000);
        let delimiter = req.delimiter.as_deref().filter(|d| !d.is_empty());
        let mut out = ListOutcome::default();
        // A marker that is itself a common prefix resumes past all of it.
        let mut after = req.after.map(|a| match delimiter {
            Some(d) if a.starts_with(&req.prefix) && a.ends_with(d) => format!("{a}{PAST}"),
            _ => a,
        });
        let mut last: Option<String> = None;
        'scan: loop {
            let rows = found
                .store
                .list_objects(owner, bucket, &req.prefix, after.as_deref(), SCAN)
                .await?;
            if rows.is_empty() {
                break;
            }
            let exhausted = rows.len() < SCAN;
            for o in rows {
                after = Some(o.key.clone());
                let rest = &o.key[req.prefix.len()..];
                let rolled = delimiter.and_then(|d| {
                    rest.find(d)
                        .map(|i| format!("{}{}", req.prefix, &rest[..i + d.len()]))
                });
                if out.objects.len() + out.common_prefixes.len() >= max {
                    out.is_truncated = true;
                    break 'scan;
                }
                match rolled {
                    Some(cp) => {
                        // Everything under this prefix is rolled up: skip it.
                        after = Some(format!("{cp}{PAST}"));
                        last = Some(format!("{cp}{PAST}"));
                        out.common_prefixes.push(cp);
                        continue 'scan;
                    }
                    None => {
                        last = Some(o.key.clone());
                        out.objects.push(object_info(&o));
                    }
                }
            }
            if exhausted {
                break;
            }
        }
        if out.is_truncated {
            out.next_after = last;
        }
        Ok(out)
    }
}
