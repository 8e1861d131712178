//! Plans, credits and storage: what an organization may use, what it has used, and its pricing status.

use crate::app::App;
use crate::caller::Caller;
use crate::domain::audit::{self, Auditor};
use crate::domain::organizations::OrganizationError;
use crate::domain::organizations::change_organization;
use crate::domain::organizations::operator_store;
use crate::domain::retry::{self, Attempt};
use crate::error::DomainError;
use crate::ids;
use crate::mail::{self, Mail};
use crate::model::{CreditTransaction, Organization, PRICING_PLANS};
use crate::paging::{Page, PageRequest};
use crate::store::org::{Field, OrgStore, OrganizationChange};
use serde::Deserialize;

/// A field that may be absent, `null`, or a value.
pub(super) fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
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
) -> Result<Organization, DomainError> {
    let store = operator_store(app, caller, organization_id)?;
    let mut update = OrganizationChange::default();
    if let Some(plan) = &change.pricing_plan {
        if !PRICING_PLANS.contains(&plan.as_str()) {
            return Err(OrganizationError::PlanInvalid { allowed: PRICING_PLANS.join(", ") }.into());
        }
        update.set("pricingPlan", Field::Text(plan.clone()));
    }
    for (name, value) in [
        ("paidUntil", change.paid_until.map(|v| v.map(|x| x.to_string()))),
        ("includedUsers", change.included_users.map(|v| v.map(|x| x.to_string()))),
        ("includedStorageBytes", change.included_storage_bytes.map(|v| v.map(|x| x.to_string()))),
    ] {
        match value {
            Some(Some(number)) => update.set(name, Field::Number(number)),
            Some(None) => update.remove(name),
            None => {}
        }
    }
    let auditor = Auditor::operator(app, caller);
    let paid_until = change.paid_until;
    let planned = |read: &Organization| {
        let mut update = update.clone();
        // A new end of the plan starts its expiry notices again.
        if paid_until.is_some_and(|new| new != read.paid_until) {
            update.set("planNoticeStage", Field::Number("0".into()));
        }
        Ok(update)
    };
    let history = |after: &Organization| {
        Some(crate::model::PlanUpdate {
            organization: after.id.clone(),
            id: ids::new_millis_ordered_id(),
            pricing_plan: after.pricing_plan.clone(),
            paid_until: after.paid_until,
            included_users: after.included_users,
            included_storage_bytes: after.included_storage_bytes,
            changed_by: caller.user.email.clone(),
            created: ids::now_millis(),
        })
    };
    let before = store.organization().await?;
    let organization =
        change_organization(&store, before.as_ref(), &auditor, "organization.planChanged", planned, history).await?;
    // The organization hears of its new plan (when it changed).
    if before.is_some_and(|before| plan_differs(&before, &organization)) {
        match plan_recipient(app, &organization).await {
            Ok(Some(recipient)) => mail::notify(app, vec![new_plan_mail(app, &organization, recipient)]).await,
            Ok(None) => {}
            Err(err) => tracing::warn!(organization = %organization.id, error = %err, "no recipient for a plan change"),
        }
    }
    Ok(organization)
}

fn plan_differs(before: &Organization, after: &Organization) -> bool {
    (&before.pricing_plan, before.paid_until, before.included_users, before.included_storage_bytes)
        != (&after.pricing_plan, after.paid_until, after.included_users, after.included_storage_bytes)
}

/// The organization's plan after an operator changed it.
fn new_plan_mail(app: &App, organization: &Organization, recipient: String) -> Mail {
    let users = organization.included_users.map_or_else(|| "unlimited".to_owned(), |n| n.to_string());
    let storage = organization.included_storage_bytes.map_or_else(|| "unlimited".to_owned(), readable_bytes);
    let until = organization.paid_until.map_or_else(|| "no end date".to_owned(), crate::ids::iso_date);
    Mail::new(
        vec![recipient],
        "WEBKNOSSOS | Your organization's plan was changed",
        &[
            "Hello,".into(),
            format!("the plan of the organization \"{}\" is now: {}.", organization.name, organization.pricing_plan),
            format!("Users: {users}. Storage: {storage}. Paid until: {until}."),
        ],
        Some(("Organization", &format!("{}/organization", app.config.public_uri))),
    )
}

/// A page of the caller's organization's plan history, newest first (admins).
pub async fn plan_updates(
    app: &App,
    caller: &Caller,
    request: &PageRequest,
) -> Result<Page<crate::model::PlanUpdate>, DomainError> {
    let page = caller.store(app).plan_updates(request.after_id()?, request.limit).await?;
    Ok(Page::of_read(page.items, page.more, request, |u: &crate::model::PlanUpdate| u.id.as_str()))
}

/// The plan expiry notice due for `organization` at `now_millis`: the stage (1: 30 days before
/// `paidUntil`, 2: 7 days before, 3: expired) of the latest notice whose time has come and that was not
/// mailed yet. Only the latest: a plan extended to end in 5 days gets the 7-day notice, not both.
pub(crate) fn plan_notice(organization: &Organization, now_millis: i64) -> Option<u8> {
    let paid_until = organization.paid_until?;
    let due = crate::model::PLAN_NOTICE_OFFSETS
        .iter()
        .rposition(|offset| now_millis >= paid_until - offset)
        .map(|index| index as u8 + 1)?;
    (due > organization.plan_notice_stage).then_some(due)
}

/// The daily job's plan notices: every organization whose next notice is due (the sparse `PlanNotices`
/// index) gets the latest one, marked first (a crash between the two skips a notice rather than mailing
/// it twice). Returns how many were mailed, and whether all that were due were handled before `deadline`.
pub(crate) async fn send_plan_notices(
    app: &App,
    now_millis: i64,
    deadline: std::time::Instant,
) -> Result<(usize, bool), DomainError> {
    let auditor = Auditor::system(app, crate::background::INVITE_MAINTENANCE.name);
    let mut sent = 0;
    let mut start = None;
    loop {
        let (page, next) = crate::store::maintenance::due_for_plan_notice(&app.db, now_millis / 1000, start).await?;
        for organization in page.items.into_iter().filter(|o| !o.is_being_deleted()) {
            if std::time::Instant::now() >= deadline {
                return Ok((sent, false));
            }
            let Some(stage) = plan_notice(&organization, now_millis) else { continue };
            let notice = ["", "30 days", "7 days", "expired"][usize::from(stage)];
            let facts = serde_json::json!({ "paidUntil": organization.paid_until, "notice": notice });
            let target = crate::model::AuditTarget::organization(&organization);
            let entry = auditor.entry(&organization.id, "organization.planNoticeSent", vec![target], facts);
            if !crate::store::maintenance::mark_plan_notice(&app.db, &organization, stage, &entry).await? {
                continue;
            }
            match plan_recipient(app, &organization).await {
                Ok(Some(recipient)) => {
                    match mail::send(app, &plan_notice_mail(app, &organization, stage, recipient)).await {
                        Ok(()) => sent += 1,
                        Err(err) => {
                            tracing::warn!(organization = %organization.id, error = %err, "a plan notice was not sent")
                        }
                    }
                }
                Ok(None) => {}
                Err(err) => {
                    tracing::warn!(organization = %organization.id, error = %err, "no recipient for a plan notice")
                }
            }
        }
        start = next;
        if start.is_none() {
            return Ok((sent, true));
        }
    }
}

/// WEBKNOSSOS's plan expiry reminder: the plan ends in 30 or 7 days (`stage` 1, 2), or has ended (3).
fn plan_notice_mail(app: &App, organization: &Organization, stage: u8, recipient: String) -> Mail {
    let until = crate::ids::iso_date(organization.paid_until.unwrap_or_default());
    let (subject, state) = match stage {
        1 => ("WEBKNOSSOS | Your organization's plan ends in 30 days", format!("ends on {until}, in 30 days")),
        2 => ("WEBKNOSSOS | Your organization's plan ends in 7 days", format!("ends on {until}, in 7 days")),
        _ => ("WEBKNOSSOS | Your organization's plan has ended", format!("ended on {until}")),
    };
    Mail::new(
        vec![recipient],
        subject,
        &[
            "Hello,".into(),
            format!("the {} plan of the organization \"{}\" {state}.", organization.pricing_plan, organization.name),
            "To keep using it, ask for an extension on the Organization page.".into(),
        ],
        Some(("Organization", &format!("{}/organization", app.config.public_uri))),
    )
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewCredit {
    pub milli_credits: i64,
    #[serde(default)]
    pub comment: String,
}

/// Most milli-credits one transaction may move.
pub(crate) const MAX_CREDIT_CHANGE: i64 = 1_000_000_000_000;

pub async fn add_credits(
    app: &App,
    caller: &Caller,
    organization_id: &str,
    credit: NewCredit,
) -> Result<(CreditTransaction, Organization), DomainError> {
    let store = operator_store(app, caller, organization_id)?;
    if credit.milli_credits == 0 || credit.milli_credits.abs() > MAX_CREDIT_CHANGE {
        return Err(OrganizationError::CreditAmountInvalid.into());
    }
    if credit.comment.chars().count() > 500 || credit.comment.chars().any(char::is_control) {
        return Err(OrganizationError::CreditCommentInvalid.into());
    }
    let transaction = CreditTransaction {
        organization: organization_id.to_owned(),
        // Listed newest first: transactions within one second keep their order too.
        id: ids::new_millis_ordered_id(),
        milli_credits: credit.milli_credits,
        comment: credit.comment.trim().to_owned(),
        created_by: caller.user.email.clone(),
        created: ids::now_millis(),
    };
    let target =
        crate::model::AuditTarget { kind: "organization".into(), id: organization_id.to_owned(), name: String::new() };
    let facts = serde_json::json!({
        "milliCredits": transaction.milli_credits,
        "comment": transaction.comment,
        "transaction": transaction.id,
    });
    let entry = Auditor::operator(app, caller).entry(organization_id, "organization.creditsAdded", vec![target], facts);
    if !store.add_credit(&transaction, &entry).await? {
        let exists = store.organization().await?.is_some_and(|o| !o.is_being_deleted());
        return Err(if exists {
            OrganizationError::CreditsInsufficient.into()
        } else {
            OrganizationError::NotFound.into()
        });
    }
    let organization = store.organization().await?.ok_or(OrganizationError::NotFound)?;
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

/// Stores the report; `false` when the organization is unknown or being deleted, or a newer report is
/// stored. A report that crosses 90% or 100% of the plan's storage mails its notice, once per crossing.
pub async fn report_storage(app: &App, report: &StorageReport) -> Result<bool, DomainError> {
    crate::declared_actions::scope_unless_scoped(
        (&crate::background::REPORT_STORAGE_USAGE).into(),
        report_storage_in_scope(app, report),
    )
    .await
}

/// The storage threshold `used` has reached of `included`: 100, 90 (percent) or 0; 0 for unlimited storage.
pub(crate) fn storage_level(used: u64, included: Option<u64>) -> u8 {
    match included {
        Some(included) if used >= included => 100,
        Some(included) if u128::from(used) * 10 >= u128::from(included) * 9 => 90,
        _ => 0,
    }
}

/// The notice a report from `notified` (the level last mailed) to `reached` mails: only a level above the
/// one mailed since usage was last below it.
pub(crate) fn storage_notice(notified: u8, reached: u8) -> Option<u8> {
    (reached > notified).then_some(reached)
}

pub(super) async fn report_storage_in_scope(app: &App, report: &StorageReport) -> Result<bool, DomainError> {
    if report.organization.is_empty() || report.organization.contains('#') {
        return Err(OrganizationError::IdMissing.into());
    }
    let at = report.reported_at.unwrap_or_else(ids::now_millis);
    let store = OrgStore::new(&app.db, &report.organization);
    let auditor = Auditor::system(app, crate::background::REPORT_STORAGE_USAGE.name);
    let (store, auditor) = (&store, &auditor);
    let attempt = |_| async move {
        let Some(organization) = store.organization().await?.filter(|o| !o.is_being_deleted()) else {
            return Ok(Attempt::Done(None));
        };
        if organization.storage_reported_at.is_some_and(|stored| stored >= at) {
            return Ok(Attempt::Done(None));
        }
        let level = storage_level(report.used_storage_bytes, organization.included_storage_bytes);
        let facts = serde_json::json!({
            "usedStorageBytes": audit::old_new(organization.used_storage_bytes, report.used_storage_bytes),
            "reportedAt": at,
            "storageNoticeLevel": audit::old_new(organization.storage_notice_level, level),
        });
        let entry = auditor.entry(
            &organization.id,
            "organization.storageReported",
            vec![crate::model::AuditTarget::organization(&organization)],
            facts,
        );
        let stored = store
            .report_storage(report.used_storage_bytes, at, (organization.storage_notice_level, level), &entry)
            .await?;
        // A newer report or another level came meanwhile: read again.
        Ok(if stored { Attempt::Done(Some((organization, level))) } else { Attempt::Conflict })
    };
    let stored = retry::until_settled(attempt, OrganizationError::StorageReportsKeptArriving.into()).await?;
    let Some((organization, level)) = stored else { return Ok(false) };
    if let Some(notice) = storage_notice(organization.storage_notice_level, level) {
        let mails = storage_notice_mail(app, &organization, report.used_storage_bytes, notice).await;
        mail::notify(app, mails).await;
    }
    Ok(true)
}

/// Where plan and storage notices go: `planSubscriptionEmail` once its mailbox confirmed it, else the owner.
pub(super) async fn plan_recipient(app: &App, organization: &Organization) -> Result<Option<String>, DomainError> {
    if !organization.plan_subscription_email.is_empty() {
        let named = [organization.plan_subscription_email.clone()];
        if let Some(confirmed) = super::confirmed_addresses(app, &organization.id, &named).await?.pop() {
            return Ok(Some(confirmed));
        }
    }
    if organization.owner_user_id.is_empty() {
        return Ok(None);
    }
    let owner = OrgStore::new(&app.db, &organization.id).user(&organization.owner_user_id).await?;
    Ok(owner.map(|owner| owner.email))
}

/// A byte count as people read it (decimal units, as storage is sold).
pub(crate) fn readable_bytes(bytes: u64) -> String {
    let units = ["bytes", "KB", "MB", "GB", "TB", "PB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < units.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 { format!("{bytes} bytes") } else { format!("{value:.1} {}", units[unit]) }
}

/// WEBKNOSSOS's storage warning: the organization reached `level` percent of its included storage.
async fn storage_notice_mail(app: &App, organization: &Organization, used: u64, level: u8) -> Vec<Mail> {
    let recipient = match plan_recipient(app, organization).await {
        Ok(Some(recipient)) => recipient,
        Ok(None) => return Vec::new(),
        Err(err) => {
            tracing::warn!(organization = %organization.id, error = %err, "no recipient for a storage notice");
            return Vec::new();
        }
    };
    let included = readable_bytes(organization.included_storage_bytes.unwrap_or_default());
    let (subject, state) = if level >= 100 {
        ("WEBKNOSSOS | Your organization's storage is used up", "has used all of the storage its plan includes")
    } else {
        ("WEBKNOSSOS | Your organization's storage is almost used up", "has used 90% of the storage its plan includes")
    };
    vec![Mail::new(
        vec![recipient],
        subject,
        &[
            "Hello,".into(),
            format!("the organization \"{}\" {state}: {} of {included}.", organization.name, readable_bytes(used)),
            "To keep adding data, delete datasets you no longer need or ask for more storage on the Organization page."
                .into(),
        ],
        Some(("Organization", &format!("{}/organization", app.config.public_uri))),
    )]
}

/// A page of the caller's organization's credit transactions, newest first (admins).
pub async fn credit_transactions(
    app: &App,
    caller: &Caller,
    request: &PageRequest,
) -> Result<Page<CreditTransaction>, DomainError> {
    let page = caller.store(app).credit_transactions(request.after_id()?, request.limit).await?;
    Ok(Page::of_read(page.items, page.more, request, |t: &CreditTransaction| t.id.as_str()))
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
pub(crate) const ALMOST_EXPIRED_MILLIS: i64 = 6 * 7 * 24 * 3600 * 1000;

pub(crate) const ALMOST_FULL_USERS: u64 = 2;

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
    fn the_latest_due_plan_notice_is_sent_once() {
        let day = 86_400_000;
        let paid = 100 * day;
        let with = |stage: u8| Organization {
            paid_until: Some(paid),
            plan_notice_stage: stage,
            ..crate::store::accounts::new_organization("lab", "Lab", String::new(), String::new(), 1, 0)
        };
        assert_eq!(plan_notice(&with(0), paid - 31 * day), None, "too early");
        assert_eq!(plan_notice(&with(0), paid - 30 * day), Some(1));
        assert_eq!(plan_notice(&with(1), paid - 20 * day), None, "the 30-day notice went already");
        assert_eq!(plan_notice(&with(1), paid - 7 * day), Some(2));
        assert_eq!(plan_notice(&with(0), paid - 5 * day), Some(2), "late: only the latest");
        assert_eq!(plan_notice(&with(2), paid), Some(3));
        assert_eq!(plan_notice(&with(3), paid + 90 * day), None, "the end is told once");
        assert_eq!(plan_notice(&Organization { paid_until: None, ..with(0) }, paid), None, "no end, no notice");
        assert_eq!(with(0).next_plan_notice_at(), Some((paid - 30 * day) / 1000));
        assert_eq!(with(3).next_plan_notice_at(), None);
    }

    #[test]
    fn storage_notices_come_once_per_threshold_crossing() {
        assert_eq!(storage_level(10, None), 0, "unlimited storage has no thresholds");
        assert_eq!(
            (storage_level(89, Some(100)), storage_level(90, Some(100)), storage_level(100, Some(100))),
            (0, 90, 100)
        );
        assert_eq!(storage_level(u64::MAX, Some(u64::MAX - 1)), 100);
        assert_eq!(storage_notice(0, 90), Some(90));
        assert_eq!(storage_notice(90, 90), None, "not again while above 90%");
        assert_eq!(storage_notice(90, 100), Some(100));
        assert_eq!(storage_notice(0, 100), Some(100), "straight to full: one notice, the full one");
        assert_eq!(storage_notice(100, 0), None, "falling below mails nothing (and lowers the level)");
        assert_eq!(readable_bytes(999), "999 bytes");
        assert_eq!(readable_bytes(1_500_000_000), "1.5 GB");
    }

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
