//! The local stack: DynamoDB Local and the SES v2 emulator as child processes, the table created from
//! template.yaml's definition, and a local API gateway that routes HTTP requests to the same handler
//! functions the Lambda binaries run. Used by the `devstack` command (README command 1) and by the tests.

pub mod access_log;
pub mod docs;
pub mod edge_template;
pub mod event_bus;
pub mod events;
pub mod gateway;
pub mod invariants;
pub mod mail_queue;
pub mod oidc;
pub mod organization_export;
pub mod runtime_api;
pub mod services;
pub mod signing_key;
pub mod stream;
pub mod table;
pub mod table_restore;
pub mod table_tool;
pub mod template;

/// The repository's root directory (this crate is at `infra/devstack`).
pub fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("the repository root exists")
}

/// The SDK settings for a local stand-in at `endpoint` (DynamoDB Local, the SES emulator, moto, the stand-in
/// bus): dummy credentials, which they accept, and a fixed region. Every local client of any service is
/// `Client::new(&local_sdk_config(endpoint))`: a tool's or a test's own, unguarded (a function's clients
/// are made by `accounts::App`).
pub fn local_sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    let credentials = aws_credential_types::Credentials::new("local", "local", None, None, "devstack");
    aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(credentials))
        .endpoint_url(endpoint)
        .build()
}

/// An `App` (the same one a Lambda function builds, its clients guarded by the declared actions) pointed
/// at local endpoints with dummy credentials: DynamoDB Local, the SES emulator, and the local SQS (its mail
/// queue: `config.mail_queue_url`).
pub fn local_app(
    config: accounts::config::Config,
    dynamodb_endpoint: &str,
    ses_endpoint: &str,
    sqs_endpoint: &str,
) -> accounts::App {
    local_app_counting_mail(config, dynamodb_endpoint, ses_endpoint, sqs_endpoint, &Default::default())
}

/// [`local_app`] whose queued mail `queued` counts (for a tests' gateway, [`gateway::SendBeforeAnswering`]).
pub fn local_app_counting_mail(
    config: accounts::config::Config,
    dynamodb_endpoint: &str,
    ses_endpoint: &str,
    sqs_endpoint: &str,
    queued: &mail_queue::QueuedMailCount,
) -> accounts::App {
    let table = config.table_name.clone();
    let queue = queued.counting(aws_sdk_sqs::config::Builder::from(&local_sdk_config(sqs_endpoint)));
    accounts::App::new(
        config,
        accounts::store::Db::guarded(local_dynamodb(dynamodb_endpoint), table),
        aws_sdk_sesv2::Client::new(&local_sdk_config(ses_endpoint)),
        aws_sdk_sqs::Client::from_conf(queue.build()),
    )
}

/// An operator tool's DynamoDB client: `aws` for AWS with the environment's credentials and region,
/// otherwise the endpoint of a DynamoDB Local.
pub async fn tool_dynamodb(endpoint: &str) -> aws_sdk_dynamodb::Client {
    if endpoint == "aws" {
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest()).load().await;
        aws_sdk_dynamodb::Client::new(&sdk)
    } else {
        local_dynamodb(endpoint)
    }
}

/// A plain DynamoDB client for `endpoint` (no declared-actions guard, no metrics): a tool's or a test's
/// own client, never a function's.
pub fn local_dynamodb(endpoint: &str) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&local_sdk_config(endpoint))
}
