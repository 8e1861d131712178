use super::{HandlerResult, json};
use crate::App;
use crate::auth::authenticate;
use crate::domain::session;
use crate::http::{Request, ok};

/// `GET /api/user`: the caller (and records its activity).
pub async fn current_user(app: &App, req: Request) -> HandlerResult {
    let caller = authenticate(app, &req).await?;
    let user = session::current_user(app, &caller).await?;
    Ok(ok(&json::user(&user, &user)))
}
