//! The mails a user change sends.

use crate::app::App;
use crate::mail::Mail;
use crate::model::User;

use super::rules::Planned;

/// The mails a change sends: "you were activated", and "your access changed" when someone else changed
/// the user's teams or roles; on the organization's mail budget.
pub(super) fn change_mails(app: &App, caller: &User, before: &User, planned: &Planned) -> Vec<Mail> {
    let user = &planned.after;
    let mut mails = Vec::new();
    if planned.activated {
        mails.push(
            Mail::new(
                vec![user.email.clone()],
                "Your WEBKNOSSOS account was activated",
                &[
                    format!("Hello {},", user.first_name),
                    format!(
                        "{} {} activated your account in the organization {}. You can log in now.",
                        caller.first_name, caller.last_name, user.organization
                    ),
                ],
                Some(("Log in", &app.config.public_uri)),
            )
            .paid_by(None, Some(&user.organization)),
        );
    }
    if planned.access_changed && caller.id != user.id {
        let teams = if user.teams.is_empty() {
            "none".to_owned()
        } else {
            user.teams
                .values()
                .map(|r| if r.is_team_manager { format!("{} (team manager)", r.name) } else { r.name.clone() })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut lines = vec![
            format!("Hello {},", user.first_name),
            format!(
                "{} {} changed your access in the organization {}.",
                caller.first_name, caller.last_name, user.organization
            ),
            format!("Your teams: {teams}."),
        ];
        if before.is_admin != user.is_admin {
            lines.push(if user.is_admin {
                "You are now an admin.".into()
            } else {
                "You are no longer an admin.".into()
            });
        }
        if before.is_dataset_manager != user.is_dataset_manager {
            lines.push(if user.is_dataset_manager {
                "You are now a dataset manager.".into()
            } else {
                "You are no longer a dataset manager.".into()
            });
        }
        let mail = Mail::new(vec![user.email.clone()], "Your access in WEBKNOSSOS changed", &lines, None);
        mails.push(mail.paid_by(None, Some(&user.organization)));
    }
    mails
}
