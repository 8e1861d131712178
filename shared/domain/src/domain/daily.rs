//! The daily job (`background::INVITE_MAINTENANCE`): the invites' reminders and cleanup, then the plan
//! expiry notices that are due, within the function's time: a run stops starting new work before its
//! timeout, and the next run continues where it stopped (what is due stays due until it is done), so a large
//! backlog takes several runs instead of failing each one.

use std::time::{Duration, Instant};

use crate::app::App;
use crate::domain::{invites, organizations};
use crate::error::DomainError;

pub use invites::MaintenanceReport;

/// How long before the function's timeout a run stops starting new work: the invite or notice in flight,
/// and the answer.
const MARGIN: Duration = Duration::from_secs(30);

/// One run of the daily job, as of `now_millis`, within the function's time.
pub async fn maintain(app: &App, now_millis: i64) -> Result<MaintenanceReport, DomainError> {
    let timeout = Duration::from_secs(u64::from(crate::background::INVITE_MAINTENANCE.timeout_seconds));
    maintain_until(app, now_millis, Instant::now() + timeout.saturating_sub(MARGIN)).await
}

/// One run of the daily job that starts nothing after `deadline`.
pub async fn maintain_until(app: &App, now_millis: i64, deadline: Instant) -> Result<MaintenanceReport, DomainError> {
    crate::declared_actions::scope_unless_scoped((&crate::background::INVITE_MAINTENANCE).into(), async {
        let mut report = invites::remind_and_clean_up(app, now_millis, deadline).await?;
        if report.finished {
            let (sent, finished) = organizations::send_plan_notices(app, now_millis, deadline).await?;
            report.plan_notices = sent;
            report.finished = finished;
        }
        Ok(report)
    })
    .await
}
