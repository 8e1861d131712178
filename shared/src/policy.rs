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
use crate::config::Config;
use crate::error::ApiError;
use crate::model::User;
use crate::operations::Access;

impl Access {
    /// Whether an authenticated, active `user` belongs to the class (`config` names the super users).
    pub fn admits(self, config: &Config, user: &User) -> bool {
        match self {
            Access::Public | Access::AnyMember => true,
            Access::TeamManagerOrAdmin(_) => user.is_team_manager_or_admin(),
            Access::Admin(_) => user.is_admin,
            Access::AdminOrOwner(_) => user.is_admin || user.is_organization_owner,
            Access::OwnerOrDeletionGrantee(_) => may_delete_organization(user),
            Access::Owner(_) => user.is_organization_owner,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::user;

    fn config_with_operator(email: &str) -> Config {
        let mut config = Config::from_env_with(
            "table".into(),
            crate::signing::SigningSecrets::new(vec![7; 32], vec![]).unwrap(),
            "http://localhost",
            "a@b.org",
        )
        .unwrap();
        config.super_users = [email.to_owned()].into_iter().collect();
        config
    }

    #[test]
    fn each_access_class_admits_exactly_its_callers() {
        let config = config_with_operator("op@example.org");
        let member = user("member", &[("red", false)]);
        let manager = user("manager", &[("red", true)]);
        let admin = User { is_admin: true, ..user("admin", &[]) };
        let grantee = User { may_delete_organization: true, ..admin.clone() };
        let owner = User { is_organization_owner: true, is_admin: true, ..user("owner", &[]) };
        let claimed = User { email: "op@example.org".into(), is_email_verified: true, ..user("op", &[]) };
        let unclaimed = User { is_email_verified: false, ..claimed.clone() };
        let former_admin_owner = User { is_admin: false, ..owner.clone() };
        let cases: [(Access, &[&User], &[&User]); 8] = [
            (Access::Public, &[&member, &admin], &[]),
            (Access::AnyMember, &[&member, &manager, &admin], &[]),
            (Access::TeamManagerOrAdmin("x"), &[&manager, &admin, &owner], &[&member, &claimed]),
            (Access::Admin("x"), &[&admin, &owner], &[&member, &manager, &former_admin_owner]),
            (Access::AdminOrOwner("x"), &[&admin, &owner, &former_admin_owner], &[&member, &manager, &claimed]),
            (Access::OwnerOrDeletionGrantee("x"), &[&owner, &grantee], &[&admin, &manager]),
            (Access::Owner("x"), &[&owner, &former_admin_owner], &[&admin, &grantee, &member]),
            (Access::SuperUser("x"), &[&claimed], &[&unclaimed, &owner, &admin]),
        ];
        for (access, admitted, refused) in cases {
            for user in admitted {
                assert!(access.admits(&config, user), "{} admits {}", access.name(), user.id);
            }
            for user in refused {
                assert!(!access.admits(&config, user), "{} refuses {}", access.name(), user.id);
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
