//! The two secrets (`accounts_core::keys`), read from Secrets Manager when a function starts, by the
//! functions whose operation uses them and only those (never from the configuration, where anyone allowed
//! to read the function's settings would see them). A function that only checks sessions reads neither.
//!
//! A rotation uses Secrets Manager's staging labels (docs/deploy.md, "Rotating the keys"): the new version
//! is first staged as `AWSPENDING`, which every function accepts but none signs with; once every function
//! has started with it, it becomes `AWSCURRENT` and the old one `AWSPREVIOUS`, which stays accepted. So at
//! no moment does one function sign with a key another refuses, whatever mix of old and new execution
//! environments is running.

use aws_sdk_secretsmanager::Client;

use crate::config::ConfigError;
use crate::declared_actions::{self, Declaration};
use crate::keys::SigningSecrets;
pub use crate::keys::{SESSION_KEY_SECRET_VARIABLE, TOKEN_SECRET_VARIABLE};

/// Points the client at a local Secrets Manager (empty or unset: AWS).
pub const ENDPOINT_VARIABLE: &str = "SECRETS_MANAGER_ENDPOINT";

/// The version that signs.
pub const CURRENT: &str = "AWSCURRENT";
/// The next version during a rotation: accepted, not yet signing.
pub const PENDING: &str = "AWSPENDING";
/// The version before the current one: still accepted.
pub(crate) const PREVIOUS: &str = "AWSPREVIOUS";

/// What a function that uses a secret does once when it starts, granted to it on that secret (template.rs).
pub const START_UP: Declaration = Declaration { operation: "start-up", actions: &["secretsmanager:GetSecretValue"] };

/// Reads the secret's current, pending and previous versions (three requests at once, under
/// [`START_UP`]). The current one must exist; the other two exist only around a rotation. `variable` is
/// the setting that named the secret, for the error.
pub async fn load(client: &Client, variable: &'static str, secret_id: &str) -> Result<SigningSecrets, ConfigError> {
    let unreadable = |stage: &str, reason: &str| ConfigError::Invalid {
        name: variable,
        reason: format!("cannot read the {stage} version of the secret {secret_id}: {reason}"),
    };
    let read = |stage: &'static str| async move {
        match client.get_secret_value().secret_id(secret_id).version_stage(stage).send().await {
            Ok(output) => {
                let value = match (output.secret_string, output.secret_binary) {
                    (Some(text), _) => text.into_bytes(),
                    (None, Some(binary)) => binary.into_inner(),
                    (None, None) => return Err(unreadable(stage, "the version has no value")),
                };
                tracing::info!(
                    secret = variable,
                    stage,
                    version = output.version_id.as_deref().unwrap_or(""),
                    "secret read"
                );
                Ok(Some(value))
            }
            Err(err)
                if stage != CURRENT && err.as_service_error().is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(err) => {
                let detail = aws_sdk_secretsmanager::error::DisplayErrorContext(&err).to_string();
                Err(unreadable(stage, &detail))
            }
        }
    };
    let (current, pending, previous) =
        declared_actions::scope(START_UP, async { tokio::join!(read(CURRENT), read(PENDING), read(PREVIOUS)) }).await;
    let current = current?.ok_or_else(|| unreadable(CURRENT, "no current version"))?;
    SigningSecrets::new(current, [pending?, previous?].into_iter().flatten().collect())
        .map_err(|short| ConfigError::Invalid { name: variable, reason: format!("the secret {secret_id}: {short}") })
}
