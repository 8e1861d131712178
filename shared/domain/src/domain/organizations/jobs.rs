//! AI job notices: the platform's job system tells this bundle that a job finished, and its owner (and,
//! as the organization's `aiJobNotifications` says, its admins) get WEBKNOSSOS's job mail.

use crate::app::App;
use crate::domain::organizations::OrganizationError;
use crate::error::DomainError;
use crate::mail::{self, Mail};
use crate::model::{Organization, User};
use crate::store::org::OrgStore;
use serde::Deserialize;

/// A finished job, as the job system reports it (`notify_job_finished`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobFinished {
    pub organization: String,
    pub job_id: String,
    /// The job's kind as WEBKNOSSOS names it (e.g. `infer_neurons`, `align_sections`).
    pub job_type: String,
    pub owner_user_id: String,
    /// `SUCCESS`, `FAILURE` or `CANCELLED` (WEBKNOSSOS's final job states).
    pub state: String,
    /// Where the result is (an http(s) address), if the job has one.
    #[serde(default)]
    pub result_link: Option<String>,
}

/// The final job states a notice is sent for.
pub(crate) const FINAL_JOB_STATES: &[&str] = &["SUCCESS", "FAILURE", "CANCELLED"];

/// Checks a report before anything is read: an identifier-like job id and type, a final state, a plain
/// http(s) result link.
pub(crate) fn check_job(job: &JobFinished) -> Result<(), DomainError> {
    let identifier = |text: &str| {
        !text.is_empty()
            && text.len() <= 64
            && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
    };
    if job.organization.is_empty() || job.organization.contains('#') {
        return Err(OrganizationError::IdMissing.into());
    }
    if !identifier(&job.job_id) {
        return Err(OrganizationError::JobIdInvalid.into());
    }
    if !identifier(&job.job_type) {
        return Err(OrganizationError::JobTypeInvalid.into());
    }
    if !crate::ids::is_object_id(&job.owner_user_id) {
        return Err(OrganizationError::JobOwnerInvalid.into());
    }
    if !FINAL_JOB_STATES.contains(&job.state.as_str()) {
        return Err(OrganizationError::JobStateInvalid.into());
    }
    if let Some(link) = &job.result_link
        && (!(link.starts_with("https://") || link.starts_with("http://"))
            || link.len() > 2000
            || link.chars().any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '<' || c == '>'))
    {
        return Err(OrganizationError::JobResultLinkInvalid.into());
    }
    Ok(())
}

/// Mails the job's notice to whom the organization's `aiJobNotifications` names: `jobOwner` (the owner),
/// `jobOwnerAndAdmins` (and every active admin, each their own mail) or `none`. Returns how many mails went.
pub async fn notify_job_finished(app: &App, job: &JobFinished) -> Result<usize, DomainError> {
    crate::declared_actions::scope_unless_scoped(
        (&crate::background::NOTIFY_JOB_FINISHED).into(),
        notify_in_scope(app, job),
    )
    .await
}

async fn notify_in_scope(app: &App, job: &JobFinished) -> Result<usize, DomainError> {
    check_job(job)?;
    let (organization, owner) =
        crate::store::reads::organization_and_user(&app.db, &job.organization, Some(&job.owner_user_id)).await?;
    let organization = organization.filter(|o| !o.is_being_deleted()).ok_or(OrganizationError::NotFound)?;
    let owner = owner.ok_or(OrganizationError::JobOwnerUnknown)?;
    let mut mails = Vec::new();
    if organization.ai_job_notifications != "none" && owner.is_active() {
        mails.push(job_mail(app, job, &organization, &owner, None));
    }
    if organization.ai_job_notifications == "jobOwnerAndAdmins" {
        let store = OrgStore::new(&app.db, &organization.id);
        let mut after = None;
        loop {
            let page = store.users_by_name(true, after.as_deref(), 1000).await?;
            for admin in page.items.iter().filter(|u| u.is_admin && u.id != owner.id) {
                mails.push(job_mail(app, job, &organization, admin, Some(&owner)));
            }
            if !page.more {
                break;
            }
            after = page.items.last().map(User::name_key);
        }
    }
    let count = mails.len();
    let mut sent = 0;
    for mail in mails {
        match mail::send(app, &mail).await {
            Ok(()) => sent += 1,
            Err(err) => tracing::warn!(job = %job.job_id, error = %err, "a job notice was not sent"),
        }
    }
    if sent < count {
        return Err(DomainError::unavailable());
    }
    Ok(sent)
}

/// WEBKNOSSOS's job mail to `recipient`: about their own job, or (`of` its owner) someone else's.
fn job_mail(app: &App, job: &JobFinished, organization: &Organization, recipient: &User, of: Option<&User>) -> Mail {
    let outcome = match job.state.as_str() {
        "SUCCESS" => "has finished",
        "FAILURE" => "has failed",
        _ => "was cancelled",
    };
    let subject = match of {
        None => format!("WEBKNOSSOS | Your {} job {outcome}", job.job_type),
        Some(_) => format!("WEBKNOSSOS | The {} job of a member {outcome}", job.job_type),
    };
    let mut paragraphs = vec![format!("Hello {},", recipient.first_name)];
    paragraphs.push(match of {
        None => {
            format!("your {} job {} in the organization \"{}\" {outcome}.", job.job_type, job.job_id, organization.name)
        }
        Some(owner) => format!(
            "the {} job {} of {} {} in the organization \"{}\" {outcome}.",
            job.job_type, job.job_id, owner.first_name, owner.last_name, organization.name
        ),
    });
    if job.state == "FAILURE" {
        paragraphs
            .push("Its details are in the job list; if it keeps failing, contact the instance's operators.".into());
    }
    let jobs = format!("{}/jobs", app.config.public_uri);
    let link = match (&job.result_link, job.state.as_str()) {
        (Some(link), "SUCCESS") => ("See the result", link.as_str()),
        _ => ("Jobs", jobs.as_str()),
    };
    Mail::new(vec![recipient.email.clone()], subject, &paragraphs, Some(link))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job() -> JobFinished {
        JobFinished {
            organization: "lab".into(),
            job_id: "job-1".into(),
            job_type: "infer_neurons".into(),
            owner_user_id: "0123456789abcdef01234567".into(),
            state: "SUCCESS".into(),
            result_link: Some("https://wk.example.org/datasets/x".into()),
        }
    }

    #[test]
    fn reports_are_checked_field_by_field() {
        assert!(check_job(&job()).is_ok());
        assert!(check_job(&JobFinished { result_link: None, ..job() }).is_ok());
        for (report, code) in [
            (JobFinished { organization: "a#b".into(), ..job() }, "organization.id.invalid"),
            (JobFinished { job_id: "".into(), ..job() }, "job.id.invalid"),
            (JobFinished { job_type: "<script>".into(), ..job() }, "job.type.invalid"),
            (JobFinished { owner_user_id: "me".into(), ..job() }, "job.owner.invalid"),
            (JobFinished { state: "STARTED".into(), ..job() }, "job.state.invalid"),
            (JobFinished { result_link: Some("javascript:alert(1)".into()), ..job() }, "job.resultLink.invalid"),
            (JobFinished { result_link: Some("https://x.org/\"><b>".into()), ..job() }, "job.resultLink.invalid"),
        ] {
            assert_eq!(check_job(&report).err().map(|e| e.code), Some(code), "{report:?}");
        }
    }
}
