//! Single sign-on: a sign-in under way is stored once and taken once; an account's links to providers.

use aws_sdk_dynamodb::types::TransactWriteItem;

use crate::model::{
    ACCOUNT_LINK_PREFIX, AccountLink, AuditEntry, Key, OidcLogin, ProviderLink, SsoConnection, VerifiedDomain,
};
use crate::{Db, StoreError, s};

/// Stores a sign-in that has started (PutItem; its key is the hash of a fresh random state, so it is new).
pub async fn put_oidc_login(db: &Db, login: &OidcLogin) -> Result<(), StoreError> {
    if db.put_if(login, "attribute_not_exists(PK)", vec![]).await? { Ok(()) } else { Err(StoreError::Conflict) }
}

/// Takes the sign-in of `state_hash` if it exists and has not expired at `now` (epoch seconds): one
/// DeleteItem with a condition, answering the deleted item, so two callbacks with the same state cannot
/// both finish it. `None`: unknown, used already, or expired.
pub async fn take_oidc_login(db: &Db, state_hash: &str, now: i64) -> Result<Option<OidcLogin>, StoreError> {
    super::take_unexpired(db, &Key::oidc_login(state_hash), now).await
}

/// The account linked to the person (issuer, subject), if any (one GetItem).
pub async fn provider_link(db: &Db, issuer: &str, subject: &str) -> Result<Option<ProviderLink>, StoreError> {
    db.get::<ProviderLink>(&Key::provider_link(issuer, subject)).await
}

/// Removes a link whose account is gone (its last organization was deleted), if it still names that
/// account.
pub async fn remove_stale_link(db: &Db, link: &ProviderLink) -> Result<(), StoreError> {
    let key = Key::provider_link(&link.issuer, &link.subject);
    db.delete_if(&key, "accountId = :account", vec![(":account", crate::s(&link.account_id))]).await?;
    Ok(())
}

/// The writes of a new link: the link, unique per (issuer, subject), and its mirror in the account's
/// partition (for a transaction that makes the link with what it belongs to).
pub(crate) fn new_link_items(db: &Db, link: &ProviderLink) -> [TransactWriteItem; 2] {
    [db.put_new(link), db.put(&AccountLink(link.clone()))]
}

/// The writes that remove an account's link and its mirror, the link only while it names the account.
fn removed_link_items(db: &Db, account_id: &str, link_id: &str) -> [TransactWriteItem; 2] {
    [
        db.delete_with_values(
            &Key::provider_link_by_id(link_id),
            Some("accountId = :account"),
            vec![(":account", s(account_id))],
        ),
        db.delete(&Key::account_link_by_id(account_id, link_id), None),
    ]
}

/// The account's links, oldest first (one Query of its partition).
pub async fn account_links(db: &Db, account_id: &str) -> Result<Vec<ProviderLink>, StoreError> {
    let mut links: Vec<ProviderLink> = super::account_items::<AccountLink>(db, account_id, ACCOUNT_LINK_PREFIX)
        .await?
        .into_iter()
        .map(|l| l.0)
        .collect();
    links.sort_by_key(|link| link.created);
    Ok(links)
}

/// Removes one of the account's links and its mirror, with the audit entries (one transaction): `false`
/// when the account has no such link.
pub async fn unlink(db: &Db, account_id: &str, link_id: &str, audit: Vec<AuditEntry>) -> Result<bool, StoreError> {
    let [link, mirror] = removed_link_items(db, account_id, link_id);
    let mut items = vec![link, mirror];
    items.extend(audit.iter().map(|entry| db.put_new(entry)));
    db.transact_if(items).await
}

/// The writes that remove every link of an account that is being deleted (after one Query).
pub(crate) async fn account_link_removals(db: &Db, account_id: &str) -> Result<Vec<TransactWriteItem>, StoreError> {
    Ok(account_links(db, account_id)
        .await?
        .iter()
        .flat_map(|link| removed_link_items(db, account_id, &link.id()))
        .collect())
}

/// The organization that verified `domain`, if any (one GetItem).
pub async fn verified_domain(db: &Db, domain: &str) -> Result<Option<VerifiedDomain>, StoreError> {
    db.get(&Key::verified_domain(domain)).await
}

/// An organization's own connection, for a sign-in that is not a caller's request (one GetItem).
pub async fn sso_connection_of(db: &Db, organization: &str) -> Result<Option<SsoConnection>, StoreError> {
    db.get(&Key::sso_connection(organization)).await
}
