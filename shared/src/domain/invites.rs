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
use crate::auth::{Caller, parse_invite_token, sha256_hex};
use crate::domain::teams::TeamMembershipInput;
use crate::error::ApiError;
use crate::mail::{self, Mail};
use crate::model::{Account, DeliveryState, EmailGuard, Invite, InviteState, Key, Organization, Team, TeamRole, User};
use crate::paging::{Page, PageRequest};
use crate::store::org::{OrgStore, UserWrite, UserWriteConflict, UserWriteExtras};
use crate::store::quotas::{self, QuotaExceeded};
use crate::store::{TransactError, maintenance};
use crate::{ids, validate};

/// Most recipients one request may invite.
pub const MAX_RECIPIENTS: usize = 100;
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

fn cleanup_at(valid_until_millis: i64, retention: std::time::Duration) -> i64 {
    valid_until_millis / 1000 + retention.as_secs() as i64
}

/// The invite mail (HTML and text), naming the sender and the organization, with the link.
fn invite_mail(app: &App, invite: &Invite, organization: &Organization, reminder: bool) -> Mail {
    let token = app.keys.invite_token(&invite.organization, &invite.id, &invite.nonce);
    let link = format!("{}/invite/{token}", app.config.public_uri);
    let until = time_text(invite.valid_until);
    // Names are chosen by the sender: kept out of the subject, and quoted in the text.
    let (sender, name) = (&invite.sent_by_name, &organization.name);
    let (subject, opening) = if reminder {
        (
            "Reminder: your invitation to WEBKNOSSOS expires soon".to_owned(),
            format!(
                "\u{201c}{sender}\u{201d} invited you to join the organization \u{201c}{name}\u{201d} on WEBKNOSSOS; the invitation expires on {until}."
            ),
        )
    } else {
        (
            "You are invited to an organization on WEBKNOSSOS".to_owned(),
            format!(
                "\u{201c}{sender}\u{201d} invited you to join the organization \u{201c}{name}\u{201d} on WEBKNOSSOS. The invitation is valid until {until}."
            ),
        )
    };
    Mail::new(
        vec![invite.email.clone()],
        subject,
        &[
            "Hello,".to_owned(),
            opening,
            "Follow the link to create your account, or to join with the account you have.".to_owned(),
        ],
        Some(("Accept the invitation", &link)),
    )
}

/// A UTC date and time for mails.
fn time_text(millis: i64) -> String {
    let seconds = millis / 1000;
    let days = seconds.div_euclid(86_400);
    let (hour, minute) = (seconds.rem_euclid(86_400) / 3600, seconds.rem_euclid(3600) / 60);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02} UTC")
}

/// Sends one invite mail, within the daily mail quotas, and records the outcome on the invite (a mail
/// over a quota is not sent: the invite stays, marked failed, to be resent another day). Returns whether
/// it was mailed.
async fn deliver(
    app: &App,
    store: &OrgStore<'_>,
    invite: &Invite,
    organization: &Organization,
) -> Result<(bool, Invite), ApiError> {
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
    let outcome = match counted {
        Ok(None) => mail::send(app, &invite_mail(app, invite, organization, false)).await,
        Ok(Some(QuotaExceeded::Organization)) => Err(ApiError::too_many_requests(
            "invite.quota.organization",
            format!(
                "Not mailed: your organization has sent its {} invite mails for today; resend it tomorrow",
                limits.per_organization_per_day
            ),
            3600,
        )),
        Ok(Some(QuotaExceeded::Recipient)) => Err(ApiError::too_many_requests(
            "invite.quota.recipient",
            format!(
                "Not mailed: this address has received {} invite mails today; resend it tomorrow",
                limits.per_recipient_per_day
            ),
            3600,
        )),
        Err(err) => Err(err),
    };
    let mut recorded = invite.clone();
    match &outcome {
        Ok(()) => {
            recorded.delivery = DeliveryState::Sent;
            recorded.delivery_error = None;
        }
        Err(err) => {
            recorded.delivery = DeliveryState::Failed;
            recorded.delivery_error = Some(err.message.clone());
        }
    }
    // If the invite changed meanwhile (accepted, revoked, resent), its own state is newer: keep it. If the
    // outcome cannot be recorded, the mail (or its failure) still happened: that is the answer, and the
    // invite stays `sending` (pending, so it can be resent).
    if let Err(err) = store.replace_pending_invite(invite, &recorded).await {
        tracing::warn!(invite = %invite.id, mailed = outcome.is_ok(), error = %err, "the delivery state of an invite was not recorded");
        let mut unrecorded = invite.clone();
        unrecorded.delivery_error = recorded.delivery_error.clone();
        return Ok((outcome.is_ok(), unrecorded));
    }
    Ok((outcome.is_ok(), recorded))
}

/// Sends invites: admins and team managers; team roles only for teams the sender manages (admins: all);
/// admin and dataset manager rights only from admins.
pub async fn send_invites(app: &App, caller: &Caller, request: SendInvites) -> Result<Vec<RecipientResult>, ApiError> {
    let sender = &caller.user;
    if (request.is_admin || request.is_dataset_manager) && !sender.is_admin {
        return Err(ApiError::forbidden("invite.rights.notAllowed", "Only admins invite admins or dataset managers"));
    }
    if request.recipients.is_empty() {
        return Err(ApiError::bad_request("invite.recipients.empty", "Name at least one recipient"));
    }
    if request.recipients.len() > MAX_RECIPIENTS {
        return Err(ApiError::bad_request(
            "invite.recipients.tooMany",
            format!(
                "At most {MAX_RECIPIENTS} recipients can be invited at once; {} were given",
                request.recipients.len()
            ),
        ));
    }
    let store = caller.store(app);
    let mut teams: BTreeMap<String, bool> = BTreeMap::new();
    if !request.team_memberships.is_empty() {
        let existing: HashMap<String, Team> =
            store.teams().await?.into_iter().filter(|t| !t.deleting).map(|t| (t.id.clone(), t)).collect();
        for membership in &request.team_memberships {
            if !existing.contains_key(&membership.id) {
                return Err(ApiError::bad_request(
                    "team.notFound",
                    format!("There is no team {} in your organization", membership.id),
                ));
            }
            if !sender.is_admin && !sender.is_team_manager_of(&membership.id) {
                return Err(ApiError::forbidden(
                    "invite.team.notAllowed",
                    format!("You do not manage the team {}", existing[&membership.id].name),
                ));
            }
            teams.insert(membership.id.clone(), membership.is_team_manager);
        }
    }

    // Validate every address first; each gets its own answer.
    let mut results: Vec<Option<RecipientResult>> = Vec::with_capacity(request.recipients.len());
    let mut valid: Vec<(usize, String)> = Vec::new();
    let mut seen = BTreeSet::new();
    for (index, raw) in request.recipients.iter().enumerate() {
        match validate::email(raw) {
            Err(err) => results.push(Some(RecipientResult::refused(raw, "invalid", err.message))),
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
    let guards = app.db.batch_get(&valid.iter().map(|(_, e)| Key::email_guard(e)).collect::<Vec<_>>()).await?;
    let account_keys: Vec<Key> = guards
        .values()
        .filter_map(|item| crate::store::from_item::<EmailGuard>(item.clone()).ok())
        .map(|g| Key::account(&g.account_id))
        .collect();
    let accounts = app.db.batch_get(&account_keys).await?;
    let members: BTreeSet<String> = accounts
        .into_values()
        .filter_map(|item| crate::store::from_item::<Account>(item).ok())
        .filter(|a| a.identities.contains_key(&caller.organization.id))
        .map(|a| a.email)
        .collect();

    let now = ids::now_millis();
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
        let invite = new_invite(app, &caller.organization.id, &email, sender, grants, now);
        // Each invite is stored with its guard in one transaction: either both are there, or neither.
        let stored = match store.create_invite(&invite, now).await {
            Ok(stored) => stored,
            Err(err) => {
                tracing::warn!(error = %err, "storing an invite failed; the remaining recipients are not invited");
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
pub async fn invite_owner(
    app: &App,
    organization: &Organization,
    email: &str,
    sender: &User,
) -> Result<(Invite, bool), ApiError> {
    let store = OrgStore::new(&app.db, &organization.id);
    let now = ids::now_millis();
    let grants = InviteGrants {
        auto_activate: true,
        is_admin: true,
        is_dataset_manager: false,
        teams: BTreeMap::new(),
        makes_owner: true,
    };
    let invite = new_invite(app, &organization.id, email, sender, grants, now);
    if !store.create_invite(&invite, now).await? {
        return Err(ApiError::internal());
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
fn new_invite(app: &App, organization: &str, email: &str, sender: &User, grants: InviteGrants, now: i64) -> Invite {
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

fn with_token_hash(app: &App, mut invite: Invite) -> Invite {
    invite.token_hash = sha256_hex(&app.keys.invite_token(&invite.organization, &invite.id, &invite.nonce));
    invite
}

fn invalid_token() -> ApiError {
    ApiError::not_found("invite.notFound", "This invite link is not valid; check that it was copied completely")
}

/// Why an invite that exists cannot be used.
fn unusable(invite: &Invite, now: i64) -> Option<ApiError> {
    let (code, text) = match invite.shown_state(now) {
        "pending" => return None,
        "accepted" => ("invite.used", "This invite was already used; ask for a new one"),
        "revoked" => ("invite.revoked", "This invite was revoked; ask for a new one"),
        _ => ("invite.expired", "This invite has expired; ask for a new one"),
    };
    Some(ApiError::new(410, code, text))
}

/// The invite a token belongs to, whatever its state; `None` for an unknown or forged token.
async fn invite_by_token(app: &App, token: &str) -> Result<Option<Invite>, ApiError> {
    let Some((organization, invite_id)) = parse_invite_token(token.trim()) else {
        return Ok(None);
    };
    let Some(invite) = OrgStore::new(&app.db, &organization).invite(&invite_id).await? else {
        return Ok(None);
    };
    let matches = aws_lc_rs::constant_time::verify_slices_are_equal(
        sha256_hex(token.trim()).as_bytes(),
        invite.token_hash.as_bytes(),
    )
    .is_ok();
    Ok(matches.then_some(invite))
}

/// A usable invite for `token`, with its organization: 404 for unknown tokens, 410 for used, revoked or
/// expired ones (whether or not the cleanup has run).
pub async fn usable_invite(app: &App, token: &str) -> Result<(Invite, Organization), ApiError> {
    let invite = invite_by_token(app, token).await?.ok_or_else(invalid_token)?;
    if let Some(err) = unusable(&invite, ids::now_millis()) {
        return Err(err);
    }
    // The organization, and the sender (who must still be able to grant what the invite gives), in one
    // read. An owner invite's sender is an instance operator, of another organization.
    let organization_key = Key::organization(&invite.organization);
    let sender_key = Key::user(&invite.organization, &invite.sent_by);
    let keys = if invite.makes_owner {
        vec![organization_key.clone()]
    } else {
        vec![organization_key.clone(), sender_key.clone()]
    };
    let mut items = app.db.batch_get(&keys).await?;
    let organization: Organization =
        items.remove(&organization_key).map(crate::store::from_item).transpose()?.ok_or_else(invalid_token)?;
    if organization.is_being_deleted() {
        return Err(crate::store::org::organization_deleting());
    }
    if !invite.makes_owner {
        let sender: Option<User> = items.remove(&sender_key).map(crate::store::from_item).transpose()?;
        if !sender.is_some_and(|sender| sender_may_grant(&sender, &invite)) {
            return Err(ApiError::new(
                410,
                "invite.senderRightsChanged",
                "This invite no longer works: the person who sent it can no longer give what it grants; ask for a new one",
            ));
        }
    }
    Ok((invite, organization))
}

/// Whether `sender` may (still) give what `invite` grants: an active admin anything; an active team
/// manager memberships of the teams it manages, without admin or dataset manager rights.
pub fn sender_may_grant(sender: &User, invite: &Invite) -> bool {
    if sender.is_deactivated || !sender.is_team_manager_or_admin() {
        return false;
    }
    if sender.is_admin {
        return true;
    }
    !invite.is_admin && !invite.is_dataset_manager && invite.teams.keys().all(|team| sender.is_team_manager_of(team))
}

/// The identity an invite gives: the organization team plus the invite's teams (those still there),
/// roles and flags; active if the invite says so.
async fn invited_user(
    store: &OrgStore<'_>,
    invite: &Invite,
    organization: &Organization,
    account: &Account,
    first_name: &str,
    last_name: &str,
    now: i64,
) -> Result<User, ApiError> {
    let existing: HashMap<String, Team> =
        store.teams().await?.into_iter().filter(|t| !t.deleting).map(|t| (t.id.clone(), t)).collect();
    let mut teams = BTreeMap::new();
    if let Some(team) = existing.get(&organization.organization_team_id) {
        teams.insert(team.id.clone(), TeamRole { name: team.name.clone(), is_team_manager: false });
    }
    for (team_id, is_team_manager) in &invite.teams {
        if let Some(team) = existing.get(team_id) {
            teams.insert(team_id.clone(), TeamRole { name: team.name.clone(), is_team_manager: *is_team_manager });
        }
    }
    Ok(User {
        id: ids::new_object_id(),
        organization: organization.id.clone(),
        account_id: account.id.clone(),
        email: account.email.clone(),
        is_email_verified: account.email_verified,
        first_name: first_name.to_owned(),
        last_name: last_name.to_owned(),
        is_admin: invite.is_admin,
        is_organization_owner: invite.makes_owner,
        is_dataset_manager: invite.is_dataset_manager,
        is_deactivated: !invite.auto_activate,
        teams,
        experiences: BTreeMap::new(),
        last_activity: now,
        created: now,
        session_epoch: 0,
        version: 0,
        may_delete_organization: false,
    })
}

fn accepted(invite: &Invite, user: &User, now: i64, retention: std::time::Duration) -> Invite {
    Invite {
        state: InviteState::Accepted,
        accepted_by_user: Some(user.id.clone()),
        accepted_by_email: Some(user.email.clone()),
        ended: Some(now),
        cleanup_at: cleanup_at(now, retention),
        ..invite.clone()
    }
}

/// The identity an invite creates, written with the invite's acceptance in one transaction; `account`
/// items (a new account, or the existing account's new organization) come first in `leading`.
async fn join_with_invite(
    app: &App,
    invite: &Invite,
    organization: &Organization,
    leading: Vec<aws_sdk_dynamodb::types::TransactWriteItem>,
    user: User,
) -> Result<User, JoinError> {
    let store = OrgStore::new(&app.db, &organization.id);
    let now = ids::now_millis();
    let mut user = user;
    for _ in 0..2 {
        let extras = UserWriteExtras {
            member_delta: 1,
            active_user_delta: i64::from(user.is_active()),
            claim_ownership: invite.makes_owner,
            ..UserWriteExtras::default()
        };
        let (user_items, meanings) =
            store.user_write_items(&[UserWrite { before: None, after: user.clone() }], &extras);
        let mut items = leading.clone();
        let leading_count = items.len();
        items.extend(user_items);
        let accept_at = items.len();
        items.extend(store.accept_invite_items(
            invite,
            &accepted(invite, &user, now, app.config.invite_retention),
            now,
        ));
        match app.db.transact(items).await {
            Ok(()) => return Ok(user),
            Err(TransactError::ConditionFailed { failed }) => {
                if failed[..leading_count].iter().any(|f| *f) {
                    return Err(JoinError::Leading);
                }
                if failed[accept_at..].iter().any(|f| *f) {
                    // Used, revoked or expired meanwhile: say which.
                    let current = store.invite(&invite.id).await?.ok_or_else(invalid_token)?;
                    return Err(JoinError::Api(unusable(&current, now).unwrap_or_else(|| {
                        ApiError::conflict("request.conflict", "The invite changed meanwhile; please retry")
                    })));
                }
                let over_limit = failed[leading_count..accept_at]
                    .iter()
                    .zip(&meanings)
                    .any(|(f, m)| *f && *m == UserWriteConflict::IncludedUsersExceeded);
                // The member counter's condition also refuses an organization being deleted.
                if over_limit && !store.accepts_members().await? {
                    return Err(JoinError::Api(crate::store::org::organization_deleting()));
                }
                if over_limit && user.is_active() {
                    // The plan's users are taken: join deactivated, for an admin to decide.
                    user.is_deactivated = true;
                    continue;
                }
                return Err(JoinError::Api(ApiError::conflict(
                    "request.conflict",
                    "The organization changed meanwhile; please retry",
                )));
            }
            Err(TransactError::Api(err)) => return Err(JoinError::Api(err)),
        }
    }
    Err(JoinError::Api(ApiError::conflict("request.conflict", "The organization changed meanwhile; please retry")))
}

enum JoinError {
    /// A condition of the leading items (the account's) failed.
    Leading,
    Api(ApiError),
}

impl From<ApiError> for JoinError {
    fn from(err: ApiError) -> Self {
        JoinError::Api(err)
    }
}

async fn notify_join(app: &App, organization: &Organization, invite: &Invite, user: &User) {
    let how = if invite.email == user.email {
        format!("joined by invitation from {}", invite.sent_by_name)
    } else {
        format!("joined by the invitation {} sent to {}", invite.sent_by_name, invite.email)
    };
    let store = OrgStore::new(&app.db, &organization.id);
    let limit_reached = invite.auto_activate && !user.is_active();
    mail::notify(
        app,
        crate::domain::signup::new_member_mails(app, &store, organization, user, &how, limit_reached).await,
    )
    .await;
}

/// `POST /auth/register` with `inviteToken`: a new account in the invite's organization.
pub async fn register_with_invite(
    app: &App,
    token: &str,
    email: String,
    password_hash: String,
    first_name: String,
    last_name: String,
) -> Result<(User, Organization), ApiError> {
    let (invite, organization) = usable_invite(app, token).await?;
    let now = ids::now_millis();
    let mut account = Account {
        id: ids::new_object_id(),
        email: email.clone(),
        password_hash,
        identities: BTreeMap::new(),
        last_used_organization: Some(organization.id.clone()),
        created: now,
        // The invite was mailed to this address: signing up with it proves it.
        email_verified: invite.email == email,
        email_set_at: None,
    };
    let store = OrgStore::new(&app.db, &organization.id);
    let user = invited_user(&store, &invite, &organization, &account, &first_name, &last_name, now).await?;
    account.identities.insert(organization.id.clone(), user.id.clone());
    let leading = vec![
        app.db.put_new(&EmailGuard { email: email.clone(), account_id: account.id.clone() }),
        app.db.put_new(&account),
    ];
    match join_with_invite(app, &invite, &organization, leading, user).await {
        Ok(user) => {
            notify_join(app, &organization, &invite, &user).await;
            if app.config.email_verification.activated && !user.is_email_verified {
                crate::domain::credentials::send_verification_best_effort(app, &user.account_id, &user.email).await;
            }
            Ok((user, organization))
        }
        Err(JoinError::Leading) => Err(crate::domain::credentials::address_taken(app, &email).await),
        Err(JoinError::Api(err)) => Err(err),
    }
}

/// `POST /auth/joinOrganization/{token}`: the caller's account joins the invite's organization with a new
/// identity (named like the caller's current one).
pub async fn join_organization(app: &App, caller: &Caller, token: &str) -> Result<User, ApiError> {
    let (invite, organization) = usable_invite(app, token).await?;
    let account = app
        .db
        .get::<Account>(&Key::account(&caller.user.account_id))
        .await?
        .ok_or_else(ApiError::invalid_credential)?;
    let already = || {
        ApiError::conflict("organization.alreadyMember", format!("You are already a member of {}", organization.name))
    };
    if account.identities.contains_key(&organization.id) {
        return Err(already());
    }
    let store = OrgStore::new(&app.db, &organization.id);
    let user = invited_user(
        &store,
        &invite,
        &organization,
        &account,
        &caller.user.first_name,
        &caller.user.last_name,
        ids::now_millis(),
    )
    .await?;
    // Claims the organization in the account's identity map: a second join finds it taken.
    let leading = vec![app.db.update(
        &Key::account(&account.id),
        "SET identities.#organization = :user",
        if user.is_email_verified {
            "attribute_exists(PK) AND attribute_not_exists(identities.#organization) AND email = :email AND emailVerified = :verified"
        } else {
            "attribute_exists(PK) AND attribute_not_exists(identities.#organization) AND email = :email AND (attribute_not_exists(emailVerified) OR emailVerified = :verified)"
        }
        .into(),
        &[("#organization", organization.id.as_str())],
        vec![
            (":user", crate::store::s(&user.id)),
            (":email", crate::store::s(&user.email)),
            (":verified", aws_sdk_dynamodb::types::AttributeValue::Bool(user.is_email_verified)),
        ],
    )];
    match join_with_invite(app, &invite, &organization, leading, user).await {
        Ok(user) => {
            notify_join(app, &organization, &invite, &user).await;
            Ok(user)
        }
        Err(JoinError::Leading) => Err(already()),
        Err(JoinError::Api(err)) => Err(err),
    }
}

/// Only admins and the team managers who sent it manage an invite.
fn may_manage(caller: &User, invite: &Invite) -> bool {
    caller.is_admin || (invite.sent_by == caller.id && caller.is_team_manager_or_admin())
}

fn invite_not_found() -> ApiError {
    ApiError::not_found("invite.notFound", "There is no such invite in your organization")
}

/// A page of the organization's invites (admins: all; team managers: those they sent), newest first,
/// optionally of one shown state.
pub async fn list(
    app: &App,
    caller: &Caller,
    state: Option<&str>,
    request: &PageRequest,
) -> Result<Page<Invite>, ApiError> {
    let (limit, after) = (request.limit, request.after_id()?);
    if let Some(state) = state
        && !["pending", "accepted", "revoked", "expired"].contains(&state)
    {
        return Err(ApiError::bad_request(
            "request.query.invalid",
            "state must be pending, accepted, revoked or expired",
        ));
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

async fn managed_invite(app: &App, caller: &Caller, invite_id: &str) -> Result<Invite, ApiError> {
    caller.store(app).invite(invite_id).await?.filter(|i| may_manage(&caller.user, i)).ok_or_else(invite_not_found)
}

/// Revokes a pending (or expired) invite: its link stops working at once; the record stays listed.
pub async fn revoke(app: &App, caller: &Caller, invite_id: &str) -> Result<Invite, ApiError> {
    let invite = managed_invite(app, caller, invite_id).await?;
    if invite.state != InviteState::Pending {
        return Err(ApiError::conflict(
            "invite.ended",
            format!("This invite is {} already", invite.shown_state(ids::now_millis())),
        ));
    }
    let now = ids::now_millis();
    let revoked = Invite {
        state: InviteState::Revoked,
        ended: Some(now),
        cleanup_at: cleanup_at(now, app.config.invite_retention),
        ..invite.clone()
    };
    if !caller.store(app).replace_pending_invite(&invite, &revoked).await? {
        return Err(ApiError::conflict("request.conflict", "The invite changed meanwhile; please retry"));
    }
    Ok(revoked)
}

/// Resends a pending or expired invite with a fresh token and expiry (the old link stops working).
pub async fn resend(app: &App, caller: &Caller, invite_id: &str) -> Result<(Invite, bool), ApiError> {
    let invite = managed_invite(app, caller, invite_id).await?;
    if invite.state != InviteState::Pending {
        return Err(ApiError::conflict(
            "invite.ended",
            format!("This invite is {}; send a new one instead", invite.shown_state(ids::now_millis())),
        ));
    }
    if !invite.makes_owner && !sender_may_grant(&caller.user, &invite) {
        return Err(ApiError::forbidden(
            "invite.rights.notAllowed",
            "This invite grants more than you may give now; send a new one instead",
        ));
    }
    let now = ids::now_millis();
    if let Some(wait) = resend_wait(&invite, app.config.invite_lifetime, app.config.mail_limits.resend_cooldown, now) {
        return Err(ApiError::too_many_requests(
            "invite.resend.tooSoon",
            format!("This invite was mailed moments ago; it can be resent in {} minute(s)", wait.div_ceil(60)),
            wait,
        ));
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
    );
    let store = caller.store(app);
    if !store.replace_pending_invite(&invite, &renewed).await? {
        return Err(ApiError::conflict(
            "request.conflict",
            "The invite changed meanwhile, or the address was invited again; please reload",
        ));
    }
    let (mailed, recorded) = deliver(app, &store, &renewed, &caller.organization).await?;
    Ok((recorded, mailed))
}

/// Seconds until a delivered invite may be mailed again (none: now). It was last (re)sent when its
/// validity began; one whose mail failed may be resent at once.
pub fn resend_wait(
    invite: &Invite,
    lifetime: std::time::Duration,
    cooldown: std::time::Duration,
    now_millis: i64,
) -> Option<u64> {
    if invite.delivery != DeliveryState::Sent {
        return None;
    }
    let sent_at = invite.valid_until - lifetime.as_millis() as i64;
    let ready_at = sent_at + cooldown.as_millis() as i64;
    (now_millis < ready_at).then(|| ((ready_at - now_millis) as u64).div_ceil(1000))
}

/// What one run of the daily job did.
#[derive(Debug, Default, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MaintenanceReport {
    pub reminded: usize,
    pub reminders_failed: usize,
    pub deleted: usize,
}

/// The daily job: reminds recipients whose invite expires within two days (once), and deletes invites
/// whose retention after expiry or use has passed. Works through the sparse indexes page by page, so any
/// number of invites is handled.
pub async fn maintain(app: &App, now_millis: i64) -> Result<MaintenanceReport, ApiError> {
    crate::declared_actions::scope_unless_scoped(
        (&crate::background::INVITE_MAINTENANCE).into(),
        maintain_in_scope(app, now_millis),
    )
    .await
}

async fn maintain_in_scope(app: &App, now_millis: i64) -> Result<MaintenanceReport, ApiError> {
    let now = now_millis / 1000;
    let mut report = MaintenanceReport::default();
    let mut organizations: HashMap<String, Option<Organization>> = HashMap::new();
    let mut start = None;
    loop {
        let (page, next) = maintenance::due_for_reminder(&app.db, now, start).await?;
        for invite in page.items {
            if invite.state != InviteState::Pending || invite.is_expired(now_millis) {
                maintenance::mark_reminded(&app.db, &invite).await?;
                continue;
            }
            if !organizations.contains_key(&invite.organization) {
                let organization = app.db.get::<Organization>(&Key::organization(&invite.organization)).await?;
                organizations.insert(invite.organization.clone(), organization);
            }
            // No reminders into an organization that is gone or being deleted (its purge removes the invite).
            let Some(organization) = organizations[&invite.organization].clone().filter(|o| !o.is_being_deleted())
            else {
                continue;
            };
            // Marked first: a crash between the two steps skips a reminder rather than sending two.
            if maintenance::mark_reminded(&app.db, &invite).await? {
                match mail::send(app, &invite_mail(app, &invite, &organization, true)).await {
                    Ok(()) => report.reminded += 1,
                    Err(err) => {
                        report.reminders_failed += 1;
                        tracing::warn!(invite = %invite.id, error = %err, "an invite reminder was not sent");
                    }
                }
            }
        }
        start = next;
        if start.is_none() {
            break;
        }
    }
    let mut start = None;
    loop {
        let (page, next) = maintenance::due_for_cleanup(&app.db, now, start).await?;
        for invite in page.items {
            if maintenance::delete_due_invite(&app.db, &invite, now).await? {
                report.deleted += 1;
            }
        }
        start = next;
        if start.is_none() {
            break;
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_invite() -> Invite {
        Invite {
            id: "i".into(),
            organization: "lab".into(),
            email: "a@x.org".into(),
            nonce: String::new(),
            token_hash: String::new(),
            state: InviteState::Pending,
            auto_activate: true,
            is_admin: false,
            is_dataset_manager: false,
            teams: BTreeMap::new(),
            makes_owner: false,
            sent_by: "s".into(),
            sent_by_name: "S".into(),
            created: 0,
            valid_until: 0,
            delivery: DeliveryState::Sending,
            delivery_error: None,
            reminded: false,
            accepted_by_user: None,
            accepted_by_email: None,
            ended: None,
            cleanup_at: 0,
        }
    }

    #[test]
    fn a_delivered_invite_waits_for_its_cooldown_before_a_resend() {
        let lifetime = std::time::Duration::from_secs(14 * 86_400);
        let cooldown = std::time::Duration::from_secs(600);
        let sent_at = 1_000_000_000_000;
        let invite =
            |delivery| Invite { delivery, valid_until: sent_at + lifetime.as_millis() as i64, ..sample_invite() };
        assert_eq!(resend_wait(&invite(DeliveryState::Sent), lifetime, cooldown, sent_at + 1_000), Some(599));
        assert_eq!(resend_wait(&invite(DeliveryState::Sent), lifetime, cooldown, sent_at + 600_000), None);
        assert_eq!(
            resend_wait(&invite(DeliveryState::Failed), lifetime, cooldown, sent_at + 1_000),
            None,
            "a failed mail may be resent at once"
        );
        assert_eq!(resend_wait(&invite(DeliveryState::Sent), lifetime, std::time::Duration::ZERO, sent_at), None);
    }

    #[test]
    fn only_senders_who_still_may_grant_an_invite_keep_it_working() {
        let team =
            |id: &str, manager: bool| (id.to_owned(), TeamRole { name: id.to_uppercase(), is_team_manager: manager });
        let manager = crate::fixtures::user("m", &[("red", true), ("blue", false)]);
        let into = |teams: &[&str]| Invite {
            teams: teams.iter().map(|t| (t.to_string(), false)).collect(),
            ..sample_invite()
        };
        assert!(sender_may_grant(&manager, &into(&["red"])));
        assert!(sender_may_grant(&manager, &into(&[])));
        assert!(!sender_may_grant(&manager, &into(&["blue"])), "not a manager of blue");
        assert!(!sender_may_grant(&manager, &Invite { is_dataset_manager: true, ..into(&["red"]) }));
        assert!(
            !sender_may_grant(
                &User { teams: BTreeMap::from([team("red", false)]), ..manager.clone() },
                &into(&["red"])
            ),
            "demoted"
        );
        assert!(!sender_may_grant(&User { is_deactivated: true, ..manager.clone() }, &into(&["red"])), "deactivated");
        let admin = User { is_admin: true, teams: BTreeMap::new(), ..manager };
        assert!(sender_may_grant(&admin, &Invite { is_admin: true, ..into(&["blue"]) }));
    }

    #[test]
    fn times_are_written_as_utc_dates() {
        assert_eq!(super::time_text(0), "1970-01-01 00:00 UTC");
        assert_eq!(super::time_text(1_795_362_781_461), "2026-11-22 15:53 UTC");
        assert_eq!(super::time_text(951_782_400_000), "2000-02-29 00:00 UTC");
    }
}
