//! Mapping between HTTP (API Gateway payload 2.0, as `lambda_http` presents it) and the domain:
//! body parsing with clear errors, path and query parameters, cookies, and JSON responses.

use lambda_http::RequestExt;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

pub use lambda_http::{Body, Request, Response};

/// Largest JSON body any route accepts; API Gateway itself stops at 10 MB.
pub const MAX_JSON_BODY_BYTES: usize = 256 * 1024;
/// Name of the session cookie (WEBKNOSSOS's own).
pub const SESSION_COOKIE: &str = "id";

pub fn body_bytes(req: &Request) -> &[u8] {
    req.body().as_ref()
}

/// The request body as `T`, or a 4xx that says what is wrong with it.
pub fn parse_json<T: DeserializeOwned>(req: &Request) -> Result<T, ApiError> {
    let bytes = body_bytes(req);
    if bytes.len() > MAX_JSON_BODY_BYTES {
        return Err(ApiError::new(
            413,
            "request.body.tooLarge",
            format!("The request body is larger than {MAX_JSON_BODY_BYTES} bytes"),
        ));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request("request.body.missing", "A JSON body is required"));
    }
    if std::str::from_utf8(bytes).is_err() {
        return Err(ApiError::bad_request("request.body.invalidUtf8", "The request body is not valid UTF-8"));
    }
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request("request.body.invalid", format!("Invalid JSON body: {e}")))
}

pub fn path_param(req: &Request, name: &str) -> Result<String, ApiError> {
    req.path_parameters()
        .first(name)
        .map(str::to_owned)
        .ok_or_else(|| ApiError::bad_request("request.path.missing", format!("Missing path parameter {name}")))
}

/// A boolean query flag in WEBKNOSSOS's style: `?flag` and `?flag=true` are true, `?flag=false` is false,
/// absent is `None`.
pub fn query_flag(req: &Request, name: &str) -> Result<Option<bool>, ApiError> {
    match req.query_string_parameters_ref().and_then(|q| q.first(name)) {
        None => Ok(None),
        Some("" | "true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(other) => Err(ApiError::bad_request(
            "request.query.invalid",
            format!("Query parameter {name} must be true or false, not {other:?}"),
        )),
    }
}

pub fn header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

pub fn cookie<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers()
        .get_all(lambda_http::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// Header value that sets the session cookie: HttpOnly (no script reads it), Secure, and SameSite=Lax so
/// links from mails open logged in while cross-site POSTs do not carry it.
pub fn session_cookie(token: &str, max_age_seconds: u64) -> String {
    format!("{SESSION_COOKIE}={token}; Path=/; Max-Age={max_age_seconds}; HttpOnly; Secure; SameSite=Lax")
}

pub fn expired_session_cookie() -> String {
    format!("{SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax")
}

pub fn json<T: Serialize + ?Sized>(status: u16, value: &T) -> Response<Body> {
    let body = serde_json::to_string(value).expect("response types serialize infallibly");
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("cache-control", "no-store")
        .body(Body::Text(body))
        .expect("a response from a valid status and static headers")
}

pub fn ok<T: Serialize + ?Sized>(value: &T) -> Response<Body> {
    json(200, value)
}

/// WEBKNOSSOS's success message shape: `{"messages":[{"success":"..."}]}`.
pub fn success_message(text: &str) -> Response<Body> {
    json(200, &serde_json::json!({ "messages": [{ "success": text }] }))
}

pub fn error_response(err: &ApiError) -> Response<Body> {
    let response = json(err.status, &serde_json::json!({ "messages": [{ "error": err.message, "code": err.code }] }));
    match err.retry_after {
        Some(seconds) => with_header(response, "retry-after", seconds.to_string()),
        None => response,
    }
}

pub fn with_header(mut response: Response<Body>, name: &'static str, value: String) -> Response<Body> {
    if let Ok(value) = lambda_http::http::HeaderValue::from_str(&value) {
        response.headers_mut().append(name, value);
    }
    response
}
