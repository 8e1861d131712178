//! Users: WEBKNOSSOS's rules for who may see and change whom, activation and deactivation, teams and
//! roles, experiences, and the bulk "Edit Teams and Permissions".
//!
//! The rules are a pure function ([`plan_change`], in `rules.rs`) from the caller, the target as read, and the
//! request to the target's new state. Writes are conditioned on the version read, and retried from a fresh
//! read when someone else changed the user in between ([`crate::domain::retry`]), so concurrent changes are
//! never lost.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Deserialize;

use tokio::sync::OnceCell;

use crate::app::App;
use crate::caller::Caller;
use crate::domain::audit::{self, Auditor};
use crate::domain::retry::{self, Attempt};
use crate::domain::teams::TeamMembershipInput;
use crate::error::{DomainError, refusals};
use crate::mail;
use crate::model::{AuditTarget, Team, User};
use crate::store::accounts;
use crate::store::org::{OrgStore, UserWrite, UserWriteConflict, UserWriteError, UserWriteExtras};
use crate::{password, validate};
use serde_json::json;

refusals! {
    /// Why a request about users was refused.
    pub(crate) enum UserError {
        NotFound => NotFound, "user.notFound", "There is no such user in your organization";
        NotInOrganization { id: String } => NotFound, "user.notFound", "There is no user {id} in your organization";
        TeamListedTwice { team: String } => Invalid, "user.teams.duplicate", "Team {team} is listed twice";
        TeamsReplacedAndChanged => Invalid, "request.teams.conflict",
            "Send either teams (each user's teams become exactly these) or setTeams and removeTeams (the named teams change, the others stay), not both";
        NoSuchTeam { team: String } => Invalid, "team.notFound", "There is no team {team} in your organization";
        TooManyTeams => Invalid, "user.teams.tooMany", "A user can be in at most {MAX_TEAMS_PER_USER} teams";
        NameNotAllowed => Forbidden, "user.name.notAllowed", "Only admins change other users' names";
        ActivateNotAllowed => Forbidden, "user.activate.notAllowed",
            "Only admins and the user's team managers activate users";
        ActivateAdminRights => Forbidden, "user.activate.adminRights",
            "Only admins activate a user who holds admin, dataset manager or deletion rights";
        DeactivateNotAllowed => Forbidden, "user.deactivate.notAllowed", "Only admins deactivate users";
        DeactivateSelf => Forbidden, "user.deactivate.self", "You cannot deactivate yourself";
        DeactivateOwner => Forbidden, "user.deactivate.owner", "The organization's owner cannot be deactivated";
        AdminNotAllowed => Forbidden, "user.admin.notAllowed", "Only admins grant or revoke admin rights";
        AdminOwner => Forbidden, "user.admin.owner", "Only the organization's owner gives up its admin rights";
        DatasetManagerNotAllowed => Forbidden, "user.datasetManager.notAllowed",
            "Only admins grant or revoke dataset manager rights";
        DeletionRightNotAllowed => Forbidden, "user.deletionRight.notAllowed",
            "Only the organization's owner grants the right to delete it";
        TeamsNotAllowed => Forbidden, "user.teams.notAllowed", "Only admins and team managers change team memberships";
        ExperiencesNotAllowed => Forbidden, "user.experiences.notAllowed",
            "Only admins and the user's team managers change experiences";
        DeletionRightAdminsOnly => Invalid, "user.deletionRight.adminsOnly",
            "Only admins can be allowed to delete the organization";
        LastAdmin => Conflict, "user.lastAdmin", "The organization must keep at least one active admin";
        IncludedUsersExceeded => Forbidden, "organization.includedUsers.exceeded",
            "Activating this user would exceed the number of users your plan includes";
        CredentialsNotAllowed => Forbidden, "user.credentials.notAllowed",
            "Only the user themselves changes their e-mail address or password";
        CurrentPasswordMissing => Invalid, "user.currentPassword.missing",
            "Changing the e-mail address or password needs currentPassword";
        NoneSelected => Invalid, "request.userIds.empty", "Select at least one user";
        TooManySelected { selected: usize } => Invalid, "request.tooManyUsers",
            "At most {BULK_LIMIT} users can be changed at once; {selected} were selected";
        SearchTooLong => Invalid, "request.search.invalid", "search must be at most {MAX_SEARCH_LENGTH} characters";
        UserKeptChanging => Conflict, "request.conflict", "The user kept changing while this request ran; please retry";
        UsersKeptChanging => Conflict, "request.conflict",
            "The selected users kept changing while this request ran; please retry";
    }
}

mod listing;
mod mails;
mod rules;

pub(crate) use listing::MAX_SEARCH_LENGTH;
pub use listing::{UserFilter, get_user, list_users, search_text};
pub(crate) use rules::{AdminCheck, BULK_LIMIT, MAX_TEAMS_PER_USER, admin_check};
pub use rules::{Planned, UserPatch, may_see_user, plan_change};

use mails::change_mails;

/// The admin whose being an active admin the change must check at commit: the caller for admin-only
/// changes (so revoked rights cannot race), and whenever an admin is lost someone else who stays one.
async fn admin_to_check(
    store: &OrgStore<'_>,
    caller: &User,
    planned: &[&Planned],
) -> Result<Option<String>, DomainError> {
    let losing = match admin_check(caller, planned) {
        AdminCheck::None => return Ok(None),
        AdminCheck::Caller => return Ok(Some(caller.id.clone())),
        AdminCheck::AnotherAdmin { losing } => losing,
    };
    // The caller gives up their own admin rights: another active admin must remain.
    let mut after = None;
    loop {
        let page = store.users_by_name(true, after.as_deref(), 100).await?;
        if let Some(admin) = page.items.iter().find(|u| u.is_admin && !losing.contains(u.id.as_str())) {
            return Ok(Some(admin.id.clone()));
        }
        if !page.more {
            return Err(UserError::LastAdmin.into());
        }
        after = page.items.last().map(User::name_key);
    }
}

/// The teams (of the caller's organization) that `patches` name.
async fn submitted_teams(store: &OrgStore<'_>, patches: &[&UserPatch]) -> Result<HashMap<String, Team>, DomainError> {
    let ids: BTreeSet<&str> = patches.iter().flat_map(|p| p.teams.iter().flatten()).map(|t| t.id.as_str()).collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    // Teams are few per organization; one Query reads them all.
    Ok(store.teams().await?.into_iter().filter(|t| ids.contains(t.id.as_str())).map(|t| (t.id.clone(), t)).collect())
}

/// Re-reads the caller for a retry: it may have been deactivated or lost rights meanwhile.
async fn fresh_caller(store: &OrgStore<'_>, caller: &User) -> Result<User, DomainError> {
    match store.user(&caller.id).await? {
        Some(user) if !user.is_deactivated => Ok(user),
        _ => Err(DomainError::invalid_credential()),
    }
}

/// Applies a `PATCH /users/{id}` and returns the user as stored. Every rule (credentials included) is
/// checked before anything is written, and the whole change (the user, its memberships and experiences,
/// and an e-mail or password change of its account) is one transaction: it happens completely or not at
/// all.
pub async fn update_user(app: &App, caller: &Caller, user_id: &str, patch: UserPatch) -> Result<User, DomainError> {
    let store = caller.store(app);
    let teams = submitted_teams(&store, &[&patch]).await?;
    // The credentials are checked (current password, new password's rules) once, after the other rules.
    let credentials: OnceCell<Option<CredentialChange>> = OnceCell::new();
    let auditor = Auditor::caller(app, caller);
    let (store, teams, patch, credentials, auditor) = (&store, &teams, &patch, &credentials, &auditor);
    let attempt = |n: usize| async move {
        let caller_now = if n == 0 { caller.user.clone() } else { fresh_caller(store, &caller.user).await? };
        let target = store.user(user_id).await?.filter(|t| may_see_user(&caller_now, t)).ok_or(UserError::NotFound)?;
        let mut planned = plan_change(&caller_now, &target, patch, teams)?;
        let change =
            credentials.get_or_try_init(|| check_credentials(app, &caller_now, &target, patch)).await?.as_ref();
        let mut more = Vec::new();
        if let Some(change) = change {
            if let Some(email) = &change.new_email {
                planned.after.email = email.clone();
                planned.after.is_email_verified = false;
            }
            if change.new_password_hash.is_some() {
                planned.after.session_epoch += 1;
            }
            // The account's other identities get the entries of its credential change.
            let mut changes = Vec::new();
            if let Some(new) = &change.new_email {
                changes.push((
                    "account.emailChanged",
                    json!({ "email": audit::old_new(target.email.as_str(), new.as_str()) }),
                ));
            }
            if change.new_password_hash.is_some() {
                changes.push(("account.passwordChanged", json!({})));
            }
            let entries = auditor.account_entries(changes, &planned.after.email);
            // The account as it is now: its e-mail guard moves in the same transaction.
            more = accounts::credential_change_items_now(
                &app.db,
                &caller_now.account_id,
                change.new_email.as_deref(),
                change.new_password_hash.as_deref(),
                (&target.organization, &target.id),
                &entries,
            )
            .await?;
        }
        if planned.after == target {
            return Ok(Attempt::Done(target));
        }
        let password_changed = change.is_some_and(|c| c.new_password_hash.is_some());
        let audit = audit::user_change_entries(&target, &planned.after, password_changed)
            .into_iter()
            .map(|(action, facts)| {
                auditor.entry(&target.organization, action, vec![AuditTarget::user(&planned.after)], facts)
            })
            .collect();
        let extras = UserWriteExtras {
            active_user_delta: i64::from(planned.activated) - i64::from(planned.deactivated),
            member_delta: 0,
            active_admin_check: admin_to_check(store, &caller_now, &[&planned]).await?,
            experience_domains: planned
                .after
                .experiences
                .keys()
                .filter(|d| !target.experiences.contains_key(*d))
                .cloned()
                .collect(),
            audit,
            ..UserWriteExtras::default()
        };
        let write = UserWrite { before: Some(target.clone()), after: planned.after.clone() };
        match store.write_users_with(std::slice::from_ref(&write), &extras, more).await {
            Ok(()) => {
                let mut stored = planned.after.clone();
                stored.version = target.version + 1;
                mail::notify(app, change_mails(app, &caller_now, &target, &planned)).await;
                if let Some(new_email) = change.and_then(|c| c.new_email.as_deref()) {
                    crate::domain::credentials::email_changed(app, &target.account_id, &target.email, new_email).await;
                }
                Ok(Attempt::Done(stored))
            }
            Err(UserWriteError::Conflict(UserWriteConflict::IncludedUsersExceeded)) => {
                Err(UserError::IncludedUsersExceeded.into())
            }
            Err(UserWriteError::Conflict(UserWriteConflict::EmailInUse)) => {
                Err(accounts::email_in_use(change.and_then(|c| c.new_email.as_deref()).unwrap_or_default()).into())
            }
            Err(UserWriteError::Conflict(_)) => Ok(Attempt::Conflict),
            Err(UserWriteError::Store(err)) => Err(err.into()),
        }
    };
    retry::until_settled(attempt, UserError::UserKeptChanging.into()).await
}

/// An e-mail and/or password change that passed its checks, to be written with the user.
struct CredentialChange {
    new_email: Option<String>,
    new_password_hash: Option<String>,
}

/// E-mail and password changes: only your own, with your current password. A new password ends every
/// session and token of the account. Checks only; nothing is written. `None`: nothing to change.
async fn check_credentials(
    app: &App,
    caller: &User,
    target: &User,
    patch: &UserPatch,
) -> Result<Option<CredentialChange>, DomainError> {
    let new_email = patch.email.as_deref().map(validate::email).transpose()?.filter(|e| *e != target.email);
    if new_email.is_none() && patch.password.is_none() {
        return Ok(None);
    }
    if caller.id != target.id {
        return Err(UserError::CredentialsNotAllowed.into());
    }
    if let Some(email) = &new_email {
        crate::domain::operators::refuse_listed_address(&app.config, email)?;
    }
    let current = patch.current_password.as_deref().ok_or(UserError::CurrentPasswordMissing)?;
    let (account, throttle) = accounts::account_and_throttle(&app.db, &caller.account_id, &caller.email).await?;
    let account = account.ok_or_else(DomainError::invalid_credential)?;
    // Wrong current passwords count as failed logins of the address.
    crate::domain::credentials::check_current_password(app, &account, &throttle, current).await?;
    let new_password_hash = match &patch.password {
        Some(new) => Some(password::hash(app.config.password_hashing, validate::password(new)?).await?),
        None => None,
    };
    Ok(Some(CredentialChange { new_email, new_password_hash }))
}

/// "Edit Teams and Permissions" for many users at once (beyond WEBKNOSSOS, whose UI sends one PATCH per
/// user). What a field leaves out stays as each user has it: without `isAdmin` the users keep their admin
/// rights, and `setTeams`/`removeTeams` change only the teams they name, so a selection whose users differ
/// loses nothing nobody touched. `teams` is WEBKNOSSOS's meaning (each user's teams become exactly these).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkTeamsAndPermissions {
    pub user_ids: Vec<String>,
    #[serde(default)]
    pub teams: Option<Vec<TeamMembershipInput>>,
    /// Each selected user is in these teams afterwards, with these roles.
    #[serde(default)]
    pub set_teams: Vec<TeamMembershipInput>,
    /// Each selected user is in none of these teams afterwards.
    #[serde(default)]
    pub remove_teams: Vec<String>,
    pub is_admin: Option<bool>,
    pub is_dataset_manager: Option<bool>,
}

/// Applies the change to every selected user: all of them change or none does.
pub async fn bulk_edit_teams_and_permissions(
    app: &App,
    caller: &Caller,
    request: BulkTeamsAndPermissions,
) -> Result<Vec<User>, DomainError> {
    let rights = UserPatch {
        is_admin: request.is_admin,
        is_dataset_manager: request.is_dataset_manager,
        ..UserPatch::default()
    };
    let changes_teams = !request.set_teams.is_empty() || !request.remove_teams.is_empty();
    if let Some(teams) = request.teams {
        if changes_teams {
            return Err(UserError::TeamsReplacedAndChanged.into());
        }
        let patch = UserPatch { teams: Some(teams), ..rights };
        return bulk_write(app, caller, &request.user_ids, &[&patch], |_| patch.clone()).await;
    }
    if let Some(team) = request.remove_teams.iter().find(|id| request.set_teams.iter().any(|t| &t.id == *id)) {
        return Err(UserError::TeamListedTwice { team: team.clone() }.into());
    }
    if !changes_teams {
        return bulk_write(app, caller, &request.user_ids, &[], |_| rights.clone()).await;
    }
    // The teams the users join or change roles in are read; the ones they keep need no lookup.
    let joined = UserPatch { teams: Some(request.set_teams.clone()), ..UserPatch::default() };
    let patch_for = |user: &User| {
        let mut teams: BTreeMap<&str, bool> =
            user.teams.iter().map(|(id, role)| (id.as_str(), role.is_team_manager)).collect();
        for id in &request.remove_teams {
            teams.remove(id.as_str());
        }
        for team in &request.set_teams {
            teams.insert(&team.id, team.is_team_manager);
        }
        let teams = teams
            .into_iter()
            .map(|(id, is_team_manager)| TeamMembershipInput { id: id.to_owned(), is_team_manager })
            .collect();
        UserPatch { teams: Some(teams), ..rights.clone() }
    };
    bulk_write(app, caller, &request.user_ids, &[&joined], patch_for).await
}

/// Applies `patch_for(user)` to every selected user under the rules of a single change: all of them change
/// or none does (at most [`BULK_LIMIT`] users). `teams_from` are the patches that name the teams the change
/// may put users in, so the teams are read while the users are.
pub(crate) async fn bulk_write(
    app: &App,
    caller: &Caller,
    user_ids: &[String],
    teams_from: &[&UserPatch],
    patch_for: impl Fn(&User) -> UserPatch,
) -> Result<Vec<User>, DomainError> {
    let mut ids: Vec<String> = user_ids.to_vec();
    ids.sort();
    ids.dedup();
    if ids.is_empty() {
        return Err(UserError::NoneSelected.into());
    }
    if ids.len() > BULK_LIMIT {
        return Err(UserError::TooManySelected { selected: ids.len() }.into());
    }
    let store = caller.store(app);
    let auditor = Auditor::caller(app, caller).grouped();
    let (store, ids, patch_for, auditor) = (&store, &ids, &patch_for, &auditor);
    let attempt = |n: usize| async move {
        let caller_now = if n == 0 { caller.user.clone() } else { fresh_caller(store, &caller.user).await? };
        let (targets, teams) = tokio::join!(store.users(ids), submitted_teams(store, teams_from));
        let (targets, teams) = (targets?, teams?);
        if targets.len() != ids.len() {
            let missing = ids.iter().find(|id| !targets.iter().any(|t| &t.id == *id)).cloned().unwrap_or_default();
            return Err(UserError::NotInOrganization { id: missing }.into());
        }
        let patches: Vec<UserPatch> = targets.iter().map(patch_for).collect();
        let mut planned = Vec::with_capacity(targets.len());
        for (target, patch) in targets.iter().zip(&patches) {
            let plan = plan_change(&caller_now, target, patch, &teams)
                .map_err(|e| DomainError { message: format!("User {}: {}", target.id, e.message), ..e })?;
            planned.push(plan);
        }
        let writes: Vec<UserWrite> = targets
            .iter()
            .zip(&planned)
            .filter(|(target, plan)| plan.after != **target)
            .map(|(target, plan)| UserWrite { before: Some(target.clone()), after: plan.after.clone() })
            .collect();
        if writes.is_empty() {
            return Ok(Attempt::Done(targets));
        }
        // One entry per user and kind of change, tied together by the auditor's group.
        let audit = writes
            .iter()
            .flat_map(|w| {
                let before = w.before.as_ref().expect("bulk changes change existing users");
                audit::user_change_entries(before, &w.after, false).into_iter().map(|(action, facts)| {
                    auditor.entry(&w.after.organization, action, vec![AuditTarget::user(&w.after)], facts)
                })
            })
            .collect();
        // The notices' payer (the caller's account and organization) is charged in the change's last
        // transaction; their recipients when the drainer sends them. No transaction of their own.
        let mails: Vec<mail::Mail> =
            targets.iter().zip(&planned).flat_map(|(t, p)| change_mails(app, &caller_now, t, p)).collect();
        let payer_budgets = mail::payer_budgets(app, &mails);
        let extras = UserWriteExtras {
            audit,
            mail_budgets: payer_budgets.clone().unwrap_or_default(),
            active_admin_check: admin_to_check(store, &caller_now, &planned.iter().collect::<Vec<_>>()).await?,
            experience_domains: writes
                .iter()
                .flat_map(|w| {
                    w.after
                        .experiences
                        .keys()
                        .filter(|d| !w.before.as_ref().is_some_and(|b| b.experiences.contains_key(*d)))
                })
                .cloned()
                .collect(),
            ..UserWriteExtras::default()
        };
        match store.write_all_or_nothing(&writes, &extras).await {
            Ok(written) => {
                if payer_budgets.is_some() && written.mail_budgets_counted {
                    mail::queue_paid(app, mails).await;
                } else {
                    // Not all fit in today's budgets: as many as fit are admitted one by one.
                    mail::notify(app, mails).await;
                }
                let changed = written.versions;
                Ok(Attempt::Done(
                    planned
                        .into_iter()
                        .map(|p| {
                            let mut user = p.after;
                            if let Some(version) = changed.get(user.id.as_str()) {
                                user.version = *version;
                            }
                            user
                        })
                        .collect(),
                ))
            }
            // The last attempt's failed admin check means no other admin stays.
            Err(UserWriteError::Conflict(UserWriteConflict::AdminCheckFailed)) if n + 1 == retry::ATTEMPTS => {
                Err(UserError::LastAdmin.into())
            }
            Err(UserWriteError::Conflict(_)) => Ok(Attempt::Conflict),
            Err(UserWriteError::Store(err)) => Err(err.into()),
        }
    };
    retry::until_settled(attempt, UserError::UsersKeptChanging.into()).await
}
