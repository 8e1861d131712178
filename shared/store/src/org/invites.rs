//! Invites: creating, replacing (resend, revoke) and accepting them, newest first.

use crate::StoreError;
use crate::model::{AuditEntry, INVITE_PREFIX, Invite, InviteEmailGuard, InviteState, Key, org_partition};
use crate::org::OrgStore;
use crate::org::QueryPage;
use crate::org::STATE_NAME;
use crate::{n, s};
use aws_sdk_dynamodb::types::TransactWriteItem;

impl OrgStore<'_> {
    pub async fn invite(&self, invite_id: &str) -> Result<Option<Invite>, StoreError> {
        if !crate::ids::is_object_id(invite_id) {
            return Ok(None);
        }
        self.db.get(&Key::invite(&self.organization, invite_id)).await
    }

    /// One page of the organization's invites, newest first, after the invite id `after`.
    pub async fn invites(&self, after: Option<&str>, limit: usize) -> Result<QueryPage<Invite>, StoreError> {
        self.newest_first(INVITE_PREFIX, after, limit, |invite: &Invite| invite.id.as_str()).await
    }

    /// One page of the organization's items under `prefix`, newest first, after the item whose id is
    /// `after` ([`crate::Db::newest_first`] in its partition).
    pub(super) async fn newest_first<E: crate::model::Entity>(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
        id: impl Fn(&E) -> &str,
    ) -> Result<QueryPage<E>, StoreError> {
        self.db.newest_first(&org_partition(&self.organization), prefix, after, limit, id).await
    }

    /// Stores a new invite with its e-mail guard and audit entry: fails with `false` while another invite for
    /// the address is still valid.
    pub async fn create_invite(&self, invite: &Invite, now: i64, entry: &AuditEntry) -> Result<bool, StoreError> {
        debug_assert_eq!(invite.organization, self.organization);
        let guard = InviteEmailGuard {
            organization: self.organization.clone(),
            email: invite.email.clone(),
            invite_id: invite.id.clone(),
            valid_until: invite.valid_until,
        };
        let items = vec![
            self.db.put_conditioned(&guard, "attribute_not_exists(PK) OR validUntil <= :now", vec![(":now", n(now))]),
            self.db.put_new(invite),
            self.db.put_new(entry),
        ];
        self.db.transact_if(items).await
    }

    /// Replaces a pending invite (delivery state, resend, revocation), conditioned on it being unchanged
    /// since read (its nonce and state); moves its e-mail guard along, and writes the change's audit entry
    /// (none for the delivery state, which the invite shows). `false`: it changed meanwhile.
    pub async fn replace_pending_invite(
        &self,
        before: &Invite,
        after: &Invite,
        entry: Option<&AuditEntry>,
    ) -> Result<bool, StoreError> {
        let mut items = vec![self.db.put_conditioned_named(
            after,
            "nonce = :nonce AND #state = :pending",
            STATE_NAME,
            vec![(":nonce", s(&before.nonce)), (":pending", s("pending"))],
        )];
        let guard_key = Key::invite_email_guard(&self.organization, &before.email);
        if after.state == InviteState::Pending {
            if after.valid_until != before.valid_until {
                let guard = InviteEmailGuard {
                    organization: self.organization.clone(),
                    email: after.email.clone(),
                    invite_id: after.id.clone(),
                    valid_until: after.valid_until,
                };
                items.push(self.db.put_conditioned(
                    &guard,
                    "attribute_not_exists(PK) OR inviteId = :id",
                    vec![(":id", s(&after.id))],
                ));
            }
        } else {
            items.push(self.db.delete_with_values(
                &guard_key,
                Some("attribute_not_exists(PK) OR inviteId = :id"),
                vec![(":id", s(&after.id))],
            ));
        }
        items.extend(entry.map(|entry| self.db.put_new(entry)));
        self.db.transact_if(items).await
    }

    /// The transaction items that mark `before` accepted as `after`: only if it is still pending, valid at
    /// `now`, and has the token checked (its nonce); they also free its e-mail guard.
    pub(crate) fn accept_invite_items(&self, before: &Invite, after: &Invite, now: i64) -> Vec<TransactWriteItem> {
        vec![
            self.db.put_conditioned_named(
                after,
                "nonce = :nonce AND #state = :pending AND validUntil > :now",
                STATE_NAME,
                vec![(":nonce", s(&before.nonce)), (":pending", s("pending")), (":now", n(now))],
            ),
            self.db.delete_with_values(
                &Key::invite_email_guard(&self.organization, &before.email),
                Some("attribute_not_exists(PK) OR inviteId = :id"),
                vec![(":id", s(&before.id))],
            ),
        ]
    }
}
