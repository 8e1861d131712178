//! The operations of the API: one Lambda function each. This table is the source the local gateway
//! routes by; a test checks template.yaml, openapi.yaml and the binaries in `functions/` against it.
//!
//! Every route is served under `/api{path}` and `/api/v{N}{path}` for each supported version N (API Gateway
//! has a second route `/api/{apiVersion}{path}`; [`dispatch`] refuses unsupported versions).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use lambda_http::RequestExt;

use crate::App;
use crate::auth;
use crate::declared_actions::{self, Declaration};
use crate::error::ApiError;
use crate::handlers::{self, HandlerResult};
use crate::http::{Body, Request, Response, error_response};
use crate::policy::Access::{self, *};
use crate::request_metrics::{self, RequestMetrics};

/// Newest and oldest API versions served. The `webknossos` Python package 4.3 speaks 13 to 16.
pub const CURRENT_API_VERSION: u32 = 16;
pub const OLDEST_SUPPORTED_API_VERSION: u32 = 13;
/// Name of the path parameter that carries `v{N}` in versioned routes.
pub const VERSION_PARAMETER: &str = "apiVersion";
/// Path of API Gateway's catch-all route.
pub const DEFAULT_ROUTE: &str = "$default";

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
pub type Handler = for<'a> fn(&'a App, Request) -> BoxFuture<'a, HandlerResult>;

pub struct Operation {
    /// Binary name in `functions/src/bin/{name}.rs`, SAM function `{Name}Function`, OpenAPI operationId.
    pub name: &'static str,
    pub method: &'static str,
    /// Path below `/api`, with `{param}` segments; [`DEFAULT_ROUTE`] for the catch-all.
    pub path: &'static str,
    pub handler: Handler,
    /// The actions its code performs: DynamoDB actions by name (granted on the table, and its indexes for
    /// Query), and `ses:SendEmail` (granted for the configured sender only). template.yaml grants exactly these.
    pub actions: &'static [&'static str],
    /// Who may call it: checked by [`dispatch`] before the handler runs (see [`crate::policy`]).
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
    ($($constant:ident = $name:literal, $method:literal, $path:literal => $handler:path, [$($action:literal),*],
        $access:expr, $targets:literal;)*) => {
        $(
            pub static $constant: Operation = Operation {
                name: $name,
                method: $method,
                path: $path,
                handler: {
                    fn handle(app: &App, req: Request) -> BoxFuture<'_, HandlerResult> {
                        Box::pin($handler(app, req))
                    }
                    handle
                },
                actions: &[$($action),*],
                access: $access,
                targets: $targets,
            };
        )*
        pub static ALL: &[&Operation] = &[$(&$constant),*];
    };
}

// Actions: IAM names. Authenticated routes read the caller with BatchGetItem; TransactWriteItems needs the
// Put/Update/Delete/ConditionCheckItem actions of its items; functions that mail need ses:SendEmail.
operations! {
    BUILDINFO = "buildinfo", "GET", "/buildinfo" => handlers::buildinfo::buildinfo, [],
        Public, "none";
    CREATE_ORGANIZATION_WITH_ADMIN = "create_organization_with_admin", "POST", "/auth/createOrganizationWithAdmin"
        => handlers::auth::create_organization_with_admin, ["GetItem", "BatchGetItem", "PutItem", "UpdateItem", "ConditionCheckItem", "ses:SendEmail"],
        Public, "a new organization, with the caller as owner";
    LOGIN = "login", "POST", "/auth/login" => handlers::auth::login, ["GetItem", "BatchGetItem", "PutItem", "UpdateItem", "DeleteItem", "ConditionCheckItem", "ses:SendEmail"],
        Public, "the account of the e-mail, with its password; a deactivated identity gets 403 (domain::session::login)";
    GET_TOKEN = "get_token", "GET", "/auth/token" => handlers::auth::get_token, ["BatchGetItem", "GetItem", "PutItem"],
        AnyMember, "the caller's own personal API token";
    REVOKE_TOKEN = "revoke_token", "DELETE", "/auth/token" => handlers::auth::revoke_token, ["BatchGetItem", "DeleteItem"],
        AnyMember, "the caller's own personal API token";
    LOGOUT = "logout", "POST", "/auth/logout" => handlers::auth::logout, ["BatchGetItem", "DeleteItem"],
        AnyMember, "the session presented";
    LOGOUT_EVERYWHERE = "logout_everywhere", "POST", "/auth/logoutEverywhere"
        => handlers::auth::logout_everywhere, ["BatchGetItem", "GetItem", "UpdateItem"],
        AnyMember, "every session and token of the caller's account";
    REGISTER = "register", "POST", "/auth/register"
        => handlers::auth::register, ["GetItem", "BatchGetItem", "Query", "PutItem", "UpdateItem", "DeleteItem", "ConditionCheckItem", "ses:SendEmail"],
        Public, "the organization of a usable invite token, else the self-registration organization (else 403) (domain::signup::register)";
    SEND_INVITES = "send_invites", "POST", "/auth/sendInvites"
        => handlers::invites::send_invites, ["BatchGetItem", "GetItem", "Query", "PutItem", "UpdateItem", "ses:SendEmail"],
        TeamManagerOrAdmin("invite.notAllowed"),
        "the caller's organization; team roles only in teams the caller manages (admins: all), admin and dataset manager rights only from admins (domain::invites::send_invites)";
    START_RESET_PASSWORD = "start_reset_password", "POST", "/auth/startResetPassword"
        => handlers::auth::start_reset_password, ["BatchGetItem", "GetItem", "UpdateItem", "PutItem", "ses:SendEmail"],
        Public, "the account of the e-mail, if any (the answer is the same either way); throttled per address and client (domain::credentials::start_password_reset)";
    RESET_PASSWORD = "reset_password", "POST", "/auth/resetPassword"
        => handlers::auth::reset_password, ["BatchGetItem", "UpdateItem", "DeleteItem", "ses:SendEmail"],
        Public, "the account named by a valid, unused, newest reset token; else 400 (domain::credentials::reset_password)";
    CHANGE_PASSWORD = "change_password", "POST", "/auth/changePassword"
        => handlers::auth::change_password, ["BatchGetItem", "UpdateItem", "PutItem", "DeleteItem", "ses:SendEmail"],
        AnyMember, "the caller's own account, with its current password (domain::credentials::change_password)";
    VERIFY_EMAIL = "verify_email", "POST", "/verifyEmail/{key}" => handlers::auth::verify_email, ["BatchGetItem", "UpdateItem"],
        Public, "the account named by a valid, unused key sent to its current address; else 400 (domain::credentials::verify_email)";
    REQUEST_VERIFICATION = "request_verification", "POST", "/verifyEmail" => handlers::auth::request_verification,
        ["BatchGetItem", "GetItem", "UpdateItem", "PutItem", "ses:SendEmail"],
        AnyMember, "the caller's own address; throttled per address and client (domain::credentials::request_verification)";
    ORGANIZATION_BY_INVITE = "organization_by_invite", "GET", "/organizations/byInvite/{token}"
        => handlers::invites::organization_by_invite, ["GetItem", "BatchGetItem"],
        Public, "the organization of a usable invite token; unknown, used, revoked or expired -> 404 (domain::invites::usable_invite)";
    JOIN_ORGANIZATION = "join_organization", "POST", "/auth/joinOrganization/{token}" => handlers::invites::join_organization,
        ["BatchGetItem", "GetItem", "Query", "PutItem", "UpdateItem", "DeleteItem", "ConditionCheckItem", "ses:SendEmail"],
        AnyMember, "the caller's account joins the organization of a usable invite token (else 404); already a member -> 409 (domain::invites::join_organization)";
    GET_ORGANIZATION = "get_organization", "GET", "/organizations/{id}" => handlers::organizations::get_organization, ["BatchGetItem", "GetItem"],
        AnyMember, "the caller's own organization; any other id -> 404 (domain::organizations::overview)";
    UPDATE_ORGANIZATION = "update_organization", "PATCH", "/organizations/{id}"
        => handlers::organizations::update_organization, ["BatchGetItem", "GetItem", "UpdateItem"],
        Admin("organization.notAllowed"), "the caller's own organization; any other id -> 404 (domain::organizations::update)";
    LIST_ORGANIZATIONS = "list_organizations", "GET", "/organizations" => handlers::organizations::list_organizations, ["BatchGetItem", "GetItem"],
        AnyMember, "the organizations where the caller's account has an active identity (domain::organizations::of_caller)";
    DELETE_ORGANIZATION = "delete_organization", "DELETE", "/organizations/{id}" => handlers::organizations::delete_organization,
        ["BatchGetItem", "Query", "UpdateItem", "DeleteItem", "PutItem", "BatchWriteItem"],
        OwnerOrDeletionGrantee("organization.delete.notAllowed"),
        "the caller's own organization (any other id -> 404), confirmed by its name (domain::organizations::delete)";
    SWITCH_ORGANIZATION = "switch_organization", "POST", "/auth/switchOrganization/{id}"
        => handlers::organizations::switch_organization, ["BatchGetItem", "GetItem", "PutItem", "UpdateItem", "ConditionCheckItem"],
        AnyMember, "an organization where the caller's account has an identity (else 404), active there (else 403) (domain::organizations::switch)";
    CREATE_ORGANIZATION = "create_organization", "POST", "/organizations"
        => handlers::organizations::create_organization, ["BatchGetItem", "GetItem", "PutItem", "UpdateItem", "ConditionCheckItem", "ses:SendEmail"],
        SuperUser("superUser.required"), "a new organization for any owner e-mail (domain::organizations::create_for_owner)";
    CHANGE_PLAN = "change_plan", "PATCH", "/organizations/{id}/plan" => handlers::organizations::change_plan, ["BatchGetItem", "GetItem", "UpdateItem"],
        SuperUser("superUser.required"), "any organization; unknown -> 404 (domain::organizations::change_plan)";
    ADD_CREDITS = "add_credits", "POST", "/organizations/{id}/credits"
        => handlers::organizations::add_credits, ["BatchGetItem", "GetItem", "PutItem", "UpdateItem"],
        SuperUser("superUser.required"), "any organization; unknown -> 404 (domain::organizations::add_credits)";
    PRICING_STATUS = "pricing_status", "GET", "/pricing/status" => handlers::organizations::pricing_status, ["BatchGetItem"],
        AnyMember, "the caller's own organization (domain::organizations::pricing_status)";
    LIST_CREDIT_TRANSACTIONS = "list_credit_transactions", "GET", "/creditTransactions"
        => handlers::organizations::list_credit_transactions, ["BatchGetItem", "Query"],
        Admin("credits.notAllowed"), "the credit transactions of the caller's organization, newest first (domain::organizations::credit_transactions)";
    LIST_INVITES = "list_invites", "GET", "/invites" => handlers::invites::list_invites, ["BatchGetItem", "Query"],
        TeamManagerOrAdmin("invite.notAllowed"), "invites of the caller's organization: all for admins, those they sent for team managers (domain::invites::list)";
    REVOKE_INVITE = "revoke_invite", "DELETE", "/invites/{id}" => handlers::invites::revoke_invite, ["BatchGetItem", "GetItem", "PutItem", "DeleteItem"],
        TeamManagerOrAdmin("invite.notAllowed"), "an invite of the caller's organization: any for admins, one they sent for team managers; else 404 (domain::invites::revoke)";
    RESEND_INVITE = "resend_invite", "POST", "/invites/{id}/resend"
        => handlers::invites::resend_invite, ["BatchGetItem", "GetItem", "PutItem", "UpdateItem", "ses:SendEmail"],
        TeamManagerOrAdmin("invite.notAllowed"), "an invite of the caller's organization: any for admins, one they sent for team managers; else 404 (domain::invites::resend)";
    CURRENT_USER = "current_user", "GET", "/user" => handlers::user::current_user, ["BatchGetItem", "UpdateItem"],
        AnyMember, "the caller";
    LIST_USERS = "list_users", "GET", "/users" => handlers::users::list_users, ["BatchGetItem", "Query"],
        AnyMember, "users the caller may see: itself, members of teams it manages, everyone in the organization for admins (domain::users::list_users)";
    GET_USER = "get_user", "GET", "/users/{id}" => handlers::users::get_user, ["BatchGetItem", "GetItem"],
        AnyMember, "a user the caller may see, else 404 (domain::users::may_see_user)";
    UPDATE_USER = "update_user", "PATCH", "/users/{id}" => handlers::users::update_user,
        ["BatchGetItem", "GetItem", "Query", "PutItem", "UpdateItem", "DeleteItem", "ConditionCheckItem", "ses:SendEmail"],
        AnyMember, "a user the caller may see (else 404), field by field: own name, e-mail and password; teams, experiences and activation by its admins and team managers; deactivation, admin and dataset manager rights by admins; the deletion right by the owner (domain::users::plan_change)";
    BULK_EDIT_TEAMS_AND_PERMISSIONS = "bulk_edit_teams_and_permissions", "PATCH", "/users/teamsAndPermissions"
        => handlers::users::bulk_edit_teams_and_permissions,
        ["BatchGetItem", "GetItem", "Query", "PutItem", "DeleteItem", "ConditionCheckItem", "ses:SendEmail"],
        TeamManagerOrAdmin("user.bulkEdit.notAllowed"), "users the caller may see (any other -> 404), all or none, under the rules of PATCH /users/{id} (domain::users::bulk_write)";
    BULK_CHANGE_EXPERIENCES = "bulk_change_experiences", "PATCH", "/users/experiences"
        => handlers::experiences::bulk_change_experiences, ["BatchGetItem", "GetItem", "PutItem", "DeleteItem"],
        TeamManagerOrAdmin("user.bulkEdit.notAllowed"), "users the caller may edit (unseen -> 404), all or none (domain::users::bulk_write)";
    USERS_BY_EXPERIENCE = "users_by_experience", "GET", "/users/byExperience" => handlers::experiences::users_by_experience, ["BatchGetItem", "Query"],
        Admin("experience.query.notAllowed"), "active users of the caller's organization (domain::experiences::users_with_experience_for)";
    EXPERIENCE_DOMAINS = "experience_domains", "GET", "/tasks/experienceDomains" => handlers::experiences::experience_domains, ["BatchGetItem", "Query"],
        AnyMember, "the caller's organization's experience domains";
    LIST_TEAMS = "list_teams", "GET", "/teams" => handlers::teams::list_teams, ["BatchGetItem", "Query"],
        AnyMember, "teams of the caller's organization: all for admins, else its own (isEditable: those it manages) (domain::teams::list)";
    CREATE_TEAM = "create_team", "POST", "/teams" => handlers::teams::create_team, ["BatchGetItem", "GetItem", "PutItem"],
        Admin("team.notAllowed"), "a new team in the caller's organization";
    DELETE_TEAM = "delete_team", "DELETE", "/teams/{id}" => handlers::teams::delete_team,
        ["BatchGetItem", "GetItem", "UpdateItem", "Query", "PutItem", "DeleteItem"],
        Admin("team.notAllowed"), "a team of the caller's organization (else 404) other than its Default team (403) (domain::teams::delete)";
    LIST_TEAM_MEMBERS = "list_team_members", "GET", "/teams/{id}/users" => handlers::teams::list_team_members, ["BatchGetItem", "GetItem", "Query"],
        TeamManagerOrAdmin("team.members.notAllowed"), "a team of the caller's organization (else 404): any for admins, one it manages for team managers (else 403) (domain::teams::members)";
    WEB = "web", "ANY", "$default" => handlers::web::serve, [],
        Public, "none: the pages and their assets; any other /api path -> 404 route.notFound (handlers::web)";
}

fn supported_version(segment: &str) -> bool {
    segment
        .strip_prefix('v')
        .and_then(|n| n.parse::<u32>().ok())
        .is_some_and(|n| (OLDEST_SUPPORTED_API_VERSION..=CURRENT_API_VERSION).contains(&n))
}

/// Runs `operation` on `req` and turns every outcome, including domain errors, into an HTTP response:
/// a Lambda error would reach the client as an opaque 502.
pub async fn dispatch(app: &App, operation: &Operation, req: Request) -> Response<Body> {
    let started = std::time::Instant::now();
    if let Some(version) = req.path_parameters_ref().and_then(|p| p.first(VERSION_PARAMETER)).map(str::to_owned)
        && !supported_version(&version)
    {
        return error_response(&ApiError::not_found(
            "api.version.unsupported",
            format!(
                "API version {version:?} is not supported; use v{OLDEST_SUPPORTED_API_VERSION} to v{CURRENT_API_VERSION}"
            ),
        ));
    }
    let declaration = Declaration { operation: operation.name, actions: operation.actions };
    let metrics = Arc::new(RequestMetrics::default());
    let handled = request_metrics::measure(
        metrics.clone(),
        declared_actions::scope(declaration, admit_and_handle(app, operation, req)),
    )
    .await;
    let response = match handled {
        Ok(response) => response,
        Err(err) => error_response(&err),
    };
    tracing::info!(
        operation = operation.name,
        status = response.status().as_u16(),
        duration_us = started.elapsed().as_micros() as u64,
        dynamodb_round_trips = metrics.dynamodb_round_trips(),
        ses_requests = metrics.ses_requests(),
        aws_wait_us = metrics.wait_micros(),
        read_capacity = metrics.read_capacity_units(),
        write_capacity = metrics.write_capacity_units(),
        "request"
    );
    response
}

/// The operation's access rule, then its handler. A route that needs a caller authenticates it here (one
/// BatchGetItem) and refuses a class its [`Operation::access`] excludes before the handler runs; the handler's
/// `auth::authenticate` then returns this caller without reading it again.
async fn admit_and_handle(app: &App, operation: &Operation, req: Request) -> HandlerResult {
    if !operation.access.needs_caller() {
        return (operation.handler)(app, req).await;
    }
    let caller = auth::read_caller(app, &req).await?;
    operation.access.check(&app.config, &caller, &operation.route())?;
    auth::admitted(caller, (operation.handler)(app, req)).await
}

/// What starts a background function.
pub enum Trigger {
    /// An EventBridge schedule: the template parameter that sets its expression, and the parameter's default.
    Schedule { parameter: &'static str, default: &'static str },
    /// Invoked directly with IAM by another service (no public route).
    Invoke,
}

/// A function that is not an HTTP route.
pub struct BackgroundFunction {
    /// Binary name in `functions/src/bin/{name}.rs` (whose main calls `accounts::lambda::run_{name}`) and
    /// SAM function `{Name}Function`.
    pub name: &'static str,
    pub trigger: Trigger,
    pub timeout_seconds: u32,
    pub actions: &'static [&'static str],
}

impl BackgroundFunction {
    /// What it may call: its body runs in [`declared_actions::scope_unless_scoped`] with this.
    pub fn declaration(&self) -> Declaration {
        Declaration { operation: self.name, actions: self.actions }
    }
}

/// The daily invite job: reminders and cleanup (`domain::invites::maintain`).
pub static INVITE_MAINTENANCE: BackgroundFunction = BackgroundFunction {
    name: "invite_maintenance",
    trigger: Trigger::Schedule { parameter: "InviteMaintenanceSchedule", default: "rate(1 day)" },
    timeout_seconds: 300,
    actions: &["Query", "GetItem", "UpdateItem", "DeleteItem", "ses:SendEmail"],
};

/// Finishes the purge of organizations whose deletion was accepted (`domain::organizations::purge_pending`).
pub static ORGANIZATION_PURGE: BackgroundFunction = BackgroundFunction {
    name: "organization_purge",
    trigger: Trigger::Schedule { parameter: "OrganizationPurgeSchedule", default: "rate(5 minutes)" },
    timeout_seconds: 900,
    actions: &["Query", "UpdateItem", "DeleteItem", "PutItem", "BatchWriteItem"],
};

/// Storage usage reported by the dataset side (`domain::organizations::report_storage`).
pub static REPORT_STORAGE_USAGE: BackgroundFunction = BackgroundFunction {
    name: "report_storage_usage",
    trigger: Trigger::Invoke,
    timeout_seconds: 10,
    actions: &["UpdateItem"],
};

pub static BACKGROUND: &[&BackgroundFunction] = &[&INVITE_MAINTENANCE, &ORGANIZATION_PURGE, &REPORT_STORAGE_USAGE];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_in_range_are_supported() {
        assert!(supported_version("v16") && supported_version("v13"));
        assert!(
            !supported_version("v12")
                && !supported_version("v17")
                && !supported_version("16")
                && !supported_version("vx")
        );
    }

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
