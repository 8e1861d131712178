//! A test env's configuration: the test keys, the mail queues' timing, and everything else `Config` holds.

use accounts::config::Config;

pub const PASSWORD: &str = "correct horse battery";
/// The instance operator of a test env (configured by e-mail, as deployments do).
pub const SUPER_USER: &str = "operator@instance.test";
/// The topic and configuration set this stack's mail events come from (as `template.yaml` names them for a
/// stack `webknossos-accounts` in the sample account).
pub const MAIL_EVENTS_TOPIC: &str = "arn:aws:sns:eu-central-1:123456789012:webknossos-accounts-mail-events";
pub const MAIL_CONFIGURATION_SET: &str = "webknossos-accounts-mail";
/// The other origin a test env lets call the API from a browser (`CORS_ALLOWED_ORIGINS`).
pub const CORS_ORIGIN: &str = "https://lab.example.org";
/// The account mail is sent from (the topic's).
pub const MAIL_ACCOUNT: &str = "123456789012";
/// The organization a test env lets people register into without an invite (create it to use it).
pub const HOME_ORGANIZATION: &str = "home";

/// A test's mail queue: a mail SES did not take is received again after three seconds (longer than a
/// drainer's tries of an unreachable SES take), three times in all, then it is in the dead-letter queue.
pub const MAIL_QUEUE_MAX_RECEIVES: u32 = 3;
pub const MAIL_QUEUE_VISIBILITY_SECONDS: u32 = 3;

/// The tests' session secret (`test_config`, and the secret the function binaries that mint sessions read
/// at start-up): its derived Ed25519 key signs sessions.
pub const TEST_SESSION_SECRET: &str = "test-session-secret-that-is-long-enough!";
/// The tests' token secret (API tokens, invite links, device cookies, request fingerprints).
pub const TEST_TOKEN_SECRET: &str = "test-token-secret-that-is-long-enough!!!";

/// The tests' sealing key (organizations' client secrets).
pub const TEST_SEALING_KEY: &str = "test-sealing-key-that-is-long-enough!!!!";

/// Every key, from the three test secrets.
pub fn test_keys() -> accounts::keys::KeyMaterial {
    let secret =
        |value: &str| accounts::keys::SigningSecrets::new(value.as_bytes().to_vec(), vec![]).expect("long enough");
    accounts::keys::KeyMaterial::from_secrets(secret(TEST_SESSION_SECRET), secret(TEST_TOKEN_SECRET))
        .with_sealing(secret(TEST_SEALING_KEY))
}

pub fn test_config(table: &str) -> Config {
    Config {
        table_name: table.to_owned(),
        keys: test_keys(),
        public_uri: "http://localhost:3000".into(),
        mail_sender: "no-reply@webknossos.test".into(),
        mail_configuration_set: None,
        mail_events: Some(accounts::config::MailEventsSource {
            topic_arn: MAIL_EVENTS_TOPIC.into(),
            configuration_set: MAIL_CONFIGURATION_SET.into(),
        }),
        // Set by the env to its own queue.
        mail_queue_url: String::new(),
        mail_security_queue_url: String::new(),
        cors_allowed_origins: vec![CORS_ORIGIN.into()],
        // Fast enough not to slow the tests; `mail_queue.rs` checks the pace at a lower rate.
        mail_send_rate: 1000.0,
        session_lifetime: std::time::Duration::from_secs(3600),
        invite_lifetime: accounts::config::DEFAULT_INVITE_LIFETIME,
        invite_retention: accounts::config::DEFAULT_INVITE_RETENTION,
        audit_retention: accounts::config::DEFAULT_AUDIT_RETENTION,
        super_users: vec![SUPER_USER.into()],
        email_verification: Default::default(),
        password_reset_lifetime: accounts::config::DEFAULT_PASSWORD_RESET_LIFETIME,
        // No response floor: tests fail logins by the hundred; `credentials.rs` tests the floor.
        login: accounts::config::LoginLimits { response_floor: std::time::Duration::ZERO, ..Default::default() },
        // No cooldown: tests resend at once; `invites.rs` tests the cooldown with its own configuration.
        // Requests to the operators: enough for the permission matrix; `organizations.rs` tests the limit.
        mail_limits: accounts::config::MailLimits {
            resend_cooldown: std::time::Duration::ZERO,
            plan_requests_per_day: 100,
            ..Default::default()
        },
        organization_creation: Default::default(),
        edge_origin_verify: None,
        oidc: None,
        // The tests' providers run on this machine.
        sso_local_issuers: true,
        dns_over_https_url: crate::dns::resolver_url(),
        self_registration_organization: Some(HOME_ORGANIZATION.into()),
        // Cheap hashes: at OWASP's cost, hashing was a third of the test process's CPU (perf). The unit
        // tests of `accounts::password` check OWASP's cost, and `binaries.rs` runs the functions with it.
        password_hashing: accounts::config::PasswordHashing { memory_kib: 64, passes: 1 },
    }
}
