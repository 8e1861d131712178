//! Throttles of the requests that send mail (reset and verification links): per address and per client.

use super::*;

/// Requests that mail a link (reset, verification): this many per address, and per client, within
/// [`MAIL_REQUEST_WINDOW_SECONDS`]; the one that reaches the limit is still served, the next ones get 429
/// until [`MAIL_REQUEST_LOCK_SECONDS`] have passed.
pub const MAIL_REQUESTS_PER_EMAIL: u32 = 3;

pub const MAIL_REQUESTS_PER_CLIENT: u32 = 100;

pub const MAIL_REQUEST_WINDOW_SECONDS: i64 = 3600;

pub const MAIL_REQUEST_LOCK_SECONDS: i64 = 3600;

pub(super) fn throttled(until: i64, now: i64) -> ApiError {
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
pub(super) async fn admit_mail_request(
    app: &App,
    email: &str,
    client: Option<&str>,
) -> Result<Option<Account>, ApiError> {
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
