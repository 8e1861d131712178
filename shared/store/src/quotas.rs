//! Daily mail quotas: counters of the invite mails sent per organization and per recipient address from
//! that organization on one day, raised together in one transaction on the condition that neither is at
//! its limit. The recipient's counter is the organization's own, so no other organization can use up an
//! address's quota for its real inviters. Not model entities (written by UpdateItem only, like login
//! throttles); TTL removes them.

use super::{Db, TransactError, n, s};
use crate::StoreError;
use crate::model::{Key, org_partition};

pub const MAIL_QUOTA_KIND: &str = "MailQuota";

/// Which quota a refused mail would have exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaExceeded {
    Organization,
    Recipient,
}

/// The counter keys of `day` (days since the epoch): the organization's (in its partition, so its purge
/// removes it) and the recipient's from that organization, keyed by hashes of the address and the
/// organization (it outlives the organization, until its TTL, and need not name anyone).
pub(crate) fn quota_keys(organization: &str, recipient: &str, day: i64) -> [Key; 2] {
    let sender = &crate::ids::sha256_hex(organization)[..16];
    [
        Key { pk: org_partition(organization), sk: format!("MAILQUOTA#{day}") },
        Key { pk: format!("MAILQUOTA#{}", crate::ids::sha256_hex(recipient)), sk: format!("DAY#{day}#{sender}") },
    ]
}

/// A transaction item that counts one more on the daily counter `key` of `day` (days since the epoch), on
/// the condition that it is below `limit`; the counter's TTL is the day after next.
fn count_today(db: &Db, key: &Key, limit: u32, day: i64) -> aws_sdk_dynamodb::types::TransactWriteItem {
    count_today_by(db, key, limit, day, 1)
}

/// Counts `count` (at most `limit`) on today's budget at `key`, on the condition that they fit under `limit`.
fn count_today_by(db: &Db, key: &Key, limit: u32, day: i64, count: u32) -> aws_sdk_dynamodb::types::TransactWriteItem {
    debug_assert!((1..=limit).contains(&count));
    db.update(
        key,
        "SET entity = :entity, expiresAt = :expires ADD sent :count",
        Some("attribute_not_exists(sent) OR sent <= :room"),
        &[],
        vec![
            (":entity", s(MAIL_QUOTA_KIND)),
            (":expires", n((day + 2) * 86_400)),
            (":count", n(count)),
            (":room", n(limit - count)),
        ],
    )
}

/// Counts `count` mails on `budget` of `day`, on the condition that they fit (a transaction's item).
pub(crate) fn count_on_budget(
    db: &Db,
    budget: &Budget,
    day: i64,
    count: u32,
) -> aws_sdk_dynamodb::types::TransactWriteItem {
    count_today_by(db, &budget.key, budget.limit, day, count)
}

/// Counts one mail from `organization` to `recipient` today, unless either quota is used up (then
/// nothing is counted). One round trip.
pub async fn count_mail(
    db: &Db,
    organization: &str,
    recipient: &str,
    per_organization: u32,
    per_recipient: u32,
    now_seconds: i64,
) -> Result<Option<QuotaExceeded>, StoreError> {
    let day = now_seconds.div_euclid(86_400);
    let [organization_key, recipient_key] = quota_keys(organization, recipient, day);
    let counts = vec![
        count_today(db, &organization_key, per_organization, day),
        count_today(db, &recipient_key, per_recipient, day),
    ];
    match db.transact(counts).await {
        Ok(()) => Ok(None),
        Err(TransactError::ConditionFailed { failed }) if failed[0] => Ok(Some(QuotaExceeded::Organization)),
        Err(TransactError::ConditionFailed { .. }) => Ok(Some(QuotaExceeded::Recipient)),
        Err(TransactError::Store(err)) => Err(err),
    }
}

/// Stores a plan request with its audit entry, counting it on the organization's daily counter of plan
/// requests (`MAILQUOTA#PLAN#{day}`: each request mails the operators) on the condition that fewer than
/// `per_day` were made today. `false`: the day's requests are used up (nothing written).
pub async fn store_plan_request(
    db: &Db,
    request: &crate::model::PlanRequest,
    entry: &crate::model::AuditEntry,
    per_day: u32,
    now_seconds: i64,
) -> Result<bool, StoreError> {
    let day = now_seconds.div_euclid(86_400);
    let key = Key { pk: org_partition(&request.organization), sk: format!("MAILQUOTA#PLAN#{day}") };
    let counter = count_today(db, &key, per_day, day);
    db.transact_if(vec![counter, db.put_new(request), db.put_new(entry)]).await
}

/// One page of the plan requests of every organization, newest first, after the request id `after`.
pub async fn plan_requests(
    db: &Db,
    after: Option<&str>,
    limit: usize,
) -> Result<super::org::QueryPage<crate::model::PlanRequest>, StoreError> {
    use crate::model::{PLAN_REQUEST_PARTITION, PLAN_REQUEST_PREFIX, PlanRequest};
    db.newest_first(PLAN_REQUEST_PARTITION, PLAN_REQUEST_PREFIX, after, limit, |r: &PlanRequest| r.id.as_str()).await
}

/// One daily mail budget: its counter's key and limit, and what it is called in the refusal.
#[derive(Debug, Clone)]
pub struct Budget {
    pub key: Key,
    pub limit: u32,
    pub name: &'static str,
}

/// The daily budgets of `day` (days since the epoch): the paying account's (`MAILQUOTA#ACCOUNT#{id}` /
/// `DAY#{day}`), the paying organization's (in its partition: `MAILQUOTA#ALL#{day}`) and each recipient's
/// (`MAILQUOTA#{SHA-256 of the address}` / `DAY#{day}#ALL`).
pub fn account_budget(account_id: &str, day: i64, limit: u32) -> Budget {
    Budget {
        key: Key { pk: format!("MAILQUOTA#ACCOUNT#{account_id}"), sk: format!("DAY#{day}") },
        limit,
        name: "account",
    }
}

pub fn organization_budget(organization: &str, day: i64, limit: u32) -> Budget {
    Budget {
        key: Key { pk: org_partition(organization), sk: format!("MAILQUOTA#ALL#{day}") },
        limit,
        name: "organization",
    }
}

pub fn recipient_budget(recipient: &str, day: i64, limit: u32) -> Budget {
    let pk = format!("MAILQUOTA#{}", crate::ids::sha256_hex(&recipient.trim().to_lowercase()));
    Budget { key: Key { pk, sk: format!("DAY#{day}#ALL") }, limit, name: "recipient" }
}

/// What admitting one mail found.
#[derive(Debug, PartialEq)]
pub enum MailAdmission {
    /// Counted on every budget: send it.
    Admitted,
    /// These recipients (indexes of the checked ones) are marked undeliverable: nothing was counted.
    Undeliverable(Vec<usize>),
    /// This budget is used up for today: nothing was counted.
    OverBudget(&'static str),
    /// The sending claimed with the admission was claimed before (a message delivered again): nothing was
    /// counted.
    ClaimedBefore,
}

/// Admits one mail in one transaction: each of `checked` (recipients) must bear no undeliverable mark, and
/// each budget is raised by one on the condition that it is below its limit; with `claim` (the drainer's,
/// [`crate::mail::sending_claim`]), its message's sending is claimed in the same transaction. One round
/// trip.
pub async fn admit_mail(
    db: &Db,
    claim: Option<&crate::model::MailSending>,
    checked: &[String],
    budgets: &[Budget],
    now_seconds: i64,
) -> Result<MailAdmission, StoreError> {
    let day = now_seconds.div_euclid(86_400);
    let mut items: Vec<_> = claim.iter().map(|claim| db.put_new(*claim)).collect();
    let claimed = items.len();
    items.extend(checked.iter().map(|address| {
        let key = Key::undeliverable_address(&address.trim().to_lowercase());
        db.condition_check(&key, "attribute_not_exists(PK)", Vec::new())
    }));
    items.extend(budgets.iter().map(|budget| count_today(db, &budget.key, budget.limit, day)));
    match db.transact(items).await {
        Ok(()) => Ok(MailAdmission::Admitted),
        Err(TransactError::ConditionFailed { failed }) => {
            if claimed == 1 && failed[0] {
                return Ok(MailAdmission::ClaimedBefore);
            }
            let failed = &failed[claimed..];
            let marked: Vec<usize> = (0..checked.len()).filter(|&i| failed[i]).collect();
            if !marked.is_empty() {
                return Ok(MailAdmission::Undeliverable(marked));
            }
            let over = budgets.iter().enumerate().find(|(i, _)| failed[checked.len() + i]);
            Ok(MailAdmission::OverBudget(over.map_or("mail", |(_, budget)| budget.name)))
        }
        Err(TransactError::Store(err)) => Err(err),
    }
}

/// One mail of a batch to admit: the recipients checked for undeliverable marks and the budgets it counts on.
pub struct MailToAdmit {
    pub checked: Vec<String>,
    pub budgets: Vec<Budget>,
}

impl MailToAdmit {
    /// The items admitting it takes, as keys: a batch's transaction takes each distinct one once.
    pub fn item_keys(&self) -> Vec<Key> {
        let addresses = self.checked.iter().map(|a| Key::undeliverable_address(&a.trim().to_lowercase()));
        addresses.chain(self.budgets.iter().map(|b| b.key.clone())).collect()
    }
}

/// Admits a batch of mails in one transaction (kept within [`crate::TRANSACTION_LIMIT`] items by the caller,
/// [`MailToAdmit::item_keys`]): no checked address may bear an undeliverable mark, and each budget is raised by the
/// number of the batch's mails that count on it, on the condition that they all fit. All or nothing: when a
/// condition fails nothing is counted and the answer is `false`, and the caller admits the mails one by one
/// ([`admit_mail`]) to learn which cannot go. One round trip.
pub async fn admit_mails(db: &Db, mails: &[&MailToAdmit], now_seconds: i64) -> Result<bool, StoreError> {
    let day = now_seconds.div_euclid(86_400);
    let mut addresses = std::collections::BTreeSet::new();
    let mut counts: std::collections::BTreeMap<(String, String), (u32, u32)> = Default::default();
    for mail in mails {
        addresses.extend(mail.checked.iter().map(|a| a.trim().to_lowercase()));
        for budget in &mail.budgets {
            counts.entry((budget.key.pk.clone(), budget.key.sk.clone())).or_insert((0, budget.limit)).0 += 1;
        }
    }
    if counts.values().any(|(count, limit)| count > limit) {
        return Ok(false);
    }
    let mut items: Vec<_> = addresses
        .iter()
        .map(|address| db.condition_check(&Key::undeliverable_address(address), "attribute_not_exists(PK)", Vec::new()))
        .collect();
    items.extend(
        counts.into_iter().map(|((pk, sk), (count, limit))| count_today_by(db, &Key { pk, sk }, limit, day, count)),
    );
    match db.transact(items).await {
        Ok(()) => Ok(true),
        Err(TransactError::ConditionFailed { .. }) => Ok(false),
        Err(TransactError::Store(err)) => Err(err),
    }
}
