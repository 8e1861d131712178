//! Account recovery and proven e-mail addresses: password reset, password change, e-mail verification
//! (WEBKNOSSOS's routes, with its error codes), and the mails that go with them.
//!
//! Reset tokens and verification keys are `{accountId}.{secret}` with 256 random bits of secret: the
//! account id finds the record in one read, and only the SHA-256 of the whole token is stored.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::app::App;
use crate::auth::{Caller, sha256_hex};
use crate::config::EmailVerificationConfig;
use crate::domain::session::{self, LoggedIn};
use crate::error::ApiError;
use crate::mail::{self, Mail};
use crate::model::{Account, EmailVerification, Key, PasswordReset, Session};
use crate::store::accounts::{self, LoginSubject, LoginThrottle, RedeemError};
use crate::{ids, password, validate};

/// Requests that mail a link (reset, verification): this many per address, and per client, within
/// [`MAIL_REQUEST_WINDOW_SECONDS`]; the one that reaches the limit is still served, the next ones get 429
/// until [`MAIL_REQUEST_LOCK_SECONDS`] have passed.
pub const MAIL_REQUESTS_PER_EMAIL: u32 = 3;
pub const MAIL_REQUESTS_PER_CLIENT: u32 = 100;
pub const MAIL_REQUEST_WINDOW_SECONDS: i64 = 3600;
pub const MAIL_REQUEST_LOCK_SECONDS: i64 = 3600;

/// A new token for `account_id`: `{accountId}.{256 random bits, base64url}`.
fn new_account_token(account_id: &str) -> String {
    format!("{account_id}.{}", URL_SAFE_NO_PAD.encode(ids::random_bytes::<32>()))
}

/// The account id a token names, if it has the shape [`new_account_token`] makes.
pub fn token_account(token: &str) -> Option<&str> {
    let (account_id, secret) = token.split_once('.')?;
    let secret_ok = secret.len() == 43 && secret.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    (ids::is_object_id(account_id) && secret_ok).then_some(account_id)
}

fn throttled(until: i64, now: i64) -> ApiError {
    let seconds = (until - now).max(1) as u64;
    ApiError::too_many_requests(
        "auth.mail.tooManyRequests",
        format!(
            "Too many requests for mail to this address or from your address; try again in {} minutes",
            seconds.div_ceil(60)
        ),
        seconds,
    )
}

/// Counts a request that may mail `email` a link, per address and per client: 429 while either is over
/// its limit. Returns the account of the address, if any (read in the same round trip).
async fn admit_mail_request(app: &App, email: &str, client: Option<&str>) -> Result<Option<Account>, ApiError> {
    let by_client = client.map(LoginSubject::MailFrom);
    let (guard, to_email, from_client) =
        accounts::login_reads(&app.db, email, LoginSubject::MailTo(email), by_client).await?;
    let now = ids::now_seconds();
    if let Some(until) = to_email.locked_until(now).max(from_client.as_ref().and_then(|t| t.locked_until(now))) {
        return Err(throttled(until, now));
    }
    let db = &app.db;
    let (email_count, client_count) = futures_util::future::join(
        accounts::record_login_failure(
            db,
            LoginSubject::MailTo(email),
            &to_email,
            MAIL_REQUESTS_PER_EMAIL,
            MAIL_REQUEST_WINDOW_SECONDS,
            MAIL_REQUEST_LOCK_SECONDS,
            now,
        ),
        async {
            match (by_client, &from_client) {
                (Some(subject), Some(known)) => {
                    accounts::record_login_failure(
                        db,
                        subject,
                        known,
                        MAIL_REQUESTS_PER_CLIENT,
                        MAIL_REQUEST_WINDOW_SECONDS,
                        MAIL_REQUEST_LOCK_SECONDS,
                        now,
                    )
                    .await
                }
                _ => Ok(None),
            }
        },
    )
    .await;
    // A lock set by this very request applies to the next ones: this one reached the limit, not past it.
    let (email_locked, client_locked) = (email_count?, client_count?);
    let was_locked_before = |locked: Option<i64>| locked.is_some_and(|until| until < now + MAIL_REQUEST_LOCK_SECONDS);
    if was_locked_before(email_locked) || was_locked_before(client_locked) {
        return Err(throttled(email_locked.max(client_locked).unwrap_or(now), now));
    }
    match guard {
        Some(guard) => accounts::account(&app.db, &guard.account_id).await,
        None => Ok(None),
    }
}

/// The answer to a reset request, the same whether or not the address has an account.
pub const RESET_REQUESTED: &str =
    "If an account has this e-mail address, a link to reset its password has been sent to it";

/// `POST /auth/startResetPassword`: mails a reset link when the address has an account; says the same
/// either way (no account discovery). Throttled per address and per client.
pub async fn start_password_reset(app: &App, email: &str, client: Option<&str>) -> Result<(), ApiError> {
    let email = validate::email(email)?;
    let Some(account) = admit_mail_request(app, &email, client).await? else {
        return Ok(());
    };
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
    );
    // A mail that cannot be sent is not told to the requester either (that would tell the address has an
    // account); it is logged, and the person can ask again.
    if let Err(err) = mail::send(app, &mail).await {
        tracing::error!(error = %err, "the password reset mail was not sent");
    }
    Ok(())
}

fn reset_token_invalid() -> ApiError {
    ApiError::bad_request(
        "auth.resetPassword.tokenInvalid",
        "This password reset link is invalid, was used already, or was replaced by a newer one; please ask for a new one",
    )
}

/// Why a presented reset token is refused, from what was read (pure).
pub fn check_reset(
    reset: Option<&PasswordReset>,
    account: Option<&Account>,
    token: &str,
    now: i64,
) -> Result<(), ApiError> {
    let (Some(reset), Some(account)) = (reset, account) else {
        return Err(reset_token_invalid());
    };
    let presented = sha256_hex(token);
    if aws_lc_rs::constant_time::verify_slices_are_equal(presented.as_bytes(), reset.token_hash.as_bytes()).is_err() {
        return Err(reset_token_invalid());
    }
    if reset.valid_until <= now {
        return Err(ApiError::bad_request(
            "auth.resetPassword.tokenExpired",
            "This password reset link has expired; please ask for a new one",
        ));
    }
    if reset.email != account.email {
        return Err(ApiError::bad_request(
            "auth.resetPassword.emailChanged",
            "The account's e-mail address changed after this link was sent; please ask for a new one",
        ));
    }
    Ok(())
}

/// `POST /auth/resetPassword`: sets the password, ends every session and token of the account, lifts the
/// address's login lock, marks the address verified (the link proved it), and mails "password changed".
pub async fn reset_password(app: &App, token: &str, password1: &str, password2: &str) -> Result<(), ApiError> {
    let token = token.trim();
    let account_id = token_account(token).ok_or_else(reset_token_invalid)?;
    let new_password = validate::new_password(password1, password2)?;
    let (account, reset) =
        accounts::account_with::<PasswordReset>(&app.db, account_id, &Key::password_reset(account_id)).await?;
    let now = ids::now_millis();
    check_reset(reset.as_ref(), account.as_ref(), token, now)?;
    let (Some(account), Some(reset)) = (account, reset) else {
        return Err(reset_token_invalid());
    };
    let hash = password::hash(new_password).await?;
    match accounts::redeem_password_reset(&app.db, &account, &reset, &hash, now).await {
        Ok(()) => {}
        Err(RedeemError::LinkGone) => return Err(reset_token_invalid()),
        Err(RedeemError::AccountChanged) => {
            return Err(ApiError::conflict("request.conflict", "Your account changed meanwhile; please try again"));
        }
        Err(RedeemError::Api(err)) => return Err(err),
    }
    mail::notify(app, vec![password_changed_mail(app, &account.email)]).await;
    Ok(())
}

fn password_changed_mail(app: &App, email: &str) -> Mail {
    Mail::new(
        vec![email.to_owned()],
        "WEBKNOSSOS | Password changed",
        &[
            "Hello,".into(),
            "the password of your WEBKNOSSOS account was changed, and every session and personal API token of the account was ended.".into(),
            "If this was not you, reset your password at once with \"Forgot password\" on the login page, and tell your organization's admins.".into(),
        ],
        Some(("Log in", &format!("{}/auth/login", app.config.public_uri))),
    )
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
) -> Result<LoggedIn, ApiError> {
    let new_password = validate::new_password(password1, password2)?;
    let user = &caller.user;
    let (account, throttle) = accounts::account_and_throttle(&app.db, &user.account_id, &user.email).await?;
    let account = account.ok_or_else(ApiError::invalid_credential)?;
    check_current_password(app, &account, &throttle, old_password).await?;
    let hash = password::hash(new_password).await?;
    let now = ids::now_millis();
    let lifetime_seconds = app.config.session_lifetime.as_secs() as i64;
    let session = Session {
        organization: user.organization.clone(),
        id: ids::new_secret(),
        user_id: user.id.clone(),
        created: now,
        expires_at: now / 1000 + lifetime_seconds,
    };
    match accounts::change_password(&app.db, &account, &hash, &session).await {
        Ok(()) => {}
        Err(RedeemError::LinkGone) => {
            return Err(ApiError::conflict(
                "request.conflict",
                "Your password was changed meanwhile; please log in again",
            ));
        }
        Err(RedeemError::AccountChanged) => {
            return Err(ApiError::conflict("request.conflict", "Your account changed meanwhile; please try again"));
        }
        Err(RedeemError::Api(err)) => return Err(err),
    }
    let token = app.keys.sign_session(&session, user.session_epoch + 1)?;
    mail::notify(app, vec![password_changed_mail(app, &account.email)]).await;
    let mut user = user.clone();
    user.session_epoch += 1;
    user.version += 1;
    Ok(LoggedIn { token, user, organization: caller.organization.clone(), lifetime_seconds })
}

/// Checks a current password presented to change credentials (by someone holding a session of the
/// account): wrong ones are counted per address like failed logins, and lock this check (429) at the same
/// limit, so the password cannot be guessed without limit through a stolen session. They do not lock the
/// address's logins. A right one clears the count.
pub async fn check_current_password(
    app: &App,
    account: &Account,
    throttle: &LoginThrottle,
    attempt: &str,
) -> Result<(), ApiError> {
    let now = ids::now_seconds();
    let subject = LoginSubject::Email(&account.email);
    if let Some(until) = throttle.locked_until(now) {
        return Err(session::locked(until, now, true));
    }
    if !password::verify(attempt, Some(&account.password_hash)).await {
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
            Some(until) => session::locked(until, now, true),
            None => ApiError::forbidden("user.currentPassword.wrong", "The current password is wrong"),
        });
    }
    if throttle.failures > 0 {
        accounts::clear_login_failures(&app.db, subject, now).await?;
    }
    Ok(())
}

/// Stores a verification link for `email` (the account's current address) and mails it there.
pub async fn send_verification(app: &App, account_id: &str, email: &str) -> Result<(), ApiError> {
    let now = ids::now_millis();
    let key = new_account_token(account_id);
    let verification = EmailVerification {
        account_id: account_id.to_owned(),
        key_hash: sha256_hex(&key),
        email: email.to_owned(),
        valid_until: now + app.config.email_verification.link_lifetime.as_millis() as i64,
        used_at: None,
        created: now,
    };
    accounts::put_link(&app.db, &verification).await?;
    let link = format!("{}/verifyEmail/{key}", app.config.public_uri);
    let days = app.config.email_verification.link_lifetime.as_secs().div_ceil(24 * 3600);
    let mail = Mail::new(
        vec![email.to_owned()],
        "Verify Your Email at WEBKNOSSOS",
        &[
            "Hello,".into(),
            format!(
                "please confirm that {email} is your e-mail address by following the link (it works for {days} days)."
            ),
            "If you did not create or change a WEBKNOSSOS account, ignore this mail.".into(),
        ],
        Some(("Verify your e-mail address", &link)),
    );
    mail::send(app, &mail).await
}

/// [`send_verification`] as a notification: a failure is logged, never undoing what triggered it.
pub async fn send_verification_best_effort(app: &App, account_id: &str, email: &str) {
    if let Err(err) = send_verification(app, account_id, email).await {
        tracing::warn!(error = %err, "the verification mail was not sent");
    }
}

/// What redeeming a verification key does, decided from what was read (pure), with WEBKNOSSOS's errors
/// in its order.
#[derive(Debug, PartialEq, Eq)]
pub enum VerificationOutcome {
    /// The account's current address, not verified yet: verify it.
    Verify,
    /// Already verified: nothing changes (200).
    AlreadyVerified,
}

pub fn check_verification(
    verification: Option<&EmailVerification>,
    account: Option<&Account>,
    key: &str,
    now: i64,
) -> Result<VerificationOutcome, ApiError> {
    let invalid = || ApiError::bad_request("user.email.verification.keyInvalid", "This verification link is invalid");
    let (Some(verification), Some(account)) = (verification, account) else {
        return Err(invalid());
    };
    if sha256_hex(key) != verification.key_hash {
        return Err(invalid());
    }
    if verification.used_at.is_some() {
        return Err(ApiError::bad_request(
            "user.email.verification.keyUsed",
            "This verification link was used already",
        ));
    }
    if verification.valid_until <= now {
        return Err(ApiError::bad_request(
            "user.email.verification.linkExpired",
            "This verification link has expired; log in and ask for a new one",
        ));
    }
    if verification.email != account.email {
        return Err(ApiError::bad_request(
            "user.email.verification.emailDoesNotMatch",
            "This link was sent to an earlier e-mail address of the account; log in and ask for a new one",
        ));
    }
    if account.email_verified {
        return Ok(VerificationOutcome::AlreadyVerified);
    }
    Ok(VerificationOutcome::Verify)
}

/// `POST /verifyEmail/{key}`: marks the account's address (and every identity's copy) verified.
pub async fn verify_email(app: &App, key: &str) -> Result<(), ApiError> {
    let key = key.trim();
    let invalid = || ApiError::bad_request("user.email.verification.keyInvalid", "This verification link is invalid");
    let account_id = token_account(key).ok_or_else(invalid)?;
    let (account, verification) = accounts::account_with::<EmailVerification>(
        &app.db,
        account_id,
        &Key::email_verification(account_id, &sha256_hex(key)),
    )
    .await?;
    let now = ids::now_millis();
    if check_verification(verification.as_ref(), account.as_ref(), key, now)? == VerificationOutcome::AlreadyVerified {
        return Ok(());
    }
    let (Some(account), Some(verification)) = (account, verification) else {
        return Err(invalid());
    };
    match accounts::confirm_email(&app.db, &account, &verification, now).await {
        Ok(()) => Ok(()),
        // Used by a concurrent request, or the address changed meanwhile: say which, as a fresh read would.
        Err(RedeemError::LinkGone) => {
            Err(ApiError::bad_request("user.email.verification.keyUsed", "This verification link was used already"))
        }
        Err(RedeemError::AccountChanged) => Err(ApiError::bad_request(
            "user.email.verification.emailDoesNotMatch",
            "This link was sent to an earlier e-mail address of the account; log in and ask for a new one",
        )),
        Err(RedeemError::Api(err)) => Err(err),
    }
}

/// `POST /verifyEmail` (logged in): mails a new link to the caller's address unless it is verified
/// already. Throttled per address and client like the reset.
pub async fn request_verification(app: &App, caller: &Caller, client: Option<&str>) -> Result<bool, ApiError> {
    let user = &caller.user;
    if user.is_email_verified {
        return Ok(false);
    }
    admit_mail_request(app, &user.email, client).await?;
    send_verification(app, &user.account_id, &user.email).await?;
    Ok(true)
}

/// A sign-up named an address that has an account: instead of saying so to whoever asked (account
/// discovery), the answer is generic and the address itself is told, at most as often as reset links
/// (throttled per address; a throttled or failed mail is only logged).
pub async fn address_taken(app: &App, email: &str) -> ApiError {
    if let Ok(Some(_)) = admit_mail_request(app, email, None).await {
        let mail = Mail::new(
            vec![email.to_owned()],
            "WEBKNOSSOS | Someone tried to sign up with your address",
            &[
                "Hello,".into(),
                "someone tried to create a new WEBKNOSSOS account with this e-mail address, which already has one. If it was you, log in instead; if you forgot your password, reset it.".into(),
                "If it was not you, you can ignore this mail: nothing was changed.".into(),
            ],
            Some(("Log in", &format!("{}/auth/login", app.config.public_uri))),
        );
        mail::notify(app, vec![mail]).await;
    }
    ApiError::conflict(
        "user.email.alreadyInUse",
        "This e-mail address cannot be used for a new account. If it is yours, a mail with what to do next was sent to it",
    )
}

/// Whether a login must be refused until the address is verified (pure): verification is required, the
/// address is unverified, and its grace period (from when it was set) has passed.
pub fn login_needs_verification(config: &EmailVerificationConfig, account: &Account, now_millis: i64) -> bool {
    config.required
        && !account.email_verified
        && now_millis >= account.email_since() + config.grace_period.as_millis() as i64
}

/// After an e-mail change: a verification link to the new address, and a notice to the old one.
pub async fn email_changed(app: &App, account_id: &str, old_email: &str, new_email: &str) {
    send_verification_best_effort(app, account_id, new_email).await;
    let notice = Mail::new(
        vec![old_email.to_owned()],
        "WEBKNOSSOS | Your e-mail address was changed",
        &[
            "Hello,".into(),
            format!(
                "the e-mail address of your WEBKNOSSOS account was changed from {old_email} to {new_email}. Mail about the account goes to the new address from now on."
            ),
            "If this was not you, contact your organization's admins at once.".into(),
        ],
        None,
    );
    mail::notify(app, vec![notice]).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn account(email: &str, verified: bool) -> Account {
        Account {
            id: "0123456789abcdef01234567".into(),
            email: email.into(),
            password_hash: String::new(),
            identities: Default::default(),
            last_used_organization: None,
            created: 1_000,
            email_verified: verified,
            email_set_at: None,
        }
    }

    #[test]
    fn tokens_name_their_account_and_carry_256_bits() {
        let token = new_account_token("0123456789abcdef01234567");
        assert_eq!(token_account(&token), Some("0123456789abcdef01234567"));
        assert_ne!(token, new_account_token("0123456789abcdef01234567"));
        assert_eq!(URL_SAFE_NO_PAD.decode(token.split_once('.').unwrap().1).unwrap().len(), 32);
        for bad in [
            "",
            ".",
            "0123456789abcdef01234567",
            "0123456789abcdef01234567.short",
            "nothex.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "0123456789abcdef01234567.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA*",
        ] {
            assert_eq!(token_account(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_reset_is_refused_unless_its_token_matches_is_valid_and_went_to_the_current_address() {
        let token = new_account_token("0123456789abcdef01234567");
        let reset = PasswordReset {
            account_id: "0123456789abcdef01234567".into(),
            token_hash: sha256_hex(&token),
            email: "a@x.org".into(),
            valid_until: 5_000,
            created: 0,
        };
        let code = |r: Result<(), ApiError>| r.err().map(|e| e.code).unwrap_or("ok");
        assert_eq!(code(check_reset(Some(&reset), Some(&account("a@x.org", false)), &token, 4_999)), "ok");
        assert_eq!(
            code(check_reset(None, Some(&account("a@x.org", false)), &token, 0)),
            "auth.resetPassword.tokenInvalid"
        );
        assert_eq!(code(check_reset(Some(&reset), None, &token, 0)), "auth.resetPassword.tokenInvalid");
        let other = new_account_token("0123456789abcdef01234567");
        assert_eq!(
            code(check_reset(Some(&reset), Some(&account("a@x.org", false)), &other, 0)),
            "auth.resetPassword.tokenInvalid"
        );
        assert_eq!(
            code(check_reset(Some(&reset), Some(&account("a@x.org", false)), &token, 5_000)),
            "auth.resetPassword.tokenExpired"
        );
        assert_eq!(
            code(check_reset(Some(&reset), Some(&account("b@x.org", false)), &token, 0)),
            "auth.resetPassword.emailChanged"
        );
    }

    #[test]
    fn verification_errors_come_in_webknossos_order() {
        let key = new_account_token("0123456789abcdef01234567");
        let v = EmailVerification {
            account_id: "0123456789abcdef01234567".into(),
            key_hash: sha256_hex(&key),
            email: "a@x.org".into(),
            valid_until: 5_000,
            used_at: None,
            created: 0,
        };
        let code = |r: Result<VerificationOutcome, ApiError>| match r {
            Ok(VerificationOutcome::Verify) => "verify",
            Ok(VerificationOutcome::AlreadyVerified) => "already",
            Err(e) => e.code,
        };
        let unverified = account("a@x.org", false);
        assert_eq!(code(check_verification(Some(&v), Some(&unverified), &key, 0)), "verify");
        assert_eq!(code(check_verification(Some(&v), Some(&account("a@x.org", true)), &key, 0)), "already");
        assert_eq!(code(check_verification(None, Some(&unverified), &key, 0)), "user.email.verification.keyInvalid");
        let used = EmailVerification { used_at: Some(1), ..v.clone() };
        // Used beats expired beats another address.
        assert_eq!(
            code(check_verification(Some(&used), Some(&account("b@x.org", false)), &key, 9_000)),
            "user.email.verification.keyUsed"
        );
        assert_eq!(
            code(check_verification(Some(&v), Some(&account("b@x.org", false)), &key, 9_000)),
            "user.email.verification.linkExpired"
        );
        assert_eq!(
            code(check_verification(Some(&v), Some(&account("b@x.org", false)), &key, 0)),
            "user.email.verification.emailDoesNotMatch"
        );
    }

    #[test]
    fn logins_need_verification_only_when_required_unverified_and_past_the_grace_period() {
        let required =
            EmailVerificationConfig { required: true, grace_period: Duration::from_millis(100), ..Default::default() };
        let mut a = account("a@x.org", false);
        assert!(!login_needs_verification(&required, &a, 1_099));
        assert!(login_needs_verification(&required, &a, 1_100));
        assert!(!login_needs_verification(&EmailVerificationConfig { required: false, ..required.clone() }, &a, 9_999));
        a.email_set_at = Some(5_000);
        assert!(!login_needs_verification(&required, &a, 5_050), "the grace period starts again with a new address");
        a.email_verified = true;
        assert!(!login_needs_verification(&required, &a, 9_999));
    }
}
