//! The table's stream, as the audit publisher reads it: a new item's image (DynamoDB JSON) decoded into the
//! model's types. Only the kinds that publish something are decoded.

use crate::model::{AuditEntry, Entity, OrganizationTombstone};

/// A new item of the table, as far as the audit publisher cares.
#[derive(Debug, PartialEq)]
pub enum NewItem {
    AuditEntry(Box<AuditEntry>),
    OrganizationTombstone(OrganizationTombstone),
    /// An item of another kind, or one without a kind.
    Other,
}

/// Decodes a new image; an error names the kind whose item does not decode.
pub fn new_item(image: &serde_dynamo::Item) -> Result<NewItem, String> {
    let entity = match image.get("entity") {
        Some(serde_dynamo::AttributeValue::S(entity)) => entity.as_str(),
        _ => return Ok(NewItem::Other),
    };
    if entity == AuditEntry::KIND {
        serde_dynamo::from_item(image.clone())
            .map(|entry| NewItem::AuditEntry(Box::new(entry)))
            .map_err(|e| format!("{entity}: {e}"))
    } else if entity == OrganizationTombstone::KIND {
        serde_dynamo::from_item(image.clone()).map(NewItem::OrganizationTombstone).map_err(|e| format!("{entity}: {e}"))
    } else {
        Ok(NewItem::Other)
    }
}

/// An item as the table's stream shows it (DynamoDB JSON), for tests of what reads the stream.
pub fn image_of<E: Entity>(entity: &E) -> serde_json::Value {
    let item: serde_dynamo::Item = crate::to_item(entity).into();
    serde_json::to_value(item).expect("an item serializes")
}
