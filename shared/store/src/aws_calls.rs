//! What every AWS call of a function has, whichever service it goes to: time limits and retries, the
//! declared-actions guard ([`crate::declared_actions`]) and the AWS-call metrics
//! ([`crate::request_metrics`]). The store applies them to its DynamoDB client; the API crate to its SES,
//! SQS and Secrets Manager clients.

use std::time::Duration;

use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;

/// Time limits of one AWS call. The SDK sets no attempt or operation timeout by default, so an endpoint
/// that accepts a connection and never answers would hold the request until the Lambda timeout (10 s for
/// routes). A DynamoDB call normally takes milliseconds; these leave ample room.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
pub(crate) const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(4);
pub(crate) const OPERATION_TIMEOUT: Duration = Duration::from_secs(8);
/// Attempts per AWS call (the SDK's standard retry: transient errors, throttling, refused connections) and
/// the longest back-off between two attempts (the SDK's default is 20 s).
pub(crate) const MAX_ATTEMPTS: u32 = 3;
pub(crate) const MAX_BACKOFF: Duration = Duration::from_secs(1);

pub fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build()
}

/// A client of `$service` from the config `$builder`, with what every AWS call of a function has: the time
/// limits and retries above, the declared-actions guard and the metrics. The store's DynamoDB client
/// (`Db::guarded`) and the API crate's other clients are all made by it. (A macro: each service's config
/// builder is its own type.)
#[macro_export]
macro_rules! guarded_client {
    ($service:ident, $builder:expr) => {
        $service::Client::from_conf(
            $builder
                .timeout_config($crate::aws_calls::timeouts())
                .retry_config($crate::aws_calls::retries())
                .interceptor($crate::declared_actions::DeclaredActionsGuard)
                .interceptor($crate::request_metrics::AwsCallMetrics)
                .build(),
        )
    };
}

pub fn retries() -> RetryConfig {
    RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS).with_max_backoff(MAX_BACKOFF)
}
