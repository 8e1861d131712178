//! Instance-wide access patterns: accounts, e-mail guards, sessions at login, and creating an
//! organization with its owner in one transaction.

use super::{Db, from_item};
use crate::StoreError;
use crate::model::{Account, EmailGuard, Key, Organization, User};

mod credentials;
mod login;
mod operators;
mod organizations;
mod passkeys;
mod sessions;
mod sso;

pub use credentials::*;
pub use login::*;
pub use operators::*;
pub use organizations::*;
pub use passkeys::*;
pub use sessions::*;
pub use sso::*;

pub fn email_in_use(email: &str) -> StoreError {
    StoreError::EmailInUse(email.to_owned())
}

/// The items of the account's own partition whose sort key starts with `prefix` (its links, its passkeys:
/// a handful each, one consistent Query).
pub(crate) async fn account_items<E: crate::model::Entity>(
    db: &Db,
    account_id: &str,
    prefix: &str,
) -> Result<Vec<E>, StoreError> {
    let output = db
        .client
        .query()
        .table_name(&db.table)
        .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
        .expression_attribute_values(":pk", crate::s(Key::account(account_id).pk))
        .expression_attribute_values(":prefix", crate::s(prefix))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| StoreError::sdk("Query", e))?;
    output.items.unwrap_or_default().into_iter().map(from_item::<E>).collect()
}

/// The account with this (normalised) e-mail: the guard, then the account (two GetItems).
pub async fn account_by_email(db: &Db, email: &str) -> Result<Option<Account>, StoreError> {
    let Some(guard) = db.get::<EmailGuard>(&Key::email_guard(email)).await? else {
        return Ok(None);
    };
    db.get::<Account>(&Key::account(&guard.account_id)).await
}

/// Every identity of the account with its organization (one BatchGetItem per 50 organizations).
pub async fn identities(db: &Db, account: &Account) -> Result<Vec<(User, Organization)>, StoreError> {
    let keys: Vec<Key> = account
        .identities
        .iter()
        .flat_map(|(organization, user_id)| [Key::user(organization, user_id), Key::organization(organization)])
        .collect();
    let mut items = db.batch_get(&keys).await?;
    let mut found = Vec::with_capacity(account.identities.len());
    for (organization_id, user_id) in &account.identities {
        let user = items.remove(&Key::user(organization_id, user_id));
        let organization = items.get(&Key::organization(organization_id)).cloned();
        if let (Some(user), Some(organization)) = (user, organization) {
            found.push((from_item::<User>(user)?, from_item::<Organization>(organization)?));
        }
    }
    Ok(found)
}

pub async fn account(db: &Db, account_id: &str) -> Result<Option<Account>, StoreError> {
    db.get::<Account>(&Key::account(account_id)).await
}

/// The account of an authenticated identity, as it is now (gone: the credential is no longer valid).
pub async fn account_of(db: &Db, user: &User) -> Result<Account, StoreError> {
    account(db, &user.account_id).await?.ok_or(StoreError::CredentialGone)
}
