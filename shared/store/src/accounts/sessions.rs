//! Sessions: starting one on the condition that its basis still holds, and ending them all.

use crate::StoreError;
use crate::accounts::credentials::AccountAudit;
use crate::accounts::credentials::identity_updates;
use crate::ids;
use crate::model::{Account, AuditEntry, Key, Session, SignInMethod, User};
use crate::{Db, TransactError, n, s};
use aws_sdk_dynamodb::types::TransactWriteItem;

/// What must still hold when a session starts (checked in the same transaction), so a credential change
/// that commits while the session is being made cannot be outlived by it.
pub enum SessionBasis<'a> {
    /// A login: the password checked is still the account's.
    PasswordChecked(&'a Account),
    /// A switch by an authenticated caller: the caller's identity has not had its sessions ended since.
    CallerStillValid(&'a User),
    /// A sign-in with an identity provider that links the provider's person to the account: the account
    /// unchanged since it was read (as for a login), and the link, unique (a person linked meanwhile is a
    /// conflict).
    Linking(&'a Account, &'a crate::model::ProviderLink),
    /// A sign-in with a passkey: the passkey (with its state after this use) still there with the state
    /// the sign-in checked (its second field), so one assertion signs in once.
    Passkey(&'a crate::model::Passkey, &'a str),
}

/// How long a new session lives, how its person signed in, and when it starts (epoch ms).
pub struct NewSession {
    pub lifetime_seconds: i64,
    pub signed_in_with: SignInMethod,
    pub now: i64,
}

/// Starts a session for `user` and remembers its organization as the account's last used one, in one
/// transaction with the check (and the link) of its `basis` and the audit entry `audit(session id)`.
pub async fn start_session(
    db: &Db,
    account: &Account,
    user: &User,
    basis: SessionBasis<'_>,
    new: NewSession,
    audit: impl FnOnce(&Session) -> AuditEntry,
) -> Result<Session, StoreError> {
    let NewSession { lifetime_seconds, signed_in_with, now } = new;
    let session = Session {
        organization: user.organization.clone(),
        id: ids::new_secret(),
        user_id: user.id.clone(),
        created: now,
        expires_at: now / 1000 + lifetime_seconds,
        signed_in_with,
    };
    let changes_last_used = account.last_used_organization.as_deref() != Some(user.organization.as_str());
    let last_used = |condition: &str, mut values: Vec<(&str, aws_sdk_dynamodb::types::AttributeValue)>| {
        values.push((":organization", s(&user.organization)));
        db.update(&Key::account(&account.id), "SET lastUsedOrganization = :organization", Some(condition), &[], values)
    };
    // The basis's check comes first (a transaction touches each item once: a login that also moves the
    // account's last used organization checks the password in that update).
    let link = match basis {
        SessionBasis::Linking(_, link) => Some(link),
        _ => None,
    };
    let is_passkey = matches!(basis, SessionBasis::Passkey(..));
    let mut items = match basis {
        SessionBasis::PasswordChecked(checked) | SessionBasis::Linking(checked, _) if changes_last_used => {
            vec![last_used("passwordHash = :hash", vec![(":hash", s(&checked.password_hash))])]
        }
        SessionBasis::PasswordChecked(checked) | SessionBasis::Linking(checked, _) => {
            vec![db.condition_check(
                &Key::account(&checked.id),
                "passwordHash = :hash",
                vec![(":hash", s(&checked.password_hash))],
            )]
        }
        SessionBasis::CallerStillValid(caller) => {
            let check = db.condition_check(
                &Key::user(&caller.organization, &caller.id),
                "sessionEpoch = :epoch AND isDeactivated = :false",
                vec![
                    (":epoch", n(caller.session_epoch)),
                    (":false", aws_sdk_dynamodb::types::AttributeValue::Bool(false)),
                ],
            );
            let mut items = vec![check];
            if changes_last_used {
                items.push(last_used("attribute_exists(PK)", Vec::new()));
            }
            items
        }
        SessionBasis::Passkey(passkey, checked) => {
            let mut items = vec![super::passkeys::passkey_use_item(db, passkey, checked, now)];
            if changes_last_used {
                items.push(last_used("attribute_exists(PK)", Vec::new()));
            }
            items
        }
    };
    items.push(db.put_new(&session));
    items.push(db.put_new(&audit(&session)));
    items.extend(link.into_iter().flat_map(|link| crate::accounts::sso::new_link_items(db, link)));
    match db.transact(items).await {
        Ok(()) => Ok(session),
        // The password was changed or the sessions ended meanwhile; the passkey was used or removed
        // meanwhile, or the account deleted.
        Err(TransactError::ConditionFailed { failed }) if failed[0] || is_passkey => Err(StoreError::CredentialGone),
        // The person was linked meanwhile.
        Err(TransactError::ConditionFailed { .. }) if link.is_some() => Err(StoreError::Conflict),
        Err(err) => Err(err.into()),
    }
}

/// Ends every session and API token of the account, in every organization, at once: one transaction
/// raises the session epoch of all its identities, each with its audit entry (after one GetItem for the
/// account; an account in more than ~45 organizations takes more transactions).
pub async fn end_all_sessions(db: &Db, account_id: &str, audit: AccountAudit<'_>) -> Result<(), StoreError> {
    let account = db.get::<Account>(&Key::account(account_id)).await?.ok_or(StoreError::CredentialGone)?;
    let updates = identity_updates(db, &account, "ADD sessionEpoch :one, version :one", vec![(":one", n(1))], audit);
    let mut transactions: Vec<Vec<TransactWriteItem>> = vec![Vec::new()];
    for group in updates {
        if transactions.last().is_some_and(|t| t.len() + group.len() > crate::TRANSACTION_LIMIT) {
            transactions.push(Vec::new());
        }
        transactions.last_mut().expect("one transaction at least").extend(group);
    }
    for items in transactions.into_iter().filter(|t| !t.is_empty()) {
        db.transact(items).await?;
    }
    Ok(())
}

/// Writes audit entries of organizations that are outside any change of theirs (a failed login of an
/// account, in each of its organizations): each conditioned on its organization existing and not being
/// deleted, so none lands in a partition being purged; the others are written.
pub async fn log_in_organizations(db: &Db, entries: Vec<AuditEntry>) -> Result<(), StoreError> {
    let mut entries = entries;
    for _ in 0..2 {
        let items: Vec<TransactWriteItem> = entries
            .iter()
            .take(crate::TRANSACTION_LIMIT / 2)
            .flat_map(|entry| {
                [
                    db.condition_check(
                        &Key::organization(&entry.organization),
                        "attribute_exists(PK) AND attribute_not_exists(deletionRequestedAt)",
                        Vec::new(),
                    ),
                    db.put_new(entry),
                ]
            })
            .collect();
        if items.is_empty() {
            return Ok(());
        }
        match db.transact(items).await {
            Ok(()) => return Ok(()),
            Err(TransactError::ConditionFailed { failed }) => {
                let gone: Vec<bool> = failed.chunks(2).map(|pair| pair.iter().any(|f| *f)).collect();
                let mut index = 0;
                entries.retain(|_| {
                    index += 1;
                    !gone.get(index - 1).copied().unwrap_or(false)
                });
            }
            Err(TransactError::Store(err)) => return Err(err),
        }
    }
    Ok(())
}
