//! Access to one organization's items. An `OrgStore` is made from an authenticated caller
//! (`Caller::store`), or for an organization the request just proved membership of; every key it builds
//! starts with that organization's partition, so no method can reach another organization's data.

use aws_sdk_dynamodb::types::AttributeValue;

use super::{Db, TransactError, n};
use crate::error::{ApiError, sdk_error};
use crate::model::{ApiToken, Key, User};

pub struct OrgStore<'a> {
    db: &'a Db,
    organization: String,
}

impl<'a> OrgStore<'a> {
    pub(crate) fn new(db: &'a Db, organization: &str) -> Self {
        OrgStore { db, organization: organization.to_owned() }
    }

    pub fn organization_id(&self) -> &str {
        &self.organization
    }

    /// Records activity and returns the updated user (one UpdateItem; the user must still exist).
    pub async fn touch_last_activity(&self, user_id: &str, now: i64) -> Result<User, ApiError> {
        let output = self
            .db
            .client
            .update_item()
            .table_name(&self.db.table)
            .set_key(Some(super::key_attributes(&Key::user(&self.organization, user_id))))
            .update_expression("SET lastActivity = :now")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_values(":now", n(now))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await
            .map_err(|e| match e.as_service_error() {
                Some(se) if se.is_conditional_check_failed_exception() => ApiError::invalid_credential(),
                _ => sdk_error("UpdateItem", e),
            })?;
        super::from_item(output.attributes.unwrap_or_default())
    }

    pub async fn api_token(&self, user_id: &str) -> Result<Option<ApiToken>, ApiError> {
        self.db.get(&Key::api_token(&self.organization, user_id)).await
    }

    /// Stores a new token record. `replacing` is the record read before (if any): the write only succeeds
    /// if that is still what is stored, so two concurrent "get token" calls agree on one token.
    pub async fn replace_api_token(&self, token: &ApiToken, replacing: Option<&ApiToken>) -> Result<bool, ApiError> {
        debug_assert_eq!(token.organization, self.organization);
        let mut put = self.db.client.put_item().table_name(&self.db.table).set_item(Some(super::to_item(token)));
        put = match replacing {
            None => put.condition_expression("attribute_not_exists(PK)"),
            Some(old) => put
                .condition_expression("nonce = :old")
                .expression_attribute_values(":old", AttributeValue::S(old.nonce.clone())),
        };
        match put.send().await {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|se| se.is_conditional_check_failed_exception()) => Ok(false),
            Err(e) => Err(sdk_error("PutItem", e)),
        }
    }

    pub async fn delete_api_token(&self, user_id: &str) -> Result<(), ApiError> {
        self.delete(&Key::api_token(&self.organization, user_id)).await
    }

    pub async fn delete_session(&self, session_id: &str) -> Result<(), ApiError> {
        self.delete(&Key::session(&self.organization, session_id)).await
    }

    async fn delete(&self, key: &Key) -> Result<(), ApiError> {
        self.db
            .client
            .delete_item()
            .table_name(&self.db.table)
            .set_key(Some(super::key_attributes(key)))
            .send()
            .await
            .map_err(|e| sdk_error("DeleteItem", e))?;
        Ok(())
    }
}

impl From<TransactError> for ApiError {
    fn from(err: TransactError) -> Self {
        match err {
            TransactError::Api(api) => api,
            TransactError::ConditionFailed { .. } => {
                ApiError::conflict("request.conflict", "The data changed while the request ran; please retry")
            }
        }
    }
}
