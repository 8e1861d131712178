//! Values for the unit tests of the rules.

use std::collections::BTreeMap;

use crate::model::{TeamRole, User};

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
