//! Errors returned when a policy document is rejected.

use serde::Serialize;

/// Which AWS error a rejected policy maps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum PolicyErrorCode {
    /// The document is not valid policy grammar (`MalformedPolicyDocument`).
    MalformedPolicyDocument,
    /// The document is larger than the quota (`LimitExceeded`).
    LimitExceeded,
}

impl PolicyErrorCode {
    /// The AWS error code string.
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyErrorCode::MalformedPolicyDocument => "MalformedPolicyDocument",
            PolicyErrorCode::LimitExceeded => "LimitExceeded",
        }
    }
}

/// A policy document that was rejected, with a message saying what is
/// wrong, suitable for the API error body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", code.as_str())]
pub struct PolicyError {
    code: PolicyErrorCode,
    message: String,
}

impl PolicyError {
    pub(crate) fn malformed(message: impl Into<String>) -> PolicyError {
        PolicyError {
            code: PolicyErrorCode::MalformedPolicyDocument,
            message: message.into(),
        }
    }

    pub(crate) fn limit(message: impl Into<String>) -> PolicyError {
        PolicyError {
            code: PolicyErrorCode::LimitExceeded,
            message: message.into(),
        }
    }

    /// The error code (`MalformedPolicyDocument` or `LimitExceeded`).
    pub fn code(&self) -> PolicyErrorCode {
        self.code
    }

    /// What is wrong with the document.
    pub fn message(&self) -> &str {
        &self.message
    }
}
