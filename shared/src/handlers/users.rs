use super::{HandlerResult, json};
use crate::App;
use crate::caller::Caller;
use crate::domain::users::{self, BulkTeamsAndPermissions, UserFilter, UserPatch};
use crate::http::{Request, ok, page_request, paged, parse_json, path_param, query_flag, query_text};
use crate::idempotency::{self, Scope};
use crate::operations;
use crate::paging::MAX_PAGE_SIZE;

/// `GET /api/users?isEditable&isTeamManagerOrAdmin&isAdmin&isActive&isEmailVerified&search&limit&cursor`
pub(crate) async fn list_users(app: &App, caller: Caller, req: Request) -> HandlerResult {
    let filter = UserFilter {
        is_editable: query_flag(&req, "isEditable")?,
        is_team_manager_or_admin: query_flag(&req, "isTeamManagerOrAdmin")?,
        is_admin: query_flag(&req, "isAdmin")?,
        is_active: query_flag(&req, "isActive")?,
        is_email_verified: query_flag(&req, "isEmailVerified")?,
        search: query_text(&req, "search").map(users::search_text).transpose()?.flatten(),
    };
    // Without a limit, one full page (WEBKNOSSOS answers every user; a Lambda answer is limited to 6 MB,
    // so a larger organization is read with the cursor).
    let page = users::list_users(app, &caller, filter, &page_request(&req, MAX_PAGE_SIZE)?).await?;
    Ok(paged(&page.items.iter().map(|u| json::user(u, &caller.user)).collect::<Vec<_>>(), page.next_cursor))
}

/// `GET /api/users/{id}`
pub(crate) async fn get_user(app: &App, caller: Caller, req: Request) -> HandlerResult {
    let user = users::get_user(app, &caller, &path_param(&req, "id")?).await?;
    Ok(ok(&json::user(&user, &caller.user)))
}

/// `PATCH /api/users/{id}`
pub(crate) async fn update_user(app: &App, caller: Caller, req: Request) -> HandlerResult {
    let patch: UserPatch = parse_json(&req)?;
    let user = users::update_user(app, &caller, &path_param(&req, "id")?, patch).await?;
    let viewer = if user.id == caller.user.id { &user } else { &caller.user };
    Ok(ok(&json::user(&user, viewer)))
}

/// `PATCH /api/users/teamsAndPermissions` (beyond WEBKNOSSOS): one change for many users, all or none.
pub(crate) async fn bulk_edit_teams_and_permissions(app: &App, caller: Caller, req: Request) -> HandlerResult {
    let request: BulkTeamsAndPermissions = parse_json(&req)?;
    idempotency::once(app, &req, &operations::BULK_EDIT_TEAMS_AND_PERMISSIONS, Scope::Caller(&caller), async {
        let changed = users::bulk_edit_teams_and_permissions(app, &caller, request).await?;
        Ok(ok(&changed.iter().map(|u| json::user(u, &caller.user)).collect::<Vec<_>>()))
    })
    .await
}
