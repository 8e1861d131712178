//! Everything a handler needs, built once per process (outside the handler) and shared by reference.

use crate::config::{Config, ConfigError};
use crate::keys::{KeyMaterial, SESSION_PUBLIC_KEYS_VARIABLE, SecretsRead};
use crate::signing;
use crate::store::Db;
use accounts_domain::DomainError;
use accounts_domain::app::MailQueue;
use std::future::Future;
use std::pin::Pin;

// Every client gets what every AWS call of a function has (the store's macro: time limits, retries, the
// declared-actions guard, the metrics).
pub(crate) use accounts_store::guarded_client;

/// The domain's [`accounts_domain::App`] (configuration, store, keys, and the mail queue's port, here over
/// SQS), and SES for the mail queue's drainer. Derefs to the domain's, so a handler passes `app` to the
/// domain as it is.
pub struct App {
    domain: accounts_domain::App,
    /// SES: only the mail queue's drainer (`send_mail`) sends.
    pub mail: aws_sdk_sesv2::Client,
    /// The identity providers over HTTPS (single sign-on), and the DNS resolver.
    pub identity_provider: crate::oidc::HttpIdentityProvider,
}

impl std::ops::Deref for App {
    type Target = accounts_domain::App;

    fn deref(&self) -> &accounts_domain::App {
        &self.domain
    }
}

/// The mail queue's port over SQS: one SendMessage per mail.
struct SqsMailQueue(aws_sdk_sqs::Client);

impl MailQueue for SqsMailQueue {
    fn enqueue<'a>(
        &'a self,
        queue_url: &'a str,
        body: String,
    ) -> Pin<Box<dyn Future<Output = Result<(), DomainError>> + Send + 'a>> {
        Box::pin(async move {
            self.0
                .send_message()
                .queue_url(queue_url)
                .message_body(body)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| crate::error::aws_failure("SendMessage", e))
        })
    }

    fn enqueue_batch<'a>(
        &'a self,
        queue_url: &'a str,
        bodies: Vec<String>,
    ) -> Pin<Box<dyn Future<Output = Result<(), DomainError>> + Send + 'a>> {
        Box::pin(async move {
            use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
            // SQS takes ten messages of at most 256 KB in all per request.
            let mut requests: Vec<Vec<String>> = Vec::new();
            for body in bodies {
                match requests.last_mut() {
                    Some(request)
                        if request.len() < 10
                            && request.iter().map(String::len).sum::<usize>() + body.len() <= 256 * 1024 =>
                    {
                        request.push(body)
                    }
                    _ => requests.push(vec![body]),
                }
            }
            let sent = futures_util::future::join_all(requests.into_iter().map(|request| async move {
                let entries = request
                    .into_iter()
                    .enumerate()
                    .map(|(index, body)| {
                        SendMessageBatchRequestEntry::builder().id(index.to_string()).message_body(body).build()
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| {
                        tracing::error!(error = %e, "a batch entry could not be built");
                        DomainError::internal()
                    })?;
                let output = self
                    .0
                    .send_message_batch()
                    .queue_url(queue_url)
                    .set_entries(Some(entries))
                    .send()
                    .await
                    .map_err(|e| crate::error::aws_failure("SendMessageBatch", e))?;
                for failed in &output.failed {
                    tracing::warn!(
                        code = failed.code,
                        reason = failed.message.as_deref().unwrap_or(""),
                        "a mail was not queued"
                    );
                }
                if output.failed.is_empty() { Ok(()) } else { Err(DomainError::unavailable()) }
            }))
            .await;
            sent.into_iter().collect()
        })
    }
}

impl App {
    /// Adds the `DeclaredActionsGuard` to every client (the store's too, `Db::guarded`), so every AWS
    /// call is checked against the running operation's declared actions, and `AwsCallMetrics`, so every
    /// request's AWS cost is known. Also bounds every AWS call in time (`store::aws_calls`): a dead or hanging
    /// endpoint is a 503 within seconds, not a request that hangs until the Lambda timeout.
    pub fn new(config: Config, db: Db, mail: aws_sdk_sesv2::Client, queue: aws_sdk_sqs::Client) -> Self {
        let mail = guarded_client!(aws_sdk_sesv2, mail.config().to_builder());
        let queue = guarded_client!(aws_sdk_sqs, queue.config().to_builder());
        App {
            domain: accounts_domain::App::new(config, db, Box::new(SqsMailQueue(queue))),
            mail,
            identity_provider: Default::default(),
        }
    }

    /// Reads the configuration and the AWS SDK settings (region, credentials) from the environment.
    /// `DYNAMODB_ENDPOINT`, `SES_ENDPOINT` and `SQS_ENDPOINT` point the clients at DynamoDB Local, the SES
    /// emulator and the local SQS;
    /// template.yaml declares them empty (so `sam local invoke --env-vars events/env.json` can set them),
    /// and empty means AWS.
    /// The session public keys come from `SESSION_PUBLIC_KEYS`; the secrets in `reads` (those the function's
    /// operation uses) from Secrets Manager, read while the clients are built.
    pub(crate) async fn from_env(reads: SecretsRead) -> Result<Self, ConfigError> {
        let sdk = sdk_config_from_env();
        let clients = async {
            let mut mail = aws_sdk_sesv2::config::Builder::from(&sdk);
            if let Some(endpoint) = endpoint_override("SES_ENDPOINT") {
                mail = mail.endpoint_url(endpoint);
            }
            let mut queue = aws_sdk_sqs::config::Builder::from(&sdk);
            if let Some(endpoint) = endpoint_override("SQS_ENDPOINT") {
                queue = queue.endpoint_url(endpoint);
            }
            (aws_sdk_sesv2::Client::from_conf(mail.build()), aws_sdk_sqs::Client::from_conf(queue.build()))
        };
        // The secrets' requests are sent first, then the clients are built while they are answered.
        let (keys, (mail, queue)) = tokio::join!(key_material_from_env(&sdk, reads), clients);
        let config = Config::from_env(keys?)?;
        let db = Db::connect(&sdk, endpoint_override("DYNAMODB_ENDPOINT"), config.table_name.clone());
        Ok(App::new(config, db, mail, queue))
    }
}

/// The AWS SDK settings of a function: the region and the credentials Lambda puts in its environment
/// (`AWS_REGION`; `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), the SDK clients'
/// defaults for the rest (HTTPS client, retries, timeouts). Not aws-config's default chains: a Lambda
/// function has nothing but its environment, and the chains would link the STS, SSO, IMDS and ECS
/// clients into every binary (docs/deploy.md, "Build": the size) and probe them at start-up.
pub(crate) fn sdk_config_from_env() -> aws_config::SdkConfig {
    let region = std::env::var("AWS_REGION")
        .or_else(|_| std::env::var("AWS_DEFAULT_REGION"))
        .ok()
        .filter(|region| !region.trim().is_empty())
        .map(aws_config::Region::new);
    let credentials = aws_config::environment::EnvironmentVariableCredentialsProvider::new();
    let mut builder = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(credentials));
    builder.set_region(region);
    builder.build()
}

/// A function's key material: the session public keys from `SESSION_PUBLIC_KEYS`, and the secrets in
/// `reads` from Secrets Manager (or the local one at `SECRETS_MANAGER_ENDPOINT`), both at once, with the
/// same guard and time limits as every other AWS call. Reads nothing when `reads` names no secret.
pub(crate) async fn key_material_from_env(
    sdk: &aws_config::SdkConfig,
    reads: SecretsRead,
) -> Result<KeyMaterial, ConfigError> {
    let mut secrets = aws_sdk_secretsmanager::config::Builder::from(sdk);
    if let Some(endpoint) = endpoint_override(signing::ENDPOINT_VARIABLE) {
        secrets = secrets.endpoint_url(endpoint);
    }
    let client = reads.any().then(|| guarded_client!(aws_sdk_secretsmanager, secrets));
    let read = |wanted: bool, variable: &'static str| {
        let client = client.as_ref();
        async move {
            let Some(client) = client.filter(|_| wanted) else { return Ok(None) };
            let secret_id = std::env::var(variable)
                .ok()
                .filter(|id| !id.trim().is_empty())
                .ok_or(ConfigError::Missing(variable))?;
            signing::load(client, variable, &secret_id).await.map(Some)
        }
    };
    let (session, tokens, sealing) = tokio::join!(
        read(reads.session_key, signing::SESSION_KEY_SECRET_VARIABLE),
        read(reads.token_secret, signing::TOKEN_SECRET_VARIABLE),
        read(reads.sealing_key, crate::keys::SEALING_KEY_SECRET_VARIABLE)
    );
    let public_keys = std::env::var(SESSION_PUBLIC_KEYS_VARIABLE).unwrap_or_default();
    let material = KeyMaterial::configured(&public_keys, session?, tokens?)?;
    Ok(match sealing? {
        Some(sealing) => material.with_sealing(sealing),
        None => material,
    })
}

fn endpoint_override(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|endpoint| !endpoint.trim().is_empty())
}
