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

/// A version 7 UUID: the first 48 bits are the Unix time in milliseconds,
/// so ids made later sort later and an index on them grows at its end
/// (a random id lands on a random index page: one page written per row).
fn time_ordered_uuid() -> String {
    let b: [u8; 10] = rand::rng().random();
    let ms = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0) & 0xffff_ffff_ffff;
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        ms >> 16,
        ms & 0xffff,
        (u16::from_be_bytes([b[0], b[1]]) & 0x0fff) | 0x7000,
        (u16::from_be_bytes([b[2], b[3]]) & 0x3fff) | 0x8000,
        u64::from_be_bytes([0, 0, b[4], b[5], b[6], b[7], b[8], b[9]])
    )
}

/// A new request id (a UUID, as AWS JSON and query services send).
pub fn request_id() -> String {
    uuid_like()
}

/// A new SQS message id (a UUID, as SQS's MessageId), time-ordered for the
/// same reason as [`event_id`]: the store's message id index is appended
/// to, and made from the thread's RNG, not a system call per message.
pub fn message_id() -> String {
    time_ordered_uuid()
}

/// A new audit event id (a UUID, as CloudTrail's eventID), time-ordered:
/// the trail's primary key index is appended to, not scattered over.
pub fn event_id() -> String {
    time_ordered_uuid()
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

    #[test]
    fn event_ids_are_uuids_that_sort_by_time() {
        let first = event_id();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let second = event_id();
        assert_eq!(first.len(), 36);
        assert_eq!(first.matches('-').count(), 4);
        assert_eq!(&first[14..15], "7", "version 7");
        assert!(first < second, "{first} then {second}");
    }
}
