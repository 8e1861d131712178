//! Which entries a user change makes: pure functions over the user before and after.

use serde_json::{Map, Value, json};

use super::old_new;
use crate::model::User;

/// The actions and changes recorded for `before` becoming `after`, one entry per kind of change (so the
/// action filter finds each): activation, names, teams and rights, experiences, e-mail address, password.
/// `password_changed` says whether the account's password changed with it (the user item does not show
/// it). Secrets never appear: a password change is recorded as the fact alone.
pub(crate) fn user_change_entries(before: &User, after: &User, password_changed: bool) -> Vec<(&'static str, Value)> {
    let mut entries = Vec::new();
    if before.is_deactivated != after.is_deactivated {
        let action = if after.is_deactivated {
            "user.deactivated"
        } else if before.last_activity > before.created {
            // Someone who used the organization before was deactivated since.
            "user.reactivated"
        } else {
            "user.activated"
        };
        entries.push((action, json!({ "isDeactivated": old_new(before.is_deactivated, after.is_deactivated) })));
    }
    let mut names = Map::new();
    if before.first_name != after.first_name {
        names.insert("firstName".into(), old_new(before.first_name.as_str(), after.first_name.as_str()));
    }
    if before.last_name != after.last_name {
        names.insert("lastName".into(), old_new(before.last_name.as_str(), after.last_name.as_str()));
    }
    if !names.is_empty() {
        entries.push(("user.changed", Value::Object(names)));
    }
    let mut access = Map::new();
    if before.teams != after.teams {
        access.insert("teams".into(), old_new(teams(before), teams(after)));
    }
    for (field, old, new) in [
        ("isAdmin", before.is_admin, after.is_admin),
        ("isDatasetManager", before.is_dataset_manager, after.is_dataset_manager),
        ("mayDeleteOrganization", before.may_delete_organization, after.may_delete_organization),
    ] {
        if old != new {
            access.insert(field.into(), old_new(old, new));
        }
    }
    if !access.is_empty() {
        entries.push(("user.teamsAndPermissionsChanged", Value::Object(access)));
    }
    if before.experiences != after.experiences {
        let changed = |from: &User, to: &User| -> Map<String, Value> {
            from.experiences
                .iter()
                .filter(|(domain, value)| to.experiences.get(*domain) != Some(value))
                .map(|(domain, value)| (domain.clone(), json!(value)))
                .collect()
        };
        entries.push(("user.experiencesChanged", old_new(changed(before, after), changed(after, before))));
    }
    if before.email != after.email {
        entries
            .push(("account.emailChanged", json!({ "email": old_new(before.email.as_str(), after.email.as_str()) })));
    }
    if password_changed {
        entries.push(("account.passwordChanged", json!({})));
    }
    entries
}

/// A user's teams as the log shows them: `[{id, name, isTeamManager}]`.
fn teams(user: &User) -> Value {
    user.teams
        .iter()
        .map(|(id, role)| json!({ "id": id, "name": role.name, "isTeamManager": role.is_team_manager }))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::user;
    use crate::model::TeamRole;

    fn actions(entries: &[(&'static str, Value)]) -> Vec<&'static str> {
        entries.iter().map(|(action, _)| *action).collect()
    }

    #[test]
    fn nothing_changed_makes_no_entry() {
        let before = user("a", &[]);
        assert!(user_change_entries(&before, &before.clone(), false).is_empty());
    }

    #[test]
    fn activation_of_a_new_user_and_of_one_who_was_active_before_are_told_apart() {
        let mut waiting = user("a", &[]);
        waiting.is_deactivated = true;
        waiting.last_activity = waiting.created;
        let active = User { is_deactivated: false, ..waiting.clone() };
        assert_eq!(actions(&user_change_entries(&waiting, &active, false)), ["user.activated"]);
        let mut used = waiting.clone();
        used.last_activity = used.created + 1;
        let back = User { is_deactivated: false, ..used.clone() };
        assert_eq!(actions(&user_change_entries(&used, &back, false)), ["user.reactivated"]);
        assert_eq!(actions(&user_change_entries(&back, &used, false)), ["user.deactivated"]);
    }

    #[test]
    fn each_kind_of_change_is_its_own_entry_with_old_and_new_values() {
        let before = user("a", &[]);
        let mut after = before.clone();
        after.first_name = "Grace".into();
        after.is_admin = true;
        after.teams.insert("t1".into(), TeamRole { name: "Lab".into(), is_team_manager: true });
        after.experiences.insert("tracing".into(), 3);
        after.email = "new@example.org".into();
        let entries = user_change_entries(&before, &after, true);
        assert_eq!(
            actions(&entries),
            [
                "user.changed",
                "user.teamsAndPermissionsChanged",
                "user.experiencesChanged",
                "account.emailChanged",
                "account.passwordChanged"
            ]
        );
        assert_eq!(entries[0].1["firstName"], json!({ "old": before.first_name, "new": "Grace" }));
        assert_eq!(entries[1].1["isAdmin"], json!({ "old": false, "new": true }));
        assert_eq!(entries[1].1["teams"]["new"][0], json!({ "id": "t1", "name": "Lab", "isTeamManager": true }));
        assert_eq!(entries[2].1, json!({ "old": {}, "new": { "tracing": 3 } }));
        assert_eq!(entries[4].1, json!({}));
    }
}
