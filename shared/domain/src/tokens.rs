//! The service's keys and what they make: session JWTs (EdDSA, verified with the configured public keys),
//! personal API tokens, invite tokens, device cookies and request fingerprints (HMACs under keys derived
//! from the token secret), and SHA-256 digests of stored tokens. A function holds only the material its
//! operation declares (`accounts_core::keys`); a use it did not declare is refused.

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::error::DomainError;
use crate::ids::sha256_hex;
use crate::keys::{
    DERIVES_TOKENS, KeyMaterial, SEALS_CLIENT_SECRETS, SIGNS_SESSIONS, SigningSecrets, session_key_pair,
};
use crate::model::Session;

pub(crate) const JWT_AUDIENCE: &str = "webknossos-accounts";

pub const API_TOKEN_PREFIX: &str = "wkt";

/// Signing, verifying and derivation keys, made once per process from its key material: the current
/// version of each secret signs and derives; during a rotation the others are accepted too.
pub struct Keys {
    validation: Validation,
    issuer: String,
    /// Every configured session public key.
    verifying: Vec<DecodingKey>,
    /// The current session key (PKCS#8), in the functions that mint sessions.
    signing: Option<EncodingKey>,
    /// One per accepted version of the token secret, the current one first; empty in the functions that
    /// make no token.
    sets: Vec<KeySet>,
    /// One AES-256-GCM key per accepted version of the sealing key, the current one first; empty in the
    /// functions that neither store nor use client secrets.
    sealing: Vec<aws_lc_rs::aead::LessSafeKey>,
}

/// What one version of the token secret makes.
struct KeySet {
    /// Derives personal API tokens and invite tokens.
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
        let derive = |label: &[u8]| hmac::Key::new(hmac::HMAC_SHA256, hmac::sign(&master, label).as_ref());
        KeySet {
            token_key: derive(b"personal-api-token-v1"),
            fingerprint_key: derive(b"idempotent-request-v1"),
            device_key: derive(b"login-device-v1"),
        }
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

/// The AES-256-GCM key of one version of the sealing key (an HMAC of it under a fixed label, so the secret
/// is plain random bytes like the others).
fn sealing_key(secret: &[u8]) -> aws_lc_rs::aead::LessSafeKey {
    let derived = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret), b"sso-client-secret-sealing-v1");
    let key = aws_lc_rs::aead::UnboundKey::new(&aws_lc_rs::aead::AES_256_GCM, derived.as_ref())
        .expect("an HMAC-SHA256 is 32 bytes, an AES-256 key");
    aws_lc_rs::aead::LessSafeKey::new(key)
}

/// What a sealed secret is bound to.
fn sealing_context(organization: &str) -> Vec<u8> {
    format!("sso-client-secret\u{0}{organization}").into_bytes()
}

/// A key this function does not hold, or whose use its operation did not declare: a programming error
/// (the declaration and the template must say it), answered as an internal error.
fn unavailable_key(use_: &'static str, reason: &str) -> DomainError {
    tracing::error!(key_use = use_, reason, "a key the function does not have");
    DomainError::internal()
}

impl Keys {
    pub fn new(material: &KeyMaterial, issuer: &str) -> Self {
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[JWT_AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = 5;
        let signing = material.session_secrets.as_ref().and_then(|session| {
            // PKCS#8 v1, the form jsonwebtoken's EdDSA signer parses.
            let document = session_key_pair(session.current()).to_pkcs8v1().ok()?;
            Some(EncodingKey::from_ed_der(document.as_ref()))
        });
        Keys {
            validation,
            issuer: issuer.to_owned(),
            verifying: material.session_public_keys.iter().map(|raw| DecodingKey::from_ed_der(raw)).collect(),
            signing,
            sets: material.token_secrets.iter().flat_map(SigningSecrets::accepted).map(KeySet::new).collect(),
            sealing: material.sealing_secrets.iter().flat_map(SigningSecrets::accepted).map(sealing_key).collect(),
        }
    }

    /// The sealing keys, the current one first, if this operation declared their use and has them.
    fn sealing_keys(&self) -> Result<&[aws_lc_rs::aead::LessSafeKey], DomainError> {
        crate::declared_actions::use_key(SEALS_CLIENT_SECRETS)
            .map_err(|reason| unavailable_key(SEALS_CLIENT_SECRETS, &reason))?;
        if self.sealing.is_empty() {
            return Err(unavailable_key(SEALS_CLIENT_SECRETS, "no sealing key was read at start-up"));
        }
        Ok(&self.sealing)
    }

    /// `secret` sealed for `organization` (AES-256-GCM, a random nonce, the organization as associated
    /// data, so a sealed secret copied to another organization's item does not open): base64url of the
    /// nonce and the ciphertext.
    pub(crate) fn seal(&self, organization: &str, secret: &str) -> Result<String, DomainError> {
        use aws_lc_rs::aead::{Aad, NONCE_LEN, Nonce};
        let key = &self.sealing_keys()?[0];
        let nonce = crate::ids::random_bytes::<NONCE_LEN>();
        let mut sealed = secret.as_bytes().to_vec();
        key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(sealing_context(organization)),
            &mut sealed,
        )
        .map_err(|_| DomainError::internal())?;
        Ok(URL_SAFE_NO_PAD.encode([nonce.as_slice(), &sealed].concat()))
    }

    /// The secret `sealed` for `organization`, under any accepted version of the sealing key; `None` if
    /// none opens it (sealed under a key that is gone, or for another organization).
    pub(crate) fn open(&self, organization: &str, sealed: &str) -> Result<Option<String>, DomainError> {
        use aws_lc_rs::aead::{Aad, NONCE_LEN, Nonce};
        let keys = self.sealing_keys()?;
        let Ok(raw) = URL_SAFE_NO_PAD.decode(sealed) else { return Ok(None) };
        if raw.len() < NONCE_LEN {
            return Ok(None);
        }
        let (nonce, ciphertext) = raw.split_at(NONCE_LEN);
        for key in keys {
            let mut buffer = ciphertext.to_vec();
            let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| DomainError::internal())?;
            if let Ok(plain) = key.open_in_place(nonce, Aad::from(sealing_context(organization)), &mut buffer) {
                return Ok(String::from_utf8(plain.to_vec()).ok());
            }
        }
        Ok(None)
    }

    /// Every key from one secret used as both the session and the token secret (unit tests, here and in
    /// the API crate).
    #[doc(hidden)]
    pub fn from_secret(secret: &[u8], issuer: &str) -> Self {
        let secrets = SigningSecrets::new(secret.to_vec(), vec![]).expect("a long enough test secret");
        Keys::new(&KeyMaterial::from_secrets(secrets.clone(), secrets), issuer)
    }

    /// The token key sets, the current one first, if this operation declared their use and has them.
    fn token_sets(&self) -> Result<&[KeySet], DomainError> {
        crate::declared_actions::use_key(DERIVES_TOKENS).map_err(|reason| unavailable_key(DERIVES_TOKENS, &reason))?;
        if self.sets.is_empty() {
            return Err(unavailable_key(DERIVES_TOKENS, "no token secret was read at start-up"));
        }
        Ok(&self.sets)
    }

    fn current(&self) -> Result<&KeySet, DomainError> {
        Ok(&self.token_sets()?[0])
    }

    pub(crate) fn sign_session(&self, session: &Session, session_epoch: u64) -> Result<String, DomainError> {
        crate::declared_actions::use_key(SIGNS_SESSIONS).map_err(|reason| unavailable_key(SIGNS_SESSIONS, &reason))?;
        let signing = self
            .signing
            .as_ref()
            .ok_or_else(|| unavailable_key(SIGNS_SESSIONS, "no session secret was read at start-up"))?;
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
        jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), &claims, signing).map_err(|e| {
            tracing::error!(error = %e, "signing a session token failed");
            DomainError::internal()
        })
    }

    /// Checks the signature against every configured public key (EdDSA only: `none`, HS256 and every
    /// other algorithm are refused), `exp`, `nbf`, `iss` and `aud`, and that the token was not issued in
    /// the future (`iat`, which the library does not check).
    pub fn verify_session(&self, token: &str) -> Result<SessionClaims, DomainError> {
        let claims = self
            .verifying
            .iter()
            .find_map(|key| jsonwebtoken::decode::<SessionClaims>(token, key, &self.validation).ok())
            .map(|data| data.claims)
            .ok_or_else(DomainError::invalid_credential)?;
        if claims.iat > crate::ids::now_seconds() + self.validation.leeway as i64 {
            return Err(DomainError::invalid_credential());
        }
        Ok(claims)
    }

    /// The personal API token for `(organization, user, nonce)` under the current key. Deterministic, so
    /// "get token" can show the same token again while the table keeps only its hash.
    pub fn api_token(&self, organization: &str, user_id: &str, nonce: &str) -> Result<String, DomainError> {
        Ok(self.current()?.api_token(organization, user_id, nonce))
    }

    /// The stored API token again: derived under whichever accepted key made it (`token_hash`), or `None`
    /// when that key is no longer accepted (the token still works, since it is checked by its hash, but
    /// cannot be shown again).
    pub(crate) fn api_token_again(
        &self,
        organization: &str,
        user_id: &str,
        nonce: &str,
        token_hash: &str,
    ) -> Result<Option<String>, DomainError> {
        self.again(token_hash, |set| set.api_token(organization, user_id, nonce))
    }

    /// A keyed fingerprint (HMAC-SHA256, hex) of `operation` and `bytes`, under the current key.
    pub fn request_fingerprint(&self, operation: &str, bytes: &[u8]) -> Result<String, DomainError> {
        Ok(self.current()?.request_fingerprint(operation, bytes))
    }

    /// Whether `fingerprint` is `operation` and `bytes` under any accepted key: a retry across a rotation
    /// is the same request.
    pub fn fingerprint_matches(&self, fingerprint: &str, operation: &str, bytes: &[u8]) -> Result<bool, DomainError> {
        Ok(self.token_sets()?.iter().any(|set| set.request_fingerprint(operation, bytes) == fingerprint))
    }

    /// A device cookie's value (OWASP's device cookies): this browser logged in to `email` successfully;
    /// `{expires}.{HMAC of email and expires}` under the current key, valid until `expires` (epoch seconds).
    pub fn device_cookie(&self, email: &str, expires: i64) -> Result<String, DomainError> {
        Ok(format!("{expires}.{}", self.current()?.device_mac(email, expires)))
    }

    /// Whether `cookie` is a device cookie for `email`, unexpired at `now`, under any accepted key.
    pub(crate) fn is_device_of(&self, cookie: &str, email: &str, now: i64) -> Result<bool, DomainError> {
        let sets = self.token_sets()?;
        let Some((expires, mac)) = cookie.split_once('.') else {
            return Ok(false);
        };
        let Ok(expires) = expires.parse::<i64>() else {
            return Ok(false);
        };
        Ok(expires > now
            && sets.iter().any(|set| {
                let expected = set.device_mac(email, expires);
                aws_lc_rs::constant_time::verify_slices_are_equal(expected.as_bytes(), mac.as_bytes()).is_ok()
            }))
    }

    /// The invite token for `(organization, invite, nonce)` under the current key: 256 bits of HMAC,
    /// derived so a reminder can repeat the link while the table keeps only its hash.
    pub(crate) fn invite_token(&self, organization: &str, invite_id: &str, nonce: &str) -> Result<String, DomainError> {
        Ok(self.current()?.invite_token(organization, invite_id, nonce))
    }

    /// The stored invite's token again, under whichever accepted key made it (`token_hash`); `None` when
    /// that key is no longer accepted.
    pub(crate) fn invite_token_again(
        &self,
        organization: &str,
        invite_id: &str,
        nonce: &str,
        token_hash: &str,
    ) -> Result<Option<String>, DomainError> {
        self.again(token_hash, |set| set.invite_token(organization, invite_id, nonce))
    }

    /// The token `derive` makes under whichever accepted key made the one stored as `token_hash`.
    fn again(&self, token_hash: &str, derive: impl Fn(&KeySet) -> String) -> Result<Option<String>, DomainError> {
        Ok(self.token_sets()?.iter().map(derive).find(|t| sha256_hex(t) == token_hash))
    }
}

/// The organization and invite id an invite token names, if it has the right shape.
pub(crate) fn parse_invite_token(token: &str) -> Option<(String, String)> {
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

    fn sealing_keys(current: u8, others: &[u8]) -> Keys {
        let secrets = |value: u8| SigningSecrets::new(vec![value; 32], vec![]).unwrap();
        let sealing = SigningSecrets::new(vec![current; 32], others.iter().map(|v| vec![*v; 32]).collect()).unwrap();
        Keys::new(&KeyMaterial::from_secrets(secrets(1), secrets(2)).with_sealing(sealing), "x")
    }

    #[test]
    fn a_sealed_secret_opens_for_its_organization_only_and_under_its_key() {
        let keys = sealing_keys(9, &[]);
        let sealed = keys.seal("lab", "client secret").unwrap();
        assert!(!sealed.contains("secret"));
        assert_ne!(sealed, keys.seal("lab", "client secret").unwrap(), "a fresh nonce each time");
        assert_eq!(keys.open("lab", &sealed).unwrap().as_deref(), Some("client secret"));
        assert_eq!(keys.open("other-lab", &sealed).unwrap(), None, "bound to its organization");
        let mut tampered = URL_SAFE_NO_PAD.decode(&sealed).unwrap();
        *tampered.last_mut().unwrap() ^= 1;
        assert_eq!(keys.open("lab", &URL_SAFE_NO_PAD.encode(tampered)).unwrap(), None);
        assert_eq!(keys.open("lab", "not base64!").unwrap(), None);
        assert_eq!(keys.open("lab", "").unwrap(), None);
        // A new current key still opens what the previous one sealed; without it, nothing opens.
        assert_eq!(sealing_keys(8, &[9]).open("lab", &sealed).unwrap().as_deref(), Some("client secret"));
        assert_eq!(sealing_keys(8, &[]).open("lab", &sealed).unwrap(), None);
        // A function without the sealing key has none to use.
        let without = Keys::from_secret(&[7u8; 32], "x");
        assert!(without.seal("lab", "s").is_err() && without.open("lab", &sealed).is_err());
    }

    #[test]
    fn device_cookies_are_bound_to_their_address_and_expiry_and_survive_a_rotation() {
        let keys = Keys::from_secret(&[7u8; 32], "x");
        let cookie = keys.device_cookie("ada@example.org", 2_000).unwrap();
        let is_device =
            |keys: &Keys, cookie: &str, email: &str, now: i64| keys.is_device_of(cookie, email, now).unwrap();
        assert!(is_device(&keys, &cookie, "ada@example.org", 1_999));
        assert!(!is_device(&keys, &cookie, "ada@example.org", 2_000), "expired");
        assert!(!is_device(&keys, &cookie, "eve@example.org", 1_000), "another address");
        let (_, mac) = cookie.split_once('.').unwrap();
        assert!(!is_device(&keys, &format!("3000.{mac}"), "ada@example.org", 1_000), "another expiry");
        for junk in ["", "2000", "x.y", "2000."] {
            assert!(!is_device(&keys, junk, "ada@example.org", 1_000), "{junk:?}");
        }
        assert!(!is_device(&Keys::from_secret(&[8u8; 32], "x"), &cookie, "ada@example.org", 1_000), "another key");
        let rotated = rotation_phase(vec![5u8; 32], vec![8u8; 32], vec![vec![7u8; 32]], "x");
        assert!(is_device(&rotated, &cookie, "ada@example.org", 1_000), "an accepted earlier key");
    }

    /// A function's keys in one phase of rotating both secrets: `session` signs sessions, `current` and
    /// `others` are the token secret's versions (the session secret rotates alongside, same shape).
    fn rotation_phase(session: Vec<u8>, current: Vec<u8>, others: Vec<Vec<u8>>, issuer: &str) -> Keys {
        let session = SigningSecrets::new(session, vec![]).unwrap();
        let tokens = SigningSecrets::new(current, others).unwrap();
        Keys::new(&KeyMaterial::from_secrets(session, tokens), issuer)
    }

    /// A function that verifies sessions with the configured public keys and holds no secret.
    fn verifier(session: &SigningSecrets, issuer: &str) -> Keys {
        let setting = crate::keys::session_public_keys_setting(session);
        Keys::new(&KeyMaterial::configured(&setting, None, None).unwrap(), issuer)
    }

    #[test]
    fn a_function_without_a_secret_verifies_sessions_and_uses_no_key_it_does_not_hold() {
        let secret = SigningSecrets::new(vec![7u8; 32], vec![]).unwrap();
        let minting = Keys::from_secret(&[7u8; 32], "x");
        let checking = verifier(&secret, "x");
        let session = session_of("u", 60);
        let jwt = minting.sign_session(&session, 0).unwrap();
        assert!(checking.verify_session(&jwt).is_ok());
        // The same claims as HS256 under the public key (the algorithm confusion attack): refused, EdDSA only.
        let payload = URL_SAFE_NO_PAD.decode(jwt.split('.').nth(1).unwrap()).unwrap();
        let claims: serde_json::Value = serde_json::from_slice(&payload).unwrap();
        let public = URL_SAFE_NO_PAD.decode(crate::keys::session_public_key(&[7u8; 32])).unwrap();
        let forged =
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(&public)).unwrap();
        assert!(checking.verify_session(&forged).is_err());
        // What it does not hold is an error, never a panic.
        assert!(checking.sign_session(&session, 0).is_err());
        assert!(checking.api_token("lab", "u", "n").is_err());
        assert!(checking.request_fingerprint("register", b"{}").is_err());
        assert!(checking.is_device_of("1.x", "a@b.c", 0).is_err());
    }

    fn keys() -> Keys {
        Keys::from_secret(&[7u8; 32], "http://localhost:3000")
    }

    /// A session of `user_id` in `lab`, begun now, ending in `seconds`.
    fn session_of(user_id: &str, seconds: i64) -> Session {
        let now = crate::ids::now_millis();
        Session {
            organization: "lab".into(),
            id: "sid".into(),
            user_id: user_id.into(),
            created: now,
            expires_at: now / 1000 + seconds,
            signed_in_with: Default::default(),
        }
    }

    #[test]
    fn session_tokens_round_trip_and_reject_tampering() {
        let keys = keys();
        let now = crate::ids::now_millis();
        let session = session_of("0123456789abcdef01234567", 3600);
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
        // Each phase: a minting function (both secrets) and a function that only verifies (public keys).
        let phase = |current: &Vec<u8>, others: Vec<Vec<u8>>| {
            let session = SigningSecrets::new(current.clone(), others.clone()).unwrap();
            let tokens = SigningSecrets::new(current.clone(), others).unwrap();
            (Keys::new(&KeyMaterial::from_secrets(session.clone(), tokens), issuer), verifier(&session, issuer))
        };
        let (before, before_verifier) = phase(&old, vec![]);
        let (staged, staged_verifier) = phase(&old, vec![new.clone()]);
        let (after, after_verifier) = phase(&new, vec![old.clone()]);
        let (later, later_verifier) = phase(&unrelated, vec![new.clone()]);
        let session = session_of("u", 60);
        // Before and staged sign with the old key; after signs with the new one. Any two adjacent phases
        // (which run side by side while functions restart) accept each other's sessions.
        for (signer, verifier) in [
            (&before, &staged_verifier),
            (&staged, &before_verifier),
            (&staged, &after_verifier),
            (&after, &staged_verifier),
            (&after, &after_verifier),
        ] {
            let jwt = signer.sign_session(&session, 0).unwrap();
            assert!(verifier.verify_session(&jwt).is_ok());
        }
        // Without the staging step, the first phase would refuse what the last one signs.
        assert!(before_verifier.verify_session(&after.sign_session(&session, 0).unwrap()).is_err());
        // Two rotations later, the oldest key is gone.
        assert!(later_verifier.verify_session(&before.sign_session(&session, 0).unwrap()).is_err());
        assert!(later.verify_session(&after.sign_session(&session, 0).unwrap()).is_ok());

        // A token made before the rotation is shown again after it, the same; once its key is gone, not at all.
        let token = before.api_token("lab", "u", "n").unwrap();
        let again = |keys: &Keys, token: &str| keys.api_token_again("lab", "u", "n", &sha256_hex(token)).unwrap();
        assert_eq!(again(&after, &token).as_deref(), Some(token.as_str()));
        assert_ne!(after.api_token("lab", "u", "n").unwrap(), token);
        assert_eq!(again(&later, &token), None);
        let invite = before.invite_token("lab", "i", "n").unwrap();
        let again = |keys: &Keys, token: &str| keys.invite_token_again("lab", "i", "n", &sha256_hex(token)).unwrap();
        assert_eq!(again(&after, &invite).as_deref(), Some(invite.as_str()));
        assert_eq!(again(&later, &invite), None);
        // An idempotent request fingerprinted before is the same request after.
        let fingerprint = before.request_fingerprint("register", b"{}").unwrap();
        let matches = |keys: &Keys, body: &[u8]| keys.fingerprint_matches(&fingerprint, "register", body).unwrap();
        assert!(matches(&after, b"{}"));
        assert!(!matches(&after, b"{ }"));
        assert!(!matches(&later, b"{}"));
    }
}
