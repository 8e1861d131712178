//! Running the real function binaries: where they are, the environment template.yaml gives them, and
//! the data the sample events in `events/` name. Used by the binary-level tests and the benchmark.

use std::path::PathBuf;

use serde_json::json;

use crate::*;

/// A function binary as `cargo build [--release] --workspace --bins` left it (`profile`: debug or
/// release); the README's test command builds the debug ones first. With `FUNCTION_ARTIFACTS` set (to
/// `.aws-sam/build`), a function's deployed artifact instead: `{FunctionLogicalId}/bootstrap`.
pub fn binary(profile: &str, name: &str) -> PathBuf {
    if let Some(artifacts) = std::env::var_os("FUNCTION_ARTIFACTS").filter(|a| !a.is_empty()) {
        let path = PathBuf::from(artifacts).join(devstack::template::logical_id(name)).join("bootstrap");
        assert!(path.is_file(), "{} is missing: `bash infra/sam-build.sh` makes it", path.display());
        return path;
    }
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| devstack::repo_root().join("target"));
    let path = target.join(profile).join(name);
    assert!(
        path.is_file(),
        "{} is missing: build the functions first (`cargo build --workspace --bins`, which the README's test command runs)",
        path.display()
    );
    path
}

/// The names of the test's session secret and token secret in the local Secrets Manager.
pub fn secret_ids(env: &TestEnv) -> (String, String) {
    (format!("{}-session-key", env.table), format!("{}-token-secret", env.table))
}

static EVENT_BUS: std::sync::OnceLock<devstack::event_bus::FakeEventBus> = std::sync::OnceLock::new();

/// The stand-in for EventBridge the function binaries publish to (one per test process; each test's
/// events name its table as their bus).
pub fn event_bus() -> &'static devstack::event_bus::FakeEventBus {
    EVENT_BUS.get_or_init(devstack::event_bus::FakeEventBus::start)
}

/// The environment template.yaml gives every function, pointed at this test's table and services. The
/// two secrets (named after the table) are put into the local Secrets Manager, where the functions that
/// use them read them when they start; the session public keys are configured.
pub async fn function_environment(env: &TestEnv) -> Vec<(String, String)> {
    let config = &env.app.config;
    let secrets = devstack::signing_key::client(&services().secrets_manager_endpoint).await;
    let (session_key, token_secret) = secret_ids(env);
    // Single sign-on with the local provider: the env's own connection when it has one (so a sign-in the
    // env starts finishes in a binary), else this env registered as a new client.
    let (oidc_issuer, oidc_client_id) = match &config.oidc {
        Some(connection) => (connection.issuer.clone(), connection.client_id.clone()),
        None => {
            let issuer = tokio::task::spawn_blocking(crate::sso::provider_issuer).await.expect("the provider starts");
            let callback = accounts::domain::sso::redirect_uri(&config.public_uri);
            let client_id = devstack::oidc::register_client(&issuer, &callback).await.expect("registered");
            (issuer, client_id)
        }
    };
    devstack::signing_key::ensure(&secrets, &session_key, TEST_SESSION_SECRET)
        .await
        .expect("the session secret is stored");
    devstack::signing_key::ensure(&secrets, &token_secret, TEST_TOKEN_SECRET)
        .await
        .expect("the token secret is stored");
    let sealing_key = format!("{}/sso-sealing-key", env.table);
    devstack::signing_key::ensure(&secrets, &sealing_key, crate::config::TEST_SEALING_KEY)
        .await
        .expect("the sealing key is stored");
    let public_keys = devstack::signing_key::public_keys_setting(&services().secrets_manager_endpoint, &session_key)
        .await
        .expect("the session secret is read");
    let mut vars = vec![
        ("TABLE_NAME", env.table.clone()),
        (accounts::signing::SESSION_KEY_SECRET_VARIABLE, session_key),
        (accounts::signing::TOKEN_SECRET_VARIABLE, token_secret),
        (accounts::keys::SEALING_KEY_SECRET_VARIABLE, sealing_key),
        ("SSO_LOCAL_ISSUERS", "true".to_owned()),
        ("DNS_OVER_HTTPS_URL", crate::dns::resolver_url()),
        (accounts::keys::SESSION_PUBLIC_KEYS_VARIABLE, public_keys),
        (accounts::signing::ENDPOINT_VARIABLE, services().secrets_manager_endpoint.clone()),
        ("PUBLIC_URI", config.public_uri.clone()),
        ("MAIL_SENDER", config.mail_sender.clone()),
        ("MAIL_CONFIGURATION_SET", crate::MAIL_CONFIGURATION_SET.to_owned()),
        ("MAIL_EVENTS_TOPIC_ARN", crate::MAIL_EVENTS_TOPIC.to_owned()),
        ("SESSION_LIFETIME_HOURS", "1".to_owned()),
        ("SELF_REGISTRATION_ORGANIZATION", HOME_ORGANIZATION.to_owned()),
        ("OIDC_ISSUER", oidc_issuer.clone()),
        ("OIDC_CLIENT_ID", oidc_client_id),
        ("INVITE_LIFETIME_DAYS", "14".to_owned()),
        ("INVITE_RETENTION_DAYS", "7".to_owned()),
        ("SUPER_USER_EMAILS", SUPER_USER.to_owned()),
        ("EMAIL_VERIFICATION_ACTIVATED", "false".to_owned()),
        ("EMAIL_VERIFICATION_REQUIRED", "false".to_owned()),
        ("EMAIL_VERIFICATION_GRACE_DAYS", "7".to_owned()),
        ("EMAIL_VERIFICATION_LINK_DAYS", "30".to_owned()),
        ("PASSWORD_RESET_LIFETIME_HOURS", "24".to_owned()),
        ("LOGIN_FAILURES_PER_ADDRESS_AND_CLIENT", "5".to_owned()),
        ("LOGIN_FAILURES_PER_CLIENT", "100".to_owned()),
        ("LOGIN_LOCK_MINUTES", "15".to_owned()),
        ("ORGANIZATION_CREATION", "anyone".to_owned()),
        ("MAIL_QUOTA_PER_ORGANIZATION_PER_DAY", config.mail_limits.per_organization_per_day.to_string()),
        ("MAIL_QUOTA_PER_RECIPIENT_PER_DAY", config.mail_limits.per_recipient_per_day.to_string()),
        ("MAIL_BUDGET_PER_ORGANIZATION_PER_DAY", config.mail_limits.per_organization_all_per_day.to_string()),
        // The samples resend an invite right after sending it.
        ("INVITE_RESEND_COOLDOWN_MINUTES", "0".to_owned()),
        ("DYNAMODB_ENDPOINT", services().dynamodb_endpoint.clone()),
        ("SES_ENDPOINT", services().ses_endpoint.clone()),
        ("SQS_ENDPOINT", services().sqs_endpoint.clone()),
        ("MAIL_QUEUE_URL", env.mail_queue().url.clone()),
        ("MAIL_SECURITY_QUEUE_URL", env.security_mail_queue().url.clone()),
        ("MAIL_SEND_RATE", "1000".to_owned()),
        (accounts::events::BUS_VARIABLE, env.table.clone()),
        (accounts::events::ENDPOINT_VARIABLE, event_bus().endpoint.clone()),
        ("RUST_LOG", "info".to_owned()),
    ];
    if let Ok(log) = std::env::var(accounts::declared_actions::ACTIONS_USED_LOG) {
        vars.push((accounts::declared_actions::ACTIONS_USED_LOG, log));
    }
    vars.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// Prepares what the samples' placeholders name and returns their values.
pub async fn prepare(env: &TestEnv) -> Vec<(&'static str, String)> {
    let owner = env.create_home_organization().await;
    let spare_session = env.login(&owner.email, PASSWORD).await;
    let team = env.team(&owner.auth(), "Red").await;
    let spare_team = env.team(&owner.auth(), "Temporary").await;
    let member = env.member(&owner, "Rosa", "Franklin", &[(&team, false)]).await;
    let guest_organization_name = organization_name("Guest Lab");
    let guest = env.create_organization(&guest_organization_name).await;
    let operator_session = env.operator().await.session;
    let listed = format!("list-{}@example.org", &accounts::ids::new_object_id()[..8]);
    let notify_token = env.notification_token(&owner.auth(), &owner.organization, &listed).await;
    // The operator grants the role to the owner, which needs the owner's address verified.
    env.verify_email(&owner.email, &owner.auth()).await;
    // A reset link for another member, and a verification link for the guest.
    let resetting = env.member(&owner, "Reset", "Me", &[]).await;
    let asked = env.client(&Auth::None).start_reset_password(&resetting.email).await;
    assert_eq!(asked.status, 200, "{:?}", asked.body);
    let reset_token =
        link_token(&resetting.email, "finishResetPassword?token=", &env.account_id(&resetting.email).await)
            .await
            .expect("the reset mail arrived");
    let asked = env.client(&guest.auth()).request_verification().await;
    assert_eq!(asked.status, 200, "{:?}", asked.body);
    let verify_key = link_token(&guest.email, "/verifyEmail/", &env.account_id(&guest.email).await)
        .await
        .expect("the verification mail arrived");
    // One invite for the guest to accept, another to resend and revoke.
    let sent = env.client(&owner.auth()).send_invites(json!({"recipients": [guest.email], "autoActivate": true})).await;
    assert_eq!(sent.status, 200, "{:?}", sent.body);
    let token = invite_token(mails_to(&guest.email).await.last().expect("the guest got the invite"));
    let pending_email = format!("pending-{}@example.org", &accounts::ids::new_object_id()[..8]);
    let sent = env.client(&owner.auth()).send_invites(json!({"recipients": [pending_email]})).await;
    let invites = env.client(&owner.auth()).invites("state=pending").await;
    let invite_id = invites
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["email"] == pending_email.as_str())
        .unwrap_or_else(|| panic!("{:?}", sent.body))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    vec![
        ("SESSION", owner.session.clone()),
        ("SPARE_SESSION", spare_session),
        ("GUEST_SESSION", guest.session.clone()),
        ("OPERATOR_SESSION", operator_session),
        ("MEMBER_SESSION", member.session.clone()),
        ("NEW_PASSWORD", "another horse battery".to_owned()),
        ("RESET_TOKEN", reset_token),
        ("VERIFY_KEY", verify_key),
        ("NOTIFY_TOKEN", notify_token),
        ("EMAIL", owner.email.clone()),
        ("ORGANIZATION", owner.organization.clone()),
        ("GUEST_ORGANIZATION", guest.organization.clone()),
        ("GUEST_ORGANIZATION_NAME", guest_organization_name),
        ("USER_ID", member.user_id.clone()),
        ("TEAM_ID", team),
        ("SPARE_TEAM_ID", spare_team),
        ("INVITE_TOKEN", token),
        ("INVITE_ID", invite_id),
        ("UNIQUE", accounts::ids::new_object_id()[..10].to_owned()),
        ("OIDC_ISSUER", tokio::task::spawn_blocking(crate::sso::provider_issuer).await.expect("the provider starts")),
    ]
}
