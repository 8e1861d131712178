//! Daily mail quotas: counters of the invite mails sent per organization and per recipient address from
//! that organization on one day, raised together in one transaction on the condition that neither is at
//! its limit. The recipient's counter is the organization's own, so no other organization can use up an
//! address's quota for its real inviters. Not model entities (written by UpdateItem only, like login
//! throttles); TTL removes them.

use super::{Db, TransactError, n, s};
use crate::error::ApiError;
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
pub fn quota_keys(organization: &str, recipient: &str, day: i64) -> [Key; 2] {
    let sender = &crate::ids::sha256_hex(organization)[..16];
    [
        Key { pk: org_partition(organization), sk: format!("MAILQUOTA#{day}") },
        Key { pk: format!("MAILQUOTA#{}", crate::ids::sha256_hex(recipient)), sk: format!("DAY#{day}#{sender}") },
    ]
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
) -> Result<Option<QuotaExceeded>, ApiError> {
    let day = now_seconds.div_euclid(86_400);
    let expires = (day + 2) * 86_400;
    let update = |key: &Key, limit: u32| {
        db.update(
            key,
            "SET entity = :entity, expiresAt = :expires ADD sent :one",
            Some("attribute_not_exists(sent) OR sent < :limit"),
            &[],
            vec![(":entity", s(MAIL_QUOTA_KIND)), (":expires", n(expires)), (":one", n(1)), (":limit", n(limit))],
        )
    };
    let [organization_key, recipient_key] = quota_keys(organization, recipient, day);
    match db.transact(vec![update(&organization_key, per_organization), update(&recipient_key, per_recipient)]).await {
        Ok(()) => Ok(None),
        Err(TransactError::ConditionFailed { failed }) if failed[0] => Ok(Some(QuotaExceeded::Organization)),
        Err(TransactError::ConditionFailed { .. }) => Ok(Some(QuotaExceeded::Recipient)),
        Err(TransactError::Api(err)) => Err(err),
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
) -> Result<bool, ApiError> {
    let day = now_seconds.div_euclid(86_400);
    let counter = db.update(
        &Key { pk: org_partition(&request.organization), sk: format!("MAILQUOTA#PLAN#{day}") },
        "SET entity = :entity, expiresAt = :expires ADD sent :one",
        Some("attribute_not_exists(sent) OR sent < :limit"),
        &[],
        vec![
            (":entity", s(MAIL_QUOTA_KIND)),
            (":expires", n((day + 2) * 86_400)),
            (":one", n(1)),
            (":limit", n(per_day)),
        ],
    );
    db.transact_if(vec![counter, db.put_new(request), db.put_new(entry)]).await
}

/// One page of the plan requests of every organization, newest first, after the request id `after`.
pub async fn plan_requests(
    db: &Db,
    after: Option<&str>,
    limit: usize,
) -> Result<super::org::QueryPage<crate::model::PlanRequest>, ApiError> {
    use crate::model::{PLAN_REQUEST_PARTITION, PLAN_REQUEST_PREFIX, PlanRequest};
    db.newest_first(PLAN_REQUEST_PARTITION, PLAN_REQUEST_PREFIX, after, limit, |r: &PlanRequest| r.id.as_str()).await
}
