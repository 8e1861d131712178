//! Mapping between HTTP (API Gateway payload 2.0, as `lambda_http` presents it) and the domain:
//! body parsing with clear errors, path and query parameters, cookies, and JSON responses.

use lambda_http::RequestExt;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::paging::{NEXT_CURSOR_HEADER, PageRequest};

pub use lambda_http::{Body, Request, Response};

/// What a handler answers: a response, or an error [`error_response`] maps.
pub type HandlerResult = Result<Response<Body>, ApiError>;

/// Largest JSON body any route accepts (the largest legitimate one, 100 invite recipients of 254
/// characters, is about 26 KB); checked before parsing. API Gateway itself stops at 10 MB.
pub(crate) const MAX_JSON_BODY_BYTES: usize = 64 * 1024;
/// Deepest nesting of arrays and objects a body may have (the deepest legitimate one has 3 levels);
/// checked while parsing, far below serde_json's own recursion limit (128).
pub(crate) const MAX_JSON_DEPTH: usize = 16;
/// Name of the session cookie (WEBKNOSSOS's own).
pub(crate) const SESSION_COOKIE: &str = "id";

pub(crate) fn body_bytes(req: &Request) -> &[u8] {
    req.body().as_ref()
}

/// The request body as `T`, or a 4xx that says what is wrong with it. In this order: larger than
/// [`MAX_JSON_BODY_BYTES`] (413 `request.body.tooLarge`), empty (`request.body.missing`), not UTF-8
/// (`request.body.invalidUtf8`), not JSON (`request.body.invalid`), nested deeper than [`MAX_JSON_DEPTH`]
/// (`request.body.tooDeep`), an object with a key twice (`request.body.duplicateKey`: which one would
/// count is ambiguous, so neither does), and finally not the route's shape: a missing field, a wrong type,
/// `null` where a value is required (`request.body.invalid`, naming the field). Fields a route does not
/// know are ignored, as WEBKNOSSOS does (its front end sends whole objects back).
pub(crate) fn parse_json<T: DeserializeOwned>(req: &Request) -> Result<T, ApiError> {
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
    check_structure(bytes)?;
    // Every body is an object: serde would otherwise read a struct from an array of its fields in order.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::bad_request("request.body.invalid", "Invalid JSON body: a JSON object is required"));
    }
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request("request.body.invalid", format!("Invalid JSON body: {e}")))
}

const TOO_DEEP: &str = "nested too deeply";
const DUPLICATE_KEY: &str = "duplicate key";

/// Parses `bytes` as JSON without keeping it, refusing nesting deeper than [`MAX_JSON_DEPTH`] and duplicate
/// keys in any object.
fn check_structure(bytes: &[u8]) -> Result<(), ApiError> {
    use serde::de::DeserializeSeed;
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let checked = StructureCheck { depth: 0 }.deserialize(&mut deserializer).and_then(|()| deserializer.end());
    match checked {
        Ok(()) => Ok(()),
        Err(e) if e.is_data() && e.to_string().starts_with(TOO_DEEP) => Err(ApiError::bad_request(
            "request.body.tooDeep",
            format!("The JSON body is nested more than {MAX_JSON_DEPTH} levels deep"),
        )),
        Err(e) if e.is_data() && e.to_string().starts_with(DUPLICATE_KEY) => {
            Err(ApiError::bad_request("request.body.duplicateKey", format!("Invalid JSON body: {e}")))
        }
        Err(e) => Err(ApiError::bad_request("request.body.invalid", format!("Invalid JSON body: {e}"))),
    }
}

struct StructureCheck {
    depth: usize,
}

impl<'de> serde::de::DeserializeSeed<'de> for StructureCheck {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for StructureCheck {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let inner = self.nested::<A::Error>()?;
        while seq.next_element_seed(StructureCheck { depth: inner })?.is_some() {}
        Ok(())
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let inner = self.nested::<A::Error>()?;
        let mut keys = std::collections::HashSet::new();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if !keys.insert(key.clone()) {
                return Err(serde::de::Error::custom(format!("{DUPLICATE_KEY} {key:?}")));
            }
            map.next_value_seed(StructureCheck { depth: inner })?;
        }
        Ok(())
    }
}

impl StructureCheck {
    fn nested<E: serde::de::Error>(&self) -> Result<usize, E> {
        if self.depth >= MAX_JSON_DEPTH {
            return Err(E::custom(TOO_DEEP));
        }
        Ok(self.depth + 1)
    }
}

pub(crate) fn path_param(req: &Request, name: &str) -> Result<String, ApiError> {
    req.path_parameters()
        .first(name)
        .map(str::to_owned)
        .ok_or_else(|| ApiError::bad_request("request.path.missing", format!("Missing path parameter {name}")))
}

/// A query parameter's text.
pub(crate) fn query_text<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.query_string_parameters_ref().and_then(|q| q.first(name))
}

/// A boolean query flag in WEBKNOSSOS's style: `?flag` and `?flag=true` are true, `?flag=false` is false,
/// absent is `None`.
pub(crate) fn query_flag(req: &Request, name: &str) -> Result<Option<bool>, ApiError> {
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

/// The page a list request asks for (`?limit=`, `default` when absent, and `?cursor=`).
pub(crate) fn page_request(req: &Request, default_limit: usize) -> Result<PageRequest, ApiError> {
    PageRequest::parse(query_text(req, "limit"), query_text(req, "cursor"), default_limit).map_err(Into::into)
}

/// A page's items as the JSON array, and the next page's cursor in [`NEXT_CURSOR_HEADER`].
pub(crate) fn paged<T: Serialize + ?Sized>(items: &T, next_cursor: Option<String>) -> Response<Body> {
    let response = ok(items);
    match next_cursor {
        Some(cursor) => with_header(response, NEXT_CURSOR_HEADER, cursor),
        None => response,
    }
}

/// How many mails the request's change caused that a mail budget skipped (`crate::mail::send`): the change
/// happened, those mails were not sent. Absent when none was skipped.
pub const MAILS_SKIPPED_HEADER: &str = "x-mails-skipped";

/// The caller's address as API Gateway saw it (the request context's source IP; behind the edge the viewer's,
/// `crate::edge`); none without one.
pub(crate) fn client_address(req: &Request) -> Option<String> {
    match req.request_context_ref()? {
        lambda_http::request::RequestContext::ApiGatewayV2(context) => {
            context.http.source_ip.clone().filter(|ip| !ip.is_empty())
        }
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

/// Longest user agent an audit entry keeps.
const MAX_USER_AGENT_CHARS: usize = 256;

/// Where a request came from, for the audit log: source IP, user agent (cut to 256 characters) and
/// API Gateway's request id.
pub(crate) fn audit_context(req: &Request) -> crate::model::AuditContext {
    let request_id = match req.request_context_ref() {
        Some(lambda_http::request::RequestContext::ApiGatewayV2(context)) => context.request_id.clone(),
        #[allow(unreachable_patterns)]
        _ => None,
    };
    crate::model::AuditContext {
        source_ip: client_address(req),
        user_agent: header(req, "user-agent").map(|agent| agent.chars().take(MAX_USER_AGENT_CHARS).collect()),
        request_id: request_id.filter(|id| !id.is_empty()),
    }
}

pub(crate) fn header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

pub(crate) fn cookie<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
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
pub(crate) fn session_cookie(token: &str, max_age_seconds: u64) -> String {
    format!("{SESSION_COOKIE}={token}; Path=/; Max-Age={max_age_seconds}; HttpOnly; Secure; SameSite=Lax")
}

/// The device cookie's name: it marks a browser that logged in to an address before (see
/// `domain::session::login`).
pub(crate) const DEVICE_COOKIE: &str = "device";

/// Header value that sets the device cookie: sent only to the login, never readable by scripts.
pub(crate) fn device_cookie(value: &str, max_age_seconds: u64) -> String {
    format!(
        "{DEVICE_COOKIE}={value}; Path=/api/auth/login; Max-Age={max_age_seconds}; HttpOnly; Secure; SameSite=Strict"
    )
}

pub(crate) fn expired_session_cookie() -> String {
    format!("{SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax")
}

pub(crate) fn json<T: Serialize + ?Sized>(status: u16, value: &T) -> Response<Body> {
    let body = serde_json::to_string(value).expect("response types serialize infallibly");
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("cache-control", "no-store")
        .header("x-content-type-options", "nosniff")
        .body(Body::Text(body))
        .expect("a response from a valid status and static headers")
}

pub(crate) fn ok<T: Serialize + ?Sized>(value: &T) -> Response<Body> {
    json(200, value)
}

/// WEBKNOSSOS's success message shape: `{"messages":[{"success":"..."}]}`.
pub(crate) fn success_message(text: &str) -> Response<Body> {
    json(200, &serde_json::json!({ "messages": [{ "success": text }] }))
}

pub fn error_response(err: &ApiError) -> Response<Body> {
    let response = json(err.status, &serde_json::json!({ "messages": [{ "error": err.message, "code": err.code }] }));
    match err.retry_after {
        Some(seconds) => with_header(response, "retry-after", seconds.to_string()),
        None => response,
    }
}

pub(crate) fn with_header(mut response: Response<Body>, name: &'static str, value: String) -> Response<Body> {
    if let Ok(value) = lambda_http::http::HeaderValue::from_str(&value) {
        response.headers_mut().append(name, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &[u8]) -> Result<serde_json::Value, &'static str> {
        let req = lambda_http::http::Request::builder().body(Body::Binary(body.to_vec())).unwrap();
        parse_json::<serde_json::Value>(&req).map_err(|e| e.code)
    }

    #[test]
    fn bodies_are_checked_before_and_while_parsing() {
        assert!(parse(br#"{"a": [1, {"b": null}], "c": "x"}"#).is_ok());
        assert_eq!(parse(&vec![b' '; MAX_JSON_BODY_BYTES + 1]), Err("request.body.tooLarge"));
        assert_eq!(parse(b"  "), Err("request.body.missing"));
        assert_eq!(parse(b"{\"a\": \"\xff\"}"), Err("request.body.invalidUtf8"));
        assert_eq!(parse(b"name=ada"), Err("request.body.invalid"));
        assert_eq!(parse(b"{} {}"), Err("request.body.invalid"));
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert_eq!(parse(deep.as_bytes()), Err("request.body.tooDeep"));
        let deep_objects = format!("{}1{}", r#"{"a":"#.repeat(MAX_JSON_DEPTH + 1), "}".repeat(MAX_JSON_DEPTH + 1));
        assert_eq!(parse(deep_objects.as_bytes()), Err("request.body.tooDeep"));
        let deepest_allowed = format!("{{\"a\":{}{}}}", "[".repeat(MAX_JSON_DEPTH - 1), "]".repeat(MAX_JSON_DEPTH - 1));
        assert!(parse(deepest_allowed.as_bytes()).is_ok());
        // Every body is an object (serde would read a struct from an array of its fields).
        assert_eq!(parse(br#"[{"key": {}}]"#), Err("request.body.invalid"));
        assert_eq!(parse(br#""text""#), Err("request.body.invalid"));
        assert_eq!(parse(br#"{"a": 1, "a": 2}"#), Err("request.body.duplicateKey"));
        assert_eq!(parse(br#"{"x": [{"b": 1, "\u0062": 2}]}"#), Err("request.body.duplicateKey"));
    }
}
