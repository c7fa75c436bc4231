use rand::Rng;
use rand::distr::Alphanumeric;

/// The kind of an access key, visible in its prefix as in AWS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// A long-term key of an IAM user or root: `AKIA...`.
    LongTerm,
    /// A temporary key issued by STS: `ASIA...`.
    Session,
}

const KEY_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// A new 20-character access key id of the given kind.
pub fn access_key_id(kind: KeyKind) -> String {
    let prefix = match kind {
        KeyKind::LongTerm => "AKIA",
        KeyKind::Session => "ASIA",
    };
    let mut rng = rand::rng();
    let tail: String = (0..16)
        .map(|_| KEY_ALPHABET[rng.random_range(0..KEY_ALPHABET.len())] as char)
        .collect();
    format!("{prefix}{tail}")
}

/// A new 40-character secret access key.
pub fn secret_access_key() -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(40)
        .map(char::from)
        .collect()
}

fn uuid_like() -> String {
    let b: [u8; 16] = rand::rng().random();
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
        u16::from_be_bytes([b[4], b[5]]),
        (u16::from_be_bytes([b[6], b[7]]) & 0x0fff) | 0x4000,
        (u16::from_be_bytes([b[8], b[9]]) & 0x3fff) | 0x8000,
        u64::from_be_bytes([0, 0, b[10], b[11], b[12], b[13], b[14], b[15]])
    )
}

/// A new request id (a UUID, as AWS JSON and query services send).
pub fn request_id() -> String {
    uuid_like()
}

/// A new audit event id (a UUID, as CloudTrail's eventID).
pub fn event_id() -> String {
    uuid_like()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_have_aws_shape() {
        let k = access_key_id(KeyKind::LongTerm);
        assert!(k.starts_with("AKIA") && k.len() == 20);
        assert!(access_key_id(KeyKind::Session).starts_with("ASIA"));
        assert_eq!(secret_access_key().len(), 40);
        assert_ne!(secret_access_key(), secret_access_key());
    }

    #[test]
    fn request_ids_are_uuids() {
        let id = request_id();
        assert_eq!(id.len(), 36);
        assert_eq!(id.matches('-').count(), 4);
    }
}
