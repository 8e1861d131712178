//! The single-table store. `Db` holds the generic item plumbing; the modules hold the access patterns
//! listed in docs/data-model.md:
//! - [`accounts`]: instance-wide items (accounts, e-mail guards) and creating an organization;
//! - [`org`]: everything inside one organization, reachable only through an [`org::OrgStore`], which
//!   carries the organization id of the authenticated caller and builds every key from it.

pub mod accounts;
pub mod aws_calls;
pub mod declared_actions;
pub mod errors;
pub mod idempotency;
mod items;
pub mod joins;
pub mod mail;
pub mod maintenance;
pub mod org;
pub mod quotas;
pub mod reads;
pub mod request_metrics;
pub mod stream;
pub mod user_writes;

// The core's modules under the paths the store's code names them by.
use accounts_core::{background, ids, model, operations};

pub use errors::StoreError;
use items::audit_write_capacity;
pub use items::{Item, from_item, key_attributes, key_of, n, s, to_item};

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, KeysAndAttributes, Put, TransactWriteItem, Update,
};

use crate::model::{Entity, Key};

/// DynamoDB's limits on one BatchGetItem and one TransactWriteItems request.
pub(crate) const BATCH_GET_LIMIT: usize = 100;
pub const TRANSACTION_LIMIT: usize = 100;

/// How often a transaction cancelled by a concurrent conflicting transaction is sent.
const TRANSACT_ATTEMPTS: u32 = 8;

/// Exponential backoff (10 ms, 20 ms, ... up to 640 ms) with full jitter, so racing requests spread out.
fn conflict_backoff(attempt: u32) -> std::time::Duration {
    let ceiling = 10u64 << attempt.min(6);
    let jitter = u64::from_le_bytes(ids::random_bytes::<8>()) % ceiling;
    std::time::Duration::from_millis(ceiling / 2 + jitter / 2 + 1)
}

/// The table, reached only through this crate's methods: the client stays inside the store, so every
/// access goes through a typed, organization-scoped function with its conditions.
pub struct Db {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

/// Why a transaction did not commit.
#[derive(Debug)]
pub(crate) enum TransactError {
    /// A condition failed; `failed[i]` is true where the condition of item `i` did not hold.
    ConditionFailed {
        failed: Vec<bool>,
    },
    Store(StoreError),
}

impl From<StoreError> for TransactError {
    fn from(err: StoreError) -> Self {
        TransactError::Store(err)
    }
}

impl Db {
    /// The store over `client`, with what every AWS call of a function has ([`aws_calls`]): time limits,
    /// retries, the declared-actions guard and the metrics.
    pub fn guarded(client: aws_sdk_dynamodb::Client, table: String) -> Self {
        Db::new(crate::guarded_client!(aws_sdk_dynamodb, client.config().to_builder()), table)
    }

    /// The guarded store of a function: DynamoDB from the shared SDK settings (region, credentials), at
    /// `endpoint` when one is given (DynamoDB Local), else AWS's.
    pub fn connect(sdk: &aws_types::SdkConfig, endpoint: Option<String>, table: String) -> Self {
        let mut config = aws_sdk_dynamodb::config::Builder::from(sdk);
        if let Some(endpoint) = endpoint {
            config = config.endpoint_url(endpoint);
        }
        Db::guarded(aws_sdk_dynamodb::Client::from_conf(config.build()), table)
    }

    pub fn new(client: aws_sdk_dynamodb::Client, table: String) -> Self {
        Db { client, table }
    }

    /// A Put for a transaction that creates `entity` only if its key is free.
    pub(crate) fn put_new<E: Entity>(&self, entity: &E) -> TransactWriteItem {
        TransactWriteItem::builder()
            .put(
                Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(to_item(entity)))
                    .condition_expression("attribute_not_exists(PK)")
                    .build()
                    .expect("table, item and condition are set"),
            )
            .build()
    }

    /// A Put for a transaction that replaces `entity` only if `condition` holds for the stored item.
    pub(crate) fn put_conditioned<E: Entity>(
        &self,
        entity: &E,
        condition: &str,
        values: Vec<(&str, AttributeValue)>,
    ) -> TransactWriteItem {
        self.put_conditioned_named(entity, condition, &[], values)
    }

    /// As `put_conditioned`, with placeholders for attribute names (for reserved words such as `state`).
    pub(crate) fn put_conditioned_named<E: Entity>(
        &self,
        entity: &E,
        condition: &str,
        names: &[(&str, &str)],
        values: Vec<(&str, AttributeValue)>,
    ) -> TransactWriteItem {
        let mut put =
            Put::builder().table_name(&self.table).set_item(Some(to_item(entity))).condition_expression(condition);
        for (placeholder, name) in names {
            put = put.expression_attribute_names(*placeholder, *name);
        }
        for (placeholder, value) in values {
            put = put.expression_attribute_values(placeholder, value);
        }
        TransactWriteItem::builder().put(put.build().expect("table, item and condition are set")).build()
    }

    /// A ConditionCheck for a transaction.
    pub(crate) fn condition_check(
        &self,
        key: &Key,
        condition: &str,
        values: Vec<(&str, AttributeValue)>,
    ) -> TransactWriteItem {
        let mut check = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key_attributes(key)))
            .condition_expression(condition);
        for (placeholder, value) in values {
            check = check.expression_attribute_values(placeholder, value);
        }
        TransactWriteItem::builder().condition_check(check.build().expect("table, key and condition are set")).build()
    }

    /// A Put for a transaction that writes `entity` whatever is there.
    pub(crate) fn put<E: Entity>(&self, entity: &E) -> TransactWriteItem {
        TransactWriteItem::builder()
            .put(
                Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(to_item(entity)))
                    .build()
                    .expect("table and item are set"),
            )
            .build()
    }

    /// One conditional UpdateItem: `false` when the condition did not hold (nothing changed).
    pub(crate) async fn update_if(
        &self,
        key: &Key,
        update_expression: &str,
        condition_expression: &str,
        values: Vec<(&str, AttributeValue)>,
    ) -> Result<bool, StoreError> {
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_attributes(key)))
            .update_expression(update_expression)
            .condition_expression(condition_expression);
        for (placeholder, value) in values {
            update = update.expression_attribute_values(placeholder, value);
        }
        match update.send().await {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|se| se.is_conditional_check_failed_exception()) => Ok(false),
            Err(e) => Err(StoreError::sdk("UpdateItem", e)),
        }
    }

    /// One conditional DeleteItem: `false` when the condition did not hold (nothing deleted).
    pub(crate) async fn delete_if(
        &self,
        key: &Key,
        condition_expression: &str,
        values: Vec<(&str, AttributeValue)>,
    ) -> Result<bool, StoreError> {
        let mut delete = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_attributes(key)))
            .condition_expression(condition_expression);
        for (placeholder, value) in values {
            delete = delete.expression_attribute_values(placeholder, value);
        }
        match delete.send().await {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|se| se.is_conditional_check_failed_exception()) => Ok(false),
            Err(e) => Err(StoreError::sdk("DeleteItem", e)),
        }
    }

    /// One conditional PutItem of `entity`: `false` when the condition did not hold (nothing written).
    pub(crate) async fn put_if<E: Entity>(
        &self,
        entity: &E,
        condition_expression: &str,
        values: Vec<(&str, AttributeValue)>,
    ) -> Result<bool, StoreError> {
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(entity)))
            .condition_expression(condition_expression);
        for (placeholder, value) in values {
            put = put.expression_attribute_values(placeholder, value);
        }
        match put.send().await {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|se| se.is_conditional_check_failed_exception()) => Ok(false),
            Err(e) => Err(StoreError::sdk("PutItem", e)),
        }
    }

    pub(crate) fn update(
        &self,
        key: &Key,
        update_expression: &str,
        condition_expression: Option<&str>,
        names: &[(&str, &str)],
        values: Vec<(&str, AttributeValue)>,
    ) -> TransactWriteItem {
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key_attributes(key)))
            .update_expression(update_expression)
            .set_condition_expression(condition_expression.map(str::to_owned));
        for (placeholder, name) in names {
            update = update.expression_attribute_names(*placeholder, *name);
        }
        for (placeholder, value) in values {
            update = update.expression_attribute_values(placeholder, value);
        }
        TransactWriteItem::builder().update(update.build().expect("table, key and expression are set")).build()
    }

    pub(crate) fn delete(&self, key: &Key, condition_expression: Option<&str>) -> TransactWriteItem {
        self.delete_with_values(key, condition_expression, Vec::new())
    }

    pub(crate) fn delete_with_values(
        &self,
        key: &Key,
        condition_expression: Option<&str>,
        values: Vec<(&str, AttributeValue)>,
    ) -> TransactWriteItem {
        let mut delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key_attributes(key)))
            .set_condition_expression(condition_expression.map(str::to_owned));
        for (placeholder, value) in values {
            delete = delete.expression_attribute_values(placeholder, value);
        }
        TransactWriteItem::builder().delete(delete.build().expect("table and key are set")).build()
    }

    /// One page of the items of partition `pk` under `prefix` (whose time-ordered ids follow it in the sort
    /// key), newest first, after the item whose id is `after`. Strongly consistent.
    pub(crate) async fn newest_first<E: Entity>(
        &self,
        pk: &str,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
        id: impl Fn(&E) -> &str,
    ) -> Result<org::QueryPage<E>, StoreError> {
        let upper = match after {
            Some(after) => format!("{prefix}{after}"),
            None => format!("{prefix}\u{10FFFF}"),
        };
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND SK BETWEEN :from AND :to")
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":from", s(prefix))
            .expression_attribute_values(":to", s(upper))
            .scan_index_forward(false)
            .consistent_read(true)
            .limit(limit.clamp(1, 1000) as i32 + i32::from(after.is_some()))
            .send()
            .await
            .map_err(|e| StoreError::sdk("Query", e))?;
        let more = output.last_evaluated_key.is_some();
        let mut items: Vec<E> =
            output.items.unwrap_or_default().into_iter().map(from_item).collect::<Result<_, _>>()?;
        // BETWEEN includes its upper bound: the item the previous page ended with.
        items.retain(|item| Some(id(item)) != after);
        items.truncate(limit);
        Ok(org::QueryPage { items, more })
    }

    /// One strongly consistent GetItem.
    pub(crate) async fn get<E: Entity>(&self, key: &Key) -> Result<Option<E>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_attributes(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::sdk("GetItem", e))?;
        output.item.map(from_item).transpose()
    }

    /// Strongly consistent BatchGetItem for any number of keys (one round trip per 100 keys, plus retries
    /// of keys DynamoDB leaves unprocessed). Returns the items found, by key.
    pub(crate) async fn batch_get(&self, keys: &[Key]) -> Result<HashMap<Key, Item>, StoreError> {
        let mut found = HashMap::with_capacity(keys.len());
        let mut unique: Vec<&Key> = Vec::with_capacity(keys.len());
        for key in keys {
            if !unique.contains(&key) {
                unique.push(key);
            }
        }
        for chunk in unique.chunks(BATCH_GET_LIMIT) {
            let mut request = KeysAndAttributes::builder()
                .set_keys(Some(chunk.iter().map(|k| key_attributes(k)).collect()))
                .consistent_read(true)
                .build()
                .expect("keys are set");
            for attempt in 0.. {
                let output = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(|e| StoreError::sdk("BatchGetItem", e))?;
                for item in output.responses.unwrap_or_default().remove(&self.table).unwrap_or_default() {
                    if let Some(key) = key_of(&item) {
                        found.insert(key, item);
                    }
                }
                match output.unprocessed_keys.unwrap_or_default().remove(&self.table) {
                    Some(rest) if !rest.keys.is_empty() => {
                        if attempt >= 8 {
                            return Err(StoreError::Unavailable);
                        }
                        tokio::time::sleep(std::time::Duration::from_millis(10 << attempt)).await;
                        request = rest;
                    }
                    _ => break,
                }
            }
        }
        Ok(found)
    }

    /// Deletes items by key with BatchWriteItem (25 per request), retrying what DynamoDB leaves
    /// unprocessed.
    pub async fn delete_all(&self, keys: &[Key]) -> Result<(), StoreError> {
        use aws_sdk_dynamodb::types::{DeleteRequest, WriteRequest};
        for chunk in keys.chunks(25) {
            let mut requests: Vec<WriteRequest> = chunk
                .iter()
                .map(|key| {
                    WriteRequest::builder()
                        .delete_request(
                            DeleteRequest::builder().set_key(Some(key_attributes(key))).build().expect("key is set"),
                        )
                        .build()
                })
                .collect();
            for attempt in 0.. {
                let output = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, requests)
                    .send()
                    .await
                    .map_err(|e| StoreError::sdk("BatchWriteItem", e))?;
                match output.unprocessed_items.unwrap_or_default().remove(&self.table) {
                    Some(rest) if !rest.is_empty() => {
                        if attempt >= 8 {
                            return Err(StoreError::Unavailable);
                        }
                        tokio::time::sleep(std::time::Duration::from_millis(10 << attempt)).await;
                        requests = rest;
                    }
                    _ => break,
                }
            }
        }
        Ok(())
    }

    /// TransactWriteItems whose only possible failed condition is the change's own (the other items are new
    /// audit entries): `false` when it did not hold (nothing written).
    pub(crate) async fn transact_if(&self, items: Vec<TransactWriteItem>) -> Result<bool, StoreError> {
        match self.transact(items).await {
            Ok(()) => Ok(true),
            Err(TransactError::ConditionFailed { .. }) => Ok(false),
            Err(TransactError::Store(err)) => Err(err),
        }
    }

    /// TransactWriteItems. A failed condition comes back as [`TransactError::ConditionFailed`] telling which
    /// items' conditions failed, so callers can say precisely what conflicted.
    ///
    /// A transaction cancelled because another transaction touched the same items at the same moment
    /// (`TransactionConflict`) wrote nothing, so it is sent again, a bounded number of times with jittered
    /// backoff: the conditions then decide against the committed state (e.g. the loser of two concurrent
    /// accepts of one invite finds it used). Only if conflicts persist is it `unavailable` (503).
    pub(crate) async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<(), TransactError> {
        debug_assert!(items.len() <= TRANSACTION_LIMIT);
        let count = items.len();
        for attempt in 0..TRANSACT_ATTEMPTS {
            let err = match self.client.transact_write_items().set_transact_items(Some(items.clone())).send().await {
                Ok(_) => {
                    crate::request_metrics::record_audit_writes(audit_write_capacity(&items));
                    return Ok(());
                }
                Err(err) => err,
            };
            let Some(aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(cancel)) =
                err.as_service_error()
            else {
                return Err(TransactError::Store(StoreError::sdk("TransactWriteItems", err)));
            };
            let reasons = cancel.cancellation_reasons();
            if reasons.iter().any(|r| r.code() == Some("ConditionalCheckFailed")) {
                let mut failed = vec![false; count];
                for (index, reason) in reasons.iter().enumerate().take(count) {
                    failed[index] = reason.code() == Some("ConditionalCheckFailed");
                }
                return Err(TransactError::ConditionFailed { failed });
            }
            let retryable = reasons.iter().all(|r| {
                matches!(r.code(), None | Some("None") | Some("TransactionConflict") | Some("ThrottlingError"))
            });
            tracing::warn!(attempt, reasons = ?reasons.iter().map(|r| r.code()).collect::<Vec<_>>(), "transaction cancelled");
            if !retryable {
                return Err(TransactError::Store(StoreError::Unavailable));
            }
            if attempt + 1 < TRANSACT_ATTEMPTS {
                tokio::time::sleep(conflict_backoff(attempt)).await;
            }
        }
        Err(TransactError::Store(StoreError::Unavailable))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AuditActor, AuditEntry, AuditTarget};

    fn entry(actor: AuditActor, change: String) -> AuditEntry {
        AuditEntry {
            organization: "lab".into(),
            id: crate::ids::new_audit_id(1),
            action: "user.changed".into(),
            occurred_at: 1,
            actor,
            targets: vec![AuditTarget { kind: "user".into(), id: "u".into(), name: "U".into() }],
            context: Default::default(),
            change,
            group: None,
            expires_at: 1,
        }
    }

    #[test]
    fn audit_entries_cost_two_units_per_kilobyte_and_one_per_index_they_are_in() {
        let db = Db::new(
            aws_sdk_dynamodb::Client::from_conf(
                aws_sdk_dynamodb::Config::builder()
                    .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
                    .build(),
            ),
            "table".into(),
        );
        let by_user = AuditActor { kind: "user".into(), id: Some("a".into()), name: None, email: None };
        let small = entry(by_user.clone(), String::new());
        let large = entry(by_user, "x".repeat(1500));
        let by_job = entry(AuditActor::system("job"), String::new());
        let other = db.put_new(&crate::model::ExperienceDomain { organization: "lab".into(), domain: "d".into() });
        assert_eq!(audit_write_capacity(&[db.put_new(&small), other.clone()]), 5.0, "table and three indexes");
        assert_eq!(audit_write_capacity(&[db.put_new(&large)]), 10.0, "two started kilobytes");
        assert_eq!(audit_write_capacity(&[db.put_new(&by_job)]), 4.0, "no actor index for a job");
        assert_eq!(audit_write_capacity(&[other]), 0.0);
        assert!(items::item_size(&to_item(&small)) < 1024);
    }
}
