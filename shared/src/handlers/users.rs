use lambda_http::RequestExt;

use super::{HandlerResult, json};
use crate::App;
use crate::auth::Caller;
use crate::domain::users::{self, BulkTeamsAndPermissions, UserFilter, UserPatch};
use crate::error::ApiError;
use crate::http::{Request, ok, parse_json, path_param, query_flag, with_header};
use crate::idempotency::{self, Scope};
use crate::operations;

/// Response header that carries the cursor of the next page (the body stays a JSON array).
pub const NEXT_CURSOR_HEADER: &str = "x-next-cursor";

fn query_text<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.query_string_parameters_ref().and_then(|q| q.first(name))
}

/// `GET /api/users?isEditable&isTeamManagerOrAdmin&isAdmin&isActive&search&limit&cursor`
pub async fn list_users(app: &App, caller: Caller, req: Request) -> HandlerResult {
    let filter = UserFilter {
        is_editable: query_flag(&req, "isEditable")?,
        is_team_manager_or_admin: query_flag(&req, "isTeamManagerOrAdmin")?,
        is_admin: query_flag(&req, "isAdmin")?,
        is_active: query_flag(&req, "isActive")?,
        search: query_text(&req, "search").map(users::search_text).transpose()?.flatten(),
    };
    let limit = query_text(&req, "limit")
        .map(|l| {
            l.parse::<usize>()
                .map_err(|_| ApiError::bad_request("request.limit.invalid", "limit must be a positive number"))
        })
        .transpose()?;
    let page = users::list_users(app, &caller, filter, limit, query_text(&req, "cursor")).await?;
    let body: Vec<_> = page.users.iter().map(|u| json::user(u, &caller.user)).collect();
    let response = ok(&body);
    Ok(match page.next_cursor {
        Some(cursor) => with_header(response, NEXT_CURSOR_HEADER, cursor),
        None => response,
    })
}

/// `GET /api/users/{id}`
pub async fn get_user(app: &App, caller: Caller, req: Request) -> HandlerResult {
    let user = users::get_user(app, &caller, &path_param(&req, "id")?).await?;
    Ok(ok(&json::user(&user, &caller.user)))
}

/// `PATCH /api/users/{id}`
pub async fn update_user(app: &App, caller: Caller, req: Request) -> HandlerResult {
    let patch: UserPatch = parse_json(&req)?;
    let user = users::update_user(app, &caller, &path_param(&req, "id")?, patch).await?;
    let viewer = if user.id == caller.user.id { &user } else { &caller.user };
    Ok(ok(&json::user(&user, viewer)))
}

/// `PATCH /api/users/teamsAndPermissions` (beyond WEBKNOSSOS): one change for many users, all or none.
pub async fn bulk_edit_teams_and_permissions(app: &App, caller: Caller, req: Request) -> HandlerResult {
    let request: BulkTeamsAndPermissions = parse_json(&req)?;
    idempotency::once(app, &req, &operations::BULK_EDIT_TEAMS_AND_PERMISSIONS, Scope::Caller(&caller), async {
        let changed = users::bulk_edit_teams_and_permissions(app, &caller, request).await?;
        Ok(ok(&changed.iter().map(|u| json::user(u, &caller.user)).collect::<Vec<_>>()))
    })
    .await
}
