//! The rules over accounts and instance-wide items, each a function of [`RULES`].

use super::load::Table;

type Rule = fn(&Table, &mut Vec<String>);

/// The rules over accounts and instance-wide items, by number (the parent module's comment says each).
const RULES: &[(u8, Rule)] = &[
    (3, email_guards_match_accounts),
    (4, identities_name_users_of_the_account),
    (19, tombstoned_ids_stay_free),
    (25, operator_grants_name_accounts),
    (28, provider_links_are_mirrored),
    (29, verified_domains_match_claims),
    (30, passkeys_have_accounts),
];

pub(super) fn check(table: &Table, problems: &mut Vec<String>) {
    for (number, rule) in RULES {
        let before = problems.len();
        rule(table, problems);
        super::number_from(before, *number, problems);
    }
}

/// Rule 3: e-mail guards and accounts match both ways.
fn email_guards_match_accounts(table: &Table, problems: &mut Vec<String>) {
    let Table { accounts, email_guards, .. } = table;
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
}

/// Rule 4: each account has an identity, each naming a user of the account in an existing organization.
fn identities_name_users_of_the_account(table: &Table, problems: &mut Vec<String>) {
    let Table { accounts, orgs, .. } = table;
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

/// Rule 19: no organization has the id of a tombstone.
fn tombstoned_ids_stay_free(table: &Table, problems: &mut Vec<String>) {
    let Table { tombstones, orgs, .. } = table;
    for id in tombstones {
        if orgs.get(id).is_some_and(|o| o.organization.is_some()) {
            problems.push(format!("OrganizationTombstone {id}: an organization has this id again"));
        }
    }
}

/// Rule 25: an operator grant names an existing account.
fn operator_grants_name_accounts(table: &Table, problems: &mut Vec<String>) {
    let Table { operator_grants, accounts, .. } = table;
    for grant in operator_grants {
        if !accounts.contains_key(&grant.account_id) {
            problems.push(format!("OperatorGrant {}: an operator grant names no existing account", grant.account_id));
        }
    }
}

/// Rule 28: provider links and their mirrors in the accounts' partitions match both ways.
fn provider_links_are_mirrored(table: &Table, problems: &mut Vec<String>) {
    let Table { provider_links, account_links, .. } = table;
    for link in provider_links {
        if !account_links.contains(link) {
            problems.push(format!("ProviderLink {}: its account {} does not list it", link.id(), link.account_id));
        }
    }
    for link in account_links {
        if !provider_links.contains(link) {
            problems.push(format!("AccountLink {}/{}: no provider link names the account", link.account_id, link.id()));
        }
    }
}

/// Rule 29: verified-domain records match the organizations' verified claims.
fn verified_domains_match_claims(table: &Table, problems: &mut Vec<String>) {
    let Table { verified_domains, orgs, .. } = table;
    for verified in verified_domains {
        let claimed = orgs.get(&verified.organization).is_some_and(|org| {
            org.domain_claims.iter().any(|claim| {
                claim.domain == verified.domain
                    && claim.verified_at.is_some()
                    && claim.require_sso == verified.require_sso
            })
        });
        if !claimed {
            problems.push(format!(
                "VerifiedDomain {}: {} has no verified claim of it (with the same requireSso)",
                verified.domain, verified.organization
            ));
        }
    }
    for (organization, org) in orgs {
        for claim in &org.domain_claims {
            let recorded = verified_domains.iter().any(|v| v.domain == claim.domain && &v.organization == organization);
            if claim.verified_at.is_some() != recorded {
                problems.push(format!(
                    "DomainClaim {organization}/{}: verified {} but the instance's record says {recorded}",
                    claim.domain,
                    claim.verified_at.is_some()
                ));
            }
            if claim.verified_at.is_none() && claim.require_sso {
                problems.push(format!("DomainClaim {organization}/{}: pending yet requires SSO", claim.domain));
            }
            if &claim.organization != organization {
                problems.push(format!("DomainClaim {organization}/{}: names {}", claim.domain, claim.organization));
            }
        }
        if let Some(connection) = org.sso_connection.as_ref().filter(|c| &c.organization != organization) {
            problems.push(format!("SsoConnection {organization}: names {}", connection.organization));
        }
    }
}

/// Rule 30: a passkey's account exists.
fn passkeys_have_accounts(table: &Table, problems: &mut Vec<String>) {
    let Table { passkeys, accounts, .. } = table;
    for passkey in passkeys {
        if !accounts.contains_key(&passkey.account_id) {
            problems.push(format!("Passkey {}/{}: its account does not exist", passkey.account_id, passkey.id));
        }
    }
}
