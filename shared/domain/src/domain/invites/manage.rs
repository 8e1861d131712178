//! Listing, revoking and resending invites.

use crate::app::App;
use crate::caller::Caller;
use crate::domain::audit::{self, Auditor};
use crate::domain::invites::InviteError;
use crate::domain::invites::deliver;
use crate::domain::invites::rules::cleanup_at;
use crate::domain::invites::rules::may_manage;
use crate::domain::invites::rules::{resend_wait, sender_may_grant};
use crate::domain::invites::with_token_hash;
use crate::error::DomainError;
use crate::ids;
use crate::model::{AuditTarget, DeliveryState, Invite, InviteState};
use crate::paging::{Page, PageRequest};
use serde_json::json;

/// A page of the organization's invites (admins: all; team managers: those they sent), newest first,
/// optionally of one shown state.
pub async fn list(
    app: &App,
    caller: &Caller,
    state: Option<&str>,
    request: &PageRequest,
) -> Result<Page<Invite>, DomainError> {
    let (limit, after) = (request.limit, request.after_id()?);
    if let Some(state) = state
        && !["pending", "accepted", "revoked", "expired"].contains(&state)
    {
        return Err(InviteError::StateFilterInvalid.into());
    }
    let store = caller.store(app);
    let now = ids::now_millis();
    let mut found = Vec::new();
    let mut position = after.map(str::to_owned);
    let mut more = true;
    while found.len() < limit && more {
        let page = store.invites(position.as_deref(), limit.max(25)).await?;
        more = page.more;
        position = page.items.last().map(|i| i.id.clone());
        for invite in page.items {
            if may_manage(&caller.user, &invite) && state.is_none_or(|s| invite.shown_state(now) == s) {
                found.push(invite);
                if found.len() == limit {
                    position = found.last().map(|i| i.id.clone());
                    break;
                }
            }
        }
    }
    let next = if more || found.len() == limit { position } else { None };
    Ok(Page::new(found, next.as_deref()))
}

pub(super) async fn managed_invite(app: &App, caller: &Caller, invite_id: &str) -> Result<Invite, DomainError> {
    caller
        .store(app)
        .invite(invite_id)
        .await?
        .filter(|i| may_manage(&caller.user, i))
        .ok_or(InviteError::NotFound.into())
}

/// Revokes a pending (or expired) invite: its link stops working at once; the record stays listed.
pub async fn revoke(app: &App, caller: &Caller, invite_id: &str) -> Result<Invite, DomainError> {
    let invite = managed_invite(app, caller, invite_id).await?;
    if invite.state != InviteState::Pending {
        return Err(InviteError::EndedAlready { state: invite.shown_state(ids::now_millis()) }.into());
    }
    let now = ids::now_millis();
    let revoked = Invite {
        state: InviteState::Revoked,
        ended: Some(now),
        cleanup_at: cleanup_at(now, app.config.invite_retention),
        ..invite.clone()
    };
    let entry = Auditor::caller(app, caller).entry(
        &invite.organization,
        "invite.revoked",
        vec![AuditTarget::invite(&invite)],
        json!({}),
    );
    if !caller.store(app).replace_pending_invite(&invite, &revoked, Some(&entry)).await? {
        return Err(InviteError::ChangedMeanwhile.into());
    }
    Ok(revoked)
}

/// Resends a pending or expired invite with a fresh token and expiry (the old link stops working).
pub async fn resend(app: &App, caller: &Caller, invite_id: &str) -> Result<(Invite, bool), DomainError> {
    let invite = managed_invite(app, caller, invite_id).await?;
    if invite.state != InviteState::Pending {
        return Err(InviteError::EndedSendNew { state: invite.shown_state(ids::now_millis()) }.into());
    }
    if !invite.makes_owner && !sender_may_grant(&caller.user, &invite) {
        return Err(InviteError::RightsNoLongerYours.into());
    }
    let now = ids::now_millis();
    if let Some(wait) = resend_wait(&invite, app.config.invite_lifetime, app.config.mail_limits.resend_cooldown, now) {
        return Err(InviteError::ResendTooSoon { minutes: wait.div_ceil(60), wait }.into());
    }
    let valid_until = now + app.config.invite_lifetime.as_millis() as i64;
    // Whoever resends it vouches for it from now on (its grants are checked against them at acceptance).
    let sender = &caller.user;
    let renewed = with_token_hash(
        app,
        Invite {
            sent_by: sender.id.clone(),
            sent_by_name: format!("{} {}", sender.first_name, sender.last_name),
            nonce: ids::new_secret(),
            valid_until,
            cleanup_at: cleanup_at(valid_until, app.config.invite_retention),
            delivery: DeliveryState::Sending,
            delivery_error: None,
            reminded: false,
            ..invite.clone()
        },
    )?;
    let store = caller.store(app);
    let entry = Auditor::caller(app, caller).entry(
        &invite.organization,
        "invite.resent",
        vec![AuditTarget::invite(&invite)],
        json!({ "validUntil": audit::old_new(invite.valid_until, renewed.valid_until) }),
    );
    if !store.replace_pending_invite(&invite, &renewed, Some(&entry)).await? {
        return Err(InviteError::ChangedOrInvitedAgain.into());
    }
    let (mailed, recorded) = deliver(app, &store, &renewed, &caller.organization).await?;
    Ok((recorded, mailed))
}
