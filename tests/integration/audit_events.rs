//! Events for other systems (docs/audit.md): audit entries and tombstones written to a test table reach
//! the event bus through DynamoDB Local's stream, delivered by the stream mapping Lambda would run
//! (`devstack::stream`) to the consumer's handler (`accounts::events::handle`, what the function runs),
//! which publishes to a local stand-in for EventBridge that can fail and recover.

use std::collections::{BTreeMap, BTreeSet};

use accounts::events::{EVENT_SOURCE, Envelope, EventPublisher, PURGED};
use accounts::model::{AuditActor, AuditContext, AuditEntry, AuditTarget, OrganizationTombstone};
use devstack::event_bus::{Failure, FakeEventBus};
use devstack::stream::StreamMapping;
use serde_json::json;
use tests::{TestEnv, services};

struct Harness {
    bus: FakeEventBus,
    publisher: EventPublisher,
    mapping: StreamMapping,
}

impl Harness {
    async fn new(env: &TestEnv) -> Harness {
        let bus = FakeEventBus::start();
        let client = devstack::event_bus::local_client(&bus.endpoint);
        let publisher = EventPublisher::new(client, &env.table, &env.app.config.public_uri);
        let mapping = StreamMapping::for_table(&services().dynamodb_endpoint, &env.table, 100).await.unwrap();
        Harness { bus, publisher, mapping }
    }

    /// Plays Lambda's event source mapping until every record of the stream was taken.
    async fn deliver(&mut self) {
        let publisher = &self.publisher;
        self.mapping
            .deliver_all(
                |event| async move { accounts::events::handle(publisher, event).await.map_err(|e| e.to_string()) },
                100,
            )
            .await
            .unwrap();
    }

    /// The envelopes the bus accepted, checking the EventBridge fields around them.
    fn published(&self) -> Vec<Envelope> {
        self.bus
            .accepted()
            .into_iter()
            .map(|event| {
                assert_eq!(event.source, EVENT_SOURCE);
                let envelope: Envelope = serde_json::from_value(event.detail).unwrap();
                assert_eq!(event.detail_type, envelope.kind);
                envelope
            })
            .collect()
    }
}

fn entry(organization: &str, action: &str, number: usize) -> AuditEntry {
    let now = accounts::ids::now_millis();
    AuditEntry {
        organization: organization.to_owned(),
        id: accounts::ids::new_audit_id(now),
        action: action.to_owned(),
        occurred_at: now,
        actor: AuditActor::system("test"),
        targets: vec![AuditTarget::team(&format!("team{number}"), &format!("Team {number}"))],
        context: AuditContext::default(),
        change: json!({ "number": number }).to_string(),
        group: None,
        expires_at: now / 1000 + 86_400,
    }
}

/// Writes `count` entries alternating between two organizations, one write each (so the stream holds
/// them in this order), and returns their ids per organization in write order.
async fn write_entries(env: &TestEnv, organizations: [&str; 2], count: usize) -> BTreeMap<String, Vec<String>> {
    let mut written: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for number in 0..count {
        let organization = organizations[number % 2];
        let entry = entry(organization, "team.created", number);
        put(env, accounts::store::to_item(&entry)).await;
        written.entry(organization.to_owned()).or_default().push(entry.id);
    }
    written
}

async fn put(env: &TestEnv, item: tests::Item) {
    let put = env.direct_dynamodb().put_item().table_name(&env.table).set_item(Some(item)).send();
    accounts::declared_actions::unchecked(put).await.unwrap();
}

/// The published ids per organization (the subject), in publication order.
fn ids_by_organization(envelopes: &[Envelope]) -> BTreeMap<String, Vec<String>> {
    let mut ids: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for envelope in envelopes {
        ids.entry(envelope.subject.clone()).or_default().push(envelope.id.clone());
    }
    ids
}

fn merge(
    mut into: BTreeMap<String, Vec<String>>,
    more: BTreeMap<String, Vec<String>>,
) -> BTreeMap<String, Vec<String>> {
    for (organization, ids) in more {
        into.entry(organization).or_default().extend(ids);
    }
    into
}

/// The entries are written directly, without the changes they would record, so the table holds no
/// organization for them: no invariant check.
async fn env_with_entries_only() -> TestEnv {
    let mut env = TestEnv::with_stream().await;
    env.skip_invariant_check();
    env
}

#[tokio::test]
async fn every_entry_is_published_once_in_write_order_per_organization() {
    let env = env_with_entries_only().await;
    let mut harness = Harness::new(&env).await;
    let written = write_entries(&env, ["lab-a", "lab-b"], 25).await;
    harness.deliver().await;
    let published = harness.published();
    assert_eq!(published.len(), 25);
    assert_eq!(ids_by_organization(&published), written);
    // One PutEvents call per 10 entries of a batch: 25 entries in one batch are 3 calls.
    assert_eq!((harness.bus.calls(), harness.mapping.invocations), (3, 1));

    let first = &published[0];
    assert_eq!(
        (first.specversion.as_str(), first.kind.as_str(), first.subject.as_str(), first.datacontenttype.as_str()),
        ("1.0", "team.created", "lab-a", "application/json")
    );
    assert_eq!(first.source, format!("{}/organizations/lab-a", env.app.config.public_uri));
    assert_eq!(first.data["id"], json!(first.id));
    assert_eq!(first.data["change"], json!({ "number": 0 }));
    assert_eq!(first.data["targets"], json!([{ "type": "team", "id": "team0", "name": "Team 0" }]));
    assert_eq!(first.data["actor"], json!({ "type": "system", "name": "test" }));

    // Each organization's sequences order as strings in the order its entries were written (docs/audit.md).
    for organization in ["lab-a", "lab-b"] {
        let sequences: Vec<&str> =
            published.iter().filter(|e| e.subject == organization).map(|e| e.sequence.as_str()).collect();
        assert!(sequences.windows(2).all(|pair| pair[0] < pair[1]), "{organization}: {sequences:?}");
    }

    // Later entries are published by later batches, and nothing again.
    let more = write_entries(&env, ["lab-a", "lab-b"], 4).await;
    harness.deliver().await;
    assert_eq!(ids_by_organization(&harness.published()), merge(written, more));
}

#[tokio::test]
async fn changes_removals_and_other_items_publish_nothing() {
    let env = env_with_entries_only().await;
    let mut harness = Harness::new(&env).await;
    let entry = entry("lab-a", "team.created", 1);
    put(&env, accounts::store::to_item(&entry)).await;
    let key = accounts::model::Entity::key(&entry);
    // A change of the entry (MODIFY), its removal (REMOVE), and items of other kinds (INSERTs).
    env.set_attribute(&key.pk, &key.sk, "change", accounts::store::s("{}")).await;
    env.direct_dynamodb()
        .delete_item()
        .table_name(&env.table)
        .key("PK", accounts::store::s(key.pk))
        .key("SK", accounts::store::s(key.sk))
        .send()
        .await
        .unwrap();
    let team = accounts::model::Team {
        id: "team1".into(),
        organization: "lab-a".into(),
        name: "Red".into(),
        is_organization_team: false,
        deleting: false,
        created: 1,
    };
    put(&env, accounts::store::to_item(&team)).await;
    harness.deliver().await;
    let published = harness.published();
    assert_eq!(published.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), vec![entry.id.as_str()]);
    assert_eq!(harness.bus.calls(), 1);
}

#[tokio::test]
async fn a_finished_purge_publishes_organization_purged() {
    let env = env_with_entries_only().await;
    let mut harness = Harness::new(&env).await;
    let tombstone = OrganizationTombstone { id: "lab-gone".into(), deleted: accounts::ids::now_millis() };
    put(&env, accounts::store::to_item(&tombstone)).await;
    harness.deliver().await;
    let published = harness.published();
    assert_eq!(published.len(), 1);
    let purged = &published[0];
    assert_eq!((purged.kind.as_str(), purged.subject.as_str()), (PURGED, "lab-gone"));
    assert_eq!(purged.data, json!({ "organization": "lab-gone", "purgedAt": tombstone.deleted }));
}

#[tokio::test]
async fn a_bus_that_fails_and_recovers_gets_every_entry_once_in_order() {
    let env = env_with_entries_only().await;
    let mut harness = Harness::new(&env).await;

    // Rejections in the middle of calls: of the first three calls only the first 3 entries are taken.
    harness.bus.fail_next(3, Failure::RejectFrom(3));
    let written = write_entries(&env, ["lab-a", "lab-b"], 24).await;
    harness.deliver().await;
    let published = harness.published();
    assert_eq!(ids_by_organization(&published), written);
    assert_eq!(published.iter().map(|e| &e.id).collect::<BTreeSet<_>>().len(), 24, "no entry twice");
    // Lambda was asked to retry from the first rejected record after each failing call.
    assert_eq!(harness.mapping.invocations, 4);

    // Unavailable (HTTP 500) for longer than one invocation's SDK retries (3 attempts): the first
    // invocation publishes nothing, the second gets through after two more failures.
    harness.bus.fail_next(5, Failure::Unavailable);
    let calls_before = harness.bus.calls();
    let more = write_entries(&env, ["lab-b", "lab-a"], 7).await;
    harness.deliver().await;
    let published = harness.published();
    assert_eq!(ids_by_organization(&published), merge(written, more));
    assert_eq!(published.iter().map(|e| &e.id).collect::<BTreeSet<_>>().len(), 31, "no entry twice");
    assert_eq!((harness.bus.calls() - calls_before, harness.mapping.invocations), (6, 6));
}

#[tokio::test]
async fn a_bus_that_never_recovers_keeps_the_records_for_retries() {
    let env = env_with_entries_only().await;
    let mut harness = Harness::new(&env).await;
    harness.bus.fail_next(u32::MAX, Failure::Unavailable);
    write_entries(&env, ["lab-a", "lab-b"], 3).await;
    let publisher = &harness.publisher;
    let outcome = harness
        .mapping
        .deliver_all(
            |event| async move { accounts::events::handle(publisher, event).await.map_err(|e| e.to_string()) },
            3,
        )
        .await;
    // Every invocation names the first record again; Lambda would retry until the record's age limit and
    // then describe the batch in the dead-letter queue.
    assert!(outcome.is_err(), "{outcome:?}");
    assert!(harness.published().is_empty());
    assert_eq!(harness.bus.calls(), 9);
}

/// Which of `events` (EventBridge events as a rule sees them) `pattern` matches, by moto's implementation of
/// EventBridge's pattern matching (the local Secrets Manager's Python environment has it).
fn matching(pattern: &serde_json::Value, events: &[serde_json::Value]) -> Vec<bool> {
    let python = devstack::repo_root().join("infra/.venv-secrets/bin/python");
    assert!(python.is_file(), "{} is missing: run the README's test command, which installs it", python.display());
    let script = "import json, sys\nfrom moto.events.models import EventPattern\nasked = json.load(sys.stdin)\n\
        pattern = EventPattern.load(json.dumps(asked['pattern']))\n\
        print(json.dumps([pattern.matches_event(e) for e in asked['events']]))";
    let mut child = std::process::Command::new(python)
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let input = json!({"pattern": pattern, "events": events}).to_string();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), input.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stdout));
    serde_json::from_slice(&output.stdout).unwrap()
}

/// The archive's pattern (template.yaml) takes every published event, and the patterns docs/audit.md shows
/// consumers select what they say: an action, and one organization's events.
#[tokio::test]
async fn the_archive_and_the_documented_patterns_match_the_published_events() {
    let env = env_with_entries_only().await;
    let mut harness = Harness::new(&env).await;
    write_entries(&env, ["lab-a", "lab-b"], 4).await;
    put(&env, accounts::store::to_item(&entry("lab-a", "user.deactivated", 9))).await;
    harness.deliver().await;
    // As EventBridge hands them to rules and archives.
    let events: Vec<serde_json::Value> = harness
        .bus
        .accepted()
        .into_iter()
        .map(|e| {
            json!({"version": "0", "id": "x", "source": e.source, "detail-type": e.detail_type,
            "account": "123456789012", "time": "2026-12-06T00:00:00Z", "region": "eu-central-1", "resources": [],
            "detail": e.detail})
        })
        .collect();
    assert_eq!(events.len(), 5);
    let template = crate::contract::yaml("template.yaml");
    let archive = &template["Resources"]["AuditEventArchive"]["Properties"]["EventPattern"];
    let archive: serde_json::Value = serde_json::to_value(archive).unwrap();
    assert_eq!(matching(&archive, &events), vec![true; 5], "the archive keeps every event");
    let deactivations = json!({"source": ["webknossos.accounts"], "detail-type": ["user.deactivated"]});
    let chosen: Vec<bool> = events.iter().map(|e| e["detail-type"] == "user.deactivated").collect();
    assert_eq!(matching(&deactivations, &events), chosen);
    let one_organization = json!({"source": ["webknossos.accounts"], "detail": {"subject": ["lab-b"]}});
    let chosen: Vec<bool> = events.iter().map(|e| e["detail"]["subject"] == "lab-b").collect();
    assert_eq!(matching(&one_organization, &events), chosen);
    assert!(chosen.contains(&true) && chosen.contains(&false));
    let elsewhere = json!({"source": ["another.system"]});
    assert_eq!(matching(&elsewhere, &events), vec![false; 5]);
}
