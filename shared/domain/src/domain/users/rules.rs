//! The rules of a user change, as pure functions: who may see whom, and what a `PATCH /users/{id}` (or one
//! user of a bulk change) does to the target as read, or why it is refused. Unit-tested without services.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Deserialize;

use super::UserError;
use crate::domain::teams::TeamMembershipInput;
use crate::error::DomainError;
use crate::model::{Team, TeamRole, User};
use crate::policy::may_edit_user;
use crate::validate;

/// Most users one bulk request may change.
pub(crate) const BULK_LIMIT: usize = 100;

/// Most teams one user may be in.
pub(crate) const MAX_TEAMS_PER_USER: usize = 40;

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
) -> Result<BTreeMap<String, TeamRole>, DomainError> {
    let mut wanted: BTreeMap<&str, bool> = BTreeMap::new();
    for membership in submitted {
        if wanted.insert(&membership.id, membership.is_team_manager).is_some() {
            return Err(UserError::TeamListedTwice { team: membership.id.clone() }.into());
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
        // A membership kept as it is names no team to look up: only joining or a new role does.
        if let Some(role) = target.teams.get(team_id).filter(|role| role.is_team_manager == is_team_manager) {
            result.insert(team_id.to_owned(), role.clone());
            continue;
        }
        let team = teams
            .get(team_id)
            .filter(|t| !t.deleting)
            .ok_or_else(|| UserError::NoSuchTeam { team: team_id.to_owned() })?;
        result.insert(team_id.to_owned(), TeamRole { name: team.name.clone(), is_team_manager });
    }
    if result.len() > MAX_TEAMS_PER_USER {
        return Err(UserError::TooManyTeams.into());
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
) -> Result<Planned, DomainError> {
    if !may_see_user(caller, target) {
        return Err(UserError::NotFound.into());
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
        return Err(UserError::NameNotAllowed.into());
    }

    let (mut activated, mut deactivated) = (false, false);
    match patch.is_active {
        Some(true) if target.is_deactivated => {
            if !may_edit {
                return Err(UserError::ActivateNotAllowed.into());
            }
            // Bringing back admin, dataset-manager or deletion rights is an admin's decision (granting new
            // ones is refused below).
            if target.is_admin || target.is_dataset_manager || target.may_delete_organization {
                if !caller.is_admin {
                    return Err(UserError::ActivateAdminRights.into());
                }
                needs_admin = true;
            }
            after.is_deactivated = false;
            activated = true;
        }
        Some(false) if !target.is_deactivated => {
            if !caller.is_admin {
                return Err(UserError::DeactivateNotAllowed.into());
            }
            if is_self {
                return Err(UserError::DeactivateSelf.into());
            }
            if target.is_organization_owner {
                return Err(UserError::DeactivateOwner.into());
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
            return Err(UserError::AdminNotAllowed.into());
        }
        if !is_admin && target.is_organization_owner && !is_self {
            return Err(UserError::AdminOwner.into());
        }
        after.is_admin = is_admin;
        needs_admin = true;
    }
    if let Some(is_dataset_manager) = patch.is_dataset_manager.filter(|v| *v != target.is_dataset_manager) {
        if !caller.is_admin {
            return Err(UserError::DatasetManagerNotAllowed.into());
        }
        after.is_dataset_manager = is_dataset_manager;
        needs_admin = true;
    }

    if let Some(may_delete) = patch.may_delete_organization.filter(|v| *v != target.may_delete_organization) {
        if !caller.is_organization_owner {
            return Err(UserError::DeletionRightNotAllowed.into());
        }
        after.may_delete_organization = may_delete;
    }
    if let Some(submitted) = &patch.teams {
        let teams_after = planned_teams(caller, target, submitted, teams)?;
        if teams_after != target.teams && !may_edit {
            return Err(UserError::TeamsNotAllowed.into());
        }
        after.teams = teams_after;
    }

    if let Some(experiences) = &patch.experiences {
        let experiences = validate::experiences(experiences)?;
        if experiences != target.experiences && !may_edit {
            return Err(UserError::ExperiencesNotAllowed.into());
        }
        after.experiences = experiences;
    }

    if after.may_delete_organization && !after.is_admin {
        if patch.may_delete_organization == Some(true) {
            return Err(UserError::DeletionRightAdminsOnly.into());
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

/// Which admin a change must find still an active admin when it commits (the last-admin rule, enforced by a
/// condition in the same transaction).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AdminCheck {
    /// The change needs no admin rights and takes none away.
    None,
    /// The caller, whose admin rights the change needs (so rights revoked meanwhile cannot race it).
    Caller,
    /// An active admin other than these users, who lose their admin rights (the caller among them).
    AnotherAdmin { losing: BTreeSet<String> },
}

pub(crate) fn admin_check(caller: &User, planned: &[&Planned]) -> AdminCheck {
    let losing: BTreeSet<String> = planned.iter().filter(|p| p.loses_admin).map(|p| p.after.id.clone()).collect();
    if losing.contains(&caller.id) {
        AdminCheck::AnotherAdmin { losing }
    } else if planned.iter().any(|p| p.needs_admin || p.loses_admin) {
        AdminCheck::Caller
    } else {
        AdminCheck::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::user;

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

    #[test]
    fn names_are_changed_by_their_owner_or_an_admin_and_validated() {
        let admin = User { is_admin: true, ..user("admin", &[]) };
        let manager = user("manager", &[("red", true)]);
        let member = user("member", &[("red", false)]);
        let rename = UserPatch { first_name: Some("  Ada ".into()), ..UserPatch::default() };
        assert_eq!(plan_change(&member, &member, &rename, &teams()).unwrap().after.first_name, "Ada");
        assert_eq!(plan_change(&admin, &member, &rename, &teams()).unwrap().after.first_name, "Ada");
        assert_eq!(plan_change(&manager, &member, &rename, &teams()).unwrap_err().code, "user.name.notAllowed");
        let empty = UserPatch { last_name: Some("   ".into()), ..UserPatch::default() };
        assert!(plan_change(&member, &member, &empty, &teams()).unwrap_err().kind == crate::ErrorKind::Invalid);
        let same = UserPatch { first_name: Some(member.first_name.clone()), ..UserPatch::default() };
        assert!(plan_change(&manager, &member, &same, &teams()).is_ok(), "a name sent unchanged needs no right");
    }

    #[test]
    fn the_owner_keeps_admin_rights_unless_giving_them_up_and_only_admins_grant_dataset_manager() {
        let owner = User { is_organization_owner: true, is_admin: true, ..user("owner", &[]) };
        let admin = User { is_admin: true, ..user("admin", &[]) };
        let demote = UserPatch { is_admin: Some(false), ..UserPatch::default() };
        assert_eq!(plan_change(&admin, &owner, &demote, &teams()).unwrap_err().code, "user.admin.owner");
        let gave_up = plan_change(&owner, &owner, &demote, &teams()).unwrap();
        assert!(!gave_up.after.is_admin && gave_up.loses_admin && gave_up.needs_admin);

        let member = user("member", &[("red", false)]);
        let manager = user("manager", &[("red", true)]);
        let grant = UserPatch { is_dataset_manager: Some(true), ..UserPatch::default() };
        assert_eq!(
            plan_change(&manager, &member, &grant, &teams()).unwrap_err().code,
            "user.datasetManager.notAllowed"
        );
        let granted = plan_change(&admin, &member, &grant, &teams()).unwrap();
        assert!(granted.after.is_dataset_manager && granted.access_changed && granted.needs_admin);
    }

    #[test]
    fn only_the_owner_grants_the_deletion_right_and_only_to_admins_who_lose_it_with_admin() {
        let owner = User { is_organization_owner: true, is_admin: true, ..user("owner", &[]) };
        let admin = User { is_admin: true, ..user("admin", &[]) };
        let other_admin = User { is_admin: true, ..user("other", &[]) };
        let allow = UserPatch { may_delete_organization: Some(true), ..UserPatch::default() };
        assert_eq!(
            plan_change(&admin, &other_admin, &allow, &teams()).unwrap_err().code,
            "user.deletionRight.notAllowed"
        );
        assert!(plan_change(&owner, &other_admin, &allow, &teams()).unwrap().after.may_delete_organization);
        let member = user("member", &[]);
        assert_eq!(plan_change(&owner, &member, &allow, &teams()).unwrap_err().code, "user.deletionRight.adminsOnly");
        let grantee = User { may_delete_organization: true, ..other_admin.clone() };
        let demote = UserPatch { is_admin: Some(false), ..UserPatch::default() };
        assert!(!plan_change(&owner, &grantee, &demote, &teams()).unwrap().after.may_delete_organization);
    }

    #[test]
    fn experiences_are_set_by_admins_and_the_users_team_managers_and_validated() {
        let manager = user("manager", &[("red", true)]);
        let member = user("member", &[("red", false)]);
        let outsider_manager = user("blue-manager", &[("blue", true)]);
        let set = |value: i64| UserPatch {
            experiences: Some([("nuclei".to_owned(), value)].into_iter().collect()),
            ..UserPatch::default()
        };
        assert_eq!(plan_change(&manager, &member, &set(7), &teams()).unwrap().after.experiences["nuclei"], 7);
        assert_eq!(plan_change(&member, &member, &set(7), &teams()).unwrap_err().code, "user.experiences.notAllowed");
        assert_eq!(plan_change(&outsider_manager, &member, &set(7), &teams()).unwrap_err().code, "user.notFound");
        assert_eq!(plan_change(&manager, &member, &set(-1), &teams()).unwrap_err().code, "experience.value.outOfRange");
    }

    #[test]
    fn team_lists_must_name_each_team_once_and_stay_within_the_limit() {
        let admin = User { is_admin: true, ..user("admin", &[]) };
        let target = user("t", &[]);
        let twice = patch_teams(&[("red", false), ("red", true)]);
        assert_eq!(plan_change(&admin, &target, &twice, &teams()).unwrap_err().code, "user.teams.duplicate");
        let unknown = patch_teams(&[("purple", false)]);
        assert_eq!(plan_change(&admin, &target, &unknown, &teams()).unwrap_err().code, "team.notFound");
        let many: HashMap<String, Team> = (0..=MAX_TEAMS_PER_USER)
            .map(|i| {
                let id = format!("t{i}");
                let team = Team { id: id.clone(), name: id.clone(), ..teams()["red"].clone() };
                (id, team)
            })
            .collect();
        let all: Vec<(String, bool)> = many.keys().map(|id| (id.clone(), false)).collect();
        let patch = UserPatch {
            teams: Some(
                all.iter().map(|(id, m)| TeamMembershipInput { id: id.clone(), is_team_manager: *m }).collect(),
            ),
            ..UserPatch::default()
        };
        assert_eq!(plan_change(&admin, &target, &patch, &many).unwrap_err().code, "user.teams.tooMany");
    }

    #[test]
    fn who_sees_whom() {
        let admin = User { is_admin: true, ..user("admin", &[]) };
        let manager = user("manager", &[("red", true)]);
        let member = user("member", &[("red", false)]);
        let other = user("other", &[("blue", false)]);
        assert!(may_see_user(&admin, &other) && may_see_user(&manager, &member) && may_see_user(&member, &member));
        assert!(!may_see_user(&manager, &other) && !may_see_user(&member, &manager));
        let stranger = User { organization: "elsewhere".into(), ..admin.clone() };
        assert!(!may_see_user(&stranger, &member), "never across organizations");
        let deactivated_admin = User { is_deactivated: true, ..admin };
        assert!(!may_edit_user(&deactivated_admin, &member));
    }

    #[test]
    fn the_last_admin_rule_checks_the_caller_or_another_admin_who_stays() {
        let admin = User { is_admin: true, ..user("admin", &[]) };
        let other_admin = User { is_admin: true, ..user("other", &[]) };
        let member = user("member", &[("red", false)]);
        let rename =
            plan_change(&admin, &member, &UserPatch { first_name: Some("X".into()), ..UserPatch::default() }, &teams())
                .unwrap();
        assert_eq!(admin_check(&admin, &[&rename]), AdminCheck::None);
        let promote =
            plan_change(&admin, &member, &UserPatch { is_admin: Some(true), ..UserPatch::default() }, &teams())
                .unwrap();
        assert_eq!(admin_check(&admin, &[&promote]), AdminCheck::Caller);
        let demote = UserPatch { is_admin: Some(false), ..UserPatch::default() };
        let demote_other = plan_change(&admin, &other_admin, &demote, &teams()).unwrap();
        assert_eq!(admin_check(&admin, &[&demote_other]), AdminCheck::Caller, "the caller stays an admin");
        let demote_self = plan_change(&admin, &admin, &demote, &teams()).unwrap();
        assert_eq!(
            admin_check(&admin, &[&demote_self, &demote_other]),
            AdminCheck::AnotherAdmin { losing: ["admin".to_owned(), "other".to_owned()].into_iter().collect() }
        );
    }
}
