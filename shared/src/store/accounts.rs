//! Instance-wide access patterns: accounts, e-mail guards, sessions at login, and creating an
//! organization with its owner in one transaction.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::TransactWriteItem;

use super::org::{OrgStore, UserWrite, UserWriteConflict, UserWriteExtras};
use super::{Db, TransactError, from_item, n, s};
use crate::error::ApiError;
use crate::ids;
use crate::model::{
    Account, EmailGuard, Key, Membership, ORGANIZATION_TEAM_NAME, Organization, PLAN_CUSTOM, Session, Team,
    TeamNameGuard, TeamRole, User,
};

pub struct NewOrganizationWithOwner {
    pub organization_id: String,
    pub organization_name: String,
    pub email: String,
    pub password_hash: String,
    pub first_name: String,
    pub last_name: String,
}

// Creating an organization writes the organization, its "Default" team, the owner's account, e-mail guard
// and identity, and the owner's membership, all in one transaction: the e-mail and the organization id are
// claimed by conditions, so two concurrent requests cannot both get them, and a failure leaves nothing.

/// A new organization with the default plan and settings, its organization team `team_id`, and
/// `members` active members (the owner, or none while it awaits its owner).
pub(crate) fn new_organization(
    id: &str,
    name: &str,
    owner_user_id: String,
    team_id: String,
    members: u64,
    now: i64,
) -> Organization {
    Organization {
        id: id.to_owned(),
        name: name.to_owned(),
        owner_user_id,
        pricing_plan: PLAN_CUSTOM.into(),
        paid_until: None,
        included_users: None,
        included_storage_bytes: None,
        used_storage_bytes: 0,
        milli_credit_balance: 0,
        new_user_mailing_list: String::new(),
        plan_subscription_email: String::new(),
        ai_job_notifications: "jobOwner".into(),
        storage_reported_at: None,
        enable_auto_verify: false,
        deletion_requested_at: None,
        organization_team_id: team_id,
        member_count: members,
        active_user_count: members,
        created: now,
    }
}
pub async fn create_organization_with_owner(
    db: &Db,
    new: NewOrganizationWithOwner,
    now: i64,
) -> Result<(Organization, User), ApiError> {
    let account_id = ids::new_object_id();
    let user_id = ids::new_object_id();
    let team_id = ids::new_object_id();
    let organization =
        new_organization(&new.organization_id, &new.organization_name, user_id.clone(), team_id.clone(), 1, now);
    let team = Team {
        id: team_id.clone(),
        organization: organization.id.clone(),
        name: ORGANIZATION_TEAM_NAME.into(),
        is_organization_team: true,
        deleting: false,
        created: now,
    };
    let user = User {
        id: user_id.clone(),
        organization: organization.id.clone(),
        account_id: account_id.clone(),
        email: new.email.clone(),
        is_email_verified: false,
        first_name: new.first_name,
        last_name: new.last_name,
        is_admin: true,
        is_organization_owner: true,
        is_dataset_manager: false,
        is_deactivated: false,
        teams: BTreeMap::from([(team_id.clone(), TeamRole { name: team.name.clone(), is_team_manager: false })]),
        experiences: BTreeMap::new(),
        last_activity: now,
        created: now,
        session_epoch: 0,
        version: 0,
        may_delete_organization: false,
    };
    let account = Account {
        id: account_id.clone(),
        email: new.email.clone(),
        password_hash: new.password_hash,
        identities: BTreeMap::from([(organization.id.clone(), user_id.clone())]),
        last_used_organization: Some(organization.id.clone()),
        created: now,
        email_verified: false,
        email_set_at: None,
    };
    const EMAIL_GUARD: usize = 0;
    const ORGANIZATION: usize = 2;
    let items = vec![
        db.put_new(&EmailGuard { email: new.email.clone(), account_id: account_id.clone() }),
        db.put_new(&account),
        db.put_new(&organization),
        db.put_new(&user),
        db.put_new(&team),
        db.put_new(&TeamNameGuard {
            organization: organization.id.clone(),
            name: team.name.clone(),
            team_id: team_id.clone(),
        }),
        db.put_new(&Membership { organization: organization.id.clone(), team_id, user_id, is_team_manager: false }),
        id_never_used(db, &organization.id),
    ];
    let tombstone = items.len() - 1;
    match db.transact(items).await {
        Ok(()) => Ok((organization, user)),
        Err(TransactError::ConditionFailed { failed }) if failed[EMAIL_GUARD] => Err(email_in_use(&new.email)),
        Err(TransactError::ConditionFailed { failed }) if failed[ORGANIZATION] || failed[tombstone] => {
            Err(id_taken(&new.organization_id))
        }
        Err(err) => Err(err.into()),
    }
}

/// The transaction item that refuses an organization id a deleted organization had (its tombstone).
fn id_never_used(db: &Db, organization_id: &str) -> TransactWriteItem {
    db.condition_check(&Key::organization_tombstone(organization_id), "attribute_not_exists(PK)", Vec::new())
}

/// Taken now, or by an organization that was deleted (the answer does not say which).
fn id_taken(organization_id: &str) -> ApiError {
    ApiError::conflict(
        "organization.id.alreadyInUse",
        format!("The organization id {organization_id:?} is already taken; please choose another"),
    )
}

/// The last step of a purge: the organization item goes, and its id's tombstone comes, in one
/// transaction (repeatable: a resumed purge writes the same).
pub async fn bury_organization(db: &Db, organization_id: &str, now: i64) -> Result<(), ApiError> {
    let items = vec![
        db.delete(&Key::organization(organization_id), None),
        db.put(&crate::model::OrganizationTombstone { id: organization_id.to_owned(), deleted: now }),
    ];
    db.transact(items).await.map_err(ApiError::from)
}

pub fn email_in_use(email: &str) -> ApiError {
    ApiError::conflict("user.email.alreadyInUse", format!("An account with the e-mail address {email} already exists"))
}

/// The account with this (normalised) e-mail: the guard, then the account (two GetItems).
pub async fn account_by_email(db: &Db, email: &str) -> Result<Option<Account>, ApiError> {
    let Some(guard) = db.get::<EmailGuard>(&Key::email_guard(email)).await? else {
        return Ok(None);
    };
    db.get::<Account>(&Key::account(&guard.account_id)).await
}

/// Every identity of the account with its organization (one BatchGetItem per 50 organizations).
pub async fn identities(db: &Db, account: &Account) -> Result<Vec<(User, Organization)>, ApiError> {
    let keys: Vec<Key> = account
        .identities
        .iter()
        .flat_map(|(organization, user_id)| [Key::user(organization, user_id), Key::organization(organization)])
        .collect();
    let mut items = db.batch_get(&keys).await?;
    let mut found = Vec::with_capacity(account.identities.len());
    for (organization_id, user_id) in &account.identities {
        let user = items.remove(&Key::user(organization_id, user_id));
        let organization = items.get(&Key::organization(organization_id)).cloned();
        if let (Some(user), Some(organization)) = (user, organization) {
            found.push((from_item::<User>(user)?, from_item::<Organization>(organization)?));
        }
    }
    Ok(found)
}

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
    for chunk in updates.chunks(super::TRANSACTION_LIMIT) {
        db.transact(chunk.to_vec()).await?;
    }
    Ok(())
}

/// [`credential_change_items`] for the account as it is now (read here).
pub async fn credential_change_items_now(
    db: &Db,
    account_id: &str,
    new_email: Option<&str>,
    new_password_hash: Option<&str>,
    identity: (&str, &str),
) -> Result<Vec<(TransactWriteItem, UserWriteConflict)>, ApiError> {
    let account = db.get::<Account>(&Key::account(account_id)).await?.ok_or_else(ApiError::invalid_credential)?;
    Ok(credential_change_items(db, &account, new_email, new_password_hash, identity))
}

/// The transaction items that change an account's e-mail address and/or password hash (moving its e-mail
/// guard), and the user item of each of its identities except `written_with` (organization, user id),
/// whose user item the caller writes in the same transaction: each gets the new address, and a new
/// password ends its sessions (`sessionEpoch`). Each item comes with what its failed condition means.
pub fn credential_change_items(
    db: &Db,
    account: &Account,
    new_email: Option<&str>,
    new_password_hash: Option<&str>,
    written_with: (&str, &str),
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
    }
    items
}

/// Why a new account with an identity was not created.
pub enum NewAccountError {
    EmailInUse,
    IncludedUsersExceeded,
    Api(ApiError),
}

/// Creates an account, its e-mail guard and its first identity (with memberships and the organization's
/// counters) in one transaction.
pub async fn create_account_with_identity(
    db: &Db,
    store: &OrgStore<'_>,
    account: &Account,
    user: &User,
) -> Result<(), NewAccountError> {
    let extras = UserWriteExtras {
        member_delta: 1,
        active_user_delta: i64::from(user.is_active()),
        ..UserWriteExtras::default()
    };
    let (user_items, meanings) = store.user_write_items(&[UserWrite { before: None, after: user.clone() }], &extras);
    let mut items = vec![
        db.put_new(&EmailGuard { email: account.email.clone(), account_id: account.id.clone() }),
        db.put_new(account),
    ];
    items.extend(user_items);
    match db.transact(items).await {
        Ok(()) => Ok(()),
        Err(TransactError::ConditionFailed { failed }) if failed[0] => Err(NewAccountError::EmailInUse),
        Err(TransactError::ConditionFailed { failed }) => {
            let exceeded =
                failed[2..].iter().zip(&meanings).any(|(f, m)| *f && *m == UserWriteConflict::IncludedUsersExceeded);
            if exceeded {
                // The same condition refuses a full plan and an organization being deleted: tell which.
                match store.accepts_members().await {
                    Ok(true) => Err(NewAccountError::IncludedUsersExceeded),
                    Ok(false) => Err(NewAccountError::Api(super::org::organization_deleting())),
                    Err(err) => Err(NewAccountError::Api(err)),
                }
            } else {
                Err(NewAccountError::Api(ApiError::conflict(
                    "request.conflict",
                    "The organization changed while registering; please retry",
                )))
            }
        }
        Err(TransactError::Api(err)) => Err(NewAccountError::Api(err)),
    }
}

/// Takes an organization's identity out of its account (for the organization's deletion): the account
/// keeps its other organizations, falls back to one of them as last used, and is deleted with its e-mail
/// guard when none is left (so the address is free again). Idempotent, so a resumed purge can repeat it.
pub async fn detach_identity(db: &Db, account_id: &str, organization: &str) -> Result<(), ApiError> {
    let result = db
        .client
        .update_item()
        .table_name(&db.table)
        .set_key(Some(super::key_attributes(&Key::account(account_id))))
        .update_expression("REMOVE identities.#organization")
        .condition_expression("attribute_exists(PK)")
        .expression_attribute_names("#organization", organization)
        .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
        .send()
        .await;
    let account: Account = match result {
        Ok(output) => from_item(output.attributes.unwrap_or_default())?,
        Err(e) if e.as_service_error().is_some_and(|se| se.is_conditional_check_failed_exception()) => return Ok(()),
        Err(e) => return Err(crate::error::sdk_error("UpdateItem", e)),
    };
    if account.identities.is_empty() {
        let items = vec![
            db.delete_with_values(&Key::account(account_id), Some("size(identities) = :zero"), vec![(":zero", n(0))]),
            db.delete_with_values(
                &Key::email_guard(&account.email),
                Some("accountId = :id"),
                vec![(":id", s(account_id))],
            ),
        ];
        return match db.transact(items).await {
            // Joined another organization meanwhile: the account stays.
            Ok(()) | Err(TransactError::ConditionFailed { .. }) => Ok(()),
            Err(TransactError::Api(err)) => Err(err),
        };
    }
    if account.last_used_organization.as_deref() == Some(organization) {
        let fallback = account.identities.keys().next().cloned().unwrap_or_default();
        let items = vec![db.update(
            &Key::account(account_id),
            "SET lastUsedOrganization = :fallback",
            Some("lastUsedOrganization = :deleted"),
            &[],
            vec![(":fallback", s(fallback)), (":deleted", s(organization))],
        )];
        return match db.transact(items).await {
            Ok(()) | Err(TransactError::ConditionFailed { .. }) => Ok(()),
            Err(TransactError::Api(err)) => Err(err),
        };
    }
    Ok(())
}

/// Creates an organization whose owner is an existing account (an instance operator's "create an
/// organization for an owner e-mail"), in one transaction: the organization id is claimed, and the
/// account gains the identity only if it has none there.
pub async fn create_organization_for_account(
    db: &Db,
    account: &Account,
    organization_id: &str,
    organization_name: &str,
    owner_name: (&str, &str),
    now: i64,
) -> Result<(Organization, User), ApiError> {
    let user_id = ids::new_object_id();
    let team_id = ids::new_object_id();
    let organization = new_organization(organization_id, organization_name, user_id.clone(), team_id.clone(), 1, now);
    let team = Team {
        id: team_id.clone(),
        organization: organization.id.clone(),
        name: ORGANIZATION_TEAM_NAME.into(),
        is_organization_team: true,
        deleting: false,
        created: now,
    };
    let user = User {
        id: user_id.clone(),
        organization: organization.id.clone(),
        account_id: account.id.clone(),
        email: account.email.clone(),
        is_email_verified: account.email_verified,
        first_name: owner_name.0.to_owned(),
        last_name: owner_name.1.to_owned(),
        is_admin: true,
        is_organization_owner: true,
        is_dataset_manager: false,
        is_deactivated: false,
        teams: BTreeMap::from([(team_id.clone(), TeamRole { name: team.name.clone(), is_team_manager: false })]),
        experiences: BTreeMap::new(),
        last_activity: now,
        created: now,
        session_epoch: 0,
        version: 0,
        may_delete_organization: false,
    };
    let items = vec![
        db.put_new(&organization),
        db.update(
            &Key::account(&account.id),
            "SET identities.#organization = :user",
            Some("attribute_exists(PK) AND attribute_not_exists(identities.#organization)"),
            &[("#organization", organization.id.as_str())],
            vec![(":user", s(&user_id))],
        ),
        db.put_new(&user),
        db.put_new(&team),
        db.put_new(&TeamNameGuard {
            organization: organization.id.clone(),
            name: team.name.clone(),
            team_id: team_id.clone(),
        }),
        db.put_new(&Membership { organization: organization.id.clone(), team_id, user_id, is_team_manager: false }),
        id_never_used(db, &organization.id),
    ];
    let tombstone = items.len() - 1;
    match db.transact(items).await {
        Ok(()) => Ok((organization, user)),
        Err(TransactError::ConditionFailed { failed }) if failed[0] || failed[tombstone] => {
            Err(id_taken(organization_id))
        }
        Err(err) => Err(err.into()),
    }
}

/// Creates an organization with no owner yet (an instance operator's "create an organization for an owner
/// e-mail" when that e-mail has no account): the organization, claimed by id, with its "Default" team, in
/// one transaction. Its owner invite (`Invite::makes_owner`) makes whoever accepts it the owner.
pub async fn create_organization_awaiting_owner(
    db: &Db,
    organization_id: &str,
    organization_name: &str,
    now: i64,
) -> Result<Organization, ApiError> {
    let team_id = ids::new_object_id();
    let organization = new_organization(organization_id, organization_name, String::new(), team_id.clone(), 0, now);
    let team = Team {
        id: team_id.clone(),
        organization: organization.id.clone(),
        name: ORGANIZATION_TEAM_NAME.into(),
        is_organization_team: true,
        deleting: false,
        created: now,
    };
    let items = vec![
        db.put_new(&organization),
        db.put_new(&team),
        db.put_new(&TeamNameGuard { organization: organization.id.clone(), name: team.name.clone(), team_id }),
        id_never_used(db, &organization.id),
    ];
    match db.transact(items).await {
        Ok(()) => Ok(organization),
        Err(TransactError::ConditionFailed { failed }) if failed[0] || failed[3] => Err(id_taken(organization_id)),
        Err(err) => Err(err.into()),
    }
}

/// Whose attempts a [`LoginThrottle`] counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginSubject<'a> {
    /// Failed logins (and wrong current passwords) of an e-mail address (whether or not an account has
    /// it, so a lock tells nothing about that).
    Email(&'a str),
    /// Failed logins from the client's source IP address.
    Client(&'a str),
    /// Failed logins of an e-mail address from one client (so guessing from one place locks nobody else
    /// out, the address's owner included).
    Pair(&'a str, &'a str),
    /// Requests that mail a link to an e-mail address (password reset, verification), counted whether or
    /// not an account has it.
    MailTo(&'a str),
    /// Requests that mail a link, from the client's source IP address.
    MailFrom(&'a str),
}

impl LoginSubject<'_> {
    pub fn key(&self) -> Key {
        let pk = match self {
            LoginSubject::Email(email) => format!("LOGIN#EMAIL#{email}"),
            LoginSubject::Client(address) => format!("LOGIN#CLIENT#{address}"),
            LoginSubject::Pair(email, address) => format!("LOGIN#PAIR#{email}#{address}"),
            LoginSubject::MailTo(email) => format!("LOGIN#MAILTO#{email}"),
            LoginSubject::MailFrom(address) => format!("LOGIN#MAILFROM#{address}"),
        };
        Key { pk, sk: "LOGIN".into() }
    }
}

/// Failed logins of one e-mail address or client: `failures` within the window ending at `windowEnds`,
/// and a lock until `lockedUntil` (epoch seconds). Written only with atomic UpdateItems; TTL removes it.
#[derive(Debug, Clone, Default, serde::Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LoginThrottle {
    #[serde(default)]
    pub failures: u32,
    #[serde(default)]
    pub window_ends: i64,
    #[serde(default)]
    pub locked_until: Option<i64>,
    /// Locks so far (within a day of the last): each lasts twice as long as the one before.
    #[serde(default)]
    pub lock_count: u32,
}

impl LoginThrottle {
    pub fn locked_until(&self, now: i64) -> Option<i64> {
        self.locked_until.filter(|until| *until > now)
    }
}

pub const LOGIN_THROTTLE_KIND: &str = "LoginThrottle";

/// What login (and a request that mails a link) reads first, in one BatchGetItem: the e-mail guard and the
/// throttles of the e-mail address and of the client. The account itself follows with a GetItem once the
/// guard names it.
pub async fn login_reads(
    db: &Db,
    email: &str,
    by_email: LoginSubject<'_>,
    by_client: Option<LoginSubject<'_>>,
) -> Result<(Option<EmailGuard>, LoginThrottle, Option<LoginThrottle>), ApiError> {
    let guard_key = Key::email_guard(email);
    let email_key = by_email.key();
    let client_key = by_client.map(|c| c.key());
    let mut keys = vec![guard_key.clone(), email_key.clone()];
    keys.extend(client_key.clone());
    let mut items = db.batch_get(&keys).await?;
    let throttle = |item: Option<super::Item>| -> Result<LoginThrottle, ApiError> {
        item.map(|i| serde_dynamo::from_item(i).map_err(|_| ApiError::internal()))
            .transpose()
            .map(Option::unwrap_or_default)
    };
    let guard = items.remove(&guard_key).map(from_item::<EmailGuard>).transpose()?;
    let by_email = throttle(items.remove(&email_key))?;
    let by_client = client_key.map(|key| throttle(items.remove(&key))).transpose()?;
    Ok((guard, by_email, by_client))
}

pub async fn account(db: &Db, account_id: &str) -> Result<Option<Account>, ApiError> {
    db.get::<Account>(&Key::account(account_id)).await
}

/// Counts a failed login of `subject` (`known`: its throttle as read before) and locks it for
/// `lock_seconds` when this failure is the `limit`-th within `window_seconds`. Race-free: every write is
/// one conditional UpdateItem (ADD within an open window, or a new window when it has ended; neither while
/// locked), so concurrent failures are all counted, exactly one of them sets the lock, and one that comes
/// after the lock is answered with it. Returns the lock's end if the subject is locked now. One round trip,
/// two when locking (more only when a concurrent failure changed the window meanwhile).
pub async fn record_login_failure(
    db: &Db,
    subject: LoginSubject<'_>,
    known: &LoginThrottle,
    limit: u32,
    window_seconds: i64,
    lock_seconds: i64,
    now: i64,
) -> Result<Option<i64>, ApiError> {
    use aws_sdk_dynamodb::types::{ReturnValue, ReturnValuesOnConditionCheckFailure};
    let key = subject.key();
    // Kept a day past the longest it can matter, then TTL removes it.
    let expires_at = now + window_seconds.max(lock_seconds) + 24 * 3600;
    let not_locked = "(attribute_not_exists(lockedUntil) OR lockedUntil <= :now)";
    let decode = |item: Option<&super::Item>| -> LoginThrottle {
        item.and_then(|i| serde_dynamo::from_item(i.clone()).ok()).unwrap_or_default()
    };
    let mut current = known.clone();
    let mut counted: Option<LoginThrottle> = None;
    for _ in 0..4 {
        let update = db.client.update_item().table_name(&db.table).set_key(Some(super::key_attributes(&key)));
        let update = if current.window_ends > now {
            update
                .update_expression("ADD failures :one")
                .condition_expression(format!("windowEnds > :now AND {not_locked}"))
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":now", n(now))
        } else {
            update
                .update_expression("SET failures = :one, windowEnds = :end, expiresAt = :expires, entity = :entity")
                .condition_expression(format!(
                    "(attribute_not_exists(windowEnds) OR windowEnds <= :now) AND {not_locked}"
                ))
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":now", n(now))
                .expression_attribute_values(":end", n(now + window_seconds))
                .expression_attribute_values(":expires", n(expires_at))
                .expression_attribute_values(":entity", s(LOGIN_THROTTLE_KIND))
        };
        let result = update
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(output) => {
                counted = Some(decode(output.attributes.as_ref()));
                break;
            }
            Err(e) => match e.as_service_error() {
                // Another failure changed the item meanwhile: it is locked now, or the window opened or ended.
                Some(aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(
                    failed,
                )) => {
                    current = decode(failed.item());
                    if let Some(until) = current.locked_until(now) {
                        return Ok(Some(until));
                    }
                }
                _ => return Err(crate::error::sdk_error("UpdateItem", e)),
            },
        }
    }
    let Some(counted) = counted else {
        return Err(ApiError::unavailable());
    };
    if counted.failures < limit {
        return Ok(None);
    }
    // The limit is reached: lock, and start the next window afresh when the lock ends. Only one of
    // concurrent failures passes the condition; the others find it locked already.
    let until = now + lock_duration(lock_seconds, counted.lock_count);
    let locked = db
        .client
        .update_item()
        .table_name(&db.table)
        .set_key(Some(super::key_attributes(&key)))
        .update_expression(
            "SET lockedUntil = :until, failures = :zero, windowEnds = :now, expiresAt = :expires ADD lockCount :one",
        )
        .condition_expression(format!("failures >= :limit AND {not_locked}"))
        .expression_attribute_values(":until", n(until))
        .expression_attribute_values(":zero", n(0))
        .expression_attribute_values(":now", n(now))
        .expression_attribute_values(":limit", n(limit))
        .expression_attribute_values(":expires", n(until + 24 * 3600))
        .expression_attribute_values(":one", n(1))
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .send()
        .await;
    match locked {
        Ok(_) => Ok(Some(until)),
        Err(e) => match e.as_service_error() {
            Some(aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(
                failed,
            )) => Ok(Some(decode(failed.item()).locked_until(now).unwrap_or(until))),
            _ => Err(crate::error::sdk_error("UpdateItem", e)),
        },
    }
}

/// The `locks_before + 1`-th lock's length: `base_seconds`, doubling with each lock before it, at most a day.
pub fn lock_duration(base_seconds: i64, locks_before: u32) -> i64 {
    let longest = base_seconds.max(24 * 3600);
    base_seconds.saturating_mul(1 << locks_before.min(16)).min(longest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_double_up_to_a_day() {
        assert_eq!((0..4).map(|n| lock_duration(900, n)).collect::<Vec<_>>(), [900, 1800, 3600, 7200]);
        assert_eq!(lock_duration(900, 7), 24 * 3600);
        assert_eq!(lock_duration(900, u32::MAX), 24 * 3600);
        assert_eq!(
            lock_duration(2 * 24 * 3600, 3),
            2 * 24 * 3600,
            "a configured lock longer than a day stays as it is"
        );
    }
}

/// A correct password clears the e-mail address's failures (not while it is locked: a lock ends on time).
pub async fn clear_login_failures(db: &Db, subject: LoginSubject<'_>, now: i64) -> Result<(), ApiError> {
    let result = db
        .client
        .delete_item()
        .table_name(&db.table)
        .set_key(Some(super::key_attributes(&subject.key())))
        .condition_expression("attribute_not_exists(lockedUntil) OR lockedUntil <= :now")
        .expression_attribute_values(":now", n(now))
        .send()
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(e) if e.as_service_error().is_some_and(|se| se.is_conditional_check_failed_exception()) => Ok(()),
        Err(e) => Err(crate::error::sdk_error("DeleteItem", e)),
    }
}

/// The account and one of its items keyed under it (a password reset or an e-mail verification), in one
/// strongly consistent BatchGetItem.
pub async fn account_with<E: crate::model::Entity>(
    db: &Db,
    account_id: &str,
    key: &Key,
) -> Result<(Option<Account>, Option<E>), ApiError> {
    let account_key = Key::account(account_id);
    let mut items = db.batch_get(&[account_key.clone(), key.clone()]).await?;
    let account = items.remove(&account_key).map(from_item::<Account>).transpose()?;
    let item = items.remove(key).map(from_item::<E>).transpose()?;
    Ok((account, item))
}

/// The account and its login throttle (for checking a current password), in one BatchGetItem.
pub async fn account_and_throttle(
    db: &Db,
    account_id: &str,
    email: &str,
) -> Result<(Option<Account>, LoginThrottle), ApiError> {
    let account_key = Key::account(account_id);
    let throttle_key = LoginSubject::Email(email).key();
    let mut items = db.batch_get(&[account_key.clone(), throttle_key.clone()]).await?;
    let account = items.remove(&account_key).map(from_item::<Account>).transpose()?;
    let throttle = match items.remove(&throttle_key) {
        Some(item) => serde_dynamo::from_item(item).map_err(|_| ApiError::internal())?,
        None => LoginThrottle::default(),
    };
    Ok((account, throttle))
}

/// Stores a link record of an account (a password reset, replacing the account's earlier one so only the
/// newest link works; or a new e-mail verification).
pub async fn put_link<E: crate::model::Entity>(db: &Db, link: &E) -> Result<(), ApiError> {
    db.client
        .put_item()
        .table_name(&db.table)
        .set_item(Some(super::to_item(link)))
        .send()
        .await
        .map_err(|e| crate::error::sdk_error("PutItem", e))?;
    Ok(())
}

/// Why a one-time link could not be redeemed in its transaction.
#[derive(Debug, PartialEq, Eq)]
pub enum RedeemError {
    /// The link's own condition failed: used (or replaced) meanwhile, or expired.
    LinkGone,
    /// The account changed meanwhile (its address, or it was deleted).
    AccountChanged,
    Api(ApiError),
}

impl From<TransactError> for RedeemError {
    fn from(err: TransactError) -> Self {
        match err {
            TransactError::ConditionFailed { failed } if failed.first() == Some(&true) => RedeemError::LinkGone,
            TransactError::ConditionFailed { .. } => RedeemError::AccountChanged,
            TransactError::Api(err) => RedeemError::Api(err),
        }
    }
}

/// Updates of every identity of `account` (the same expression on each user item).
fn identity_updates(
    db: &Db,
    account: &Account,
    expression: &str,
    values: Vec<(&str, aws_sdk_dynamodb::types::AttributeValue)>,
) -> Vec<TransactWriteItem> {
    account
        .identities
        .iter()
        .map(|(organization, user_id)| {
            db.update(&Key::user(organization, user_id), expression, Some("attribute_exists(PK)"), &[], values.clone())
        })
        .collect()
}

/// Writes `leading` (whose first item is the link's conditional write) and the identity updates: in one
/// transaction when they fit (the usual case), else the leading ones with the first identities, then the
/// rest (an account in more than ~98 organizations).
async fn transact_leading(
    db: &Db,
    leading: Vec<TransactWriteItem>,
    rest: Vec<TransactWriteItem>,
) -> Result<(), RedeemError> {
    let room = super::TRANSACTION_LIMIT.saturating_sub(leading.len());
    let (first, later) = rest.split_at(room.min(rest.len()));
    let mut items = leading;
    items.extend_from_slice(first);
    db.transact(items).await?;
    for chunk in later.chunks(super::TRANSACTION_LIMIT) {
        db.transact(chunk.to_vec()).await.map_err(|e| match e {
            TransactError::Api(err) => RedeemError::Api(err),
            TransactError::ConditionFailed { .. } => RedeemError::AccountChanged,
        })?;
    }
    Ok(())
}

/// Redeems a password reset: the reset is deleted (conditioned on the token's hash and its validity, so
/// of concurrent redemptions exactly one succeeds), the account gets the new password hash (conditioned
/// on the address the link went to, which it thereby proves), every identity's sessions and tokens end,
/// and the address's login lock is lifted.
pub async fn redeem_password_reset(
    db: &Db,
    account: &Account,
    reset: &crate::model::PasswordReset,
    password_hash: &str,
    now: i64,
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
    ];
    let rest = identity_updates(
        db,
        account,
        "SET isEmailVerified = :verified ADD sessionEpoch :one, version :one",
        vec![(":verified", aws_sdk_dynamodb::types::AttributeValue::Bool(true)), (":one", n(1))],
    );
    transact_leading(db, leading, rest).await
}

/// Marks the address of `verification` verified: the link is marked used (conditioned on not being used
/// yet and on its address), the account and every identity get `emailVerified` (conditioned on the account
/// still having that address).
pub async fn confirm_email(
    db: &Db,
    account: &Account,
    verification: &crate::model::EmailVerification,
    now: i64,
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
    ];
    let rest = identity_updates(
        db,
        account,
        "SET isEmailVerified = :verified ADD version :one",
        vec![(":verified", verified), (":one", n(1))],
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
    let rest = identity_updates(db, account, "ADD sessionEpoch :one, version :one", vec![(":one", n(1))]);
    transact_leading(db, leading, rest).await
}
