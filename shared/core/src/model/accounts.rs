//! Accounts and what belongs to them: the e-mail guard, sessions, API tokens, reset and verification links,
//! and idempotency records.

use crate::model::Entity;
use crate::model::Key;
use crate::model::org_partition;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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

/// The instance operator role, held by an account (never by an address): granted by a deployment
/// administrator's command (`grant-operator`) or by an operator through the API, only to an account whose
/// address is verified. Operator routes check that this item exists for the caller's account.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct OperatorGrant {
    pub account_id: String,
    /// The account's address when it was granted (for the record; the account's current one is mailed).
    pub email: String,
    /// Who granted it: an operator's e-mail, or `grant-operator` (the command).
    pub granted_by: String,
    /// Epoch ms.
    pub granted_at: i64,
}

impl Entity for OperatorGrant {
    const KIND: &'static str = "OperatorGrant";
    fn key(&self) -> Key {
        Key::operator_grant(&self.account_id)
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

/// How a person proved who they are when their session began.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum SignInMethod {
    /// The account's password (or a link mailed to its address).
    #[default]
    Password,
    /// A passkey of the account.
    Passkey,
    /// An identity provider (single sign-on).
    SingleSignOn,
}

impl SignInMethod {
    /// A passkey or an identity provider: what an organization that asks its admins for more than a
    /// password accepts (a phished password alone does not give it).
    pub fn is_strong(self) -> bool {
        self != SignInMethod::Password
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
    /// How the person signed in (a switch of organization or a password change keeps it).
    #[serde(default)]
    pub signed_in_with: SignInMethod,
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
    /// How the session that made it had signed in.
    #[serde(default)]
    pub signed_in_with: SignInMethod,
}

impl Entity for ApiToken {
    const KIND: &'static str = "ApiToken";
    fn key(&self) -> Key {
        Key::api_token(&self.organization, &self.user_id)
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
    pub(crate) fn key_for(organization: Option<&str>, user_id: Option<&str>, key_hash: &str) -> Key {
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
