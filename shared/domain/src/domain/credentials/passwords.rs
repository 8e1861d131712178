//! Password resets by mailed link, password changes, and the check of a current password.

use super::CredentialError;
use crate::app::App;
use crate::caller::Caller;
use crate::domain::audit::Auditor;
use crate::domain::credentials::LoggedIn;
use crate::domain::credentials::locked;
use crate::domain::credentials::new_account_token;
use crate::domain::credentials::throttles::admit_mail_request;
use crate::domain::credentials::token_account;
use crate::error::DomainError;
use crate::ids::sha256_hex;
use crate::mail::{self, Mail};
use crate::model::{Account, AuditActor, AuditContext, PasswordReset, Session};
use crate::store::accounts::{self, LoginSubject, LoginThrottle, RedeemError};
use crate::{ids, password, validate};
use serde_json::json;

/// The answer to a reset request, the same whether or not the address has an account.
pub const RESET_REQUESTED: &str =
    "If an account has this e-mail address, a link to reset its password has been sent to it";

/// `POST /auth/startResetPassword`: mails a reset link when the address has an account; says the same
/// either way (no account discovery). Throttled per address and per client.
pub async fn start_password_reset(app: &App, email: &str, client: Option<&str>) -> Result<(), DomainError> {
    let arrived = tokio::time::Instant::now();
    let email = validate::email(email)?;
    let admission = admit_mail_request(app, &email, client).await?;
    if let Some(account) = admission.account.filter(|_| admission.mail) {
        mail_reset_link(app, &account).await?;
    }
    // As slow for an unknown address as for an account's, which its link's write and mail take longer.
    tokio::time::sleep_until(arrived + app.config.login.response_floor).await;
    Ok(())
}

/// Stores a new reset link for `account` (replacing an earlier one) and mails it.
async fn mail_reset_link(app: &App, account: &Account) -> Result<(), DomainError> {
    let now = ids::now_millis();
    let token = new_account_token(&account.id);
    let reset = PasswordReset {
        account_id: account.id.clone(),
        token_hash: sha256_hex(&token),
        email: account.email.clone(),
        valid_until: now + app.config.password_reset_lifetime.as_millis() as i64,
        created: now,
    };
    accounts::put_link(&app.db, &reset).await?;
    let link = format!("{}/auth/finishResetPassword?token={token}", app.config.public_uri);
    let hours = app.config.password_reset_lifetime.as_secs().div_ceil(3600);
    let mail = Mail::new(
        vec![account.email.clone()],
        "WEBKNOSSOS | Password Reset",
        &[
            "Hello,".into(),
            "someone (hopefully you) asked to reset the password of your WEBKNOSSOS account. Follow the link to choose a new one.".into(),
            format!("The link works once, for {hours} hour{}. If you did not ask for it, ignore this mail: your password stays as it is.", if hours == 1 { "" } else { "s" }),
        ],
        Some(("Reset your password", &link)),
    )
    .security();
    // A mail that cannot be sent is not told to the requester either (that would tell the address has an
    // account); it is logged, and the person can ask again.
    if let Err(err) = mail::send(app, &mail).await {
        tracing::error!(error = %err, "the password reset mail was not sent");
    }
    Ok(())
}

/// Why a presented reset token is refused, from what was read (pure).
pub(crate) fn check_reset(
    reset: Option<&PasswordReset>,
    account: Option<&Account>,
    token: &str,
    now: i64,
) -> Result<(), DomainError> {
    let (Some(reset), Some(account)) = (reset, account) else {
        return Err(CredentialError::ResetTokenInvalid.into());
    };
    let presented = sha256_hex(token);
    if aws_lc_rs::constant_time::verify_slices_are_equal(presented.as_bytes(), reset.token_hash.as_bytes()).is_err() {
        return Err(CredentialError::ResetTokenInvalid.into());
    }
    if reset.valid_until <= now {
        return Err(CredentialError::ResetTokenExpired.into());
    }
    if reset.email != account.email {
        return Err(CredentialError::ResetEmailChanged.into());
    }
    Ok(())
}

/// `POST /auth/resetPassword`: sets the password, ends every session and token of the account, lifts the
/// address's login lock, marks the address verified (the link proved it), and mails "password changed".
pub async fn reset_password(
    app: &App,
    token: &str,
    password1: &str,
    password2: &str,
    context: AuditContext,
) -> Result<(), DomainError> {
    let token = token.trim();
    let account_id = token_account(token).ok_or(CredentialError::ResetTokenInvalid)?;
    let new_password = validate::new_password(password1, password2)?;
    let (account, reset) = accounts::account_with_password_reset(&app.db, account_id).await?;
    let now = ids::now_millis();
    check_reset(reset.as_ref(), account.as_ref(), token, now)?;
    let (Some(account), Some(reset)) = (account, reset) else {
        return Err(CredentialError::ResetTokenInvalid.into());
    };
    // The account's passkeys stay (a reset proves the mailbox, not the passkeys); the notice lists them,
    // read while the password is hashed.
    let (hash, passkeys) = futures_util::future::join(
        password::hash(app.config.password_hashing, new_password),
        accounts::account_passkeys(&app.db, &account.id),
    )
    .await;
    let (hash, passkeys) = (hash?, passkeys?);
    // Whoever holds the mailed link acts as the account's owner.
    // Not made in an organization: the one the account used last keeps where it came from.
    let auditor = Auditor::new(app, AuditActor::account(&account.email), context)
        .at_home(account.last_used_organization.as_deref());
    let audit = auditor.account_entries(vec![("account.passwordReset", json!({}))], &account.email);
    match accounts::redeem_password_reset(&app.db, &account, &reset, &hash, now, &audit).await {
        Ok(()) => {}
        Err(RedeemError::LinkGone) => return Err(CredentialError::ResetTokenInvalid.into()),
        Err(RedeemError::AccountChanged) => {
            return Err(CredentialError::AccountChangedMeanwhile.into());
        }
        Err(RedeemError::Store(err)) => return Err(err.into()),
    }
    mail::notify(app, vec![password_changed_mail(app, &account.email, &passkeys)]).await;
    Ok(())
}

/// The notice of a new password; after a reset it names the account's `passkeys`, which still sign in (a
/// reset proves the mailbox, not them), so a person can remove one they did not add.
pub(super) fn password_changed_mail(app: &App, email: &str, passkeys: &[crate::model::Passkey]) -> Mail {
    let mut paragraphs = vec![
        "Hello,".to_owned(),
        "the password of your WEBKNOSSOS account was changed, and every session and personal API token of the account was ended.".to_owned(),
    ];
    if !passkeys.is_empty() {
        let names: Vec<String> = passkeys.iter().map(|passkey| format!("\"{}\"", passkey.name)).collect();
        paragraphs.push(format!(
            "Your account's passkeys still sign in: {}. If you did not add one of them, remove it on your home page.",
            names.join(", ")
        ));
    }
    paragraphs.push(
        "If this was not you, reset your password at once with \"Forgot password\" on the login page, and tell your organization's admins.".to_owned(),
    );
    Mail::new(
        vec![email.to_owned()],
        "WEBKNOSSOS | Password changed",
        &paragraphs,
        Some(("Log in", &format!("{}/auth/login", app.config.public_uri))),
    )
    .security()
}

/// `POST /auth/changePassword`: checks the old password (wrong ones count like failed logins, and a
/// locked address is refused with 429), sets the new one, ends every other session and token of the
/// account, and returns a new session for the caller (its old one ends too). Mails "password changed".
pub async fn change_password(
    app: &App,
    caller: &Caller,
    old_password: &str,
    password1: &str,
    password2: &str,
) -> Result<LoggedIn, DomainError> {
    let new_password = validate::new_password(password1, password2)?;
    let user = &caller.user;
    let (account, throttle) = accounts::account_and_throttle(&app.db, &user.account_id, &user.email).await?;
    let account = account.ok_or_else(DomainError::invalid_credential)?;
    check_current_password(app, &account, &throttle, old_password).await?;
    let hash = password::hash(app.config.password_hashing, new_password).await?;
    let now = ids::now_millis();
    let lifetime_seconds = app.config.session_lifetime.as_secs() as i64;
    let session = Session {
        organization: user.organization.clone(),
        id: ids::new_secret(),
        user_id: user.id.clone(),
        created: now,
        expires_at: now / 1000 + lifetime_seconds,
        // A new password proves no more than the one it replaces; the caller's way of signing in stays.
        signed_in_with: caller.signed_in_with,
    };
    let auditor = Auditor::caller(app, caller);
    let audit = auditor.account_entries(vec![("account.passwordChanged", json!({}))], &account.email);
    match accounts::change_password(&app.db, &account, &hash, &session, &audit).await {
        Ok(()) => {}
        Err(RedeemError::LinkGone) => {
            return Err(CredentialError::PasswordChangedMeanwhile.into());
        }
        Err(RedeemError::AccountChanged) => {
            return Err(CredentialError::AccountChangedMeanwhile.into());
        }
        Err(RedeemError::Store(err)) => return Err(err.into()),
    }
    let token = app.keys.sign_session(&session, user.session_epoch + 1)?;
    mail::notify(app, vec![password_changed_mail(app, &account.email, &[])]).await;
    let mut user = user.clone();
    user.session_epoch += 1;
    user.version += 1;
    Ok(LoggedIn { token, user, organization: caller.organization.clone(), lifetime_seconds })
}

/// Checks a current password presented to change credentials (by someone holding a session of the
/// account): wrong ones are counted per address like failed logins, and lock this check (429) at the same
/// limit, so the password cannot be guessed without limit through a stolen session. They do not lock the
/// address's logins. A right one clears the count.
pub(crate) async fn check_current_password(
    app: &App,
    account: &Account,
    throttle: &LoginThrottle,
    attempt: &str,
) -> Result<(), DomainError> {
    let now = ids::now_seconds();
    let subject = LoginSubject::Email(&account.email);
    if let Some(until) = throttle.locked_until(now) {
        return Err(locked(until, now, true));
    }
    if !password::verify(app.config.password_hashing, attempt, Some(&account.password_hash)).await {
        let limits = &app.config.login;
        let (window, lock) = (limits.window.as_secs() as i64, limits.lock.as_secs() as i64);
        let locked = accounts::record_login_failure(
            &app.db,
            subject,
            throttle,
            limits.failures_per_address_and_client,
            window,
            lock,
            now,
        )
        .await?;
        return Err(match locked {
            Some(until) => super::locked(until, now, true),
            None => CredentialError::CurrentPasswordWrong.into(),
        });
    }
    if throttle.failures > 0 {
        accounts::clear_login_failures(&app.db, subject, now).await?;
    }
    Ok(())
}
