//! Single sign-on with the instance's OpenID provider (WEBKNOSSOS's `GET /auth/oidc/login` and
//! `/auth/oidc/callback`), safer than WEBKNOSSOS: the authorization code flow with PKCE (S256), a `state`
//! bound to the browser that started (a cookie) and used once (a conditioned delete), a `nonce` the ID
//! token must carry, and accounts linked by the provider's (issuer, subject), never by an address the
//! provider has not verified. The provider's HTTP side (discovery, the token endpoint, its keys, the ID
//! token's signature and claims) is the [`IdentityProvider`] port; the API crate's adapter implements it.

use std::future::Future;
use std::pin::Pin;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::app::App;
use crate::domain::credentials::LoggedIn;
use crate::domain::session;
use crate::domain::signup::{self, NewPerson};
use crate::error::{DomainError, refusals};
use crate::ids::{self, sha256_hex};
use crate::model::{Account, AuditContext, JoinPolicy, OidcLogin, ProviderLink, SsoConnection, email_domain};
use crate::store::accounts;
use crate::validate;

/// How long a started sign-in waits for the person to come back from the provider.
pub const SIGN_IN_SECONDS: i64 = 600;
/// The cookie that binds a sign-in to the browser that started it (its value is the `state`).
pub const STATE_COOKIE: &str = "oidc_state";
/// Where the provider sends the person back to, under the public URI.
pub const CALLBACK_PATH: &str = "/api/auth/oidc/callback";

refusals! {
    /// Why a sign-in with the identity provider did not sign anybody in.
    pub(crate) enum SsoError {
        Disabled => Invalid, "sso.disabled", "Single sign-on is not enabled on this instance";
        ParametersMissing => Invalid, "sso.callback.invalid",
            "This is not an answer of your identity provider (code and state are missing); please sign in again";
        NotThisBrowser => Invalid, "sso.state.mismatch",
            "This sign-in did not start in this browser; please sign in again";
        Expired => Invalid, "sso.state.invalid",
            "This sign-in was used already or has expired; please sign in again";
        ProviderRefused { detail: String } => Invalid, "sso.provider.refused",
            "Your identity provider did not sign you in: {detail}";
        ProviderUnavailable => Unavailable, "sso.provider.unavailable",
            "Your identity provider could not be reached; please try again in a moment";
        TokenInvalid { detail: String } => Unauthenticated, "sso.token.invalid",
            "Your identity provider's answer could not be verified ({detail}); nobody was signed in";
        EmailMissing => Forbidden, "sso.email.missing",
            "Your identity provider did not tell your e-mail address, so no account can be found for you";
        EmailNotVerified { email: String } => Forbidden, "sso.email.notVerified",
            "Your identity provider has not verified your address {email}; verify it there, then sign in again";
        LinkWithPassword { email: String } => Forbidden, "sso.link.required",
            "An account with the address {email} exists already: sign in once with its password, then link your identity provider on your home page";
        RegistrationClosed => Forbidden, "sso.registration.disabled",
            "There is no account for your address, and this instance admits new people only by invitation; ask an admin of your organization for one";
        LinkedToAnotherAccount => Conflict, "sso.link.otherAccount",
            "This identity at your institution is linked to another account already; sign in with it there";
        NoDomainConnection { domain: String } => NotFound, "sso.domain.unknown",
            "No organization signs in addresses at {domain} with its identity provider; sign in with your password";
        NoOrganizationConnection => NotFound, "sso.connection.notFound",
            "This organization has no identity provider connection";
        ConnectionChanged => Invalid, "sso.connection.changed",
            "Your organization's identity provider connection changed while you were signing in; please sign in again";
        SecretUnreadable => Unavailable, "sso.connection.secretUnreadable",
            "Your organization's identity provider connection cannot be used: its client secret can no longer be read. An admin must enter it again";
        DomainNotVerified { email: String } => Forbidden, "sso.domain.notVerified",
            "Your organization has not verified the domain of {email}, so its identity provider cannot sign in or create an account for it; sign in with your password, or ask an admin for an invite";
        OrganizationClosed => Forbidden, "sso.registration.closed",
            "There is no account for your address, and your organization admits new people only by invitation; ask one of its admins for one";
        LinkNotFound => NotFound, "sso.link.notFound", "Your account has no such link";
    }
}

/// A connection to an identity provider: the instance's (deployment parameters) or an organization's own.
#[derive(Debug, Clone, PartialEq)]
pub struct Connection {
    pub issuer: String,
    pub client_id: String,
    /// For a confidential client (an organization's connection with a secret).
    pub client_secret: Option<String>,
    /// The organization's own connection, when it is one.
    pub organization: Option<SsoConnection>,
    /// The instance's connection may sign in an existing account by a verified address.
    pub trusted: bool,
}

impl Connection {
    /// The instance's connection, if the deployment has one.
    pub(crate) fn of_instance(app: &App) -> Option<Connection> {
        app.config.oidc.as_ref().map(|oidc| Connection {
            issuer: oidc.issuer.clone(),
            client_id: oidc.client_id.clone(),
            client_secret: None,
            organization: None,
            trusted: oidc.trusted,
        })
    }

    /// An organization's own connection, its client secret opened when `open_secret` (the callback).
    fn of_organization(app: &App, connection: SsoConnection, open_secret: bool) -> Result<Connection, DomainError> {
        let client_secret = match (&connection.sealed_client_secret, open_secret) {
            (Some(sealed), true) => {
                Some(app.keys.open(&connection.organization, sealed)?.ok_or(SsoError::SecretUnreadable)?)
            }
            _ => None,
        };
        Ok(Connection {
            issuer: connection.issuer.clone(),
            client_id: connection.client_id.clone(),
            client_secret,
            organization: Some(connection),
            trusted: false,
        })
    }
}

/// Which connection a sign-in starts with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// The instance's (WEBKNOSSOS's route without parameters).
    Instance,
    /// The connection of the organization that verified the address's domain (home-realm discovery).
    Email(String),
    /// An organization's own connection.
    Organization(String),
}

/// What the provider asserts about the person, from an ID token whose signature, issuer, audience,
/// expiry, issue time and nonce were checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdClaims {
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
}

/// Redeeming an authorization code at the provider's token endpoint.
pub struct Redemption<'a> {
    pub code: &'a str,
    pub code_verifier: &'a str,
    pub redirect_uri: &'a str,
    pub nonce: &'a str,
}

/// Why the provider's side failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// Not reachable, or answering with a server error: a retry may work.
    #[error("the provider is unreachable: {0}")]
    Unavailable(String),
    /// The provider refused (an invalid or used code, a wrong client).
    #[error("the provider refused: {0}")]
    Refused(String),
    /// The ID token failed a check (signature, issuer, audience, expiry, nonce, algorithm).
    #[error("the ID token is not valid: {0}")]
    InvalidToken(String),
}

impl From<ProviderError> for DomainError {
    fn from(err: ProviderError) -> Self {
        match err {
            ProviderError::Unavailable(detail) => {
                tracing::warn!(%detail, "the identity provider is unavailable");
                SsoError::ProviderUnavailable.into()
            }
            ProviderError::Refused(detail) => SsoError::ProviderRefused { detail }.into(),
            ProviderError::InvalidToken(detail) => SsoError::TokenInvalid { detail }.into(),
        }
    }
}

type ProviderFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, ProviderError>> + Send + 'a>>;

/// The identity provider as the flows need it.
pub trait IdentityProvider: Send + Sync {
    /// The provider's authorization endpoint (from its discovery document).
    fn authorization_endpoint<'a>(&'a self, connection: &'a Connection) -> ProviderFuture<'a, String>;
    /// Redeems the code and answers the verified claims of its ID token.
    fn redeem<'a>(&'a self, connection: &'a Connection, redemption: Redemption<'a>) -> ProviderFuture<'a, IdClaims>;
}

/// The callback address registered with the provider.
pub fn redirect_uri(public_uri: &str) -> String {
    format!("{}{CALLBACK_PATH}", public_uri.trim_end_matches('/'))
}

/// A started sign-in: the provider's authorization URL to send the browser to, and the state to bind to
/// the browser (the [`STATE_COOKIE`]).
pub struct Started {
    pub redirect_url: String,
    pub state: String,
}

/// The connection a sign-in starts with: the instance's, or an organization's own (found by the address's
/// verified domain: two GetItems; or by the organization: one).
async fn connection_for(app: &App, via: &Via) -> Result<Connection, DomainError> {
    // The organization, and the refusal when it has no connection.
    let (organization, missing) = match via {
        Via::Instance => return Ok(Connection::of_instance(app).ok_or(SsoError::Disabled)?),
        Via::Email(email) => {
            let domain = email_domain(&validate::email(email)?).to_owned();
            match accounts::verified_domain(&app.db, &domain).await? {
                Some(verified) => (verified.organization, SsoError::NoDomainConnection { domain }),
                None => return Err(SsoError::NoDomainConnection { domain }.into()),
            }
        }
        Via::Organization(organization) => (organization.clone(), SsoError::NoOrganizationConnection),
    };
    let connection = accounts::sso_connection_of(&app.db, &organization).await?.ok_or(missing)?;
    Connection::of_organization(app, connection, false)
}

/// Starts a sign-in: a fresh state, nonce and PKCE verifier, stored for the callback (one PutItem).
/// `link_account`: the signed-in account that asks to link the provider's person to itself.
pub async fn start(
    app: &App,
    provider: &dyn IdentityProvider,
    via: Via,
    link_account: Option<String>,
) -> Result<Started, DomainError> {
    let connection = &connection_for(app, &via).await?;
    let endpoint = provider.authorization_endpoint(connection).await?;
    let (state, nonce) = (ids::new_secret(), ids::new_secret());
    // 44 characters of base64url: within PKCE's 43 to 128 unreserved characters.
    let code_verifier = format!("{}{}", ids::new_secret(), ids::new_secret());
    let challenge =
        URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, code_verifier.as_bytes()));
    let login = OidcLogin {
        state_hash: sha256_hex(&state),
        issuer: connection.issuer.clone(),
        organization: connection.organization.as_ref().map(|own| own.organization.clone()),
        nonce: nonce.clone(),
        code_verifier,
        link_account,
        expires_at: ids::now_seconds() + SIGN_IN_SECONDS,
    };
    accounts::put_oidc_login(&app.db, &login).await?;
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", &connection.client_id)
        .append_pair("redirect_uri", &redirect_uri(&app.config.public_uri))
        .append_pair("scope", "openid email profile")
        .append_pair("state", &state)
        .append_pair("nonce", &nonce)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256")
        .finish();
    let separator = if endpoint.contains('?') { '&' } else { '?' };
    Ok(Started { redirect_url: format!("{endpoint}{separator}{query}"), state })
}

/// The callback's parameters and the browser's state cookie.
pub struct Callback<'a> {
    pub code: Option<&'a str>,
    pub state: Option<&'a str>,
    /// The provider's own refusal (its `error` code), when it sent one instead of a code.
    pub error: Option<&'a str>,
    pub state_cookie: Option<&'a str>,
}

/// Finishes a sign-in: takes the stored sign-in of this state (once), redeems the code, and signs in the
/// account linked to the person; a first sign-in links an account or creates one (see
/// [`account_for`]); a link a signed-in account started links the person to that account. A new link is
/// written with the session and its audit entry.
pub async fn finish(
    app: &App,
    provider: &dyn IdentityProvider,
    callback: Callback<'_>,
    context: AuditContext,
) -> Result<LoggedIn, DomainError> {
    if let Some(error) = callback.error {
        // The provider's refusal uses up the sign-in, when it comes back to the browser that started it.
        if let Some(state) = callback.state.filter(|state| callback.state_cookie == Some(*state)) {
            accounts::take_oidc_login(&app.db, &sha256_hex(state), ids::now_seconds()).await?;
        }
        return Err(SsoError::ProviderRefused { detail: error.chars().take(200).collect() }.into());
    }
    let (Some(code), Some(state)) = (callback.code, callback.state) else {
        return Err(SsoError::ParametersMissing.into());
    };
    if callback.state_cookie != Some(state) {
        return Err(SsoError::NotThisBrowser.into());
    }
    let login =
        accounts::take_oidc_login(&app.db, &sha256_hex(state), ids::now_seconds()).await?.ok_or(SsoError::Expired)?;
    let connection = &match &login.organization {
        None => Connection::of_instance(app).ok_or(SsoError::Disabled)?,
        Some(organization) => {
            let own = accounts::sso_connection_of(&app.db, organization).await?.ok_or(SsoError::ConnectionChanged)?;
            Connection::of_organization(app, own, true)?
        }
    };
    if login.issuer != connection.issuer {
        return Err(SsoError::ConnectionChanged.into());
    }
    let redirect = redirect_uri(&app.config.public_uri);
    let redemption =
        Redemption { code, code_verifier: &login.code_verifier, redirect_uri: &redirect, nonce: &login.nonce };
    let claims = provider.redeem(connection, redemption).await?;
    let (account, link) = match &login.link_account {
        Some(account_id) => linking(app, connection, &claims, account_id).await?,
        None => match &connection.organization {
            None => account_for(app, connection, &claims, context.clone()).await?,
            Some(own) => account_for_organization(app, connection, own, &claims, context.clone()).await?,
        },
    };
    let facts = serde_json::json!({
        "provider": connection.issuer,
        "organizationConnection": login.organization,
        "linked": link.is_some(),
    });
    session::sign_in(app, &account, context, facts, session::SignInProof::Provider(link.as_ref())).await
}

/// A new link of the provider's person to this stack's account.
fn new_link(connection: &Connection, claims: &IdClaims, account_id: &str, email: &str) -> ProviderLink {
    ProviderLink {
        issuer: connection.issuer.clone(),
        subject: claims.subject.clone(),
        account_id: account_id.to_owned(),
        email: email.to_owned(),
        created: ids::now_millis(),
    }
}

/// The account that started a link, and the link to write (none when the person is linked to it already;
/// refused when they are linked to another account). The person proved both sides: signed in here, and
/// at the provider; the address plays no part.
async fn linking(
    app: &App,
    connection: &Connection,
    claims: &IdClaims,
    account_id: &str,
) -> Result<(crate::model::Account, Option<ProviderLink>), DomainError> {
    let (account, linked) = tokio::try_join!(
        async { Ok::<_, DomainError>(accounts::account(&app.db, account_id).await?) },
        linked_account(app, connection, claims)
    )?;
    let account = account.ok_or(SsoError::Expired)?;
    match linked {
        Some(linked) if linked.id == account.id => Ok((account, None)),
        Some(_) => Err(SsoError::LinkedToAnotherAccount.into()),
        None => {
            let link = new_link(connection, claims, &account.id, claims.email.as_deref().unwrap_or_default());
            Ok((account, Some(link)))
        }
    }
}

/// The account of the person the provider asserts:
/// - the one linked to (issuer, subject);
/// - else, with an address the provider asserts as verified: the account with that address if the
///   connection is trusted (linked now), else a refusal that asks for one sign-in with the password; or
///   a new member of the self-registration organization, linked, when no account has the address;
/// - never by an address the provider has not verified.
async fn account_for(
    app: &App,
    connection: &Connection,
    claims: &IdClaims,
    context: AuditContext,
) -> Result<(crate::model::Account, Option<ProviderLink>), DomainError> {
    if let Some(account) = linked_account(app, connection, claims).await? {
        return Ok((account, None));
    }
    let email = verified_email(claims)?;
    if let Some(account) = accounts::account_by_email(&app.db, &email).await? {
        if !connection.trusted {
            return Err(SsoError::LinkWithPassword { email }.into());
        }
        let link = new_link(connection, claims, &account.id, &email);
        return Ok((account, Some(link)));
    }
    let organization =
        app.config.self_registration_organization.as_deref().ok_or(SsoError::RegistrationClosed)?.to_owned();
    let person = new_person(claims, &email)?;
    let account_id = ids::new_object_id();
    let link = new_link(connection, claims, &account_id, &email);
    signup::join_self_registration_organization(app, &organization, person, Some((&account_id, &link)), None, context)
        .await?;
    Ok((accounts::account(&app.db, &account_id).await?.ok_or_else(DomainError::internal)?, None))
}

/// The account linked to the person (issuer, subject), if any; a link whose account is gone (its last
/// organization deleted) is removed, and the person starts afresh.
async fn linked_account(app: &App, connection: &Connection, claims: &IdClaims) -> Result<Option<Account>, DomainError> {
    let Some(link) = accounts::provider_link(&app.db, &connection.issuer, &claims.subject).await? else {
        return Ok(None);
    };
    if let Some(account) = accounts::account(&app.db, &link.account_id).await? {
        return Ok(Some(account));
    }
    accounts::remove_stale_link(&app.db, &link).await?;
    Ok(None)
}

/// The address the provider asserts, if it says it verified it.
fn verified_email(claims: &IdClaims) -> Result<String, DomainError> {
    let raw_email = claims.email.as_deref().ok_or(SsoError::EmailMissing)?;
    let email = validate::email(raw_email)?;
    if !claims.email_verified {
        return Err(SsoError::EmailNotVerified { email }.into());
    }
    Ok(email)
}

/// The account of the person an organization's own connection asserts:
/// - the one linked to (issuer, subject);
/// - else, with an address the provider asserts as verified, whose domain the organization verified: the
///   account with that address (linked now), or, when there is none and the organization admits new
///   people, a new member of the organization (in its Default team, active or waiting as it chose),
///   linked;
/// - an address of a domain the organization did not verify never signs in an existing account nor makes
///   a new one: the provider might assert any address.
async fn account_for_organization(
    app: &App,
    connection: &Connection,
    own: &SsoConnection,
    claims: &IdClaims,
    context: AuditContext,
) -> Result<(Account, Option<ProviderLink>), DomainError> {
    if let Some(account) = linked_account(app, connection, claims).await? {
        return Ok((account, None));
    }
    let email = verified_email(claims)?;
    let (verified, existing) = tokio::try_join!(
        accounts::verified_domain(&app.db, email_domain(&email)),
        accounts::account_by_email(&app.db, &email)
    )?;
    let domain_verified = verified.is_some_and(|verified| verified.organization == own.organization);
    match existing {
        Some(_) if !domain_verified => Err(SsoError::LinkWithPassword { email }.into()),
        Some(account) => {
            let link = new_link(connection, claims, &account.id, &email);
            Ok((account, Some(link)))
        }
        None if !domain_verified => Err(SsoError::DomainNotVerified { email }.into()),
        None if own.join_policy == JoinPolicy::Closed => Err(SsoError::OrganizationClosed.into()),
        None => {
            let person = new_person(claims, &email)?;
            let account_id = ids::new_object_id();
            let link = new_link(connection, claims, &account_id, &email);
            let active = own.join_policy == JoinPolicy::Active;
            signup::join_self_registration_organization(
                app,
                &own.organization,
                person,
                Some((&account_id, &link)),
                Some(active),
                context,
            )
            .await?;
            Ok((accounts::account(&app.db, &account_id).await?.ok_or_else(DomainError::internal)?, None))
        }
    }
}

/// A new person from the provider's claims: its names (else the address's local part), its address
/// verified, no password (a password reset gives one).
fn new_person(claims: &IdClaims, email: &str) -> Result<NewPerson, DomainError> {
    let local_part = email.split('@').next().unwrap_or_default().to_owned();
    let name = |given: &Option<String>| {
        let given = given.as_deref().unwrap_or_default();
        validate::person_name("name", given).or_else(|_| validate::person_name("name", &local_part))
    };
    Ok(NewPerson {
        email: email.to_owned(),
        first_name: name(&claims.given_name)?,
        last_name: name(&claims.family_name)?,
        password_hash: String::new(),
        email_verified: true,
    })
}

/// One of an account's links, as its home page shows it.
#[derive(Debug, Clone, serde::Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LinkView {
    pub id: String,
    pub issuer: String,
    /// The address the provider asserted when the link was made.
    pub email: String,
    pub created: i64,
}

/// The caller's account's links to identity providers (one Query).
pub async fn links(app: &App, caller: &crate::caller::Caller) -> Result<Vec<LinkView>, DomainError> {
    let links = accounts::account_links(&app.db, &caller.user.account_id).await?;
    Ok(links
        .iter()
        .map(|link| LinkView {
            id: link.id(),
            issuer: link.issuer.clone(),
            email: link.email.clone(),
            created: link.created,
        })
        .collect())
}

/// Removes one of the caller's account's links (audited in the organization it acts in): the person no
/// longer signs in with that identity until they sign in with the password and link it again.
pub async fn unlink(app: &App, caller: &crate::caller::Caller, link_id: &str) -> Result<(), DomainError> {
    let links = accounts::account_links(&app.db, &caller.user.account_id).await?;
    let link = links.iter().find(|link| link.id() == link_id).ok_or(SsoError::LinkNotFound)?;
    let target = crate::model::AuditTarget::user(&caller.user);
    let facts = serde_json::json!({ "provider": link.issuer, "email": link.email });
    let entry = crate::domain::audit::Auditor::caller(app, caller).entry(
        &caller.user.organization,
        "auth.providerUnlinked",
        vec![target],
        facts,
    );
    if !accounts::unlink(&app.db, &caller.user.account_id, link_id, vec![entry]).await? {
        return Err(SsoError::LinkNotFound.into());
    }
    Ok(())
}
