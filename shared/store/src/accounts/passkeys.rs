//! Passkeys: an account's credentials (in its partition), and the ceremonies under way, each stored once
//! and taken once.

use aws_sdk_dynamodb::types::{ReturnValue, TransactWriteItem};

use crate::model::{Account, Key, PASSKEY_PREFIX, Passkey, PasskeyCeremony};
use crate::{Db, StoreError, from_item, n, s};

/// Stores a ceremony that has started (its key is the hash of a fresh random challenge, so it is new).
pub async fn put_passkey_ceremony(db: &Db, ceremony: &PasskeyCeremony) -> Result<(), StoreError> {
    if db.put_if(ceremony, "attribute_not_exists(PK)", vec![]).await? { Ok(()) } else { Err(StoreError::Conflict) }
}

/// Takes the ceremony of `challenge_hash` if it exists and has not expired at `now` (epoch seconds): one
/// conditioned DeleteItem, so a challenge is answered once. `None`: unknown, answered already, or expired.
pub async fn take_passkey_ceremony(
    db: &Db,
    challenge_hash: &str,
    now: i64,
) -> Result<Option<PasskeyCeremony>, StoreError> {
    take_unexpired(db, &Key::passkey_ceremony(challenge_hash), now).await
}

/// Deletes the item at `key` if it exists and its `expiresAt` is after `now`, answering it (one DeleteItem
/// with a condition): whatever is taken this way is taken once.
pub(crate) async fn take_unexpired<E: crate::model::Entity>(
    db: &Db,
    key: &Key,
    now: i64,
) -> Result<Option<E>, StoreError> {
    let result = db
        .client
        .delete_item()
        .table_name(&db.table)
        .set_key(Some(crate::key_attributes(key)))
        .condition_expression("attribute_exists(PK) AND expiresAt > :now")
        .expression_attribute_values(":now", n(now))
        .return_values(ReturnValue::AllOld)
        .send()
        .await;
    match result {
        Ok(output) => output.attributes.map(from_item::<E>).transpose(),
        Err(e) if e.as_service_error().is_some_and(|se| se.is_conditional_check_failed_exception()) => Ok(None),
        Err(e) => Err(StoreError::sdk("DeleteItem", e)),
    }
}

/// The account's passkeys, oldest first (one Query of its partition).
pub async fn account_passkeys(db: &Db, account_id: &str) -> Result<Vec<Passkey>, StoreError> {
    let mut passkeys = super::account_items::<Passkey>(db, account_id, PASSKEY_PREFIX).await?;
    passkeys.sort_by_key(|passkey| passkey.created);
    Ok(passkeys)
}

/// The account and its passkey `id`, as they are now (one BatchGetItem): what a sign-in checks.
pub async fn account_and_passkey(
    db: &Db,
    account_id: &str,
    id: &str,
) -> Result<(Option<Account>, Option<Passkey>), StoreError> {
    let (account_key, passkey_key) = (Key::account(account_id), Key::passkey(account_id, id));
    let mut items = db.batch_get(&[account_key.clone(), passkey_key.clone()]).await?;
    let account = items.remove(&account_key).map(from_item::<Account>).transpose()?;
    let passkey = items.remove(&passkey_key).map(from_item::<Passkey>).transpose()?;
    Ok((account, passkey))
}

/// Why a passkey could not be added or removed.
#[derive(Debug)]
pub enum PasskeyWriteError {
    /// Added: the account already has this credential. Removed: it has no passkey of this id.
    Conflict,
    /// The account is gone (its last organization was deleted meanwhile).
    AccountGone,
    Store(StoreError),
}

impl From<StoreError> for PasskeyWriteError {
    fn from(err: StoreError) -> Self {
        PasskeyWriteError::Store(err)
    }
}

/// Adds a passkey to its account, with an audit entry in each of the account's organizations: one
/// transaction (the passkey new, the account still there), more for an account in very many organizations.
pub async fn add_passkey(
    db: &Db,
    account: &Account,
    passkey: &Passkey,
    audit: super::AccountAudit<'_>,
) -> Result<(), PasskeyWriteError> {
    let leading =
        vec![db.put_new(passkey), db.condition_check(&Key::account(&account.id), "attribute_exists(PK)", vec![])];
    write_with_entries(db, account, leading, audit).await
}

/// Removes the account's passkey `id` (it must exist: else [`PasskeyWriteError::Conflict`]), with an
/// audit entry in each of the account's organizations. A sign-in with it that has not finished yet fails
/// its transaction (it updates the passkey only while it exists).
pub async fn remove_passkey(
    db: &Db,
    account: &Account,
    id: &str,
    audit: super::AccountAudit<'_>,
) -> Result<(), PasskeyWriteError> {
    let leading = vec![db.delete(&Key::passkey(&account.id, id), Some("attribute_exists(PK)"))];
    write_with_entries(db, account, leading, audit).await
}

async fn write_with_entries(
    db: &Db,
    account: &Account,
    leading: Vec<TransactWriteItem>,
    audit: super::AccountAudit<'_>,
) -> Result<(), PasskeyWriteError> {
    let entries: Vec<Vec<TransactWriteItem>> = account
        .identities
        .iter()
        .map(|(organization, user_id)| audit(organization, user_id).iter().map(|entry| db.put_new(entry)).collect())
        .collect();
    match super::transact_leading(db, leading, entries).await {
        Ok(()) => Ok(()),
        Err(super::RedeemError::LinkGone) => Err(PasskeyWriteError::Conflict),
        Err(super::RedeemError::AccountChanged) => Err(PasskeyWriteError::AccountGone),
        Err(super::RedeemError::Store(err)) => Err(PasskeyWriteError::Store(err)),
    }
}

/// Renames the account's passkey `id`, answering it renamed: `None` when it has none of that id (one
/// UpdateItem).
pub async fn rename_passkey(db: &Db, account_id: &str, id: &str, name: &str) -> Result<Option<Passkey>, StoreError> {
    let result = db
        .client
        .update_item()
        .table_name(&db.table)
        .set_key(Some(crate::key_attributes(&Key::passkey(account_id, id))))
        .update_expression("SET #name = :name")
        .condition_expression("attribute_exists(PK)")
        .expression_attribute_names("#name", "name")
        .expression_attribute_values(":name", s(name))
        .return_values(ReturnValue::AllNew)
        .send()
        .await;
    match result {
        Ok(output) => output.attributes.map(from_item::<Passkey>).transpose(),
        Err(e) if e.as_service_error().is_some_and(|se| se.is_conditional_check_failed_exception()) => Ok(None),
        Err(e) => Err(StoreError::sdk("UpdateItem", e)),
    }
}

/// The write that records a sign-in with `passkey` (its new dynamic state and the time), made only while
/// the passkey exists with the dynamic state the sign-in checked (`checked`): of two sign-ins with one
/// assertion or one counter value, one fails here, and a passkey removed meanwhile signs nobody in.
pub(crate) fn passkey_use_item(db: &Db, passkey: &Passkey, checked: &str, now: i64) -> TransactWriteItem {
    db.update(
        &Key::passkey(&passkey.account_id, &passkey.id),
        "SET dynamicState = :new, lastUsed = :now",
        Some("dynamicState = :checked"),
        &[],
        vec![(":new", s(&passkey.dynamic_state)), (":now", n(now)), (":checked", s(checked))],
    )
}

/// The deletes of all the account's passkeys (for the account's own deletion).
pub(crate) async fn passkey_removals(db: &Db, account_id: &str) -> Result<Vec<TransactWriteItem>, StoreError> {
    Ok(account_passkeys(db, account_id)
        .await?
        .iter()
        .map(|passkey| db.delete(&Key::passkey(account_id, &passkey.id), None))
        .collect())
}
