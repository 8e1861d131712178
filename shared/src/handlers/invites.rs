use super::{HandlerResult, json};
use crate::App;
use crate::caller::Caller;
use crate::domain::invites::{self, SendInvites};
use crate::http::{self, Request, ok, parse_json, path_param};
use crate::idempotency::{self, Scope};
use crate::operations;
use crate::paging::DEFAULT_PAGE_SIZE;

/// `POST /api/auth/sendInvites`: one answer per recipient.
pub(crate) async fn send_invites(app: &App, caller: Caller, req: Request) -> HandlerResult {
    let request: SendInvites = parse_json(&req)?;
    idempotency::once(app, &req, &operations::SEND_INVITES, Scope::Caller(&caller), async {
        let results = invites::send_invites(app, &caller, request).await?;
        Ok(ok(&serde_json::json!({ "recipients": results })))
    })
    .await
}

/// `GET /api/organizations/byInvite/{token}` (no login): which organization invites you.
pub(crate) async fn organization_by_invite(app: &App, req: Request) -> HandlerResult {
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
pub(crate) async fn join_organization(app: &App, caller: Caller, req: Request) -> HandlerResult {
    let token = path_param(&req, "token")?;
    idempotency::once(app, &req, &operations::JOIN_ORGANIZATION, Scope::Caller(&caller), async {
        let user = invites::join_organization(app, &caller, &token).await?;
        Ok(ok(&json::user(&user, &user)))
    })
    .await
}

/// `GET /api/invites?state&limit&cursor` (beyond WEBKNOSSOS)
pub(crate) async fn list_invites(app: &App, caller: Caller, req: Request) -> HandlerResult {
    let request = http::page_request(&req, DEFAULT_PAGE_SIZE)?;
    let page = invites::list(app, &caller, http::query_text(&req, "state"), &request).await?;
    Ok(http::paged(&page.items.iter().map(json::invite).collect::<Vec<_>>(), page.next_cursor))
}

/// `DELETE /api/invites/{id}`: revoke.
pub(crate) async fn revoke_invite(app: &App, caller: Caller, req: Request) -> HandlerResult {
    let invite = invites::revoke(app, &caller, &path_param(&req, "id")?).await?;
    Ok(ok(&json::invite(&invite)))
}

/// `POST /api/invites/{id}/resend`: a fresh link and expiry, mailed again.
pub(crate) async fn resend_invite(app: &App, caller: Caller, req: Request) -> HandlerResult {
    let invite_id = path_param(&req, "id")?;
    idempotency::once(app, &req, &operations::RESEND_INVITE, Scope::Caller(&caller), async {
        let (invite, mailed) = invites::resend(app, &caller, &invite_id).await?;
        let mut body = serde_json::to_value(json::invite(&invite)).expect("serializes");
        body["mailed"] = serde_json::Value::Bool(mailed);
        Ok(ok(&body))
    })
    .await
}
