//! A DNS-over-HTTPS resolver for the tests (the JSON API the functions' adapter reads): it answers the TXT
//! records the tests publish with [`publish`], and no records for any other name. One per test process,
//! on a free port, shared by every test env (each test publishes under its own domains).

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use http_body_util::Full;
use hyper::body::Bytes;
use serde_json::json;

static RECORDS: Mutex<Option<HashMap<String, Vec<String>>>> = Mutex::new(None);

/// Publishes `value` as a TXT record of `name`, besides those it has (tests running at once may publish
/// under the same name: each its own value).
pub fn publish(name: &str, value: &str) {
    RECORDS
        .lock()
        .unwrap()
        .get_or_insert_with(HashMap::new)
        .entry(name.to_lowercase())
        .or_default()
        .push(format!("\"{value}\""));
}

/// The resolver's URL (started on first use).
pub fn resolver_url() -> String {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                sender.send(format!("http://127.0.0.1:{}/dns-query", listener.local_addr().unwrap().port())).unwrap();
                while let Ok((stream, _)) = listener.accept().await {
                    tokio::spawn(async move {
                        let service = hyper::service::service_fn(|request: hyper::Request<hyper::body::Incoming>| {
                            let query: HashMap<String, String> =
                                form_urlencoded::parse(request.uri().query().unwrap_or_default().as_bytes())
                                    .into_owned()
                                    .collect();
                            let name = query.get("name").cloned().unwrap_or_default().to_lowercase();
                            let found = RECORDS.lock().unwrap().as_ref().and_then(|r| r.get(&name).cloned());
                            let body = match found {
                                Some(values) => json!({
                                    "Status": 0,
                                    "Answer": values.iter().map(|data| json!({"name": name, "type": 16, "TTL": 60, "data": data})).collect::<Vec<_>>(),
                                }),
                                None => json!({ "Status": 3 }),
                            };
                            let response = hyper::Response::builder()
                                .header("content-type", "application/dns-json")
                                .body(Full::new(Bytes::from(body.to_string())))
                                .unwrap();
                            async move { Ok::<_, hyper::Error>(response) }
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                            .await;
                    });
                }
            });
        });
        receiver.recv().expect("the resolver starts")
    })
    .clone()
}
