//! Single sign-on with an OpenID provider: the sign-ins under way, and the accounts' links to providers.

use serde::{Deserialize, Serialize};

use super::{Entity, Key};

/// A sign-in with a provider that has started (`GET /auth/oidc/login`) and not yet come back: what the
/// callback needs to finish it. Keyed by the hash of its `state`, which only the browser that started it
/// holds (in a cookie); the callback deletes it with a condition, so it is used once, and the table's TTL
/// removes it when nobody came back.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct OidcLogin {
    /// SHA-256 of the `state` parameter.
    pub state_hash: String,
    /// The issuer of the connection it was started with.
    pub issuer: String,
    /// The nonce the ID token must carry.
    pub nonce: String,
    /// The PKCE code verifier (its S256 challenge went to the provider).
    pub code_verifier: String,
    /// A link started by this signed-in account (`?link=true`): the provider's person is linked to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_account: Option<String>,
    /// Epoch seconds after which the callback refuses it (also the TTL).
    pub expires_at: i64,
}

impl Entity for OidcLogin {
    const KIND: &'static str = "OidcLogin";
    fn key(&self) -> Key {
        Key::oidc_login(&self.state_hash)
    }
}

/// An account's link to a person at a provider, by the provider's stable identifiers (issuer, subject):
/// a later change of the address at the provider does not move the account. One account per (issuer,
/// subject), made unique by the key.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ProviderLink {
    pub issuer: String,
    pub subject: String,
    pub account_id: String,
    /// The address the provider asserted when the link was made (for the record).
    pub email: String,
    /// Epoch ms.
    pub created: i64,
}

impl Entity for ProviderLink {
    const KIND: &'static str = "ProviderLink";
    fn key(&self) -> Key {
        Key::provider_link(&self.issuer, &self.subject)
    }
}

impl Key {
    pub fn oidc_login(state_hash: &str) -> Key {
        Key { pk: format!("OIDCLOGIN#{state_hash}"), sk: "OIDCLOGIN".into() }
    }
    /// The subject is the provider's opaque string: the issuer and subject are hashed together, so any
    /// characters in them make a well-formed key.
    pub fn provider_link(issuer: &str, subject: &str) -> Key {
        let id = crate::ids::sha256_hex(&format!("{issuer}\n{subject}"));
        Key { pk: format!("PROVIDERLINK#{id}"), sk: "PROVIDERLINK".into() }
    }
}
