//! Organizations, their tombstones, credit transactions, teams, memberships and experience domains.

use crate::model::CREDIT_PREFIX;
use crate::model::DELETION_PARTITION;
use crate::model::Entity;
use crate::model::Key;
use crate::model::org_partition;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Organization {
    pub id: String,
    pub name: String,
    pub owner_user_id: String,
    pub pricing_plan: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid_until: Option<i64>,
    /// `None`: unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub included_users: Option<u64>,
    /// `None`: unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub included_storage_bytes: Option<u64>,
    #[serde(default)]
    pub used_storage_bytes: u64,
    #[serde(default)]
    pub milli_credit_balance: i64,
    #[serde(default)]
    pub new_user_mailing_list: String,
    /// Receives plan and subscription notices (empty: the owner).
    #[serde(default)]
    pub plan_subscription_email: String,
    /// Who gets AI job completion notices: one of `AI_JOB_RECIPIENTS`.
    #[serde(default = "default_ai_job_recipients")]
    pub ai_job_notifications: String,
    /// When the dataset side last reported `usedStorageBytes` (epoch ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_reported_at: Option<i64>,
    #[serde(default)]
    pub enable_auto_verify: bool,
    /// Its admins must sign in with a passkey or single sign-on: a password session of an admin can do
    /// nothing but add and use a passkey.
    #[serde(default)]
    pub admins_must_use_passkey: bool,
    /// The highest storage threshold (90 or 100, percent of `includedStorageBytes`) whose notice was mailed
    /// since usage was last below it; 0 for none. Lowered when usage falls, so each crossing mails once.
    #[serde(default)]
    pub storage_notice_level: u8,
    /// Which plan expiry notices were mailed for the current `paidUntil`: 0 none, 1 the 30-day one, 2 the
    /// 7-day one, 3 the expiry. A new `paidUntil` starts again at 0.
    #[serde(default)]
    pub plan_notice_stage: u8,
    /// Set when deletion was accepted (epoch ms): the organization is unusable from then on, and its
    /// items are being purged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_requested_at: Option<i64>,
    /// The organization team ("Default") every new member joins.
    pub organization_team_id: String,
    /// Identities in the organization (active or not), kept in step transactionally.
    pub member_count: u64,
    /// Active identities, kept in step transactionally (for `includedUsers`).
    pub active_user_count: u64,
    pub created: i64,
}

pub(super) fn default_ai_job_recipients() -> String {
    "jobOwner".into()
}

impl Organization {
    pub fn is_being_deleted(&self) -> bool {
        self.deletion_requested_at.is_some()
    }
}

impl Entity for Organization {
    const KIND: &'static str = "Organization";
    fn key(&self) -> Key {
        Key::organization(&self.id)
    }
    fn index_attributes(&self) -> Vec<(&'static str, String)> {
        let mut attributes = Vec::new();
        if self.deletion_requested_at.is_some() {
            attributes.push(("deletionPartition", DELETION_PARTITION.to_owned()));
        }
        if self.next_plan_notice_at().is_some() {
            attributes.push(("planNoticePartition", PLAN_NOTICE_PARTITION.to_owned()));
        }
        attributes
    }
    fn numeric_attributes(&self) -> Vec<(&'static str, i64)> {
        let mut attributes = Vec::new();
        if let Some(at) = self.deletion_requested_at {
            attributes.push(("deletionRequestedAt", at));
        }
        if let Some(at) = self.next_plan_notice_at() {
            attributes.push(("planNoticeAt", at));
        }
        attributes
    }
}

/// The one partition of the index of organizations with a plan notice to come.
pub const PLAN_NOTICE_PARTITION: &str = "PLANS";

/// How long before `paidUntil` the plan notices go: 30 days, 7 days, and at the end (milliseconds).
pub const PLAN_NOTICE_OFFSETS: [i64; 3] = [30 * 86_400_000, 7 * 86_400_000, 0];

impl Organization {
    /// When (epoch seconds) the next plan expiry notice is due, if one is still to come.
    pub fn next_plan_notice_at(&self) -> Option<i64> {
        let paid_until = self.paid_until?;
        let offset = PLAN_NOTICE_OFFSETS.get(usize::from(self.plan_notice_stage))?;
        Some((paid_until - offset).div_euclid(1000))
    }
}

/// Keeps a purged organization's id from being taken again (other systems key their data by it): written
/// with the deletion of the organization item, checked by every creation of an organization.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationTombstone {
    pub id: String,
    /// Epoch ms.
    pub deleted: i64,
}

impl Entity for OrganizationTombstone {
    const KIND: &'static str = "OrganizationTombstone";
    fn key(&self) -> Key {
        Key::organization_tombstone(&self.id)
    }
}

/// One change of an organization's plan by an operator: the plan as it is from then on (the history
/// `GET /api/pricing/planUpdates` lists), written in the transaction of the change.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PlanUpdate {
    pub organization: String,
    /// Ordered by the millisecond of the change (`ids::new_millis_ordered_id`).
    pub id: String,
    pub pricing_plan: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid_until: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub included_users: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub included_storage_bytes: Option<u64>,
    /// The operator's address.
    pub changed_by: String,
    pub created: i64,
}

pub const PLAN_UPDATE_PREFIX: &str = "PLANUPDATE#";

impl Entity for PlanUpdate {
    const KIND: &'static str = "PlanUpdate";
    fn key(&self) -> Key {
        Key { pk: org_partition(&self.organization), sk: format!("{PLAN_UPDATE_PREFIX}{}", self.id) }
    }
}

/// A request of an organization's admin (or owner) to the instance's operators: a longer, bigger or other
/// plan, or credits. Instance-wide (the operators list them across organizations), so it outlives a deleted
/// organization until its TTL.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PlanRequest {
    /// Ordered by the millisecond of the request (`ids::new_millis_ordered_id`).
    pub id: String,
    pub organization: String,
    pub organization_name: String,
    /// `extension`, `upgrade`, `users`, `storage` or `credits`.
    pub kind: String,
    /// What is asked for: the plan, the number of users, megabytes, credits; empty for an extension.
    pub requested: String,
    pub requested_by: String,
    pub requested_by_name: String,
    pub requested_by_email: String,
    pub created: i64,
    /// Epoch seconds (TTL): a year after the request.
    pub expires_at: i64,
}

/// The one partition of the plan requests.
pub const PLAN_REQUEST_PARTITION: &str = "PLANREQUESTS";
pub const PLAN_REQUEST_PREFIX: &str = "REQUEST#";

impl Entity for PlanRequest {
    const KIND: &'static str = "PlanRequest";
    fn key(&self) -> Key {
        Key { pk: PLAN_REQUEST_PARTITION.into(), sk: format!("{PLAN_REQUEST_PREFIX}{}", self.id) }
    }
}

/// A change of the organization's credits; the balance on the organization item is their sum, kept in
/// the same transaction.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CreditTransaction {
    pub organization: String,
    pub id: String,
    pub milli_credits: i64,
    pub comment: String,
    pub created_by: String,
    pub created: i64,
}

impl Entity for CreditTransaction {
    const KIND: &'static str = "CreditTransaction";
    fn key(&self) -> Key {
        Key { pk: org_partition(&self.organization), sk: format!("{CREDIT_PREFIX}{}", self.id) }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Team {
    pub id: String,
    pub organization: String,
    pub name: String,
    /// The organization's "Default" team, which every member is in and which cannot be deleted.
    #[serde(default)]
    pub is_organization_team: bool,
    /// Set while the team is being deleted: hidden, and no one can join it.
    #[serde(default)]
    pub deleting: bool,
    pub created: i64,
}

impl Entity for Team {
    const KIND: &'static str = "Team";
    fn key(&self) -> Key {
        Key::team(&self.organization, &self.id)
    }
}

/// Makes a team name unique per organization (case-insensitively).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TeamNameGuard {
    pub organization: String,
    pub name: String,
    pub team_id: String,
}

impl Entity for TeamNameGuard {
    const KIND: &'static str = "TeamNameGuard";
    fn key(&self) -> Key {
        Key::team_name_guard(&self.organization, &self.name)
    }
}

/// A user's membership in a team, in the team's key range (so a team's members are one Query). It says
/// only who is in the team: the role is the user's (`User::teams`), so a role change writes the user alone.
/// Items written before may carry an `isTeamManager` attribute, which nothing reads.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Membership {
    pub organization: String,
    pub team_id: String,
    pub user_id: String,
}

impl Entity for Membership {
    const KIND: &'static str = "Membership";
    fn key(&self) -> Key {
        Key::membership(&self.organization, &self.team_id, &self.user_id)
    }
}

/// An experience domain of the organization's list (for the "Change Experience" dropdown).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ExperienceDomain {
    pub organization: String,
    pub domain: String,
}

impl Entity for ExperienceDomain {
    const KIND: &'static str = "ExperienceDomain";
    fn key(&self) -> Key {
        Key::experience_domain(&self.organization, &self.domain)
    }
}

/// An address an organization's notices go to (`newUserMailingList`, `planSubscriptionEmail`): mailed only
/// once its mailbox confirmed it by the link mailed there (an opt-in), so no admin can make the instance
/// mail strangers. A request lapses after [`NotificationAddress::REQUEST_LIFETIME_SECONDS`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct NotificationAddress {
    pub organization: String,
    /// Lowercased.
    pub email: String,
    /// SHA-256 of the confirmation link's token.
    pub token_hash: String,
    /// Epoch ms.
    pub requested_at: i64,
    /// Epoch ms; `None` until confirmed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmed_at: Option<i64>,
    /// The TTL of an unconfirmed request (epoch seconds); none once confirmed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
}

impl NotificationAddress {
    pub const REQUEST_LIFETIME_SECONDS: i64 = 14 * 24 * 3600;
}

impl Entity for NotificationAddress {
    const KIND: &'static str = "NotificationAddress";
    fn key(&self) -> Key {
        Key::notification_address(&self.organization, &self.email)
    }
}

/// The owner's offer of the organization to one of its admins, which that admin accepts, signed in, with the
/// mailed link (once), or which lapses. At most one per organization: a new offer replaces the last.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct OwnershipTransfer {
    pub organization: String,
    /// The owner who offered it; accepting is conditioned on them still being the owner.
    pub from_user_id: String,
    pub to_user_id: String,
    /// SHA-256 of the mailed link's token.
    pub token_hash: String,
    /// Epoch ms.
    pub created: i64,
    /// The offer's TTL (epoch seconds); accepting after it is refused even before DynamoDB removes the item.
    pub expires_at: i64,
}

impl OwnershipTransfer {
    pub const LIFETIME_SECONDS: i64 = 7 * 24 * 3600;
}

impl Entity for OwnershipTransfer {
    const KIND: &'static str = "OwnershipTransfer";
    fn key(&self) -> Key {
        Key::ownership_transfer(&self.organization)
    }
}
