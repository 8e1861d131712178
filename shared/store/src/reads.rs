//! Reads that take several items of different kinds in one BatchGetItem.

use std::collections::BTreeSet;

use super::{Db, from_item};
use crate::StoreError;
use crate::model::{Account, ApiToken, EmailGuard, Key, Organization, Session, User};

/// The stored credential a request presents.
pub enum StoredCredential {
    Session(Session),
    ApiToken(ApiToken),
}

/// Which stored credential to read with an identity.
pub enum CredentialKey<'a> {
    Session { session_id: &'a str },
    ApiToken,
}

/// An identity, its organization and a credential of it, in one BatchGetItem (what authenticates a
/// request). `None` when any of the three is missing.
pub async fn identity_with_credential(
    db: &Db,
    organization_id: &str,
    user_id: &str,
    credential: CredentialKey<'_>,
) -> Result<Option<(User, Organization, StoredCredential)>, StoreError> {
    let user_key = Key::user(organization_id, user_id);
    let organization_key = Key::organization(organization_id);
    let credential_key = match credential {
        CredentialKey::Session { session_id } => Key::session(organization_id, session_id),
        CredentialKey::ApiToken => Key::api_token(organization_id, user_id),
    };
    let mut items = db.batch_get(&[user_key.clone(), organization_key.clone(), credential_key.clone()]).await?;
    let (Some(user), Some(organization), Some(stored)) =
        (items.remove(&user_key), items.remove(&organization_key), items.remove(&credential_key))
    else {
        return Ok(None);
    };
    let stored = match credential {
        CredentialKey::Session { .. } => StoredCredential::Session(from_item(stored)?),
        CredentialKey::ApiToken => StoredCredential::ApiToken(from_item(stored)?),
    };
    Ok(Some((from_item(user)?, from_item(organization)?, stored)))
}

/// An organization and, when named, one of its users, in one BatchGetItem.
pub async fn organization_and_user(
    db: &Db,
    organization_id: &str,
    user_id: Option<&str>,
) -> Result<(Option<Organization>, Option<User>), StoreError> {
    let organization_key = Key::organization(organization_id);
    let mut keys = vec![organization_key.clone()];
    let user_key = user_id.map(|id| Key::user(organization_id, id));
    keys.extend(user_key.clone());
    let mut items = db.batch_get(&keys).await?;
    let organization = items.remove(&organization_key).map(from_item).transpose()?;
    let user = match user_key {
        Some(key) => items.remove(&key).map(from_item).transpose()?,
        None => None,
    };
    Ok((organization, user))
}

/// Which of `emails` belong to accounts with an identity in the organization (two BatchGetItems: the
/// addresses' guards, then their accounts).
pub async fn member_addresses(db: &Db, organization_id: &str, emails: &[&str]) -> Result<BTreeSet<String>, StoreError> {
    let guards = db.batch_get(&emails.iter().map(|e| Key::email_guard(e)).collect::<Vec<_>>()).await?;
    let account_keys: Vec<Key> = guards
        .into_values()
        .filter_map(|item| from_item::<EmailGuard>(item).ok())
        .map(|guard| Key::account(&guard.account_id))
        .collect();
    let accounts = db.batch_get(&account_keys).await?;
    Ok(accounts
        .into_values()
        .filter_map(|item| from_item::<Account>(item).ok())
        .filter(|account| account.identities.contains_key(organization_id))
        .map(|account| account.email)
        .collect())
}
