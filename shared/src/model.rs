//! The items of the single table (see docs/data-model.md) and their keys.
//!
//! Every organization-scoped item lives in the partition `ORG#{organizationId}`, so its key always contains
//! the organization id. Organization ids cannot contain `#` (see `validate::organization_id`), and the
//! other ids are generated hex, so keys are unambiguous.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub const PLAN_CUSTOM: &str = "Custom";
pub const ORGANIZATION_TEAM_NAME: &str = "Default";

/// Primary key of an item.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

impl Key {
    pub fn account(account_id: &str) -> Key {
        Key { pk: format!("ACCOUNT#{account_id}"), sk: "ACCOUNT".into() }
    }
    pub fn password_reset(account_id: &str) -> Key {
        Key { pk: format!("ACCOUNT#{account_id}"), sk: "RESET".into() }
    }
    pub fn email_verification(account_id: &str, key_hash: &str) -> Key {
        Key { pk: format!("ACCOUNT#{account_id}"), sk: format!("VERIFY#{key_hash}") }
    }
    pub fn organization_tombstone(organization_id: &str) -> Key {
        Key { pk: format!("ORGID#{organization_id}"), sk: "TOMBSTONE".into() }
    }
    pub fn email_guard(email: &str) -> Key {
        Key { pk: format!("EMAIL#{email}"), sk: "EMAIL".into() }
    }
    pub fn organization(organization_id: &str) -> Key {
        Key { pk: org_partition(organization_id), sk: "ORG".into() }
    }
    pub fn user(organization_id: &str, user_id: &str) -> Key {
        Key { pk: org_partition(organization_id), sk: format!("USER#{user_id}") }
    }
    pub fn team(organization_id: &str, team_id: &str) -> Key {
        Key { pk: org_partition(organization_id), sk: format!("TEAM#{team_id}") }
    }
    pub fn team_name_guard(organization_id: &str, team_name: &str) -> Key {
        Key { pk: org_partition(organization_id), sk: format!("TEAMNAME#{}", team_name.to_lowercase()) }
    }
    pub fn membership(organization_id: &str, team_id: &str, user_id: &str) -> Key {
        Key { pk: org_partition(organization_id), sk: format!("MEMBER#{team_id}#{user_id}") }
    }
    pub fn session(organization_id: &str, session_id: &str) -> Key {
        Key { pk: org_partition(organization_id), sk: format!("SESSION#{session_id}") }
    }
    pub fn api_token(organization_id: &str, user_id: &str) -> Key {
        Key { pk: org_partition(organization_id), sk: format!("APITOKEN#{user_id}") }
    }
    pub fn invite(organization_id: &str, invite_id: &str) -> Key {
        Key { pk: org_partition(organization_id), sk: format!("{INVITE_PREFIX}{invite_id}") }
    }
    pub fn invite_email_guard(organization_id: &str, email: &str) -> Key {
        Key { pk: org_partition(organization_id), sk: format!("INVITEEMAIL#{email}") }
    }
    pub fn user_experience(organization_id: &str, user_id: &str, domain: &str) -> Key {
        Key { pk: org_partition(organization_id), sk: format!("EXPERIENCE#{user_id}#{domain}") }
    }
    pub fn experience_domain(organization_id: &str, domain: &str) -> Key {
        Key { pk: org_partition(organization_id), sk: format!("EXPDOMAIN#{domain}") }
    }
}

pub const TEAM_PREFIX: &str = "TEAM#";
pub const INVITE_PREFIX: &str = "INVITE#";
pub const CREDIT_PREFIX: &str = "CREDIT#";
/// The one partition of each sparse invite index (invites are few; see docs/data-model.md).
pub const INVITE_SCHEDULE_PARTITION: &str = "INVITES";
/// The one partition of the index of organizations being deleted.
pub const DELETION_PARTITION: &str = "ORGS";
/// Who gets AI job completion notices.
pub const AI_JOB_RECIPIENTS: &[&str] = &["jobOwner", "jobOwnerAndAdmins", "none"];
pub const PRICING_PLANS: &[&str] = &["Personal", "Team", "Power", "Team_Trial", "Power_Trial", "Custom"];
pub const EXPERIENCE_DOMAIN_PREFIX: &str = "EXPDOMAIN#";

/// Sort-key prefix of a team's memberships.
pub fn members_prefix(team_id: &str) -> String {
    format!("MEMBER#{team_id}#")
}

/// Partition of the `UsersByExperience` index: an organization's active users with a domain.
pub fn experience_partition(organization_id: &str, domain: &str) -> String {
    format!("ORG#{organization_id}#{domain}")
}

/// Partition of the `UsersByName` index: an organization's active or deactivated users.
pub fn users_by_name_partition(organization_id: &str, active: bool) -> String {
    format!("ORG#{organization_id}#{}", if active { "ACTIVE" } else { "INACTIVE" })
}

pub fn org_partition(organization_id: &str) -> String {
    format!("ORG#{organization_id}")
}

/// An item type of the table: how its key is derived from its fields, and its `entity` tag.
pub trait Entity: Serialize + DeserializeOwned {
    const KIND: &'static str;
    fn key(&self) -> Key;
    /// Attributes derived from the fields for the table's indexes, written with the item.
    fn index_attributes(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }
    /// Numeric attributes for indexes and TTL, written with the item.
    fn numeric_attributes(&self) -> Vec<(&'static str, i64)> {
        Vec::new()
    }
}

/// A person's login, global across organizations. Keyed by a stable id so the e-mail can change.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    pub id: String,
    pub email: String,
    pub password_hash: String,
    /// organization id -> user id of this account's identity there.
    #[serde(default)]
    pub identities: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_organization: Option<String>,
    pub created: i64,
    /// The person proved they receive mail at `email` (a verification link, a password reset link, or an
    /// invite mailed there). Reset to false whenever the address changes. Copied onto every identity.
    #[serde(default)]
    pub email_verified: bool,
    /// When `email` was set (epoch ms; `None`: at `created`): the start of the verification grace period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_set_at: Option<i64>,
}

impl Account {
    /// When the current address was set (epoch ms).
    pub fn email_since(&self) -> i64 {
        self.email_set_at.unwrap_or(self.created)
    }
}

impl Entity for Account {
    const KIND: &'static str = "Account";
    fn key(&self) -> Key {
        Key::account(&self.id)
    }
}

/// Makes an e-mail address unique across the instance: created with the account in one transaction,
/// on the condition that it does not exist.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EmailGuard {
    pub email: String,
    pub account_id: String,
}

impl Entity for EmailGuard {
    const KIND: &'static str = "EmailGuard";
    fn key(&self) -> Key {
        Key::email_guard(&self.email)
    }
}

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

fn default_ai_job_recipients() -> String {
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
        match self.deletion_requested_at {
            Some(_) => vec![("deletionPartition", DELETION_PARTITION.to_owned())],
            None => Vec::new(),
        }
    }
    fn numeric_attributes(&self) -> Vec<(&'static str, i64)> {
        self.deletion_requested_at.map(|at| vec![("deletionRequestedAt", at)]).unwrap_or_default()
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

/// A user's role in one team, as copied onto the user item (keyed there by team id).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct TeamRole {
    pub name: String,
    pub is_team_manager: bool,
}

/// A person's identity in one organization (WEBKNOSSOS's "User").
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: String,
    pub organization: String,
    pub account_id: String,
    /// Copy of the account's e-mail, so a user reads in one GetItem.
    pub email: String,
    /// Copy of the account's `emailVerified` (operator rights depend on it, and the caller is read without
    /// its account).
    #[serde(default)]
    pub is_email_verified: bool,
    pub first_name: String,
    pub last_name: String,
    #[serde(default)]
    pub is_admin: bool,
    #[serde(default)]
    pub is_organization_owner: bool,
    #[serde(default)]
    pub is_dataset_manager: bool,
    #[serde(default)]
    pub is_deactivated: bool,
    /// Copy of the membership items (team id -> role), so a user reads in one GetItem.
    #[serde(default)]
    pub teams: BTreeMap<String, TeamRole>,
    #[serde(default)]
    pub experiences: BTreeMap<String, i64>,
    pub last_activity: i64,
    pub created: i64,
    /// Raised to end every session and API token of this identity at once.
    #[serde(default)]
    pub session_epoch: u64,
    /// Raised by every change of the item except lastActivity; writes are conditioned on it.
    #[serde(default)]
    pub version: u64,
    /// Granted by the owner to an admin: may delete the organization.
    #[serde(default)]
    pub may_delete_organization: bool,
}

impl User {
    pub fn is_active(&self) -> bool {
        !self.is_deactivated
    }
    pub fn is_team_manager_of(&self, team_id: &str) -> bool {
        self.teams.get(team_id).is_some_and(|role| role.is_team_manager)
    }
    pub fn is_team_manager_or_admin(&self) -> bool {
        self.is_admin || self.teams.values().any(|role| role.is_team_manager)
    }
    /// Sort key of the `UsersByName` index: last name, first name (case-insensitively), id.
    pub fn name_key(&self) -> String {
        format!("{}\u{1}{}\u{1}{}", self.last_name.to_lowercase(), self.first_name.to_lowercase(), self.id)
    }
}

impl Entity for User {
    const KIND: &'static str = "User";
    fn key(&self) -> Key {
        Key::user(&self.organization, &self.id)
    }
    fn index_attributes(&self) -> Vec<(&'static str, String)> {
        vec![
            ("usersByName", users_by_name_partition(&self.organization, self.is_active())),
            ("nameKey", self.name_key()),
        ]
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

/// A user's membership in a team, in the team's key range (so a team's members are one Query).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Membership {
    pub organization: String,
    pub team_id: String,
    pub user_id: String,
    pub is_team_manager: bool,
}

impl Entity for Membership {
    const KIND: &'static str = "Membership";
    fn key(&self) -> Key {
        Key::membership(&self.organization, &self.team_id, &self.user_id)
    }
}

/// A login session. Deleting it ends the session at once; `expiresAt` lets DynamoDB TTL remove it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    pub organization: String,
    pub id: String,
    pub user_id: String,
    pub created: i64,
    /// Epoch seconds; the table's TTL attribute.
    pub expires_at: i64,
}

impl Entity for Session {
    const KIND: &'static str = "Session";
    fn key(&self) -> Key {
        Key::session(&self.organization, &self.id)
    }
}

/// The one pending password reset of an account (a new request replaces it, so only the newest link
/// works). The token `{accountId}.{secret}` is mailed to `email`; only its SHA-256 is stored.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PasswordReset {
    pub account_id: String,
    pub token_hash: String,
    /// The address the link was mailed to: following it proves that address.
    pub email: String,
    /// Epoch ms.
    pub valid_until: i64,
    pub created: i64,
}

impl Entity for PasswordReset {
    const KIND: &'static str = "PasswordReset";
    fn key(&self) -> Key {
        Key::password_reset(&self.account_id)
    }
    fn numeric_attributes(&self) -> Vec<(&'static str, i64)> {
        vec![("expiresAt", self.valid_until / 1000 + 24 * 3600)]
    }
}

/// An e-mail verification link `{accountId}.{secret}`, bound to the address it was mailed to. Keyed by the
/// key's hash, so links to earlier addresses stay recognisable (and are refused as such).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EmailVerification {
    pub account_id: String,
    pub key_hash: String,
    pub email: String,
    /// Epoch ms.
    pub valid_until: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_at: Option<i64>,
    pub created: i64,
}

impl Entity for EmailVerification {
    const KIND: &'static str = "EmailVerification";
    fn key(&self) -> Key {
        Key::email_verification(&self.account_id, &self.key_hash)
    }
    fn numeric_attributes(&self) -> Vec<(&'static str, i64)> {
        vec![("expiresAt", self.valid_until / 1000 + 24 * 3600)]
    }
}

/// A user's personal API token, stored only as a hash. The token is derived from a server-side key and
/// `nonce`, so it can be shown again ("find or create") without being stored.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ApiToken {
    pub organization: String,
    pub user_id: String,
    pub nonce: String,
    /// SHA-256 of the token, hex.
    pub token_hash: String,
    /// The user's `sessionEpoch` when the token was made; a later epoch revokes it.
    pub session_epoch: u64,
    pub created: i64,
}

impl Entity for ApiToken {
    const KIND: &'static str = "ApiToken";
    fn key(&self) -> Key {
        Key::api_token(&self.organization, &self.user_id)
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

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum InviteState {
    /// Sent and not yet used; "expired" once `validUntil` has passed.
    Pending,
    Accepted,
    Revoked,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum DeliveryState {
    /// Stored; the mail is being sent (stays so if the sender died before it knew the outcome).
    Sending,
    Sent,
    /// SES refused or was unreachable; the invite can be resent.
    Failed,
}

/// An invitation to join an organization. The token is never stored: it is derived from `nonce` with
/// the server key (so a reminder can repeat the link), and `tokenHash` checks it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Invite {
    pub id: String,
    pub organization: String,
    /// The address it was sent to (whoever holds the link may accept it, as in WEBKNOSSOS).
    pub email: String,
    pub nonce: String,
    pub token_hash: String,
    pub state: InviteState,
    pub auto_activate: bool,
    pub is_admin: bool,
    pub is_dataset_manager: bool,
    /// team id -> is team manager
    #[serde(default)]
    pub teams: BTreeMap<String, bool>,
    /// Sent by an instance operator for an organization made without an owner: whoever accepts it
    /// becomes the organization's owner (claimed in the same transaction, once).
    #[serde(default)]
    pub makes_owner: bool,
    pub sent_by: String,
    pub sent_by_name: String,
    pub created: i64,
    /// Epoch milliseconds after which the link no longer works.
    pub valid_until: i64,
    pub delivery: DeliveryState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_error: Option<String>,
    #[serde(default)]
    pub reminded: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted_by_user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted_by_email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended: Option<i64>,
    /// Epoch seconds when the daily job deletes it (the end of validity or use, plus the retention).
    pub cleanup_at: i64,
}

impl Invite {
    pub fn is_expired(&self, now_millis: i64) -> bool {
        self.state == InviteState::Pending && self.valid_until <= now_millis
    }
    /// The state as shown: pending, accepted, revoked or expired.
    pub fn shown_state(&self, now_millis: i64) -> &'static str {
        match self.state {
            InviteState::Accepted => "accepted",
            InviteState::Revoked => "revoked",
            InviteState::Pending if self.is_expired(now_millis) => "expired",
            InviteState::Pending => "pending",
        }
    }
    /// Epoch seconds at which a reminder is due (two days before expiry).
    pub fn remind_at(&self) -> i64 {
        self.valid_until / 1000 - 2 * 24 * 3600
    }
}

impl Entity for Invite {
    const KIND: &'static str = "Invite";
    fn key(&self) -> Key {
        Key::invite(&self.organization, &self.id)
    }
    fn index_attributes(&self) -> Vec<(&'static str, String)> {
        let mut attributes = vec![("cleanupPartition", INVITE_SCHEDULE_PARTITION.to_owned())];
        if self.state == InviteState::Pending && !self.reminded {
            attributes.push(("remindPartition", INVITE_SCHEDULE_PARTITION.to_owned()));
        }
        attributes
    }
    fn numeric_attributes(&self) -> Vec<(&'static str, i64)> {
        let mut attributes = vec![("cleanupAt", self.cleanup_at), ("expiresAt", self.cleanup_at + 24 * 3600)];
        if self.state == InviteState::Pending && !self.reminded {
            attributes.push(("remindAt", self.remind_at()));
        }
        attributes
    }
}

/// One live invite per address and organization: written with the invite, on the condition that no other
/// invite for the address is still valid.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct InviteEmailGuard {
    pub organization: String,
    pub email: String,
    pub invite_id: String,
    pub valid_until: i64,
}

impl Entity for InviteEmailGuard {
    const KIND: &'static str = "InviteEmailGuard";
    fn key(&self) -> Key {
        Key::invite_email_guard(&self.organization, &self.email)
    }
    /// TTL backstop: a guard means nothing once its invite's `validUntil` has passed (a new invite may then
    /// replace it), so DynamoDB TTL may remove it a day later; this is never after its invite's own
    /// `expiresAt` (cleanupAt + 1 day, cleanupAt being at or after validUntil), so it never outlives it.
    fn numeric_attributes(&self) -> Vec<(&'static str, i64)> {
        vec![("expiresAt", self.valid_until / 1000 + 24 * 3600)]
    }
}

/// One experience of an active user, for the task-distribution query (`UsersByExperience` index). Exists
/// only while the user is active; the user item's `experiences` map is the record.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct UserExperience {
    pub organization: String,
    pub user_id: String,
    pub domain: String,
    pub value: i64,
}

impl Entity for UserExperience {
    const KIND: &'static str = "UserExperience";
    fn key(&self) -> Key {
        Key::user_experience(&self.organization, &self.user_id, &self.domain)
    }
    fn index_attributes(&self) -> Vec<(&'static str, String)> {
        vec![("experienceKey", experience_partition(&self.organization, &self.domain))]
    }
    fn numeric_attributes(&self) -> Vec<(&'static str, i64)> {
        vec![("experienceValue", self.value)]
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum IdempotencyState {
    /// Claimed by a request that is doing the work (until `leaseUntil`).
    InProgress,
    /// Done: `status` and `body` are the response every retry gets.
    Completed,
    /// The request failed (and so changed nothing): the key may be used again.
    Released,
}

/// A request sent with an `Idempotency-Key` header (see `crate::idempotency`): claimed before the work,
/// then holding the response, for 24 hours (TTL). Scoped to the caller (in their organization's partition,
/// so it goes with the organization) or, for anonymous routes, to the key alone.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct IdempotencyRecord {
    /// The caller's organization and user; `None` for anonymous routes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// SHA-256 of the key, hex (the key itself is not stored).
    pub key_hash: String,
    /// The operation and SHA-256 of its body: a retry must send the same request.
    pub operation: String,
    pub request_hash: String,
    pub state: IdempotencyState,
    /// Random token of the claim: only its holder records the outcome.
    pub claim: String,
    /// Epoch milliseconds until which an in-progress claim holds (after that, a retry may take it over).
    pub lease_until: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    pub created: i64,
    /// Epoch seconds; the table's TTL attribute.
    pub expires_at: i64,
}

impl IdempotencyRecord {
    pub fn key_for(organization: Option<&str>, user_id: Option<&str>, key_hash: &str) -> Key {
        match organization {
            Some(organization) => Key {
                pk: org_partition(organization),
                sk: format!("IDEMPOTENCY#{}#{key_hash}", user_id.unwrap_or_default()),
            },
            None => Key { pk: format!("IDEMPOTENCY#{key_hash}"), sk: "IDEMPOTENCY".into() },
        }
    }
}

impl Entity for IdempotencyRecord {
    const KIND: &'static str = "IdempotencyRecord";
    fn key(&self) -> Key {
        IdempotencyRecord::key_for(self.organization.as_deref(), self.user_id.as_deref(), &self.key_hash)
    }
}
