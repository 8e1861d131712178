//! Test harness: DynamoDB Local and the SES emulator started once per test process on free ports (or
//! reused from `DYNAMODB_ENDPOINT` / `SES_ENDPOINT`), a fresh table per test so tests run in parallel
//! without sharing state, and the local gateway on a free port so tests speak real HTTP.

pub mod answers;
pub mod authenticator;
pub mod barrier;
pub mod browser;
mod client;
pub mod dns;
pub mod functions;
pub mod seed;
pub mod sso;
pub mod switch;

mod config;
mod inspect;
mod mail;
mod proxy;
mod requests;
mod seeding;

pub use client::ApiClient;
pub use config::*;
pub use inspect::{Write, Writes};
pub use mail::{SentMail, confirmation_token, invite_token, link_token, mails_to, ownership_token};
use proxy::dynamodb_proxy;
pub use proxy::{DynamoDbHook, DynamoDbResponder};

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use accounts::App;
use accounts::config::Config;
use aws_sdk_dynamodb::types::AttributeValue;
use devstack::services::Services;
use devstack::table::TableDefinition;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
pub use switch::PortSwitch;

pub type Item = HashMap<String, AttributeValue>;

static SERVICES: OnceLock<Services> = OnceLock::new();

pub fn services() -> &'static Services {
    SERVICES.get_or_init(|| Services::start_or_reuse().unwrap_or_else(|e| panic!("local services: {e}")))
}

pub fn unique_suffix() -> String {
    accounts::ids::new_object_id()[..12].to_owned()
}

/// How a test request authenticates.
#[derive(Debug, Clone)]
pub enum Auth {
    None,
    Bearer(String),
    Cookie(String),
    Token(String),
}

#[derive(Debug)]
pub struct TestResponse {
    pub status: u16,
    pub headers: hyper::HeaderMap,
    pub body: Value,
}

impl TestResponse {
    /// The machine-readable code of the first error message (of a page that says why: its `data-code`).
    pub fn error_code(&self) -> &str {
        if let Some(page) = self.body.as_str() {
            return page.split("data-code=\"").nth(1).and_then(|rest| rest.split('"').next()).unwrap_or_default();
        }
        self.body["messages"][0]["code"].as_str().unwrap_or_default()
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A member of an organization, logged in.
#[derive(Debug, Clone)]
pub struct Member {
    pub email: String,
    pub user_id: String,
    pub session: String,
}

impl Member {
    pub fn auth(&self) -> Auth {
        Auth::Bearer(self.session.clone())
    }
}

/// An organization's owner after sign-up and login.
#[derive(Debug, Clone)]
pub struct Owner {
    pub email: String,
    pub organization: String,
    pub user_id: String,
    pub session: String,
}

impl Owner {
    pub fn auth(&self) -> Auth {
        Auth::Bearer(self.session.clone())
    }
}

pub struct TestEnv {
    pub app: Arc<App>,
    pub base_url: String,
    pub table: String,
    client: Client<HttpConnector, Full<Bytes>>,
    server: tokio::task::JoinHandle<()>,
    proxy: Option<tokio::task::JoinHandle<()>>,
    check_invariants_at_end: bool,
    /// The DynamoDB the table is on, reached directly (past any proxy).
    dynamodb_endpoint: String,
    /// Whether this env created its table (and deletes it when it goes): not an env sharing another's.
    owns_table: bool,
    /// The mail lanes' queues in the local SQS (shared by envs sharing the table): the security lane's,
    /// then the other mail's ([`TestEnv::mail_queue`]). The env's gateway hands their visible mail to the
    /// drainer before it answers a request, unless they drain in the background.
    mail_lanes: Arc<Vec<devstack::mail_queue::MailQueue>>,
    /// The background drainers of [`TestEnv::draining_in_background`].
    drainers: Vec<tokio::task::JoinHandle<()>>,
    /// Ends the run if the test outlives [`TEST_TIME_LIMIT`]; stops watching when the env goes.
    _watchdog: Watchdog,
}

/// The longest a test may run (the longest, the permission matrix, takes about two minutes alone): one
/// that hangs ends the test run with its name, instead of holding CI until CI's own limit.
pub const TEST_TIME_LIMIT: std::time::Duration = std::time::Duration::from_secs(600);

/// Watches the test that made it (named by its thread, as the test harness names it) from a thread of its
/// own: if the test is still running after [`TEST_TIME_LIMIT`], the process exits with a failure. Dropping
/// the watchdog (with its env) ends the watch.
struct Watchdog(#[allow(dead_code)] Option<std::sync::mpsc::Sender<()>>);

impl Watchdog {
    /// No watch (dropping the sender ends the thread's).
    fn none() -> Self {
        Watchdog(None)
    }

    fn start() -> Self {
        use std::io::Write;
        let test = std::thread::current().name().unwrap_or("a test").to_owned();
        let (done, finished) = std::sync::mpsc::channel::<()>();
        std::thread::spawn(move || {
            if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = finished.recv_timeout(TEST_TIME_LIMIT) {
                // Straight to stderr: the harness captures `eprintln!`, and exiting would lose it.
                let limit = TEST_TIME_LIMIT.as_secs();
                let _ = writeln!(std::io::stderr(), "{test} has run for more than {limit} s: ending the test run");
                std::process::exit(101);
            }
        });
        Watchdog(Some(done))
    }
}

impl TestEnv {
    /// The env of a run that is no test and takes longer than [`TEST_TIME_LIMIT`] (the benchmark): unwatched.
    pub fn without_time_limit(mut self) -> Self {
        self._watchdog = Watchdog::none();
        self
    }
}

impl Drop for TestEnv {
    /// Every test ends with the invariant checker on its table: when its `TestEnv` goes away (unless the
    /// test already failed, or opted out with [`TestEnv::skip_invariant_check`]), the table is scanned
    /// and any violated cross-item invariant fails the test.
    fn drop(&mut self) {
        self.server.abort();
        if let Some(proxy) = &self.proxy {
            proxy.abort();
        }
        for drainer in &self.drainers {
            drainer.abort();
        }
        let check = self.check_invariants_at_end && !std::thread::panicking();
        // A failed test's table stays for a look at it; a passed test's goes, so a long run does not fill
        // the shared DynamoDB Local with tables (one of them has 10,000 users).
        let delete = self.owns_table && !std::thread::panicking();
        if !check && !delete {
            return;
        }
        let (table, endpoint) = (self.table.clone(), self.dynamodb_endpoint.clone());
        // Drop cannot await: check and delete on a thread of its own, with its own runtime and client.
        let problems = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
            runtime.block_on(async {
                let problems = if check { invariant_violations_at(&endpoint, &table).await } else { Vec::new() };
                if delete && problems.is_empty() {
                    // A DynamoDB Local a fault test stopped has taken its tables with it.
                    let _ = devstack::local_dynamodb(&endpoint).delete_table().table_name(&table).send().await;
                }
                problems
            })
        })
        .join()
        .expect("the invariant checker runs");
        if !problems.is_empty() {
            panic!("invariants violated in table {} at the end of the test:\n{}", self.table, problems.join("\n"));
        }
    }
}

/// Creates a test's table from template.yaml's definition; without its stream unless `stream`: DynamoDB
/// Local's stream makes every write slower (the 10,000-user purge test takes 94 s instead of 69 s), and
/// only the event tests read it.
async fn create_table(client: &aws_sdk_dynamodb::Client, table: &str, stream: bool) {
    let mut definition = TableDefinition::from_repo_template().unwrap();
    if !stream {
        definition.stream_view_type = None;
    }
    if let Err(e) = definition.create(client, table).await {
        panic!("creating the test's table: {e}\n{}", services().states());
    }
}

/// The violated invariants of `table` on the DynamoDB at `endpoint` (see `devstack::invariants`), read
/// with a client of its own.
pub async fn invariant_violations_at(endpoint: &str, table: &str) -> Vec<String> {
    devstack::invariants::check_table(&devstack::local_dynamodb(endpoint), table, accounts::ids::now_millis())
        .await
        .unwrap_or_else(|e| vec![e])
}

/// Runs `work` (a test doing a function's steps itself) under that function's declared actions, as the
/// function would run them: an operation (`accounts::operations`) or a background function
/// (`accounts::background`).
pub async fn as_function<F: std::future::Future>(
    function: impl Into<accounts::declared_actions::Declaration>,
    work: F,
) -> F::Output {
    accounts::declared_actions::scope(function.into(), work).await
}

impl TestEnv {
    pub async fn new() -> TestEnv {
        Self::with_config(|_| {}).await
    }

    /// A test env whose configuration `change` adjusts (e.g. an instance without self-registration).
    pub async fn with_config(change: impl FnOnce(&mut Config)) -> TestEnv {
        Self::with_config_and_stream(change, false).await
    }

    /// A test env whose table has its stream, as deployed (for the tests that read the stream or
    /// [`TestEnv::writes`]).
    pub async fn with_stream() -> TestEnv {
        Self::with_config_and_stream(|_| {}, true).await
    }

    async fn with_config_and_stream(change: impl FnOnce(&mut Config), stream: bool) -> TestEnv {
        let services = tokio::task::spawn_blocking(services).await.expect("services start");
        let table = format!("test-{}", unique_suffix());
        let mut config = test_config(&table);
        change(&mut config);
        let mut env = Self::serving_with(config, &services.dynamodb_endpoint, &services.ses_endpoint).await;
        create_table(&env.direct_dynamodb(), &table, stream).await;
        env.owns_table = true;
        env
    }

    /// A test env for the pages: its public URI is its own address (`http://localhost:{port}`), as on a
    /// deployment, so links in mails open here and the browser's `Origin` is the site's.
    pub async fn for_pages() -> TestEnv {
        Self::for_pages_with(|_| {}).await
    }

    /// [`TestEnv::for_pages`] with a changed configuration.
    pub async fn for_pages_with(change: impl FnOnce(&mut Config)) -> TestEnv {
        Self::for_pages_prepared(async |config: &mut Config| change(config)).await
    }

    /// [`TestEnv::for_pages`] whose configuration `prepare` completes once the public URI (with its port)
    /// is known, e.g. by registering it with a service.
    pub(crate) async fn for_pages_prepared(prepare: impl AsyncFnOnce(&mut Config)) -> TestEnv {
        let services = tokio::task::spawn_blocking(services).await.expect("services start");
        let table = format!("test-{}", unique_suffix());
        // Bound first (and held), since the public URI names the port.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut config = test_config(&table);
        config.public_uri = format!("http://localhost:{port}");
        prepare(&mut config).await;
        let mut env = Self::serving_on(config, &services.dynamodb_endpoint, &services.ses_endpoint, listener).await;
        env.base_url = format!("http://localhost:{port}");
        create_table(&env.direct_dynamodb(), &table, false).await;
        env.owns_table = true;
        env
    }

    /// A test env whose DynamoDB requests pass through a proxy that awaits `hook` before forwarding each
    /// one: for doing something "concurrently" at an exact point of a request.
    pub async fn with_dynamodb_hook(hook: DynamoDbHook) -> TestEnv {
        let responder: DynamoDbResponder = Arc::new(move |operation, body| {
            let hook = hook.clone();
            Box::pin(async move {
                hook(operation, body).await;
                None
            })
        });
        Self::with_dynamodb_responder(responder).await
    }

    /// A test env whose DynamoDB requests pass through a proxy that asks `responder` first: its answer, if
    /// any, replaces DynamoDB Local's (for failures DynamoDB Local does not produce).
    pub async fn with_dynamodb_responder(responder: DynamoDbResponder) -> TestEnv {
        let services = tokio::task::spawn_blocking(services).await.expect("services start");
        let table = format!("test-{}", unique_suffix());
        let (proxy, proxy_task) = dynamodb_proxy(services.dynamodb_endpoint.clone(), responder).await;
        let mut env = Self::serving_with(test_config(&table), &proxy, &services.ses_endpoint).await;
        env.proxy = Some(proxy_task);
        env.dynamodb_endpoint = services.dynamodb_endpoint.clone();
        create_table(&env.direct_dynamodb(), &table, false).await;
        env.owns_table = true;
        env
    }

    /// A test env on the DynamoDB at `dynamodb_endpoint` (e.g. a dedicated DynamoDB Local a fault test
    /// stops and starts), with a fresh table there.
    pub async fn on_dynamodb(dynamodb_endpoint: &str) -> TestEnv {
        let services = tokio::task::spawn_blocking(services).await.expect("services start");
        let table = format!("test-{}", unique_suffix());
        let env = Self::serving_with(test_config(&table), dynamodb_endpoint, &services.ses_endpoint).await;
        // Its DynamoDB Local is the test's own, and goes with its data when the test ends.
        create_table(&env.direct_dynamodb(), &table, false).await;
        env
    }

    /// Runs the invariant checker on this env's table now and panics on any violation (every test also
    /// runs it at its end, when the env is dropped).
    pub async fn check_invariants(&self) {
        let problems = invariant_violations_at(&self.dynamodb_endpoint, &self.table).await;
        assert!(problems.is_empty(), "invariants violated in table {}:\n{}", self.table, problems.join("\n"));
    }

    /// For an env whose table a test leaves broken on purpose: no invariant check when it is dropped.
    pub fn skip_invariant_check(&mut self) {
        self.check_invariants_at_end = false;
    }

    /// A DynamoDB client that talks to DynamoDB Local directly (past any proxy of this env).
    pub fn direct_dynamodb(&self) -> aws_sdk_dynamodb::Client {
        devstack::local_dynamodb(&self.dynamodb_endpoint)
    }

    /// Another gateway on the same table whose mail goes to `ses_endpoint` (e.g. one nobody listens on).
    pub async fn sharing_table(&self, ses_endpoint: &str) -> TestEnv {
        Self::serving(&self.table, ses_endpoint).await
    }

    /// Hands the mail queue's visible mail to the drainer (what the env's gateway does after each request
    /// that may queue mail): for mail that a test's direct call of a function's code queued, or mail
    /// visible again after a failed try. Returns how many were sent.
    pub async fn deliver_mail(&self) -> usize {
        let mut delivered = 0;
        for lane in self.mail_lanes.iter() {
            delivered += lane.deliver_visible(&self.app).await.expect("the mail queue is read");
        }
        delivered
    }

    /// The env with its mail sent as on AWS: each lane drained by its own drainer in the background (one
    /// batch at a time, as its event source mapping hands them out), while the gateway answers at once.
    pub async fn draining_in_background(mut self) -> TestEnv {
        self.server.abort();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (address, server) = devstack::gateway::spawn_on(self.app.clone(), listener, Default::default()).unwrap();
        (self.server, self.base_url) = (server, format!("http://{address}"));
        for lane in self.mail_lanes.iter() {
            self.drainers.push(lane.clone().drain_in_background(self.app.clone()));
        }
        self
    }

    /// The queue of the mail that is not security mail (`config.mail_queue_url`).
    pub fn mail_queue(&self) -> &devstack::mail_queue::MailQueue {
        &self.mail_lanes[1]
    }

    /// Waits (a few seconds at most, checking every 50 ms) until a mail a drainer did not take is visible in
    /// the mail queue again, after its visibility timeout: a condition, not a fixed sleep.
    pub async fn until_mail_is_visible_again(&self) {
        let deadline =
            std::time::Instant::now() + std::time::Duration::from_secs(u64::from(MAIL_QUEUE_VISIBILITY_SECONDS) * 3);
        loop {
            let (visible, _) = self.mail_queue().counts().await.expect("the mail queue's counts are read");
            if visible > 0 {
                return;
            }
            assert!(std::time::Instant::now() < deadline, "no mail became visible in the mail queue again");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// Whether the mail queue holds nothing at all, visible or waiting for its visibility timeout.
    pub async fn mail_queue_is_empty(&self) -> bool {
        self.mail_queue().counts().await.expect("the mail queue's counts are read") == (0, 0)
    }

    /// The security lane's queue (`config.mail_security_queue_url`).
    pub fn security_mail_queue(&self) -> &devstack::mail_queue::MailQueue {
        &self.mail_lanes[0]
    }

    /// Another gateway on the same table whose functions started with `keys` (a rotation's phases).
    /// Another env on this env's table and SES, configured as `change` says (a deployment whose settings
    /// changed, for instance).
    pub async fn sharing_table_with(&self, change: impl FnOnce(&mut Config)) -> TestEnv {
        let mut config = test_config(&self.table);
        change(&mut config);
        Self::serving_with(config, &services().dynamodb_endpoint, &services().ses_endpoint).await
    }

    pub async fn sharing_table_with_keys(&self, keys: accounts::keys::KeyMaterial) -> TestEnv {
        let mut config = test_config(&self.table);
        config.keys = keys;
        Self::serving_with(config, &services().dynamodb_endpoint, &services().ses_endpoint).await
    }

    /// An SES endpoint that refuses connections (its port held by the switch, refusing, until it is dropped).
    pub async fn unreachable_ses() -> PortSwitch {
        PortSwitch::new(switch::Mode::Refuse).await
    }

    async fn serving(table: &str, ses_endpoint: &str) -> TestEnv {
        Self::serving_with(test_config(table), &services().dynamodb_endpoint, ses_endpoint).await
    }

    async fn serving_with(config: Config, dynamodb_endpoint: &str, ses_endpoint: &str) -> TestEnv {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::serving_on(config, dynamodb_endpoint, ses_endpoint, listener).await
    }

    async fn serving_on(
        config: Config,
        dynamodb_endpoint: &str,
        ses_endpoint: &str,
        listener: tokio::net::TcpListener,
    ) -> TestEnv {
        let table = config.table_name.clone();
        let sqs = &services().sqs_endpoint;
        let lane = |name: String| async move {
            devstack::mail_queue::MailQueue::create(sqs, &name, MAIL_QUEUE_MAX_RECEIVES, MAIL_QUEUE_VISIBILITY_SECONDS)
                .await
                .expect("the mail queue is created")
        };
        // The security lane first: the gateway hands each lane's mail to the drainer in this order.
        let lanes = Arc::new(vec![lane(format!("{table}-security")).await, lane(table.clone()).await]);
        let mut config = config;
        config.mail_security_queue_url = lanes[0].url.clone();
        config.mail_queue_url = lanes[1].url.clone();
        let queued = devstack::mail_queue::QueuedMailCount::default();
        let app = Arc::new(devstack::local_app_counting_mail(config, dynamodb_endpoint, ses_endpoint, sqs, &queued));
        let mail = devstack::gateway::SendBeforeAnswering { lanes: lanes.clone(), queued };
        let (address, server) = devstack::gateway::spawn_on(app.clone(), listener, Arc::new(mail)).unwrap();
        TestEnv {
            app,
            base_url: format!("http://{address}"),
            table,
            client: Client::builder(TokioExecutor::new()).build_http(),
            server,
            proxy: None,
            check_invariants_at_end: true,
            dynamodb_endpoint: dynamodb_endpoint.to_owned(),
            owns_table: false,
            mail_lanes: lanes,
            drainers: Vec::new(),
            _watchdog: Watchdog::start(),
        }
    }
}

/// Sends a request again while it answers the retryable 503 (`service.unavailable`), as that answer asks,
/// at most five times: on a loaded machine DynamoDB Local may answer one of many concurrent requests too
/// slowly for the SDK's timeouts. Any other answer is returned as it is.
pub async fn until_answered<F, Fut>(mut send: F) -> TestResponse
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = TestResponse>,
{
    for _ in 0..5 {
        let response = send().await;
        if response.status != 503 {
            return response;
        }
        assert_eq!(response.error_code(), "service.unavailable", "a 503 is only ever the retryable one");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    panic!("still 503 service.unavailable after five tries")
}

pub fn text(item: &Item, name: &str) -> String {
    match item.get(name) {
        Some(AttributeValue::S(s)) => s.clone(),
        Some(AttributeValue::N(n)) => n.clone(),
        _ => String::new(),
    }
}

pub fn signup_form(email: &str, organization_name: &str) -> Value {
    json!({
        "email": email,
        "password": { "password1": PASSWORD, "password2": PASSWORD },
        "firstName": "Ada",
        "lastName": "Lovelace",
        "organizationName": organization_name,
    })
}

/// A unique organization name, so ids never collide between tests.
pub fn organization_name(prefix: &str) -> String {
    format!("{prefix} {}", unique_suffix())
}
