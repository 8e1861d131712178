//! Requests to the instance's operators (WEBKNOSSOS's `POST /pricing/request*`): an admin asks for a longer
//! plan, another plan, more users or storage; the owner asks for credits. Each is stored (the operators list
//! them), mailed to the operators (`SUPER_USER_EMAILS`) with a confirmation to the requester, logged, and
//! limited per organization and day (`PLAN_REQUESTS_PER_DAY`).

use crate::app::App;
use crate::caller::Caller;
use crate::domain::audit::Auditor;
use crate::domain::organizations::OrganizationError;
use crate::domain::organizations::plans::readable_bytes;
use crate::error::DomainError;
use crate::ids;
use crate::mail::{self, Mail};
use crate::model::PRICING_PLANS;
use crate::paging::{Page, PageRequest};

/// What is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanAsk {
    Extension,
    Upgrade(String),
    Users(u64),
    /// Megabytes, as WEBKNOSSOS's front end asks.
    Storage(u64),
    Credits(u64),
}

impl PlanAsk {
    fn kind(&self) -> &'static str {
        match self {
            PlanAsk::Extension => "extension",
            PlanAsk::Upgrade(_) => "upgrade",
            PlanAsk::Users(_) => "users",
            PlanAsk::Storage(_) => "storage",
            PlanAsk::Credits(_) => "credits",
        }
    }

    fn requested(&self) -> String {
        match self {
            PlanAsk::Extension => String::new(),
            PlanAsk::Upgrade(plan) => plan.clone(),
            PlanAsk::Users(n) | PlanAsk::Storage(n) | PlanAsk::Credits(n) => n.to_string(),
        }
    }

    /// In words, for the mails.
    fn describe(&self) -> String {
        match self {
            PlanAsk::Extension => "an extension of the current plan".into(),
            PlanAsk::Upgrade(plan) => format!("the {plan} plan"),
            PlanAsk::Users(n) => format!("{n} users"),
            PlanAsk::Storage(mb) => format!("{} of storage", readable_bytes(mb.saturating_mul(1_000_000))),
            PlanAsk::Credits(n) => format!("{n} credits"),
        }
    }
}

/// A whole number from 1 to `max`, else `refusal(max)`.
fn whole(text: Option<&str>, max: u64, refusal: fn(u64) -> OrganizationError) -> Result<u64, DomainError> {
    Ok(text.and_then(|t| t.parse::<u64>().ok()).filter(|n| (1..=max).contains(n)).ok_or(refusal(max))?)
}

/// The ask of a request route from its query parameter (pure): `kind` is the route's.
pub fn parse_ask(kind: &str, value: Option<&str>) -> Result<PlanAsk, DomainError> {
    match kind {
        "extension" => Ok(PlanAsk::Extension),
        "upgrade" => match value {
            Some(plan) if PRICING_PLANS.contains(&plan) => Ok(PlanAsk::Upgrade(plan.to_owned())),
            _ => Err(OrganizationError::RequestedPlanInvalid { allowed: PRICING_PLANS.join(", ") }.into()),
        },
        "users" => whole(value, 1_000_000, |max| OrganizationError::RequestedUsersInvalid { max }).map(PlanAsk::Users),
        "storage" => {
            whole(value, 1_000_000_000, |max| OrganizationError::RequestedStorageInvalid { max }).map(PlanAsk::Storage)
        }
        _ => {
            whole(value, 1_000_000_000, |max| OrganizationError::RequestedCreditsInvalid { max }).map(PlanAsk::Credits)
        }
    }
}

/// Stores, logs and mails a request of the caller's organization (the dispatch admits admins, and only the
/// owner for credits).
pub async fn request_plan_change(app: &App, caller: &Caller, ask: PlanAsk) -> Result<(), DomainError> {
    let organization = &caller.organization;
    let user = &caller.user;
    let now = ids::now_millis();
    let request = crate::model::PlanRequest {
        id: ids::new_millis_ordered_id(),
        organization: organization.id.clone(),
        organization_name: organization.name.clone(),
        kind: ask.kind().into(),
        requested: ask.requested(),
        requested_by: user.id.clone(),
        requested_by_name: format!("{} {}", user.first_name, user.last_name),
        requested_by_email: user.email.clone(),
        created: now,
        expires_at: now / 1000 + 365 * 86_400,
    };
    let facts = serde_json::json!({ "kind": request.kind, "requested": request.requested, "request": request.id });
    let entry = Auditor::caller(app, caller).entry(
        &organization.id,
        "organization.planRequested",
        vec![crate::model::AuditTarget::organization(organization)],
        facts,
    );
    let per_day = app.config.mail_limits.plan_requests_per_day;
    if !crate::store::quotas::store_plan_request(&app.db, &request, &entry, per_day, now / 1000).await? {
        return Err(OrganizationError::TooManyPlanRequests { per_day }.into());
    }
    let what = ask.describe();
    let mut mails: Vec<Mail> = app
        .config
        .super_users
        .iter()
        .map(|operator| {
            Mail::new(
                vec![operator.clone()],
                format!("WEBKNOSSOS | Plan request: {}", request.kind),
                &[
                    "Hello,".into(),
                    format!(
                        "{} ({}) of the organization \"{}\" ({}) asks for {what}.",
                        request.requested_by_name, request.requested_by_email, organization.name, organization.id
                    ),
                    format!(
                        "The organization's plan now: {}, paid until {}, {} users, {} of storage.",
                        organization.pricing_plan,
                        organization.paid_until.map_or_else(|| "no end date".into(), ids::iso_date),
                        organization.included_users.map_or_else(|| "unlimited".into(), |n| n.to_string()),
                        organization.included_storage_bytes.map_or_else(|| "unlimited".into(), readable_bytes),
                    ),
                ],
                None,
            )
        })
        .collect();
    mails.push(Mail::new(
        vec![user.email.clone()],
        "WEBKNOSSOS | Your request was received",
        &[
            format!("Hello {},", user.first_name),
            format!("your request for {what} for the organization \"{}\" went to the instance's operators; they will get back to you.", organization.name),
        ],
        None,
    ));
    mail::notify(app, mails).await;
    Ok(())
}

/// A page of every organization's requests, newest first (operators).
pub async fn plan_requests(app: &App, request: &PageRequest) -> Result<Page<crate::model::PlanRequest>, DomainError> {
    let page = crate::store::quotas::plan_requests(&app.db, request.after_id()?, request.limit).await?;
    Ok(Page::of_read(page.items, page.more, request, |r: &crate::model::PlanRequest| r.id.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_request_route_takes_its_parameter_checked() {
        assert_eq!(parse_ask("extension", None).unwrap(), PlanAsk::Extension);
        assert_eq!(parse_ask("upgrade", Some("Power")).unwrap(), PlanAsk::Upgrade("Power".into()));
        assert_eq!(parse_ask("users", Some("25")).unwrap(), PlanAsk::Users(25));
        assert_eq!(parse_ask("storage", Some("500000")).unwrap(), PlanAsk::Storage(500_000));
        assert_eq!(parse_ask("credits", Some("100")).unwrap(), PlanAsk::Credits(100));
        for (kind, value, code) in [
            ("upgrade", Some("Gold"), "pricing.plan.invalid"),
            ("upgrade", None, "pricing.plan.invalid"),
            ("users", Some("0"), "pricing.users.invalid"),
            ("users", Some("-3"), "pricing.users.invalid"),
            ("users", Some("1000001"), "pricing.users.invalid"),
            ("storage", Some("lots"), "pricing.storage.invalid"),
            ("credits", None, "pricing.credits.invalid"),
            ("credits", Some("99999999999999999999"), "pricing.credits.invalid"),
        ] {
            assert_eq!(parse_ask(kind, value).err().map(|e| e.code), Some(code), "{kind} {value:?}");
        }
        assert_eq!(PlanAsk::Storage(2_000_000).describe(), "2.0 TB of storage");
    }
}
