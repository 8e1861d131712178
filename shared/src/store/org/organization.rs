//! The organization item (settings, plan, counters, credits, storage, deletion) and its partition.

use super::*;

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

impl OrganizationChange {
    pub fn set(&mut self, attribute: &'static str, value: Field) {
        self.set.push((attribute, value));
    }

    pub fn remove(&mut self, attribute: &'static str) {
        self.remove.push(attribute);
    }
}

impl OrgStore<'_> {
    /// Updates the organization item (SET and REMOVE of the named attributes) unless it is being deleted;
    /// returns it as stored.
    pub async fn update_organization(&self, change: &OrganizationChange) -> Result<Organization, ApiError> {
        let remove = &change.remove;
        let mut names = HashMap::new();
        let mut values = HashMap::new();
        let mut clauses = Vec::new();
        for (index, (name, value)) in change.set.iter().enumerate() {
            names.insert(format!("#s{index}"), (*name).to_owned());
            values.insert(
                format!(":s{index}"),
                match value {
                    Field::Text(text) => s(text),
                    Field::Number(number) => AttributeValue::N(number.clone()),
                    Field::Bool(flag) => AttributeValue::Bool(*flag),
                },
            );
            clauses.push(format!("#s{index} = :s{index}"));
        }
        let mut expression = String::new();
        if !clauses.is_empty() {
            expression = format!("SET {}", clauses.join(", "));
        }
        if !remove.is_empty() {
            let removed: Vec<String> = remove
                .iter()
                .enumerate()
                .map(|(index, name)| {
                    names.insert(format!("#r{index}"), (*name).to_owned());
                    format!("#r{index}")
                })
                .collect();
            expression.push_str(&format!(" REMOVE {}", removed.join(", ")));
        }
        if expression.is_empty() {
            return self.db.get(&Key::organization(&self.organization)).await?.ok_or_else(organization_gone);
        }
        let output = self
            .db
            .client
            .update_item()
            .table_name(&self.db.table)
            .set_key(Some(crate::store::key_attributes(&Key::organization(&self.organization))))
            .update_expression(expression.trim())
            .condition_expression("attribute_exists(PK) AND attribute_not_exists(deletionRequestedAt)")
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values((!values.is_empty()).then_some(values))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await
            .map_err(|e| match e.as_service_error() {
                Some(se) if se.is_conditional_check_failed_exception() => organization_gone(),
                _ => sdk_error("UpdateItem", e),
            })?;
        from_item(output.attributes.unwrap_or_default())
    }

    /// Whether the organization exists and is not being deleted (one GetItem): what tells a failed member
    /// counter condition apart from a full plan.
    pub async fn accepts_members(&self) -> Result<bool, ApiError> {
        let organization = self.db.get::<Organization>(&Key::organization(&self.organization)).await?;
        Ok(organization.is_some_and(|o| !o.is_being_deleted()))
    }

    /// One page of the organization's credit transactions, newest first, after the transaction id `after`.
    pub async fn credit_transactions(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<QueryPage<CreditTransaction>, ApiError> {
        self.newest_first(CREDIT_PREFIX, after, limit, |transaction: &CreditTransaction| transaction.id.as_str()).await
    }

    /// Records a credit transaction and adds it to the balance in one transaction; a debit must not take
    /// the balance below zero (`false` then).
    pub async fn add_credit(&self, transaction: &CreditTransaction) -> Result<bool, ApiError> {
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
        ];
        match self.db.transact(items).await {
            Ok(()) => Ok(true),
            Err(TransactError::ConditionFailed { .. }) => Ok(false),
            Err(TransactError::Api(err)) => Err(err),
        }
    }

    /// Stores a storage-usage report unless a newer one is already stored (reports may arrive out of
    /// order). `false`: the organization is gone or the report is older.
    pub async fn report_storage(&self, used_bytes: u64, reported_at: i64) -> Result<bool, ApiError> {
        self.db
            .update_if(
                &Key::organization(&self.organization),
                "SET usedStorageBytes = :bytes, storageReportedAt = :at",
                "attribute_exists(PK) AND (attribute_not_exists(storageReportedAt) OR storageReportedAt < :at)",
                vec![(":bytes", n(used_bytes)), (":at", n(reported_at))],
            )
            .await
    }

    /// Marks the organization as being deleted (it is unusable from this moment). `false`: it already is.
    pub async fn mark_deleting(&self, now: i64) -> Result<bool, ApiError> {
        self.db
            .update_if(
                &Key::organization(&self.organization),
                "SET deletionRequestedAt = :now, deletionPartition = :partition",
                "attribute_exists(PK) AND attribute_not_exists(deletionRequestedAt)",
                vec![(":now", n(now)), (":partition", s(crate::model::DELETION_PARTITION))],
            )
            .await
    }

    /// The first items of the organization's partition (strongly consistent): what a purge deletes next.
    pub async fn partition_page(&self, limit: usize) -> Result<Vec<PartitionItem>, ApiError> {
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
            .map_err(|e| sdk_error("Query", e))?;
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
                    _ => PartitionItemKind::Other,
                };
                Ok(PartitionItem { key, kind })
            })
            .collect()
    }

    /// Deletes items of the organization's partition (as [`Self::partition_page`] listed them).
    pub async fn delete_partition_items(&self, keys: &[Key]) -> Result<(), ApiError> {
        let partition = org_partition(&self.organization);
        debug_assert!(keys.iter().all(|key| key.pk == partition || key.pk.starts_with(&partition)));
        self.db.delete_all(keys).await
    }
}
