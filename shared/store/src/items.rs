//! Items as DynamoDB stores them: an entity's attributes with its key, kind and derived index attributes,
//! and what an item costs.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};

use crate::StoreError;
use crate::model::{Entity, Key};

pub type Item = HashMap<String, AttributeValue>;

pub fn key_attributes(key: &Key) -> Item {
    HashMap::from([
        ("PK".to_owned(), AttributeValue::S(key.pk.clone())),
        ("SK".to_owned(), AttributeValue::S(key.sk.clone())),
    ])
}

/// The key of `item`, if it has a string `PK` and `SK`.
pub fn key_of(item: &Item) -> Option<Key> {
    match (item.get("PK"), item.get("SK")) {
        (Some(AttributeValue::S(pk)), Some(AttributeValue::S(sk))) => Some(Key { pk: pk.clone(), sk: sk.clone() }),
        _ => None,
    }
}

/// The stored form of an entity: its fields plus `PK`, `SK` and the `entity` tag.
pub fn to_item<E: Entity>(entity: &E) -> Item {
    let mut item: Item = serde_dynamo::to_item(entity).expect("entities serialize to DynamoDB items");
    item.extend(key_attributes(&entity.key()));
    for (name, value) in entity.index_attributes() {
        item.insert(name.to_owned(), AttributeValue::S(value));
    }
    for (name, value) in entity.numeric_attributes() {
        item.insert(name.to_owned(), AttributeValue::N(value.to_string()));
    }
    item.insert("entity".into(), AttributeValue::S(E::KIND.into()));
    item
}

pub fn from_item<E: Entity>(item: Item) -> Result<E, StoreError> {
    serde_dynamo::from_item(item).map_err(|e| {
        tracing::error!(entity = E::KIND, error = %e, "stored item does not decode");
        StoreError::Unexpected
    })
}

/// An item's size by DynamoDB's rules: attribute names and values in bytes (numbers about one byte per two
/// digits, plus one; maps and lists 3 bytes plus one per element).
pub(crate) fn item_size(item: &Item) -> usize {
    fn value_size(value: &AttributeValue) -> usize {
        match value {
            AttributeValue::S(text) => text.len(),
            AttributeValue::N(number) => number.len().div_ceil(2) + 1,
            AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
            AttributeValue::L(values) => 3 + values.iter().map(|v| 1 + value_size(v)).sum::<usize>(),
            AttributeValue::M(fields) => 3 + fields.iter().map(|(k, v)| 1 + k.len() + value_size(v)).sum::<usize>(),
            other => format!("{other:?}").len(),
        }
    }
    item.iter().map(|(name, value)| name.len() + value_size(value)).sum()
}

/// The write capacity the audit entries among `items` take when their transaction commits: per entry, two
/// units per started KB in the table (a transactional write) and one per started KB in each audit index it
/// is in.
pub(crate) fn audit_write_capacity(items: &[TransactWriteItem]) -> f64 {
    items
        .iter()
        .filter_map(|item| item.put().map(|put| put.item()))
        .filter(|item| matches!(item.get("entity"), Some(AttributeValue::S(kind)) if kind == "AuditEntry"))
        .map(|item| {
            let kilobytes = item_size(item).div_ceil(1024) as f64;
            let indexes =
                ["auditActor", "auditTarget", "auditCategory"].iter().filter(|name| item.contains_key(**name)).count()
                    as f64;
            kilobytes * (2.0 + indexes)
        })
        .sum()
}

pub fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}
