use super::{HandlerResult, json};
use crate::App;
use crate::caller::Caller;
use crate::domain::session;
use crate::http::{Request, ok};

/// `GET /api/user`: the caller (and records its activity).
pub(crate) async fn current_user(app: &App, caller: Caller, _req: Request) -> HandlerResult {
    let user = session::current_user(app, &caller).await?;
    let mut answer = serde_json::to_value(json::user(&user, &user)).map_err(|_| crate::error::ApiError::internal())?;
    // Beyond WEBKNOSSOS: this session may only add and use a passkey (the organization requires more than a
    // password of its admins), so the home page can say what to do.
    answer["passkeyRequired"] = serde_json::Value::Bool(caller.needs_strong_sign_in());
    Ok(ok(&answer))
}
