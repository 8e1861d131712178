//! Test harness: DynamoDB Local and the SES emulator started once per test process on free ports (or
//! reused from `DYNAMODB_ENDPOINT` / `SES_ENDPOINT`), a fresh table per test so tests run in parallel
//! without sharing state, and the local gateway on a free port so tests speak real HTTP.

pub mod barrier;
pub mod browser;
pub mod functions;
pub mod seed;
pub mod switch;

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use accounts::App;
use accounts::config::Config;
use accounts::declared_actions::unchecked;
use aws_sdk_dynamodb::types::AttributeValue;
use devstack::services::Services;
use devstack::table::TableDefinition;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
pub use switch::PortSwitch;

pub type Item = HashMap<String, AttributeValue>;

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

pub const PASSWORD: &str = "correct horse battery";
/// The instance operator of a test env (configured by e-mail, as deployments do).
pub const SUPER_USER: &str = "operator@instance.test";
/// The topic and configuration set this stack's mail events come from (as `template.yaml` names them for a
/// stack `webknossos-accounts` in the sample account).
pub const MAIL_EVENTS_TOPIC: &str = "arn:aws:sns:eu-central-1:123456789012:webknossos-accounts-mail-events";
pub const MAIL_CONFIGURATION_SET: &str = "webknossos-accounts-mail";
/// The other origin a test env lets call the API from a browser (`CORS_ALLOWED_ORIGINS`).
pub const CORS_ORIGIN: &str = "https://lab.example.org";
/// The account mail is sent from (the topic's).
pub const MAIL_ACCOUNT: &str = "123456789012";
/// The organization a test env lets people register into without an invite (create it to use it).
pub const HOME_ORGANIZATION: &str = "home";

static SERVICES: OnceLock<Services> = OnceLock::new();

pub fn services() -> &'static Services {
    SERVICES.get_or_init(|| Services::start_or_reuse().unwrap_or_else(|e| panic!("local services: {e}")))
}

fn unique_suffix() -> String {
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
    /// The machine-readable code of the first error message.
    pub fn error_code(&self) -> &str {
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
    definition.create(client, table).await.unwrap();
}

/// The violated invariants of `table` on the DynamoDB at `endpoint` (see `devstack::invariants`), read
/// with a client of its own.
pub async fn invariant_violations_at(endpoint: &str, table: &str) -> Vec<String> {
    devstack::invariants::check_table(&devstack::local_dynamodb(endpoint), table, accounts::ids::now_millis())
        .await
        .unwrap_or_else(|e| vec![e])
}

/// An HTTP proxy in front of DynamoDB Local that awaits `hook` before forwarding each request.
async fn dynamodb_proxy(target: String, hook: DynamoDbResponder) -> (String, tokio::task::JoinHandle<()>) {
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

/// Runs `work` (a test doing a function's steps itself) under that function's declared actions, as the
/// function would run them: an operation (`accounts::operations`) or a background function
/// (`accounts::background`).
pub async fn as_function<F: std::future::Future>(
    function: impl Into<accounts::declared_actions::Declaration>,
    work: F,
) -> F::Output {
    accounts::declared_actions::scope(function.into(), work).await
}

/// A test's mail queue: a mail SES did not take is received again after three seconds (longer than a
/// drainer's tries of an unreachable SES take), three times in all, then it is in the dead-letter queue.
pub const MAIL_QUEUE_MAX_RECEIVES: u32 = 3;
pub const MAIL_QUEUE_VISIBILITY_SECONDS: u32 = 3;

/// Waits until a mail a drainer did not take is visible in the queue again.
pub async fn until_mail_is_visible_again() {
    tokio::time::sleep(std::time::Duration::from_millis(u64::from(MAIL_QUEUE_VISIBILITY_SECONDS) * 1000 + 200)).await;
}

/// The tests' signing secret (`test_config`, and the secret the function binaries read at start-up).
pub const TEST_SECRET: &str = "test-secret-that-is-long-enough-for-hs256!";

pub fn test_config(table: &str) -> Config {
    Config {
        table_name: table.to_owned(),
        signing: accounts::config::SigningSecrets::new(TEST_SECRET.as_bytes().to_vec(), vec![])
            .expect("the test secret is long enough"),
        public_uri: "http://localhost:3000".into(),
        mail_sender: "no-reply@webknossos.test".into(),
        mail_configuration_set: None,
        mail_events: Some(accounts::config::MailEventsSource {
            topic_arn: MAIL_EVENTS_TOPIC.into(),
            configuration_set: MAIL_CONFIGURATION_SET.into(),
        }),
        // Set by the env to its own queue.
        mail_queue_url: String::new(),
        mail_security_queue_url: String::new(),
        cors_allowed_origins: vec![CORS_ORIGIN.into()],
        // Fast enough not to slow the tests; `mail_queue.rs` checks the pace at a lower rate.
        mail_send_rate: 1000.0,
        session_lifetime: std::time::Duration::from_secs(3600),
        invite_lifetime: accounts::config::DEFAULT_INVITE_LIFETIME,
        invite_retention: accounts::config::DEFAULT_INVITE_RETENTION,
        audit_retention: accounts::config::DEFAULT_AUDIT_RETENTION,
        super_users: vec![SUPER_USER.into()],
        email_verification: Default::default(),
        password_reset_lifetime: accounts::config::DEFAULT_PASSWORD_RESET_LIFETIME,
        // No response floor: tests fail logins by the hundred; `credentials.rs` tests the floor.
        login: accounts::config::LoginLimits { response_floor: std::time::Duration::ZERO, ..Default::default() },
        // No cooldown: tests resend at once; `invites.rs` tests the cooldown with its own configuration.
        // Requests to the operators: enough for the permission matrix; `organizations.rs` tests the limit.
        mail_limits: accounts::config::MailLimits {
            resend_cooldown: std::time::Duration::ZERO,
            plan_requests_per_day: 100,
            ..Default::default()
        },
        organization_creation: Default::default(),
        edge_origin_verify: None,
        self_registration_organization: Some(HOME_ORGANIZATION.into()),
    }
}

impl TestEnv {
    pub async fn new() -> TestEnv {
        Self::with_config(|_| {}).await
    }

    /// A test env whose configuration `change` adjusts (e.g. an instance without self-registration).
    pub async fn with_config(change: impl FnOnce(&mut Config)) -> TestEnv {
        Self::with_config_and_stream(change, false).await
    }

    /// A test env whose table has its stream, as deployed (for the tests that read the stream).
    pub async fn with_stream() -> TestEnv {
        Self::with_config_and_stream(|_| {}, true).await
    }

    async fn with_config_and_stream(change: impl FnOnce(&mut Config), stream: bool) -> TestEnv {
        let services = tokio::task::spawn_blocking(services).await.expect("services start");
        let table = format!("test-{}", unique_suffix());
        let mut config = test_config(&table);
        change(&mut config);
        let mut env = Self::serving_with(config, &services.dynamodb_endpoint, &services.ses_endpoint).await;
        create_table(&env.app.db.client, &table, stream).await;
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
        let services = tokio::task::spawn_blocking(services).await.expect("services start");
        let table = format!("test-{}", unique_suffix());
        // Bound first (and held), since the public URI names the port.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut config = test_config(&table);
        config.public_uri = format!("http://localhost:{port}");
        change(&mut config);
        let mut env = Self::serving_on(config, &services.dynamodb_endpoint, &services.ses_endpoint, listener).await;
        env.base_url = format!("http://localhost:{port}");
        create_table(&env.app.db.client, &table, false).await;
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
        create_table(&env.app.db.client, &table, false).await;
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
        create_table(&env.app.db.client, &table, false).await;
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

    /// Hands the mail queue's visible mail to the drainer (what the env's gateway does after each request):
    /// for mail that a test's direct call of a function's code queued. Returns how many were sent.
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
        let (address, server) = devstack::gateway::spawn_on(self.app.clone(), listener, Arc::new(Vec::new())).unwrap();
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

    /// The security lane's queue (`config.mail_security_queue_url`).
    pub fn security_mail_queue(&self) -> &devstack::mail_queue::MailQueue {
        &self.mail_lanes[0]
    }

    /// Another gateway on the same table whose functions started with `signing` (a rotation's phases).
    pub async fn sharing_table_with_keys(&self, signing: accounts::config::SigningSecrets) -> TestEnv {
        let mut config = test_config(&self.table);
        config.signing = signing;
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
        let app = Arc::new(devstack::local_app(config, dynamodb_endpoint, ses_endpoint, sqs));
        let (address, server) = devstack::gateway::spawn_on(app.clone(), listener, lanes.clone()).unwrap();
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
        }
    }

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

    /// Signs up a new organization with its owner and logs the owner in.
    pub async fn create_organization(&self, organization_name: &str) -> Owner {
        let email = format!("owner-{}@example.org", unique_suffix());
        let created = self
            .post("/api/auth/createOrganizationWithAdmin", signup_form(&email, organization_name), &Auth::None)
            .await;
        assert_eq!(created.status, 200, "{:?}", created.body);
        let session = self.login(&email, PASSWORD).await;
        Owner {
            email,
            organization: created.body["organization"]["id"].as_str().unwrap().to_owned(),
            user_id: created.body["user"]["id"].as_str().unwrap().to_owned(),
            session,
        }
    }

    /// Creates the organization people may register into, with its owner.
    pub async fn create_home_organization(&self) -> Owner {
        self.home_organization_for(&format!("owner-{}@example.org", unique_suffix())).await
    }

    /// The organization people may register into (named "Home Lab"), owned by a new account of `email`
    /// with [`PASSWORD`], logged in. Its id is reserved by the configuration, so the public sign-up refuses
    /// it: it is provisioned as a deployment does, with the store's creation (the same items and
    /// transaction as a sign-up).
    pub async fn home_organization_for(&self, email: &str) -> Owner {
        let new = accounts::store::accounts::NewOrganizationWithOwner {
            organization_id: HOME_ORGANIZATION.into(),
            organization_name: "Home Lab".into(),
            email: email.to_owned(),
            password_hash: accounts::password::hash(PASSWORD).await.unwrap(),
            first_name: "Ada".into(),
            last_name: "Lovelace".into(),
        };
        let auditor = accounts::domain::audit::Auditor::system(&self.app, "provisioning");
        let audit = |organization: &accounts::model::Organization, owner: Option<&accounts::model::User>| {
            let mut targets = vec![accounts::model::AuditTarget::organization(organization)];
            targets.extend(owner.map(accounts::model::AuditTarget::user));
            vec![auditor.entry(&organization.id, "organization.created", targets, json!({}))]
        };
        let (_, owner) = unchecked(accounts::store::accounts::create_organization_with_owner(
            &self.app.db,
            new,
            accounts::ids::now_millis(),
            &audit,
        ))
        .await
        .unwrap();
        let session = self.login(email, PASSWORD).await;
        Owner { email: email.to_owned(), organization: HOME_ORGANIZATION.into(), user_id: owner.id, session }
    }

    /// Registers a user into the home organization (deactivated unless auto-verify is on).
    pub async fn register(&self, first_name: &str, last_name: &str) -> (String, Value) {
        let email = format!("{}-{}@example.org", first_name.to_lowercase(), unique_suffix());
        let mut form = signup_form(&email, "ignored");
        form["firstName"] = json!(first_name);
        form["lastName"] = json!(last_name);
        let response = self.post("/api/auth/register", form, &Auth::None).await;
        assert_eq!(response.status, 200, "{:?}", response.body);
        (email, response.body)
    }

    /// A registered, activated and logged-in member of the home organization, in `teams`
    /// (team id, is team manager) besides the Default team.
    pub async fn member(&self, owner: &Owner, first_name: &str, last_name: &str, teams: &[(&str, bool)]) -> Member {
        let (email, user) = self.register(first_name, last_name).await;
        let user_id = user["id"].as_str().unwrap().to_owned();
        let mut memberships: Vec<Value> = user["teams"].as_array().unwrap().clone();
        memberships.extend(teams.iter().map(|(id, manager)| json!({"id": id, "isTeamManager": manager})));
        let patch = json!({"isActive": true, "teams": memberships});
        let activated = self.request("PATCH", &format!("/api/users/{user_id}"), Some(patch), &owner.auth()).await;
        assert_eq!(activated.status, 200, "{:?}", activated.body);
        let session = self.login(&email, PASSWORD).await;
        Member { email, user_id, session }
    }

    /// The account id of `email`, read from its e-mail guard.
    pub async fn account_id(&self, email: &str) -> String {
        let guard = self
            .scan()
            .await
            .into_iter()
            .find(|i| text(i, "PK") == format!("EMAIL#{email}"))
            .expect("the address has an account");
        text(&guard, "accountId")
    }

    /// Proves `email` as its owner would: asks for a verification link (as `auth`, a session of it), and
    /// follows the newest link mailed to it for this table's account.
    pub async fn verify_email(&self, email: &str, auth: &Auth) {
        let asked = self.post("/api/verifyEmail", json!({}), auth).await;
        assert_eq!(asked.status, 200, "{:?}", asked.body);
        let key = link_token(email, "/verifyEmail/", &self.account_id(email).await)
            .await
            .expect("the verification mail arrived");
        let verified = self.post(&format!("/api/verifyEmail/{key}"), json!({}), auth).await;
        assert_eq!(verified.status, 200, "{:?}", verified.body);
    }

    /// Stores a password reset for the account of `email` directly (as `startResetPassword` would, without
    /// its mail and throttle) and returns its token.
    pub async fn seed_password_reset(&self, email: &str) -> String {
        self.seed_password_reset_for(&self.account_id(email).await, email).await
    }

    /// [`TestEnv::seed_password_reset`] for a known account id.
    pub async fn seed_password_reset_for(&self, account_id: &str, email: &str) -> String {
        let account_id = account_id.to_owned();
        let token = format!("{account_id}.{}", accounts::ids::new_secret().repeat(2).get(..43).unwrap());
        let now = accounts::ids::now_millis();
        let reset = accounts::model::PasswordReset {
            account_id,
            token_hash: accounts::ids::sha256_hex(&token),
            email: email.to_owned(),
            valid_until: now + 3_600_000,
            created: now,
        };
        unchecked(accounts::store::accounts::put_link(&self.app.db, &reset)).await.unwrap();
        token
    }

    /// Stores an e-mail verification link for the account of `email` directly and returns its key.
    pub async fn seed_email_verification(&self, email: &str) -> String {
        let account_id = self.account_id(email).await;
        let key = format!("{account_id}.{}", accounts::ids::new_secret().repeat(2).get(..43).unwrap());
        let now = accounts::ids::now_millis();
        let verification = accounts::model::EmailVerification {
            account_id,
            key_hash: accounts::ids::sha256_hex(&key),
            email: email.to_owned(),
            valid_until: now + 3_600_000,
            used_at: None,
            created: now,
        };
        unchecked(accounts::store::accounts::put_link(&self.app.db, &verification)).await.unwrap();
        key
    }

    /// `host` invites `email`, whose account (signed in as `guest`) joins the host's organization by the link.
    pub async fn join_by_invite(&self, host: &Owner, email: &str, guest: &Auth) {
        let recipients = json!({"recipients": [email], "autoActivate": true});
        let sent = self.post("/api/auth/sendInvites", recipients, &host.auth()).await;
        assert_eq!(sent.body["recipients"][0]["status"], "invited", "{:?}", sent.body);
        let token = invite_token(&mails_to(email).await.pop().unwrap());
        let joined = self.post(&format!("/api/auth/joinOrganization/{token}"), json!({}), guest).await;
        assert_eq!(joined.status, 200, "{:?}", joined.body);
    }

    /// Names `address` in the organization's `newUserMailingList` (as `auth`, an admin of `organization`) and
    /// returns the token of the confirmation link mailed there.
    pub async fn notification_token(&self, auth: &Auth, organization: &str, address: &str) -> String {
        let patch = json!({ "newUserMailingList": address });
        let changed = self.request("PATCH", &format!("/api/organizations/{organization}"), Some(patch), auth).await;
        assert_eq!(changed.status, 200, "{:?}", changed.body);
        confirmation_token(address).await.expect("the confirmation mail")
    }

    /// Confirms the notices to `address` as its mailbox would (the token from [`TestEnv::notification_token`]).
    pub async fn confirm_notifications(&self, token: &str) {
        let confirmed = self.post(&format!("/api/notificationAddresses/{token}"), json!({}), &Auth::None).await;
        assert_eq!(confirmed.status, 200, "{:?}", confirmed.body);
    }

    /// Grants the operator role to the account of `email` (verified), as the `grant-operator` command does.
    pub async fn grant_operator(&self, email: &str) {
        let grantor = accounts::domain::operators::Grantor::Command;
        unchecked(accounts::domain::operators::grant(&self.app, grantor, email)).await.expect("granted");
    }

    /// The instance operator ([`SUPER_USER`], with a verified address and the role granted, owner of an
    /// organization of its own), logged in.
    pub async fn operator(&self) -> Owner {
        let created = self
            .post(
                "/api/auth/createOrganizationWithAdmin",
                signup_form(SUPER_USER, &organization_name("Operators")),
                &Auth::None,
            )
            .await;
        assert_eq!(created.status, 200, "{:?}", created.body);
        let session = self.login(SUPER_USER, PASSWORD).await;
        let auth = Auth::Bearer(session.clone());
        self.verify_email(SUPER_USER, &auth).await;
        self.grant_operator(SUPER_USER).await;
        Owner {
            email: SUPER_USER.into(),
            organization: created.body["organization"]["id"].as_str().unwrap().to_owned(),
            user_id: created.body["user"]["id"].as_str().unwrap().to_owned(),
            session,
        }
    }

    /// Accepts the deletion of `organization` as its request would (the store's marking, with its audit
    /// entry by a test job), without running the purge.
    pub async fn mark_deletion_requested(&self, organization: &str) {
        let target =
            accounts::model::AuditTarget { kind: "organization".into(), id: organization.into(), name: String::new() };
        let entry = accounts::domain::audit::Auditor::system(&self.app, "test").entry(
            organization,
            "organization.deletionRequested",
            vec![target],
            json!({}),
        );
        let store = accounts::store::org::OrgStore::for_internal_service(&self.app.db, organization);
        let marked = unchecked(store.mark_deleting(accounts::ids::now_millis(), &entry)).await.unwrap();
        assert!(marked, "not being deleted before");
    }

    /// Creates a team as `admin` and returns its id.
    pub async fn team(&self, admin: &Auth, name: &str) -> String {
        let response = self.post("/api/teams", json!({ "name": name }), admin).await;
        assert_eq!(response.status, 200, "{:?}", response.body);
        response.body["id"].as_str().unwrap().to_owned()
    }

    pub async fn patch_user(&self, user_id: &str, body: Value, auth: &Auth) -> TestResponse {
        self.request("PATCH", &format!("/api/users/{user_id}"), Some(body), auth).await
    }

    /// Logs in and returns the session token.
    pub async fn login(&self, email: &str, password: &str) -> String {
        let response = self.post("/api/auth/login", json!({ "email": email, "password": password }), &Auth::None).await;
        assert_eq!(response.status, 200, "{:?}", response.body);
        response.body["token"].as_str().unwrap().to_owned()
    }

    /// Every item of the table, sorted by key: a snapshot to compare before and after a request.
    pub async fn scan(&self) -> Vec<Item> {
        let mut items = devstack::invariants::scan_table(&self.app.db.client, &self.table).await.unwrap();
        items.sort_by_key(|item| (text(item, "PK"), text(item, "SK")));
        items
    }

    /// Sets attributes of an item directly in the table (for states no route of this slice produces).
    pub async fn set_attribute(&self, pk: &str, sk: &str, name: &str, value: AttributeValue) {
        let update = self
            .app
            .db
            .client
            .update_item()
            .table_name(&self.table)
            .key("PK", AttributeValue::S(pk.into()))
            .key("SK", AttributeValue::S(sk.into()))
            .update_expression("SET #n = :v")
            .expression_attribute_names("#n", name)
            .expression_attribute_values(":v", value)
            .send();
        unchecked(update).await.unwrap();
    }

    /// Adds `delta` to a number attribute of an item directly in the table (keeps counters in step with
    /// items a test writes directly).
    pub async fn add_to_number(&self, pk: &str, sk: &str, name: &str, delta: i64) {
        let update = self
            .app
            .db
            .client
            .update_item()
            .table_name(&self.table)
            .key("PK", AttributeValue::S(pk.into()))
            .key("SK", AttributeValue::S(sk.into()))
            .update_expression("ADD #n :v")
            .expression_attribute_names("#n", name)
            .expression_attribute_values(":v", AttributeValue::N(delta.to_string()))
            .send();
        unchecked(update).await.unwrap();
    }

    /// Checks that `method path` by `foreign` (a caller from another organization) is refused with 403 or
    /// 404 and changes nothing in the table. Every route that takes an id or a token uses this.
    pub async fn check_foreign_caller_refused(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        foreign: &Auth,
    ) -> Result<(), String> {
        let before = self.scan().await;
        let response = self.request(method, path, body, foreign).await;
        let after = self.scan().await;
        if response.status != 403 && response.status != 404 {
            return Err(format!(
                "{method} {path} by another organization's caller: {} {:?}",
                response.status, response.body
            ));
        }
        if before != after {
            return Err(format!("{method} {path} by another organization's caller changed the table"));
        }
        Ok(())
    }

    /// For routes that act in the caller's own organization (creating, listing): checks that `method path`
    /// by `foreign` (a caller from another organization) leaves `organization`'s partition unchanged and
    /// that the answer names none of its items (no id, e-mail or name of them appears). Returns the answer.
    pub async fn check_foreign_caller_isolated(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        foreign: &Auth,
        organization: &str,
    ) -> Result<TestResponse, String> {
        let partition = format!("ORG#{organization}");
        let own = |items: Vec<Item>| items.into_iter().filter(|i| text(i, "PK") == partition).collect::<Vec<_>>();
        let before = own(self.scan().await);
        let response = self.request(method, path, body, foreign).await;
        if own(self.scan().await) != before {
            return Err(format!("{method} {path} by another organization's caller changed {organization}'s items"));
        }
        let answer = response.body.to_string();
        for item in &before {
            for name in ["id", "email"] {
                let value = text(item, name);
                if !value.is_empty() && answer.contains(&value) {
                    return Err(format!(
                        "{method} {path} by another organization's caller shows {name} {value} of {organization}"
                    ));
                }
            }
        }
        if answer.contains(&format!("\"organization\":\"{organization}\"")) {
            return Err(format!("{method} {path} by another organization's caller shows an item of {organization}"));
        }
        Ok(response)
    }

    pub async fn assert_foreign_caller_isolated(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        foreign: &Auth,
        organization: &str,
    ) -> TestResponse {
        self.check_foreign_caller_isolated(method, path, body, foreign, organization)
            .await
            .unwrap_or_else(|problem| panic!("{problem}"))
    }

    pub async fn assert_foreign_caller_refused(&self, method: &str, path: &str, body: Option<Value>, foreign: &Auth) {
        if let Err(problem) = self.check_foreign_caller_refused(method, path, body, foreign).await {
            panic!("{problem}");
        }
    }
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

/// A mail the SES emulator received.
#[derive(Debug, Clone)]
pub struct SentMail {
    pub to: Vec<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Every mail the SES emulator holds that was sent to `address`.
pub async fn mails_to(address: &str) -> Vec<SentMail> {
    let client: Client<HttpConnector, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let uri = format!("{}/store", services().ses_endpoint);
    let response = client.get(uri.parse().unwrap()).await.expect("the SES emulator answers");
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let store: Value = serde_json::from_slice(&bytes).unwrap();
    store["emails"]
        .as_array()
        .unwrap()
        .iter()
        .map(|mail| SentMail {
            to: mail["destination"]["to"]
                .as_array()
                .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
                .unwrap_or_default(),
            subject: mail["subject"].as_str().unwrap_or_default().to_owned(),
            text: mail["body"]["text"].as_str().unwrap_or_default().to_owned(),
            html: mail["body"]["html"].as_str().unwrap_or_default().to_owned(),
        })
        .filter(|mail| mail.to.iter().any(|to| to == address))
        .collect()
}

/// The invite token in an invite mail's link (`.../invite/{token}`).
pub fn invite_token(mail: &SentMail) -> String {
    let start = mail.text.find("/invite/").expect("the mail has an invite link") + "/invite/".len();
    mail.text[start..].split_whitespace().next().unwrap().to_owned()
}

/// The token in the newest mail to `address` whose link contains `marker` followed by `{account_id}.`
/// (mails of other tests' accounts to the same address are skipped: the SES emulator is shared).
/// The token of the newest link confirming an organization's notices mailed to `address`, if any.
pub async fn confirmation_token(address: &str) -> Option<String> {
    newest_token(address, "/confirmNotifications/", "").await
}

pub async fn link_token(address: &str, marker: &str, account_id: &str) -> Option<String> {
    newest_token(address, marker, &format!("{account_id}.")).await
}

/// The token after `marker` in the newest mail to `address` whose token there starts with `start`.
async fn newest_token(address: &str, marker: &str, start: &str) -> Option<String> {
    let prefix = format!("{marker}{start}");
    mails_to(address).await.iter().rev().find_map(|mail| {
        let at = mail.text.find(&prefix)? + marker.len();
        Some(mail.text[at..].split_whitespace().next()?.to_owned())
    })
}
