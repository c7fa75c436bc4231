use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A 12-digit AWS account id.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AccountId(u64);

/// A string that is not 12 ASCII digits.
#[derive(Debug, thiserror::Error)]
#[error("invalid account id {0:?}: an account id is exactly 12 digits")]
pub struct InvalidAccountId(pub String);

impl AccountId {
    /// No account: what an anonymous caller's principal carries. Real ids
    /// never start with 0 ([`AccountId::random`]), so this one owns nothing
    /// and no policy can name it as a member.
    pub const ANONYMOUS: AccountId = AccountId(0);

    /// A new random account id (never starting with 0, so it reads well).
    pub fn random() -> Self {
        use rand::Rng;
        AccountId(rand::rng().random_range(100_000_000_000..1_000_000_000_000))
    }

    /// The id as its 12-digit string.
    pub fn as_string(&self) -> String {
        self.to_string()
    }
}

impl FromStr for AccountId {
    type Err = InvalidAccountId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()) {
            s.parse::<u64>()
                .map(AccountId)
                .map_err(|_| InvalidAccountId(s.to_string()))
        } else {
            Err(InvalidAccountId(s.to_string()))
        }
    }
}

impl TryFrom<String> for AccountId {
    type Error = InvalidAccountId;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<AccountId> for String {
    fn from(a: AccountId) -> String {
        a.to_string()
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:012}", self.0)
    }
}

impl fmt::Debug for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccountId({self})")
    }
}

/// Where an account's data lives. `Pooled` accounts share the main store and
/// blob root; `Siloed` accounts get their own store and blob root.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    /// Shares the main store and blob root (rows keyed by account).
    Pooled,
    /// Own store (SQLite file or Postgres schema) and own blob root.
    Siloed,
}

/// A tier name that is neither `pooled` nor `siloed`.
#[derive(Debug, thiserror::Error)]
#[error("invalid tier {0:?}: expected \"pooled\" or \"siloed\"")]
pub struct InvalidTier(pub String);

impl Tier {
    /// The lowercase name used on the wire and in the store.
    pub fn as_str(&self) -> &'static str {
        match self {
            Tier::Pooled => "pooled",
            Tier::Siloed => "siloed",
        }
    }
}

impl FromStr for Tier {
    type Err = InvalidTier;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "pooled" => Ok(Tier::Pooled),
            "siloed" => Ok(Tier::Siloed),
            _ => Err(InvalidTier(s.to_string())),
        }
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_ids_are_twelve_digits() {
        assert!("123456789012".parse::<AccountId>().is_ok());
        assert_eq!(
            "000000000042"
                .parse::<AccountId>()
                .map(|a| a.to_string())
                .ok(),
            Some("000000000042".to_string())
        );
        for bad in [
            "",
            "12345678901",
            "1234567890123",
            "12345678901a",
            "+23456789012",
        ] {
            assert!(bad.parse::<AccountId>().is_err(), "{bad}");
        }
    }

    #[test]
    fn random_ids_round_trip() {
        for _ in 0..100 {
            let a = AccountId::random();
            assert_eq!(a.to_string().parse::<AccountId>().ok(), Some(a));
        }
    }

    #[test]
    fn tiers_parse() {
        assert_eq!("Siloed".parse::<Tier>().ok(), Some(Tier::Siloed));
        assert!("gold".parse::<Tier>().is_err());
    }
}
