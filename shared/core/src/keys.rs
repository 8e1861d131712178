//! The key material a function works with (docs/security.md, "Keys"), split so that a function reads only
//! what its operation uses:
//!
//! - Sessions are EdDSA (Ed25519) JWTs. Every function verifies them with the public keys in its
//!   configuration (`SESSION_PUBLIC_KEYS`, where a public key may be), so a function that only checks
//!   sessions reads no secret when it starts. The private key is derived from the session secret
//!   (`SESSION_KEY_SECRET_ID`), which only the functions that mint sessions read ([`SIGNS_SESSIONS`]).
//! - Personal API tokens, invite links, device cookies and the fingerprints of idempotent requests are
//!   HMACs under keys derived from the token secret (`TOKEN_SECRET_ID`), which only the functions that
//!   make or check them read ([`DERIVES_TOKENS`]).
//!
//! Both secrets are at least 32 random bytes, rotated in two steps with Secrets Manager's staging labels
//! (docs/deploy.md): the current version signs, a staged and a previous one are accepted.

use aws_lc_rs::hmac;
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::config_error::ConfigError;

/// Names the session secret in Secrets Manager (read by the functions that mint sessions).
pub const SESSION_KEY_SECRET_VARIABLE: &str = "SESSION_KEY_SECRET_ID";
/// Names the token secret in Secrets Manager (read by the functions that make or check tokens).
pub const TOKEN_SECRET_VARIABLE: &str = "TOKEN_SECRET_ID";
/// Names the sealing key in Secrets Manager (read by the functions that seal or open organizations'
/// single sign-on client secrets; template.yaml creates it).
pub const SEALING_KEY_SECRET_VARIABLE: &str = "SSO_SEALING_KEY_SECRET_ID";
/// The session public keys every function verifies with: base64url Ed25519 keys, comma-separated.
pub const SESSION_PUBLIC_KEYS_VARIABLE: &str = "SESSION_PUBLIC_KEYS";

/// The declared use (an operation's `actions`, operations.rs) of signing sessions: its function reads the
/// session secret when it starts and is granted exactly that secret.
pub const SIGNS_SESSIONS: &str = "key:signSessions";
/// The declared use of the token keys (API tokens, invite links, device cookies, request fingerprints):
/// its function reads the token secret when it starts and is granted exactly that secret.
pub const DERIVES_TOKENS: &str = "key:deriveTokens";

/// The declared use of the sealing key (the client secrets of organizations' identity providers, stored
/// sealed): its function reads the sealing key when it starts and is granted exactly that secret.
pub const SEALS_CLIENT_SECRETS: &str = "key:sealClientSecrets";

pub(crate) const MIN_SECRET_BYTES: usize = 32;

/// Which secrets a function reads when it starts: those its declared actions use (and template.yaml grants
/// it exactly those).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SecretsRead {
    pub session_key: bool,
    pub token_secret: bool,
    pub sealing_key: bool,
}

impl SecretsRead {
    pub fn of(actions: &[&str]) -> Self {
        SecretsRead {
            session_key: actions.contains(&SIGNS_SESSIONS),
            token_secret: actions.contains(&DERIVES_TOKENS),
            sealing_key: actions.contains(&SEALS_CLIENT_SECRETS),
        }
    }

    /// Whether the function reads any secret when it starts.
    pub fn any(self) -> bool {
        self.session_key || self.token_secret || self.sealing_key
    }
}

/// A version of a secret shorter than [`MIN_SECRET_BYTES`].
#[derive(Debug, thiserror::Error)]
#[error("every version of the secret must be at least {MIN_SECRET_BYTES} bytes")]
pub struct ShortSecret;

/// The versions of one secret a process holds: the current one signs; it and the others verify.
#[derive(Clone, PartialEq)]
pub struct SigningSecrets {
    current: Vec<u8>,
    others: Vec<Vec<u8>>,
}

impl SigningSecrets {
    /// `current` signs and verifies; `others` (a staged next version, the previous one) only verify.
    pub fn new(current: Vec<u8>, others: Vec<Vec<u8>>) -> Result<Self, ShortSecret> {
        if std::iter::once(&current).chain(&others).any(|secret| secret.len() < MIN_SECRET_BYTES) {
            return Err(ShortSecret);
        }
        let mut others: Vec<Vec<u8>> = others.into_iter().filter(|other| *other != current).collect();
        others.dedup();
        Ok(SigningSecrets { current, others })
    }

    /// The version that signs.
    pub fn current(&self) -> &[u8] {
        &self.current
    }

    /// Every accepted version, the signing one first.
    pub fn accepted(&self) -> impl Iterator<Item = &[u8]> {
        std::iter::once(self.current.as_slice()).chain(self.others.iter().map(Vec::as_slice))
    }
}

impl std::fmt::Debug for SigningSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningSecrets(<redacted>, {} accepted)", 1 + self.others.len())
    }
}

/// The Ed25519 key pair a version of the session secret stands for: its seed is an HMAC of the secret
/// under a fixed label, so the secret is plain random bytes like the token secret.
pub fn session_key_pair(secret: &[u8]) -> Ed25519KeyPair {
    let seed = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret), b"session-signing-key-v1");
    // An HMAC-SHA256 is 32 bytes, which is exactly an Ed25519 seed.
    Ed25519KeyPair::from_seed_unchecked(seed.as_ref()).expect("32 bytes are an Ed25519 seed")
}

/// A session secret version's public key, base64url (the form `SESSION_PUBLIC_KEYS` lists).
pub fn session_public_key(secret: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(session_key_pair(secret).public_key().as_ref())
}

/// `SESSION_PUBLIC_KEYS` (the template's `SessionPublicKeys`) for these versions of the session secret:
/// every accepted version's public key, the current one first.
pub fn session_public_keys_setting(session: &SigningSecrets) -> String {
    session.accepted().map(session_public_key).collect::<Vec<_>>().join(",")
}

/// What one function signs and verifies with.
#[derive(Clone, PartialEq)]
pub struct KeyMaterial {
    /// Verify sessions: Ed25519 public keys, raw 32 bytes each.
    pub session_public_keys: Vec<Vec<u8>>,
    /// Sign sessions (the current version): only in the functions that mint sessions.
    pub session_secrets: Option<SigningSecrets>,
    /// Derive the token keys: only in the functions that make or check tokens.
    pub token_secrets: Option<SigningSecrets>,
    /// Seal and open client secrets: only in the functions that store or use them.
    pub sealing_secrets: Option<SigningSecrets>,
}

impl KeyMaterial {
    /// Everything, from both secrets: the local stack, the tests and the tools that hold both.
    pub fn from_secrets(session: SigningSecrets, tokens: SigningSecrets) -> Self {
        let session_public_keys =
            session.accepted().map(|secret| session_key_pair(secret).public_key().as_ref().to_vec()).collect();
        KeyMaterial {
            session_public_keys,
            session_secrets: Some(session),
            token_secrets: Some(tokens),
            sealing_secrets: None,
        }
    }

    /// The same, with the sealing key.
    pub fn with_sealing(self, sealing: SigningSecrets) -> Self {
        KeyMaterial { sealing_secrets: Some(sealing), ..self }
    }

    /// A function's key material: the public keys from `setting` (`SESSION_PUBLIC_KEYS`) and the secrets
    /// its operation uses. A session secret whose current version's public key is not configured is
    /// refused: the function would mint sessions that no function accepts.
    pub fn configured(
        setting: &str,
        session: Option<SigningSecrets>,
        tokens: Option<SigningSecrets>,
    ) -> Result<Self, ConfigError> {
        let invalid = |reason: String| ConfigError::Invalid { name: SESSION_PUBLIC_KEYS_VARIABLE, reason };
        let session_public_keys = setting
            .split(',')
            .map(str::trim)
            .filter(|key| !key.is_empty())
            .map(|key| match URL_SAFE_NO_PAD.decode(key) {
                Ok(raw) if raw.len() == 32 => Ok(raw),
                _ => Err(invalid(format!("{key:?} is not a base64url Ed25519 public key (32 bytes)"))),
            })
            .collect::<Result<Vec<_>, _>>()?;
        if session_public_keys.is_empty() {
            return Err(invalid("lists no key (rotate-signing-key ... public-keys prints the setting)".into()));
        }
        if let Some(session) = &session {
            let signing = session_key_pair(session.current()).public_key().as_ref().to_vec();
            if !session_public_keys.contains(&signing) {
                return Err(invalid(format!(
                    "does not list the current session key's public key {}: deploy with the SessionPublicKeys \
                     that `rotate-signing-key ... public-keys` prints",
                    URL_SAFE_NO_PAD.encode(&signing)
                )));
            }
        }
        Ok(KeyMaterial { session_public_keys, session_secrets: session, token_secrets: tokens, sealing_secrets: None })
    }
}

impl std::fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyMaterial")
            .field("session_public_keys", &self.session_public_keys.len())
            .field("session_secrets", &self.session_secrets)
            .field("token_secrets", &self.token_secrets)
            .field("sealing_secrets", &self.sealing_secrets)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_version_must_be_long_enough_and_the_current_one_comes_first_once() {
        let (a, b) = (vec![1u8; 32], vec![2u8; 40]);
        assert!(SigningSecrets::new(vec![1u8; 31], vec![]).is_err());
        assert!(SigningSecrets::new(a.clone(), vec![vec![2u8; 31]]).is_err());
        let secrets = SigningSecrets::new(a.clone(), vec![a.clone(), b.clone(), b.clone()]).unwrap();
        let accepted: Vec<&[u8]> = secrets.accepted().collect();
        assert_eq!(accepted, vec![a.as_slice(), b.as_slice()]);
        assert_eq!(secrets.current(), a.as_slice());
        assert!(!format!("{secrets:?}").contains('\u{1}'), "the Debug form redacts the keys");
    }

    #[test]
    fn the_configured_public_keys_must_be_keys_and_include_the_signing_one() {
        let (old, new) = (SigningSecrets::new(vec![1; 32], vec![]).unwrap(), vec![2u8; 32]);
        let staged = SigningSecrets::new(vec![1; 32], vec![new.clone()]).unwrap();
        let setting = session_public_keys_setting(&staged);
        assert_eq!(setting.split(',').count(), 2);
        assert_eq!(setting.split(',').next().unwrap(), session_public_key(&[1; 32]));
        let configured = KeyMaterial::configured(&setting, Some(old.clone()), None).unwrap();
        assert_eq!(configured.session_public_keys.len(), 2);
        // A verifying function needs no secret at all.
        assert!(KeyMaterial::configured(&setting, None, None).is_ok());
        // Promoted, but deployed with the old setting's first key only: refused.
        let promoted = SigningSecrets::new(new, vec![vec![1; 32]]).unwrap();
        let only_old = session_public_key(&[1; 32]);
        let error = KeyMaterial::configured(&only_old, Some(promoted), None).unwrap_err().to_string();
        assert!(error.contains("SESSION_PUBLIC_KEYS") && error.contains("public-keys"), "{error}");
        for bad in ["", " , ", "not-a-key", &URL_SAFE_NO_PAD.encode([0u8; 31])] {
            assert!(KeyMaterial::configured(bad, None, None).is_err(), "{bad:?}");
        }
        // Deriving is deterministic and depends on the secret.
        assert_eq!(session_public_key(&[1; 32]), only_old);
        assert_ne!(session_public_key(&[3; 32]), only_old);
        let everything = KeyMaterial::from_secrets(old.clone(), old);
        assert!(!format!("{everything:?}").contains('\u{1}'));
    }
}
