//! Access to one organization's items. An `OrgStore` is made from an authenticated caller
//! (`Caller::store`), or for an organization the request just proved membership of; every key it builds
//! starts with that organization's partition, so no method can reach another organization's data.

use std::collections::{BTreeSet, HashMap};

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};

use super::{Db, Item, TransactError, from_item, n, s};
use crate::error::{ApiError, sdk_error};
use crate::model::{
    ApiToken, CREDIT_PREFIX, CreditTransaction, EXPERIENCE_DOMAIN_PREFIX, ExperienceDomain, INVITE_PREFIX, Invite,
    InviteEmailGuard, InviteState, Key, Membership, Organization, TEAM_PREFIX, Team, TeamNameGuard, User,
    UserExperience, experience_partition, members_prefix, org_partition, users_by_name_partition,
};

/// Name of the index that lists an organization's users by name.
pub const USERS_BY_NAME_INDEX: &str = "UsersByName";
/// Name of the index of active users' experiences by organization and domain, by value.
pub const USERS_BY_EXPERIENCE_INDEX: &str = "UsersByExperience";

/// A user item to write: its state when read (`before`, `None` for a new user) and the new state.
pub struct UserWrite {
    pub before: Option<User>,
    pub after: User,
}

/// What else a user change must do or check in the same transaction.
#[derive(Default)]
pub struct UserWriteExtras {
    /// Change of the organization's active-user count; a rise is conditioned on `includedUsers`.
    pub active_user_delta: i64,
    /// Change of the organization's member count.
    pub member_delta: i64,
    /// A user that must still be an active admin when the change commits (the caller, or the admin that
    /// keeps the organization administered).
    pub active_admin_check: Option<String>,
    /// Experience domains to add to the organization's list.
    pub experience_domains: BTreeSet<String>,
    /// Write each `after.version` as given (still conditioned on `before.version`) instead of
    /// `before.version + 1`: for changes spanning transactions, whose undo restores items exactly.
    pub exact_versions: bool,
    /// The (one, new) user written becomes the organization's owner, on the condition that it has none.
    pub claim_ownership: bool,
}

/// Why a user change did not commit.
#[derive(Debug, PartialEq, Eq)]
pub enum UserWriteConflict {
    /// A user changed since it was read: read again and retry.
    Stale,
    /// Activating would exceed the plan's `includedUsers`.
    IncludedUsersExceeded,
    /// The admin named in `active_admin_check` is no longer an active admin.
    AdminCheckFailed,
    /// A new e-mail address (of a credentials change written with the user) is taken.
    EmailInUse,
}

pub enum UserWriteError {
    Conflict(UserWriteConflict),
    Api(ApiError),
}

impl From<ApiError> for UserWriteError {
    fn from(err: ApiError) -> Self {
        UserWriteError::Api(err)
    }
}

/// One DynamoDB page of a key-range or index query.
pub struct QueryPage<T> {
    pub items: Vec<T>,
    /// Whether more items may follow.
    pub more: bool,
}
pub struct OrgStore<'a> {
    db: &'a Db,
    organization: String,
}

impl<'a> OrgStore<'a> {
    /// Only for the domain crate: callers outside it get an `OrgStore` from an authenticated `Caller`.
    pub(crate) fn new(db: &'a Db, organization: &str) -> Self {
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

    pub async fn user(&self, user_id: &str) -> Result<Option<User>, ApiError> {
        if !crate::ids::is_object_id(user_id) {
            return Ok(None);
        }
        self.db.get(&Key::user(&self.organization, user_id)).await
    }

    /// The users with these ids that exist (one BatchGetItem per 100).
    pub async fn users(&self, user_ids: &[String]) -> Result<Vec<User>, ApiError> {
        let keys: Vec<Key> = user_ids
            .iter()
            .filter(|id| crate::ids::is_object_id(id))
            .map(|id| Key::user(&self.organization, id))
            .collect();
        let mut items = self.db.batch_get(&keys).await?;
        keys.iter().filter_map(|key| items.remove(key)).map(from_item).collect()
    }

    pub async fn team(&self, team_id: &str) -> Result<Option<Team>, ApiError> {
        if !crate::ids::is_object_id(team_id) {
            return Ok(None);
        }
        self.db.get(&Key::team(&self.organization, team_id)).await
    }

    /// Every team of the organization, including ones being deleted (one Query per 1 MB).
    pub async fn teams(&self) -> Result<Vec<Team>, ApiError> {
        let items = self.query_all(TEAM_PREFIX).await?;
        items.into_iter().map(from_item).collect()
    }

    /// The organization's experience domains, sorted.
    pub async fn experience_domains(&self) -> Result<Vec<String>, ApiError> {
        let items = self.query_all(EXPERIENCE_DOMAIN_PREFIX).await?;
        items.into_iter().map(|item| from_item::<ExperienceDomain>(item).map(|d| d.domain)).collect()
    }

    /// Every item of the organization partition whose sort key starts with `prefix`.
    async fn query_all(&self, prefix: &str) -> Result<Vec<Item>, ApiError> {
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
                .map_err(|e| sdk_error("Query", e))?;
            items.extend(output.items.unwrap_or_default());
            start = output.last_evaluated_key;
            if start.is_none() {
                return Ok(items);
            }
        }
    }

    /// One page of the organization's active (or deactivated) users sorted by name, after `after`
    /// (a `User::name_key`). The index is eventually consistent, as lists may be.
    pub async fn users_by_name(
        &self,
        active: bool,
        after: Option<&str>,
        limit: usize,
    ) -> Result<QueryPage<User>, ApiError> {
        let output = self
            .db
            .client
            .query()
            .table_name(&self.db.table)
            .index_name(USERS_BY_NAME_INDEX)
            .key_condition_expression(if after.is_some() {
                "usersByName = :p AND nameKey > :after"
            } else {
                "usersByName = :p"
            })
            .set_expression_attribute_values(Some({
                let mut values =
                    HashMap::from([(":p".to_owned(), s(users_by_name_partition(&self.organization, active)))]);
                if let Some(after) = after {
                    values.insert(":after".to_owned(), s(after));
                }
                values
            }))
            .limit(limit.clamp(1, 1000) as i32)
            .send()
            .await
            .map_err(|e| sdk_error("Query", e))?;
        let more = output.last_evaluated_key.is_some();
        let items = output.items.unwrap_or_default().into_iter().map(from_item).collect::<Result<_, _>>()?;
        Ok(QueryPage { items, more })
    }

    /// One page of the active users with at least `min_value` in `domain`, highest first, after the
    /// position `after` (value, user id) of the previous page. Reads only matching users.
    pub async fn users_with_experience(
        &self,
        domain: &str,
        min_value: i64,
        after: Option<(i64, &str)>,
        limit: usize,
    ) -> Result<QueryPage<(String, i64)>, ApiError> {
        let partition = experience_partition(&self.organization, domain);
        let start = after.map(|(value, user_id)| {
            HashMap::from([
                ("experienceKey".to_owned(), s(&partition)),
                ("experienceValue".to_owned(), n(value)),
                ("PK".to_owned(), s(org_partition(&self.organization))),
                ("SK".to_owned(), s(Key::user_experience(&self.organization, user_id, domain).sk)),
            ])
        });
        let output = self
            .db
            .client
            .query()
            .table_name(&self.db.table)
            .index_name(USERS_BY_EXPERIENCE_INDEX)
            .key_condition_expression("experienceKey = :p AND experienceValue >= :min")
            .expression_attribute_values(":p", s(&partition))
            .expression_attribute_values(":min", n(min_value))
            .scan_index_forward(false)
            .set_exclusive_start_key(start)
            .limit(limit.clamp(1, 1000) as i32)
            .send()
            .await
            .map_err(|e| sdk_error("Query", e))?;
        let more = output.last_evaluated_key.is_some();
        let prefix = "EXPERIENCE#";
        let items = output
            .items
            .unwrap_or_default()
            .into_iter()
            .filter_map(|item| {
                let sk = match item.get("SK") {
                    Some(AttributeValue::S(sk)) => sk.clone(),
                    _ => return None,
                };
                let value = match item.get("experienceValue") {
                    Some(AttributeValue::N(v)) => v.parse().ok()?,
                    _ => return None,
                };
                let user_id = sk.strip_prefix(prefix)?.split('#').next()?.to_owned();
                Some((user_id, value))
            })
            .collect();
        Ok(QueryPage { items, more })
    }

    /// One page of a team's memberships, by user id, after the user id `after`.
    pub async fn team_members(
        &self,
        team_id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<QueryPage<Membership>, ApiError> {
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
            .map_err(|e| sdk_error("Query", e))?;
        let more = output.last_evaluated_key.is_some();
        let items = output.items.unwrap_or_default().into_iter().map(from_item).collect::<Result<_, _>>()?;
        Ok(QueryPage { items, more })
    }

    /// Creates a team whose name is free in the organization (case-insensitively), in one transaction.
    pub async fn create_team(&self, team: &Team) -> Result<(), ApiError> {
        debug_assert_eq!(team.organization, self.organization);
        let guard = TeamNameGuard {
            organization: self.organization.clone(),
            name: team.name.clone(),
            team_id: team.id.clone(),
        };
        match self.db.transact(vec![self.db.put_new(&guard), self.db.put_new(team)]).await {
            Ok(()) => Ok(()),
            Err(TransactError::ConditionFailed { .. }) => Err(ApiError::conflict(
                "team.name.alreadyInUse",
                format!("A team named {:?} already exists in this organization", team.name),
            )),
            Err(TransactError::Api(err)) => Err(err),
        }
    }

    /// Marks a team as being deleted (so nobody joins it any more); false if it is gone already.
    pub async fn mark_team_deleting(&self, team_id: &str) -> Result<bool, ApiError> {
        let result = self
            .db
            .client
            .update_item()
            .table_name(&self.db.table)
            .set_key(Some(super::key_attributes(&Key::team(&self.organization, team_id))))
            .update_expression("SET deleting = :t")
            .condition_expression("attribute_exists(PK) AND isOrganizationTeam = :f")
            .expression_attribute_values(":t", AttributeValue::Bool(true))
            .expression_attribute_values(":f", AttributeValue::Bool(false))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|se| se.is_conditional_check_failed_exception()) => Ok(false),
            Err(e) => Err(sdk_error("UpdateItem", e)),
        }
    }

    /// Deletes the team item and its name guard, once no membership is left.
    pub async fn delete_team_items(&self, team: &Team) -> Result<(), ApiError> {
        let items = vec![
            self.db.delete_with_values(
                &Key::team(&self.organization, &team.id),
                Some("deleting = :t"),
                vec![(":t", AttributeValue::Bool(true))],
            ),
            self.db.delete(&Key::team_name_guard(&self.organization, &team.name), None),
        ];
        self.db.transact(items).await.map_err(ApiError::from)
    }

    /// The transaction items that write `writes` (user items conditioned on the version read, and the
    /// membership items that follow from their team changes) and `extras`.
    pub fn user_write_items(
        &self,
        writes: &[UserWrite],
        extras: &UserWriteExtras,
    ) -> (Vec<TransactWriteItem>, Vec<UserWriteConflict>) {
        let mut items = Vec::new();
        // What a failed condition of each item means.
        let mut meanings = Vec::new();
        let mut joined_teams = BTreeSet::new();
        for write in writes {
            debug_assert_eq!(write.after.organization, self.organization);
            let mut after = write.after.clone();
            match &write.before {
                Some(before) => {
                    if !extras.exact_versions {
                        after.version = before.version + 1;
                    }
                    items.push(self.db.put_conditioned(&after, "version = :v", vec![(":v", n(before.version))]));
                }
                None => items.push(self.db.put_new(&after)),
            }
            meanings.push(UserWriteConflict::Stale);
            let empty = Default::default();
            let old_teams = write.before.as_ref().map(|b| &b.teams).unwrap_or(&empty);
            for (team_id, role) in &after.teams {
                if old_teams.get(team_id) != Some(role) {
                    let membership = Membership {
                        organization: self.organization.clone(),
                        team_id: team_id.clone(),
                        user_id: after.id.clone(),
                        is_team_manager: role.is_team_manager,
                    };
                    joined_teams.insert(team_id.clone());
                    items.push(self.db.put(&membership));
                    meanings.push(UserWriteConflict::Stale);
                }
            }
            for team_id in old_teams.keys().filter(|id| !after.teams.contains_key(*id)) {
                items.push(self.db.delete(&Key::membership(&self.organization, team_id, &after.id), None));
                meanings.push(UserWriteConflict::Stale);
            }
            // The experience items mirror the experiences of active users only.
            let empty_experiences = Default::default();
            let old_experiences = match &write.before {
                Some(before) if before.is_active() => &before.experiences,
                _ => &empty_experiences,
            };
            let new_experiences = if after.is_active() { &after.experiences } else { &empty_experiences };
            for (domain, value) in new_experiences {
                if old_experiences.get(domain) != Some(value) {
                    let experience = UserExperience {
                        organization: self.organization.clone(),
                        user_id: after.id.clone(),
                        domain: domain.clone(),
                        value: *value,
                    };
                    items.push(self.db.put(&experience));
                    meanings.push(UserWriteConflict::Stale);
                }
            }
            for domain in old_experiences.keys().filter(|d| !new_experiences.contains_key(*d)) {
                items.push(self.db.delete(&Key::user_experience(&self.organization, &after.id, domain), None));
                meanings.push(UserWriteConflict::Stale);
            }
        }
        // Each team joined or whose role changed must exist and not be in deletion (one check per team:
        // a transaction may name an item only once).
        for team_id in joined_teams {
            items.push(self.db.condition_check(
                &Key::team(&self.organization, &team_id),
                "attribute_exists(PK) AND deleting = :f",
                vec![(":f", AttributeValue::Bool(false))],
            ));
            meanings.push(UserWriteConflict::Stale);
        }
        if extras.active_user_delta != 0 || extras.member_delta != 0 || extras.claim_ownership {
            // The organization must not be being deleted: no identity joins (or is activated in) an
            // organization whose purge may already have passed its part of the partition.
            let condition = if extras.active_user_delta > 0 {
                "attribute_exists(PK) AND attribute_not_exists(deletionRequestedAt) \
                     AND (attribute_not_exists(includedUsers) OR activeUserCount < includedUsers)"
            } else {
                "attribute_exists(PK) AND attribute_not_exists(deletionRequestedAt)"
            };
            let mut values = vec![(":active", n(extras.active_user_delta)), (":members", n(extras.member_delta))];
            let (expression, condition) = match writes.first().filter(|_| extras.claim_ownership) {
                Some(owner) => {
                    values.push((":owner", s(&owner.after.id)));
                    values.push((":unowned", s("")));
                    (
                        "ADD activeUserCount :active, memberCount :members SET ownerUserId = :owner",
                        format!("{condition} AND ownerUserId = :unowned"),
                    )
                }
                None => ("ADD activeUserCount :active, memberCount :members", condition.to_owned()),
            };
            items.push(self.db.update(
                &Key::organization(&self.organization),
                expression,
                Some(&condition),
                &[],
                values,
            ));
            meanings.push(UserWriteConflict::IncludedUsersExceeded);
        }
        if let Some(admin) = &extras.active_admin_check
            && !writes.iter().any(|w| &w.after.id == admin)
        {
            items.push(self.db.condition_check(
                &Key::user(&self.organization, admin),
                "isAdmin = :t AND isDeactivated = :f",
                vec![(":t", AttributeValue::Bool(true)), (":f", AttributeValue::Bool(false))],
            ));
            meanings.push(UserWriteConflict::AdminCheckFailed);
        }
        for domain in &extras.experience_domains {
            items.push(
                self.db.put(&ExperienceDomain { organization: self.organization.clone(), domain: domain.clone() }),
            );
            meanings.push(UserWriteConflict::Stale);
        }
        (items, meanings)
    }

    /// Writes user changes in one transaction (see [`Self::user_write_items`]).
    pub async fn write_users(&self, writes: &[UserWrite], extras: &UserWriteExtras) -> Result<(), UserWriteError> {
        self.write_users_with(writes, extras, Vec::new()).await
    }

    /// Writes user changes and `more` items (each with what its failed condition means) in one
    /// transaction.
    pub async fn write_users_with(
        &self,
        writes: &[UserWrite],
        extras: &UserWriteExtras,
        more: Vec<(TransactWriteItem, UserWriteConflict)>,
    ) -> Result<(), UserWriteError> {
        let (mut items, mut meanings) = self.user_write_items(writes, extras);
        for (item, meaning) in more {
            items.push(item);
            meanings.push(meaning);
        }
        if items.len() > super::TRANSACTION_LIMIT {
            return Err(UserWriteError::Api(ApiError::bad_request(
                "request.tooManyChanges",
                format!(
                    "This change needs more than {} item writes; change fewer users or teams at once",
                    super::TRANSACTION_LIMIT
                ),
            )));
        }
        match self.db.transact(items).await {
            Ok(()) => Ok(()),
            Err(TransactError::ConditionFailed { failed }) => {
                let conflict = failed
                    .iter()
                    .zip(meanings)
                    .filter(|(failed, _)| **failed)
                    .map(|(_, meaning)| meaning)
                    .min_by_key(|m| match m {
                        UserWriteConflict::Stale => 3,
                        UserWriteConflict::AdminCheckFailed => 2,
                        UserWriteConflict::IncludedUsersExceeded => 1,
                        UserWriteConflict::EmailInUse => 0,
                    })
                    .unwrap_or(UserWriteConflict::Stale);
                Err(UserWriteError::Conflict(conflict))
            }
            Err(TransactError::Api(err)) => Err(UserWriteError::Api(err)),
        }
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

    pub async fn invite(&self, invite_id: &str) -> Result<Option<Invite>, ApiError> {
        if !crate::ids::is_object_id(invite_id) {
            return Ok(None);
        }
        self.db.get(&Key::invite(&self.organization, invite_id)).await
    }

    /// One page of the organization's invites, newest first, after the invite id `after`.
    pub async fn invites(&self, after: Option<&str>, limit: usize) -> Result<QueryPage<Invite>, ApiError> {
        self.newest_first(INVITE_PREFIX, after, limit, |invite: &Invite| invite.id.as_str()).await
    }

    /// One page of the organization's credit transactions, newest first, after the transaction id `after`.
    pub async fn credit_transactions(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<QueryPage<CreditTransaction>, ApiError> {
        self.newest_first(CREDIT_PREFIX, after, limit, |transaction: &CreditTransaction| transaction.id.as_str()).await
    }

    /// One page of the items under `prefix` (whose time-ordered ids follow it in the sort key), newest first,
    /// after the item whose id is `after`.
    async fn newest_first<E: crate::model::Entity>(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
        id: impl Fn(&E) -> &str,
    ) -> Result<QueryPage<E>, ApiError> {
        let upper = match after {
            Some(after) => format!("{prefix}{after}"),
            None => format!("{prefix}\u{10FFFF}"),
        };
        let output = self
            .db
            .client
            .query()
            .table_name(&self.db.table)
            .key_condition_expression("PK = :pk AND SK BETWEEN :from AND :to")
            .expression_attribute_values(":pk", s(org_partition(&self.organization)))
            .expression_attribute_values(":from", s(prefix))
            .expression_attribute_values(":to", s(upper))
            .scan_index_forward(false)
            .consistent_read(true)
            .limit(limit.clamp(1, 1000) as i32 + i32::from(after.is_some()))
            .send()
            .await
            .map_err(|e| sdk_error("Query", e))?;
        let more = output.last_evaluated_key.is_some();
        let mut items: Vec<E> =
            output.items.unwrap_or_default().into_iter().map(from_item).collect::<Result<_, _>>()?;
        // BETWEEN includes its upper bound: the item the previous page ended with.
        items.retain(|item| Some(id(item)) != after);
        items.truncate(limit);
        Ok(QueryPage { items, more })
    }

    /// Stores a new invite with its e-mail guard: fails with `false` while another invite for the address
    /// is still valid.
    pub async fn create_invite(&self, invite: &Invite, now: i64) -> Result<bool, ApiError> {
        debug_assert_eq!(invite.organization, self.organization);
        let guard = InviteEmailGuard {
            organization: self.organization.clone(),
            email: invite.email.clone(),
            invite_id: invite.id.clone(),
            valid_until: invite.valid_until,
        };
        let items = vec![
            self.db.put_conditioned(&guard, "attribute_not_exists(PK) OR validUntil <= :now", vec![(":now", n(now))]),
            self.db.put_new(invite),
        ];
        match self.db.transact(items).await {
            Ok(()) => Ok(true),
            Err(TransactError::ConditionFailed { .. }) => Ok(false),
            Err(TransactError::Api(err)) => Err(err),
        }
    }

    /// Replaces a pending invite (delivery state, resend, revocation), conditioned on it being unchanged
    /// since read (its nonce and state); moves its e-mail guard along. `false`: it changed meanwhile.
    pub async fn replace_pending_invite(&self, before: &Invite, after: &Invite) -> Result<bool, ApiError> {
        let mut items = vec![self.db.put_conditioned_named(
            after,
            "nonce = :nonce AND #state = :pending",
            STATE_NAME,
            vec![(":nonce", s(&before.nonce)), (":pending", s("pending"))],
        )];
        let guard_key = Key::invite_email_guard(&self.organization, &before.email);
        if after.state == InviteState::Pending {
            if after.valid_until != before.valid_until {
                let guard = InviteEmailGuard {
                    organization: self.organization.clone(),
                    email: after.email.clone(),
                    invite_id: after.id.clone(),
                    valid_until: after.valid_until,
                };
                items.push(self.db.put_conditioned(
                    &guard,
                    "attribute_not_exists(PK) OR inviteId = :id",
                    vec![(":id", s(&after.id))],
                ));
            }
        } else {
            items.push(self.db.delete_with_values(
                &guard_key,
                Some("attribute_not_exists(PK) OR inviteId = :id"),
                vec![(":id", s(&after.id))],
            ));
        }
        match self.db.transact(items).await {
            Ok(()) => Ok(true),
            Err(TransactError::ConditionFailed { .. }) => Ok(false),
            Err(TransactError::Api(err)) => Err(err),
        }
    }

    /// The transaction items that mark `before` accepted as `after`: only if it is still pending, valid at
    /// `now`, and has the token checked (its nonce); they also free its e-mail guard.
    pub fn accept_invite_items(&self, before: &Invite, after: &Invite, now: i64) -> Vec<TransactWriteItem> {
        vec![
            self.db.put_conditioned_named(
                after,
                "nonce = :nonce AND #state = :pending AND validUntil > :now",
                STATE_NAME,
                vec![(":nonce", s(&before.nonce)), (":pending", s("pending")), (":now", n(now))],
            ),
            self.db.delete_with_values(
                &Key::invite_email_guard(&self.organization, &before.email),
                Some("attribute_not_exists(PK) OR inviteId = :id"),
                vec![(":id", s(&before.id))],
            ),
        ]
    }

    /// Updates the organization item (SET and REMOVE of the named attributes) unless it is being deleted;
    /// returns it as stored.
    pub async fn update_organization(
        &self,
        set: Vec<(&str, AttributeValue)>,
        remove: &[&str],
    ) -> Result<Organization, ApiError> {
        let mut names = HashMap::new();
        let mut values = HashMap::new();
        let mut clauses = Vec::new();
        for (index, (name, value)) in set.into_iter().enumerate() {
            names.insert(format!("#s{index}"), name.to_owned());
            values.insert(format!(":s{index}"), value);
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
            .set_key(Some(super::key_attributes(&Key::organization(&self.organization))))
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
        let result = self
            .db
            .client
            .update_item()
            .table_name(&self.db.table)
            .set_key(Some(super::key_attributes(&Key::organization(&self.organization))))
            .update_expression("SET usedStorageBytes = :bytes, storageReportedAt = :at")
            .condition_expression(
                "attribute_exists(PK) AND (attribute_not_exists(storageReportedAt) OR storageReportedAt < :at)",
            )
            .expression_attribute_values(":bytes", n(used_bytes))
            .expression_attribute_values(":at", n(reported_at))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|se| se.is_conditional_check_failed_exception()) => Ok(false),
            Err(e) => Err(sdk_error("UpdateItem", e)),
        }
    }

    /// Marks the organization as being deleted (it is unusable from this moment). `false`: it already is.
    pub async fn mark_deleting(&self, now: i64) -> Result<bool, ApiError> {
        let result = self
            .db
            .client
            .update_item()
            .table_name(&self.db.table)
            .set_key(Some(super::key_attributes(&Key::organization(&self.organization))))
            .update_expression("SET deletionRequestedAt = :now, deletionPartition = :partition")
            .condition_expression("attribute_exists(PK) AND attribute_not_exists(deletionRequestedAt)")
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":partition", s(crate::model::DELETION_PARTITION))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|se| se.is_conditional_check_failed_exception()) => Ok(false),
            Err(e) => Err(sdk_error("UpdateItem", e)),
        }
    }

    /// The first items of the organization's partition (strongly consistent): what a purge deletes next.
    pub async fn partition_page(&self, limit: usize) -> Result<Vec<Item>, ApiError> {
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
        Ok(output.items.unwrap_or_default())
    }

    pub async fn delete_membership(&self, team_id: &str, user_id: &str) -> Result<(), ApiError> {
        self.delete(&Key::membership(&self.organization, team_id, user_id)).await
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

/// `state` is a DynamoDB reserved word: conditions name it `#state`.
const STATE_NAME: &[(&str, &str)] = &[("#state", "state")];

/// Refusal of anything that would add someone to an organization whose deletion was accepted.
pub fn organization_deleting() -> ApiError {
    ApiError::new(410, "organization.deleting", "This organization is being deleted; nobody can join it")
}

fn organization_gone() -> ApiError {
    ApiError::not_found("organization.notFound", "There is no such organization, or it is being deleted")
}
