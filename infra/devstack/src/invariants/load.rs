//! Rule 1 while the items are sorted by kind: each decodes as its entity with exactly the key and derived
//! attributes the model gives it.

use std::collections::{BTreeMap, BTreeSet};

use accounts::model::{
    Account, ApiToken, AuditEntry, CreditTransaction, EmailGuard, EmailVerification, Entity, ExperienceDomain,
    IdempotencyRecord, Invite, InviteEmailGuard, JobLease, Membership, OperatorGrant, Organization,
    OrganizationTombstone, PasswordReset, PlanRequest, PlanUpdate, Session, Team, TeamNameGuard, UndeliverableAddress,
    User, UserExperience,
};
use accounts::store::{Item, to_item};
use aws_sdk_dynamodb::types::AttributeValue;

use super::{DERIVED, text};

/// The table's items by kind: the instance-wide ones, and each organization's partition.
#[derive(Default)]
pub(super) struct Table {
    pub accounts: BTreeMap<String, Account>,
    pub email_guards: BTreeMap<String, EmailGuard>,
    pub orgs: BTreeMap<String, Org>,
    pub tombstones: Vec<String>,
    pub operator_grants: Vec<OperatorGrant>,
    pub provider_links: Vec<accounts::model::ProviderLink>,
    pub account_links: Vec<accounts::model::ProviderLink>,
    pub verified_domains: Vec<accounts::model::VerifiedDomain>,
    pub passkeys: Vec<accounts::model::Passkey>,
}

impl Table {
    /// Whether the organization's deletion was accepted (its partition is being purged).
    pub fn being_deleted(&self, id: &str) -> bool {
        self.orgs.get(id).and_then(|o| o.organization.as_ref()).is_some_and(Organization::is_being_deleted)
    }
}

#[derive(Default)]
pub(super) struct Org {
    pub organization: Option<Organization>,
    pub users: BTreeMap<String, User>,
    pub teams: BTreeMap<String, Team>,
    pub team_name_guards: BTreeMap<String, TeamNameGuard>,
    pub memberships: Vec<Membership>,
    pub experiences: Vec<UserExperience>,
    pub domains: BTreeSet<String>,
    pub credits: Vec<CreditTransaction>,
    pub sessions: Vec<Session>,
    pub api_tokens: Vec<ApiToken>,
    pub invites: BTreeMap<String, Invite>,
    pub invite_guards: Vec<InviteEmailGuard>,
    pub idempotency: Vec<IdempotencyRecord>,
    pub audit: Vec<AuditEntry>,
    pub domain_claims: Vec<accounts::model::DomainClaim>,
    pub sso_connection: Option<accounts::model::SsoConnection>,
    pub ownership_transfer: Option<accounts::model::OwnershipTransfer>,
    /// Keys of every item of the partition (for rule 2).
    pub keys: Vec<String>,
}

/// Sorts `items` by kind, checking rule 1 (and the rules about single items: 17, 18, 20, 22 to 24, 26).
pub(super) fn load(items: Vec<Item>, problems: &mut Vec<String>) -> Table {
    let mut table = Table::default();
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
    } = &mut table;
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
            // Rule 27.
            "OidcLogin" => {
                if decode!(accounts::model::OidcLogin).expires_at <= 0 {
                    problems.push(format!("{at}: a sign-in under way carries its TTL"));
                }
            }
            "ProviderLink" => {
                provider_links.push(decode!(accounts::model::ProviderLink));
            }
            // Rule 28.
            "AccountLink" => {
                account_links.push(decode!(accounts::model::AccountLink).0);
            }
            // Rule 30.
            "Passkey" => {
                let passkey = decode!(accounts::model::Passkey);
                let credential_id =
                    base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, &passkey.credential_id)
                        .unwrap_or_default();
                if accounts::model::passkey_id(&credential_id) != passkey.id {
                    problems.push(format!("{at}: a passkey's id is not its credential id's"));
                }
                passkeys.push(passkey);
            }
            "PasskeyCeremony" => {
                if decode!(accounts::model::PasskeyCeremony).expires_at <= 0 {
                    problems.push(format!("{at}: a passkey ceremony under way carries its TTL"));
                }
            }
            "VerifiedDomain" => {
                verified_domains.push(decode!(accounts::model::VerifiedDomain));
            }
            "DomainClaim" => {
                let value = decode!(accounts::model::DomainClaim);
                in_org(orgs, &mut |o| o.domain_claims.push(value.clone()));
            }
            "SsoConnection" => {
                let value = decode!(accounts::model::SsoConnection);
                in_org(orgs, &mut |o| o.sso_connection = Some(value.clone()));
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
                in_org(orgs, &mut |o| o.organization = Some(value.clone()));
            }
            "CreditTransaction" => {
                let value = decode!(CreditTransaction);
                in_org(orgs, &mut |o| o.credits.push(value.clone()));
            }
            "User" => {
                let value = decode!(User);
                in_org(orgs, &mut |o| {
                    o.users.insert(value.id.clone(), value.clone());
                });
            }
            "Team" => {
                let value = decode!(Team);
                in_org(orgs, &mut |o| {
                    o.teams.insert(value.id.clone(), value.clone());
                });
            }
            "TeamNameGuard" => {
                let value = decode!(TeamNameGuard);
                in_org(orgs, &mut |o| {
                    o.team_name_guards.insert(sk.clone(), value.clone());
                });
            }
            "Membership" => {
                let value = decode!(Membership);
                in_org(orgs, &mut |o| o.memberships.push(value.clone()));
            }
            // Rule 31.
            "OwnershipTransfer" => {
                let value = decode!(accounts::model::OwnershipTransfer);
                if value.expires_at <= 0 {
                    problems.push(format!("{at}: an ownership offer carries its TTL"));
                }
                in_org(orgs, &mut |o| o.ownership_transfer = Some(value.clone()));
            }
            "Session" => {
                let value = decode!(Session);
                in_org(orgs, &mut |o| o.sessions.push(value.clone()));
            }
            "ApiToken" => {
                let value = decode!(ApiToken);
                in_org(orgs, &mut |o| o.api_tokens.push(value.clone()));
            }
            "ExperienceDomain" => {
                let value = decode!(ExperienceDomain);
                in_org(orgs, &mut |o| {
                    o.domains.insert(value.domain.clone());
                });
            }
            "UserExperience" => {
                let value = decode!(UserExperience);
                in_org(orgs, &mut |o| o.experiences.push(value.clone()));
            }
            "Invite" => {
                let value = decode!(Invite);
                in_org(orgs, &mut |o| {
                    o.invites.insert(value.id.clone(), value.clone());
                });
            }
            "InviteEmailGuard" => {
                let value = decode!(InviteEmailGuard);
                in_org(orgs, &mut |o| o.invite_guards.push(value.clone()));
            }
            "IdempotencyRecord" => {
                let value = decode!(IdempotencyRecord);
                in_org(orgs, &mut |o| o.idempotency.push(value.clone()));
            }
            "AuditEntry" => {
                let value = decode!(AuditEntry);
                in_org(orgs, &mut |o| o.audit.push(value.clone()));
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
            // Rule 32.
            "MailSending" => {
                let value = decode!(accounts::model::MailSending);
                if value.expires_at <= 0 {
                    problems.push(format!("{at}: a mail's sending claim carries its TTL"));
                }
                if ![
                    accounts::model::MailSending::SENDING,
                    accounts::model::MailSending::SENT,
                    accounts::model::MailSending::REFUSED,
                ]
                .contains(&value.sending_state.as_str())
                {
                    problems.push(format!("{at}: a mail's sending is sending, sent or refused"));
                }
            }
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
    table
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
