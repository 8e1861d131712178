//! The invites' part of the daily job (`domain::daily`): reminders and cleanup.

use crate::app::App;
use crate::domain::audit::Auditor;
use crate::domain::invites::mails::invite_mail;
use crate::error::DomainError;
use crate::mail::{self};
use crate::model::{AuditTarget, InviteState, Organization};
use crate::store::maintenance;
use crate::store::org::OrgStore;
use serde::Serialize;
use serde_json::json;
use std::collections::HashMap;

/// What one run of the daily job did.
#[derive(Debug, Default, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MaintenanceReport {
    pub reminded: usize,
    pub reminders_failed: usize,
    pub deleted: usize,
    /// Plan expiry notices mailed (`domain::daily` adds them).
    pub plan_notices: usize,
    /// Whether the run got through everything due; `false`: its time ran out, and the next run continues
    /// where it stopped (what is due stays in the indexes until it is done).
    pub finished: bool,
}

/// Reminds recipients whose invite expires within two days (once) and deletes invites whose retention
/// after expiry or use has passed. Works through the sparse indexes page by page, so any number of invites
/// is handled; no invite is started after `deadline` (the report then says the run did not finish).
pub(crate) async fn remind_and_clean_up(
    app: &App,
    now_millis: i64,
    deadline: std::time::Instant,
) -> Result<MaintenanceReport, DomainError> {
    let now = now_millis / 1000;
    let mut report = MaintenanceReport::default();
    let auditor = Auditor::system(app, crate::background::INVITE_MAINTENANCE.name);
    let mut organizations: HashMap<String, Option<Organization>> = HashMap::new();
    let mut start = None;
    loop {
        let (page, next) = maintenance::due_for_reminder(&app.db, now, start).await?;
        for invite in page.items {
            if std::time::Instant::now() >= deadline {
                return Ok(report);
            }
            if invite.state != InviteState::Pending || invite.is_expired(now_millis) {
                maintenance::mark_reminded(&app.db, &invite, None).await?;
                continue;
            }
            if !organizations.contains_key(&invite.organization) {
                let organization = OrgStore::new(&app.db, &invite.organization).organization().await?;
                organizations.insert(invite.organization.clone(), organization);
            }
            // No reminders into an organization that is gone or being deleted (its purge removes the invite).
            let Some(organization) = organizations[&invite.organization].clone().filter(|o| !o.is_being_deleted())
            else {
                continue;
            };
            // Marked first: a crash between the two steps skips a reminder rather than sending two.
            let entry =
                auditor.entry(&invite.organization, "invite.reminded", vec![AuditTarget::invite(&invite)], json!({}));
            if maintenance::mark_reminded(&app.db, &invite, Some(&entry)).await? {
                let Some(reminder) = invite_mail(app, &invite, &organization, true)? else {
                    report.reminders_failed += 1;
                    tracing::warn!(invite = %invite.id, "no reminder: the key that made its link is no longer accepted");
                    continue;
                };
                match mail::send(app, &reminder).await {
                    Ok(()) => report.reminded += 1,
                    Err(err) => {
                        report.reminders_failed += 1;
                        tracing::warn!(invite = %invite.id, error = %err, "an invite reminder was not sent");
                    }
                }
            }
        }
        start = next;
        if start.is_none() {
            break;
        }
    }
    let mut start = None;
    loop {
        let (page, next) = maintenance::due_for_cleanup(&app.db, now, start).await?;
        for invite in page.items {
            if std::time::Instant::now() >= deadline {
                return Ok(report);
            }
            // An invite that ended unused expired; one used or revoked is only no longer listed.
            let action = if invite.state == InviteState::Pending { "invite.expired" } else { "invite.deleted" };
            let facts = json!({ "state": invite.shown_state(now_millis) });
            let entry = auditor.entry(&invite.organization, action, vec![AuditTarget::invite(&invite)], facts);
            if maintenance::delete_due_invite(&app.db, &invite, now, &entry).await? {
                report.deleted += 1;
            }
        }
        start = next;
        if start.is_none() {
            break;
        }
    }
    report.finished = true;
    Ok(report)
}
