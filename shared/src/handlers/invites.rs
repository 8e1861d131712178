use serde::Serialize;

use super::{HandlerResult, json};
use crate::App;
use crate::auth::Caller;
use crate::domain::invites::{self, SendInvites};
use crate::http::{self, Request, ok, parse_json, path_param};
use crate::idempotency::{self, Scope};
use crate::model::Invite;
use crate::operations;
use crate::paging::DEFAULT_PAGE_SIZE;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TeamRoleJson<'a> {
    id: &'a str,
    is_team_manager: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InviteJson<'a> {
    id: &'a str,
    email: &'a str,
    state: &'static str,
    auto_activate: bool,
    is_admin: bool,
    is_dataset_manager: bool,
    team_memberships: Vec<TeamRoleJson<'a>>,
    sent_by: &'a str,
    sent_by_name: &'a str,
    created: i64,
    valid_until: i64,
    delivery: crate::model::DeliveryState,
    delivery_error: Option<&'a str>,
    accepted_by_user_id: Option<&'a str>,
    accepted_by_email: Option<&'a str>,
}

pub fn invite_json(invite: &Invite) -> InviteJson<'_> {
    InviteJson {
        id: &invite.id,
        email: &invite.email,
        state: invite.shown_state(crate::ids::now_millis()),
        auto_activate: invite.auto_activate,
        is_admin: invite.is_admin,
        is_dataset_manager: invite.is_dataset_manager,
        team_memberships: invite.teams.iter().map(|(id, m)| TeamRoleJson { id, is_team_manager: *m }).collect(),
        sent_by: &invite.sent_by,
        sent_by_name: &invite.sent_by_name,
        created: invite.created,
        valid_until: invite.valid_until,
        delivery: invite.delivery,
        delivery_error: invite.delivery_error.as_deref(),
        accepted_by_user_id: invite.accepted_by_user.as_deref(),
        accepted_by_email: invite.accepted_by_email.as_deref(),
    }
}

/// `POST /api/auth/sendInvites`: one answer per recipient.
pub async fn send_invites(app: &App, caller: Caller, req: Request) -> HandlerResult {
    let request: SendInvites = parse_json(&req)?;
    idempotency::once(app, &req, &operations::SEND_INVITES, Scope::Caller(&caller), async {
        let results = invites::send_invites(app, &caller, request).await?;
        Ok(ok(&serde_json::json!({ "recipients": results })))
    })
    .await
}

/// `GET /api/organizations/byInvite/{token}` (no login): which organization invites you.
pub async fn organization_by_invite(app: &App, req: Request) -> HandlerResult {
    let (invite, organization) = invites::usable_invite(app, &path_param(&req, "token")?).await?;
    Ok(ok(&serde_json::json!({
        "id": organization.id,
        "name": organization.name,
        "invitedBy": invite.sent_by_name,
        "invitedEmail": invite.email,
        "validUntil": invite.valid_until,
    })))
}

/// `POST /api/auth/joinOrganization/{token}`: the logged-in account joins the invite's organization.
pub async fn join_organization(app: &App, caller: Caller, req: Request) -> HandlerResult {
    let token = path_param(&req, "token")?;
    idempotency::once(app, &req, &operations::JOIN_ORGANIZATION, Scope::Caller(&caller), async {
        let user = invites::join_organization(app, &caller, &token).await?;
        Ok(ok(&json::user(&user, &user)))
    })
    .await
}

/// `GET /api/invites?state&limit&cursor` (beyond WEBKNOSSOS)
pub async fn list_invites(app: &App, caller: Caller, req: Request) -> HandlerResult {
    let request = http::page_request(&req, DEFAULT_PAGE_SIZE)?;
    let page = invites::list(app, &caller, http::query_text(&req, "state"), &request).await?;
    Ok(http::paged(&page.items.iter().map(invite_json).collect::<Vec<_>>(), page.next_cursor))
}

/// `DELETE /api/invites/{id}`: revoke.
pub async fn revoke_invite(app: &App, caller: Caller, req: Request) -> HandlerResult {
    let invite = invites::revoke(app, &caller, &path_param(&req, "id")?).await?;
    Ok(ok(&invite_json(&invite)))
}

/// `POST /api/invites/{id}/resend`: a fresh link and expiry, mailed again.
pub async fn resend_invite(app: &App, caller: Caller, req: Request) -> HandlerResult {
    let invite_id = path_param(&req, "id")?;
    idempotency::once(app, &req, &operations::RESEND_INVITE, Scope::Caller(&caller), async {
        let (invite, mailed) = invites::resend(app, &caller, &invite_id).await?;
        let mut body = serde_json::to_value(invite_json(&invite)).expect("serializes");
        body["mailed"] = serde_json::Value::Bool(mailed);
        Ok(ok(&body))
    })
    .await
}
