//! The local stack: DynamoDB Local and the SES v2 emulator as child processes, the table created from
//! template.yaml's definition, and a local API gateway that routes HTTP requests to the same handler
//! functions the Lambda binaries run. Used by the `devstack` command (README command 1) and by the tests.

pub mod docs;
pub mod event_bus;
pub mod events;
pub mod gateway;
pub mod invariants;
pub mod runtime_api;
pub mod services;
pub mod stream;
pub mod table;
pub mod template;

/// The repository's root directory (this crate is at `infra/devstack`).
pub fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("the repository root exists")
}

/// An `App` (the same one a Lambda function builds) pointed at local endpoints with dummy credentials.
pub fn local_app(config: accounts::config::Config, dynamodb_endpoint: &str, ses_endpoint: &str) -> accounts::App {
    use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
    let credentials = Credentials::new("local", "local", None, None, "devstack");
    let dynamodb = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(credentials.clone())
        .endpoint_url(dynamodb_endpoint)
        .build();
    let ses = aws_sdk_sesv2::Config::builder()
        .behavior_version(aws_sdk_sesv2::config::BehaviorVersion::latest())
        .region(aws_sdk_sesv2::config::Region::new("us-east-1"))
        .credentials_provider(credentials)
        .endpoint_url(ses_endpoint)
        .build();
    accounts::App::new(config, aws_sdk_dynamodb::Client::from_conf(dynamodb), aws_sdk_sesv2::Client::from_conf(ses))
}
