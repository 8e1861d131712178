//! A local stand-in for EventBridge's PutEvents (there is no EventBridge emulator): an HTTP endpoint
//! speaking the AWS JSON 1.1 protocol (`X-Amz-Target: AWSEvents.PutEvents`) that the SDK client reaches
//! through `endpoint_url`. It keeps the events it accepted, logs them, and can be told to fail: the tests
//! make it unavailable or reject entries for a number of calls, then it recovers.

use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use serde_json::{Value, json};

/// How the bus fails the calls it is told to fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// HTTP 500 (the SDK retries it as a transient error).
    Unavailable,
    /// An answer with `FailedEntryCount`: the entries from this index on are rejected (`InternalFailure`),
    /// the ones before it accepted, as a call whose later entries failed.
    RejectFrom(usize),
}

/// An event the bus accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedEvent {
    pub bus: String,
    pub source: String,
    pub detail_type: String,
    /// The `Detail`, parsed.
    pub detail: Value,
}

#[derive(Default)]
struct State {
    accepted: Vec<ReceivedEvent>,
    calls: u32,
    failing: Option<(u32, Failure)>,
}

/// The running stand-in; stops when dropped.
pub struct FakeEventBus {
    pub endpoint: String,
    state: Arc<Mutex<State>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl FakeEventBus {
    /// Serves on a free loopback port, on a thread of its own (so it outlives any one test's runtime).
    pub fn start() -> FakeEventBus {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
        listener.set_nonblocking(true).expect("a non-blocking listener");
        let endpoint = format!("http://{}", listener.local_addr().expect("a bound address"));
        let state = Arc::new(Mutex::new(State::default()));
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let shared = state.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("a tokio listener");
                tokio::select! {
                    _ = serve(listener, shared) => {}
                    _ = stopped => {}
                }
            });
        });
        FakeEventBus { endpoint, state, stop: Some(stop) }
    }

    /// The next `calls` PutEvents calls fail as `failure`; the bus recovers after them.
    pub fn fail_next(&self, calls: u32, failure: Failure) {
        self.lock().failing = Some((calls, failure));
    }

    /// The events accepted so far, in the order accepted.
    pub fn accepted(&self) -> Vec<ReceivedEvent> {
        self.lock().accepted.clone()
    }

    /// PutEvents calls received (failed ones included).
    pub fn calls(&self) -> u32 {
        self.lock().calls
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Drop for FakeEventBus {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn serve(listener: tokio::net::TcpListener, state: Arc<Mutex<State>>) {
    while let Ok((stream, _)) = listener.accept().await {
        let state = state.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                let state = state.clone();
                async move {
                    let target = request.headers().get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or("");
                    let target = target.to_owned();
                    let body = request.into_body().collect().await?.to_bytes();
                    let (status, answer) = if target == "AWSEvents.PutEvents" {
                        put_events(&state, &body)
                    } else {
                        (400, json!({"__type": "UnknownOperationException", "message": target}))
                    };
                    Ok::<_, hyper::Error>(
                        hyper::Response::builder()
                            .status(status)
                            .header("content-type", "application/x-amz-json-1.1")
                            .body(Full::new(Bytes::from(answer.to_string())))
                            .expect("a valid response"),
                    )
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}

/// One PutEvents call: (HTTP status, JSON answer).
fn put_events(state: &Mutex<State>, body: &[u8]) -> (u16, Value) {
    let request: Value = serde_json::from_slice(body).unwrap_or_default();
    let entries = request["Entries"].as_array().cloned().unwrap_or_default();
    let mut state = state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    state.calls += 1;
    let failure = match &mut state.failing {
        Some((left, failure)) if *left > 0 => {
            *left -= 1;
            Some(*failure)
        }
        _ => None,
    };
    let accepted_count = match failure {
        Some(Failure::Unavailable) => {
            return (500, json!({"__type": "InternalException", "message": "the bus is unavailable (fake)"}));
        }
        Some(Failure::RejectFrom(index)) => index.min(entries.len()),
        None => entries.len(),
    };
    let mut results = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        if index < accepted_count {
            let event = ReceivedEvent {
                bus: entry["EventBusName"].as_str().unwrap_or_default().to_owned(),
                source: entry["Source"].as_str().unwrap_or_default().to_owned(),
                detail_type: entry["DetailType"].as_str().unwrap_or_default().to_owned(),
                detail: serde_json::from_str(entry["Detail"].as_str().unwrap_or_default()).unwrap_or_default(),
            };
            tracing::info!(bus = event.bus, detail_type = event.detail_type, detail = %event.detail, "event published");
            state.accepted.push(event);
            results.push(json!({"EventId": accounts::ids::new_object_id()}));
        } else {
            results.push(json!({"ErrorCode": "InternalFailure", "ErrorMessage": "rejected (fake)"}));
        }
    }
    (200, json!({"FailedEntryCount": entries.len() - accepted_count, "Entries": results}))
}

/// An EventBridge client for the stand-in at `endpoint` (dummy credentials, like [`crate::local_app`]).
pub fn local_client(endpoint: &str) -> aws_sdk_eventbridge::Client {
    aws_sdk_eventbridge::Client::new(&crate::local_sdk_config(endpoint))
}
