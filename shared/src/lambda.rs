//! The `main` of every Lambda binary: build the clients once, then serve invocations.

use std::convert::Infallible;

use crate::App;
use crate::routes::{Operation, dispatch};

pub use lambda_http::Error;

/// Structured JSON logs (CloudWatch's JSON log format), level from `RUST_LOG` or Lambda's log level.
pub fn init_tracing() {
    let level = std::env::var("RUST_LOG")
        .or_else(|_| std::env::var("AWS_LAMBDA_LOG_LEVEL"))
        .unwrap_or_else(|_| "info".into())
        .to_lowercase();
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(tracing_subscriber::EnvFilter::new(level))
        .with_ansi(false)
        .without_time()
        .with_current_span(false)
        .try_init();
}

/// Runs `operation` as a Lambda function. A single-threaded runtime: Lambda sends one request at a time.
pub fn run(operation: &'static Operation) -> Result<(), Error> {
    init_tracing();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async move {
        let app: &'static App = Box::leak(Box::new(App::from_env().await?));
        lambda_http::run(lambda_http::service_fn(move |req| async move {
            Ok::<_, Infallible>(dispatch(app, operation, req).await)
        }))
        .await
    })
}

/// Runs the daily invite job as a Lambda function (EventBridge schedule; the event's content is not used).
pub fn run_invite_maintenance() -> Result<(), Error> {
    init_tracing();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async move {
        let app: &'static App = Box::leak(Box::new(App::from_env().await?));
        lambda_http::lambda_runtime::run(lambda_http::service_fn(move |_event: lambda_http::LambdaEvent<serde_json::Value>| async move {
            let report = crate::domain::invites::maintain(app, crate::ids::now_millis()).await.map_err(|e| {
                tracing::error!(error = %e, "invite maintenance failed");
                Error::from(e.to_string())
            })?;
            tracing::info!(reminded = report.reminded, reminders_failed = report.reminders_failed, deleted = report.deleted, "invite maintenance");
            Ok::<_, Error>(serde_json::to_value(report).expect("the report serializes"))
        }))
        .await
    })
}
