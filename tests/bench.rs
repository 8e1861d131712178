//! The benchmark (`bash infra/bench.sh`): runs the release function binaries under the Lambda runtime
//! API emulator against DynamoDB Local and writes docs/performance.md: cold start (init and first
//! answer) over 20 starts, warm latency over 1,000 requests with the share spent waiting on AWS (from the
//! per-request metrics every function logs), DynamoDB round trips and consumed capacity, release binary
//! size and peak memory.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use devstack::events::fill;
use devstack::runtime_api::{FunctionProcess, Outcome};
use serde_json::{Value, json};
use tests::functions::{binary, function_environment, prepare};
use tests::*;

const COLD_STARTS: usize = 20;
const WARM_REQUESTS: usize = 1000;
/// Login hashes a password per request (argon2id, ~19 MiB, 2 passes): fewer requests keep the run short.
const WARM_LOGINS: usize = 200;
const MEMORY_MB: u32 = 256;

/// The representative operations.
const OPERATIONS: &[(&str, &str)] = &[
    ("current_user", "get current user"),
    ("list_users", "list users"),
    ("update_user", "patch a user"),
    ("bulk_edit_teams_and_permissions", "bulk team edit (1 user)"),
    ("send_invites", "send invites (1 recipient)"),
    ("join_organization", "accept invite"),
    ("users_by_experience", "experience query"),
    ("get_organization", "organization overview"),
    ("login", "login (argon2id)"),
];

struct RequestLog {
    duration_us: u64,
    aws_wait_us: u64,
    round_trips: u64,
    capacity: f64,
}

/// The `request` lines a function logged (see `routes::dispatch`).
fn request_logs(output: &str) -> Vec<RequestLog> {
    output
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["fields"]["message"] == "request")
        .map(|line| {
            let fields = &line["fields"];
            RequestLog {
                duration_us: fields["duration_us"].as_u64().unwrap_or_default(),
                aws_wait_us: fields["aws_wait_us"].as_u64().unwrap_or_default(),
                round_trips: fields["aws_round_trips"].as_u64().unwrap_or_default(),
                capacity: fields["consumed_capacity"].as_f64().unwrap_or_default(),
            }
        })
        .collect()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn sorted(mut values: Vec<f64>) -> Vec<f64> {
    values.sort_by(|a, b| a.partial_cmp(b).unwrap());
    values
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Values for the `n`-th request of `function`: requests that consume something get their own.
struct Inputs {
    values: Vec<(&'static str, String)>,
    /// (invite token, guest session) per join.
    joins: Vec<(String, String)>,
}

impl Inputs {
    fn event(&self, function: &str, n: usize) -> Value {
        let mut values = self.values.clone();
        let unique = format!("b{n}x{}", &accounts::ids::new_object_id()[..8]);
        values.retain(|(name, _)| *name != "UNIQUE");
        values.push(("UNIQUE", unique));
        if function == "join_organization" {
            let (token, session) = &self.joins[n];
            values.retain(|(name, _)| !matches!(*name, "INVITE_TOKEN" | "GUEST_SESSION"));
            values.push(("INVITE_TOKEN", token.clone()));
            values.push(("GUEST_SESSION", session.clone()));
        }
        let path = devstack::repo_root().join("events").join(format!("{function}.json"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        serde_json::from_str(&fill(&text, &values)).expect("a valid event")
    }
}

/// Invites `count` new accounts into the organization and returns (token, session) for each.
async fn guests_with_invites(env: &TestEnv, owner_session: &str, count: usize) -> Vec<(String, String)> {
    let owner = Auth::Bearer(owner_session.to_owned());
    let mut emails = Vec::new();
    for _ in 0..count {
        let guest = env.create_organization(&organization_name("Bench Guest")).await;
        emails.push((guest.email, guest.session));
    }
    for chunk in emails.chunks(100) {
        let recipients: Vec<&str> = chunk.iter().map(|(email, _)| email.as_str()).collect();
        let sent = env.post("/api/auth/sendInvites", json!({"recipients": recipients, "autoActivate": true}), &owner).await;
        assert_eq!(sent.status, 200, "{:?}", sent.body);
    }
    let mut joins = Vec::new();
    for (email, session) in emails {
        let mail = mails_to(&email).await.pop().expect("the invite mail");
        joins.push((invite_token(&mail), session));
    }
    joins
}

fn status_of(outcome: &Outcome) -> u64 {
    match outcome {
        Outcome::Response(response) => response["statusCode"].as_u64().unwrap_or_default(),
        Outcome::Error(_) => 0,
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let env = TestEnv::new().await;
    let values = prepare(&env).await;
    let environment = function_environment(&env);
    let session = values.iter().find(|(n, _)| *n == "SESSION").unwrap().1.clone();
    eprintln!("preparing {} invites to accept", COLD_STARTS + WARM_REQUESTS);
    let joins = guests_with_invites(&env, &session, COLD_STARTS + WARM_REQUESTS).await;
    let inputs = Inputs { values, joins };

    let mut report = String::new();
    let mut rows = Vec::new();
    for (function, label) in OPERATIONS {
        eprintln!("{function}: {COLD_STARTS} cold starts");
        let path = binary("release", function);
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or_default();
        let mut inits = Vec::new();
        let mut firsts = Vec::new();
        let mut n = 0;
        for _ in 0..COLD_STARTS {
            let mut process = FunctionProcess::start(&path, MEMORY_MB, &environment).await.unwrap();
            let invocation = process.invoke(&inputs.event(function, n), Duration::from_secs(30)).await.unwrap();
            n += 1;
            let answered = Instant::now();
            assert_eq!(status_of(&invocation.outcome), 200, "{function}: {:?}", invocation.outcome);
            inits.push(ms(process.init_duration().unwrap()));
            firsts.push(ms(answered - process.spawned_at));
        }
        let warm = if *function == "login" { WARM_LOGINS } else { WARM_REQUESTS };
        eprintln!("{function}: {warm} warm requests");
        let mut process = FunctionProcess::start(&path, MEMORY_MB, &environment).await.unwrap();
        let mut latencies = Vec::new();
        for _ in 0..warm {
            let invocation = process.invoke(&inputs.event(function, n), Duration::from_secs(30)).await.unwrap();
            n += 1;
            assert_eq!(status_of(&invocation.outcome), 200, "{function}: {:?}", invocation.outcome);
            latencies.push(ms(invocation.duration));
        }
        let peak_kib = process.peak_memory_kib().unwrap_or_default();
        tokio::time::sleep(Duration::from_millis(200)).await;
        let logs = request_logs(&process.output());
        assert!(logs.len() >= warm, "{function}: {} request lines logged for {warm} requests", logs.len());
        let logs = &logs[logs.len() - warm..];
        let waits = sorted(logs.iter().map(|l| l.aws_wait_us as f64 / 1000.0).collect());
        let own = sorted(logs.iter().map(|l| l.duration_us.saturating_sub(l.aws_wait_us) as f64 / 1000.0).collect());
        let trips = sorted(logs.iter().map(|l| l.round_trips as f64).collect());
        let capacity = logs.iter().map(|l| l.capacity).sum::<f64>() / logs.len() as f64;
        let latencies = sorted(latencies);
        let (inits, firsts) = (sorted(inits), sorted(firsts));
        rows.push(format!(
            "| {label} (`{function}`) | {:.1} / {:.1} | {:.1} / {:.1} | {warm} | {:.2} / {:.2} | {:.2} | {:.3} / {:.3} | {} – {} | {capacity:.2} | {:.1} | {:.1} |",
            percentile(&inits, 0.5),
            inits.last().unwrap(),
            percentile(&firsts, 0.5),
            firsts.last().unwrap(),
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.99),
            percentile(&waits, 0.5),
            percentile(&own, 0.5),
            percentile(&own, 0.99),
            trips.first().unwrap(),
            trips.last().unwrap(),
            size as f64 / 1_048_576.0,
            peak_kib as f64 / 1024.0,
        ));
    }

    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| c.lines().find(|l| l.starts_with("model name")).map(|l| l.split(':').nth(1).unwrap_or_default().trim().to_owned()))
        .unwrap_or_else(|| "unknown".into());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| m.lines().next().map(|l| l.split_whitespace().nth(1).unwrap_or("0").parse::<u64>().unwrap_or(0) / 1_048_576))
        .unwrap_or(0);
    let _ = writeln!(report, "# Performance\n");
    let _ = writeln!(report, "Written by `bash infra/bench.sh` (release binaries of every function, then `cargo run --release -p tests --bin bench`).");
    let _ = writeln!(report, "Machine: {cpu}, {cores} cores, {memory} GiB; DynamoDB Local (Java) on the same machine, so every");
    let _ = writeln!(report, "DynamoDB wait below is DynamoDB Local's, not DynamoDB's (single-digit milliseconds on AWS).\n");
    let _ = writeln!(report, "Each function binary runs as Lambda runs it, under the Lambda runtime API emulator of");
    let _ = writeln!(report, "`infra/devstack/src/runtime_api.rs`, with Lambda's environment and {MEMORY_MB} MB declared.");
    let _ = writeln!(report, "- **init**: process start to its first request for an event (the end of Lambda's init phase), median / max of {COLD_STARTS} starts.");
    let _ = writeln!(report, "- **cold**: process start to the end of its first response, median / max of {COLD_STARTS} starts.");
    let _ = writeln!(report, "- **warm**: one process, event handed out to response received, p50 / p99.");
    let _ = writeln!(report, "- **AWS wait**: time the request spent waiting on DynamoDB / SES (the SDK interceptor `request_metrics.rs`), p50.");
    let _ = writeln!(report, "- **own**: the handler's time minus the AWS wait: the bundle's own overhead, p50 / p99.");
    let _ = writeln!(report, "- **round trips**: DynamoDB and SES requests per API request (min – max), and DynamoDB's consumed capacity (ReturnConsumedCapacity TOTAL, mean).\n");
    let _ = writeln!(report, "| operation | init ms | cold ms | warm n | warm p50 / p99 ms | AWS wait p50 ms | own p50 / p99 ms | round trips | capacity units | binary MB | peak RSS MB |");
    let _ = writeln!(report, "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for row in rows {
        let _ = writeln!(report, "{row}");
    }
    let path = devstack::repo_root().join("docs/performance.md");
    let existing = std::fs::read_to_string(&path).unwrap_or_default();
    // Hand-written analysis below the generated part is kept.
    let marker = "<!-- END GENERATED -->";
    let kept = existing.split_once(marker).map(|(_, rest)| rest.to_owned()).unwrap_or_default();
    std::fs::write(&path, format!("{report}\n{marker}{kept}")).unwrap();
    eprintln!("wrote {}", path.display());
}
