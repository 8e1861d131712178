//! A local stand-in for API Gateway's HTTP API: matches a request to an operation the way API Gateway
//! does (literal path segments beat `{parameters}`; no match goes to `$default`), turns it into the
//! `lambda_http::Request` a Lambda function would receive (payload 2.0: path and query parameters), and
//! runs the same `accounts::dispatch::dispatch` the Lambda binaries run.

use crate::mail_queue::{MailQueue, QueuedMailCount};
use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use accounts::App;
use accounts::operations::{ALL, DEFAULT_ROUTE, Operation, WEB};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper_util::rt::{TokioExecutor, TokioIo};
use lambda_http::RequestExt;
use lambda_http::aws_lambda_events::query_map::QueryMap;

/// API Gateway's payload limit.
pub const MAX_PAYLOAD_BYTES: usize = 10 * 1024 * 1024;

/// The operation for `method path`, with the path parameters, like API Gateway's route selection.
pub fn route(method: &str, path: &str) -> (&'static Operation, HashMap<String, String>) {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let mut best: Option<(Vec<bool>, &'static Operation, HashMap<String, String>)> = None;
    for operation in ALL.iter().copied().filter(|op| op.path != DEFAULT_ROUTE && op.method == method) {
        for template in operation.route_paths() {
            let pattern: Vec<&str> = template.trim_start_matches('/').split('/').collect();
            if pattern.len() != segments.len() {
                continue;
            }
            let mut parameters = HashMap::new();
            let mut literal = Vec::with_capacity(pattern.len());
            let matched = pattern.iter().zip(&segments).all(|(p, s)| {
                if let Some(name) = p.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                    literal.push(false);
                    parameters.insert(name.to_owned(), percent_decode(s));
                    !s.is_empty()
                } else {
                    literal.push(true);
                    p == s
                }
            });
            if matched && best.as_ref().is_none_or(|(score, ..)| literal > *score) {
                best = Some((literal, operation, parameters));
            }
        }
    }
    best.map(|(_, operation, parameters)| (operation, parameters)).unwrap_or((&WEB, HashMap::new()))
}

fn percent_decode(segment: &str) -> String {
    form_urlencoded::parse(format!("x={}", segment.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default()
}

fn query_parameters(query: Option<&str>) -> QueryMap {
    let mut map: HashMap<String, Vec<String>> = HashMap::new();
    for (key, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        map.entry(key.into_owned()).or_default().push(value.into_owned());
    }
    QueryMap::from(map)
}

/// API Gateway's request context as far as the handlers read it: the source IP and a request id. Locally that is the
/// first `x-forwarded-for` entry when there is one (tests play several clients that way), else the peer.
fn request_context(parts: &hyper::http::request::Parts, peer: SocketAddr) -> lambda_http::request::RequestContext {
    let forwarded = parts
        .headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty());
    let mut context = lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext::default();
    context.http.method = parts.method.clone();
    context.http.path = Some(parts.uri.path().to_owned());
    context.http.source_ip = Some(forwarded.unwrap_or_else(|| peer.ip().to_string()));
    context.request_id = Some(accounts::ids::new_object_id());
    lambda_http::request::RequestContext::ApiGatewayV2(context)
}

/// Where a page asked for at another address of this gateway (e.g. `127.0.0.1:3000` for `localhost:3000`)
/// is sent: the same path at the public URI, the one origin the pages' session cookie and CSRF check
/// accept. `None` when the host is the public URI's, or for anything but a page.
fn canonical_location(public_uri: &str, parts: &hyper::http::request::Parts, operation: &str) -> Option<String> {
    let host = parts.headers.get(hyper::header::HOST)?.to_str().ok()?;
    let public_host = public_uri.split("://").nth(1)?.split('/').next()?;
    if operation != WEB.name
        || host.eq_ignore_ascii_case(public_host)
        || !matches!(parts.method.as_str(), "GET" | "HEAD")
    {
        return None;
    }
    let path_and_query = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    Some(format!("{}{path_and_query}", public_uri.trim_end_matches('/')))
}

/// What a tests' gateway does with mail before it answers: after a request that queued some (the count its
/// app's SQS client keeps, [`crate::local_app_counting_mail`]), it hands the lanes' visible mail to the
/// drainer, so a test sees a request's mail when its answer arrives. Without lanes, nothing.
#[derive(Clone, Default)]
pub struct SendBeforeAnswering {
    pub lanes: Arc<Vec<MailQueue>>,
    pub queued: QueuedMailCount,
}

async fn handle(
    app: Arc<App>,
    mail: Arc<SendBeforeAnswering>,
    canonical: bool,
    peer: SocketAddr,
    req: hyper::Request<Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let context = request_context(&parts, peer);
    let (operation, parameters) = route(parts.method.as_str(), parts.uri.path());
    if let Some(location) =
        canonical.then(|| canonical_location(&app.config.public_uri, &parts, operation.name)).flatten()
    {
        let mut response = hyper::Response::new(Full::new(Bytes::new()));
        *response.status_mut() = hyper::StatusCode::PERMANENT_REDIRECT;
        response.headers_mut().insert(hyper::header::LOCATION, location.parse().expect("a URI is a header value"));
        return Ok(response);
    }
    let query = query_parameters(parts.uri.query());
    let body = match Limited::new(body, MAX_PAYLOAD_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            let response = accounts::http::error_response(&accounts::ApiError::new(
                413,
                "request.body.tooLarge",
                "The request is larger than API Gateway's 10 MB limit",
            ));
            return Ok(to_hyper(response));
        }
    };
    let body = if body.is_empty() {
        lambda_http::Body::Empty
    } else {
        match String::from_utf8(body.to_vec()) {
            Ok(text) => lambda_http::Body::Text(text),
            Err(e) => lambda_http::Body::Binary(e.into_bytes()),
        }
    };
    let request = lambda_http::http::Request::from_parts(parts, body)
        .with_path_parameters(parameters)
        .with_query_string_parameters(query)
        .with_request_context(context);
    let queued_before = mail.queued.get();
    let response = accounts::dispatch::dispatch(&app, accounts::dispatch::route_of(operation), request).await;
    // Only a request that queued mail is followed by a look at the queues (two ReceiveMessage calls).
    if mail.queued.get() != queued_before {
        for queue in mail.lanes.iter() {
            if let Err(e) = queue.deliver_visible(&app).await {
                eprintln!("gateway: sending the mail queue: {e}");
            }
        }
    }
    Ok(to_hyper(response))
}

fn to_hyper(response: lambda_http::Response<lambda_http::Body>) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = response.into_parts();
    let bytes = match body {
        lambda_http::Body::Empty => Bytes::new(),
        lambda_http::Body::Text(text) => Bytes::from(text),
        lambda_http::Body::Binary(bytes) => Bytes::from(bytes),
        _ => Bytes::new(),
    };
    hyper::Response::from_parts(parts, Full::new(bytes))
}

/// Serves the API on `listener` until the task is dropped. With `mail`'s lanes, the answer of each request
/// that queued mail waits until their visible mail has been handed to the drainer (the tests' gateways: a
/// test sees a request's mail when its answer arrives); without, the queues are someone else's (the local
/// stack drains them in the background, as Lambda does).
/// With `canonical`, a page asked for at another host than the public URI's is redirected there (the local
/// stack: its pages work at the one origin their cookie and CSRF check name).
pub async fn serve(app: Arc<App>, listener: tokio::net::TcpListener, mail: Arc<SendBeforeAnswering>, canonical: bool) {
    loop {
        let Ok((stream, peer)) = listener.accept().await else { continue };
        let (app, mail) = (app.clone(), mail.clone());
        tokio::spawn(async move {
            let service =
                hyper::service::service_fn(move |req| handle(app.clone(), mail.clone(), canonical, peer, req));
            let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// The local stack's gateway: binds `address` and serves the API and the pages in a background task,
/// pages asked for at another host sent to the public URI's; returns the bound address.
pub async fn spawn(app: Arc<App>, address: SocketAddr) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(address).await?;
    let bound = listener.local_addr()?;
    Ok((bound, tokio::spawn(serve(app, listener, Default::default(), true))))
}

/// Serves on a listener bound already (e.g. before the app, whose public URI names its port).
pub fn spawn_on(
    app: Arc<App>,
    listener: tokio::net::TcpListener,
    mail: Arc<SendBeforeAnswering>,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let bound = listener.local_addr()?;
    Ok((bound, tokio::spawn(serve(app, listener, mail, false))))
}

#[cfg(test)]
mod tests {
    use super::route;

    #[test]
    fn a_page_at_another_host_is_sent_to_the_public_uri() {
        let request = |method: &str, host: &str, path: &str| {
            let request = hyper::Request::builder().method(method).uri(path).header("host", host).body(()).unwrap();
            let (parts, ()) = request.into_parts();
            let operation = super::route(method, parts.uri.path()).0.name;
            super::canonical_location("http://localhost:3000", &parts, operation)
        };
        assert_eq!(request("GET", "127.0.0.1:3000", "/users?x=1").as_deref(), Some("http://localhost:3000/users?x=1"));
        assert_eq!(request("GET", "localhost:3000", "/users"), None);
        assert_eq!(request("GET", "127.0.0.1:3000", "/api/user"), None, "the API answers at any host");
        assert_eq!(request("POST", "127.0.0.1:3000", "/users"), None);
    }

    #[test]
    fn routes_match_like_api_gateway() {
        assert_eq!(route("GET", "/api/user").0.name, "current_user");
        let (operation, parameters) = route("GET", "/api/v16/user");
        assert_eq!(operation.name, "current_user");
        assert_eq!(parameters["apiVersion"], "v16");
        assert_eq!(route("DELETE", "/api/auth/token").0.name, "revoke_token");
        assert_eq!(route("GET", "/api/auth/token").0.name, "get_token");
        assert_eq!(route("PUT", "/api/user").0.name, "web");
        assert_eq!(route("GET", "/nothing/here").0.name, "web");
        assert_eq!(route("GET", "/api//user").0.name, "web");
    }
}
