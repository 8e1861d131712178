//! A DynamoDB proxy for fault tests: it hands each request to the test first, which may wait (to act at an
//! exact point of a request) or answer it itself (with failures DynamoDB Local never sends).

use std::sync::Arc;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// Called by a DynamoDB proxy (see [`TestEnv::with_dynamodb_hook`]) before it forwards a request, with the
/// operation (`TransactWriteItems`, ...) and the request's JSON body.
pub type DynamoDbHook =
    Arc<dyn Fn(String, String) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> + Send + Sync>;

/// Like a [`DynamoDbHook`], but may answer the request itself instead of forwarding it: `Some((status,
/// JSON body))` is what the client gets (e.g. a `TransactionCanceledException` DynamoDB Local never sends).
pub type DynamoDbResponder = Arc<
    dyn Fn(String, String) -> std::pin::Pin<Box<dyn std::future::Future<Output = Option<(u16, String)>> + Send>>
        + Send
        + Sync,
>;

/// An HTTP proxy in front of DynamoDB Local that awaits `hook` before forwarding each request.
pub(crate) async fn dynamodb_proxy(target: String, hook: DynamoDbResponder) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let client: Client<HttpConnector, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (client, hook, target) = (client.clone(), hook.clone(), target.clone());
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                    let (client, hook, target) = (client.clone(), hook.clone(), target.clone());
                    async move {
                        let (parts, body) = request.into_parts();
                        let bytes = body.collect().await?.to_bytes();
                        let operation =
                            parts.headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default();
                        let operation = operation.rsplit('.').next().unwrap_or_default().to_owned();
                        if let Some((status, answer)) =
                            hook(operation, String::from_utf8_lossy(&bytes).into_owned()).await
                        {
                            let response = hyper::Response::builder()
                                .status(status)
                                .header("content-type", "application/x-amz-json-1.0")
                                .body(Full::new(Bytes::from(answer)))
                                .unwrap();
                            return Ok(response);
                        }
                        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
                        let mut forward =
                            hyper::Request::builder().method(parts.method.clone()).uri(format!("{target}{path}"));
                        for (name, value) in &parts.headers {
                            forward = forward.header(name, value);
                        }
                        let response = client
                            .request(forward.body(Full::new(bytes)).unwrap())
                            .await
                            .expect("DynamoDB Local answers");
                        let (parts, body) = response.into_parts();
                        let bytes = body.collect().await?.to_bytes();
                        Ok::<_, hyper::Error>(hyper::Response::from_parts(parts, Full::new(bytes)))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (format!("http://{address}"), task)
}
