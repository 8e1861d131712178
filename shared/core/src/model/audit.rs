//! Audit entries: who changed what in an organization, when, from where. Written in the same transaction as
//! the change they record (docs/audit.md).

use crate::model::Entity;
use crate::model::Key;
use crate::model::invites::Invite;
use crate::model::org_partition;
use crate::model::organizations::Organization;
use crate::model::users::User;
use serde::{Deserialize, Serialize};

/// Sort-key prefix of an organization's audit entries (ids are time-ordered: newest last).
pub const AUDIT_PREFIX: &str = "AUDIT#";

/// Who did it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AuditActor {
    /// `user` (an identity of the organization), `operator` (an instance operator acting on it), `system`
    /// (a scheduled or background job) or `anonymous` (an unauthenticated request, e.g. a failed login).
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Name and address at the time of the entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

impl AuditActor {
    pub fn user(user: &User) -> Self {
        AuditActor {
            kind: "user".into(),
            id: Some(user.id.clone()),
            name: Some(format!("{} {}", user.first_name, user.last_name)),
            email: Some(user.email.clone()),
        }
    }

    /// An instance operator acting on an organization that is not (necessarily) theirs.
    pub fn operator(user: &User) -> Self {
        AuditActor { kind: "operator".into(), ..AuditActor::user(user) }
    }

    /// The holder of an account's mailed link (a password reset, an e-mail verification), before it is known
    /// as which identity: [`crate::domain::audit::Auditor::account_entries`] names the identity.
    pub fn account(email: &str) -> Self {
        AuditActor { kind: "user".into(), id: None, name: None, email: Some(email.to_owned()) }
    }

    pub fn system(job: &str) -> Self {
        AuditActor { kind: "system".into(), id: None, name: Some(job.to_owned()), email: None }
    }

    pub fn anonymous() -> Self {
        AuditActor { kind: "anonymous".into(), id: None, name: None, email: None }
    }
}

/// What it was done to.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AuditTarget {
    /// `user`, `team`, `invite`, `organization`, `session` or `token`.
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
}

impl AuditTarget {
    pub fn user(user: &User) -> Self {
        AuditTarget {
            kind: "user".into(),
            id: user.id.clone(),
            name: format!("{} {} <{}>", user.first_name, user.last_name, user.email),
        }
    }
    pub fn team(id: &str, name: &str) -> Self {
        AuditTarget { kind: "team".into(), id: id.to_owned(), name: name.to_owned() }
    }
    pub fn invite(invite: &Invite) -> Self {
        AuditTarget { kind: "invite".into(), id: invite.id.clone(), name: invite.email.clone() }
    }
    pub fn organization(organization: &Organization) -> Self {
        AuditTarget { kind: "organization".into(), id: organization.id.clone(), name: organization.name.clone() }
    }
}

/// Where the request came from (empty for jobs).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AuditContext {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// One entry of an organization's audit log.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    pub organization: String,
    /// Time-ordered: 12 hex digits of milliseconds, then random hex.
    pub id: String,
    /// `category.operation`, one of [`crate::domain::audit::CATALOGUE`].
    pub action: String,
    /// Epoch milliseconds.
    pub occurred_at: i64,
    pub actor: AuditActor,
    /// The first target is the entry's subject (the one the target filter finds).
    pub targets: Vec<AuditTarget>,
    #[serde(default)]
    pub context: AuditContext,
    /// What changed, as JSON text: `{"field": {"old": .., "new": ..}}` or facts of the action. Never a secret.
    #[serde(default)]
    pub change: String,
    /// Ties together the entries of one request that changed several users (bulk edits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Epoch seconds: when the table's TTL removes the entry (the deployment's retention).
    pub expires_at: i64,
}

/// Partition of the `AuditByActor` index: an organization's entries by one actor.
pub fn audit_actor_partition(organization_id: &str, actor_id: &str) -> String {
    format!("ORG#{organization_id}#{actor_id}")
}

/// Partition of the `AuditByCategory` index: an organization's entries of one category (`user`, `team`, ...:
/// the part of the action before its dot).
pub fn audit_category_partition(organization_id: &str, category: &str) -> String {
    format!("ORG#{organization_id}#{category}.")
}

/// Partition of the `AuditByTarget` index: an organization's entries about one subject.
pub fn audit_target_partition(organization_id: &str, target_id: &str) -> String {
    format!("ORG#{organization_id}#{target_id}")
}

impl Entity for AuditEntry {
    const KIND: &'static str = "AuditEntry";
    fn key(&self) -> Key {
        Key { pk: org_partition(&self.organization), sk: format!("{AUDIT_PREFIX}{}", self.id) }
    }
    fn index_attributes(&self) -> Vec<(&'static str, String)> {
        let mut attributes = Vec::new();
        if let Some(actor) = &self.actor.id {
            attributes.push(("auditActor", audit_actor_partition(&self.organization, actor)));
        }
        if let Some(subject) = self.targets.first() {
            attributes.push(("auditTarget", audit_target_partition(&self.organization, &subject.id)));
        }
        let category = self.action.split('.').next().unwrap_or_default();
        attributes.push(("auditCategory", audit_category_partition(&self.organization, category)));
        attributes
    }
}
