//! The daily invite job's access patterns: instance-wide, through the sparse invite indexes (never a scan).

use super::org::QueryPage;
use super::{Db, from_item, n, s};
use crate::error::{ApiError, sdk_error};
use crate::model::{AuditEntry, INVITE_SCHEDULE_PARTITION, Invite, Key};

pub const INVITES_TO_REMIND_INDEX: &str = "InvitesToRemind";
pub const INVITES_TO_CLEAN_INDEX: &str = "InvitesToClean";

/// One page of invites from `index` whose due time (`attribute`, epoch seconds) is at or before `now`,
/// after the key `start` of the previous page.
async fn due(
    db: &Db,
    index: &str,
    partition: &str,
    attribute: &str,
    now: i64,
    start: Option<super::Item>,
) -> Result<(QueryPage<Invite>, Option<super::Item>), ApiError> {
    let output = db
        .client
        .query()
        .table_name(&db.table)
        .index_name(index)
        .key_condition_expression(format!("{partition} = :p AND {attribute} <= :now"))
        .expression_attribute_values(":p", s(INVITE_SCHEDULE_PARTITION))
        .expression_attribute_values(":now", n(now))
        .set_exclusive_start_key(start)
        .limit(100)
        .send()
        .await
        .map_err(|e| sdk_error("Query", e))?;
    let next = output.last_evaluated_key;
    let items = output.items.unwrap_or_default().into_iter().map(from_item).collect::<Result<_, _>>()?;
    Ok((QueryPage { items, more: next.is_some() }, next))
}

pub async fn due_for_reminder(
    db: &Db,
    now: i64,
    start: Option<super::Item>,
) -> Result<(QueryPage<Invite>, Option<super::Item>), ApiError> {
    due(db, INVITES_TO_REMIND_INDEX, "remindPartition", "remindAt", now, start).await
}

pub async fn due_for_cleanup(
    db: &Db,
    now: i64,
    start: Option<super::Item>,
) -> Result<(QueryPage<Invite>, Option<super::Item>), ApiError> {
    due(db, INVITES_TO_CLEAN_INDEX, "cleanupPartition", "cleanupAt", now, start).await
}

/// Marks an invite as reminded (dropping it from the reminder index), if it is unchanged since read, with
/// the reminder's audit entry (none when it only leaves the index, having ended).
pub async fn mark_reminded(db: &Db, invite: &Invite, entry: Option<&AuditEntry>) -> Result<bool, ApiError> {
    let mark = db.update(
        &Key::invite(&invite.organization, &invite.id),
        "SET reminded = :t REMOVE remindPartition, remindAt",
        Some("nonce = :nonce"),
        &[],
        vec![(":t", aws_sdk_dynamodb::types::AttributeValue::Bool(true)), (":nonce", s(&invite.nonce))],
    );
    db.transact_if(std::iter::once(mark).chain(entry.map(|e| db.put_new(e))).collect()).await
}

/// Deletes an invite that is due for cleanup, if still due (a resend may have renewed it), with its
/// e-mail guard if that still points to it, and writes the deletion's audit entry.
pub async fn delete_due_invite(db: &Db, invite: &Invite, now: i64, entry: &AuditEntry) -> Result<bool, ApiError> {
    let items = vec![
        db.delete_with_values(
            &Key::invite(&invite.organization, &invite.id),
            Some("cleanupAt <= :now"),
            vec![(":now", n(now))],
        ),
        db.delete_with_values(
            &Key::invite_email_guard(&invite.organization, &invite.email),
            Some("attribute_not_exists(PK) OR inviteId = :id"),
            vec![(":id", s(&invite.id))],
        ),
        db.put_new(entry),
    ];
    match db.transact(items).await {
        Ok(()) => Ok(true),
        // The address was invited again after this invite expired: its guard is the new invite's, so
        // this one goes alone.
        Err(super::TransactError::ConditionFailed { failed }) if failed.first() == Some(&false) => {
            let alone = vec![
                db.delete_with_values(
                    &Key::invite(&invite.organization, &invite.id),
                    Some("cleanupAt <= :now"),
                    vec![(":now", n(now))],
                ),
                db.put_new(entry),
            ];
            match db.transact(alone).await {
                Ok(()) => Ok(true),
                Err(super::TransactError::ConditionFailed { .. }) => Ok(false),
                Err(super::TransactError::Api(err)) => Err(err),
            }
        }
        Err(super::TransactError::ConditionFailed { .. }) => Ok(false),
        Err(super::TransactError::Api(err)) => Err(err),
    }
}

pub const ORGANIZATIONS_BEING_DELETED_INDEX: &str = "OrganizationsBeingDeleted";

/// The ids of organizations whose deletion was accepted and whose purge has not finished, oldest first.
pub async fn organizations_being_deleted(db: &Db) -> Result<Vec<String>, ApiError> {
    let mut ids = Vec::new();
    let mut start = None;
    loop {
        let output = db
            .client
            .query()
            .table_name(&db.table)
            .index_name(ORGANIZATIONS_BEING_DELETED_INDEX)
            .key_condition_expression("deletionPartition = :p")
            .expression_attribute_values(":p", s(crate::model::DELETION_PARTITION))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| sdk_error("Query", e))?;
        for item in output.items.unwrap_or_default() {
            if let Some(aws_sdk_dynamodb::types::AttributeValue::S(pk)) = item.get("PK")
                && let Some(id) = pk.strip_prefix("ORG#")
            {
                ids.push(id.to_owned());
            }
        }
        start = output.last_evaluated_key;
        if start.is_none() {
            return Ok(ids);
        }
    }
}
