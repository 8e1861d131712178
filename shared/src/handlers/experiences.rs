use super::{HandlerResult, json};
use crate::App;
use crate::caller::Caller;
use crate::domain::experiences::{self, BulkExperiences};
use crate::error::ApiError;
use crate::http::{self, Request, ok, parse_json};
use crate::idempotency::{self, Scope};
use crate::operations;
use crate::paging::DEFAULT_PAGE_SIZE;

/// `GET /api/tasks/experienceDomains`
pub(crate) async fn experience_domains(app: &App, caller: Caller, _req: Request) -> HandlerResult {
    Ok(ok(&experiences::domains(app, &caller).await?))
}

/// `PATCH /api/users/experiences` (beyond WEBKNOSSOS): set and remove experiences of many users at once.
pub(crate) async fn bulk_change_experiences(app: &App, caller: Caller, req: Request) -> HandlerResult {
    let request: BulkExperiences = parse_json(&req)?;
    idempotency::once(app, &req, &operations::BULK_CHANGE_EXPERIENCES, Scope::Caller(&caller), async {
        let changed = experiences::bulk_change(app, &caller, request).await?;
        Ok(ok(&changed.iter().map(|u| json::user(u, &caller.user)).collect::<Vec<_>>()))
    })
    .await
}

/// `GET /api/users/byExperience?domain&minValue&limit&cursor` (beyond WEBKNOSSOS): active users with at
/// least minValue in domain, highest first.
pub(crate) async fn users_by_experience(app: &App, caller: Caller, req: Request) -> HandlerResult {
    let domain = http::query_text(&req, "domain")
        .ok_or_else(|| ApiError::bad_request("request.query.missing", "The query parameter domain is required"))?;
    let min_value = http::query_text(&req, "minValue")
        .map(|v| {
            v.parse::<i64>()
                .map_err(|_| ApiError::bad_request("request.query.invalid", "minValue must be a whole number"))
        })
        .transpose()?
        .unwrap_or(0);
    let request = http::page_request(&req, DEFAULT_PAGE_SIZE)?;
    let page = experiences::users_with_experience(&caller.store(app), domain, min_value, &request).await?;
    let body: Vec<_> = page.items.iter().map(|(user, _)| json::user(user, &caller.user)).collect();
    Ok(http::paged(&body, page.next_cursor))
}
