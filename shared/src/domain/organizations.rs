//! Organizations: the overview and settings, the caller's organizations and switching between them,
//! instance-operator operations (create for an owner, plan, credits), storage reports, and deletion with
//! a purge that survives crashes.

use serde::Deserialize;

use crate::app::App;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::model::{AI_JOB_RECIPIENTS, Account, CreditTransaction, Invite, Key, Organization, PRICING_PLANS, User};
use crate::paging::{Page, PageRequest};
use crate::store::accounts;
use crate::store::org::OrgStore;
use crate::store::s;
use crate::{ids, validate};

fn not_found() -> ApiError {
    ApiError::not_found("organization.notFound", "There is no such organization, or you are not a member")
}

/// Members see only their own organization.
fn own(caller: &Caller, organization_id: &str) -> Result<(), ApiError> {
    if caller.organization.id == organization_id { Ok(()) } else { Err(not_found()) }
}

/// The organization's overview and its owner: a fixed number of reads whatever its size (the counters
/// live on the organization item).
pub async fn overview(
    app: &App,
    caller: &Caller,
    organization_id: &str,
) -> Result<(Organization, Option<User>), ApiError> {
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
}

/// Most addresses `newUserMailingList` holds.
pub const MAX_MAILING_LIST: usize = 20;

/// An empty string, or comma-separated e-mail addresses (each validated, normalised, no duplicates).
fn email_list(field: &str, raw: &str) -> Result<String, ApiError> {
    let mut addresses: Vec<String> = Vec::new();
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let address = validate::email(part)
            .map_err(|e| ApiError::bad_request(e.code, format!("{field}: {part:?}: {}", e.message)))?;
        if !addresses.contains(&address) {
            addresses.push(address);
        }
    }
    if addresses.len() > MAX_MAILING_LIST {
        return Err(ApiError::bad_request(
            "organization.mailingList.tooLong",
            format!("{field} takes at most {MAX_MAILING_LIST} addresses"),
        ));
    }
    Ok(addresses.join(", "))
}

/// An empty string, or one e-mail address.
fn optional_email(field: &str, raw: &str) -> Result<String, ApiError> {
    if raw.trim().is_empty() {
        return Ok(String::new());
    }
    validate::email(raw).map_err(|e| ApiError::bad_request(e.code, format!("{field}: {}", e.message)))
}

pub async fn update(
    app: &App,
    caller: &Caller,
    organization_id: &str,
    patch: OrganizationPatch,
) -> Result<(Organization, Option<User>), ApiError> {
    own(caller, organization_id)?;
    let mut set = Vec::new();
    if let Some(name) = &patch.name {
        set.push(("name", s(validate::organization_name(name)?)));
    }
    if let Some(list) = &patch.new_user_mailing_list {
        set.push(("newUserMailingList", s(email_list("newUserMailingList", list)?)));
    }
    if let Some(email) = &patch.plan_subscription_email {
        set.push(("planSubscriptionEmail", s(optional_email("planSubscriptionEmail", email)?)));
    }
    if let Some(recipients) = &patch.ai_job_notifications {
        if !AI_JOB_RECIPIENTS.contains(&recipients.as_str()) {
            return Err(ApiError::bad_request(
                "organization.aiJobNotifications.invalid",
                format!("aiJobNotifications must be one of {}", AI_JOB_RECIPIENTS.join(", ")),
            ));
        }
        set.push(("aiJobNotifications", s(recipients)));
    }
    if let Some(enabled) = patch.enable_auto_verify {
        set.push(("enableAutoVerify", aws_sdk_dynamodb::types::AttributeValue::Bool(enabled)));
    }
    let store = caller.store(app);
    let organization = store.update_organization(set, &[]).await?;
    let owner = store.user(&organization.owner_user_id).await?;
    Ok((organization, owner))
}

/// The caller's organizations (for the "Switch Organization" menu), by name.
pub async fn of_caller(app: &App, caller: &Caller) -> Result<Vec<Organization>, ApiError> {
    let account = app
        .db
        .get::<Account>(&Key::account(&caller.user.account_id))
        .await?
        .ok_or_else(ApiError::invalid_credential)?;
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
) -> Result<crate::domain::session::LoggedIn, ApiError> {
    let account = app
        .db
        .get::<Account>(&Key::account(&caller.user.account_id))
        .await?
        .ok_or_else(ApiError::invalid_credential)?;
    let (user, organization) = accounts::identities(&app.db, &account)
        .await?
        .into_iter()
        .find(|(_, organization)| organization.id == organization_id && !organization.is_being_deleted())
        .ok_or_else(not_found)?;
    if user.is_deactivated {
        return Err(ApiError::forbidden(
            "user.deactivated",
            "Your account in that organization has not been activated by an admin yet",
        ));
    }
    let lifetime_seconds = app.config.session_lifetime.as_secs() as i64;
    let basis = accounts::SessionBasis::CallerStillValid(&caller.user);
    let session = accounts::start_session(&app.db, &account, &user, basis, lifetime_seconds, ids::now_millis()).await?;
    let token = app.keys.sign_session(&session, user.session_epoch)?;
    Ok(crate::domain::session::LoggedIn { token, user, organization, lifetime_seconds })
}

/// Whether the caller is an instance operator (named by e-mail in the configuration).
pub fn is_super_user(app: &App, caller: &Caller) -> bool {
    crate::policy::is_super_user(&app.config, &caller.user)
}

fn super_users_only() -> ApiError {
    ApiError::forbidden("superUser.required", "Only the instance's operators do this")
}

/// An instance operator's store for any organization (the one place that crosses organizations, after
/// the operator check).
fn operator_store<'a>(app: &'a App, caller: &Caller, organization_id: &str) -> Result<OrgStore<'a>, ApiError> {
    if !is_super_user(app, caller) {
        return Err(super_users_only());
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
) -> Result<CreatedForOwner, ApiError> {
    let email = validate::email(&request.owner_email)?;
    let name = validate::organization_name(&request.organization_name)?;
    let id = validate::organization_id(request.organization.as_deref(), &name)?;
    // Only an account whose address is proven becomes owner at once: anyone can sign up with an address
    // first. Otherwise the mailbox decides, through the owner invite.
    let Some(account) = accounts::account_by_email(&app.db, &email).await?.filter(|account| account.email_verified)
    else {
        let organization = accounts::create_organization_awaiting_owner(&app.db, &id, &name, ids::now_millis()).await?;
        let (invite, mailed) = crate::domain::invites::invite_owner(app, &organization, &email, &caller.user).await?;
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
    )
    .await?;
    Ok(CreatedForOwner::Owned(organization, owner))
}

/// A field that may be absent, `null`, or a value.
fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Some(Option::deserialize(deserializer)?))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanChange {
    pub pricing_plan: Option<String>,
    /// `null`: no end.
    #[serde(default, deserialize_with = "nullable")]
    pub paid_until: Option<Option<i64>>,
    /// `null`: unlimited.
    #[serde(default, deserialize_with = "nullable")]
    pub included_users: Option<Option<u64>>,
    /// `null`: unlimited.
    #[serde(default, deserialize_with = "nullable")]
    pub included_storage_bytes: Option<Option<u64>>,
}

pub async fn change_plan(
    app: &App,
    caller: &Caller,
    organization_id: &str,
    change: PlanChange,
) -> Result<Organization, ApiError> {
    let store = operator_store(app, caller, organization_id)?;
    let mut set = Vec::new();
    let mut remove = Vec::new();
    if let Some(plan) = &change.pricing_plan {
        if !PRICING_PLANS.contains(&plan.as_str()) {
            return Err(ApiError::bad_request(
                "organization.plan.invalid",
                format!("pricingPlan must be one of {}", PRICING_PLANS.join(", ")),
            ));
        }
        set.push(("pricingPlan", s(plan)));
    }
    for (name, value) in [
        ("paidUntil", change.paid_until.map(|v| v.map(|x| x.to_string()))),
        ("includedUsers", change.included_users.map(|v| v.map(|x| x.to_string()))),
        ("includedStorageBytes", change.included_storage_bytes.map(|v| v.map(|x| x.to_string()))),
    ] {
        match value {
            Some(Some(number)) => set.push((name, aws_sdk_dynamodb::types::AttributeValue::N(number))),
            Some(None) => remove.push(name),
            None => {}
        }
    }
    store.update_organization(set, &remove).await
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewCredit {
    pub milli_credits: i64,
    #[serde(default)]
    pub comment: String,
}

/// Most milli-credits one transaction may move.
pub const MAX_CREDIT_CHANGE: i64 = 1_000_000_000_000;

pub async fn add_credits(
    app: &App,
    caller: &Caller,
    organization_id: &str,
    credit: NewCredit,
) -> Result<(CreditTransaction, Organization), ApiError> {
    let store = operator_store(app, caller, organization_id)?;
    if credit.milli_credits == 0 || credit.milli_credits.abs() > MAX_CREDIT_CHANGE {
        return Err(ApiError::bad_request(
            "credits.amount.invalid",
            format!("milliCredits must be non-zero and at most {MAX_CREDIT_CHANGE} either way"),
        ));
    }
    if credit.comment.chars().count() > 500 || credit.comment.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "credits.comment.invalid",
            "The comment must be at most 500 characters, without control characters",
        ));
    }
    let transaction = CreditTransaction {
        organization: organization_id.to_owned(),
        id: ids::new_time_ordered_id(),
        milli_credits: credit.milli_credits,
        comment: credit.comment.trim().to_owned(),
        created_by: caller.user.email.clone(),
        created: ids::now_millis(),
    };
    if !store.add_credit(&transaction).await? {
        let exists = app
            .db
            .get::<Organization>(&Key::organization(organization_id))
            .await?
            .is_some_and(|o| !o.is_being_deleted());
        return Err(if exists {
            ApiError::conflict("credits.insufficient", "The organization's balance is too low for this debit")
        } else {
            not_found()
        });
    }
    let organization = app.db.get::<Organization>(&Key::organization(organization_id)).await?.ok_or_else(not_found)?;
    Ok((transaction, organization))
}

/// A storage-usage report from the dataset side (internal function, invoked with IAM).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StorageReport {
    pub organization: String,
    pub used_storage_bytes: u64,
    /// When the usage was measured (epoch ms); defaults to now. Older reports never replace newer ones.
    #[serde(default)]
    pub reported_at: Option<i64>,
}

/// Stores the report; `false` when the organization is unknown or a newer report is stored.
pub async fn report_storage(app: &App, report: &StorageReport) -> Result<bool, ApiError> {
    crate::declared_actions::scope_unless_scoped(
        (&crate::background::REPORT_STORAGE_USAGE).into(),
        report_storage_in_scope(app, report),
    )
    .await
}

async fn report_storage_in_scope(app: &App, report: &StorageReport) -> Result<bool, ApiError> {
    if report.organization.is_empty() || report.organization.contains('#') {
        return Err(ApiError::bad_request("organization.id.invalid", "Name the organization by its id"));
    }
    let at = report.reported_at.unwrap_or_else(ids::now_millis);
    OrgStore::new(&app.db, &report.organization).report_storage(report.used_storage_bytes, at).await
}

/// `DELETE /organizations/{id}` with the organization's name as confirmation: by the owner, or an admin
/// the owner allowed to. From the moment it is accepted every request of the organization's identities is
/// refused; the purge then runs for at most `budget` here, and the scheduled purge finishes the rest.
pub async fn delete(
    app: &App,
    caller: &Caller,
    organization_id: &str,
    confirmation: &str,
    budget: std::time::Duration,
) -> Result<bool, ApiError> {
    own(caller, organization_id)?;
    if confirmation.trim() != caller.organization.name {
        return Err(ApiError::bad_request(
            "organization.delete.confirmation",
            "Type the organization's name exactly to confirm its deletion",
        ));
    }
    let store = caller.store(app);
    store.mark_deleting(ids::now_millis()).await?;
    purge(app, organization_id, std::time::Instant::now() + budget).await
}

/// How many items a purge reads and deletes at a time, and how many accounts it updates at once.
const PURGE_PAGE: usize = 200;
const ACCOUNT_CONCURRENCY: usize = 16;

/// Deletes every item of an organization that is being deleted, page by page from the start of its
/// partition, until `deadline`: first each identity leaves its account, then the page's items go; the
/// organization item goes last. Returns whether it finished. Safe to repeat and to resume after a crash:
/// every step is idempotent and the partition itself is the work list.
pub async fn purge(app: &App, organization_id: &str, deadline: std::time::Instant) -> Result<bool, ApiError> {
    let store = OrgStore::new(&app.db, organization_id);
    let organization_key = Key::organization(organization_id);
    loop {
        let page = store.partition_page(PURGE_PAGE).await?;
        let mut keys = Vec::with_capacity(page.len());
        let mut detach = Vec::new();
        for item in &page {
            let key = Key { pk: item_text(item, "PK"), sk: item_text(item, "SK") };
            if key == organization_key {
                let organization: Organization = crate::store::from_item(item.clone())?;
                if !organization.is_being_deleted() {
                    return Err(ApiError::conflict(
                        "organization.notDeleting",
                        "This organization is not being deleted",
                    ));
                }
                continue;
            }
            if item_text(item, "entity") == "User" {
                detach.push(item_text(item, "accountId"));
            }
            keys.push(key);
        }
        if keys.is_empty() {
            // Only the organization item is left: it goes, and its id stays reserved.
            accounts::bury_organization(&app.db, organization_id, ids::now_millis()).await?;
            return Ok(true);
        }
        for chunk in detach.chunks(ACCOUNT_CONCURRENCY) {
            let detaching = chunk.iter().map(|account| accounts::detach_identity(&app.db, account, organization_id));
            for result in futures_util::future::join_all(detaching).await {
                result?;
            }
        }
        app.db.delete_all(&keys).await?;
        if std::time::Instant::now() >= deadline {
            return Ok(false);
        }
    }
}

fn item_text(item: &crate::store::Item, name: &str) -> String {
    match item.get(name) {
        Some(aws_sdk_dynamodb::types::AttributeValue::S(text)) => text.clone(),
        _ => String::new(),
    }
}

/// The scheduled purge: finishes every organization whose deletion was accepted, until `deadline`.
/// Returns how many it finished.
pub async fn purge_pending(app: &App, deadline: std::time::Instant) -> Result<usize, ApiError> {
    crate::declared_actions::scope_unless_scoped(
        (&crate::background::ORGANIZATION_PURGE).into(),
        purge_pending_in_scope(app, deadline),
    )
    .await
}

async fn purge_pending_in_scope(app: &App, deadline: std::time::Instant) -> Result<usize, ApiError> {
    let mut finished = 0;
    for organization_id in crate::store::maintenance::organizations_being_deleted(&app.db).await? {
        if std::time::Instant::now() >= deadline {
            break;
        }
        if purge(app, &organization_id, deadline).await? {
            finished += 1;
        }
    }
    Ok(finished)
}

/// A page of the caller's organization's credit transactions, newest first (admins).
pub async fn credit_transactions(
    app: &App,
    caller: &Caller,
    request: &PageRequest,
) -> Result<Page<CreditTransaction>, ApiError> {
    let page = caller.store(app).credit_transactions(request.after_id()?, request.limit).await?;
    let next =
        if page.more || page.items.len() == request.limit { page.items.last().map(|t| t.id.clone()) } else { None };
    Ok(Page::new(page.items, next.as_deref()))
}

/// WEBKNOSSOS's `GET /pricing/status` for an organization.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PricingStatus {
    pub pricing_plan: String,
    pub is_exceeded: bool,
    pub is_almost_exceeded: bool,
}

/// How close to `paidUntil`, and to `includedUsers`, an organization counts as almost over its plan.
pub const ALMOST_EXPIRED_MILLIS: i64 = 6 * 7 * 24 * 3600 * 1000;
pub const ALMOST_FULL_USERS: u64 = 2;

/// WEBKNOSSOS's rules (pure): exceeded when more users are active than the plan includes or `paidUntil`
/// has passed; almost exceeded (when not exceeded) within 2 users of the limit or 6 weeks of `paidUntil`.
pub fn pricing_status(organization: &Organization, now_millis: i64) -> PricingStatus {
    let users = organization.active_user_count;
    let over_users = organization.included_users.is_some_and(|included| users > included);
    let expired = organization.paid_until.is_some_and(|until| until <= now_millis);
    let near_users = organization.included_users.is_some_and(|included| users + ALMOST_FULL_USERS >= included);
    let near_expiry = organization.paid_until.is_some_and(|until| until - now_millis <= ALMOST_EXPIRED_MILLIS);
    let is_exceeded = over_users || expired;
    PricingStatus {
        pricing_plan: organization.pricing_plan.clone(),
        is_exceeded,
        is_almost_exceeded: !is_exceeded && (near_users || near_expiry),
    }
}

#[cfg(test)]
mod pricing_tests {
    use super::*;

    #[test]
    fn plans_are_exceeded_by_users_or_time_and_almost_within_two_users_or_six_weeks() {
        let day = 24 * 3600 * 1000;
        let now = 1_000 * day;
        let organization = |included: Option<u64>, active: u64, paid_until: Option<i64>| Organization {
            pricing_plan: "Team".into(),
            paid_until,
            included_users: included,
            ..crate::store::accounts::new_organization("lab", "Lab", String::new(), String::new(), active, 0)
        };
        let status = |o: Organization| {
            let s = pricing_status(&o, now);
            (s.is_exceeded, s.is_almost_exceeded)
        };
        assert_eq!(status(organization(None, 500, None)), (false, false), "unlimited");
        assert_eq!(status(organization(Some(10), 7, None)), (false, false));
        assert_eq!(status(organization(Some(10), 8, None)), (false, true), "within 2 users");
        assert_eq!(status(organization(Some(10), 10, None)), (false, true), "full is not over");
        assert_eq!(status(organization(Some(10), 11, None)), (true, false));
        assert_eq!(status(organization(None, 1, Some(now + 43 * day))), (false, false));
        assert_eq!(status(organization(None, 1, Some(now + 42 * day))), (false, true), "within 6 weeks");
        assert_eq!(status(organization(None, 1, Some(now))), (true, false), "paidUntil passed");
        assert_eq!(pricing_status(&organization(None, 1, None), now).pricing_plan, "Team");
    }
}

#[cfg(test)]
mod mailing_list_tests {
    use super::*;

    #[test]
    fn mailing_lists_take_several_valid_addresses() {
        assert_eq!(email_list("l", "").unwrap(), "");
        assert_eq!(email_list("l", " A@x.org, b@y.org ,a@x.org,, ").unwrap(), "a@x.org, b@y.org");
        assert_eq!(email_list("l", "a@x.org, not an address").unwrap_err().status, 400);
        let many: Vec<String> = (0..=MAX_MAILING_LIST).map(|i| format!("p{i}@x.org")).collect();
        assert_eq!(email_list("l", &many.join(",")).unwrap_err().code, "organization.mailingList.tooLong");
    }
}
