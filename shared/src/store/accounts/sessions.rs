//! Sessions: starting one on the condition that its basis still holds, and ending them all.

use super::*;

/// What must still hold when a session starts (checked in the same transaction), so a credential change
/// that commits while the session is being made cannot be outlived by it.
pub enum SessionBasis<'a> {
    /// A login: the password checked is still the account's.
    PasswordChecked(&'a Account),
    /// A switch by an authenticated caller: the caller's identity has not had its sessions ended since.
    CallerStillValid(&'a User),
}

/// Starts a session for `user` and remembers its organization as the account's last used one, in one
/// transaction with the check of its `basis`.
pub async fn start_session(
    db: &Db,
    account: &Account,
    user: &User,
    basis: SessionBasis<'_>,
    lifetime_seconds: i64,
    now: i64,
) -> Result<Session, ApiError> {
    let session = Session {
        organization: user.organization.clone(),
        id: ids::new_secret(),
        user_id: user.id.clone(),
        created: now,
        expires_at: now / 1000 + lifetime_seconds,
    };
    let changes_last_used = account.last_used_organization.as_deref() != Some(user.organization.as_str());
    let last_used = |condition: &str, mut values: Vec<(&str, aws_sdk_dynamodb::types::AttributeValue)>| {
        values.push((":organization", s(&user.organization)));
        db.update(&Key::account(&account.id), "SET lastUsedOrganization = :organization", Some(condition), &[], values)
    };
    // The basis's check comes first (a transaction touches each item once: a login that also moves the
    // account's last used organization checks the password in that update).
    let mut items = match basis {
        SessionBasis::PasswordChecked(checked) if changes_last_used => {
            vec![last_used("passwordHash = :hash", vec![(":hash", s(&checked.password_hash))])]
        }
        SessionBasis::PasswordChecked(checked) => {
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
    };
    items.push(db.put_new(&session));
    match db.transact(items).await {
        Ok(()) => Ok(session),
        // The password was changed or the sessions ended meanwhile.
        Err(TransactError::ConditionFailed { failed }) if failed[0] => Err(ApiError::invalid_credential()),
        Err(err) => Err(err.into()),
    }
}

/// Ends every session and API token of the account, in every organization, at once: one transaction
/// raises the session epoch of all its identities (after one GetItem for the account).
pub async fn end_all_sessions(db: &Db, account_id: &str) -> Result<(), ApiError> {
    let account = db.get::<Account>(&Key::account(account_id)).await?.ok_or_else(ApiError::invalid_credential)?;
    let updates: Vec<_> = account
        .identities
        .iter()
        .map(|(organization, user_id)| {
            db.update(
                &Key::user(organization, user_id),
                "ADD sessionEpoch :one, version :one",
                Some("attribute_exists(PK)"),
                &[],
                vec![(":one", n(1))],
            )
        })
        .collect();
    for chunk in updates.chunks(crate::store::TRANSACTION_LIMIT) {
        db.transact(chunk.to_vec()).await?;
    }
    Ok(())
}
