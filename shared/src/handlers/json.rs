//! The JSON shapes of WEBKNOSSOS's API (camelCase, times in epoch milliseconds).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Value, json};

use crate::model::{CreditTransaction, Invite, Organization, Team, User};
use crate::policy;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TeamMembershipJson<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub is_team_manager: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UserJson<'a> {
    pub id: &'a str,
    pub email: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub is_admin: bool,
    pub is_organization_owner: bool,
    pub is_dataset_manager: bool,
    pub is_active: bool,
    pub teams: Vec<TeamMembershipJson<'a>>,
    pub experiences: &'a BTreeMap<String, i64>,
    pub last_activity: i64,
    pub is_anonymous: bool,
    pub is_editable: bool,
    pub organization: &'a str,
    pub created: i64,
    pub may_delete_organization: bool,
    /// Whether the address is proven (WEBKNOSSOS shows true whenever verification is off; here it is the
    /// fact, which operator rights depend on).
    pub is_email_verified: bool,
}

/// `user` as `viewer` sees it (`isEditable` depends on the viewer).
pub(crate) fn user<'a>(user: &'a User, viewer: &User) -> UserJson<'a> {
    UserJson {
        id: &user.id,
        email: &user.email,
        first_name: &user.first_name,
        last_name: &user.last_name,
        is_admin: user.is_admin,
        is_organization_owner: user.is_organization_owner,
        is_dataset_manager: user.is_dataset_manager,
        is_active: !user.is_deactivated,
        teams: team_memberships(user),
        experiences: &user.experiences,
        last_activity: user.last_activity,
        is_anonymous: false,
        is_editable: policy::may_edit_user(viewer, user),
        organization: &user.organization,
        created: user.created,
        may_delete_organization: user.may_delete_organization || user.is_organization_owner,
        is_email_verified: user.is_email_verified,
    }
}

/// The user's teams as WEBKNOSSOS lists them, by name.
pub(crate) fn team_memberships(user: &User) -> Vec<TeamMembershipJson<'_>> {
    let mut teams: Vec<_> = user
        .teams
        .iter()
        .map(|(id, role)| TeamMembershipJson { id, name: &role.name, is_team_manager: role.is_team_manager })
        .collect();
    teams.sort_by(|a, b| a.name.to_lowercase().cmp(&b.name.to_lowercase()).then(a.id.cmp(b.id)));
    teams
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OrganizationJson<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub enable_auto_verify: bool,
    /// Its admins must sign in with a passkey or single sign-on (beyond WEBKNOSSOS); admins only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admins_must_use_passkey: Option<bool>,
    pub pricing_plan: &'a str,
    pub paid_until: Option<i64>,
    pub included_users: Option<u64>,
    pub included_storage_bytes: Option<u64>,
    pub used_storage_bytes: u64,
    pub owner_name: Option<String>,
    /// Admins only (beyond WEBKNOSSOS's public fields: the Overview tab).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member_count: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active_user_count: Option<u64>,
    /// When the dataset side last reported the storage usage (epoch ms); admins only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage_reported_at: Option<i64>,
    /// Members only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub milli_credit_balance: Option<i64>,
    /// Admins only (the Notifications tab).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_user_mailing_list: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan_subscription_email: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ai_job_notifications: Option<&'a str>,
    pub created: i64,
}

/// `organization` as `viewer` sees it (credits for members, notification settings for its admins);
/// `owner` is the owner's identity, when known.
pub(crate) fn organization<'a>(
    organization: &'a Organization,
    owner: Option<&User>,
    viewer: &User,
) -> OrganizationJson<'a> {
    let member = viewer.organization == organization.id && !viewer.is_deactivated;
    let admin = member && viewer.is_admin;
    OrganizationJson {
        id: &organization.id,
        name: &organization.name,
        enable_auto_verify: organization.enable_auto_verify,
        admins_must_use_passkey: admin.then_some(organization.admins_must_use_passkey),
        pricing_plan: &organization.pricing_plan,
        paid_until: organization.paid_until,
        included_users: organization.included_users,
        included_storage_bytes: organization.included_storage_bytes,
        used_storage_bytes: organization.used_storage_bytes,
        owner_name: owner.map(|o| format!("{} {}", o.first_name, o.last_name)),
        member_count: admin.then_some(organization.member_count),
        active_user_count: admin.then_some(organization.active_user_count),
        storage_reported_at: organization.storage_reported_at.filter(|_| admin),
        milli_credit_balance: member.then_some(organization.milli_credit_balance),
        new_user_mailing_list: admin.then_some(organization.new_user_mailing_list.as_str()),
        plan_subscription_email: admin.then_some(organization.plan_subscription_email.as_str()),
        ai_job_notifications: admin.then_some(organization.ai_job_notifications.as_str()),
        created: organization.created,
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TeamJson<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub organization: &'a str,
    /// The organization's Default team, which every member is in and which cannot be deleted (beyond
    /// WEBKNOSSOS, so the Teams page can leave out its Delete button).
    pub is_organization_team: bool,
}

pub(crate) fn team(team: &Team) -> TeamJson<'_> {
    TeamJson {
        id: &team.id,
        name: &team.name,
        organization: &team.organization,
        is_organization_team: team.is_organization_team,
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TeamRoleJson<'a> {
    id: &'a str,
    is_team_manager: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct InviteJson<'a> {
    id: &'a str,
    email: &'a str,
    state: &'static str,
    auto_activate: bool,
    is_admin: bool,
    is_dataset_manager: bool,
    team_memberships: Vec<TeamRoleJson<'a>>,
    sent_by: &'a str,
    sent_by_name: &'a str,
    created: i64,
    valid_until: i64,
    delivery: crate::model::DeliveryState,
    delivery_error: Option<&'a str>,
    accepted_by_user_id: Option<&'a str>,
    accepted_by_email: Option<&'a str>,
}

pub(crate) fn invite(invite: &Invite) -> InviteJson<'_> {
    InviteJson {
        id: &invite.id,
        email: &invite.email,
        state: invite.shown_state(crate::ids::now_millis()),
        auto_activate: invite.auto_activate,
        is_admin: invite.is_admin,
        is_dataset_manager: invite.is_dataset_manager,
        team_memberships: invite.teams.iter().map(|(id, m)| TeamRoleJson { id, is_team_manager: *m }).collect(),
        sent_by: &invite.sent_by,
        sent_by_name: &invite.sent_by_name,
        created: invite.created,
        valid_until: invite.valid_until,
        delivery: invite.delivery,
        delivery_error: invite.delivery_error.as_deref(),
        accepted_by_user_id: invite.accepted_by_user.as_deref(),
        accepted_by_email: invite.accepted_by_email.as_deref(),
    }
}

/// A credit transaction as WEBKNOSSOS lists it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreditTransactionJson<'a> {
    pub id: &'a str,
    pub milli_credits: i64,
    pub comment: &'a str,
    pub created_by: &'a str,
    pub created: i64,
}

pub(crate) fn credit_transaction(transaction: &CreditTransaction) -> CreditTransactionJson<'_> {
    CreditTransactionJson {
        id: &transaction.id,
        milli_credits: transaction.milli_credits,
        comment: &transaction.comment,
        created_by: &transaction.created_by,
        created: transaction.created,
    }
}

/// A member of a team with the role in it (`GET /teams/{id}/users`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TeamMemberJson<'a> {
    pub id: &'a str,
    pub email: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub is_active: bool,
    pub is_team_manager: bool,
}

pub(crate) fn team_member(user: &User, is_team_manager: bool) -> TeamMemberJson<'_> {
    TeamMemberJson {
        id: &user.id,
        email: &user.email,
        first_name: &user.first_name,
        last_name: &user.last_name,
        is_active: user.is_active(),
        is_team_manager,
    }
}

/// An organization in the switcher's compact list.
#[derive(Debug, Serialize)]
pub(crate) struct CompactOrganizationJson<'a> {
    pub id: &'a str,
    pub name: &'a str,
}

pub(crate) fn compact_organization(organization: &Organization) -> CompactOrganizationJson<'_> {
    CompactOrganizationJson { id: &organization.id, name: &organization.name }
}

/// An audit entry as `GET /api/auditLog` shows it (the change as a JSON object).
pub(crate) fn audit_entry(entry: &crate::model::AuditEntry) -> Value {
    let change: Value = if entry.change.is_empty() {
        json!({})
    } else {
        serde_json::from_str(&entry.change).unwrap_or_else(|_| json!({}))
    };
    json!({
        "id": entry.id,
        "action": entry.action,
        "occurredAt": entry.occurred_at,
        "actor": entry.actor,
        "targets": entry.targets,
        "context": entry.context,
        "change": change,
        "group": entry.group,
    })
}
