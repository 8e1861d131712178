//! The top layer: binds each operation of [`crate::operations`] to its handler, and runs a request through
//! the operation's access rule, its handler and the error mapping, measuring it. The Lambda binaries and the
//! local gateway both call [`dispatch`], so the code that runs locally is the code that runs on AWS.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use lambda_http::RequestExt;

use crate::App;
use crate::auth;
use crate::caller::Caller;
use crate::declared_actions::{self, Declaration};
use crate::error::ApiError;
use crate::handlers;
use crate::http::{Body, HandlerResult, Request, Response, error_response};
use crate::operations::{self, CURRENT_API_VERSION, OLDEST_SUPPORTED_API_VERSION, Operation, VERSION_PARAMETER};
use crate::request_metrics::{self, RequestMetrics};

pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A handler: a public route's gets the request; any other's also the caller the dispatch authenticated
/// and admitted.
#[derive(Clone, Copy)]
pub enum Handler {
    Public(for<'a> fn(&'a App, Request) -> BoxFuture<'a, HandlerResult>),
    Caller(for<'a> fn(&'a App, Caller, Request) -> BoxFuture<'a, HandlerResult>),
}

/// An operation bound to its handler. Each Lambda binary names its own route, so it links only its handler.
pub struct Route {
    pub operation: &'static Operation,
    pub handler: Handler,
}

/// The route of `operation` (for the local gateway, which serves them all).
pub fn route_of(operation: &Operation) -> &'static Route {
    ROUTES
        .iter()
        .find(|route| std::ptr::eq(route.operation, operation))
        .unwrap_or_else(|| panic!("the operation {} has no route in dispatch.rs", operation.name))
}

macro_rules! handlers {
    (@wrap public $handler:path) => {{
        fn handle(app: &App, req: Request) -> BoxFuture<'_, HandlerResult> {
            Box::pin($handler(app, req))
        }
        Handler::Public(handle)
    }};
    (@wrap caller $handler:path) => {{
        fn handle(app: &App, caller: Caller, req: Request) -> BoxFuture<'_, HandlerResult> {
            Box::pin($handler(app, caller, req))
        }
        Handler::Caller(handle)
    }};
    ($($kind:ident $constant:ident => $handler:path,)*) => {
        $(
            pub static $constant: Route =
                Route { operation: &operations::$constant, handler: handlers!(@wrap $kind $handler) };
        )*
        /// Every route, in the order of [`operations::ALL`] (a test checks).
        pub(crate) static ROUTES: &[&Route] = &[$(&$constant),*];
    };
}

handlers! {
    public BUILDINFO => handlers::buildinfo::buildinfo,
    public CREATE_ORGANIZATION_WITH_ADMIN => handlers::auth::create_organization_with_admin,
    public LOGIN => handlers::auth::login,
    caller GET_TOKEN => handlers::auth::get_token,
    caller REVOKE_TOKEN => handlers::auth::revoke_token,
    caller LOGOUT => handlers::auth::logout,
    caller LOGOUT_EVERYWHERE => handlers::auth::logout_everywhere,
    public REGISTER => handlers::auth::register,
    caller SEND_INVITES => handlers::invites::send_invites,
    public START_RESET_PASSWORD => handlers::auth::start_reset_password,
    public RESET_PASSWORD => handlers::auth::reset_password,
    caller CHANGE_PASSWORD => handlers::auth::change_password,
    public VERIFY_EMAIL => handlers::auth::verify_email,
    caller REQUEST_VERIFICATION => handlers::auth::request_verification,
    public ORGANIZATION_BY_INVITE => handlers::invites::organization_by_invite,
    caller JOIN_ORGANIZATION => handlers::invites::join_organization,
    caller GET_ORGANIZATION => handlers::organizations::get_organization,
    caller UPDATE_ORGANIZATION => handlers::organizations::update_organization,
    caller LIST_ORGANIZATIONS => handlers::organizations::list_organizations,
    caller DELETE_ORGANIZATION => handlers::organizations::delete_organization,
    caller SWITCH_ORGANIZATION => handlers::organizations::switch_organization,
    caller LEAVE_ORGANIZATION => handlers::organizations::leave_organization,
    caller TRANSFER_OWNERSHIP => handlers::organizations::transfer_ownership,
    caller ACCEPT_OWNERSHIP => handlers::organizations::accept_ownership,
    caller CREATE_ORGANIZATION => handlers::organizations::create_organization,
    caller CHANGE_PLAN => handlers::organizations::change_plan,
    caller ADD_CREDITS => handlers::organizations::add_credits,
    public CONFIRM_NOTIFICATION_ADDRESS => handlers::organizations::confirm_notification_address,
    caller GRANT_OPERATOR => handlers::organizations::grant_operator,
    caller PRICING_STATUS => handlers::organizations::pricing_status,
    caller REQUEST_EXTENSION => handlers::pricing::request_extension,
    caller REQUEST_UPGRADE => handlers::pricing::request_upgrade,
    caller REQUEST_USERS => handlers::pricing::request_users,
    caller REQUEST_STORAGE => handlers::pricing::request_storage,
    caller REQUEST_CREDITS => handlers::pricing::request_credits,
    caller LIST_PLAN_REQUESTS => handlers::pricing::list_plan_requests,
    caller LIST_PLAN_UPDATES => handlers::pricing::list_plan_updates,
    caller LIST_CREDIT_TRANSACTIONS => handlers::organizations::list_credit_transactions,
    caller LIST_INVITES => handlers::invites::list_invites,
    caller REVOKE_INVITE => handlers::invites::revoke_invite,
    caller RESEND_INVITE => handlers::invites::resend_invite,
    caller CURRENT_USER => handlers::user::current_user,
    caller LIST_USERS => handlers::users::list_users,
    caller GET_USER => handlers::users::get_user,
    caller UPDATE_USER => handlers::users::update_user,
    caller BULK_EDIT_TEAMS_AND_PERMISSIONS => handlers::users::bulk_edit_teams_and_permissions,
    caller BULK_CHANGE_EXPERIENCES => handlers::experiences::bulk_change_experiences,
    caller USERS_BY_EXPERIENCE => handlers::experiences::users_by_experience,
    caller EXPERIENCE_DOMAINS => handlers::experiences::experience_domains,
    caller LIST_TEAMS => handlers::teams::list_teams,
    caller CREATE_TEAM => handlers::teams::create_team,
    caller DELETE_TEAM => handlers::teams::delete_team,
    caller LIST_TEAM_MEMBERS => handlers::teams::list_team_members,
    caller AUDIT_LOG => handlers::audit::audit_log,
    public OIDC_LOGIN => handlers::sso::oidc_login,
    public OIDC_CALLBACK => handlers::sso::oidc_callback,
    caller PROVIDER_LINKS => handlers::sso::provider_links,
    caller UNLINK_PROVIDER => handlers::sso::unlink_provider,
    caller SSO_SETTINGS => handlers::sso::sso_settings,
    caller PUT_SSO_CONNECTION => handlers::sso::put_sso_connection,
    caller DELETE_SSO_CONNECTION => handlers::sso::delete_sso_connection,
    caller CLAIM_DOMAIN => handlers::sso::claim_domain,
    caller VERIFY_DOMAIN => handlers::sso::verify_domain,
    caller UPDATE_DOMAIN => handlers::sso::update_domain,
    caller REMOVE_DOMAIN => handlers::sso::remove_domain,
    caller PASSKEY_REGISTER_START => handlers::passkeys::register_start,
    caller PASSKEY_REGISTER_FINALIZE => handlers::passkeys::register_finalize,
    public PASSKEY_AUTH_START => handlers::passkeys::auth_start,
    public PASSKEY_AUTH_FINALIZE => handlers::passkeys::auth_finalize,
    caller PASSKEYS => handlers::passkeys::list_keys,
    caller RENAME_PASSKEY => handlers::passkeys::rename_key,
    caller REMOVE_PASSKEY => handlers::passkeys::remove_key,
    public WEB => handlers::web::serve,
}

fn supported_version(segment: &str) -> bool {
    segment
        .strip_prefix('v')
        .and_then(|n| n.parse::<u32>().ok())
        .is_some_and(|n| (OLDEST_SUPPORTED_API_VERSION..=CURRENT_API_VERSION).contains(&n))
}

/// Runs `operation` on `req` and turns every outcome, including domain errors, into an HTTP response:
/// a Lambda error would reach the client as an opaque 502.
pub async fn dispatch(app: &App, route: &Route, req: Request) -> Response<Body> {
    let operation = route.operation;
    let started = std::time::Instant::now();
    let req = match crate::edge::admit(app.config.edge_origin_verify.as_deref(), req) {
        Ok(req) => req,
        Err(err) => return error_response(&err),
    };
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
    let declaration = Declaration::from(operation);
    let metrics = Arc::new(RequestMetrics::default());
    let handled = request_metrics::measure(
        metrics.clone(),
        declared_actions::scope(declaration, admit_and_handle(app, route, req)),
    )
    .await;
    let response = match handled {
        Ok(response) => response,
        Err(err) => error_response(&err),
    };
    // Over a mail budget the change still happens and the mail is skipped: the answer says so.
    let response = match metrics.mails_skipped() {
        0 => response,
        skipped => crate::http::with_header(response, crate::http::MAILS_SKIPPED_HEADER, skipped.to_string()),
    };
    tracing::info!(
        operation = operation.name,
        status = response.status().as_u16(),
        duration_us = started.elapsed().as_micros() as u64,
        dynamodb_round_trips = metrics.dynamodb_round_trips(),
        mail_requests = metrics.mail_requests(),
        aws_wait_us = metrics.wait_micros(),
        dynamodb_wait_us = metrics.dynamodb_wait_micros(),
        mail_wait_us = metrics.mail_wait_micros(),
        read_capacity = metrics.read_capacity_units(),
        write_capacity = metrics.write_capacity_units(),
        audit_write_capacity = metrics.audit_write_capacity_units(),
        mails_skipped = metrics.mails_skipped(),
        "request"
    );
    response
}

/// The operation's access rule, then its handler. A route that needs a caller authenticates it here (one
/// BatchGetItem; an operator route also reads the account's operator grant, one GetItem) and refuses a
/// class its [`Operation::access`] excludes before the handler runs, which gets the caller as an argument.
async fn admit_and_handle(app: &App, route: &Route, req: Request) -> HandlerResult {
    let operation = route.operation;
    match route.handler {
        Handler::Public(handle) => {
            // The pages' catch-all answers any method itself.
            if operation.path != operations::DEFAULT_ROUTE {
                let sets_cookie = std::ptr::eq(operation, &operations::LOGIN)
                    || std::ptr::eq(operation, &operations::PASSKEY_AUTH_FINALIZE);
                auth::check_public_request(
                    &app.config.public_uri,
                    &app.config.cors_allowed_origins,
                    &req,
                    sets_cookie,
                )?;
            }
            handle(app, req).await
        }
        Handler::Caller(handle) => {
            let mut caller = auth::read_caller(app, &req).await?;
            if matches!(operation.access, operations::Access::SuperUser(_)) {
                caller.is_operator = crate::domain::operators::is_operator(app, &caller.user.account_id).await?;
            }
            crate::policy::check(operation.access, &caller, &operation.route())?;
            crate::policy::check_sign_in(operation, &caller)?;
            handle(app, caller, req).await
        }
    }
}

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
    fn every_operation_has_a_handler_that_gets_a_caller_exactly_when_its_access_needs_one() {
        assert_eq!(ROUTES.len(), operations::ALL.len());
        for (route, operation) in ROUTES.iter().zip(operations::ALL) {
            assert!(std::ptr::eq(route.operation, *operation), "{} is out of order", operation.name);
            let gets_caller = matches!(route.handler, Handler::Caller(_));
            assert_eq!(gets_caller, operation.access.needs_caller(), "{}", operation.name);
        }
    }
}
