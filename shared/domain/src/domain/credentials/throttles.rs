//! Throttles of the requests that send mail (reset and verification links), which nobody can turn against
//! the address's owner: an address from one client and a client are refused past their limits (429), as
//! logins are; the address as a whole has only a ceiling past which mail is suppressed (200, nothing sent),
//! never a refusal, set above what one client may ask, so the owner asking from elsewhere still gets the
//! link unless many clients flood one address at once.

use super::CredentialError;
use crate::app::App;
use crate::error::DomainError;
use crate::ids;
use crate::model::Account;
use crate::store::accounts::{self, LoginSubject};

/// Requests that mail a link (reset, verification) for one address from one client within
/// [`MAIL_REQUEST_WINDOW_SECONDS`]; the one that reaches the limit is still served, the next ones from that
/// client get 429 until the lock ends ([`MAIL_REQUEST_LOCK_SECONDS`], doubling up to a day).
pub const MAIL_REQUESTS_PER_EMAIL_AND_CLIENT: u32 = 3;

/// Requests that mail a link from one client (any addresses) within the window: then 429.
pub(crate) const MAIL_REQUESTS_PER_CLIENT: u32 = 100;

/// Links mailed to one address (from every client) within the window: past it, requests are answered as
/// usual and nothing is mailed. Above [`MAIL_REQUESTS_PER_EMAIL_AND_CLIENT`], so no single client reaches it.
pub const MAIL_REQUESTS_PER_EMAIL: u32 = 10;

pub(crate) const MAIL_REQUEST_WINDOW_SECONDS: i64 = 3600;

pub(crate) const MAIL_REQUEST_LOCK_SECONDS: i64 = 3600;

pub(super) fn throttled(until: i64, now: i64) -> DomainError {
    let seconds = (until - now).max(1) as u64;
    CredentialError::MailThrottled { minutes: seconds.div_ceil(60), seconds }.into()
}

/// What a request that may mail a link was admitted to.
pub(super) struct MailAdmission {
    /// The account of the address, if any (read in the same round trip as the throttles).
    pub account: Option<Account>,
    /// Whether to mail: `false` once the address's ceiling is reached (the request is answered as usual).
    pub mail: bool,
}

/// Counts a request that may mail `email` a link: per (address, client) and per client, 429 while either is
/// over its limit; per address, mail is suppressed over the ceiling. `client` is the caller's source IP;
/// without one (a sign-up's notice to a taken address) only the address's ceiling applies.
pub(super) async fn admit_mail_request(
    app: &App,
    email: &str,
    client: Option<&str>,
) -> Result<MailAdmission, DomainError> {
    let mut subjects = vec![LoginSubject::MailTo(email)];
    if let Some(client) = client {
        subjects.extend([LoginSubject::MailPair(email, client), LoginSubject::MailFrom(client)]);
    }
    let (guard, throttles) = accounts::throttle_reads(&app.db, email, &subjects).await?;
    let now = ids::now_seconds();
    // A locked pair or client answers 429, counting nothing; the request that reaches a limit is still
    // served (as are concurrent ones that read the throttle before the lock).
    if let Some(until) = throttles.iter().skip(1).filter_map(|t| t.locked_until(now)).max() {
        return Err(throttled(until, now));
    }
    // The address past its ceiling: answered as usual, nothing mailed, nothing counted.
    let mail = throttles[0].locked_until(now).is_none();
    if !mail {
        tracing::warn!("a link request past its address's ceiling: answered, nothing mailed");
    }
    let limit = |subject: &LoginSubject| match subject {
        LoginSubject::MailTo(_) => MAIL_REQUESTS_PER_EMAIL,
        LoginSubject::MailPair(..) => MAIL_REQUESTS_PER_EMAIL_AND_CLIENT,
        _ => MAIL_REQUESTS_PER_CLIENT,
    };
    let counts = subjects.iter().zip(&throttles).skip(usize::from(!mail)).map(|(subject, known)| {
        accounts::record_login_failure(
            &app.db,
            *subject,
            known,
            limit(subject),
            MAIL_REQUEST_WINDOW_SECONDS,
            MAIL_REQUEST_LOCK_SECONDS,
            now,
        )
    });
    futures_util::future::join_all(counts).await.into_iter().collect::<Result<Vec<_>, _>>()?;
    let account = match guard {
        Some(guard) => accounts::account(&app.db, &guard.account_id).await?,
        None => None,
    };
    Ok(MailAdmission { account, mail })
}
