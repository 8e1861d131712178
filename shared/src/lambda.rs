//! The `main` of every Lambda binary: build the clients once, then serve invocations.

use std::convert::Infallible;

use crate::App;
use crate::background::BackgroundFunction;
use crate::dispatch::{Route, dispatch};
use crate::keys::SecretsRead;
use crate::request_metrics::{self, RequestMetrics};

pub use lambda_http::Error;

/// Structured JSON logs at the configured level, the AWS SDK capped at DEBUG (see [`crate::logging`]).
pub fn init_tracing() {
    let _ = tracing::subscriber::set_global_default(crate::logging::subscriber(
        &crate::logging::configured_level(),
        std::io::stdout,
    ));
}

/// The runtime of every function: single-threaded, as Lambda sends one request at a time, and one
/// blocking thread (the password hash runs there).
///
/// Memory: argon2 allocates and frees a 19 MiB block per hash. glibc serves such a block with mmap, but
/// then raises its mmap threshold to the block's size, so later blocks come from the heap, whose freed
/// space is fragmented and kept: a login function grew to 125 MB (docs/performance.md). A fixed
/// threshold keeps every large block in mmap, returned to the system when freed.
/// (Public for the benchmark's floor function, `tests/floor.rs`, which runs on the same settings.)
#[allow(unsafe_code)]
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes the allocator's parameters; called before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
    tokio::runtime::Builder::new_current_thread().enable_all().max_blocking_threads(1).build()
}

/// Runs `operation` as a Lambda function.
pub fn run(route: &'static Route) -> Result<(), Error> {
    init_tracing();
    let runtime = runtime()?;
    runtime.block_on(async move {
        let reads = SecretsRead::of(route.operation.actions);
        let app: &'static App = Box::leak(Box::new(App::from_env(reads).await?));
        lambda_http::run(lambda_http::service_fn(move |req| async move {
            Ok::<_, Infallible>(dispatch(app, route, req).await)
        }))
        .await
    })
}

/// Runs a background (non-HTTP) function: JSON event in, JSON result out; a failure is a Lambda error
/// (so EventBridge and direct invokers see it and retry).
fn run_event<F, Fut>(function: &'static BackgroundFunction, handler: F) -> Result<(), Error>
where
    F: Fn(&'static App, serde_json::Value) -> Fut + Copy + Send + 'static,
    Fut: std::future::Future<Output = Result<serde_json::Value, crate::ApiError>> + Send,
{
    run_event_with(function, |_| async { Ok(()) }, move |app, _: &'static (), event| handler(app, event))
}

/// [`run_event`] for a function that needs more than the App: `state` builds it once, before the first
/// invocation, like the App's clients.
fn run_event_with<S, B, BFut, F, Fut>(function: &'static BackgroundFunction, state: B, handler: F) -> Result<(), Error>
where
    S: Send + Sync + 'static,
    B: FnOnce(&'static App) -> BFut,
    BFut: std::future::Future<Output = Result<S, crate::config::ConfigError>>,
    F: Fn(&'static App, &'static S, serde_json::Value) -> Fut + Copy + Send + 'static,
    Fut: std::future::Future<Output = Result<serde_json::Value, crate::ApiError>> + Send,
{
    init_tracing();
    let runtime = runtime()?;
    runtime.block_on(async move {
        let app: &'static App = Box::leak(Box::new(App::from_env(SecretsRead::of(function.actions)).await?));
        let state: &'static S = Box::leak(Box::new(state(app).await?));
        lambda_http::lambda_runtime::run(lambda_http::service_fn(
            move |event: lambda_http::LambdaEvent<serde_json::Value>| async move {
                // The domain function the handler calls enters the function's declaration itself.
                let started = std::time::Instant::now();
                let metrics = std::sync::Arc::new(RequestMetrics::default());
                let result = request_metrics::measure(metrics.clone(), handler(app, state, event.payload)).await;
                tracing::info!(
                    function = function.name,
                    ok = result.is_ok(),
                    duration_us = started.elapsed().as_micros() as u64,
                    dynamodb_round_trips = metrics.dynamodb_round_trips(),
                    mail_requests = metrics.mail_requests(),
                    aws_wait_us = metrics.wait_micros(),
                    dynamodb_wait_us = metrics.dynamodb_wait_micros(),
                    mail_wait_us = metrics.mail_wait_micros(),
                    read_capacity = metrics.read_capacity_units(),
                    write_capacity = metrics.write_capacity_units(),
                    audit_write_capacity = metrics.audit_write_capacity_units(),
                    "run"
                );
                result.map_err(|e| {
                    tracing::error!(function = function.name, error = %e, "background function failed");
                    Error::from(e.to_string())
                })
            },
        ))
        .await
    })
}

/// The daily invite job (EventBridge schedule; the event's content is not used).
pub fn run_invite_maintenance() -> Result<(), Error> {
    run_event(&crate::background::INVITE_MAINTENANCE, |app, _event| async move {
        let report = crate::domain::daily::maintain(app, crate::ids::now_millis()).await?;
        tracing::info!(
            reminded = report.reminded,
            reminders_failed = report.reminders_failed,
            deleted = report.deleted,
            plan_notices = report.plan_notices,
            finished = report.finished,
            "invite maintenance"
        );
        Ok(serde_json::to_value(report).expect("the report serializes"))
    })
}

/// The scheduled purge of deleted organizations, within the function's time (leaving a margin).
pub fn run_organization_purge() -> Result<(), Error> {
    run_event(&crate::background::ORGANIZATION_PURGE, |app, _event| async move {
        let budget = std::time::Duration::from_secs(u64::from(
            crate::background::ORGANIZATION_PURGE.timeout_seconds.saturating_sub(60),
        ));
        let deadline = std::time::Instant::now() + budget;
        match crate::domain::organizations::purge_pending(app, deadline).await? {
            Some(finished) => {
                tracing::info!(finished, "organization purge");
                Ok(serde_json::json!({ "finished": finished }))
            }
            None => {
                tracing::info!("organization purge skipped: another run holds the lease");
                Ok(serde_json::json!({ "skipped": "another run holds the lease" }))
            }
        }
    })
}

/// A storage-usage report: `{"organization": "...", "usedStorageBytes": N, "reportedAt": ms}`.
pub fn run_report_storage_usage() -> Result<(), Error> {
    run_event(&crate::background::REPORT_STORAGE_USAGE, |app, event| async move {
        let report: crate::domain::organizations::StorageReport = serde_json::from_value(event).map_err(|e| {
            crate::ApiError::bad_request("request.body.invalid", format!("Invalid storage report: {e}"))
        })?;
        let stored = crate::domain::organizations::report_storage(app, &report).await?;
        Ok(serde_json::json!({ "stored": stored }))
    })
}

/// A finished AI job: `{"organization", "jobId", "jobType", "ownerUserId", "state", "resultLink"}`.
pub fn run_notify_job_finished() -> Result<(), Error> {
    run_event(&crate::background::NOTIFY_JOB_FINISHED, |app, event| async move {
        let job: crate::domain::organizations::JobFinished = serde_json::from_value(event)
            .map_err(|e| crate::ApiError::bad_request("request.body.invalid", format!("Invalid job report: {e}")))?;
        let mailed = crate::domain::organizations::notify_job_finished(app, &job).await?;
        Ok(serde_json::json!({ "mailed": mailed }))
    })
}

/// A batch of the mail queue (Lambda's SQS event): sends it through SES and answers which messages SQS
/// keeps for another try (`ReportBatchItemFailures`).
pub fn run_send_mail() -> Result<(), Error> {
    run_event(&crate::background::SEND_MAIL, |app, event| async move {
        let event: aws_lambda_events::event::sqs::SqsEvent = serde_json::from_value(event)
            .map_err(|e| crate::ApiError::bad_request("request.body.invalid", format!("Not an SQS event: {e}")))?;
        let response = crate::mail_drain::drain(app, event).await;
        Ok(serde_json::to_value(response).expect("the answer serializes"))
    })
}

/// SES's bounce and complaint events, delivered by SNS (Lambda's SNS event: one record per message).
pub fn run_record_mail_events() -> Result<(), Error> {
    run_event(&crate::background::RECORD_MAIL_EVENTS, |app, event| async move {
        let event: aws_lambda_events::event::sns::SnsEvent = serde_json::from_value(event)
            .map_err(|e| crate::ApiError::bad_request("request.body.invalid", format!("Not an SNS event: {e}")))?;
        let mut total = crate::domain::mail_events::Recorded::default();
        for record in &event.records {
            let recorded = crate::domain::mail_events::record(app, &record.sns.topic_arn, &record.sns.message).await?;
            total.addresses += recorded.addresses;
            total.invites += recorded.invites;
            total.foreign += recorded.foreign;
        }
        Ok(serde_json::to_value(total).expect("the summary serializes"))
    })
}

/// A batch of the table's stream (Lambda's DynamoDB event): publishes its new audit entries and tombstones
/// in order and answers which record Lambda retries from (`ReportBatchItemFailures`). A bus that fails is
/// such an answer, not a Lambda error: the records before the failed one are not delivered again.
pub fn run_publish_audit_events() -> Result<(), Error> {
    run_event_with(
        &crate::background::PUBLISH_AUDIT_EVENTS,
        |app| crate::events::EventPublisher::from_env(&app.config.public_uri),
        |_app, publisher, event| crate::events::handle(publisher, event),
    )
}
