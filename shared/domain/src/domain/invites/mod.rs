//! Invitations by e-mail: sending (one invite and one mail per recipient), finding an invite by its
//! token, accepting it (by registering or, logged in, by joining), listing, revoking and resending, and the
//! daily job that reminds and cleans up.
//!
//! An invite is stored before its mail is sent and its delivery state is recorded after, so a failing
//! mail service loses nothing: the invite stays, says it was not mailed, and can be resent. Acceptance is
//! one transaction conditioned on the invite still being pending and valid, so a token works once.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::caller::Caller;
use crate::domain::audit::Auditor;
use crate::domain::teams::TeamMembershipInput;
use crate::error::{DomainError, refusals};
use crate::ids::sha256_hex;
use crate::mail::{self, MailError};
use crate::model::{AuditTarget, DeliveryState, Invite, InviteState, Organization, Team, User};
use crate::store::org::OrgStore;
use crate::store::quotas::{self, QuotaExceeded};
use crate::{ids, validate};

refusals! {
    /// Why a request about invites was refused.
    pub(crate) enum InviteError {
        InvalidToken => NotFound, "invite.notFound",
            "This invite link is not valid; check that it was copied completely";
        NotFound => NotFound, "invite.notFound", "There is no such invite in your organization";
        Used => Gone, "invite.used", "This invite was already used; ask for a new one";
        Revoked => Gone, "invite.revoked", "This invite was revoked; ask for a new one";
        Expired => Gone, "invite.expired", "This invite has expired; ask for a new one";
        RightsNotAllowed => Forbidden, "invite.rights.notAllowed", "Only admins invite admins or dataset managers";
        RightsNoLongerYours => Forbidden, "invite.rights.notAllowed",
            "This invite grants more than you may give now; send a new one instead";
        NoRecipients => Invalid, "invite.recipients.empty", "Name at least one recipient";
        TooManyRecipients { given: usize } => Invalid, "invite.recipients.tooMany",
            "At most {MAX_RECIPIENTS} recipients can be invited at once; {given} were given";
        NoSuchTeam { team: String } => Invalid, "team.notFound", "There is no team {team} in your organization";
        TeamNotManaged { team: String } => Forbidden, "invite.team.notAllowed", "You do not manage the team {team}";
        StateFilterInvalid => Invalid, "request.query.invalid", "state must be pending, accepted, revoked or expired";
        EndedAlready { state: &'static str } => Conflict, "invite.ended", "This invite is {state} already";
        EndedSendNew { state: &'static str } => Conflict, "invite.ended",
            "This invite is {state}; send a new one instead";
        ChangedMeanwhile => Conflict, "request.conflict", "The invite changed meanwhile; please retry";
        ChangedOrInvitedAgain => Conflict, "request.conflict",
            "The invite changed meanwhile, or the address was invited again; please reload";
        OrganizationChangedMeanwhile => Conflict, "request.conflict",
            "The organization changed meanwhile; please retry";
        ResendTooSoon { minutes: u64, wait: u64 } => TooMany, "invite.resend.tooSoon",
            "This invite was mailed moments ago; it can be resent in {minutes} minute(s)", retry_after = wait;
        OrganizationQuota { per_day: u32 } => TooMany, "invite.quota.organization",
            "Not mailed: your organization has sent its {per_day} invite mails for today; resend it tomorrow",
            retry_after = 3600;
        RecipientQuota { per_day: u32 } => TooMany, "invite.quota.recipient",
            "Not mailed: this address has received {per_day} invite mails from your organization today; resend it tomorrow",
            retry_after = 3600;
        EmailMismatch { invited: String } => Invalid, "auth.register.inviteEmailMismatch",
            "This invitation was sent to {invited}: register with that address, or ask for an invitation to yours";
        SenderRightsChanged => Gone, "invite.senderRightsChanged",
            "This invite no longer works: the person who sent it can no longer give what it grants; ask for a new one";
        AlreadyMember { organization: String } => Conflict, "organization.alreadyMember",
            "You are already a member of {organization}";
    }
}

mod daily;
mod joining;
mod mails;
mod manage;
mod rules;

use mails::invite_mail;
use rules::{check_request, cleanup_at};

pub use daily::MaintenanceReport;
pub(crate) use daily::remind_and_clean_up;
pub(crate) use joining::{check_invited_address, register_with_invite};
pub use joining::{join_organization, usable_invite};
pub use manage::{list, resend, revoke};

/// Most recipients one request may invite.
pub(crate) const MAX_RECIPIENTS: usize = 100;

/// Mails sent at once while inviting.
const MAIL_CONCURRENCY: usize = 8;

/// `POST /auth/sendInvites`, as WEBKNOSSOS takes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendInvites {
    pub recipients: Vec<String>,
    #[serde(default = "default_true")]
    pub auto_activate: bool,
    #[serde(default)]
    pub is_admin: bool,
    #[serde(default)]
    pub is_dataset_manager: bool,
    #[serde(default)]
    pub team_memberships: Vec<TeamMembershipInput>,
}

fn default_true() -> bool {
    true
}

/// What happened for one recipient.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RecipientResult {
    pub email: String,
    /// `invited`, `notMailed` (stored, mail failed: resend it), `notStored` (storing failed, nothing was
    /// written or mailed for this recipient: send again), `invalid`, `duplicate`, `alreadyMember`,
    /// `alreadyInvited`.
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invite_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl RecipientResult {
    fn refused(email: &str, status: &'static str, error: String) -> Self {
        RecipientResult { email: email.to_owned(), status, invite_id: None, error: Some(error) }
    }
}

/// Sends one invite mail, within the daily mail quotas, and records the outcome on the invite (a mail
/// over a quota is not sent: the invite stays, marked failed, to be resent another day). Returns whether
/// it was mailed.
async fn deliver(
    app: &App,
    store: &OrgStore<'_>,
    invite: &Invite,
    organization: &Organization,
) -> Result<(bool, Invite), DomainError> {
    let limits = &app.config.mail_limits;
    let counted = quotas::count_mail(
        &app.db,
        &organization.id,
        &invite.email,
        limits.per_organization_per_day,
        limits.per_recipient_per_day,
        ids::now_seconds(),
    )
    .await;
    let outcome: Result<(), MailError> = match counted {
        // The invite's hash was just made under the current key, so its link can always be derived.
        Ok(None) => match invite_mail(app, invite, organization, false) {
            Ok(Some(message)) => mail::send(app, &message).await,
            Ok(None) => Err(DomainError::internal().into()),
            Err(err) => Err(err.into()),
        },
        Ok(Some(QuotaExceeded::Organization)) => {
            Err(DomainError::from(InviteError::OrganizationQuota { per_day: limits.per_organization_per_day }).into())
        }
        Ok(Some(QuotaExceeded::Recipient)) => {
            Err(DomainError::from(InviteError::RecipientQuota { per_day: limits.per_recipient_per_day }).into())
        }
        Err(err) => Err(err.into()),
    };
    let mut recorded = invite.clone();
    match outcome {
        Ok(()) => {
            recorded.delivery = DeliveryState::Queued;
            recorded.delivery_error = None;
        }
        Err(err) => {
            // An address SES reported as undeliverable is not mailed; anything else can be resent.
            recorded.delivery =
                if err == MailError::Undeliverable { DeliveryState::Undeliverable } else { DeliveryState::Failed };
            recorded.delivery_error = Some(DomainError::from(err).message);
        }
    }
    let mailed = recorded.delivery == DeliveryState::Queued;
    // If the invite changed meanwhile (accepted, revoked, resent), its own state is newer: keep it. If the
    // outcome cannot be recorded, the mail (or its failure) still happened: that is the answer, and the
    // invite stays `sending` (pending, so it can be resent).
    if let Err(err) = store.replace_pending_invite(invite, &recorded, None).await {
        tracing::warn!(invite = %invite.id, mailed, error = %err, "the delivery state of an invite was not recorded");
        let mut unrecorded = invite.clone();
        unrecorded.delivery_error = recorded.delivery_error.clone();
        return Ok((mailed, unrecorded));
    }
    Ok((mailed, recorded))
}

/// Sends invites: admins and team managers; team roles only for teams the sender manages (admins: all);
/// admin and dataset manager rights only from admins.
pub async fn send_invites(
    app: &App,
    caller: &Caller,
    request: SendInvites,
) -> Result<Vec<RecipientResult>, DomainError> {
    let sender = &caller.user;
    let store = caller.store(app);
    let existing: HashMap<String, Team> = if request.team_memberships.is_empty() {
        HashMap::new()
    } else {
        store.teams().await?.into_iter().filter(|t| !t.deleting).map(|t| (t.id.clone(), t)).collect()
    };
    let teams = check_request(sender, &request, &existing)?;

    // Validate every address first; each gets its own answer.
    let mut results: Vec<Option<RecipientResult>> = Vec::with_capacity(request.recipients.len());
    let mut valid: Vec<(usize, String)> = Vec::new();
    let mut seen = BTreeSet::new();
    for (index, raw) in request.recipients.iter().enumerate() {
        match validate::email(raw) {
            Err(err) => results.push(Some(RecipientResult::refused(raw, "invalid", err.message()))),
            Ok(email) if !seen.insert(email.clone()) => results.push(Some(RecipientResult::refused(
                &email,
                "duplicate",
                "This address is listed more than once".into(),
            ))),
            Ok(email) => {
                results.push(None);
                valid.push((index, email));
            }
        }
    }
    // Addresses whose account is already in the organization (two BatchGetItems for all of them).
    let addresses: Vec<&str> = valid.iter().map(|(_, email)| email.as_str()).collect();
    let members = crate::store::reads::member_addresses(&app.db, &caller.organization.id, &addresses).await?;

    let now = ids::now_millis();
    let auditor = Auditor::caller(app, caller);
    let mut created: Vec<(usize, Invite)> = Vec::new();
    // Set once storing failed: the remaining recipients are not tried (the store is failing), and say so.
    let mut store_failure: Option<String> = None;
    for (index, email) in valid {
        if let Some(failure) = &store_failure {
            results[index] = Some(RecipientResult::refused(
                &email,
                "notStored",
                format!("Not invited: {failure}; send the invite again"),
            ));
            continue;
        }
        if members.contains(&email) {
            results[index] = Some(RecipientResult::refused(
                &email,
                "alreadyMember",
                "This address already belongs to a member of your organization".into(),
            ));
            continue;
        }
        let grants = InviteGrants {
            auto_activate: request.auto_activate,
            is_admin: request.is_admin,
            is_dataset_manager: request.is_dataset_manager,
            teams: teams.clone(),
            makes_owner: false,
        };
        let invite = new_invite(app, &caller.organization.id, &email, sender, grants, now)?;
        // Each invite is stored with its guard in one transaction: either both are there, or neither.
        let entry =
            auditor.entry(&invite.organization, "invite.sent", vec![AuditTarget::invite(&invite)], grants_of(&invite));
        let stored = match store.create_invite(&invite, now, &entry).await {
            Ok(stored) => stored,
            Err(err) => {
                tracing::warn!(error = %err, "storing an invite failed; the remaining recipients are not invited");
                let err = DomainError::from(err);
                results[index] = Some(RecipientResult::refused(
                    &email,
                    "notStored",
                    format!("Not invited: {}; send the invite again", err.message),
                ));
                store_failure = Some(err.message);
                continue;
            }
        };
        if stored {
            created.push((index, invite));
        } else {
            results[index] = Some(RecipientResult::refused(
                &email,
                "alreadyInvited",
                "This address has a valid invite already; resend it from the list of invites".into(),
            ));
        }
    }
    // Mail them, a few at a time; each outcome is recorded on its invite.
    for chunk in created.chunks(MAIL_CONCURRENCY) {
        let deliveries = chunk.iter().map(|(_, invite)| deliver(app, &store, invite, &caller.organization));
        for ((index, invite), outcome) in chunk.iter().zip(futures_util::future::join_all(deliveries).await) {
            let (mailed, recorded) = outcome?;
            results[*index] = Some(RecipientResult {
                email: invite.email.clone(),
                status: if mailed { "invited" } else { "notMailed" },
                invite_id: Some(invite.id.clone()),
                error: recorded.delivery_error,
            });
        }
    }
    Ok(results.into_iter().map(|r| r.expect("every recipient has a result")).collect())
}

/// The invite that makes `email` the owner (and an admin) of `organization`, made by an instance operator
/// without an owner: stored with its guard, then mailed. Returns it with whether it was mailed (if not, it
/// can be resent like any invite).
pub(crate) async fn invite_owner(
    app: &App,
    organization: &Organization,
    email: &str,
    sender: &User,
    auditor: &Auditor,
) -> Result<(Invite, bool), DomainError> {
    let store = OrgStore::new(&app.db, &organization.id);
    let now = ids::now_millis();
    let grants = InviteGrants {
        auto_activate: true,
        is_admin: true,
        is_dataset_manager: false,
        teams: BTreeMap::new(),
        makes_owner: true,
    };
    let invite = new_invite(app, &organization.id, email, sender, grants, now)?;
    let entry =
        auditor.entry(&invite.organization, "invite.sent", vec![AuditTarget::invite(&invite)], grants_of(&invite));
    if !store.create_invite(&invite, now, &entry).await? {
        return Err(DomainError::internal());
    }
    let (mailed, recorded) = deliver(app, &store, &invite, organization).await?;
    Ok((recorded, mailed))
}

/// What accepting an invite gives.
struct InviteGrants {
    auto_activate: bool,
    is_admin: bool,
    is_dataset_manager: bool,
    teams: BTreeMap<String, bool>,
    makes_owner: bool,
}

/// A new pending invite of `organization` for `email`, sent by `sender` now, valid for the configured
/// lifetime, with its token's hash.
fn new_invite(
    app: &App,
    organization: &str,
    email: &str,
    sender: &User,
    grants: InviteGrants,
    now: i64,
) -> Result<Invite, DomainError> {
    let valid_until = now + app.config.invite_lifetime.as_millis() as i64;
    with_token_hash(
        app,
        Invite {
            id: ids::new_time_ordered_id(),
            organization: organization.to_owned(),
            email: email.to_owned(),
            nonce: ids::new_secret(),
            token_hash: String::new(),
            state: InviteState::Pending,
            auto_activate: grants.auto_activate,
            is_admin: grants.is_admin,
            is_dataset_manager: grants.is_dataset_manager,
            teams: grants.teams,
            makes_owner: grants.makes_owner,
            sent_by: sender.id.clone(),
            sent_by_name: format!("{} {}", sender.first_name, sender.last_name),
            created: now,
            valid_until,
            delivery: DeliveryState::Sending,
            delivery_error: None,
            reminded: false,
            accepted_by_user: None,
            accepted_by_email: None,
            ended: None,
            cleanup_at: cleanup_at(valid_until, app.config.invite_retention),
        },
    )
}

/// What an invite grants, as its audit entries record it.
pub(super) fn grants_of(invite: &Invite) -> serde_json::Value {
    serde_json::json!({
        "email": invite.email,
        "autoActivate": invite.auto_activate,
        "isAdmin": invite.is_admin,
        "isDatasetManager": invite.is_dataset_manager,
        "teams": invite.teams,
        "makesOwner": invite.makes_owner,
        "validUntil": invite.valid_until,
    })
}

fn with_token_hash(app: &App, mut invite: Invite) -> Result<Invite, DomainError> {
    invite.token_hash = sha256_hex(&app.keys.invite_token(&invite.organization, &invite.id, &invite.nonce)?);
    Ok(invite)
}
