//! An organization's own single sign-on, as its admins configure it: the connection to its identity
//! provider (issuer, client id, a client secret stored sealed, who may join) and the e-mail domains it
//! proves it owns by a DNS TXT record. Every change is audited in the same transaction.
//!
//! Why DNS and not an admin's verified address: a verified domain routes everyone with an address there
//! to this organization's provider, lets the provider sign in their accounts and may refuse their
//! passwords. A mailbox at the domain does not show the right to decide that for every address of it (any
//! student at `uni.example` has one); a record in the domain's DNS zone shows the domain's operators
//! agreed. The lookup is the [`DomainRecords`] port (DNS over HTTPS in the API crate; the tests put a
//! local resolver behind it).

use std::future::Future;
use std::pin::Pin;

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::app::App;
use crate::caller::Caller;
use crate::domain::audit::Auditor;
use crate::domain::sso::{Connection, IdentityProvider};
use crate::error::{DomainError, refusals};
use crate::ids;
use crate::model::{AuditTarget, DomainClaim, JoinPolicy, Organization, SsoConnection};
use crate::store::org::DomainWriteError;

/// The TXT record's name is this label under the domain.
pub(crate) const RECORD_LABEL: &str = "_webknossos-verification";
/// The TXT record's value is this prefix and the claim's token.
pub(crate) const RECORD_PREFIX: &str = "webknossos-verification=";
/// At most this many domains per organization.
pub(crate) const MAX_DOMAINS: usize = 20;

refusals! {
    /// Why a change of an organization's single sign-on was refused.
    pub(crate) enum SsoSettingsError {
        IssuerInvalid { why: &'static str } => Invalid, "sso.issuer.invalid", "The issuer {why}";
        ClientIdInvalid => Invalid, "sso.clientId.invalid", "The client id must be 1 to 200 visible characters";
        ClientSecretInvalid => Invalid, "sso.clientSecret.invalid",
            "The client secret must be at most 500 characters, without control characters";
        ProviderUnusable { detail: String } => Invalid, "sso.provider.unusable",
            "The identity provider at this issuer cannot be used: {detail}";
        NoConnection => NotFound, "sso.connection.notFound", "This organization has no identity provider connection";
        DomainInvalid { raw: String } => Invalid, "sso.domain.invalid",
            "{raw:?} is not a domain name (like uni.example)";
        DomainClaimed { domain: String } => Conflict, "sso.domain.claimed",
            "This organization has claimed {domain} already";
        DomainTaken { domain: String } => Conflict, "sso.domain.taken",
            "Another organization has verified {domain}";
        TooManyDomains => Invalid, "sso.domain.tooMany", "An organization can claim at most 20 domains";
        DomainNotClaimed { domain: String } => NotFound, "sso.domain.notFound",
            "This organization has not claimed {domain}";
        DomainNotVerified { domain: String } => Invalid, "sso.domain.notVerified",
            "{domain} is not verified yet: publish its TXT record, then verify it";
        RecordMissing { name: String, value: String } => Invalid, "sso.domain.recordMissing",
            "No TXT record {name} with the value {value} was found; DNS changes can take a while to show";
        DnsUnavailable => Unavailable, "sso.domain.dnsUnavailable",
            "The DNS lookup did not answer; please try again in a moment";
    }
}

/// Why a DNS lookup failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the DNS lookup failed: {0}")]
pub struct LookupError(pub String);

type LookupFuture<'a> = Pin<Box<dyn Future<Output = Result<Vec<String>, LookupError>> + Send + 'a>>;

/// A domain's TXT records, as the flows need them.
pub trait DomainRecords: Send + Sync {
    /// The values of the TXT records of `name` (none when it has none or does not exist).
    fn txt<'a>(&'a self, name: &'a str) -> LookupFuture<'a>;
}

/// A connection as the API shows it: never the secret, only whether there is one.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionView {
    pub issuer: String,
    pub client_id: String,
    pub has_client_secret: bool,
    pub join_policy: JoinPolicy,
    pub updated: i64,
}

/// The TXT record that proves a claim.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DnsRecord {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub name: String,
    pub value: String,
}

/// A domain as the API shows it.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DomainView {
    pub domain: String,
    pub verified: bool,
    pub verified_at: Option<i64>,
    pub require_sso: bool,
    pub dns_record: DnsRecord,
}

/// The organization's single sign-on, as its admins see it.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    pub connection: Option<ConnectionView>,
    pub domains: Vec<DomainView>,
    /// The redirect URI to register with the provider.
    pub callback_url: String,
}

fn connection_view(connection: &SsoConnection) -> ConnectionView {
    ConnectionView {
        issuer: connection.issuer.clone(),
        client_id: connection.client_id.clone(),
        has_client_secret: connection.sealed_client_secret.is_some(),
        join_policy: connection.join_policy,
        updated: connection.updated,
    }
}

pub(crate) fn domain_view(claim: &DomainClaim) -> DomainView {
    DomainView {
        domain: claim.domain.clone(),
        verified: claim.verified_at.is_some(),
        verified_at: claim.verified_at,
        require_sso: claim.require_sso,
        dns_record: record_of(claim),
    }
}

fn record_of(claim: &DomainClaim) -> DnsRecord {
    DnsRecord {
        kind: "TXT",
        name: format!("{RECORD_LABEL}.{}", claim.domain),
        value: format!("{RECORD_PREFIX}{}", claim.token),
    }
}

/// The caller's own organization only (any other: not found, as for the organization routes).
fn own<'a>(caller: &'a Caller, organization_id: &str) -> Result<&'a Organization, DomainError> {
    crate::domain::organizations::own(caller, organization_id)?;
    Ok(&caller.organization)
}

/// The organization's connection and domains (one Query).
pub async fn settings(app: &App, caller: &Caller, organization_id: &str) -> Result<Settings, DomainError> {
    own(caller, organization_id)?;
    let (connection, domains) = caller.store(app).sso_items().await?;
    Ok(Settings {
        connection: connection.as_ref().map(connection_view),
        domains: domains.iter().map(domain_view).collect(),
        callback_url: crate::domain::sso::redirect_uri(&app.config.public_uri),
    })
}

/// `PUT /organizations/{id}/sso`'s body. `clientSecret`: absent keeps the one stored, `null` or `""`
/// removes it, text replaces it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionInput {
    pub issuer: String,
    pub client_id: String,
    #[serde(default, deserialize_with = "present")]
    pub client_secret: Option<Option<String>>,
    pub join_policy: JoinPolicy,
}

/// A field that may be absent (`None`), `null` (`Some(None)`) or a value.
fn present<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(deserializer).map(Some)
}

/// The issuer as stored: trimmed, without a trailing slash; `https`, or `http` on this machine's loopback
/// where the deployment allows it (the local stack and the tests only: on AWS a loopback address would
/// reach the Lambda runtime's own endpoints).
fn issuer(raw: &str, local_allowed: bool) -> Result<String, SsoSettingsError> {
    let issuer = raw.trim().trim_end_matches('/');
    let invalid = |why| SsoSettingsError::IssuerInvalid { why };
    if issuer.len() > 500 || issuer.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(invalid("must be a URL of at most 500 characters"));
    }
    let rest = if let Some(rest) = issuer.strip_prefix("https://") {
        rest
    } else if let Some(rest) = issuer.strip_prefix("http://").filter(|_| local_allowed) {
        let host = rest.split(['/', ':']).next().unwrap_or_default();
        if !matches!(host, "localhost" | "127.0.0.1") {
            return Err(invalid("must be an https URL"));
        }
        rest
    } else {
        return Err(invalid("must be an https URL"));
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || host.contains('@') || rest.contains(['?', '#']) {
        return Err(invalid("must be an https URL of the provider, without user, query or fragment"));
    }
    Ok(issuer.to_owned())
}

fn client_id(raw: &str) -> Result<String, SsoSettingsError> {
    let id = raw.trim();
    if id.is_empty() || id.chars().count() > 200 || id.chars().any(char::is_control) {
        return Err(SsoSettingsError::ClientIdInvalid);
    }
    Ok(id.to_owned())
}

/// A domain name as stored: lower case, at least two labels of letters, digits and hyphens (not at a
/// label's ends), at most 253 characters; a trailing dot and surrounding spaces are dropped.
pub(crate) fn domain_name(raw: &str) -> Result<String, SsoSettingsError> {
    let domain = raw.trim().trim_end_matches('.').to_ascii_lowercase();
    let label_ok = |label: &str| {
        (1..=63).contains(&label.len())
            && label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    let labels: Vec<&str> = domain.split('.').collect();
    let top_ok = labels.last().is_some_and(|top| top.bytes().any(|b| b.is_ascii_lowercase()));
    if domain.len() > 253 || labels.len() < 2 || !labels.iter().all(|l| label_ok(l)) || !top_ok {
        return Err(SsoSettingsError::DomainInvalid { raw: raw.chars().take(100).collect() });
    }
    Ok(domain)
}

/// Configures the organization's connection (new, or replacing the one there). The provider must answer
/// its discovery at the issuer, so a mistyped issuer is refused now rather than at the first sign-in.
pub async fn put_connection(
    app: &App,
    provider: &dyn IdentityProvider,
    caller: &Caller,
    organization_id: &str,
    input: ConnectionInput,
) -> Result<ConnectionView, DomainError> {
    let organization = own(caller, organization_id)?;
    let issuer = issuer(&input.issuer, app.config.sso_local_issuers)?;
    let client_id = client_id(&input.client_id)?;
    let store = caller.store(app);
    let before = store.sso_connection().await?;
    let sealed_client_secret = match input.client_secret {
        None => before.as_ref().and_then(|before| before.sealed_client_secret.clone()),
        Some(None) => None,
        Some(Some(secret)) if secret.is_empty() => None,
        Some(Some(secret)) => {
            if secret.chars().count() > 500 || secret.chars().any(char::is_control) {
                return Err(SsoSettingsError::ClientSecretInvalid.into());
            }
            Some(app.keys.seal(&organization.id, &secret)?)
        }
    };
    let probe = Connection {
        issuer: issuer.clone(),
        client_id: client_id.clone(),
        client_secret: None,
        organization: None,
        trusted: false,
    };
    provider
        .authorization_endpoint(&probe)
        .await
        .map_err(|err| SsoSettingsError::ProviderUnusable { detail: err.to_string() })?;
    let connection = SsoConnection {
        organization: organization.id.clone(),
        issuer,
        client_id,
        sealed_client_secret,
        join_policy: input.join_policy,
        updated: ids::now_millis(),
    };
    let secret_change = match (&before, &connection.sealed_client_secret) {
        (Some(before), Some(_)) if before.sealed_client_secret == connection.sealed_client_secret => "kept",
        (_, Some(_)) => "set",
        (Some(before), None) if before.sealed_client_secret.is_some() => "removed",
        _ => "none",
    };
    let facts = json!({
        "issuer": { "old": before.as_ref().map(|b| &b.issuer), "new": connection.issuer },
        "clientId": { "old": before.as_ref().map(|b| &b.client_id), "new": connection.client_id },
        "joinPolicy": { "old": before.as_ref().map(|b| b.join_policy), "new": connection.join_policy },
        "clientSecret": secret_change,
    });
    let entry = Auditor::caller(app, caller).entry(
        &organization.id,
        "sso.connectionChanged",
        vec![AuditTarget::organization(organization)],
        facts,
    );
    store.put_sso_connection(&connection, &entry).await?;
    Ok(connection_view(&connection))
}

/// Removes the organization's connection (and its sealed secret with it).
pub async fn remove_connection(app: &App, caller: &Caller, organization_id: &str) -> Result<(), DomainError> {
    let organization = own(caller, organization_id)?;
    let entry = Auditor::caller(app, caller).entry(
        &organization.id,
        "sso.connectionRemoved",
        vec![AuditTarget::organization(organization)],
        json!({}),
    );
    if !caller.store(app).delete_sso_connection(&entry).await? {
        return Err(SsoSettingsError::NoConnection.into());
    }
    Ok(())
}

fn domain_target(domain: &str) -> AuditTarget {
    AuditTarget { kind: "domain".into(), id: domain.to_owned(), name: domain.to_owned() }
}

fn write_error(err: DomainWriteError, domain: &str) -> DomainError {
    let domain = domain.to_owned();
    match err {
        DomainWriteError::Claimed => SsoSettingsError::DomainClaimed { domain }.into(),
        DomainWriteError::Taken => SsoSettingsError::DomainTaken { domain }.into(),
        DomainWriteError::Gone => SsoSettingsError::DomainNotClaimed { domain }.into(),
        DomainWriteError::Store(err) => err.into(),
    }
}

/// Claims a domain: pending, with the TXT record that will prove it.
pub async fn claim_domain(
    app: &App,
    caller: &Caller,
    organization_id: &str,
    raw_domain: &str,
) -> Result<DomainView, DomainError> {
    let organization = own(caller, organization_id)?;
    let domain = domain_name(raw_domain)?;
    let store = caller.store(app);
    let (_, domains) = store.sso_items().await?;
    if domains.len() >= MAX_DOMAINS {
        return Err(SsoSettingsError::TooManyDomains.into());
    }
    let claim = DomainClaim {
        organization: organization.id.clone(),
        domain: domain.clone(),
        token: ids::new_secret(),
        verified_at: None,
        require_sso: false,
        created: ids::now_millis(),
    };
    let entry = Auditor::caller(app, caller).entry(
        &organization.id,
        "sso.domainClaimed",
        vec![domain_target(&domain)],
        json!({ "domain": domain }),
    );
    store.claim_domain(&claim, &entry).await.map_err(|err| write_error(err, &domain))?;
    Ok(domain_view(&claim))
}

/// The organization's claim of `domain`.
async fn claim_of(app: &App, caller: &Caller, domain: &str) -> Result<DomainClaim, DomainError> {
    let (_, domains) = caller.store(app).sso_items().await?;
    domains
        .into_iter()
        .find(|claim| claim.domain == domain)
        .ok_or_else(|| SsoSettingsError::DomainNotClaimed { domain: domain.to_owned() }.into())
}

/// Verifies a claim by its TXT record; a verified claim answers as it is.
pub async fn verify_domain(
    app: &App,
    records: &dyn DomainRecords,
    caller: &Caller,
    organization_id: &str,
    raw_domain: &str,
) -> Result<DomainView, DomainError> {
    let organization = own(caller, organization_id)?;
    let domain = domain_name(raw_domain)?;
    let mut claim = claim_of(app, caller, &domain).await?;
    if claim.verified_at.is_some() {
        return Ok(domain_view(&claim));
    }
    let record = record_of(&claim);
    let found = records.txt(&record.name).await.map_err(|err| {
        tracing::warn!(error = %err, name = record.name, "a domain's TXT lookup failed");
        SsoSettingsError::DnsUnavailable
    })?;
    // A long TXT value may arrive split in quoted strings; DNS over HTTPS keeps the quotes.
    let published = |value: &String| value.replace("\" \"", "").trim_matches('"').trim() == record.value;
    if !found.iter().any(published) {
        return Err(SsoSettingsError::RecordMissing { name: record.name, value: record.value }.into());
    }
    let now = ids::now_millis();
    let entry = Auditor::caller(app, caller).entry(
        &organization.id,
        "sso.domainVerified",
        vec![domain_target(&domain)],
        json!({ "domain": domain }),
    );
    caller.store(app).verify_domain(&claim, now, &entry).await.map_err(|err| write_error(err, &domain))?;
    claim.verified_at = Some(now);
    Ok(domain_view(&claim))
}

/// Sets whether a verified domain requires single sign-on.
pub async fn require_sso(
    app: &App,
    caller: &Caller,
    organization_id: &str,
    raw_domain: &str,
    require: bool,
) -> Result<DomainView, DomainError> {
    let organization = own(caller, organization_id)?;
    let domain = domain_name(raw_domain)?;
    let mut claim = claim_of(app, caller, &domain).await?;
    if claim.verified_at.is_none() {
        return Err(SsoSettingsError::DomainNotVerified { domain }.into());
    }
    let entry = Auditor::caller(app, caller).entry(
        &organization.id,
        "sso.domainChanged",
        vec![domain_target(&domain)],
        json!({ "requireSso": { "old": claim.require_sso, "new": require } }),
    );
    if !caller.store(app).set_domain_requires_sso(&domain, require, &entry).await? {
        return Err(SsoSettingsError::DomainNotClaimed { domain }.into());
    }
    claim.require_sso = require;
    Ok(domain_view(&claim))
}

/// Gives up a claim (and the domain, when it was verified).
pub async fn remove_domain(
    app: &App,
    caller: &Caller,
    organization_id: &str,
    raw_domain: &str,
) -> Result<(), DomainError> {
    let organization = own(caller, organization_id)?;
    let domain = domain_name(raw_domain)?;
    let claim = claim_of(app, caller, &domain).await?;
    let entry = Auditor::caller(app, caller).entry(
        &organization.id,
        "sso.domainRemoved",
        vec![domain_target(&domain)],
        json!({ "domain": domain, "wasVerified": claim.verified_at.is_some() }),
    );
    if !caller.store(app).remove_domain(&claim, &entry).await? {
        return Err(SsoSettingsError::DomainNotClaimed { domain }.into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_lower_case_names_of_two_labels_or_more() {
        assert_eq!(domain_name(" Uni.Example. ").unwrap(), "uni.example");
        assert_eq!(domain_name("mail.uni-x.example").unwrap(), "mail.uni-x.example");
        for bad in ["", "example", "uni..example", "-uni.example", "uni-.example", "uni.example/x", "a@b.c", "1.2.3.4"]
        {
            assert!(domain_name(bad).is_err(), "{bad:?}");
        }
        assert!(domain_name(&format!("{}.example", "a".repeat(64))).is_err());
    }

    #[test]
    fn issuers_are_https_and_loopback_http_only_where_allowed() {
        assert_eq!(issuer("https://id.uni.example/realms/lab/", false).unwrap(), "https://id.uni.example/realms/lab");
        assert!(issuer("http://id.uni.example", false).is_err());
        assert!(issuer("http://127.0.0.1:9000", false).is_err());
        assert_eq!(issuer("http://127.0.0.1:9000", true).unwrap(), "http://127.0.0.1:9000");
        assert!(issuer("http://169.254.169.254", true).is_err());
        for bad in ["https://", "https://a@b.example", "https://b.example?x=1", "https://b .example", "ftp://x"] {
            assert!(issuer(bad, true).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_secret_field_may_be_absent_null_or_text() {
        let parse = |body: &str| serde_json::from_str::<ConnectionInput>(body).unwrap().client_secret;
        let base = r#""issuer":"https://x.example","clientId":"c","joinPolicy":"closed""#;
        assert_eq!(parse(&format!("{{{base}}}")), None);
        assert_eq!(parse(&format!("{{{base},\"clientSecret\":null}}")), Some(None));
        assert_eq!(parse(&format!("{{{base},\"clientSecret\":\"s\"}}")), Some(Some("s".into())));
    }
}
