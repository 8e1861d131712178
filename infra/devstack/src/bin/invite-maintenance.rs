//! Runs the daily invite job once against the local stack (README command 1 must be running), the same
//! code the scheduled Lambda function runs. Options: --dynamodb URL, --ses URL, --secrets-manager URL (the
//! local stack's moto server: its Secrets Manager and SQS),
//! --table NAME, --days-ahead N (pretend it is N days later, to see reminders and cleanup happen).

use accounts::config::Config;

#[tokio::main]
async fn main() -> Result<(), String> {
    let mut dynamodb = "http://127.0.0.1:8000".to_owned();
    let mut ses = "http://127.0.0.1:8005".to_owned();
    let mut secrets_manager = devstack::signing_key::LOCAL_ENDPOINT.to_owned();
    let mut table = "webknossos-accounts-local".to_owned();
    let mut days_ahead: i64 = 0;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--dynamodb" => dynamodb = value,
            "--ses" => ses = value,
            "--secrets-manager" => secrets_manager = value,
            "--table" => table = value,
            "--days-ahead" => days_ahead = value.parse().map_err(|_| format!("{value:?} is not a number of days"))?,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    // The keys the local stack's functions read, so reminders carry working links.
    let keys = devstack::signing_key::key_material(
        &secrets_manager,
        devstack::signing_key::LOCAL_SESSION_KEY_SECRET_ID,
        devstack::signing_key::LOCAL_TOKEN_SECRET_ID,
        None,
    )
    .await
    .map_err(|e| format!("{e} (start the local stack first)"))?;
    let config = Config::from_env_with(table.clone(), keys, "http://localhost:3000", "no-reply@webknossos.local")
        .map_err(|e| e.to_string())?;
    // Its mail goes into the local stack's queue, which the local stack sends.
    let queue = devstack::mail_queue::MailQueue::local_stack(&secrets_manager, &table).await?;
    let mut config = config;
    config.mail_queue_url = queue.url.clone();
    let app = devstack::local_app(config, &dynamodb, &ses, &secrets_manager);
    let now = accounts::ids::now_millis() + days_ahead * 24 * 3600 * 1000;
    let report = accounts::domain::daily::maintain(&app, now).await.map_err(|e| e.to_string())?;
    println!("{}", serde_json::to_string(&report).expect("serializes"));
    Ok(())
}
