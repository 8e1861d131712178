//! Account recovery and proven e-mail addresses: password reset, password change, e-mail verification
//! (WEBKNOSSOS's routes, with its error codes), and the mails that go with them.
//!
//! Reset tokens and verification keys are `{accountId}.{secret}` with 256 random bits of secret: the
//! account id finds the record in one read, and only the SHA-256 of the whole token is stored.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::app::App;
use crate::error::{DomainError, refusals};
use crate::ids;
use crate::mail::{self, Mail};
use crate::model::{Organization, User};

refusals! {
    /// Why a login, a password change or reset, or an address verification was refused.
    pub(crate) enum CredentialError {
        InvalidCredentials => Unauthenticated, "auth.invalidCredentials", "The e-mail address or the password is wrong";
        SsoRequired { domain: String } => Forbidden, "auth.sso.required",
            "Addresses at {domain} sign in with their institution's identity provider: type only your address on the login page and press Continue";
        LoginLocked { whose: &'static str, minutes: u64, plural: &'static str, seconds: u64 } => TooMany,
            "auth.login.locked", "Too many failed logins {whose}; try again in {minutes} minute{plural}",
            retry_after = seconds;
        MailThrottled { minutes: u64, seconds: u64 } => TooMany, "auth.mail.tooManyRequests",
            "Too many requests for mail to this address from your address; try again in {minutes} minutes",
            retry_after = seconds;
        EmailNotVerified => Forbidden, "auth.emailNotVerified",
            "Your e-mail address is not yet verified. A new verification e-mail has been sent; follow its link, then log in again";
        NotActivated => Forbidden, "user.deactivated", "Your account has not been activated by an admin yet";
        EmailInUse => Conflict, "user.email.alreadyInUse",
            "This e-mail address cannot be used for a new account. If it is yours, a mail with what to do next was sent to it";
        ResetTokenInvalid => Invalid, "auth.resetPassword.tokenInvalid",
            "This password reset link is invalid, was used already, or was replaced by a newer one; please ask for a new one";
        ResetTokenExpired => Invalid, "auth.resetPassword.tokenExpired",
            "This password reset link has expired; please ask for a new one";
        ResetEmailChanged => Invalid, "auth.resetPassword.emailChanged",
            "The account's e-mail address changed after this link was sent; please ask for a new one";
        AccountChangedMeanwhile => Conflict, "request.conflict", "Your account changed meanwhile; please try again";
        PasswordChangedMeanwhile => Conflict, "request.conflict",
            "Your password was changed meanwhile; please log in again";
        CurrentPasswordWrong => Forbidden, "user.currentPassword.wrong", "The current password is wrong";
        VerificationKeyInvalid => Invalid, "user.email.verification.keyInvalid", "This verification link is invalid";
        VerificationKeyUsed => Invalid, "user.email.verification.keyUsed", "This verification link was used already";
        VerificationLinkExpired => Invalid, "user.email.verification.linkExpired",
            "This verification link has expired; log in and ask for a new one";
        VerificationEmailChanged => Invalid, "user.email.verification.emailDoesNotMatch",
            "This link was sent to an earlier e-mail address of the account; log in and ask for a new one";
        VerificationLoginRequired => Unauthenticated, "user.email.verification.loginRequired",
            "Log in as the account that asked for this link (or give its password) to verify the address";
        VerificationOtherAccount => Forbidden, "user.email.verification.otherAccount",
            "This link belongs to another account: log out, then log in as the account that asked for it";
    }
}

mod passwords;
mod throttles;
mod verification;

pub use passwords::*;
pub use throttles::*;
pub use verification::*;

/// A login's outcome: the session token, and whom and where it signs in (a login, a reset password, a
/// switch of organization).
pub struct LoggedIn {
    pub token: String,
    pub user: User,
    pub organization: Organization,
    pub lifetime_seconds: i64,
}

/// The refusal of a login (or a current password) while its address or client is locked, until `until`.
pub(crate) fn locked(until: i64, now: i64, by_email: bool) -> DomainError {
    let seconds = (until - now).max(1) as u64;
    let minutes = seconds.div_ceil(60);
    let whose = if by_email { "for this e-mail address" } else { "from your address" };
    CredentialError::LoginLocked { whose, minutes, plural: if minutes == 1 { "" } else { "s" }, seconds }.into()
}

/// A new token for `account_id`: `{accountId}.{256 random bits, base64url}`.
fn new_account_token(account_id: &str) -> String {
    format!("{account_id}.{}", URL_SAFE_NO_PAD.encode(ids::random_bytes::<32>()))
}

/// The account id a token names, if it has the shape [`new_account_token`] makes.
pub(crate) fn token_account(token: &str) -> Option<&str> {
    let (account_id, secret) = token.split_once('.')?;
    let secret_ok = secret.len() == 43 && secret.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    (ids::is_object_id(account_id) && secret_ok).then_some(account_id)
}

/// A sign-up named an address that has an account: instead of saying so to whoever asked (account
/// discovery), the answer is generic and the address itself is told, at most as often as reset links
/// (throttled per address; a throttled or failed mail is only logged).
pub(crate) async fn address_taken(app: &App, email: &str) -> DomainError {
    if let Ok(MailAdmission { account: Some(_), mail: true }) = admit_mail_request(app, email, None).await {
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
    CredentialError::EmailInUse.into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::EmailVerificationConfig;
    use crate::ids::sha256_hex;
    use crate::model::{Account, EmailVerification, PasswordReset};
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
        let code = |r: Result<(), DomainError>| r.err().map(|e| e.code).unwrap_or("ok");
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
        let code = |r: Result<VerificationOutcome, DomainError>| match r {
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
