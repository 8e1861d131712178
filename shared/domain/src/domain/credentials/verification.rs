//! E-mail verification: links, their checks, and what a login needs when verification is required.

use super::CredentialError;
use crate::app::App;
use crate::caller::Caller;
use crate::config::EmailVerificationConfig;
use crate::domain::audit::Auditor;
use crate::domain::credentials::new_account_token;
use crate::domain::credentials::passwords::check_current_password;
use crate::domain::credentials::throttles::admit_mail_request;
use crate::domain::credentials::token_account;
use crate::error::DomainError;
use crate::ids;
use crate::ids::sha256_hex;
use crate::mail::{self, Mail};
use crate::model::{Account, AuditActor, AuditContext, EmailVerification};
use crate::store::accounts::{self, RedeemError};
use serde_json::json;

/// Stores a verification link for `email` (the account's current address) and mails it there.
pub(crate) async fn send_verification(app: &App, account_id: &str, email: &str) -> Result<(), DomainError> {
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
    )
    .security()
    // On the account's budget: its address changes and requests cannot mail strangers without end.
    .paid_by(Some(account_id), None);
    Ok(mail::send(app, &mail).await?)
}

/// [`send_verification`] as a notification: a failure is logged, never undoing what triggered it.
pub(crate) async fn send_verification_best_effort(app: &App, account_id: &str, email: &str) {
    if let Err(err) = send_verification(app, account_id, email).await {
        tracing::warn!(error = %err, "the verification mail was not sent");
    }
}

/// What redeeming a verification key does, decided from what was read (pure), with WEBKNOSSOS's errors
/// in its order.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum VerificationOutcome {
    /// The account's current address, not verified yet: verify it.
    Verify,
    /// Already verified: nothing changes (200).
    AlreadyVerified,
}

pub(crate) fn check_verification(
    verification: Option<&EmailVerification>,
    account: Option<&Account>,
    key: &str,
    now: i64,
) -> Result<VerificationOutcome, DomainError> {
    let invalid = || CredentialError::VerificationKeyInvalid.into();
    let (Some(verification), Some(account)) = (verification, account) else {
        return Err(invalid());
    };
    if sha256_hex(key) != verification.key_hash {
        return Err(invalid());
    }
    if verification.used_at.is_some() {
        return Err(CredentialError::VerificationKeyUsed.into());
    }
    if verification.valid_until <= now {
        return Err(CredentialError::VerificationLinkExpired.into());
    }
    if verification.email != account.email {
        return Err(CredentialError::VerificationEmailChanged.into());
    }
    if account.email_verified {
        return Ok(VerificationOutcome::AlreadyVerified);
    }
    Ok(VerificationOutcome::Verify)
}

/// Who presents a verification key. The key alone proves only that its mail was opened, which a mail
/// scanner, a forwarded mail or someone who moved their account onto a stranger's address also achieves:
/// the account itself must be proven too, by a session of it or its password.
pub enum Redeemer<'a> {
    /// Signed in: must be the key's account.
    Caller(&'a Caller),
    /// Not signed in (a login may be refused until the address is verified): the account's password,
    /// throttled like a current password.
    Password(&'a str),
    /// Neither: refused (401), nothing read.
    Unproven,
}

/// `POST /verifyEmail/{key}`: marks the account's address (and every identity's copy) verified, when the
/// account itself presents the key (`redeemer`); anyone else's attempt changes nothing.
pub async fn verify_email(
    app: &App,
    key: &str,
    redeemer: Redeemer<'_>,
    context: AuditContext,
) -> Result<(), DomainError> {
    let key = key.trim();
    let invalid = || CredentialError::VerificationKeyInvalid.into();
    let account_id = token_account(key).ok_or_else(invalid)?;
    match &redeemer {
        Redeemer::Unproven => {
            return Err(CredentialError::VerificationLoginRequired.into());
        }
        Redeemer::Caller(caller) if caller.user.account_id != account_id => {
            return Err(CredentialError::VerificationOtherAccount.into());
        }
        _ => {}
    }
    let (account, verification) =
        accounts::account_with_email_verification(&app.db, account_id, &sha256_hex(key)).await?;
    let now = ids::now_millis();
    let outcome = check_verification(verification.as_ref(), account.as_ref(), key, now)?;
    let (Some(account), Some(verification)) = (account, verification) else {
        return Err(invalid());
    };
    if let Redeemer::Password(attempt) = redeemer {
        let (_, throttle) = accounts::account_and_throttle(&app.db, &account.id, &account.email).await?;
        check_current_password(app, &account, &throttle, attempt).await?;
    }
    if outcome == VerificationOutcome::AlreadyVerified {
        return Ok(());
    }
    let auditor = Auditor::new(app, AuditActor::account(&account.email), context)
        .at_home(account.last_used_organization.as_deref());
    let audit = auditor.account_entries(vec![("account.emailVerified", json!({}))], &account.email);
    match accounts::confirm_email(&app.db, &account, &verification, now, &audit).await {
        Ok(()) => Ok(()),
        // Used by a concurrent request, or the address changed meanwhile: say which, as a fresh read would.
        Err(RedeemError::LinkGone) => Err(CredentialError::VerificationKeyUsed.into()),
        Err(RedeemError::AccountChanged) => Err(CredentialError::VerificationEmailChanged.into()),
        Err(RedeemError::Store(err)) => Err(err.into()),
    }
}

/// `POST /verifyEmail` (logged in): mails a new link to the caller's address unless it is verified
/// already. Throttled per address and client like the reset.
pub async fn request_verification(app: &App, caller: &Caller, client: Option<&str>) -> Result<bool, DomainError> {
    let user = &caller.user;
    if user.is_email_verified {
        return Ok(false);
    }
    if admit_mail_request(app, &user.email, client).await?.mail {
        send_verification(app, &user.account_id, &user.email).await?;
    }
    Ok(true)
}

/// Whether a login must be refused until the address is verified (pure): verification is required, the
/// address is unverified, and its grace period (from when it was set) has passed.
pub(crate) fn login_needs_verification(config: &EmailVerificationConfig, account: &Account, now_millis: i64) -> bool {
    config.required
        && !account.email_verified
        && now_millis >= account.email_since() + config.grace_period.as_millis() as i64
}

/// After an e-mail change: a verification link to the new address, and a notice to the old one.
pub(crate) async fn email_changed(app: &App, account_id: &str, old_email: &str, new_email: &str) {
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
    )
    .security()
    .paid_by(Some(account_id), None);
    mail::notify(app, vec![notice]).await;
}
