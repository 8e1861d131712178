//! Deployment configuration, read once per process from the environment that template.yaml (or the
//! local stack) sets. Nothing secret is ever a literal in the code.

use std::time::Duration;

pub use crate::config_error::ConfigError;
use crate::keys::KeyMaterial;

#[derive(Clone)]
pub struct Config {
    pub table_name: String,
    /// What this function signs and verifies with (`crate::keys`): the session public keys from the
    /// configuration, and the secrets it reads from Secrets Manager at start-up, if its operation uses them.
    pub keys: KeyMaterial,
    /// Base URI of the web front end, used for links in mails and as the JWT issuer.
    pub public_uri: String,
    pub mail_sender: String,
    /// The SES configuration set mail is sent with (`MAIL_CONFIGURATION_SET`; its events report bounces and
    /// complaints); `None`: none (the local SES emulator).
    pub mail_configuration_set: Option<String>,
    /// Where SES's bounce and complaint events for this stack come from (`MAIL_EVENTS_TOPIC_ARN` with the
    /// configuration set); `None`: every event is dropped.
    pub mail_events: Option<MailEventsSource>,
    /// Other origins whose pages may call the API from a browser (`CORS_ALLOWED_ORIGINS`, comma-separated;
    /// API Gateway's CORS settings name the same): their logins are not refused as cross-site.
    pub cors_allowed_origins: Vec<String>,
    /// The queue every mail goes through (`MAIL_QUEUE_URL`); `send_mail` drains it into SES.
    pub mail_queue_url: String,
    /// The security lane (`MAIL_SECURITY_QUEUE_URL`): reset and verification links, "password changed",
    /// "address changed" go through it, so a backlog of other mail never delays them; empty: the one queue.
    pub mail_security_queue_url: String,
    /// Mails per second the drainer sends at, in all (`MAIL_SEND_RATE`; SES's sending rate: 1 in the
    /// sandbox, about 14 in production).
    pub mail_send_rate: f64,
    pub session_lifetime: Duration,
    /// The organization people may register into without an invite; `None`: invite only.
    pub self_registration_organization: Option<String>,
    /// How long an invite link works.
    pub invite_lifetime: Duration,
    /// How long ended (expired, used, revoked) invites stay listed before the daily job deletes them.
    pub invite_retention: Duration,
    /// How long audit entries are kept before the table's TTL removes them.
    pub audit_retention: Duration,
    /// Candidate addresses of instance operators, lowercased: no account may move onto one. The role itself
    /// is granted to accounts (`crate::domain::operators`).
    pub super_users: Vec<String>,
    /// E-mail verification (WEBKNOSSOS's `emailVerification.*`).
    pub email_verification: EmailVerificationConfig,
    /// How long a password reset link works (WEBKNOSSOS: 1 day).
    pub password_reset_lifetime: Duration,
    /// Login's guard against guessing.
    pub login: LoginLimits,
    /// Limits on the mail that people can make this instance send (invites).
    pub mail_limits: MailLimits,
    /// Who may create an organization with `POST /auth/createOrganizationWithAdmin`.
    pub organization_creation: OrganizationCreation,
    /// With the edge (CloudFront and its web ACL, template parameter `EdgeProtection`): the value of the
    /// origin header CloudFront adds to every request (`EDGE_ORIGIN_VERIFY`). A request without it did not
    /// come through the edge (403), and the client address is the viewer's (`crate::edge`). `None`: no edge.
    pub edge_origin_verify: Option<String>,
    /// The instance-wide single sign-on connection (`OIDC_ISSUER`, `OIDC_CLIENT_ID`, `OIDC_TRUSTED`):
    /// WEBKNOSSOS's one OpenID provider for the whole instance. `None`: no single sign-on.
    pub oidc: Option<OidcConnection>,
    /// Organizations' connections may name an `http` issuer on this machine's loopback
    /// (`SSO_LOCAL_ISSUERS`): the local stack and the tests only. template.yaml never sets it: on AWS a
    /// loopback address would reach the Lambda runtime's own endpoints.
    pub sso_local_issuers: bool,
    /// Where domains' TXT records are looked up (`DNS_OVER_HTTPS_URL`, a DNS-over-HTTPS JSON endpoint).
    pub dns_over_https_url: String,
    /// The cost of new password hashes. Always [`PasswordHashing::OWASP`] on AWS and in the local stack
    /// (no setting changes it); only the tests' configuration lowers it, as it lowers the login's response
    /// floor, because hashing was about a third of their process's CPU otherwise.
    pub password_hashing: PasswordHashing,
}

/// argon2id's cost for new hashes. A stored hash carries its own parameters (PHC string), so it verifies
/// whatever the cost was when it was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordHashing {
    pub memory_kib: u32,
    pub passes: u32,
}

impl PasswordHashing {
    /// OWASP's recommendation for argon2id: 19 MiB, 2 passes, 1 lane.
    pub const OWASP: PasswordHashing = PasswordHashing { memory_kib: 19 * 1024, passes: 2 };
}

/// An OpenID provider this instance signs people in with: a public client using PKCE (no client secret
/// is stored anywhere).
#[derive(Debug, Clone, PartialEq)]
pub struct OidcConnection {
    /// The provider's issuer URL (discovery: `{issuer}/.well-known/openid-configuration`). `https`, or
    /// `http` for a provider on this machine (the local stack's).
    pub issuer: String,
    pub client_id: String,
    /// Whether an address this provider asserts as verified may sign in an existing account that has not
    /// linked it yet (`OIDC_TRUSTED`). Off: such a person signs in once with their password and links the
    /// provider; never by an unverified address.
    pub trusted: bool,
}

/// Cloudflare's resolver, which answers DNS over HTTPS in JSON.
pub(crate) const DEFAULT_DNS_OVER_HTTPS_URL: &str = "https://cloudflare-dns.com/dns-query";

impl OidcConnection {
    fn from_env() -> Result<Option<Self>, ConfigError> {
        let issuer = std::env::var("OIDC_ISSUER").unwrap_or_default().trim().trim_end_matches('/').to_owned();
        if issuer.is_empty() {
            return Ok(None);
        }
        let local = issuer.starts_with("http://localhost:") || issuer.starts_with("http://127.0.0.1:");
        if !issuer.starts_with("https://") && !local {
            let reason = "must be an https URL (or http on localhost)".to_owned();
            return Err(ConfigError::Invalid { name: "OIDC_ISSUER", reason });
        }
        let client_id = std::env::var("OIDC_CLIENT_ID").unwrap_or_default().trim().to_owned();
        if client_id.is_empty() {
            return Err(ConfigError::Missing("OIDC_CLIENT_ID"));
        }
        Ok(Some(OidcConnection { issuer, client_id, trusted: flag_from_env("OIDC_TRUSTED")? }))
    }
}

/// Who may sign up with a new organization (`ORGANIZATION_CREATION`): `anyone` (WEBKNOSSOS's behaviour),
/// `operators` (nobody but the instance operators, with `POST /organizations`), or `domains:a.org,b.org`
/// (people whose address is at one of these domains).
#[derive(Debug, Clone, PartialEq, Default)]
pub enum OrganizationCreation {
    #[default]
    Anyone,
    OperatorsOnly,
    Domains(Vec<String>),
}

impl OrganizationCreation {
    pub(crate) fn parse(value: &str) -> Result<Self, ConfigError> {
        let invalid = |reason: &str| ConfigError::Invalid { name: "ORGANIZATION_CREATION", reason: reason.to_owned() };
        match value.trim() {
            "" | "anyone" => Ok(OrganizationCreation::Anyone),
            "operators" => Ok(OrganizationCreation::OperatorsOnly),
            other => {
                let list = other
                    .strip_prefix("domains:")
                    .ok_or_else(|| invalid("must be anyone, operators or domains:a.org,b.org"))?;
                let domains: Vec<String> = list
                    .split(',')
                    .map(|d| d.trim().trim_start_matches('@').to_lowercase())
                    .filter(|d| !d.is_empty())
                    .collect();
                if domains.is_empty() {
                    return Err(invalid("domains: needs at least one domain"));
                }
                Ok(OrganizationCreation::Domains(domains))
            }
        }
    }

    /// Whether the owner of a new organization may have this (normalised) address.
    pub fn admits(&self, email: &str) -> bool {
        match self {
            OrganizationCreation::Anyone => true,
            OrganizationCreation::OperatorsOnly => false,
            OrganizationCreation::Domains(domains) => {
                email.rsplit_once('@').is_some_and(|(_, domain)| domains.iter().any(|d| d == domain))
            }
        }
    }
}

/// Daily caps on invite mail: per organization (`MAIL_QUOTA_PER_ORGANIZATION_PER_DAY`, 500), per recipient
/// address from one organization (`MAIL_QUOTA_PER_RECIPIENT_PER_DAY`, 5; each organization has its own), and the wait before a delivered
/// invite can be resent (`INVITE_RESEND_COOLDOWN_MINUTES`, 10).
#[derive(Debug, Clone, PartialEq)]
pub struct MailLimits {
    pub per_organization_per_day: u32,
    pub per_recipient_per_day: u32,
    pub resend_cooldown: Duration,
    /// Requests to the operators (`POST /pricing/request*`) an organization makes per day
    /// (`PLAN_REQUESTS_PER_DAY`, 10): each mails every operator.
    pub plan_requests_per_day: u32,
    /// The one mail budget in front of every mail (`crate::mail::send`): mails an account's actions may
    /// cause per day (10: verification links and address-change notices, so one account cannot fill the
    /// security lane), an organization's (2,000), and mails one address may receive per day (30;
    /// security mail is not counted against its recipient, so nobody can use it up against them). The
    /// organization's is configurable (`MAIL_BUDGET_PER_ORGANIZATION_PER_DAY`).
    pub per_account_all_per_day: u32,
    pub per_organization_all_per_day: u32,
    pub per_recipient_all_per_day: u32,
}

impl Default for MailLimits {
    fn default() -> Self {
        MailLimits {
            per_organization_per_day: 500,
            per_recipient_per_day: 5,
            resend_cooldown: Duration::from_secs(10 * 60),
            plan_requests_per_day: 10,
            per_account_all_per_day: 10,
            per_organization_all_per_day: 2_000,
            per_recipient_all_per_day: 30,
        }
    }
}

impl MailLimits {
    pub fn from_env() -> Result<Self, ConfigError> {
        let defaults = MailLimits::default();
        Ok(MailLimits {
            per_organization_per_day: count_from_env(
                "MAIL_QUOTA_PER_ORGANIZATION_PER_DAY",
                defaults.per_organization_per_day,
            )?,
            per_recipient_per_day: count_from_env("MAIL_QUOTA_PER_RECIPIENT_PER_DAY", defaults.per_recipient_per_day)?,
            resend_cooldown: duration_from_env("INVITE_RESEND_COOLDOWN_MINUTES", 60, defaults.resend_cooldown)?,
            plan_requests_per_day: count_from_env("PLAN_REQUESTS_PER_DAY", defaults.plan_requests_per_day)?,
            per_organization_all_per_day: count_from_env(
                "MAIL_BUDGET_PER_ORGANIZATION_PER_DAY",
                defaults.per_organization_all_per_day,
            )?,
            ..defaults
        })
    }
}

/// A positive whole number from the environment, or `default` when unset or empty.
fn count_from_env(name: &'static str, default: u32) -> Result<u32, ConfigError> {
    match std::env::var(name).ok().filter(|v| !v.trim().is_empty()) {
        None => Ok(default),
        Some(value) => match value.trim().parse::<u32>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(ConfigError::Invalid { name, reason: format!("{value:?} is not a positive whole number") }),
        },
    }
}

/// Failed logins (and wrong current passwords) within `window` lock what they count: an e-mail address
/// from one client at `failures_per_address_and_client`, a client at `failures_per_client` (high enough
/// for an institute behind one NAT address). A lock lasts `lock`, doubling with each further lock of the
/// same subject within a day, up to a day.
#[derive(Debug, Clone, PartialEq)]
pub struct LoginLimits {
    pub failures_per_address_and_client: u32,
    pub failures_per_client: u32,
    pub window: Duration,
    pub lock: Duration,
    /// A failed login and a reset request answer no sooner than this after they arrived, whether or not
    /// the address has an account (whose extra reads and writes would otherwise tell).
    pub response_floor: Duration,
}

impl Default for LoginLimits {
    fn default() -> Self {
        LoginLimits {
            failures_per_address_and_client: 5,
            failures_per_client: 100,
            window: Duration::from_secs(15 * 60),
            lock: Duration::from_secs(15 * 60),
            response_floor: Duration::from_millis(400),
        }
    }
}

impl LoginLimits {
    /// `LOGIN_FAILURES_PER_ADDRESS_AND_CLIENT` (5), `LOGIN_FAILURES_PER_CLIENT` (100), `LOGIN_LOCK_MINUTES` (15);
    /// the response floor is 400 ms.
    pub fn from_env() -> Result<Self, ConfigError> {
        let defaults = LoginLimits::default();
        Ok(LoginLimits {
            failures_per_address_and_client: count_from_env(
                "LOGIN_FAILURES_PER_ADDRESS_AND_CLIENT",
                defaults.failures_per_address_and_client,
            )?,
            failures_per_client: count_from_env("LOGIN_FAILURES_PER_CLIENT", defaults.failures_per_client)?,
            window: defaults.window,
            lock: duration_from_env("LOGIN_LOCK_MINUTES", 60, defaults.lock)?,
            response_floor: defaults.response_floor,
        })
    }
}

/// WEBKNOSSOS's `emailVerification` settings.
#[derive(Debug, Clone, PartialEq)]
pub struct EmailVerificationConfig {
    /// Mail a verification link on sign-up, on invite sign-up (unless the invite proved the address) and
    /// on an e-mail change. (A link can always be requested with `POST /verifyEmail`.)
    pub activated: bool,
    /// Refuse logins of unverified addresses once `grace_period` has passed since the address was set.
    pub required: bool,
    pub grace_period: Duration,
    /// How long a verification link works (WEBKNOSSOS: 30 days).
    pub link_lifetime: Duration,
}

pub const DEFAULT_PASSWORD_RESET_LIFETIME: Duration = Duration::from_secs(24 * 3600);

impl EmailVerificationConfig {
    /// `EMAIL_VERIFICATION_ACTIVATED`, `EMAIL_VERIFICATION_REQUIRED` (`true`/`false`, default false),
    /// `EMAIL_VERIFICATION_GRACE_DAYS` (7), `EMAIL_VERIFICATION_LINK_DAYS` (30).
    pub fn from_env() -> Result<Self, ConfigError> {
        let defaults = EmailVerificationConfig::default();
        Ok(EmailVerificationConfig {
            activated: flag_from_env("EMAIL_VERIFICATION_ACTIVATED")?,
            required: flag_from_env("EMAIL_VERIFICATION_REQUIRED")?,
            grace_period: duration_from_env("EMAIL_VERIFICATION_GRACE_DAYS", 24 * 3600, defaults.grace_period)?,
            link_lifetime: duration_from_env("EMAIL_VERIFICATION_LINK_DAYS", 24 * 3600, defaults.link_lifetime)?,
        })
    }
}

/// `PASSWORD_RESET_LIFETIME_HOURS` (default 24).
fn password_reset_lifetime_from_env() -> Result<Duration, ConfigError> {
    duration_from_env("PASSWORD_RESET_LIFETIME_HOURS", 3600, DEFAULT_PASSWORD_RESET_LIFETIME)
}

fn flag_from_env(name: &'static str) -> Result<bool, ConfigError> {
    match std::env::var(name).unwrap_or_default().trim() {
        "" | "false" => Ok(false),
        "true" => Ok(true),
        other => Err(ConfigError::Invalid { name, reason: format!("{other:?} is neither true nor false") }),
    }
}

/// A whole number of `unit_seconds` from the environment, or `default` when unset or empty.
fn duration_from_env(name: &'static str, unit_seconds: u64, default: Duration) -> Result<Duration, ConfigError> {
    match std::env::var(name).ok().filter(|v| !v.trim().is_empty()) {
        None => Ok(default),
        Some(value) => value
            .trim()
            .parse::<u64>()
            .map(|count| Duration::from_secs(count * unit_seconds))
            .map_err(|e| ConfigError::Invalid { name, reason: e.to_string() }),
    }
}

impl Default for EmailVerificationConfig {
    fn default() -> Self {
        EmailVerificationConfig {
            activated: false,
            required: false,
            grace_period: Duration::from_secs(7 * 24 * 3600),
            link_lifetime: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

pub const DEFAULT_INVITE_LIFETIME: Duration = Duration::from_secs(14 * 24 * 3600);
pub const DEFAULT_INVITE_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);
pub const DEFAULT_AUDIT_RETENTION: Duration = Duration::from_secs(365 * 24 * 3600);

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("table_name", &self.table_name)
            .field("keys", &self.keys)
            .field("public_uri", &self.public_uri)
            .field("mail_sender", &self.mail_sender)
            .field("mail_configuration_set", &self.mail_configuration_set)
            .field("mail_events", &self.mail_events)
            .field("cors_allowed_origins", &self.cors_allowed_origins)
            .field("mail_queue_url", &self.mail_queue_url)
            .field("mail_security_queue_url", &self.mail_security_queue_url)
            .field("mail_send_rate", &self.mail_send_rate)
            .field("session_lifetime", &self.session_lifetime)
            .field("self_registration_organization", &self.self_registration_organization)
            .field("invite_lifetime", &self.invite_lifetime)
            .field("invite_retention", &self.invite_retention)
            .field("audit_retention", &self.audit_retention)
            .field("super_users", &self.super_users)
            .field("email_verification", &self.email_verification)
            .field("password_reset_lifetime", &self.password_reset_lifetime)
            .field("login", &self.login)
            .field("mail_limits", &self.mail_limits)
            .field("organization_creation", &self.organization_creation)
            .field("edge_origin_verify", &self.edge_origin_verify.as_ref().map(|_| "(set)"))
            .finish()
    }
}

/// Where this stack's mail events come from (configuration: `MAIL_EVENTS_TOPIC_ARN`, whose account is the
/// sending account, and `MAIL_CONFIGURATION_SET`); `domain::mail_events` trusts no other.
#[derive(Debug, Clone, PartialEq)]
pub struct MailEventsSource {
    pub topic_arn: String,
    pub configuration_set: String,
}

impl MailEventsSource {
    /// The account of the topic (`arn:partition:sns:region:account:name`).
    pub fn account(&self) -> &str {
        self.topic_arn.split(':').nth(4).unwrap_or_default()
    }
}

impl Config {
    /// The configuration from the environment, with the signing keys read from Secrets Manager.
    pub fn from_env(keys: KeyMaterial) -> Result<Self, ConfigError> {
        let table_name = std::env::var("TABLE_NAME").map_err(|_| ConfigError::Missing("TABLE_NAME"))?;
        Self::from_env_with(table_name, keys, "http://localhost:3000", "no-reply@example.com")
    }

    /// The configuration from the environment as a deployed function reads it, with the table and signing
    /// keys given, and defaults for `PUBLIC_URI` and `MAIL_SENDER` (the local stack and its tools use this,
    /// so they read every other setting exactly as the functions do).
    pub fn from_env_with(
        table_name: String,
        keys: KeyMaterial,
        default_public_uri: &str,
        default_mail_sender: &str,
    ) -> Result<Self, ConfigError> {
        let optional = |name: &'static str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_owned());
        let session_hours: u64 =
            optional("SESSION_LIFETIME_HOURS", "168").parse().map_err(|e: std::num::ParseIntError| {
                ConfigError::Invalid { name: "SESSION_LIFETIME_HOURS", reason: e.to_string() }
            })?;
        let config = Config {
            table_name,
            keys,
            public_uri: optional("PUBLIC_URI", default_public_uri).trim_end_matches('/').to_owned(),
            mail_sender: optional("MAIL_SENDER", default_mail_sender),
            mail_configuration_set: std::env::var("MAIL_CONFIGURATION_SET").ok().filter(|s| !s.trim().is_empty()),
            cors_allowed_origins: optional("CORS_ALLOWED_ORIGINS", "")
                .split(',')
                .map(|origin| origin.trim().trim_end_matches('/').to_owned())
                .filter(|origin| !origin.is_empty())
                .collect(),
            mail_events: match (
                std::env::var("MAIL_EVENTS_TOPIC_ARN").ok().filter(|s| !s.trim().is_empty()),
                std::env::var("MAIL_CONFIGURATION_SET").ok().filter(|s| !s.trim().is_empty()),
            ) {
                (Some(topic_arn), Some(configuration_set)) => Some(MailEventsSource { topic_arn, configuration_set }),
                _ => None,
            },
            mail_queue_url: optional("MAIL_QUEUE_URL", ""),
            mail_security_queue_url: optional("MAIL_SECURITY_QUEUE_URL", ""),
            mail_send_rate: optional("MAIL_SEND_RATE", "1").parse().map_err(|e: std::num::ParseFloatError| {
                ConfigError::Invalid { name: "MAIL_SEND_RATE", reason: e.to_string() }
            })?,
            session_lifetime: Duration::from_secs(session_hours * 3600),
            self_registration_organization: std::env::var("SELF_REGISTRATION_ORGANIZATION")
                .ok()
                .filter(|s| !s.trim().is_empty()),
            invite_lifetime: duration_from_env("INVITE_LIFETIME_DAYS", 24 * 3600, DEFAULT_INVITE_LIFETIME)?,
            invite_retention: duration_from_env("INVITE_RETENTION_DAYS", 24 * 3600, DEFAULT_INVITE_RETENTION)?,
            audit_retention: duration_from_env("AUDIT_RETENTION_DAYS", 24 * 3600, DEFAULT_AUDIT_RETENTION)?,
            super_users: optional("SUPER_USER_EMAILS", "")
                .split(',')
                .map(|e| e.trim().to_lowercase())
                .filter(|e| !e.is_empty())
                .collect(),
            email_verification: EmailVerificationConfig::from_env()?,
            password_reset_lifetime: password_reset_lifetime_from_env()?,
            login: LoginLimits::from_env()?,
            mail_limits: MailLimits::from_env()?,
            organization_creation: OrganizationCreation::parse(&optional("ORGANIZATION_CREATION", "anyone"))?,
            edge_origin_verify: std::env::var("EDGE_ORIGIN_VERIFY").ok().filter(|v| !v.trim().is_empty()),
            oidc: OidcConnection::from_env()?,
            sso_local_issuers: flag_from_env("SSO_LOCAL_ISSUERS")?,
            password_hashing: PasswordHashing::OWASP,
            dns_over_https_url: std::env::var("DNS_OVER_HTTPS_URL")
                .ok()
                .map(|url| url.trim().to_owned())
                .filter(|url| !url.is_empty())
                .unwrap_or_else(|| DEFAULT_DNS_OVER_HTTPS_URL.to_owned()),
        };
        config.check()?;
        Ok(config)
    }

    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        if !(self.mail_send_rate.is_finite() && self.mail_send_rate > 0.0) {
            return Err(ConfigError::Invalid { name: "MAIL_SEND_RATE", reason: "must be a positive number".into() });
        }
        if self.invite_lifetime.is_zero() {
            return Err(ConfigError::Invalid { name: "INVITE_LIFETIME_DAYS", reason: "must be positive".into() });
        }
        if self.password_reset_lifetime.is_zero() {
            return Err(ConfigError::Invalid {
                name: "PASSWORD_RESET_LIFETIME_HOURS",
                reason: "must be positive".into(),
            });
        }
        if self.email_verification.link_lifetime.is_zero() {
            return Err(ConfigError::Invalid {
                name: "EMAIL_VERIFICATION_LINK_DAYS",
                reason: "must be positive".into(),
            });
        }
        if self.login.lock.is_zero() {
            return Err(ConfigError::Invalid { name: "LOGIN_LOCK_MINUTES", reason: "must be positive".into() });
        }
        if self.edge_origin_verify.as_ref().is_some_and(|value| value.trim().len() < 16) {
            return Err(ConfigError::Invalid {
                name: "EDGE_ORIGIN_VERIFY",
                reason: "must be at least 16 characters".into(),
            });
        }
        if self.session_lifetime.is_zero() {
            return Err(ConfigError::Invalid { name: "SESSION_LIFETIME_HOURS", reason: "must be positive".into() });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn organization_creation_settings_parse_and_admit() {
        assert_eq!(OrganizationCreation::parse("").unwrap(), OrganizationCreation::Anyone);
        assert!(OrganizationCreation::parse("anyone").unwrap().admits("x@y.org"));
        assert!(!OrganizationCreation::parse("operators").unwrap().admits("x@y.org"));
        let domains = OrganizationCreation::parse("domains: Uni.example , @lab.example").unwrap();
        assert!(domains.admits("ada@uni.example") && domains.admits("bob@lab.example"));
        assert!(
            !domains.admits("eve@evil.example")
                && !domains.admits("eve@sub.uni.example")
                && !domains.admits("uni.example")
        );
        for bad in ["everyone", "domains:", "domains: , "] {
            assert!(OrganizationCreation::parse(bad).is_err(), "{bad}");
        }
    }
}
