//! Single sign-on with the instance's OpenID provider: WEBKNOSSOS's `GET /auth/oidc/login` (JSON, for its
//! clients) and `GET /auth/oidc/callback` (where the provider sends the browser back; a redirect into the
//! site, or a page that says what went wrong).

use super::HandlerResult;
use crate::caller::Caller;
use crate::domain::sso::{self, CALLBACK_PATH, STATE_COOKIE, Via};
use crate::domain::sso_settings::{self, ConnectionInput};
use crate::error::ApiError;
use crate::http::{self, Request, ok, parse_json, path_param, with_header};
use crate::oidc::DnsOverHttps;

/// The state cookie: only the callback receives it, no script reads it, and a top-level navigation back
/// from the provider carries it (SameSite=Lax).
fn state_cookie(state: &str, max_age_seconds: i64) -> String {
    format!("{STATE_COOKIE}={state}; Path={CALLBACK_PATH}; Max-Age={max_age_seconds}; HttpOnly; Secure; SameSite=Lax")
}

/// `GET /api/auth/oidc/login`: `{"redirect_url"}`, the provider's authorization URL (PKCE, state, nonce),
/// and the cookie that binds the sign-in to this browser. The instance's connection, or with `?email=`
/// the connection of the organization that verified the address's domain (home-realm discovery), or with
/// `?organization=` that organization's own. With `?link=true`, a signed-in caller links the provider's
/// person to its own account (401 without a session or token).
pub(crate) async fn oidc_login(app: &crate::App, req: Request) -> HandlerResult {
    let via = match (http::query_text(&req, "email"), http::query_text(&req, "organization")) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request("sso.login.ambiguous", "Give either email or organization, not both"));
        }
        (Some(email), None) => Via::Email(email.to_owned()),
        (None, Some(organization)) => Via::Organization(organization.to_owned()),
        (None, None) => Via::Instance,
    };
    let link_account = match http::query_flag(&req, "link")? {
        Some(true) => Some(crate::auth::read_caller(app, &req).await?.user.account_id),
        _ => None,
    };
    let started = sso::start(app, &app.identity_provider, via, link_account).await?;
    let response = ok(&serde_json::json!({ "redirect_url": started.redirect_url }));
    Ok(with_header(response, "set-cookie", state_cookie(&started.state, sso::SIGN_IN_SECONDS)))
}

/// `GET /api/auth/oidc/callback?code=&state=`: signs in and sends the browser to the site's start page
/// with the session cookie; any failure is a page that says what went wrong, with no session. The state
/// cookie is cleared either way.
pub(crate) async fn oidc_callback(app: &crate::App, req: Request) -> HandlerResult {
    let callback = sso::Callback {
        code: http::query_text(&req, "code"),
        state: http::query_text(&req, "state"),
        // Only the provider's error code (OAuth's `error`, e.g. access_denied), never its free text: anyone
        // can put words into a callback address, and the page would show them under this site's name.
        error: http::query_text(&req, "error").map(|code| {
            if code.len() <= 64 && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
                code
            } else {
                "invalid_error"
            }
        }),
        state_cookie: http::cookie(&req, STATE_COOKIE),
    };
    let finished = sso::finish(app, &app.identity_provider, callback, http::audit_context(&req)).await;
    let response = match finished {
        Ok(signed_in) => {
            let response = lambda_http::http::Response::builder()
                .status(302)
                .header("location", "/")
                .header("cache-control", "no-store")
                .header("referrer-policy", "no-referrer")
                .body(crate::http::Body::Empty)
                .expect("a redirect from static parts");
            with_header(
                response,
                "set-cookie",
                http::session_cookie(&signed_in.token, signed_in.lifetime_seconds as u64),
            )
        }
        Err(err) => {
            let err = ApiError::from(err);
            tracing::info!(code = err.code, status = err.status, "a single sign-on did not sign anybody in");
            failure_page(&err)
        }
    };
    Ok(with_header(response, "set-cookie", state_cookie("", 0)))
}

/// A small page (no script, no style) with the refusal's text, escaped.
fn failure_page(err: &ApiError) -> crate::http::Response<crate::http::Body> {
    let text = crate::mail::escape_html(&err.message);
    let page = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>Sign-in did not work</title>\n</head>\n<body>\n<main>\n<h1>Sign-in did not work</h1>\n\
         <p id=\"reason\" data-code=\"{}\">{text}</p>\n<p><a href=\"/auth/login\">Back to the login page</a></p>\n\
         </main>\n</body>\n</html>\n",
        err.code
    );
    super::web::respond(err.status, "text/html; charset=utf-8", "no-store", &page)
}

/// `GET /api/organizations/{id}/sso`: the organization's connection (never its secret) and domains.
pub(crate) async fn sso_settings(app: &crate::App, caller: Caller, req: Request) -> HandlerResult {
    Ok(ok(&sso_settings::settings(app, &caller, &path_param(&req, "id")?).await?))
}

/// `PUT /api/organizations/{id}/sso`: configures the organization's connection.
pub(crate) async fn put_sso_connection(app: &crate::App, caller: Caller, req: Request) -> HandlerResult {
    let input: ConnectionInput = parse_json(&req)?;
    let organization = path_param(&req, "id")?;
    let view = sso_settings::put_connection(app, &app.identity_provider, &caller, &organization, input).await?;
    Ok(ok(&view))
}

/// `DELETE /api/organizations/{id}/sso`: removes the organization's connection.
pub(crate) async fn delete_sso_connection(app: &crate::App, caller: Caller, req: Request) -> HandlerResult {
    sso_settings::remove_connection(app, &caller, &path_param(&req, "id")?).await?;
    Ok(ok(&serde_json::json!({ "messages": [{ "success": "The identity provider connection was removed" }] })))
}

#[derive(serde::Deserialize)]
struct DomainInput {
    domain: String,
}

/// `POST /api/organizations/{id}/domains` with `{"domain"}`: a pending claim and its TXT record.
pub(crate) async fn claim_domain(app: &crate::App, caller: Caller, req: Request) -> HandlerResult {
    let input: DomainInput = parse_json(&req)?;
    Ok(ok(&sso_settings::claim_domain(app, &caller, &path_param(&req, "id")?, &input.domain).await?))
}

/// `POST /api/organizations/{id}/domains/{domain}/verify`: looks the TXT record up.
pub(crate) async fn verify_domain(app: &crate::App, caller: Caller, req: Request) -> HandlerResult {
    let records = DnsOverHttps { url: &app.config.dns_over_https_url, https: app.identity_provider.https() };
    let (organization, domain) = (path_param(&req, "id")?, path_param(&req, "domain")?);
    Ok(ok(&sso_settings::verify_domain(app, &records, &caller, &organization, &domain).await?))
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct DomainChange {
    require_sso: bool,
}

/// `PATCH /api/organizations/{id}/domains/{domain}` with `{"requireSso"}`.
pub(crate) async fn update_domain(app: &crate::App, caller: Caller, req: Request) -> HandlerResult {
    let change: DomainChange = parse_json(&req)?;
    let (organization, domain) = (path_param(&req, "id")?, path_param(&req, "domain")?);
    Ok(ok(&sso_settings::require_sso(app, &caller, &organization, &domain, change.require_sso).await?))
}

/// `DELETE /api/organizations/{id}/domains/{domain}`: gives the claim up.
pub(crate) async fn remove_domain(app: &crate::App, caller: Caller, req: Request) -> HandlerResult {
    let (organization, domain) = (path_param(&req, "id")?, path_param(&req, "domain")?);
    sso_settings::remove_domain(app, &caller, &organization, &domain).await?;
    Ok(ok(&serde_json::json!({ "messages": [{ "success": "The domain was removed" }] })))
}

/// `GET /api/auth/oidc/links`: the caller's account's links to identity providers.
pub(crate) async fn provider_links(app: &crate::App, caller: Caller, _req: Request) -> HandlerResult {
    Ok(ok(&sso::links(app, &caller).await?))
}

/// `DELETE /api/auth/oidc/links/{id}`: removes one of them.
pub(crate) async fn unlink_provider(app: &crate::App, caller: Caller, req: Request) -> HandlerResult {
    sso::unlink(app, &caller, &path_param(&req, "id")?).await?;
    Ok(ok(&serde_json::json!({ "messages": [{ "success": "The link was removed" }] })))
}
