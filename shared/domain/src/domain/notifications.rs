//! The opt-in of notification addresses: an address an admin names in `newUserMailingList` or
//! `planSubscriptionEmail` gets the organization's notices only once its mailbox confirmed it, by pressing
//! the button behind the link mailed there. Until then the notices go to the owner, as when none is set.
//! So no admin can make the instance mail strangers. And who is told of a new member (signing up or
//! joining by invite): the member, and the confirmed mailing list or the owner.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;

use crate::app::App;
use crate::domain::audit::Auditor;
use crate::error::{DomainError, refusals};
use crate::ids::{self, sha256_hex};
use crate::mail::{self, Mail};
use crate::model::{AuditActor, AuditContext, AuditTarget, NotificationAddress, Organization, User};
use crate::store::org::OrgStore;

refusals! {
    /// Why confirming a notification address was refused.
    pub(crate) enum NotificationError {
        TokenInvalid => Invalid, "notificationAddress.tokenInvalid", "This confirmation link is invalid";
        LinkExpired => Invalid, "notificationAddress.linkExpired",
            "This confirmation link has expired; ask the organization's admins to name the address again";
    }
}

/// The addresses the organization's settings name for notices, lowercased, each once.
pub(crate) fn listed_notification_addresses(organization: &Organization) -> Vec<String> {
    let mut addresses: Vec<String> = Vec::new();
    let named = organization.new_user_mailing_list.split(',').chain([organization.plan_subscription_email.as_str()]);
    for address in named.map(|a| a.trim().to_lowercase()).filter(|a| !a.is_empty()) {
        if !addresses.contains(&address) {
            addresses.push(address);
        }
    }
    addresses
}

/// Of `addresses`, those whose mailbox confirmed the organization's notices (one BatchGetItem).
pub(crate) async fn confirmed_addresses(
    app: &App,
    organization: &str,
    addresses: &[String],
) -> Result<Vec<String>, DomainError> {
    let lowered: Vec<String> = addresses.iter().map(|a| a.trim().to_lowercase()).collect();
    let items = OrgStore::new(&app.db, organization).notification_addresses(&lowered).await?;
    Ok(lowered.into_iter().filter(|a| items.iter().any(|i| &i.email == a && i.confirmed_at.is_some())).collect())
}

/// Mails a confirmation link to each address the settings name that has neither been confirmed nor asked
/// already (a request lapses after two weeks; naming it again then asks again). Best effort: a failure is
/// logged, never undoing the settings' change.
pub(crate) async fn request_confirmations(app: &App, organization: &Organization) {
    if let Err(err) = request(app, organization).await {
        tracing::warn!(error = %err, "confirmation links for notification addresses were not all sent");
    }
}

async fn request(app: &App, organization: &Organization) -> Result<(), DomainError> {
    let store = OrgStore::new(&app.db, &organization.id);
    let listed = listed_notification_addresses(organization);
    let known = store.notification_addresses(&listed).await?;
    let now = ids::now_millis();
    for email in listed.into_iter().filter(|a| !known.iter().any(|k| &k.email == a)) {
        let token = format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(&organization.id),
            URL_SAFE_NO_PAD.encode(&email),
            // 256 random bits, as the account links have.
            URL_SAFE_NO_PAD.encode(ids::random_bytes::<32>())
        );
        let address = NotificationAddress {
            organization: organization.id.clone(),
            email: email.clone(),
            token_hash: sha256_hex(&token),
            requested_at: now,
            confirmed_at: None,
            expires_at: Some(now / 1000 + NotificationAddress::REQUEST_LIFETIME_SECONDS),
        };
        if !store.request_notification_address(&address).await? {
            continue;
        }
        let link = format!("{}/confirmNotifications/{token}", app.config.public_uri);
        // The organization's name is its admins' choice: quoted in the text, never in the subject.
        let confirmation = Mail::new(
            vec![email.clone()],
            "WEBKNOSSOS | Confirm notices to this address",
            &[
                "Hello,".into(),
                format!(
                    "an admin of the organization \u{201c}{}\u{201d} on WEBKNOSSOS asked to send its notices (new users, plan and storage) to {email}.",
                    organization.name
                ),
                "Nothing is sent to this address until you confirm with the link. If you do not know the organization, ignore this mail.".into(),
            ],
            Some(("Confirm the notices", &link)),
        )
        .paid_by(None, Some(&organization.id));
        mail::notify(app, vec![confirmation]).await;
    }
    Ok(())
}

/// The organization and address a confirmation token names, if it has their shape.
fn token_parts(token: &str) -> Option<(String, String)> {
    let mut parts = token.trim().split('.');
    let (Some(organization), Some(email), Some(secret), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let decode = |part: &str| URL_SAFE_NO_PAD.decode(part).ok().and_then(|bytes| String::from_utf8(bytes).ok());
    let (organization, email) = (decode(organization)?, decode(email)?);
    let valid = !organization.is_empty() && !organization.contains('#') && email.contains('@') && secret.len() >= 32;
    valid.then_some((organization, email))
}

/// `POST /notificationAddresses/{token}`: the mailbox confirms the organization's notices. Confirming again
/// with the same link answers the same.
pub async fn confirm_notification_address(
    app: &App,
    token: &str,
    context: AuditContext,
) -> Result<NotificationAddress, DomainError> {
    let invalid = || NotificationError::TokenInvalid.into();
    let (organization, email) = token_parts(token).ok_or_else(invalid)?;
    let store = OrgStore::new(&app.db, &organization);
    let address = store.notification_address(&email).await?.ok_or_else(invalid)?;
    if address.token_hash != sha256_hex(token.trim()) {
        return Err(invalid());
    }
    if address.confirmed_at.is_some() {
        return Ok(address);
    }
    let now = ids::now_millis();
    if address.expires_at.is_some_and(|expires| expires <= now / 1000) {
        return Err(NotificationError::LinkExpired.into());
    }
    let auditor = Auditor::new(app, AuditActor::account(&email), context);
    let target = AuditTarget { kind: "notificationAddress".into(), id: email.clone(), name: email.clone() };
    let entry = auditor.entry(&organization, "organization.notificationAddressConfirmed", vec![target], json!({}));
    if !store.confirm_notification_address(&email, &address.token_hash, now, &entry).await? {
        // Confirmed by a concurrent request meanwhile (or lapsed this instant): as a fresh read says.
        return store.notification_address(&email).await?.filter(|a| a.confirmed_at.is_some()).ok_or_else(invalid);
    }
    Ok(NotificationAddress { confirmed_at: Some(now), expires_at: None, ..address })
}

/// The welcome mail to a new member, and the notice to `newUserMailingList` or, if empty, the owner.
/// `limit_reached`: the member was to start active (an auto-activating invite, or auto-verify) but joined
/// deactivated because the plan's included users are all active; both mails say so.
pub(crate) async fn new_member_mails(
    app: &App,
    store: &OrgStore<'_>,
    organization: &Organization,
    user: &User,
    how: &str,
    limit_reached: bool,
) -> Vec<Mail> {
    let included = organization.included_users.unwrap_or_default();
    let mut welcome = vec![
        format!("Hello {},", user.first_name),
        if user.is_active() {
            format!("your account in the organization {} is ready.", organization.name)
        } else {
            format!(
                "your account in the organization {} waits for an admin to activate it; you will get a mail then.",
                organization.name
            )
        },
    ];
    if limit_reached {
        welcome.push(format!("It could not start active: the organization's plan includes {included} users, and all are in use. Its admins have been told."));
    }
    let mut mails = vec![
        Mail::new(
            vec![user.email.clone()],
            "Welcome to WEBKNOSSOS",
            &welcome,
            Some(("Open WEBKNOSSOS", &app.config.public_uri)),
        )
        .paid_by(Some(&user.account_id), Some(&organization.id)),
    ];
    // The mailing list's confirmed addresses (opt-in), else the owner.
    let listed: Vec<String> =
        organization.new_user_mailing_list.split(',').map(|a| a.trim().to_owned()).filter(|a| !a.is_empty()).collect();
    let mut recipients = confirmed_addresses(app, &organization.id, &listed).await.unwrap_or_default();
    if recipients.is_empty()
        && let Ok(Some(owner)) = store.user(&organization.owner_user_id).await
    {
        recipients.push(owner.email);
    }
    if !recipients.is_empty() {
        let mut lines = vec![format!(
            "{} {} <{}> {how} in the organization {}.",
            user.first_name, user.last_name, user.email, organization.name
        )];
        if limit_reached {
            lines.push(format!(
                "It was to start active, but the plan's {included} included users are all active: it stays deactivated until an admin activates it, after raising the plan (ask the instance's operators) or deactivating someone."
            ));
        } else if !user.is_active() {
            lines.push("The account is deactivated until an admin or team manager activates it (Admin > Users, Status: Deactivated).".into());
        }
        // The names are the new user's choice: not in the subject.
        mails.push(
            Mail::new(
                recipients,
                "New user in your organization on WEBKNOSSOS",
                &lines,
                Some(("Manage users", &format!("{}/users", app.config.public_uri))),
            )
            .paid_by(Some(&user.account_id), Some(&organization.id)),
        );
    }
    mails
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_name_their_organization_and_address() {
        let token =
            format!("{}.{}.{}", URL_SAFE_NO_PAD.encode("lab"), URL_SAFE_NO_PAD.encode("a@b.org"), "x".repeat(43));
        assert_eq!(token_parts(&token), Some(("lab".into(), "a@b.org".into())));
        for bad in [
            "",
            "a.b",
            "a.b.c.d",
            &format!("{}.{}.short", URL_SAFE_NO_PAD.encode("lab"), URL_SAFE_NO_PAD.encode("a@b.org")),
        ] {
            assert_eq!(token_parts(bad), None, "{bad}");
        }
    }
}
