//! Users: reading them (one, many, by name, by experience) and writing them with their memberships,
//! experiences and counters in one transaction, conditioned on the versions read.

use crate::StoreError;
use crate::model::{
    AuditEntry, EXPERIENCE_DOMAIN_PREFIX, ExperienceDomain, Key, Membership, User, UserExperience,
    experience_partition, org_partition, users_by_name_partition,
};
use crate::org::OrgStore;
use crate::org::QueryPage;
use crate::org::USERS_BY_EXPERIENCE_INDEX;
use crate::org::USERS_BY_NAME_INDEX;
use crate::{TransactError, from_item, n, s};
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};
use std::collections::{BTreeSet, HashMap};

/// The attributes a listed user is read with: every field of [`User`] but the two only a write needs
/// (`version`, `sessionEpoch`), without the item's keys and index attributes. A page of users parses a
/// third fewer attributes (the SDK's parsing is most of a listing's own time, docs/performance.md). A user
/// read this way is for showing and choosing: a write conditioned on its `version` (0) fails.
const LISTED_USER_ATTRIBUTES: &[&str] = &[
    "id",
    "organization",
    "accountId",
    "email",
    "isEmailVerified",
    "firstName",
    "lastName",
    "isAdmin",
    "isOrganizationOwner",
    "isDatasetManager",
    "isDeactivated",
    "teams",
    "experiences",
    "lastActivity",
    "created",
    "mayDeleteOrganization",
];

/// The projection that reads [`LISTED_USER_ATTRIBUTES`] (as placeholders `#a0`, `#a1`, ...).
pub(crate) fn listed_user_projection() -> String {
    (0..LISTED_USER_ATTRIBUTES.len()).map(|i| format!("#a{i}")).collect::<Vec<_>>().join(", ")
}

/// The placeholders of [`listed_user_projection`] and the attribute names they stand for.
pub(crate) fn listed_user_attribute_names() -> HashMap<String, String> {
    LISTED_USER_ATTRIBUTES.iter().enumerate().map(|(i, name)| (format!("#a{i}"), (*name).to_owned())).collect()
}

/// A user item to write: its state when read (`before`, `None` for a new user) and the new state.
pub struct UserWrite {
    pub before: Option<User>,
    pub after: User,
}

impl UserWrite {
    /// The teams this write joins or changes the role in: each must exist and not be in deletion when it
    /// commits.
    pub(crate) fn teams_to_check(&self) -> impl Iterator<Item = &str> {
        let old = self.before.as_ref().map(|b| &b.teams);
        (self.after.teams.iter())
            .filter(move |(id, role)| old.and_then(|teams| teams.get(*id)) != Some(*role))
            .map(|(id, _)| id.as_str())
    }
}

/// What else a user change must do or check in the same transaction.
#[derive(Default, Clone)]
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
    /// The audit entries of the change, written with it.
    pub audit: Vec<AuditEntry>,
    /// The teams checked to exist and not be in deletion: by default (`None`) each team the writes join or
    /// change a role in ([`UserWrite::teams_to_check`]); a change spanning transactions names them (none
    /// in its provisional transactions, all of the change's in its last).
    pub team_checks: Option<BTreeSet<String>>,
    /// Daily mail budgets the change's notices count on, each by the given number, on the condition that
    /// they fit ([`OrgStore::write_all_or_nothing`] writes the change without them when one does not).
    pub mail_budgets: Vec<(crate::quotas::Budget, u32)>,
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
    /// A mail budget of `mail_budgets` has no room for the change's notices.
    MailBudgetUsedUp,
}

pub enum UserWriteError {
    Conflict(UserWriteConflict),
    Store(StoreError),
}

impl From<StoreError> for UserWriteError {
    fn from(err: StoreError) -> Self {
        UserWriteError::Store(err)
    }
}

impl OrgStore<'_> {
    pub async fn user(&self, user_id: &str) -> Result<Option<User>, StoreError> {
        if !crate::ids::is_object_id(user_id) {
            return Ok(None);
        }
        self.db.get(&Key::user(&self.organization, user_id)).await
    }

    /// The users with these ids that exist (one BatchGetItem per 100).
    pub async fn users(&self, user_ids: &[String]) -> Result<Vec<User>, StoreError> {
        let keys: Vec<Key> = user_ids
            .iter()
            .filter(|id| crate::ids::is_object_id(id))
            .map(|id| Key::user(&self.organization, id))
            .collect();
        let mut items = self.db.batch_get(&keys).await?;
        keys.iter().filter_map(|key| items.remove(key)).map(from_item).collect()
    }

    /// The organization's experience domains, sorted.
    pub async fn experience_domains(&self) -> Result<Vec<String>, StoreError> {
        let items = self.query_all(EXPERIENCE_DOMAIN_PREFIX).await?;
        items.into_iter().map(|item| from_item::<ExperienceDomain>(item).map(|d| d.domain)).collect()
    }

    /// One page of the organization's active (or deactivated) users sorted by name, after `after`
    /// (a `User::name_key`), read with [`LISTED_USER_ATTRIBUTES`]. The index is eventually consistent, as
    /// lists may be.
    pub async fn users_by_name(
        &self,
        active: bool,
        after: Option<&str>,
        limit: usize,
    ) -> Result<QueryPage<User>, StoreError> {
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
            .projection_expression(listed_user_projection())
            .set_expression_attribute_names(Some(listed_user_attribute_names()))
            .send()
            .await
            .map_err(|e| StoreError::sdk("Query", e))?;
        QueryPage::of(output)
    }

    /// One page of the active users with at least `min_value` in `domain`, highest first, after the
    /// position `after` (value, user id) of the previous page. Reads only matching users.
    pub async fn users_with_experience(
        &self,
        domain: &str,
        min_value: i64,
        after: Option<(i64, &str)>,
        limit: usize,
    ) -> Result<QueryPage<(String, i64)>, StoreError> {
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
            .map_err(|e| StoreError::sdk("Query", e))?;
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
            // A team joined gets its membership; a role changed is the user's item alone.
            for team_id in after.teams.keys().filter(|id| !old_teams.contains_key(*id)) {
                let membership = Membership {
                    organization: self.organization.clone(),
                    team_id: team_id.clone(),
                    user_id: after.id.clone(),
                };
                items.push(self.db.put(&membership));
                meanings.push(UserWriteConflict::Stale);
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
        let team_checks = match &extras.team_checks {
            Some(teams) => teams.clone(),
            None => writes.iter().flat_map(UserWrite::teams_to_check).map(str::to_owned).collect(),
        };
        for team_id in team_checks {
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
        for entry in &extras.audit {
            debug_assert_eq!(entry.organization, self.organization);
            items.push(self.db.put_new(entry));
            meanings.push(UserWriteConflict::Stale);
        }
        let day = crate::ids::now_seconds().div_euclid(86_400);
        for (budget, count) in &extras.mail_budgets {
            items.push(crate::quotas::count_on_budget(self.db, budget, day, *count));
            meanings.push(UserWriteConflict::MailBudgetUsedUp);
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
        if items.len() > crate::TRANSACTION_LIMIT {
            return Err(UserWriteError::Store(StoreError::TooManyChanges));
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
                        UserWriteConflict::MailBudgetUsedUp => 4,
                        UserWriteConflict::Stale => 3,
                        UserWriteConflict::AdminCheckFailed => 2,
                        UserWriteConflict::IncludedUsersExceeded => 1,
                        UserWriteConflict::EmailInUse => 0,
                    })
                    .unwrap_or(UserWriteConflict::Stale);
                Err(UserWriteError::Conflict(conflict))
            }
            Err(TransactError::Store(err)) => Err(UserWriteError::Store(err)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::LISTED_USER_ATTRIBUTES;
    use crate::model::User;

    #[test]
    fn a_listed_user_has_every_field_but_the_version_and_the_session_epoch() {
        let user =
            User::new_member("u".into(), "lab", ("a", "a@example.org", true), ("A".into(), "B".into()), [].into(), 1);
        let mut stored: Vec<String> = crate::to_item(&user).into_keys().collect();
        stored.retain(|name| {
            !["PK", "SK", "entity", "usersByName", "nameKey", "version", "sessionEpoch"].contains(&name.as_str())
        });
        stored.sort();
        let mut listed: Vec<String> = LISTED_USER_ATTRIBUTES.iter().map(|name| (*name).to_owned()).collect();
        listed.sort();
        assert_eq!(listed, stored);
    }
}
