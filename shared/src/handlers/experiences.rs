use lambda_http::RequestExt;

use super::{HandlerResult, json};
use crate::App;
use crate::auth::Caller;
use crate::domain::experiences::{self, BulkExperiences};
use crate::error::ApiError;
use crate::http::{Request, ok, parse_json, with_header};
use crate::idempotency::{self, Scope};
use crate::operations;

/// `GET /api/tasks/experienceDomains`
pub async fn experience_domains(app: &App, caller: Caller, _req: Request) -> HandlerResult {
    Ok(ok(&experiences::domains(app, &caller).await?))
}

/// `PATCH /api/users/experiences` (beyond WEBKNOSSOS): set and remove experiences of many users at once.
pub async fn bulk_change_experiences(app: &App, caller: Caller, req: Request) -> HandlerResult {
    let request: BulkExperiences = parse_json(&req)?;
    idempotency::once(app, &req, &operations::BULK_CHANGE_EXPERIENCES, Scope::Caller(&caller), async {
        let changed = experiences::bulk_change(app, &caller, request).await?;
        Ok(ok(&changed.iter().map(|u| json::user(u, &caller.user)).collect::<Vec<_>>()))
    })
    .await
}

/// `GET /api/users/byExperience?domain&minValue&limit&cursor` (beyond WEBKNOSSOS): active users with at
/// least minValue in domain, highest first.
pub async fn users_by_experience(app: &App, caller: Caller, req: Request) -> HandlerResult {
    let query = req.query_string_parameters_ref();
    let text = |name: &str| query.and_then(|q| q.first(name)).map(str::to_owned);
    let number = |name: &str, default: i64| -> Result<i64, ApiError> {
        text(name)
            .map(|v| {
                v.parse::<i64>().map_err(|_| {
                    ApiError::bad_request("request.query.invalid", format!("{name} must be a whole number"))
                })
            })
            .transpose()
            .map(|v| v.unwrap_or(default))
    };
    let domain = text("domain")
        .ok_or_else(|| ApiError::bad_request("request.query.missing", "The query parameter domain is required"))?;
    let limit = usize::try_from(number("limit", 100)?).unwrap_or(0);
    let page = experiences::users_with_experience_for(
        app,
        &caller,
        &domain,
        number("minValue", 0)?,
        limit,
        text("cursor").as_deref(),
    )
    .await?;
    let body: Vec<_> = page.users.iter().map(|(user, _)| json::user(user, &caller.user)).collect();
    let response = ok(&body);
    Ok(match page.next_cursor {
        Some(cursor) => with_header(response, super::users::NEXT_CURSOR_HEADER, cursor),
        None => response,
    })
}
