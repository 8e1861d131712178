//! The organization item (settings, plan, counters, credits, storage, deletion) and its partition.

use crate::StoreError;
use crate::model::Entity;
use crate::model::{
    AuditEntry, CREDIT_PREFIX, CreditTransaction, Key, Organization, PLAN_UPDATE_PREFIX, PlanUpdate, org_partition,
};
use crate::org::OrgStore;
use crate::org::QueryPage;
use crate::{Item, from_item, n, s};
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

/// An item of an organization's partition, as a purge sees it.
#[derive(Debug, Clone)]
pub struct PartitionItem {
    pub key: Key,
    pub kind: PartitionItemKind,
}

#[derive(Debug, Clone)]
pub enum PartitionItemKind {
    Organization(Box<Organization>),
    /// An identity, whose account must leave the organization before the identity goes.
    User {
        account_id: String,
    },
    /// A domain the organization verified, whose instance-wide record goes with it.
    VerifiedDomain {
        domain: String,
    },
    Other,
}

/// A value to store in an attribute.
#[derive(Debug, Clone, PartialEq)]
pub enum Field {
    Text(String),
    /// A number, in its decimal text.
    Number(String),
    Bool(bool),
}

/// A change of an organization item: attributes (by their stored names) to set, and to remove.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrganizationChange {
    set: Vec<(&'static str, Field)>,
    remove: Vec<&'static str>,
}

impl Field {
    fn attribute(&self) -> AttributeValue {
        match self {
            Field::Text(text) => s(text),
            Field::Number(number) => AttributeValue::N(number.clone()),
            Field::Bool(flag) => AttributeValue::Bool(*flag),
        }
    }

    fn json(&self) -> serde_json::Value {
        match self {
            Field::Text(text) => serde_json::Value::String(text.clone()),
            Field::Number(number) => number.parse::<serde_json::Number>().map_or(serde_json::Value::Null, Into::into),
            Field::Bool(flag) => serde_json::Value::Bool(*flag),
        }
    }

    fn of_json(value: &serde_json::Value) -> Option<Field> {
        match value {
            serde_json::Value::String(text) => Some(Field::Text(text.clone())),
            serde_json::Value::Number(number) => Some(Field::Number(number.to_string())),
            serde_json::Value::Bool(flag) => Some(Field::Bool(*flag)),
            _ => None,
        }
    }
}

impl OrganizationChange {
    pub fn set(&mut self, attribute: &'static str, value: Field) {
        self.set.push((attribute, value));
    }

    pub fn remove(&mut self, attribute: &'static str) {
        self.remove.push(attribute);
    }

    /// The attributes it changes with their values in `read` (`None`: absent).
    fn old_values(&self, read: &Organization) -> Vec<(&'static str, Option<Field>)> {
        let stored = serde_json::to_value(read).unwrap_or_default();
        self.set
            .iter()
            .map(|(name, _)| *name)
            .chain(self.remove.iter().copied())
            .map(|name| (name, stored.get(name).and_then(Field::of_json)))
            .collect()
    }

    /// Leaves out what `read` has already: an empty change writes nothing.
    pub fn without_no_ops(mut self, read: &Organization) -> Self {
        let stored = serde_json::to_value(read).unwrap_or_default();
        self.set.retain(|(name, value)| stored.get(*name).and_then(Field::of_json).as_ref() != Some(value));
        self.remove.retain(|name| stored.get(*name).is_some_and(|v| !v.is_null()));
        self
    }

    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.remove.is_empty()
    }

    /// `{"attribute": {"old": .., "new": ..}}` for the audit entry (`null`: absent).
    pub fn audit_facts(&self, read: &Organization) -> serde_json::Value {
        let stored = serde_json::to_value(read).unwrap_or_default();
        let old = |name: &str| stored.get(name).cloned().unwrap_or(serde_json::Value::Null);
        let mut facts = serde_json::Map::new();
        for (name, value) in &self.set {
            facts.insert((*name).to_owned(), serde_json::json!({ "old": old(name), "new": value.json() }));
        }
        for name in &self.remove {
            facts.insert((*name).to_owned(), serde_json::json!({ "old": old(name), "new": null }));
        }
        serde_json::Value::Object(facts)
    }

    /// `read` with the change made.
    pub fn applied_to(&self, read: &Organization) -> Organization {
        let mut stored = serde_json::to_value(read).unwrap_or_default();
        if let Some(fields) = stored.as_object_mut() {
            for (name, value) in &self.set {
                fields.insert((*name).to_owned(), value.json());
            }
            for name in &self.remove {
                fields.remove(*name);
            }
        }
        serde_json::from_value(stored).unwrap_or_else(|_| read.clone())
    }
}

impl OrgStore<'_> {
    /// Updates the organization item (SET and REMOVE of the named attributes) with the change's audit entry,
    /// in one transaction conditioned on the organization not being deleted and on each changed attribute
    /// still having the value `read` has (so the entry's old values are exact). Returns the organization as
    /// stored, or `None` when the condition failed: it changed or went meanwhile (read it again to tell).
    pub async fn update_organization(
        &self,
        change: &OrganizationChange,
        read: &Organization,
        entry: &AuditEntry,
        history: Option<&PlanUpdate>,
    ) -> Result<Option<Organization>, StoreError> {
        debug_assert_eq!(read.id, self.organization);
        let old = change.old_values(read);
        let mut names = Vec::new();
        let mut values = Vec::new();
        let mut clauses = Vec::new();
        let mut conditions = vec!["attribute_exists(PK) AND attribute_not_exists(deletionRequestedAt)".to_owned()];
        for (index, (name, value)) in change.set.iter().enumerate() {
            names.push((format!("#s{index}"), *name));
            values.push((format!(":s{index}"), value.attribute()));
            clauses.push(format!("#s{index} = :s{index}"));
        }
        let mut removed: Vec<String> = change
            .remove
            .iter()
            .enumerate()
            .map(|(index, name)| {
                names.push((format!("#r{index}"), *name));
                format!("#r{index}")
            })
            .collect();
        // The index attributes the organization's fields derive (plan notices) follow the change.
        let derived = |organization: &Organization| -> HashMap<&'static str, AttributeValue> {
            let mut attributes: HashMap<&'static str, AttributeValue> =
                organization.index_attributes().into_iter().map(|(name, value)| (name, s(value))).collect();
            attributes.extend(organization.numeric_attributes().into_iter().map(|(name, value)| (name, n(value))));
            attributes
        };
        let after = change.applied_to(read);
        let (derived_before, derived_after) = (derived(read), derived(&after));
        let mut derived_set = Vec::new();
        for (index, (name, value)) in derived_after.iter().enumerate() {
            if derived_before.get(name) != Some(value) {
                names.push((format!("#d{index}"), *name));
                values.push((format!(":d{index}"), value.clone()));
                derived_set.push(format!("#d{index} = :d{index}"));
            }
        }
        let derived_removed: Vec<String> = derived_before
            .keys()
            .filter(|name| !derived_after.contains_key(*name))
            .enumerate()
            .map(|(index, name)| {
                names.push((format!("#x{index}"), *name));
                format!("#x{index}")
            })
            .collect();
        for (index, (name, value)) in old.iter().enumerate() {
            names.push((format!("#o{index}"), *name));
            match value {
                Some(value) => {
                    values.push((format!(":o{index}"), value.attribute()));
                    conditions.push(format!("#o{index} = :o{index}"));
                }
                None => conditions.push(format!("attribute_not_exists(#o{index})")),
            }
        }
        clauses.extend(derived_set);
        removed.extend(derived_removed);
        let mut expression = String::new();
        if !clauses.is_empty() {
            expression = format!("SET {}", clauses.join(", "));
        }
        if !removed.is_empty() {
            expression.push_str(&format!(" REMOVE {}", removed.join(", ")));
        }
        let names: Vec<(&str, &str)> = names.iter().map(|(placeholder, name)| (placeholder.as_str(), *name)).collect();
        let values: Vec<(&str, AttributeValue)> =
            values.iter().map(|(placeholder, value)| (placeholder.as_str(), value.clone())).collect();
        let update = self.db.update(
            &Key::organization(&self.organization),
            expression.trim(),
            Some(&conditions.join(" AND ")),
            &names,
            values,
        );
        let mut items = vec![update, self.db.put_new(entry)];
        items.extend(history.map(|history| self.db.put_new(history)));
        if !self.db.transact_if(items).await? {
            return Ok(None);
        }
        Ok(Some(after))
    }

    /// The organization's item, being deleted or not (one GetItem).
    pub async fn organization(&self) -> Result<Option<Organization>, StoreError> {
        self.db.get::<Organization>(&Key::organization(&self.organization)).await
    }

    /// Whether the organization exists and is not being deleted (one GetItem): what tells a failed member
    /// counter condition apart from a full plan.
    pub async fn accepts_members(&self) -> Result<bool, StoreError> {
        Ok(self.organization().await?.is_some_and(|o| !o.is_being_deleted()))
    }

    /// One page of the organization's credit transactions, newest first, after the transaction id `after`.
    pub async fn credit_transactions(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<QueryPage<CreditTransaction>, StoreError> {
        self.newest_first(CREDIT_PREFIX, after, limit, |transaction: &CreditTransaction| transaction.id.as_str()).await
    }

    /// One page of the organization's plan history, newest first, after the update id `after`.
    pub async fn plan_updates(&self, after: Option<&str>, limit: usize) -> Result<QueryPage<PlanUpdate>, StoreError> {
        self.newest_first(PLAN_UPDATE_PREFIX, after, limit, |update: &PlanUpdate| update.id.as_str()).await
    }

    /// Records a credit transaction and adds it to the balance in one transaction; a debit must not take
    /// the balance below zero (`false` then).
    pub async fn add_credit(&self, transaction: &CreditTransaction, entry: &AuditEntry) -> Result<bool, StoreError> {
        let condition = if transaction.milli_credits < 0 {
            "attribute_exists(PK) AND attribute_not_exists(deletionRequestedAt) AND milliCreditBalance >= :needed"
        } else {
            "attribute_exists(PK) AND attribute_not_exists(deletionRequestedAt) AND :needed = :needed"
        };
        let items = vec![
            self.db.put_new(transaction),
            self.db.update(
                &Key::organization(&self.organization),
                "ADD milliCreditBalance :amount",
                Some(condition),
                &[],
                vec![(":amount", n(transaction.milli_credits)), (":needed", n(-transaction.milli_credits))],
            ),
            self.db.put_new(entry),
        ];
        self.db.transact_if(items).await
    }

    /// Stores a storage-usage report and the storage notice level it leads to, `levels` = (as read, new),
    /// with its audit entry, unless a newer report is stored or the level changed since read (reports may
    /// arrive out of order and at once). `false`: the organization is gone or being deleted, a newer report is
    /// stored, or the level changed.
    pub async fn report_storage(
        &self,
        used_bytes: u64,
        reported_at: i64,
        levels: (u8, u8),
        entry: &AuditEntry,
    ) -> Result<bool, StoreError> {
        let level_read = if levels.0 == 0 {
            "(attribute_not_exists(storageNoticeLevel) OR storageNoticeLevel = :read)"
        } else {
            "storageNoticeLevel = :read"
        };
        let update = self.db.update(
            &Key::organization(&self.organization),
            "SET usedStorageBytes = :bytes, storageReportedAt = :at, storageNoticeLevel = :level",
            Some(&format!(
                "attribute_exists(PK) AND attribute_not_exists(deletionRequestedAt) \
                 AND (attribute_not_exists(storageReportedAt) OR storageReportedAt < :at) AND {level_read}"
            )),
            &[],
            vec![(":bytes", n(used_bytes)), (":at", n(reported_at)), (":read", n(levels.0)), (":level", n(levels.1))],
        );
        self.db.transact_if(vec![update, self.db.put_new(entry)]).await
    }

    /// Marks the organization as being deleted (it is unusable from this moment), with the audit entry of
    /// the request. `false`: it already is.
    pub async fn mark_deleting(&self, now: i64, entry: &AuditEntry) -> Result<bool, StoreError> {
        let update = self.db.update(
            &Key::organization(&self.organization),
            "SET deletionRequestedAt = :now, deletionPartition = :partition",
            Some("attribute_exists(PK) AND attribute_not_exists(deletionRequestedAt)"),
            &[],
            vec![(":now", n(now)), (":partition", s(crate::model::DELETION_PARTITION))],
        );
        self.db.transact_if(vec![update, self.db.put_new(entry)]).await
    }

    /// The first items of the organization's partition (strongly consistent): what a purge deletes next.
    pub async fn partition_page(&self, limit: usize) -> Result<Vec<PartitionItem>, StoreError> {
        let output = self
            .db
            .client
            .query()
            .table_name(&self.db.table)
            .key_condition_expression("PK = :pk")
            .expression_attribute_values(":pk", s(org_partition(&self.organization)))
            .consistent_read(true)
            .limit(limit.clamp(1, 1000) as i32)
            .send()
            .await
            .map_err(|e| StoreError::sdk("Query", e))?;
        let text = |item: &Item, name: &str| match item.get(name) {
            Some(AttributeValue::S(text)) => text.clone(),
            _ => String::new(),
        };
        output
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|item| {
                let key = Key { pk: text(&item, "PK"), sk: text(&item, "SK") };
                let kind = match text(&item, "entity").as_str() {
                    "Organization" => PartitionItemKind::Organization(Box::new(from_item(item)?)),
                    "User" => PartitionItemKind::User { account_id: text(&item, "accountId") },
                    "DomainClaim" if item.contains_key("verifiedAt") => {
                        PartitionItemKind::VerifiedDomain { domain: text(&item, "domain") }
                    }
                    _ => PartitionItemKind::Other,
                };
                Ok(PartitionItem { key, kind })
            })
            .collect()
    }

    /// Deletes items of the organization's partition (as [`Self::partition_page`] listed them).
    pub async fn delete_partition_items(&self, keys: &[Key]) -> Result<(), StoreError> {
        let partition = org_partition(&self.organization);
        debug_assert!(keys.iter().all(|key| key.pk == partition || key.pk.starts_with(&partition)));
        self.db.delete_all(keys).await
    }
}

/// Notification addresses (the opt-in of `newUserMailingList` and `planSubscriptionEmail`).
impl OrgStore<'_> {
    /// The items of `emails` (one BatchGetItem; none for none).
    pub async fn notification_addresses(
        &self,
        emails: &[String],
    ) -> Result<Vec<crate::model::NotificationAddress>, StoreError> {
        if emails.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<Key> = emails.iter().map(|e| Key::notification_address(&self.organization, e)).collect();
        self.db.batch_get(&keys).await?.into_values().map(from_item).collect()
    }

    /// Stores a request unless the address has an item already (one conditional PutItem): `false` if it had.
    pub async fn request_notification_address(
        &self,
        address: &crate::model::NotificationAddress,
    ) -> Result<bool, StoreError> {
        self.db.put_if(address, "attribute_not_exists(PK)", Vec::new()).await
    }

    /// The one notification address item of `email` (one GetItem).
    pub async fn notification_address(
        &self,
        email: &str,
    ) -> Result<Option<crate::model::NotificationAddress>, StoreError> {
        self.db.get(&Key::notification_address(&self.organization, email)).await
    }

    /// Confirms a request with its audit entry (one transaction, conditioned on the token's hash, on not being
    /// confirmed and on the request not having lapsed): `false` when the condition failed (nothing written).
    pub async fn confirm_notification_address(
        &self,
        email: &str,
        token_hash: &str,
        now_millis: i64,
        entry: &AuditEntry,
    ) -> Result<bool, StoreError> {
        let confirm = self.db.update(
            &Key::notification_address(&self.organization, email),
            "SET confirmedAt = :now REMOVE expiresAt",
            Some("tokenHash = :hash AND attribute_not_exists(confirmedAt) AND expiresAt > :seconds"),
            &[],
            vec![(":now", n(now_millis)), (":hash", s(token_hash)), (":seconds", n(now_millis / 1000))],
        );
        self.db.transact_if(vec![confirm, self.db.put_new(entry)]).await
    }
}
