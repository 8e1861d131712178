//! WEBKNOSSOS's pricing routes beyond the status: requests to the operators, their list, the plan history.

use super::HandlerResult;
use crate::App;
use crate::caller::Caller;
use crate::domain::organizations;
use crate::http::{self, Request, success_message};
use crate::paging::DEFAULT_PAGE_SIZE;

async fn request(app: &App, caller: &Caller, req: &Request, kind: &str, parameter: Option<&str>) -> HandlerResult {
    let ask = organizations::parse_ask(kind, parameter.and_then(|name| http::query_text(req, name)))?;
    organizations::request_plan_change(app, caller, ask).await?;
    Ok(success_message("Your request was sent to the instance's operators"))
}

/// `POST /api/pricing/requestExtension`
pub(crate) async fn request_extension(app: &App, caller: Caller, req: Request) -> HandlerResult {
    request(app, &caller, &req, "extension", None).await
}

/// `POST /api/pricing/requestUpgrade?requestedPlan=`
pub(crate) async fn request_upgrade(app: &App, caller: Caller, req: Request) -> HandlerResult {
    request(app, &caller, &req, "upgrade", Some("requestedPlan")).await
}

/// `POST /api/pricing/requestUsers?requestedUsers=`
pub(crate) async fn request_users(app: &App, caller: Caller, req: Request) -> HandlerResult {
    request(app, &caller, &req, "users", Some("requestedUsers")).await
}

/// `POST /api/pricing/requestStorage?requestedStorage=` (megabytes)
pub(crate) async fn request_storage(app: &App, caller: Caller, req: Request) -> HandlerResult {
    request(app, &caller, &req, "storage", Some("requestedStorage")).await
}

/// `POST /api/pricing/requestCredits?requestedCredits=` (the owner)
pub(crate) async fn request_credits(app: &App, caller: Caller, req: Request) -> HandlerResult {
    request(app, &caller, &req, "credits", Some("requestedCredits")).await
}

/// `GET /api/pricing/requests` (instance operators): every organization's requests, newest first.
pub(crate) async fn list_plan_requests(app: &App, _caller: Caller, req: Request) -> HandlerResult {
    let page = organizations::plan_requests(app, &http::page_request(&req, DEFAULT_PAGE_SIZE)?).await?;
    let items: Vec<serde_json::Value> = page
        .items
        .iter()
        .map(|r| {
            serde_json::json!({
                "id": r.id,
                "organization": r.organization,
                "organizationName": r.organization_name,
                "kind": r.kind,
                "requested": r.requested,
                "requestedBy": { "id": r.requested_by, "name": r.requested_by_name, "email": r.requested_by_email },
                "created": r.created,
            })
        })
        .collect();
    Ok(http::paged(&items, page.next_cursor))
}

/// `GET /api/pricing/planUpdates` (admins): the organization's plan history, newest first.
pub(crate) async fn list_plan_updates(app: &App, caller: Caller, req: Request) -> HandlerResult {
    let page = organizations::plan_updates(app, &caller, &http::page_request(&req, DEFAULT_PAGE_SIZE)?).await?;
    Ok(http::paged(&page.items, page.next_cursor))
}
