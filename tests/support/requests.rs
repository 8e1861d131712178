//! HTTP requests to the local gateway, as each kind of client sends them.

use crate::{Auth, TestEnv, TestResponse};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use serde_json::Value;

impl TestEnv {
    pub async fn request_raw(&self, method: &str, path: &str, body: Vec<u8>, auth: &Auth) -> TestResponse {
        self.request_with_headers(method, path, body, auth, &[]).await
    }

    /// A request with JSON `body` and the `Idempotency-Key` header.
    pub async fn request_idempotent(
        &self,
        method: &str,
        path: &str,
        body: Value,
        auth: &Auth,
        key: &str,
    ) -> TestResponse {
        self.request_with_headers(method, path, serde_json::to_vec(&body).unwrap(), auth, &[("idempotency-key", key)])
            .await
    }

    pub async fn request_with_headers(
        &self,
        method: &str,
        path: &str,
        body: Vec<u8>,
        auth: &Auth,
        headers: &[(&str, &str)],
    ) -> TestResponse {
        let mut builder = hyper::Request::builder().method(method).uri(format!("{}{path}", self.base_url));
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        // Behind an edge, as CloudFront forwards every request (unless the test plays one that went around it).
        let origin_header = accounts::edge::ORIGIN_VERIFY_HEADER;
        if let Some(secret) = &self.app.config.edge_origin_verify
            && !headers.iter().any(|(name, _)| name.eq_ignore_ascii_case(origin_header))
        {
            builder = builder.header(origin_header, secret.as_str());
        }
        builder = match auth {
            Auth::None => builder,
            Auth::Bearer(jwt) => builder.header("authorization", format!("Bearer {jwt}")),
            // As the site's own pages send it: JSON, from the site's origin.
            Auth::Cookie(jwt) => builder
                .header("cookie", format!("other=1; id={jwt}"))
                .header("origin", self.app.config.public_uri.as_str())
                .header("content-type", "application/json"),
            Auth::Token(token) => builder.header("x-auth-token", token),
        };
        let typed = headers.iter().any(|(name, _)| name.eq_ignore_ascii_case("content-type"));
        if !body.is_empty() && !typed && !matches!(auth, Auth::Cookie(_)) {
            builder = builder.header("content-type", "application/json");
        }
        let response =
            self.client.request(builder.body(Full::new(Bytes::from(body))).unwrap()).await.expect("request sent");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        // The API answers JSON (and says so); pages and their assets are kept as text.
        let page = headers.get("content-type").is_some_and(|c| c.as_bytes().starts_with(b"text/"));
        let body = if bytes.is_empty() {
            Value::Null
        } else if page {
            Value::String(String::from_utf8_lossy(&bytes).into_owned())
        } else {
            serde_json::from_slice(&bytes).expect("every API response is JSON")
        };
        TestResponse { status, headers, body }
    }

    pub async fn request(&self, method: &str, path: &str, body: Option<Value>, auth: &Auth) -> TestResponse {
        let bytes = body.map(|b| serde_json::to_vec(&b).unwrap()).unwrap_or_default();
        self.request_raw(method, path, bytes, auth).await
    }

    pub async fn get(&self, path: &str, auth: &Auth) -> TestResponse {
        self.request("GET", path, None, auth).await
    }

    pub async fn post(&self, path: &str, body: Value, auth: &Auth) -> TestResponse {
        self.request("POST", path, Some(body), auth).await
    }
}
