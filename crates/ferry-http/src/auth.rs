//! SigV4 -> principal. The signature is checked with the secret that
//! ferry-core resolves for the key; the result is who signed. Shared by the
//! buffered (JSON/query) dispatch, Ferry's own endpoints and the streaming
//! REST route, which differ only in how they spell the errors ([`Dialect`])
//! and in whether the body hash is known before the call.

use ferry_core::audit::Caller;
use ferry_core::{Ferry, Principal};
use ferry_sigv4::{SigV4Error, SignedRequest, Verified};
use http::request::Parts;

use crate::{ApiError, Protocol};

/// Why authentication failed, and as whom the audit trail should record it.
pub(crate) struct AuthFailure {
    pub error: ApiError,
    pub caller: Caller,
}

/// How a service family spells authentication errors: the query/JSON
/// services share IAM's codes, S3 has its own codes and statuses.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Dialect {
    /// A JSON or query service.
    Aws(Protocol),
    /// S3's REST-XML.
    S3,
}

impl Dialect {
    fn missing(self) -> ApiError {
        match self {
            Dialect::Aws(p) => ApiError::new(
                403,
                p.auth_code("MissingAuthenticationToken"),
                "Request is missing Authentication Token",
            ),
            Dialect::S3 => ApiError::new(403, "AccessDenied", "Access Denied"),
        }
    }

    /// An access key ferry-core does not know (or a session key sent
    /// without its token).
    fn unknown_key(self) -> ApiError {
        match self {
            Dialect::Aws(p) => ApiError::new(
                403,
                p.auth_code("InvalidClientTokenId"),
                "The security token included in the request is invalid.",
            ),
            Dialect::S3 => ApiError::new(
                403,
                "InvalidAccessKeyId",
                "The AWS Access Key Id you provided does not exist in our records.",
            ),
        }
    }

    /// A session token that does not check out.
    fn bad_token(self) -> ApiError {
        match self {
            Dialect::Aws(_) => self.unknown_key(),
            Dialect::S3 => ApiError::new(
                400,
                "InvalidToken",
                "The provided token is malformed or otherwise invalid.",
            ),
        }
    }

    fn expired_token(self) -> ApiError {
        match self {
            Dialect::Aws(p) => ApiError::new(
                403,
                p.auth_code("ExpiredToken"),
                "The security token included in the request is expired",
            ),
            Dialect::S3 => ApiError::new(400, "ExpiredToken", "The provided token has expired."),
        }
    }

    pub(crate) fn sig_error(self, e: &SigV4Error) -> ApiError {
        match self {
            Dialect::Aws(p) => ApiError::new(e.http_status(), p.auth_code(e.code()), e.to_string()),
            // S3 calls a malformed Authorization header by its own name.
            Dialect::S3 => match e {
                SigV4Error::IncompleteSignature(m) => {
                    ApiError::new(400, "AuthorizationHeaderMalformed", m.clone())
                }
                _ => ApiError::new(e.http_status(), e.code(), e.to_string()),
            },
        }
    }
}

/// Parses the request's SigV4 auth. Anonymous requests fail here: every
/// buffered service requires authentication.
pub(crate) fn parse(parts: &Parts, dialect: Dialect) -> Result<SignedRequest, Box<AuthFailure>> {
    let unknown = Caller::Unknown {
        access_key_id: None,
    };
    match ferry_sigv4::parse(&parts.method, &parts.uri, &parts.headers) {
        Ok(Some(signed)) => Ok(signed),
        Ok(None) => Err(Box::new(AuthFailure {
            error: dialect.missing(),
            caller: unknown,
        })),
        Err(e) => Err(Box::new(AuthFailure {
            error: dialect.sig_error(&e),
            caller: unknown,
        })),
    }
}

/// Resolves a parsed request's key (and session token) to a principal and
/// verifies the signature with its secret.
///
/// `body_sha256` is the hex hash of a buffered body; `None` when the body
/// streams, in which case the payload must be named by
/// `x-amz-content-sha256` (a digest is then checked while streaming).
pub(crate) async fn authenticate(
    ferry: &Ferry,
    parts: &Parts,
    signed: &SignedRequest,
    body_sha256: Option<&str>,
    dialect: Dialect,
) -> Result<(Principal, Verified), Box<AuthFailure>> {
    let key_id = signed.access_key_id().to_string();
    let unknown = |error: ApiError| {
        Box::new(AuthFailure {
            error,
            caller: Caller::Unknown {
                access_key_id: Some(key_id.clone()),
            },
        })
    };
    let looked_up = match &signed.security_token {
        // Session credentials: the token says who, and the server checks it.
        Some(token) => ferry
            .resolve_session(&key_id, token)
            .await
            .map(|r| r.map_err(Some)),
        // Long-term keys carry no token; a session key without one is not
        // a key at all.
        None if key_id.starts_with("ASIA") => Ok(Err(None)),
        None => ferry
            .resolve_access_key(&key_id)
            .await
            .map(|r| r.ok_or(None)),
    };
    let resolved = match looked_up {
        Ok(Ok(r)) => r,
        Ok(Err(Some("ExpiredToken"))) => return Err(unknown(dialect.expired_token())),
        Ok(Err(Some(_))) => return Err(unknown(dialect.bad_token())),
        Ok(Err(None)) => return Err(unknown(dialect.unknown_key())),
        Err(e) => return Err(unknown(ApiError::from_core(&e))),
    };
    let verified = ferry_sigv4::verify(
        signed,
        &parts.method,
        &parts.uri,
        &parts.headers,
        &resolved.secret_access_key,
        ferry.now(),
        body_sha256,
    )
    .map_err(|e| {
        Box::new(AuthFailure {
            error: dialect.sig_error(&e),
            caller: Caller::KeyOf {
                account: resolved.principal.account,
                access_key_id: key_id.clone(),
            },
        })
    })?;
    Ok((resolved.principal, verified))
}
