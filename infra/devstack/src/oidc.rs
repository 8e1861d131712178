//! The local OpenID provider's side of the local stack and the tests: its issuer, and registering this
//! stack as a client (dynamic registration: a public client with PKCE, for one redirect URI).

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// The issuer of the local provider listening at `endpoint` (`http://127.0.0.1:{port}`): it names itself
/// by `localhost`, which is what browsers and the configuration use.
pub fn issuer(endpoint: &str) -> String {
    endpoint.replace("127.0.0.1", "localhost")
}

/// Registers a public client whose redirect URI is `redirect_uri` and answers its client id.
pub async fn register_client(issuer: &str, redirect_uri: &str) -> Result<String, String> {
    let answer = register(issuer, redirect_uri, "none").await?;
    answer["client_id"].as_str().map(str::to_owned).ok_or_else(|| format!("{issuer}/reg answered {answer}"))
}

/// Registers a confidential client (`client_secret_basic`) and answers its client id and secret.
pub async fn register_confidential_client(issuer: &str, redirect_uri: &str) -> Result<(String, String), String> {
    let answer = register(issuer, redirect_uri, "client_secret_basic").await?;
    match (answer["client_id"].as_str(), answer["client_secret"].as_str()) {
        (Some(id), Some(secret)) => Ok((id.to_owned(), secret.to_owned())),
        _ => Err(format!("{issuer}/reg answered {answer}")),
    }
}

async fn register(issuer: &str, redirect_uri: &str, authentication: &str) -> Result<serde_json::Value, String> {
    let client: Client<HttpConnector, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let body = serde_json::json!({
        "redirect_uris": [redirect_uri],
        "token_endpoint_auth_method": authentication,
        "grant_types": ["authorization_code"],
        "response_types": ["code"],
        "client_name": "webknossos-accounts (local)",
    });
    let request = hyper::Request::post(format!("{issuer}/reg"))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .map_err(|e| e.to_string())?;
    let response = client.request(request).await.map_err(|e| format!("registering with {issuer}: {e}"))?;
    let status = response.status();
    let bytes = response.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
    let answer: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| format!("{issuer}/reg: {e}"))?;
    if !status.is_success() {
        return Err(format!("{issuer}/reg answered {status}: {answer}"));
    }
    Ok(answer)
}
