//! The daily job (`background::INVITE_MAINTENANCE`): the invites' reminders and cleanup, then the plan
//! expiry notices that are due.

use crate::app::App;
use crate::domain::{invites, organizations};
use crate::error::DomainError;

pub use invites::MaintenanceReport;

/// One run of the daily job, as of `now_millis`.
pub async fn maintain(app: &App, now_millis: i64) -> Result<MaintenanceReport, DomainError> {
    crate::declared_actions::scope_unless_scoped((&crate::background::INVITE_MAINTENANCE).into(), async {
        let mut report = invites::remind_and_clean_up(app, now_millis).await?;
        report.plan_notices = organizations::send_plan_notices(app, now_millis).await?;
        Ok(report)
    })
    .await
}
