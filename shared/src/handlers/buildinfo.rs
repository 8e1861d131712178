use super::HandlerResult;
use crate::App;
use crate::http::{Request, ok};
use crate::operations::{CURRENT_API_VERSION, OLDEST_SUPPORTED_API_VERSION};

/// `GET /api/buildinfo`: what clients read to choose an API version.
pub(crate) async fn buildinfo(_app: &App, _req: Request) -> HandlerResult {
    Ok(ok(&serde_json::json!({
        "webknossos": { "name": "webknossos-accounts", "version": env!("CARGO_PKG_VERSION") },
        "httpApiVersioning": {
            "currentApiVersion": CURRENT_API_VERSION,
            "oldestSupportedApiVersion": OLDEST_SUPPORTED_API_VERSION,
        },
        "localDataStoreEnabled": false,
        "localTracingStoreEnabled": false,
    })))
}
