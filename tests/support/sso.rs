//! Single sign-on in tests: the local OpenID provider (started once per test process), a test env
//! registered with it as a client, and a person signing in through the provider's own forms.

use std::collections::HashMap;
use std::sync::OnceLock;

use devstack::services::ServiceProcess;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::{Auth, TestEnv, TestResponse};

/// A [`TestEnv::for_sso`] change: the connection is trusted.
pub fn trusted(config: &mut accounts::config::Config) {
    config.oidc.as_mut().expect("a connection").trusted = true;
}

/// The local provider's issuer (`infra/oidc-provider.mjs`), started on first use.
pub fn provider_issuer() -> String {
    static PROVIDER: OnceLock<ServiceProcess> = OnceLock::new();
    let process = PROVIDER.get_or_init(|| {
        devstack::services::start_oidc_provider(0).unwrap_or_else(|e| panic!("the OpenID provider: {e}"))
    });
    devstack::oidc::issuer(&process.endpoint)
}

impl TestEnv {
    /// A test env (serving on `http://localhost:{port}`, as the pages do) registered with the local
    /// provider as its instance-wide connection (not trusted), its configuration then adjusted by `change`.
    pub async fn for_sso(change: impl FnOnce(&mut accounts::config::Config)) -> TestEnv {
        let issuer = tokio::task::spawn_blocking(provider_issuer).await.expect("the provider starts");
        Self::for_pages_prepared(async |config: &mut accounts::config::Config| {
            let redirect_uri = accounts::domain::sso::redirect_uri(&config.public_uri);
            let client_id = devstack::oidc::register_client(&issuer, &redirect_uri).await.expect("registered");
            config.oidc = Some(accounts::config::OidcConnection { issuer, client_id, trusted: false });
            change(config);
        })
        .await
    }

    /// Signs `login` (a person of the local provider) in: starts at `GET /api/auth/oidc/login`, goes
    /// through the provider's own sign-in and consent forms as a browser would, and answers the callback's
    /// answer (a redirect with the session cookie, or a page with the reason) and the callback's address.
    pub async fn sign_in_with_provider(&self, login: &str) -> (TestResponse, String) {
        let callback = self.provider_callback(login).await;
        (self.finish_sign_in(&callback.url, Some(&callback.state_cookie)).await, callback.url)
    }

    /// The way back from the provider after `login` signed in there: the callback address (with `code` and
    /// `state`) and the state cookie the login route set, without calling the callback yet.
    pub async fn provider_callback(&self, login: &str) -> ProviderCallback {
        self.through_provider(self.client(&Auth::None).oidc_login().await, login).await
    }

    /// [`TestEnv::provider_callback`] for a link the signed-in `caller` starts (`?link=true`).
    pub async fn link_callback(&self, caller: &Auth, login: &str) -> ProviderCallback {
        self.through_provider(self.client(caller).link_provider().await, login).await
    }

    /// The way back from the provider after `login` signed in there, for a sign-in `started` by one of the
    /// login route's answers.
    pub async fn through_provider(&self, started: TestResponse, login: &str) -> ProviderCallback {
        assert_eq!(started.status, 200, "{}", started.body);
        let set_cookie = started.header("set-cookie").expect("the state cookie").to_owned();
        let state_cookie =
            set_cookie.split(';').next().and_then(|c| c.strip_prefix("oidc_state=")).expect("oidc_state").to_owned();
        let mut browser = ProviderBrowser::new();
        let mut at = started.body["redirect_url"].as_str().unwrap().to_owned();
        // Follow the provider's redirects, answering its two forms (sign in, then consent).
        for _ in 0..12 {
            if at.starts_with(&self.base_url) {
                return ProviderCallback { url: at, state_cookie };
            }
            let (status, location, page) = browser.request("GET", &at, None).await;
            if let Some(location) = location {
                at = absolute(&at, &location);
                continue;
            }
            assert_eq!(status, 200, "{at}: {page}");
            let action = page.split("action=\"").nth(1).and_then(|rest| rest.split('"').next()).expect("a form");
            let form = if page.contains("name=\"login\"") {
                format!("prompt=login&login={login}&password=anything")
            } else {
                "prompt=consent".to_owned()
            };
            let (_, location, page) = browser.request("POST", &absolute(&at, action), Some(form)).await;
            at = absolute(&at, &location.unwrap_or_else(|| panic!("the form answered no redirect: {page}")));
        }
        panic!("the provider never sent the browser back");
    }

    /// Calls the callback address (as the browser coming back, with its state cookie).
    pub async fn finish_sign_in(&self, callback_url: &str, state_cookie: Option<&str>) -> TestResponse {
        let path = callback_url.strip_prefix(&self.base_url).expect("a callback of this env");
        let cookie = state_cookie.map(|state| format!("oidc_state={state}"));
        let headers: Vec<(&str, &str)> = cookie.iter().map(|c| ("cookie", c.as_str())).collect();
        self.request_with_headers("GET", path, Vec::new(), &Auth::None, &headers).await
    }
}

impl TestEnv {
    /// Signs `login` in through the login route's answer to `query` (`email=...`, `organization=...`).
    pub async fn sign_in_via(&self, query: &str, login: &str) -> TestResponse {
        let started = self.client(&Auth::None).oidc_login_with(query).await;
        let callback = self.through_provider(started, login).await;
        self.finish_sign_in(&callback.url, Some(&callback.state_cookie)).await
    }

    /// Gives the organization of `admin` its own connection to the local provider (registered as a
    /// confidential client, its secret given to the API) admitting new people as `join_policy` says, and
    /// verifies `domain` for it through the test resolver. Answers the client secret.
    pub async fn organization_connection(
        &self,
        admin: &crate::Owner,
        join_policy: &str,
        domain: Option<&str>,
    ) -> String {
        let issuer = tokio::task::spawn_blocking(provider_issuer).await.expect("the provider starts");
        let redirect_uri = accounts::domain::sso::redirect_uri(&self.app.config.public_uri);
        let (client_id, secret) =
            devstack::oidc::register_confidential_client(&issuer, &redirect_uri).await.expect("registered");
        let connection = serde_json::json!({
            "issuer": issuer, "clientId": client_id, "clientSecret": &secret, "joinPolicy": join_policy,
        });
        let put = self.client(&admin.auth()).put_sso_connection(&admin.organization, connection).await;
        assert_eq!(put.status, 200, "{}", put.body);
        if let Some(domain) = domain {
            self.verified_domain(admin, domain).await;
        }
        secret
    }

    /// Claims `domain` for the organization of `admin`, publishes its record and verifies it.
    pub async fn verified_domain(&self, admin: &crate::Owner, domain: &str) {
        let claimed = self.client(&admin.auth()).claim_domain(&admin.organization, domain).await;
        assert_eq!(claimed.status, 200, "{}", claimed.body);
        let record = &claimed.body["dnsRecord"];
        crate::dns::publish(record["name"].as_str().unwrap(), record["value"].as_str().unwrap());
        let verified = self.client(&admin.auth()).verify_domain(&admin.organization, domain).await;
        assert_eq!((verified.status, &verified.body["verified"]), (200, &serde_json::json!(true)), "{}", verified.body);
    }
}

/// Where the provider sends the browser back, and the browser's state cookie.
pub struct ProviderCallback {
    pub url: String,
    pub state_cookie: String,
}

/// The session a successful callback set, as a credential.
pub fn session_of(answer: &TestResponse) -> Auth {
    let cookie = answer
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("id=").and_then(|rest| rest.split(';').next()))
        .filter(|token| !token.is_empty())
        .unwrap_or_else(|| panic!("no session cookie: {} {:?}", answer.status, answer.body));
    Auth::Cookie(cookie.to_owned())
}

fn absolute(base: &str, location: &str) -> String {
    if location.starts_with("http://") || location.starts_with("https://") {
        return location.to_owned();
    }
    let origin: String = base.splitn(4, '/').take(3).collect::<Vec<_>>().join("/");
    format!("{origin}{location}")
}

/// Just enough of a browser for the provider's pages: its cookies, redirects not followed.
struct ProviderBrowser {
    client: Client<HttpConnector, Full<Bytes>>,
    cookies: HashMap<String, String>,
}

impl ProviderBrowser {
    fn new() -> Self {
        ProviderBrowser { client: Client::builder(TokioExecutor::new()).build_http(), cookies: HashMap::new() }
    }

    async fn request(&mut self, method: &str, url: &str, form: Option<String>) -> (u16, Option<String>, String) {
        let cookie = self.cookies.iter().map(|(name, value)| format!("{name}={value}")).collect::<Vec<_>>().join("; ");
        let mut request = hyper::Request::builder().method(method).uri(url).header("cookie", cookie);
        if form.is_some() {
            request = request.header("content-type", "application/x-www-form-urlencoded");
        }
        let request = request.body(Full::new(Bytes::from(form.unwrap_or_default()))).unwrap();
        let response = self.client.request(request).await.unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        for value in response.headers().get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()) {
            if let Some((name, value)) = value.split(';').next().and_then(|pair| pair.split_once('=')) {
                self.cookies.insert(name.trim().to_owned(), value.to_owned());
            }
        }
        let status = response.status().as_u16();
        let location = response.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, location, String::from_utf8_lossy(&body).into_owned())
    }
}
