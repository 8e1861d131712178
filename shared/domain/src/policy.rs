//! WEBKNOSSOS's permission rules. Two levels:
//!
//! - [`Access`]: who may call a route at all, by the class of the caller. Every operation in
//!   [`crate::operations`] names its class (with a short text naming the finer target rules); `dispatch::dispatch`
//!   authenticates the caller of every non-public route once and refuses an excluded class before the
//!   handler runs. `docs/permissions.md` is generated from that table (`cargo run -p devstack --bin sync-docs`).
//! - Target rules (which user, team, invite or organization a caller of an admitted class may act on): pure
//!   functions here and in the domain modules the table's `targets` text names. A target in another
//!   organization is never found (404); a caller whose class is excluded gets 403 whatever the target.

use crate::caller::Caller;
use crate::error::DomainError;
use crate::model::User;
use crate::operations::{Access, Operation};

/// Whether an authenticated, active `user` belongs to the class `access`; `is_operator`: whether its
/// account holds the operator role (a grant, never an address: [`crate::domain::operators`]).
pub(crate) fn admits(access: Access, user: &User, is_operator: bool) -> bool {
    match access {
        Access::Public | Access::AnyMember => true,
        Access::TeamManagerOrAdmin(_) => user.is_team_manager_or_admin(),
        Access::Admin(_) => user.is_admin,
        Access::AdminOrOwner(_) => user.is_admin || user.is_organization_owner,
        Access::OwnerOrDeletionGrantee(_) => may_delete_organization(user),
        Access::Owner(_) => user.is_organization_owner,
        Access::SuperUser(_) => is_operator,
    }
}

/// `Ok` when `caller` belongs to the class `access`, else the 403 for `route` (e.g. "DELETE /teams/{id}").
pub fn check(access: Access, caller: &Caller, route: &str) -> Result<(), DomainError> {
    if admits(access, &caller.user, caller.is_operator) {
        return Ok(());
    }
    let code = access.refusal_code().unwrap_or("access.denied");
    Err(DomainError::forbidden(code, format!("Only {} may call {route}", access.description())))
}

/// `Ok` unless the caller is an admin signed in with a password alone where the organization requires its
/// admins to use a passkey or single sign-on, and `operation` is not one such a caller may still call
/// (adding and using a passkey, and what the home page needs: `operations::WITHOUT_STRONG_SIGN_IN`).
pub fn check_sign_in(operation: &Operation, caller: &Caller) -> Result<(), DomainError> {
    let allowed = crate::operations::WITHOUT_STRONG_SIGN_IN.iter().any(|allowed| std::ptr::eq(*allowed, operation));
    if allowed || !caller.needs_strong_sign_in() {
        return Ok(());
    }
    Err(DomainError::forbidden(
        "auth.passkey.required",
        "Your organization requires its admins to sign in with a passkey or single sign-on: add a passkey on your \
         home page, then log out and sign in with it",
    ))
}

/// The owner, or an admin the owner granted the deletion right.
pub(crate) fn may_delete_organization(user: &User) -> bool {
    user.is_organization_owner || (user.is_admin && user.may_delete_organization)
}

/// Admins edit everyone in their organization; team managers edit members of the teams they manage.
pub fn may_edit_user(caller: &User, target: &User) -> bool {
    if caller.organization != target.organization || caller.is_deactivated {
        return false;
    }
    caller.is_admin || target.teams.keys().any(|team_id| caller.is_team_manager_of(team_id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::user;

    #[test]
    fn each_access_class_admits_exactly_its_callers() {
        let member = user("member", &[("red", false)]);
        let manager = user("manager", &[("red", true)]);
        let admin = User { is_admin: true, ..user("admin", &[]) };
        let grantee = User { may_delete_organization: true, ..admin.clone() };
        let owner = User { is_organization_owner: true, is_admin: true, ..user("owner", &[]) };
        // A verified address alone is nothing: only the account's grant (`is_operator`) admits.
        let operator = user("op", &[]);
        let verified = User { email: "op@example.org".into(), is_email_verified: true, ..user("listed", &[]) };
        let former_admin_owner = User { is_admin: false, ..owner.clone() };
        let cases: [(Access, &[&User], &[&User]); 8] = [
            (Access::Public, &[&member, &admin], &[]),
            (Access::AnyMember, &[&member, &manager, &admin], &[]),
            (Access::TeamManagerOrAdmin("x"), &[&manager, &admin, &owner], &[&member, &verified]),
            (Access::Admin("x"), &[&admin, &owner], &[&member, &manager, &former_admin_owner]),
            (Access::AdminOrOwner("x"), &[&admin, &owner, &former_admin_owner], &[&member, &manager, &verified]),
            (Access::OwnerOrDeletionGrantee("x"), &[&owner, &grantee], &[&admin, &manager]),
            (Access::Owner("x"), &[&owner, &former_admin_owner], &[&admin, &grantee, &member]),
            (Access::SuperUser("x"), &[&operator], &[&verified, &owner, &admin]),
        ];
        for (access, admitted, refused) in cases {
            for user in admitted {
                let is_operator = user.id == operator.id;
                assert!(admits(access, user, is_operator), "{} admits {}", access.name(), user.id);
            }
            for user in refused {
                assert!(!admits(access, user, false), "{} refuses {}", access.name(), user.id);
            }
        }
        // A grantee who is no longer an admin has no deletion right.
        assert!(!may_delete_organization(&User { is_admin: false, ..grantee }));
    }

    #[test]
    fn team_managers_edit_only_members_of_their_teams_in_their_organization() {
        let manager = user("manager", &[("red", true), ("blue", false)]);
        assert!(may_edit_user(&manager, &user("r", &[("red", false)])));
        assert!(!may_edit_user(&manager, &user("b", &[("blue", false)])), "member, not manager, of Blue");
        let elsewhere = User { organization: "other".into(), ..user("r", &[("red", false)]) };
        assert!(!may_edit_user(&manager, &elsewhere));
    }
}
