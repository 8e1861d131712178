//! Grants (or with `--revoke`, takes back) the instance operator role: what a deployment administrator with
//! table access runs to make the first operator, the same code `POST /api/operators` runs for an operator.
//! The account of the address must exist and have its address verified. The grant is audited in the
//! account's organizations and mailed to every operator.
//!
//! Options: --email ADDRESS or --revoke ADDRESS (one of them), --table NAME (default the local stack's),
//! --dynamodb-endpoint URL (default the local stack's; `aws` for AWS with the environment's credentials),
//! --sqs-endpoint URL (default the local stack's moto server; `aws` for AWS), --mail-queue URL (on AWS the
//! stack's mail queue, its `MailQueueUrl` output; default the local stack's queue for the table).

use std::process::ExitCode;

use accounts::domain::operators::{self, Grantor};
use devstack::table_tool::{TableTool, exit};

#[tokio::main]
async fn main() -> ExitCode {
    exit("grant-operator", run().await)
}

async fn run() -> Result<ExitCode, String> {
    let usage = "--email ADDRESS | --revoke ADDRESS [--table NAME] [--dynamodb-endpoint URL|aws] \
                 [--sqs-endpoint URL|aws] [--mail-queue URL]";
    let tool = TableTool::from_args(&["--email", "--revoke", "--mail-queue", "--sqs-endpoint"], usage).await?;
    let (email, revoking) = match (tool.option("--email"), tool.option("--revoke")) {
        (Some(email), None) => (email, false),
        (None, Some(email)) => (email, true),
        _ => return Err(format!("give one of --email and --revoke (use {usage})")),
    };
    // Nothing here signs: the keys only complete the configuration.
    let random = accounts::keys::SigningSecrets::new(accounts::ids::random_bytes::<32>().to_vec(), vec![])
        .map_err(|e| e.to_string())?;
    let keys = accounts::keys::KeyMaterial::from_secrets(random.clone(), random);
    let mut config =
        accounts::config::Config::from_env_with(tool.table.clone(), keys, "http://localhost:3000", "unused@local")
            .map_err(|e| e.to_string())?;
    let sqs_endpoint = tool.option("--sqs-endpoint").unwrap_or(devstack::signing_key::LOCAL_ENDPOINT);
    let queue = if sqs_endpoint == "aws" {
        aws_sdk_sqs::Client::new(&aws_config::defaults(aws_config::BehaviorVersion::latest()).load().await)
    } else {
        aws_sdk_sqs::Client::new(&devstack::local_sdk_config(sqs_endpoint))
    };
    config.mail_queue_url = match tool.option("--mail-queue") {
        Some(url) => url.to_owned(),
        None if sqs_endpoint == "aws" => return Err("--mail-queue URL is needed on AWS".into()),
        None => {
            devstack::mail_queue::MailQueue::local_stack(sqs_endpoint, &tool.table)
                .await
                .map_err(|e| format!("{e} (start the local stack first)"))?
                .url
        }
    };
    let ses = aws_sdk_sesv2::Client::new(&devstack::local_sdk_config("http://127.0.0.1:1"));
    let db = accounts::store::Db::guarded(tool.client.clone(), config.table_name.clone());
    let app = accounts::App::new(config, db, ses, queue);
    // A tool, not a function: its calls are not checked against a function's declaration.
    let done = accounts::declared_actions::unchecked(async {
        if revoking {
            operators::revoke(&app, Grantor::Command, email).await.map(|()| format!("{email} is no longer an operator"))
        } else {
            operators::grant(&app, Grantor::Command, email)
                .await
                .map(|grant| format!("{email} (account {}) is now an instance operator", grant.account_id))
        }
    })
    .await;
    match done {
        Ok(message) => {
            println!("grant-operator: {message}; the operators were mailed");
            Ok(ExitCode::SUCCESS)
        }
        Err(refused) => {
            eprintln!("grant-operator: {} ({})", refused.message, refused.code);
            Ok(ExitCode::FAILURE)
        }
    }
}
