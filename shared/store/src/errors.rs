//! What goes wrong in the store, in the store's terms: every fallible store function returns a
//! [`StoreError`]. The API crate turns it into an HTTP error, in one place (its `error.rs`).

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// DynamoDB did not answer in time, throttled, or kept cancelling for other transactions: a retry may work.
    #[error("the table is unavailable")]
    Unavailable,
    /// A call DynamoDB refused as malformed, or an item that does not decode: a bug on our side (logged).
    #[error("unexpected store failure")]
    Unexpected,
    /// The session, token or account a credential names is gone (revoked, ended, deleted).
    #[error("the credential's session or account is gone")]
    CredentialGone,
    /// The data changed between the read and the conditioned write.
    #[error("the data changed meanwhile")]
    Conflict,
    /// The change needs more item writes than one transaction holds.
    #[error("too many item writes for one transaction")]
    TooManyChanges,
    /// The organization is being deleted: nobody joins it.
    #[error("the organization is being deleted")]
    OrganizationDeleting,
    /// The address belongs to an account already.
    #[error("the address {0} is taken")]
    EmailInUse(String),
    /// The organization id is taken, now or by an organization that was deleted (not said which).
    #[error("the organization id {0} is taken")]
    OrganizationIdTaken(String),
    /// The organization has a team of that name.
    #[error("the team name {0} is taken")]
    TeamNameTaken(String),
}

impl StoreError {
    /// A DynamoDB SDK failure: transient faults (network, timeouts, throttling, the service's own errors)
    /// are [`StoreError::Unavailable`]; anything else is a bug on our side, logged as such.
    pub(crate) fn sdk<E, R>(operation: &'static str, err: SdkError<E, R>) -> StoreError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        if logged_transient(operation, &err) { StoreError::Unavailable } else { StoreError::Unexpected }
    }
}

/// Whether an AWS SDK failure is transient ([`is_transient`]), logged as a warning if it is and as an error
/// (a bug on our side) if not: the one classification of every AWS call's failure, the store's and the
/// API crate's adapters'.
pub fn logged_transient<E, R>(operation: &'static str, err: &SdkError<E, R>) -> bool
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let transient = is_transient(err);
    let context = aws_sdk_dynamodb::error::DisplayErrorContext(err);
    if transient {
        tracing::warn!(operation, error = %context, "transient AWS error");
    } else {
        tracing::error!(operation, error = %context, "unexpected AWS error");
    }
    transient
}

/// Whether an AWS SDK failure may pass on a retry: the network, a timeout, throttling, the service's own errors.
pub(crate) fn is_transient<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    match err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => true,
        SdkError::ServiceError(service) => matches!(
            service.err().code(),
            Some(
                "ThrottlingException"
                    | "ProvisionedThroughputExceededException"
                    | "RequestLimitExceeded"
                    | "InternalServerError"
                    | "ServiceUnavailable"
                    | "TransactionInProgressException"
                    | "TooManyRequestsException"
            )
        ),
        _ => false,
    }
}
