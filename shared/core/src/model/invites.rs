//! Invites and their e-mail guards.

use crate::model::Entity;
use crate::model::Key;
use crate::model::invite_schedule_partition;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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
    /// Stored; the mail is being queued (stays so if the sender died before it knew the outcome).
    Sending,
    /// The mail is in the queue; the drainer records `sent` or `failed` when SES has taken or refused it.
    Queued,
    Sent,
    /// SES refused or was unreachable; the invite can be resent.
    Failed,
    /// SES reported a permanent bounce or a complaint for the address: it is not mailed again.
    Undeliverable,
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
    pub(crate) fn remind_at(&self) -> i64 {
        self.valid_until / 1000 - 2 * 24 * 3600
    }
}

impl Entity for Invite {
    const KIND: &'static str = "Invite";
    fn key(&self) -> Key {
        Key::invite(&self.organization, &self.id)
    }
    fn index_attributes(&self) -> Vec<(&'static str, String)> {
        let partition = invite_schedule_partition(&self.id);
        let mut attributes = vec![("cleanupPartition", partition.clone())];
        if self.state == InviteState::Pending && !self.reminded {
            attributes.push(("remindPartition", partition));
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

/// An invite as one mail of it was made: the drainer records the outcome only if the invite was not
/// resent meanwhile (`nonce`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InviteDelivery {
    pub organization: String,
    pub invite_id: String,
    pub nonce: String,
}
