//! The one place where ferry-core's errors (and a failed request body)
//! become S3's error codes and HTTP statuses.

use ferry_core::CoreError;
use ferry_http::RestBodyError;
use http::StatusCode;
use s3s::{S3Error, S3ErrorCode};

use crate::backend::BodyError;

/// What a client sees for a failure inside Ferry: the details go to the log,
/// not over the wire.
const INTERNAL_MESSAGE: &str = "We encountered an internal error. Please try again.";

/// The HTTP status S3 answers a code with, when the code alone says it.
fn status_of_code(code: &str) -> Option<StatusCode> {
    Some(match code {
        "NoSuchBucket" | "NoSuchKey" | "NoSuchBucketPolicy" => StatusCode::NOT_FOUND,
        "BucketAlreadyExists" | "BucketAlreadyOwnedByYou" | "BucketNotEmpty" => {
            StatusCode::CONFLICT
        }
        "InvalidBucketName"
        | "KeyTooLongError"
        | "BadDigest"
        | "InvalidDigest"
        | "MalformedPolicy"
        | "InvalidArgument"
        | "InvalidRequest"
        | "IncompleteBody"
        | "XAmzContentSHA256Mismatch"
        | "RequestTimeout"
        | "EntityTooLarge"
        | "MalformedXML"
        | "AccessControlListNotSupported"
        | "MetadataTooLarge" => StatusCode::BAD_REQUEST,
        "InvalidRange" => StatusCode::RANGE_NOT_SATISFIABLE,
        "PreconditionFailed" => StatusCode::PRECONDITION_FAILED,
        "NotModified" => StatusCode::NOT_MODIFIED,
        "AccessDenied" | "SignatureDoesNotMatch" => StatusCode::FORBIDDEN,
        "NotImplemented" => StatusCode::NOT_IMPLEMENTED,
        "InternalError" => StatusCode::INTERNAL_SERVER_ERROR,
        _ => return None,
    })
}

/// An S3 error with this code, message and status.
pub(crate) fn s3_error(code: &str, status: StatusCode, message: impl Into<String>) -> S3Error {
    let code = S3ErrorCode::from_bytes(code.as_bytes()).unwrap_or(S3ErrorCode::InternalError);
    let mut e = S3Error::with_message(code, message.into());
    e.set_status_code(status);
    e
}

/// An S3 error whose status follows from its code (400 for codes not known
/// here: those are client errors of the request's own making).
pub(crate) fn coded(code: &str, message: impl Into<String>) -> S3Error {
    s3_error(
        code,
        status_of_code(code).unwrap_or(StatusCode::BAD_REQUEST),
        message,
    )
}

/// `AccessDenied` (403).
pub(crate) fn access_denied() -> S3Error {
    coded("AccessDenied", "Access Denied")
}

/// A ferry-core error as S3 answers it.
pub(crate) fn from_core(e: &CoreError) -> S3Error {
    match e {
        CoreError::Store(_) | CoreError::Internal(_) => {
            tracing::error!(error = %e, "S3 request failed inside Ferry");
            s3_error(
                "InternalError",
                StatusCode::INTERNAL_SERVER_ERROR,
                INTERNAL_MESSAGE,
            )
        }
        _ => {
            let code = e.code();
            // The variant gives the status of a code not in the table: a
            // missing thing is a 404, a clash a 409, a refusal a 403.
            let status = status_of_code(code).unwrap_or(match e {
                CoreError::NotFound { .. } => StatusCode::NOT_FOUND,
                CoreError::Conflict { .. } => StatusCode::CONFLICT,
                CoreError::AccessDenied(_) => StatusCode::FORBIDDEN,
                _ => StatusCode::BAD_REQUEST,
            });
            s3_error(code, status, e.to_string())
        }
    }
}

/// A request body that failed while streaming, with the front door's code
/// and status when it was the front door's check that failed.
pub(crate) fn body_error(e: &(dyn std::error::Error + 'static)) -> BodyError {
    match e.downcast_ref::<RestBodyError>() {
        Some(rest) => BodyError {
            code: rest.code().to_string(),
            status: rest.http_status(),
            message: rest.to_string(),
        },
        None => BodyError {
            code: "IncompleteBody".to_string(),
            status: 400,
            message: format!("The request body could not be read: {e}"),
        },
    }
}

/// A failed request body as S3 answers it.
pub(crate) fn from_body(e: &BodyError) -> S3Error {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
    s3_error(&e.code, status, e.message.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_store::StoreError;

    fn status_and_code(e: &S3Error) -> (u16, String) {
        (
            e.status_code().map(|s| s.as_u16()).unwrap_or(0),
            e.code().as_str().to_string(),
        )
    }

    #[test]
    fn core_codes_get_s3_statuses() {
        let cases = [
            (CoreError::not_found("NoSuchBucket", "b"), 404),
            (CoreError::not_found("NoSuchKey", "k"), 404),
            (CoreError::not_found("NoSuchBucketPolicy", "p"), 404),
            (
                CoreError::Conflict {
                    code: "BucketAlreadyExists",
                    message: "x".into(),
                },
                409,
            ),
            (
                CoreError::Conflict {
                    code: "BucketAlreadyOwnedByYou",
                    message: "x".into(),
                },
                409,
            ),
            (
                CoreError::Conflict {
                    code: "BucketNotEmpty",
                    message: "x".into(),
                },
                409,
            ),
            (CoreError::invalid("InvalidBucketName", "x"), 400),
            (CoreError::invalid("KeyTooLongError", "x"), 400),
            (CoreError::invalid("BadDigest", "x"), 400),
            (CoreError::invalid("InvalidDigest", "x"), 400),
            (CoreError::invalid("MalformedPolicy", "x"), 400),
            (CoreError::invalid("InvalidArgument", "x"), 400),
            (CoreError::invalid("InvalidRange", "x"), 416),
            (CoreError::invalid("PreconditionFailed", "x"), 412),
            (CoreError::invalid("NotModified", "x"), 304),
            (CoreError::AccessDenied("Access Denied".into()), 403),
        ];
        for (e, status) in cases {
            let code = e.code();
            let got = from_core(&e);
            assert_eq!(status_and_code(&got), (status, code.to_string()), "{e:?}");
        }
    }

    #[test]
    fn unknown_codes_follow_the_variant() {
        let e = from_core(&CoreError::not_found("NoSuchThing", "x"));
        assert_eq!(status_and_code(&e), (404, "NoSuchThing".into()));
        let e = from_core(&CoreError::Conflict {
            code: "SomethingInUse",
            message: "x".into(),
        });
        assert_eq!(status_and_code(&e), (409, "SomethingInUse".into()));
        let e = from_core(&CoreError::invalid("OddInput", "x"));
        assert_eq!(status_and_code(&e), (400, "OddInput".into()));
    }

    #[test]
    fn internal_failures_hide_their_details() {
        for e in [
            CoreError::Internal("disk on fire at /secret/path".into()),
            CoreError::Store(StoreError::Engine("connection refused".into())),
        ] {
            let got = from_core(&e);
            assert_eq!(status_and_code(&got), (500, "InternalError".into()));
            assert_eq!(got.message(), Some(INTERNAL_MESSAGE));
        }
    }

    #[test]
    fn body_errors_keep_the_front_doors_code_and_status() {
        let timeout = RestBodyError::Timeout;
        let b = body_error(&timeout);
        assert_eq!((b.code.as_str(), b.status), ("RequestTimeout", 400));
        let short = RestBodyError::LengthMismatch {
            expected: 10,
            got: 4,
        };
        let b = body_error(&short);
        assert_eq!((b.code.as_str(), b.status), ("IncompleteBody", 400));
        let e = from_body(&b);
        assert_eq!(status_and_code(&e), (400, "IncompleteBody".into()));

        // A boxed error, as s3s hands it on, is still recognised.
        let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(RestBodyError::Timeout);
        assert_eq!(body_error(boxed.as_ref()).code, "RequestTimeout");

        // Anything else reading the body is an incomplete body.
        let other = std::io::Error::other("reset");
        assert_eq!(body_error(&other).code, "IncompleteBody");
    }

    #[test]
    fn front_door_codes_not_in_s3s_keep_their_names() {
        let e = coded("XAmzContentSHA256Mismatch", "mismatch");
        assert_eq!(
            status_and_code(&e),
            (400, "XAmzContentSHA256Mismatch".into())
        );
    }
}
