//! Idempotency records (see `crate::idempotency`): one conditional PutItem claims a key, a GetItem reads
//! what another request recorded under it, and a PutItem conditioned on the claim records the outcome.

use super::{Db, n, s, to_item};
use crate::StoreError;
use crate::model::{Entity, IdempotencyRecord, Key};

/// What claiming a key found.
pub enum Claimed {
    /// The key is ours: do the work.
    Ours,
    /// Another request has it (in progress or completed).
    Taken(IdempotencyRecord),
}

/// Claims `record`'s key: only if it is free, expired (TTL deletes lazily), released by a failed request,
/// or an in-progress claim whose lease has run out.
pub async fn claim(db: &Db, record: &IdempotencyRecord, now_millis: i64) -> Result<Claimed, StoreError> {
    for _ in 0..3 {
        let result = db
            .client
            .put_item()
            .table_name(&db.table)
            .set_item(Some(to_item(record)))
            .condition_expression(
                "attribute_not_exists(PK) OR expiresAt <= :nowSeconds OR #state = :released \
                 OR (#state = :inProgress AND leaseUntil <= :now)",
            )
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":nowSeconds", n(now_millis / 1000))
            .expression_attribute_values(":now", n(now_millis))
            .expression_attribute_values(":released", s("released"))
            .expression_attribute_values(":inProgress", s("inProgress"))
            .send()
            .await;
        match result {
            Ok(_) => return Ok(Claimed::Ours),
            Err(e) if e.as_service_error().is_some_and(|se| se.is_conditional_check_failed_exception()) => {}
            Err(e) => return Err(StoreError::sdk("PutItem", e)),
        }
        // Gone again between the two calls (expired, deleted by TTL): claim anew.
        if let Some(existing) = read(db, &Entity::key(record)).await? {
            return Ok(Claimed::Taken(existing));
        }
    }
    Err(StoreError::Unavailable)
}

/// The record under `key`, if any.
pub async fn read(db: &Db, key: &Key) -> Result<Option<IdempotencyRecord>, StoreError> {
    db.get(key).await
}

/// Replaces the claimed record by `record` (completed or released), if the claim is still ours.
pub async fn settle(db: &Db, record: &IdempotencyRecord) -> Result<bool, StoreError> {
    db.put_if(record, "claim = :claim", vec![(":claim", s(&record.claim))]).await
}
