//! What goes wrong in the store, in the store's terms, and the one place where that becomes an API error.
//! (DynamoDB's own failures, unavailable or unexpected, become 503 or 500 in `error::sdk_error`.)

use crate::error::ApiError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// The data changed between the read and the conditioned write.
    Conflict,
    /// The change needs more item writes than one transaction holds.
    TooManyChanges,
    /// The organization is being deleted: nobody joins it.
    OrganizationDeleting,
    /// The address belongs to an account already.
    EmailInUse(String),
    /// The organization id is taken, now or by an organization that was deleted (not said which).
    OrganizationIdTaken(String),
    /// The organization has a team of that name.
    TeamNameTaken(String),
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Conflict => {
                ApiError::conflict("request.conflict", "The data changed while the request ran; please retry")
            }
            StoreError::TooManyChanges => ApiError::bad_request(
                "request.tooManyChanges",
                format!(
                    "This change needs more than {} item writes; change fewer users or teams at once",
                    super::TRANSACTION_LIMIT
                ),
            ),
            StoreError::OrganizationDeleting => {
                ApiError::new(410, "organization.deleting", "This organization is being deleted; nobody can join it")
            }
            StoreError::EmailInUse(email) => ApiError::conflict(
                "user.email.alreadyInUse",
                format!("An account with the e-mail address {email} already exists"),
            ),
            StoreError::OrganizationIdTaken(id) => ApiError::conflict(
                "organization.id.alreadyInUse",
                format!("The organization id {id:?} is already taken; please choose another"),
            ),
            StoreError::TeamNameTaken(name) => ApiError::conflict(
                "team.name.alreadyInUse",
                format!("A team named {name:?} already exists in this organization"),
            ),
        }
    }
}
