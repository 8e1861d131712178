//! Logging in and out, and personal API tokens.

use crate::app::App;
use crate::caller::{Caller, Credential};
use crate::domain::audit::Auditor;
use crate::domain::credentials::CredentialError;
use crate::domain::credentials::{LoggedIn, locked};
use crate::domain::retry::{self, Attempt};
use crate::error::DomainError;
use crate::ids::sha256_hex;
use crate::model::{ApiToken, AuditActor, AuditContext, AuditTarget, SignInMethod, User};
use crate::store::accounts;
use crate::{ids, password, validate};
use serde_json::json;

/// How long a device cookie vouches for a browser after its last successful login.
pub const DEVICE_LIFETIME_SECONDS: i64 = 90 * 24 * 3600;

/// Login's guard against guessing ([`crate::config::LoginLimits`]): failures of an e-mail address (whether or
/// not an account has it) from one client lock that pair, failures from a client lock the client. While
/// locked, every login of it is refused with 429 and Retry-After before the password is checked, the right
/// password too; after the lock the right password works and clears the pair's count (a client's count is
/// never cleared by a success, so one good account cannot shield guessing at others). The same address
/// from another client is never locked out.
///
/// A browser that logged in to an address before carries a device cookie for it (OWASP's device cookies):
/// its logins of that address are not held by its network's client lock, nor counted against it, so a
/// hundred failures behind a shared NAT address lock out only the browsers that never logged in there
/// (the pair's own limit still holds for it).
///
/// Checks the password and starts a session for the identity last used if it is active, else for the
/// first active one (oldest first). The client is the caller's source IP (`context`), when known;
/// `device` the device cookie presented, if any.
pub async fn login(
    app: &App,
    email: &str,
    password_attempt: &str,
    device: Option<&str>,
    context: AuditContext,
) -> Result<LoggedIn, DomainError> {
    let arrived = tokio::time::Instant::now();
    let email = validate::email(email)?;
    let trusted_device = match device {
        Some(cookie) => app.keys.is_device_of(cookie, &email, ids::now_seconds())?,
        None => false,
    };
    let source = context.source_ip.as_deref();
    let limits = &app.config.login;
    let pair = match source {
        Some(source) => accounts::LoginSubject::Pair(&email, source),
        None => accounts::LoginSubject::Email(&email),
    };
    // The client's throttle, unless a trusted device asks.
    let client = source.filter(|_| !trusted_device);
    let accounts::LoginReads { guard, by_email, by_client, verified_domain } =
        accounts::login_reads(&app.db, &email, pair, client.map(accounts::LoginSubject::Client)).await?;
    let now = ids::now_seconds();
    let email_lock = by_email.locked_until(now);
    let client_lock = by_client.as_ref().and_then(|t| t.locked_until(now));
    if email_lock.is_some() || client_lock.is_some() {
        let by_email_lock = email_lock.unwrap_or(0) >= client_lock.unwrap_or(0);
        return Err(locked(email_lock.max(client_lock).unwrap_or(now), now, by_email_lock));
    }
    let account = match guard {
        Some(guard) => accounts::account(&app.db, &guard.account_id).await?,
        None => None,
    };
    // The hash is computed even for unknown e-mails, so timing does not tell which e-mails exist.
    let password_ok = password::verify(
        app.config.password_hashing,
        password_attempt,
        account.as_ref().map(|a| a.password_hash.as_str()),
    )
    .await;
    let Some(account) = account.clone().filter(|_| password_ok) else {
        let db = &app.db;
        let (email_locked, client_locked) = futures_util::future::join(
            accounts::record_login_failure(
                db,
                pair,
                &by_email,
                limits.failures_per_address_and_client,
                limits.window.as_secs() as i64,
                limits.lock.as_secs() as i64,
                now,
            ),
            async {
                match (client, &by_client) {
                    (Some(client), Some(known)) => {
                        let subject = accounts::LoginSubject::Client(client);
                        accounts::record_login_failure(
                            db,
                            subject,
                            known,
                            limits.failures_per_client,
                            limits.window.as_secs() as i64,
                            limits.lock.as_secs() as i64,
                            now,
                        )
                        .await
                    }
                    _ => Ok(None),
                }
            },
        )
        .await;
        let (email_locked, client_locked) = (email_locked?, client_locked?);
        // A failure for an existing account is logged in each of its organizations; unknown addresses
        // belong to no organization.
        if let Some(account) = &account {
            let action = if email_locked.is_some() { "auth.loginLocked" } else { "auth.loginFailed" };
            let auditor = Auditor::new(app, AuditActor::anonymous(), context.clone());
            let facts = json!({ "email": email, "clientLocked": client_locked.is_some() });
            let entries = account
                .identities
                .iter()
                .map(|(organization, user_id)| {
                    let target = AuditTarget { kind: "user".into(), id: user_id.clone(), name: email.clone() };
                    auditor.entry(organization, action, vec![target], facts.clone())
                })
                .collect();
            accounts::log_in_organizations(db, entries).await?;
        }
        // As slow for an unknown address as for an account's (whose failure also wrote audit entries).
        tokio::time::sleep_until(arrived + limits.response_floor).await;
        // The failure that reaches a limit already answers with the lock.
        return Err(match (email_locked, client_locked) {
            (Some(until), _) => locked(until, now, true),
            (None, Some(until)) => locked(until, now, false),
            (None, None) => CredentialError::InvalidCredentials.into(),
        });
    };
    if by_email.failures > 0 || by_email.locked_until.is_some() {
        accounts::clear_login_failures(&app.db, pair, now).await?;
    }
    // Checked once the password is known right, so the refusal tells nothing to whoever guesses.
    refused_for_required_sso(app, &account, verified_domain.as_ref()).await?;
    if crate::domain::credentials::login_needs_verification(&app.config.email_verification, &account, ids::now_millis())
    {
        crate::domain::credentials::send_verification_best_effort(app, &account.id, &account.email).await;
        return Err(CredentialError::EmailNotVerified.into());
    }
    sign_in(app, &account, context, json!({}), SignInProof::Password).await
}

/// Whether a sign-in of `account` without its identity provider (a password that was right, a passkey
/// that was verified) is refused because an organization requires single sign-on for its address's
/// domain: every account of the domain is, but the admins of that organization, who keep their password
/// and passkeys so that a broken provider cannot lock it out (one GetItem).
pub(crate) async fn refused_for_required_sso(
    app: &App,
    account: &crate::model::Account,
    verified: Option<&crate::model::VerifiedDomain>,
) -> Result<(), DomainError> {
    let Some(verified) = verified.filter(|verified| verified.require_sso) else { return Ok(()) };
    if let Some(user_id) = account.identities.get(&verified.organization) {
        let store = crate::store::org::OrgStore::new(&app.db, &verified.organization);
        if store.user(user_id).await?.is_some_and(|user| user.is_admin && user.is_active()) {
            return Ok(());
        }
    }
    Err(CredentialError::SsoRequired { domain: verified.domain.clone() }.into())
}

/// What a sign-in was proven with, and so what its session's transaction checks (and writes).
pub(crate) enum SignInProof<'a> {
    /// The account's password (still the account's).
    Password,
    /// An identity provider (the account unchanged since it was read, as for a password), linking its
    /// person to the account when the sign-in makes the link.
    Provider(Option<&'a crate::model::ProviderLink>),
    /// A passkey of the account: the passkey with its state after this use, and the state checked.
    Passkey(&'a crate::model::Passkey, &'a str),
}

/// Starts a session for the account's identity last used, if it is active, else for its first active one
/// (oldest first), with the audit entry `auth.login` (`facts` say how) and what the `proof` writes (a
/// provider's link, a passkey's new state): all in one transaction.
pub(crate) async fn sign_in(
    app: &App,
    account: &crate::model::Account,
    context: AuditContext,
    facts: serde_json::Value,
    proof: SignInProof<'_>,
) -> Result<LoggedIn, DomainError> {
    let mut identities = accounts::identities(&app.db, account).await?;
    identities.retain(|(user, organization)| !user.is_deactivated && !organization.is_being_deleted());
    identities.sort_by_key(|(user, _)| user.created);
    let last_used = account.last_used_organization.as_deref();
    let chosen = identities.iter().position(|(user, _)| Some(user.organization.as_str()) == last_used).unwrap_or(0);
    if identities.is_empty() {
        return Err(CredentialError::NotActivated.into());
    }
    let (user, organization) = identities.swap_remove(chosen);
    let lifetime_seconds = app.config.session_lifetime.as_secs() as i64;
    let auditor = Auditor::new(app, AuditActor::user(&user), context);
    // The session is made only if the account's password is still the one read (for a login, the one
    // checked; a password changed meanwhile ends every session, so none may start from before it).
    let (basis, signed_in_with) = match proof {
        SignInProof::Password => (accounts::SessionBasis::PasswordChecked(account), SignInMethod::Password),
        SignInProof::Provider(None) => (accounts::SessionBasis::PasswordChecked(account), SignInMethod::SingleSignOn),
        SignInProof::Provider(Some(link)) => {
            (accounts::SessionBasis::Linking(account, link), SignInMethod::SingleSignOn)
        }
        SignInProof::Passkey(passkey, checked) => {
            (accounts::SessionBasis::Passkey(passkey, checked), SignInMethod::Passkey)
        }
    };
    let new = accounts::NewSession { lifetime_seconds, signed_in_with, now: ids::now_millis() };
    let session = accounts::start_session(&app.db, account, &user, basis, new, |session| {
        auditor.entry(&user.organization, "auth.login", vec![session_target(&session.id, &user)], facts)
    })
    .await?;
    let token = app.keys.sign_session(&session, user.session_epoch)?;
    Ok(LoggedIn { token, user, organization, lifetime_seconds })
}

/// The caller's personal API token, created on first use. Only its hash is stored; the token itself is
/// derived again from the stored nonce.
pub async fn api_token(app: &App, caller: &Caller) -> Result<String, DomainError> {
    let store = &caller.store(app);
    let user = &caller.user;
    // Again when a concurrent request created or renewed the record between our read and our write.
    let attempt = |_| async move {
        let existing = store.api_token(&user.id).await?;
        // Shown again under the key that made it; made anew when that key is gone (or after a logout
        // everywhere, which raises the session epoch).
        // A token made by a password session is made anew for a caller signed in more strongly (an
        // organization that requires it of its admins accepts only such tokens).
        let current = |t: &&ApiToken| {
            t.session_epoch == user.session_epoch
                && (t.signed_in_with.is_strong() || !caller.signed_in_with.is_strong())
        };
        let shown_again = match existing.as_ref().filter(current) {
            Some(t) => app.keys.api_token_again(&t.organization, &t.user_id, &t.nonce, &t.token_hash)?,
            None => None,
        };
        if let Some(token) = shown_again {
            return Ok(Attempt::Done(token));
        }
        let nonce = ids::new_secret();
        let token = app.keys.api_token(store.organization_id(), &user.id, &nonce)?;
        let record = ApiToken {
            organization: store.organization_id().to_owned(),
            user_id: user.id.clone(),
            nonce,
            token_hash: sha256_hex(&token),
            session_epoch: user.session_epoch,
            created: ids::now_millis(),
            signed_in_with: caller.signed_in_with,
        };
        let entry = Auditor::caller(app, caller).entry(
            &user.organization,
            "token.created",
            vec![token_target(user)],
            json!({}),
        );
        Ok(if store.replace_api_token(&record, existing.as_ref(), &entry).await? {
            Attempt::Done(token)
        } else {
            Attempt::Conflict
        })
    };
    retry::until_settled(attempt, DomainError::unavailable()).await
}

/// The caller's token as an audit target (the token itself is never named).
fn token_target(user: &User) -> AuditTarget {
    AuditTarget { kind: "token".into(), id: user.id.clone(), name: format!("{} {}", user.first_name, user.last_name) }
}

/// A session as an audit target: the first characters of its id (enough to tell sessions apart, too few to
/// use one).
pub(crate) fn session_target(session_id: &str, user: &User) -> AuditTarget {
    AuditTarget {
        kind: "session".into(),
        id: session_id.chars().take(8).collect(),
        name: format!("{} {} <{}>", user.first_name, user.last_name, user.email),
    }
}

pub async fn revoke_api_token(app: &App, caller: &Caller) -> Result<(), DomainError> {
    let user = &caller.user;
    let entry =
        Auditor::caller(app, caller).entry(&user.organization, "token.revoked", vec![token_target(user)], json!({}));
    caller.store(app).delete_api_token(&user.id, &entry).await.map(|_| ()).map_err(Into::into)
}

/// Ends the session the request came with (a request with an API token ends nothing).
pub async fn logout(app: &App, caller: &Caller) -> Result<(), DomainError> {
    match &caller.credential {
        Credential::Session { session_id, .. } => {
            let user = &caller.user;
            let target = session_target(session_id, user);
            let entry = Auditor::caller(app, caller).entry(&user.organization, "auth.logout", vec![target], json!({}));
            caller.store(app).delete_session(session_id, &entry).await.map_err(Into::into)
        }
        Credential::ApiToken { .. } => Ok(()),
    }
}

/// Ends every session and API token of the caller's account, in all its organizations.
pub async fn logout_everywhere(app: &App, caller: &Caller) -> Result<(), DomainError> {
    let auditor = Auditor::caller(app, caller);
    let audit = auditor.account_entries(vec![("auth.logoutEverywhere", json!({}))], &caller.user.email);
    accounts::end_all_sessions(&app.db, &caller.user.account_id, &audit).await.map_err(Into::into)
}

/// How fresh `lastActivity` is kept: a request within this long of the recorded activity writes nothing,
/// so the read path costs no write units in the common case (a client polling `GET /user` every few
/// seconds writes once per window).
pub const ACTIVITY_RESOLUTION_MILLIS: i64 = 5 * 60 * 1000;

/// Whether activity at `now` is news for `user` (pure): its first activity always is (it tells a user who
/// has been active from one who never was: `user.reactivated` against `user.activated`), later ones once
/// the window has passed.
pub(crate) fn activity_due(user: &User, now: i64) -> bool {
    user.last_activity <= user.created || now - user.last_activity >= ACTIVITY_RESOLUTION_MILLIS
}

/// The caller, with its activity recorded when the recorded one is older than the window (one UpdateItem
/// then; none otherwise: the caller was read with the credential, consistently).
pub async fn current_user(app: &App, caller: &Caller) -> Result<User, DomainError> {
    let now = ids::now_millis();
    if !activity_due(&caller.user, now) {
        return Ok(caller.user.clone());
    }
    caller.store(app).touch_last_activity(&caller.user.id, now).await.map_err(Into::into)
}

#[cfg(test)]
mod tests {
    use super::{ACTIVITY_RESOLUTION_MILLIS, activity_due};

    #[test]
    fn activity_is_recorded_first_and_then_once_per_window() {
        let mut user = crate::fixtures::user("u1", &[]);
        user.created = 1_000_000;
        user.last_activity = user.created;
        assert!(activity_due(&user, user.created + 1), "the first activity is always recorded");
        user.last_activity = user.created + 10;
        let last = user.last_activity;
        assert!(!activity_due(&user, last));
        assert!(!activity_due(&user, last + ACTIVITY_RESOLUTION_MILLIS - 1));
        assert!(activity_due(&user, last + ACTIVITY_RESOLUTION_MILLIS));
        // A clock that went back never writes.
        assert!(!activity_due(&user, last - 5));
    }
}
