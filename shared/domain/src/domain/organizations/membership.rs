//! Leaving an organization, and handing it over to an admin. Beyond WEBKNOSSOS, in its conventions: a member
//! who leaves is deactivated (records stay, as everywhere here), and ownership moves in one transaction, so
//! there is always exactly one owner.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::json;

use super::{OrganizationError, own};
use crate::app::App;
use crate::caller::{Caller, Credential};
use crate::domain::audit::Auditor;
use crate::domain::retry::{self, Attempt};
use crate::domain::users::UserError;
use crate::error::DomainError;
use crate::ids::{self, sha256_hex};
use crate::mail::{self, Mail};
use crate::model::{AuditActor, AuditTarget, Organization, OwnershipTransfer, User};
use crate::store::accounts;
use crate::store::org::{OrgStore, UserWrite, UserWriteError, UserWriteExtras};

/// Most admins one notice of a leaving member goes to.
const MAX_NOTIFIED_ADMINS: usize = 50;

/// What leaving came to.
pub struct Left {
    /// The identity as stored: deactivated.
    pub user: User,
    pub organization: Organization,
    /// The request's own session was one of those that ended (it left the organization it is signed in to).
    pub ended_own_session: bool,
}

/// `POST /organizations/{id}/leave`: the caller's account leaves one of its organizations (the one it is
/// signed in to, or another where it is active). Its identity there is deactivated, which ends its sessions
/// and tokens there for good; an admin may leave while another active admin remains; the owner hands the
/// organization over first. The admins are told.
pub async fn leave(app: &App, caller: &Caller, organization_id: &str) -> Result<Left, DomainError> {
    let (user, organization) = identity_in(app, caller, organization_id).await?;
    if user.is_organization_owner {
        return Err(OrganizationError::OwnerCannotLeave.into());
    }
    let store = OrgStore::new(&app.db, &organization.id);
    let auditor = Auditor::new(app, AuditActor::user(&user), caller.context.clone());
    let (store, user, auditor, organization_id) = (&store, &user, &auditor, organization.id.as_str());
    let attempt = |n: usize| async move {
        let (leaving, admins) = if n == 0 {
            (user.clone(), store.active_admins().await?)
        } else {
            let (leaving, admins) = tokio::join!(store.user(&user.id), store.active_admins());
            (leaving?.filter(User::is_active).ok_or(OrganizationError::NotFound)?, admins?)
        };
        // An admin leaves only while another stays, which the transaction checks is still so.
        let staying_admin = admins.iter().find(|a| a.id != leaving.id).map(|a| a.id.clone());
        if leaving.is_admin && staying_admin.is_none() {
            return Err(UserError::LastAdmin.into());
        }
        let mut after = leaving.clone();
        after.is_deactivated = true;
        after.session_epoch += 1;
        let entry = auditor.entry(organization_id, "user.left", vec![AuditTarget::user(&leaving)], json!({}));
        let extras = UserWriteExtras {
            active_user_delta: -1,
            active_admin_check: staying_admin.filter(|_| leaving.is_admin),
            audit: vec![entry],
            ..UserWriteExtras::default()
        };
        match store.write_users(&[UserWrite { before: Some(leaving.clone()), after: after.clone() }], &extras).await {
            Ok(()) => {
                after.version = leaving.version + 1;
                let recipients: Vec<String> = admins
                    .iter()
                    .filter(|a| a.id != leaving.id)
                    .take(MAX_NOTIFIED_ADMINS)
                    .map(|a| a.email.clone())
                    .collect();
                Ok(Attempt::Done((after, recipients)))
            }
            Err(UserWriteError::Conflict(_)) => Ok(Attempt::Conflict),
            Err(UserWriteError::Store(err)) => Err(err.into()),
        }
    };
    let (left, admins) = retry::until_settled(attempt, OrganizationError::KeptChanging.into()).await?;
    if !admins.is_empty() {
        let mail = Mail::new(
            admins,
            "A member left your organization on WEBKNOSSOS",
            &[
                "Hello,".into(),
                format!(
                    "{} {} <{}> left the organization {}. Their account there is deactivated; an admin can activate it again.",
                    left.first_name, left.last_name, left.email, organization.name
                ),
            ],
            Some(("Manage users", &format!("{}/users", app.config.public_uri))),
        )
        .paid_by(None, Some(&organization.id));
        mail::notify(app, vec![mail]).await;
    }
    Ok(Left { ended_own_session: left.id == caller.user.id, user: left, organization })
}

/// The caller's active identity in `organization_id` and that organization: the caller itself, or (with a
/// session, not a token, which stands for its own organization only) its account's identity there.
async fn identity_in(app: &App, caller: &Caller, organization_id: &str) -> Result<(User, Organization), DomainError> {
    if organization_id == caller.organization.id {
        return Ok((caller.user.clone(), caller.organization.clone()));
    }
    if matches!(caller.credential, Credential::ApiToken { .. }) {
        return Err(OrganizationError::TokenOfOtherOrganization.into());
    }
    let account = accounts::account_of(&app.db, &caller.user).await?;
    accounts::identities(&app.db, &account)
        .await?
        .into_iter()
        .find(|(user, organization)| {
            organization.id == organization_id && user.is_active() && !organization.is_being_deleted()
        })
        .ok_or_else(|| OrganizationError::NotFound.into())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OwnershipOffer {
    pub user_id: String,
}

/// An offer as made: to whom, until when (epoch ms).
pub struct Offered {
    pub to: User,
    pub expires: i64,
}

/// `POST /organizations/{id}/transferOwnership` (the owner): offers the organization to an active admin,
/// who accepts it with the mailed link, signed in. Replaces an earlier offer.
pub async fn offer_ownership(
    app: &App,
    caller: &Caller,
    organization_id: &str,
    offer: OwnershipOffer,
) -> Result<Offered, DomainError> {
    own(caller, organization_id)?;
    if offer.user_id == caller.user.id {
        return Err(OrganizationError::TransferToSelf.into());
    }
    let store = caller.store(app);
    let auditor = Auditor::caller(app, caller);
    let token = URL_SAFE_NO_PAD.encode(ids::random_bytes::<32>());
    let (store, auditor, token, offer) = (&store, &auditor, &token, &offer);
    let attempt = |n: usize| async move {
        let (owner, to) = if n == 0 {
            (Some(caller.user.clone()), store.user(&offer.user_id).await?)
        } else {
            let (owner, to) = tokio::join!(store.user(&caller.user.id), store.user(&offer.user_id));
            (owner?, to?)
        };
        let owner = owner.filter(|o| o.is_organization_owner).ok_or_else(DomainError::invalid_credential)?;
        let to = to.ok_or(UserError::NotFound)?;
        if !to.is_admin || !to.is_active() {
            return Err(OrganizationError::TransferNeedsAdmin.into());
        }
        let now = ids::now_millis();
        let transfer = OwnershipTransfer {
            organization: owner.organization.clone(),
            from_user_id: owner.id.clone(),
            to_user_id: to.id.clone(),
            token_hash: sha256_hex(token),
            created: now,
            expires_at: now / 1000 + OwnershipTransfer::LIFETIME_SECONDS,
        };
        let entry = auditor.entry(
            &owner.organization,
            "organization.ownershipOffered",
            vec![AuditTarget::user(&to)],
            json!({}),
        );
        if store.offer_ownership(&transfer, (owner.version, to.version), &entry).await? {
            Ok(Attempt::Done((to, transfer)))
        } else {
            Ok(Attempt::Conflict)
        }
    };
    let (to, transfer) = retry::until_settled(attempt, OrganizationError::KeptChanging.into()).await?;
    let organization = &caller.organization;
    let link = format!("{}/acceptOwnership/{}/{token}", app.config.public_uri, organization.id);
    let days = OwnershipTransfer::LIFETIME_SECONDS / (24 * 3600);
    let mail = Mail::new(
        vec![to.email.clone()],
        "You are offered the ownership of an organization on WEBKNOSSOS",
        &[
            format!("Hello {},", to.first_name),
            format!(
                "{} {}, the owner of the organization {}, offers to make you its owner. Signed in as yourself, follow the link to accept (it works for {days} days, once).",
                caller.user.first_name, caller.user.last_name, organization.name
            ),
            "The owner can delete the organization and is the contact for its plan. The present owner stays an admin.".into(),
            "If you do not want it, ignore this mail.".into(),
        ],
        Some(("Accept the ownership", &link)),
    )
    .security()
    .paid_by(None, Some(&organization.id));
    mail::send(app, &mail).await?;
    Ok(Offered { to, expires: transfer.expires_at * 1000 })
}

/// `POST /organizations/{id}/transferOwnership/{token}`: the admin an offer names, signed in to the
/// organization, accepts it: they become the owner and the offering owner stays an admin, in one transaction
/// that also uses the offer up. Both are told.
pub async fn accept_ownership(
    app: &App,
    caller: &Caller,
    organization_id: &str,
    token: &str,
) -> Result<User, DomainError> {
    own(caller, organization_id)?;
    let store = caller.store(app);
    let auditor = Auditor::caller(app, caller);
    let token_hash = sha256_hex(token.trim());
    let (store, auditor, token_hash) = (&store, &auditor, &token_hash);
    let attempt = |_: usize| async move {
        let transfer = store.ownership_transfer().await?;
        let transfer = transfer
            .filter(|t| t.token_hash == *token_hash && t.expires_at > ids::now_seconds())
            .ok_or(OrganizationError::TransferInvalid)?;
        if transfer.to_user_id != caller.user.id {
            return Err(OrganizationError::TransferForAnother.into());
        }
        let users = store.users(&[transfer.from_user_id.clone(), transfer.to_user_id.clone()]).await?;
        let owner = users.iter().find(|u| u.id == transfer.from_user_id && u.is_organization_owner);
        let accepting = users.iter().find(|u| u.id == transfer.to_user_id);
        // The offering owner handed the organization over otherwise meanwhile: the offer lapsed with it.
        let owner = owner.ok_or(OrganizationError::TransferInvalid)?;
        let accepting = accepting.ok_or_else(DomainError::invalid_credential)?;
        if !accepting.is_admin || !accepting.is_active() {
            return Err(OrganizationError::TransferNeedsAdmin.into());
        }
        let mut former = owner.clone();
        former.is_organization_owner = false;
        former.may_delete_organization = false;
        let mut new_owner = accepting.clone();
        new_owner.is_organization_owner = true;
        new_owner.may_delete_organization = false;
        let entry = auditor.entry(
            &owner.organization,
            "organization.ownershipTransferred",
            vec![AuditTarget::user(owner), AuditTarget::user(accepting)],
            json!({ "owner": crate::domain::audit::old_new(owner.id.as_str(), accepting.id.as_str()) }),
        );
        let writes = [
            UserWrite { before: Some(owner.clone()), after: former.clone() },
            UserWrite { before: Some(accepting.clone()), after: new_owner.clone() },
        ];
        let extras = UserWriteExtras { audit: vec![entry], ..UserWriteExtras::default() };
        match store.write_users_with(&writes, &extras, store.ownership_acceptance_items(&transfer)).await {
            Ok(()) => {
                former.version += 1;
                new_owner.version += 1;
                Ok(Attempt::Done((former, new_owner)))
            }
            Err(UserWriteError::Conflict(_)) => Ok(Attempt::Conflict),
            Err(UserWriteError::Store(err)) => Err(err.into()),
        }
    };
    let (former, new_owner) = retry::until_settled(attempt, OrganizationError::KeptChanging.into()).await?;
    let name = &caller.organization.name;
    let organization_page = format!("{}/organization", app.config.public_uri);
    let told = |to: &User, what: String| {
        Mail::new(
            vec![to.email.clone()],
            "The ownership of your organization on WEBKNOSSOS changed",
            &[format!("Hello {},", to.first_name), what],
            Some(("Organization", &organization_page)),
        )
        .security()
        .paid_by(None, Some(&caller.organization.id))
    };
    mail::notify(
        app,
        vec![
            told(
                &former,
                format!(
                    "{} {} accepted your offer and is now the owner of the organization {name}. You stay an admin.",
                    new_owner.first_name, new_owner.last_name
                ),
            ),
            told(&new_owner, format!("You are now the owner of the organization {name}.")),
        ],
    )
    .await;
    Ok(new_owner)
}
