//! SigV4 -> principal. The signature is checked with the secret that
//! ferry-core resolves for the key; the result is who signed.

use ferry_core::audit::Caller;
use ferry_core::{Ferry, Principal};
use ferry_sigv4::{SigV4Error, SignedRequest};
use http::request::Parts;

use crate::{ApiError, Protocol};

/// Why authentication failed, and as whom the audit trail should record it.
pub(crate) struct AuthFailure {
    pub error: ApiError,
    pub caller: Caller,
}

fn sig_error(protocol: Protocol, e: &SigV4Error) -> ApiError {
    ApiError::new(e.http_status(), protocol.auth_code(e.code()), e.to_string())
}

/// Parses the request's SigV4 auth. Anonymous requests fail here: every
/// service served so far requires authentication.
pub(crate) fn parse(parts: &Parts, protocol: Protocol) -> Result<SignedRequest, Box<AuthFailure>> {
    match ferry_sigv4::parse(&parts.method, &parts.uri, &parts.headers) {
        Ok(Some(signed)) => Ok(signed),
        Ok(None) => Err(Box::new(AuthFailure {
            error: ApiError::new(
                403,
                protocol.auth_code("MissingAuthenticationToken"),
                "Request is missing Authentication Token",
            ),
            caller: Caller::Unknown {
                access_key_id: None,
            },
        })),
        Err(e) => Err(Box::new(AuthFailure {
            error: sig_error(protocol, &e),
            caller: Caller::Unknown {
                access_key_id: None,
            },
        })),
    }
}

/// Verifies a parsed request and resolves its key to a principal.
pub(crate) async fn authenticate(
    ferry: &Ferry,
    parts: &Parts,
    signed: &SignedRequest,
    body: &[u8],
    protocol: Protocol,
) -> Result<Principal, Box<AuthFailure>> {
    let key_id = signed.access_key_id().to_string();
    let invalid_token = || {
        Box::new(AuthFailure {
            error: ApiError::new(
                403,
                protocol.auth_code("InvalidClientTokenId"),
                "The security token included in the request is invalid.",
            ),
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
        Ok(Err(Some("ExpiredToken"))) => {
            return Err(Box::new(AuthFailure {
                error: ApiError::new(
                    403,
                    protocol.auth_code("ExpiredToken"),
                    "The security token included in the request is expired",
                ),
                caller: Caller::Unknown {
                    access_key_id: Some(key_id.clone()),
                },
            }));
        }
        Ok(Err(_)) => return Err(invalid_token()),
        Err(e) => {
            return Err(Box::new(AuthFailure {
                error: ApiError::from_core(&e),
                caller: Caller::Unknown {
                    access_key_id: Some(key_id),
                },
            }));
        }
    };
    let body_hash = ferry_sigv4::sha256_hex(body);
    ferry_sigv4::verify(
        signed,
        &parts.method,
        &parts.uri,
        &parts.headers,
        &resolved.secret_access_key,
        ferry.now(),
        Some(&body_hash),
    )
    .map_err(|e| {
        Box::new(AuthFailure {
            error: sig_error(protocol, &e),
            caller: Caller::KeyOf {
                account: resolved.principal.account,
                access_key_id: key_id.clone(),
            },
        })
    })?;
    Ok(resolved.principal)
}
