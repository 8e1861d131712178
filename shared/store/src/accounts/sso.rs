//! Single sign-on: a sign-in under way is stored once and taken once; an account's links to providers.

use aws_sdk_dynamodb::types::ReturnValue;

use crate::model::{Key, OidcLogin, ProviderLink};
use crate::{Db, StoreError, from_item, n};

/// Stores a sign-in that has started (PutItem; its key is the hash of a fresh random state, so it is new).
pub async fn put_oidc_login(db: &Db, login: &OidcLogin) -> Result<(), StoreError> {
    if db.put_if(login, "attribute_not_exists(PK)", vec![]).await? { Ok(()) } else { Err(StoreError::Conflict) }
}

/// Takes the sign-in of `state_hash` if it exists and has not expired at `now` (epoch seconds): one
/// DeleteItem with a condition, answering the deleted item, so two callbacks with the same state cannot
/// both finish it. `None`: unknown, used already, or expired.
pub async fn take_oidc_login(db: &Db, state_hash: &str, now: i64) -> Result<Option<OidcLogin>, StoreError> {
    let result = db
        .client
        .delete_item()
        .table_name(&db.table)
        .set_key(Some(crate::key_attributes(&Key::oidc_login(state_hash))))
        .condition_expression("attribute_exists(PK) AND expiresAt > :now")
        .expression_attribute_values(":now", n(now))
        .return_values(ReturnValue::AllOld)
        .send()
        .await;
    match result {
        Ok(output) => output.attributes.map(from_item::<OidcLogin>).transpose(),
        Err(e) if e.as_service_error().is_some_and(|se| se.is_conditional_check_failed_exception()) => Ok(None),
        Err(e) => Err(StoreError::sdk("DeleteItem", e)),
    }
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
