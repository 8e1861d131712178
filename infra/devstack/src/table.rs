//! Creates a table from the `AccountsTable` definition in template.yaml, so the local table and the
//! deployed one cannot drift apart.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, StreamSpecification, StreamViewType, TimeToLiveSpecification,
};
use serde_norway::Value;

pub const TABLE_RESOURCE: &str = "AccountsTable";

/// A global index: (index name, key schema, projection type).
pub type GlobalIndex = (String, Vec<(String, String)>, String);

#[derive(Debug, Clone, PartialEq)]
pub struct TableDefinition {
    pub attributes: Vec<(String, String)>,
    pub key_schema: Vec<(String, String)>,
    pub global_indexes: Vec<GlobalIndex>,
    pub ttl_attribute: Option<String>,
    /// The stream's view type (`NEW_IMAGE`), when the table has a stream.
    pub stream_view_type: Option<String>,
}

fn text(value: &Value, field: &str) -> Result<String, String> {
    value
        .get(field)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| format!("{TABLE_RESOURCE}: missing {field}"))
}

fn key_schema(value: Option<&Value>) -> Result<Vec<(String, String)>, String> {
    value
        .and_then(Value::as_sequence)
        .ok_or_else(|| format!("{TABLE_RESOURCE}: missing KeySchema"))?
        .iter()
        .map(|element| Ok((text(element, "AttributeName")?, text(element, "KeyType")?)))
        .collect()
}

impl TableDefinition {
    pub fn from_template(template: &str) -> Result<Self, String> {
        let document: Value = serde_norway::from_str(template).map_err(|e| format!("template.yaml: {e}"))?;
        let properties = document
            .get("Resources")
            .and_then(|r| r.get(TABLE_RESOURCE))
            .and_then(|t| t.get("Properties"))
            .ok_or_else(|| format!("template.yaml has no {TABLE_RESOURCE} resource"))?;
        let attributes = properties
            .get("AttributeDefinitions")
            .and_then(Value::as_sequence)
            .ok_or_else(|| format!("{TABLE_RESOURCE}: missing AttributeDefinitions"))?
            .iter()
            .map(|a| Ok((text(a, "AttributeName")?, text(a, "AttributeType")?)))
            .collect::<Result<Vec<_>, String>>()?;
        let global_indexes = properties
            .get("GlobalSecondaryIndexes")
            .and_then(Value::as_sequence)
            .map(|indexes| {
                indexes
                    .iter()
                    .map(|index| {
                        let projection = index
                            .get("Projection")
                            .map(|p| text(p, "ProjectionType"))
                            .transpose()?
                            .unwrap_or_else(|| "ALL".into());
                        Ok((text(index, "IndexName")?, key_schema(index.get("KeySchema"))?, projection))
                    })
                    .collect::<Result<Vec<_>, String>>()
            })
            .transpose()?
            .unwrap_or_default();
        let ttl_attribute = properties
            .get("TimeToLiveSpecification")
            .filter(|ttl| ttl.get("Enabled").and_then(Value::as_bool) == Some(true))
            .map(|ttl| text(ttl, "AttributeName"))
            .transpose()?;
        let stream_view_type =
            properties.get("StreamSpecification").map(|stream| text(stream, "StreamViewType")).transpose()?;
        Ok(TableDefinition {
            attributes,
            key_schema: key_schema(properties.get("KeySchema"))?,
            global_indexes,
            ttl_attribute,
            stream_view_type,
        })
    }

    pub fn from_repo_template() -> Result<Self, String> {
        let path = crate::template::template_path();
        Self::from_template(&std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?)
    }

    /// Creates the table (pay per request, as deployed, with its stream) and enables its TTL.
    /// Creates the table (a set-up step, not a function's work: its calls are not checked against a
    /// declaration).
    pub async fn create(&self, client: &aws_sdk_dynamodb::Client, table_name: &str) -> Result<(), String> {
        accounts::declared_actions::unchecked(self.create_unchecked(client, table_name)).await
    }

    async fn create_unchecked(&self, client: &aws_sdk_dynamodb::Client, table_name: &str) -> Result<(), String> {
        let key_elements = |schema: &[(String, String)]| -> Vec<KeySchemaElement> {
            schema
                .iter()
                .map(|(name, kind)| {
                    KeySchemaElement::builder()
                        .attribute_name(name)
                        .key_type(KeyType::from(kind.as_str()))
                        .build()
                        .expect("name and type are set")
                })
                .collect()
        };
        let mut request = client
            .create_table()
            .table_name(table_name)
            .billing_mode(BillingMode::PayPerRequest)
            .set_key_schema(Some(key_elements(&self.key_schema)));
        if let Some(view_type) = &self.stream_view_type {
            request = request.stream_specification(
                StreamSpecification::builder()
                    .stream_enabled(true)
                    .stream_view_type(StreamViewType::from(view_type.as_str()))
                    .build()
                    .expect("enabled is set"),
            );
        }
        for (name, kind) in &self.attributes {
            request = request.attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(name)
                    .attribute_type(ScalarAttributeType::from(kind.as_str()))
                    .build()
                    .expect("name and type are set"),
            );
        }
        for (name, schema, projection) in &self.global_indexes {
            request = request.global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(name)
                    .set_key_schema(Some(key_elements(schema)))
                    .projection(
                        Projection::builder().projection_type(ProjectionType::from(projection.as_str())).build(),
                    )
                    .build()
                    .expect("name and key schema are set"),
            );
        }
        // Table set-up is not a request: on a loaded DynamoDB Local it may take longer than the request
        // timeouts the App's client has, and CreateTable is not idempotent (a retried one finds its own
        // table). So no time limit and one attempt.
        let set_up = || {
            aws_sdk_dynamodb::config::Builder::default()
                .timeout_config(aws_sdk_dynamodb::config::timeout::TimeoutConfig::disabled())
                .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
        };
        request
            .customize()
            .config_override(set_up())
            .send()
            .await
            .map_err(|e| format!("CreateTable {table_name}: {}", aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
        if let Some(attribute) = &self.ttl_attribute {
            client
                .update_time_to_live()
                .table_name(table_name)
                .time_to_live_specification(
                    TimeToLiveSpecification::builder()
                        .attribute_name(attribute)
                        .enabled(true)
                        .build()
                        .expect("fields are set"),
                )
                .customize()
                .config_override(set_up())
                .send()
                .await
                .map_err(|e| {
                    format!("UpdateTimeToLive {table_name}: {}", aws_sdk_dynamodb::error::DisplayErrorContext(e))
                })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_table_has_the_designed_keys_and_ttl() {
        let table = TableDefinition::from_repo_template().unwrap();
        assert_eq!(table.key_schema, vec![("PK".into(), "HASH".into()), ("SK".into(), "RANGE".into())]);
        assert_eq!(table.ttl_attribute.as_deref(), Some("expiresAt"));
        assert_eq!(table.stream_view_type.as_deref(), Some("NEW_IMAGE"));
    }
}
