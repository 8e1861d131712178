use serde::Deserialize;

use super::{HandlerResult, json};
use crate::App;
use crate::caller::Caller;
use crate::domain::{credentials, session, signup};
use crate::http::{self, Request, ok, parse_json, success_message, with_header};
use crate::idempotency::{self, Scope};
use crate::operations;

/// `POST /api/auth/createOrganizationWithAdmin`
pub(crate) async fn create_organization_with_admin(app: &App, req: Request) -> HandlerResult {
    let form: signup::SignUpForm = parse_json(&req)?;
    idempotency::once(app, &req, &operations::CREATE_ORGANIZATION_WITH_ADMIN, Scope::Anonymous, async {
        let (organization, owner) =
            signup::create_organization_with_admin(app, form, http::audit_context(&req)).await?;
        Ok(ok(&serde_json::json!({
            "organization": json::organization(&organization, Some(&owner), &owner),
            "user": json::user(&owner, &owner),
        })))
    })
    .await
}

#[derive(Deserialize)]
struct LoginForm {
    email: String,
    password: String,
}

/// `POST /api/auth/login`: the session token in the body and as the `id` cookie.
pub(crate) async fn login(app: &App, req: Request) -> HandlerResult {
    let form: LoginForm = parse_json(&req)?;
    let device = http::cookie(&req, http::DEVICE_COOKIE);
    let logged_in = session::login(app, &form.email, &form.password, device, http::audit_context(&req)).await?;
    signed_in(app, &logged_in)
}

/// A sign-in's answer (a login's, a passkey's): the session token in the body and as the `id` cookie, and
/// the device cookie (this browser signed in to the address: its next logins pass its network's client
/// lock).
pub(crate) fn signed_in(app: &App, logged_in: &credentials::LoggedIn) -> HandlerResult {
    let response = ok(&serde_json::json!({
        "token": logged_in.token,
        "user": json::user(&logged_in.user, &logged_in.user),
    }));
    let response =
        with_header(response, "set-cookie", http::session_cookie(&logged_in.token, logged_in.lifetime_seconds as u64));
    let expires = crate::ids::now_seconds() + session::DEVICE_LIFETIME_SECONDS;
    let device = app.keys.device_cookie(&logged_in.user.email, expires)?;
    Ok(with_header(response, "set-cookie", http::device_cookie(&device, session::DEVICE_LIFETIME_SECONDS as u64)))
}

/// `GET /api/auth/token`: the caller's personal API token (found or created).
pub(crate) async fn get_token(app: &App, caller: Caller, _req: Request) -> HandlerResult {
    let token = session::api_token(app, &caller).await?;
    Ok(ok(&serde_json::json!({ "token": token })))
}

/// `DELETE /api/auth/token`
pub(crate) async fn revoke_token(app: &App, caller: Caller, _req: Request) -> HandlerResult {
    session::revoke_api_token(app, &caller).await?;
    Ok(success_message("Your personal API token was revoked"))
}

/// `POST /api/auth/logout`
pub(crate) async fn logout(app: &App, caller: Caller, _req: Request) -> HandlerResult {
    session::logout(app, &caller).await?;
    Ok(with_header(success_message("You are logged out"), "set-cookie", http::expired_session_cookie()))
}

/// `POST /api/auth/logoutEverywhere`
pub(crate) async fn logout_everywhere(app: &App, caller: Caller, _req: Request) -> HandlerResult {
    session::logout_everywhere(app, &caller).await?;
    Ok(with_header(
        success_message("Every session and token of your account has ended"),
        "set-cookie",
        http::expired_session_cookie(),
    ))
}

/// `POST /api/auth/register`: a new account in the organization this instance lets people register into.
pub(crate) async fn register(app: &App, req: Request) -> HandlerResult {
    let form: signup::SignUpForm = parse_json(&req)?;
    idempotency::once(app, &req, &operations::REGISTER, Scope::Anonymous, async {
        let (user, _organization) = signup::register(app, form, http::audit_context(&req)).await?;
        Ok(ok(&json::user(&user, &user)))
    })
    .await
}

#[derive(Deserialize)]
struct StartResetForm {
    email: String,
}

/// `POST /api/auth/startResetPassword`: the same answer whether or not the address has an account.
pub(crate) async fn start_reset_password(app: &App, req: Request) -> HandlerResult {
    let form: StartResetForm = parse_json(&req)?;
    credentials::start_password_reset(app, &form.email, http::client_address(&req).as_deref()).await?;
    Ok(success_message(credentials::RESET_REQUESTED))
}

#[derive(Deserialize)]
struct ResetForm {
    token: String,
    password: signup::PasswordPair,
}

/// `POST /api/auth/resetPassword`
pub(crate) async fn reset_password(app: &App, req: Request) -> HandlerResult {
    let form: ResetForm = parse_json(&req)?;
    credentials::reset_password(
        app,
        &form.token,
        &form.password.password1,
        &form.password.password2,
        http::audit_context(&req),
    )
    .await?;
    Ok(success_message(
        "Your password was changed; every session and personal API token of your account has ended. Log in with the new password",
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChangePasswordForm {
    old_password: String,
    password: signup::PasswordPair,
}

/// `POST /api/auth/changePassword`: a new session for the caller in the body and as the `id` cookie; every
/// other session and token of the account has ended.
pub(crate) async fn change_password(app: &App, caller: Caller, req: Request) -> HandlerResult {
    let form: ChangePasswordForm = parse_json(&req)?;
    let changed = credentials::change_password(
        app,
        &caller,
        &form.old_password,
        &form.password.password1,
        &form.password.password2,
    )
    .await?;
    let response = ok(&serde_json::json!({
        "token": changed.token,
        "user": json::user(&changed.user, &changed.user),
        "messages": [{"success": "Your password was changed; every other session and personal API token of your account has ended"}],
    }));
    Ok(with_header(response, "set-cookie", http::session_cookie(&changed.token, changed.lifetime_seconds as u64)))
}

/// The optional body of `POST /api/verifyEmail/{key}`.
#[derive(Deserialize, Default)]
struct VerificationProof {
    password: Option<String>,
}

/// `POST /api/verifyEmail/{key}`: 200 with an empty body, as WEBKNOSSOS answers. Unlike WEBKNOSSOS, the key's
/// account must present it: signed in as that account, or with `{"password"}` (see docs/security.md).
pub(crate) async fn verify_email(app: &App, req: Request) -> HandlerResult {
    let key = http::path_param(&req, "key")?;
    let proof: VerificationProof =
        if http::body_bytes(&req).iter().all(u8::is_ascii_whitespace) { Default::default() } else { parse_json(&req)? };
    // A public route: the password, when given, proves the account (a stale session cookie beside it is
    // ignored); otherwise a presented credential is read (the dispatch reads none for this route).
    let caller = match (&proof.password, crate::auth::credential(&app.keys, &req)) {
        (None, Ok(Some(_))) => Some(crate::auth::read_caller(app, &req).await?),
        (None, Err(err)) => return Err(err),
        _ => None,
    };
    let redeemer = match (&caller, proof.password.as_deref()) {
        (Some(caller), _) => credentials::Redeemer::Caller(caller),
        (None, Some(password)) => credentials::Redeemer::Password(password),
        (None, None) => credentials::Redeemer::Unproven,
    };
    credentials::verify_email(app, &key, redeemer, http::audit_context(&req)).await?;
    Ok(ok(&serde_json::json!({})))
}

/// `POST /api/verifyEmail`: mails the caller a new verification link (nothing when already verified).
pub(crate) async fn request_verification(app: &App, caller: Caller, req: Request) -> HandlerResult {
    let sent = credentials::request_verification(app, &caller, http::client_address(&req).as_deref()).await?;
    Ok(success_message(if sent {
        "A verification link was sent to your e-mail address"
    } else {
        "Your e-mail address is verified already"
    }))
}
