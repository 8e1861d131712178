//! Joining an organization with an invite: the new identity and the invite's acceptance in one transaction.

use super::TransactError;
use super::org::{OrgStore, UserWrite, UserWriteConflict, UserWriteExtras};
use crate::StoreError;
use crate::model::{Account, AuditEntry, EmailGuard, Invite, Key, User};

/// Who joins.
pub enum Joiner<'a> {
    /// A new account: its e-mail guard and account item are created (the address must be free).
    NewAccount { guard: &'a EmailGuard, account: &'a Account },
    /// An existing account: it claims the organization in its identity map (which must not have it yet),
    /// with the address and verification it was read with.
    ExistingAccount { account_id: &'a str },
}

/// Why a join did not commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinConflict {
    /// The joiner's part: the address is taken (new account), or the account has an identity in the
    /// organization already or changed its address meanwhile (existing account).
    Joiner,
    /// The invite is no longer the pending, unexpired one that was read.
    Invite,
    /// The plan has no room for another active user, or the organization is being deleted.
    IncludedUsersExceeded,
    /// Something else changed meanwhile.
    Other,
}

pub enum JoinError {
    Conflict(JoinConflict),
    Store(StoreError),
}

impl From<StoreError> for JoinError {
    fn from(err: StoreError) -> Self {
        JoinError::Store(err)
    }
}

impl OrgStore<'_> {
    /// Writes `user` (with its memberships and the member counters), `accepted`, the invite as accepted, and
    /// the audit entries, in one transaction after the joiner's items; `read` is the invite as read (its acceptance is
    /// conditioned on it).
    pub async fn join(
        &self,
        joiner: &Joiner<'_>,
        read: &Invite,
        accepted: &Invite,
        user: &User,
        now: i64,
        audit: Vec<AuditEntry>,
    ) -> Result<(), JoinError> {
        let db = self.db();
        let mut items = match joiner {
            Joiner::NewAccount { guard, account } => vec![db.put_new(*guard), db.put_new(*account)],
            Joiner::ExistingAccount { account_id } => vec![db.update(
                &Key::account(account_id),
                "SET identities.#organization = :user",
                Some(if user.is_email_verified {
                    "attribute_exists(PK) AND attribute_not_exists(identities.#organization) AND email = :email \
                     AND emailVerified = :verified"
                } else {
                    "attribute_exists(PK) AND attribute_not_exists(identities.#organization) AND email = :email \
                     AND (attribute_not_exists(emailVerified) OR emailVerified = :verified)"
                }),
                &[("#organization", self.organization_id())],
                vec![
                    (":user", super::s(&user.id)),
                    (":email", super::s(&user.email)),
                    (":verified", aws_sdk_dynamodb::types::AttributeValue::Bool(user.is_email_verified)),
                ],
            )],
        };
        let joiner_count = items.len();
        let extras = UserWriteExtras {
            member_delta: 1,
            active_user_delta: i64::from(user.is_active()),
            claim_ownership: read.makes_owner,
            audit,
            ..UserWriteExtras::default()
        };
        let (user_items, meanings) = self.user_write_items(&[UserWrite { before: None, after: user.clone() }], &extras);
        items.extend(user_items);
        let accept_at = items.len();
        items.extend(self.accept_invite_items(read, accepted, now));
        match db.transact(items).await {
            Ok(()) => Ok(()),
            Err(TransactError::Store(err)) => Err(JoinError::Store(err)),
            Err(TransactError::ConditionFailed { failed }) => {
                let conflict = if failed[..joiner_count].iter().any(|f| *f) {
                    JoinConflict::Joiner
                } else if failed[accept_at..].iter().any(|f| *f) {
                    JoinConflict::Invite
                } else if failed[joiner_count..accept_at]
                    .iter()
                    .zip(&meanings)
                    .any(|(f, m)| *f && *m == UserWriteConflict::IncludedUsersExceeded)
                {
                    JoinConflict::IncludedUsersExceeded
                } else {
                    JoinConflict::Other
                };
                Err(JoinError::Conflict(conflict))
            }
        }
    }
}
