//! Credential changes: e-mail and password changes with a user change, reset and verification links.

use crate::StoreError;
use crate::accounts::account;
use crate::accounts::login::LoginSubject;
use crate::ids;
use crate::model::{Account, AuditEntry, EmailGuard, Key, Session};
use crate::org::UserWriteConflict;
use crate::{Db, TransactError, from_item, n, s};
use aws_sdk_dynamodb::types::TransactWriteItem;

/// The audit entries of an account change in one of its organizations: `(organization, user id) -> entries`.
pub(crate) type AccountAudit<'a> = &'a (dyn Fn(&str, &str) -> Vec<AuditEntry> + Sync);

/// [`credential_change_items`] for the account as it is now (read here).
pub async fn credential_change_items_now(
    db: &Db,
    account_id: &str,
    new_email: Option<&str>,
    new_password_hash: Option<&str>,
    identity: (&str, &str),
    audit: AccountAudit<'_>,
) -> Result<Vec<(TransactWriteItem, UserWriteConflict)>, StoreError> {
    let account = account(db, account_id).await?.ok_or(StoreError::CredentialGone)?;
    Ok(credential_change_items(db, &account, new_email, new_password_hash, identity, audit))
}

/// The transaction items that change an account's e-mail address and/or password hash (moving its e-mail
/// guard), and the user item of each of its identities except `written_with` (organization, user id),
/// whose user item the caller writes in the same transaction: each gets the new address, and a new
/// password ends its sessions (`sessionEpoch`), with the change's audit entry in that organization. Each item
/// comes with what its failed condition means.
pub(crate) fn credential_change_items(
    db: &Db,
    account: &Account,
    new_email: Option<&str>,
    new_password_hash: Option<&str>,
    written_with: (&str, &str),
    audit: AccountAudit<'_>,
) -> Vec<(TransactWriteItem, UserWriteConflict)> {
    let mut items = Vec::new();
    let mut account_update = Vec::new();
    let mut values = vec![(":id", s(&account.id))];
    if let Some(email) = new_email {
        items.push((
            db.delete_with_values(
                &Key::email_guard(&account.email),
                Some("accountId = :id"),
                vec![(":id", s(&account.id))],
            ),
            UserWriteConflict::Stale,
        ));
        items.push((
            db.put_new(&EmailGuard { email: email.to_owned(), account_id: account.id.clone() }),
            UserWriteConflict::EmailInUse,
        ));
        // A new address is unproven until its verification link is followed.
        account_update.push("email = :email, emailVerified = :unverified, emailSetAt = :now");
        values.push((":email", s(email)));
        values.push((":unverified", aws_sdk_dynamodb::types::AttributeValue::Bool(false)));
        values.push((":now", n(ids::now_millis())));
    }
    if let Some(hash) = new_password_hash {
        account_update.push("passwordHash = :hash");
        values.push((":hash", s(hash)));
    }
    if account_update.is_empty() {
        return items;
    }
    items.push((
        db.update(
            &Key::account(&account.id),
            &format!("SET {}", account_update.join(", ")),
            Some("id = :id"),
            &[],
            values,
        ),
        UserWriteConflict::Stale,
    ));
    for (organization, user_id) in &account.identities {
        if (organization.as_str(), user_id.as_str()) == written_with {
            continue;
        }
        let unverified = || (":unverified", aws_sdk_dynamodb::types::AttributeValue::Bool(false));
        let (expression, mut values) = match (new_email, new_password_hash.is_some()) {
            (Some(email), true) => (
                "SET email = :email, isEmailVerified = :unverified ADD version :one, sessionEpoch :one",
                vec![(":email", s(email)), unverified()],
            ),
            (Some(email), false) => (
                "SET email = :email, isEmailVerified = :unverified ADD version :one",
                vec![(":email", s(email)), unverified()],
            ),
            (None, _) => ("ADD version :one, sessionEpoch :one", vec![]),
        };
        values.push((":one", n(1)));
        items.push((
            db.update(&Key::user(organization, user_id), expression, Some("attribute_exists(PK)"), &[], values),
            UserWriteConflict::Stale,
        ));
        items.extend(audit(organization, user_id).iter().map(|entry| (db.put_new(entry), UserWriteConflict::Stale)));
    }
    items
}

/// The account and one of its items keyed under it (a password reset or an e-mail verification), in one
/// strongly consistent BatchGetItem.
async fn account_with<E: crate::model::Entity>(
    db: &Db,
    account_id: &str,
    key: &Key,
) -> Result<(Option<Account>, Option<E>), StoreError> {
    let account_key = Key::account(account_id);
    let mut items = db.batch_get(&[account_key.clone(), key.clone()]).await?;
    let account = items.remove(&account_key).map(from_item::<Account>).transpose()?;
    let item = items.remove(key).map(from_item::<E>).transpose()?;
    Ok((account, item))
}

/// The account and its password reset record, in one BatchGetItem.
pub async fn account_with_password_reset(
    db: &Db,
    account_id: &str,
) -> Result<(Option<Account>, Option<crate::model::PasswordReset>), StoreError> {
    account_with(db, account_id, &Key::password_reset(account_id)).await
}

/// The account and the e-mail verification record of the key whose SHA-256 is `key_hash`, in one BatchGetItem.
pub async fn account_with_email_verification(
    db: &Db,
    account_id: &str,
    key_hash: &str,
) -> Result<(Option<Account>, Option<crate::model::EmailVerification>), StoreError> {
    account_with(db, account_id, &Key::email_verification(account_id, key_hash)).await
}

/// Stores a link record of an account (a password reset, replacing the account's earlier one so only the
/// newest link works; or a new e-mail verification).
pub async fn put_link<E: crate::model::Entity>(db: &Db, link: &E) -> Result<(), StoreError> {
    db.client
        .put_item()
        .table_name(&db.table)
        .set_item(Some(crate::to_item(link)))
        .send()
        .await
        .map_err(|e| crate::StoreError::sdk("PutItem", e))?;
    Ok(())
}

/// Why a one-time link could not be redeemed in its transaction.
#[derive(Debug, PartialEq, Eq)]
pub enum RedeemError {
    /// The link's own condition failed: used (or replaced) meanwhile, or expired.
    LinkGone,
    /// The account changed meanwhile (its address, or it was deleted).
    AccountChanged,
    Store(StoreError),
}

impl From<TransactError> for RedeemError {
    fn from(err: TransactError) -> Self {
        match err {
            TransactError::ConditionFailed { failed } if failed.first() == Some(&true) => RedeemError::LinkGone,
            TransactError::ConditionFailed { .. } => RedeemError::AccountChanged,
            TransactError::Store(err) => RedeemError::Store(err),
        }
    }
}

/// Updates of every identity of `account` (the same expression on each user item), each with the audit
/// entries of the change in that organization: one group per identity.
pub(super) fn identity_updates(
    db: &Db,
    account: &Account,
    expression: &str,
    values: Vec<(&str, aws_sdk_dynamodb::types::AttributeValue)>,
    audit: AccountAudit<'_>,
) -> Vec<Vec<TransactWriteItem>> {
    account
        .identities
        .iter()
        .map(|(organization, user_id)| {
            let update = db.update(
                &Key::user(organization, user_id),
                expression,
                Some("attribute_exists(PK)"),
                &[],
                values.clone(),
            );
            std::iter::once(update).chain(audit(organization, user_id).iter().map(|entry| db.put_new(entry))).collect()
        })
        .collect()
}

/// Writes `leading` (whose first item is the link's conditional write) and the identity updates with their
/// entries: in one transaction when they fit (the usual case), else the leading ones with the first
/// identities, then the rest (an account in more than ~45 organizations); an identity's update and entries
/// always share a transaction.
pub(super) async fn transact_leading(
    db: &Db,
    leading: Vec<TransactWriteItem>,
    rest: Vec<Vec<TransactWriteItem>>,
) -> Result<(), RedeemError> {
    let mut transactions = vec![leading];
    for group in rest {
        if transactions.last().is_some_and(|t| t.len() + group.len() > crate::TRANSACTION_LIMIT) {
            transactions.push(Vec::new());
        }
        transactions.last_mut().expect("one transaction at least").extend(group);
    }
    for (index, items) in transactions.into_iter().enumerate() {
        db.transact(items).await.map_err(|e| match e {
            // The first transaction's failed conditions say which; later ones only hold identities.
            e if index == 0 => RedeemError::from(e),
            TransactError::Store(err) => RedeemError::Store(err),
            TransactError::ConditionFailed { .. } => RedeemError::AccountChanged,
        })?;
    }
    Ok(())
}

/// Redeems a password reset: the reset is deleted (conditioned on the token's hash and its validity, so
/// of concurrent redemptions exactly one succeeds), the account gets the new password hash (conditioned
/// on the address the link went to, which it thereby proves), every identity's sessions and tokens end,
/// and the address's login lock and undeliverable mark are lifted.
pub async fn redeem_password_reset(
    db: &Db,
    account: &Account,
    reset: &crate::model::PasswordReset,
    password_hash: &str,
    now: i64,
    audit: AccountAudit<'_>,
) -> Result<(), RedeemError> {
    let leading = vec![
        db.delete_with_values(
            &Key::password_reset(&account.id),
            Some("tokenHash = :hash AND validUntil > :now"),
            vec![(":hash", s(&reset.token_hash)), (":now", n(now))],
        ),
        db.update(
            &Key::account(&account.id),
            "SET passwordHash = :password, emailVerified = :verified",
            Some("email = :email"),
            &[],
            vec![
                (":password", s(password_hash)),
                (":verified", aws_sdk_dynamodb::types::AttributeValue::Bool(true)),
                (":email", s(&reset.email)),
            ],
        ),
        db.delete(&LoginSubject::Email(&reset.email).key(), None),
        // A link that arrived proves the address takes mail: an earlier bounce or complaint mark goes.
        db.delete(&Key::undeliverable_address(&reset.email.to_lowercase()), None),
    ];
    let rest = identity_updates(
        db,
        account,
        "SET isEmailVerified = :verified ADD sessionEpoch :one, version :one",
        vec![(":verified", aws_sdk_dynamodb::types::AttributeValue::Bool(true)), (":one", n(1))],
        audit,
    );
    transact_leading(db, leading, rest).await
}

/// Marks the address of `verification` verified: the link is marked used (conditioned on not being used
/// yet and on its address), the account and every identity get `emailVerified` (conditioned on the account
/// still having that address), and the address's undeliverable mark is lifted.
pub async fn confirm_email(
    db: &Db,
    account: &Account,
    verification: &crate::model::EmailVerification,
    now: i64,
    audit: AccountAudit<'_>,
) -> Result<(), RedeemError> {
    let verified = aws_sdk_dynamodb::types::AttributeValue::Bool(true);
    let leading = vec![
        db.update(
            &Key::email_verification(&verification.account_id, &verification.key_hash),
            "SET usedAt = :now",
            Some("attribute_exists(PK) AND attribute_not_exists(usedAt) AND validUntil > :now"),
            &[],
            vec![(":now", n(now))],
        ),
        db.update(
            &Key::account(&account.id),
            "SET emailVerified = :verified",
            Some("email = :email"),
            &[],
            vec![(":verified", verified.clone()), (":email", s(&verification.email))],
        ),
        // A link that arrived proves the address takes mail: an earlier bounce or complaint mark goes.
        db.delete(&Key::undeliverable_address(&verification.email.to_lowercase()), None),
    ];
    let rest = identity_updates(
        db,
        account,
        "SET isEmailVerified = :verified ADD version :one",
        vec![(":verified", verified), (":one", n(1))],
        audit,
    );
    transact_leading(db, leading, rest).await
}

/// Changes the account's password, ends every session and token of all its identities, and starts
/// `session` (made with the caller's new session epoch) in the same transaction. Conditioned on the
/// password hash that was checked, so a concurrent change cannot be overwritten unseen.
pub async fn change_password(
    db: &Db,
    account: &Account,
    password_hash: &str,
    session: &Session,
    audit: AccountAudit<'_>,
) -> Result<(), RedeemError> {
    let leading = vec![
        db.update(
            &Key::account(&account.id),
            "SET passwordHash = :password",
            Some("passwordHash = :checked"),
            &[],
            vec![(":password", s(password_hash)), (":checked", s(&account.password_hash))],
        ),
        db.put_new(session),
    ];
    let rest = identity_updates(db, account, "ADD sessionEpoch :one, version :one", vec![(":one", n(1))], audit);
    transact_leading(db, leading, rest).await
}
