//! The operator role: one grant item per account, all in one partition (`OPERATORS`).

use crate::StoreError;
use crate::model::{Account, AuditEntry, Key};
use crate::model::{OPERATORS_PARTITION, OperatorGrant};
use crate::{Db, TransactError, from_item, s};

/// Whether the account holds the operator role (one strongly consistent GetItem).
pub async fn is_operator(db: &Db, account_id: &str) -> Result<bool, StoreError> {
    Ok(db.get::<OperatorGrant>(&Key::operator_grant(account_id)).await?.is_some())
}

/// Why a grant was not written.
#[derive(Debug)]
pub enum GrantRefused {
    /// The account's address changed, or is not verified (checked in the transaction).
    AddressNotVerified,
    /// The account holds the role already.
    AlreadyOperator,
    Store(StoreError),
}

/// Writes `grant` with its audit entries, on the condition that the account still has the grant's address
/// verified and holds no grant yet (one transaction).
pub async fn grant_operator(db: &Db, grant: &OperatorGrant, audit: Vec<AuditEntry>) -> Result<(), GrantRefused> {
    let mut items = vec![
        db.condition_check(
            &Key::account(&grant.account_id),
            "email = :email AND emailVerified = :verified",
            vec![(":email", s(&grant.email)), (":verified", aws_sdk_dynamodb::types::AttributeValue::Bool(true))],
        ),
        db.put_new(grant),
    ];
    items.extend(audit.iter().map(|entry| db.put_new(entry)));
    match db.transact(items).await {
        Ok(()) => Ok(()),
        Err(TransactError::ConditionFailed { failed }) if failed.first() == Some(&true) => {
            Err(GrantRefused::AddressNotVerified)
        }
        Err(TransactError::ConditionFailed { .. }) => Err(GrantRefused::AlreadyOperator),
        Err(TransactError::Store(err)) => Err(GrantRefused::Store(err)),
    }
}

/// Deletes the account's grant with its audit entries: `false` when it held none (nothing written).
pub async fn revoke_operator(db: &Db, account_id: &str, audit: Vec<AuditEntry>) -> Result<bool, StoreError> {
    let mut items = vec![db.delete(&Key::operator_grant(account_id), Some("attribute_exists(PK)"))];
    items.extend(audit.iter().map(|entry| db.put_new(entry)));
    db.transact_if(items).await
}

/// The current addresses of every operator's account: one Query page of the grants (operators are few),
/// then one BatchGetItem of their accounts.
pub async fn operator_addresses(db: &Db) -> Result<Vec<String>, StoreError> {
    let keys: Vec<Key> = operator_grants(db).await?.iter().map(|grant| Key::account(&grant.account_id)).collect();
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    db.batch_get(&keys).await?.into_values().map(|item| from_item::<Account>(item).map(|a| a.email)).collect()
}

/// Every grant (one Query page: operators are few).
pub(crate) async fn operator_grants(db: &Db) -> Result<Vec<OperatorGrant>, StoreError> {
    let page = db.newest_first(OPERATORS_PARTITION, "ACCOUNT#", None, 1000, |g: &OperatorGrant| &g.account_id).await?;
    Ok(page.items)
}
