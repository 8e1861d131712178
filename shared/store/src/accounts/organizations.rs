//! Creating organizations (with their owner, for an existing account, or awaiting their owner), and the
//! account side of deleting them: identities leave their accounts, the id stays reserved.

use crate::StoreError;
use crate::accounts::email_in_use;
use crate::ids;
use crate::model::{
    Account, AuditEntry, EmailGuard, Key, Membership, ORGANIZATION_TEAM_NAME, Organization, PLAN_CUSTOM, Team,
    TeamNameGuard, TeamRole, User,
};
use crate::org::{OrgStore, UserWrite, UserWriteConflict, UserWriteExtras};
use crate::{Db, TransactError, from_item, n, s};
use aws_sdk_dynamodb::types::TransactWriteItem;
use std::collections::BTreeMap;

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
pub fn new_organization(
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
        admins_must_use_passkey: false,
        storage_notice_level: 0,
        plan_notice_stage: 0,
        deletion_requested_at: None,
        organization_team_id: team_id,
        member_count: members,
        active_user_count: members,
        created: now,
    }
}

/// The audit entries of a new organization, made once its ids are drawn: `(organization, owner) -> entries`.
pub(crate) type FoundingAudit<'a> = &'a (dyn Fn(&Organization, Option<&User>) -> Vec<AuditEntry> + Sync);

pub async fn create_organization_with_owner(
    db: &Db,
    new: NewOrganizationWithOwner,
    now: i64,
    audit: FoundingAudit<'_>,
) -> Result<(Organization, User), StoreError> {
    let account_id = ids::new_object_id();
    let (organization, team, user) = founded(
        &new.organization_id,
        &new.organization_name,
        (&account_id, &new.email, false),
        (new.first_name, new.last_name),
        now,
    );
    let user_id = user.id.clone();
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
    let mut items = vec![
        db.put_new(&EmailGuard { email: new.email.clone(), account_id: account_id.clone() }),
        db.put_new(&account),
        db.put_new(&organization),
    ];
    items.extend(owner_and_team_items(db, &organization, &user, &team));
    let tombstone = items.len() - 1;
    items.extend(audit(&organization, Some(&user)).iter().map(|entry| db.put_new(entry)));
    match db.transact(items).await {
        Ok(()) => Ok((organization, user)),
        Err(TransactError::ConditionFailed { failed }) if failed[EMAIL_GUARD] => Err(email_in_use(&new.email)),
        Err(TransactError::ConditionFailed { failed }) if failed[ORGANIZATION] || failed[tombstone] => {
            Err(id_taken(&new.organization_id))
        }
        Err(err) => Err(err.into()),
    }
}

/// The Default team of a new organization (every member is in it; it cannot be deleted).
fn default_team(organization: &Organization, now: i64) -> Team {
    Team {
        id: organization.organization_team_id.clone(),
        organization: organization.id.clone(),
        name: ORGANIZATION_TEAM_NAME.into(),
        is_organization_team: true,
        deleting: false,
        created: now,
    }
}

/// A new organization with its Default team and its owner's identity (an admin, in the Default team) for
/// the account `owner` (id, address, whether verified).
fn founded(
    organization_id: &str,
    organization_name: &str,
    owner: (&str, &str, bool),
    owner_name: (String, String),
    now: i64,
) -> (Organization, Team, User) {
    let (user_id, team_id) = (ids::new_object_id(), ids::new_object_id());
    let organization = new_organization(organization_id, organization_name, user_id.clone(), team_id.clone(), 1, now);
    let team = default_team(&organization, now);
    let teams = BTreeMap::from([(team_id, TeamRole { name: team.name.clone(), is_team_manager: false })]);
    let user = User {
        is_admin: true,
        is_organization_owner: true,
        ..User::new_member(user_id, &organization.id, owner, owner_name, teams, now)
    };
    (organization, team, user)
}

/// The items every new organization has besides itself and its owner's account: the owner's identity, the
/// Default team with its name guard and the owner's membership, and the check that the id was never used
/// (last, so its failure is the transaction's last item).
fn owner_and_team_items(db: &Db, organization: &Organization, owner: &User, team: &Team) -> Vec<TransactWriteItem> {
    vec![
        db.put_new(owner),
        db.put_new(team),
        db.put_new(&TeamNameGuard {
            organization: organization.id.clone(),
            name: team.name.clone(),
            team_id: team.id.clone(),
        }),
        db.put_new(&Membership {
            organization: organization.id.clone(),
            team_id: team.id.clone(),
            user_id: owner.id.clone(),
        }),
        id_never_used(db, &organization.id),
    ]
}

/// The transaction item that refuses an organization id a deleted organization had (its tombstone).
pub(super) fn id_never_used(db: &Db, organization_id: &str) -> TransactWriteItem {
    db.condition_check(&Key::organization_tombstone(organization_id), "attribute_not_exists(PK)", Vec::new())
}

/// Taken now, or by an organization that was deleted (the answer does not say which).
pub(super) fn id_taken(organization_id: &str) -> StoreError {
    StoreError::OrganizationIdTaken(organization_id.to_owned())
}

/// The last step of a purge: the organization item goes, and its id's tombstone comes, in one
/// transaction (repeatable: a resumed purge writes the same).
pub async fn bury_organization(db: &Db, organization_id: &str, now: i64) -> Result<(), StoreError> {
    let items = vec![
        db.delete(&Key::organization(organization_id), None),
        db.put(&crate::model::OrganizationTombstone { id: organization_id.to_owned(), deleted: now }),
    ];
    db.transact(items).await.map_err(StoreError::from)
}

/// Why a new account with an identity was not created.
pub enum NewAccountError {
    EmailInUse,
    IncludedUsersExceeded,
    Store(StoreError),
}

/// Creates an account, its e-mail guard and its first identity (with memberships and the organization's
/// counters), and its link to a provider when it comes from one, in one transaction.
pub async fn create_account_with_identity(
    db: &Db,
    store: &OrgStore<'_>,
    account: &Account,
    user: &User,
    audit: Vec<AuditEntry>,
    link: Option<&crate::model::ProviderLink>,
) -> Result<(), NewAccountError> {
    let extras = UserWriteExtras {
        member_delta: 1,
        active_user_delta: i64::from(user.is_active()),
        audit,
        ..UserWriteExtras::default()
    };
    let (user_items, meanings) = store.user_write_items(&[UserWrite { before: None, after: user.clone() }], &extras);
    let mut items = vec![
        db.put_new(&EmailGuard { email: account.email.clone(), account_id: account.id.clone() }),
        db.put_new(account),
    ];
    items.extend(user_items);
    // Last, so the user items' conditions keep their places after the guard and the account.
    items.extend(link.into_iter().flat_map(|link| super::sso::new_link_items(db, link)));
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
                    Ok(false) => Err(NewAccountError::Store(StoreError::OrganizationDeleting)),
                    Err(err) => Err(NewAccountError::Store(err)),
                }
            } else {
                Err(NewAccountError::Store(StoreError::Conflict))
            }
        }
        Err(TransactError::Store(err)) => Err(NewAccountError::Store(err)),
    }
}

/// Takes an organization's identity out of its account (for the organization's deletion): the account
/// keeps its other organizations, falls back to one of them as last used, and is deleted with its e-mail
/// guard when none is left (so the address is free again). Idempotent, so a resumed purge can repeat it.
pub async fn detach_identity(db: &Db, account_id: &str, organization: &str) -> Result<(), StoreError> {
    let result = db
        .client
        .update_item()
        .table_name(&db.table)
        .set_key(Some(crate::key_attributes(&Key::account(account_id))))
        .update_expression("REMOVE identities.#organization")
        .condition_expression("attribute_exists(PK)")
        .expression_attribute_names("#organization", organization)
        .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
        .send()
        .await;
    let account: Account = match result {
        Ok(output) => from_item(output.attributes.unwrap_or_default())?,
        Err(e) if e.as_service_error().is_some_and(|se| se.is_conditional_check_failed_exception()) => return Ok(()),
        Err(e) => return Err(crate::StoreError::sdk("UpdateItem", e)),
    };
    if account.identities.is_empty() {
        let mut items = vec![
            db.delete_with_values(&Key::account(account_id), Some("size(identities) = :zero"), vec![(":zero", n(0))]),
            db.delete_with_values(
                &Key::email_guard(&account.email),
                Some("accountId = :id"),
                vec![(":id", s(account_id))],
            ),
            // The operator role goes with the account.
            db.delete(&Key::operator_grant(account_id), None),
        ];
        // And its links to identity providers.
        items.extend(super::sso::account_link_removals(db, account_id).await?);
        // And its passkeys.
        items.extend(super::passkeys::passkey_removals(db, account_id).await?);
        return match db.transact(items).await {
            // Joined another organization meanwhile: the account stays.
            Ok(()) | Err(TransactError::ConditionFailed { .. }) => Ok(()),
            Err(TransactError::Store(err)) => Err(err),
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
            Err(TransactError::Store(err)) => Err(err),
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
    audit: FoundingAudit<'_>,
) -> Result<(Organization, User), StoreError> {
    let (organization, team, user) = founded(
        organization_id,
        organization_name,
        (&account.id, &account.email, account.email_verified),
        (owner_name.0.to_owned(), owner_name.1.to_owned()),
        now,
    );
    let user_id = user.id.clone();
    let mut items = vec![
        db.put_new(&organization),
        db.update(
            &Key::account(&account.id),
            "SET identities.#organization = :user",
            Some("attribute_exists(PK) AND attribute_not_exists(identities.#organization)"),
            &[("#organization", organization.id.as_str())],
            vec![(":user", s(&user_id))],
        ),
    ];
    items.extend(owner_and_team_items(db, &organization, &user, &team));
    let tombstone = items.len() - 1;
    items.extend(audit(&organization, Some(&user)).iter().map(|entry| db.put_new(entry)));
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
    audit: FoundingAudit<'_>,
) -> Result<Organization, StoreError> {
    let team_id = ids::new_object_id();
    let organization = new_organization(organization_id, organization_name, String::new(), team_id.clone(), 0, now);
    let team = default_team(&organization, now);
    let mut items = vec![
        db.put_new(&organization),
        db.put_new(&team),
        db.put_new(&TeamNameGuard { organization: organization.id.clone(), name: team.name.clone(), team_id }),
        id_never_used(db, &organization.id),
    ];
    items.extend(audit(&organization, None).iter().map(|entry| db.put_new(entry)));
    match db.transact(items).await {
        Ok(()) => Ok(organization),
        Err(TransactError::ConditionFailed { failed }) if failed[0] || failed[3] => Err(id_taken(organization_id)),
        Err(err) => Err(err.into()),
    }
}
