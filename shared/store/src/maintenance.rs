//! The scheduled jobs' access patterns: instance-wide, through the sparse invite and plan-notice indexes (never
//! a scan), and the jobs' leases.

use super::org::QueryPage;
use super::{Db, from_item, n, s};
use crate::StoreError;
use crate::model::{
    AuditEntry, Entity, Invite, JobLease, Key, Organization, PLAN_NOTICE_PARTITION, invite_schedule_partitions,
};

/// Takes `lease` (one conditional PutItem) unless another run's lease of the job still runs at `now`:
/// `false` when it does (nothing written).
pub async fn take_job_lease(db: &Db, lease: &JobLease, now: i64) -> Result<bool, StoreError> {
    db.put_if(lease, "attribute_not_exists(PK) OR leaseUntil <= :now", vec![(":now", n(now))]).await
}

/// Gives `lease` back (one conditional DeleteItem), unless another run took it over meanwhile (after it
/// lapsed), whose lease then stays.
pub async fn release_job_lease(db: &Db, lease: &JobLease) -> Result<(), StoreError> {
    db.delete_if(&lease.key(), "leaseHolder = :holder", vec![(":holder", s(&lease.lease_holder))]).await.map(|_| ())
}

pub(crate) const INVITES_TO_REMIND_INDEX: &str = "InvitesToRemind";
pub(crate) const INVITES_TO_CLEAN_INDEX: &str = "InvitesToClean";

/// Where the next page of a sweep starts: for each index partition with more to read, its last evaluated
/// key (opaque outside the store).
#[derive(Debug, Clone)]
pub struct Resume(Vec<(String, super::Item)>);

/// Items a sweep's page holds at most, shared evenly by the index partitions it reads (25 from each of the
/// eight invite shards).
pub const SWEEP_PAGE_ITEMS: usize = 200;

/// One page of items from `index`, whose partition key `partition` takes the values `values`, with a due
/// time (`due_attribute`, epoch seconds) at or before `now`: one Query per partition, all at once (each
/// after the key `start` left it at; a resumed page reads only the partitions with more).
async fn due<E: crate::model::Entity>(
    db: &Db,
    index: &str,
    (partition, values): (&str, Vec<String>),
    attribute: &str,
    now: i64,
    start: Option<Resume>,
) -> Result<(QueryPage<E>, Option<Resume>), StoreError> {
    let per_partition = i32::try_from(SWEEP_PAGE_ITEMS / values.len().max(1)).unwrap_or(1).max(1);
    let starts = match start {
        Some(Resume(left)) => left.into_iter().map(|(value, key)| (value, Some(key))).collect(),
        None => values.into_iter().map(|value| (value, None)).collect::<Vec<_>>(),
    };
    let pages = futures_util::future::try_join_all(starts.into_iter().map(|(value, key)| async move {
        let output = db
            .client
            .query()
            .table_name(&db.table)
            .index_name(index)
            .key_condition_expression(format!("{partition} = :p AND {attribute} <= :now"))
            .expression_attribute_values(":p", s(&value))
            .expression_attribute_values(":now", n(now))
            .set_exclusive_start_key(key)
            .limit(per_partition)
            .send()
            .await
            .map_err(|e| StoreError::sdk("Query", e))?;
        Ok::<_, StoreError>((value, output))
    }))
    .await?;
    let mut items = Vec::new();
    let mut left = Vec::new();
    for (value, output) in pages {
        if let Some(key) = output.last_evaluated_key {
            left.push((value, key));
        }
        for item in output.items.unwrap_or_default() {
            items.push(from_item(item)?);
        }
    }
    let next = (!left.is_empty()).then_some(Resume(left));
    Ok((QueryPage { items, more: next.is_some() }, next))
}

pub async fn due_for_reminder(
    db: &Db,
    now: i64,
    start: Option<Resume>,
) -> Result<(QueryPage<Invite>, Option<Resume>), StoreError> {
    due(db, INVITES_TO_REMIND_INDEX, ("remindPartition", invite_schedule_partitions()), "remindAt", now, start).await
}

pub async fn due_for_cleanup(
    db: &Db,
    now: i64,
    start: Option<Resume>,
) -> Result<(QueryPage<Invite>, Option<Resume>), StoreError> {
    due(db, INVITES_TO_CLEAN_INDEX, ("cleanupPartition", invite_schedule_partitions()), "cleanupAt", now, start).await
}

/// Marks an invite as reminded (dropping it from the reminder index), if it is unchanged since read, with
/// the reminder's audit entry (none when it only leaves the index, having ended).
pub async fn mark_reminded(db: &Db, invite: &Invite, entry: Option<&AuditEntry>) -> Result<bool, StoreError> {
    let mark = db.update(
        &Key::invite(&invite.organization, &invite.id),
        "SET reminded = :t REMOVE remindPartition, remindAt",
        Some("nonce = :nonce"),
        &[],
        vec![(":t", aws_sdk_dynamodb::types::AttributeValue::Bool(true)), (":nonce", s(&invite.nonce))],
    );
    db.transact_if(std::iter::once(mark).chain(entry.map(|e| db.put_new(e))).collect()).await
}

/// Deletes an invite that is due for cleanup, if still due (a resend may have renewed it) and still ended or
/// pending as read (an accept meanwhile makes it another invite, whose entry would say otherwise), with its
/// e-mail guard if that still points to it, and writes the deletion's audit entry.
pub async fn delete_due_invite(db: &Db, invite: &Invite, now: i64, entry: &AuditEntry) -> Result<bool, StoreError> {
    let (as_read, mut values) = match invite.ended {
        Some(ended) => ("cleanupAt <= :now AND ended = :ended", vec![(":ended", n(ended))]),
        None => ("cleanupAt <= :now AND attribute_not_exists(ended)", Vec::new()),
    };
    values.push((":now", n(now)));
    let items = vec![
        db.delete_with_values(&Key::invite(&invite.organization, &invite.id), Some(as_read), values.clone()),
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
                db.delete_with_values(&Key::invite(&invite.organization, &invite.id), Some(as_read), values),
                db.put_new(entry),
            ];
            match db.transact(alone).await {
                Ok(()) => Ok(true),
                Err(super::TransactError::ConditionFailed { .. }) => Ok(false),
                Err(super::TransactError::Store(err)) => Err(err),
            }
        }
        Err(super::TransactError::ConditionFailed { .. }) => Ok(false),
        Err(super::TransactError::Store(err)) => Err(err),
    }
}

pub(crate) const PLAN_NOTICES_INDEX: &str = "PlanNotices";

/// One page of organizations whose next plan expiry notice is due at `now` (epoch seconds).
pub async fn due_for_plan_notice(
    db: &Db,
    now: i64,
    start: Option<Resume>,
) -> Result<(QueryPage<Organization>, Option<Resume>), StoreError> {
    due(
        db,
        PLAN_NOTICES_INDEX,
        ("planNoticePartition", vec![PLAN_NOTICE_PARTITION.to_owned()]),
        "planNoticeAt",
        now,
        start,
    )
    .await
}

/// Records that the plan notice of `stage` was mailed (so the index offers the next one, or none), with its
/// audit entry; conditioned on the organization's `paidUntil` and stage being those read and on it not being
/// deleted. `false`: it changed meanwhile.
pub async fn mark_plan_notice(
    db: &Db,
    organization: &Organization,
    stage: u8,
    entry: &AuditEntry,
) -> Result<bool, StoreError> {
    let after = Organization { plan_notice_stage: stage, ..organization.clone() };
    let (expression, mut values) = match after.next_plan_notice_at() {
        Some(at) => ("SET planNoticeStage = :stage, planNoticeAt = :at", vec![(":at", n(at))]),
        None => ("SET planNoticeStage = :stage REMOVE planNoticeAt, planNoticePartition", Vec::new()),
    };
    values.extend([
        (":stage", n(stage)),
        (":read", n(organization.plan_notice_stage)),
        (":paid", n(organization.paid_until.unwrap_or_default())),
    ]);
    let stage_read = if organization.plan_notice_stage == 0 {
        "(attribute_not_exists(planNoticeStage) OR planNoticeStage = :read)"
    } else {
        "planNoticeStage = :read"
    };
    let update = db.update(
        &Key::organization(&organization.id),
        expression,
        Some(&format!("attribute_not_exists(deletionRequestedAt) AND paidUntil = :paid AND {stage_read}")),
        &[],
        values,
    );
    db.transact_if(vec![update, db.put_new(entry)]).await
}

pub(crate) const ORGANIZATIONS_BEING_DELETED_INDEX: &str = "OrganizationsBeingDeleted";

/// The ids of organizations whose deletion was accepted and whose purge has not finished, oldest first.
pub async fn organizations_being_deleted(db: &Db) -> Result<Vec<String>, StoreError> {
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
            .map_err(|e| StoreError::sdk("Query", e))?;
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
