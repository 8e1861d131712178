//! The invariant checker: reads a whole table (one Scan: an operator tool, never a request path) and
//! verifies every rule that spans items (docs/data-model.md). `check-invariants` runs it against a table;
//! every integration test ends with it (`TestEnv::finish`).
//!
//! What it checks (organizations whose deletion was accepted are being purged: for them only rule 2
//! applies, since their partition shrinks page by page and their accounts are detached along the way):
//!
//! 1. Every item has a string `PK` and `SK` and a known `entity`, decodes as that entity, has exactly the
//!    key its fields derive, and carries exactly the index and TTL attributes the model derives
//!    (`usersByName`, `nameKey`, `experienceKey`, `experienceValue`, `deletionPartition`,
//!    `deletionRequestedAt`, `remindPartition`, `remindAt`, `cleanupPartition`, `cleanupAt`, `expiresAt`,
//!    `planNoticePartition`, `planNoticeAt`).
//! 2. Every item of a partition `ORG#{id}` has its organization item there: nothing of a deleted (purged)
//!    organization remains.
//! 3. E-mail guards and accounts match both ways: each guard names an account with that e-mail, and each
//!    account's e-mail has a guard naming it.
//! 4. Each account has at least one identity; each identity (organization -> user) names an existing
//!    organization and a user there whose `accountId` is the account; `lastUsedOrganization` is one of its
//!    organizations.
//! 5. Each user (identity) belongs to an existing account whose identity map names this user for the
//!    organization, and carries the account's e-mail and its verification state (its copies).
//! 6. Counters match their items: `memberCount` = the organization's users, `activeUserCount` = its active
//!    users, `milliCreditBalance` = the sum of its credit transactions.
//! 7. `ownerUserId` is empty (awaiting its owner, with no owner among the users) or names a user with
//!    `isOrganizationOwner`, the only one with it.
//! 8. `organizationTeamId` names a team with `isOrganizationTeam`, the only one with it.
//! 9. An organization with users has an active admin.
//! 10. Team name guards and teams match both ways (a guard per team, under its lowercased name, naming it).
//! 11. Memberships and the users' team maps match both ways: each membership's team and user exist and
//!     the user's map has the team with the same manager flag; each map entry has its membership, and its
//!     team exists with the copied name.
//! 12. Experience index items exist exactly for the experiences of active users, with the same value.
//! 13. The domain list contains every domain a user (active or not) has an experience in.
//! 14. Sessions, API tokens and caller-scoped idempotency records name an existing user of their
//!     organization.
//! 15. Each invite e-mail guard names an existing pending invite of its address with the same
//!     `validUntil`; each pending invite that is still valid at `now` has its address's guard naming it.
//! 16. Pending invites name only existing teams; accepted invites name the user they made (which exists).
//! 17. Login throttles (the only items that are no model entity) are keyed `LOGIN#...`/`LOGIN` and carry
//!     their TTL.
//! 18. Password resets and e-mail verifications are keyed under their account (`ACCOUNT#{id}`, `RESET` or
//!     `VERIFY#{keyHash}`) and carry their TTL (rule 1); they may outlive a deleted account until it
//!     removes them, and name nothing else.
//! 19. An organization tombstone (`ORGID#{id}`/`TOMBSTONE`) names an id no organization has: a deleted
//!     organization's id is never taken again.
//! 20. Mail quota counters are keyed by organization or recipient and day, and carry their count and TTL.
//! 21. Audit entries (rule 1 covers their index attributes `auditActor`, `auditTarget`, `auditCategory`) name an action of the
//!     catalogue and have a subject; an actor or a subject that is a user names a user of the organization
//!     (identities are never deleted), and the change is empty or a JSON object.
//! 22. Plan updates are in their organization's partition (rule 2); plan requests are keyed
//!     `PLANREQUESTS`/`REQUEST#{id}` and carry their TTL (rule 1); they may outlive their organization.
//! 23. Job leases are keyed `JOB#{job}`/`LEASE` for a background function's name and carry their TTL.
//! 24. Undeliverable addresses are keyed `UNDELIVERABLE#{email}`/`UNDELIVERABLE` (rule 1) by a lowercased
//!     address and carry their TTL; they name nothing else and outlive any organization or account.
//! 25. Operator grants are keyed `OPERATORS`/`ACCOUNT#{id}` (rule 1) and name an existing account: the role
//!     goes with the account.
//! 26. Notification addresses are in their organization's partition (rule 2) and, while unconfirmed, carry
//!     their TTL.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use accounts::model::{
    Account, ApiToken, AuditEntry, CreditTransaction, EmailGuard, EmailVerification, Entity, ExperienceDomain,
    IdempotencyRecord, Invite, InviteEmailGuard, InviteState, JobLease, Membership, OperatorGrant, Organization,
    OrganizationTombstone, PasswordReset, PlanRequest, PlanUpdate, Session, Team, TeamNameGuard, UndeliverableAddress,
    User, UserExperience,
};
use accounts::store::{Item, to_item};
use aws_sdk_dynamodb::types::AttributeValue;

/// The attributes the model derives from an entity's fields for indexes and TTL.
const DERIVED: &[&str] = &[
    "usersByName",
    "nameKey",
    "experienceKey",
    "experienceValue",
    "deletionPartition",
    "deletionRequestedAt",
    "remindPartition",
    "remindAt",
    "cleanupPartition",
    "cleanupAt",
    "expiresAt",
    "auditActor",
    "auditTarget",
    "auditCategory",
    "planNoticePartition",
    "planNoticeAt",
];

/// Every item of `table` (strongly consistent Scan, all pages; a tool's read, not checked against a
/// function's declaration).
pub async fn scan_table(client: &aws_sdk_dynamodb::Client, table: &str) -> Result<Vec<Item>, String> {
    accounts::declared_actions::unchecked(scan_all(client, table)).await
}

async fn scan_all(client: &aws_sdk_dynamodb::Client, table: &str) -> Result<Vec<Item>, String> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let output = client
            .scan()
            .table_name(table)
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| format!("Scan of {table}: {}", aws_sdk_dynamodb::error::DisplayErrorContext(&e)))?;
        items.extend(output.items.unwrap_or_default());
        start = output.last_evaluated_key;
        if start.is_none() {
            return Ok(items);
        }
    }
}

/// Scans `table` and returns every violated invariant (empty: all hold). `now_millis` decides which
/// invites are still valid.
pub async fn check_table(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    now_millis: i64,
) -> Result<Vec<String>, String> {
    Ok(check_items(scan_table(client, table).await?, now_millis))
}

fn text(item: &Item, name: &str) -> String {
    match item.get(name) {
        Some(AttributeValue::S(s)) => s.clone(),
        _ => String::new(),
    }
}

#[derive(Default)]
struct Org {
    organization: Option<Organization>,
    users: BTreeMap<String, User>,
    teams: BTreeMap<String, Team>,
    team_name_guards: BTreeMap<String, TeamNameGuard>,
    memberships: Vec<Membership>,
    experiences: Vec<UserExperience>,
    domains: BTreeSet<String>,
    credits: Vec<CreditTransaction>,
    sessions: Vec<Session>,
    api_tokens: Vec<ApiToken>,
    invites: BTreeMap<String, Invite>,
    invite_guards: Vec<InviteEmailGuard>,
    idempotency: Vec<IdempotencyRecord>,
    audit: Vec<AuditEntry>,
    /// Keys of every item of the partition (for rule 2).
    keys: Vec<String>,
}

/// Checks the invariants on a table's items (see the module documentation).
pub fn check_items(items: Vec<Item>, now_millis: i64) -> Vec<String> {
    let mut problems = Vec::new();
    let mut accounts: BTreeMap<String, Account> = BTreeMap::new();
    let mut email_guards: BTreeMap<String, EmailGuard> = BTreeMap::new();
    let mut orgs: BTreeMap<String, Org> = BTreeMap::new();
    let mut tombstones: Vec<String> = Vec::new();
    let mut operator_grants: Vec<OperatorGrant> = Vec::new();

    // Rule 1, and sorting the items by kind.
    for item in items {
        let (pk, sk, entity) = (text(&item, "PK"), text(&item, "SK"), text(&item, "entity"));
        let at = format!("{entity} {pk}/{sk}");
        if pk.is_empty() || sk.is_empty() {
            problems.push(format!("{at}: PK or SK missing or not a string"));
            continue;
        }
        macro_rules! decode {
            ($type:ty) => {{
                match decode::<$type>(&item) {
                    Ok((value, differences)) => {
                        problems.extend(differences.into_iter().map(|d| format!("{at}: {d}")));
                        value
                    }
                    Err(problem) => {
                        problems.push(format!("{at}: {problem}"));
                        continue;
                    }
                }
            }};
        }
        let organization = pk.strip_prefix("ORG#").map(str::to_owned);
        if let Some(organization) = &organization {
            orgs.entry(organization.clone()).or_default().keys.push(format!("{entity} {sk}"));
        }
        let in_org = |orgs: &mut BTreeMap<String, Org>, f: &mut dyn FnMut(&mut Org)| {
            if let Some(o) = &organization {
                f(orgs.get_mut(o).expect("inserted above"));
            }
        };
        match entity.as_str() {
            "Account" => {
                let account = decode!(Account);
                accounts.insert(account.id.clone(), account);
            }
            // Rule 18: decoding checks the key and the TTL.
            "PasswordReset" => {
                decode!(PasswordReset);
            }
            "EmailVerification" => {
                decode!(EmailVerification);
            }
            // Rule 26.
            "NotificationAddress" => {
                let value = decode!(accounts::model::NotificationAddress);
                if value.confirmed_at.is_none() && value.expires_at.is_none() {
                    problems.push(format!("{at}: an unconfirmed notification address carries its TTL"));
                }
            }
            "OperatorGrant" => {
                operator_grants.push(decode!(OperatorGrant));
            }
            "OrganizationTombstone" => {
                tombstones.push(decode!(OrganizationTombstone).id);
            }
            "EmailGuard" => {
                let guard = decode!(EmailGuard);
                email_guards.insert(guard.email.clone(), guard);
            }
            "Organization" => {
                let value = decode!(Organization);
                in_org(&mut orgs, &mut |o| o.organization = Some(value.clone()));
            }
            "CreditTransaction" => {
                let value = decode!(CreditTransaction);
                in_org(&mut orgs, &mut |o| o.credits.push(value.clone()));
            }
            "User" => {
                let value = decode!(User);
                in_org(&mut orgs, &mut |o| {
                    o.users.insert(value.id.clone(), value.clone());
                });
            }
            "Team" => {
                let value = decode!(Team);
                in_org(&mut orgs, &mut |o| {
                    o.teams.insert(value.id.clone(), value.clone());
                });
            }
            "TeamNameGuard" => {
                let value = decode!(TeamNameGuard);
                in_org(&mut orgs, &mut |o| {
                    o.team_name_guards.insert(sk.clone(), value.clone());
                });
            }
            "Membership" => {
                let value = decode!(Membership);
                in_org(&mut orgs, &mut |o| o.memberships.push(value.clone()));
            }
            "Session" => {
                let value = decode!(Session);
                in_org(&mut orgs, &mut |o| o.sessions.push(value.clone()));
            }
            "ApiToken" => {
                let value = decode!(ApiToken);
                in_org(&mut orgs, &mut |o| o.api_tokens.push(value.clone()));
            }
            "ExperienceDomain" => {
                let value = decode!(ExperienceDomain);
                in_org(&mut orgs, &mut |o| {
                    o.domains.insert(value.domain.clone());
                });
            }
            "UserExperience" => {
                let value = decode!(UserExperience);
                in_org(&mut orgs, &mut |o| o.experiences.push(value.clone()));
            }
            "Invite" => {
                let value = decode!(Invite);
                in_org(&mut orgs, &mut |o| {
                    o.invites.insert(value.id.clone(), value.clone());
                });
            }
            "InviteEmailGuard" => {
                let value = decode!(InviteEmailGuard);
                in_org(&mut orgs, &mut |o| o.invite_guards.push(value.clone()));
            }
            "IdempotencyRecord" => {
                let value = decode!(IdempotencyRecord);
                in_org(&mut orgs, &mut |o| o.idempotency.push(value.clone()));
            }
            "AuditEntry" => {
                let value = decode!(AuditEntry);
                in_org(&mut orgs, &mut |o| o.audit.push(value.clone()));
            }
            // Rule 22.
            "PlanUpdate" => {
                decode!(PlanUpdate);
            }
            // Rule 23.
            "JobLease" => {
                let value = decode!(JobLease);
                let known = accounts::background::BACKGROUND.iter().any(|f| f.name == value.job);
                if !known || value.expires_at <= 0 {
                    problems.push(format!("{at}: a job lease names a background function and carries its TTL"));
                }
            }
            // Rule 24.
            "UndeliverableAddress" => {
                let value = decode!(UndeliverableAddress);
                if value.email != value.email.to_lowercase() || !value.email.contains('@') {
                    problems.push(format!("{at}: an undeliverable address is a lowercased e-mail address"));
                }
                if value.expires_at <= 0 {
                    problems.push(format!("{at}: an undeliverable address carries its TTL"));
                }
            }
            "PlanRequest" => {
                let value = decode!(PlanRequest);
                if value.expires_at <= 0 {
                    problems.push(format!("{at}: a plan request carries its TTL"));
                }
            }
            // Counters of failed logins (written by UpdateItem only, not an `Entity`): keyed by address or
            // client, and always carrying their TTL.
            accounts::store::accounts::LOGIN_THROTTLE_KIND => {
                if !pk.starts_with("LOGIN#")
                    || sk != "LOGIN"
                    || !matches!(item.get("expiresAt"), Some(AttributeValue::N(_)))
                {
                    problems.push(format!("{at}: a login throttle is keyed LOGIN#.../LOGIN and carries expiresAt"));
                }
            }
            // Daily mail counters (UpdateItem only): the organization's in its partition, the recipient's
            // under the address, both with their TTL.
            accounts::store::quotas::MAIL_QUOTA_KIND => {
                let keyed = (pk.starts_with("ORG#") && sk.starts_with("MAILQUOTA#"))
                    || (pk.starts_with("MAILQUOTA#") && sk.starts_with("DAY#"));
                if !keyed
                    || !matches!(item.get("expiresAt"), Some(AttributeValue::N(_)))
                    || !matches!(item.get("sent"), Some(AttributeValue::N(_)))
                {
                    problems.push(format!("{at}: a mail quota is keyed ORG#.../MAILQUOTA#day or MAILQUOTA#.../DAY#day and carries sent and expiresAt"));
                }
            }
            other => problems.push(format!("{at}: unknown entity {other:?}")),
        }
    }

    // Rule 25.
    for grant in &operator_grants {
        if !accounts.contains_key(&grant.account_id) {
            problems.push(format!("OperatorGrant {}: an operator grant names no existing account", grant.account_id));
        }
    }

    // Rule 19.
    for id in &tombstones {
        if orgs.get(id).is_some_and(|o| o.organization.is_some()) {
            problems.push(format!("OrganizationTombstone {id}: an organization has this id again"));
        }
    }

    // Rule 3.
    for (email, guard) in &email_guards {
        match accounts.get(&guard.account_id) {
            None => {
                problems.push(format!("EmailGuard {email}: names account {} that does not exist", guard.account_id))
            }
            Some(account) if &account.email != email => problems
                .push(format!("EmailGuard {email}: names account {} whose e-mail is {}", account.id, account.email)),
            Some(_) => {}
        }
    }
    for account in accounts.values() {
        match email_guards.get(&account.email) {
            Some(guard) if guard.account_id == account.id => {}
            Some(guard) => problems.push(format!(
                "Account {}: the guard of its e-mail {} names account {}",
                account.id, account.email, guard.account_id
            )),
            None => problems.push(format!("Account {}: no e-mail guard for {}", account.id, account.email)),
        }
    }

    let being_deleted = |orgs: &BTreeMap<String, Org>, id: &str| {
        orgs.get(id).and_then(|o| o.organization.as_ref()).is_some_and(Organization::is_being_deleted)
    };

    // Rule 4.
    for account in accounts.values() {
        let at = format!("Account {} ({})", account.id, account.email);
        if account.identities.is_empty() {
            problems.push(format!("{at}: has no identity"));
        }
        for (organization, user_id) in &account.identities {
            let Some(org) = orgs.get(organization).filter(|o| o.organization.is_some()) else {
                problems.push(format!("{at}: identity in organization {organization}, which does not exist"));
                continue;
            };
            if being_deleted(&orgs, organization) {
                continue;
            }
            match org.users.get(user_id) {
                None => problems.push(format!("{at}: identity {organization} -> user {user_id}, which does not exist")),
                Some(user) if user.account_id != account.id => problems.push(format!(
                    "{at}: identity {organization} -> user {user_id}, which belongs to account {}",
                    user.account_id
                )),
                Some(_) => {}
            }
        }
        if let Some(last) = &account.last_used_organization
            && !account.identities.contains_key(last)
        {
            problems.push(format!("{at}: last used organization {last} is not one of its organizations"));
        }
    }

    for (organization_id, org) in &orgs {
        // Rule 2.
        let Some(organization) = &org.organization else {
            problems.push(format!(
                "partition ORG#{organization_id} has no organization item but holds {} item(s), e.g. {}",
                org.keys.len(),
                org.keys.first().cloned().unwrap_or_default()
            ));
            continue;
        };
        if organization.is_being_deleted() {
            continue;
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
                        problems.push(format!(
                            "{}: e-mail differs from its account's {}",
                            user_at(user),
                            account.email
                        ));
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
            problems
                .push(format!("{at}: activeUserCount {} but {active} active users", organization.active_user_count));
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
                Some(guard) => problems.push(format!(
                    "{at}: team {} ({}): its name guard names team {}",
                    team.id, team.name, guard.team_id
                )),
                None => problems.push(format!("{at}: team {} ({}) has no name guard", team.id, team.name)),
            }
        }
        for (sk, guard) in &org.team_name_guards {
            match org.teams.get(&guard.team_id) {
                None => problems
                    .push(format!("{at}: team name guard {sk} names team {}, which does not exist", guard.team_id)),
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
    problems
}

/// Decodes `item` as `E` and checks its key and derived attributes (rule 1): the entity and how the
/// stored item differs from what the model derives.
fn decode<E: Entity>(item: &Item) -> Result<(E, Vec<String>), String> {
    let value: E = accounts::store::from_item(item.clone()).map_err(|_| format!("does not decode as {}", E::KIND))?;
    let expected = to_item(&value);
    let mut differences = Vec::new();
    for name in ["PK", "SK", "entity"].iter().chain(DERIVED) {
        if item.get(*name) != expected.get(*name) {
            differences.push(format!("{name}: stored {:?}, derived {:?}", item.get(*name), expected.get(*name)));
        }
    }
    Ok((value, differences))
}
