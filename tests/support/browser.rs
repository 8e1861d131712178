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
