//! The log setup of every function: structured JSON lines (CloudWatch's JSON log format) at the level
//! from `RUST_LOG` or Lambda's log level.
//!
//! Whatever level is configured, the AWS SDK, its HTTP stack and hyper log at most at DEBUG: at TRACE they
//! write whole requests and responses, i.e. DynamoDB items with password hashes, token nonces and
//! session ids, and SES mails with invite links. Our own code never logs a password, hash, token or nonce
//! (tests/integration/secrets.rs captures a full run at TRACE through [`subscriber`] and searches it).

use tracing_subscriber::filter::{EnvFilter, LevelFilter, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;

/// Libraries that log message contents at TRACE.
const CAPPED_AT_DEBUG: &[&str] = &[
    "aws_smithy_runtime",
    "aws_smithy_runtime_api",
    "aws_smithy_http_client",
    "aws_smithy_http",
    "aws_smithy_types",
    "aws_sdk_dynamodb",
    "aws_sdk_sesv2",
    "aws_runtime",
    "aws_config",
    "aws_sigv4",
    "hyper",
    "hyper_util",
    "h2",
    "rustls",
    "lambda_runtime",
    "lambda_http",
];

/// The configured level: `RUST_LOG`, else Lambda's `AWS_LAMBDA_LOG_LEVEL`, else info.
pub(crate) fn configured_level() -> String {
    std::env::var("RUST_LOG")
        .or_else(|_| std::env::var("AWS_LAMBDA_LOG_LEVEL"))
        .unwrap_or_else(|_| "info".into())
        .to_lowercase()
}

/// The functions' subscriber at `level` (an `EnvFilter` directive), writing to `writer`.
pub fn subscriber<W>(level: &str, writer: W) -> impl tracing::Subscriber + Send + Sync + 'static
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let cap = CAPPED_AT_DEBUG.iter().fold(Targets::new().with_default(LevelFilter::TRACE), |targets, target| {
        targets.with_target(*target, LevelFilter::DEBUG)
    });
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(EnvFilter::new(level))
        .with_writer(writer)
        .with_ansi(false)
        .without_time()
        .with_current_span(false)
        .finish()
        .with(cap)
}
