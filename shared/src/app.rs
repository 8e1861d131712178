//! Everything a handler needs, built once per process (outside the handler) and shared by reference.

use crate::auth::Keys;
use crate::config::{Config, ConfigError};
use crate::declared_actions::DeclaredActionsGuard;
use crate::request_metrics::AwsCallMetrics;
use crate::store::Db;

pub struct App {
    pub config: Config,
    pub db: Db,
    pub mail: aws_sdk_sesv2::Client,
    pub keys: Keys,
}

impl App {
    /// Adds the [`DeclaredActionsGuard`] to both clients, so every AWS call is checked against the
    /// running operation's declared actions, and [`AwsCallMetrics`], so every request's AWS cost is known.
    pub fn new(config: Config, dynamodb: aws_sdk_dynamodb::Client, mail: aws_sdk_sesv2::Client) -> Self {
        let dynamodb = aws_sdk_dynamodb::Client::from_conf(
            dynamodb.config().to_builder().interceptor(DeclaredActionsGuard).interceptor(AwsCallMetrics).build(),
        );
        let mail = aws_sdk_sesv2::Client::from_conf(mail.config().to_builder().interceptor(DeclaredActionsGuard).interceptor(AwsCallMetrics).build());
        let db = Db::new(dynamodb, config.table_name.clone());
        let keys = Keys::new(&config.jwt_secret, &config.public_uri);
        App { config, db, mail, keys }
    }

    /// Reads the configuration and the AWS SDK settings (region, credentials) from the environment.
    /// `DYNAMODB_ENDPOINT` and `SES_ENDPOINT` point the clients at DynamoDB Local and the SES emulator;
    /// template.yaml declares them empty (so `sam local invoke --env-vars events/env.json` can set them),
    /// and empty means AWS.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let config = Config::from_env()?;
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest()).load().await;
        let mut dynamodb = aws_sdk_dynamodb::config::Builder::from(&sdk);
        if let Some(endpoint) = endpoint_override("DYNAMODB_ENDPOINT") {
            dynamodb = dynamodb.endpoint_url(endpoint);
        }
        let mut mail = aws_sdk_sesv2::config::Builder::from(&sdk);
        if let Some(endpoint) = endpoint_override("SES_ENDPOINT") {
            mail = mail.endpoint_url(endpoint);
        }
        Ok(App::new(config, aws_sdk_dynamodb::Client::from_conf(dynamodb.build()), aws_sdk_sesv2::Client::from_conf(mail.build())))
    }
}

fn endpoint_override(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|endpoint| !endpoint.trim().is_empty())
}
