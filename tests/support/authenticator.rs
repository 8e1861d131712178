//! A software passkey authenticator for the API tests: it holds ES256 keys (aws-lc-rs), answers creation
//! options with a "none" attestation and request options with a signed assertion, as a browser would send
//! them to the server (WebAuthn's JSON forms), with the origin and flags a test chooses. The browser tests
//! use Chromium's own virtual authenticator instead.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

/// User present, user verified, attested credential data included.
const FLAGS_CREATED: u8 = 0x01 | 0x04 | 0x40;
/// User present, user verified.
const FLAGS_ASSERTED: u8 = 0x01 | 0x04;

/// One credential the authenticator made.
pub struct Credential {
    pub id: Vec<u8>,
    key: EcdsaKeyPair,
    /// The user handle the server gave at registration.
    user_handle: Vec<u8>,
    /// The signature counter it reports next (a copy of the authenticator reports an old one).
    pub counter: u32,
}

impl Credential {
    /// The credential id as the API's passkey ids derive from it.
    pub fn passkey_id(&self) -> String {
        accounts::model::passkey_id(&self.id)
    }
}

/// A platform authenticator of one origin.
pub struct Authenticator {
    pub origin: String,
    pub credentials: Vec<Credential>,
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(text).expect("base64url from the server")
}

fn sha256(bytes: &[u8]) -> Vec<u8> {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes).as_ref().to_vec()
}

/// CBOR's head of major type `major` with argument `value` (the short forms this authenticator needs).
fn cbor_head(major: u8, value: usize) -> Vec<u8> {
    match value {
        0..=23 => vec![(major << 5) | value as u8],
        24..=255 => vec![(major << 5) | 24, value as u8],
        _ => {
            let mut head = vec![(major << 5) | 25];
            head.extend((value as u16).to_be_bytes());
            head
        }
    }
}

fn cbor_bytes(bytes: &[u8]) -> Vec<u8> {
    let mut out = cbor_head(2, bytes.len());
    out.extend(bytes);
    out
}

fn cbor_text(text: &str) -> Vec<u8> {
    let mut out = cbor_head(3, text.len());
    out.extend(text.as_bytes());
    out
}

/// The credential's public key as a COSE_Key (EC2, ES256, P-256), in CTAP2's canonical order.
fn cose_key(public_key: &[u8]) -> Vec<u8> {
    // An uncompressed point: 0x04 | x | y.
    let (x, y) = public_key[1..].split_at(32);
    let mut out = vec![0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21];
    out.extend(cbor_bytes(x));
    out.push(0x22);
    out.extend(cbor_bytes(y));
    out
}

impl Authenticator {
    pub fn new(origin: &str) -> Self {
        Authenticator { origin: origin.trim_end_matches('/').to_owned(), credentials: Vec::new() }
    }

    fn rp_id_hash(rp_id: &str) -> Vec<u8> {
        sha256(rp_id.as_bytes())
    }

    fn client_data(&self, kind: &str, challenge: &str) -> Vec<u8> {
        serde_json::to_vec(
            &json!({ "type": kind, "challenge": challenge, "origin": self.origin, "crossOrigin": false }),
        )
        .expect("JSON")
    }

    /// Makes a credential for `options` (the server's creation options) and answers as
    /// `navigator.credentials.create()` then `toJSON()` would.
    pub fn create(&mut self, options: &Value) -> Value {
        let rp_id = options["rp"]["id"].as_str().expect("rp.id in the creation options");
        let challenge = options["challenge"].as_str().expect("a challenge in the creation options");
        let user_handle = unb64(options["user"]["id"].as_str().expect("user.id in the creation options"));
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &SystemRandom::new()).expect("a key");
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref()).expect("the key");
        let id: Vec<u8> = accounts::ids::new_secret().into_bytes().into_iter().take(32).collect();
        let mut auth_data = Self::rp_id_hash(rp_id);
        auth_data.push(FLAGS_CREATED);
        auth_data.extend(0u32.to_be_bytes());
        auth_data.extend([0u8; 16]);
        auth_data.extend((id.len() as u16).to_be_bytes());
        auth_data.extend(&id);
        auth_data.extend(cose_key(key.public_key().as_ref()));
        let mut attestation = vec![0xa3];
        attestation.extend(cbor_text("fmt"));
        attestation.extend(cbor_text("none"));
        attestation.extend(cbor_text("attStmt"));
        attestation.push(0xa0);
        attestation.extend(cbor_text("authData"));
        attestation.extend(cbor_bytes(&auth_data));
        let client_data = self.client_data("webauthn.create", challenge);
        let answer = json!({
            "id": b64(&id),
            "rawId": b64(&id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64(&client_data),
                "attestationObject": b64(&attestation),
                "transports": ["internal"],
            },
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        });
        self.credentials.push(Credential { id, key, user_handle, counter: 1 });
        answer
    }

    /// Signs `options` (the server's request options) with credential `index`, as
    /// `navigator.credentials.get()` then `toJSON()` would; the counter goes up by one.
    pub fn get(&mut self, options: &Value, index: usize) -> Value {
        let rp_id = options["rpId"].as_str().expect("rpId in the request options").to_owned();
        let challenge = options["challenge"].as_str().expect("a challenge in the request options").to_owned();
        let client_data = self.client_data("webauthn.get", &challenge);
        let credential = &mut self.credentials[index];
        let mut auth_data = Self::rp_id_hash(&rp_id);
        auth_data.push(FLAGS_ASSERTED);
        auth_data.extend(credential.counter.to_be_bytes());
        credential.counter += 1;
        let mut signed = auth_data.clone();
        signed.extend(sha256(&client_data));
        let signature = credential.key.sign(&SystemRandom::new(), &signed).expect("a signature");
        json!({
            "id": b64(&credential.id),
            "rawId": b64(&credential.id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64(&client_data),
                "authenticatorData": b64(&auth_data),
                "signature": b64(signature.as_ref()),
                "userHandle": b64(&credential.user_handle),
            },
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        })
    }
}
