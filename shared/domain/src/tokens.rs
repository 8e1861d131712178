//! The service's keys and what they make: session JWTs, personal API tokens, invite tokens and request
//! fingerprints (HMACs of the configured secret), and SHA-256 digests of stored tokens.

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::config::SigningSecrets;
use crate::error::DomainError;
use crate::ids::sha256_hex;
use crate::model::Session;

pub const JWT_AUDIENCE: &str = "webknossos-accounts";

pub const API_TOKEN_PREFIX: &str = "wkt";

/// Signing and derivation keys, made once per process from the configured secrets: the current one signs
/// and derives; during a rotation the others are accepted too (`crate::signing`).
pub struct Keys {
    encoding: EncodingKey,
    validation: Validation,
    issuer: String,
    /// One per accepted secret, the current one first.
    sets: Vec<KeySet>,
}

/// What one secret makes.
struct KeySet {
    decoding: DecodingKey,
    /// Derives personal API tokens and invite tokens; separate from the JWT key by domain separation.
    token_key: hmac::Key,
    /// Fingerprints idempotent requests, so a stored fingerprint cannot be checked against guesses
    /// without the server's key.
    fingerprint_key: hmac::Key,
    /// Signs device cookies (a browser that logged in to an address before).
    device_key: hmac::Key,
}

impl KeySet {
    fn new(secret: &[u8]) -> Self {
        let master = hmac::Key::new(hmac::HMAC_SHA256, secret);
        let token_key = hmac::Key::new(hmac::HMAC_SHA256, hmac::sign(&master, b"personal-api-token-v1").as_ref());
        let fingerprint_key = hmac::Key::new(hmac::HMAC_SHA256, hmac::sign(&master, b"idempotent-request-v1").as_ref());
        let device_key = hmac::Key::new(hmac::HMAC_SHA256, hmac::sign(&master, b"login-device-v1").as_ref());
        KeySet { decoding: DecodingKey::from_secret(secret), token_key, fingerprint_key, device_key }
    }

    fn device_mac(&self, email: &str, expires: i64) -> String {
        let mac = hmac::sign(&self.device_key, format!("{email}\u{0}{expires}").as_bytes());
        URL_SAFE_NO_PAD.encode(mac.as_ref())
    }

    fn api_token(&self, organization: &str, user_id: &str, nonce: &str) -> String {
        let message = format!("{organization}\u{0}{user_id}\u{0}{nonce}");
        let mac = hmac::sign(&self.token_key, message.as_bytes());
        format!(
            "{API_TOKEN_PREFIX}.{}.{user_id}.{}",
            URL_SAFE_NO_PAD.encode(organization),
            URL_SAFE_NO_PAD.encode(mac.as_ref())
        )
    }

    fn invite_token(&self, organization: &str, invite_id: &str, nonce: &str) -> String {
        let message = format!("invite\u{0}{organization}\u{0}{invite_id}\u{0}{nonce}");
        let mac = hmac::sign(&self.token_key, message.as_bytes());
        format!("{}.{invite_id}.{}", URL_SAFE_NO_PAD.encode(organization), URL_SAFE_NO_PAD.encode(mac.as_ref()))
    }

    fn request_fingerprint(&self, operation: &str, bytes: &[u8]) -> String {
        let mut context = hmac::Context::with_key(&self.fingerprint_key);
        context.update(operation.as_bytes());
        context.update(&[0]);
        context.update(bytes);
        context.sign().as_ref().iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl Keys {
    pub fn new(secrets: &SigningSecrets, issuer: &str) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[JWT_AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = 5;
        Keys {
            encoding: EncodingKey::from_secret(secrets.current()),
            validation,
            issuer: issuer.to_owned(),
            sets: secrets.accepted().map(KeySet::new).collect(),
        }
    }

    /// Keys of one secret (unit tests, here and in the API crate).
    #[doc(hidden)]
    pub fn from_secret(secret: &[u8], issuer: &str) -> Self {
        Keys::new(&SigningSecrets::new(secret.to_vec(), vec![]).expect("a long enough test secret"), issuer)
    }

    fn current(&self) -> &KeySet {
        &self.sets[0]
    }

    pub fn sign_session(&self, session: &Session, session_epoch: u64) -> Result<String, DomainError> {
        let claims = SessionClaims {
            sub: session.user_id.clone(),
            org: session.organization.clone(),
            sid: session.id.clone(),
            epc: session_epoch,
            iat: session.created / 1000,
            nbf: session.created / 1000,
            exp: session.expires_at,
            iss: self.issuer.clone(),
            aud: JWT_AUDIENCE.to_owned(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).map_err(|e| {
            tracing::error!(error = %e, "signing a session token failed");
            DomainError::internal()
        })
    }

    /// Checks the signature against every accepted key (HS256 only: `none` and every other algorithm are
    /// refused), `exp`, `nbf`, `iss` and `aud`, and that the token was not issued in the future (`iat`,
    /// which the library does not check).
    pub fn verify_session(&self, token: &str) -> Result<SessionClaims, DomainError> {
        let claims = self
            .sets
            .iter()
            .find_map(|set| jsonwebtoken::decode::<SessionClaims>(token, &set.decoding, &self.validation).ok())
            .map(|data| data.claims)
            .ok_or_else(DomainError::invalid_credential)?;
        if claims.iat > crate::ids::now_seconds() + self.validation.leeway as i64 {
            return Err(DomainError::invalid_credential());
        }
        Ok(claims)
    }

    /// The personal API token for `(organization, user, nonce)` under the current key. Deterministic, so
    /// "get token" can show the same token again while the table keeps only its hash.
    pub fn api_token(&self, organization: &str, user_id: &str, nonce: &str) -> String {
        self.current().api_token(organization, user_id, nonce)
    }

    /// The stored API token again: derived under whichever accepted key made it (`token_hash`), or `None`
    /// when that key is no longer accepted (the token still works, since it is checked by its hash, but
    /// cannot be shown again).
    pub fn api_token_again(&self, organization: &str, user_id: &str, nonce: &str, token_hash: &str) -> Option<String> {
        self.sets.iter().map(|set| set.api_token(organization, user_id, nonce)).find(|t| sha256_hex(t) == token_hash)
    }

    /// A keyed fingerprint (HMAC-SHA256, hex) of `operation` and `bytes`, under the current key.
    pub fn request_fingerprint(&self, operation: &str, bytes: &[u8]) -> String {
        self.current().request_fingerprint(operation, bytes)
    }

    /// Whether `fingerprint` is `operation` and `bytes` under any accepted key: a retry across a rotation
    /// is the same request.
    pub fn fingerprint_matches(&self, fingerprint: &str, operation: &str, bytes: &[u8]) -> bool {
        self.sets.iter().any(|set| set.request_fingerprint(operation, bytes) == fingerprint)
    }

    /// A device cookie's value (OWASP's device cookies): this browser logged in to `email` successfully;
    /// `{expires}.{HMAC of email and expires}` under the current key, valid until `expires` (epoch seconds).
    pub fn device_cookie(&self, email: &str, expires: i64) -> String {
        format!("{expires}.{}", self.current().device_mac(email, expires))
    }

    /// Whether `cookie` is a device cookie for `email`, unexpired at `now`, under any accepted key.
    pub fn is_device_of(&self, cookie: &str, email: &str, now: i64) -> bool {
        let Some((expires, mac)) = cookie.split_once('.') else {
            return false;
        };
        let Ok(expires) = expires.parse::<i64>() else {
            return false;
        };
        expires > now
            && self.sets.iter().any(|set| {
                let expected = set.device_mac(email, expires);
                aws_lc_rs::constant_time::verify_slices_are_equal(expected.as_bytes(), mac.as_bytes()).is_ok()
            })
    }

    /// The invite token for `(organization, invite, nonce)` under the current key: 256 bits of HMAC,
    /// derived so a reminder can repeat the link while the table keeps only its hash.
    pub fn invite_token(&self, organization: &str, invite_id: &str, nonce: &str) -> String {
        self.current().invite_token(organization, invite_id, nonce)
    }

    /// The stored invite's token again, under whichever accepted key made it (`token_hash`); `None` when
    /// that key is no longer accepted.
    pub fn invite_token_again(
        &self,
        organization: &str,
        invite_id: &str,
        nonce: &str,
        token_hash: &str,
    ) -> Option<String> {
        self.sets
            .iter()
            .map(|set| set.invite_token(organization, invite_id, nonce))
            .find(|t| sha256_hex(t) == token_hash)
    }
}

/// The organization and invite id an invite token names, if it has the right shape.
pub fn parse_invite_token(token: &str) -> Option<(String, String)> {
    let mut parts = token.split('.');
    let (Some(org), Some(invite_id), Some(mac), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return None;
    };
    let organization = URL_SAFE_NO_PAD.decode(org).ok().and_then(|b| String::from_utf8(b).ok())?;
    let valid = !organization.is_empty()
        && !organization.contains('#')
        && crate::ids::is_object_id(invite_id)
        && mac.len() >= 22;
    valid.then(|| (organization, invite_id.to_owned()))
}

#[derive(Debug, Serialize, Deserialize)]
pub struct SessionClaims {
    pub sub: String,
    pub org: String,
    pub sid: String,
    /// The user's session epoch when the session began.
    pub epc: u64,
    iat: i64,
    nbf: i64,
    exp: i64,
    iss: String,
    aud: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_cookies_are_bound_to_their_address_and_expiry_and_survive_a_rotation() {
        let keys = Keys::from_secret(&[7u8; 32], "x");
        let cookie = keys.device_cookie("ada@example.org", 2_000);
        assert!(keys.is_device_of(&cookie, "ada@example.org", 1_999));
        assert!(!keys.is_device_of(&cookie, "ada@example.org", 2_000), "expired");
        assert!(!keys.is_device_of(&cookie, "eve@example.org", 1_000), "another address");
        let (_, mac) = cookie.split_once('.').unwrap();
        assert!(!keys.is_device_of(&format!("3000.{mac}"), "ada@example.org", 1_000), "another expiry");
        for junk in ["", "2000", "x.y", "2000."] {
            assert!(!keys.is_device_of(junk, "ada@example.org", 1_000), "{junk:?}");
        }
        assert!(!Keys::from_secret(&[8u8; 32], "x").is_device_of(&cookie, "ada@example.org", 1_000), "another key");
        let rotated = Keys::new(&SigningSecrets::new(vec![8u8; 32], vec![vec![7u8; 32]]).unwrap(), "x");
        assert!(rotated.is_device_of(&cookie, "ada@example.org", 1_000), "an accepted earlier key");
    }

    fn keys() -> Keys {
        Keys::from_secret(&[7u8; 32], "http://localhost:3000")
    }

    #[test]
    fn session_tokens_round_trip_and_reject_tampering() {
        let keys = keys();
        let now = crate::ids::now_millis();
        let session = Session {
            organization: "lab".into(),
            id: "sid".into(),
            user_id: "0123456789abcdef01234567".into(),
            created: now,
            expires_at: now / 1000 + 3600,
        };
        let jwt = keys.sign_session(&session, 3).unwrap();
        let claims = keys.verify_session(&jwt).unwrap();
        assert_eq!((claims.org.as_str(), claims.sid.as_str(), claims.epc), ("lab", "sid", 3));
        // Another key, another issuer, a changed payload and an expired token are all refused.
        assert!(Keys::from_secret(&[9u8; 32], "http://localhost:3000").verify_session(&jwt).is_err());
        assert!(Keys::from_secret(&[7u8; 32], "https://elsewhere").verify_session(&jwt).is_err());
        let mut parts: Vec<String> = jwt.split('.').map(str::to_owned).collect();
        parts[1] = URL_SAFE_NO_PAD.encode(br#"{"sub":"0123456789abcdef01234567","org":"other","sid":"sid","epc":3,"iat":0,"nbf":0,"exp":99999999999,"iss":"http://localhost:3000","aud":"webknossos-accounts"}"#);
        assert!(keys.verify_session(&parts.join(".")).is_err());
        let expired = Session { expires_at: now / 1000 - 60, ..session };
        assert!(keys.verify_session(&keys.sign_session(&expired, 0).unwrap()).is_err());
    }

    /// The three phases of a rotation (old current; new staged; new current with old previous), and a
    /// process of each phase meeting tokens made by the others.
    #[test]
    fn during_a_rotation_each_phase_accepts_what_the_others_sign_and_derived_tokens_are_shown_again() {
        let (old, new, unrelated) = (vec![1u8; 32], vec![2u8; 32], vec![3u8; 32]);
        let issuer = "http://localhost:3000";
        let before = Keys::new(&SigningSecrets::new(old.clone(), vec![]).unwrap(), issuer);
        let staged = Keys::new(&SigningSecrets::new(old.clone(), vec![new.clone()]).unwrap(), issuer);
        let after = Keys::new(&SigningSecrets::new(new.clone(), vec![old.clone()]).unwrap(), issuer);
        let later = Keys::new(&SigningSecrets::new(unrelated.clone(), vec![new.clone()]).unwrap(), issuer);
        let now = crate::ids::now_millis();
        let session = Session {
            organization: "lab".into(),
            id: "sid".into(),
            user_id: "u".into(),
            created: now,
            expires_at: now / 1000 + 60,
        };
        // Before and staged sign with the old key; after signs with the new one. Any two adjacent phases
        // (which run side by side while functions restart) accept each other's sessions.
        for (signer, verifier) in [(&before, &staged), (&staged, &before), (&staged, &after), (&after, &staged)] {
            let jwt = signer.sign_session(&session, 0).unwrap();
            assert!(verifier.verify_session(&jwt).is_ok());
        }
        // Two rotations later, the oldest key is gone.
        assert!(later.verify_session(&before.sign_session(&session, 0).unwrap()).is_err());

        // A token made before the rotation is shown again after it, the same; once its key is gone, not at all.
        let token = before.api_token("lab", "u", "n");
        assert_eq!(after.api_token_again("lab", "u", "n", &sha256_hex(&token)).as_deref(), Some(token.as_str()));
        assert_ne!(after.api_token("lab", "u", "n"), token);
        assert_eq!(later.api_token_again("lab", "u", "n", &sha256_hex(&token)), None);
        let invite = before.invite_token("lab", "i", "n");
        assert_eq!(after.invite_token_again("lab", "i", "n", &sha256_hex(&invite)).as_deref(), Some(invite.as_str()));
        assert_eq!(later.invite_token_again("lab", "i", "n", &sha256_hex(&invite)), None);
        // An idempotent request fingerprinted before is the same request after.
        let fingerprint = before.request_fingerprint("register", b"{}");
        assert!(after.fingerprint_matches(&fingerprint, "register", b"{}"));
        assert!(!after.fingerprint_matches(&fingerprint, "register", b"{ }"));
        assert!(!later.fingerprint_matches(&fingerprint, "register", b"{}"));
    }
}
