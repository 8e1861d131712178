//! The audit log: one entry per state change, written in the same transaction as the change (the domain
//! functions build entries with an [`Auditor`] and hand them to the store with the change), read by admins
//! with filters and paging, and published to other systems by the stream consumer (docs/audit.md).

use serde_json::{Value, json};

use crate::app::App;
use crate::caller::Caller;
use crate::model::{AuditActor, AuditContext, AuditEntry, AuditTarget};

mod log;
mod rules;

pub use log::{AuditFilter, CSV_HEADER, csv_line, read_log};
pub(crate) use rules::user_change_entries;

/// Every action an entry can name, with what it records (docs/audit.md is generated from this list).
pub const CATALOGUE: &[(&str, &str)] = &[
    ("auth.signUp", "a person created an organization with themselves as its owner"),
    ("auth.login", "a login started a session"),
    ("auth.loginFailed", "a login with a wrong password for the identity's account"),
    ("auth.loginLocked", "failed logins locked the account's address for the client"),
    ("auth.logout", "a session ended"),
    ("auth.logoutEverywhere", "every session and token of the account ended"),
    ("auth.switchOrganization", "a person switched into this organization (a new session)"),
    ("token.created", "a personal API token was created"),
    ("token.revoked", "a personal API token was revoked"),
    ("invite.sent", "an invite was created and mailed"),
    ("invite.resent", "an invite was mailed again with a new link"),
    ("invite.revoked", "an invite was revoked"),
    ("invite.accepted", "an invite was used to join"),
    ("invite.reminded", "the daily job mailed a reminder of a pending invite"),
    ("invite.expired", "the daily job deleted an invite that expired unused"),
    ("invite.deleted", "the daily job deleted a used or revoked invite whose listing time passed"),
    ("user.registered", "a new account registered an identity here (self-registration or an invite)"),
    ("user.joined", "an existing account joined with an invite"),
    ("user.activated", "a user who had not used the organization yet was activated"),
    ("user.reactivated", "a deactivated user was activated again"),
    ("user.deactivated", "a user was deactivated"),
    ("user.left", "a person left the organization: their identity is deactivated, its sessions and tokens ended"),
    ("user.changed", "a user's names changed"),
    ("user.teamsAndPermissionsChanged", "a user's teams, roles or rights changed"),
    ("user.experiencesChanged", "a user's experiences changed"),
    ("user.restored", "a user was restored after a bulk change failed part-way (the change is undone)"),
    ("team.created", "a team was created"),
    ("team.deleted", "a team was deleted, its members taken out of it"),
    ("organization.created", "an operator created the organization"),
    ("organization.changed", "the organization's settings changed"),
    ("organization.planChanged", "an operator changed the plan"),
    ("organization.creditsAdded", "an operator added (or took) credits"),
    ("organization.storageReported", "the dataset side reported the storage used (and the notice level it reached)"),
    (
        "organization.planRequested",
        "an admin (or the owner, for credits) asked the operators for a plan change or credits",
    ),
    ("organization.planNoticeSent", "the daily job mailed a plan expiry notice (30 days, 7 days, expired)"),
    ("organization.deletionRequested", "the organization's deletion was accepted; its purge follows"),
    ("organization.ownershipGranted", "a person became the organization's owner"),
    ("organization.ownershipOffered", "the owner offered the organization to an admin, who accepts with a mailed link"),
    (
        "organization.ownershipTransferred",
        "an admin accepted the owner's offer and became the owner; the former owner stays an admin",
    ),
    (
        "organization.notificationAddressConfirmed",
        "an address named for the organization's notices confirmed them (opt-in)",
    ),
    ("account.passwordReset", "the account's password was reset with a mailed link"),
    ("account.passwordChanged", "the account's password was changed"),
    ("account.passkeyAdded", "a passkey was registered for the account (its name)"),
    ("account.passkeyRemoved", "a passkey of the account was removed (its name)"),
    ("account.emailChanged", "the account's e-mail address changed"),
    ("account.emailVerified", "the account's e-mail address was verified"),
    (
        "account.operatorGranted",
        "the account was made an instance operator (by an operator or the grant-operator command)",
    ),
    ("account.operatorRevoked", "the account's instance operator role was taken back"),
    ("auth.providerUnlinked", "a person removed the link of their account to an identity provider"),
    ("sso.connectionChanged", "an admin configured the organization's identity provider connection"),
    ("sso.connectionRemoved", "an admin removed the organization's identity provider connection"),
    ("sso.domainClaimed", "an admin claimed an e-mail domain for the organization (pending its DNS record)"),
    ("sso.domainVerified", "the domain's DNS record was found: the domain is the organization's"),
    ("sso.domainChanged", "an admin changed whether the domain requires single sign-on"),
    ("sso.domainRemoved", "an admin gave up the organization's claim of a domain"),
];

/// Who acts, from where and when: makes the entries of one request.
#[derive(Debug, Clone)]
pub struct Auditor {
    actor: AuditActor,
    context: AuditContext,
    now: i64,
    expires_at: i64,
    group: Option<String>,
    /// The organization the request acted in, whose log alone gets the request's address and user agent in
    /// an account-level entry: the account's other organizations learn what changed, not where from.
    home: Option<String>,
}

impl Auditor {
    pub fn new(app: &App, actor: AuditActor, context: AuditContext) -> Self {
        let now = crate::ids::now_millis();
        let expires_at = now / 1000 + app.config.audit_retention.as_secs() as i64;
        Auditor { actor, context, now, expires_at, group: None, home: None }
    }

    /// The caller acting in its organization.
    pub(crate) fn caller(app: &App, caller: &Caller) -> Self {
        Auditor::new(app, AuditActor::user(&caller.user), caller.context.clone())
            .at_home(Some(&caller.user.organization))
    }

    /// Account-level entries in `organization` keep the request's address and user agent (see `home`).
    pub(crate) fn at_home(mut self, organization: Option<&str>) -> Self {
        self.home = organization.map(str::to_owned);
        self
    }

    /// An instance operator acting on any organization.
    pub(crate) fn operator(app: &App, caller: &Caller) -> Self {
        Auditor::new(app, AuditActor::operator(&caller.user), caller.context.clone())
    }

    /// A scheduled or background job.
    pub fn system(app: &App, job: &str) -> Self {
        Auditor::new(app, AuditActor::system(job), AuditContext::default())
    }

    /// The same actor, with `actor` instead (e.g. once a login knows who logged in).
    pub(crate) fn acting_as(&self, actor: AuditActor) -> Self {
        Auditor { actor, ..self.clone() }
    }

    /// Entries made from now on are tied together (the users of one bulk change).
    pub(crate) fn grouped(mut self) -> Self {
        self.group = Some(crate::ids::new_object_id());
        self
    }

    /// An entry of `organization`'s log. `change` is `{}` or an object of facts (never a secret).
    pub fn entry(&self, organization: &str, action: &str, targets: Vec<AuditTarget>, change: Value) -> AuditEntry {
        debug_assert!(CATALOGUE.iter().any(|(name, _)| *name == action), "{action} is not in the catalogue");
        // The entry's time is when it is made, not when the request began: a change retried after a
        // conflict makes its entries again, after those of the change it lost to, and the log (newest
        // first) shows them in the order they committed. A job's simulated later time stays.
        let now = crate::ids::now_millis().max(self.now);
        AuditEntry {
            organization: organization.to_owned(),
            id: crate::ids::new_audit_id(now),
            action: action.to_owned(),
            occurred_at: now,
            actor: self.actor.clone(),
            targets,
            context: self.context.clone(),
            change: if change == json!({}) { String::new() } else { change.to_string() },
            group: self.group.clone(),
            expires_at: self.expires_at,
        }
    }
}

impl Auditor {
    /// The entries of an account change (password, address), one per organization of the account: `(organization,
    /// user id) -> entry`, whose actor and subject are the account's identity there (the person acts as
    /// themselves in each of their organizations; a job or anonymous actor stays as it is). Only the home
    /// organization's entry carries the request's address and user agent.
    pub(crate) fn account_entries<'a>(
        &'a self,
        changes: Vec<(&'a str, Value)>,
        email: &'a str,
    ) -> impl Fn(&str, &str) -> Vec<AuditEntry> + Sync + 'a {
        move |organization: &str, user_id: &str| {
            let actor = match self.actor.kind.as_str() {
                "user" => AuditActor { id: Some(user_id.to_owned()), ..self.actor.clone() },
                _ => self.actor.clone(),
            };
            let target = AuditTarget { kind: "user".into(), id: user_id.to_owned(), name: email.to_owned() };
            let home = self.home.as_deref() == Some(organization);
            let context = AuditContext {
                source_ip: self.context.source_ip.clone().filter(|_| home),
                user_agent: self.context.user_agent.clone().filter(|_| home),
                request_id: self.context.request_id.clone(),
            };
            changes
                .iter()
                .map(|(action, change)| AuditEntry {
                    actor: actor.clone(),
                    context: context.clone(),
                    ..self.entry(organization, action, vec![target.clone()], change.clone())
                })
                .collect()
        }
    }
}

/// `{"old": old, "new": new}`: one changed field.
pub(crate) fn old_new(old: impl Into<Value>, new: impl Into<Value>) -> Value {
    json!({ "old": old.into(), "new": new.into() })
}
