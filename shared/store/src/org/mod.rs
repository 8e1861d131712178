//! Access to one organization's items. An `OrgStore` is made from an authenticated caller
//! (`Caller::store`), or for an organization the request just proved membership of; every key it builds
//! starts with that organization's partition, so no method can reach another organization's data.

use super::{Db, Item, TransactError, from_item, n, s};
use crate::StoreError;
use crate::model::{ApiToken, AuditEntry, Key, User, org_partition};

mod audit;
mod invites;
mod organization;
mod ownership;
mod sso;
mod teams;
mod users;

pub use audit::{AuditPage, AuditQuery};
pub use organization::{Field, OrganizationChange, PartitionItem, PartitionItemKind};
pub use sso::DomainWriteError;
pub use users::{UserWrite, UserWriteConflict, UserWriteError, UserWriteExtras};

/// Name of the index that lists an organization's users by name.
pub(crate) const USERS_BY_NAME_INDEX: &str = "UsersByName";

/// Name of the index of active users' experiences by organization and domain, by value.
pub(crate) const USERS_BY_EXPERIENCE_INDEX: &str = "UsersByExperience";

/// One DynamoDB page of a key-range or index query.
pub struct QueryPage<T> {
    pub items: Vec<T>,
    /// Whether more items may follow.
    pub more: bool,
}

impl<E: crate::model::Entity> QueryPage<E> {
    /// A Query's items as entities, and whether more follow.
    fn of(output: aws_sdk_dynamodb::operation::query::QueryOutput) -> Result<Self, StoreError> {
        let more = output.last_evaluated_key.is_some();
        let items = output.items.unwrap_or_default().into_iter().map(from_item).collect::<Result<_, _>>()?;
        Ok(QueryPage { items, more })
    }
}

pub struct OrgStore<'a> {
    db: &'a Db,
    organization: String,
}

impl<'a> OrgStore<'a> {
    /// For the domain's flows that act in an organization named by something other than the caller (an
    /// invite, a job, a purge); a request's handlers get theirs from the authenticated `Caller`.
    pub fn new(db: &'a Db, organization: &str) -> Self {
        OrgStore { db, organization: organization.to_owned() }
    }

    /// For trusted internal services (such as task distribution) that act for an organization they name.
    /// No HTTP handler uses it: requests get their store from the authenticated caller.
    pub fn for_internal_service(db: &'a Db, organization: &str) -> Self {
        Self::new(db, organization)
    }

    pub fn organization_id(&self) -> &str {
        &self.organization
    }

    /// For the store's other modules (joins, user writes).
    pub(super) fn db(&self) -> &'a Db {
        self.db
    }

    /// Every item of the organization partition whose sort key starts with `prefix`.
    async fn query_all(&self, prefix: &str) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let output = self
                .db
                .client
                .query()
                .table_name(&self.db.table)
                .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
                .expression_attribute_values(":pk", s(org_partition(&self.organization)))
                .expression_attribute_values(":prefix", s(prefix))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| StoreError::sdk("Query", e))?;
            items.extend(output.items.unwrap_or_default());
            start = output.last_evaluated_key;
            if start.is_none() {
                return Ok(items);
            }
        }
    }

    /// Records activity and returns the updated user (one UpdateItem; the user must still exist).
    pub async fn touch_last_activity(&self, user_id: &str, now: i64) -> Result<User, StoreError> {
        let output = self
            .db
            .client
            .update_item()
            .table_name(&self.db.table)
            .set_key(Some(crate::key_attributes(&Key::user(&self.organization, user_id))))
            .update_expression("SET lastActivity = :now")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_values(":now", n(now))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await
            .map_err(|e| match e.as_service_error() {
                Some(se) if se.is_conditional_check_failed_exception() => StoreError::CredentialGone,
                _ => StoreError::sdk("UpdateItem", e),
            })?;
        super::from_item(output.attributes.unwrap_or_default())
    }

    pub async fn api_token(&self, user_id: &str) -> Result<Option<ApiToken>, StoreError> {
        self.db.get(&Key::api_token(&self.organization, user_id)).await
    }

    /// Stores a new token record with its audit entry. `replacing` is the record read before (if any): the
    /// write only succeeds if that is still what is stored, so two concurrent "get token" calls agree on one
    /// token.
    pub async fn replace_api_token(
        &self,
        token: &ApiToken,
        replacing: Option<&ApiToken>,
        entry: &AuditEntry,
    ) -> Result<bool, StoreError> {
        debug_assert_eq!(token.organization, self.organization);
        let put = match replacing {
            None => self.db.put_conditioned(token, "attribute_not_exists(PK)", Vec::new()),
            Some(old) => self.db.put_conditioned(token, "nonce = :old", vec![(":old", s(&old.nonce))]),
        };
        self.db.transact_if(vec![put, self.db.put_new(entry)]).await
    }

    /// Deletes the user's token record with its audit entry; `false` when there was none.
    pub async fn delete_api_token(&self, user_id: &str, entry: &AuditEntry) -> Result<bool, StoreError> {
        let delete = self.db.delete(&Key::api_token(&self.organization, user_id), Some("attribute_exists(PK)"));
        self.db.transact_if(vec![delete, self.db.put_new(entry)]).await
    }

    pub async fn delete_membership(&self, team_id: &str, user_id: &str) -> Result<(), StoreError> {
        self.delete(&Key::membership(&self.organization, team_id, user_id)).await
    }

    /// Ends a session with its audit entry (an expired session the TTL removed ends without one).
    pub async fn delete_session(&self, session_id: &str, entry: &AuditEntry) -> Result<(), StoreError> {
        let delete = self.db.delete(&Key::session(&self.organization, session_id), Some("attribute_exists(PK)"));
        self.db.transact_if(vec![delete, self.db.put_new(entry)]).await.map(|_| ())
    }

    async fn delete(&self, key: &Key) -> Result<(), StoreError> {
        self.db
            .client
            .delete_item()
            .table_name(&self.db.table)
            .set_key(Some(crate::key_attributes(key)))
            .send()
            .await
            .map_err(|e| StoreError::sdk("DeleteItem", e))?;
        Ok(())
    }
}

impl From<TransactError> for StoreError {
    fn from(err: TransactError) -> Self {
        match err {
            TransactError::Store(api) => api,
            TransactError::ConditionFailed { .. } => StoreError::Conflict,
        }
    }
}

/// `state` is a DynamoDB reserved word: conditions name it `#state`.
const STATE_NAME: &[(&str, &str)] = &[("#state", "state")];
