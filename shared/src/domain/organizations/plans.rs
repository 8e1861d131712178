//! Plans, credits and storage: what an organization may use, what it has used, and its pricing status.

use super::*;

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
) -> Result<Organization, ApiError> {
    let store = operator_store(app, caller, organization_id)?;
    let mut update = OrganizationChange::default();
    if let Some(plan) = &change.pricing_plan {
        if !PRICING_PLANS.contains(&plan.as_str()) {
            return Err(ApiError::bad_request(
                "organization.plan.invalid",
                format!("pricingPlan must be one of {}", PRICING_PLANS.join(", ")),
            ));
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
    change_organization(app, &store, None, &auditor, "organization.planChanged", |_| Ok(update.clone())).await
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
    let target =
        crate::model::AuditTarget { kind: "organization".into(), id: organization_id.to_owned(), name: String::new() };
    let facts = serde_json::json!({
        "milliCredits": transaction.milli_credits,
        "comment": transaction.comment,
        "transaction": transaction.id,
    });
    let entry = Auditor::operator(app, caller).entry(organization_id, "organization.creditsAdded", vec![target], facts);
    if !store.add_credit(&transaction, &entry).await? {
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

pub(super) async fn report_storage_in_scope(app: &App, report: &StorageReport) -> Result<bool, ApiError> {
    if report.organization.is_empty() || report.organization.contains('#') {
        return Err(ApiError::bad_request("organization.id.invalid", "Name the organization by its id"));
    }
    let at = report.reported_at.unwrap_or_else(ids::now_millis);
    let target =
        crate::model::AuditTarget { kind: "organization".into(), id: report.organization.clone(), name: String::new() };
    let facts = serde_json::json!({ "usedStorageBytes": report.used_storage_bytes, "reportedAt": at });
    let entry = Auditor::system(app, crate::background::REPORT_STORAGE_USAGE.name).entry(
        &report.organization,
        "organization.storageReported",
        vec![target],
        facts,
    );
    OrgStore::new(&app.db, &report.organization).report_storage(report.used_storage_bytes, at, &entry).await
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
