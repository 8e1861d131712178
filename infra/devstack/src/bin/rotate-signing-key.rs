//! Rotates one of the two secrets in two steps (docs/deploy.md, "Rotating the keys"):
//!
//!   rotate-signing-key --secret-id NAME [--secrets-manager-endpoint URL|aws] stage|promote|status|public-keys
//!
//! `stage` adds a new random version labelled AWSPENDING; `promote` makes it AWSCURRENT (the old one
//! becomes AWSPREVIOUS); `status` lists the labelled versions; `public-keys` prints, for the session
//! secret, the `SessionPublicKeys` parameter its labelled versions stand for. After each of the first
//! two, deploy (with the session secret, the new `SessionPublicKeys`; with the token secret, a new
//! `SigningKeyGeneration`) so every function starts again. Exit status 2 and the reason on standard error
//! when a step cannot be done.

use std::process::ExitCode;

use devstack::signing_key;

const USAGE: &str =
    "rotate-signing-key --secret-id NAME [--secrets-manager-endpoint URL|aws] stage|promote|status|public-keys";

async fn run() -> Result<ExitCode, String> {
    let (mut secret_id, mut endpoint, mut step) = (None, "aws".to_owned(), None);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--secret-id" => secret_id = Some(args.next().ok_or("--secret-id needs a value")?),
            "--secrets-manager-endpoint" => endpoint = args.next().ok_or("--secrets-manager-endpoint needs a value")?,
            "stage" | "promote" | "status" | "public-keys" if step.is_none() => step = Some(arg),
            other => return Err(format!("unexpected argument {other:?} (use {USAGE})")),
        }
    }
    let (Some(secret_id), Some(step)) = (secret_id, step) else { return Err(format!("use {USAGE}")) };
    let client = signing_key::client(&endpoint).await;
    match step.as_str() {
        "stage" => {
            let version = signing_key::stage(&client, &secret_id, &signing_key::random_secret()).await?;
            println!(
                "staged version {version} as AWSPENDING; now deploy: the session secret with the SessionPublicKeys \
                 that `public-keys` prints, the token secret with a new SigningKeyGeneration"
            );
        }
        "promote" => {
            let version = signing_key::promote(&client, &secret_id).await?;
            println!(
                "version {version} is AWSCURRENT; now deploy: the session secret with the SessionPublicKeys \
                 that `public-keys` prints, the token secret with a new SigningKeyGeneration"
            );
        }
        "public-keys" => {
            let versions = signing_key::load_labelled(&client, &secret_id).await?;
            println!("{}", accounts::keys::session_public_keys_setting(&versions));
        }
        _ => {
            for (version, stages) in signing_key::status(&client, &secret_id).await? {
                println!("{version} {}", stages.join(","));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[tokio::main]
async fn main() -> ExitCode {
    devstack::table_tool::exit("rotate-signing-key", run().await)
}
