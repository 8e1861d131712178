//! Deleting an organization: the request marks it and purges what it can within its time; the scheduled
//! purge finishes.

use crate::app::App;
use crate::caller::Caller;
use crate::domain::audit::Auditor;
use crate::domain::organizations::OrganizationError;
use crate::domain::organizations::own;
use crate::error::DomainError;
use crate::ids;
use crate::model::JobLease;
use crate::model::{AuditTarget, Key};
use crate::store::accounts;
use crate::store::maintenance;
use crate::store::org::{OrgStore, PartitionItemKind};

/// `DELETE /organizations/{id}` with the organization's name as confirmation: by the owner, or an admin
/// the owner allowed to. From the moment it is accepted every request of the organization's identities is
/// refused; the purge then runs for at most `budget` here, and the scheduled purge finishes the rest.
pub async fn delete(
    app: &App,
    caller: &Caller,
    organization_id: &str,
    confirmation: &str,
    budget: std::time::Duration,
) -> Result<bool, DomainError> {
    own(caller, organization_id)?;
    confirms_deletion(confirmation, &caller.organization.name)?;
    let store = caller.store(app);
    let entry = Auditor::caller(app, caller).entry(
        organization_id,
        "organization.deletionRequested",
        vec![AuditTarget::organization(&caller.organization)],
        serde_json::json!({ "memberCount": caller.organization.member_count }),
    );
    store.mark_deleting(ids::now_millis(), &entry).await?;
    purge(app, organization_id, std::time::Instant::now() + budget).await
}

/// How many items a purge reads and deletes at a time, and how many accounts it updates at once.
pub(super) const PURGE_PAGE: usize = 200;

pub(super) const ACCOUNT_CONCURRENCY: usize = 16;

/// Deletes every item of an organization that is being deleted, page by page from the start of its
/// partition, until `deadline`: first each identity leaves its account, then the page's items go; the
/// organization item goes last. Returns whether it finished. Safe to repeat and to resume after a crash:
/// every step is idempotent and the partition itself is the work list.
pub async fn purge(app: &App, organization_id: &str, deadline: std::time::Instant) -> Result<bool, DomainError> {
    let store = OrgStore::new(&app.db, organization_id);
    let organization_key = Key::organization(organization_id);
    loop {
        let page = store.partition_page(PURGE_PAGE).await?;
        let mut keys = Vec::with_capacity(page.len());
        let mut detach = Vec::new();
        let mut released = Vec::new();
        for item in page {
            match item.kind {
                PartitionItemKind::Organization(organization) if item.key == organization_key => {
                    if !organization.is_being_deleted() {
                        return Err(OrganizationError::NotDeleting.into());
                    }
                    continue;
                }
                PartitionItemKind::User { account_id } => detach.push(account_id),
                PartitionItemKind::VerifiedDomain { domain } => released.push(domain),
                _ => {}
            }
            keys.push(item.key);
        }
        if keys.is_empty() {
            // Only the organization item is left: it goes, and its id stays reserved.
            accounts::bury_organization(&app.db, organization_id, ids::now_millis()).await?;
            return Ok(true);
        }
        for chunk in detach.chunks(ACCOUNT_CONCURRENCY) {
            let detaching = chunk.iter().map(|account| accounts::detach_identity(&app.db, account, organization_id));
            for result in futures_util::future::join_all(detaching).await {
                result?;
            }
        }
        // A verified domain's instance-wide record goes before its claim (which names it).
        for domain in &released {
            store.release_verified_domain(domain).await?;
        }
        store.delete_partition_items(&keys).await?;
        if std::time::Instant::now() >= deadline {
            return Ok(false);
        }
    }
}

/// The scheduled purge: finishes every organization whose deletion was accepted, until `deadline`.
/// Returns how many it finished.
///
/// One run at a time: a run holds the purge's lease (until its deadline and a margin) and gives it back
/// when it ends. `None` when another run holds it: this one does nothing.
pub async fn purge_pending(app: &App, deadline: std::time::Instant) -> Result<Option<usize>, DomainError> {
    crate::declared_actions::scope_unless_scoped(
        (&crate::background::ORGANIZATION_PURGE).into(),
        purge_pending_alone(app, deadline),
    )
    .await
}

/// How long a purge run's lease outlasts its deadline: the page in flight when the deadline comes.
const PURGE_LEASE_MARGIN_MS: i64 = 60_000;

async fn purge_pending_alone(app: &App, deadline: std::time::Instant) -> Result<Option<usize>, DomainError> {
    let now = crate::ids::now_millis();
    let left = deadline.saturating_duration_since(std::time::Instant::now()).as_millis() as i64;
    let lease = JobLease::new(crate::background::ORGANIZATION_PURGE.name, now + left + PURGE_LEASE_MARGIN_MS);
    if !maintenance::take_job_lease(&app.db, &lease, now).await? {
        return Ok(None);
    }
    let purged = purge_pending_in_scope(app, deadline).await;
    // Given back after a failure too, so the next run starts at once.
    let released = maintenance::release_job_lease(&app.db, &lease).await;
    let finished = purged?;
    released?;
    Ok(Some(finished))
}

async fn purge_pending_in_scope(app: &App, deadline: std::time::Instant) -> Result<usize, DomainError> {
    let mut finished = 0;
    for organization_id in maintenance::organizations_being_deleted(&app.db).await? {
        if std::time::Instant::now() >= deadline {
            break;
        }
        if purge(app, &organization_id, deadline).await? {
            finished += 1;
        }
    }
    Ok(finished)
}

/// A deletion is confirmed by the organization's name, typed exactly (surrounding spaces aside).
pub(crate) fn confirms_deletion(confirmation: &str, name: &str) -> Result<(), DomainError> {
    if confirmation.trim() != name {
        return Err(OrganizationError::DeletionNotConfirmed.into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_name_confirms_a_deletion() {
        assert!(confirms_deletion(" Home Lab ", "Home Lab").is_ok());
        for wrong in ["home lab", "Home", "", "Home  Lab"] {
            assert_eq!(confirms_deletion(wrong, "Home Lab").unwrap_err().code, "organization.delete.confirmation");
        }
    }
}
