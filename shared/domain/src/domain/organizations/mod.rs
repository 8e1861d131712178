//! Organizations: the overview and settings, the caller's organizations and switching between them,
//! instance-operator operations (create for an owner, plan, credits), storage reports, and deletion with
//! a purge that survives crashes.

use serde::Deserialize;

use crate::app::App;
use crate::caller::Caller;
use crate::domain::audit::Auditor;
use crate::domain::retry::{self, Attempt};
use crate::error::{DomainError, refusals};
use crate::model::{AI_JOB_RECIPIENTS, AuditTarget, Invite, Organization, User};
use crate::store::accounts;
use crate::store::org::{Field, OrgStore, OrganizationChange};
use crate::{ids, validate};

refusals! {
    /// Why a request about an organization, its plan, credits or jobs was refused.
    pub(crate) enum OrganizationError {
        NotFound => NotFound, "organization.notFound", "There is no such organization, or you are not a member";
        PasskeyRequirementUnproven => Forbidden, "organization.passkeyRequirement.unproven",
            "Sign in with a passkey or single sign-on yourself before you require it of all admins, so you know it works for you";
        MailingListTooLong { field: String } => Invalid, "organization.mailingList.tooLong",
            "{field} takes at most {MAX_MAILING_LIST} addresses";
        KeptChanging => Conflict, "request.conflict",
            "The organization kept changing while this request ran; please retry";
        AiJobNotificationsInvalid { allowed: String } => Invalid, "organization.aiJobNotifications.invalid",
            "aiJobNotifications must be one of {allowed}";
        TokenOfOtherOrganization => Forbidden, "auth.token.otherOrganization",
            "A personal API token works only in its own organization; log in to switch organizations";
        NotActivatedThere => Forbidden, "user.deactivated",
            "Your account in that organization has not been activated by an admin yet";
        SuperUsersOnly => Forbidden, "superUser.required", "Only the instance's operators do this";
        PlanInvalid { allowed: String } => Invalid, "organization.plan.invalid", "pricingPlan must be one of {allowed}";
        CreditAmountInvalid => Invalid, "credits.amount.invalid",
            "milliCredits must be non-zero and at most {MAX_CREDIT_CHANGE} either way";
        CreditCommentInvalid => Invalid, "credits.comment.invalid",
            "The comment must be at most 500 characters, without control characters";
        CreditsInsufficient => Conflict, "credits.insufficient", "The organization's balance is too low for this debit";
        IdMissing => Invalid, "organization.id.invalid", "Name the organization by its id";
        StorageReportsKeptArriving => Conflict, "request.conflict", "Storage reports kept arriving; this one was not stored";
        RequestedPlanInvalid { allowed: String } => Invalid, "pricing.plan.invalid",
            "requestedPlan must be one of {allowed}";
        RequestedUsersInvalid { max: u64 } => Invalid, "pricing.users.invalid",
            "requestedUsers must be a whole number from 1 to {max}";
        RequestedStorageInvalid { max: u64 } => Invalid, "pricing.storage.invalid",
            "requestedStorage must be a whole number from 1 to {max}";
        RequestedCreditsInvalid { max: u64 } => Invalid, "pricing.credits.invalid",
            "requestedCredits must be a whole number from 1 to {max}";
        TooManyPlanRequests { per_day: u32 } => TooMany, "pricing.request.tooMany",
            "Your organization has made {per_day} requests today; please try again tomorrow", retry_after = 3600;
        NotDeleting => Conflict, "organization.notDeleting", "This organization is not being deleted";
        DeletionNotConfirmed => Invalid, "organization.delete.confirmation",
            "Type the organization's name exactly to confirm its deletion";
        JobIdInvalid => Invalid, "job.id.invalid", "jobId must be 1 to 64 letters, digits, '-', '_' or '.'";
        JobTypeInvalid => Invalid, "job.type.invalid", "jobType must be 1 to 64 letters, digits, '-', '_' or '.'";
        JobOwnerInvalid => Invalid, "job.owner.invalid", "ownerUserId must be a user id";
        JobStateInvalid => Invalid, "job.state.invalid", "state must be SUCCESS, FAILURE or CANCELLED";
        JobResultLinkInvalid => Invalid, "job.resultLink.invalid", "resultLink must be an http(s) address";
        JobOwnerUnknown => NotFound, "user.notFound", "The job's owner is no user of the organization";
        OwnerCannotLeave => Forbidden, "organization.leave.owner",
            "The owner cannot leave the organization; hand it over to an admin first (Organization, Transfer ownership)";
        TransferToSelf => Invalid, "organization.transfer.self", "You are the owner already";
        TransferNeedsAdmin => Invalid, "organization.transfer.notAdmin",
            "Only an active admin of the organization can become its owner";
        TransferInvalid => NotFound, "organization.transfer.invalid",
            "This offer of ownership is not valid: it was accepted, replaced by a newer one, or it lapsed";
        TransferForAnother => Forbidden, "organization.transfer.otherUser",
            "This offer of ownership is for another admin; sign in as them to accept it";
    }
}

mod deletion;
mod jobs;
mod membership;
mod plans;
mod requests;

pub use crate::domain::notifications::confirm_notification_address;
pub(crate) use crate::domain::notifications::{confirmed_addresses, request_confirmations};
pub use deletion::*;
pub use jobs::*;
pub use membership::*;
pub use plans::*;
pub use requests::*;

/// Members see only their own organization.
pub(crate) fn own(caller: &Caller, organization_id: &str) -> Result<(), DomainError> {
    if caller.organization.id == organization_id { Ok(()) } else { Err(OrganizationError::NotFound.into()) }
}

/// The organization's overview and its owner: a fixed number of reads whatever its size (the counters
/// live on the organization item).
pub async fn overview(
    app: &App,
    caller: &Caller,
    organization_id: &str,
) -> Result<(Organization, Option<User>), DomainError> {
    own(caller, organization_id)?;
    let owner = caller.store(app).user(&caller.organization.owner_user_id).await?;
    Ok((caller.organization.clone(), owner))
}

/// `PATCH /organizations/{id}`: the name and the Notifications tab, by admins.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationPatch {
    pub name: Option<String>,
    pub new_user_mailing_list: Option<String>,
    pub plan_subscription_email: Option<String>,
    pub ai_job_notifications: Option<String>,
    /// Self-registered users start active (WEBKNOSSOS's "auto-verify").
    pub enable_auto_verify: Option<bool>,
    /// Admins must sign in with a passkey or single sign-on (beyond WEBKNOSSOS).
    pub admins_must_use_passkey: Option<bool>,
}

/// Most addresses `newUserMailingList` holds.
pub(crate) const MAX_MAILING_LIST: usize = 20;

/// An empty string, or comma-separated e-mail addresses (each validated, normalised, no duplicates).
fn email_list(field: &str, raw: &str) -> Result<String, DomainError> {
    let mut addresses: Vec<String> = Vec::new();
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let address = validate::email(part)
            .map_err(|e| DomainError::bad_request(e.code(), format!("{field}: {part:?}: {}", e.message())))?;
        if !addresses.contains(&address) {
            addresses.push(address);
        }
    }
    if addresses.len() > MAX_MAILING_LIST {
        return Err(OrganizationError::MailingListTooLong { field: field.to_owned() }.into());
    }
    Ok(addresses.join(", "))
}

/// An empty string, or one e-mail address.
fn optional_email(field: &str, raw: &str) -> Result<String, DomainError> {
    if raw.trim().is_empty() {
        return Ok(String::new());
    }
    validate::email(raw).map_err(|e| DomainError::bad_request(e.code(), format!("{field}: {}", e.message())))
}

/// Makes the change `plan(organization)` to an organization as read, with its audit entry; read again and
/// retried when it changed meanwhile. `first_read`: the organization as the request read it already.
async fn change_organization(
    store: &OrgStore<'_>,
    first_read: Option<&Organization>,
    auditor: &Auditor,
    action: &str,
    plan: impl Fn(&Organization) -> Result<OrganizationChange, DomainError>,
    history: impl Fn(&Organization) -> Option<crate::model::PlanUpdate>,
) -> Result<Organization, DomainError> {
    let (plan, auditor, history) = (&plan, auditor, &history);
    let attempt = |n: usize| async move {
        let read = match first_read.filter(|_| n == 0) {
            Some(read) => read.clone(),
            None => store.organization().await?.filter(|o| !o.is_being_deleted()).ok_or(OrganizationError::NotFound)?,
        };
        let change = plan(&read)?.without_no_ops(&read);
        if change.is_empty() {
            return Ok(Attempt::Done(read));
        }
        let entry = auditor.entry(&read.id, action, vec![AuditTarget::organization(&read)], change.audit_facts(&read));
        let record = history(&change.applied_to(&read));
        Ok(match store.update_organization(&change, &read, &entry, record.as_ref()).await? {
            Some(organization) => Attempt::Done(organization),
            None => Attempt::Conflict,
        })
    };
    retry::until_settled(attempt, OrganizationError::KeptChanging.into()).await
}

pub async fn update(
    app: &App,
    caller: &Caller,
    organization_id: &str,
    patch: OrganizationPatch,
) -> Result<(Organization, Option<User>), DomainError> {
    own(caller, organization_id)?;
    let mut change = OrganizationChange::default();
    if let Some(name) = &patch.name {
        change.set("name", Field::Text(validate::organization_name(name)?));
    }
    if let Some(list) = &patch.new_user_mailing_list {
        change.set("newUserMailingList", Field::Text(email_list("newUserMailingList", list)?));
    }
    if let Some(email) = &patch.plan_subscription_email {
        change.set("planSubscriptionEmail", Field::Text(optional_email("planSubscriptionEmail", email)?));
    }
    if let Some(recipients) = &patch.ai_job_notifications {
        if !AI_JOB_RECIPIENTS.contains(&recipients.as_str()) {
            return Err(OrganizationError::AiJobNotificationsInvalid { allowed: AI_JOB_RECIPIENTS.join(", ") }.into());
        }
        change.set("aiJobNotifications", Field::Text(recipients.clone()));
    }
    if let Some(enabled) = patch.enable_auto_verify {
        change.set("enableAutoVerify", Field::Bool(enabled));
    }
    if let Some(required) = patch.admins_must_use_passkey {
        // Whoever turns it on has just shown it works for them, so the organization keeps an admin who
        // can act (every other admin can still add a passkey).
        if required && !caller.organization.admins_must_use_passkey && !caller.signed_in_with.is_strong() {
            return Err(OrganizationError::PasskeyRequirementUnproven.into());
        }
        change.set("adminsMustUsePasskey", Field::Bool(required));
    }
    let store = caller.store(app);
    let auditor = Auditor::caller(app, caller);
    let organization = change_organization(
        &store,
        Some(&caller.organization),
        &auditor,
        "organization.changed",
        |_| Ok(change.clone()),
        |_| None,
    )
    .await?;
    if patch.new_user_mailing_list.is_some() || patch.plan_subscription_email.is_some() {
        request_confirmations(app, &organization).await;
    }
    let owner = store.user(&organization.owner_user_id).await?;
    Ok((organization, owner))
}

/// The caller's organizations (for the "Switch Organization" menu), by name.
pub async fn of_caller(app: &App, caller: &Caller) -> Result<Vec<Organization>, DomainError> {
    let account = accounts::account_of(&app.db, &caller.user).await?;
    let mut organizations: Vec<Organization> = accounts::identities(&app.db, &account)
        .await?
        .into_iter()
        .filter(|(user, organization)| !user.is_deactivated && !organization.is_being_deleted())
        .map(|(_, organization)| organization)
        .collect();
    organizations.sort_by_key(|a| a.name.to_lowercase());
    Ok(organizations)
}

/// `POST /auth/switchOrganization/{id}`: a new session for the caller's identity there, which the account
/// remembers as last used (so login picks it next time).
pub async fn switch(
    app: &App,
    caller: &Caller,
    organization_id: &str,
) -> Result<crate::domain::credentials::LoggedIn, DomainError> {
    // A personal API token stands for the account in its own organization only: a script holding one gets
    // no session anywhere else.
    if matches!(caller.credential, crate::caller::Credential::ApiToken { .. })
        && organization_id != caller.user.organization
    {
        return Err(OrganizationError::TokenOfOtherOrganization.into());
    }
    let account = accounts::account_of(&app.db, &caller.user).await?;
    let (user, organization) = accounts::identities(&app.db, &account)
        .await?
        .into_iter()
        .find(|(_, organization)| organization.id == organization_id && !organization.is_being_deleted())
        .ok_or(OrganizationError::NotFound)?;
    if user.is_deactivated {
        return Err(OrganizationError::NotActivatedThere.into());
    }
    let lifetime_seconds = app.config.session_lifetime.as_secs() as i64;
    let basis = accounts::SessionBasis::CallerStillValid(&caller.user);
    let auditor = Auditor::new(app, crate::model::AuditActor::user(&user), caller.context.clone());
    let audit = |session: &crate::model::Session| {
        let target = crate::domain::session::session_target(&session.id, &user);
        let facts = serde_json::json!({ "from": caller.organization.id });
        auditor.entry(&user.organization, "auth.switchOrganization", vec![target], facts)
    };
    // The new session was proven as the caller's was.
    let new = accounts::NewSession { lifetime_seconds, signed_in_with: caller.signed_in_with, now: ids::now_millis() };
    let session = accounts::start_session(&app.db, &account, &user, basis, new, audit).await?;
    let token = app.keys.sign_session(&session, user.session_epoch)?;
    Ok(crate::domain::credentials::LoggedIn { token, user, organization, lifetime_seconds })
}

/// An instance operator's store for any organization (the one place that crosses organizations, after
/// the operator check).
fn operator_store<'a>(app: &'a App, caller: &Caller, organization_id: &str) -> Result<OrgStore<'a>, DomainError> {
    if !caller.is_operator {
        return Err(OrganizationError::SuperUsersOnly.into());
    }
    Ok(OrgStore::new(&app.db, organization_id))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewOrganization {
    pub owner_email: String,
    pub organization_name: String,
    #[serde(default)]
    pub organization: Option<String>,
}

/// What creating an organization for an owner e-mail did.
pub enum CreatedForOwner {
    /// The e-mail has an account: it owns the new organization at once (same login).
    Owned(Organization, User),
    /// No account yet: the organization waits for its owner, who got an invite (and whether it was mailed)
    /// that makes them owner and admin when they register or join with it.
    OwnerInvited(Organization, Invite, bool),
}

/// Creates an organization owned by an existing account (who joins it with the same login), or, for an
/// e-mail without an account, an organization awaiting its owner plus an owner invite to that e-mail.
pub async fn create_for_owner(
    app: &App,
    caller: &Caller,
    request: NewOrganization,
) -> Result<CreatedForOwner, DomainError> {
    let email = validate::email(&request.owner_email)?;
    let name = validate::organization_name(&request.organization_name)?;
    let id = validate::organization_id(request.organization.as_deref(), &name)?;
    // Only an account whose address is proven becomes owner at once: anyone can sign up with an address
    // first. Otherwise the mailbox decides, through the owner invite.
    let auditor = Auditor::operator(app, caller);
    let created = |organization: &Organization, owner: Option<&User>| {
        let mut targets = vec![AuditTarget::organization(organization)];
        targets.extend(owner.map(AuditTarget::user));
        let facts = serde_json::json!({ "name": organization.name, "ownerEmail": email });
        vec![auditor.entry(&organization.id, "organization.created", targets, facts)]
    };
    let Some(account) = accounts::account_by_email(&app.db, &email).await?.filter(|account| account.email_verified)
    else {
        let organization =
            accounts::create_organization_awaiting_owner(&app.db, &id, &name, ids::now_millis(), &created).await?;
        let (invite, mailed) =
            crate::domain::invites::invite_owner(app, &organization, &email, &caller.user, &auditor).await?;
        return Ok(CreatedForOwner::OwnerInvited(organization, invite, mailed));
    };
    // The owner is named as in their other organizations.
    let names = accounts::identities(&app.db, &account)
        .await?
        .into_iter()
        .next()
        .map(|(user, _)| (user.first_name, user.last_name))
        .unwrap_or_else(|| ("Owner".into(), email.clone()));
    let (organization, owner) = accounts::create_organization_for_account(
        &app.db,
        &account,
        &id,
        &name,
        (&names.0, &names.1),
        ids::now_millis(),
        &created,
    )
    .await?;
    Ok(CreatedForOwner::Owned(organization, owner))
}

#[cfg(test)]
mod mailing_list_tests {
    use super::*;

    #[test]
    fn mailing_lists_take_several_valid_addresses() {
        assert_eq!(email_list("l", "").unwrap(), "");
        assert_eq!(email_list("l", " A@x.org, b@y.org ,a@x.org,, ").unwrap(), "a@x.org, b@y.org");
        assert_eq!(email_list("l", "a@x.org, not an address").unwrap_err().kind, crate::ErrorKind::Invalid);
        let many: Vec<String> = (0..=MAX_MAILING_LIST).map(|i| format!("p{i}@x.org")).collect();
        assert_eq!(email_list("l", &many.join(",")).unwrap_err().code, "organization.mailingList.tooLong");
    }
}
