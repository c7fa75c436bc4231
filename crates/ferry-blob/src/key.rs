//! Key and prefix validation: a key never escapes its root.

use object_store::path::Path;

use crate::BlobError;

/// The longest key accepted, in bytes (S3's limit).
pub const MAX_KEY_LEN: usize = 1024;

/// The first segment reserved for in-flight uploads inside a root.
pub(crate) const TEMP_DIR: &str = ".tmp";

/// Validates a blob key and converts it to an object_store path.
///
/// Refused: empty; longer than [`MAX_KEY_LEN`] bytes; a leading `/`; a
/// trailing `/` or an empty segment (`a//b`); `.` or `..` segments; NUL or
/// any other ASCII control character; a first segment of `.tmp` (reserved
/// for in-flight uploads); a last segment ending in `#` and digits (the
/// local filesystem store's own staging names).
pub(crate) fn parse_key(key: &str) -> Result<Path, BlobError> {
    check_segments(key, false)?;
    Path::parse(key).map_err(|_| BlobError::invalid_key(key, "not a valid object path"))
}

/// Validates a list prefix: "" (everything) or whole segments, with an
/// optional trailing `/`. `None` means "the whole root".
pub(crate) fn parse_prefix(prefix: &str) -> Result<Option<Path>, BlobError> {
    let trimmed = prefix.strip_suffix('/').unwrap_or(prefix);
    if trimmed.is_empty() {
        if prefix.is_empty() {
            return Ok(None);
        }
        return Err(BlobError::invalid_key(prefix, "a prefix may not be \"/\""));
    }
    check_segments(trimmed, true)?;
    Path::parse(trimmed)
        .map(Some)
        .map_err(|_| BlobError::invalid_key(prefix, "not a valid object path"))
}

fn check_segments(key: &str, is_prefix: bool) -> Result<(), BlobError> {
    let bad = |reason| Err(BlobError::invalid_key(key, reason));
    if key.is_empty() {
        return bad("empty key");
    }
    if key.len() > MAX_KEY_LEN {
        return bad("longer than 1024 bytes");
    }
    if key.starts_with('/') {
        return bad("leading '/'");
    }
    if key.contains('\0') {
        return bad("contains NUL");
    }
    if key.chars().any(|c| c.is_ascii_control()) {
        return bad("contains a control character");
    }
    let segments: Vec<&str> = key.split('/').collect();
    for (i, seg) in segments.iter().enumerate() {
        match *seg {
            "" => return bad("empty segment (\"//\" or a trailing '/')"),
            "." | ".." => return bad("'.' or '..' segment"),
            TEMP_DIR if i == 0 => return bad("'.tmp/' is reserved for in-flight uploads"),
            _ => {}
        }
    }
    if !is_prefix
        && let Some(last) = segments.last()
        && let Some((_, suffix)) = last.rsplit_once('#')
        && !suffix.is_empty()
        && suffix.bytes().all(|b| b.is_ascii_digit())
    {
        return bad("a name ending in '#' and digits is reserved");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_keys() {
        for k in [
            "123456789012/0b9e6c1a-6f7e-4d2b-9a51-1f0b5c2f2d10",
            "a",
            "a/b/c.txt",
            "with space/and%percent/ünï",
            "x#y",
            "x#",
            "...",
            "a/.tmp",
            &"k".repeat(1024),
        ] {
            assert!(parse_key(k).is_ok(), "{k:?} refused");
        }
    }

    #[test]
    fn refuses_escaping_or_odd_keys() {
        for k in [
            "",
            "/a",
            "../x",
            "a/../x",
            "a/..",
            "..",
            ".",
            "./a",
            "a//b",
            "a/",
            "a\0b",
            "a\nb",
            ".tmp/x",
            ".tmp",
            "a/b#12",
            &"k".repeat(1025),
        ] {
            assert!(
                matches!(parse_key(k), Err(BlobError::InvalidKey { .. })),
                "{k:?} accepted"
            );
        }
    }

    #[test]
    fn prefixes() {
        assert_eq!(parse_prefix("").ok(), Some(None));
        assert_eq!(
            parse_prefix("a/b/").ok().flatten().map(|p| p.to_string()),
            Some("a/b".to_string())
        );
        assert!(parse_prefix("a/b#1").is_ok());
        for p in ["/", "../", "a/../b", "/a", ".tmp/", "a//"] {
            assert!(parse_prefix(p).is_err(), "{p:?} accepted");
        }
    }
}
