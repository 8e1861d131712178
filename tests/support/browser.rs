//! Debian's headless Chromium through WebDriver (chromedriver), for the browser tests and the benchmark's
//! page measurements. One chromedriver per process; each caller opens its own browser session.

use std::sync::OnceLock;

use fantoccini::{Client, ClientBuilder};
use serde_json::json;

static DRIVER: OnceLock<devstack::services::ServiceProcess> = OnceLock::new();

/// The chromedriver of this process (started on first use).
fn driver_url() -> String {
    DRIVER
        .get_or_init(|| {
            remove_profiles_of_ended_runs();
            devstack::services::start_chromedriver(0)
                .expect("chromedriver starts (the README's test command installs Debian's chromium-driver)")
        })
        .endpoint
        .clone()
}

/// A new headless browser session with a fresh profile and a window of `width` x `height`. The flags keep
/// Chromium from reaching for the network on its own (this machine has none).
pub async fn session(width: u32, height: u32) -> Client {
    let url = tokio::task::spawn_blocking(driver_url).await.expect("chromedriver");
    let profile = profiles_dir().join(format!("{}-{}", std::process::id(), &accounts::ids::new_object_id()[..12]));
    let capabilities = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-extensions", format!("--window-size={width},{height}"),
                format!("--user-data-dir={}", profile.display()),
            ]
        }
    });
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities.as_object().expect("an object").clone().into_iter().collect())
        .connect(&url)
        .await
        .expect("a browser session")
}

/// Where the browser profiles live, one folder per session named after the test process.
fn profiles_dir() -> std::path::PathBuf {
    std::env::temp_dir().join("accounts-chromium-profiles")
}

/// A profile is 2-3 MB and Chromium leaves it behind, so each test process first removes those of processes
/// that have ended (hundreds of runs would otherwise fill the disk).
fn remove_profiles_of_ended_runs() {
    let Ok(entries) = std::fs::read_dir(profiles_dir()) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let pid = name.to_string_lossy().split('-').next().unwrap_or_default().to_owned();
        if !std::path::Path::new("/proc").join(&pid).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// A virtual authenticator in one browser session (WebDriver's WebAuthn extension, which chromedriver
/// implements): a platform authenticator that keeps passkeys and verifies its user, so the pages' passkey
/// ceremonies run in headless Chromium without a person.
pub struct VirtualAuthenticator {
    /// `{driver}/session/{id}/webauthn/authenticator/{authenticator}`.
    url: String,
}

impl VirtualAuthenticator {
    /// Adds one to `client`'s browser.
    pub async fn add(client: &Client) -> Self {
        let session = client.session_id().await.expect("a session").expect("a session id");
        let base = format!(
            "{}/session/{session}/webauthn/authenticator",
            tokio::task::spawn_blocking(driver_url).await.unwrap()
        );
        let options = json!({
            "protocol": "ctap2", "transport": "internal", "hasResidentKey": true,
            "hasUserVerification": true, "isUserVerified": true,
        });
        let answer = webdriver("POST", &base, Some(options)).await;
        let id = answer["value"].as_str().unwrap_or_else(|| panic!("no virtual authenticator: {answer}"));
        VirtualAuthenticator { url: format!("{base}/{id}") }
    }

    /// The credentials it holds (id, private key, user handle, sign count; WebDriver's Credential).
    pub async fn credentials(&self) -> Vec<serde_json::Value> {
        let answer = webdriver("GET", &format!("{}/credentials", self.url), None).await;
        answer["value"].as_array().cloned().unwrap_or_else(|| panic!("no credentials: {answer}"))
    }

    /// Puts `credential` into it (WebDriver's Credential; e.g. one read from another, as a copy would be).
    pub async fn add_credential(&self, credential: serde_json::Value) {
        let answer = webdriver("POST", &format!("{}/credential", self.url), Some(credential)).await;
        assert!(answer["value"].get("error").is_none(), "adding a credential: {answer}");
    }

    /// Takes it out of the browser (its credentials with it).
    pub async fn remove(self) {
        let answer = webdriver("DELETE", &self.url, None).await;
        assert!(answer["value"].get("error").is_none(), "removing the authenticator: {answer}");
    }

    /// Removes every credential it holds.
    pub async fn remove_credentials(&self) {
        let answer = webdriver("DELETE", &format!("{}/credentials", self.url), None).await;
        assert!(answer["value"].get("error").is_none(), "removing the credentials: {answer}");
    }
}

/// One WebDriver command by HTTP (for the extension commands fantoccini has no method for).
async fn webdriver(method: &str, url: &str, body: Option<serde_json::Value>) -> serde_json::Value {
    use http_body_util::BodyExt;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build(hyper_util::client::legacy::connect::HttpConnector::new());
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let request = hyper::Request::builder()
        .method(method)
        .uri(url)
        .header("content-type", "application/json")
        .body(http_body_util::Full::new(hyper::body::Bytes::from(body)))
        .expect("a request");
    let response = client.request(request).await.unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let bytes = response.into_body().collect().await.expect("the answer").to_bytes();
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{method} {url}: {e}"))
}
