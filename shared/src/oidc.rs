//! The identity provider adapter (`domain::sso::IdentityProvider`): OpenID Connect discovery, the token
//! endpoint and the provider's keys over HTTPS (hyper with rustls, the TLS stack the AWS SDK already
//! links), and the ID token's checks with `jsonwebtoken`: the signature against the provider's JWKS
//! (cached per App, so per process on AWS; fetched again once for an unknown `kid`), an algorithm allow-list, `iss`, `aud`
//! (and `azp`), `exp`, `iat`, and the `nonce`. `openidconnect` would add about 0.85 MB to the callback's
//! binary (docs/sso.md), where the 8 MiB limit leaves less.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use base64::Engine;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use crate::domain::sso::{Connection, IdClaims, IdentityProvider, ProviderError, Redemption};
use crate::domain::sso_settings::{DomainRecords, LookupError};

/// Each request to the provider gives up after this long.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a connection to a provider is kept for reuse.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(2);
/// Clock skew allowed for `exp` and `iat`.
const LEEWAY_SECONDS: u64 = 60;
/// Asymmetric algorithms only: an HMAC-signed ID token would be signed with the client secret, which a
/// public client does not have.
const ALLOWED: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

#[derive(Debug, Clone, Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
    /// How the token endpoint authenticates clients (absent: `client_secret_basic`, OpenID's default).
    #[serde(default)]
    token_endpoint_auth_methods_supported: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct TokenAnswer {
    id_token: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Claims {
    sub: String,
    nonce: Option<String>,
    iat: i64,
    azp: Option<String>,
    aud: serde_json::Value,
    email: Option<String>,
    #[serde(default, deserialize_with = "lenient_bool")]
    email_verified: bool,
    given_name: Option<String>,
    family_name: Option<String>,
}

/// `email_verified` as a boolean, or as the string some providers send.
fn lenient_bool<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    Ok(match serde_json::Value::deserialize(deserializer)? {
        serde_json::Value::Bool(value) => value,
        serde_json::Value::String(text) => text == "true",
        _ => false,
    })
}

type HyperClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// An [`crate::App`]'s HTTPS client, for the identity providers and the DNS resolver (made on first use).
/// Each App has its own rather than the process one: a pooled connection is served by a task on the
/// runtime that opened it, so a client shared by several runtimes (the tests' gateways) would hand one
/// runtime's connection to another, where it stalls while its own runtime is not running.
#[derive(Default)]
pub struct Https(OnceLock<HyperClient>);

impl Https {
    fn client(&self) -> &HyperClient {
        self.0.get_or_init(|| {
            let connector = hyper_rustls::HttpsConnectorBuilder::new()
                .with_native_roots()
                .expect("the system's root certificates load")
                .https_or_http()
                .enable_http1()
                .build();
            // An idle pooled connection is dropped before common servers close it (Node's keep-alive timeout
            // is 5 s): reusing one the provider is closing fails the request as "unavailable".
            Client::builder(TokioExecutor::new()).pool_idle_timeout(POOL_IDLE_TIMEOUT).build(connector)
        })
    }

    /// One request; a network failure, a timeout or a 5xx is `Unavailable`.
    async fn send(&self, request: hyper::Request<Full<Bytes>>) -> Result<(u16, Bytes), ProviderError> {
        let what = format!("{} {}", request.method(), request.uri());
        let answer = tokio::time::timeout(REQUEST_TIMEOUT, async {
            let response = self.client().request(request).await.map_err(|e| e.to_string())?;
            let status = response.status().as_u16();
            let body = response.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
            Ok::<_, String>((status, body))
        })
        .await
        .map_err(|_| ProviderError::Unavailable(format!("{what}: no answer within {REQUEST_TIMEOUT:?}")))?
        .map_err(|e| ProviderError::Unavailable(format!("{what}: {e}")))?;
        if answer.0 >= 500 {
            return Err(ProviderError::Unavailable(format!("{what}: {}", answer.0)));
        }
        Ok(answer)
    }
}

/// The provider adapter of an [`crate::App`]: its HTTPS client, and each issuer's discovery document and
/// keys.
#[derive(Default)]
pub struct HttpIdentityProvider {
    https: Https,
    discovered: Mutex<HashMap<String, Discovery>>,
    keys: Mutex<HashMap<String, Arc<JwkSet>>>,
}

impl HttpIdentityProvider {
    /// The HTTPS client, which the DNS resolver shares.
    pub(crate) fn https(&self) -> &Https {
        &self.https
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, ProviderError> {
        let request = hyper::Request::get(url)
            .header("accept", "application/json")
            .body(Full::new(Bytes::new()))
            .map_err(|e| ProviderError::Refused(format!("{url}: {e}")))?;
        let (status, body) = self.https.send(request).await?;
        if status != 200 {
            return Err(ProviderError::Unavailable(format!("GET {url}: {status}")));
        }
        serde_json::from_slice(&body).map_err(|e| ProviderError::Unavailable(format!("GET {url}: {e}")))
    }

    /// The issuer's discovery document (cached); its `issuer` must be the configured one.
    async fn discovery(&self, issuer: &str) -> Result<Discovery, ProviderError> {
        if let Some(found) = self.discovered.lock().expect("not poisoned").get(issuer) {
            return Ok(found.clone());
        }
        let document: Discovery = self.get_json(&format!("{issuer}/.well-known/openid-configuration")).await?;
        if document.issuer.trim_end_matches('/') != issuer {
            return Err(ProviderError::Refused(format!("the discovery document names the issuer {}", document.issuer)));
        }
        self.discovered.lock().expect("not poisoned").insert(issuer.to_owned(), document.clone());
        Ok(document)
    }

    /// The provider's keys (cached; `fresh` fetches them again, for a key the cache does not know).
    async fn key_set(&self, discovery: &Discovery, fresh: bool) -> Result<Arc<JwkSet>, ProviderError> {
        if !fresh && let Some(keys) = self.keys.lock().expect("not poisoned").get(&discovery.jwks_uri) {
            return Ok(keys.clone());
        }
        let keys: Arc<JwkSet> = Arc::new(self.get_json(&discovery.jwks_uri).await?);
        self.keys.lock().expect("not poisoned").insert(discovery.jwks_uri.clone(), keys.clone());
        Ok(keys)
    }

    /// The checked claims of `id_token`.
    async fn verify(
        &self,
        connection: &Connection,
        discovery: &Discovery,
        id_token: &str,
        nonce: &str,
    ) -> Result<IdClaims, ProviderError> {
        let invalid = |detail: String| ProviderError::InvalidToken(detail);
        let header = jsonwebtoken::decode_header(id_token).map_err(|e| invalid(format!("not a JWT: {e}")))?;
        if !ALLOWED.contains(&header.alg) {
            return Err(invalid(format!("the algorithm {:?} is not accepted", header.alg)));
        }
        let find = |keys: &JwkSet| match &header.kid {
            Some(kid) => keys.find(kid).cloned(),
            None => (keys.keys.len() == 1).then(|| keys.keys[0].clone()),
        };
        let jwk = match find(self.key_set(discovery, false).await?.as_ref()) {
            Some(jwk) => jwk,
            // The provider may have rotated its keys since they were cached.
            None => find(self.key_set(discovery, true).await?.as_ref())
                .ok_or_else(|| invalid("signed with an unknown key".into()))?,
        };
        let key = DecodingKey::from_jwk(&jwk).map_err(|e| invalid(format!("the provider's key is unusable: {e}")))?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&connection.issuer, &format!("{}/", connection.issuer)]);
        validation.set_audience(&[&connection.client_id]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        validation.leeway = LEEWAY_SECONDS;
        let claims =
            jsonwebtoken::decode::<Claims>(id_token, &key, &validation).map_err(|e| invalid(e.to_string()))?.claims;
        if claims.nonce.as_deref() != Some(nonce) {
            return Err(invalid("the nonce is not this sign-in's".into()));
        }
        if claims.iat > crate::ids::now_seconds() + LEEWAY_SECONDS as i64 {
            return Err(invalid("issued in the future".into()));
        }
        let audiences = match &claims.aud {
            serde_json::Value::Array(values) => values.len(),
            _ => 1,
        };
        if (audiences > 1 || claims.azp.is_some()) && claims.azp.as_deref() != Some(connection.client_id.as_str()) {
            return Err(invalid("issued to another client (azp)".into()));
        }
        Ok(IdClaims {
            subject: claims.sub,
            email: claims.email,
            email_verified: claims.email_verified,
            given_name: claims.given_name,
            family_name: claims.family_name,
        })
    }
}

impl IdentityProvider for HttpIdentityProvider {
    fn authorization_endpoint<'a>(
        &'a self,
        connection: &'a Connection,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<String, ProviderError>> + Send + 'a>> {
        Box::pin(async move { Ok(self.discovery(&connection.issuer).await?.authorization_endpoint) })
    }

    fn redeem<'a>(
        &'a self,
        connection: &'a Connection,
        redemption: Redemption<'a>,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<IdClaims, ProviderError>> + Send + 'a>> {
        Box::pin(async move {
            let discovery = self.discovery(&connection.issuer).await?;
            // A confidential client authenticates as the provider says it may: HTTP Basic (OpenID's
            // default), or the secret in the form for a provider that takes only that.
            let methods = &discovery.token_endpoint_auth_methods_supported;
            let basic = methods.is_empty() || methods.iter().any(|m| m == "client_secret_basic");
            let (form, authorization) = {
                let mut form = form_urlencoded::Serializer::new(String::new());
                form.append_pair("grant_type", "authorization_code")
                    .append_pair("code", redemption.code)
                    .append_pair("redirect_uri", redemption.redirect_uri)
                    .append_pair("client_id", &connection.client_id)
                    .append_pair("code_verifier", redemption.code_verifier);
                let authorization = match &connection.client_secret {
                    Some(secret) if basic => {
                        let encode = |text: &str| form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>();
                        let pair = format!("{}:{}", encode(&connection.client_id), encode(secret));
                        Some(format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair)))
                    }
                    Some(secret) => {
                        form.append_pair("client_secret", secret);
                        None
                    }
                    None => None,
                };
                (form.finish(), authorization)
            };
            let mut request = hyper::Request::post(&discovery.token_endpoint)
                .header("content-type", "application/x-www-form-urlencoded")
                .header("accept", "application/json");
            if let Some(authorization) = authorization {
                request = request.header("authorization", authorization);
            }
            let request =
                request.body(Full::new(Bytes::from(form))).map_err(|e| ProviderError::Refused(e.to_string()))?;
            let (status, body) = self.https.send(request).await?;
            let answer: TokenAnswer = serde_json::from_slice(&body)
                .map_err(|e| ProviderError::Refused(format!("the token endpoint answered {status}: {e}")))?;
            let id_token = match (status, answer.id_token) {
                (200, Some(id_token)) => id_token,
                (200, None) => return Err(ProviderError::Refused("the token endpoint sent no ID token".into())),
                _ => {
                    let error = answer.error.unwrap_or_else(|| status.to_string());
                    let detail = answer.error_description.map(|d| format!("{error}: {d}")).unwrap_or(error);
                    return Err(ProviderError::Refused(detail.chars().take(200).collect()));
                }
            };
            self.verify(connection, &discovery, &id_token, redemption.nonce).await
        })
    }
}

/// Domains' TXT records from a DNS-over-HTTPS resolver's JSON API (`?name=&type=TXT`, as Cloudflare's and
/// Google's answer it), over the same HTTPS client: no resolver library in the functions.
pub(crate) struct DnsOverHttps<'a> {
    pub url: &'a str,
    pub https: &'a Https,
}

#[derive(Deserialize)]
struct DnsAnswer {
    #[serde(rename = "Status")]
    status: u32,
    #[serde(rename = "Answer", default)]
    answer: Vec<DnsRecord>,
}

#[derive(Deserialize)]
struct DnsRecord {
    #[serde(rename = "type")]
    kind: u32,
    data: String,
}

/// DNS's record type number of TXT.
const TXT: u32 = 16;
/// DNS's answer codes: no error, and no such name.
const NOERROR: u32 = 0;
const NXDOMAIN: u32 = 3;

impl DomainRecords for DnsOverHttps<'_> {
    fn txt<'a>(
        &'a self,
        name: &'a str,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<Vec<String>, LookupError>> + Send + 'a>> {
        Box::pin(async move {
            let query = form_urlencoded::Serializer::new(String::new())
                .append_pair("name", name)
                .append_pair("type", "TXT")
                .finish();
            let request = hyper::Request::get(format!("{}?{query}", self.url))
                .header("accept", "application/dns-json")
                .body(Full::new(Bytes::new()))
                .map_err(|e| LookupError(e.to_string()))?;
            let (status, body) = self.https.send(request).await.map_err(|e| LookupError(e.to_string()))?;
            if status != 200 {
                return Err(LookupError(format!("the resolver answered {status}")));
            }
            let answer: DnsAnswer =
                serde_json::from_slice(&body).map_err(|e| LookupError(format!("the resolver's answer: {e}")))?;
            match answer.status {
                NOERROR => Ok(answer.answer.into_iter().filter(|r| r.kind == TXT).map(|r| r.data).collect()),
                NXDOMAIN => Ok(Vec::new()),
                other => Err(LookupError(format!("the resolver answered the DNS status {other}"))),
            }
        })
    }
}
