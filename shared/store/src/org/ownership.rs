//! Leaving an organization and handing it over: its active admins (whom both concern), the owner's pending
//! offer, and the conditions that keep exactly one owner.

use aws_sdk_dynamodb::types::TransactWriteItem;

use crate::StoreError;
use crate::model::{AuditEntry, Key, OwnershipTransfer, User, users_by_name_partition};
use crate::org::users::{listed_user_attribute_names, listed_user_projection};
use crate::org::{OrgStore, USERS_BY_NAME_INDEX, UserWriteConflict};
use crate::{from_item, n, s};

impl OrgStore<'_> {
    /// The organization's active admins (read with the listed attributes): one Query of the active users by
    /// name, filtered to admins, per megabyte of active users (one for a few thousand).
    pub async fn active_admins(&self) -> Result<Vec<User>, StoreError> {
        let mut admins = Vec::new();
        let mut start = None;
        loop {
            let output = self
                .db
                .client
                .query()
                .table_name(&self.db.table)
                .index_name(USERS_BY_NAME_INDEX)
                .key_condition_expression("usersByName = :p")
                .filter_expression("isAdmin = :admin")
                .expression_attribute_values(":p", s(users_by_name_partition(&self.organization, true)))
                .expression_attribute_values(":admin", aws_sdk_dynamodb::types::AttributeValue::Bool(true))
                .projection_expression(listed_user_projection())
                .set_expression_attribute_names(Some(listed_user_attribute_names()))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| StoreError::sdk("Query", e))?;
            for item in output.items.unwrap_or_default() {
                admins.push(from_item(item)?);
            }
            start = output.last_evaluated_key;
            if start.is_none() {
                return Ok(admins);
            }
        }
    }

    /// The owner's pending offer, if any (lapsed ones included until DynamoDB removes them).
    pub async fn ownership_transfer(&self) -> Result<Option<OwnershipTransfer>, StoreError> {
        self.db.get(&Key::ownership_transfer(&self.organization)).await
    }

    /// Stores an offer (replacing any earlier one) with its audit entry, in one transaction conditioned on the
    /// owner and the admin it names being as read (`versions`: owner's, admin's) and the organization still
    /// being the owner's: `false` when one changed meanwhile (nothing written).
    pub async fn offer_ownership(
        &self,
        transfer: &OwnershipTransfer,
        versions: (u64, u64),
        entry: &AuditEntry,
    ) -> Result<bool, StoreError> {
        let unchanged = |user_id: &str, version: u64| {
            self.db.condition_check(&Key::user(&self.organization, user_id), "version = :v", vec![(":v", n(version))])
        };
        let items = vec![
            self.db.put(transfer),
            unchanged(&transfer.from_user_id, versions.0),
            unchanged(&transfer.to_user_id, versions.1),
            self.owned_by(&transfer.from_user_id),
            self.db.put_new(entry),
        ];
        self.db.transact_if(items).await
    }

    /// The items that make an accepted offer final, for the transaction that also writes both users: the
    /// offer goes (once: conditioned on being this very offer), and the organization's owner changes from the
    /// offering owner (conditioned on it still being theirs and not being deleted). A failed condition means
    /// something changed since it was read.
    pub fn ownership_acceptance_items(
        &self,
        transfer: &OwnershipTransfer,
    ) -> Vec<(TransactWriteItem, UserWriteConflict)> {
        let offer = self.db.delete_with_values(
            &Key::ownership_transfer(&self.organization),
            Some("tokenHash = :hash AND toUserId = :to AND fromUserId = :from"),
            vec![
                (":hash", s(&transfer.token_hash)),
                (":to", s(&transfer.to_user_id)),
                (":from", s(&transfer.from_user_id)),
            ],
        );
        let owner = self.db.update(
            &Key::organization(&self.organization),
            "SET ownerUserId = :to",
            Some("ownerUserId = :from AND attribute_not_exists(deletionRequestedAt)"),
            &[],
            vec![(":to", s(&transfer.to_user_id)), (":from", s(&transfer.from_user_id))],
        );
        vec![(offer, UserWriteConflict::Stale), (owner, UserWriteConflict::Stale)]
    }

    /// A check that the organization is `owner`'s and not being deleted.
    fn owned_by(&self, owner: &str) -> TransactWriteItem {
        self.db.condition_check(
            &Key::organization(&self.organization),
            "ownerUserId = :owner AND attribute_not_exists(deletionRequestedAt)",
            vec![(":owner", s(owner))],
        )
    }
}
