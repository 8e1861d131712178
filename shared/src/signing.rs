//! The signing secret, read from Secrets Manager when a function starts (never from its configuration,
//! where anyone allowed to read the function's settings would see it).
//!
//! A rotation uses Secrets Manager's staging labels (docs/deploy.md, "Rotating the signing secret"): the
//! new version is first staged as `AWSPENDING`, which every function accepts but none signs with; once
//! every function has started with it, it becomes `AWSCURRENT` and the old one `AWSPREVIOUS`, which stays
//! accepted. So at no moment does one function sign with a key another refuses, whatever mix of old and
//! new execution environments is running.

use aws_sdk_secretsmanager::Client;

pub use crate::config::SECRET_ID_VARIABLE;
use crate::config::{ConfigError, SigningSecrets};
use crate::declared_actions::{self, Declaration};

/// Points the client at a local Secrets Manager (empty or unset: AWS).
pub const ENDPOINT_VARIABLE: &str = "SECRETS_MANAGER_ENDPOINT";

/// The version that signs.
pub const CURRENT: &str = "AWSCURRENT";
/// The next version during a rotation: accepted, not yet signing.
pub const PENDING: &str = "AWSPENDING";
/// The version before the current one: still accepted.
pub const PREVIOUS: &str = "AWSPREVIOUS";

/// What every function does once when it starts, granted to each on the one secret (template.rs).
pub const START_UP: Declaration = Declaration { operation: "start-up", actions: &["secretsmanager:GetSecretValue"] };

/// Reads the secret's current, pending and previous versions (three requests at once, under
/// [`START_UP`]). The current one must exist; the other two exist only around a rotation.
pub async fn load(client: &Client, secret_id: &str) -> Result<SigningSecrets, ConfigError> {
    let read = |stage: &'static str| async move {
        match client.get_secret_value().secret_id(secret_id).version_stage(stage).send().await {
            Ok(output) => {
                let value = match (output.secret_string, output.secret_binary) {
                    (Some(text), _) => text.into_bytes(),
                    (None, Some(binary)) => binary.into_inner(),
                    (None, None) => return Err(unreadable(secret_id, stage, "the version has no value")),
                };
                tracing::info!(stage, version = output.version_id.as_deref().unwrap_or(""), "signing secret read");
                Ok(Some(value))
            }
            Err(err)
                if stage != CURRENT && err.as_service_error().is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(err) => {
                let detail = aws_sdk_secretsmanager::error::DisplayErrorContext(&err).to_string();
                Err(unreadable(secret_id, stage, &detail))
            }
        }
    };
    let (current, pending, previous) =
        declared_actions::scope(START_UP, async { tokio::join!(read(CURRENT), read(PENDING), read(PREVIOUS)) }).await;
    let current = current?.ok_or_else(|| unreadable(secret_id, CURRENT, "no current version"))?;
    SigningSecrets::new(current, [pending?, previous?].into_iter().flatten().collect())
}

fn unreadable(secret_id: &str, stage: &str, reason: &str) -> ConfigError {
    ConfigError::Invalid {
        name: SECRET_ID_VARIABLE,
        reason: format!("cannot read the {stage} version of the secret {secret_id}: {reason}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_version_must_be_long_enough_and_the_current_one_comes_first_once() {
        let (a, b) = (vec![1u8; 32], vec![2u8; 40]);
        assert!(SigningSecrets::new(vec![1u8; 31], vec![]).is_err());
        assert!(SigningSecrets::new(a.clone(), vec![vec![2u8; 31]]).is_err());
        let secrets = SigningSecrets::new(a.clone(), vec![a.clone(), b.clone(), b.clone()]).unwrap();
        let accepted: Vec<&[u8]> = secrets.accepted().collect();
        assert_eq!(accepted, vec![a.as_slice(), b.as_slice()]);
        assert_eq!(secrets.current(), a.as_slice());
        assert!(!format!("{secrets:?}").contains('\u{1}'), "the Debug form redacts the keys");
    }
}
