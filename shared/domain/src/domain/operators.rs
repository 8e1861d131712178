//! The instance operator role. It belongs to an account, never to an address: `SUPER_USER_EMAILS` only
//! names candidates (and no account may change its address to one of them), while the role itself is
//! granted explicitly, by a deployment administrator's command (`grant-operator`, with table access) or by an
//! existing operator through the API, and only to an account whose address is verified. Every grant and
//! revocation is audited in the grantee's organizations and mailed to every operator.

use crate::app::App;
use crate::caller::Caller;
use crate::config::Config;
use crate::domain::audit::Auditor;
use crate::error::{DomainError, refusals};
use crate::mail::{self, Mail};
use crate::model::OperatorGrant;
use crate::store::accounts::{self, GrantRefused};
use crate::{ids, validate};

refusals! {
    /// Why granting or revoking the operator role, or an address change, was refused.
    pub(crate) enum OperatorError {
        AddressReserved => Forbidden, "user.email.reserved",
            "This address is reserved for the instance's operators; choose another";
        NoAccount { email: String } => NotFound, "operator.account.notFound", "No account has the address {email}";
        AddressNotVerified { email: String } => Conflict, "operator.email.notVerified",
            "The address {email} is not verified: its account must follow a verification link first";
        AlreadyGranted { email: String } => Conflict, "operator.alreadyGranted", "{email} is an operator already";
        NotAnOperator { email: String } => NotFound, "operator.notFound", "{email} is not an instance operator";
    }
}
use serde_json::json;

/// Who grants or revokes the role.
pub enum Grantor<'a> {
    /// An operator, through the API.
    Operator(&'a Caller),
    /// A deployment administrator's command, with table access.
    Command,
}

/// The name the command records as the grantor.
pub const COMMAND: &str = "grant-operator";

impl Grantor<'_> {
    fn name(&self) -> String {
        match self {
            Grantor::Operator(caller) => caller.user.email.clone(),
            Grantor::Command => COMMAND.to_owned(),
        }
    }
    fn auditor(&self, app: &App) -> Auditor {
        match self {
            Grantor::Operator(caller) => Auditor::operator(app, caller),
            Grantor::Command => Auditor::system(app, COMMAND),
        }
    }
}

/// Refuses an address change to an address the configuration names as an operator candidate (pure): such an
/// address is claimed by signing up with it, never by moving an existing account onto it.
pub(crate) fn refuse_listed_address(config: &Config, new_email: &str) -> Result<(), DomainError> {
    if config.super_users.iter().any(|listed| listed == new_email) {
        return Err(OperatorError::AddressReserved.into());
    }
    Ok(())
}

/// Grants the role to the account of `email`, which must exist and have that address verified.
pub async fn grant(app: &App, grantor: Grantor<'_>, email: &str) -> Result<OperatorGrant, DomainError> {
    let email = validate::email(email)?;
    let account = accounts::account_by_email(&app.db, &email)
        .await?
        .ok_or_else(|| OperatorError::NoAccount { email: email.clone() })?;
    let unverified = || OperatorError::AddressNotVerified { email: email.clone() }.into();
    if !account.email_verified {
        return Err(unverified());
    }
    let grant = OperatorGrant {
        account_id: account.id.clone(),
        email: email.clone(),
        granted_by: grantor.name(),
        granted_at: ids::now_millis(),
    };
    let auditor = grantor.auditor(app);
    let facts = json!({ "grantedBy": grant.granted_by });
    let entries = auditor.account_entries(vec![("account.operatorGranted", facts)], &email);
    let audit = account.identities.iter().flat_map(|(organization, user_id)| entries(organization, user_id)).collect();
    match accounts::grant_operator(&app.db, &grant, audit).await {
        Ok(()) => {}
        Err(GrantRefused::AddressNotVerified) => return Err(unverified()),
        Err(GrantRefused::AlreadyOperator) => {
            return Err(OperatorError::AlreadyGranted { email: email.clone() }.into());
        }
        Err(GrantRefused::Store(err)) => return Err(err.into()),
    }
    tell_operators(app, &format!("{email} was made an instance operator by {}.", grant.granted_by)).await;
    Ok(grant)
}

/// Takes the role from the account of `email`.
pub async fn revoke(app: &App, grantor: Grantor<'_>, email: &str) -> Result<(), DomainError> {
    let email = validate::email(email)?;
    let not_operator = || OperatorError::NotAnOperator { email: email.clone() }.into();
    let account = accounts::account_by_email(&app.db, &email).await?.ok_or_else(not_operator)?;
    let auditor = grantor.auditor(app);
    let facts = json!({ "revokedBy": grantor.name() });
    let entries = auditor.account_entries(vec![("account.operatorRevoked", facts)], &email);
    let audit = account.identities.iter().flat_map(|(organization, user_id)| entries(organization, user_id)).collect();
    if !accounts::revoke_operator(&app.db, &account.id, audit).await? {
        return Err(not_operator());
    }
    // The former operator is told too.
    let notice = format!("{email} is no longer an instance operator (revoked by {}).", grantor.name());
    tell_operators(app, &notice).await;
    mail::notify(app, vec![operator_notice(vec![email.clone()], &notice)]).await;
    Ok(())
}

/// Whether the account holds the role.
pub async fn is_operator(app: &App, account_id: &str) -> Result<bool, DomainError> {
    accounts::is_operator(&app.db, account_id).await.map_err(Into::into)
}

fn operator_notice(to: Vec<String>, what: &str) -> Mail {
    Mail::new(
        to,
        "WEBKNOSSOS | Instance operators changed",
        &[
            "Hello,".into(),
            what.to_owned(),
            "Operators create organizations, change plans and add credits for any organization. If this change is unexpected, revoke it (grant-operator --revoke) and find out who made it.".into(),
        ],
        None,
    )
}

/// Mails every operator (their accounts' current addresses) a notice; a failure is logged, never undoing the
/// change it reports.
async fn tell_operators(app: &App, what: &str) {
    match accounts::operator_addresses(&app.db).await {
        Ok(addresses) => {
            mail::notify(app, addresses.into_iter().map(|to| operator_notice(vec![to], what)).collect()).await
        }
        Err(err) => tracing::warn!(error = %err, "the operators were not told of a change of operators"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_addresses_cannot_be_moved_onto() {
        let secrets = crate::keys::SigningSecrets::new(vec![7; 32], vec![]).unwrap();
        let keys = crate::keys::KeyMaterial::from_secrets(secrets.clone(), secrets);
        let mut config = Config::from_env_with("table".into(), keys, "http://localhost", "a@b.org").unwrap();
        config.super_users = vec!["ops@instance.test".into()];
        assert_eq!(refuse_listed_address(&config, "ops@instance.test").unwrap_err().code, "user.email.reserved");
        assert!(refuse_listed_address(&config, "someone@instance.test").is_ok());
    }
}
