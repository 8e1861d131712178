//! Creating an organization together with its owner.

use serde::Deserialize;

use crate::app::App;
use crate::error::ApiError;
use crate::model::{Organization, User};
use crate::store::accounts::{self, NewOrganizationWithOwner};
use crate::{ids, password, validate};

#[derive(Debug, Deserialize)]
pub struct PasswordPair {
    pub password1: String,
    pub password2: String,
}

/// WEBKNOSSOS's sign-up form (`POST /auth/createOrganizationWithAdmin`, `POST /auth/register`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignUpForm {
    pub email: String,
    pub password: PasswordPair,
    pub first_name: String,
    pub last_name: String,
    #[serde(default)]
    pub organization: Option<String>,
    #[serde(default)]
    pub organization_name: Option<String>,
}

pub async fn create_organization_with_admin(app: &App, form: SignUpForm) -> Result<(Organization, User), ApiError> {
    let email = validate::email(&form.email)?;
    let first_name = validate::person_name("firstName", &form.first_name)?;
    let last_name = validate::person_name("lastName", &form.last_name)?;
    let raw_name = form
        .organization_name
        .as_deref()
        .or(form.organization.as_deref())
        .ok_or_else(|| ApiError::bad_request("organization.name.empty", "organizationName is required"))?;
    let organization_name = validate::organization_name(raw_name)?;
    let organization_id = validate::organization_id(form.organization.as_deref(), &organization_name)?;
    let password = validate::new_password(&form.password.password1, &form.password.password2)?;
    let password_hash = password::hash(password).await?;
    let new = NewOrganizationWithOwner { organization_id, organization_name, email, password_hash, first_name, last_name };
    accounts::create_organization_with_owner(&app.db, new, ids::now_millis()).await
}
