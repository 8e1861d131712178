//! The mails the SES emulator received, and the tokens in them.

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

use crate::services;

/// A mail the SES emulator received.
#[derive(Debug, Clone)]
pub struct SentMail {
    pub to: Vec<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// The mails the SES emulator has received, as far as this process has read them. The emulator answers
/// `/store` with every mail it holds (megabytes late in a run, serialized on its one thread, which then
/// keeps SES requests waiting past their time limit), so each read asks only for those of the newest
/// second read before on (`?since=`, whole seconds, inclusive) and skips the ones it already has.
struct Mirror {
    mails: Vec<SentMail>,
    seen: std::collections::BTreeSet<String>,
    newest_second: i64,
}

static MIRROR: tokio::sync::Mutex<Mirror> = tokio::sync::Mutex::const_new(Mirror {
    mails: Vec::new(),
    seen: std::collections::BTreeSet::new(),
    newest_second: 0,
});

/// Every mail the SES emulator holds that was sent to `address`, oldest first.
pub async fn mails_to(address: &str) -> Vec<SentMail> {
    let mut mirror = MIRROR.lock().await;
    let client: Client<HttpConnector, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let uri = format!("{}/store?since={}", services().ses_endpoint, mirror.newest_second);
    let response = client.get(uri.parse().unwrap()).await.expect("the SES emulator answers");
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let store: Value = serde_json::from_slice(&bytes).expect("the SES emulator's store is JSON");
    for mail in store["emails"].as_array().expect("the store lists emails") {
        let id = mail["messageId"].as_str().expect("a stored mail has a messageId").to_owned();
        mirror.newest_second = mirror.newest_second.max(mail["at"].as_i64().expect("a stored mail has its second"));
        if !mirror.seen.insert(id) {
            continue;
        }
        mirror.mails.push(SentMail {
            to: mail["destination"]["to"]
                .as_array()
                .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
                .unwrap_or_default(),
            subject: mail["subject"].as_str().unwrap_or_default().to_owned(),
            text: mail["body"]["text"].as_str().unwrap_or_default().to_owned(),
            html: mail["body"]["html"].as_str().unwrap_or_default().to_owned(),
        });
    }
    mirror.mails.iter().filter(|mail| mail.to.iter().any(|to| to == address)).cloned().collect()
}

/// The invite token in an invite mail's link (`.../invite/{token}`).
pub fn invite_token(mail: &SentMail) -> String {
    let start = mail.text.find("/invite/").expect("the mail has an invite link") + "/invite/".len();
    mail.text[start..].split_whitespace().next().unwrap().to_owned()
}

/// The token in the newest mail to `address` whose link contains `marker` followed by `{account_id}.`
/// (mails of other tests' accounts to the same address are skipped: the SES emulator is shared).
/// The token of the newest link confirming an organization's notices mailed to `address`, if any.
pub async fn confirmation_token(address: &str) -> Option<String> {
    newest_token(address, "/confirmNotifications/", "").await
}

/// The token of the newest link offering `organization`'s ownership mailed to `address`, if any.
pub async fn ownership_token(address: &str, organization: &str) -> Option<String> {
    newest_token(address, &format!("/acceptOwnership/{organization}/"), "").await
}

pub async fn link_token(address: &str, marker: &str, account_id: &str) -> Option<String> {
    newest_token(address, marker, &format!("{account_id}.")).await
}

/// The token after `marker` in the newest mail to `address` whose token there starts with `start`.
async fn newest_token(address: &str, marker: &str, start: &str) -> Option<String> {
    let prefix = format!("{marker}{start}");
    mails_to(address).await.iter().rev().find_map(|mail| {
        let at = mail.text.find(&prefix)? + marker.len();
        Some(mail.text[at..].split_whitespace().next()?.to_owned())
    })
}
