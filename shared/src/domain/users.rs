//! Users: WEBKNOSSOS's rules for who may see and change whom, activation and deactivation, teams and
//! roles, experiences, and the bulk "Edit Teams and Permissions".
//!
//! The rules are a pure function ([`plan_change`]) from the caller, the target as read, and the request to
//! the target's new state. Writes are conditioned on the version read, and retried from a fresh read when
//! someone else changed the user in between, so concurrent changes are never lost.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Deserialize;

use crate::app::App;
use crate::auth::Caller;
use crate::domain::teams::TeamMembershipInput;
use crate::error::ApiError;
use crate::mail::{self, Mail};
use crate::model::{Team, TeamRole, User};
use crate::paging::{MAX_PAGE_SIZE, Page, PageRequest};
use crate::policy::may_edit_user;
use crate::store::accounts;
use crate::store::org::{OrgStore, UserWrite, UserWriteConflict, UserWriteError, UserWriteExtras};
use crate::{password, validate};

/// Most users one bulk request may change.
pub const BULK_LIMIT: usize = 100;
/// Most teams one user may be in.
pub const MAX_TEAMS_PER_USER: usize = 40;
const WRITE_ATTEMPTS: usize = 4;

/// `PATCH /users/{id}`: every field optional. Fields sent unchanged (as the `webknossos` client sends the
/// whole user back) need no permission.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserPatch {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    /// The new password (own account only, with `currentPassword`).
    pub password: Option<String>,
    pub current_password: Option<String>,
    pub is_active: Option<bool>,
    pub is_admin: Option<bool>,
    pub is_dataset_manager: Option<bool>,
    pub teams: Option<Vec<TeamMembershipInput>>,
    pub experiences: Option<BTreeMap<String, i64>>,
    /// Whether this admin may delete the organization: only the owner grants or takes it.
    pub may_delete_organization: Option<bool>,
}

/// The outcome of the rules for one user.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    pub after: User,
    /// The target was deactivated and is now active (or the reverse).
    pub activated: bool,
    pub deactivated: bool,
    /// The target stops being an active admin.
    pub loses_admin: bool,
    /// Teams, roles or admin/dataset-manager flags changed.
    pub access_changed: bool,
    /// The change needs admin rights, so the caller must still be an admin when it commits.
    pub needs_admin: bool,
}

fn not_found() -> ApiError {
    ApiError::not_found("user.notFound", "There is no such user in your organization")
}

/// Whether `caller` may see `target`: yourself, members of teams you manage, everyone for admins.
pub fn may_see_user(caller: &User, target: &User) -> bool {
    caller.organization == target.organization && (caller.id == target.id || may_edit_user(caller, target))
}

/// The team roles after `submitted` is applied by `caller`: admins set them exactly; team managers change
/// only the teams they manage (other memberships are kept, submitted roles in other teams ignored).
fn planned_teams(
    caller: &User,
    target: &User,
    submitted: &[TeamMembershipInput],
    teams: &HashMap<String, Team>,
) -> Result<BTreeMap<String, TeamRole>, ApiError> {
    let mut wanted: BTreeMap<&str, bool> = BTreeMap::new();
    for membership in submitted {
        if wanted.insert(&membership.id, membership.is_team_manager).is_some() {
            return Err(ApiError::bad_request(
                "user.teams.duplicate",
                format!("Team {} is listed twice", membership.id),
            ));
        }
    }
    let mut result = BTreeMap::new();
    // Memberships the caller may not change stay as they are.
    for (team_id, role) in &target.teams {
        if !caller.is_admin && !caller.is_team_manager_of(team_id) {
            result.insert(team_id.clone(), role.clone());
        }
    }
    for (team_id, is_team_manager) in wanted {
        if !caller.is_admin && !caller.is_team_manager_of(team_id) {
            continue;
        }
        let team = teams.get(team_id).filter(|t| !t.deleting).ok_or_else(|| {
            ApiError::bad_request("team.notFound", format!("There is no team {team_id} in your organization"))
        })?;
        result.insert(team_id.to_owned(), TeamRole { name: team.name.clone(), is_team_manager });
    }
    if result.len() > MAX_TEAMS_PER_USER {
        return Err(ApiError::bad_request(
            "user.teams.tooMany",
            format!("A user can be in at most {MAX_TEAMS_PER_USER} teams"),
        ));
    }
    Ok(result)
}

/// Applies WEBKNOSSOS's rules to a change of `target` by `caller` (credentials excepted: see
/// [`check_credentials`]). `teams` holds the submitted teams that exist in the organization.
pub fn plan_change(
    caller: &User,
    target: &User,
    patch: &UserPatch,
    teams: &HashMap<String, Team>,
) -> Result<Planned, ApiError> {
    if !may_see_user(caller, target) {
        return Err(not_found());
    }
    let is_self = caller.id == target.id;
    let may_edit = may_edit_user(caller, target);
    let mut after = target.clone();
    let mut needs_admin = false;

    if let Some(first_name) = &patch.first_name {
        after.first_name = validate::person_name("firstName", first_name)?;
    }
    if let Some(last_name) = &patch.last_name {
        after.last_name = validate::person_name("lastName", last_name)?;
    }
    if (after.first_name != target.first_name || after.last_name != target.last_name) && !is_self && !caller.is_admin {
        return Err(ApiError::forbidden("user.name.notAllowed", "Only admins change other users' names"));
    }

    let (mut activated, mut deactivated) = (false, false);
    match patch.is_active {
        Some(true) if target.is_deactivated => {
            if !may_edit {
                return Err(ApiError::forbidden(
                    "user.activate.notAllowed",
                    "Only admins and the user's team managers activate users",
                ));
            }
            // Bringing back admin, dataset-manager or deletion rights is an admin's decision (granting new
            // ones is refused below).
            if target.is_admin || target.is_dataset_manager || target.may_delete_organization {
                if !caller.is_admin {
                    return Err(ApiError::forbidden(
                        "user.activate.adminRights",
                        "Only admins activate a user who holds admin, dataset manager or deletion rights",
                    ));
                }
                needs_admin = true;
            }
            after.is_deactivated = false;
            activated = true;
        }
        Some(false) if !target.is_deactivated => {
            if !caller.is_admin {
                return Err(ApiError::forbidden("user.deactivate.notAllowed", "Only admins deactivate users"));
            }
            if is_self {
                return Err(ApiError::forbidden("user.deactivate.self", "You cannot deactivate yourself"));
            }
            if target.is_organization_owner {
                return Err(ApiError::forbidden(
                    "user.deactivate.owner",
                    "The organization's owner cannot be deactivated",
                ));
            }
            after.is_deactivated = true;
            // Ends every session and personal token of the identity for good: reactivation does not
            // bring them back.
            after.session_epoch += 1;
            deactivated = true;
            needs_admin = true;
        }
        _ => {}
    }

    if let Some(is_admin) = patch.is_admin.filter(|v| *v != target.is_admin) {
        if !caller.is_admin {
            return Err(ApiError::forbidden("user.admin.notAllowed", "Only admins grant or revoke admin rights"));
        }
        if !is_admin && target.is_organization_owner && !is_self {
            return Err(ApiError::forbidden(
                "user.admin.owner",
                "Only the organization's owner gives up its admin rights",
            ));
        }
        after.is_admin = is_admin;
        needs_admin = true;
    }
    if let Some(is_dataset_manager) = patch.is_dataset_manager.filter(|v| *v != target.is_dataset_manager) {
        if !caller.is_admin {
            return Err(ApiError::forbidden(
                "user.datasetManager.notAllowed",
                "Only admins grant or revoke dataset manager rights",
            ));
        }
        after.is_dataset_manager = is_dataset_manager;
        needs_admin = true;
    }

    if let Some(may_delete) = patch.may_delete_organization.filter(|v| *v != target.may_delete_organization) {
        if !caller.is_organization_owner {
            return Err(ApiError::forbidden(
                "user.deletionRight.notAllowed",
                "Only the organization's owner grants the right to delete it",
            ));
        }
        after.may_delete_organization = may_delete;
    }
    if let Some(submitted) = &patch.teams {
        let teams_after = planned_teams(caller, target, submitted, teams)?;
        if teams_after != target.teams && !may_edit {
            return Err(ApiError::forbidden(
                "user.teams.notAllowed",
                "Only admins and team managers change team memberships",
            ));
        }
        after.teams = teams_after;
    }

    if let Some(experiences) = &patch.experiences {
        let experiences = validate::experiences(experiences)?;
        if experiences != target.experiences && !may_edit {
            return Err(ApiError::forbidden(
                "user.experiences.notAllowed",
                "Only admins and the user's team managers change experiences",
            ));
        }
        after.experiences = experiences;
    }

    if after.may_delete_organization && !after.is_admin {
        if patch.may_delete_organization == Some(true) {
            return Err(ApiError::bad_request(
                "user.deletionRight.adminsOnly",
                "Only admins can be allowed to delete the organization",
            ));
        }
        // Losing admin rights takes the deletion right with them.
        after.may_delete_organization = false;
    }
    let was_active_admin = target.is_admin && !target.is_deactivated;
    let is_active_admin = after.is_admin && !after.is_deactivated;
    let access_changed = after.teams != target.teams
        || after.is_admin != target.is_admin
        || after.is_dataset_manager != target.is_dataset_manager;
    Ok(Planned {
        after,
        activated,
        deactivated,
        loses_admin: was_active_admin && !is_active_admin,
        access_changed,
        needs_admin,
    })
}

/// The admin whose being an active admin the change must check at commit: the caller for admin-only
/// changes (so revoked rights cannot race), and whenever an admin is lost someone else who stays one.
async fn admin_to_check(store: &OrgStore<'_>, caller: &User, planned: &[&Planned]) -> Result<Option<String>, ApiError> {
    let losing: BTreeSet<&str> = planned.iter().filter(|p| p.loses_admin).map(|p| p.after.id.as_str()).collect();
    if !losing.contains(caller.id.as_str()) {
        let needed = planned.iter().any(|p| p.needs_admin || p.loses_admin);
        return Ok(needed.then(|| caller.id.clone()));
    }
    // The caller gives up their own admin rights: another active admin must remain.
    let mut after = None;
    loop {
        let page = store.users_by_name(true, after.as_deref(), 100).await?;
        if let Some(admin) = page.items.iter().find(|u| u.is_admin && !losing.contains(u.id.as_str())) {
            return Ok(Some(admin.id.clone()));
        }
        if !page.more {
            return Err(last_admin());
        }
        after = page.items.last().map(User::name_key);
    }
}

fn last_admin() -> ApiError {
    ApiError::conflict("user.lastAdmin", "The organization must keep at least one active admin")
}

fn included_users_exceeded() -> ApiError {
    ApiError::forbidden(
        "organization.includedUsers.exceeded",
        "Activating this user would exceed the number of users your plan includes",
    )
}

/// The teams (of the caller's organization) that `patches` name.
async fn submitted_teams(store: &OrgStore<'_>, patches: &[&UserPatch]) -> Result<HashMap<String, Team>, ApiError> {
    let ids: BTreeSet<&str> = patches.iter().flat_map(|p| p.teams.iter().flatten()).map(|t| t.id.as_str()).collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    // Teams are few per organization; one Query reads them all.
    Ok(store.teams().await?.into_iter().filter(|t| ids.contains(t.id.as_str())).map(|t| (t.id.clone(), t)).collect())
}

/// Re-reads the caller for a retry: it may have been deactivated or lost rights meanwhile.
async fn fresh_caller(store: &OrgStore<'_>, caller: &User) -> Result<User, ApiError> {
    match store.user(&caller.id).await? {
        Some(user) if !user.is_deactivated => Ok(user),
        _ => Err(ApiError::invalid_credential()),
    }
}

/// Applies a `PATCH /users/{id}` and returns the user as stored. Every rule (credentials included) is
/// checked before anything is written, and the whole change (the user, its memberships and experiences,
/// and an e-mail or password change of its account) is one transaction: it happens completely or not at
/// all.
pub async fn update_user(app: &App, caller: &Caller, user_id: &str, patch: UserPatch) -> Result<User, ApiError> {
    let store = caller.store(app);
    let teams = submitted_teams(&store, &[&patch]).await?;
    let mut caller_now = caller.user.clone();
    let mut credentials: Option<Option<CredentialChange>> = None;
    for attempt in 0..WRITE_ATTEMPTS {
        if attempt > 0 {
            caller_now = fresh_caller(&store, &caller.user).await?;
        }
        let target = store.user(user_id).await?.filter(|t| may_see_user(&caller_now, t)).ok_or_else(not_found)?;
        let mut planned = plan_change(&caller_now, &target, &patch, &teams)?;
        // The credentials are checked (current password, new password's rules) once, after the other rules.
        if credentials.is_none() {
            credentials = Some(check_credentials(app, &caller_now, &target, &patch).await?);
        }
        let change = credentials.as_ref().and_then(Option::as_ref);
        let mut more = Vec::new();
        if let Some(change) = change {
            // The account as it is now: its e-mail guard moves in the same transaction.
            let account = app
                .db
                .get::<crate::model::Account>(&crate::model::Key::account(&caller_now.account_id))
                .await?
                .ok_or_else(ApiError::invalid_credential)?;
            if let Some(email) = &change.new_email {
                planned.after.email = email.clone();
                planned.after.is_email_verified = false;
            }
            if change.new_password_hash.is_some() {
                planned.after.session_epoch += 1;
            }
            more = accounts::credential_change_items(
                &app.db,
                &account,
                change.new_email.as_deref(),
                change.new_password_hash.as_deref(),
                (&target.organization, &target.id),
            );
        }
        if planned.after == target {
            return Ok(target);
        }
        let extras = UserWriteExtras {
            active_user_delta: i64::from(planned.activated) - i64::from(planned.deactivated),
            member_delta: 0,
            active_admin_check: admin_to_check(&store, &caller_now, &[&planned]).await?,
            experience_domains: planned
                .after
                .experiences
                .keys()
                .filter(|d| !target.experiences.contains_key(*d))
                .cloned()
                .collect(),
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
                return Ok(stored);
            }
            Err(UserWriteError::Conflict(UserWriteConflict::IncludedUsersExceeded)) => {
                return Err(included_users_exceeded());
            }
            Err(UserWriteError::Conflict(UserWriteConflict::EmailInUse)) => {
                return Err(accounts::email_in_use(change.and_then(|c| c.new_email.as_deref()).unwrap_or_default()));
            }
            Err(UserWriteError::Conflict(_)) => continue,
            Err(UserWriteError::Api(err)) if err.status == 503 && attempt + 1 < WRITE_ATTEMPTS => {
                tokio::time::sleep(retry_delay(attempt)).await;
            }
            Err(UserWriteError::Api(err)) => return Err(err),
        }
    }
    Err(ApiError::conflict("request.conflict", "The user kept changing while this request ran; please retry"))
}

fn retry_delay(attempt: usize) -> std::time::Duration {
    let jitter = u64::from(crate::ids::random_bytes::<1>()[0]) % 20;
    std::time::Duration::from_millis(20 * (attempt as u64 + 1) + jitter)
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
) -> Result<Option<CredentialChange>, ApiError> {
    let new_email = patch.email.as_deref().map(validate::email).transpose()?.filter(|e| *e != target.email);
    if new_email.is_none() && patch.password.is_none() {
        return Ok(None);
    }
    if caller.id != target.id {
        return Err(ApiError::forbidden(
            "user.credentials.notAllowed",
            "Only the user themselves changes their e-mail address or password",
        ));
    }
    let current = patch.current_password.as_deref().ok_or_else(|| {
        ApiError::bad_request(
            "user.currentPassword.missing",
            "Changing the e-mail address or password needs currentPassword",
        )
    })?;
    let (account, throttle) = accounts::account_and_throttle(&app.db, &caller.account_id, &caller.email).await?;
    let account = account.ok_or_else(ApiError::invalid_credential)?;
    // Wrong current passwords count as failed logins of the address.
    crate::domain::credentials::check_current_password(app, &account, &throttle, current).await?;
    let new_password_hash = match &patch.password {
        Some(new) => Some(password::hash(validate::password(new)?).await?),
        None => None,
    };
    Ok(Some(CredentialChange { new_email, new_password_hash }))
}

/// The mails a change sends: "you were activated", and "your access changed" when someone else changed
/// the user's teams or roles.
fn change_mails(app: &App, caller: &User, before: &User, planned: &Planned) -> Vec<Mail> {
    let user = &planned.after;
    let mut mails = Vec::new();
    if planned.activated {
        mails.push(Mail::new(
            vec![user.email.clone()],
            "Your WEBKNOSSOS account was activated",
            &[
                format!("Hello {},", user.first_name),
                format!(
                    "{} {} activated your account in the organization {}. You can log in now.",
                    caller.first_name, caller.last_name, user.organization
                ),
            ],
            Some(("Log in", &app.config.public_uri)),
        ));
    }
    if planned.access_changed && caller.id != user.id {
        let teams = if user.teams.is_empty() {
            "none".to_owned()
        } else {
            user.teams
                .values()
                .map(|r| if r.is_team_manager { format!("{} (team manager)", r.name) } else { r.name.clone() })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut lines = vec![
            format!("Hello {},", user.first_name),
            format!(
                "{} {} changed your access in the organization {}.",
                caller.first_name, caller.last_name, user.organization
            ),
            format!("Your teams: {teams}."),
        ];
        if before.is_admin != user.is_admin {
            lines.push(if user.is_admin {
                "You are now an admin.".into()
            } else {
                "You are no longer an admin.".into()
            });
        }
        if before.is_dataset_manager != user.is_dataset_manager {
            lines.push(if user.is_dataset_manager {
                "You are now a dataset manager.".into()
            } else {
                "You are no longer a dataset manager.".into()
            });
        }
        mails.push(Mail::new(vec![user.email.clone()], "Your access in WEBKNOSSOS changed", &lines, None));
    }
    mails
}

/// "Edit Teams and Permissions" for many users at once (beyond WEBKNOSSOS, whose UI sends one PATCH per
/// user).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkTeamsAndPermissions {
    pub user_ids: Vec<String>,
    pub teams: Vec<TeamMembershipInput>,
    pub is_admin: Option<bool>,
    pub is_dataset_manager: Option<bool>,
}

/// Applies the same teams and permissions to every selected user: all of them change or none does.
pub async fn bulk_edit_teams_and_permissions(
    app: &App,
    caller: &Caller,
    request: BulkTeamsAndPermissions,
) -> Result<Vec<User>, ApiError> {
    let patch = UserPatch {
        teams: Some(request.teams.clone()),
        is_admin: request.is_admin,
        is_dataset_manager: request.is_dataset_manager,
        ..UserPatch::default()
    };
    bulk_write(app, caller, &request.user_ids, |_| patch.clone()).await
}

/// Applies `patch_for(user)` to every selected user under the rules of a single change: all of them change
/// or none does (at most [`BULK_LIMIT`] users).
pub async fn bulk_write(
    app: &App,
    caller: &Caller,
    user_ids: &[String],
    patch_for: impl Fn(&User) -> UserPatch,
) -> Result<Vec<User>, ApiError> {
    let mut ids: Vec<String> = user_ids.to_vec();
    ids.sort();
    ids.dedup();
    if ids.is_empty() {
        return Err(ApiError::bad_request("request.userIds.empty", "Select at least one user"));
    }
    if ids.len() > BULK_LIMIT {
        return Err(ApiError::bad_request(
            "request.tooManyUsers",
            format!("At most {BULK_LIMIT} users can be changed at once; {} were selected", ids.len()),
        ));
    }
    let store = caller.store(app);
    let mut caller_now = caller.user.clone();
    for attempt in 0..WRITE_ATTEMPTS {
        if attempt > 0 {
            caller_now = fresh_caller(&store, &caller.user).await?;
        }
        let targets = store.users(&ids).await?;
        if targets.len() != ids.len() {
            let missing = ids.iter().find(|id| !targets.iter().any(|t| &t.id == *id)).cloned().unwrap_or_default();
            return Err(ApiError::not_found(
                "user.notFound",
                format!("There is no user {missing} in your organization"),
            ));
        }
        let patches: Vec<UserPatch> = targets.iter().map(&patch_for).collect();
        let teams = submitted_teams(&store, &patches.iter().collect::<Vec<_>>()).await?;
        let mut planned = Vec::with_capacity(targets.len());
        for (target, patch) in targets.iter().zip(&patches) {
            let plan = plan_change(&caller_now, target, patch, &teams)
                .map_err(|e| ApiError { message: format!("User {}: {}", target.id, e.message), ..e })?;
            planned.push(plan);
        }
        let writes: Vec<UserWrite> = targets
            .iter()
            .zip(&planned)
            .filter(|(target, plan)| plan.after != **target)
            .map(|(target, plan)| UserWrite { before: Some(target.clone()), after: plan.after.clone() })
            .collect();
        if writes.is_empty() {
            return Ok(targets);
        }
        let extras = UserWriteExtras {
            active_admin_check: admin_to_check(&store, &caller_now, &planned.iter().collect::<Vec<_>>()).await?,
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
        match write_all_or_nothing(&store, &writes, &extras).await {
            Ok(changed) => {
                let mails =
                    targets.iter().zip(&planned).flat_map(|(t, p)| change_mails(app, &caller_now, t, p)).collect();
                mail::notify(app, mails).await;
                return Ok(planned
                    .into_iter()
                    .map(|p| {
                        let mut user = p.after;
                        if let Some(version) = changed.get(user.id.as_str()) {
                            user.version = *version;
                        }
                        user
                    })
                    .collect());
            }
            Err(UserWriteError::Conflict(UserWriteConflict::AdminCheckFailed)) if attempt + 1 == WRITE_ATTEMPTS => {
                return Err(last_admin());
            }
            Err(UserWriteError::Conflict(_)) => continue,
            Err(UserWriteError::Api(err)) if err.status == 503 && attempt + 1 < WRITE_ATTEMPTS => {
                tokio::time::sleep(retry_delay(attempt)).await;
            }
            Err(UserWriteError::Api(err)) => return Err(err),
        }
    }
    Err(ApiError::conflict("request.conflict", "The selected users kept changing while this request ran; please retry"))
}

/// How far a transaction of a multi-transaction change that may still be undone moves a user's version
/// (instead of 1): its undo restores the user exactly, version included, and since normal writes count
/// up by one from there, no later version equals the one the undone write had. So nobody who read the
/// undone state can commit a change based on it (no ABA).
pub const PROVISIONAL_VERSION_STEP: u64 = 1 << 32;

/// Writes user changes that may need more than one transaction (DynamoDB allows 100 items in one) and
/// returns the version each changed user has now. Each transaction holds whole users; the new experience
/// domains go with the last one. If a transaction fails, the users written by the earlier ones are
/// restored exactly (each conditioned on the version this request wrote), so the request changes all
/// users and the domain list, or none. Other readers may see the earlier transactions' users meanwhile
/// (docs/data-model.md, "Changes spanning transactions").
pub async fn write_all_or_nothing(
    store: &OrgStore<'_>,
    writes: &[UserWrite],
    extras: &UserWriteExtras,
) -> Result<HashMap<String, u64>, UserWriteError> {
    let versions_after = |writes: &[UserWrite], step: u64| -> HashMap<String, u64> {
        writes.iter().map(|w| (w.after.id.clone(), w.before.as_ref().map_or(0, |b| b.version + step))).collect()
    };
    let (all_items, _) = store.user_write_items(writes, extras);
    if all_items.len() <= crate::store::TRANSACTION_LIMIT {
        store.write_users(writes, extras).await?;
        return Ok(versions_after(writes, 1));
    }
    let mut chunks: Vec<Vec<&UserWrite>> = vec![Vec::new()];
    let mut size = 0;
    // Room for the admin check in every transaction. (Team checks are counted per user here, though a
    // transaction needs one per team: an overestimate.)
    let reserved = 1;
    for write in writes {
        let (items, _) = store.user_write_items(std::slice::from_ref(write), &UserWriteExtras::default());
        if size + items.len() > crate::store::TRANSACTION_LIMIT - reserved && !chunks.last().unwrap().is_empty() {
            chunks.push(Vec::new());
            size = 0;
        }
        size += items.len();
        chunks.last_mut().unwrap().push(write);
    }
    // The new experience domains go with the last transaction; if they do not fit, in one of their own.
    if size + extras.experience_domains.len() > crate::store::TRANSACTION_LIMIT - reserved {
        chunks.push(Vec::new());
    }
    let mut done: Vec<UserWrite> = Vec::new();
    let mut versions = HashMap::new();
    for (index, chunk) in chunks.iter().enumerate() {
        let last = index + 1 == chunks.len();
        let step = if last { 1 } else { PROVISIONAL_VERSION_STEP };
        let owned: Vec<UserWrite> = chunk
            .iter()
            .map(|w| {
                let mut after = w.after.clone();
                after.version = w.before.as_ref().map_or(0, |b| b.version + step);
                UserWrite { before: w.before.clone(), after }
            })
            .collect();
        let chunk_extras = UserWriteExtras {
            active_admin_check: extras.active_admin_check.clone(),
            experience_domains: if last { extras.experience_domains.clone() } else { Default::default() },
            exact_versions: true,
            ..UserWriteExtras::default()
        };
        if let Err(err) = store.write_users(&owned, &chunk_extras).await {
            undo(store, &done).await;
            return Err(err);
        }
        versions.extend(owned.iter().map(|w| (w.after.id.clone(), w.after.version)));
        done.extend(owned);
    }
    Ok(versions)
}

/// Restores the users a failed multi-transaction change had already written, exactly as they were read
/// (version included). A user someone changed since (after this request's write) keeps that change.
async fn undo(store: &OrgStore<'_>, done: &[UserWrite]) {
    let restore_extras = UserWriteExtras { exact_versions: true, ..UserWriteExtras::default() };
    for write in done {
        let Some(original) = &write.before else { continue };
        let restore = UserWrite { before: Some(write.after.clone()), after: original.clone() };
        if let Err(UserWriteError::Conflict(_) | UserWriteError::Api(_)) =
            store.write_users(&[restore], &restore_extras).await
        {
            tracing::error!(user = %original.id, "could not restore a user after a failed bulk change");
        }
    }
}

/// `GET /users` filters (WEBKNOSSOS's, plus `isActive` for the Status column and `search` for the Users
/// page's search box).
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    pub is_editable: Option<bool>,
    pub is_team_manager_or_admin: Option<bool>,
    pub is_admin: Option<bool>,
    pub is_active: Option<bool>,
    /// Lowercased text that the name ("first last") or the e-mail address must contain.
    pub search: Option<String>,
}

pub const MAX_SEARCH_LENGTH: usize = 100;

/// The search text as the filter keeps it: trimmed and lowercased; empty means no search.
pub fn search_text(text: &str) -> Result<Option<String>, ApiError> {
    let text = text.trim();
    if text.chars().count() > MAX_SEARCH_LENGTH {
        return Err(ApiError::bad_request(
            "request.search.invalid",
            format!("search must be at most {MAX_SEARCH_LENGTH} characters"),
        ));
    }
    Ok((!text.is_empty()).then(|| text.to_lowercase()))
}

impl UserFilter {
    fn accepts(&self, viewer: &User, user: &User) -> bool {
        self.is_editable.is_none_or(|v| may_edit_user(viewer, user) == v)
            && self.is_team_manager_or_admin.is_none_or(|v| user.is_team_manager_or_admin() == v)
            && self.is_admin.is_none_or(|v| user.is_admin == v)
            && self.is_active.is_none_or(|v| user.is_active() == v)
            && self.search.as_deref().is_none_or(|text| {
                format!("{} {}", user.first_name, user.last_name).to_lowercase().contains(text)
                    || user.email.to_lowercase().contains(text)
            })
    }
}

/// The users the caller may see (yourself, members of teams you manage, everyone for admins) that pass
/// `filter`. For admins a page reads only that page from the `UsersByName` index (per status); team
/// managers' lists read their managed teams' whole member ranges and those users for every page, since
/// memberships are ordered by user id, not name (docs/data-model.md, "Team managers' user list").
pub async fn list_users(
    app: &App,
    caller: &Caller,
    filter: UserFilter,
    request: &PageRequest,
) -> Result<Page<User>, ApiError> {
    let after = request.after.clone();
    let viewer = &caller.user;
    let store = caller.store(app);
    let wanted = request.limit;
    let mut users: Vec<User> = Vec::new();
    let mut more = false;
    if viewer.is_admin {
        let statuses: &[bool] = match filter.is_active {
            Some(true) => &[true],
            Some(false) => &[false],
            None => &[true, false],
        };
        for &active in statuses {
            // Read this status's users in name order until the page is full (filters drop some).
            let mut position = after.clone();
            let mut found = Vec::new();
            loop {
                // A search drops most users: read in the largest pages then.
                let read = if filter.search.is_some() { MAX_PAGE_SIZE } else { wanted.clamp(25, MAX_PAGE_SIZE) };
                let page = store.users_by_name(active, position.as_deref(), read).await?;
                position = page.items.last().map(User::name_key);
                found.extend(page.items.into_iter().filter(|u| filter.accepts(viewer, u)));
                if !page.more {
                    break;
                }
                if found.len() >= wanted {
                    more = true;
                    break;
                }
            }
            users.extend(found);
        }
    } else {
        let mut ids: BTreeSet<String> = BTreeSet::from([viewer.id.clone()]);
        for team_id in viewer.teams.iter().filter(|(_, role)| role.is_team_manager).map(|(id, _)| id) {
            let mut position: Option<String> = None;
            loop {
                let page = store.team_members(team_id, position.as_deref(), MAX_PAGE_SIZE).await?;
                position = page.items.last().map(|m| m.user_id.clone());
                ids.extend(page.items.into_iter().map(|m| m.user_id));
                if !page.more {
                    break;
                }
            }
        }
        let ids: Vec<String> = ids.into_iter().collect();
        users = store
            .users(&ids)
            .await?
            .into_iter()
            .filter(|u| may_see_user(viewer, u) && filter.accepts(viewer, u))
            .filter(|u| after.as_deref().is_none_or(|a| u.name_key().as_str() > a))
            .collect();
    }
    users.sort_by_key(User::name_key);
    if users.len() > wanted {
        users.truncate(wanted);
        more = true;
    }
    let next = if more { users.last().map(User::name_key) } else { None };
    Ok(Page::new(users, next.as_deref()))
}

/// `GET /users/{id}`: a user the caller may see.
pub async fn get_user(app: &App, caller: &Caller, user_id: &str) -> Result<User, ApiError> {
    caller.store(app).user(user_id).await?.filter(|u| may_see_user(&caller.user, u)).ok_or_else(not_found)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A member of `lab` in `teams` (team id, is team manager), for the rules' tests.
    pub(crate) fn user(id: &str, teams: &[(&str, bool)]) -> User {
        User {
            id: id.into(),
            organization: "lab".into(),
            account_id: format!("account-{id}"),
            email: format!("{id}@example.org"),
            first_name: "First".into(),
            last_name: id.into(),
            is_admin: false,
            is_organization_owner: false,
            is_dataset_manager: false,
            is_deactivated: false,
            is_email_verified: false,
            teams: teams
                .iter()
                .map(|(t, m)| (t.to_string(), TeamRole { name: t.to_uppercase(), is_team_manager: *m }))
                .collect(),
            experiences: BTreeMap::new(),
            last_activity: 0,
            created: 0,
            session_epoch: 0,
            version: 0,
            may_delete_organization: false,
        }
    }

    #[test]
    fn search_matches_the_full_name_or_the_address_whatever_the_case() {
        let viewer = User { is_admin: true, ..user("admin", &[]) };
        let mut target = user("ada", &[]);
        target.first_name = "Ada".into();
        target.last_name = "Lovelace".into();
        target.email = "Countess@Example.org".into();
        let search = |text: &str| UserFilter { search: search_text(text).unwrap(), ..UserFilter::default() };
        for text in ["ada", "LOVE", "ada lovelace", " countess@ ", "example.ORG", ""] {
            assert!(search(text).accepts(&viewer, &target), "{text:?}");
        }
        for text in ["lovelace ada", "babbage", "ada@"] {
            assert!(!search(text).accepts(&viewer, &target), "{text:?}");
        }
        assert_eq!(search_text("   ").unwrap(), None);
        assert!(search_text(&"x".repeat(MAX_SEARCH_LENGTH + 1)).is_err());
    }

    fn teams() -> HashMap<String, Team> {
        ["red", "blue", "green"]
            .iter()
            .map(|t| {
                (
                    t.to_string(),
                    Team {
                        id: t.to_string(),
                        organization: "lab".into(),
                        name: t.to_uppercase(),
                        is_organization_team: false,
                        deleting: false,
                        created: 0,
                    },
                )
            })
            .collect()
    }

    fn patch_teams(teams: &[(&str, bool)]) -> UserPatch {
        UserPatch {
            teams: Some(
                teams.iter().map(|(id, m)| TeamMembershipInput { id: id.to_string(), is_team_manager: *m }).collect(),
            ),
            ..UserPatch::default()
        }
    }

    #[test]
    fn admins_set_teams_exactly() {
        let admin = User { is_admin: true, ..user("admin", &[]) };
        let target = user("t", &[("red", false), ("blue", false)]);
        let planned = plan_change(&admin, &target, &patch_teams(&[("green", true)]), &teams()).unwrap();
        assert_eq!(planned.after.teams.keys().collect::<Vec<_>>(), ["green"]);
        assert!(planned.access_changed && !planned.needs_admin);
    }

    #[test]
    fn team_managers_change_only_managed_teams_and_ignore_others() {
        let manager = user("m", &[("red", true)]);
        let target = user("t", &[("red", false), ("blue", false)]);
        let planned = plan_change(&manager, &target, &patch_teams(&[("green", true)]), &teams()).unwrap();
        // Red (managed) left, Blue (not managed) kept, Green (not managed) ignored.
        assert_eq!(planned.after.teams.keys().collect::<Vec<_>>(), ["blue"]);
    }

    #[test]
    fn unseen_users_are_not_found_and_admin_fields_need_admins() {
        let manager = user("m", &[("red", true)]);
        let outsider = user("o", &[("blue", false)]);
        assert_eq!(
            plan_change(&manager, &outsider, &UserPatch::default(), &teams()).unwrap_err().code,
            "user.notFound"
        );
        let member = user("t", &[("red", false)]);
        let promote = UserPatch { is_admin: Some(true), ..UserPatch::default() };
        assert_eq!(plan_change(&manager, &member, &promote, &teams()).unwrap_err().code, "user.admin.notAllowed");
        let unchanged = UserPatch { is_admin: Some(false), is_active: Some(true), ..UserPatch::default() };
        assert!(plan_change(&manager, &member, &unchanged, &teams()).is_ok(), "unchanged fields need no rights");
    }

    #[test]
    fn deactivation_rules() {
        let admin = User { is_admin: true, ..user("admin", &[]) };
        let owner = User { is_organization_owner: true, is_admin: true, ..user("owner", &[]) };
        let deactivate = UserPatch { is_active: Some(false), ..UserPatch::default() };
        assert_eq!(plan_change(&admin, &admin, &deactivate, &teams()).unwrap_err().code, "user.deactivate.self");
        assert_eq!(plan_change(&admin, &owner, &deactivate, &teams()).unwrap_err().code, "user.deactivate.owner");
        let other_admin = User { is_admin: true, ..user("other", &[]) };
        let planned = plan_change(&admin, &other_admin, &deactivate, &teams()).unwrap();
        assert!(planned.deactivated && planned.loses_admin && planned.needs_admin);
        assert_eq!(planned.after.session_epoch, other_admin.session_epoch + 1, "its sessions and tokens end for good");
    }

    #[test]
    fn only_admins_bring_back_a_user_with_rights() {
        let admin = User { is_admin: true, ..user("admin", &[]) };
        let manager = user("manager", &[("red", true)]);
        let activate = UserPatch { is_active: Some(true), ..UserPatch::default() };
        let plain = User { is_deactivated: true, ..user("plain", &[("red", false)]) };
        assert!(plan_change(&manager, &plain, &activate, &teams()).unwrap().activated);
        for holder in [
            User { is_admin: true, ..plain.clone() },
            User { is_dataset_manager: true, ..plain.clone() },
            User { is_admin: true, may_delete_organization: true, ..plain.clone() },
        ] {
            assert_eq!(
                plan_change(&manager, &holder, &activate, &teams()).unwrap_err().code,
                "user.activate.adminRights"
            );
            let planned = plan_change(&admin, &holder, &activate, &teams()).unwrap();
            assert!(planned.activated && planned.needs_admin);
        }
    }

    #[test]
    fn deleting_teams_cannot_be_joined() {
        let admin = User { is_admin: true, ..user("admin", &[]) };
        let mut all = teams();
        all.get_mut("red").unwrap().deleting = true;
        let error = plan_change(&admin, &user("t", &[]), &patch_teams(&[("red", false)]), &all).unwrap_err();
        assert_eq!(error.code, "team.notFound");
    }
}
