//! Everything a handler needs, built once per process (outside the handler) and shared by reference.

use std::time::Duration;

use crate::config::SigningSecrets;
use crate::config::{Config, ConfigError};
use crate::declared_actions::DeclaredActionsGuard;
use crate::request_metrics::AwsCallMetrics;
use crate::signing;
use crate::store::Db;
use crate::tokens::Keys;

/// A function's client of `$service` from the config `$builder`, with what every AWS call of a function has:
/// the time limits and retries ([`sdk_timeouts`], [`sdk_retries`]), the [`DeclaredActionsGuard`] and the
/// [`AwsCallMetrics`]. (A macro: each service's config builder is its own type.)
macro_rules! guarded_client {
    ($service:ident, $builder:expr) => {
        $service::Client::from_conf(
            $builder
                .timeout_config(sdk_timeouts())
                .retry_config(sdk_retries())
                .interceptor(DeclaredActionsGuard)
                .interceptor(AwsCallMetrics)
                .build(),
        )
    };
}

pub struct App {
    pub config: Config,
    pub db: Db,
    /// SES: only the mail queue's drainer (`send_mail`) sends.
    pub mail: aws_sdk_sesv2::Client,
    /// SQS: every other function queues its mail (`mail::send`).
    pub queue: aws_sdk_sqs::Client,
    pub keys: Keys,
}

impl App {
    /// Adds the [`DeclaredActionsGuard`] to every client, so every AWS call is checked against the
    /// running operation's declared actions, and [`AwsCallMetrics`], so every request's AWS cost is known.
    /// Also bounds every AWS call in time ([`sdk_timeouts`], [`sdk_retries`]): a dead or hanging endpoint
    /// is a 503 within seconds, not a request that hangs until the Lambda timeout.
    pub fn new(
        config: Config,
        dynamodb: aws_sdk_dynamodb::Client,
        mail: aws_sdk_sesv2::Client,
        queue: aws_sdk_sqs::Client,
    ) -> Self {
        let dynamodb = guarded_client!(aws_sdk_dynamodb, dynamodb.config().to_builder());
        let mail = guarded_client!(aws_sdk_sesv2, mail.config().to_builder());
        let queue = guarded_client!(aws_sdk_sqs, queue.config().to_builder());
        let db = Db::new(dynamodb, config.table_name.clone());
        let keys = Keys::new(&config.signing, &config.public_uri);
        App { config, db, mail, queue, keys }
    }

    /// Reads the configuration and the AWS SDK settings (region, credentials) from the environment.
    /// `DYNAMODB_ENDPOINT`, `SES_ENDPOINT` and `SQS_ENDPOINT` point the clients at DynamoDB Local, the SES
    /// emulator and the local SQS;
    /// template.yaml declares them empty (so `sam local invoke --env-vars events/env.json` can set them),
    /// and empty means AWS.
    /// The signing keys come from Secrets Manager (`SIGNING_SECRET_ID`, `SECRETS_MANAGER_ENDPOINT`).
    pub async fn from_env() -> Result<Self, ConfigError> {
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest()).load().await;
        let config = Config::from_env(signing_secrets_from_env(&sdk).await?)?;
        let mut dynamodb = aws_sdk_dynamodb::config::Builder::from(&sdk);
        if let Some(endpoint) = endpoint_override("DYNAMODB_ENDPOINT") {
            dynamodb = dynamodb.endpoint_url(endpoint);
        }
        let mut mail = aws_sdk_sesv2::config::Builder::from(&sdk);
        if let Some(endpoint) = endpoint_override("SES_ENDPOINT") {
            mail = mail.endpoint_url(endpoint);
        }
        let mut queue = aws_sdk_sqs::config::Builder::from(&sdk);
        if let Some(endpoint) = endpoint_override("SQS_ENDPOINT") {
            queue = queue.endpoint_url(endpoint);
        }
        Ok(App::new(
            config,
            aws_sdk_dynamodb::Client::from_conf(dynamodb.build()),
            aws_sdk_sesv2::Client::from_conf(mail.build()),
            aws_sdk_sqs::Client::from_conf(queue.build()),
        ))
    }
}

/// Reads the signing keys named by `SIGNING_SECRET_ID` from Secrets Manager (or the local one at
/// `SECRETS_MANAGER_ENDPOINT`), with the same guard and time limits as every other AWS call.
pub async fn signing_secrets_from_env(sdk: &aws_config::SdkConfig) -> Result<SigningSecrets, ConfigError> {
    let secret_id = std::env::var(signing::SECRET_ID_VARIABLE)
        .ok()
        .filter(|id| !id.trim().is_empty())
        .ok_or(ConfigError::Missing(signing::SECRET_ID_VARIABLE))?;
    let mut secrets = aws_sdk_secretsmanager::config::Builder::from(sdk);
    if let Some(endpoint) = endpoint_override(signing::ENDPOINT_VARIABLE) {
        secrets = secrets.endpoint_url(endpoint);
    }
    signing::load(&guarded_client!(aws_sdk_secretsmanager, secrets), &secret_id).await
}

/// Time limits of one AWS call (DynamoDB or SES). The SDK sets no attempt or operation timeout by default,
/// so an endpoint that accepts a connection and never answers would hold the request until the Lambda
/// timeout (10 s for routes). A DynamoDB call normally takes milliseconds; these leave ample room.
pub const AWS_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
pub const AWS_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(4);
pub const AWS_OPERATION_TIMEOUT: Duration = Duration::from_secs(8);
/// Attempts per AWS call (the SDK's standard retry: transient errors, throttling, refused connections) and
/// the longest back-off between two attempts (the SDK's default is 20 s).
pub const AWS_MAX_ATTEMPTS: u32 = 3;
pub const AWS_MAX_BACKOFF: Duration = Duration::from_secs(1);

pub fn sdk_timeouts() -> aws_sdk_dynamodb::config::timeout::TimeoutConfig {
    aws_sdk_dynamodb::config::timeout::TimeoutConfig::builder()
        .connect_timeout(AWS_CONNECT_TIMEOUT)
        .operation_attempt_timeout(AWS_ATTEMPT_TIMEOUT)
        .operation_timeout(AWS_OPERATION_TIMEOUT)
        .build()
}

pub fn sdk_retries() -> aws_sdk_dynamodb::config::retry::RetryConfig {
    aws_sdk_dynamodb::config::retry::RetryConfig::standard()
        .with_max_attempts(AWS_MAX_ATTEMPTS)
        .with_max_backoff(AWS_MAX_BACKOFF)
}

fn endpoint_override(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|endpoint| !endpoint.trim().is_empty())
}
