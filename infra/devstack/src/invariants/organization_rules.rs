//! The rules within one organization: 2 (its partition has its organization item), then, unless it is
//! being deleted, 5 to 16 and 21.

use std::collections::{BTreeMap, HashMap};

use accounts::model::{InviteEmailGuard, InviteState, User};

use super::load::{Org, Table};

pub(super) fn check(table: &Table, organization_id: &str, org: &Org, now_millis: i64, problems: &mut Vec<String>) {
    let accounts = &table.accounts;
    // Rule 2.
    let Some(organization) = &org.organization else {
        problems.push(format!(
            "partition ORG#{organization_id} has no organization item but holds {} item(s), e.g. {}",
            org.keys.len(),
            org.keys.first().cloned().unwrap_or_default()
        ));
        return;
    };
    if organization.is_being_deleted() {
        return;
    }
    let at = format!("organization {organization_id}");
    let user_at = |user: &User| format!("{at}: user {} ({})", user.id, user.email);

    // Rule 5.
    for user in org.users.values() {
        match accounts.get(&user.account_id) {
            None => problems.push(format!("{}: account {} does not exist", user_at(user), user.account_id)),
            Some(account) => {
                if account.identities.get(organization_id) != Some(&user.id) {
                    problems.push(format!(
                        "{}: account {} maps this organization to {:?}",
                        user_at(user),
                        account.id,
                        account.identities.get(organization_id)
                    ));
                }
                if account.email != user.email {
                    problems.push(format!("{}: e-mail differs from its account's {}", user_at(user), account.email));
                }
                if account.email_verified != user.is_email_verified {
                    problems.push(format!(
                        "{}: isEmailVerified {} differs from its account's {}",
                        user_at(user),
                        user.is_email_verified,
                        account.email_verified
                    ));
                }
            }
        }
    }

    // Rule 6.
    let members = org.users.len() as u64;
    let active = org.users.values().filter(|u| u.is_active()).count() as u64;
    if organization.member_count != members {
        problems.push(format!("{at}: memberCount {} but {members} users", organization.member_count));
    }
    if organization.active_user_count != active {
        problems.push(format!("{at}: activeUserCount {} but {active} active users", organization.active_user_count));
    }
    let credits: i64 = org.credits.iter().map(|c| c.milli_credits).sum();
    if organization.milli_credit_balance != credits {
        problems.push(format!(
            "{at}: milliCreditBalance {} but its credit transactions sum to {credits}",
            organization.milli_credit_balance
        ));
    }

    // Rule 7.
    let owners: Vec<&String> = org.users.values().filter(|u| u.is_organization_owner).map(|u| &u.id).collect();
    if organization.owner_user_id.is_empty() {
        if !owners.is_empty() {
            problems.push(format!("{at}: awaits its owner, yet users {owners:?} are owners"));
        }
    } else if owners != [&organization.owner_user_id] {
        problems.push(format!(
            "{at}: ownerUserId {} but the users marked owner are {owners:?}",
            organization.owner_user_id
        ));
    }

    // Rule 8.
    let organization_teams: Vec<&String> =
        org.teams.values().filter(|t| t.is_organization_team).map(|t| &t.id).collect();
    if organization_teams != [&organization.organization_team_id] {
        problems.push(format!(
            "{at}: organizationTeamId {} but the teams marked organization team are {organization_teams:?}",
            organization.organization_team_id
        ));
    }

    // Rule 9.
    if !org.users.is_empty() && !org.users.values().any(|u| u.is_admin && u.is_active()) {
        problems.push(format!("{at}: has users but no active admin"));
    }

    // Rule 10.
    for team in org.teams.values() {
        let sk = accounts::model::Key::team_name_guard(organization_id, &team.name).sk;
        match org.team_name_guards.get(&sk) {
            Some(guard) if guard.team_id == team.id => {}
            Some(guard) => problems
                .push(format!("{at}: team {} ({}): its name guard names team {}", team.id, team.name, guard.team_id)),
            None => problems.push(format!("{at}: team {} ({}) has no name guard", team.id, team.name)),
        }
    }
    for (sk, guard) in &org.team_name_guards {
        match org.teams.get(&guard.team_id) {
            None => {
                problems.push(format!("{at}: team name guard {sk} names team {}, which does not exist", guard.team_id))
            }
            Some(team) if accounts::model::Key::team_name_guard(organization_id, &team.name).sk != *sk => {
                problems.push(format!("{at}: team name guard {sk} names team {} called {}", team.id, team.name))
            }
            Some(_) => {}
        }
    }

    // Rule 11.
    let mut memberships: BTreeMap<(&str, &str), bool> = BTreeMap::new();
    for membership in &org.memberships {
        let where_ = format!("{at}: membership of user {} in team {}", membership.user_id, membership.team_id);
        memberships.insert((membership.user_id.as_str(), membership.team_id.as_str()), membership.is_team_manager);
        if !org.teams.contains_key(&membership.team_id) {
            problems.push(format!("{where_}: the team does not exist"));
        }
        match org.users.get(&membership.user_id) {
            None => problems.push(format!("{where_}: the user does not exist")),
            Some(user) => match user.teams.get(&membership.team_id) {
                None => problems.push(format!("{where_}: not in the user's teams")),
                Some(role) if role.is_team_manager != membership.is_team_manager => problems.push(format!(
                    "{where_}: manager {} but {} in the user's teams",
                    membership.is_team_manager, role.is_team_manager
                )),
                Some(_) => {}
            },
        }
    }
    for user in org.users.values() {
        for (team_id, role) in &user.teams {
            if !memberships.contains_key(&(user.id.as_str(), team_id.as_str())) {
                problems.push(format!("{}: in team {team_id} without its membership item", user_at(user)));
            }
            match org.teams.get(team_id) {
                None => problems.push(format!("{}: in team {team_id}, which does not exist", user_at(user))),
                Some(team) if team.name != role.name => problems.push(format!(
                    "{}: team {team_id} named {:?} in the user's teams but {:?}",
                    user_at(user),
                    role.name,
                    team.name
                )),
                Some(_) => {}
            }
        }
    }

    // Rules 12 and 13.
    let mut expected: BTreeMap<(&str, &str), i64> = BTreeMap::new();
    for user in org.users.values() {
        for (domain, value) in &user.experiences {
            if user.is_active() {
                expected.insert((user.id.as_str(), domain.as_str()), *value);
            }
            if !org.domains.contains(domain) {
                problems.push(format!("{}: experience domain {domain:?} is not in the domain list", user_at(user)));
            }
        }
    }
    let mut found: BTreeMap<(&str, &str), i64> = BTreeMap::new();
    for experience in &org.experiences {
        found.insert((experience.user_id.as_str(), experience.domain.as_str()), experience.value);
    }
    for (key, value) in &expected {
        match found.get(key) {
            Some(stored) if stored == value => {}
            Some(stored) => problems.push(format!(
                "{at}: experience item of user {} in {:?} holds {stored}, the user {value}",
                key.0, key.1
            )),
            None => problems.push(format!(
                "{at}: active user {} has experience {:?} = {value} but no experience item",
                key.0, key.1
            )),
        }
    }
    for key in found.keys().filter(|k| !expected.contains_key(*k)) {
        problems.push(format!(
            "{at}: experience item of user {} in {:?} matches no experience of an active user",
            key.0, key.1
        ));
    }

    // Rule 14.
    let named_users = org
        .sessions
        .iter()
        .map(|s| ("session", &s.user_id))
        .chain(org.api_tokens.iter().map(|t| ("API token", &t.user_id)))
        .chain(org.idempotency.iter().filter_map(|r| r.user_id.as_ref().map(|u| ("idempotency record", u))));
    for (what, user_id) in named_users {
        if !org.users.contains_key(user_id) {
            problems.push(format!("{at}: a {what} names user {user_id}, which does not exist"));
        }
    }

    // Rule 15.
    let mut guard_of: HashMap<&str, &InviteEmailGuard> = HashMap::new();
    for guard in &org.invite_guards {
        guard_of.insert(guard.email.as_str(), guard);
        match org.invites.get(&guard.invite_id) {
            None => problems.push(format!(
                "{at}: invite guard of {} names invite {}, which does not exist",
                guard.email, guard.invite_id
            )),
            Some(invite)
                if invite.state != InviteState::Pending
                    || invite.email != guard.email
                    || invite.valid_until != guard.valid_until =>
            {
                problems.push(format!(
                    "{at}: invite guard of {} (valid until {}) names invite {} ({:?}, {}, valid until {})",
                    guard.email, guard.valid_until, invite.id, invite.state, invite.email, invite.valid_until
                ))
            }
            Some(_) => {}
        }
    }
    for invite in org.invites.values() {
        let where_ = format!("{at}: invite {} to {}", invite.id, invite.email);
        match invite.state {
            InviteState::Pending => {
                if invite.valid_until > now_millis
                    && guard_of.get(invite.email.as_str()).is_none_or(|g| g.invite_id != invite.id)
                {
                    problems.push(format!("{where_}: pending and valid, but the address's guard does not name it"));
                }
                // Rule 16.
                for team_id in invite.teams.keys().filter(|t| !org.teams.contains_key(*t)) {
                    problems.push(format!("{where_}: names team {team_id}, which does not exist"));
                }
            }
            InviteState::Accepted => match &invite.accepted_by_user {
                Some(user) if org.users.contains_key(user) => {}
                Some(user) => problems.push(format!("{where_}: accepted by user {user}, which does not exist")),
                None => problems.push(format!("{where_}: accepted by nobody")),
            },
            InviteState::Revoked => {}
        }
    }

    // Rule 21.
    for entry in &org.audit {
        let where_ = format!("{at}: audit entry {} ({})", entry.id, entry.action);
        if !accounts::domain::audit::CATALOGUE.iter().any(|(action, _)| *action == entry.action) {
            problems.push(format!("{where_}: the action is not in the catalogue"));
        }
        let Some(subject) = entry.targets.first() else {
            problems.push(format!("{where_}: has no subject"));
            continue;
        };
        let user_actor = matches!(entry.actor.kind.as_str(), "user") && entry.actor.id.is_some();
        if user_actor && !org.users.contains_key(entry.actor.id.as_deref().unwrap_or_default()) {
            problems.push(format!("{where_}: its actor {:?} is no user of the organization", entry.actor.id));
        }
        if subject.kind == "user" && !org.users.contains_key(&subject.id) {
            problems.push(format!("{where_}: its subject {} is no user of the organization", subject.id));
        }
        if !entry.change.is_empty()
            && !serde_json::from_str::<serde_json::Value>(&entry.change).is_ok_and(|c| c.is_object())
        {
            problems.push(format!("{where_}: its change is not a JSON object"));
        }
    }
}
