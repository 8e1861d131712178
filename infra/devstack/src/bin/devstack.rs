//! README command 1: the whole system on this machine. Starts DynamoDB Local and the SES v2 emulator,
//! creates the table from template.yaml, and serves every route on one localhost port through the local
//! gateway. New audit entries are published as Lambda would: the table's stream is read by the local stream
//! mapping, handed to the consumer's handler, and published to a local stand-in for EventBridge, which
//! logs each event. Mail is queued in the local SQS and sent by the mail queue's drainer, as on AWS.
//! Ctrl-C stops everything it started.

use std::net::SocketAddr;
use std::sync::Arc;

use accounts::config::Config;
use devstack::{local_app, services::Services, table::TableDefinition};

const USAGE: &str = "usage: devstack [--port N] [--dynamodb-port N] [--ses-port N] [--secrets-manager-port N] [--table NAME] (0: a free port)";

struct Options {
    port: u16,
    dynamodb_port: u16,
    ses_port: u16,
    secrets_manager_port: u16,
    table: String,
}

fn options() -> Result<Options, String> {
    let mut options = Options {
        port: 3000,
        dynamodb_port: 8000,
        ses_port: 8005,
        secrets_manager_port: 8010,
        table: "webknossos-accounts-local".into(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"));
        let port = |v: String| v.parse::<u16>().map_err(|_| format!("{v:?} is not a port\n{USAGE}"));
        match flag.as_str() {
            "--port" => options.port = port(value()?)?,
            "--dynamodb-port" => options.dynamodb_port = port(value()?)?,
            "--ses-port" => options.ses_port = port(value()?)?,
            "--secrets-manager-port" => options.secrets_manager_port = port(value()?)?,
            "--table" => options.table = value()?,
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    // Port 0: a free one, picked as the tests pick theirs (devstack::services::free_port), never by
    // binding port 0 and letting it go.
    for port in
        [&mut options.port, &mut options.dynamodb_port, &mut options.ses_port, &mut options.secrets_manager_port]
    {
        if *port == 0 {
            *port = devstack::services::free_port();
        }
    }
    Ok(options)
}

/// A development secret kept in `infra/.local/{name}`, made on first use, so sessions outlive a restart.
fn development_secret(name: &str) -> Result<String, String> {
    let path = devstack::repo_root().join("infra/.local").join(name);
    if let Ok(secret) = std::fs::read_to_string(&path) {
        return Ok(secret.trim().to_owned());
    }
    let secret = devstack::signing_key::random_secret();
    std::fs::create_dir_all(path.parent().expect("has a parent")).map_err(|e| e.to_string())?;
    std::fs::write(&path, &secret).map_err(|e| format!("{}: {e}", path.display()))?;
    println!("devstack: generated a development secret in {}", path.display());
    Ok(secret)
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let options = options()?;
    accounts::lambda::init_tracing();
    println!(
        "devstack: starting DynamoDB Local on port {}, the SES v2 emulator on port {} and Secrets Manager (moto) on port {} ...",
        options.dynamodb_port, options.ses_port, options.secrets_manager_port
    );
    let (dynamodb_port, ses_port, secrets_port) =
        (options.dynamodb_port, options.ses_port, options.secrets_manager_port);
    let services = tokio::task::spawn_blocking(move || Services::start(dynamodb_port, ses_port, secrets_port))
        .await
        .map_err(|e| e.to_string())??;
    // The functions' keys, read from the local Secrets Manager as a function reads them on AWS.
    use devstack::signing_key::{LOCAL_SEALING_KEY_SECRET_ID, LOCAL_SESSION_KEY_SECRET_ID, LOCAL_TOKEN_SECRET_ID};
    let secrets = devstack::signing_key::client(&services.secrets_manager_endpoint).await;
    devstack::signing_key::ensure(&secrets, LOCAL_SESSION_KEY_SECRET_ID, &development_secret("session-key")?).await?;
    devstack::signing_key::ensure(&secrets, LOCAL_TOKEN_SECRET_ID, &development_secret("token-secret")?).await?;
    let sealing = development_secret("sso-sealing-key")?;
    devstack::signing_key::ensure(&secrets, LOCAL_SEALING_KEY_SECRET_ID, &sealing).await?;
    let keys = devstack::signing_key::key_material(
        &services.secrets_manager_endpoint,
        LOCAL_SESSION_KEY_SECRET_ID,
        LOCAL_TOKEN_SECRET_ID,
        Some(LOCAL_SEALING_KEY_SECRET_ID),
    )
    .await?;
    let mut config = Config::from_env_with(
        options.table.clone(),
        keys,
        &format!("http://localhost:{}", options.port),
        "no-reply@webknossos.local",
    )
    .map_err(|e| e.to_string())?;
    // Every mail goes through one of the two mail lanes in the local SQS, each sent by a drainer below.
    let queue = devstack::mail_queue::MailQueue::local_stack(&services.sqs_endpoint, &options.table).await?;
    let security = devstack::mail_queue::MailQueue::local_security_lane(&services.sqs_endpoint, &options.table).await?;
    config.mail_queue_url = queue.url.clone();
    config.mail_security_queue_url = security.url.clone();
    // Organizations' connections may name a provider on this machine (the local one, below).
    config.sso_local_issuers = true;
    // Single sign-on with a local OpenID provider, unless the environment names a real one.
    let provider = if config.oidc.is_none() {
        println!("devstack: starting the OpenID provider (infra/oidc-provider.mjs) ...");
        let provider = tokio::task::spawn_blocking(|| devstack::services::start_oidc_provider(0))
            .await
            .map_err(|e| e.to_string())??;
        let issuer = devstack::oidc::issuer(&provider.endpoint);
        let redirect_uri = accounts::domain::sso::redirect_uri(&config.public_uri);
        let client_id = devstack::oidc::register_client(&issuer, &redirect_uri).await?;
        // Trusted: an account with a provider's verified address (create one as ada@uni.example) signs in.
        config.oidc = Some(accounts::config::OidcConnection { issuer, client_id, trusted: true });
        Some(provider)
    } else {
        None
    };
    let public_uri = config.public_uri.clone();
    let public_keys =
        devstack::signing_key::public_keys_setting(&services.secrets_manager_endpoint, LOCAL_SESSION_KEY_SECRET_ID)
            .await?;
    let (config_oidc, self_registration) = (config.oidc.clone(), config.self_registration_organization.clone());
    let app = Arc::new(local_app(config, &services.dynamodb_endpoint, &services.ses_endpoint, &services.sqs_endpoint));
    println!("devstack: creating table {} from template.yaml ...", options.table);
    TableDefinition::from_repo_template()?
        .create(&devstack::local_dynamodb(&services.dynamodb_endpoint), &options.table)
        .await?;
    // Lambda's event source mappings of the mail lanes.
    let mail = (queue.drain_in_background(app.clone()), security.drain_in_background(app.clone()));
    let bus = devstack::event_bus::FakeEventBus::start();
    let publisher = accounts::events::EventPublisher::new(
        devstack::event_bus::local_client(&bus.endpoint),
        &format!("{}-audit", options.table),
        &public_uri,
    );
    let mut mapping =
        devstack::stream::StreamMapping::for_table(&services.dynamodb_endpoint, &options.table, 100).await?;
    let events = tokio::spawn(async move {
        loop {
            let publisher = &publisher;
            let handler =
                |event| async move { accounts::events::handle(publisher, event).await.map_err(|e| e.to_string()) };
            if let Err(e) = mapping.deliver_all(handler, u32::MAX).await {
                eprintln!("devstack: reading the table's stream: {e}");
            }
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    });
    let (address, server) = devstack::gateway::spawn(app, SocketAddr::from(([127, 0, 0, 1], options.port)))
        .await
        .map_err(|e| format!("cannot listen on port {}: {e}", options.port))?;
    println!();
    println!("  Pages:      {public_uri}/  (open it in a browser; links in mails point here)");
    println!("  API:        http://{address}/api  (try: curl http://{address}/api/buildinfo)");
    println!(
        "  Mail inbox: {}/  (sent mail as JSON: {}/store; mail goes through the queue at {})",
        services.ses_endpoint, services.ses_endpoint, services.sqs_endpoint
    );
    println!("  DynamoDB:   {}  (table {})", services.dynamodb_endpoint, options.table);
    println!(
        "  Secrets:    {}  (the secrets {LOCAL_SESSION_KEY_SECRET_ID}, {LOCAL_TOKEN_SECRET_ID} and {LOCAL_SEALING_KEY_SECRET_ID})",
        services.secrets_manager_endpoint
    );
    println!("  SESSION_PUBLIC_KEYS for functions run against it (events/env.json): {}", public_keys);
    println!("  Events:     audit events are logged as `event published` (a local stand-in bus at {})", bus.endpoint);
    if let Some(oidc) = &config_oidc {
        let newcomers = match &self_registration {
            Some(organization) => format!("new people join {organization}"),
            None => "new people need an invite (SELF_REGISTRATION_ORGANIZATION is unset)".to_owned(),
        };
        println!(
            "  Single sign-on: {} — on the login page, \"Sign in with your institution\", then the provider's \
             login ada or grace (verified addresses at uni.example), eve (not verified) or mallory, any password. \
             An account with that address signs in{}; {newcomers}.",
            oidc.issuer,
            if oidc.trusted { " (this connection is trusted)" } else { " once linked" },
        );
    }
    println!();
    println!("devstack: running; press Ctrl-C to stop everything.");
    tokio::signal::ctrl_c().await.map_err(|e| e.to_string())?;
    println!("devstack: stopping ...");
    server.abort();
    events.abort();
    mail.0.abort();
    mail.1.abort();
    drop(provider);
    drop(services);
    Ok(())
}
