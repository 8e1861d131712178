//! Passkeys (WEBKNOSSOS's `/auth/webauthn` routes): a signed-in person registers passkeys for their
//! account, anyone signs in with one without typing an address (discoverable credentials), and a person
//! lists and removes theirs. The WebAuthn checks (client data, origin, relying party id, signature,
//! signature counter, backup and verification flags) are webauthn_rp's; this module keeps each ceremony's
//! state in the table, taken once, and makes a sign-in's session only while the passkey is as it checked.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use webauthn_rp::bin::{Decode, Encode};
use webauthn_rp::request::auth::AuthenticationVerificationOptions;
use webauthn_rp::request::register::{
    CredProtect, Nickname, PublicKeyCredentialUserEntity, RegistrationVerificationOptions, UserHandle, Username,
};
use webauthn_rp::request::{AsciiDomain, PublicKeyCredentialDescriptor, RpId, TimedCeremony};
use webauthn_rp::response::auth::error::AuthCeremonyErr;
use webauthn_rp::response::register::{DynamicState, StaticState};
use webauthn_rp::response::{AuthTransports, CredentialId};
use webauthn_rp::{
    AuthenticatedCredential, DiscoverableAuthentication, DiscoverableAuthenticationServerState,
    DiscoverableCredentialRequestOptions, PublicKeyCredentialCreationOptions, Registration, RegistrationServerState,
};

use crate::app::App;
use crate::caller::Caller;
use crate::domain::audit::Auditor;
use crate::domain::credentials::LoggedIn;
use crate::domain::session::{self, SignInProof};
use crate::error::{DomainError, refusals};
use crate::ids::{self, sha256_hex_bytes};
use crate::mail::{self, Mail};
use crate::model::{Account, AuditContext, CeremonyPurpose, Passkey, PasskeyCeremony, email_domain, passkey_id};
use crate::store::accounts::{self, PasskeyWriteError};

/// How long a started ceremony waits for the authenticator's answer (webauthn_rp's own timeout for
/// passkeys is five minutes; the stored ceremony lives as long).
pub(crate) const CEREMONY_SECONDS: i64 = 300;
/// A passkey's name: at most this many characters.
const NAME_MAX_CHARS: usize = 64;
/// The user handle is the account id (24 hex digits): a sign-in finds the account from it.
const USER_HANDLE_LEN: usize = 24;

refusals! {
    /// Why a passkey was not registered, did not sign in, or was not found.
    pub(crate) enum PasskeyError {
        CeremonyUnknown => Unauthenticated, "auth.passkey.ceremonyUnknown",
            "This passkey request is unknown, was answered already, or has expired; please start again";
        Malformed { why: String } => Invalid, "auth.passkey.malformed",
            "This is not a passkey's answer: {why}";
        NotVerified { why: String } => Unauthenticated, "auth.passkey.invalid",
            "The passkey's answer could not be verified ({why}); nobody was signed in";
        UnknownCredential => Unauthenticated, "auth.passkey.unknown",
            "This passkey is not registered here (it may have been removed); sign in another way";
        CounterWentBack => Unauthenticated, "auth.passkey.cloned",
            "This passkey's signature counter went back, so it may have been copied: sign in another way and remove it";
        OtherAccount => Forbidden, "auth.passkey.otherAccount",
            "This passkey registration was started by another account; please start again";
        AlreadyRegistered => Conflict, "auth.passkey.alreadyRegistered",
            "This passkey is registered for your account already";
        NotFound => NotFound, "auth.passkey.notFound", "Passkey not found";
        NameInvalid => Invalid, "auth.passkey.name.invalid",
            "A passkey's name has 1 to 64 characters";
        NoRelyingParty { uri: String } => Internal, "auth.passkey.unavailable",
            "Passkeys need the instance's public address to be a domain name, not {uri}";
    }
}

/// The relying party: its id (the public URI's host) and the origin the browser reports.
struct RelyingParty {
    id: RpId,
    origin: String,
}

fn relying_party(app: &App) -> Result<RelyingParty, DomainError> {
    let uri = app.config.public_uri.as_str();
    let refused = || PasskeyError::NoRelyingParty { uri: uri.to_owned() };
    let (scheme, rest) = uri.split_once("://").ok_or_else(refused)?;
    let authority = rest.split('/').next().unwrap_or_default();
    let host = authority.rsplit_once(':').map_or(authority, |(host, _port)| host);
    let id = AsciiDomain::try_from(host.to_owned()).map_err(|_| refused())?;
    Ok(RelyingParty { id: RpId::Domain(id), origin: format!("{scheme}://{authority}") })
}

/// The account's user handle: its id's bytes.
fn user_handle(account_id: &str) -> Result<UserHandle<USER_HANDLE_LEN>, DomainError> {
    let bytes: [u8; USER_HANDLE_LEN] = account_id.as_bytes().try_into().map_err(|_| DomainError::internal())?;
    Ok(UserHandle::from(bytes))
}

fn encoded(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn decoded(text: &str) -> Result<Vec<u8>, DomainError> {
    URL_SAFE_NO_PAD.decode(text).map_err(|_| DomainError::internal())
}

/// The refusal of a body that is no authenticator's answer, saying why.
fn malformed(why: serde_json::Error) -> PasskeyError {
    PasskeyError::Malformed { why: why.to_string() }
}

fn challenge_hash(challenge: u128) -> String {
    sha256_hex_bytes(&challenge.to_le_bytes())
}

/// Stores a started ceremony, to be taken once by its answer.
async fn store_ceremony(
    app: &App,
    challenge: u128,
    purpose: CeremonyPurpose,
    state: Vec<u8>,
) -> Result<(), DomainError> {
    let ceremony = PasskeyCeremony {
        challenge_hash: challenge_hash(challenge),
        purpose,
        state: encoded(&state),
        expires_at: ids::now_seconds() + CEREMONY_SECONDS,
    };
    accounts::put_passkey_ceremony(&app.db, &ceremony).await?;
    Ok(())
}

/// `POST /auth/webauthn/register/start`: the creation options for a new passkey of the caller's account
/// (its existing passkeys excluded, so an authenticator holding one says so), as WebAuthn's
/// `PublicKeyCredentialCreationOptionsJSON`. Reads the account's passkeys, then stores the ceremony (two
/// round trips after the caller's).
pub async fn register_start(app: &App, caller: &Caller) -> Result<Value, DomainError> {
    let rp = relying_party(app)?;
    let account_id = caller.user.account_id.as_str();
    let passkeys = accounts::account_passkeys(&app.db, account_id).await?;
    let handle = user_handle(account_id)?;
    let user = &caller.user;
    let full_name = format!("{} {}", user.first_name, user.last_name);
    let entity = PublicKeyCredentialUserEntity {
        name: Username::try_from(user.email.as_str()).map_err(|_| DomainError::internal())?,
        id: &handle,
        display_name: Nickname::try_from(full_name.trim()).ok(),
    };
    let exclude = passkeys
        .iter()
        .filter_map(|passkey| {
            let id = CredentialId::try_from(decoded(&passkey.credential_id).ok()?).ok()?;
            let transports = AuthTransports::decode(passkey.transports).unwrap_or(AuthTransports::NONE);
            Some(PublicKeyCredentialDescriptor { id, transports })
        })
        .collect();
    let mut creation = PublicKeyCredentialCreationOptions::passkey(&rp.id, entity, exclude);
    // Not asked for: many authenticators lack credProtect (the browser refuses them when it is enforced),
    // and every use of a passkey here requires user verification anyway.
    creation.extensions.cred_protect = CredProtect::None;
    let (server, client) = creation.start_ceremony().map_err(|_| DomainError::internal())?;
    let options = serde_json::to_value(&client).map_err(|_| DomainError::internal())?;
    let state = server.encode().map_err(|_| DomainError::internal())?;
    let purpose = CeremonyPurpose::Register { account_id: account_id.to_owned() };
    store_ceremony(app, server.sent_challenge().0, purpose, state).await?;
    Ok(options)
}

/// A passkey as the API lists it (WEBKNOSSOS's `{id, name}`).
pub struct PasskeyDescriptor {
    pub id: String,
    pub name: String,
    pub created: i64,
    pub last_used: Option<i64>,
}

impl From<&Passkey> for PasskeyDescriptor {
    fn from(passkey: &Passkey) -> Self {
        PasskeyDescriptor {
            id: passkey.id.clone(),
            name: passkey.name.clone(),
            created: passkey.created,
            last_used: passkey.last_used,
        }
    }
}

/// `POST /auth/webauthn/register/finalize` (`{name, key}`, `key` the authenticator's answer as WebAuthn's
/// `RegistrationResponseJSON`): checks the answer against the caller's own ceremony (taken once) and stores
/// the passkey for the account, with an audit entry in each of its organizations; mails a notice. Ends no
/// session.
pub async fn register_finalize(
    app: &App,
    caller: &Caller,
    name: &str,
    key: &Value,
) -> Result<PasskeyDescriptor, DomainError> {
    let rp = relying_party(app)?;
    let name = valid_name(name)?;
    let json = serde_json::to_vec(key).map_err(|_| DomainError::internal())?;
    let registration = Registration::from_json_relaxed(&json).map_err(malformed)?;
    let challenge = registration.challenge_relaxed().map_err(malformed)?;
    let account_id = caller.user.account_id.as_str();
    let (ceremony, account) = futures_util::future::join(
        accounts::take_passkey_ceremony(&app.db, &challenge_hash(challenge.0), ids::now_seconds()),
        accounts::account(&app.db, account_id),
    )
    .await;
    let ceremony = ceremony?.ok_or(PasskeyError::CeremonyUnknown)?;
    if ceremony.purpose != (CeremonyPurpose::Register { account_id: account_id.to_owned() }) {
        return Err(PasskeyError::OtherAccount.into());
    }
    let account = account?.ok_or_else(DomainError::invalid_credential)?;
    let server = RegistrationServerState::<USER_HANDLE_LEN>::decode(&decoded(&ceremony.state)?)
        .map_err(|_| DomainError::internal())?;
    let options = RegistrationVerificationOptions::<&str, &str> {
        allowed_origins: &[rp.origin.as_str()],
        ..RegistrationVerificationOptions::default()
    };
    let credential =
        server.verify(&rp.id, &registration, &options).map_err(|e| PasskeyError::NotVerified { why: e.to_string() })?;
    let credential_id = credential.id();
    let static_state = credential.static_state().encode().map_err(|_| DomainError::internal())?;
    let dynamic_state = credential.dynamic_state().encode().map_err(|_| DomainError::internal())?;
    let passkey = Passkey {
        account_id: account.id.clone(),
        id: passkey_id(credential_id.as_ref()),
        name: name.to_owned(),
        credential_id: encoded(credential_id.as_ref()),
        static_state: encoded(&static_state),
        dynamic_state: encoded(&dynamic_state),
        transports: credential.transports().encode().map_err(|_| DomainError::internal())?,
        created: ids::now_millis(),
        last_used: None,
    };
    let auditor = Auditor::caller(app, caller);
    let audit =
        auditor.account_entries(vec![("account.passkeyAdded", json!({ "name": passkey.name }))], &account.email);
    write_result(accounts::add_passkey(&app.db, &account, &passkey, &audit).await, PasskeyError::AlreadyRegistered)?;
    mail::notify(app, vec![passkey_notice(app, &account, &passkey.name, true)]).await;
    Ok(PasskeyDescriptor::from(&passkey))
}

/// A passkey's name, trimmed: 1 to [`NAME_MAX_CHARS`] characters.
fn valid_name(name: &str) -> Result<&str, PasskeyError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > NAME_MAX_CHARS { Err(PasskeyError::NameInvalid) } else { Ok(name) }
}

/// `PATCH /auth/webauthn/keys/{id}` (`{name}`): renames a passkey of the caller's account (any other id:
/// 404), in one UpdateItem.
pub async fn rename(app: &App, caller: &Caller, id: &str, name: &str) -> Result<PasskeyDescriptor, DomainError> {
    let name = valid_name(name)?;
    let renamed = accounts::rename_passkey(&app.db, &caller.user.account_id, id, name).await?;
    Ok(PasskeyDescriptor::from(&renamed.ok_or(PasskeyError::NotFound)?))
}

fn write_result(result: Result<(), PasskeyWriteError>, conflict: PasskeyError) -> Result<(), DomainError> {
    match result {
        Ok(()) => Ok(()),
        Err(PasskeyWriteError::Conflict) => Err(conflict.into()),
        Err(PasskeyWriteError::AccountGone) => Err(DomainError::invalid_credential()),
        Err(PasskeyWriteError::Store(err)) => Err(err.into()),
    }
}

/// The notice of a passkey added to or removed from the account (security mail).
fn passkey_notice(app: &App, account: &Account, name: &str, added: bool) -> Mail {
    let (subject, what) = if added {
        (
            "WEBKNOSSOS | Passkey added",
            format!("the passkey \"{name}\" was added to your WEBKNOSSOS account; it signs in without a password."),
        )
    } else {
        (
            "WEBKNOSSOS | Passkey removed",
            format!("the passkey \"{name}\" was removed from your WEBKNOSSOS account; it no longer signs in."),
        )
    };
    Mail::new(
        vec![account.email.clone()],
        subject,
        &[
            "Hello,".into(),
            what,
            "If this was not you, reset your password at once with \"Forgot password\" on the login page, remove the passkeys you do not know on your home page, and tell your organization's admins.".into(),
        ],
        Some(("Your passkeys", &format!("{}/", app.config.public_uri))),
    )
    .security()
}

/// `POST /auth/webauthn/auth/start`: request options for a sign-in with any passkey of this site (no
/// address asked), as WebAuthn's `PublicKeyCredentialRequestOptionsJSON` (one PutItem).
pub async fn auth_start(app: &App) -> Result<Value, DomainError> {
    let rp = relying_party(app)?;
    let (server, client) =
        DiscoverableCredentialRequestOptions::passkey(&rp.id).start_ceremony().map_err(|_| DomainError::internal())?;
    let options = serde_json::to_value(&client).map_err(|_| DomainError::internal())?;
    let state = server.encode().map_err(|_| DomainError::internal())?;
    store_ceremony(app, server.sent_challenge().0, CeremonyPurpose::SignIn, state).await?;
    Ok(options)
}

/// `POST /auth/webauthn/auth/finalize` (`{key}`, the authenticator's answer as WebAuthn's
/// `AuthenticationResponseJSON`): takes the ceremony (once) while reading the account and the passkey the
/// answer names, checks the answer, and signs in as a login does, in one transaction with the passkey's
/// new state, conditioned on the state checked (so one assertion signs in once, and a passkey removed
/// meanwhile signs nobody in).
pub async fn auth_finalize(app: &App, key: &Value, context: AuditContext) -> Result<LoggedIn, DomainError> {
    let rp = relying_party(app)?;
    let json = serde_json::to_vec(key).map_err(|_| DomainError::internal())?;
    let authentication = DiscoverableAuthentication::<USER_HANDLE_LEN>::from_json_relaxed(&json).map_err(malformed)?;
    let challenge = authentication.challenge_relaxed().map_err(malformed)?;
    let handle = *authentication.response().user_handle();
    let account_id = std::str::from_utf8(handle.as_ref()).map_err(|_| PasskeyError::UnknownCredential)?.to_owned();
    let id = passkey_id(authentication.raw_id().as_ref());
    let (ceremony, found) = futures_util::future::join(
        accounts::take_passkey_ceremony(&app.db, &challenge_hash(challenge.0), ids::now_seconds()),
        accounts::account_and_passkey(&app.db, &account_id, &id),
    )
    .await;
    let ceremony = ceremony?.ok_or(PasskeyError::CeremonyUnknown)?;
    if ceremony.purpose != CeremonyPurpose::SignIn {
        return Err(PasskeyError::CeremonyUnknown.into());
    }
    let (Some(account), Some(mut passkey)) = found? else {
        return Err(PasskeyError::UnknownCredential.into());
    };
    let server = DiscoverableAuthenticationServerState::decode(&decoded(&ceremony.state)?)
        .map_err(|_| DomainError::internal())?;
    let static_state =
        StaticState::decode(decoded(&passkey.static_state)?.as_slice()).map_err(|_| DomainError::internal())?;
    let dynamic_bytes: [u8; 7] = decoded(&passkey.dynamic_state)?.try_into().map_err(|_| DomainError::internal())?;
    let dynamic_state = DynamicState::decode(dynamic_bytes).map_err(|_| DomainError::internal())?;
    let mut credential = AuthenticatedCredential::new(authentication.raw_id(), &handle, static_state, dynamic_state)
        .map_err(|_| DomainError::internal())?;
    let options = AuthenticationVerificationOptions::<&str, &str> {
        allowed_origins: &[rp.origin.as_str()],
        ..AuthenticationVerificationOptions::default()
    };
    server.verify(&rp.id, &authentication, &mut credential, &options).map_err(|e| match e {
        AuthCeremonyErr::SignatureCounter => PasskeyError::CounterWentBack,
        e => PasskeyError::NotVerified { why: e.to_string() },
    })?;
    // A domain that requires single sign-on is not signed in around its provider (whose offboarding would
    // otherwise not reach a passkey); its organization's admins excepted, as for passwords.
    let verified = accounts::verified_domain(&app.db, email_domain(&account.email)).await?;
    session::refused_for_required_sso(app, &account, verified.as_ref()).await?;
    let checked = std::mem::replace(
        &mut passkey.dynamic_state,
        encoded(&credential.dynamic_state().encode().map_err(|_| DomainError::internal())?),
    );
    let facts = json!({ "passkey": passkey.name });
    session::sign_in(app, &account, context, facts, SignInProof::Passkey(&passkey, &checked)).await
}

/// `GET /auth/webauthn/keys`: the caller's account's passkeys, oldest first (one Query).
pub async fn list(app: &App, caller: &Caller) -> Result<Vec<PasskeyDescriptor>, DomainError> {
    let passkeys = accounts::account_passkeys(&app.db, &caller.user.account_id).await?;
    Ok(passkeys.iter().map(PasskeyDescriptor::from).collect())
}

/// `DELETE /auth/webauthn/keys/{id}`: removes a passkey of the caller's account (any other id: 404), with
/// an audit entry in each of its organizations, and mails a notice. It stops signing in at once; no
/// session ends.
pub async fn remove(app: &App, caller: &Caller, id: &str) -> Result<(), DomainError> {
    let account_id = caller.user.account_id.as_str();
    let (account, passkey) = accounts::account_and_passkey(&app.db, account_id, id).await?;
    let account = account.ok_or_else(DomainError::invalid_credential)?;
    let passkey = passkey.ok_or(PasskeyError::NotFound)?;
    let auditor = Auditor::caller(app, caller);
    let audit =
        auditor.account_entries(vec![("account.passkeyRemoved", json!({ "name": passkey.name }))], &account.email);
    write_result(accounts::remove_passkey(&app.db, &account, id, &audit).await, PasskeyError::NotFound)?;
    mail::notify(app, vec![passkey_notice(app, &account, &passkey.name, false)]).await;
    Ok(())
}
