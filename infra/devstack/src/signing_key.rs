//! The two secrets' tools (`accounts::keys`): the local stack's secrets, a rotation's two steps
//! (docs/deploy.md, "Rotating the keys") and the session public keys a deployment is configured with,
//! against AWS or a local Secrets Manager.
//!
//! 1. [`stage`]: a new random version labelled `AWSPENDING`. Functions that start from now on accept it
//!    but still sign with `AWSCURRENT`. Then every function is made to start again (a new
//!    `SigningKeyGeneration`), so none is left that would refuse the new key.
//! 2. [`promote`]: the staged version becomes `AWSCURRENT` and the old one `AWSPREVIOUS` (still
//!    accepted). Functions started again sign with the new key.

use accounts::signing::{CURRENT, PENDING};
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::DisplayErrorContext;

/// The local stack's token secret (template.yaml's default name).
pub const LOCAL_TOKEN_SECRET_ID: &str = "webknossos-accounts/token-secret";
/// The local stack's session secret (template.yaml's default name).
pub const LOCAL_SESSION_KEY_SECRET_ID: &str = "webknossos-accounts/session-key";
/// The local stack's sealing key (template.yaml makes it on AWS).
pub const LOCAL_SEALING_KEY_SECRET_ID: &str = "webknossos-accounts/sso-sealing-key";
/// The local stack's Secrets Manager.
pub const LOCAL_ENDPOINT: &str = "http://127.0.0.1:8010";

/// The versions of a secret a function started now would read from the Secrets Manager at `endpoint` (the
/// same reading, `accounts::signing::load`).
pub async fn read(endpoint: &str, secret_id: &str) -> Result<accounts::keys::SigningSecrets, String> {
    load_labelled(&client(endpoint).await, secret_id).await
}

/// The secret's current, staged and previous versions, read with `client`.
pub async fn load_labelled(client: &Client, secret_id: &str) -> Result<accounts::keys::SigningSecrets, String> {
    accounts::signing::load(client, "--secret-id", secret_id).await.map_err(|e| e.to_string())
}

/// Every key, from the secrets as they are now: what the local stack's in-process functions run with (and
/// the public keys they verify with are those of the session secret's accepted versions, as
/// `SessionPublicKeys` would list them). The sealing key only when `sealing_key_id` names it.
pub async fn key_material(
    endpoint: &str,
    session_key_id: &str,
    token_secret_id: &str,
    sealing_key_id: Option<&str>,
) -> Result<accounts::keys::KeyMaterial, String> {
    let (session, tokens) = tokio::try_join!(read(endpoint, session_key_id), read(endpoint, token_secret_id))?;
    let material = accounts::keys::KeyMaterial::from_secrets(session, tokens);
    Ok(match sealing_key_id {
        Some(id) => material.with_sealing(read(endpoint, id).await?),
        None => material,
    })
}

/// `SessionPublicKeys` for the session secret as it is now: its accepted versions' public keys.
pub async fn public_keys_setting(endpoint: &str, session_key_id: &str) -> Result<String, String> {
    Ok(accounts::keys::session_public_keys_setting(&read(endpoint, session_key_id).await?))
}

/// A tool's Secrets Manager client: `aws` for AWS with the environment's credentials and region,
/// otherwise a local endpoint.
pub async fn client(endpoint: &str) -> Client {
    if endpoint == "aws" {
        Client::new(&aws_config::defaults(aws_config::BehaviorVersion::latest()).load().await)
    } else {
        Client::new(&crate::local_sdk_config(endpoint))
    }
}

fn failed<E: std::error::Error>(what: &str, secret_id: &str, err: E) -> String {
    format!("{what} {secret_id}: {}", DisplayErrorContext(err))
}

/// A new random secret: 48 bytes, hex.
pub fn random_secret() -> String {
    accounts::ids::random_bytes::<48>().iter().map(|b| format!("{b:02x}")).collect()
}

/// Creates the secret with `value` as its current version, or makes `value` its current version if the
/// secret exists with another one (the local stack, whose key is kept in infra/.local/).
pub async fn ensure(client: &Client, secret_id: &str, value: &str) -> Result<(), String> {
    match client.get_secret_value().secret_id(secret_id).send().await {
        Ok(output) if output.secret_string.as_deref() == Some(value) => Ok(()),
        Ok(_) => client
            .put_secret_value()
            .secret_id(secret_id)
            .secret_string(value)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| failed("cannot update", secret_id, e)),
        Err(err) if err.as_service_error().is_some_and(|e| e.is_resource_not_found_exception()) => client
            .create_secret()
            .name(secret_id)
            .secret_string(value)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| failed("cannot create", secret_id, e)),
        Err(err) => Err(failed("cannot read", secret_id, err)),
    }
}

/// Each version of the secret that has a label, with its labels.
pub async fn status(client: &Client, secret_id: &str) -> Result<Vec<(String, Vec<String>)>, String> {
    let described = client
        .describe_secret()
        .secret_id(secret_id)
        .send()
        .await
        .map_err(|e| failed("cannot describe", secret_id, e))?;
    let mut versions: Vec<(String, Vec<String>)> =
        described.version_ids_to_stages.unwrap_or_default().into_iter().collect();
    versions.retain(|(_, stages)| !stages.is_empty());
    versions.sort();
    Ok(versions)
}

fn labelled(versions: &[(String, Vec<String>)], stage: &str) -> Option<String> {
    versions.iter().find(|(_, stages)| stages.iter().any(|s| s == stage)).map(|(id, _)| id.clone())
}

/// Step 1: stages `value` as the next version (`AWSPENDING`, moved from any earlier staged version).
/// Returns its version id.
pub async fn stage(client: &Client, secret_id: &str, value: &str) -> Result<String, String> {
    let output = client
        .put_secret_value()
        .secret_id(secret_id)
        .secret_string(value)
        .version_stages(PENDING)
        .send()
        .await
        .map_err(|e| failed("cannot stage a new version of", secret_id, e))?;
    output.version_id.ok_or_else(|| format!("{secret_id}: the new version has no id"))
}

/// Step 2: the staged version becomes current (the current one becomes `AWSPREVIOUS`) and is no longer
/// labelled pending. Refused when nothing is staged.
pub async fn promote(client: &Client, secret_id: &str) -> Result<String, String> {
    let versions = status(client, secret_id).await?;
    let staged = labelled(&versions, PENDING)
        .ok_or_else(|| format!("{secret_id} has no staged ({PENDING}) version: run the stage step first"))?;
    let current = labelled(&versions, CURRENT).ok_or_else(|| format!("{secret_id} has no {CURRENT} version"))?;
    client
        .update_secret_version_stage()
        .secret_id(secret_id)
        .version_stage(CURRENT)
        .move_to_version_id(&staged)
        .remove_from_version_id(&current)
        .send()
        .await
        .map_err(|e| failed("cannot make the staged version current in", secret_id, e))?;
    client
        .update_secret_version_stage()
        .secret_id(secret_id)
        .version_stage(PENDING)
        .remove_from_version_id(&staged)
        .send()
        .await
        .map_err(|e| failed("cannot remove the pending label in", secret_id, e))?;
    Ok(staged)
}
