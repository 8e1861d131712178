//! The API's answers as a client reads them: the test's own types for WEBKNOSSOS's JSON, so a test checks
//! the wire shape the clients depend on rather than the server's structs. [`TestResponse::json`] decodes
//! an answer into one (and fails the test, with the body, when the shape is not what the route promises).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::TestResponse;

impl TestResponse {
    /// The body as `T`, after checking the answer is a 200.
    #[track_caller]
    pub fn json<T: DeserializeOwned>(&self) -> T {
        assert_eq!(self.status, 200, "expected a 200 answer, got {}: {}", self.status, self.body);
        serde_json::from_value(self.body.clone())
            .unwrap_or_else(|e| panic!("the answer is not a {}: {e}: {}", std::any::type_name::<T>(), self.body))
    }
}

/// A team a user is in (`GET /api/user`'s `teams`).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct TeamMembership {
    pub id: String,
    pub name: String,
    pub is_team_manager: bool,
}

/// A user as `GET /api/user`, `/api/users` and `/api/users/{id}` show one.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub is_admin: bool,
    pub is_organization_owner: bool,
    pub is_dataset_manager: bool,
    pub is_active: bool,
    pub teams: Vec<TeamMembership>,
    pub experiences: BTreeMap<String, i64>,
    pub is_editable: bool,
    pub organization: String,
    pub may_delete_organization: bool,
    pub is_email_verified: bool,
}

impl User {
    /// The ids of the user's teams, in the answer's order.
    pub fn team_ids(&self) -> Vec<&str> {
        self.teams.iter().map(|t| t.id.as_str()).collect()
    }
}

/// `POST /api/auth/login` and `/api/auth/switchOrganization/{id}`.
#[derive(Debug, Clone, Deserialize)]
pub struct SignedIn {
    pub token: String,
    pub user: User,
}

/// An organization as `GET /api/organizations/{id}` shows it (the admin-only fields absent for others).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Organization {
    pub id: String,
    pub name: String,
    pub pricing_plan: String,
    pub paid_until: Option<i64>,
    pub included_users: Option<u64>,
    pub included_storage_bytes: Option<u64>,
    pub used_storage_bytes: u64,
    pub owner_name: Option<String>,
    pub member_count: Option<u64>,
    pub active_user_count: Option<u64>,
    pub milli_credit_balance: Option<i64>,
    pub new_user_mailing_list: Option<String>,
    pub plan_subscription_email: Option<String>,
    pub ai_job_notifications: Option<String>,
}

/// `POST /api/auth/createOrganizationWithAdmin`.
#[derive(Debug, Clone, Deserialize)]
pub struct CreatedOrganization {
    pub organization: Organization,
    pub user: User,
}

/// An entry of `GET /api/organizations`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct OrganizationName {
    pub id: String,
    pub name: String,
}

/// `GET /api/organizations/byInvite/{token}`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct InvitingOrganization {
    pub id: String,
    pub name: String,
    pub invited_by: String,
    pub invited_email: String,
}

/// A team as `GET /api/teams` shows it.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Team {
    pub id: String,
    pub name: String,
    pub organization: String,
    pub is_organization_team: bool,
}

/// A member as `GET /api/teams/{id}/users` shows one.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct TeamMember {
    pub id: String,
    pub email: String,
    pub is_active: bool,
    pub is_team_manager: bool,
}

/// A team an invite puts its recipient in.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct InvitedTeam {
    pub id: String,
    pub is_team_manager: bool,
}

/// An invite as `GET /api/invites` shows it.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Invite {
    pub id: String,
    pub email: String,
    /// `pending`, `accepted`, `revoked` or `expired`.
    pub state: String,
    pub auto_activate: bool,
    pub is_admin: bool,
    pub is_dataset_manager: bool,
    pub team_memberships: Vec<InvitedTeam>,
    pub sent_by: String,
    pub valid_until: i64,
    /// `sending`, `queued`, `failed`, `bounced`, `undeliverable`, ...
    pub delivery: String,
    pub delivery_error: Option<String>,
    pub accepted_by_user_id: Option<String>,
    pub accepted_by_email: Option<String>,
}

/// One recipient's outcome in `POST /api/auth/sendInvites`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RecipientResult {
    pub email: String,
    /// `invited`, `notMailed`, `notStored`, `invalid`, `duplicate`, `alreadyMember`, `alreadyInvited`.
    pub status: String,
    pub invite_id: Option<String>,
    pub error: Option<String>,
}

/// `POST /api/auth/sendInvites`.
#[derive(Debug, Clone, Deserialize)]
pub struct SentInvites {
    pub recipients: Vec<RecipientResult>,
}

impl SentInvites {
    /// The statuses, in the order the recipients were given.
    pub fn statuses(&self) -> Vec<&str> {
        self.recipients.iter().map(|r| r.status.as_str()).collect()
    }
}

/// `GET /api/auth/token`.
#[derive(Debug, Clone, Deserialize)]
pub struct Token {
    pub token: String,
}

/// An entry of `GET /api/creditTransactions`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct CreditTransaction {
    pub id: String,
    pub milli_credits: i64,
    pub comment: String,
    pub created_by: String,
}

/// An entry of `GET /api/auditLog`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    pub id: String,
    pub action: String,
    pub occurred_at: i64,
    pub actor: serde_json::Value,
    pub targets: Vec<serde_json::Value>,
    pub change: serde_json::Value,
    pub group: Option<String>,
}
