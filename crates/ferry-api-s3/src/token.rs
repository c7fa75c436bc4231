//! ListObjectsV2's continuation token: an opaque encoding of the key the
//! next page starts after. Clients must not read meaning into it, so it is
//! base64 (URL-safe, no padding) of a versioned form, and anything that
//! does not decode back is the client's error, not a listing from the start.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The version prefix: a later encoding can tell its tokens from these.
const PREFIX: &str = "1/";

/// The token for a page that starts after `after`.
pub(crate) fn encode(after: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{PREFIX}{after}"))
}

/// The key a token's page starts after, or `None` for a token this
/// encoding did not produce.
pub(crate) fn decode(token: &str) -> Option<String> {
    let raw = URL_SAFE_NO_PAD.decode(token.trim().as_bytes()).ok()?;
    let text = String::from_utf8(raw).ok()?;
    text.strip_prefix(PREFIX).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_any_key() {
        for key in [
            "a",
            "photos/2024/cat.jpg",
            "ünïcödé/✓",
            "with space+plus&amp",
            "x/",
            "1/looks-like-prefix",
        ] {
            let t = encode(key);
            assert_eq!(decode(&t).as_deref(), Some(key), "{key}");
            // Safe in a query string without escaping.
            assert!(
                t.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
                "{t}"
            );
        }
    }

    #[test]
    fn is_opaque() {
        assert!(!encode("photos/cat.jpg").contains("photos"));
    }

    #[test]
    fn refuses_tokens_it_did_not_make() {
        assert_eq!(decode(""), None);
        assert_eq!(decode("not base64 !!"), None);
        // Valid base64, wrong version.
        assert_eq!(decode(&URL_SAFE_NO_PAD.encode("2/key")), None);
        // Valid base64, not UTF-8.
        assert_eq!(decode(&URL_SAFE_NO_PAD.encode([0xff, 0xfe])), None);
    }
}
