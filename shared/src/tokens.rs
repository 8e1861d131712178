//! The service's keys and what they make: session JWTs, personal API tokens, invite tokens and request
//! fingerprints (HMACs of the configured secret), and SHA-256 digests of stored tokens.

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::model::Session;

pub const JWT_AUDIENCE: &str = "webknossos-accounts";

pub(crate) const API_TOKEN_PREFIX: &str = "wkt";

/// Signing and derivation keys, made once per process from the configured secret.
pub struct Keys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    /// Derives personal API tokens; separate from the JWT key by domain separation.
    token_key: hmac::Key,
    /// Fingerprints idempotent requests, so a stored fingerprint cannot be checked against guesses
    /// without the server's key.
    fingerprint_key: hmac::Key,
}

impl Keys {
    pub fn new(secret: &[u8], issuer: &str) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[JWT_AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = 5;
        let master = hmac::Key::new(hmac::HMAC_SHA256, secret);
        let token_key = hmac::Key::new(hmac::HMAC_SHA256, hmac::sign(&master, b"personal-api-token-v1").as_ref());
        let fingerprint_key = hmac::Key::new(hmac::HMAC_SHA256, hmac::sign(&master, b"idempotent-request-v1").as_ref());
        Keys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            issuer: issuer.to_owned(),
            token_key,
            fingerprint_key,
        }
    }

    pub fn sign_session(&self, session: &Session, session_epoch: u64) -> Result<String, ApiError> {
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
            ApiError::internal()
        })
    }

    /// Checks the signature (HS256 only: `none` and every other algorithm are refused), `exp`, `nbf`, `iss`
    /// and `aud`, and that the token was not issued in the future (`iat`, which the library does not check).
    pub(crate) fn verify_session(&self, token: &str) -> Result<SessionClaims, ApiError> {
        let claims = jsonwebtoken::decode::<SessionClaims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|_| ApiError::invalid_credential())?;
        if claims.iat > crate::ids::now_seconds() + self.validation.leeway as i64 {
            return Err(ApiError::invalid_credential());
        }
        Ok(claims)
    }

    /// The personal API token for `(organization, user, nonce)`. Deterministic, so "get token" can show the
    /// same token again while the table keeps only its hash.
    pub fn api_token(&self, organization: &str, user_id: &str, nonce: &str) -> String {
        let message = format!("{organization}\u{0}{user_id}\u{0}{nonce}");
        let mac = hmac::sign(&self.token_key, message.as_bytes());
        format!(
            "{API_TOKEN_PREFIX}.{}.{user_id}.{}",
            URL_SAFE_NO_PAD.encode(organization),
            URL_SAFE_NO_PAD.encode(mac.as_ref())
        )
    }
}

impl Keys {
    /// A keyed fingerprint (HMAC-SHA256, hex) of `operation` and `bytes`.
    pub fn request_fingerprint(&self, operation: &str, bytes: &[u8]) -> String {
        let mut context = hmac::Context::with_key(&self.fingerprint_key);
        context.update(operation.as_bytes());
        context.update(&[0]);
        context.update(bytes);
        context.sign().as_ref().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The invite token for `(organization, invite, nonce)`: 256 bits of HMAC, derived so a reminder can
    /// repeat the link while the table keeps only its hash.
    pub fn invite_token(&self, organization: &str, invite_id: &str, nonce: &str) -> String {
        let message = format!("invite\u{0}{organization}\u{0}{invite_id}\u{0}{nonce}");
        let mac = hmac::sign(&self.token_key, message.as_bytes());
        format!("{}.{invite_id}.{}", URL_SAFE_NO_PAD.encode(organization), URL_SAFE_NO_PAD.encode(mac.as_ref()))
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
pub(crate) struct SessionClaims {
    pub(crate) sub: String,
    pub(crate) org: String,
    pub(crate) sid: String,
    /// The user's session epoch when the session began.
    pub(crate) epc: u64,
    iat: i64,
    nbf: i64,
    exp: i64,
    iss: String,
    aud: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Keys {
        Keys::new(&[7u8; 32], "http://localhost:3000")
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
        assert!(Keys::new(&[9u8; 32], "http://localhost:3000").verify_session(&jwt).is_err());
        assert!(Keys::new(&[7u8; 32], "https://elsewhere").verify_session(&jwt).is_err());
        let mut parts: Vec<String> = jwt.split('.').map(str::to_owned).collect();
        parts[1] = URL_SAFE_NO_PAD.encode(br#"{"sub":"0123456789abcdef01234567","org":"other","sid":"sid","epc":3,"iat":0,"nbf":0,"exp":99999999999,"iss":"http://localhost:3000","aud":"webknossos-accounts"}"#);
        assert!(keys.verify_session(&parts.join(".")).is_err());
        let expired = Session { expires_at: now / 1000 - 60, ..session };
        assert!(keys.verify_session(&keys.sign_session(&expired, 0).unwrap()).is_err());
    }
}
