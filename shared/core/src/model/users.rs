//! Identities (a user of an organization), their team roles and experiences.

use crate::model::Entity;
use crate::model::Key;
use crate::model::experience_partition;
use crate::model::users_by_name_partition;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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
    /// A new identity of `account` in `organization`, named and in `teams`, with no rights, experiences or
    /// sessions yet; active. Callers set what differs (`User { is_admin: true, ..User::new_member(..) }`).
    pub fn new_member(
        id: String,
        organization: &str,
        account: (&str, &str, bool),
        name: (String, String),
        teams: BTreeMap<String, TeamRole>,
        now: i64,
    ) -> User {
        let (account_id, email, is_email_verified) = account;
        User {
            id,
            organization: organization.to_owned(),
            account_id: account_id.to_owned(),
            email: email.to_owned(),
            is_email_verified,
            first_name: name.0,
            last_name: name.1,
            is_admin: false,
            is_organization_owner: false,
            is_dataset_manager: false,
            is_deactivated: false,
            teams,
            experiences: BTreeMap::new(),
            last_activity: now,
            created: now,
            session_epoch: 0,
            version: 0,
            may_delete_organization: false,
        }
    }

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
