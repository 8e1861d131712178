//! The rules over accounts and instance-wide items: 30 (passkeys), 28 (provider links), 29 (verified domains), 25
//! (operator grants), 19 (tombstones), 3 (e-mail guards) and 4 (identities).

use super::load::Table;

pub(super) fn check(table: &Table, problems: &mut Vec<String>) {
    let Table {
        accounts,
        email_guards,
        orgs,
        tombstones,
        operator_grants,
        provider_links,
        account_links,
        verified_domains,
        passkeys,
    } = table;
    // Rule 30.
    for passkey in passkeys {
        if !accounts.contains_key(&passkey.account_id) {
            problems.push(format!("Passkey {}/{}: its account does not exist", passkey.account_id, passkey.id));
        }
    }
    // Rule 28.
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
    // Rule 29.
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
