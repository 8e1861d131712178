//! Passkeys (WebAuthn credentials) of accounts, and the ceremonies under way that register or use one.

use serde::{Deserialize, Serialize};

use super::{Entity, Key};

/// The sort-key prefix of an account's passkeys.
pub const PASSKEY_PREFIX: &str = "PASSKEY#";

/// A passkey registered to an account (all its organizations): what WebAuthn needs to check its next
/// assertion. Keyed in the account's partition by an id derived from the credential id, so a sign-in finds
/// it with one GetItem from what the authenticator answers.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Passkey {
    pub account_id: String,
    /// The id the API names it by ([`passkey_id`] of the credential id).
    pub id: String,
    /// The name its owner gave it.
    pub name: String,
    /// The credential id (base64url).
    pub credential_id: String,
    /// What never changes: the public key and the authenticator's facts at registration (webauthn_rp's
    /// binary encoding, base64url).
    pub static_state: String,
    /// What each use may change: the signature counter and the backup and verification flags (the same
    /// encoding). A sign-in replaces it only if it is still the one the sign-in checked.
    pub dynamic_state: String,
    /// How the browser reaches the authenticator (USB, NFC, internal, ...), as the authenticator said at
    /// registration (webauthn_rp's one-byte encoding): a hint for the next registration's exclusions.
    #[serde(default)]
    pub transports: u8,
    /// Epoch ms.
    pub created: i64,
    /// Epoch ms of the last sign-in with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used: Option<i64>,
}

impl Entity for Passkey {
    const KIND: &'static str = "Passkey";
    fn key(&self) -> Key {
        Key::passkey(&self.account_id, &self.id)
    }
}

/// The API's id of a credential: the first 12 bytes of the SHA-256 of its raw id, in hex (as long as the
/// other ids), so any credential id the client sends makes a well-formed key.
pub fn passkey_id(credential_id: &[u8]) -> String {
    crate::ids::sha256_hex_bytes(credential_id)[..24].to_owned()
}

/// What a ceremony under way is for.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", tag = "purpose")]
pub enum CeremonyPurpose {
    /// Registering a passkey for this signed-in account.
    #[serde(rename_all = "camelCase")]
    Register { account_id: String },
    /// Signing in with any passkey (discoverable credentials: no address asked).
    SignIn,
}

/// A WebAuthn ceremony that has started and not finished: the relying party's state of it. Keyed by the
/// hash of its challenge, which the client's answer carries; taken by a conditioned delete, so each
/// challenge is answered once, and removed by the table's TTL when nobody answers.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PasskeyCeremony {
    /// SHA-256 (hex) of the challenge.
    pub challenge_hash: String,
    #[serde(flatten)]
    pub purpose: CeremonyPurpose,
    /// webauthn_rp's server state of the ceremony (its binary encoding, base64url).
    pub state: String,
    /// Epoch seconds after which it is refused (also the TTL).
    pub expires_at: i64,
}

impl Entity for PasskeyCeremony {
    const KIND: &'static str = "PasskeyCeremony";
    fn key(&self) -> Key {
        Key::passkey_ceremony(&self.challenge_hash)
    }
}

impl Key {
    pub fn passkey(account_id: &str, id: &str) -> Key {
        Key { pk: format!("ACCOUNT#{account_id}"), sk: format!("{PASSKEY_PREFIX}{id}") }
    }
    pub fn passkey_ceremony(challenge_hash: &str) -> Key {
        Key { pk: format!("PASSKEYCEREMONY#{challenge_hash}"), sk: "PASSKEYCEREMONY".into() }
    }
}
