//! The rules over accounts and instance-wide items: 25 (operator grants), 19 (tombstones), 3 (e-mail
//! guards) and 4 (identities).

use super::load::Table;

pub(super) fn check(table: &Table, problems: &mut Vec<String>) {
    let Table { accounts, email_guards, orgs, tombstones, operator_grants } = table;
    // Rule 25.
    for grant in operator_grants {
        if !accounts.contains_key(&grant.account_id) {
            problems.push(format!("OperatorGrant {}: an operator grant names no existing account", grant.account_id));
        }
    }

    // Rule 19.
    for id in tombstones {
        if orgs.get(id).is_some_and(|o| o.organization.is_some()) {
            problems.push(format!("OrganizationTombstone {id}: an organization has this id again"));
        }
    }

    // Rule 3.
    for (email, guard) in email_guards {
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
            if table.being_deleted(organization) {
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
}
