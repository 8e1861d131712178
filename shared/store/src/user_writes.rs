//! User writes that may need more than one transaction (DynamoDB allows 100 items in one), all or nothing.

use std::collections::{BTreeSet, HashMap};

use super::org::{OrgStore, UserWrite, UserWriteConflict, UserWriteError, UserWriteExtras};
use crate::model::{AuditEntry, User};

/// How far a transaction of a multi-transaction change that may still be undone moves a user's version
/// (instead of 1): its undo restores the user exactly, version included, and since normal writes count
/// up by one from there, no later version equals the one the undone write had. So nobody who read the
/// undone state can commit a change based on it (no ABA).
pub(crate) const PROVISIONAL_VERSION_STEP: u64 = 1 << 32;

/// What [`OrgStore::write_all_or_nothing`] wrote.
#[derive(Debug)]
pub struct UsersWritten {
    /// The version each changed user has now.
    pub versions: HashMap<String, u64>,
    /// Whether the extras' mail budgets were counted (no room in one of them: the change was written
    /// without them, and the notices must be admitted otherwise).
    pub mail_budgets_counted: bool,
}

/// Writes user changes that may need more than one transaction (DynamoDB allows 100 items in one) and
/// returns the version each changed user has now. Each transaction holds whole users; all but the last
/// are sent at once and check nothing, and the last, after them, checks the teams and the admin and
/// writes the new experience domains and the mail budgets. If a transaction fails, the users the others
/// wrote are restored exactly (each conditioned on the version this request wrote), so the request
/// changes all users and the domain list, or none; a last transaction that fails only on a mail budget is
/// sent again without the budgets. Other readers may see the earlier transactions' users meanwhile
/// (docs/data-model.md, "Changes spanning transactions").
impl OrgStore<'_> {
    pub async fn write_all_or_nothing(
        &self,
        writes: &[UserWrite],
        extras: &UserWriteExtras,
    ) -> Result<UsersWritten, UserWriteError> {
        let store = self;
        // A user's version after this change, moved by `step`.
        let version_after = |w: &UserWrite, step: u64| w.before.as_ref().map_or(0, |b| b.version + step);
        let (all_items, _) = store.user_write_items(writes, extras);
        if all_items.len() <= super::TRANSACTION_LIMIT {
            let mail_budgets_counted = store.write_users_counting_mail(writes, extras).await?;
            let versions = writes.iter().map(|w| (w.after.id.clone(), version_after(w, 1))).collect();
            return Ok(UsersWritten { versions, mail_budgets_counted });
        }
        // Each user's audit entries go in the transaction that writes the user; any others with the last.
        let entries_of = |user_id: &str| -> Vec<AuditEntry> {
            extras.audit.iter().filter(|e| e.targets.first().is_some_and(|t| t.id == user_id)).cloned().collect()
        };
        let others: Vec<AuditEntry> = extras
            .audit
            .iter()
            .filter(|e| !writes.iter().any(|w| e.targets.first().is_some_and(|t| t.id == w.after.id)))
            .cloned()
            .collect();
        // The users' own items (user, memberships, experiences, audit) fill transactions of up to 100,
        // sent all at once and provisional: they check nothing. The checks (each team joined or whose role
        // changed, the admin), the new experience domains, the mail budgets and the entries of no user go
        // in the last transaction, after them, with the last users if they fit beside them: so the change
        // commits only if the teams and the admin still stand when everything else is written.
        let mut chunks: Vec<Vec<&UserWrite>> = vec![Vec::new()];
        let mut size = 0;
        let mut teams = BTreeSet::new();
        for write in writes {
            let own = UserWriteExtras {
                audit: entries_of(&write.after.id),
                team_checks: Some(BTreeSet::new()),
                ..UserWriteExtras::default()
            };
            let own_items = store.user_write_items(std::slice::from_ref(write), &own).0.len();
            teams.extend(write.teams_to_check().map(str::to_owned));
            if size + own_items > super::TRANSACTION_LIMIT && !chunks.last().unwrap().is_empty() {
                chunks.push(Vec::new());
                size = 0;
            }
            size += own_items;
            chunks.last_mut().unwrap().push(write);
        }
        let last_only = teams.len()
            + usize::from(extras.active_admin_check.is_some())
            + extras.experience_domains.len()
            + others.len()
            + extras.mail_budgets.len();
        if size + last_only > super::TRANSACTION_LIMIT {
            chunks.push(Vec::new());
        }
        let with_versions = |chunk: &[&UserWrite], step: u64| -> Vec<UserWrite> {
            chunk
                .iter()
                .map(|w| {
                    let after = User { version: version_after(w, step), ..w.after.clone() };
                    UserWrite { before: w.before.clone(), after }
                })
                .collect()
        };
        let (last, provisional) = chunks.split_last().expect("one chunk at least");
        let provisional: Vec<Vec<UserWrite>> =
            provisional.iter().map(|chunk| with_versions(chunk, PROVISIONAL_VERSION_STEP)).collect();
        let written = futures_util::future::join_all(provisional.iter().map(|owned| async move {
            let chunk_extras = UserWriteExtras {
                exact_versions: true,
                team_checks: Some(BTreeSet::new()),
                audit: owned.iter().flat_map(|w| entries_of(&w.after.id)).collect(),
                ..UserWriteExtras::default()
            };
            store.write_users(owned, &chunk_extras).await
        }))
        .await;
        let mut done: Vec<UserWrite> = Vec::new();
        let mut failure = None;
        for (owned, result) in provisional.into_iter().zip(written) {
            match result {
                Ok(()) => done.extend(owned),
                Err(err) => {
                    failure.get_or_insert(err);
                }
            }
        }
        if let Some(err) = failure {
            store.undo(&done, &extras.audit).await;
            return Err(err);
        }
        let owned = with_versions(last, 1);
        let mut audit: Vec<AuditEntry> = owned.iter().flat_map(|w| entries_of(&w.after.id)).collect();
        audit.extend(others);
        let last_extras = UserWriteExtras {
            active_admin_check: extras.active_admin_check.clone(),
            experience_domains: extras.experience_domains.clone(),
            exact_versions: true,
            audit,
            mail_budgets: extras.mail_budgets.clone(),
            team_checks: Some(teams),
            ..UserWriteExtras::default()
        };
        let mail_budgets_counted = match store.write_users_counting_mail(&owned, &last_extras).await {
            Ok(counted) => counted,
            Err(err) => {
                store.undo(&done, &extras.audit).await;
                return Err(err);
            }
        };
        done.extend(owned);
        let versions = done.iter().map(|w| (w.after.id.clone(), w.after.version)).collect();
        Ok(UsersWritten { versions, mail_budgets_counted })
    }

    /// Writes user changes in one transaction with the extras' mail budgets, and when only a budget has no
    /// room, again without them (nothing of the first try was written); answers whether they were counted.
    async fn write_users_counting_mail(
        &self,
        writes: &[UserWrite],
        extras: &UserWriteExtras,
    ) -> Result<bool, UserWriteError> {
        match self.write_users(writes, extras).await {
            Ok(()) => Ok(true),
            Err(UserWriteError::Conflict(UserWriteConflict::MailBudgetUsedUp)) => {
                let without = UserWriteExtras { mail_budgets: Vec::new(), ..extras.clone() };
                self.write_users(writes, &without).await.map(|()| false)
            }
            Err(err) => Err(err),
        }
    }
}

impl OrgStore<'_> {
    /// Restores the users a failed multi-transaction change had already written, exactly as they were read
    /// (version included). A user someone changed since (after this request's write) keeps that change.
    /// Each restore is logged (`user.restored`, by the same actor) next to the entries of the undone change.
    async fn undo(&self, done: &[UserWrite], audit: &[AuditEntry]) {
        let store = self;
        for write in done {
            let Some(original) = &write.before else { continue };
            let undone: Vec<&AuditEntry> =
                audit.iter().filter(|e| e.targets.first().is_some_and(|t| t.id == original.id)).collect();
            let restored = undone.first().map(|entry| AuditEntry {
                id: crate::ids::new_audit_id(crate::ids::now_millis()),
                action: "user.restored".into(),
                occurred_at: crate::ids::now_millis(),
                change: serde_json::json!({ "undone": undone.iter().map(|e| e.action.as_str()).collect::<Vec<_>>() })
                    .to_string(),
                ..(*entry).clone()
            });
            let restore_extras = UserWriteExtras {
                exact_versions: true,
                audit: restored.into_iter().collect(),
                ..UserWriteExtras::default()
            };
            let restore = UserWrite { before: Some(write.after.clone()), after: original.clone() };
            if let Err(UserWriteError::Conflict(_) | UserWriteError::Store(_)) =
                store.write_users(&[restore], &restore_extras).await
            {
                tracing::error!(user = %original.id, "could not restore a user after a failed bulk change");
            }
        }
    }
}
