use ferry_store::StoreError;

/// The one domain error. Each adapter maps it, in one place, to its
/// protocol's AWS error code and HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// The caller may not do this. The message is the AWS-style sentence.
    #[error("{0}")]
    AccessDenied(String),
    /// A named thing does not exist. `kind` is the AWS error code to use
    /// (for example `AccountNotFoundException`).
    #[error("{message}")]
    NotFound {
        /// AWS error code.
        code: &'static str,
        /// Human message.
        message: String,
    },
    /// A parameter is missing or invalid. `code` is the service's code.
    #[error("{message}")]
    InvalidInput {
        /// AWS error code (e.g. `InvalidInputException`, `ValidationError`).
        code: &'static str,
        /// Human message.
        message: String,
    },
    /// The thing already exists or is in use.
    #[error("{message}")]
    Conflict {
        /// AWS error code.
        code: &'static str,
        /// Human message.
        message: String,
    },
    /// The store failed; a 500 with a request id.
    #[error("internal error: {0}")]
    Store(#[from] StoreError),
    /// Anything else unexpected; a 500 with a request id.
    #[error("internal error: {0}")]
    Internal(String),
}

impl CoreError {
    /// An invalid-input error with the given code.
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        CoreError::InvalidInput {
            code,
            message: message.into(),
        }
    }

    /// A not-found error with the given code.
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        CoreError::NotFound {
            code,
            message: message.into(),
        }
    }

    /// The AWS error code, where the domain knows it.
    pub fn code(&self) -> &'static str {
        match self {
            CoreError::AccessDenied(_) => "AccessDenied",
            CoreError::NotFound { code, .. }
            | CoreError::InvalidInput { code, .. }
            | CoreError::Conflict { code, .. } => code,
            CoreError::Store(_) | CoreError::Internal(_) => "InternalFailure",
        }
    }
}
