//! The invite mail (and its reminder).

use crate::app::App;
use crate::error::DomainError;
use crate::mail::{self, Mail};
use crate::model::{Invite, Organization};

/// The invite mail (HTML and text), naming the sender and the organization, with the link: the invite's
/// token derived again under the key that made it, or `None` once that key is no longer accepted (two
/// rotations later; resending the invite makes a new link).
pub(super) fn invite_mail(
    app: &App,
    invite: &Invite,
    organization: &Organization,
    reminder: bool,
) -> Result<Option<Mail>, DomainError> {
    let Some(token) =
        app.keys.invite_token_again(&invite.organization, &invite.id, &invite.nonce, &invite.token_hash)?
    else {
        return Ok(None);
    };
    let link = format!("{}/invite/{token}", app.config.public_uri);
    let until = mail::utc_time_text(invite.valid_until);
    // Names are chosen by the sender: kept out of the subject, and quoted in the text.
    let (sender, name) = (&invite.sent_by_name, &organization.name);
    let (subject, opening) = if reminder {
        (
            "Reminder: your invitation to WEBKNOSSOS expires soon".to_owned(),
            format!(
                "\u{201c}{sender}\u{201d} invited you to join the organization \u{201c}{name}\u{201d} on WEBKNOSSOS; the invitation expires on {until}."
            ),
        )
    } else {
        (
            "You are invited to an organization on WEBKNOSSOS".to_owned(),
            format!(
                "\u{201c}{sender}\u{201d} invited you to join the organization \u{201c}{name}\u{201d} on WEBKNOSSOS. The invitation is valid until {until}."
            ),
        )
    };
    let mail = Mail::new(
        vec![invite.email.clone()],
        subject,
        &[
            "Hello,".to_owned(),
            opening,
            "Follow the link to create your account, or to join with the account you have.".to_owned(),
        ],
        Some(("Accept the invitation", &link)),
    )
    .for_invite(&invite.organization, &invite.id)
    .paid_by(None, Some(&invite.organization));
    // The first mail and a resend record their outcome on the invite; a reminder leaves its state alone.
    Ok(Some(if reminder { mail } else { mail.recording_delivery_of(&invite.organization, &invite.id, &invite.nonce) }))
}
