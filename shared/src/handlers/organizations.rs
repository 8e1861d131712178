use serde::Deserialize;

use super::{HandlerResult, json};
use crate::App;
use crate::caller::Caller;
use crate::domain::organizations::{self, NewCredit, NewOrganization, OrganizationPatch, PlanChange};
use crate::http::{self, Request, ok, parse_json, path_param, query_flag, with_header};
use crate::idempotency::{self, Scope};
use crate::operations;
use crate::paging::DEFAULT_PAGE_SIZE;

/// How long `DELETE /organizations/{id}` purges before leaving the rest to the scheduled purge.
pub(crate) const DELETE_PURGE_BUDGET: std::time::Duration = std::time::Duration::from_secs(4);

/// `GET /api/organizations/{id}`: the overview.
pub(crate) async fn get_organization(app: &App, caller: Caller, req: Request) -> HandlerResult {
    let (organization, owner) = organizations::overview(app, &caller, &path_param(&req, "id")?).await?;
    Ok(ok(&json::organization(&organization, owner.as_ref(), &caller.user)))
}

/// `GET /api/pricing/status`: the caller's organization's plan, and whether it is (almost) exceeded.
pub(crate) async fn pricing_status(_app: &App, caller: Caller, _req: Request) -> HandlerResult {
    Ok(ok(&organizations::pricing_status(&caller.organization, crate::ids::now_millis())))
}

/// `PATCH /api/organizations/{id}`: name and notification settings (admins).
pub(crate) async fn update_organization(app: &App, caller: Caller, req: Request) -> HandlerResult {
    let patch: OrganizationPatch = parse_json(&req)?;
    let (organization, owner) = organizations::update(app, &caller, &path_param(&req, "id")?, patch).await?;
    Ok(ok(&json::organization(&organization, owner.as_ref(), &caller.user)))
}

/// `GET /api/organizations?compact`: the caller's organizations.
pub(crate) async fn list_organizations(app: &App, caller: Caller, req: Request) -> HandlerResult {
    let compact = query_flag(&req, "compact")?.unwrap_or(false);
    let organizations = organizations::of_caller(app, &caller).await?;
    let body: Vec<serde_json::Value> = organizations
        .iter()
        .map(|o| {
            if compact {
                serde_json::to_value(json::compact_organization(o)).expect("serializes")
            } else {
                serde_json::to_value(json::organization(o, None, &caller.user)).expect("serializes")
            }
        })
        .collect();
    Ok(ok(&body))
}

#[derive(Deserialize)]
struct DeleteConfirmation {
    /// The organization's name, typed as confirmation.
    confirmation: String,
}

/// `DELETE /api/organizations/{id}` with `{"confirmation": "<organization name>"}`.
pub(crate) async fn delete_organization(app: &App, caller: Caller, req: Request) -> HandlerResult {
    let body: DeleteConfirmation = parse_json(&req)?;
    let finished =
        organizations::delete(app, &caller, &path_param(&req, "id")?, &body.confirmation, DELETE_PURGE_BUDGET).await?;
    Ok(ok(&serde_json::json!({
        "messages": [{ "success": "The organization was deleted" }],
        "purgeComplete": finished,
    })))
}

/// `POST /api/auth/switchOrganization/{id}`: a new session in another of the caller's organizations.
pub(crate) async fn switch_organization(app: &App, caller: Caller, req: Request) -> HandlerResult {
    let switched = organizations::switch(app, &caller, &path_param(&req, "id")?).await?;
    let response =
        ok(&serde_json::json!({ "token": switched.token, "user": json::user(&switched.user, &switched.user) }));
    Ok(with_header(response, "set-cookie", http::session_cookie(&switched.token, switched.lifetime_seconds as u64)))
}

/// `POST /api/organizations/{id}/leave`: the caller's account leaves one of its organizations; when it is the
/// one this session is in, the session ends with it (the cookie goes too).
pub(crate) async fn leave_organization(app: &App, caller: Caller, req: Request) -> HandlerResult {
    let left = organizations::leave(app, &caller, &path_param(&req, "id")?).await?;
    let response = ok(&serde_json::json!({
        "messages": [{ "success": format!("You left the organization {}", left.organization.name) }],
        "user": json::user(&left.user, &left.user),
        "sessionEnded": left.ended_own_session,
    }));
    Ok(if left.ended_own_session {
        with_header(response, "set-cookie", http::expired_session_cookie())
    } else {
        response
    })
}

/// `POST /api/organizations/{id}/transferOwnership` (the owner) with `{"userId": ...}`: mails that admin a
/// link to accept the ownership.
pub(crate) async fn transfer_ownership(app: &App, caller: Caller, req: Request) -> HandlerResult {
    let offer: organizations::OwnershipOffer = parse_json(&req)?;
    let offered = organizations::offer_ownership(app, &caller, &path_param(&req, "id")?, offer).await?;
    Ok(ok(&serde_json::json!({
        "messages": [{ "success": format!(
            "{} {} was mailed a link to accept the ownership; until then you stay the owner",
            offered.to.first_name, offered.to.last_name
        ) }],
        "toUserId": offered.to.id,
        "expires": offered.expires,
    })))
}

/// `POST /api/organizations/{id}/transferOwnership/{token}`: the admin the offer names accepts it.
pub(crate) async fn accept_ownership(app: &App, caller: Caller, req: Request) -> HandlerResult {
    let token = path_param(&req, "token")?;
    let owner = organizations::accept_ownership(app, &caller, &path_param(&req, "id")?, &token).await?;
    Ok(ok(&serde_json::json!({
        "messages": [{ "success": format!("You are now the owner of the organization {}", caller.organization.name) }],
        "user": json::user(&owner, &owner),
    })))
}

/// `POST /api/organizations` (instance operators): an organization for an existing account as owner.
pub(crate) async fn create_organization(app: &App, caller: Caller, req: Request) -> HandlerResult {
    let request: NewOrganization = parse_json(&req)?;
    idempotency::once(app, &req, &operations::CREATE_ORGANIZATION, Scope::Caller(&caller), async {
        match organizations::create_for_owner(app, &caller, request).await? {
            organizations::CreatedForOwner::Owned(organization, owner) => Ok(ok(&serde_json::json!({
                "organization": json::organization(&organization, Some(&owner), &owner),
                "owner": json::user(&owner, &owner),
            }))),
            // No account for the e-mail yet (or not a proven one): the owner is invited (accepting makes them
            // owner and admin).
            organizations::CreatedForOwner::OwnerInvited(organization, invite, mailed) => Ok(ok(&serde_json::json!({
                "organization": json::organization(&organization, None, &caller.user),
                "owner": null,
                "ownerInvite": json::invite(&invite),
                "mailed": mailed,
            }))),
        }
    })
    .await
}

/// `PATCH /api/organizations/{id}/plan` (instance operators)
pub(crate) async fn change_plan(app: &App, caller: Caller, req: Request) -> HandlerResult {
    let change: PlanChange = parse_json(&req)?;
    let organization = organizations::change_plan(app, &caller, &path_param(&req, "id")?, change).await?;
    Ok(ok(&json::organization(&organization, None, &caller.user)))
}

/// `GET /api/creditTransactions?limit&cursor` (admins): newest first, 100 a page by default.
pub(crate) async fn list_credit_transactions(app: &App, caller: Caller, req: Request) -> HandlerResult {
    let request = http::page_request(&req, DEFAULT_PAGE_SIZE)?;
    let page = organizations::credit_transactions(app, &caller, &request).await?;
    Ok(http::paged(&page.items.iter().map(json::credit_transaction).collect::<Vec<_>>(), page.next_cursor))
}

/// `POST /api/organizations/{id}/credits` (instance operators)
pub(crate) async fn add_credits(app: &App, caller: Caller, req: Request) -> HandlerResult {
    let credit: NewCredit = parse_json(&req)?;
    let organization_id = path_param(&req, "id")?;
    // A retried grant with its Idempotency-Key credits once.
    idempotency::once(app, &req, &operations::ADD_CREDITS, Scope::Caller(&caller), async {
        let (transaction, organization) = organizations::add_credits(app, &caller, &organization_id, credit).await?;
        let mut body = serde_json::to_value(json::credit_transaction(&transaction)).expect("serializes");
        body["milliCreditBalance"] = serde_json::json!(organization.milli_credit_balance);
        Ok(ok(&body))
    })
    .await
}

/// The body of `POST /api/operators`.
#[derive(Deserialize)]
struct NewOperator {
    email: String,
}

/// `POST /api/operators` (instance operators): grants the role to the account of a verified address.
pub(crate) async fn grant_operator(app: &App, caller: Caller, req: Request) -> HandlerResult {
    let NewOperator { email } = parse_json(&req)?;
    let grant =
        crate::domain::operators::grant(app, crate::domain::operators::Grantor::Operator(&caller), &email).await?;
    // The grant as stored: accountId, email, grantedBy, grantedAt.
    Ok(ok(&grant))
}

/// `POST /api/notificationAddresses/{token}` (anyone with the link): the mailbox confirms the organization's
/// notices.
pub(crate) async fn confirm_notification_address(app: &App, req: Request) -> HandlerResult {
    let token = path_param(&req, "token")?;
    let address = organizations::confirm_notification_address(app, &token, http::audit_context(&req)).await?;
    Ok(ok(&serde_json::json!({ "email": address.email, "organization": address.organization })))
}
