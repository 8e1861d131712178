//! How the readers and the organization purge scale with the organization: 100 to 10,000 users.

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use devstack::events::fill;
use devstack::runtime_api::{FunctionProcess, Outcome};
use serde_json::{Value, json};
use tests::functions::{binary, function_environment};
use tests::*;

use crate::{MEMORY_MB, RequestLog, discard_mail, ms, percentile, request_logs, sorted, status_of};

pub(crate) const SCALES: &[usize] = &[100, 1_000, 10_000];
pub(crate) const SCALE_REQUESTS: usize = 20;

/// Warm figures of `function` over `events` in one process: (p50 ms, its parts' p50s, round trips
/// min–max, mean capacity). The mail the requests queue is dropped between them, untimed
/// (`crate::discard_mail`).
async fn warm_figures(
    env: &TestEnv,
    function: &str,
    environment: &[(String, String)],
    events: &[Value],
) -> (f64, String, String, f64) {
    let mut process = FunctionProcess::start(&binary("release", function), MEMORY_MB, environment).await.unwrap();
    let mut latencies = Vec::new();
    for event in events {
        let invocation = process.invoke(event, Duration::from_secs(900)).await.unwrap();
        assert!(matches!(status_of(&invocation.outcome), 200), "{function}: {:?}", invocation.outcome);
        latencies.push(ms(invocation.duration));
        discard_mail(env).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let logs = request_logs(&process.output());
    let trips = sorted(logs.iter().map(|l| l.round_trips as f64).collect());
    let capacity = logs.iter().map(|l| l.capacity).sum::<f64>() / logs.len().max(1) as f64;
    let trips =
        format!("{} – {}", trips.first().copied().unwrap_or_default(), trips.last().copied().unwrap_or_default());
    let p50 = |values: Vec<f64>| percentile(&sorted(values), 0.5);
    let parts = format!(
        "{:.1} / {:.1} / {:.2}",
        p50(logs.iter().map(|l| l.dynamodb_wait_us as f64 / 1000.0).collect()),
        p50(logs.iter().map(|l| l.mail_wait_us as f64 / 1000.0).collect()),
        p50(logs.iter().map(RequestLog::own_ms).collect()),
    );
    (p50(latencies), parts, trips, capacity)
}

/// DynamoDB Local alone, no function: the two transactions of a bulk role change of `user_ids` (100),
/// as its store sends them at once (each 50 users' items, conditioned on being there, and 50 audit
/// entries, new), the users' items written back as stored and copies of the organization's latest audit
/// entries under new keys; p50 ms of [`SCALE_REQUESTS`] rounds. What the emulator alone takes for the
/// writes of the edit above, against its goal (150 ms).
async fn transactions_alone(env: &TestEnv, user_ids: &[&String]) -> f64 {
    use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
    let items = env.partition(&accounts::model::Key::organization(HOME_ORGANIZATION).pk).await;
    let users: Vec<&Item> = user_ids
        .iter()
        .map(|id| {
            let sk = accounts::model::Key::user(HOME_ORGANIZATION, id).sk;
            items.iter().find(|item| text(item, "SK") == sk).expect("a seeded user's item")
        })
        .collect();
    let entries: Vec<&Item> =
        items.iter().filter(|item| text(item, "entity") == "AuditEntry").rev().take(100).collect();
    assert_eq!(entries.len(), 100, "the bulk edits above wrote audit entries");
    let client = env.direct_dynamodb();
    let put = |item: Item, condition: &str| {
        let put = Put::builder().table_name(&env.table).set_item(Some(item)).condition_expression(condition);
        TransactWriteItem::builder().put(put.build().unwrap()).build()
    };
    let mut rounds = Vec::new();
    for round in 0..SCALE_REQUESTS {
        let transactions: Vec<Vec<TransactWriteItem>> = (0..2)
            .map(|half| {
                let users = users[half * 50..(half + 1) * 50].iter().map(|u| put((*u).clone(), "attribute_exists(PK)"));
                let entries = entries[half * 50..(half + 1) * 50].iter().map(|e| {
                    let mut entry = (*e).clone();
                    entry.insert("SK".into(), AttributeValue::S(format!("{}#alone{round}", text(e, "SK"))));
                    put(entry, "attribute_not_exists(PK)")
                });
                users.chain(entries).collect()
            })
            .collect();
        let started = Instant::now();
        let send = |items: Vec<TransactWriteItem>| {
            accounts::declared_actions::unchecked(client.transact_write_items().set_transact_items(Some(items)).send())
        };
        let mut halves = transactions.into_iter();
        let (first, second) = tokio::join!(send(halves.next().unwrap()), send(halves.next().unwrap()));
        first.unwrap();
        second.unwrap();
        rounds.push(ms(started.elapsed()));
    }
    percentile(&sorted(rounds), 0.5)
}

pub(crate) fn event_with(function: &str, values: &[(&str, String)], body: Option<Value>) -> Value {
    let path = devstack::repo_root().join("events").join(format!("{function}.json"));
    let text = std::fs::read_to_string(&path).unwrap();
    let mut event: Value = serde_json::from_str(&fill(&text, values)).unwrap();
    if let Some(body) = body {
        event["body"] = json!(body.to_string());
    }
    event
}

pub(crate) async fn scale() -> Vec<String> {
    let mut rows = Vec::new();
    for &users in SCALES {
        eprintln!("scale: seeding an organization of {users} users");
        // Twenty bulk edits of 100 users mail 2,000 notices: more than the default organization budget.
        let env = TestEnv::with_config(|config| config.mail_limits.per_organization_all_per_day = 1_000_000)
            .await
            .without_time_limit();
        let owner = env.create_home_organization().await;
        let team = env.team(&owner.auth(), "Bulk").await;
        let other_team = env.team(&owner.auth(), "Other").await;
        let seeded =
            tests::seed::seed_members(&env, HOME_ORGANIZATION, users, |i| vec![("nuclei", (i % 10) as i64)]).await;
        let environment = function_environment(&env).await;
        let values = vec![
            ("SESSION", owner.session.clone()),
            ("ORGANIZATION", HOME_ORGANIZATION.to_owned()),
            ("GUEST_ORGANIZATION", HOME_ORGANIZATION.to_owned()),
            ("GUEST_ORGANIZATION_NAME", "Home Lab".to_owned()),
            ("GUEST_SESSION", owner.session.clone()),
        ];
        let hundred: Vec<&String> = seeded.user_ids.iter().take(100).collect();
        // The hundred join the team first (untimed): the role changes below change only roles.
        let joined = env
            .client(&owner.auth())
            .bulk_edit_teams_and_permissions(json!({"userIds": hundred, "setTeams": [{"id": team}]}))
            .await;
        assert_eq!(joined.status, 200, "{:?}", joined.body);
        discard_mail(&env).await;
        let repeat = |function: &str, body: &dyn Fn(usize) -> Option<Value>| -> Vec<Value> {
            (0..SCALE_REQUESTS).map(|n| event_with(function, &values, body(n))).collect()
        };
        let cases: Vec<(&str, &str, Vec<Value>)> = vec![
            ("list_users", "users page (50)", repeat("list_users", &|_| None)),
            ("users_by_experience", "experience query (page of 100)", repeat("users_by_experience", &|_| None)),
            (
                "bulk_edit_teams_and_permissions",
                "bulk edit of 100 users, each changing its role in a team",
                repeat("bulk_edit_teams_and_permissions", &|n| {
                    Some(json!({"userIds": hundred, "setTeams": [{"id": team, "isTeamManager": n % 2 == 0}]}))
                }),
            ),
            (
                "bulk_edit_teams_and_permissions",
                "bulk edit of 100 users, each joining (or, every other request, leaving) a team",
                repeat("bulk_edit_teams_and_permissions", &|n| {
                    Some(if n % 2 == 0 {
                        json!({"userIds": hundred, "setTeams": [{"id": other_team}]})
                    } else {
                        json!({"userIds": hundred, "removeTeams": [other_team]})
                    })
                }),
            ),
            (
                "bulk_change_experiences",
                "bulk experience change of 100 users (a new value each)",
                repeat("bulk_change_experiences", &|n| {
                    Some(json!({"userIds": hundred, "set": {"nuclei": 20 + n % 2}}))
                }),
            ),
            ("get_organization", "overview", repeat("get_organization", &|_| None)),
        ];
        for (function, label, events) in cases {
            eprintln!("scale {users}: {function}");
            let (p50, parts, trips, capacity) = warm_figures(&env, function, &environment, &events).await;
            rows.push(format!("| {users} | {label} (`{function}`) | {p50:.1} | {parts} | {trips} | {capacity:.2} |"));
        }
        if users == SCALES[0] {
            eprintln!("scale {users}: the bulk role change's two transactions alone");
            let p50 = transactions_alone(&env, &hundred).await;
            rows.push(format!(
                "| {users} | DynamoDB Local alone, no function: the role change's two transactions (each 50 users' items and 50 audit entries), sent at once | {p50:.1} | {p50:.1} / — / — | 2 – 2 | |"
            ));
        }
        eprintln!("scale {users}: deleting the organization");
        let started = Instant::now();
        let (p50, _, trips, capacity) = warm_figures(
            &env,
            "delete_organization",
            &environment,
            &[event_with("delete_organization", &values, None)],
        )
        .await;
        let mut purge =
            FunctionProcess::start(&binary("release", "organization_purge"), MEMORY_MB, &environment).await.unwrap();
        loop {
            let run =
                purge.invoke(&event_with("organization_purge", &values, None), Duration::from_secs(900)).await.unwrap();
            let Outcome::Response(result) = run.outcome else { panic!("the purge failed: {:?}", run.outcome) };
            if result["finished"].as_u64() == Some(0) {
                break;
            }
        }
        let total = started.elapsed();
        tokio::time::sleep(Duration::from_millis(200)).await;
        let purge_logs = request_logs(&purge.output());
        let purge_trips: u64 = purge_logs.iter().map(|l| l.round_trips).sum();
        let purge_capacity: f64 = purge_logs.iter().map(|l| l.capacity).sum();
        rows.push(format!(
            "| {users} | delete the organization: request, then purge to the end | {p50:.1} (request), {:.1} s in all | | {trips} (request) + {purge_trips} (purge) | {capacity:.0} (request) + {purge_capacity:.0} (purge) |",
            total.as_secs_f64()
        ));
        assert!(
            env.scan().await.iter().all(|item| !text(item, "PK").contains(&format!("ORG#{HOME_ORGANIZATION}"))),
            "the purge left items"
        );
    }
    rows
}
