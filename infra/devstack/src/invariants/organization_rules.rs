//! The rules within one organization: 2 (its partition has its organization item), then, unless it is
//! being deleted, 5 to 16, 21 and 31, each a function of [`RULES`].

use std::collections::{BTreeMap, BTreeSet, HashMap};

use accounts::model::{InviteEmailGuard, InviteState, Organization, User};

use super::load::{Org, Table};

/// What a rule within an organization sees: the whole table, and the organization's items.
struct Scope<'a> {
    table: &'a Table,
    organization_id: &'a str,
    org: &'a Org,
    organization: &'a Organization,
    now_millis: i64,
    /// How a problem names the organization.
    at: String,
}

impl Scope<'_> {
    fn user_at(&self, user: &User) -> String {
        format!("{}: user {} ({})", self.at, user.id, user.email)
    }
}

type Rule = fn(&Scope, &mut Vec<String>);

/// The rules within an organization that is not being deleted, by number (the module's comment says each).
const RULES: &[(u8, Rule)] = &[
    (5, users_match_their_accounts),
    (6, counters_match_their_items),
    (7, one_owner_or_none_awaited),
    (8, one_organization_team),
    (9, an_active_admin),
    (10, team_name_guards_match_teams),
    (11, memberships_match_team_maps),
    (12, experience_items_match_active_users),
    (13, experience_domains_are_listed),
    (14, credentials_name_users),
    (15, invite_guards_match_pending_invites),
    (16, invites_name_what_exists),
    (21, audit_entries_are_well_formed),
    (31, ownership_offers_come_from_the_owner),
];

pub(super) fn check(table: &Table, organization_id: &str, org: &Org, now_millis: i64, problems: &mut Vec<String>) {
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
    let scope =
        Scope { table, organization_id, org, organization, now_millis, at: format!("organization {organization_id}") };
    for (number, rule) in RULES {
        let before = problems.len();
        rule(&scope, problems);
        super::number_from(before, *number, problems);
    }
}

/// Rule 5: each user belongs to an account that maps the organization to it, with its e-mail and verification state.
fn users_match_their_accounts(scope: &Scope, problems: &mut Vec<String>) {
    let Scope { table, organization_id, org, .. } = scope;
    let accounts = &table.accounts;
    for user in org.users.values() {
        match accounts.get(&user.account_id) {
            None => problems.push(format!("{}: account {} does not exist", scope.user_at(user), user.account_id)),
            Some(account) => {
                if account.identities.get(*organization_id) != Some(&user.id) {
                    problems.push(format!(
                        "{}: account {} maps this organization to {:?}",
                        scope.user_at(user),
                        account.id,
                        account.identities.get(*organization_id)
                    ));
                }
                if account.email != user.email {
                    problems.push(format!(
                        "{}: e-mail differs from its account's {}",
                        scope.user_at(user),
                        account.email
                    ));
                }
                if account.email_verified != user.is_email_verified {
                    problems.push(format!(
                        "{}: isEmailVerified {} differs from its account's {}",
                        scope.user_at(user),
                        user.is_email_verified,
                        account.email_verified
                    ));
                }
            }
        }
    }
}

/// Rule 6: `memberCount`, `activeUserCount` and `milliCreditBalance` match the items they count.
fn counters_match_their_items(scope: &Scope, problems: &mut Vec<String>) {
    let Scope { org, organization, at, .. } = scope;
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
}

/// Rule 7: `ownerUserId` names the one owner, or is empty with no owner.
fn one_owner_or_none_awaited(scope: &Scope, problems: &mut Vec<String>) {
    let Scope { org, organization, at, .. } = scope;
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
}

/// Rule 31: an ownership offer comes from the organization's owner and names another user of it.
fn ownership_offers_come_from_the_owner(scope: &Scope, problems: &mut Vec<String>) {
    let Scope { org, organization, at, .. } = scope;
    let Some(offer) = &org.ownership_transfer else { return };
    if offer.from_user_id != organization.owner_user_id {
        problems.push(format!("{at}: an ownership offer from {}, who is not the owner", offer.from_user_id));
    }
    if offer.to_user_id == offer.from_user_id || !org.users.contains_key(&offer.to_user_id) {
        problems.push(format!("{at}: an ownership offer to {}, who is no other user here", offer.to_user_id));
    }
}

/// Rule 8: `organizationTeamId` names the one organization team.
fn one_organization_team(scope: &Scope, problems: &mut Vec<String>) {
    let Scope { org, organization, at, .. } = scope;
    let organization_teams: Vec<&String> =
        org.teams.values().filter(|t| t.is_organization_team).map(|t| &t.id).collect();
    if organization_teams != [&organization.organization_team_id] {
        problems.push(format!(
            "{at}: organizationTeamId {} but the teams marked organization team are {organization_teams:?}",
            organization.organization_team_id
        ));
    }
}

/// Rule 9: an organization with users has an active admin.
fn an_active_admin(scope: &Scope, problems: &mut Vec<String>) {
    let Scope { org, at, .. } = scope;
    if !org.users.is_empty() && !org.users.values().any(|u| u.is_admin && u.is_active()) {
        problems.push(format!("{at}: has users but no active admin"));
    }
}

/// Rule 10: team name guards and teams match both ways.
fn team_name_guards_match_teams(scope: &Scope, problems: &mut Vec<String>) {
    let Scope { organization_id, org, at, .. } = scope;
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
}

/// Rule 11: memberships and the users' team maps match both ways.
fn memberships_match_team_maps(scope: &Scope, problems: &mut Vec<String>) {
    let Scope { org, at, .. } = scope;
    let mut memberships: BTreeSet<(&str, &str)> = BTreeSet::new();
    for membership in &org.memberships {
        let where_ = format!("{at}: membership of user {} in team {}", membership.user_id, membership.team_id);
        memberships.insert((membership.user_id.as_str(), membership.team_id.as_str()));
        if !org.teams.contains_key(&membership.team_id) {
            problems.push(format!("{where_}: the team does not exist"));
        }
        match org.users.get(&membership.user_id) {
            None => problems.push(format!("{where_}: the user does not exist")),
            Some(user) if !user.teams.contains_key(&membership.team_id) => {
                problems.push(format!("{where_}: not in the user's teams"))
            }
            Some(_) => {}
        }
    }
    for user in org.users.values() {
        for (team_id, role) in &user.teams {
            if !memberships.contains(&(user.id.as_str(), team_id.as_str())) {
                problems.push(format!("{}: in team {team_id} without its membership item", scope.user_at(user)));
            }
            match org.teams.get(team_id) {
                None => problems.push(format!("{}: in team {team_id}, which does not exist", scope.user_at(user))),
                Some(team) if team.name != role.name => problems.push(format!(
                    "{}: team {team_id} named {:?} in the user's teams but {:?}",
                    scope.user_at(user),
                    role.name,
                    team.name
                )),
                Some(_) => {}
            }
        }
    }
}

/// Rule 12: experience index items exist exactly for the experiences of active users, with their values.
fn experience_items_match_active_users(scope: &Scope, problems: &mut Vec<String>) {
    let Scope { org, at, .. } = scope;
    let mut expected: BTreeMap<(&str, &str), i64> = BTreeMap::new();
    for user in org.users.values() {
        for (domain, value) in user.experiences.iter().filter(|_| user.is_active()) {
            expected.insert((user.id.as_str(), domain.as_str()), *value);
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
}

/// Rule 13: the domain list holds every domain a user (active or not) has an experience in.
fn experience_domains_are_listed(scope: &Scope, problems: &mut Vec<String>) {
    for user in scope.org.users.values() {
        for domain in user.experiences.keys().filter(|domain| !scope.org.domains.contains(*domain)) {
            problems.push(format!("{}: experience domain {domain:?} is not in the domain list", scope.user_at(user)));
        }
    }
}

/// Rule 14: sessions, API tokens and caller-scoped idempotency records name a user of the organization.
fn credentials_name_users(scope: &Scope, problems: &mut Vec<String>) {
    let Scope { org, at, .. } = scope;
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
}

/// Rule 15: each invite e-mail guard names a pending invite of its address with its `validUntil`; each
/// pending invite still valid has its address's guard naming it.
fn invite_guards_match_pending_invites(scope: &Scope, problems: &mut Vec<String>) {
    let Scope { org, at, now_millis, .. } = scope;
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
    let pending = org.invites.values().filter(|invite| invite.state == InviteState::Pending);
    for invite in pending.filter(|invite| invite.valid_until > *now_millis) {
        if guard_of.get(invite.email.as_str()).is_none_or(|g| g.invite_id != invite.id) {
            problems.push(format!(
                "{at}: invite {} to {}: pending and valid, but the address's guard does not name it",
                invite.id, invite.email
            ));
        }
    }
}

/// Rule 16: pending invites name only existing teams; accepted ones name the user they made.
fn invites_name_what_exists(scope: &Scope, problems: &mut Vec<String>) {
    let Scope { org, at, .. } = scope;
    for invite in org.invites.values() {
        let where_ = format!("{at}: invite {} to {}", invite.id, invite.email);
        match invite.state {
            InviteState::Pending => {
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
}

/// Rule 21: audit entries name a catalogued action, a subject, and users of the organization.
fn audit_entries_are_well_formed(scope: &Scope, problems: &mut Vec<String>) {
    let Scope { org, at, .. } = scope;
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
