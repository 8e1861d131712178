//! Passkeys: WEBKNOSSOS's `/api/auth/webauthn` routes, with its JSON (the ceremonies' options as WebAuthn's
//! JSON forms, the authenticator's answer as `key`).

use serde::Deserialize;
use serde_json::{Value, json};

use super::HandlerResult;
use crate::App;
use crate::caller::Caller;
use crate::domain::passkeys::{self, PasskeyDescriptor};
use crate::http::{self, Request, ok, parse_json, path_param};

/// `POST /api/auth/webauthn/register/start` (signed in; a body, if any, is not read): the creation options.
pub(crate) async fn register_start(app: &App, caller: Caller, _req: Request) -> HandlerResult {
    Ok(ok(&passkeys::register_start(app, &caller).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistrationForm {
    name: String,
    /// The authenticator's answer (an object; webauthn_rp reads it).
    key: serde_json::Map<String, Value>,
}

/// `POST /api/auth/webauthn/register/finalize` (`{name, key}`): the new passkey's `{id, name}`.
pub(crate) async fn register_finalize(app: &App, caller: Caller, req: Request) -> HandlerResult {
    let form: RegistrationForm = parse_json(&req)?;
    let passkey = passkeys::register_finalize(app, &caller, &form.name, &Value::Object(form.key)).await?;
    let mut answer = descriptor(&passkey);
    answer["message"] = json!("Key registered successfully");
    Ok(ok(&answer))
}

/// `POST /api/auth/webauthn/auth/start` (no body read): the request options.
pub(crate) async fn auth_start(app: &App, _req: Request) -> HandlerResult {
    Ok(ok(&passkeys::auth_start(app).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthenticationForm {
    key: serde_json::Map<String, Value>,
}

/// `POST /api/auth/webauthn/auth/finalize` (`{key}`): signed in as `POST /api/auth/login` answers.
pub(crate) async fn auth_finalize(app: &App, req: Request) -> HandlerResult {
    let form: AuthenticationForm = parse_json(&req)?;
    let logged_in = passkeys::auth_finalize(app, &Value::Object(form.key), http::audit_context(&req)).await?;
    super::auth::signed_in(app, &logged_in)
}

/// `GET /api/auth/webauthn/keys`: `[{id, name, created, lastUsed}]`.
pub(crate) async fn list_keys(app: &App, caller: Caller, _req: Request) -> HandlerResult {
    let keys = passkeys::list(app, &caller).await?;
    Ok(ok(&keys.iter().map(descriptor).collect::<Vec<_>>()))
}

/// `DELETE /api/auth/webauthn/keys/{id}`: `{}` (404 when it is not one of the caller's).
pub(crate) async fn remove_key(app: &App, caller: Caller, req: Request) -> HandlerResult {
    passkeys::remove(app, &caller, &path_param(&req, "id")?).await?;
    Ok(ok(&json!({})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RenameForm {
    name: String,
}

/// `PATCH /api/auth/webauthn/keys/{id}` (`{name}`): the renamed passkey (404 when it is not the caller's).
pub(crate) async fn rename_key(app: &App, caller: Caller, req: Request) -> HandlerResult {
    let form: RenameForm = parse_json(&req)?;
    Ok(ok(&descriptor(&passkeys::rename(app, &caller, &path_param(&req, "id")?, &form.name).await?)))
}

fn descriptor(passkey: &PasskeyDescriptor) -> Value {
    json!({ "id": passkey.id, "name": passkey.name, "created": passkey.created, "lastUsed": passkey.last_used })
}
