//! Teams and their members.

use crate::StoreError;
use crate::model::{AuditEntry, Key, Membership, TEAM_PREFIX, Team, TeamNameGuard, members_prefix, org_partition};
use crate::org::OrgStore;
use crate::org::QueryPage;
use crate::{TransactError, from_item, s};
use aws_sdk_dynamodb::types::AttributeValue;

impl OrgStore<'_> {
    pub async fn team(&self, team_id: &str) -> Result<Option<Team>, StoreError> {
        if !crate::ids::is_object_id(team_id) {
            return Ok(None);
        }
        self.db.get(&Key::team(&self.organization, team_id)).await
    }

    /// Every team of the organization, including ones being deleted (one Query per 1 MB).
    pub async fn teams(&self) -> Result<Vec<Team>, StoreError> {
        let items = self.query_all(TEAM_PREFIX).await?;
        items.into_iter().map(from_item).collect()
    }

    /// One page of a team's memberships, by user id, after the user id `after`.
    pub async fn team_members(
        &self,
        team_id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<QueryPage<Membership>, StoreError> {
        let prefix = members_prefix(team_id);
        let output = self
            .db
            .client
            .query()
            .table_name(&self.db.table)
            .key_condition_expression("PK = :pk AND SK BETWEEN :from AND :to")
            .expression_attribute_values(":pk", s(org_partition(&self.organization)))
            .expression_attribute_values(
                ":from",
                s(format!("{prefix}{}", after.map(|a| format!("{a}\u{1}")).unwrap_or_default())),
            )
            .expression_attribute_values(":to", s(format!("{prefix}\u{10FFFF}")))
            .consistent_read(true)
            .limit(limit.clamp(1, 1000) as i32)
            .send()
            .await
            .map_err(|e| StoreError::sdk("Query", e))?;
        QueryPage::of(output)
    }

    /// Creates a team whose name is free in the organization (case-insensitively), with its audit entry, in
    /// one transaction.
    pub async fn create_team(&self, team: &Team, entry: &AuditEntry) -> Result<(), StoreError> {
        debug_assert_eq!(team.organization, self.organization);
        let guard = TeamNameGuard {
            organization: self.organization.clone(),
            name: team.name.clone(),
            team_id: team.id.clone(),
        };
        match self.db.transact(vec![self.db.put_new(&guard), self.db.put_new(team), self.db.put_new(entry)]).await {
            Ok(()) => Ok(()),
            Err(TransactError::ConditionFailed { .. }) => Err(StoreError::TeamNameTaken(team.name.clone())),
            Err(TransactError::Store(err)) => Err(err),
        }
    }

    /// Marks a team as being deleted (so nobody joins it any more: for the organization it is gone), with the
    /// deletion's audit entry; false if it is gone already.
    pub async fn mark_team_deleting(&self, team_id: &str, entry: &AuditEntry) -> Result<bool, StoreError> {
        let mark = self.db.update(
            &Key::team(&self.organization, team_id),
            "SET deleting = :t",
            Some("attribute_exists(PK) AND isOrganizationTeam = :f AND deleting = :f"),
            &[],
            vec![(":t", AttributeValue::Bool(true)), (":f", AttributeValue::Bool(false))],
        );
        self.db.transact_if(vec![mark, self.db.put_new(entry)]).await
    }

    /// Deletes the team item and its name guard, once no membership is left.
    pub async fn delete_team_items(&self, team: &Team) -> Result<(), StoreError> {
        let items = vec![
            self.db.delete_with_values(
                &Key::team(&self.organization, &team.id),
                Some("deleting = :t"),
                vec![(":t", AttributeValue::Bool(true))],
            ),
            self.db.delete(&Key::team_name_guard(&self.organization, &team.name), None),
        ];
        self.db.transact(items).await.map_err(StoreError::from)
    }
}
