use super::{HandlerResult, json};
use crate::App;
use crate::caller::Caller;
use crate::domain::session;
use crate::http::{Request, ok};

/// `GET /api/user`: the caller (and records its activity).
pub(crate) async fn current_user(app: &App, caller: Caller, _req: Request) -> HandlerResult {
    let user = session::current_user(app, &caller).await?;
    Ok(ok(&json::user(&user, &user)))
}
