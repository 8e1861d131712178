//! The caller of a request, as the dispatch authenticated it: an active identity, its organization and the
//! credential it presented. Domain functions take it as their first argument after the app.

use crate::app::App;
use crate::model::{AuditContext, Organization, SignInMethod, User};
use crate::store::org::OrgStore;

/// The credential a request presented, after its signature or shape was checked.
#[derive(Debug, Clone)]
pub enum Credential {
    Session { organization: String, user_id: String, session_id: String, session_epoch: u64 },
    ApiToken { organization: String, user_id: String, token: String },
}

impl Credential {
    pub fn organization(&self) -> &str {
        match self {
            Credential::Session { organization, .. } | Credential::ApiToken { organization, .. } => organization,
        }
    }
    pub fn user_id(&self) -> &str {
        match self {
            Credential::Session { user_id, .. } | Credential::ApiToken { user_id, .. } => user_id,
        }
    }
}

/// An authenticated, active identity and its organization.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: User,
    pub organization: Organization,
    pub credential: Credential,
    /// Where the request came from, for the audit log.
    pub context: AuditContext,
    /// Whether the account holds the operator role: read (one GetItem) only for operator routes, whose
    /// access class needs it; `false` on every other route.
    pub is_operator: bool,
    /// How the person signed in: the session's method, or for an API token the method of the session that
    /// made it.
    pub signed_in_with: SignInMethod,
}

impl Caller {
    /// An admin of an organization that requires its admins to sign in with a passkey or single sign-on,
    /// signed in with a password: such a caller may only add and use a passkey
    /// (`operations::WITHOUT_STRONG_SIGN_IN`).
    pub fn needs_strong_sign_in(&self) -> bool {
        self.user.is_admin && self.organization.admins_must_use_passkey && !self.signed_in_with.is_strong()
    }

    /// The store for the caller's organization: every key it builds is inside that organization.
    pub fn store<'a>(&self, app: &'a App) -> OrgStore<'a> {
        OrgStore::new(&app.db, &self.organization.id)
    }
}
