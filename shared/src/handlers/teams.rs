use serde::Deserialize;

use super::{HandlerResult, json};
use crate::App;
use crate::caller::Caller;
use crate::domain::teams;
use crate::http::{Request, ok, parse_json, path_param, query_flag, success_message};

/// `GET /api/teams?isEditable`
pub(crate) async fn list_teams(app: &App, caller: Caller, req: Request) -> HandlerResult {
    let teams = teams::list(app, &caller, query_flag(&req, "isEditable")?.unwrap_or(false)).await?;
    Ok(ok(&teams.iter().map(json::team).collect::<Vec<_>>()))
}

#[derive(Deserialize)]
struct NewTeam {
    name: String,
}

/// `POST /api/teams {name}`
pub(crate) async fn create_team(app: &App, caller: Caller, req: Request) -> HandlerResult {
    let body: NewTeam = parse_json(&req)?;
    crate::idempotency::once(
        app,
        &req,
        &crate::operations::CREATE_TEAM,
        crate::idempotency::Scope::Caller(&caller),
        async {
            let team = teams::create(app, &caller, &body.name).await?;
            Ok(ok(&json::team(&team)))
        },
    )
    .await
}

/// `DELETE /api/teams/{id}`
pub(crate) async fn delete_team(app: &App, caller: Caller, req: Request) -> HandlerResult {
    teams::delete(app, &caller, &path_param(&req, "id")?).await?;
    Ok(success_message("The team was deleted"))
}

/// `GET /api/teams/{id}/users?limit&cursor` (beyond WEBKNOSSOS): the team's members and their roles.
pub(crate) async fn list_team_members(app: &App, caller: Caller, req: Request) -> HandlerResult {
    let request = crate::http::page_request(&req, crate::paging::DEFAULT_PAGE_SIZE)?;
    let page = teams::members(app, &caller, &path_param(&req, "id")?, &request).await?;
    let body: Vec<_> =
        page.items.iter().map(|(user, is_team_manager)| json::team_member(user, *is_team_manager)).collect();
    Ok(crate::http::paged(&body, page.next_cursor))
}
