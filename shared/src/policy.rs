//! WEBKNOSSOS's permission rules. Two levels:
//!
//! - [`Access`]: who may call a route at all, by the class of the caller. Every operation in
//!   [`crate::routes`] names its class (with a short text naming the finer target rules); `routes::dispatch`
//!   authenticates the caller of every non-public route once and refuses an excluded class before the
//!   handler runs. `docs/permissions.md` is generated from that table (`cargo run -p devstack --bin sync-docs`).
//! - Target rules (which user, team, invite or organization a caller of an admitted class may act on): pure
//!   functions here and in the domain modules the table's `targets` text names. A target in another
//!   organization is never found (404); a caller whose class is excluded gets 403 whatever the target.

use crate::auth::Caller;
use crate::config::Config;
use crate::error::ApiError;
use crate::model::User;

/// Who may call a route. Refusals carry the route's stable error code (403).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No credential needed (a credential, if sent, is ignored).
    Public,
    /// Any active identity: the caller acts for itself or in its own organization.
    AnyMember,
    /// Admins (anyone in their organization) and team managers (members of the teams they manage).
    TeamManagerOrAdmin(&'static str),
    /// Admins of the organization.
    Admin(&'static str),
    /// The organization's owner, or an admin the owner granted the deletion right.
    OwnerOrDeletionGrantee(&'static str),
    /// Instance operators: identities whose e-mail is in `SUPER_USER_EMAILS`, acting on any organization.
    SuperUser(&'static str),
}

impl Access {
    /// Whether a route of this class needs an authenticated caller.
    pub fn needs_caller(self) -> bool {
        self != Access::Public
    }

    /// The class's name, as `docs/permissions.md` shows it.
    pub fn name(self) -> &'static str {
        match self {
            Access::Public => "Public",
            Access::AnyMember => "AnyMember",
            Access::TeamManagerOrAdmin(_) => "TeamManagerOrAdmin",
            Access::Admin(_) => "Admin",
            Access::OwnerOrDeletionGrantee(_) => "OwnerOrDeletionGrantee",
            Access::SuperUser(_) => "SuperUser",
        }
    }

    /// Who the class admits, in words.
    pub fn description(self) -> &'static str {
        match self {
            Access::Public => "anyone, no login",
            Access::AnyMember => "any active identity",
            Access::TeamManagerOrAdmin(_) => "admins and team managers",
            Access::Admin(_) => "admins",
            Access::OwnerOrDeletionGrantee(_) => "the owner, or an admin the owner granted the deletion right",
            Access::SuperUser(_) => "instance operators (SUPER_USER_EMAILS, address verified)",
        }
    }

    /// The error code of a refusal (403), for classes that refuse active identities.
    pub fn refusal_code(self) -> Option<&'static str> {
        match self {
            Access::Public | Access::AnyMember => None,
            Access::TeamManagerOrAdmin(code)
            | Access::Admin(code)
            | Access::OwnerOrDeletionGrantee(code)
            | Access::SuperUser(code) => Some(code),
        }
    }

    /// Whether an authenticated, active `user` belongs to the class (`config` names the super users).
    pub fn admits(self, config: &Config, user: &User) -> bool {
        match self {
            Access::Public | Access::AnyMember => true,
            Access::TeamManagerOrAdmin(_) => user.is_team_manager_or_admin(),
            Access::Admin(_) => user.is_admin,
            Access::OwnerOrDeletionGrantee(_) => may_delete_organization(user),
            Access::SuperUser(_) => is_super_user(config, user),
        }
    }

    /// `Ok` when `caller` belongs to the class, else the 403 for `route` (e.g. "DELETE /teams/{id}").
    pub fn check(self, config: &Config, caller: &Caller, route: &str) -> Result<(), ApiError> {
        if self.admits(config, &caller.user) {
            return Ok(());
        }
        let code = self.refusal_code().unwrap_or("access.denied");
        Err(ApiError::forbidden(code, format!("Only {} may call {route}", self.description())))
    }
}

/// The owner, or an admin the owner granted the deletion right.
pub fn may_delete_organization(user: &User) -> bool {
    user.is_organization_owner || (user.is_admin && user.may_delete_organization)
}

/// Whether `user` is an instance operator: its e-mail is named in the configuration AND proven to be the
/// account's (followed verification link, password reset link or invite). A string alone grants nothing:
/// anyone can sign up with, or change their address to, an operator address nobody has claimed yet.
pub fn is_super_user(config: &Config, user: &User) -> bool {
    user.is_email_verified && config.super_users.contains(&user.email)
}

/// Admins edit everyone in their organization; team managers edit members of the teams they manage.
pub fn may_edit_user(caller: &User, target: &User) -> bool {
    if caller.organization != target.organization || caller.is_deactivated {
        return false;
    }
    caller.is_admin || target.teams.keys().any(|team_id| caller.is_team_manager_of(team_id))
}
