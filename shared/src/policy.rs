//! WEBKNOSSOS's permission rules, as pure functions of the caller and the target.

use crate::model::User;

/// Admins edit everyone in their organization; team managers edit members of the teams they manage.
pub fn may_edit_user(caller: &User, target: &User) -> bool {
    if caller.organization != target.organization || caller.is_deactivated {
        return false;
    }
    caller.is_admin || target.teams.keys().any(|team_id| caller.is_team_manager_of(team_id))
}
