//! The operations of the API, as plain data: one Lambda function each, with its route, the AWS actions its
//! code performs and who may call it. This table is the source the local gateway routes by, template.yaml
//! and docs/permissions.md are generated from, and a test checks openapi.yaml and the binaries in
//! `functions/` against. The lowest layer: it imports nothing of the crate (see docs/architecture.md);
//! [`crate::dispatch`] binds each operation to its handler.
//!
//! Every route is served under `/api{path}` and `/api/v{N}{path}` for each supported version N (API Gateway
//! has a second route `/api/{apiVersion}{path}`; the dispatch refuses unsupported versions).

/// Newest and oldest API versions served. The `webknossos` Python package 4.3 speaks 13 to 16.
pub const CURRENT_API_VERSION: u32 = 16;
pub const OLDEST_SUPPORTED_API_VERSION: u32 = 13;
/// Name of the path parameter that carries `v{N}` in versioned routes.
pub const VERSION_PARAMETER: &str = "apiVersion";
/// Path of API Gateway's catch-all route.
pub const DEFAULT_ROUTE: &str = "$default";

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
    /// Admins of the organization, and its owner (who may have given up admin rights).
    AdminOrOwner(&'static str),
    /// The organization's owner, or an admin the owner granted the deletion right.
    OwnerOrDeletionGrantee(&'static str),
    /// The organization's owner.
    Owner(&'static str),
    /// Instance operators: accounts granted the role (by the `grant-operator` command or another operator; an
    /// address alone never is), acting on any organization.
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
            Access::AdminOrOwner(_) => "AdminOrOwner",
            Access::OwnerOrDeletionGrantee(_) => "OwnerOrDeletionGrantee",
            Access::Owner(_) => "Owner",
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
            Access::AdminOrOwner(_) => "admins and the owner",
            Access::OwnerOrDeletionGrantee(_) => "the owner, or an admin the owner granted the deletion right",
            Access::Owner(_) => "the organization's owner",
            Access::SuperUser(_) => "instance operators (accounts granted the role)",
        }
    }

    /// The error code of a refusal (403), for classes that refuse active identities.
    pub fn refusal_code(self) -> Option<&'static str> {
        match self {
            Access::Public | Access::AnyMember => None,
            Access::TeamManagerOrAdmin(code)
            | Access::Admin(code)
            | Access::AdminOrOwner(code)
            | Access::OwnerOrDeletionGrantee(code)
            | Access::Owner(code)
            | Access::SuperUser(code) => Some(code),
        }
    }
}

pub struct Operation {
    /// Binary name in `functions/src/bin/{name}.rs`, SAM function `{Name}Function`, OpenAPI operationId.
    pub name: &'static str,
    pub method: &'static str,
    /// Path below `/api`, with `{param}` segments; [`DEFAULT_ROUTE`] for the catch-all.
    pub path: &'static str,
    /// The actions its code performs: DynamoDB actions by name (granted on the table, and its indexes for
    /// Query), and `sqs:SendMessage` (queueing a mail on the mail queue; only the background function
    /// `send_mail` has `ses:SendEmail`). template.yaml grants exactly these.
    pub actions: &'static [&'static str],
    /// Who may call it: checked by the dispatch before the handler runs (see [`crate::policy`]).
    pub access: Access,
    /// On which targets: the finer rules, enforced by the domain functions this text names.
    pub targets: &'static str,
}

impl Operation {
    /// `METHOD /api{path}`, as errors and `docs/permissions.md` name the route.
    pub fn route(&self) -> String {
        if self.path == DEFAULT_ROUTE {
            "any other route".to_owned()
        } else {
            format!("{} /api{}", self.method, self.path)
        }
    }

    /// The API Gateway route paths: `/api{path}` and `/api/{apiVersion}{path}`.
    pub fn route_paths(&self) -> Vec<String> {
        if self.path == DEFAULT_ROUTE {
            return vec![DEFAULT_ROUTE.to_owned()];
        }
        vec![format!("/api{}", self.path), format!("/api/{{{VERSION_PARAMETER}}}{}", self.path)]
    }
}

macro_rules! operations {
    ($($constant:ident = $name:literal, $method:literal, $path:literal, [$($action:literal),*],
        $access:expr, $targets:literal;)*) => {
        $(
            pub static $constant: Operation = Operation {
                name: $name,
                method: $method,
                path: $path,
                actions: &[$($action),*],
                access: $access,
                targets: $targets,
            };
        )*
        pub static ALL: &[&Operation] = &[$(&$constant),*];
    };
}

// Actions: IAM names. Authenticated routes read the caller with BatchGetItem; TransactWriteItems needs the
// Put/Update/Delete/ConditionCheckItem actions of its items; functions that mail queue it (sqs:SendMessage).
use Access::*;

operations! {
    BUILDINFO = "buildinfo", "GET", "/buildinfo",
        [],
        Public, "none";
    CREATE_ORGANIZATION_WITH_ADMIN = "create_organization_with_admin", "POST", "/auth/createOrganizationWithAdmin",
        ["GetItem", "BatchGetItem", "PutItem", "UpdateItem", "ConditionCheckItem", "sqs:SendMessage", "key:deriveTokens"],
        Public, "a new organization, with the caller as owner";
    LOGIN = "login", "POST", "/auth/login",
        ["GetItem", "BatchGetItem", "PutItem", "UpdateItem", "DeleteItem", "ConditionCheckItem", "sqs:SendMessage", "key:signSessions", "key:deriveTokens"],
        Public,
            "the account of the e-mail, with its password; a deactivated identity gets 403 (domain::session::login)";
    GET_TOKEN = "get_token", "GET", "/auth/token",
        ["BatchGetItem", "GetItem", "PutItem", "key:deriveTokens"],
        AnyMember, "the caller's own personal API token";
    REVOKE_TOKEN = "revoke_token", "DELETE", "/auth/token",
        ["BatchGetItem", "DeleteItem", "PutItem"],
        AnyMember, "the caller's own personal API token";
    LOGOUT = "logout", "POST", "/auth/logout",
        ["BatchGetItem", "DeleteItem", "PutItem"],
        AnyMember, "the session presented";
    LOGOUT_EVERYWHERE = "logout_everywhere", "POST", "/auth/logoutEverywhere",
        ["BatchGetItem", "GetItem", "UpdateItem", "PutItem"],
        AnyMember, "every session and token of the caller's account";
    REGISTER = "register", "POST", "/auth/register",
        ["GetItem", "BatchGetItem", "Query", "PutItem", "UpdateItem",
         "DeleteItem", "ConditionCheckItem", "sqs:SendMessage", "key:deriveTokens"],
        Public, "the organization of a usable invite token, else the self-registration organization (else 403) \
            (domain::signup::register)";
    SEND_INVITES = "send_invites", "POST", "/auth/sendInvites",
        ["BatchGetItem", "GetItem", "Query", "PutItem", "UpdateItem", "ConditionCheckItem", "sqs:SendMessage", "key:deriveTokens"],
        TeamManagerOrAdmin("invite.notAllowed"), "the caller's organization; team roles only in teams the caller \
            manages (admins: all), admin and dataset manager rights only from admins \
            (domain::invites::send_invites)";
    START_RESET_PASSWORD = "start_reset_password", "POST", "/auth/startResetPassword",
        ["BatchGetItem", "GetItem", "UpdateItem", "PutItem", "sqs:SendMessage"],
        Public, "the account of the e-mail, if any (the answer is the same either way); throttled per address and \
            client (domain::credentials::start_password_reset)";
    RESET_PASSWORD = "reset_password", "POST", "/auth/resetPassword",
        ["BatchGetItem", "Query", "UpdateItem", "DeleteItem", "PutItem", "sqs:SendMessage"],
        Public, "the account named by a valid, unused, newest reset token; else 400 \
            (domain::credentials::reset_password)";
    CHANGE_PASSWORD = "change_password", "POST", "/auth/changePassword",
        ["BatchGetItem", "UpdateItem", "PutItem", "DeleteItem", "sqs:SendMessage", "key:signSessions"],
        AnyMember, "the caller's own account, with its current password (domain::credentials::change_password)";
    VERIFY_EMAIL = "verify_email", "POST", "/verifyEmail/{key}",
        ["BatchGetItem", "UpdateItem", "PutItem", "DeleteItem"],
        Public, "the account named by a valid, unused key sent to its current address (else 400), presented by \
            that account: signed in as it (else 403) or with its password (else 401) \
            (domain::credentials::verify_email)";
    REQUEST_VERIFICATION = "request_verification", "POST", "/verifyEmail",
        ["BatchGetItem", "GetItem", "UpdateItem", "PutItem", "sqs:SendMessage"],
        AnyMember, "the caller's own address; throttled per address and client \
            (domain::credentials::request_verification)";
    ORGANIZATION_BY_INVITE = "organization_by_invite", "GET", "/organizations/byInvite/{token}",
        ["GetItem", "BatchGetItem"],
        Public, "the organization of a usable invite token; unknown, used, revoked or expired -> 404 \
            (domain::invites::usable_invite)";
    JOIN_ORGANIZATION = "join_organization", "POST", "/auth/joinOrganization/{token}",
        ["BatchGetItem", "GetItem", "Query", "PutItem", "UpdateItem",
         "DeleteItem", "ConditionCheckItem", "sqs:SendMessage", "key:deriveTokens"],
        AnyMember, "the caller's account joins the organization of a usable invite token (else 404); already a member \
            -> 409 (domain::invites::join_organization)";
    GET_ORGANIZATION = "get_organization", "GET", "/organizations/{id}",
        ["BatchGetItem", "GetItem"],
        AnyMember, "the caller's own organization; any other id -> 404 (domain::organizations::overview)";
    UPDATE_ORGANIZATION = "update_organization", "PATCH", "/organizations/{id}",
        ["BatchGetItem", "GetItem", "UpdateItem", "PutItem", "ConditionCheckItem", "sqs:SendMessage"],
        Admin("organization.notAllowed"), "the caller's own organization; any other id -> 404 \
            (domain::organizations::update)";
    LIST_ORGANIZATIONS = "list_organizations", "GET", "/organizations",
        ["BatchGetItem", "GetItem"],
        AnyMember, "the organizations where the caller's account has an active identity \
            (domain::organizations::of_caller)";
    DELETE_ORGANIZATION = "delete_organization", "DELETE", "/organizations/{id}",
        ["BatchGetItem", "Query", "UpdateItem", "DeleteItem", "PutItem", "BatchWriteItem"],
        OwnerOrDeletionGrantee("organization.delete.notAllowed"),
            "the caller's own organization (any other id -> 404), confirmed by its name \
            (domain::organizations::delete)";
    SWITCH_ORGANIZATION = "switch_organization", "POST", "/auth/switchOrganization/{id}",
        ["BatchGetItem", "GetItem", "PutItem", "UpdateItem", "ConditionCheckItem", "key:signSessions"],
        AnyMember, "an organization where the caller's account has an identity (else 404), active there (else 403) \
            (domain::organizations::switch)";
    LEAVE_ORGANIZATION = "leave_organization", "POST", "/organizations/{id}/leave",
        ["BatchGetItem", "GetItem", "Query/UsersByName", "PutItem", "UpdateItem", "ConditionCheckItem", "sqs:SendMessage"],
        AnyMember, "an organization where the caller's account has an active identity (else 404), but not as its \
            owner (403); an admin only while another active admin remains (409) (domain::organizations::leave)";
    TRANSFER_OWNERSHIP = "transfer_ownership", "POST", "/organizations/{id}/transferOwnership",
        ["BatchGetItem", "GetItem", "PutItem", "UpdateItem", "ConditionCheckItem", "sqs:SendMessage"],
        Owner("organization.transfer.ownerOnly"), "the caller's own organization (any other id -> 404), offered to \
            one of its active admins (domain::organizations::offer_ownership)";
    ACCEPT_OWNERSHIP = "accept_ownership", "POST", "/organizations/{id}/transferOwnership/{token}",
        ["BatchGetItem", "GetItem", "PutItem", "UpdateItem", "DeleteItem", "sqs:SendMessage"],
        AnyMember, "the caller's own organization (any other id -> 404), whose valid, unused offer (else 404) names \
            the caller (else 403), an active admin (domain::organizations::accept_ownership)";
    CREATE_ORGANIZATION = "create_organization", "POST", "/organizations",
        ["BatchGetItem", "GetItem", "PutItem", "UpdateItem", "ConditionCheckItem", "sqs:SendMessage", "key:deriveTokens"],
        SuperUser("superUser.required"), "a new organization for any owner e-mail \
            (domain::organizations::create_for_owner)";
    CHANGE_PLAN = "change_plan", "PATCH", "/organizations/{id}/plan",
        ["BatchGetItem", "GetItem", "UpdateItem", "PutItem", "ConditionCheckItem", "sqs:SendMessage"],
        SuperUser("superUser.required"), "any organization; unknown -> 404 (domain::organizations::change_plan)";
    ADD_CREDITS = "add_credits", "POST", "/organizations/{id}/credits",
        ["BatchGetItem", "GetItem", "PutItem", "UpdateItem", "key:deriveTokens"],
        SuperUser("superUser.required"), "any organization; unknown -> 404 (domain::organizations::add_credits)";
    CONFIRM_NOTIFICATION_ADDRESS = "confirm_notification_address", "POST", "/notificationAddresses/{token}",
        ["GetItem", "UpdateItem", "PutItem"],
        Public, "the notification address of a valid, unexpired token mailed to it; else 400 \
            (domain::organizations::confirm_notification_address)";
    GRANT_OPERATOR = "grant_operator", "POST", "/operators",
        ["BatchGetItem", "GetItem", "Query", "PutItem", "ConditionCheckItem", "UpdateItem", "sqs:SendMessage"],
        SuperUser("superUser.required"), "the account of a verified address; audited, mailed to every operator \
            (domain::operators::grant)";
    PRICING_STATUS = "pricing_status", "GET", "/pricing/status",
        ["BatchGetItem"],
        AnyMember, "the caller's own organization (domain::organizations::pricing_status)";
    REQUEST_EXTENSION = "request_extension", "POST", "/pricing/requestExtension",
        ["BatchGetItem", "PutItem", "UpdateItem", "ConditionCheckItem", "sqs:SendMessage"],
        Admin("pricing.notAllowed"), "the caller's organization: stored, mailed to the operators, at most 10 a day \
            (domain::organizations::request_plan_change)";
    REQUEST_UPGRADE = "request_upgrade", "POST", "/pricing/requestUpgrade",
        ["BatchGetItem", "PutItem", "UpdateItem", "ConditionCheckItem", "sqs:SendMessage"],
        Admin("pricing.notAllowed"), "the caller's organization, `requestedPlan` a known plan \
            (domain::organizations::request_plan_change)";
    REQUEST_USERS = "request_users", "POST", "/pricing/requestUsers",
        ["BatchGetItem", "PutItem", "UpdateItem", "ConditionCheckItem", "sqs:SendMessage"],
        Admin("pricing.notAllowed"), "the caller's organization, `requestedUsers` 1 to 1,000,000 \
            (domain::organizations::request_plan_change)";
    REQUEST_STORAGE = "request_storage", "POST", "/pricing/requestStorage",
        ["BatchGetItem", "PutItem", "UpdateItem", "ConditionCheckItem", "sqs:SendMessage"],
        Admin("pricing.notAllowed"), "the caller's organization, `requestedStorage` in MB, 1 to 10^9 \
            (domain::organizations::request_plan_change)";
    REQUEST_CREDITS = "request_credits", "POST", "/pricing/requestCredits",
        ["BatchGetItem", "PutItem", "UpdateItem", "ConditionCheckItem", "sqs:SendMessage"],
        Owner("pricing.credits.ownerOnly"), "the caller's organization, `requestedCredits` 1 to 10^9 \
            (domain::organizations::request_plan_change)";
    LIST_PLAN_REQUESTS = "list_plan_requests", "GET", "/pricing/requests",
        ["BatchGetItem", "GetItem", "Query"],
        SuperUser("superUser.required"), "every organization's requests, newest first \
            (domain::organizations::plan_requests)";
    LIST_PLAN_UPDATES = "list_plan_updates", "GET", "/pricing/planUpdates",
        ["BatchGetItem", "Query"],
        Admin("pricing.notAllowed"), "the plan history of the caller's organization, newest first \
            (domain::organizations::plan_updates)";
    LIST_CREDIT_TRANSACTIONS = "list_credit_transactions", "GET", "/creditTransactions",
        ["BatchGetItem", "Query"],
        Admin("credits.notAllowed"), "the credit transactions of the caller's organization, newest first \
            (domain::organizations::credit_transactions)";
    LIST_INVITES = "list_invites", "GET", "/invites",
        ["BatchGetItem", "Query"],
        TeamManagerOrAdmin("invite.notAllowed"),
            "invites of the caller's organization: all for admins, those they sent for team managers \
            (domain::invites::list)";
    REVOKE_INVITE = "revoke_invite", "DELETE", "/invites/{id}",
        ["BatchGetItem", "GetItem", "PutItem", "DeleteItem"],
        TeamManagerOrAdmin("invite.notAllowed"),
            "an invite of the caller's organization: any for admins, one they sent for team managers; else 404 \
            (domain::invites::revoke)";
    RESEND_INVITE = "resend_invite", "POST", "/invites/{id}/resend",
        ["BatchGetItem", "GetItem", "PutItem", "UpdateItem", "ConditionCheckItem", "sqs:SendMessage", "key:deriveTokens"],
        TeamManagerOrAdmin("invite.notAllowed"),
            "an invite of the caller's organization: any for admins, one they sent for team managers; else 404 \
            (domain::invites::resend)";
    CURRENT_USER = "current_user", "GET", "/user",
        ["BatchGetItem", "UpdateItem"],
        AnyMember, "the caller";
    LIST_USERS = "list_users", "GET", "/users",
        ["BatchGetItem", "Query", "Query/UsersByName"],
        AnyMember, "users the caller may see: itself, members of teams it manages, everyone in the organization for \
            admins (domain::users::list_users)";
    GET_USER = "get_user", "GET", "/users/{id}",
        ["BatchGetItem", "GetItem"],
        AnyMember, "a user the caller may see, else 404 (domain::users::may_see_user)";
    UPDATE_USER = "update_user", "PATCH", "/users/{id}",
        ["BatchGetItem", "GetItem", "Query", "Query/UsersByName", "PutItem", "UpdateItem",
         "DeleteItem", "ConditionCheckItem", "sqs:SendMessage"],
        AnyMember, "a user the caller may see (else 404), field by field: own name, e-mail and password; teams, \
            experiences and activation by its admins and team managers; deactivation, admin and dataset manager \
            rights by admins; the deletion right by the owner (domain::users::plan_change)";
    BULK_EDIT_TEAMS_AND_PERMISSIONS = "bulk_edit_teams_and_permissions", "PATCH", "/users/teamsAndPermissions",
        ["BatchGetItem", "GetItem", "Query", "Query/UsersByName", "PutItem", "DeleteItem", "ConditionCheckItem", "UpdateItem", "sqs:SendMessage", "key:deriveTokens"],
        TeamManagerOrAdmin("user.bulkEdit.notAllowed"), "users the caller may see (any other -> 404), all or none, \
            under the rules of PATCH /users/{id} (domain::users::bulk_write)";
    BULK_CHANGE_EXPERIENCES = "bulk_change_experiences", "PATCH", "/users/experiences",
        ["BatchGetItem", "GetItem", "PutItem", "DeleteItem", "key:deriveTokens"],
        TeamManagerOrAdmin("user.bulkEdit.notAllowed"), "users the caller may edit (unseen -> 404), all or none \
            (domain::users::bulk_write)";
    USERS_BY_EXPERIENCE = "users_by_experience", "GET", "/users/byExperience",
        ["BatchGetItem", "Query/UsersByExperience"],
        Admin("experience.query.notAllowed"), "active users of the caller's organization \
            (domain::experiences::users_with_experience)";
    EXPERIENCE_DOMAINS = "experience_domains", "GET", "/tasks/experienceDomains",
        ["BatchGetItem", "Query"],
        AnyMember, "the caller's organization's experience domains";
    LIST_TEAMS = "list_teams", "GET", "/teams",
        ["BatchGetItem", "Query"],
        AnyMember, "teams of the caller's organization: all for admins, else its own (isEditable: those it manages) \
            (domain::teams::list)";
    CREATE_TEAM = "create_team", "POST", "/teams",
        ["BatchGetItem", "GetItem", "PutItem", "key:deriveTokens"],
        Admin("team.notAllowed"), "a new team in the caller's organization";
    DELETE_TEAM = "delete_team", "DELETE", "/teams/{id}",
        ["BatchGetItem", "GetItem", "UpdateItem", "Query", "PutItem", "DeleteItem"],
        Admin("team.notAllowed"), "a team of the caller's organization (else 404) other than its Default team (403) \
            (domain::teams::delete)";
    LIST_TEAM_MEMBERS = "list_team_members", "GET", "/teams/{id}/users",
        ["BatchGetItem", "GetItem", "Query"],
        TeamManagerOrAdmin("team.members.notAllowed"),
            "a team of the caller's organization (else 404): any for admins, one it manages for team managers (else \
            403) (domain::teams::members)";
    AUDIT_LOG = "audit_log", "GET", "/auditLog",
        ["BatchGetItem", "Query", "Query/AuditByActor", "Query/AuditByCategory", "Query/AuditByTarget"],
        AdminOrOwner("auditLog.notAllowed"), "the audit log of the caller's organization, newest first, filtered by \
            action, actor, target and time; `format=csv` for a CSV export (domain::audit::read_log)";
    OIDC_LOGIN = "oidc_login", "GET", "/auth/oidc/login",
        ["PutItem", "GetItem", "BatchGetItem"],
        Public, "anyone: the instance's connection (else 400 sso.disabled), the connection of the organization \
            that verified the `email`'s domain (else 404), or the `organization`'s own (else 404); binds the \
            sign-in to the browser with a cookie; `link=true`: the caller's own account, signed in (else 401) \
            (domain::sso::start)";
    OIDC_CALLBACK = "oidc_callback", "GET", "/auth/oidc/callback",
        ["DeleteItem", "GetItem", "BatchGetItem", "PutItem", "UpdateItem", "ConditionCheckItem", "sqs:SendMessage",
         "key:signSessions", "key:sealClientSecrets"],
        Public, "the sign-in this browser started, once; the account linked to the provider's (issuer, subject), \
            else one whose address the provider asserts as verified (a trusted instance connection, or a domain \
            the connection's organization verified), else a new member of the self-registration organization \
            or of the connection's organization (as it chose); a link started by a signed-in account links to \
            that account (domain::sso::finish)";
    PROVIDER_LINKS = "provider_links", "GET", "/auth/oidc/links",
        ["BatchGetItem", "Query"],
        AnyMember, "the caller's own account's links (domain::sso::links)";
    UNLINK_PROVIDER = "unlink_provider", "DELETE", "/auth/oidc/links/{id}",
        ["BatchGetItem", "Query", "DeleteItem", "PutItem"],
        AnyMember, "a link of the caller's own account; any other -> 404 (domain::sso::unlink)";
    SSO_SETTINGS = "sso_settings", "GET", "/organizations/{id}/sso",
        ["BatchGetItem", "Query"],
        Admin("sso.notAllowed"), "the caller's own organization; any other id -> 404 \
            (domain::sso_settings::settings)";
    PUT_SSO_CONNECTION = "put_sso_connection", "PUT", "/organizations/{id}/sso",
        ["BatchGetItem", "GetItem", "PutItem", "key:sealClientSecrets"],
        Admin("sso.notAllowed"), "the caller's own organization (any other id -> 404); the issuer must answer \
            its discovery (domain::sso_settings::put_connection)";
    DELETE_SSO_CONNECTION = "delete_sso_connection", "DELETE", "/organizations/{id}/sso",
        ["BatchGetItem", "DeleteItem", "PutItem"],
        Admin("sso.notAllowed"), "the caller's own organization; any other id -> 404 \
            (domain::sso_settings::remove_connection)";
    CLAIM_DOMAIN = "claim_domain", "POST", "/organizations/{id}/domains",
        ["BatchGetItem", "Query", "PutItem", "ConditionCheckItem"],
        Admin("sso.notAllowed"), "the caller's own organization (any other id -> 404); a domain no other \
            organization verified (domain::sso_settings::claim_domain)";
    VERIFY_DOMAIN = "verify_domain", "POST", "/organizations/{id}/domains/{domain}/verify",
        ["BatchGetItem", "Query", "UpdateItem", "PutItem"],
        Admin("sso.notAllowed"), "a domain the caller's organization claimed, by its TXT record \
            (domain::sso_settings::verify_domain)";
    UPDATE_DOMAIN = "update_domain", "PATCH", "/organizations/{id}/domains/{domain}",
        ["BatchGetItem", "Query", "UpdateItem", "PutItem"],
        Admin("sso.notAllowed"), "a domain the caller's organization verified (domain::sso_settings::require_sso)";
    REMOVE_DOMAIN = "remove_domain", "DELETE", "/organizations/{id}/domains/{domain}",
        ["BatchGetItem", "Query", "DeleteItem", "PutItem"],
        Admin("sso.notAllowed"), "a domain the caller's organization claimed (domain::sso_settings::remove_domain)";
    PASSKEY_REGISTER_START = "passkey_register_start", "POST", "/auth/webauthn/register/start",
        ["BatchGetItem", "Query", "PutItem"],
        AnyMember, "a new passkey for the caller's own account (domain::passkeys::register_start)";
    PASSKEY_REGISTER_FINALIZE = "passkey_register_finalize", "POST", "/auth/webauthn/register/finalize",
        ["BatchGetItem", "DeleteItem", "GetItem", "PutItem", "ConditionCheckItem", "sqs:SendMessage"],
        AnyMember, "the caller's own ceremony, once (another account's -> 403), for the caller's own account \
            (domain::passkeys::register_finalize)";
    PASSKEY_AUTH_START = "passkey_auth_start", "POST", "/auth/webauthn/auth/start",
        ["PutItem"],
        Public, "anyone: a sign-in with any passkey of this site (domain::passkeys::auth_start)";
    PASSKEY_AUTH_FINALIZE = "passkey_auth_finalize", "POST", "/auth/webauthn/auth/finalize",
        ["DeleteItem", "BatchGetItem", "GetItem", "PutItem", "UpdateItem", "key:signSessions", "key:deriveTokens"],
        Public, "the account whose registered passkey answered the ceremony, once; a deactivated identity, \
            and an address whose domain requires single sign-on (its organization's admins excepted), get 403 \
            as for a login (domain::passkeys::auth_finalize)";
    PASSKEYS = "passkeys", "GET", "/auth/webauthn/keys",
        ["BatchGetItem", "Query"],
        AnyMember, "the caller's own account's passkeys (domain::passkeys::list)";
    RENAME_PASSKEY = "rename_passkey", "PATCH", "/auth/webauthn/keys/{id}",
        ["BatchGetItem", "UpdateItem"],
        AnyMember, "a passkey of the caller's own account; any other -> 404 (domain::passkeys::rename)";
    REMOVE_PASSKEY = "remove_passkey", "DELETE", "/auth/webauthn/keys/{id}",
        ["BatchGetItem", "DeleteItem", "PutItem", "sqs:SendMessage"],
        AnyMember, "a passkey of the caller's own account; any other -> 404 (domain::passkeys::remove)";
    WEB = "web", "ANY", "$default",
        [],
        Public, "none: the pages and their assets; any other /api path -> 404 route.notFound (handlers::web)";
}

/// What an admin signed in with a password alone may still call where the organization requires its admins
/// to use a passkey or single sign-on (`policy::check_sign_in`): seeing themselves and their organizations,
/// verifying their address, adding and using a passkey, logging out; anything else answers 403 `auth.passkey.required`.
pub static WITHOUT_STRONG_SIGN_IN: &[&Operation] = &[
    &CURRENT_USER,
    &LIST_ORGANIZATIONS,
    &SWITCH_ORGANIZATION,
    &LOGOUT,
    &LOGOUT_EVERYWHERE,
    &REQUEST_VERIFICATION,
    &PASSKEY_REGISTER_START,
    &PASSKEY_REGISTER_FINALIZE,
    &PASSKEYS,
    &RENAME_PASSKEY,
    &REMOVE_PASSKEY,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_names_and_routes_are_unique() {
        let mut names: Vec<_> = ALL.iter().map(|op| op.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), ALL.len());
        let mut routes: Vec<_> = ALL.iter().map(|op| (op.method, op.path)).collect();
        routes.sort();
        routes.dedup();
        assert_eq!(routes.len(), ALL.len());
    }
}
