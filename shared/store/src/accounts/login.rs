//! Login reads and the per-address and per-client login throttles.

use crate::StoreError;
use crate::model::{Account, EmailGuard, Key};
use crate::{Db, from_item, n, s};

/// Whose attempts a [`LoginThrottle`] counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginSubject<'a> {
    /// Failed logins (and wrong current passwords) of an e-mail address (whether or not an account has
    /// it, so a lock tells nothing about that).
    Email(&'a str),
    /// Failed logins from the client's source IP address.
    Client(&'a str),
    /// Failed logins of an e-mail address from one client (so guessing from one place locks nobody else
    /// out, the address's owner included).
    Pair(&'a str, &'a str),
    /// Requests that mail a link to an e-mail address (password reset, verification), counted whether or
    /// not an account has it: the address-wide ceiling, past which mail is only suppressed.
    MailTo(&'a str),
    /// Requests that mail a link to an e-mail address from one client (refused past the limit: nobody else
    /// is, the address's owner elsewhere included).
    MailPair(&'a str, &'a str),
    /// Requests that mail a link, from the client's source IP address.
    MailFrom(&'a str),
}

impl LoginSubject<'_> {
    pub(crate) fn key(&self) -> Key {
        let pk = match self {
            LoginSubject::Email(email) => format!("LOGIN#EMAIL#{email}"),
            LoginSubject::Client(address) => format!("LOGIN#CLIENT#{address}"),
            LoginSubject::Pair(email, address) => format!("LOGIN#PAIR#{email}#{address}"),
            LoginSubject::MailTo(email) => format!("LOGIN#MAILTO#{email}"),
            LoginSubject::MailPair(email, address) => format!("LOGIN#MAILPAIR#{email}#{address}"),
            LoginSubject::MailFrom(address) => format!("LOGIN#MAILFROM#{address}"),
        };
        Key { pk, sk: "LOGIN".into() }
    }
}

/// Failed logins of one e-mail address or client: `failures` within the window ending at `windowEnds`,
/// and a lock until `lockedUntil` (epoch seconds). Written only with atomic UpdateItems; TTL removes it.
#[derive(Debug, Clone, Default, serde::Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LoginThrottle {
    #[serde(default)]
    pub failures: u32,
    #[serde(default)]
    pub window_ends: i64,
    #[serde(default)]
    pub locked_until: Option<i64>,
    /// Locks so far (within a day of the last): each lasts twice as long as the one before.
    #[serde(default)]
    pub lock_count: u32,
}

impl LoginThrottle {
    pub fn locked_until(&self, now: i64) -> Option<i64> {
        self.locked_until.filter(|until| *until > now)
    }
}

pub const LOGIN_THROTTLE_KIND: &str = "LoginThrottle";

/// What login reads first, in one BatchGetItem: the e-mail guard and the throttles of the e-mail address
/// and of the client. The account itself follows with a GetItem once the guard names it.
pub async fn login_reads(
    db: &Db,
    email: &str,
    by_email: LoginSubject<'_>,
    by_client: Option<LoginSubject<'_>>,
) -> Result<LoginReads, StoreError> {
    let subjects: Vec<LoginSubject> = std::iter::once(by_email).chain(by_client).collect();
    let domain_key = Key::verified_domain(crate::model::email_domain(email));
    let (guard, mut throttles, mut extra) = batch_reads(db, email, &subjects, Some(&domain_key)).await?;
    let by_client = by_client.map(|_| throttles.pop().unwrap_or_default());
    let verified_domain = extra.take().map(from_item::<crate::model::VerifiedDomain>).transpose()?;
    Ok(LoginReads { guard, by_email: throttles.pop().unwrap_or_default(), by_client, verified_domain })
}

/// What a login reads first, in one BatchGetItem.
pub struct LoginReads {
    pub guard: Option<EmailGuard>,
    pub by_email: LoginThrottle,
    pub by_client: Option<LoginThrottle>,
    /// The record of the address's domain, when an organization verified it.
    pub verified_domain: Option<crate::model::VerifiedDomain>,
}

/// The e-mail guard of `email` and the throttle of each of `subjects` (in their order; a throttle never
/// written is the default), in one BatchGetItem.
pub async fn throttle_reads(
    db: &Db,
    email: &str,
    subjects: &[LoginSubject<'_>],
) -> Result<(Option<EmailGuard>, Vec<LoginThrottle>), StoreError> {
    let (guard, throttles, _) = batch_reads(db, email, subjects, None).await?;
    Ok((guard, throttles))
}

/// The guard, the throttles and the `extra` item, in one BatchGetItem.
async fn batch_reads(
    db: &Db,
    email: &str,
    subjects: &[LoginSubject<'_>],
    extra: Option<&Key>,
) -> Result<(Option<EmailGuard>, Vec<LoginThrottle>, Option<crate::Item>), StoreError> {
    let guard_key = Key::email_guard(email);
    let mut keys = vec![guard_key.clone()];
    keys.extend(subjects.iter().map(LoginSubject::key));
    keys.extend(extra.cloned());
    let mut items = db.batch_get(&keys).await?;
    let guard = items.remove(&guard_key).map(from_item::<EmailGuard>).transpose()?;
    let throttles = subjects
        .iter()
        .map(|subject| {
            items
                .remove(&subject.key())
                .map(|i| serde_dynamo::from_item(i).map_err(|_| StoreError::Unexpected))
                .transpose()
                .map(Option::unwrap_or_default)
        })
        .collect::<Result<_, _>>()?;
    let extra = extra.and_then(|key| items.remove(key));
    Ok((guard, throttles, extra))
}

/// Counts a failed login of `subject` (`known`: its throttle as read before) and locks it for
/// `lock_seconds` when this failure is the `limit`-th within `window_seconds`. Race-free: every write is
/// one conditional UpdateItem (ADD within an open window, or a new window when it has ended; neither while
/// locked), so concurrent failures are all counted, exactly one of them sets the lock, and one that comes
/// after the lock is answered with it. Returns the lock's end if the subject is locked now. One round trip,
/// two when locking (more only when a concurrent failure changed the window meanwhile).
pub async fn record_login_failure(
    db: &Db,
    subject: LoginSubject<'_>,
    known: &LoginThrottle,
    limit: u32,
    window_seconds: i64,
    lock_seconds: i64,
    now: i64,
) -> Result<Option<i64>, StoreError> {
    use aws_sdk_dynamodb::types::{ReturnValue, ReturnValuesOnConditionCheckFailure};
    let key = subject.key();
    // Kept a day past the longest it can matter, then TTL removes it.
    let expires_at = now + window_seconds.max(lock_seconds) + 24 * 3600;
    let not_locked = "(attribute_not_exists(lockedUntil) OR lockedUntil <= :now)";
    let decode = |item: Option<&crate::Item>| -> LoginThrottle {
        item.and_then(|i| serde_dynamo::from_item(i.clone()).ok()).unwrap_or_default()
    };
    let mut current = known.clone();
    let mut counted: Option<LoginThrottle> = None;
    for _ in 0..4 {
        let update = db.client.update_item().table_name(&db.table).set_key(Some(crate::key_attributes(&key)));
        let update = if current.window_ends > now {
            update
                .update_expression("ADD failures :one")
                .condition_expression(format!("windowEnds > :now AND {not_locked}"))
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":now", n(now))
        } else {
            update
                .update_expression("SET failures = :one, windowEnds = :end, expiresAt = :expires, entity = :entity")
                .condition_expression(format!(
                    "(attribute_not_exists(windowEnds) OR windowEnds <= :now) AND {not_locked}"
                ))
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":now", n(now))
                .expression_attribute_values(":end", n(now + window_seconds))
                .expression_attribute_values(":expires", n(expires_at))
                .expression_attribute_values(":entity", s(LOGIN_THROTTLE_KIND))
        };
        let result = update
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(output) => {
                counted = Some(decode(output.attributes.as_ref()));
                break;
            }
            Err(e) => match e.as_service_error() {
                // Another failure changed the item meanwhile: it is locked now, or the window opened or ended.
                Some(aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(
                    failed,
                )) => {
                    current = decode(failed.item());
                    if let Some(until) = current.locked_until(now) {
                        return Ok(Some(until));
                    }
                }
                _ => return Err(crate::StoreError::sdk("UpdateItem", e)),
            },
        }
    }
    let Some(counted) = counted else {
        return Err(StoreError::Unavailable);
    };
    if counted.failures < limit {
        return Ok(None);
    }
    // The limit is reached: lock, and start the next window afresh when the lock ends. Only one of
    // concurrent failures passes the condition; the others find it locked already.
    let until = now + lock_duration(lock_seconds, counted.lock_count);
    let locked = db
        .client
        .update_item()
        .table_name(&db.table)
        .set_key(Some(crate::key_attributes(&key)))
        .update_expression(
            "SET lockedUntil = :until, failures = :zero, windowEnds = :now, expiresAt = :expires ADD lockCount :one",
        )
        .condition_expression(format!("failures >= :limit AND {not_locked}"))
        .expression_attribute_values(":until", n(until))
        .expression_attribute_values(":zero", n(0))
        .expression_attribute_values(":now", n(now))
        .expression_attribute_values(":limit", n(limit))
        .expression_attribute_values(":expires", n(until + 24 * 3600))
        .expression_attribute_values(":one", n(1))
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .send()
        .await;
    match locked {
        Ok(_) => Ok(Some(until)),
        Err(e) => match e.as_service_error() {
            Some(aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(
                failed,
            )) => Ok(Some(decode(failed.item()).locked_until(now).unwrap_or(until))),
            _ => Err(crate::StoreError::sdk("UpdateItem", e)),
        },
    }
}

/// The `locks_before + 1`-th lock's length: `base_seconds`, doubling with each lock before it, at most a day.
pub(crate) fn lock_duration(base_seconds: i64, locks_before: u32) -> i64 {
    let longest = base_seconds.max(24 * 3600);
    base_seconds.saturating_mul(1 << locks_before.min(16)).min(longest)
}

/// A correct password clears the e-mail address's failures (not while it is locked: a lock ends on time).
pub async fn clear_login_failures(db: &Db, subject: LoginSubject<'_>, now: i64) -> Result<(), StoreError> {
    let result = db
        .client
        .delete_item()
        .table_name(&db.table)
        .set_key(Some(crate::key_attributes(&subject.key())))
        .condition_expression("attribute_not_exists(lockedUntil) OR lockedUntil <= :now")
        .expression_attribute_values(":now", n(now))
        .send()
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(e) if e.as_service_error().is_some_and(|se| se.is_conditional_check_failed_exception()) => Ok(()),
        Err(e) => Err(crate::StoreError::sdk("DeleteItem", e)),
    }
}

/// The account and its login throttle (for checking a current password), in one BatchGetItem.
pub async fn account_and_throttle(
    db: &Db,
    account_id: &str,
    email: &str,
) -> Result<(Option<Account>, LoginThrottle), StoreError> {
    let account_key = Key::account(account_id);
    let throttle_key = LoginSubject::Email(email).key();
    let mut items = db.batch_get(&[account_key.clone(), throttle_key.clone()]).await?;
    let account = items.remove(&account_key).map(from_item::<Account>).transpose()?;
    let throttle = match items.remove(&throttle_key) {
        Some(item) => serde_dynamo::from_item(item).map_err(|_| StoreError::Unexpected)?,
        None => LoginThrottle::default(),
    };
    Ok((account, throttle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_double_up_to_a_day() {
        assert_eq!((0..4).map(|n| lock_duration(900, n)).collect::<Vec<_>>(), [900, 1800, 3600, 7200]);
        assert_eq!(lock_duration(900, 7), 24 * 3600);
        assert_eq!(lock_duration(900, u32::MAX), 24 * 3600);
        assert_eq!(
            lock_duration(2 * 24 * 3600, 3),
            2 * 24 * 3600,
            "a configured lock longer than a day stays as it is"
        );
    }
}
