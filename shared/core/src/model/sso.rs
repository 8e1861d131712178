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
    /// The organization whose own connection it was started with (`None`: the instance's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
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
        Key::provider_link_by_id(&link_id(issuer, subject))
    }
}

/// An account's own list of its links (the same link, mirrored under the account's partition, written and
/// removed in the same transactions as the [`ProviderLink`]): what the home page lists and unlinks.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(transparent)]
pub struct AccountLink(pub ProviderLink);

impl Entity for AccountLink {
    const KIND: &'static str = "AccountLink";
    fn key(&self) -> Key {
        Key::account_link(&self.0.account_id, &self.0.issuer, &self.0.subject)
    }
}

impl ProviderLink {
    /// The link's id as the API names it: the hash of (issuer, subject), as in its keys.
    pub fn id(&self) -> String {
        link_id(&self.issuer, &self.subject)
    }
}

/// What people of an organization's own connection who have no account yet may do.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum JoinPolicy {
    /// Only people with an account (invited, or linked) sign in.
    Closed,
    /// New people of a verified domain join, waiting for an admin to activate them.
    Pending,
    /// New people of a verified domain join active.
    Active,
}

/// An organization's own connection to its identity provider, configured by its admins. The client
/// secret, if the provider needs one, is stored sealed (AES-256-GCM under the stack's sealing key, bound to
/// the organization), never in plain text, and never returned.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SsoConnection {
    pub organization: String,
    /// `https://...`: discovery at `{issuer}/.well-known/openid-configuration`.
    pub issuer: String,
    pub client_id: String,
    /// The sealed client secret (base64url), when the provider needs one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed_client_secret: Option<String>,
    pub join_policy: JoinPolicy,
    /// Epoch ms.
    pub updated: i64,
}

impl Entity for SsoConnection {
    const KIND: &'static str = "SsoConnection";
    fn key(&self) -> Key {
        Key::sso_connection(&self.organization)
    }
}

/// A domain an organization claims (pending until its DNS record is found) or has verified.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DomainClaim {
    pub organization: String,
    /// Lower case, as DNS compares.
    pub domain: String,
    /// The random value of the TXT record that proves the claim.
    pub token: String,
    /// Epoch ms of the verification; `None`: pending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified_at: Option<i64>,
    /// Password logins of the domain's addresses are refused (the organization's admins excepted).
    #[serde(default)]
    pub require_sso: bool,
    /// Epoch ms.
    pub created: i64,
}

impl Entity for DomainClaim {
    const KIND: &'static str = "DomainClaim";
    fn key(&self) -> Key {
        Key::domain_claim(&self.organization, &self.domain)
    }
}

/// The instance-wide record of a verified domain: which organization owns it (one, made unique by the
/// key), and whether it requires single sign-on. Written in the same transactions as its [`DomainClaim`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct VerifiedDomain {
    pub domain: String,
    pub organization: String,
    #[serde(default)]
    pub require_sso: bool,
}

impl Entity for VerifiedDomain {
    const KIND: &'static str = "VerifiedDomain";
    fn key(&self) -> Key {
        Key::verified_domain(&self.domain)
    }
}

/// The domain of an address (after its last `@`): what a [`VerifiedDomain`] is keyed by.
pub fn email_domain(email: &str) -> &str {
    email.rsplit('@').next().unwrap_or_default()
}

/// The sort-key prefix of an organization's single sign-on items (its connection and its domains), which
/// one Query lists.
pub const SSO_PREFIX: &str = "SSO#";
/// The sort-key prefix of an account's links.
pub const ACCOUNT_LINK_PREFIX: &str = "LINK#";

fn link_id(issuer: &str, subject: &str) -> String {
    crate::ids::sha256_hex(&format!("{issuer}\n{subject}"))
}

impl Key {
    pub(crate) fn account_link(account_id: &str, issuer: &str, subject: &str) -> Key {
        Key::account_link_by_id(account_id, &link_id(issuer, subject))
    }
    pub fn account_link_by_id(account_id: &str, link_id: &str) -> Key {
        Key { pk: format!("ACCOUNT#{account_id}"), sk: format!("{ACCOUNT_LINK_PREFIX}{link_id}") }
    }
    /// The provider link of an account link's id.
    pub fn provider_link_by_id(link_id: &str) -> Key {
        Key { pk: format!("PROVIDERLINK#{link_id}"), sk: "PROVIDERLINK".into() }
    }
    pub fn sso_connection(organization: &str) -> Key {
        Key { pk: super::org_partition(organization), sk: format!("{SSO_PREFIX}CONNECTION") }
    }
    pub fn domain_claim(organization: &str, domain: &str) -> Key {
        Key { pk: super::org_partition(organization), sk: format!("{SSO_PREFIX}DOMAIN#{domain}") }
    }
    pub fn verified_domain(domain: &str) -> Key {
        Key { pk: format!("SSODOMAIN#{domain}"), sk: "SSODOMAIN".into() }
    }
}
