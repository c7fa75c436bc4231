use chrono::{DateTime, SecondsFormat, Utc};

/// A point in time, UTC. Stored as milliseconds since the epoch.
pub type Timestamp = DateTime<Utc>;

/// `2026-11-28T15:48:57Z`, the form IAM and STS use.
pub fn iso8601(t: Timestamp) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `2026-11-28T15:48:57.123Z`.
pub fn iso8601_millis(t: Timestamp) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}
