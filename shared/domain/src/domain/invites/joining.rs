//! Accepting an invite: by registering a new account, or by joining with the account one is logged in with.

use crate::app::App;
use crate::caller::Caller;
use crate::domain::audit::Auditor;
use crate::domain::invites::InviteError;
use crate::domain::invites::grants_of;
use crate::domain::invites::rules::accepted;
use crate::domain::invites::rules::sender_may_grant;
use crate::domain::invites::rules::unusable;
use crate::error::DomainError;
use crate::ids;
use crate::ids::sha256_hex;
use crate::mail::{self};
use crate::model::{
    Account, AuditActor, AuditContext, AuditTarget, EmailGuard, Invite, Organization, Team, TeamRole, User,
};
use crate::store::accounts;
use crate::store::joins::{JoinConflict, JoinError, Joiner};
use crate::store::org::OrgStore;
use crate::tokens::parse_invite_token;
use serde_json::json;
use std::collections::{BTreeMap, HashMap};

/// The invite a token belongs to, whatever its state; `None` for an unknown or forged token.
pub(super) async fn invite_by_token(app: &App, token: &str) -> Result<Option<Invite>, DomainError> {
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

/// Refuses registering through `invite` at another address than the one it was mailed to (pure): the token
/// proves only that mailbox, so an account at another address would be someone's unproven claim (and could
/// squat an address whose owner signs up later). Joining with an existing account is not bound to it.
pub(crate) fn check_invited_address(invite: &Invite, email: &str) -> Result<(), DomainError> {
    if invite.email != email {
        return Err(InviteError::EmailMismatch { invited: invite.email.clone() }.into());
    }
    Ok(())
}

/// A usable invite for `token`, with its organization: 404 for unknown tokens, 410 for used, revoked or
/// expired ones (whether or not the cleanup has run).
pub async fn usable_invite(app: &App, token: &str) -> Result<(Invite, Organization), DomainError> {
    let invite = invite_by_token(app, token).await?.ok_or(InviteError::InvalidToken)?;
    if let Some(err) = unusable(&invite, ids::now_millis()) {
        return Err(err);
    }
    // The organization, and the sender (who must still be able to grant what the invite gives), in one
    // read. An owner invite's sender is an instance operator, of another organization.
    let sender_id = (!invite.makes_owner).then_some(invite.sent_by.as_str());
    let (organization, sender) =
        crate::store::reads::organization_and_user(&app.db, &invite.organization, sender_id).await?;
    let organization = organization.ok_or(InviteError::InvalidToken)?;
    if organization.is_being_deleted() {
        return Err(crate::store::StoreError::OrganizationDeleting.into());
    }
    if !invite.makes_owner && !sender.is_some_and(|sender| sender_may_grant(&sender, &invite)) {
        return Err(InviteError::SenderRightsChanged.into());
    }
    Ok((invite, organization))
}

/// The identity an invite gives: the organization team plus the invite's teams (those still there),
/// roles and flags; active if the invite says so.
pub(super) async fn invited_user(
    store: &OrgStore<'_>,
    invite: &Invite,
    organization: &Organization,
    account: &Account,
    first_name: &str,
    last_name: &str,
    now: i64,
) -> Result<User, DomainError> {
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
        is_admin: invite.is_admin,
        is_organization_owner: invite.makes_owner,
        is_dataset_manager: invite.is_dataset_manager,
        is_deactivated: !invite.auto_activate,
        ..User::new_member(
            ids::new_object_id(),
            &organization.id,
            (&account.id, &account.email, account.email_verified),
            (first_name.to_owned(), last_name.to_owned()),
            teams,
            now,
        )
    })
}

/// Writes the identity an invite creates with the invite's acceptance. A plan with no room left for an
/// active user takes the person in deactivated instead, for an admin to decide.
pub(super) async fn join_with_invite(
    app: &App,
    invite: &Invite,
    organization: &Organization,
    joiner: Joiner<'_>,
    mut user: User,
    auditor: &Auditor,
) -> Result<User, JoinFailure> {
    let store = OrgStore::new(&app.db, &organization.id);
    let now = ids::now_millis();
    let changed = || InviteError::OrganizationChangedMeanwhile.into();
    for _ in 0..2 {
        let accepted = accepted(invite, &user, now, app.config.invite_retention);
        let audit = join_entries(auditor, invite, organization, &user, matches!(joiner, Joiner::NewAccount { .. }));
        match store.join(&joiner, invite, &accepted, &user, now, audit).await {
            Ok(()) => return Ok(user),
            Err(JoinError::Store(err)) => return Err(JoinFailure::Api(err.into())),
            Err(JoinError::Conflict(JoinConflict::Joiner)) => return Err(JoinFailure::Joiner),
            Err(JoinError::Conflict(JoinConflict::Invite)) => {
                // Used, revoked or expired meanwhile: say which.
                let current = store.invite(&invite.id).await?.ok_or(DomainError::from(InviteError::InvalidToken))?;
                return Err(JoinFailure::Api(
                    unusable(&current, now).unwrap_or_else(|| InviteError::ChangedMeanwhile.into()),
                ));
            }
            Err(JoinError::Conflict(JoinConflict::IncludedUsersExceeded)) => {
                // The member counter's condition also refuses an organization being deleted.
                if !store.accepts_members().await? {
                    return Err(JoinFailure::Api(crate::store::StoreError::OrganizationDeleting.into()));
                }
                if !user.is_active() {
                    return Err(JoinFailure::Api(changed()));
                }
                user.is_deactivated = true;
            }
            Err(JoinError::Conflict(JoinConflict::Other)) => return Err(JoinFailure::Api(changed())),
        }
    }
    Err(JoinFailure::Api(changed()))
}

/// The entries of a join, by the person joining: the new identity, the invite's acceptance and, for an
/// owner invite, the ownership.
fn join_entries(
    auditor: &Auditor,
    invite: &Invite,
    organization: &Organization,
    user: &User,
    new_account: bool,
) -> Vec<crate::model::AuditEntry> {
    let auditor = auditor.acting_as(AuditActor::user(user));
    let action = if new_account { "user.registered" } else { "user.joined" };
    let facts = json!({ "email": user.email, "isDeactivated": user.is_deactivated, "invite": invite.id });
    let mut entries = vec![
        auditor.entry(&organization.id, action, vec![AuditTarget::user(user)], facts),
        auditor.entry(
            &organization.id,
            "invite.accepted",
            vec![AuditTarget::invite(invite), AuditTarget::user(user)],
            grants_of(invite),
        ),
    ];
    if invite.makes_owner {
        let targets = vec![AuditTarget::organization(organization), AuditTarget::user(user)];
        entries.push(auditor.entry(&organization.id, "organization.ownershipGranted", targets, json!({})));
    }
    entries
}

/// Why joining with an invite failed.
pub(super) enum JoinFailure {
    /// The joiner's part failed: the address is taken, or the account is a member already.
    Joiner,
    Api(DomainError),
}

impl From<DomainError> for JoinFailure {
    fn from(err: DomainError) -> Self {
        JoinFailure::Api(err)
    }
}

impl From<crate::store::StoreError> for JoinFailure {
    fn from(err: crate::store::StoreError) -> Self {
        JoinFailure::Api(err.into())
    }
}

pub(super) async fn notify_join(app: &App, organization: &Organization, invite: &Invite, user: &User) {
    let how = if invite.email == user.email {
        format!("joined by invitation from {}", invite.sent_by_name)
    } else {
        format!("joined by the invitation {} sent to {}", invite.sent_by_name, invite.email)
    };
    let store = OrgStore::new(&app.db, &organization.id);
    let limit_reached = invite.auto_activate && !user.is_active();
    mail::notify(
        app,
        crate::domain::notifications::new_member_mails(app, &store, organization, user, &how, limit_reached).await,
    )
    .await;
}

/// `POST /auth/register` with `inviteToken`: a new account in the invite's organization.
/// `new`: the address, password hash, first and last name.
pub(crate) async fn register_with_invite(
    app: &App,
    token: &str,
    new: (String, String, String, String),
    context: AuditContext,
) -> Result<(User, Organization), DomainError> {
    let (email, password_hash, first_name, last_name) = new;
    let (invite, organization) = usable_invite(app, token).await?;
    check_invited_address(&invite, &email)?;
    let now = ids::now_millis();
    let mut account = Account {
        id: ids::new_object_id(),
        email: email.clone(),
        password_hash,
        identities: BTreeMap::new(),
        last_used_organization: Some(organization.id.clone()),
        created: now,
        // The invite was mailed to this address (checked above): signing up with it proves it.
        email_verified: true,
        email_set_at: None,
    };
    let store = OrgStore::new(&app.db, &organization.id);
    let user = invited_user(&store, &invite, &organization, &account, &first_name, &last_name, now).await?;
    account.identities.insert(organization.id.clone(), user.id.clone());
    let guard = EmailGuard { email: email.clone(), account_id: account.id.clone() };
    let joiner = Joiner::NewAccount { guard: &guard, account: &account };
    let auditor = Auditor::new(app, AuditActor::anonymous(), context);
    match join_with_invite(app, &invite, &organization, joiner, user, &auditor).await {
        Ok(user) => {
            notify_join(app, &organization, &invite, &user).await;
            Ok((user, organization))
        }
        Err(JoinFailure::Joiner) => Err(crate::domain::credentials::address_taken(app, &email).await),
        Err(JoinFailure::Api(err)) => Err(err),
    }
}

/// `POST /auth/joinOrganization/{token}`: the caller's account joins the invite's organization with a new
/// identity (named like the caller's current one).
pub async fn join_organization(app: &App, caller: &Caller, token: &str) -> Result<User, DomainError> {
    let (invite, organization) = usable_invite(app, token).await?;
    let account = accounts::account_of(&app.db, &caller.user).await?;
    let already = || InviteError::AlreadyMember { organization: organization.name.clone() }.into();
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
    let joiner = Joiner::ExistingAccount { account_id: &account.id };
    let auditor = Auditor::new(app, AuditActor::user(&caller.user), caller.context.clone());
    match join_with_invite(app, &invite, &organization, joiner, user, &auditor).await {
        Ok(user) => {
            notify_join(app, &organization, &invite, &user).await;
            Ok(user)
        }
        Err(JoinFailure::Joiner) => Err(already()),
        Err(JoinFailure::Api(err)) => Err(err),
    }
}
