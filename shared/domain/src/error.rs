//! Why the domain refused or failed: a kind (what sort of refusal, never an HTTP status), WEBKNOSSOS's
//! stable code and the text people read. The API crate turns a [`DomainError`] into its HTTP error in one
//! place (`From<DomainError> for ApiError`), the kind choosing the status; a store failure becomes one here,
//! with the codes the wire has always had.

use accounts_store::StoreError;

/// What sort of refusal or failure; the API crate maps each to one HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The input is malformed or breaks a rule (400).
    Invalid,
    /// No credential, or one that is not valid (401).
    Unauthenticated,
    /// The caller may not do this (403).
    Forbidden,
    /// Not found, or not visible to the caller (404).
    NotFound,
    /// It clashes with the current state (409).
    Conflict,
    /// It existed and is over: used, expired, revoked, being deleted (410).
    Gone,
    /// Understood, but it cannot be done for these recipients or this content (422).
    Unprocessable,
    /// Refused for a while (429, with `retry_after`).
    TooMany,
    /// A dependency is unavailable; a retry may work (503).
    Unavailable,
    /// A bug on our side (500).
    Internal,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind:?} {code}: {message}")]
pub struct DomainError {
    pub kind: ErrorKind,
    /// Stable, machine-readable reason (dotted, in WEBKNOSSOS's message-key style).
    pub code: &'static str,
    /// Human-readable text.
    pub message: String,
    /// Seconds after which a retry may succeed ([`ErrorKind::TooMany`], [`ErrorKind::Unavailable`]).
    pub retry_after: Option<u64>,
}

impl DomainError {
    pub fn new(kind: ErrorKind, code: &'static str, message: impl Into<String>) -> Self {
        Self { kind, code, message: message.into(), retry_after: None }
    }
    /// Refused for `retry_after` seconds.
    pub(crate) fn too_many_requests(code: &'static str, message: impl Into<String>, retry_after: u64) -> Self {
        Self { retry_after: Some(retry_after.max(1)), ..Self::new(ErrorKind::TooMany, code, message) }
    }
    pub(crate) fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Invalid, code, message)
    }
    pub(crate) fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unauthenticated, code, message)
    }
    pub(crate) fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Forbidden, code, message)
    }
    pub(crate) fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, code, message)
    }
    pub(crate) fn gone(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Gone, code, message)
    }
    pub(crate) fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unprocessable, code, message)
    }
    pub(crate) fn invalid_credential() -> Self {
        Self::unauthorized("auth.invalid", "The session or token is invalid, expired or revoked; please log in again")
    }
    pub fn unavailable() -> Self {
        Self::new(ErrorKind::Unavailable, "service.unavailable", "The service is temporarily unavailable; please retry")
    }
    pub fn internal() -> Self {
        Self::new(ErrorKind::Internal, "internal", "An internal error occurred")
    }
}

/// A store failure as the domain reports it (the wire codes are these).
impl From<StoreError> for DomainError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Unavailable => DomainError::unavailable(),
            StoreError::Unexpected => DomainError::internal(),
            StoreError::CredentialGone => DomainError::invalid_credential(),
            StoreError::Conflict => {
                DomainError::conflict("request.conflict", "The data changed while the request ran; please retry")
            }
            StoreError::TooManyChanges => DomainError::bad_request(
                "request.tooManyChanges",
                format!(
                    "This change needs more than {} item writes; change fewer users or teams at once",
                    accounts_store::TRANSACTION_LIMIT
                ),
            ),
            StoreError::OrganizationDeleting => {
                DomainError::gone("organization.deleting", "This organization is being deleted; nobody can join it")
            }
            StoreError::EmailInUse(email) => DomainError::conflict(
                "user.email.alreadyInUse",
                format!("An account with the e-mail address {email} already exists"),
            ),
            StoreError::OrganizationIdTaken(id) => DomainError::conflict(
                "organization.id.alreadyInUse",
                format!("The organization id {id:?} is already taken; please choose another"),
            ),
            StoreError::TeamNameTaken(name) => DomainError::conflict(
                "team.name.alreadyInUse",
                format!("A team named {name:?} already exists in this organization"),
            ),
        }
    }
}

/// Declares an area's refusals as an enum: each variant with its [`ErrorKind`], its stable wire code and
/// its text, a format string over the variant's fields (and constants in scope), optionally with the
/// seconds after which a retry may work. A flow returns the variant; `?` turns it into the
/// [`DomainError`] the API crate maps, so the codes and texts live in one table per area.
macro_rules! refusals {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $(
                $(#[$variant_meta:meta])*
                $variant:ident $({ $($field:ident : $type:ty),* $(,)? })?
                    => $kind:ident, $code:literal, $text:literal $(, retry_after = $retry:expr)?;
            )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        #[allow(clippy::enum_variant_names)]
        $vis enum $name {
            $($(#[$variant_meta])* $variant $({ $($field: $type),* })?,)*
        }

        impl $name {
            /// The stable wire code of this refusal.
            #[allow(dead_code)]
            $vis fn code(&self) -> &'static str {
                match self {
                    $(Self::$variant { .. } => $code,)*
                }
            }

            /// The text people read.
            #[allow(dead_code)]
            $vis fn message(&self) -> String {
                $crate::error::DomainError::from(self.clone()).message
            }
        }

        impl From<$name> for $crate::error::DomainError {
            #[allow(unused_variables)]
            fn from(refusal: $name) -> Self {
                match refusal {
                    $($name::$variant $({ $($field),* })? => {
                        #[allow(unused_mut)]
                        let mut error = $crate::error::DomainError::new(
                            $crate::error::ErrorKind::$kind,
                            $code,
                            format!($text),
                        );
                        $(error.retry_after = Some(u64::try_from($retry).unwrap_or(0).max(1));)?
                        error
                    })*
                }
            }
        }
    };
}
pub(crate) use refusals;
