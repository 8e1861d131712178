//! Everything a handler needs, built once per process (outside the handler) and shared by reference.

use crate::auth::Keys;
use crate::config::{Config, ConfigError};
use crate::store::Db;

pub struct App {
    pub config: Config,
    pub db: Db,
    pub mail: aws_sdk_sesv2::Client,
    pub keys: Keys,
}

impl App {
    pub fn new(config: Config, dynamodb: aws_sdk_dynamodb::Client, mail: aws_sdk_sesv2::Client) -> Self {
        let db = Db::new(dynamodb, config.table_name.clone());
        let keys = Keys::new(&config.jwt_secret, &config.public_uri);
        App { config, db, mail, keys }
    }

    /// Reads the configuration and the AWS SDK settings (region, credentials, and the standard
    /// `AWS_ENDPOINT_URL*` overrides used locally) from the environment.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let config = Config::from_env()?;
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest()).load().await;
        Ok(App::new(config, aws_sdk_dynamodb::Client::new(&sdk), aws_sdk_sesv2::Client::new(&sdk)))
    }
}
