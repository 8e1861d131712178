//! A Lambda runtime API emulator: runs a real function binary (its `main`, as Lambda would) as a child
//! process and hands it events through the same HTTP interface Lambda uses
//! (`/2018-06-01/runtime/invocation/next`, `.../{id}/response`, `.../{id}/error`, `/runtime/init/error`).
//! Used by the binary-level event tests and by the benchmark, which also reads the timings.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::sync::{mpsc, oneshot};

/// How an invocation ended.
#[derive(Debug)]
pub enum Outcome {
    /// The function's response payload.
    Response(serde_json::Value),
    /// The function reported an error (`/error` or `/init/error`); the error document.
    Error(serde_json::Value),
}

#[derive(Debug)]
pub struct Invocation {
    pub outcome: Outcome,
    /// From handing out the event (the function's `next` request answered) to its response.
    pub duration: Duration,
}

struct PendingEvent {
    id: String,
    payload: Bytes,
    handed_out: oneshot::Sender<Instant>,
}

#[derive(Default)]
struct Shared {
    waiting: HashMap<String, oneshot::Sender<Outcome>>,
    /// When the function first asked for an event: the end of its init phase.
    first_next: Option<Instant>,
    init_error: Option<serde_json::Value>,
}

/// A function binary running under the emulator. Dropping it kills the process and removes its log (read
/// it with `output` before: thousands of runs would otherwise pile up in the temporary directory).
pub struct FunctionProcess {
    pub name: String,
    pub spawned_at: Instant,
    pub log_file: PathBuf,
    child: tokio::process::Child,
    events: mpsc::Sender<PendingEvent>,
    shared: Arc<Mutex<Shared>>,
    server: tokio::task::JoinHandle<()>,
    next_id: std::sync::atomic::AtomicU64,
}

impl Drop for FunctionProcess {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        self.server.abort();
        let _ = std::fs::remove_file(&self.log_file);
    }
}

/// The environment Lambda gives every function, for a function called `name` with `memory_mb`.
pub fn lambda_environment(name: &str, memory_mb: u32, runtime_api: SocketAddr) -> Vec<(String, String)> {
    [
        ("AWS_LAMBDA_RUNTIME_API", runtime_api.to_string()),
        ("AWS_LAMBDA_FUNCTION_NAME", name.to_owned()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", memory_mb.to_string()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
        ("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}")),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "2026/11/25/[$LATEST]local".to_owned()),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON".to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_DEFAULT_REGION", "us-east-1".to_owned()),
        ("AWS_ACCESS_KEY_ID", "local".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "local".to_owned()),
        ("AWS_SESSION_TOKEN", "local".to_owned()),
        ("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023".to_owned()),
        ("LAMBDA_TASK_ROOT", "/var/task".to_owned()),
        ("TZ", ":UTC".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

impl FunctionProcess {
    /// Starts `binary` with only Lambda's environment plus `env` (nothing inherited from this process
    /// but `PATH`), its output going to a log file.
    pub async fn start(binary: &Path, memory_mb: u32, env: &[(String, String)]) -> std::io::Result<FunctionProcess> {
        let name = binary.file_name().and_then(|n| n.to_str()).unwrap_or("function").to_owned();
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let address = listener.local_addr()?;
        let (events, received) = mpsc::channel::<PendingEvent>(16);
        let shared = Arc::new(Mutex::new(Shared::default()));
        let server = tokio::spawn(serve(listener, Arc::new(tokio::sync::Mutex::new(received)), shared.clone()));

        let log_file =
            std::env::temp_dir().join(format!("runtime-api-{}-{name}-{}.log", std::process::id(), address.port()));
        let log = std::fs::File::create(&log_file)?;
        let spawned_at = Instant::now();
        // `FUNCTION_RUNNER` (e.g. `qemu-aarch64-static`) runs a binary of another architecture: the arm64
        // artifacts `sam build` made (`bash infra/sam-build.sh --check`).
        let mut command = match std::env::var("FUNCTION_RUNNER").ok().filter(|runner| !runner.is_empty()) {
            Some(runner) => {
                let mut command = tokio::process::Command::new(runner);
                command.arg(binary);
                command
            }
            None => tokio::process::Command::new(binary),
        };
        let child = command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(lambda_environment(&name, memory_mb, address))
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(std::process::Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()?;
        Ok(FunctionProcess { name, spawned_at, log_file, child, events, shared, server, next_id: 0.into() })
    }

    /// When the function first asked for an event (its init finished), measured from the spawn.
    pub fn init_duration(&self) -> Option<Duration> {
        self.shared.lock().unwrap().first_next.map(|t| t - self.spawned_at)
    }

    /// The function's output so far (its log lines).
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log_file).unwrap_or_default()
    }

    /// Hands `event` to the function and waits for its answer (at most `timeout`).
    pub async fn invoke(&mut self, event: &serde_json::Value, timeout: Duration) -> Result<Invocation, String> {
        let id =
            format!("00000000-0000-4000-8000-{:012}", self.next_id.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
        let (answer, answered) = oneshot::channel();
        let (handed_out, handed_out_at) = oneshot::channel();
        self.shared.lock().unwrap().waiting.insert(id.clone(), answer);
        let payload = Bytes::from(serde_json::to_vec(event).expect("events serialize"));
        self.events
            .send(PendingEvent { id, payload, handed_out })
            .await
            .map_err(|_| "the emulator stopped".to_owned())?;
        let exited = async {
            loop {
                if let Some(error) = self.shared.lock().unwrap().init_error.clone() {
                    return format!("init error: {error}");
                }
                if let Ok(Some(status)) = self.child.try_wait() {
                    return format!("the function exited with {status}");
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        let result = tokio::time::timeout(timeout, async {
            tokio::select! {
                outcome = answered => outcome.map_err(|_| "no answer".to_owned()),
                reason = exited => Err(reason),
            }
        })
        .await;
        let finished = Instant::now();
        let outcome = match result {
            Ok(outcome) => outcome,
            Err(_) => Err(format!("no answer within {timeout:?}")),
        }
        .map_err(|reason| format!("{}: {reason}; its output:\n{}", self.name, self.output()))?;
        let started = handed_out_at.await.unwrap_or(finished);
        Ok(Invocation { outcome, duration: finished - started })
    }

    /// The process's peak resident memory (VmHWM) in KiB, read from /proc.
    pub fn peak_memory_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()?)).ok()?;
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }
}

type Received = Arc<tokio::sync::Mutex<mpsc::Receiver<PendingEvent>>>;

async fn serve(listener: tokio::net::TcpListener, received: Received, shared: Arc<Mutex<Shared>>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        let (received, shared) = (received.clone(), shared.clone());
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| handle(req, received.clone(), shared.clone()));
            let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

fn reply(status: StatusCode, body: Bytes) -> Response<Full<Bytes>> {
    Response::builder().status(status).body(Full::new(body)).expect("a valid response")
}

async fn handle(
    req: Request<Incoming>,
    received: Received,
    shared: Arc<Mutex<Shared>>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_owned();
    let method = req.method().clone();
    let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let parsed = || {
        serde_json::from_slice(&body)
            .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(&body).into_owned()))
    };
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (method, segments.as_slice()) {
        (Method::GET, ["2018-06-01", "runtime", "invocation", "next"]) => {
            shared.lock().unwrap().first_next.get_or_insert_with(Instant::now);
            let Some(event) = received.lock().await.recv().await else {
                return Ok(reply(StatusCode::GONE, Bytes::new()));
            };
            let _ = event.handed_out.send(Instant::now());
            let deadline = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default()
                + Duration::from_secs(900);
            Ok(Response::builder()
                .status(StatusCode::OK)
                .header("lambda-runtime-aws-request-id", &event.id)
                .header("lambda-runtime-deadline-ms", deadline.as_millis().to_string())
                .header("lambda-runtime-invoked-function-arn", "arn:aws:lambda:us-east-1:123456789012:function:local")
                .header("lambda-runtime-trace-id", "Root=1-00000000-000000000000000000000000;Sampled=0")
                .header("content-type", "application/json")
                .body(Full::new(event.payload))
                .expect("a valid response"))
        }
        (Method::POST, ["2018-06-01", "runtime", "invocation", id, kind @ ("response" | "error")]) => {
            let outcome = if *kind == "response" { Outcome::Response(parsed()) } else { Outcome::Error(parsed()) };
            if let Some(waiter) = shared.lock().unwrap().waiting.remove(*id) {
                let _ = waiter.send(outcome);
            }
            Ok(reply(StatusCode::ACCEPTED, Bytes::from_static(b"{\"status\":\"OK\"}")))
        }
        (Method::POST, ["2018-06-01", "runtime", "init", "error"]) => {
            shared.lock().unwrap().init_error = Some(parsed());
            Ok(reply(StatusCode::ACCEPTED, Bytes::from_static(b"{\"status\":\"OK\"}")))
        }
        _ => Ok(reply(StatusCode::NOT_FOUND, Bytes::from_static(b"{\"errorMessage\":\"unknown runtime API path\"}"))),
    }
}
