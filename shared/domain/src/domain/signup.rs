//! Creating an organization together with its owner.

use serde::Deserialize;

use crate::app::App;
use crate::error::{DomainError, refusals};
use std::collections::BTreeMap;

refusals! {
    /// Why a sign-up was refused.
    pub(crate) enum SignupError {
        Refused => Invalid, "auth.signUp.refused", "This sign-up was refused";
        OrganizationCreationNotAllowed => Forbidden, "organization.creation.notAllowed",
            "New organizations are not created by sign-up on this instance for this address; ask the instance's operators";
        OrganizationNameMissing => Invalid, "organization.name.empty", "organizationName is required";
        OrganizationIdReserved { organization_id: String } => Forbidden, "organization.id.reserved",
            "The organization id {organization_id:?} is reserved on this instance; please choose another";
        RegistrationDisabled => Forbidden, "registration.disabled",
            "Registering needs an invite on this instance; ask an admin of your organization for one";
    }
}

use crate::domain::audit::Auditor;
use crate::domain::credentials;
use crate::mail;
use crate::model::{Account, AuditActor, AuditContext, AuditEntry, AuditTarget, Organization, TeamRole, User};
use crate::store::accounts::{self, NewAccountError, NewOrganizationWithOwner};
use crate::store::org::OrgStore;
use crate::{ids, password, validate};
use serde_json::json;

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
    /// `POST /auth/register` only: join by invite.
    #[serde(default)]
    pub invite_token: Option<String>,
    /// WEBKNOSSOS's honeypot: a field the pages never fill in, which form-filling bots do.
    #[serde(default)]
    pub referral: Option<String>,
}

impl SignUpForm {
    /// Refuses a form whose honeypot is filled in (400, before anything is read or written).
    fn refuse_bots(&self) -> Result<(), DomainError> {
        if self.referral.as_deref().is_some_and(|r| !r.trim().is_empty()) {
            return Err(SignupError::Refused.into());
        }
        Ok(())
    }
}

pub async fn create_organization_with_admin(
    app: &App,
    form: SignUpForm,
    context: AuditContext,
) -> Result<(Organization, User), DomainError> {
    form.refuse_bots()?;
    let email = validate::email(&form.email)?;
    if !app.config.organization_creation.admits(&email) {
        return Err(SignupError::OrganizationCreationNotAllowed.into());
    }
    let first_name = validate::person_name("firstName", &form.first_name)?;
    let last_name = validate::person_name("lastName", &form.last_name)?;
    let raw_name = form
        .organization_name
        .as_deref()
        .or(form.organization.as_deref())
        .ok_or(SignupError::OrganizationNameMissing)?;
    let organization_name = validate::organization_name(raw_name)?;
    let organization_id = validate::organization_id(form.organization.as_deref(), &organization_name)?;
    // The organization people register into is the deployment's: an operator creates it.
    if app.config.self_registration_organization.as_deref() == Some(organization_id.as_str()) {
        return Err(SignupError::OrganizationIdReserved { organization_id }.into());
    }
    let password = validate::new_password(&form.password.password1, &form.password.password2)?;
    let password_hash = password::hash(app.config.password_hashing, password).await?;
    let new = NewOrganizationWithOwner {
        organization_id,
        organization_name,
        email: email.clone(),
        password_hash,
        first_name,
        last_name,
    };
    let auditor = Auditor::new(app, AuditActor::anonymous(), context);
    let audit = |organization: &Organization, owner: Option<&User>| {
        let owner = owner.expect("a sign-up has its owner");
        let targets = vec![AuditTarget::organization(organization), AuditTarget::user(owner)];
        let facts = json!({ "name": organization.name, "email": owner.email });
        vec![AuditEntry {
            actor: AuditActor::user(owner),
            ..auditor.entry(&organization.id, "auth.signUp", targets, facts)
        }]
    };
    let signed_up = accounts::create_organization_with_owner(&app.db, new, ids::now_millis(), &audit).await;
    let (organization, owner) = match signed_up {
        Err(crate::store::StoreError::EmailInUse(_)) => return Err(credentials::address_taken(app, &email).await),
        other => other?,
    };
    if app.config.email_verification.activated {
        credentials::send_verification_best_effort(app, &owner.account_id, &owner.email).await;
    }
    Ok((organization, owner))
}

/// `POST /auth/register` without an invite: into the organization this instance lets people register
/// into, in its organization team; active only if the organization has `enableAutoVerify`. Mails the new
/// user, and the organization's `newUserMailingList` (or, when empty, its owner).
pub async fn register(app: &App, form: SignUpForm, context: AuditContext) -> Result<(User, Organization), DomainError> {
    form.refuse_bots()?;
    if let Some(token) = form.invite_token.as_deref().filter(|t| !t.trim().is_empty()) {
        let email = validate::email(&form.email)?;
        let first_name = validate::person_name("firstName", &form.first_name)?;
        let last_name = validate::person_name("lastName", &form.last_name)?;
        let password = validate::new_password(&form.password.password1, &form.password.password2)?;
        // Check the invite, and that it was mailed to this address, before the (deliberately slow) hash.
        let (invite, _) = crate::domain::invites::usable_invite(app, token).await?;
        crate::domain::invites::check_invited_address(&invite, &email)?;
        let password_hash = password::hash(app.config.password_hashing, password).await?;
        let new = (email, password_hash, first_name, last_name);
        return crate::domain::invites::register_with_invite(app, token, new, context).await;
    }
    let organization_id =
        app.config.self_registration_organization.as_deref().ok_or(SignupError::RegistrationDisabled)?;
    if form.organization.as_deref().is_some_and(|o| !o.trim().is_empty() && o.trim() != organization_id) {
        return Err(SignupError::RegistrationDisabled.into());
    }
    let email = validate::email(&form.email)?;
    let first_name = validate::person_name("firstName", &form.first_name)?;
    let last_name = validate::person_name("lastName", &form.last_name)?;
    let password = validate::new_password(&form.password.password1, &form.password.password2)?;
    let password_hash = password::hash(app.config.password_hashing, password).await?;
    let person = NewPerson { email, first_name, last_name, password_hash, email_verified: false };
    join_self_registration_organization(app, organization_id, person, None, None, context).await
}

/// Someone joining the self-registration organization without an invite: by the sign-up form, or on a
/// first sign-in with the instance's identity provider.
pub(crate) struct NewPerson {
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    /// Empty: no password (the person signs in with a provider, or sets one by a reset link).
    pub password_hash: String,
    /// The address is verified already (a provider asserted it).
    pub email_verified: bool,
}

/// Creates the account and its member of `organization_id` (active when `starts_active` says so, or
/// without it when the organization verifies automatically, and its plan has room; else for an admin to
/// activate), with its link to a provider when it comes from one (with the account id the link names),
/// all in one transaction; then tells the admins.
pub(crate) async fn join_self_registration_organization(
    app: &App,
    organization_id: &str,
    person: NewPerson,
    link: Option<(&str, &crate::model::ProviderLink)>,
    starts_active: Option<bool>,
    context: AuditContext,
) -> Result<(User, Organization), DomainError> {
    let NewPerson { email, first_name, last_name, password_hash, email_verified } = person;
    let store = OrgStore::new(&app.db, organization_id);
    let organization = store.organization().await?.ok_or_else(|| {
        tracing::error!(organization_id, "SELF_REGISTRATION_ORGANIZATION names no organization");
        SignupError::RegistrationDisabled
    })?;
    if organization.is_being_deleted() {
        return Err(crate::store::StoreError::OrganizationDeleting.into());
    }
    let team = store.team(&organization.organization_team_id).await?.ok_or_else(DomainError::internal)?;
    let now = ids::now_millis();
    let user_id = ids::new_object_id();
    let account = Account {
        id: link.map_or_else(ids::new_object_id, |(account_id, _)| account_id.to_owned()),
        email: email.clone(),
        password_hash,
        identities: BTreeMap::from([(organization.id.clone(), user_id.clone())]),
        last_used_organization: Some(organization.id.clone()),
        created: now,
        email_verified,
        email_set_at: None,
    };
    let starts_active = starts_active.unwrap_or(organization.enable_auto_verify);
    let mut user = User {
        is_deactivated: !starts_active,
        ..User::new_member(
            user_id,
            &organization.id,
            (&account.id, &email, email_verified),
            (first_name, last_name),
            BTreeMap::from([(team.id.clone(), TeamRole { name: team.name.clone(), is_team_manager: false })]),
            now,
        )
    };
    let store = OrgStore::new(&app.db, &organization.id);
    let auditor = Auditor::new(app, AuditActor::anonymous(), context);
    let registered = |user: &User| {
        let facts = json!({ "email": user.email, "isDeactivated": user.is_deactivated });
        let entry = auditor.entry(&organization.id, "user.registered", vec![AuditTarget::user(user)], facts);
        vec![AuditEntry { actor: AuditActor::user(user), ..entry }]
    };
    let link = link.map(|(_, link)| link);
    match accounts::create_account_with_identity(&app.db, &store, &account, &user, registered(&user), link).await {
        Ok(()) => {}
        Err(NewAccountError::EmailInUse) => return Err(credentials::address_taken(app, &email).await),
        // Auto-verification would exceed the plan's users: register deactivated, for an admin to decide.
        Err(NewAccountError::IncludedUsersExceeded) => {
            user.is_deactivated = true;
            match accounts::create_account_with_identity(&app.db, &store, &account, &user, registered(&user), link)
                .await
            {
                Ok(()) => {}
                Err(NewAccountError::EmailInUse) => return Err(credentials::address_taken(app, &email).await),
                Err(NewAccountError::IncludedUsersExceeded) => return Err(DomainError::internal()),
                Err(NewAccountError::Store(err)) => return Err(err.into()),
            }
        }
        Err(NewAccountError::Store(err)) => return Err(err.into()),
    }
    // Meant to start active (auto-verify) but deactivated: the plan's users were all taken.
    let limit_reached = starts_active && !user.is_active();
    mail::notify(
        app,
        crate::domain::notifications::new_member_mails(app, &store, &organization, &user, "registered", limit_reached)
            .await,
    )
    .await;
    if app.config.email_verification.activated && !email_verified {
        credentials::send_verification_best_effort(app, &account.id, &account.email).await;
    }
    Ok((user, organization))
}
