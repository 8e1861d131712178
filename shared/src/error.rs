//! The one error type every handler returns. It becomes WEBKNOSSOS's error JSON
//! `{"messages":[{"error":"...","code":"..."}]}`; clients that only read `error` keep working.

use accounts_domain::{DomainError, ErrorKind};
use accounts_store::StoreError;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} {code}: {message}")]
pub struct ApiError {
    pub status: u16,
    /// Stable, machine-readable reason (dotted, in WEBKNOSSOS's message-key style).
    pub code: &'static str,
    /// Human-readable text for the `error` field.
    pub message: String,
    /// Seconds after which a retry may succeed: sent as `Retry-After` (429 and 503).
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), retry_after: None }
    }
    pub(crate) fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(400, code, message)
    }
    pub(crate) fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(401, code, message)
    }
    pub(crate) fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(403, code, message)
    }
    pub(crate) fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(404, code, message)
    }
    pub(crate) fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(409, code, message)
    }
    pub(crate) fn not_authenticated() -> Self {
        Self::unauthorized("auth.required", "Authentication required: send a session token or an X-Auth-Token header")
    }
    pub(crate) fn invalid_credential() -> Self {
        Self::unauthorized("auth.invalid", "The session or token is invalid, expired or revoked; please log in again")
    }
    pub(crate) fn internal() -> Self {
        Self::new(500, "internal", "An internal error occurred")
    }
}

/// An AWS SDK failure of an adapter (SES, SQS, EventBridge, Secrets Manager), as the domain reports it:
/// transient faults (the store's classification, `accounts_store::errors::logged_transient`) are unavailable,
/// a retry may work; anything else is a bug on our side and is logged as such.
pub(crate) fn aws_failure<E, R>(operation: &'static str, err: SdkError<E, R>) -> DomainError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    if accounts_store::errors::logged_transient(operation, &err) {
        DomainError::unavailable()
    } else {
        DomainError::internal()
    }
}

/// The one place where a domain error becomes an HTTP error: its kind chooses the status; code, text and
/// `Retry-After` are the domain's.
impl From<DomainError> for ApiError {
    fn from(err: DomainError) -> Self {
        let status = match err.kind {
            ErrorKind::Invalid => 400,
            ErrorKind::Unauthenticated => 401,
            ErrorKind::Forbidden => 403,
            ErrorKind::NotFound => 404,
            ErrorKind::Conflict => 409,
            ErrorKind::Gone => 410,
            ErrorKind::Unprocessable => 422,
            ErrorKind::TooMany => 429,
            ErrorKind::Unavailable => 503,
            ErrorKind::Internal => 500,
        };
        ApiError { status, code: err.code, message: err.message, retry_after: err.retry_after }
    }
}

/// A store failure, as the domain reports it (`accounts_domain::error`).
impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        DomainError::from(err).into()
    }
}
